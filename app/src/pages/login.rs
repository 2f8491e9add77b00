//! Log in with a wallet address and password.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::{
    api::LogIn,
    components::{auth::use_auth, errors::Alert},
};

#[component]
pub fn LoginPage() -> impl IntoView {
    let action = ServerAction::<LogIn>::new();
    use_auth().follow(action);
    let error = move || action.value().get().and_then(Result::err).map(|error| error.message);
    view! {
        <Title text="Log in" />
        <section class="card narrow">
            <h1>"Log in"</h1>
            <ActionForm action attr:class="form" attr:novalidate=true>
                <label for="address">"Wallet address"</label>
                <input
                    id="address"
                    name="address"
                    class="mono"
                    autocomplete="username"
                    autocapitalize="off"
                    spellcheck="false"
                    required
                />
                <label for="password">"Password"</label>
                <input id="password" name="password" type="password" autocomplete="current-password" required />
                {move || error().map(|message| view! { <Alert message /> })}
                <button type="submit" class="btn btn-primary btn-block" disabled=move || action.pending().get()>
                    {move || if action.pending().get() { "Logging in…" } else { "Log in" }}
                </button>
            </ActionForm>
            <p class="muted small">"New to Solstice? " <A href="/signup">"Create a wallet"</A></p>
        </section>
    }
}
