//! The app's routes, each loaded on demand: the browser's WASM is split at every
//! `#[lazy_route]` (by `build_site`, scripts/lib.sh), so a page's own code comes with the first
//! visit to that page, and the host preloads it with the page that needs it. What every page
//! shares (the frame, log-in state, live prices, the router) stays in the main module.

use leptos::prelude::*;
use leptos_router::{LazyRoute, lazy_route};

use crate::pages::{
    home::HomePage,
    login::LoginPage,
    markets::{MarketsPage, TokenPage},
    portfolio::PortfolioPage,
    send::SendPage,
    signup::SignUpPage,
    stake::StakePage,
    swap::SwapPage,
    swaps::{SwapDetailsPage, SwapsPage},
    transfers::{TransferReceiptPage, TransfersPage},
};

pub struct HomeRoute;

#[lazy_route]
impl LazyRoute for HomeRoute {
    fn data() -> Self {
        HomeRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <HomePage /> }.into_any()
    }
}

pub struct SignUpRoute;

#[lazy_route]
impl LazyRoute for SignUpRoute {
    fn data() -> Self {
        SignUpRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <SignUpPage /> }.into_any()
    }
}

pub struct LogInRoute;

#[lazy_route]
impl LazyRoute for LogInRoute {
    fn data() -> Self {
        LogInRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <LoginPage /> }.into_any()
    }
}

pub struct PortfolioRoute;

#[lazy_route]
impl LazyRoute for PortfolioRoute {
    fn data() -> Self {
        PortfolioRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <PortfolioPage /> }.into_any()
    }
}

pub struct MarketsRoute;

#[lazy_route]
impl LazyRoute for MarketsRoute {
    fn data() -> Self {
        MarketsRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <MarketsPage /> }.into_any()
    }
}

pub struct TokenRoute;

#[lazy_route]
impl LazyRoute for TokenRoute {
    fn data() -> Self {
        TokenRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <TokenPage /> }.into_any()
    }
}

pub struct SendRoute;

#[lazy_route]
impl LazyRoute for SendRoute {
    fn data() -> Self {
        SendRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <SendPage /> }.into_any()
    }
}

pub struct TransfersRoute;

#[lazy_route]
impl LazyRoute for TransfersRoute {
    fn data() -> Self {
        TransfersRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <TransfersPage /> }.into_any()
    }
}

pub struct TransferReceiptRoute;

#[lazy_route]
impl LazyRoute for TransferReceiptRoute {
    fn data() -> Self {
        TransferReceiptRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <TransferReceiptPage /> }.into_any()
    }
}

pub struct SwapRoute;

#[lazy_route]
impl LazyRoute for SwapRoute {
    fn data() -> Self {
        SwapRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <SwapPage /> }.into_any()
    }
}

pub struct StakeRoute;

#[lazy_route]
impl LazyRoute for StakeRoute {
    fn data() -> Self {
        StakeRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <StakePage /> }.into_any()
    }
}

pub struct SwapsRoute;

#[lazy_route]
impl LazyRoute for SwapsRoute {
    fn data() -> Self {
        SwapsRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <SwapsPage /> }.into_any()
    }
}

pub struct SwapDetailsRoute;

#[lazy_route]
impl LazyRoute for SwapDetailsRoute {
    fn data() -> Self {
        SwapDetailsRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <SwapDetailsPage /> }.into_any()
    }
}
