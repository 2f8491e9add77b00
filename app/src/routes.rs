//! The app's routes, loaded on demand in groups: the browser's WASM is split at every group's
//! `#[lazy]` function (by `build_site`, scripts/lib.sh), so a group's code comes with the first
//! visit to one of its pages, and the page names its group's modules for the start-up script
//! to fetch (`preload_page_modules`). What every page shares (the frame, log-in state, live
//! prices, the router) stays in the main module.
//!
//! Pages that people visit one after the other share a group (log in or sign up, a market then
//! a token, send or receive, a history then a receipt): one module per route left the code
//! that a few routes share in a chunk of its own for every combination of them, over 200 small
//! files in all, and a phone on a slow network pays for each request. The pages with the most
//! code of their own (swap, portfolio, stake) stay alone, so that none of them brings
//! another's code on a first visit.

use leptos::{lazy, prelude::*};
use leptos_router::LazyRoute;

use crate::pages::{
    activity::{ActivityPage, ActivityReceiptPage},
    api_keys::ApiKeysPage,
    home::HomePage,
    login::LoginPage,
    markets::{MarketsPage, TokenPage},
    portfolio::PortfolioPage,
    receive::ReceivePage,
    send::SendPage,
    signup::SignUpPage,
    stake::StakePage,
    swap::SwapPage,
    swaps::{SwapDetailsPage, SwapsPage},
    transfers::{TransferReceiptPage, TransfersPage},
};

/// `page_groups!(group / preload: Pages { Route => Page, ... } ...)`: for each group, one lazy
/// function that renders any of its pages (`preload` is the loader `#[lazy]` makes for it), and
/// for each page a route whose view is that page.
macro_rules! page_groups {
    ($($group:ident / $preload:ident: $pages:ident { $($route:ident => $page:ident),+ $(,)? })+) => {$(
        /// The group's pages, named as their components.
        #[derive(Clone, Copy)]
        #[allow(clippy::enum_variant_names)]
        enum $pages {
            $($page),+
        }

        #[lazy]
        fn $group(page: $pages) -> AnyView {
            match page {
                $($pages::$page => view! { <$page /> }.into_any()),+
            }
        }

        $(
            pub struct $route;

            impl LazyRoute for $route {
                fn data() -> Self {
                    $route
                }

                async fn view(_this: Self) -> AnyView {
                    #[cfg(feature = "ssr")]
                    crate::preload_page_modules(stringify!($group));
                    $group($pages::$page).await
                }

                async fn preload() {
                    #[cfg(target_arch = "wasm32")]
                    $preload().await;
                }
            }
        )+
    )+};
}

page_groups! {
    home_page / __preload_home_page: HomePages { HomeRoute => HomePage }
    account_pages / __preload_account_pages: AccountPages {
        LogInRoute => LoginPage,
        SignUpRoute => SignUpPage,
    }
    market_pages / __preload_market_pages: MarketPages {
        MarketsRoute => MarketsPage,
        TokenRoute => TokenPage,
    }
    portfolio_page / __preload_portfolio_page: PortfolioPages { PortfolioRoute => PortfolioPage }
    stake_page / __preload_stake_page: StakePages { StakeRoute => StakePage }
    payment_pages / __preload_payment_pages: PaymentPages {
        SendRoute => SendPage,
        ReceiveRoute => ReceivePage,
    }
    transfer_pages / __preload_transfer_pages: TransferPages {
        TransfersRoute => TransfersPage,
        TransferReceiptRoute => TransferReceiptPage,
    }
    swap_page / __preload_swap_page: SwapPages { SwapRoute => SwapPage }
    swap_history_pages / __preload_swap_history_pages: SwapHistoryPages {
        SwapsRoute => SwapsPage,
        SwapDetailsRoute => SwapDetailsPage,
    }
    activity_pages / __preload_activity_pages: ActivityPages {
        ActivityRoute => ActivityPage,
        ActivityReceiptRoute => ActivityReceiptPage,
    }
    api_key_pages / __preload_api_key_pages: ApiKeyPages { ApiKeysRoute => ApiKeysPage }
}
