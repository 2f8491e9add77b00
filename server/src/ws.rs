//! `/ws/prices`: every price tick, pushed to the browser; and, on a logged-in browser's
//! socket, its own account's events (`{"account":{"reference":"TRF-...","text":"Received 1.5
//! SOL from 9xQe…4Fd2"}}` when its money moved, whichever host or tab moved it). The wallet comes from the session cookie sent with
//! the upgrade, never from anything the browser says on the socket, and the session is read
//! again every few seconds: a log-out anywhere stops the events and closes the socket (the
//! browser reconnects for prices alone).
//!
//! An upgraded connection leaves the HTTP server's connection cap, so sockets have their own:
//! at most so many per client (an IPv4 address or IPv6 /64) and in all. A socket opened by a
//! page of another site is refused: browsers always say which page opened a socket (`Origin`),
//! and only this site's pages (or the origins configured) may subscribe.

use std::{
    collections::HashMap,
    future::Future,
    pin::Pin,
    sync::{Arc, Mutex},
    task::Poll,
    time::Duration,
};

use app::backend::{
    events::{AccountEvents, Subscription},
    prices::PriceHub,
    rate_limit::client_key,
    services::Services,
    session::{ClientIp, still_logged_in, wallet_of},
};
use axum::{
    Extension, Json,
    extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade, close_code},
    http::{HeaderMap, StatusCode, header::ORIGIN},
    response::{IntoResponse, Response},
};
use futures::{SinkExt, StreamExt};
use solstice_types::{ApiError, ErrorCode, WalletAddress};
use tokio::sync::broadcast::error::RecvError;
use tower_sessions::Session;

/// A subscriber that cannot take a tick within this time is disconnected (it reconnects and
/// resumes from the latest tick) instead of holding memory for it.
const SEND_TIMEOUT: Duration = Duration::from_secs(5);

/// How often a socket's session is read again from the store.
const SESSION_RECHECK: Duration = Duration::from_secs(10);
/// The close code a socket gets when its session ended: the browser reconnects without it.
const LOGGED_OUT: u16 = 4001;

/// Browsers send nothing but control frames here, and ticks are about a kilobyte; the default
/// 128 KiB read buffer per connection would make memory, not CPU, the limit on subscribers.
const READ_BUFFER: usize = 4 * 1024;
/// A tick is written out at once; a connection that cannot take this much is stalled.
const WRITE_BUFFER_LIMIT: usize = 64 * 1024;

/// How many price sockets may be open, per client and in all, and which other origins' pages
/// may open them.
#[derive(Debug, Clone)]
pub struct SocketLimits {
    pub per_client: u32,
    pub total: u32,
    /// Origins (`https://example.com`) allowed besides the host's own.
    pub allowed_origins: Vec<String>,
}

/// Counts the open price sockets.
#[derive(Debug, Clone)]
pub struct SocketGate {
    limits: Arc<SocketLimits>,
    open: Arc<Mutex<Open>>,
}

#[derive(Debug, Default)]
struct Open {
    total: u32,
    per_client: HashMap<String, u32>,
}

/// A socket's place under the limits, given back when it is dropped.
struct Place {
    gate: SocketGate,
    client: String,
}

impl Drop for Place {
    fn drop(&mut self) {
        let mut open = self.gate.open.lock().expect("socket gate lock");
        open.total = open.total.saturating_sub(1);
        if let Some(count) = open.per_client.get_mut(&self.client) {
            *count -= 1;
            if *count == 0 {
                open.per_client.remove(&self.client);
            }
        }
    }
}

impl SocketGate {
    pub fn new(limits: SocketLimits) -> SocketGate {
        SocketGate { limits: Arc::new(limits), open: Arc::default() }
    }

    fn enter(&self, client: String) -> Result<Place, ApiError> {
        let mut open = self.open.lock().expect("socket gate lock");
        if open.total >= self.limits.total {
            return Err(ApiError::new(
                ErrorCode::Unavailable,
                "The live price service is full. Please try again later.",
            ));
        }
        let count = open.per_client.entry(client.clone()).or_default();
        if *count >= self.limits.per_client {
            return Err(ApiError::new(ErrorCode::RateLimited, "Too many live price connections from your network."));
        }
        *count += 1;
        open.total += 1;
        Ok(Place { gate: self.clone(), client })
    }

    /// Whether the page that opened the socket (if a browser says) is of this site.
    fn origin_allowed(&self, headers: &HeaderMap) -> bool {
        let configured = headers.get(ORIGIN).and_then(|origin| origin.to_str().ok()).is_some_and(|origin| {
            self.limits.allowed_origins.iter().any(|allowed| allowed.eq_ignore_ascii_case(origin))
        });
        // No origin: not a browser, so nothing another site could abuse.
        configured || crate::origin_is_this_host(headers).unwrap_or(true)
    }
}

fn refuse(error: ApiError) -> Response {
    let status = StatusCode::from_u16(error.code.status()).unwrap_or(StatusCode::FORBIDDEN);
    (status, Json(error)).into_response()
}

/// What every socket shares: the price frames, the account events and the socket limits.
#[derive(Clone)]
pub struct Sockets {
    pub hub: PriceHub,
    pub events: AccountEvents,
    /// For each event's row, read as the socket's wallet.
    pub services: Services,
    pub session_lifetime: Duration,
    pub gate: SocketGate,
}

/// A logged-in socket's account: its events, and the session that must stay logged in.
struct Account {
    wallet: WalletAddress,
    session: Session,
    events: Subscription,
}

