//! Exports and imports between accounts, done the way nats-server does them: with internal
//! subscriptions that carry messages from one account's subject space into another's.
//!
//! - A **stream import** (B imports `a.>` from A) is a subscription in A on `a.>` that
//!   republishes each message into B, under `<prefix>.<subject>` when a prefix is given.
//! - A **service import** (B imports `svc` from A, `to: local`) is a subscription in B on
//!   `local` that forwards each request into A on `svc` with a fresh reply subject
//!   (`_R_.<import>.<n>`), and a subscription in A on `_R_.<import>.>` that carries the
//!   response back to the requester's reply subject in B.
//!
//! Messages carried across are marked as coming from [`IMPORT_CLIENT_ID`] and are never
//! carried again, so two accounts importing from each other cannot loop.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::account::{Account, AccountScope};
use crate::options::{ExportKind, ImportConfig};
use crate::router::Router;
use crate::state::ServerState;
use crate::subscription::{InboundMsg, InternalHandler, Subscription};

/// The publisher id of messages an import carried into another account.
pub const IMPORT_CLIENT_ID: u64 = u64::MAX - 1;
/// How long a forwarded request's reply mapping lives (nats-server's default response
/// threshold is 2 minutes).
const RESPONSE_TTL: Duration = Duration::from_secs(120);
/// Outstanding requests per service import; past this, expired ones are pruned and then the
/// oldest half is dropped.
const MAX_PENDING_RESPONSES: usize = 16 * 1024;

/// Delivers `msg` with subject `subject` and reply `reply` into `account`; returns how many
/// subscriptions took it.
fn carry(
    server: &ServerState,
    account: &Account,
    subject: &[u8],
    reply: Option<&[u8]>,
    msg: &InboundMsg<'_>,
) -> usize {
    let matches = account.with_subscriptions(|index| index.match_subject(subject));
    if matches.is_empty() {
        return 0;
    }
    let carried = InboundMsg {
        subject,
        reply,
        headers: msg.headers,
        payload: msg.payload,
        client_id: IMPORT_CLIENT_ID,
    };
    let mut router = Router::new(IMPORT_CLIENT_ID);
    let delivered = router.route(server, &matches, &carried, true);
    router.stall_on = None;
    router.finish();
    delivered
}

/// A stream import: messages of the exporter, republished in the importer.
struct StreamImport {
    server: Weak<ServerState>,
    importer: Weak<Account>,
    prefix: Option<Vec<u8>>,
}

impl InternalHandler for StreamImport {
    fn deliver(&self, msg: &InboundMsg<'_>) -> bool {
        if msg.client_id == IMPORT_CLIENT_ID {
            return false;
        }
        let (Some(server), Some(importer)) = (self.server.upgrade(), self.importer.upgrade())
        else {
            return false;
        };
        match &self.prefix {
            Some(prefix) => {
                let mut subject = Vec::with_capacity(prefix.len() + 1 + msg.subject.len());
                subject.extend_from_slice(prefix);
                subject.push(b'.');
                subject.extend_from_slice(msg.subject);
                carry(&server, &importer, &subject, msg.reply, msg)
            }
            None => carry(&server, &importer, msg.subject, msg.reply, msg),
        };
        true
    }
}

/// The requester's reply subject and when the mapping expires.
type PendingReply = (Box<[u8]>, Instant);

/// Requests waiting for their response, by reply token.
#[derive(Default)]
struct PendingResponses {
    map: Mutex<HashMap<u64, PendingReply>>,
}

impl PendingResponses {
    fn insert(&self, token: u64, reply: &[u8]) {
        let now = Instant::now();
        let mut map = self.map.lock();
        if map.len() >= MAX_PENDING_RESPONSES {
            map.retain(|_, (_, expires)| *expires > now);
            if map.len() >= MAX_PENDING_RESPONSES {
                let mut keep = false;
                map.retain(|_, _| {
                    keep = !keep;
                    keep
                });
            }
        }
        map.insert(token, (reply.into(), now + RESPONSE_TTL));
    }

    /// The requester's reply subject for `token`, forgotten once answered.
    fn take(&self, token: u64) -> Option<Box<[u8]>> {
        let (reply, expires) = self.map.lock().remove(&token)?;
        (expires > Instant::now()).then_some(reply)
    }
}

/// The importer's side of a service import: requests on `to`, forwarded to the exporter.
struct ServiceRequests {
    server: Weak<ServerState>,
    exporter: Weak<Account>,
    subject: Vec<u8>,
    /// `_R_.<import id>.`: the reply prefix of forwarded requests.
    reply_prefix: Vec<u8>,
    next_token: AtomicU64,
    pending: Arc<PendingResponses>,
}

