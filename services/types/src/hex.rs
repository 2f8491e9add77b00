//! Bytes as hex digits and back: keys, digests, signatures and nonces are written this way.

const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Bytes as lowercase hex digits.
pub fn hex(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(2 * bytes.len());
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    text
}

/// Hex digits (either case) as bytes; none if `text` is not an even number of hex digits.
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    let digit = |c: u8| char::from(c).to_digit(16).map(|d| d as u8);
    let text = text.as_bytes();
    if !text.len().is_multiple_of(2) {
        return None;
    }
    text.chunks_exact(2).map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_rejects_what_is_not_hex() {
        let every: Vec<u8> = (0..=255).collect();
        assert_eq!(unhex(&hex(&every)), Some(every.clone()));
        assert_eq!(hex(&[0, 1, 0x7f, 0xab, 255]), "00017fabff");
        assert_eq!(unhex("00017FABff"), Some(vec![0, 1, 0x7f, 0xab, 255]));
        for bad in ["abc", "zz", "0g", "+1", " 1", "é1"] {
            assert_eq!(unhex(bad), None, "{bad:?}");
        }
        assert_eq!(unhex(""), Some(vec![]));
    }
}
