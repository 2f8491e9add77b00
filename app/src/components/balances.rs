//! The wallet's balances, loaded once for a page whose form needs them (send, swap).

use std::collections::BTreeMap;

use leptos::prelude::*;
use solstice_types::{Amount, Token};

use crate::{api::my_portfolio, components::errors::loaded};

/// What the wallet holds of each token.
pub type Balances = BTreeMap<Token, Amount>;

/// Loads the wallet's balances, then renders `then` with them; a visitor gets the log-in prompt
/// (to `what`), a failure its sentence.
#[component]
pub fn WithBalances<F, V>(what: &'static str, then: F) -> impl IntoView
where
    F: Fn(Balances) -> V + Copy + Send + Sync + 'static,
    V: IntoView + 'static,
{
    let portfolio = Resource::new(|| (), |_| my_portfolio());
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading your balances…"</p> }>
            {move || {
                portfolio
                    .get()
                    .map(|result| {
                        loaded(result, what, None, |portfolio| then(portfolio.holdings.iter().map(|h| (h.token, h.amount)).collect()))
                    })
            }}
        </Suspense>
    }
}
