//! Who is logged in, shared by the top bar and the pages.

use leptos::prelude::*;

use crate::{
    api::{LogOut, current_user},
    components::live_prices::LivePrices,
    error::AppError,
    model::Me,
};

/// Who is logged in, provided once by [`crate::App`]. Logging in and signing up are the
/// actions of their own pages (their code loads with them); those pages call
/// [`Auth::changed`] when they succeed.
#[derive(Clone, Copy)]
pub struct Auth {
    pub log_out: ServerAction<LogOut>,
    /// Counts log-ins and sign-ups, after which `me` is fetched again.
    logged_in: RwSignal<usize>,
    /// The logged-in user; fetched again after a log-in, sign-up or log-out, and whenever the
    /// account's money moved (the live socket says so).
    pub me: Resource<Result<Option<Me>, AppError>>,
    /// Counts the account's money movements the live socket told of: what shows balances
    /// fetches them again when it changes.
    pub moved: Signal<u64>,
}

impl Auth {
    pub fn new(live: LivePrices) -> Auth {
        let log_out = ServerAction::<LogOut>::new();
        let logged_in = RwSignal::new(0);
        let moved = Signal::derive(move || live.account.with(|(count, _)| *count));
        let me = Resource::new(move || (logged_in.get(), log_out.version().get(), moved.get()), |_| current_user());
        // The socket follows whoever is logged in.
        Effect::new(move |_| {
            if let Some(Ok(me)) = me.get() {
                let wallet = me.map(|me| me.address);
                if live.wallet.with_untracked(|current| *current != wallet) {
                    live.wallet.set(wallet);
                }
            }
        });
        Auth { log_out, logged_in, me, moved }
    }

    /// Fetches the logged-in user again once `action` has succeeded (a log-in or a sign-up).
    pub fn follow<S>(self, action: ServerAction<S>)
    where
        S: leptos::server_fn::ServerFn + Clone + Send + Sync + 'static,
        S::Output: Send + Sync + 'static,
        S::Error: Send + Sync + 'static,
    {
        Effect::new(move |seen: Option<usize>| {
            let version = action.version().get();
            let succeeded = action.value().with(|value| matches!(value, Some(Ok(_))));
            if seen.is_some_and(|seen| seen != version) && succeeded {
                self.logged_in.update(|count| *count += 1);
            }
            version
        });
    }
}

/// The [`Auth`] provided by the app.
pub fn use_auth() -> Auth {
    expect_context::<Auth>()
}
