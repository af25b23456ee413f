//! One client connection: the state shared with other threads (`ClientShared`), the reader
//! task that parses and executes operations (`connection`), and the writer task (`writer`).

mod connection;
pub mod outbound;
mod spin;
pub(crate) mod trace;
mod writer;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use parking_lot::Mutex;
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

pub use connection::Connection;
pub use outbound::{CloseReason, Outbound, Queued};

use crate::state::ServerState;
use crate::subscription::Subscription;

/// What other threads may see or touch of a client.
pub struct ClientShared {
    pub id: u64,
    pub addr: SocketAddr,
    pub connected_at: SystemTime,
    pub out: Outbound,
    /// Stops the reader task (any close).
    cancel: CancellationToken,
    /// Stops the writer at once, without flushing (slow consumers, write errors).
    abort: CancellationToken,
    /// The client's subscriptions by sid. Lock order: the subscription index first.
    pub subs: Mutex<HashMap<Box<[u8]>, Arc<Subscription>>>,
    /// Whether the client announced header support in CONNECT; if not, deliveries drop headers.
    pub headers: AtomicBool,
    pub in_msgs: AtomicU64,
    pub in_bytes: AtomicU64,
    pub name: Mutex<Option<String>>,
    /// `lang` and `version` from CONNECT, for `/connz`.
    pub lang: Mutex<Option<String>>,
    pub version: Mutex<Option<String>>,
    /// Wall-clock time of the last read from the client, in nanoseconds since the Unix epoch
    /// (`/connz` `last_activity`).
    pub last_activity_nanos: AtomicU64,
    /// Round-trip time in nanoseconds: INFO to CONNECT at first, then server PING to PONG.
    pub rtt_nanos: AtomicU64,
    /// Names from the verified client certificate, in nats-server's matching order (email,
    /// DNS and URI SANs, then the RFC 2253 subject). Set once after a TLS handshake that
    /// verified a client certificate; empty otherwise.
    pub tls_identities: OnceLock<Vec<String>>,
    /// INFO already went out in plaintext before the TLS handshake.
    info_sent: AtomicBool,
    /// The user (name or nkey) the client authenticated as, for `/connz`.
    pub authorized_user: Mutex<Option<String>>,
    /// The name of the client's account (`$G` unless its user belongs to another).
    pub account: Mutex<String>,
    /// The nonce INFO carries for nkey signatures (when nkey users exist). Made with the
    /// client because TLS sends INFO before the connection task starts.
    pub nonce: Option<String>,
}

impl ClientShared {
    fn new(id: u64, addr: SocketAddr, max_pending_bytes: usize, nonce: Option<String>) -> Self {
        ClientShared {
            nonce,
            id,
            addr,
            connected_at: SystemTime::now(),
            out: Outbound::new(max_pending_bytes),
            cancel: CancellationToken::new(),
            abort: CancellationToken::new(),
            subs: Mutex::new(HashMap::new()),
            headers: AtomicBool::new(false),
            in_msgs: AtomicU64::new(0),
            in_bytes: AtomicU64::new(0),
            name: Mutex::new(None),
            lang: Mutex::new(None),
            version: Mutex::new(None),
            last_activity_nanos: AtomicU64::new(epoch_nanos(SystemTime::now())),
            rtt_nanos: AtomicU64::new(0),
            tls_identities: OnceLock::new(),
            info_sent: AtomicBool::new(false),
            authorized_user: Mutex::new(None),
            account: Mutex::new(crate::account::GLOBAL_ACCOUNT.to_string()),
        }
    }

    /// Closes the connection: the writer flushes what is queued unless `reason` forbids it.
    pub fn close(&self, reason: CloseReason) {
        self.out.close(reason);
        if !reason.flushes() {
            self.abort.cancel();
        }
        self.cancel.cancel();
    }

    /// Whether INFO was already sent (in plaintext, before TLS): the connection must not send
    /// it again.
    pub fn info_already_sent(&self) -> bool {
        self.info_sent.load(Ordering::Acquire)
    }

    pub(crate) fn mark_info_sent(&self) {
        self.info_sent.store(true, Ordering::Release);
    }

    pub fn supports_headers(&self) -> bool {
        self.headers.load(Ordering::Relaxed)
    }

    /// Notes activity from the client now (`/connz` `last_activity`).
    pub fn touch(&self) {
        self.last_activity_nanos
            .store(epoch_nanos(SystemTime::now()), Ordering::Relaxed);
    }

    pub fn last_activity(&self) -> SystemTime {
        std::time::UNIX_EPOCH
            + std::time::Duration::from_nanos(self.last_activity_nanos.load(Ordering::Relaxed))
    }
}

fn epoch_nanos(t: SystemTime) -> u64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// Serves one accepted socket until it closes; returns after both tasks are done.
pub async fn serve(state: Arc<ServerState>, stream: TcpStream, addr: SocketAddr) {
    // Latency matters more than packet count here: writes are already batched per flush.
    let _ = stream.set_nodelay(true);
    let client = new_client(&state, addr);
    register(&state, &client);
    let (read_half, write_half) = stream.into_split();
    let writer = tokio::spawn(writer::run(
        client.clone(),
        write_half,
        state.opts().write_deadline,
        state.clone(),
    ));
    Connection::new(state.clone(), client.clone())
        .run(read_half)
        .await;
    let _ = writer.await;
}

/// Serves one accepted socket over TLS: the handshake (INFO first in plaintext unless
/// `handshake_first`), then the same reader and a stream writer.
pub async fn serve_tls(
    state: Arc<ServerState>,
    stream: TcpStream,
    addr: SocketAddr,
    tls: Arc<crate::tls::cache::TlsSetup>,
) {
    let _ = stream.set_nodelay(true);
    let client = new_client(&state, addr);
    let Some(stream) = crate::tls::handshake::accept(&state, &client, stream, &tls).await else {
        return;
    };
    register(&state, &client);
    let (read_half, write_half) = tokio::io::split(stream);
    let writer = tokio::spawn(writer::run_stream(
        client.clone(),
        write_half,
        state.opts().write_deadline,
        state.clone(),
    ));
    Connection::new(state.clone(), client.clone())
        .run(read_half)
        .await;
    let _ = writer.await;
}

fn new_client(state: &ServerState, addr: SocketAddr) -> Arc<ClientShared> {
    let id = state.next_client_id();
    state
        .totals
        .total_connections
        .fetch_add(1, Ordering::Relaxed);
    let opts = state.opts();
    let nonce = crate::auth::needs_nonce(&opts).then(crate::auth::new_nonce);
    Arc::new(ClientShared::new(id, addr, opts.max_pending_bytes, nonce))
}

/// Makes the client visible (`/connz`, routing, shutdown); the connection removes it.
fn register(state: &ServerState, client: &Arc<ClientShared>) {
    state.clients.lock().insert(client.id, client.clone());
}
