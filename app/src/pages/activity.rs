//! The activity timeline: every movement of the wallet's money, filtered by kind, token and
//! dates (in the page's address, so a view can be bookmarked), paged, exportable as CSV; and
//! any row's receipt by its reference number.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::{A, Form},
    hooks::{use_navigate, use_params_map, use_query_map},
};
use solstice_types::{
    Amount, Reference, Token,
    activity::{ActivityKind, ActivityRow, TokenAmount},
};

use crate::{
    api::activity::{my_activity, my_activity_row},
    components::{
        copy::CopyButton,
        errors::{Missing, Problem, loaded},
        format::{format_amount, format_time},
        load_more::LoadMore,
    },
};

/// The filters, as they appear in the page's address.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Filters {
    kind: Option<String>,
    token: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

impl Filters {
    /// The same filters as a query string, for the CSV download.
    fn query(&self) -> String {
        let pairs: Vec<String> = [("kind", &self.kind), ("token", &self.token), ("from", &self.from), ("to", &self.to)]
            .into_iter()
            .filter_map(|(name, value)| value.as_ref().map(|value| format!("{name}={}", encode(value))))
            .collect();
        if pairs.is_empty() { String::new() } else { format!("?{}", pairs.join("&")) }
    }
}

/// Percent-encodes what is not a letter, digit, `-` or `.` (filter values are short and plain).
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'-' || b == b'.' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[component]
pub fn ActivityPage() -> impl IntoView {
    let query = use_query_map();
    let filters = Memo::new(move |_| {
        query.with(|q| {
            let field = |name: &str| q.get(name).filter(|value| !value.is_empty());
            Filters { kind: field("kind"), token: field("token"), from: field("from"), to: field("to") }
        })
    });
    // The first page again when the account's money moves.
    let moved = crate::components::auth::use_auth().moved;
    let first =
        Resource::new(move || (filters.get(), moved.get()), |(f, _)| my_activity(f.kind, f.token, f.from, f.to, None));
    let selected = move |name: &'static str, value: &'static str| {
        move || {
            filters.with(|f| {
                let current = if name == "kind" { &f.kind } else { &f.token };
                current.as_deref().is_some_and(|current| current.eq_ignore_ascii_case(value))
            })
        }
    };
    view! {
        <Title text="Activity" />
        <div class="page-head">
            <h1 class="page-title">"Activity"</h1>
            <a
                href=move || format!("/activity.csv{}", filters.with(Filters::query))
                class="btn"
                download
                rel="external"
                data-testid="export-csv"
            >
                "Download CSV"
            </a>
        </div>
        <FindByReference />
        <Form method="GET" action="" attr:class="card filters" attr:aria-label="Filter activity">
            <label>
                "Kind"
                <select name="kind">
                    <option value="" selected=move || filters.with(|f| f.kind.is_none())>"Everything"</option>
                    {ActivityKind::ALL
                        .into_iter()
                        .map(|kind| view! { <option value=kind.as_str() selected=selected("kind", kind.as_str())>{kind.label()}</option> })
                        .collect_view()}
                </select>
            </label>
            <label>
                "Token"
                <select name="token">
                    <option value="" selected=move || filters.with(|f| f.token.is_none())>"All tokens"</option>
                    {Token::ALL
                        .into_iter()
                        .map(|t| view! { <option value=t.symbol() selected=selected("token", t.symbol())>{t.symbol()}</option> })
                        .collect_view()}
                </select>
            </label>
            <label>
                "From"
                <input type="date" name="from" prop:value=move || filters.with(|f| f.from.clone().unwrap_or_default()) />
            </label>
            <label>
                "To"
                <input type="date" name="to" prop:value=move || filters.with(|f| f.to.clone().unwrap_or_default()) />
            </label>
            <button type="submit" class="btn">"Apply"</button>
        </Form>
        <Transition fallback=|| view! { <p class="muted">"Loading your activity…"</p> }>
            {move || {
                first
                    .get()
                    .map(|result| {
                        loaded(result, "see your activity", None, |page| {
                            view! { <ActivityList first=page.rows next=page.next_before filters=filters.get() /> }
                        })
                    })
            }}
        </Transition>
    }
}

