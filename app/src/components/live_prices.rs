//! Live prices in the browser: one websocket to `/ws/prices` for the whole app, reconnecting
//! by itself with backoff, and the connection state for the UI. For a logged-in user the same
//! socket says when the account's money moved (`{"account":{"reference":...}}`): see
//! [`LivePrices::account`].

use leptos::prelude::*;
use solstice_market::MarketKind;
use solstice_types::{Reference, Token, WalletAddress};

use crate::model::{PriceTick, TokenPrice};

/// With no frame from the host for this long, the connection is taken as lost and prices as
/// stale (the host sends one every second, with new prices or not).
pub const STALE_AFTER_MS: i64 = 5_000;

/// The state of the price connection, as the UI shows it. (The server only ever renders
/// `Connecting`: the connection is the browser's.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
pub enum Connection {
    Connecting,
    Live,
    Reconnecting,
}

/// The latest tick and the connection state, provided once by [`crate::App`]; the connection
/// opens when a page that shows prices first asks for them ([`use_live_prices`]), so that the
/// pages without prices (and their phones) carry neither the socket nor its code.
#[derive(Clone, Copy)]
pub struct LivePrices {
    pub tick: RwSignal<Option<PriceTick>>,
    pub connection: RwSignal<Connection>,
    /// The browser's clock, updated every second, to tell when prices go stale.
    pub now_ms: RwSignal<i64>,
    /// When the browser last received a tick (its own clock, so server clock skew does not
    /// matter); the page's start until the first tick.
    pub received_ms: RwSignal<i64>,
    /// Counts the account's money movements told since the page loaded, with the last one's
    /// reference and line for people (`None` when the host could not say: reload everything).
    pub account: RwSignal<(u64, Option<(Reference, String)>)>,
    /// Who is logged in, as the socket must know it: when this changes (a log-in or log-out in
    /// this tab), the socket reconnects with the new session.
    pub wallet: RwSignal<Option<WalletAddress>>,
    /// Whether the connection was opened.
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    started: StoredValue<bool>,
}

impl LivePrices {
    /// Creates the state, not yet connected.
    pub fn provide() -> LivePrices {
        let live = LivePrices {
            tick: RwSignal::new(None),
            connection: RwSignal::new(Connection::Connecting),
            now_ms: RwSignal::new(0),
            received_ms: RwSignal::new(0),
            account: RwSignal::new((0, None)),
            wallet: RwSignal::new(None),
            started: StoredValue::new(false),
        };
        provide_context(live);
        live
    }

    /// In the browser, opens the connection, once per page load, and only once the whole page
    /// has hydrated ([`page_hydrated`]): the first frame changes what the price views show, and
    /// hydration must find the state the server rendered (a page's routes hydrate after their
    /// modules arrive, well after the top bar's effects have run).
    pub fn connect(self) {
        #[cfg(feature = "hydrate")]
        if !self.started.get_value() {
            if HYDRATED.get() {
                self.start();
            } else {
                WAITING.set(Some(self));
            }
        }
    }

    #[cfg(feature = "hydrate")]
    fn start(self) {
        // Several components of one page may ask: one connection starts.
        if self.started.get_value() {
            return;
        }
        self.started.set_value(true);
        self.now_ms.set(js_sys::Date::now() as i64);
        self.received_ms.set(js_sys::Date::now() as i64);
        let _ = set_interval_with_handle(
            move || self.now_ms.set(js_sys::Date::now() as i64),
            std::time::Duration::from_secs(1),
        );
        leptos::task::spawn_local(client::run(self));
    }

    /// The latest price of `token`, from the websocket or else from `fallback` (the snapshot
    /// rendered by the server).
    pub fn price(&self, token: Token, fallback: Option<&PriceTick>) -> Option<(TokenPrice, i64)> {
        let from = |tick: &PriceTick| tick.prices.iter().find(|p| p.token == token).map(|p| (p.clone(), tick.at_ms));
        self.tick.with(|tick| tick.as_ref().and_then(from)).or_else(|| fallback.and_then(from))
    }

