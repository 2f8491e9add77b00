//! The top bar: brand, navigation, the user's wallet and balance, log out.

use leptos::prelude::*;
use leptos_router::components::A;
use solstice_types::Token;

use super::{auth::use_auth, copy::CopyButton};
use crate::model::Me;

#[component]
pub fn TopBar() -> impl IntoView {
    let auth = use_auth();
    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <header class="topbar">
            <A href="/" attr:class="brand" attr:aria-label="Solstice home">
                <span class="brand-mark" aria-hidden="true"></span>
                <span class="brand-name">"Solstice"</span>
            </A>
            <Transition fallback=|| ()>
                {move || {
                    auth.me.get().map(|me| match me {
                        Ok(Some(me)) => view! { <UserMenu me /> }.into_any(),
                        _ => view! { <VisitorMenu /> }.into_any(),
                    })
                }}
            </Transition>
        </header>
    }
}

#[component]
fn VisitorMenu() -> impl IntoView {
    view! {
        <nav class="topnav" aria-label="Account">
            <A href="/markets" attr:class="navlink">"Markets"</A>
            <A href="/login" attr:class="btn btn-ghost">"Log in"</A>
            <A href="/signup" attr:class="btn btn-primary">"Sign up"</A>
        </nav>
    }
}

#[component]
fn UserMenu(me: Me) -> impl IntoView {
    let auth = use_auth();
    let sol = Token::Sol.decimals();
    let balance = me.sol_balance.format_display(sol, 4);
    view! {
        <nav class="topnav" aria-label="Main">
            <A href="/" attr:class="navlink">"Wallet"</A>
            <A href="/portfolio" attr:class="navlink">"Portfolio"</A>
            <A href="/swap" attr:class="navlink">"Swap"</A>
            <A href="/stake" attr:class="navlink">"Stake"</A>
            <A href="/transfers" attr:class="navlink">"Transfers"</A>
            <A href="/markets" attr:class="navlink">"Markets"</A>
        </nav>
        <div class="account" data-testid="account">
            <div class="account-balance" title=format!("{} SOL", me.sol_balance.format(sol))>
                <span class="sr-only">"Balance: "</span>
                <span data-testid="topbar-balance">{balance}</span>
                " SOL"
            </div>
            <div class="account-address">
                <span class="mono" title=me.address.to_string() data-testid="topbar-address">{me.address.short()}</span>
                <CopyButton text=me.address.to_string() label="Copy" />
            </div>
            <ActionForm action=auth.log_out attr:class="inline-form">
                <button type="submit" class="btn btn-small">"Log out"</button>
            </ActionForm>
        </div>
    }
}
