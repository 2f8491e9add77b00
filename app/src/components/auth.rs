//! Who is logged in, shared by the top bar and the pages.

use leptos::prelude::*;

use crate::{
    api::{LogIn, LogOut, SignUp, current_user},
    error::AppError,
    model::Me,
};

/// The account actions and the current user, provided once by [`crate::App`].
#[derive(Clone, Copy)]
pub struct Auth {
    pub sign_up: ServerAction<SignUp>,
    pub log_in: ServerAction<LogIn>,
    pub log_out: ServerAction<LogOut>,
    /// The logged-in user; fetched again after any of the actions above.
    pub me: Resource<Result<Option<Me>, AppError>>,
}

impl Auth {
    pub fn new() -> Auth {
        let sign_up = ServerAction::<SignUp>::new();
        let log_in = ServerAction::<LogIn>::new();
        let log_out = ServerAction::<LogOut>::new();
        let me = Resource::new(
            move || (sign_up.version().get(), log_in.version().get(), log_out.version().get()),
            |_| current_user(),
        );
        Auth { sign_up, log_in, log_out, me }
    }
}

impl Default for Auth {
    fn default() -> Auth {
        Auth::new()
    }
}

/// The [`Auth`] provided by the app.
pub fn use_auth() -> Auth {
    expect_context::<Auth>()
}
