//! The token registry: every token Solstice knows, with its decimals and Solana mint.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

/// A token listed on Solstice. Unknown symbols cannot be represented, so any value of
/// this type is a token the ledger, the exchange and the UI all know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "&'static str")]
pub enum Token {
    Sol,
    Usdc,
    Usdt,
    Jup,
    Bonk,
    Ray,
    Jto,
}

/// What the registry says of a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenInfo {
    pub symbol: &'static str,
    pub name: &'static str,
    /// Number of decimal places: one whole token is `10^decimals` base units.
    pub decimals: u8,
    /// The token's mint address on Solana mainnet, kept as metadata.
    pub mint: &'static str,
}

/// A symbol that is not in the registry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Unknown token \"{0}\".")]
pub struct UnknownToken(pub String);

impl Token {
    /// Every listed token, SOL first.
    pub const ALL: [Token; 7] = [Token::Sol, Token::Usdc, Token::Usdt, Token::Jup, Token::Bonk, Token::Ray, Token::Jto];

    /// The registry entry of this token.
    pub const fn info(self) -> TokenInfo {
        match self {
            Token::Sol => TokenInfo {
                symbol: "SOL",
                name: "Solana",
                decimals: 9,
                mint: "So11111111111111111111111111111111111111112",
            },
            Token::Usdc => TokenInfo {
                symbol: "USDC",
                name: "USD Coin",
                decimals: 6,
                mint: "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v",
            },
            Token::Usdt => TokenInfo {
                symbol: "USDT",
                name: "Tether USD",
                decimals: 6,
                mint: "Es9vMFrzaCERmJfrF4H2FYD4KCoNkY11McCe8BenwNYB",
            },
            Token::Jup => TokenInfo {
                symbol: "JUP",
                name: "Jupiter",
                decimals: 6,
                mint: "JUPyiwrYJFskUPiHa7hkeR8VUtAeFoSYbKedZNsDvCN",
            },
            Token::Bonk => TokenInfo {
                symbol: "BONK",
                name: "Bonk",
                decimals: 5,
                mint: "DezXAZ8z7PnrnRJjz3wXBoRgixCa6xjnB7YaB1pPB263",
            },
            Token::Ray => TokenInfo {
                symbol: "RAY",
                name: "Raydium",
                decimals: 6,
                mint: "4k3Dyjzvzp8eMZWUXbBCjEvwSkkk59S5iCNLY3QrkX6R",
            },
            Token::Jto => TokenInfo {
                symbol: "JTO",
                name: "Jito",
                decimals: 9,
                mint: "jtojtomepa8beP8AuQc6eXt5FriJwfFMwQx2v2f9mCL",
            },
        }
    }

    pub const fn symbol(self) -> &'static str {
        self.info().symbol
    }

    pub const fn decimals(self) -> u8 {
        self.info().decimals
    }
}

impl FromStr for Token {
    type Err = UnknownToken;

    /// Accepts a symbol in any case ("sol", "SOL").
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let wanted = text.trim();
        Token::ALL
            .into_iter()
            .find(|token| token.symbol().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| UnknownToken(wanted.to_owned()))
    }
}

impl TryFrom<String> for Token {
    type Error = UnknownToken;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl From<Token> for &'static str {
    fn from(token: Token) -> &'static str {
        token.symbol()
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sol_and_the_dollar_stablecoins_have_their_real_decimals() {
        assert_eq!(Token::Sol.decimals(), 9);
        assert_eq!(Token::Usdc.decimals(), 6);
        assert_eq!(Token::Usdt.decimals(), 6);
    }

    #[test]
    fn symbols_parse_in_any_case_and_unknown_ones_are_refused() {
        assert_eq!("sol".parse::<Token>(), Ok(Token::Sol));
        assert_eq!(" USDC ".parse::<Token>(), Ok(Token::Usdc));
        assert_eq!("DOGE".parse::<Token>(), Err(UnknownToken("DOGE".into())));
    }

    #[test]
    fn every_token_has_a_unique_symbol_and_mint() {
        for (i, a) in Token::ALL.iter().enumerate() {
            assert_eq!(a.symbol().parse::<Token>(), Ok(*a));
            for b in &Token::ALL[i + 1..] {
                assert_ne!(a.symbol(), b.symbol());
                assert_ne!(a.info().mint, b.info().mint);
            }
            let mint = bs58::decode(a.info().mint).into_vec().expect("mints are base58");
            assert_eq!(mint.len(), 32, "{a} mint is a 32-byte public key");
        }
    }
}
