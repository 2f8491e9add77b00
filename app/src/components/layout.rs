//! The frame around every page: the top bar (brand, navigation, wallet and balance, log out)
//! and, on phones, a bottom tab bar in reach of the thumb (Wallet, Portfolio, Swap, Stake,
//! More). Which of the two navigations shows is the stylesheet's choice, by screen width.

use leptos::{prelude::*, server_fn::ServerFn};
use leptos_router::components::A;
use solstice_types::Token;

use super::{account_notice::AccountNotice, auth::use_auth, copy::CopyButton};
use crate::{api::LogOut, model::Me};

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
        <AccountNotice />
    }
}

/// The phone's bottom bar, for a logged-in user. It sits outside the top bar: the top bar's
/// backdrop blur would otherwise pin it to the top bar instead of the screen.
#[component]
pub fn TabBar() -> impl IntoView {
    let auth = use_auth();
    view! {
        <Transition fallback=|| ()>
            {move || auth.me.get().and_then(|me| me.ok().flatten()).map(|me| view! { <Tabs me /> })}
        </Transition>
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
        <nav class="topnav wide-only" aria-label="Main">
            <A href="/" exact=true attr:class="navlink">"Wallet"</A>
            <A href="/portfolio" attr:class="navlink">"Portfolio"</A>
            <A href="/swap" attr:class="navlink">"Swap"</A>
            <A href="/stake" attr:class="navlink">"Stake"</A>
            <A href="/activity" attr:class="navlink">"Activity"</A>
            <A href="/transfers" attr:class="navlink">"Transfers"</A>
            <A href="/markets" attr:class="navlink">"Markets"</A>
            <A href="/api-keys" attr:class="navlink">"API"</A>
        </nav>
        <div class="account" data-testid="account">
            <div class="account-balance" title=format!("{} SOL", me.sol_balance.format(sol))>
                <span class="sr-only">"Balance: "</span>
                <span data-testid="topbar-balance">{balance}</span>
                " SOL"
            </div>
            <div class="account-address wide-only">
                <span class="mono" title=me.address.to_string() data-testid="topbar-address">{me.address.short()}</span>
                <CopyButton text=me.address.to_string() label="Copy" />
            </div>
            <LogOutForm action=auth.log_out class="inline-form wide-only">
                <button type="submit" class="btn btn-small">"Log out"</button>
            </LogOutForm>
        </div>
    }
}

/// The tab bar's pages: where, what it says, its icon (one SVG path on a 24-pixel grid).
const TABS: [(&str, &str, &str); 4] = [
    ("/", "Wallet", "M3 7h15a3 3 0 0 1 3 3v8a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2zM3 7l12-4v4M16 14h2"),
    ("/portfolio", "Portfolio", "M12 3a9 9 0 1 0 9 9h-9zM15 3.5A9 9 0 0 1 20.5 9H15z"),
    ("/swap", "Swap", "M4 8h14l-4-4M20 16H6l4 4"),
    ("/stake", "Stake", "M12 3l9 5-9 5-9-5zM3 13l9 5 9-5"),
];

#[component]
fn Tabs(me: Me) -> impl IntoView {
    let auth = use_auth();
    let more = NodeRef::<leptos::html::Details>::new();
    // A link followed inside the sheet, or a tap beside it, closes it.
    let close = move |_| {
        if let Some(details) = more.get() {
            let _ = details.remove_attribute("open");
        }
    };
    view! {
        <nav class="tabbar narrow-only" aria-label="Main" data-testid="tabbar">
            {TABS
                .into_iter()
                .map(|(href, label, icon)| {
                    view! {
                        <A href=href exact=href == "/" attr:class="tab">
                            <TabIcon path=icon />
                            {label}
                        </A>
                    }
                })
                .collect_view()}
            <details class="more" node_ref=more>
                <summary class="tab">
                    <TabIcon path="M5 12h.01M12 12h.01M19 12h.01" />
                    "More"
                </summary>
                <div class="sheet-backdrop" on:click=close></div>
                <div class="sheet">
                    <p class="sheet-address">
                        <span class="mono" title=me.address.to_string()>{me.address.short()}</span>
                        <CopyButton text=me.address.to_string() label="Copy address" />
                    </p>
                    <div class="sheet-links" on:click=close>
                        <A href="/activity" attr:class="sheet-link">"Activity"</A>
                        <A href="/send" attr:class="sheet-link">"Send"</A>
                        <A href="/receive" attr:class="sheet-link">"Receive"</A>
                        <A href="/transfers" attr:class="sheet-link">"Transfers"</A>
                        <A href="/swaps" attr:class="sheet-link">"Swap history"</A>
                        <A href="/markets" attr:class="sheet-link">"Markets"</A>
                        <A href="/api-keys" attr:class="sheet-link">"API keys"</A>
                        <LogOutForm action=auth.log_out class="inline-form">
                            <button type="submit" class="sheet-link">"Log out"</button>
                        </LogOutForm>
                    </div>
                </div>
            </details>
        </nav>
    }
}

/// The log-out button's form: before hydration a plain POST to the server function (which
/// answers with a redirect), afterwards the action. Unlike `ActionForm`, it reads no fields
/// from the form (log-out has none), which keeps form decoding out of the code every page
/// loads.
#[component]
fn LogOutForm(action: ServerAction<LogOut>, class: &'static str, children: Children) -> impl IntoView {
    let on_submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        action.dispatch(LogOut {});
    };
    view! {
        <form method="post" action=LogOut::url() class=class on:submit=on_submit>
            {children()}
        </form>
    }
}

/// A 24-pixel line icon drawn by one SVG path.
#[component]
fn TabIcon(path: &'static str) -> impl IntoView {
    view! {
        <svg class="tab-icon" viewBox="0 0 24 24" aria-hidden="true">
            <path d=path />
        </svg>
    }
}
