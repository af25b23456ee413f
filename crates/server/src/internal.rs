//! The server as a NATS participant: handlers inside the server subscribe to subjects
//! (JetStream's API and stream ingest, through `AccountScope::subscribe_internal`) and the
//! server publishes (replies, publish acks) through the same index and outbound buffers as
//! client connections, within one account.

use std::sync::Arc;

use crate::account::Account;
use crate::match_cache::MatchCache;
use crate::router::Router;
use crate::state::ServerState;
use crate::subscription::InboundMsg;

/// Internal publishes come from client id 0, which no client has.
const SERVER_CLIENT_ID: u64 = 0;
const MATCH_CACHE_MAX_ENTRIES: usize = 256;

/// Publishes many messages as the server (for example every ack of a group commit) and
/// wakes each receiver's writer once, at `finish`.
pub struct InternalPublisher {
    account: Arc<Account>,
    router: Router,
    cache: MatchCache,
}

impl InternalPublisher {
    /// A publisher into `account`'s subject space.
    pub fn new(account: Arc<Account>) -> Self {
        InternalPublisher {
            account,
            router: Router::new(0x5EED),
            cache: MatchCache::new(MATCH_CACHE_MAX_ENTRIES),
        }
    }

    /// Returns how many subscriptions received the message.
    pub fn publish(
        &mut self,
        state: &ServerState,
        subject: &[u8],
        reply: Option<&[u8]>,
        headers: Option<&[u8]>,
        payload: &[u8],
    ) -> usize {
        self.publish_as(state, subject, subject, reply, headers, payload)
    }

    /// Delivers to the subscribers of `route` a message that shows `subject`: a consumer
    /// delivers a stored message, under its own subject, to an inbox or deliver subject.
    pub fn publish_as(
        &mut self,
        state: &ServerState,
        route: &[u8],
        subject: &[u8],
        reply: Option<&[u8]>,
        headers: Option<&[u8]>,
        payload: &[u8],
    ) -> usize {
        let matches = self.cache.lookup(&self.account, route);
        let msg = InboundMsg {
            subject,
            reply,
            headers,
            payload,
            client_id: SERVER_CLIENT_ID,
        };
        self.router.route(state, &matches, &msg, true)
    }

    pub fn finish(&mut self) {
        // The server never waits on a slow receiver: its slowness is handled per client.
        self.router.stall_on = None;
        self.router.finish();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    use tokio::net::TcpStream;

    use super::*;
    use crate::account::AccountScope;
    use crate::subscription::InternalHandler;
    use crate::{Options, Server};

    /// Replies to every request with the request's payload reversed.
    struct Reverser {
        state: Mutex<Option<Arc<AccountScope>>>,
    }

    impl InternalHandler for Reverser {
        fn deliver(&self, msg: &InboundMsg<'_>) -> bool {
            let Some(state) = self.state.lock().unwrap().clone() else {
                return false;
            };
            let Some(reply) = msg.reply else {
                return false;
            };
            let reversed: Vec<u8> = msg.payload.iter().rev().copied().collect();
            state.publish(reply, None, None, &reversed);
            true
        }
    }

    #[tokio::test]
    async fn internal_handler_answers_a_client_request() {
        let handle = Server::start(Options {
            host: "127.0.0.1".into(),
            port: 0,
            ..Options::default()
        })
        .await
        .expect("server starts");
        let server = handle.state_for_tests();
        let state = AccountScope::new(server.clone(), server.global_account().clone());
        let handler = Arc::new(Reverser {
            state: Mutex::new(Some(state.clone())),
        });
        let sub = state
            .subscribe_internal(b"svc.reverse", None, handler)
            .expect("valid subject");

        let stream = TcpStream::connect(handle.client_addr()).await.unwrap();
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read).lines();
        lines.next_line().await.unwrap().expect("INFO");
        write
            .write_all(b"CONNECT {\"verbose\":false}\r\nSUB inbox.1 1\r\nPUB svc.reverse inbox.1 3\r\nabc\r\nPING\r\n")
            .await
            .unwrap();
        assert_eq!(lines.next_line().await.unwrap().unwrap(), "MSG inbox.1 1 3");
        assert_eq!(lines.next_line().await.unwrap().unwrap(), "cba");
        assert_eq!(lines.next_line().await.unwrap().unwrap(), "PONG");

        state.unsubscribe_internal(&sub);
        write
            .write_all(b"PUB svc.reverse inbox.1 3\r\nabc\r\nPING\r\n")
            .await
            .unwrap();
        assert_eq!(
            lines.next_line().await.unwrap().unwrap(),
            "PONG",
            "no reply once unsubscribed"
        );
        handle.shutdown().await;
    }
}
