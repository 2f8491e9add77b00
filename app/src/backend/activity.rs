//! The activity timeline's filters, and its CSV export: streamed page by page from the
//! portfolio service, so that a wallet's whole history never sits in the host's memory.
//!
//! The columns, in order (RFC 4180, UTF-8, CRLF line ends, a header row):
//! - `time_utc`: ISO-8601 in UTC with milliseconds, `2026-11-30T23:39:01.123Z`;
//! - `reference`: the reference number, which opens the row in the app (`/activity/{reference}`);
//! - `kind`: `airdrop`, `received`, `sent`, `swap`, `stake`, `unstake`, `withdraw` or `reward`;
//! - `sent_amount`, `sent_token`: what left the wallet's spendable balance, as an exact decimal;
//! - `received_amount`, `received_token`: what arrived in it;
//! - `fee_amount`, `fee_token`: the fee, already taken from what was received (never a third
//!   movement to subtract);
//! - `staked_change_sol`: SOL into (positive) or out of (negative) the wallet's stake accounts;
//! - `usd_value`: the value in US dollars at the time, truncated to cents; empty when no price
//!   of that moment is kept;
//! - `counterparty`: the other wallet of a transfer;
//! - `stake_account`: the stake account of a stake, unstake, withdrawal or reward;
//! - `note`: a transfer's memo, a reward's epoch.
//!
//! Summed over the whole history, `received_amount - sent_amount` of a token is its balance,
//! and `staked_change_sol` is the SOL staked.

use axum::{
    body::Body,
    extract::Query,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use futures::{StreamExt, stream};
use solstice_kit::error::ErrorResponse;
use solstice_types::{
    ApiError, ErrorCode, Token, UsdValue, WalletAddress,
    activity::{ActivityFilter, ActivityRow, TokenAmount},
};
use tower_sessions::Session;

use super::{HostState, error::HostError, session::wallet_of};

/// A filter as typed in the page's address: empty fields are no filter. Dates are checked by
/// the portfolio service.
pub fn filter(
    kind: Option<String>,
    token: Option<String>,
    from: Option<String>,
    to: Option<String>,
) -> Result<ActivityFilter, ApiError> {
    let given = |text: Option<String>| text.map(|text| text.trim().to_owned()).filter(|text| !text.is_empty());
    let kind = given(kind).map(|text| solstice_kit::input::activity_kind(&text)).transpose()?;
    let token = given(token).map(|text| solstice_kit::input::token(&text)).transpose()?;
    Ok(ActivityFilter { kind, token, from: given(from), to: given(to) })
}

/// The query of `GET /activity.csv`: the same filters as the activity page.
#[derive(Debug, Default, serde::Deserialize)]
pub struct ExportQuery {
    kind: Option<String>,
    token: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

/// The header row.
pub const CSV_HEADER: &str = "time_utc,reference,kind,sent_amount,sent_token,received_amount,received_token,\
fee_amount,fee_token,staked_change_sol,usd_value,counterparty,stake_account,note\r\n";

/// `GET /activity.csv`: the logged-in wallet's activity matching the query, as a CSV download.
/// Refusals (not logged in, a bad filter, the service down) come before the first byte, with
/// their status and message; a failure later cuts the download short, so that the browser
/// shows it failed instead of saving a file with rows missing.
pub async fn export_csv(state: HostState, session: Session, Query(query): Query<ExportQuery>) -> Response {
    match start_export(state, session, query).await {
        Ok(response) => response,
        Err(error) => ErrorResponse(error).into_response(),
    }
}

async fn start_export(state: HostState, session: Session, query: ExportQuery) -> Result<Response, ApiError> {
    use solstice_types::ToApiError;
    let wallet = wallet_of(&session, state.config.session_lifetime)
        .await
        .map_err(|error: HostError| error.to_api_error())?
        .ok_or_else(|| ApiError::new(ErrorCode::Unauthorized, "Please log in to continue."))?;
    let filter = filter(query.kind, query.token, query.from, query.to)?;
    // Rows per call to the portfolio service, and at most in the host's memory at once.
    let rows = state.config.export_page_rows;
    let first = state.services.portfolio.activity(&wallet, &filter, None, Some(rows)).await?;
    let name = file_name(&filter);
    let mut text = String::from(CSV_HEADER);
    write_rows(&mut text, &first.rows);
    let chunks = stream::once(async move { Ok::<_, ApiError>(text) }).chain(stream::unfold(
        (state, wallet, filter, first.next_before),
        move |(state, wallet, filter, next)| async move {
            let before = next?;
            match state.services.portfolio.activity(&wallet, &filter, Some(&before), Some(rows)).await {
                Ok(page) => {
                    let mut text = String::new();
                    write_rows(&mut text, &page.rows);
                    Some((Ok(text), (state, wallet, filter, page.next_before)))
                }
                Err(error) => {
                    tracing::warn!(code = ?error.code, "activity export cut short");
                    Some((Err(error), (state, wallet, filter, None)))
                }
            }
        },
    ));
    // Fused: the response's compression polls the body again after its end.
    let mut response = Response::new(Body::from_stream(chunks.map(|chunk| chunk.map_err(ExportError)).fuse()));
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8; header=present"));
    if let Ok(disposition) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, disposition);
    }
    Ok(response)
}

