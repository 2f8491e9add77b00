//! The built site's files: named by their content's hash, kept by browsers for a year,
//! precompressed; pages name the hashed files.

use reqwest::StatusCode;

use crate::helpers::TestPlatform;

const JS: &str = "0123456789abcdef";
const WASM: &str = "fedcba9876543210";
const CSS: &str = "00112233aabbccdd";

/// A site folder as `build_site` makes it, with small stand-in files.
fn built_site() -> std::path::PathBuf {
    let root = std::env::temp_dir().join(format!("solstice-site-{:016x}", rand::random::<u64>()));
    let pkg = root.join("pkg");
    std::fs::create_dir_all(pkg.join("snippets/app-0cd1cead3f0174fd")).unwrap();
    std::fs::write(pkg.join("hash.txt"), format!("js: {JS}\nwasm: {WASM}\ncss: {CSS}\n")).unwrap();
    std::fs::write(pkg.join(format!("solstice.{JS}.js")), "export default function init() {}").unwrap();
    std::fs::write(pkg.join(format!("solstice.{WASM}.wasm")), b"\0asm").unwrap();
    std::fs::write(pkg.join(format!("solstice.{CSS}.css")), "body{}").unwrap();
    std::fs::write(pkg.join(format!("solstice.{CSS}.css.br")), b"brotli bytes").unwrap();
    std::fs::write(pkg.join("snippets/app-0cd1cead3f0174fd/inline0.js"), "export function copy_text() {}").unwrap();
    std::fs::write(pkg.join("__wasm_split.______________________.js"), "export function load() {}").unwrap();
    // The splitter's manifest: each group of pages' modules, by its lazy function's name and the
    // hash of where it was written.
    std::fs::write(
        pkg.join("__wasm_split_manifest.json"),
        r#"{"swap_pages_11599079198068528658": ["chunk_3.1111111111111111", "split_swap_pages_11599079198068528658.2222222222222222"],
            "visitor_pages_11599079198068528658": ["chunk_3.1111111111111111", "chunk_5.3333333333333333"]}"#,
    )
    .unwrap();
    root
}

/// The page modules a page names in its `<head>`, for its start-up script to fetch.
fn page_modules(page: &str) -> Vec<&str> {
    let Some(start) = page.find(r#"<meta name="solstice-page-modules" content=""#) else {
        return Vec::new();
    };
    let rest = &page[start + r#"<meta name="solstice-page-modules" content=""#.len()..];
    rest[..rest.find('"').unwrap()].split(' ').collect()
}

#[tokio::test]
async fn a_page_names_the_modules_of_its_own_group_of_pages_and_no_others() {
    let site = built_site();
    let platform = TestPlatform::host_only(|config| config.site_root = site.clone()).await;
    let http = reqwest::Client::new();
    let get = |path: &'static str| {
        let http = http.clone();
        let url = format!("{}{path}", platform.host);
        async move { http.get(url).send().await.unwrap().text().await.unwrap() }
    };
    let loader = "/pkg/__wasm_split.______________________.js";

    let markets = get("/markets").await;
    assert_eq!(
        page_modules(&markets),
        ["/pkg/chunk_3.1111111111111111.wasm", "/pkg/chunk_5.3333333333333333.wasm", loader],
        "{markets}"
    );
    let token = get("/markets/SOL").await;
    assert_eq!(page_modules(&token), page_modules(&markets), "a market and a token are one group");
    let swap = get("/swap").await;
    assert_eq!(
        page_modules(&swap),
        [
            "/pkg/chunk_3.1111111111111111.wasm",
            "/pkg/split_swap_pages_11599079198068528658.2222222222222222.wasm",
            loader
        ],
        "{swap}"
    );
    // Every page starts the app from the hashed main files, fetched by its script.
    for page in [&markets, &token, &swap] {
        assert!(page.contains(&format!(r#"("/pkg/solstice.{JS}.js", "/pkg/solstice.{WASM}.wasm")"#)), "{page}");
        assert!(!page.contains("rel=\"preload\""), "nothing fetched before the page has shown: {page}");
    }
    let _ = std::fs::remove_dir_all(site);
}

#[tokio::test]
async fn pages_name_the_hashed_files_which_are_cached_for_a_year_and_sent_precompressed() {
    let site = built_site();
    let platform = TestPlatform::host_only(|config| config.site_root = site.clone()).await;
    let http = reqwest::Client::new();
    let page = http.get(format!("{}/", platform.host)).send().await.unwrap().text().await.unwrap();
    for name in
        [format!("/pkg/solstice.{JS}.js"), format!("/pkg/solstice.{WASM}.wasm"), format!("/pkg/solstice.{CSS}.css")]
    {
        assert!(page.contains(&name), "the page names {name}: {page}");
    }

    let css = format!("{}/pkg/solstice.{CSS}.css", platform.host);
    let plain = http.get(&css).send().await.unwrap();
    assert_eq!(plain.status(), StatusCode::OK);
    assert_eq!(plain.headers()["cache-control"], "public, max-age=31536000, immutable");
    assert_eq!(plain.text().await.unwrap(), "body{}");
    let compressed = http.get(&css).header("accept-encoding", "br, gzip").send().await.unwrap();
    assert_eq!(compressed.headers()["content-encoding"], "br");
    assert_eq!(compressed.bytes().await.unwrap().as_ref(), b"brotli bytes", "the file compressed at build");

    // A file without a hash in its name is checked each time.
    let snippet =
        http.get(format!("{}/pkg/snippets/app-0cd1cead3f0174fd/inline0.js", platform.host)).send().await.unwrap();
    assert_eq!(snippet.status(), StatusCode::OK);
    assert_eq!(snippet.headers()["cache-control"], "no-cache");
    let _ = std::fs::remove_dir_all(site);
}
