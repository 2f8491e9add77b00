//! The browser entry point: hydrates the page the host rendered.

// Leptos views are deeply nested types; the portfolio page exceeds the default limit.
#![recursion_limit = "256"]

use wasm_bindgen::prelude::wasm_bindgen;

/// Called by the hydration script that the host puts in every page.
///
/// Pages are lazy routes (their code is in chunks of its own, see `app::routes`): hydration
/// waits for the current page's chunk, which the page preloads, and then takes over the
/// server-rendered page as it is.
#[wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // Hydration is asynchronous (it starts Leptos' executor itself).
    wasm_bindgen_futures::spawn_local(async {
        let body = leptos::prelude::document().body().expect("a page has a body");
        leptos::mount::hydrate_from_async(body.clone(), app::App).await.forget();
        // Marks the page interactive: end-to-end tests wait for it before they click.
        let _ = body.set_attribute("data-hydrated", "true");
    });
}