/// Opens any row by the reference number on its receipt.
#[component]
fn FindByReference() -> impl IntoView {
    let navigate = use_navigate();
    let text = RwSignal::new(String::new());
    let problem = RwSignal::new(None::<String>);
    let find = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        match Reference::parse(text.get().trim()) {
            Ok(reference) => navigate(&format!("/activity/{reference}"), Default::default()),
            Err(error) => problem.set(Some(error.to_string())),
        }
    };
    view! {
        <form class="card lookup" on:submit=find novalidate>
            <label for="reference">"Find by reference number"</label>
            <div class="input-row">
                <input
                    id="reference"
                    class="mono"
                    placeholder="TRF-…, SWP-…, STK-…"
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
fn ActivityList(first: Vec<ActivityRow>, next: Option<Reference>, filters: Filters) -> impl IntoView {
    let rows = RwSignal::new(first);
    let next = RwSignal::new(next);
    let older = move |before: Reference| {
        let f = filters.clone();
        async move {
            let page = my_activity(f.kind, f.token, f.from, f.to, Some(before.to_string())).await?;
            Ok((page.rows, page.next_before))
        }
    };
    view! {
        <Show
            when=move || !rows.with(Vec::is_empty)
            fallback=|| view! { <p class="card muted">"Nothing here yet."</p> }
        >
            <ul class="card activity-list" data-testid="activity-list">
                <For each=move || rows.get() key=|row| row.reference.clone() let:row>
                    <Row row />
                </For>
            </ul>
        </Show>
        <LoadMore items=rows next fetch=older label="Show older activity" />
    }
}

/// "-1.5 SOL", "+299 USDC".
fn signed(part: Option<TokenAmount>, sign: char) -> Option<String> {
    part.map(|part| format!("{sign}{}", format_amount(part.amount, part.token)))
}

/// SOL into or out of stake accounts: "+3 SOL staked".
fn staked(lamports: i64) -> Option<String> {
    let amount = Amount::from_base_units(lamports.unsigned_abs())?;
    match lamports.signum() {
        1 => Some(format!("+{} staked", format_amount(amount, Token::Sol))),
        -1 => Some(format!("−{} unstaked", format_amount(amount, Token::Sol))),
        _ => None,
    }
}

#[component]
fn Row(row: ActivityRow) -> impl IntoView {
    let title = match (row.kind, &row.counterparty) {
        (ActivityKind::Sent, Some(to)) => format!("Sent to {}", to.short()),
        (ActivityKind::Received, Some(from)) => format!("Received from {}", from.short()),
        (kind, _) => kind.label().to_owned(),
    };
    let sent = signed(row.sent, '−');
    let received = signed(row.received, '+');
    let staked = if row.sent.is_none() && row.received.is_none() { staked(row.staked_change) } else { None };
    view! {
        <li class="activity" data-testid="activity-row" data-kind=row.kind.as_str()>
            <A href=format!("/activity/{}", row.reference) attr:class="activity-link">
                <span class="activity-main">
                    <strong>{title}</strong>
                    <span class="muted small">{format_time(row.at_ms)}</span>
                </span>
                <span class="activity-figures">
                    <span>
                        {sent.map(|text| view! { <span class="amount down">{text}</span> })}
                        {(row.sent.is_some() && row.received.is_some()).then_some(" ")}
                        {received.map(|text| view! { <span class="amount up">{text}</span> })}
                        {staked.map(|text| view! { <span class="amount">{text}</span> })}
                    </span>
                    <span class="muted small">
                        {row.usd_value.map(|value| format!("{} · ", value.format()))}
                        <span class="mono">{row.reference.to_string()}</span>
                    </span>
                </span>
            </A>
        </li>
    }
}

const NOT_FOUND: Missing =
    Missing { title: "Nothing with that reference", back_href: "/activity", back_label: "Your activity" };

#[component]
pub fn ActivityReceiptPage() -> impl IntoView {
    let params = use_params_map();
    let reference = move || params.with(|p| p.get("reference").unwrap_or_default());
    let row = Resource::new(reference, my_activity_row);
    view! {
        <Title text="Receipt" />
        <Suspense fallback=|| view! { <p class="muted">"Loading the receipt…"</p> }>
            {move || row.get().map(|result| loaded(result, "see this receipt", Some(NOT_FOUND), |row| view! { <Receipt row /> }))}
        </Suspense>
    }
}

#[component]
fn Receipt(row: ActivityRow) -> impl IntoView {
    let amount = |part: TokenAmount| format_amount(part.amount, part.token);
    let exact = |part: TokenAmount| format!("{} {}", part.amount.format(part.token.decimals()), part.token.symbol());
    // Swaps and transfers have a receipt of their own, with what only they know.
    let full = match row.kind {
        ActivityKind::Swap => Some((format!("/swaps/{}", row.reference), "Swap details")),
        ActivityKind::Sent | ActivityKind::Received => {
            Some((format!("/transfers/{}", row.reference), "Transfer receipt"))
        }
        ActivityKind::Stake | ActivityKind::Unstake | ActivityKind::Withdraw | ActivityKind::Reward => {
            Some(("/stake".to_owned(), "Your stakes"))
        }
        ActivityKind::Airdrop => None,
    };
    view! {
        <section class="card narrow" data-testid="activity-receipt">
            <h1>{row.kind.label()}</h1>
            <p class="muted" data-testid="receipt-summary">{row.summary()}</p>
            <dl class="facts">
                <dt>"Reference"</dt>
                <dd>
                    <span class="mono ref" data-testid="receipt-reference">{row.reference.to_string()}</span>
                    <CopyButton text=row.reference.to_string() label="Copy" />
                </dd>
                <dt>"Time"</dt>
                <dd>{format_time(row.at_ms)}</dd>
                {row.sent.map(|part| view! { <dt>"Sent"</dt><dd data-testid="receipt-sent" title=exact(part)>{amount(part)}</dd> })}
                {row.received.map(|part| view! { <dt>"Received"</dt><dd data-testid="receipt-received" title=exact(part)>{amount(part)}</dd> })}
                {row.fee.map(|part| view! { <dt>"Fee"</dt><dd title=exact(part)>{format!("{} (taken from what you received)", amount(part))}</dd> })}
                {staked(row.staked_change).map(|text| view! { <dt>"Stake accounts"</dt><dd>{text}</dd> })}
                <dt>"Value then"</dt>
                <dd data-testid="receipt-value">{row.usd_value.map_or_else(|| "No price of that moment is kept".to_owned(), |value| value.format())}</dd>
                {row.counterparty.clone().map(|other| {
                    let label = if row.kind == ActivityKind::Sent { "To" } else { "From" };
                    view! { <dt>{label}</dt><dd class="mono break">{other.to_string()}</dd> }
                })}
                {row.stake_account.clone().map(|account| view! { <dt>"Stake account"</dt><dd class="mono break">{account}</dd> })}
                {row.note.clone().map(|note| view! { <dt>"Note"</dt><dd>{note}</dd> })}
            </dl>
            <div class="actions">
                <A href="/activity" attr:class="btn">"All activity"</A>
                {full.map(|(href, label)| view! { <A href=href attr:class="btn btn-primary">{label}</A> })}
            </div>
        </section>
    }
}
