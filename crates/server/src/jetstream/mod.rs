//! JetStream inside the server: stream write path (ordered apply with group commit), the
//! `$JS.API` handlers and stream persistence. The storage engine is `weir-store`; the API
//! model (JSON types, errors, config validation) is `weir-jsapi`.

pub mod actor;
pub mod admin;
pub mod api;
pub mod consumer;
pub mod dedup;
mod disabled;
pub mod ingest;
pub mod manager;
pub mod meta;
pub mod pub_ack;
pub mod publish_rules;
pub mod stream;

use std::sync::Arc;

use crate::account::{AccountScope, GLOBAL_ACCOUNT};
use crate::state::ServerState;

/// A stored header block opened for more headers: without its closing blank line, or a
/// fresh `NATS/1.0` line when the message had none. Close it with `\r\n`.
pub fn open_header_block(stored: &[u8]) -> Vec<u8> {
    if stored.is_empty() {
        return b"NATS/1.0\r\n".to_vec();
    }
    stored.strip_suffix(b"\r\n").unwrap_or(stored).to_vec()
}

/// RFC 3339 with nanoseconds, as Go's `time.RFC3339Nano` prints it (headers such as
/// `Nats-Time-Stamp`).
pub fn time_text(ts_ns: i64) -> String {
    serde_json::to_value(weir_jsapi::Timestamp::from_unix_nanos(ts_ns))
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// An advisory's JSON with the `id` and `timestamp` every advisory carries added.
pub fn advisory_payload(mut body: serde_json::Value) -> Vec<u8> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let now = actor::now_ns();
    body["id"] = serde_json::json!(format!(
        "{:016x}{:08x}",
        now,
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    body["timestamp"] = serde_json::json!(time_text(now));
    serde_json::to_vec(&body).unwrap_or_default()
}

/// Starts JetStream for every account that has it: `$G` when no accounts are configured,
/// otherwise each account whose config enables it (as nats-server does). Blocking: restoring
/// reads every store.
pub fn start_all(server: &Arc<ServerState>) {
    let opts = server.opts_snapshot();
    tracing::info!("Starting JetStream");
    if opts.accounts.is_empty() {
        let scope = AccountScope::new(server.clone(), server.global_account().clone());
        let js = start(&scope, None);
        server.add_jetstream(GLOBAL_ACCOUNT, js);
    } else {
        // With accounts configured, `$G` has no JetStream of its own, as in nats-server.
        answer_not_enabled(server, GLOBAL_ACCOUNT);
    }
    for account in &opts.accounts {
        let Some(limits) = &account.jetstream else {
            answer_not_enabled(server, &account.name);
            continue;
        };
        let scope = AccountScope::new(server.clone(), server.account_or_create(&account.name));
        let js = start(&scope, Some(limits));
        server.add_jetstream(&account.name, js);
    }
    server.set_jetstream_ready();
}

/// Accounts without JetStream get 10039 errors rather than silence.
fn answer_not_enabled(server: &Arc<ServerState>, account: &str) {
    let scope = AccountScope::new(server.clone(), server.account_or_create(account));
    let handler = Arc::new(disabled::NotEnabledForAccount {
        server: Arc::downgrade(server),
        account: Arc::downgrade(&scope.account),
    });
    if let Err(err) = scope.subscribe_internal(b"$JS.API.>", None, handler) {
        tracing::error!("cannot answer JetStream requests of account {account}: {err}");
    }
}

/// Starts one account's JetStream: restores its streams on disk and serves its `$JS.API.>`.
fn start(
    state: &Arc<AccountScope>,
    limits: Option<&crate::options::AccountJetStreamLimits>,
) -> Arc<manager::JetStream> {
    let js = Arc::new(manager::JetStream::new(
        &state.opts(),
        &state.account.name,
        limits,
    ));
    tracing::info!(
        "  Account {}: storage directory {}",
        state.account.name,
        js.store_root().display()
    );
    js.recover(state);
    crate::schemas::watch(state, &js);
    let served: api::worker::ServedPredicate = Arc::new(|op| match op {
        // Served on the requester's task by `DirectGetHandler` and `NextHandler`.
        api::route::ApiOp::DirectGet(_)
        | api::route::ApiOp::DirectGetLast { .. }
        | api::route::ApiOp::ConsumerNext { .. } => false,
        _ => true,
    });
    let (subscriber, rx) = api::worker::ApiSubscriber::new(served);
    if let Err(err) = state.subscribe_internal(b"$JS.API.>", None, subscriber) {
        tracing::error!("cannot serve the JetStream API: {err}");
    }
    let next = Arc::new(NextHandler(Arc::downgrade(&js)));
    if let Err(err) = state.subscribe_internal(b"$JS.API.CONSUMER.MSG.NEXT.*.*", None, next) {
        tracing::error!("cannot serve pull requests: {err}");
    }
    let direct = Arc::new(DirectGetHandler {
        js: Arc::downgrade(&js),
        state: Arc::downgrade(state),
    });
    if let Err(err) = state.subscribe_internal(b"$JS.API.DIRECT.GET.>", None, direct) {
        tracing::error!("cannot serve direct gets: {err}");
    }
    let service = Arc::new(api::handlers::JsApi {
        state: state.clone(),
        js: js.clone(),
    });
    tokio::spawn(api::worker::run(state.clone(), service, rx));
    js
}

/// Pull requests go straight to their consumer on the requester's task: no queue hop.
struct NextHandler(std::sync::Weak<manager::JetStream>);

impl crate::subscription::InternalHandler for NextHandler {
    fn deliver(&self, msg: &crate::subscription::InboundMsg<'_>) -> bool {
        let Some(js) = self.0.upgrade() else {
            return false;
        };
        let Ok(subject) = std::str::from_utf8(msg.subject) else {
            return false;
        };
        let Some(api::route::ApiOp::ConsumerNext { stream, consumer }) = api::route::parse(subject)
        else {
            return false;
        };
        let Some(consumer) = js.get(&stream).and_then(|e| e.consumers.get(&consumer)) else {
            // No such consumer: the requester gets no-responders, as from 2.14 (clients rely
            // on it to notice a deleted consumer; 2.9.10 answered nothing).
            return false;
        };
        let Some(reply) = msg.reply.filter(|r| !r.is_empty()) else {
            return true;
        };
        consumer.next_request(bytes::Bytes::copy_from_slice(reply), msg.payload);
        true
    }
}

/// Direct gets (ADR-31) are read on the requester's task: a store read and a reply, with no
/// queue hop to the API task, so KV reads cost one round trip and scale with connections.
/// Streams without `allow_direct` (or unknown ones) leave the requester with no-responders.
struct DirectGetHandler {
    js: std::sync::Weak<manager::JetStream>,
    state: std::sync::Weak<AccountScope>,
}

impl crate::subscription::InternalHandler for DirectGetHandler {
    fn deliver(&self, msg: &crate::subscription::InboundMsg<'_>) -> bool {
        let (Some(js), Some(state)) = (self.js.upgrade(), self.state.upgrade()) else {
            return false;
        };
        let Ok(subject) = std::str::from_utf8(msg.subject) else {
            return false;
        };
        let op = api::route::parse(subject);
        let stream = match &op {
            Some(api::route::ApiOp::DirectGet(stream))
            | Some(api::route::ApiOp::DirectGetLast { stream, .. }) => stream,
            _ => return false,
        };
        if !js.get(stream).is_some_and(|e| e.config.read().allow_direct) {
            return false;
        }
        // nats-server ignores API requests that cannot be answered.
        let Some(reply_to) = msg.reply.filter(|r| !r.is_empty()) else {
            return true;
        };
        let replies = match &op {
            Some(api::route::ApiOp::DirectGetLast { stream, subject }) => {
                api::direct::get_last(&js, stream, subject, msg.payload)
            }
            _ => api::direct::get(&js, stream, msg.payload),
        };
        let mut publisher = crate::internal::InternalPublisher::new(state.account.clone());
        for reply in replies {
            publisher.publish(
                &state,
                reply_to,
                None,
                reply.headers.as_deref(),
                &reply.payload,
            );
        }
        publisher.finish();
        true
    }
}
