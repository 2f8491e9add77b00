//! The portfolio: every holding valued at live prices, the total, 24-hour change, allocation;
//! the value over time (24 hours to all time, the range in the page's address) extending with
//! each live tick, and each holding's cost and unrealised profit or loss.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_query_map};
use solstice_types::{
    Amount, Token, UsdPrice, UsdValue, format_change_bps,
    portfolio::{Holding, Portfolio, TokenCost, ValueHistory, ValuePoint, ValueRange},
};

use crate::{
    api::{my_portfolio, my_value_history},
    components::{
        errors::loaded,
        format::format_time,
        live_prices::{ConnectionBadge, LatestPriceSource, LivePrices, use_live_prices},
    },
};

/// A holding revalued at the latest live price.
#[derive(Debug, Clone, PartialEq)]
struct LiveHolding {
    token: Token,
    amount: Amount,
    price: UsdPrice,
    value: UsdValue,
    change_24h_bps: Option<i64>,
    share_bps: u32,
}

/// The holdings, the total, its 24-hour change, and staked SOL (valued like a holding).
type Valued = (Vec<LiveHolding>, UsdValue, Option<i64>, Option<LiveHolding>);

/// Revalues the service's holdings at the live prices (integers throughout, like the service).
fn revalue(portfolio: &Portfolio, live: &LivePrices) -> Valued {
    let sol_price = portfolio.holdings.iter().find(|h| h.token == Token::Sol).map(|h| (h.price, h.change_24h_bps));
    let staked = (!portfolio.staked.amount.is_zero()).then(|| Holding {
        token: Token::Sol,
        amount: portfolio.staked.amount,
        price: sol_price.map_or(UsdPrice::from_picodollars(0), |p| p.0),
        value: portfolio.staked.value,
        change_24h_bps: sol_price.and_then(|p| p.1),
        share_bps: 0,
    });
    let mut holdings: Vec<LiveHolding> = portfolio
        .holdings
        .iter()
        .chain(staked.iter())
        .map(|Holding { token, amount, price, change_24h_bps, .. }| {
            let (price, change) = match live.price(*token, None) {
                Some((live, _)) => (live.price, live.change_24h_bps),
                None => (*price, *change_24h_bps),
            };
            LiveHolding {
                token: *token,
                amount: *amount,
                price,
                value: price.value_of(*amount, token.decimals()),
                change_24h_bps: change,
                share_bps: 0,
            }
        })
        .collect();
    let mut staked = staked.and_then(|_| holdings.pop());
    if let Some(staked) = &mut staked
        && staked.price.picodollars() == 0
    {
        // No SOL in the wallet to take a price from, and none live yet: the service's value.
        staked.value = portfolio.staked.value;
    }
    let total =
        holdings.iter().chain(staked.iter()).fold(UsdValue::ZERO, |sum, h| sum.checked_add(h.value).unwrap_or(sum));
    // Yesterday's value of today's amounts: value / (1 + change).
    let then: Option<u128> = holdings.iter().chain(staked.iter()).try_fold(0u128, |sum, h| {
        let bps = h.change_24h_bps?;
        let divisor = u128::try_from(10_000 + bps).ok().filter(|d| *d > 0)?;
        Some(sum + h.value.picodollars() * 10_000 / divisor)
    });
    let change = then
        .filter(|then| *then > 0)
        .map(|then| ((total.picodollars() as i128 - then as i128) * 10_000 / then as i128) as i64);
    for holding in holdings.iter_mut().chain(staked.iter_mut()) {
        holding.share_bps = holding.value.share_bps_of(total);
    }
    holdings.sort_by_key(|h| std::cmp::Reverse(h.value));
    (holdings, total, change, staked)
}

fn color(token: Token) -> &'static str {
    match token {
        Token::Sol => "#9945ff",
        Token::Usdc => "#2775ca",
        Token::Usdt => "#26a17b",
        Token::Jup => "#c7f284",
        Token::Bonk => "#f8a93b",
        Token::Ray => "#e84fbd",
        Token::Jto => "#5ee0a0",
    }
}

