//! Live-price fan-out benchmark: opens N websocket clients against a running host and reports
//! ticks delivered per second, the fan-out latency (p50/p99, from the host sending a tick to its
//! arrival), the end-to-end latency (from the recorder taking the prices to their arrival) and
//! the host's resident memory per connection.
//!
//! Run through `scripts/bench`, which starts the database and a release host and passes:
//! `BENCH_URL` (ws://…/ws/prices), `BENCH_HOST_PID`, `BENCH_CLIENTS` (e.g. "1000,10000") and
//! `BENCH_SECONDS` (measuring time per run).

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    sync::Semaphore,
};

/// The fields of a frame the benchmark needs: the tick's number, when the recorder took it and
/// when the host sent it.
struct Tick {
    seq: u64,
    at_ms: i64,
    sent_ms: i64,
}

impl Tick {
    /// Reads `seq`, `at_ms` and `sent_ms` from the start of a frame's JSON
    /// (`{"seq":N,"at_ms":M,"sent_ms":S,...`; the client keeps only its first bytes) without
    /// parsing the prices after them: the clients share the host's two cores, and decoding ten
    /// thousand whole ticks a second would measure the benchmark, not the host.
    fn read(text: &str) -> Option<Tick> {
        let number = |field: &str| {
            let start = text.find(field)? + field.len();
            let digits = text[start..].split(|c: char| !c.is_ascii_digit()).next()?;
            digits.parse::<i64>().ok()
        };
        Some(Tick {
            seq: u64::try_from(number("\"seq\":")?).ok()?,
            at_ms: number("\"at_ms\":")?,
            sent_ms: number("\"sent_ms\":")?,
        })
    }
}

/// A websocket client that reads frames straight off its socket: the server's frames are
/// unmasked, so each is a header (2 bytes, 4 with a 16-bit length, 10 with a 64-bit one) and
/// its payload. It checks nothing and copies nothing it does not need, so that ten thousand
/// of them on the host's own two cores measure the host rather than themselves.
struct RawClient {
    stream: TcpStream,
    buffer: Vec<u8>,
    /// Bytes of `buffer` already handed out.
    consumed: usize,
}

impl RawClient {
    async fn connect(url: &str) -> std::io::Result<RawClient> {
        let rest = url.strip_prefix("ws://").expect("a ws:// URL");
        let (authority, path) = rest.split_once('/').map_or((rest, "/".to_owned()), |(a, p)| (a, format!("/{p}")));
        let mut stream = TcpStream::connect(authority).await?;
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {authority}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await?;
        let mut buffer = Vec::with_capacity(8 * 1024);
        let end = loop {
            if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break end + 4;
            }
            let mut chunk = [0u8; 1024];
            let read = stream.read(&mut chunk).await?;
            if read == 0 {
                return Err(std::io::Error::other("closed during the handshake"));
            }
            buffer.extend_from_slice(&chunk[..read]);
        };
        if !buffer.starts_with(b"HTTP/1.1 101") {
            return Err(std::io::Error::other(String::from_utf8_lossy(&buffer[..end]).into_owned()));
        }
        // Whatever came after the response is the start of the first frame.
        Ok(RawClient { stream, buffer, consumed: end })
    }

    /// The next text frame's payload (`None` when the connection closes).
    async fn next_text(&mut self) -> Option<String> {
        loop {
            let available = &self.buffer[self.consumed..];
            if available.len() >= 2 {
                let opcode = available[0] & 0x0f;
                let (length, header) = match available[1] & 0x7f {
                    126 if available.len() >= 4 => (usize::from(u16::from_be_bytes([available[2], available[3]])), 4),
                    127 if available.len() >= 10 => {
                        (u64::from_be_bytes(available[2..10].try_into().expect("8 bytes")) as usize, 10)
                    }
                    126 | 127 => (usize::MAX, 0),
                    short => (usize::from(short), 2),
                };
                if length != usize::MAX && available.len() >= header + length {
                    let payload = &available[header..header + length];
                    self.consumed += header + length;
                    match opcode {
                        0x1 => return Some(String::from_utf8_lossy(&payload[..payload.len().min(120)]).into_owned()),
                        0x8 => return None,
                        _ => continue,
                    }
                }
            }
            // Keep the unread bytes at the front, then read more.
            self.buffer.drain(..self.consumed);
            self.consumed = 0;
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return None,
                Ok(read) => self.buffer.extend_from_slice(&chunk[..read]),
            }
        }
    }
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock after 1970").as_millis() as i64
}

