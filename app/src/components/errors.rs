//! One way to show what went wrong: pages put whatever can fail inside [`Fallible`], whose one
//! error view shows a log-in prompt when the visitor must log in first, and the error's
//! sentence otherwise; forms show their problems with [`Alert`].

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

/// Renders `children`; when one of them is an `Err`, renders the error view in their place.
#[component]
pub fn Fallible(
    /// What logging in lets the visitor do here, for the prompt: "Log in to {what}."
    what: &'static str,
    /// For a page about one thing: the heading and the way back when it is not there.
    #[prop(optional)]
    missing: Option<Missing>,
    children: Children,
) -> impl IntoView {
    let fallback = move |errors: ArcRwSignal<Errors>| {
        move || {
            let first = errors.with(|errors| errors.iter().next().map(|(_, error)| app_error(error)));
            first.map(|error| view! { <ErrorView error what missing /> })
        }
    };
    view! { <ErrorBoundary fallback>{children()}</ErrorBoundary> }
}

/// The error a server function reported, or a generic one for anything else.
fn app_error(error: &leptos::error::Error) -> AppError {
    error.downcast_ref::<AppError>().cloned().unwrap_or_else(|| AppError::new(ErrorCode::Internal, error.to_string()))
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
pub fn LoginPrompt(what: &'static str) -> impl IntoView {
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