impl InternalHandler for ServiceRequests {
    fn deliver(&self, msg: &InboundMsg<'_>) -> bool {
        if msg.client_id == IMPORT_CLIENT_ID {
            return false;
        }
        let (Some(server), Some(exporter)) = (self.server.upgrade(), self.exporter.upgrade())
        else {
            return false;
        };
        let reply = msg.reply.filter(|r| !r.is_empty()).map(|reply| {
            let token = self.next_token.fetch_add(1, Ordering::Relaxed);
            self.pending.insert(token, reply);
            let mut mapped = self.reply_prefix.clone();
            mapped.extend_from_slice(itoa::Buffer::new().format(token).as_bytes());
            mapped
        });
        // Nobody serves it in the exporter: not delivered, so the requester gets
        // no-responders as it would inside one account.
        carry(&server, &exporter, &self.subject, reply.as_deref(), msg) > 0
    }
}

/// The exporter's side of a service import: responses, carried back to the requester.
struct ServiceResponses {
    server: Weak<ServerState>,
    importer: Weak<Account>,
    reply_prefix: Vec<u8>,
    pending: Arc<PendingResponses>,
}

impl InternalHandler for ServiceResponses {
    fn deliver(&self, msg: &InboundMsg<'_>) -> bool {
        let Some(token) = msg
            .subject
            .strip_prefix(self.reply_prefix.as_slice())
            .and_then(|t| std::str::from_utf8(t).ok())
            .and_then(|t| t.parse::<u64>().ok())
        else {
            return false;
        };
        let (Some(server), Some(importer)) = (self.server.upgrade(), self.importer.upgrade())
        else {
            return false;
        };
        let Some(reply) = self.pending.take(token) else {
            return false;
        };
        carry(&server, &importer, &reply, None, msg);
        true
    }
}

/// Installs every configured import; returns the subscriptions so a reload can remove them.
pub fn install(server: &Arc<ServerState>) -> Vec<Arc<Subscription>> {
    static NEXT_IMPORT: AtomicU64 = AtomicU64::new(1);
    let opts = server.opts_snapshot();
    let mut subs = Vec::new();
    for account in &opts.accounts {
        let importer = server.account_or_create(&account.name);
        for import in &account.imports {
            let exporter = server.account_or_create(&import.account);
            let id = NEXT_IMPORT.fetch_add(1, Ordering::Relaxed);
            match install_one(server, &importer, &exporter, import, id) {
                Ok(mut installed) => subs.append(&mut installed),
                Err(err) => tracing::error!(
                    "import of {:?} from {:?} into {:?} not installed: {err}",
                    import.subject,
                    import.account,
                    account.name
                ),
            }
        }
    }
    subs
}

fn install_one(
    server: &Arc<ServerState>,
    importer: &Arc<Account>,
    exporter: &Arc<Account>,
    import: &ImportConfig,
    id: u64,
) -> Result<Vec<Arc<Subscription>>, weir_subject::SubjectError> {
    let in_importer = AccountScope::new(server.clone(), importer.clone());
    let in_exporter = AccountScope::new(server.clone(), exporter.clone());
    match import.kind {
        ExportKind::Stream => {
            let handler = Arc::new(StreamImport {
                server: Arc::downgrade(server),
                importer: Arc::downgrade(importer),
                prefix: import.prefix.as_ref().map(|p| p.as_bytes().to_vec()),
            });
            let sub = in_exporter.subscribe_internal(import.subject.as_bytes(), None, handler)?;
            Ok(vec![sub])
        }
        ExportKind::Service => {
            let reply_prefix = format!("_R_.{id}.").into_bytes();
            let pending = Arc::new(PendingResponses::default());
            let requests = Arc::new(ServiceRequests {
                server: Arc::downgrade(server),
                exporter: Arc::downgrade(exporter),
                subject: import.subject.as_bytes().to_vec(),
                reply_prefix: reply_prefix.clone(),
                next_token: AtomicU64::new(0),
                pending: pending.clone(),
            });
            let responses = Arc::new(ServiceResponses {
                server: Arc::downgrade(server),
                importer: Arc::downgrade(importer),
                reply_prefix,
                pending,
            });
            let local = import.to.as_deref().unwrap_or(&import.subject);
            let request_sub = in_importer.subscribe_internal(local.as_bytes(), None, requests)?;
            let response_filter = format!("_R_.{id}.*");
            let response_sub =
                in_exporter.subscribe_internal(response_filter.as_bytes(), None, responses)?;
            Ok(vec![request_sub, response_sub])
        }
    }
}

/// Replaces the installed imports after a reload.
pub fn reinstall(server: &Arc<ServerState>) {
    let old = std::mem::take(&mut *server.imports.lock());
    for sub in &old {
        crate::router::retire(sub);
    }
    let new = install(server);
    *server.imports.lock() = new;
}
