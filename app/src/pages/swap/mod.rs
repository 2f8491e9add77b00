//! The exchange: choose tokens and an amount, see a live quote and the bound it fills within
//! (refreshed before it expires), review it with its countdown, swap, then the receipt.
//!
//! [`state::SwapForm`] holds the form and its rules; [`inputs`] draws the two amount sides and
//! the slippage picker, [`review`] the terms and the confirmation step.

mod inputs;
mod review;
mod state;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_navigate};
use solstice_types::{ErrorCode, swap::SwapSide};

use crate::{
    api::swaps::execute_swap,
    components::{
        auth::use_auth,
        balances::{Balances, WithBalances},
        errors::Problem,
        format::new_key,
        live_prices::{LatestPriceSource, use_live_prices},
    },
};

use self::{
    inputs::{AmountSide, SlippagePicker},
    review::{Review, Terms},
    state::SwapForm,
};

/// A quote is fetched again this long before it expires, unless the user is reviewing it.
const REFRESH_BEFORE_EXPIRY_MS: i64 = 5_000;
/// Typing pauses this long before a quote is asked for.
const QUOTE_DEBOUNCE_MS: u64 = 350;

#[component]
pub fn SwapPage() -> impl IntoView {
    view! {
        <Title text="Swap" />
        <div class="page-head">
            <h1 class="page-title">"Swap"</h1>
            <A href="/swaps" attr:class="btn btn-small">"Swap history"</A>
        </div>
        <LatestPriceSource />
        <WithBalances what="swap tokens" then=|balances| view! { <SwapFlow balances /> } />
    }
}

#[component]
fn SwapFlow(balances: Balances) -> impl IntoView {
    let auth = use_auth();
    let navigate = use_navigate();
    let live = use_live_prices();
    let form = SwapForm::new(balances);

    // Ask again (after a pause in typing) whenever the question changes. Only the side the user
    // fixed is watched, so filling in the other side from the answer asks nothing.
    Effect::new(move |_| {
        let _question = (form.from.get(), form.to.get(), form.side.get(), form.fixed_text(), form.slippage_bps.get());
        let asked = form.next_question();
        set_timeout(
            move || {
                if form.is_latest(asked) {
                    form.fetch_quote();
                }
            },
            std::time::Duration::from_millis(QUOTE_DEBOUNCE_MS),
        );
    });
    // Keep the quote fresh while the user is still choosing.
    Effect::new(move |_| {
        let now = live.now_ms.get();
        let due = form.quote.with(|q| q.as_ref().is_some_and(|q| now >= q.expires_at_ms - REFRESH_BEFORE_EXPIRY_MS));
        if due && !form.reviewing.get_untracked() && !form.quoting.get_untracked() {
            form.fetch_quote();
        }
    });

    let execute = Action::new(|args: &(String, String)| execute_swap(args.0.clone(), args.1.clone()));
    Effect::new(move |_| match execute.value().get() {
        Some(Ok(swap)) => {
            form.key.set(new_key());
            auth.me.refetch();
            navigate(&format!("/swaps/{}?new=1", swap.reference), Default::default());
        }
        Some(Err(error)) => {
            if !error.outcome_unknown() {
                form.key.set(new_key());
            }
            form.problem.set(Some(error.message));
            // The terms are gone (expired, moved, used): fetch live ones for the user to review.
            if matches!(error.code, ErrorCode::QuoteExpired | ErrorCode::PriceMoved | ErrorCode::Conflict) {
                form.fetch_quote();
            }
        }
        None => {}
    });

    let start_review = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if form.quote.with(Option::is_some) {
            form.problem.set(None);
            form.reviewing.set(true);
        }
    };

    view! {
        <section class="card narrow swap-card">
            <Show when=move || !form.reviewing.get() fallback=move || view! { <Review form execute /> }>
                <form class="form" on:submit=start_review novalidate>
                    <AmountSide form side=SwapSide::ExactIn />
                    <button
                        type="button"
                        class="btn btn-small btn-ghost flip"
                        on:click=move |_| form.flip()
                        aria-label="Swap the two tokens"
                    >
                        "⇅"
                    </button>
                    <AmountSide form side=SwapSide::ExactOut />
                    <SlippagePicker form />
                    <div aria-live="polite" data-testid="quote">
                        {move || form.quote.get().map(|quote| view! { <Terms quote /> })}
                        <p class="muted small">
                            {move || {
                                if form.quoting.get() {
                                    "Getting the live price…".to_owned()
                                } else {
                                    form.seconds_left(live.now_ms.get())
                                        .map(|s| format!("Quote refreshes automatically · expires in {s} s"))
                                        .unwrap_or_default()
                                }
                            }}
                        </p>
                    </div>
                    <Problem problem=form.problem />
                    <button
                        type="submit"
                        class="btn btn-primary btn-block"
                        disabled=move || form.quote.with(Option::is_none)
                    >
                        "Review swap"
                    </button>
                </form>
            </Show>
        </section>
    }
}
