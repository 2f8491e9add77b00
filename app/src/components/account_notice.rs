//! The notice a logged-in user sees when the account's money moves while a page is open (a
//! transfer arrives, a reward is paid, a swap or stake completes in another tab): the line the
//! host wrote for it, opening the row's receipt, gone after a few seconds. Balances refresh by
//! themselves ([`crate::components::auth::Auth::moved`]).

use leptos::prelude::*;
use leptos_router::components::A;

use crate::components::{auth::use_auth, live_prices::LivePrices};

/// How long a notice stays, in milliseconds.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
const SHOWN_MS: u64 = 8_000;

/// Rendered once for the whole app, outside what changes with the user, so that a notice
/// outlives the top bar's refresh that the same movement causes.
#[component]
pub fn AccountNotice() -> impl IntoView {
    let live = expect_context::<LivePrices>();
    let auth = use_auth();
    // The movement shown, by its count; dismissed or timed out: none.
    let shown = RwSignal::new(None::<u64>);
    // A logged-in page keeps the socket open, for the account's events.
    Effect::new(move |_| {
        if matches!(auth.me.get(), Some(Ok(Some(_)))) {
            live.connect();
        }
    });
    Effect::new(move |_| {
        let (count, last) = live.account.get();
        if last.is_some() {
            shown.set(Some(count));
            set_timeout(
                move || {
                    if shown.try_get_untracked() == Some(Some(count)) {
                        shown.try_set(None);
                    }
                },
                std::time::Duration::from_millis(SHOWN_MS),
            );
        }
    });
    move || {
        let (count, last) = live.account.get();
        let (reference, text) = last.filter(|_| shown.get() == Some(count))?;
        Some(view! {
            <div class="account-notice" role="status" data-testid="account-notice">
                <A href=format!("/activity/{reference}")>{text}</A>
                <button type="button" class="notice-close" aria-label="Dismiss" on:click=move |_| shown.set(None)>
                    "×"
                </button>
            </div>
        })
    }
}