/// A token's colour, as drawn (an SVG fill, not an inline style, which the Content Security
/// Policy does not allow).
#[component]
fn Swatch(color: &'static str) -> impl IntoView {
    view! {
        <svg class="swatch" viewBox="0 0 10 10" aria-hidden="true">
            <rect width="10" height="10" rx="3" fill=color />
        </svg>
    }
}

#[component]
pub fn PortfolioPage() -> impl IntoView {
    // Fetched again when the account's money moves (a transfer arrives, a reward is paid).
    let moved = crate::components::auth::use_auth().moved;
    let portfolio = Resource::new(move || moved.get(), |_| my_portfolio());
    view! {
        <Title text="Portfolio" />
        <div class="page-head">
            <h1 class="page-title">"Portfolio"</h1>
            <ConnectionBadge />
        </div>
        <LatestPriceSource />
        <Transition fallback=|| view! { <p class="muted">"Loading your portfolio…"</p> }>
            {move || {
                portfolio
                    .get()
                    .map(|result| loaded(result, "see your portfolio", None, |portfolio| view! { <Holdings portfolio /> }))
            }}
        </Transition>
    }
}

/// Picodollars with a sign, for people: "+$300.00", "−$12.34", "$0.00".
fn signed_usd(picodollars: i128) -> String {
    let amount = UsdValue::from_picodollars(picodollars.unsigned_abs()).format();
    match picodollars.signum() {
        1 => format!("+{amount}"),
        -1 => format!("−{amount}"),
        _ => amount,
    }
}

/// The value over a range, and what each holding cost.
#[component]
fn ValueOverTime() -> impl IntoView {
    let query = use_query_map();
    let range = Memo::new(move |_| {
        query.with(|q| q.get("range").and_then(|r| ValueRange::parse(&r))).unwrap_or(ValueRange::Day)
    });
    let moved = crate::components::auth::use_auth().moved;
    let history =
        Resource::new(move || (range.get(), moved.get()), |(range, _)| my_value_history(range.as_str().to_owned()));
    view! {
        <section class="card" aria-labelledby="history-heading">
            <div class="card-head">
                <h2 id="history-heading" class="card-label">"Value over time"</h2>
                <nav class="range-tabs" aria-label="Range">
                    {ValueRange::ALL
                        .into_iter()
                        .map(|r| {
                            view! {
                                <A
                                    href=format!("/portfolio?range={}", r.as_str())
                                    attr:aria-current=move || (range.get() == r).then_some("page")
                                    attr:title=r.label()
                                    attr:data-testid=format!("range-{}", r.as_str())
                                >
                                    {r.as_str()}
                                </A>
                            }
                        })
                        .collect_view()}
                </nav>
            </div>
            <Transition fallback=|| view! { <p class="muted">"Loading your history…"</p> }>
                {move || {
                    history
                        .get()
                        .map(|result| loaded(result, "see your portfolio's history", None, |history| view! { <HistoryChart history /> }))
                }}
            </Transition>
        </section>
    }
}

const CHART_WIDTH: f64 = 600.0;
const CHART_HEIGHT: f64 = 180.0;
/// Live points kept beyond the history's (about ten minutes of ticks).
const LIVE_POINTS: usize = 600;

