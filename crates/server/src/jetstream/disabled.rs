//! The JetStream API of an account without JetStream (when the server runs it for other
//! accounts): every request is answered with nats-server's 10039 error in the response type
//! the client expects, so clients report "JetStream not enabled for account" instead of
//! timing out.

use std::sync::Weak;

use weir_jsapi as jsapi;

use super::api::route::{self, ApiOp};
use crate::account::{Account, AccountScope};
use crate::state::ServerState;
use crate::subscription::{InboundMsg, InternalHandler};

pub struct NotEnabledForAccount {
    pub server: Weak<ServerState>,
    pub account: Weak<Account>,
}

fn response_type(op: &ApiOp) -> Option<&'static str> {
    Some(match op {
        ApiOp::AccountInfo => jsapi::ACCOUNT_INFO_RESPONSE,
        ApiOp::StreamCreate(_) => jsapi::STREAM_CREATE_RESPONSE,
        ApiOp::StreamUpdate(_) => jsapi::STREAM_UPDATE_RESPONSE,
        ApiOp::StreamInfo(_) => jsapi::STREAM_INFO_RESPONSE,
        ApiOp::StreamDelete(_) => jsapi::STREAM_DELETE_RESPONSE,
        ApiOp::StreamNames => jsapi::STREAM_NAMES_RESPONSE,
        ApiOp::StreamList => jsapi::STREAM_LIST_RESPONSE,
        ApiOp::StreamPurge(_) => jsapi::STREAM_PURGE_RESPONSE,
        ApiOp::StreamMsgGet(_) => jsapi::STREAM_MSG_GET_RESPONSE,
        ApiOp::StreamMsgDelete(_) => jsapi::STREAM_MSG_DELETE_RESPONSE,
        ApiOp::ConsumerCreate(_) => jsapi::CONSUMER_CREATE_RESPONSE,
        ApiOp::ConsumerInfo { .. } => jsapi::CONSUMER_INFO_RESPONSE,
        ApiOp::ConsumerDelete { .. } => jsapi::CONSUMER_DELETE_RESPONSE,
        ApiOp::ConsumerNames(_) => jsapi::CONSUMER_NAMES_RESPONSE,
        ApiOp::ConsumerList(_) => jsapi::CONSUMER_LIST_RESPONSE,
        _ => return None,
    })
}

impl InternalHandler for NotEnabledForAccount {
    fn deliver(&self, msg: &InboundMsg<'_>) -> bool {
        let (Some(server), Some(account)) = (self.server.upgrade(), self.account.upgrade()) else {
            return false;
        };
        let Some(reply) = msg.reply.filter(|r| !r.is_empty()) else {
            return true;
        };
        let op = std::str::from_utf8(msg.subject).ok().and_then(route::parse);
        let Some(kind) = op.as_ref().and_then(response_type) else {
            // Pull requests and direct gets: nothing to answer with, as nats-server.
            return false;
        };
        let body = serde_json::json!({
            "type": kind,
            "error": jsapi::JsError::NotEnabledForAccount.to_json(),
        });
        AccountScope { server, account }.publish(reply, None, None, body.to_string().as_bytes());
        true
    }
}
