//! Subject permissions: what a user may publish to and subscribe to, as nats-server's
//! `permissions` blocks define them, and the per-connection guard that enforces them.
//!
//! Rules follow nats-server: an `allow` list, when present, admits only what it matches; a
//! `deny` list always wins; `allow_responses` lets a user publish to the reply subjects of
//! messages it received (a limited number of times, for a limited time) and, unless an
//! explicit publish allow list exists, denies every other publish.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use weir_subject::{matches, subset_of};

/// nats-server's defaults for `allow_responses: true`.
pub const DEFAULT_RESPONSES_MAX: u32 = 1;
pub const DEFAULT_RESPONSES_EXPIRES: Duration = Duration::from_secs(120);
/// Reply subjects one client may hold grants for; past this, expired grants are pruned and,
/// if that is not enough, half of the rest (a bound, as nats-server keeps one).
const MAX_REPLY_GRANTS: usize = 4096;

/// One direction's rules as configured. `allow: None` admits everything not denied;
/// `allow: Some(vec![])` admits nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubjectRules {
    pub allow: Option<Vec<String>>,
    pub deny: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponsesConfig {
    pub max: u32,
    pub expires: Duration,
}

impl Default for ResponsesConfig {
    fn default() -> Self {
        ResponsesConfig {
            max: DEFAULT_RESPONSES_MAX,
            expires: DEFAULT_RESPONSES_EXPIRES,
        }
    }
}

/// A `permissions { publish, subscribe, allow_responses }` block as configured.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PermissionsConfig {
    pub publish: Option<SubjectRules>,
    pub subscribe: Option<SubjectRules>,
    pub allow_responses: Option<ResponsesConfig>,
}

/// A subscribe rule may name a queue group: `"orders.* workers"`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pattern {
    subject: Box<[u8]>,
    queue: Option<Box<[u8]>>,
}

impl Pattern {
    fn parse(text: &str) -> Pattern {
        let mut parts = text.split_whitespace();
        let subject = parts.next().unwrap_or_default();
        Pattern {
            subject: subject.as_bytes().into(),
            queue: parts.next().map(|q| q.as_bytes().into()),
        }
    }