/// The value line, extended with a point at each live tick (the holdings at its prices).
#[component]
fn HistoryChart(history: ValueHistory) -> impl IntoView {
    let live = use_live_prices();
    let ValueHistory { range, points, tokens, .. } = history;
    let last_ms = points.last().map_or(0, |point| point.at_ms);
    let live_points = RwSignal::new(Vec::<ValuePoint>::new());
    let held = tokens.clone();
    Effect::new(move |_| {
        let Some(at_ms) = live.tick.with(|tick| tick.as_ref().filter(|tick| tick.seq > 0).map(|tick| tick.at_ms))
        else {
            return;
        };
        let value = held.iter().try_fold(UsdValue::ZERO, |sum, cost| {
            let (price, _) = live.price(cost.token, None)?;
            sum.checked_add(price.price.value_of(cost.amount, cost.token.decimals()))
        });
        if let Some(value) = value.filter(|_| at_ms > last_ms) {
            live_points.update(|extra| {
                if extra.last().is_none_or(|point| point.at_ms < at_ms) {
                    extra.push(ValuePoint { at_ms, value });
                    if extra.len() > LIVE_POINTS {
                        extra.remove(0);
                    }
                }
            });
        }
    });
    let all = Memo::new(move |_| {
        let mut all = points.clone();
        live_points.with(|extra| all.extend(extra.iter().copied()));
        all
    });
    let change = move || {
        all.with(|all| -> Option<(i128, Option<i64>)> {
            let (first, last) = (all.first()?, all.last()?);
            if all.len() < 2 {
                return None;
            }
            let change = last.value.picodollars() as i128 - first.value.picodollars() as i128;
            let bps =
                (first.value.picodollars() > 0).then(|| (change * 10_000 / first.value.picodollars() as i128) as i64);
            Some((change, bps))
        })
    };
    let change_text = move || match change() {
        Some((change, Some(bps))) => {
            format!("{} ({}) over {}", signed_usd(change), format_change_bps(bps), range.label().to_lowercase())
        }
        Some((change, None)) => format!("{} over {}", signed_usd(change), range.label().to_lowercase()),
        None => "Not enough history yet.".to_owned(),
    };
    let change_class = move || match change() {
        Some((c, _)) if c > 0 => "change up",
        Some((c, _)) if c < 0 => "change down",
        _ => "change",
    };
    let shape = move || all.with(|all| value_shape(all));
    let label = move || {
        all.with(|all| match (all.first(), all.last()) {
            (Some(first), Some(last)) => {
                format!(
                    "Total value over {}: from {} to {}",
                    range.label().to_lowercase(),
                    first.value.format(),
                    last.value.format()
                )
            }
            _ => "Total value: no history yet".to_owned(),
        })
    };
    view! {
        <p class=change_class data-testid="history-change">{change_text}</p>
        <figure class="chart">
            <div class="chart-scale">
                <span>{move || shape().map(|s| s.2).unwrap_or_default()}</span>
            </div>
            <svg viewBox=format!("0 0 {CHART_WIDTH} {CHART_HEIGHT}") preserveAspectRatio="none" role="img" aria-label=label data-testid="value-chart">
                <path class="chart-area" d=move || shape().map(|s| s.1).unwrap_or_default() />
                <path class="chart-line" d=move || shape().map(|s| s.0).unwrap_or_default() vector-effect="non-scaling-stroke" />
            </svg>
            <div class="chart-scale">
                <span>{move || shape().map(|s| s.3).unwrap_or_default()}</span>
            </div>
            <figcaption class="chart-axis muted small">
                <span>{move || all.with(|all| all.first().map(|p| format_time(p.at_ms)).unwrap_or_default())}</span>
                <span>"now"</span>
            </figcaption>
        </figure>
        <ul class="cost-list" aria-label="Cost and unrealised profit or loss">
            {tokens.into_iter().map(|cost| view! { <CostRow cost /> }).collect_view()}
        </ul>
    }
}

/// The line and area of the value over time, x by time; and the highest and lowest values.
fn value_shape(points: &[ValuePoint]) -> Option<(String, String, String, String)> {
    let (first, last) = (points.first()?, points.last()?);
    let high = points.iter().map(|p| p.value).max()?;
    let low = points.iter().map(|p| p.value).min()?;
    let (top, bottom) = (high.picodollars() as f64, low.picodollars() as f64);
    let span = (last.at_ms - first.at_ms).max(1) as f64;
    let x = |p: &ValuePoint| (p.at_ms - first.at_ms) as f64 / span * CHART_WIDTH;
    let y = |p: &ValuePoint| {
        if top > bottom {
            CHART_HEIGHT - (p.value.picodollars() as f64 - bottom) / (top - bottom) * (CHART_HEIGHT - 8.0) - 4.0
        } else {
            CHART_HEIGHT / 2.0
        }
    };
    let mut line = String::with_capacity(points.len() * 16);
    for (i, point) in points.iter().enumerate() {
        line.push_str(&format!("{}{:.1} {:.1}", if i == 0 { "M" } else { " L" }, x(point), y(point)));
    }
    if points.len() == 1 {
        line.push_str(&format!(" L{CHART_WIDTH} {:.1}", y(first)));
    }
    let area = format!("{line} L{CHART_WIDTH} {CHART_HEIGHT} L0 {CHART_HEIGHT} Z");
    Some((line, area, high.format(), low.format()))
}

