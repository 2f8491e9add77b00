//! The transfer service's API types.

use serde::{Deserialize, Serialize};

use crate::{Amount, Reference, Token, WalletAddress};

/// Longest memo, in characters.
pub const MAX_MEMO_CHARS: usize = 140;

/// A transfer's note, as both sides read it: trimmed, at most [`MAX_MEMO_CHARS`] characters on
/// one line, and every character visible and in reading order. Checked here so that the host,
/// the transfer service and the browser refuse the same memos with the same words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Memo(String);

/// Why a memo was refused, as its writer reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MemoError {
    #[error("Keep the memo to {MAX_MEMO_CHARS} characters.")]
    TooLong,
    #[error("The memo cannot contain line breaks or control characters.")]
    ControlCharacters,
    #[error("The memo contains invisible or direction-changing characters.")]
    Hidden,
}

impl Memo {
    /// A memo as typed: `None` when it is empty or only spaces.
    pub fn parse(text: &str) -> Result<Option<Memo>, MemoError> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        if text.chars().count() > MAX_MEMO_CHARS {
            return Err(MemoError::TooLong);
        }
        if text.chars().any(is_line_break_or_control) {
            return Err(MemoError::ControlCharacters);
        }
        if text.chars().any(is_hidden) {
            return Err(MemoError::Hidden);
        }
        Ok(Some(Memo(text.to_owned())))
    }

    /// A memo stored before these checks, with what they would refuse taken out, so that an
    /// old memo cannot reverse or hide text on anyone's screen either.
    pub fn shown(stored: &str) -> String {
        stored.chars().filter(|&c| !is_line_break_or_control(c) && !is_hidden(c)).collect::<String>().trim().to_owned()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<Memo> for String {
    fn from(memo: Memo) -> String {
        memo.0
    }
}

/// Control characters (tab, newline, escape, ...) and the Unicode line and paragraph separators.
fn is_line_break_or_control(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')
}

/// Characters that change the direction of the text around them or show nothing at all, so
/// that what a reader sees is not what was written: a memo "refund \u{202E}tner" reads
/// "refund rent" and a zero-width space makes two different memos look alike.
///
/// Zero-width joiners are refused too, although some emoji sequences (a family, a flag with a
/// rainbow) use them: those emoji are then refused as well, a small price for a memo that
/// always means what it shows.
fn is_hidden(c: char) -> bool {
    matches!(c,
        // Bidirectional embeddings, overrides and isolates, and the directional marks.
        '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}'
        // Zero-width space, non-joiner and joiner; word joiner; byte-order mark.
        | '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}'
        // Other characters that show nothing: invisible operators, deprecated format controls,
        // soft hyphen, Mongolian vowel separator, interlinear annotation.
        | '\u{2061}'..='\u{2064}' | '\u{206A}'..='\u{206F}' | '\u{00AD}' | '\u{180E}' | '\u{FFF9}'..='\u{FFFB}'
        // The rest of Unicode's format characters (general category Cf): Arabic and Syriac
        // number signs, Egyptian and musical format controls, shorthand format controls, tags.
        | '\u{0600}'..='\u{0605}' | '\u{06DD}' | '\u{070F}' | '\u{0890}'..='\u{0891}' | '\u{08E2}'
        | '\u{110BD}' | '\u{110CD}' | '\u{13430}'..='\u{1343F}' | '\u{1BCA0}'..='\u{1BCA3}'
        | '\u{1D173}'..='\u{1D17A}' | '\u{E0001}' | '\u{E0020}'..='\u{E007F}'
        // Letters that look like nothing: the combining grapheme joiner and the Hangul fillers.
        | '\u{034F}' | '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}')
}

/// A request to send tokens to another wallet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendTransfer {
    /// The recipient's wallet address.
    pub to: String,
    /// Token symbol, such as `SOL`.
    pub token: String,
    /// Decimal amount in whole tokens, such as `"1.25"`.
    pub amount: String,
    #[serde(default)]
    pub memo: Option<String>,
    /// Chosen by the client per send; a retry with the same key returns the first result.
    pub idempotency_key: String,
}

/// Whether the caller sent or received a transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Sent,
    Received,
}

/// A transfer, as its sender or recipient sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Transfer {
    pub reference: Reference,
    pub direction: Direction,
    pub from: WalletAddress,
    pub to: WalletAddress,
    pub token: Token,
    /// Base units.
    pub amount: Amount,
    pub memo: Option<String>,
    /// Unix milliseconds.
    pub created_at_ms: i64,
}

/// One page of a wallet's transfers, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TransferPage {
    pub transfers: Vec<Transfer>,
    /// Pass as `before` to get the next page; absent on the last page.
    pub next_before: Option<Reference>,
}

/// A wallet that can receive transfers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipient {
    pub address: WalletAddress,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_memo_is_trimmed_and_an_empty_one_is_none() {
        assert_eq!(Memo::parse("  rent 🍜 ").unwrap().unwrap().as_str(), "rent 🍜");
        assert_eq!(Memo::parse("   "), Ok(None));
        assert_eq!(Memo::parse("مرحبا שלום"), Ok(Some(Memo("مرحبا שלום".to_owned()))), "right-to-left text is fine");
    }

    #[test]
    fn a_memo_is_bounded_in_characters_not_bytes() {
        assert!(Memo::parse(&"é".repeat(MAX_MEMO_CHARS)).is_ok());
        assert_eq!(Memo::parse(&"é".repeat(MAX_MEMO_CHARS + 1)), Err(MemoError::TooLong));
    }

    #[test]
    fn line_breaks_and_control_characters_are_refused() {
        for memo in
            ["two\nlines", "tab\there", "bell\u{7}", "del\u{7F}", "c1\u{85}end", "line\u{2028}sep", "para\u{2029}sep"]
        {
            assert_eq!(Memo::parse(memo), Err(MemoError::ControlCharacters), "{memo:?}");
        }
    }

    #[test]
    fn invisible_and_direction_changing_characters_are_refused() {
        let hidden = [
            '\u{202A}',
            '\u{202B}',
            '\u{202C}',
            '\u{202D}',
            '\u{202E}',
            '\u{2066}',
            '\u{2067}',
            '\u{2068}',
            '\u{2069}',
            '\u{200E}',
            '\u{200F}',
            '\u{061C}',
            '\u{200B}',
            '\u{200C}',
            '\u{200D}',
            '\u{2060}',
            '\u{FEFF}',
            '\u{00AD}',
            '\u{E0041}',
            '\u{E0001}',
            '\u{034F}',
            '\u{3164}',
            '\u{115F}',
            '\u{FFA0}',
            '\u{0600}',
            '\u{1BCA0}',
        ];
        for c in hidden {
            let memo = format!("pay{c}ment");
            assert_eq!(Memo::parse(&memo), Err(MemoError::Hidden), "{memo:?}");
            assert_eq!(MemoError::Hidden.to_string(), "The memo contains invisible or direction-changing characters.");
        }
        // The characters next to them are fine.
        for c in ['\u{2029}', '\u{2070}', '\u{2010}'] {
            assert_ne!(Memo::parse(&format!("a{c}b")), Err(MemoError::Hidden), "{c:?}");
        }
    }

    #[test]
    fn a_stored_memo_is_shown_without_what_would_now_be_refused() {
        assert_eq!(Memo::shown("refund \u{202E}tner"), "refund tner");
        assert_eq!(Memo::shown("pay\u{200B}ment\n"), "payment");
        assert_eq!(Memo::shown("lunch 🍜"), "lunch 🍜");
    }
}
