//! A running stream: its store, its ingest subscriptions, and its writer task.

use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use tokio::task::JoinHandle;
use weir_store::Store;

use super::actor::{StreamSignal, StreamWriter, WriteSettings};
use super::admin::{AdminError, AdminKind, AdminOp, AdminResult};
use super::ingest::{IngestQueue, Publish};
use super::pub_ack;
use crate::account::AccountScope;
use crate::options::SyncPolicy;
use crate::subscription::{InboundMsg, InternalHandler, Subscription};

/// Publishes one stream may hold in its ingest queue before refusing more.
const INGEST_MAX_MSGS: usize = 100_000;
const INGEST_MAX_BYTES: usize = 256 * 1024 * 1024;

pub struct Stream {
    pub name: String,
    pub store: Arc<RwLock<Box<dyn Store>>>,
    pub settings: Arc<RwLock<WriteSettings>>,
    /// Durable position and removals, watched by consumers.
    pub signal: Arc<tokio::sync::watch::Sender<StreamSignal>>,
    ingest: Arc<IngestQueue>,
    subscriptions: Mutex<Vec<Arc<Subscription>>>,
    handler: Mutex<Option<Arc<IngestHandler>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

/// Receives publishes on the stream's subjects (on the publisher's task).
struct IngestHandler {
    ingest: Arc<IngestQueue>,
    state: std::sync::Weak<AccountScope>,
    stream: String,
}

impl InternalHandler for IngestHandler {
    fn stores(&self) -> bool {
        true
    }

    fn deliver(&self, msg: &InboundMsg<'_>) -> bool {
        if self.ingest.push(Publish::copy_from(msg)).is_ok() {
            return true;
        }
        // Saturated: say so now rather than letting the publisher time out.
        if let (Some(reply), Some(state)) = (msg.reply, self.state.upgrade()) {
            let mut ack = Vec::new();
            pub_ack::error(
                &mut ack,
                &self.stream,
                pub_ack::ApiCode {
                    code: 503,
                    err_code: 10077,
                },
                "stream ingest queue is full; retry shortly",
            );
            state.publish(reply, None, None, &ack);
        }
        true
    }
}

impl Stream {
    /// Starts the writer and subscribes to `subjects`.
    pub fn start(
        state: &Arc<AccountScope>,
        store: Box<dyn Store>,
        settings: WriteSettings,
        subjects: &[String],
        sync: SyncPolicy,
    ) -> Result<Arc<Stream>, weir_subject::SubjectError> {
        let name = settings.rules.stream.clone();
        let ingest = Arc::new(IngestQueue::new(INGEST_MAX_MSGS, INGEST_MAX_BYTES));
        let st = store.state();
        let (signal, _) = tokio::sync::watch::channel(StreamSignal {
            visible_seq: st.last_seq,
            first_seq: st.first_seq,
            removals: 0,
        });
        let signal = Arc::new(signal);
        let stream = Arc::new(Stream {
            signal: signal.clone(),
            name: name.clone(),
            store: Arc::new(RwLock::new(store)),
            settings: Arc::new(RwLock::new(settings)),
            ingest: ingest.clone(),
            subscriptions: Mutex::new(Vec::new()),
            handler: Mutex::new(None),
            writer: Mutex::new(None),
        });
        let writer = StreamWriter {
            store: stream.store.clone(),
            settings: stream.settings.clone(),
            signal,
            ingest: ingest.clone(),
            sync,
        };
        *stream.writer.lock() = Some(tokio::spawn(writer.run(state.clone())));
        let handler = Arc::new(IngestHandler {
            ingest,
            state: Arc::downgrade(state),
            stream: name,
        });
        *stream.handler.lock() = Some(handler.clone());
        stream.subscribe(state, subjects, handler)?;
        Ok(stream)
    }

    /// Replaces the ingest subscriptions after a subjects update.
    pub fn resubscribe(
        &self,
        state: &AccountScope,
        subjects: &[String],
    ) -> Result<(), weir_subject::SubjectError> {
        let Some(handler) = self.handler.lock().clone() else {
            return Ok(());
        };
        for sub in self.subscriptions.lock().drain(..) {
            state.unsubscribe_internal(&sub);
        }
        self.subscribe(state, subjects, handler)
    }

    fn subscribe(
        &self,
        state: &AccountScope,
        subjects: &[String],
        handler: Arc<IngestHandler>,
    ) -> Result<(), weir_subject::SubjectError> {
        let mut subs = self.subscriptions.lock();
        for subject in subjects {
            match state.subscribe_internal(subject.as_bytes(), None, handler.clone()) {
                Ok(sub) => subs.push(sub),
                Err(err) => {
                    for sub in subs.drain(..) {
                        state.unsubscribe_internal(&sub);
                    }
                    return Err(err);
                }
            }
        }
        Ok(())
    }

