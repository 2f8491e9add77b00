//! `solstice-split <input.wasm> <out-dir>`: splits the browser build at its `#[lazy_route]`s.
//!
//! Writes into `<out-dir>`: `solstice.wasm` (the main module, for wasm-bindgen), one
//! `split_*.wasm` per lazy route and `chunk_*.wasm` per piece of code that several routes
//! share, the loader `__wasm_split.______________________.js` that fetches them, and
//! `__wasm_split_manifest.json` (which modules each route needs, for the host's preload links).
//! The loader's name is the placeholder Leptos expects; `build_site` renames the files by
//! their content's hash afterwards.

use std::{path::PathBuf, process::ExitCode};

use wasm_split_cli_support::{Options, transform};

fn main() -> ExitCode {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [input, out_dir] = args.as_slice() else {
        eprintln!("usage: solstice-split <input.wasm> <out-dir>");
        return ExitCode::from(2);
    };
    match split(input, out_dir) {
        Ok(count) => {
            println!("{count} lazy modules");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("solstice-split: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn split(input: &PathBuf, out_dir: &PathBuf) -> Result<usize, Box<dyn std::error::Error>> {
    let wasm = std::fs::read(input).map_err(|error| format!("reading {}: {error}", input.display()))?;
    std::fs::create_dir_all(out_dir)?;
    let main_out = out_dir.join("solstice.wasm");
    let mut options = Options::new(&wasm);
    options.output_dir = out_dir;
    options.main_out_path = &main_out;
    options.main_module = "./solstice.js";
    options.link_name = "./__wasm_split.______________________.js";
    options.target.web();
    let split = transform(options).map_err(|error| format!("{error:?}"))?;
    let manifest = serde_json::to_string(&split.prefetch_map)?;
    std::fs::write(out_dir.join("__wasm_split_manifest.json"), manifest)?;
    Ok(split.split_modules.len())
}
