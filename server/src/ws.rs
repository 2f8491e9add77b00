//! `/ws/prices`: every price tick, pushed to the browser.

use std::{future::Future, pin::Pin, task::Poll, time::Duration};

use app::backend::prices::PriceHub;
use axum::{
    extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade, close_code},
    response::Response,
};
use futures::{SinkExt, StreamExt};
use tokio::sync::broadcast::error::RecvError;

/// A subscriber that cannot take a tick within this time is disconnected (it reconnects and
/// resumes from the latest tick) instead of holding memory for it.
const SEND_TIMEOUT: Duration = Duration::from_secs(5);

/// Browsers send nothing but control frames here, and ticks are about a kilobyte; the default
/// 128 KiB read buffer per connection would make memory, not CPU, the limit on subscribers.
const READ_BUFFER: usize = 4 * 1024;
/// A tick is written out at once; a connection that cannot take this much is stalled.
const WRITE_BUFFER_LIMIT: usize = 64 * 1024;

pub async fn prices(upgrade: WebSocketUpgrade, hub: PriceHub) -> Response {
    upgrade
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(0)
        .max_write_buffer_size(WRITE_BUFFER_LIMIT)
        .max_message_size(READ_BUFFER)
        .max_frame_size(READ_BUFFER)
        .on_upgrade(move |socket| serve(socket, hub))
}

async fn serve(socket: WebSocket, hub: PriceHub) {
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
            () = &mut closed => {
                // "Going away": the browser reconnects, to this host's replacement.
                let frame = CloseFrame { code: close_code::AWAY, reason: "server restarting".into() };
                let _ = tokio::time::timeout(SEND_TIMEOUT, sink.send(Message::Close(Some(frame)))).await;
                return;
            }
            message = incoming.next() => match message {
                // Pings are answered by the websocket layer itself; anything else is ignored.
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
