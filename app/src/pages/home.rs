//! The front page: the wallet for a logged-in user, a welcome for a visitor.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use solstice_types::Token;

use crate::{
    components::{auth::use_auth, copy::CopyButton, errors::loaded},
    model::Me,
};

#[component]
pub fn HomePage() -> impl IntoView {
    let auth = use_auth();
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || {
                auth.me
                    .get()
                    .map(|me| {
                        loaded(me, "see your wallet", None, |me| match me {
                            Some(me) => view! { <Wallet me /> }.into_any(),
                            None => view! { <Welcome /> }.into_any(),
                        })
                    })
            }}
        </Transition>
    }
}

#[component]
fn Wallet(me: Me) -> impl IntoView {
    let sol = Token::Sol.decimals();
    view! {
        <Title text="Wallet" />
        <h1 class="page-title">"Your wallet"</h1>
        <section class="card" aria-labelledby="balance-heading">
            <h2 id="balance-heading" class="card-label">"SOL balance"</h2>
            <p class="big-number" data-testid="sol-balance" title=format!("{} SOL", me.sol_balance.format(sol))>
                {me.sol_balance.format_display(sol, 9)}
                <span class="unit">" SOL"</span>
            </p>
            <div class="actions start">
                <A href="/send" attr:class="btn btn-primary">"Send"</A>
                <A href="/receive" attr:class="btn">"Receive"</A>
                <A href="/swap" attr:class="btn">"Swap"</A>
                <A href="/transfers" attr:class="btn">"Transfers"</A>
                <A href="/swaps" attr:class="btn">"Swap history"</A>
            </div>
        </section>
        <section class="card" aria-labelledby="address-heading">
            <h2 id="address-heading" class="card-label">"Wallet address"</h2>
            <p class="address mono" data-testid="wallet-address">{me.address.to_string()}</p>
            <div class="actions start">
                <CopyButton text=me.address.to_string() label="Copy address" />
                <A href="/receive" attr:class="btn btn-small btn-ghost">"Show QR code"</A>
            </div>
            <p class="muted small">"Others send you tokens at this address. You also use it to log in."</p>
        </section>
    }
}

#[component]
fn Welcome() -> impl IntoView {
    view! {
        <Title text="" />
        <section class="hero">
            <h1>"Your own home for Solana tokens"</h1>
            <p class="lead">
                "Solstice is a crypto wallet you host yourself: hold SOL and SPL tokens, stake, swap at live prices and send to other users."
            </p>
            <div class="actions">
                <A href="/signup" attr:class="btn btn-primary btn-large">"Create a wallet"</A>
                <A href="/login" attr:class="btn btn-large">"Log in"</A>
            </div>
        </section>
    }
}