    /// How old the prices shown are, in milliseconds: the tick's age when the host sent it
    /// (by the host's clock) plus the time since it arrived (by the browser's), so that
    /// neither clock needs to agree with the recorder's.
    pub fn age_ms(&self, fallback: Option<&PriceTick>) -> Option<i64> {
        let (now, received) = (self.now_ms.get(), self.received_ms.get());
        let since_received = if now > 0 && received > 0 { (now - received).max(0) } else { 0 };
        let age = |tick: &PriceTick| (tick.seq > 0).then(|| tick.age_when_sent_ms() + since_received);
        self.tick.with(|tick| tick.as_ref().and_then(age)).or_else(|| fallback.and_then(age))
    }

    /// Whether the prices shown are too old to trust: no frame has arrived for a while (or,
    /// since the page loaded, none at all), or the latest tick is older than the freshness
    /// bound (the recorder or its sources are down).
    pub fn is_stale(&self) -> bool {
        let (now, received) = (self.now_ms.get(), self.received_ms.get());
        if now > 0 && received > 0 && now - received > STALE_AFTER_MS {
            return true;
        }
        self.tick.with(|tick| {
            tick.as_ref().is_some_and(|tick| tick.seq == 0 || self.age_ms(None).is_some_and(|age| age > tick.fresh_ms))
        })
    }
}

#[cfg(feature = "hydrate")]
thread_local! {
    /// Whether the page has hydrated.
    static HYDRATED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// The connection asked for before then.
    static WAITING: std::cell::Cell<Option<LivePrices>> = const { std::cell::Cell::new(None) };
}

/// Called by the entry point once the page has hydrated: a connection asked for before then
/// opens now.
#[cfg(feature = "hydrate")]
pub fn page_hydrated() {
    HYDRATED.set(true);
    if let Some(live) = WAITING.take() {
        live.start();
    }
}

