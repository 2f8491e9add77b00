//! Reviewing a quote before swapping: its terms, itemised, and the countdown to its expiry.

use leptos::prelude::*;
use solstice_types::{
    format_bps,
    swap::{Quote, Swap, SwapSide, format_rate},
};

use super::state::SwapForm;
use crate::{
    components::{errors::Problem, format::format_amount, live_prices::use_live_prices},
    error::AppError,
};

/// The review step: the terms, how long they hold, and the button that swaps.
#[component]
pub fn Review(form: SwapForm, execute: Action<(String, String), Result<Swap, AppError>>) -> impl IntoView {
    let live = use_live_prices();
    let seconds_left = move || form.seconds_left(live.now_ms.get());
    let expired = move || seconds_left() == Some(0) && live.now_ms.get() > 0;
    let confirm = move |_| {
        if let Some(quote) = form.quote.get() {
            form.problem.set(None);
            execute.dispatch((quote.id, form.key.get()));
        }
    };
    view! {
        <h2>"Review swap"</h2>
        {move || form.quote.get().map(|quote| view! { <Terms quote /> })}
        <p class="countdown" role="timer" aria-live="off" data-testid="review-countdown">
            {move || match seconds_left() {
                Some(0) => "This quote expired. Refresh it to see the live price.".to_owned(),
                Some(s) => format!("Quote expires in {s} s"),
                None => String::new(),
            }}
        </p>
        <Problem problem=form.problem />
        <div class="actions">
            <button
                type="button"
                class="btn"
                on:click=move |_| form.reviewing.set(false)
                disabled=move || execute.pending().get()
            >
                "Back"
            </button>
            <Show
                when=move || !expired()
                fallback=move || {
                    view! {
                        <button type="button" class="btn btn-primary" on:click=move |_| form.fetch_quote()>
                            "Refresh quote"
                        </button>
                    }
                }
            >
                <button
                    type="button"
                    class="btn btn-primary"
                    on:click=confirm
                    disabled=move || execute.pending().get() || form.quote.with(Option::is_none)
                >
                    {move || if execute.pending().get() { "Swapping…" } else { "Confirm swap" }}
                </button>
            </Show>
        </div>
    }
}

/// A quote's terms, itemised.
#[component]
pub fn Terms(quote: Quote) -> impl IntoView {
    let impact_class = match quote.price_impact_bps {
        0..=99 => "",
        100..=499 => "warn",
        _ => "danger",
    };
    let (bound_label, bound) = match quote.side {
        SwapSide::ExactIn => ("Minimum received", format_amount(quote.min_received, quote.to)),
        SwapSide::ExactOut => ("Maximum paid", format_amount(quote.max_sold, quote.from)),
    };
    let promise = match quote.side {
        SwapSide::ExactIn => {
            format!("The swap fills at the price when you confirm: you receive at least {bound}, or nothing moves.")
        }
        SwapSide::ExactOut => {
            format!("The swap fills at the price when you confirm: you pay at most {bound}, or nothing moves.")
        }
    };
    let gross = quote.amount_out.checked_add(quote.fee).unwrap_or(quote.amount_out);
    view! {
        <dl class="facts terms" data-testid="terms">
            <dt>"You pay"</dt>
            <dd data-testid="terms-pay">{format_amount(quote.amount_in, quote.from)}</dd>
            <dt>"You receive"</dt>
            <dd data-testid="terms-receive"><strong>{format_amount(quote.amount_out, quote.to)}</strong></dd>
            <dt>"Rate"</dt>
            <dd>{format!("1 {} = {} {}", quote.from, format_rate(quote.amount_in, quote.from, gross, quote.to), quote.to)}</dd>
            <dt>{format!("Fee ({})", format_bps(quote.fee_bps))}</dt>
            <dd data-testid="terms-fee">{format_amount(quote.fee, quote.to)}</dd>
            <dt>"Price impact"</dt>
            <dd class=impact_class>{if quote.price_impact_bps == 0 { "< 0.01%".to_owned() } else { format_bps(quote.price_impact_bps) }}</dd>
            <dt>{bound_label}</dt>
            <dd>{bound}</dd>
            <dt>"Slippage tolerance"</dt>
            <dd>{format_bps(quote.slippage_bps)}</dd>
        </dl>
        <p class="muted small" data-testid="terms-fill">{promise}</p>
    }
}