pub async fn prices(
    upgrade: WebSocketUpgrade,
    headers: HeaderMap,
    client: Option<Extension<ClientIp>>,
    session: Session,
    sockets: Sockets,
) -> Response {
    if !sockets.gate.origin_allowed(&headers) {
        return refuse(ApiError::new(ErrorCode::Forbidden, "Connections from other sites are not accepted."));
    }
    let client = client.and_then(|Extension(ClientIp(ip))| ip).map_or_else(|| "unknown".to_owned(), client_key);
    let place = match sockets.gate.enter(client) {
        Ok(place) => place,
        Err(error) => return refuse(error),
    };
    // A session that cannot be read is no log-in: prices still flow.
    let wallet = wallet_of(&session, sockets.session_lifetime).await.ok().flatten();
    let account = wallet.map(|wallet| Account { events: sockets.events.subscribe(&wallet), wallet, session });
    upgrade
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(0)
        .max_write_buffer_size(WRITE_BUFFER_LIMIT)
        .max_message_size(READ_BUFFER)
        .max_frame_size(READ_BUFFER)
        .on_upgrade(move |socket| async move {
            serve(socket, sockets.hub, account, sockets.services, sockets.session_lifetime).await;
            drop(place);
        })
}

/// The next account event of a logged-in socket (never, for a visitor's): its reference, or
/// `None` when the socket fell behind and the browser should reload everything.
async fn next_event(account: &mut Option<Account>) -> Option<Arc<str>> {
    match account {
        Some(account) => account.events.next().await,
        None => std::future::pending().await,
    }
}

/// What the browser is told of an event: the reference and a line for people, read as the
/// socket's own wallet (the reference alone if the row cannot be read now: balances still
/// refresh; `{"account":{}}` after falling behind).
async fn event_json(services: &Services, wallet: &WalletAddress, reference: Option<Arc<str>>) -> Utf8Bytes {
    let Some(reference) = reference.and_then(|reference| solstice_types::Reference::parse(&reference).ok()) else {
        return Utf8Bytes::from_static(r#"{"account":{}}"#);
    };
    let text = match services.portfolio.activity_row(wallet, &reference).await {
        Ok(row) => Some(row.summary()),
        Err(error) => {
            tracing::debug!(code = ?error.code, "an account event's row could not be read");
            None
        }
    };
    serde_json::json!({ "account": { "reference": reference, "text": text } }).to_string().into()
}

async fn serve(socket: WebSocket, hub: PriceHub, mut account: Option<Account>, services: Services, lifetime: Duration) {
    let (mut sink, mut incoming) = socket.split();
    let (latest, mut ticks) = hub.subscribe();
    let mut sent = 0;
    if let Some((seq, json)) = latest {
        if !send(&mut sink, json).await {
            return;
        }
        sent = seq;
    }
    let closed = hub.closed();
    tokio::pin!(closed);
    let mut recheck = tokio::time::interval_at(tokio::time::Instant::now() + SESSION_RECHECK, SESSION_RECHECK);
    loop {
        tokio::select! {
            tick = ticks.recv() => match tick {
                Ok((seq, _)) if seq <= sent => {}
                Ok((seq, json)) => {
                    if !send(&mut sink, json).await {
                        return;
                    }
                    sent = seq;
                }
                // Fell behind: skip the backlog and carry on from the newest tick, which is all
                // a price view needs.
                Err(RecvError::Lagged(_)) => {
                    ticks = ticks.resubscribe();
                    if let (Some((seq, json)), _) = hub.subscribe()
                        && seq > sent
                    {
                        if !send(&mut sink, json).await {
                            return;
                        }
                        sent = seq;
                    }
                }
                Err(RecvError::Closed) => return,
            },
            event = next_event(&mut account) => {
                let Some(Account { wallet, .. }) = &account else { continue };
                if !send(&mut sink, event_json(&services, wallet, event).await).await {
                    return;
                }
            }
            _ = recheck.tick(), if account.is_some() => {
                if let Some(Account { wallet, session, .. }) = &account
                    && !still_logged_in(session, wallet, lifetime).await
                {
                    let frame = CloseFrame { code: LOGGED_OUT, reason: "logged out".into() };
                    let _ = tokio::time::timeout(SEND_TIMEOUT, sink.send(Message::Close(Some(frame)))).await;
                    return;
                }
            }
            () = &mut closed => {
                // "Going away": the browser reconnects, to this host's replacement.
                let frame = CloseFrame { code: close_code::AWAY, reason: "server restarting".into() };
                let _ = tokio::time::timeout(SEND_TIMEOUT, sink.send(Message::Close(Some(frame)))).await;
                return;
            }
            message = incoming.next() => match message {
                // Pings are answered by the websocket layer itself; anything else (a forged
                // "subscribe" included) is ignored: the account is the session's.
                Some(Ok(Message::Close(_)) | Err(_)) | None => return,
                Some(Ok(_)) => {}
            },
        }
    }
}

/// Sends a tick's shared JSON (no copy is made for this subscriber).
///
/// Most sockets take a frame at once: the send is tried first without a timer, and only one
/// that has to wait gets the [`SEND_TIMEOUT`] (ten thousand timers set and cleared every tick
/// cost more than the sends themselves).
async fn send<S>(sink: &mut S, json: Utf8Bytes) -> bool
where
    S: SinkExt<Message> + Unpin,
{
    let mut sending = sink.send(Message::Text(json));
    match std::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut sending).poll(cx))).await {
        Poll::Ready(sent) => sent.is_ok(),
        Poll::Pending => matches!(tokio::time::timeout(SEND_TIMEOUT, sending).await, Ok(Ok(()))),
    }
}
