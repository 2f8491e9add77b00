//! The activity timeline: every movement of the logged-in wallet's money.

use leptos::prelude::*;
use solstice_types::activity::{ActivityPage, ActivityRow};

use crate::error::AppError;

/// A page of the logged-in wallet's activity, newest first. Each filter is optional: `kind`
/// (`received`, `swap`...), `token` (a symbol), `from` and `to` (days, `YYYY-MM-DD`, UTC, both
/// included); `before` is the previous page's `next_before`.
#[server(endpoint = "my_activity")]
pub async fn my_activity(
    kind: Option<String>,
    token: Option<String>,
    from: Option<String>,
    to: Option<String>,
    before: Option<String>,
) -> Result<ActivityPage, AppError> {
    use crate::backend::{self, activity::filter};
    let state = backend::state()?;
    let wallet = backend::session::require_wallet().await?;
    let filter = filter(kind, token, from, to)?;
    let before =
        before.filter(|text| !text.trim().is_empty()).map(|text| solstice_kit::input::reference(&text)).transpose()?;
    Ok(state.services.portfolio.activity(&wallet, &filter, before.as_ref(), None).await?)
}

/// One row of the logged-in wallet's activity, by reference number.
#[server(endpoint = "my_activity_row")]
pub async fn my_activity_row(reference: String) -> Result<ActivityRow, AppError> {
    use crate::backend;
    let state = backend::state()?;
    let wallet = backend::session::require_wallet().await?;
    let reference = solstice_kit::input::reference(&reference)?;
    Ok(state.services.portfolio.activity_row(&wallet, &reference).await?)
}