/// A holding's cost and its unrealised profit or loss.
#[component]
fn CostRow(cost: TokenCost) -> impl IntoView {
    let symbol = cost.token.symbol();
    let figures = match (cost.cost, cost.pnl) {
        (Some(paid), Some(pnl)) => {
            let bps = cost.pnl_bps.map(|bps| format!(" ({})", format_change_bps(bps))).unwrap_or_default();
            format!("cost {} · {}{bps}", paid.format(), signed_usd(pnl))
        }
        _ => "cost unknown (bought before the prices kept)".to_owned(),
    };
    let class = match cost.pnl {
        Some(pnl) if pnl > 0 => "change up",
        Some(pnl) if pnl < 0 => "change down",
        _ => "muted",
    };
    view! {
        <li class="cost" data-testid=format!("pnl-{symbol}")>
            <strong>{symbol}</strong>
            <span class="muted small">{format!("{} {symbol} · worth {}", cost.amount.format_display(cost.token.decimals(), 6), cost.value.format())}</span>
            <span class=class>{figures}</span>
        </li>
    }
}

#[component]
fn Holdings(portfolio: Portfolio) -> impl IntoView {
    let live = use_live_prices();
    let empty = portfolio.holdings.is_empty() && portfolio.staked.amount.is_zero();
    let rewards = portfolio.staked.rewards;
    let (priced_at_ms, stale_when_loaded) = (portfolio.priced_at_ms, portfolio.prices_stale);
    let valued = Memo::new(move |_| revalue(&portfolio, &live));
    let change_class = move || match valued.with(|v| v.2) {
        Some(b) if b > 0 => "change up",
        Some(b) if b < 0 => "change down",
        _ => "change",
    };
    view! {
        <section class="card" aria-labelledby="total-heading">
            <h2 id="total-heading" class="card-label">"Total value"</h2>
            <p class="big-number" data-testid="total-value">{move || valued.with(|v| v.1.format())}</p>
            <p class=change_class data-testid="total-change">
                {move || valued.with(|v| v.2).map(|bps| format!("{} in 24 hours", format_change_bps(bps))).unwrap_or_default()}
            </p>
            <Show when=move || live.is_stale() || (stale_when_loaded && live.tick.with(Option::is_none))>
                <p class="muted small" role="status" data-testid="values-as-of">
                    {move || {
                        let at = live.tick.with(|tick| tick.as_ref().filter(|t| t.seq > 0).map(|t| t.at_ms)).unwrap_or(priced_at_ms);
                        format!("Prices are stale: values as of {}.", format_time(at))
                    }}
                </p>
            </Show>
        </section>
        <Show when=move || !empty fallback=|| view! { <p class="card muted">"This wallet holds no tokens yet."</p> }>
            <div class="portfolio-grid">
                <section class="card" aria-labelledby="allocation-heading">
                    <h2 id="allocation-heading" class="card-label">"Allocation"</h2>
                    <Allocation holdings=Signal::derive(move || valued.with(|v| v.0.clone())) />
                </section>
                <section class="card holdings" aria-labelledby="holdings-heading">
                    <h2 id="holdings-heading" class="card-label">"Holdings"</h2>
                    <ul class="holding-list">
                        <For each=move || valued.with(|v| v.0.clone()) key=|h| h.token let:holding>
                            <HoldingRow token=holding.token valued />
                        </For>
                        {move || valued.with(|v| v.3.clone()).map(|staked| view! { <StakedRow staked rewards /> }.into_any())}
                    </ul>
                </section>
            </div>
        </Show>
        // Under the holdings, and only once they are there: streamed in later, above them, it
        // would push them down.
        <ValueOverTime />
    }
}

