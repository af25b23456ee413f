//! The `$JS.API.>` subscription and the task that serves it. Requests are parsed on the
//! publisher's task only far enough to know whether this server serves that subject (if not,
//! the requester gets nats' no-responders status, as from nats-server); the work itself runs
//! on the API task, off every client's hot path.

use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::mpsc;

use super::route::{self, ApiOp};
use crate::account::AccountScope;
use crate::subscription::{InboundMsg, InternalHandler};

/// API requests waiting to be served before new ones are dropped (nats-server also sheds
/// API load past a queue limit; the client's request then times out).
pub const API_QUEUE_LIMIT: usize = 10_000;

pub struct ApiRequest {
    pub op: ApiOp,
    pub subject: Bytes,
    pub reply: Bytes,
    pub headers: Bytes,
    pub payload: Bytes,
    pub client_id: u64,
}

/// A reply: JSON for most operations; headers and the stored message for DIRECT.GET.
pub struct ApiReply {
    pub headers: Option<Vec<u8>>,
    pub payload: Vec<u8>,
}

impl ApiReply {
    pub fn json(payload: Vec<u8>) -> ApiReply {
        ApiReply {
            headers: None,
            payload,
        }
    }
}

/// Decides on the publisher's task whether an operation is served at all (for example
/// DIRECT.GET only on streams with `allow_direct`); unserved ones get no-responders.
pub type ServedPredicate = Arc<dyn Fn(&ApiOp) -> bool + Send + Sync>;

pub struct ApiSubscriber {
    tx: mpsc::Sender<ApiRequest>,
    served: ServedPredicate,
}

impl ApiSubscriber {
    pub fn new(served: ServedPredicate) -> (Arc<ApiSubscriber>, mpsc::Receiver<ApiRequest>) {
        let (tx, rx) = mpsc::channel(API_QUEUE_LIMIT);
        (Arc::new(ApiSubscriber { tx, served }), rx)
    }
}

impl InternalHandler for ApiSubscriber {
    fn deliver(&self, msg: &InboundMsg<'_>) -> bool {
        let Ok(subject) = std::str::from_utf8(msg.subject) else {
            return false;
        };
        let Some(op) = route::parse(subject) else {
            return false;
        };
        if op == ApiOp::Unknown || !(self.served)(&op) {
            return false;
        }
        let Some(reply) = msg.reply else {
            // nats-server ignores API requests that cannot be answered.
            return true;
        };
        let request = ApiRequest {
            op,
            subject: Bytes::copy_from_slice(msg.subject),
            reply: Bytes::copy_from_slice(reply),
            headers: Bytes::copy_from_slice(msg.headers.unwrap_or_default()),
            payload: Bytes::copy_from_slice(msg.payload),
            client_id: msg.client_id,
        };
        if self.tx.try_send(request).is_err() {
            tracing::warn!("JetStream API queue is full ({API_QUEUE_LIMIT}); dropping a request");
        }
        true
    }
}

/// What serves API requests: the JetStream subsystem implements it.
pub trait ApiService: Send + Sync + 'static {
    /// Answers one request; every reply is published to the request's reply subject, in
    /// order (DIRECT.GET batches send several).
    fn serve(
        &self,
        request: &ApiRequest,
    ) -> impl std::future::Future<Output = Vec<ApiReply>> + Send;
}

/// Serves requests one at a time, in arrival order, until the channel closes.
pub async fn run<S: ApiService>(
    state: Arc<AccountScope>,
    service: Arc<S>,
    mut rx: mpsc::Receiver<ApiRequest>,
) {
    while let Some(request) = rx.recv().await {
        for reply in service.serve(&request).await {
            state.publish(
                &request.reply,
                None,
                reply.headers.as_deref(),
                &reply.payload,
            );
        }
    }
}