/// A page the export could not fetch: ends the download as failed.
#[derive(Debug, thiserror::Error)]
#[error("the activity export stopped: {}", .0.message)]
struct ExportError(ApiError);

/// `solstice-activity.csv`, with the filter in it: `solstice-activity-swap-SOL-2026-11-01-to-2026-11-30.csv`.
fn file_name(filter: &ActivityFilter) -> String {
    let mut name = String::from("solstice-activity");
    if let Some(kind) = filter.kind {
        name.push('-');
        name.push_str(kind.as_str());
    }
    if let Some(token) = filter.token {
        name.push('-');
        name.push_str(token.symbol());
    }
    // Days are only named once the service accepted them as days.
    if let Some(from) = &filter.from {
        name.push_str(&format!("-from-{from}"));
    }
    if let Some(to) = &filter.to {
        name.push_str(&format!("-to-{to}"));
    }
    name.retain(|c| c.is_ascii_alphanumeric() || c == '-');
    name + ".csv"
}

/// Appends `rows` as CSV lines.
pub fn write_rows(out: &mut String, rows: &[ActivityRow]) {
    for row in rows {
        let time = chrono::DateTime::from_timestamp_millis(row.at_ms)
            .map(|time| time.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
            .unwrap_or_default();
        let amount = |part: Option<TokenAmount>| part.map(|part| part.amount.format(part.token.decimals()));
        let token = |part: Option<TokenAmount>| part.map(|part| part.token.symbol().to_owned());
        let fields = [
            time,
            row.reference.to_string(),
            row.kind.as_str().to_owned(),
            amount(row.sent).unwrap_or_default(),
            token(row.sent).unwrap_or_default(),
            amount(row.received).unwrap_or_default(),
            token(row.received).unwrap_or_default(),
            amount(row.fee).unwrap_or_default(),
            token(row.fee).unwrap_or_default(),
            signed_sol(row.staked_change),
            row.usd_value.map(dollars).unwrap_or_default(),
            row.counterparty.as_ref().map(WalletAddress::to_string).unwrap_or_default(),
            row.stake_account.clone().unwrap_or_default(),
            row.note.as_deref().map(defused).unwrap_or_default(),
        ];
        for (i, field) in fields.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_field(out, field);
        }
        out.push_str("\r\n");
    }
}

/// Lamports as signed SOL, exact: "-3.01", "0.5"; empty for no change.
fn signed_sol(lamports: i64) -> String {
    if lamports == 0 {
        return String::new();
    }
    let magnitude = solstice_types::Amount::from_base_units(lamports.unsigned_abs())
        .map(|amount| amount.format(Token::Sol.decimals()))
        .unwrap_or_default();
    if lamports < 0 { format!("-{magnitude}") } else { magnitude }
}

/// US dollars with cents, truncated: "1234.56".
fn dollars(value: UsdValue) -> String {
    let cents = value.picodollars() / 10_000_000_000;
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// Free text from another person (a memo) that a spreadsheet would run as a formula gets a
/// leading apostrophe, as OWASP advises for CSV files.
fn defused(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{text}") } else { text.to_owned() }
}

/// One field, quoted when it holds a comma, a quote or a line break (RFC 4180).
fn push_field(out: &mut String, field: &str) {
    if field.contains([',', '"', '\r', '\n']) {
        out.push('"');
        out.push_str(&field.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(field);
    }
}

#[cfg(test)]
mod tests {
    use solstice_types::{Amount, Reference, ReferenceKind, activity::ActivityKind};

    use super::*;

    fn row() -> ActivityRow {
        ActivityRow {
            reference: Reference::new(ReferenceKind::Transfer, 1_795_996_800_123, 5),
            kind: ActivityKind::Sent,
            at_ms: 1_795_996_800_123,
            sent: Some(TokenAmount { token: Token::Sol, amount: Amount::parse("1.5", 9).unwrap() }),
            received: None,
            fee: None,
            staked_change: -3_010_000_000,
            usd_value: Some(UsdValue::ZERO),
            counterparty: None,
            stake_account: None,
            note: Some("=HYPERLINK(\"x\"), \"rent\"".to_owned()),
        }
    }

    #[test]
    fn a_row_is_one_rfc_4180_line_with_exact_amounts_and_no_formula() {
        let mut out = String::new();
        write_rows(&mut out, &[row()]);
        let reference = row().reference.to_string();
        assert_eq!(
            out,
            format!(
                "2026-11-30T00:00:00.123Z,{reference},sent,1.5,SOL,,,,,-3.01,0.00,,,\"'=HYPERLINK(\"\"x\"\"), \"\"rent\"\"\"\r\n"
            )
        );
        assert_eq!(CSV_HEADER.split(',').count(), 14);
    }
}
