//! The exchange: choose tokens and an amount, see a live firm quote (refreshed before it
//! expires), review it with its countdown, swap, then the receipt.

use std::collections::BTreeMap;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_navigate};
use solstice_types::{
    Amount, ErrorCode, Token, format_bps,
    swap::{
        DEFAULT_SLIPPAGE_BPS, MAX_SLIPPAGE_BPS, MIN_SLIPPAGE_BPS, Quote, SLIPPAGE_PRESETS_BPS, SwapSide, format_rate,
    },
};

use crate::{
    api::{
        my_portfolio,
        swaps::{execute_swap, swap_quote},
    },
    components::{
        auth::use_auth,
        format::{LoginPrompt, format_amount, new_key},
        live_prices::use_live_prices,
    },
};

/// A quote is fetched again this long before it expires, unless the user is reviewing it.
const REFRESH_BEFORE_EXPIRY_MS: i64 = 5_000;
/// Typing pauses this long before a quote is asked for.
const QUOTE_DEBOUNCE_MS: u64 = 350;

#[component]
pub fn SwapPage() -> impl IntoView {
    let portfolio = Resource::new(|| (), |_| my_portfolio());
    view! {
        <Title text="Swap" />
        <div class="page-head">
            <h1 class="page-title">"Swap"</h1>
            <A href="/swaps" attr:class="btn btn-small">"Swap history"</A>
        </div>
        <Suspense fallback=|| view! { <p class="muted">"Loading your balances…"</p> }>
            {move || {
                portfolio
                    .get()
                    .map(|result| match result {
                        Ok(portfolio) => {
                            let balances: BTreeMap<Token, Amount> =
                                portfolio.holdings.iter().map(|h| (h.token, h.amount)).collect();
                            view! { <SwapFlow balances /> }.into_any()
                        }
                        Err(error) if error.code == ErrorCode::Unauthorized => {
                            view! { <LoginPrompt what="swap tokens" /> }.into_any()
                        }
                        Err(error) => view! { <p class="alert" role="alert">{error.message}</p> }.into_any(),
                    })
            }}
        </Suspense>
    }
}

