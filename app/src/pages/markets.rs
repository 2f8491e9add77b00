//! Markets: every token's live price and 24-hour change, and a chart per token.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_params_map};
use solstice_market::{Candle, Interval};
use solstice_types::{Token, format_change_bps};

use crate::{
    api::{market_snapshot, price_history},
    components::{
        live_prices::{ConnectionBadge, PriceSource, use_live_prices},
        price_chart::{ChartPlaceholder, PriceChart, span_label},
    },
    model::PriceTick,
};

#[component]
pub fn MarketsPage() -> impl IntoView {
    let snapshot = Resource::new(|| (), |_| market_snapshot());
    let shown = Signal::derive(move || snapshot.get().and_then(Result::ok));
    view! {
        <Title text="Markets" />
        <div class="page-head">
            <h1 class="page-title">"Markets"</h1>
            <ConnectionBadge />
        </div>
        <Suspense fallback=|| ()>
            <PriceSource snapshot=shown />
        </Suspense>
        <Suspense fallback=|| view! { <p class="muted">"Loading prices…"</p> }>
            {move || {
                snapshot
                    .get()
                    .map(|snapshot| {
                        let snapshot = snapshot.ok();
                        view! {
                            <ul class="market-list card" aria-label="Token prices">
                                {Token::ALL
                                    .into_iter()
                                    .map(|token| view! { <MarketRow token snapshot=snapshot.clone() /> })
                                    .collect_view()}
                            </ul>
                        }
                    })
            }}
        </Suspense>
    }
}

#[component]
fn MarketRow(token: Token, snapshot: Option<PriceTick>) -> impl IntoView {
    let live = use_live_prices();
    let price = Signal::derive(move || live.price(token, snapshot.as_ref()));
    let info = token.info();
    view! {
        <li>
            <A href=format!("/markets/{}", info.symbol) attr:class="market-row" attr:data-testid=format!("market-{}", info.symbol)>
                <span class="token-name">
                    <strong>{info.symbol}</strong>
                    <span class="muted small">{info.name}</span>
                </span>
                <span class="market-figures">
                    <span class=move || if live.is_stale() { "price stale" } else { "price" } data-testid="price">
                        {move || price.get().map(|(p, _)| p.price.format()).unwrap_or_else(|| "—".to_owned())}
                    </span>
                    <Change bps=Signal::derive(move || price.get().and_then(|(p, _)| p.change_24h_bps)) />
                    <Show when=move || price.get().is_some_and(|(p, _)| p.suspect)>
                        <span class="suspect" data-testid="suspect">"Sources disagree: swaps paused"</span>
                    </Show>
                </span>
            </A>
        </li>
    }
}

/// A 24-hour change, coloured, with its direction in words for screen readers.
#[component]
fn Change(#[prop(into)] bps: Signal<Option<i64>>) -> impl IntoView {
    let class = move || match bps.get() {
        Some(b) if b > 0 => "change up",
        Some(b) if b < 0 => "change down",
        _ => "change",
    };
    view! {
        <span class=class data-testid="change">
            <span class="sr-only">"24 hour change: "</span>
            {move || bps.get().map(format_change_bps).unwrap_or_else(|| "—".to_owned())}
        </span>
    }
}

#[component]
pub fn TokenPage() -> impl IntoView {
    let params = use_params_map();
    let token = Memo::new(move |_| params.read().get("symbol").and_then(|symbol| symbol.parse::<Token>().ok()));
    view! {
        {move || match token.get() {
            Some(token) => view! { <TokenMarket token /> }.into_any(),
            None => view! { <crate::pages::not_found::NotFound /> }.into_any(),
        }}
    }
}

#[component]
fn TokenMarket(token: Token) -> impl IntoView {
    let live = use_live_prices();
    let interval = RwSignal::new(Interval::OneMinute);
    let history = Resource::new(move || interval.get(), move |interval| price_history(token, interval));
    let snapshot = Resource::new(|| (), |_| market_snapshot());
    let shown = Signal::derive(move || snapshot.get().and_then(Result::ok));
    let info = token.info();
    // Candles built in the browser from every tick since the page loaded (or the range changed).
    let live_candles = RwSignal::new(Vec::<Candle>::new());
    Effect::new(move |_| {
        interval.track();
        live_candles.set(Vec::new());
    });
    Effect::new(move |_| {
        if let Some((price, at_ms)) = live.price(token, None) {
            let start = interval.get_untracked().start_of(at_ms.div_euclid(1_000));
            live_candles.update(|candles| match candles.last_mut() {
                Some(last) if last.start == start => last.update(price.price),
                Some(last) if last.start > start => {}
                _ => candles.push(Candle::at(start, price.price)),
            });
        }
    });
    // The stored history, with the live candles merged in and appended.
    let candles = Signal::derive(move || {
        let mut candles: Vec<Candle> = history.get().and_then(Result::ok).unwrap_or_default();
        for live in live_candles.get() {
            if let Some(candle) = candles.iter_mut().find(|candle| candle.start == live.start) {
                candle.high = candle.high.max(live.high);
                candle.low = candle.low.min(live.low);
                candle.close = live.close;
            } else if candles.last().is_none_or(|last| last.start < live.start) {
                candles.push(live);
            }
        }
        let excess = candles.len().saturating_sub(interval.get().chart_len());
        candles.drain(..excess);
        candles
    });
    let current = move || {
        let fallback = snapshot.get().and_then(Result::ok);
        live.price(token, fallback.as_ref()).map(|(p, _)| p)
    };
    view! {
        <Title text=format!("{} price", info.symbol) />
        <p class="crumbs"><A href="/markets">"Markets"</A> " / " {info.symbol}</p>
        <div class="page-head">
            <h1 class="page-title">{info.name} " " <span class="muted">{info.symbol}</span></h1>
            <ConnectionBadge />
        </div>
        <Suspense fallback=|| ()>
            <PriceSource snapshot=shown />
        </Suspense>
        <section class="card">
            <Suspense fallback=|| ()>
                <p class="big-number" data-testid="token-price">
                    {move || current().map(|p| p.price.format()).unwrap_or_else(|| "—".to_owned())}
                </p>
                <Change bps=Signal::derive(move || current().and_then(|p| p.change_24h_bps)) />
            </Suspense>
            <div class="segmented" role="group" aria-label="Chart range">
                {Interval::ALL
                    .into_iter()
                    .map(|choice| {
                        view! {
                            <button
                                type="button"
                                class="btn btn-small"
                                aria-pressed=move || (interval.get() == choice).to_string()
                                on:click=move |_| interval.set(choice)
                            >
                                {span_label(choice)}
                            </button>
                        }
                    })
                    .collect_view()}
            </div>
            <Transition fallback=|| view! { <ChartPlaceholder label="Loading chart…" /> }>
                {move || history.get().map(|_| view! { <PriceChart candles interval symbol=info.symbol /> })}
            </Transition>
            <p class="muted small">{format!("Mint {}", info.mint)}</p>
        </section>
    }
}
