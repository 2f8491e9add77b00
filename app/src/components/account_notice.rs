//! The notice a logged-in user sees when the account's money moves while a page is open (a
//! transfer arrives, a reward is paid, a swap or stake completes in another tab): one line,
//! opening the row's receipt, gone after a few seconds. Balances refresh by themselves
//! ([`crate::components::auth::Auth::moved`]).

use leptos::prelude::*;
use leptos_router::components::A;
use solstice_types::Reference;

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
    let notice = RwSignal::new(None::<(Reference, String)>);
    // A logged-in page keeps the socket open, for the account's events.
    Effect::new(move |_| {
        if matches!(auth.me.get(), Some(Ok(Some(_)))) {
            live.connect();
        }
    });
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        let Some(reference) = live.account.with(|(_, last)| last.clone()) else { return };
        leptos::task::spawn_local(async move {
            if let Ok(row) = crate::api::activity::my_activity_row(reference.to_string()).await {
                let text = crate::components::format::describe(&row);
                // The page may be gone by now (the signal with it): nothing to show then.
                notice.try_set(Some((reference.clone(), text)));
                set_timeout(
                    move || {
                        if notice
                            .try_with_untracked(|shown| shown.as_ref().is_some_and(|(shown, _)| *shown == reference))
                            == Some(true)
                        {
                            notice.try_set(None);
                        }
                    },
                    std::time::Duration::from_millis(SHOWN_MS),
                );
            }
        });
    });
    move || {
        notice.get().map(|(reference, text)| {
            view! {
                <div class="account-notice" role="status" data-testid="account-notice">
                    <A href=format!("/activity/{reference}")>{text}</A>
                    <button type="button" class="notice-close" aria-label="Dismiss" on:click=move |_| notice.set(None)>
                        "×"
                    </button>
                </div>
            }
        })
    }
}
