//! The form's inputs: one side of the swap (amount and token), and the slippage tolerance.

use leptos::prelude::*;
use solstice_types::{
    Token, format_bps,
    swap::{SLIPPAGE_PRESETS_BPS, SwapSide},
};

use super::state::SwapForm;
use crate::components::format::format_amount;

/// The side the user pays (`ExactIn`: they fix what they pay) or receives (`ExactOut`).
#[component]
pub fn AmountSide(form: SwapForm, side: SwapSide) -> impl IntoView {
    let paying = side == SwapSide::ExactIn;
    let (id, label, token_label, token_id) = if paying {
        ("pay", "You pay", "Token to sell", "from-token")
    } else {
        ("receive", "You receive", "Token to buy", "to-token")
    };
    let (text, token, other) = if paying { (form.pay, form.from, form.to) } else { (form.receive, form.to, form.from) };
    let choose = move |ev: leptos::ev::Event| {
        if let Ok(chosen) = event_target_value(&ev).parse::<Token>() {
            form.choose(token, other, chosen);
        }
    };
    let balance = move || format!("Balance: {}", format_amount(form.balance(token.get()), token.get()));
    view! {
        <div class="swap-side">
            <label for=id>{label}</label>
            <div class="input-row">
                <input
                    id=id
                    name=id
                    inputmode="decimal"
                    autocomplete="off"
                    placeholder="0.0"
                    prop:value=move || text.get()
                    on:input=move |ev| form.type_amount(side, event_target_value(&ev))
                />
                <select aria-label=token_label on:change=choose data-testid=token_id>
                    {Token::ALL
                        .into_iter()
                        .map(|t| view! { <option value=t.symbol() selected=move || token.get() == t>{t.symbol()}</option> })
                        .collect_view()}
                </select>
            </div>
            {if paying {
                view! {
                    <p class="hint">
                        <span data-testid="from-balance">{balance}</span>
                        " "
                        <button type="button" class="link-button" on:click=move |_| form.pay_max()>
                            "Max"
                        </button>
                    </p>
                }
                    .into_any()
            } else {
                view! { <p class="hint">{balance}</p> }.into_any()
            }}
        </div>
    }
}

/// The slippage tolerance: presets, or a custom percentage.
#[component]
pub fn SlippagePicker(form: SwapForm) -> impl IntoView {
    view! {
        <fieldset class="slippage">
            <legend>"Slippage tolerance"</legend>
            {SLIPPAGE_PRESETS_BPS
                .into_iter()
                .map(|bps| {
                    let chosen = move || form.slippage_bps.get() == bps && form.custom_slippage.with(String::is_empty);
                    view! {
                        <button
                            type="button"
                            class="chip"
                            aria-pressed=move || chosen().to_string()
                            on:click=move |_| form.pick_slippage(bps)
                        >
                            {format_bps(bps)}
                        </button>
                    }
                })
                .collect_view()}
            <label class="custom-slippage">
                <span class="sr-only">"Custom slippage tolerance, percent"</span>
                <input
                    inputmode="decimal"
                    placeholder="Custom"
                    autocomplete="off"
                    prop:value=move || form.custom_slippage.get()
                    on:input=move |ev| form.type_slippage(event_target_value(&ev))
                />
                "%"
            </label>
        </fieldset>
    }
}
