//! Test support shared by the integration tests of every crate.
//!
//! The test command (`scripts/test`) starts one MongoDB-compatible server for the whole run
//! and exports `MONGODB_URI`; each test takes a database of its own on it, so tests run in
//! parallel and in any order without seeing each other's data.

use mongodb::{Client, Database};
use rand::Rng;

/// The URI of the test database server, or a panic that says how to get one.
pub fn mongodb_uri() -> String {
    std::env::var("MONGODB_URI").unwrap_or_else(|_| {
        panic!("MONGODB_URI is not set. Run the tests with `scripts/test`, which starts a database server for them.")
    })
}

/// A client for the test server and a new, empty database that only the calling test uses.
pub async fn fresh_database() -> (Client, Database) {
    let client = Client::with_uri_str(mongodb_uri()).await.expect("the test database server is reachable");
    let name = format!("test_{:016x}", rand::thread_rng().r#gen::<u64>());
    let database = client.database(&name);
    (client, database)
}
