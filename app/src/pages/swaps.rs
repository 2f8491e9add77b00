//! Swap history (filter by token and dates, look-up by reference number) and a swap's details.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::{A, Form},
    hooks::{use_navigate, use_params_map, use_query_map},
};
use solstice_types::{
    Reference, Token, format_bps,
    swap::{Swap, SwapSide, format_rate},
};

use crate::{
    api::swaps::{my_swap, my_swaps},
    components::{
        copy::CopyButton,
        errors::{Missing, Problem, loaded},
        format::{format_amount, format_time},
        load_more::LoadMore,
    },
};

/// The history's filters, as they appear in the page's address (so a filtered view can be
/// bookmarked, and the filter form works without JavaScript).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Filters {
    token: Option<String>,
    from_date: Option<String>,
    to_date: Option<String>,
}

#[component]
pub fn SwapsPage() -> impl IntoView {
    let query = use_query_map();
    let filters = Memo::new(move |_| {
        query.with(|q| {
            let field = |name: &str| q.get(name).filter(|value| !value.is_empty());
            Filters { token: field("token"), from_date: field("from"), to_date: field("to") }
        })
    });
    let first = Resource::new(move || filters.get(), |f| my_swaps(f.token, f.from_date, f.to_date, None));
    view! {
        <Title text="Swap history" />
        <div class="page-head">
            <h1 class="page-title">"Swap history"</h1>
            <A href="/swap" attr:class="btn btn-primary">"New swap"</A>
        </div>
        <FindByReference />
        <Form method="GET" action="" attr:class="card filters" attr:aria-label="Filter swaps">
            <label>
                "Token"
                <select name="token">
                    <option value="" selected=move || filters.with(|f| f.token.is_none())>"All tokens"</option>
                    {Token::ALL
                        .into_iter()
                        .map(|t| {
                            view! {
                                <option
                                    value=t.symbol()
                                    selected=move || filters.with(|f| f.token.as_deref().is_some_and(|s| s.eq_ignore_ascii_case(t.symbol())))
                                >
                                    {t.symbol()}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
            </label>
            <label>
                "From"
                <input type="date" name="from" prop:value=move || filters.with(|f| f.from_date.clone().unwrap_or_default()) />
            </label>
            <label>
                "To"
                <input type="date" name="to" prop:value=move || filters.with(|f| f.to_date.clone().unwrap_or_default()) />
            </label>
            <button type="submit" class="btn">"Apply"</button>
        </Form>
        <Suspense fallback=|| view! { <p class="muted">"Loading your swaps…"</p> }>
            {move || {
                first
                    .get()
                    .map(|result| {
                        loaded(result, "see your swaps", None, |page| {
                            view! { <SwapList first=page.swaps next=page.next_before filters=filters.get() /> }
                        })
                    })
            }}
        </Suspense>
    }
}

/// Opens a swap by the reference number on its receipt.
#[component]
fn FindByReference() -> impl IntoView {
    let navigate = use_navigate();
    let text = RwSignal::new(String::new());
    let problem = RwSignal::new(None::<String>);
    let find = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        match Reference::parse(text.get().trim()) {
            Ok(reference) => navigate(&format!("/swaps/{reference}"), Default::default()),
            Err(error) => problem.set(Some(error.to_string().replace("TRF-", "SWP-"))),
        }
    };
    view! {
        <form class="card lookup" on:submit=find novalidate>
            <label for="reference">"Find a swap by reference number"</label>
            <div class="input-row">
                <input
                    id="reference"
                    class="mono"
                    placeholder="SWP-…"
                    autocomplete="off"
                    autocapitalize="characters"
                    spellcheck="false"
                    bind:value=text
                />
                <button type="submit" class="btn btn-small">"Open"</button>
            </div>
            <Problem problem />
        </form>
    }
}

#[component]
fn SwapList(first: Vec<Swap>, next: Option<Reference>, filters: Filters) -> impl IntoView {
    let swaps = RwSignal::new(first);
    let next = RwSignal::new(next);
    let older = move |before: Reference| {
        let f = filters.clone();
        async move {
            let page = my_swaps(f.token, f.from_date, f.to_date, Some(before.to_string())).await?;
            Ok((page.swaps, page.next_before))
        }
    };
    view! {
        <Show
            when=move || !swaps.with(Vec::is_empty)
            fallback=|| view! { <p class="card muted">"No swaps here yet."</p> }
        >
            <ul class="card activity-list" data-testid="swap-list">
                <For each=move || swaps.get() key=|s| s.reference.clone() let:swap>
                    <SwapRow swap />
                </For>
            </ul>
        </Show>
        <LoadMore items=swaps next fetch=older label="Show older swaps" />
    }
}

#[component]
fn SwapRow(swap: Swap) -> impl IntoView {
    view! {
        <li class="activity" data-testid="swap-row">
            <A href=format!("/swaps/{}", swap.reference) attr:class="activity-link">
                <span class="activity-main">
                    <strong>{format!("{} → {}", swap.from, swap.to)}</strong>
                    <span class="muted small">{format_time(swap.created_at_ms)}</span>
                </span>
                <span class="activity-figures">
                    <span>
                        <span class="amount down">{format!("−{}", format_amount(swap.amount_in, swap.from))}</span>
                        " "
                        <span class="amount up">{format!("+{}", format_amount(swap.amount_out, swap.to))}</span>
                    </span>
                    <span class="muted small mono">{swap.reference.to_string()}</span>
                </span>
            </A>
        </li>
    }
}

const NOT_FOUND: Missing = Missing { title: "Swap not found", back_href: "/swaps", back_label: "Your swaps" };

#[component]
pub fn SwapDetailsPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let reference = move || params.with(|p| p.get("reference").unwrap_or_default());
    let just_made = move || query.with(|q| q.get("new").is_some());
    let swap = Resource::new(reference, my_swap);
    view! {
        <Title text="Swap details" />
        <Suspense fallback=|| view! { <p class="muted">"Loading the swap…"</p> }>
            {move || {
                swap.get()
                    .map(|result| {
                        loaded(result, "see this swap", Some(NOT_FOUND), |swap| view! { <SwapDetails swap just_made=just_made() /> })
                    })
            }}
        </Suspense>
    }
}

#[component]
fn SwapDetails(swap: Swap, just_made: bool) -> impl IntoView {
    let gross = swap.amount_out.checked_add(swap.fee).unwrap_or(swap.amount_out);
    let side = match swap.side {
        SwapSide::ExactIn => "Sell an exact amount",
        SwapSide::ExactOut => "Buy an exact amount",
    };
    view! {
        <section class="card narrow" data-testid="swap-details">
            {just_made.then(|| view! { <p class="notice" role="status">"Swap complete. The tokens are in your wallet."</p> })}
            <h1>{format!("Swap {} → {}", swap.from, swap.to)}</h1>
            <dl class="facts">
                <dt>"Reference"</dt>
                <dd>
                    <span class="mono ref" data-testid="swap-reference">{swap.reference.to_string()}</span>
                    <CopyButton text=swap.reference.to_string() label="Copy" />
                </dd>
                <dt>"Status"</dt>
                <dd data-testid="swap-status">"Completed"</dd>
                <dt>"Time"</dt>
                <dd>{format_time(swap.created_at_ms)}</dd>
                <dt>"Paid"</dt>
                <dd data-testid="swap-paid">{format_amount(swap.amount_in, swap.from)}</dd>
                <dt>"Received"</dt>
                <dd data-testid="swap-received">{format_amount(swap.amount_out, swap.to)}</dd>
                <dt>"Quoted"</dt>
                <dd data-testid="swap-quoted">
                    {match swap.side {
                        SwapSide::ExactIn => format!("{} for {}", format_amount(swap.quoted_amount_out, swap.to), format_amount(swap.amount_in, swap.from)),
                        SwapSide::ExactOut => format!("{} for {}", format_amount(swap.amount_out, swap.to), format_amount(swap.quoted_amount_in, swap.from)),
                    }}
                </dd>
                <dt>"Rate"</dt>
                <dd>{format!("1 {} = {} {}", swap.from, format_rate(swap.amount_in, swap.from, gross, swap.to), swap.to)}</dd>
                <dt>{format!("Fee ({})", format_bps(swap.fee_bps))}</dt>
                <dd>{format_amount(swap.fee, swap.to)}</dd>
                <dt>"Price impact"</dt>
                <dd>{if swap.price_impact_bps == 0 { "< 0.01%".to_owned() } else { format_bps(swap.price_impact_bps) }}</dd>
                <dt>"Slippage tolerance"</dt>
                <dd>{format_bps(swap.slippage_bps)}</dd>
                <dt>"Order"</dt>
                <dd>{side}</dd>
                <dt>{format!("{} price at execution", swap.from)}</dt>
                <dd>{format!("{} (quoted {})", swap.price_in.format(), swap.quoted_price_in.format())}</dd>
                <dt>{format!("{} price at execution", swap.to)}</dt>
                <dd>{format!("{} (quoted {})", swap.price_out.format(), swap.quoted_price_out.format())}</dd>
            </dl>
            <div class="actions">
                <A href="/swaps" attr:class="btn">"All swaps"</A>
                <A href="/swap" attr:class="btn btn-primary">"Swap again"</A>
            </div>
        </section>
    }
}
