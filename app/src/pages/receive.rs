//! Receive: the wallet's address to give to whoever will send, as text and as a QR code to
//! scan, with buttons to copy it or hand it to another app (the phone's share sheet).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::{
    api::transfers::receive_code,
    components::{copy::CopyButton, errors::loaded},
    model::AddressQr,
};

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen(inline_js = "export function share_text(title, text) { \
    if (navigator.share) return navigator.share({ title, text }).then(() => 'shared', \
        (error) => error && error.name === 'AbortError' ? 'cancelled' : 'failed'); \
    if (navigator.clipboard) return navigator.clipboard.writeText(text).then(() => 'copied', () => 'failed'); \
    return Promise.resolve('failed'); }")]
extern "C" {
    /// Opens the device's share sheet with `text`, or where there is none copies it; resolves
    /// to "shared", "cancelled", "copied" or "failed".
    fn share_text(title: &str, text: &str) -> js_sys::Promise;
}

#[component]
pub fn ReceivePage() -> impl IntoView {
    let code = Resource::new(|| (), |_| receive_code());
    view! {
        <Title text="Receive" />
        <div class="page-head">
            <h1 class="page-title">"Receive tokens"</h1>
            <A href="/send" attr:class="btn btn-small">"Send"</A>
        </div>
        <Transition fallback=|| view! { <p class="muted">"Loading your address…"</p> }>
            {move || {
                code.get().map(|result| loaded(result, "see your address for receiving", None, |code| view! { <Receive code /> }))
            }}
        </Transition>
    }
}

#[component]
fn Receive(code: AddressQr) -> impl IntoView {
    let address = code.address.to_string();
    let size = code.qr.size;
    view! {
        <section class="card narrow receive" aria-labelledby="receive-heading">
            <h2 id="receive-heading" class="card-label">"Your wallet address"</h2>
            <svg
                class="qr"
                viewBox=format!("0 0 {size} {size}")
                role="img"
                aria-label="QR code of your wallet address"
                shape-rendering="crispEdges"
                data-testid="receive-qr"
            >
                <rect width=size height=size fill="#fff" />
                <path d=code.qr.path fill="#000" />
            </svg>
            <p class="address mono center" data-testid="receive-address">{address.clone()}</p>
            <div class="actions">
                <CopyButton text=address.clone() label="Copy address" />
                <ShareButton text=address />
            </div>
            <p class="muted small">
                "Anyone with a wallet on this Solstice can send you SOL and tokens at this address: transfers between Solstice wallets are free and arrive at once. It is also what you log in with."
            </p>
        </section>
    }
}

/// Hands the address to another app through the phone's share sheet; where the browser has
/// none (most desktops), copies it instead and says so.
#[component]
fn ShareButton(text: String) -> impl IntoView {
    let status = RwSignal::new(None::<&'static str>);
    let on_click = move |_| {
        #[cfg(feature = "hydrate")]
        {
            let promise = share_text("My Solstice wallet address", &text);
            leptos::task::spawn_local(async move {
                let outcome =
                    wasm_bindgen_futures::JsFuture::from(promise).await.ok().and_then(|value| value.as_string());
                let said = match outcome.as_deref() {
                    Some("shared") => "Shared",
                    Some("copied") => "Copied: paste it to share",
                    Some("cancelled") => return,
                    _ => "Sharing failed",
                };
                status.set(Some(said));
                set_timeout(move || status.set(None), std::time::Duration::from_secs(3));
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = &text;
    };
    view! {
        <button type="button" class="btn btn-small" on:click=on_click aria-live="polite" data-testid="share-address">
            {move || status.get().unwrap_or("Share")}
        </button>
    }
}