    /// Applies an admin write in order with the publishes queued before it, and returns
    /// once it is durable.
    pub async fn admin(&self, kind: AdminKind) -> AdminResult {
        let (done, result) = tokio::sync::oneshot::channel();
        if self.ingest.push_admin(AdminOp { kind, done }).is_err() {
            return Err(AdminError::Stopped);
        }
        result.await.unwrap_or(Err(AdminError::Stopped))
    }

    /// Queues an admin write whose result nobody waits for.
    pub fn admin_nowait(&self, kind: AdminKind) {
        let (done, _ignored) = tokio::sync::oneshot::channel();
        let _ = self.ingest.push_admin(AdminOp { kind, done });
    }

    /// Stops ingesting, lets the writer finish what is queued (acks included), and closes
    /// the store cleanly so the next start skips the recovery scan.
    pub async fn stop(&self, state: &AccountScope) {
        for sub in self.subscriptions.lock().drain(..) {
            state.unsubscribe_internal(&sub);
        }
        self.ingest.close();
        let writer = self.writer.lock().take();
        if let Some(writer) = writer {
            let _ = writer.await;
        }
        if let Err(err) = self.store.write().close() {
            tracing::error!(stream = %self.name, "closing the store failed: {err}");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;
    use weir_store::{open_file_store, FileStoreConfig};

    use super::*;
    use crate::jetstream::publish_rules::Rules;
    use crate::{Options, Server};

    fn settings() -> WriteSettings {
        WriteSettings {
            rules: Rules {
                stream: "ORDERS".into(),
                max_msg_size: -1,
                max_msgs: -1,
                max_bytes: -1,
                max_msgs_per_subject: -1,
                ..Rules::default()
            },
            duplicate_window: Duration::from_secs(120),
            no_ack: false,
            marker_ttl: None,
            transform: None,
            republish: None,
            interest: None,
        }
    }

    /// Reads until `count` PubAcks (MSG frames) have arrived; returns their payloads.
    async fn read_acks(stream: &mut TcpStream, count: usize) -> Vec<String> {
        let mut buf = Vec::new();
        let mut acks = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while acks.len() < count {
            let mut chunk = [0u8; 65536];
            let n = tokio::time::timeout_at(deadline, stream.read(&mut chunk))
                .await
                .expect("acks arrive in time")
                .unwrap();
            assert!(n > 0, "server closed the connection");
            buf.extend_from_slice(&chunk[..n]);
            while let Ok(Some((op, used))) = weir_protocol::parse_server_op(&buf) {
                if let weir_protocol::ServerOp::Msg { payload, .. } = op {
                    acks.push(String::from_utf8(payload).unwrap());
                }
                buf.drain(..used);
            }
        }
        acks
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn acked_publishes_are_in_the_reopened_store() {
        let dir = std::env::temp_dir().join(format!("weir-stream-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let handle = Server::start(Options {
            host: "127.0.0.1".into(),
            port: 0,
            ..Options::default()
        })
        .await
        .unwrap();
        let server = handle.state_for_tests();
        let state = AccountScope::new(server.clone(), server.global_account().clone());
        let (store, _report) = open_file_store(&dir, FileStoreConfig::default()).unwrap();
        let stream = Stream::start(
            &state,
            Box::new(store),
            settings(),
            &["orders.>".to_string()],
            SyncPolicy::Always,
        )
        .unwrap();

        let mut client = TcpStream::connect(handle.client_addr()).await.unwrap();
        let mut pubs = b"CONNECT {\"verbose\":false,\"headers\":true}\r\nSUB acks 1\r\n".to_vec();
        for i in 0..500 {
            pubs.extend_from_slice(format!("PUB orders.{} acks 5\r\nhello\r\n", i % 7).as_bytes());
        }
        let headers = "NATS/1.0\r\nNats-Expected-Stream: NO\r\n\r\n";
        let n = headers.len();
        pubs.extend_from_slice(format!("HPUB orders.x acks {n} {n}\r\n{headers}\r\n").as_bytes());
        client.write_all(&pubs).await.unwrap();
        let acks = read_acks(&mut client, 501).await;
        for (i, ack) in acks[..500].iter().enumerate() {
            assert_eq!(
                ack,
                &format!("{{\"stream\":\"ORDERS\", \"seq\":{}}}", i + 1)
            );
        }
        assert!(acks[500].contains("\"err_code\":10060"), "{}", acks[500]);

        stream.stop(&state).await;
        drop(stream);
        let (reopened, report) = open_file_store(&dir, FileStoreConfig::default()).unwrap();
        assert!(report.clean_shutdown, "stop closes the store cleanly");
        let st = reopened.state();
        assert_eq!((st.msgs, st.first_seq, st.last_seq), (500, 1, 500));
        let last = reopened.get(500).unwrap().expect("last acked message");
        assert_eq!(&last.subject[..], b"orders.2", "message 500 was i = 499");
        assert_eq!(&last.payload[..], b"hello");
        handle.shutdown().await;
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
