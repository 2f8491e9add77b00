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

/// `lazy_pages!(Route => Page, ...)`: for each page, a route whose view is the page, in a
/// module of its own.
macro_rules! lazy_pages {
    ($($route:ident => $page:ident),+ $(,)?) => {$(
        pub struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            fn view(_this: Self) -> AnyView {
                view! { <$page /> }.into_any()
            }
        }
    )+};
}

lazy_pages! {
    HomeRoute => HomePage,
    SignUpRoute => SignUpPage,
    LogInRoute => LoginPage,
    PortfolioRoute => PortfolioPage,
    MarketsRoute => MarketsPage,
    TokenRoute => TokenPage,
    SendRoute => SendPage,
    TransfersRoute => TransfersPage,
    TransferReceiptRoute => TransferReceiptPage,
    SwapRoute => SwapPage,
    StakeRoute => StakePage,
    SwapsRoute => SwapsPage,
    SwapDetailsRoute => SwapDetailsPage,
}
