//! Transfer history (sent and received, newest first) and a transfer's receipt.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::A,
    hooks::{use_params_map, use_query_map},
};
use solstice_types::{
    Reference,
    transfer::{Direction, Transfer},
};

use crate::{
    api::transfers::{my_transfer, my_transfers},
    components::{
        copy::CopyButton,
        errors::{Missing, loaded},
        format::{format_amount, format_time},
        load_more::LoadMore,
    },
};

#[component]
pub fn TransfersPage() -> impl IntoView {
    // The first page again when the account's money moves (a transfer arrives).
    let moved = crate::components::auth::use_auth().moved;
    let first = Resource::new(move || moved.get(), |_| my_transfers(None));
    view! {
        <Title text="Transfers" />
        <div class="page-head">
            <h1 class="page-title">"Transfers"</h1>
            <A href="/send" attr:class="btn btn-primary">"Send"</A>
        </div>
        <Transition fallback=|| view! { <p class="muted">"Loading your transfers…"</p> }>
            {move || {
                first
                    .get()
                    .map(|result| {
                        loaded(result, "see your transfers", None, |page| {
                            view! { <TransferList first=page.transfers next=page.next_before /> }
                        })
                    })
            }}
        </Transition>
    }
}

#[component]
fn TransferList(first: Vec<Transfer>, next: Option<Reference>) -> impl IntoView {
    let transfers = RwSignal::new(first);
    let next = RwSignal::new(next);
    let older = |before: Reference| async move {
        my_transfers(Some(before.to_string())).await.map(|page| (page.transfers, page.next_before))
    };
    view! {
        <Show
            when=move || !transfers.with(Vec::is_empty)
            fallback=|| view! { <p class="card muted">"No transfers yet. Tokens you send or receive show up here."</p> }
        >
            <ul class="card activity-list" data-testid="transfer-list">
                <For each=move || transfers.get() key=|t| t.reference.clone() let:transfer>
                    <TransferRow transfer />
                </For>
            </ul>
        </Show>
        <LoadMore items=transfers next fetch=older label="Show older transfers" />
    }
}

#[component]
fn TransferRow(transfer: Transfer) -> impl IntoView {
    let (sign, label, counterparty, class) = match transfer.direction {
        Direction::Sent => ("−", "To", transfer.to.short(), "amount down"),
        Direction::Received => ("+", "From", transfer.from.short(), "amount up"),
    };
    let href = format!("/transfers/{}", transfer.reference);
    view! {
        <li class="activity" data-testid="transfer-row">
            <A href=href attr:class="activity-link">
                <span class="activity-main">
                    <strong>{format!("{label} {counterparty}")}</strong>
                    <span class="muted small">{format_time(transfer.created_at_ms)}</span>
                    {transfer.memo.clone().map(|memo| view! { <span class="muted small memo">{memo}</span> })}
                </span>
                <span class="activity-figures">
                    <span class=class data-testid="transfer-amount">
                        {format!("{sign}{}", format_amount(transfer.amount, transfer.token))}
                    </span>
                    <span class="muted small mono">{transfer.reference.to_string()}</span>
                </span>
            </A>
        </li>
    }
}

const NOT_FOUND: Missing =
    Missing { title: "Transfer not found", back_href: "/transfers", back_label: "Your transfers" };

#[component]
pub fn TransferReceiptPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let reference = move || params.with(|p| p.get("reference").unwrap_or_default());
    let just_sent = move || query.with(|q| q.get("sent").is_some());
    let transfer = Resource::new(reference, my_transfer);
    view! {
        <Title text="Transfer" />
        <Suspense fallback=|| view! { <p class="muted">"Loading the transfer…"</p> }>
            {move || {
                transfer
                    .get()
                    .map(|result| {
                        loaded(result, "see this transfer", Some(NOT_FOUND), |transfer| {
                            view! { <Receipt transfer just_sent=just_sent() /> }
                        })
                    })
            }}
        </Suspense>
    }
}

#[component]
fn Receipt(transfer: Transfer, just_sent: bool) -> impl IntoView {
    let heading = match transfer.direction {
        Direction::Sent => "Transfer sent",
        Direction::Received => "Transfer received",
    };
    let token = transfer.token;
    view! {
        <section class="card narrow" data-testid="transfer-receipt">
            {just_sent.then(|| view! { <p class="notice" role="status">"Done. The tokens are in the recipient's wallet."</p> })}
            <h1>{heading}</h1>
            <p class="big-number" title=format!("{} {}", transfer.amount.format(token.decimals()), token)>
                {format_amount(transfer.amount, token)}
            </p>
            <dl class="facts">
                <dt>"Reference"</dt>
                <dd>
                    <span class="mono ref" data-testid="receipt-reference">{transfer.reference.to_string()}</span>
                    <CopyButton text=transfer.reference.to_string() label="Copy" />
                </dd>
                <dt>"Status"</dt>
                <dd>"Completed"</dd>
                <dt>"From"</dt>
                <dd class="address mono small">{transfer.from.to_string()}</dd>
                <dt>"To"</dt>
                <dd class="address mono small">{transfer.to.to_string()}</dd>
                {transfer.memo.map(|memo| view! { <dt>"Memo"</dt> <dd>{memo}</dd> })}
                <dt>"Time"</dt>
                <dd>{format_time(transfer.created_at_ms)}</dd>
            </dl>
            <div class="actions">
                <A href="/transfers" attr:class="btn">"All transfers"</A>
                <A href="/send" attr:class="btn btn-primary">"Send again"</A>
            </div>
        </section>
    }
}
