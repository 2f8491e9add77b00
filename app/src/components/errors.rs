//! One way to show what went wrong: pages show what they loaded with [`loaded`], whose one
//! error view shows a log-in prompt when the visitor must log in first, a "not found" card with
//! a way back on a page about one thing, and the error's sentence otherwise; forms show their
//! problems with [`Alert`].

use leptos::prelude::*;
use leptos_router::components::A;
use solstice_types::ErrorCode;

use crate::error::AppError;

/// A page about one thing that may not exist (a swap, a transfer): what to call it and where
/// to go instead.
#[derive(Debug, Clone, Copy)]
pub struct Missing {
    /// The heading, such as "Swap not found".
    pub title: &'static str,
    pub back_href: &'static str,
    pub back_label: &'static str,
}

/// What a page shows of something it loaded: `show`'s view of it, or the one error view.
///
/// A plain `match` in one place rather than Leptos' `<ErrorBoundary>`: the same single view,
/// without the boundary's machinery in the browser's bundle (6.5 KB brotli, measured).
pub fn loaded<T, V: IntoView + 'static>(
    result: Result<T, AppError>,
    what: &'static str,
    missing: Option<Missing>,
    show: impl FnOnce(T) -> V,
) -> AnyView {
    match result {
        Ok(value) => show(value).into_any(),
        Err(error) => view! { <ErrorView error what missing /> }.into_any(),
    }
}

#[component]
fn ErrorView(error: AppError, what: &'static str, missing: Option<Missing>) -> impl IntoView {
    match (error.code, missing) {
        (ErrorCode::Unauthorized, _) => view! { <LoginPrompt what /> }.into_any(),
        (ErrorCode::NotFound | ErrorCode::InvalidInput, Some(missing)) => view! {
            <section class="card narrow">
                <h1>{missing.title}</h1>
                <Alert message=error.message />
                <A href=missing.back_href attr:class="btn">{missing.back_label}</A>
            </section>
        }
        .into_any(),
        _ => view! { <Alert message=error.message /> }.into_any(),
    }
}

/// What a visitor sees on a page that needs a wallet.
#[component]
fn LoginPrompt(what: &'static str) -> impl IntoView {
    view! {
        <section class="card narrow">
            <p>{format!("Log in to {what}.")}</p>
            <A href="/login" attr:class="btn btn-primary">"Log in"</A>
        </section>
    }
}

/// A problem to tell the user about, announced to screen readers.
#[component]
pub fn Alert(#[prop(into)] message: String) -> impl IntoView {
    view! { <p class="alert" role="alert">{message}</p> }
}

/// A form's current problem, if it has one.
#[component]
pub fn Problem(problem: RwSignal<Option<String>>) -> impl IntoView {
    move || problem.get().map(|message| view! { <Alert message /> })
}
