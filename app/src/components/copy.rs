//! A button that copies a text to the clipboard.

use leptos::prelude::*;

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen(inline_js = "export function copy_text(text) { \
    return navigator.clipboard ? navigator.clipboard.writeText(text).then(() => true, () => false) : Promise.resolve(false); }")]
extern "C" {
    /// Resolves to whether the text was copied (clipboard access can be refused).
    fn copy_text(text: &str) -> js_sys::Promise;
}

/// Copies `text`, then says "Copied" for a moment (or that it could not).
#[component]
pub fn CopyButton(#[prop(into)] text: String, #[prop(into, default = "Copy".into())] label: String) -> impl IntoView {
    let status = RwSignal::new(None::<&'static str>);
    let on_click = move |_| {
        #[cfg(feature = "hydrate")]
        {
            let promise = copy_text(&text);
            leptos::task::spawn_local(async move {
                let copied = wasm_bindgen_futures::JsFuture::from(promise).await.is_ok_and(|value| value.is_truthy());
                status.set(Some(if copied { "Copied" } else { "Copy failed" }));
                set_timeout(move || status.set(None), std::time::Duration::from_secs(2));
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = &text;
    };
    view! {
        <button type="button" class="btn btn-small btn-ghost" on:click=on_click aria-live="polite">
            {move || status.get().map(str::to_owned).unwrap_or_else(|| label.clone())}
        </button>
    }
}