/// "Kraken", "Coinbase": a source's name for people.
fn source_name(source: &str) -> String {
    let mut chars = source.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// "3 s", "2 min", "5 h".
fn format_age(ms: i64) -> String {
    let seconds = ms / 1_000;
    match seconds {
        ..60 => format!("{} s", seconds.max(0)),
        60..3_600 => format!("{} min", seconds / 60),
        _ => format!("{} h", seconds / 3_600),
    }
}

/// Where prices come from and how old they are: "Live prices from Coinbase and Kraken ·
/// updated 1 s ago", or the simulated market, clearly labelled.
#[component]
pub fn PriceSource(#[prop(optional, into)] snapshot: Option<Signal<Option<PriceTick>>>) -> impl IntoView {
    let live = use_live_prices();
    let tick = move || live.tick.get().or_else(|| snapshot.and_then(|snapshot| snapshot.get()));
    let market = move || tick().and_then(|tick| tick.market);
    let origin = move || match tick() {
        Some(tick) if tick.market == Some(MarketKind::Simulated) => "Simulated prices, not a real market".to_owned(),
        Some(tick) if !tick.sources.is_empty() => {
            let names: Vec<String> = tick.sources.iter().map(|s| source_name(s)).collect();
            let listed = match names.split_last() {
                Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
                _ => names.concat(),
            };
            format!("Live prices from {listed}")
        }
        _ => "No prices yet".to_owned(),
    };
    let age = move || {
        let fallback = snapshot.and_then(|snapshot| snapshot.get());
        live.age_ms(fallback.as_ref()).map(|age| format!(" · updated {} ago", format_age(age))).unwrap_or_default()
    };
    view! {
        <p class="muted small price-source" data-testid="price-source">
            <Show when=move || market() == Some(MarketKind::Simulated)>
                <span class="badge badge-simulated" data-testid="simulated-market">{MarketKind::Simulated.label()}</span>
                " "
            </Show>
            <span>{origin}</span>
            <span data-testid="price-age">{age}</span>
        </p>
    }
}

/// The price line of a page without a market snapshot of its own: the host's latest tick comes
/// with the page, so the line says then what it will say once the live prices connect, and
/// nothing below it moves.
#[component]
pub fn LatestPriceSource() -> impl IntoView {
    let snapshot = Resource::new(|| (), |_| crate::api::market_snapshot());
    let shown = Signal::derive(move || snapshot.get().and_then(Result::ok));
    view! {
        <Suspense fallback=|| ()>
            <PriceSource snapshot=shown />
        </Suspense>
    }
}

/// The live prices, connected from now on.
pub fn use_live_prices() -> LivePrices {
    let live = expect_context::<LivePrices>();
    live.connect();
    live
}

/// Live / reconnecting / stale, for people and screen readers.
#[component]
pub fn ConnectionBadge() -> impl IntoView {
    let live = use_live_prices();
    let state = move || {
        if live.is_stale() {
            ("stale", "Prices stale")
        } else {
            match live.connection.get() {
                Connection::Live => ("live", "Live"),
                Connection::Connecting => ("connecting", "Connecting…"),
                Connection::Reconnecting => ("reconnecting", "Reconnecting…"),
            }
        }
    };
    view! {
        <span class=move || format!("badge badge-{}", state().0) role="status" data-testid="price-connection">
            {move || state().1}
        </span>
    }
}

#[cfg(feature = "hydrate")]
mod client {
    use futures::StreamExt;
    use gloo_net::websocket::{Message, futures::WebSocket};

    use leptos::prelude::{GetUntracked, Set, Update};
    use solstice_types::Reference;

    use super::{Connection, LivePrices};
    use crate::model::PriceTick;

    /// What the host says when the account's money moved.
    #[derive(serde::Deserialize)]
    struct AccountMessage {
        account: AccountMoved,
    }

    #[derive(serde::Deserialize)]
    struct AccountMoved {
        reference: Option<Reference>,
        text: Option<String>,
    }

    const FIRST_RETRY_MS: u32 = 500;
    const LAST_RETRY_MS: u32 = 15_000;
    /// Ticks come every second; this long without one means the connection died silently
    /// (a lost network, a sleeping laptop, a host gone without closing it).
    const SILENCE_MS: u32 = 5_000;

    fn url() -> Option<String> {
        let location = web_sys_location()?;
        let scheme = if location.0 == "https:" { "wss" } else { "ws" };
        Some(format!("{scheme}://{}/ws/prices", location.1))
    }

    fn web_sys_location() -> Option<(String, String)> {
        let location = leptos::prelude::window().location();
        Some((location.protocol().ok()?, location.host().ok()?))
    }

    async fn sleep(ms: u32) {
        let promise = js_sys::Promise::new(&mut |resolve, _| {
            let _ =
                leptos::prelude::window().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms as i32);
        });
        let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
    }

    /// Connects, reads ticks until the connection drops, waits, and connects again; the wait
    /// doubles after each failure (with jitter, so that a restarted host is not hit by every
    /// browser at once) and resets once ticks flow.
    pub async fn run(live: LivePrices) {
        let Some(url) = url() else { return };
        let mut retry_ms = FIRST_RETRY_MS;
        loop {
            // The session the socket opens with; another one after a log-in or log-out here.
            let wallet = live.wallet.get_untracked();
            if let Ok(socket) = WebSocket::open(&url) {
                let (_, mut incoming) = socket.split();
                loop {
                    let next = futures::future::select(incoming.next(), Box::pin(sleep(SILENCE_MS))).await;
                    let futures::future::Either::Left((Some(Ok(message)), _)) = next else { break };
                    if live.wallet.get_untracked() != wallet {
                        // Reconnect at once, as whoever is logged in now.
                        retry_ms = 0;
                        break;
                    }
                    let Message::Text(text) = message else { continue };
                    if text.starts_with(r#"{"account""#) {
                        if let Ok(message) = serde_json::from_str::<AccountMessage>(&text) {
                            live.account.update(|(count, last)| {
                                *count += 1;
                                *last = message.account.reference.zip(message.account.text);
                            });
                        }
                    } else if let Ok(tick) = serde_json::from_str::<PriceTick>(&text) {
                        live.tick.set(Some(tick));
                        live.received_ms.set(js_sys::Date::now() as i64);
                        live.connection.set(Connection::Live);
                        retry_ms = FIRST_RETRY_MS;
                    }
                }
            }
            if retry_ms == 0 {
                retry_ms = FIRST_RETRY_MS;
                continue;
            }
            live.connection.set(Connection::Reconnecting);
            let jitter = (js_sys::Math::random() * f64::from(retry_ms) / 2.0) as u32;
            sleep(retry_ms / 2 + jitter).await;
            retry_ms = (retry_ms * 2).min(LAST_RETRY_MS);
        }
    }
}
