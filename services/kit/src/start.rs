//! Starting a service: connecting to MongoDB and reporting why a start failed.

use std::time::Duration;

use mongodb::{Client, Database, options::ClientOptions};

/// Why a service could not start. Never carries the database URI (it may hold a password).
#[derive(Debug)]
pub struct StartError(pub String);

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StartError {}

/// A client for `uri` and its database `name`, identifying itself to the server as `app_name`.
pub async fn connect(uri: &str, name: &str, app_name: &str) -> Result<(Client, Database), StartError> {
    let mut options =
        ClientOptions::parse(uri).await.map_err(|e| StartError(format!("invalid MONGODB_URI: {}", e.kind)))?;
    options.app_name = Some(app_name.to_owned());
    options.server_selection_timeout = Some(Duration::from_secs(10));
    let client = Client::with_options(options).map_err(|e| StartError(format!("MongoDB client: {}", e.kind)))?;
    let database = client.database(name);
    Ok((client, database))
}
