//! The app's routes, loaded on demand in groups: the browser's WASM is split at every group's
//! `#[lazy]` function (by `build_site`, scripts/lib.sh), so a group's code comes with the first
//! visit to one of its pages, and the page names its group's modules for the start-up script
//! to fetch (`preload_page_modules`). What every page shares (the frame, log-in state, live
//! prices, the router) stays in the main module.
//!
//! Five groups, of pages that people visit one after the other. The splitter puts the code
//! that several groups share in a module for each combination of groups that use it, so the
//! number of files grows with the combinations: eleven groups made 200 modules, of which a
//! page fetched up to 107. On a phone each file costs a request and a compilation, and
//! Lighthouse's total blocking time on /portfolio was 420 ms, most of it in those. Five
//! groups make 26 modules, 11 to 15 per page, for 50 to 130 KB more code on a first visit to
//! a wallet page (all under 500 KB); blocking time fell to about 110 ms.

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
    visitor_pages / __preload_visitor_pages: VisitorPages {
        LogInRoute => LoginPage,
        SignUpRoute => SignUpPage,
        MarketsRoute => MarketsPage,
        TokenRoute => TokenPage,
    }
    holding_pages / __preload_holding_pages: HoldingPages {
        PortfolioRoute => PortfolioPage,
        StakeRoute => StakePage,
    }
    payment_pages / __preload_payment_pages: PaymentPages {
        SendRoute => SendPage,
        ReceiveRoute => ReceivePage,
        TransfersRoute => TransfersPage,
        TransferReceiptRoute => TransferReceiptPage,
        ActivityRoute => ActivityPage,
        ActivityReceiptRoute => ActivityReceiptPage,
        ApiKeysRoute => ApiKeysPage,
    }
    swap_pages / __preload_swap_pages: SwapPages {
        SwapRoute => SwapPage,
        SwapsRoute => SwapsPage,
        SwapDetailsRoute => SwapDetailsPage,
    }
}
