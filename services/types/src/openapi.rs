//! How the types that travel as plain numbers or strings read in an OpenAPI document (the
//! host's public API documents itself from these types: `openapi` feature). The structs and
//! enums derive theirs; these newtypes say what their text or number means.

use std::borrow::Cow;

use utoipa::{
    PartialSchema, ToSchema,
    openapi::{
        RefOr,
        schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type},
    },
};

use crate::{Amount, Reference, Token, UsdPrice, UsdValue, WalletAddress};

/// Each is a component of the document under its Rust name.
macro_rules! named_schemas {
    ($($name:ident),+) => {$(
        impl ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }
        }
    )+};
}

named_schemas!(Amount, UsdPrice, UsdValue, Token, Reference, WalletAddress);

fn integer(description: &str, format: KnownFormat, example: u64) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(format)))
        .minimum(Some(0))
        .description(Some(description))
        .examples([example])
        .into()
}

impl PartialSchema for Amount {
    fn schema() -> RefOr<Schema> {
        integer(
            "An amount in the token's base units (10^decimals of them make one token: 9 decimals for SOL, so 1 SOL is 1000000000).",
            KnownFormat::Int64,
            1_500_000_000,
        )
    }
}

impl PartialSchema for UsdPrice {
    fn schema() -> RefOr<Schema> {
        integer(
            "A price of one whole token in picodollars (10^-12 USD): 187500000000000 is $187.50.",
            KnownFormat::Int64,
            187_500_000_000_000,
        )
    }
}

impl PartialSchema for UsdValue {
    fn schema() -> RefOr<Schema> {
        integer(
            "An amount of US dollars in picodollars (10^-12 USD): 1000000000000 is $1.",
            KnownFormat::Int64,
            281_250_000_000_000,
        )
    }
}

impl PartialSchema for Token {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(Token::ALL.map(Token::symbol)))
            .description(Some("A token's symbol."))
            .into()
    }
}

fn text(pattern: &str, description: &str, example: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
        .description(Some(description))
        .examples([example])
        .into()
}

impl PartialSchema for Reference {
    fn schema() -> RefOr<Schema> {
        text(
            "^(SWP|TRF|STK|AIR|GEN)-[0-9A-HJKMNP-TV-Z]{10}-[0-9A-HJKMNP-TV-Z]{6}$",
            "A reference number: its kind (SWP a swap, TRF a transfer, STK staking, AIR the sign-up airdrop), the time it was made and a random part. Case does not matter.",
            "TRF-01JDX3Q7ZK-8M2XQF",
        )
    }
}

impl PartialSchema for WalletAddress {
    fn schema() -> RefOr<Schema> {
        text(
            "^[1-9A-HJ-NP-Za-km-z]{32,44}$",
            "A wallet (or stake account) address: base58, like Solana's.",
            "7xKXtg2CW87d97TXJSDpbD5jBkheTqA83TZRuJosgAsU",
        )
    }
}
