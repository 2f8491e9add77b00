//! The browser entry point: hydrates the page the host rendered.

// Leptos views are deeply nested types; the portfolio page exceeds the default limit.
#![recursion_limit = "256"]

use wasm_bindgen::prelude::wasm_bindgen;

#[wasm_bindgen(inline_js = "export function reload_once() { \
    if (document.body.dataset.hydrated !== 'true') return; \
    const key = 'solstice-reloaded-at', last = Number(sessionStorage.getItem(key) || 0); \
    if (Date.now() - last < 30000) return; \
    sessionStorage.setItem(key, String(Date.now())); \
    location.reload(); }")]
extern "C" {
    /// Loads the page again, unless the app had not hydrated yet or did this less than 30 s
    /// ago (so that a fault on load cannot loop).
    fn reload_once();
}

/// Called by the start-up script that the host puts in every page (`app::shell`), once the
/// page has loaded.
///
/// Pages are loaded in groups (their code is in modules of their own, see `app::routes`):
/// hydration waits for the current page's modules, which the start-up script fetches together
/// with this one, and then takes over the server-rendered page as it is.
#[wasm_bindgen]
pub fn hydrate() {
    // A panic stops the app for good (the WASM is built with `panic = "abort"`). The likely one
    // is a page's module that cannot be fetched: the phone went offline (the reload then shows
    // the service worker's offline page) or a new release replaced the module (the reload
    // brings the new release). Either way a reload gives the user a working page back.
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        reload_once();
    }));
    // Hydration is asynchronous (it starts Leptos' executor itself).
    wasm_bindgen_futures::spawn_local(async {
        let body = leptos::prelude::document().body().expect("a page has a body");
        leptos::mount::hydrate_from_async(body.clone(), app::App).await.forget();
        app::page_hydrated();
        // Marks the page interactive: end-to-end tests wait for it before they click.
        let _ = body.set_attribute("data-hydrated", "true");
    });
}
