//! The "show older" button under a history list that grows by pages.

use std::future::Future;

use leptos::prelude::*;
use solstice_types::Reference;

use crate::{components::errors::Alert, error::AppError};

/// Fetches the page before `next` when asked, and appends it to `items`; hidden on the last
/// page.
#[component]
pub fn LoadMore<T, F, Fut>(
    /// The list shown so far.
    items: RwSignal<Vec<T>>,
    /// The cursor of the next (older) page; `None` on the last one.
    next: RwSignal<Option<Reference>>,
    /// Fetches the page before a cursor: its items and the cursor after it.
    fetch: F,
    /// The button's words, such as "Show older swaps".
    label: &'static str,
) -> impl IntoView
where
    T: Clone + Send + Sync + 'static,
    F: Fn(Reference) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(Vec<T>, Option<Reference>), AppError>> + Send + 'static,
{
    let more = Action::new(move |before: &Reference| fetch(before.clone()));
    Effect::new(move |_| {
        if let Some(Ok((page, cursor))) = more.value().get() {
            items.update(|list| list.extend(page));
            next.set(cursor);
        }
    });
    view! {
        {move || more.value().get().and_then(Result::err).map(|error| view! { <Alert message=error.message /> })}
        <Show when=move || next.get().is_some()>
            <button
                type="button"
                class="btn btn-block"
                disabled=move || more.pending().get()
                on:click=move |_| {
                    if let Some(before) = next.get() {
                        more.dispatch(before);
                    }
                }
            >
                {move || if more.pending().get() { "Loading…" } else { label }}
            </button>
        </Show>
    }
}