/// The host's resident memory, in KiB, from /proc.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("the host process is running");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .expect("VmRSS is reported")
}

fn percentile(sorted: &[i64], p: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

struct Outcome {
    latencies_ms: Vec<i64>,
    end_to_end_ms: Vec<i64>,
    received: u64,
    missed: u64,
}

async fn run(url: &str, pid: u32, clients: usize, seconds: u64) {
    let baseline = rss_kib(pid);
    let handshakes = Arc::new(Semaphore::new(200));
    let started = Instant::now();
    let mut connecting = Vec::with_capacity(clients);
    for _ in 0..clients {
        let (url, handshakes) = (url.to_owned(), handshakes.clone());
        connecting.push(tokio::spawn(async move {
            let _permit = handshakes.acquire().await.expect("semaphore open");
            RawClient::connect(&url).await
        }));
    }
    let mut sockets = Vec::with_capacity(clients);
    for connection in connecting {
        match connection.await.expect("connect task") {
            Ok(socket) => sockets.push(socket),
            Err(error) => panic!("a client could not connect: {error}"),
        }
    }
    let connect_time = started.elapsed();

    // Read from every client at once; measuring starts after two seconds, when all are settled.
    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = sockets
        .into_iter()
        .map(|mut socket| {
            let (measuring, stop) = (measuring.clone(), stop.clone());
            tokio::spawn(async move {
                let mut outcome =
                    Outcome { latencies_ms: Vec::new(), end_to_end_ms: Vec::new(), received: 0, missed: 0 };
                let mut last_seq = None;
                while !stop.load(Ordering::Relaxed) {
                    let next = tokio::time::timeout(Duration::from_millis(500), socket.next_text()).await;
                    let Ok(Some(text)) = next else { continue };
                    let Some(tick) = Tick::read(&text) else { continue };
                    // The host repeats the latest tick when no new one comes: only new ones count.
                    if last_seq.is_some_and(|last| tick.seq <= last) {
                        continue;
                    }
                    if measuring.load(Ordering::Relaxed) {
                        let now = now_ms();
                        outcome.latencies_ms.push(now - tick.sent_ms);
                        outcome.end_to_end_ms.push(now - tick.at_ms);
                        outcome.received += 1;
                        if let Some(last) = last_seq
                            && tick.seq > last + 1
                        {
                            outcome.missed += tick.seq - last - 1;
                        }
                    }
                    last_seq = Some(tick.seq);
                }
                outcome
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let connected_rss = rss_kib(pid);
    measuring.store(true, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    measuring.store(false, Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    let mut end_to_end = Vec::new();
    let (mut received, mut missed) = (0, 0);
    for reader in readers {
        let outcome = reader.await.expect("reader task");
        latencies.extend(outcome.latencies_ms);
        end_to_end.extend(outcome.end_to_end_ms);
        received += outcome.received;
        missed += outcome.missed;
    }
    latencies.sort_unstable();
    end_to_end.sort_unstable();
    let per_connection = connected_rss.saturating_sub(baseline) as f64 * 1024.0 / clients as f64;
    println!(
        "clients={clients} connect_s={:.1} ticks_delivered_per_s={:.0} missed_ticks={missed} latency_p50_ms={} \
         latency_p99_ms={} latency_max_ms={} end_to_end_p50_ms={} end_to_end_p99_ms={} host_rss_before_mib={:.1} host_rss_connected_mib={:.1} \
         host_bytes_per_connection={:.0}",
        connect_time.as_secs_f64(),
        received as f64 / seconds as f64,
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or(0),
        percentile(&end_to_end, 0.50),
        percentile(&end_to_end, 0.99),
        baseline as f64 / 1024.0,
        connected_rss as f64 / 1024.0,
        per_connection,
    );
}

fn main() {
    let url = std::env::var("BENCH_URL").expect("BENCH_URL: run through scripts/bench");
    let pid: u32 = std::env::var("BENCH_HOST_PID").expect("BENCH_HOST_PID").parse().expect("a process id");
    let seconds: u64 = std::env::var("BENCH_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(10);
    let counts = std::env::var("BENCH_CLIENTS").unwrap_or_else(|_| "1000,10000".to_owned());
    // The clients run on one thread: the host keeps at least one of the machine's cores to
    // itself, as it would with its clients on other machines.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    for clients in counts.split(',').filter_map(|n| n.trim().parse::<usize>().ok()) {
        runtime.block_on(run(&url, pid, clients, seconds));
        // Let the host notice the closed connections before the next run measures its baseline.
        std::thread::sleep(Duration::from_secs(3));
    }
}