#[component]
fn SwapFlow(balances: BTreeMap<Token, Amount>) -> impl IntoView {
    let auth = use_auth();
    let navigate = use_navigate();
    let live = use_live_prices();
    let balances = StoredValue::new(balances);
    let from = RwSignal::new(Token::Sol);
    let to = RwSignal::new(Token::Usdc);
    let pay = RwSignal::new(String::new());
    let receive = RwSignal::new(String::new());
    let side = RwSignal::new(SwapSide::ExactIn);
    let slippage = RwSignal::new(DEFAULT_SLIPPAGE_BPS);
    let custom_slippage = RwSignal::new(String::new());
    let quote = RwSignal::new(None::<Quote>);
    let problem = RwSignal::new(None::<String>);
    let quoting = RwSignal::new(false);
    let reviewing = RwSignal::new(false);
    let key = RwSignal::new(new_key());
    // Answers to older requests are dropped: only the latest question's quote is shown.
    let generation = StoredValue::new(0u64);

    let balance = move |token: Token| balances.with_value(|b| b.get(&token).copied().unwrap_or(Amount::ZERO));
    let fixed_text = move || if side.get() == SwapSide::ExactIn { pay.get() } else { receive.get() };

    let fetch_quote = move || {
        let text = fixed_text().trim().to_owned();
        generation.update_value(|g| *g += 1);
        let asked = generation.get_value();
        let fixed_token =
            if side.get_untracked() == SwapSide::ExactIn { from.get_untracked() } else { to.get_untracked() };
        let zero = Amount::parse(&text, fixed_token.decimals()).is_ok_and(Amount::is_zero);
        if text.is_empty() || zero {
            quote.set(None);
            problem.set(None);
            return;
        }
        let (f, t, s, bps) = (from.get_untracked(), to.get_untracked(), side.get_untracked(), slippage.get_untracked());
        quoting.set(true);
        leptos::task::spawn_local(async move {
            let answer = swap_quote(f.to_string(), t.to_string(), text, s, bps).await;
            if generation.get_value() != asked {
                return;
            }
            quoting.set(false);
            match answer {
                Ok(fresh) => {
                    match fresh.side {
                        SwapSide::ExactIn => receive.set(fresh.amount_out.format(fresh.to.decimals())),
                        SwapSide::ExactOut => pay.set(fresh.amount_in.format(fresh.from.decimals())),
                    }
                    problem.set(None);
                    quote.set(Some(fresh));
                }
                Err(error) => {
                    quote.set(None);
                    reviewing.set(false);
                    problem.set(Some(error.message));
                }
            }
        });
    };

    // Ask again (after a pause in typing) whenever the question changes. Only the side the user
    // fixed is watched, so filling in the other side from the answer asks nothing.
    Effect::new(move |_| {
        let _question = (from.get(), to.get(), side.get(), fixed_text(), slippage.get());
        generation.update_value(|g| *g += 1);
        let asked = generation.get_value();
        set_timeout(
            move || {
                if generation.get_value() == asked {
                    fetch_quote();
                }
            },
            std::time::Duration::from_millis(QUOTE_DEBOUNCE_MS),
        );
    });
    // Keep the quote fresh while the user is still choosing.
    Effect::new(move |_| {
        let now = live.now_ms.get();
        let due = quote.with(|q| q.as_ref().is_some_and(|q| now >= q.expires_at_ms - REFRESH_BEFORE_EXPIRY_MS));
        if due && !reviewing.get_untracked() && !quoting.get_untracked() {
            fetch_quote();
        }
    });

    let execute = Action::new(|args: &(String, String)| execute_swap(args.0.clone(), args.1.clone()));
    Effect::new(move |_| match execute.value().get() {
        Some(Ok(swap)) => {
            key.set(new_key());
            auth.me.refetch();
            navigate(&format!("/swaps/{}?new=1", swap.reference), Default::default());
        }
        Some(Err(error)) => {
            if !matches!(error.code, ErrorCode::Unavailable | ErrorCode::Internal) {
                key.set(new_key());
            }
            problem.set(Some(error.message));
            // The terms are gone (expired, moved, used): fetch live ones for the user to review.
            if matches!(error.code, ErrorCode::QuoteExpired | ErrorCode::PriceMoved | ErrorCode::Conflict) {
                fetch_quote();
            }
        }
        None => {}
    });

    let seconds_left =
        move || quote.with(|q| q.as_ref().map(|q| ((q.expires_at_ms - live.now_ms.get()).max(0) + 999) / 1_000));
    let expired = move || seconds_left() == Some(0) && live.now_ms.get() > 0;
    let flip = move |_| {
        let (f, t) = (from.get(), to.get());
        from.set(t);
        to.set(f);
        let (p, r) = (pay.get(), receive.get());
        pay.set(r);
        receive.set(p);
        side.set(if side.get() == SwapSide::ExactIn { SwapSide::ExactOut } else { SwapSide::ExactIn });
        quote.set(None);
    };
    let choose = move |signal: RwSignal<Token>, other: RwSignal<Token>| {
        move |ev: leptos::ev::Event| {
            if let Ok(token) = event_target_value(&ev).parse::<Token>() {
                if token == other.get() {
                    other.set(signal.get());
                }
                signal.set(token);
                quote.set(None);
            }
        }
    };
    let token_options = move |selected: RwSignal<Token>| {
        Token::ALL
            .into_iter()
            .map(|t| view! { <option value=t.symbol() selected=move || selected.get() == t>{t.symbol()}</option> })
            .collect_view()
    };
    let set_custom = move |ev: leptos::ev::Event| {
        let text = event_target_value(&ev);
        custom_slippage.set(text.clone());
        let bps = Amount::parse(text.trim(), 2).ok().map(|a| a.base_units());
        match bps.and_then(|b| u32::try_from(b).ok()).filter(|b| (MIN_SLIPPAGE_BPS..=MAX_SLIPPAGE_BPS).contains(b)) {
            Some(bps) => slippage.set(bps),
            None if text.trim().is_empty() => slippage.set(DEFAULT_SLIPPAGE_BPS),
            None => problem.set(Some("Choose a slippage tolerance between 0.01% and 5%.".to_owned())),
        }
    };
    let start_review = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if quote.with(Option::is_some) {
            problem.set(None);
            reviewing.set(true);
        }
    };
    let confirm = move |_| {
        if let Some(q) = quote.get() {
            problem.set(None);
            execute.dispatch((q.id, key.get()));
        }
    };

    view! {
        <section class="card narrow swap-card">
            <Show
                when=move || !reviewing.get()
                fallback=move || {
                    view! {
                        <h2>"Review swap"</h2>
                        {move || quote.get().map(|q| view! { <Terms quote=q /> })}
                        <p class="countdown" role="timer" aria-live="off" data-testid="review-countdown">
                            {move || match seconds_left() {
                                Some(0) => "This quote expired. Refresh it to see the live price.".to_owned(),
                                Some(s) => format!("Quote expires in {s} s"),
                                None => String::new(),
                            }}
                        </p>
                        {move || problem.get().map(|message| view! { <p class="alert" role="alert">{message}</p> })}
                        <div class="actions">
                            <button
                                type="button"
                                class="btn"
                                on:click=move |_| reviewing.set(false)
                                disabled=move || execute.pending().get()
                            >
                                "Back"
                            </button>
                            <Show
                                when=move || !expired()
                                fallback=move || {
                                    view! {
                                        <button type="button" class="btn btn-primary" on:click=move |_| fetch_quote()>
                                            "Refresh quote"
                                        </button>
                                    }
                                }
                            >
                                <button
                                    type="button"
                                    class="btn btn-primary"
                                    on:click=confirm
                                    disabled=move || execute.pending().get() || quote.with(Option::is_none)
                                >
                                    {move || if execute.pending().get() { "Swapping…" } else { "Confirm swap" }}
                                </button>
                            </Show>
                        </div>
                    }
                }
            >
                <form class="form" on:submit=start_review novalidate>
                    <div class="swap-side">
                        <label for="pay">"You pay"</label>
                        <div class="input-row">
                            <input
                                id="pay"
                                name="pay"
                                inputmode="decimal"
                                autocomplete="off"
                                placeholder="0.0"
                                prop:value=move || pay.get()
                                on:input=move |ev| {
                                    side.set(SwapSide::ExactIn);
                                    pay.set(event_target_value(&ev));
                                }
                            />
                            <select aria-label="Token to sell" on:change=choose(from, to) data-testid="from-token">
                                {token_options(from)}
                            </select>
                        </div>
                        <p class="hint">
                            <span data-testid="from-balance">{move || format!("Balance: {}", format_amount(balance(from.get()), from.get()))}</span>
                            " "
                            <button
                                type="button"
                                class="link-button"
                                on:click=move |_| {
                                    side.set(SwapSide::ExactIn);
                                    pay.set(balance(from.get()).format(from.get().decimals()));
                                }
                            >
                                "Max"
                            </button>
                        </p>
                    </div>
                    <button type="button" class="btn btn-small btn-ghost flip" on:click=flip aria-label="Swap the two tokens">
                        "⇅"
                    </button>
                    <div class="swap-side">
                        <label for="receive">"You receive"</label>
                        <div class="input-row">
                            <input
                                id="receive"
                                name="receive"
                                inputmode="decimal"
                                autocomplete="off"
                                placeholder="0.0"
                                prop:value=move || receive.get()
                                on:input=move |ev| {
                                    side.set(SwapSide::ExactOut);
                                    receive.set(event_target_value(&ev));
                                }
                            />
                            <select aria-label="Token to buy" on:change=choose(to, from) data-testid="to-token">
                                {token_options(to)}
                            </select>
                        </div>
                        <p class="hint">{move || format!("Balance: {}", format_amount(balance(to.get()), to.get()))}</p>
                    </div>
                    <fieldset class="slippage">
                        <legend>"Slippage tolerance"</legend>
                        {SLIPPAGE_PRESETS_BPS
                            .into_iter()
                            .map(|bps| {
                                view! {
                                    <button
                                        type="button"
                                        class="chip"
                                        aria-pressed=move || (slippage.get() == bps && custom_slippage.get().is_empty()).to_string()
                                        on:click=move |_| {
                                            custom_slippage.set(String::new());
                                            slippage.set(bps);
                                        }
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
                                prop:value=move || custom_slippage.get()
                                on:input=set_custom
                            />
                            "%"
                        </label>
                    </fieldset>
                    <div aria-live="polite" data-testid="quote">
                        {move || quote.get().map(|q| view! { <Terms quote=q /> })}
                        <p class="muted small">
                            {move || {
                                if quoting.get() {
                                    "Getting the live price…".to_owned()
                                } else {
                                    seconds_left().map(|s| format!("Quote refreshes automatically · expires in {s} s")).unwrap_or_default()
                                }
                            }}
                        </p>
                    </div>
                    {move || problem.get().map(|message| view! { <p class="alert" role="alert">{message}</p> })}
                    <button type="submit" class="btn btn-primary btn-block" disabled=move || quote.with(Option::is_none)>
                        "Review swap"
                    </button>
                </form>
            </Show>
        </section>
    }
}

/// A quote's terms, itemised.
#[component]
fn Terms(quote: Quote) -> impl IntoView {
    let impact_class = match quote.price_impact_bps {
        0..=99 => "",
        100..=499 => "warn",
        _ => "danger",
    };
    let (bound_label, bound) = match quote.side {
        SwapSide::ExactIn => ("Minimum received", format_amount(quote.min_received, quote.to)),
        SwapSide::ExactOut => ("Maximum paid", format_amount(quote.max_sold, quote.from)),
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
    }
}