/// Staked SOL, valued at the live SOL price, with the rewards it earned.
#[component]
fn StakedRow(staked: LiveHolding, rewards: Amount) -> impl IntoView {
    view! {
        <li class="holding" data-testid="holding-staked">
            <Swatch color="#6b3fd1" />
            <span class="token-name">
                <strong>"Staked SOL"</strong>
                <span class="muted small" data-testid="staked-amount">
                    {format!("{} SOL", staked.amount.format_display(Token::Sol.decimals(), 6))}
                </span>
            </span>
            <span class="market-figures">
                <span class="price" data-testid="staked-value">{staked.value.format()}</span>
                <span class="muted small" data-testid="staked-rewards">
                    {format!("+{} SOL rewards", rewards.format_display(Token::Sol.decimals(), 9))}
                </span>
                <span class="muted small">{format!("{}.{:02}%", staked.share_bps / 100, staked.share_bps % 100)}</span>
            </span>
        </li>
    }
}

#[component]
fn HoldingRow(token: Token, valued: Memo<Valued>) -> impl IntoView {
    let info = token.info();
    let holding = move || valued.with(|v| v.0.iter().find(|h| h.token == token).cloned());
    let field = move |f: fn(&LiveHolding) -> String| move || holding().map(|h| f(&h)).unwrap_or_default();
    view! {
        <li class="holding" data-testid=format!("holding-{}", info.symbol)>
            <Swatch color=color(token) />
            <span class="token-name">
                <strong>{info.symbol}</strong>
                <span class="muted small" data-testid="holding-amount">
                    {field(|h| format!("{} {}", h.amount.format_display(h.token.decimals(), 6), h.token.symbol()))}
                </span>
            </span>
            <span class="market-figures">
                <span class="price" data-testid="holding-value">{field(|h| h.value.format())}</span>
                <span class="muted small" data-testid="holding-price">
                    {field(|h| format!("{} · {}", h.price.format(), h.change_24h_bps.map(format_change_bps).unwrap_or_default()))}
                </span>
                <span class="muted small">
                    {field(|h| format!("{}.{:02}%", h.share_bps / 100, h.share_bps % 100))}
                </span>
            </span>
        </li>
    }
}

/// A donut chart of each holding's share of the total.
#[component]
fn Allocation(#[prop(into)] holdings: Signal<Vec<LiveHolding>>) -> impl IntoView {
    // On a circle of circumference 100, a dash of length `share%` draws that share.
    let segments = move || {
        let mut offset = 25.0;
        holdings
            .get()
            .into_iter()
            .filter(|h| h.share_bps > 0)
            .map(|h| {
                let share = f64::from(h.share_bps) / 100.0;
                let segment = (h.token, share, offset);
                offset -= share;
                segment
            })
            .collect::<Vec<_>>()
    };
    let label = move || {
        holdings
            .get()
            .iter()
            .map(|h| format!("{} {}.{:02}%", h.token, h.share_bps / 100, h.share_bps % 100))
            .collect::<Vec<_>>()
            .join(", ")
    };
    view! {
        <svg class="donut" viewBox="0 0 42 42" role="img" aria-label=move || format!("Allocation: {}", label())>
            <circle cx="21" cy="21" r="15.915" fill="transparent" stroke="var(--surface-2)" stroke-width="6" />
            {move || {
                segments()
                    .into_iter()
                    .map(|(token, share, offset)| {
                        view! {
                            <circle
                                cx="21"
                                cy="21"
                                r="15.915"
                                fill="transparent"
                                stroke=color(token)
                                stroke-width="6"
                                stroke-dasharray=format!("{share:.3} {:.3}", 100.0 - share)
                                stroke-dashoffset=format!("{offset:.3}")
                            />
                        }
                    })
                    .collect_view()
            }}
        </svg>
    }
}