    /// Does a rule with an optional queue cover this queue? A rule without one covers all.
    fn covers_queue(&self, queue: Option<&[u8]>) -> bool {
        match (&self.queue, queue) {
            (None, _) => true,
            (Some(rule), Some(queue)) => matches(rule, queue),
            (Some(_), None) => false,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Rules {
    allow: Option<Vec<Pattern>>,
    deny: Vec<Pattern>,
}

impl Rules {
    fn compile(config: Option<&SubjectRules>) -> Rules {
        let Some(config) = config else {
            return Rules::default();
        };
        Rules {
            allow: config
                .allow
                .as_ref()
                .map(|list| list.iter().map(|s| Pattern::parse(s)).collect()),
            deny: config.deny.iter().map(|s| Pattern::parse(s)).collect(),
        }
    }
}

/// Compiled permissions of one user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Permissions {
    publish: Rules,
    subscribe: Rules,
    responses: Option<ResponsesConfig>,
}

impl Permissions {
    pub fn compile(config: &PermissionsConfig) -> Permissions {
        let mut publish = Rules::compile(config.publish.as_ref());
        if config.allow_responses.is_some() && publish.allow.is_none() {
            // Responses alone: every other publish is implicitly denied.
            publish.allow = Some(Vec::new());
        }
        Permissions {
            publish,
            subscribe: Rules::compile(config.subscribe.as_ref()),
            responses: config.allow_responses,
        }
    }

    /// May a message be published to the literal `subject` (reply grants aside)?
    pub fn may_publish(&self, subject: &[u8]) -> bool {
        let rules = &self.publish;
        // An allow list admits only well-formed subjects: `public.` is not under `public.>`.
        let allowed = rules.allow.as_ref().is_none_or(|allow| {
            weir_subject::is_valid_literal_subject(subject)
                && allow.iter().any(|p| matches(&p.subject, subject))
        });
        allowed && !rules.deny.iter().any(|p| matches(&p.subject, subject))
    }

    /// May the user subscribe to `subject` (which may hold wildcards), in `queue` if given?
    /// An allow rule must cover the whole subscription; a deny rule refuses it when it
    /// matches the subscription's tokens taken literally (so deny `a.>` refuses `a.*`, while
    /// deny `a.b` leaves `a.*` allowed and filters `a.b` out of its deliveries instead).
    pub fn may_subscribe(&self, subject: &[u8], queue: Option<&[u8]>) -> bool {
        let rules = &self.subscribe;
        let allowed = rules.allow.as_ref().is_none_or(|allow| {
            allow.iter().any(|p| {
                (subset_of(subject, &p.subject) || &*p.subject == subject) && p.covers_queue(queue)
            })
        });
        allowed
            && !rules
                .deny
                .iter()
                .any(|p| matches(&p.subject, subject) && p.covers_queue(queue))
    }

    /// Whether a delivery on the literal `subject` to a subscription in `queue` is denied:
    /// the subscription was allowed, but a narrower deny rule covers this message.
    pub fn denies_delivery(&self, subject: &[u8], queue: Option<&[u8]>) -> bool {
        self.subscribe
            .deny
            .iter()
            .any(|p| matches(&p.subject, subject) && p.covers_queue(queue))
    }

    pub fn responses(&self) -> Option<ResponsesConfig> {
        self.responses
    }
}

struct ReplyGrant {
    remaining: u32,
    expires_at: Instant,
}

/// The permissions of one connection, shared with its subscriptions so deliveries can
/// filter denied subjects and record reply grants. Reload swaps the permissions in place.
pub struct ClientGuard {
    permissions: arc_swap::ArcSwap<Permissions>,
    replies: Mutex<HashMap<Box<[u8]>, ReplyGrant>>,
}

impl ClientGuard {
    pub fn new(permissions: Permissions) -> Arc<ClientGuard> {
        Arc::new(ClientGuard {
            permissions: arc_swap::ArcSwap::from_pointee(permissions),
            replies: Mutex::new(HashMap::new()),
        })
    }

    pub fn permissions(&self) -> arc_swap::Guard<Arc<Permissions>> {
        self.permissions.load()
    }

    /// New permissions from a reload. Like nats-server, outstanding reply grants are reset.
    pub fn replace(&self, permissions: Permissions) {
        self.permissions.store(Arc::new(permissions));
        self.replies.lock().clear();
    }

    /// A message with `reply` was delivered to this client: it may now answer it (when its
    /// permissions allow responses).
    pub fn grant_reply(&self, reply: &[u8]) {
        let Some(config) = self.permissions.load().responses else {
            return;
        };
        let now = Instant::now();
        let mut replies = self.replies.lock();
        if replies.len() >= MAX_REPLY_GRANTS {
            replies.retain(|_, grant| grant.expires_at > now);
            if replies.len() >= MAX_REPLY_GRANTS {
                // All live: forget an arbitrary half rather than grow without bound.
                let mut keep = false;
                replies.retain(|_, _| {
                    keep = !keep;
                    keep
                });
            }
        }
        replies.insert(
            reply.into(),
            ReplyGrant {
                remaining: config.max.max(1),
                expires_at: now + config.expires,
            },
        );
    }

    /// Uses one grant to publish to `subject`, if there is a live one.
    pub fn take_reply(&self, subject: &[u8]) -> bool {
        let mut replies = self.replies.lock();
        let Some(grant) = replies.get_mut(subject) else {
            return false;
        };
        if grant.expires_at <= Instant::now() {
            replies.remove(subject);
            return false;
        }
        grant.remaining -= 1;
        if grant.remaining == 0 {
            replies.remove(subject);
        }
        true
    }

    /// May this client publish to `subject` now?
    pub fn may_publish(&self, subject: &[u8]) -> bool {
        self.permissions.load().may_publish(subject) || self.take_reply(subject)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(allow: Option<&[&str]>, deny: &[&str]) -> Option<SubjectRules> {
        Some(SubjectRules {
            allow: allow.map(|a| a.iter().map(|s| s.to_string()).collect()),
            deny: deny.iter().map(|s| s.to_string()).collect(),
        })
    }

    #[test]
    fn publish_allow_and_deny() {
        let p = Permissions::compile(&PermissionsConfig {
            publish: rules(Some(&["data.>"]), &["data.secret.>"]),
            ..Default::default()
        });
        assert!(p.may_publish(b"data.public"));
        assert!(!p.may_publish(b"data.secret.x"));
        assert!(!p.may_publish(b"other"));
        assert!(
            !p.may_publish(b"data."),
            "empty tokens are not under data.>"
        );
        assert!(!p.may_publish(b"data..x"));
        // No publish block: everything goes.
        assert!(Permissions::default().may_publish(b"anything"));
        // An empty allow list admits nothing.
        let none = Permissions::compile(&PermissionsConfig {
            publish: rules(Some(&[]), &[]),
            ..Default::default()
        });
        assert!(!none.may_publish(b"x"));
    }

    #[test]
    fn subscribe_wildcards_and_queues() {
        let p = Permissions::compile(&PermissionsConfig {
            subscribe: rules(Some(&["orders.>", "jobs.* workers"]), &["orders.secret"]),
            ..Default::default()
        });
        assert!(p.may_subscribe(b"orders.*", None));
        assert!(p.may_subscribe(b"orders.new", Some(b"any")));
        assert!(!p.may_subscribe(b">", None), "wider than the allow rule");
        assert!(p.may_subscribe(b"jobs.a", Some(b"workers")));
        assert!(!p.may_subscribe(b"jobs.a", Some(b"others")));
        assert!(!p.may_subscribe(b"jobs.a", None));
        assert!(!p.may_subscribe(b"orders.secret", None));
        // The wildcard is allowed; the denied subject is filtered from its deliveries.
        assert!(p.may_subscribe(b"orders.*", None));
        assert!(p.denies_delivery(b"orders.secret", None));
        assert!(!p.denies_delivery(b"orders.new", None));
    }

    #[test]
    fn queue_deny_only_refuses_that_queue() {
        let p = Permissions::compile(&PermissionsConfig {
            subscribe: rules(None, &["foo bar"]),
            ..Default::default()
        });
        assert!(p.may_subscribe(b"foo", None));
        assert!(p.may_subscribe(b"foo", Some(b"baz")));
        assert!(!p.may_subscribe(b"foo", Some(b"bar")));
    }

    #[test]
    fn responses_are_granted_per_delivery_and_limited() {
        let guard = ClientGuard::new(Permissions::compile(&PermissionsConfig {
            allow_responses: Some(ResponsesConfig {
                max: 2,
                expires: Duration::from_secs(60),
            }),
            ..Default::default()
        }));
        assert!(!guard.may_publish(b"_INBOX.1"), "implicitly denied");
        guard.grant_reply(b"_INBOX.1");
        assert!(guard.may_publish(b"_INBOX.1"));
        assert!(guard.may_publish(b"_INBOX.1"));
        assert!(!guard.may_publish(b"_INBOX.1"), "max 2 responses");
        guard.grant_reply(b"_INBOX.2");
        guard.replace(Permissions::default());
        assert!(
            guard.may_publish(b"_INBOX.2"),
            "no publish rules after reload"
        );
    }

    #[test]
    fn expired_grants_do_not_count() {
        let guard = ClientGuard::new(Permissions::compile(&PermissionsConfig {
            allow_responses: Some(ResponsesConfig {
                max: 1,
                expires: Duration::ZERO,
            }),
            ..Default::default()
        }));
        guard.grant_reply(b"r");
        assert!(!guard.may_publish(b"r"));
    }

    #[test]
    fn grants_are_bounded() {
        let guard = ClientGuard::new(Permissions::compile(&PermissionsConfig {
            allow_responses: Some(ResponsesConfig::default()),
            ..Default::default()
        }));
        for i in 0..(MAX_REPLY_GRANTS * 2) {
            guard.grant_reply(format!("r.{i}").as_bytes());
        }
        assert!(guard.replies.lock().len() <= MAX_REPLY_GRANTS);
    }
}
