//! Payload enforcement (`weir asyncapi apply --enforce`): JSON Schemas bound to subjects,
//! checked on every client publish to those subjects.
//!
//! Bindings live in the account's key-value bucket `weir_schemas` (stream
//! `KV_weir_schemas`), so they persist and replicate like any other JetStream data: each key
//! holds `{"subject": "orders.created", "name": "OrderCreated", "schema": {...}}`. The
//! account watches its bucket subject; a put compiles and binds, a delete or purge unbinds.
//! At start-up the bindings are read back from the bucket's stream.
//!
//! A publish that does not conform is not routed. When a stream would store it, the
//! publisher gets a publish-ack error (Weir's err_code 11001) naming the failing schema
//! path; a core publish is dropped and counted (`weir_schema_rejections_total`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use parking_lot::RwLock;
use serde::Deserialize;
use serde_json::Value;

use crate::account::{Account, AccountScope};
use crate::jetstream::manager::JetStream;
use crate::subscription::{InboundMsg, InternalHandler};

/// The bucket holding an account's bindings.
pub const BUCKET: &str = "weir_schemas";
/// Its stream and subjects.
pub const BUCKET_STREAM: &str = "KV_weir_schemas";
pub const BUCKET_SUBJECTS: &str = "$KV.weir_schemas.>";
const BUCKET_PREFIX: &[u8] = b"$KV.weir_schemas.";
/// Weir's JetStream error code for a payload its subject's schema refuses (nats-server's
/// own codes stay below 11000).
pub const SCHEMA_VIOLATION_ERR_CODE: u32 = 11001;
/// Bindings one account may hold; past this, new keys are refused (and logged).
const MAX_BINDINGS: usize = 1024;

/// Subjects no schema applies to, whatever a binding's filter says: the server's own APIs,
/// buckets (so a binding can always be deleted) and reply inboxes.
fn is_system_subject(subject: &[u8]) -> bool {
    subject.first() == Some(&b'$')
        || subject.starts_with(b"_INBOX.")
        || subject.starts_with(b"_R_.")
}

#[derive(Deserialize)]
struct Binding {
    subject: String,
    schema: Value,
    #[serde(default)]
    name: Option<String>,
}

struct Compiled {
    subject: String,
    name: String,
    validator: jsonschema::Validator,
}

/// Why a payload was refused: the schema and the first failing path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub description: String,
}

/// One account's subject → schema bindings.
#[derive(Default)]
pub struct SchemaRegistry {
    /// Any binding at all: the only cost on the publish path when enforcement is off.
    active: AtomicBool,
    /// By bucket key (one binding per key).
    bindings: RwLock<HashMap<Box<[u8]>, Arc<Compiled>>>,
    rejected: AtomicU64,
}

impl SchemaRegistry {
    pub fn is_active(&self) -> bool {
        self.active.load(Ordering::Relaxed)
    }

    /// Publishes refused so far.
    pub fn rejected(&self) -> u64 {
        self.rejected.load(Ordering::Relaxed)
    }

    pub fn binding_count(&self) -> usize {
        self.bindings.read().len()
    }

    /// Checks `payload` against every schema bound to a filter matching `subject`.
    pub fn check(&self, subject: &[u8], payload: &[u8]) -> Result<(), Violation> {
        if is_system_subject(subject) {
            return Ok(());
        }
        let bindings = self.bindings.read();
        let mut parsed: Option<Value> = None;
        for compiled in bindings.values() {
            if !weir_subject::matches(compiled.subject.as_bytes(), subject) {
                continue;
            }
            let instance = match &parsed {
                Some(value) => value,
                None => match serde_json::from_slice::<Value>(payload) {
                    Ok(value) => parsed.insert(value),
                    Err(err) => {
                        return Err(self.refuse(format!(
                            "payload on {} is not JSON, schema {} needs an object: {err}",
                            String::from_utf8_lossy(subject),
                            compiled.name
                        )))
                    }
                },
            };
            if let Some(error) = compiled.validator.iter_errors(instance).next() {
                let at = match error.instance_path().as_str() {
                    "" => "/".to_string(),
                    path => path.to_string(),
                };
                return Err(self.refuse(format!(
                    "payload does not match schema {} at {at}: {error} (schema path {})",
                    compiled.name,
                    error.schema_path().as_str()
                )));
            }
        }
        Ok(())
    }

    fn refuse(&self, description: String) -> Violation {
        self.rejected.fetch_add(1, Ordering::Relaxed);
        Violation { description }
    }

    /// Applies one message of the bucket: a put binds, a delete or purge unbinds.
    pub fn apply_bucket_message(&self, subject: &[u8], headers: Option<&[u8]>, payload: &[u8]) {
        let Some(key) = subject.strip_prefix(BUCKET_PREFIX) else {
            return;
        };
        let removed = headers.is_some_and(|h| {
            weir_protocol::parse_headers(h).is_ok_and(|block| {
                matches!(block.get("KV-Operation"), Some(b"DEL") | Some(b"PURGE"))
            })
        });
        // Compiled before the lock: publishers checking payloads never wait on a compile.
        let compiled = (!removed).then(|| compile(payload));
        let mut bindings = self.bindings.write();
        match compiled {
            None => {
                if let Some(old) = bindings.remove(key) {
                    tracing::info!("Schema {} unbound from {}", old.name, old.subject);
                }
            }
            Some(Ok(_)) if bindings.len() >= MAX_BINDINGS && !bindings.contains_key(key) => {
                tracing::error!(
                    "schema binding {} refused: the account already has {MAX_BINDINGS}",
                    String::from_utf8_lossy(key)
                );
            }
            Some(Ok(compiled)) => {
                tracing::info!("Schema {} bound to {}", compiled.name, compiled.subject);
                bindings.insert(key.into(), Arc::new(compiled));
            }
            Some(Err(err)) => {
                // A bad entry must not leave an old schema silently in force.
                bindings.remove(key);
                tracing::error!(
                    "schema binding {} ignored: {err}",
                    String::from_utf8_lossy(key)
                );
            }
        }
        self.active.store(!bindings.is_empty(), Ordering::Relaxed);
    }
}

fn compile(payload: &[u8]) -> Result<Compiled, String> {
    let binding: Binding = serde_json::from_slice(payload).map_err(|e| e.to_string())?;
    if !weir_subject::is_valid_subject(binding.subject.as_bytes()) {
        return Err(format!("invalid subject {:?}", binding.subject));
    }
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&binding.schema)
        .map_err(|e| format!("invalid schema: {e}"))?;
    Ok(Compiled {
        name: binding.name.unwrap_or_else(|| binding.subject.clone()),
        subject: binding.subject,
        validator,
    })
}

/// Keeps `scope`'s account's bindings in step with its bucket: watches the bucket subjects,
/// then reads back what the bucket already holds (watch first, so nothing falls between).
pub fn watch(scope: &Arc<AccountScope>, js: &Arc<JetStream>) {
    let watcher = Arc::new(BucketWatcher {
        account: Arc::downgrade(&scope.account),
        js: Arc::downgrade(js),
    });
    if let Err(err) = scope.subscribe_internal(BUCKET_SUBJECTS.as_bytes(), None, watcher) {
        tracing::error!("cannot watch the schema bucket: {err}");
        return;
    }
    let Some(entry) = js.get(BUCKET_STREAM) else {
        return;
    };
    let store = entry.stream.store.read();
    for (subject, _count) in store.subjects(BUCKET_SUBJECTS.as_bytes()) {
        if let Ok(Some(msg)) = store.last_for_subject(&subject) {
            let headers = (!msg.headers.is_empty()).then_some(&msg.headers[..]);
            scope
                .account
                .schemas
                .apply_bucket_message(&msg.subject, headers, &msg.payload);
        }
    }
}

/// Sees every put to the bucket as it is published. Only while the bucket exists: a publish
/// on its subjects with no stream to store it binds nothing.
struct BucketWatcher {
    account: Weak<Account>,
    js: Weak<JetStream>,
}

impl InternalHandler for BucketWatcher {
    fn deliver(&self, msg: &InboundMsg<'_>) -> bool {
        let (Some(account), Some(js)) = (self.account.upgrade(), self.js.upgrade()) else {
            return false;
        };
        if js.get(BUCKET_STREAM).is_none() {
            return false;
        }
        account
            .schemas
            .apply_bucket_message(msg.subject, msg.headers, msg.payload);
        true
    }
}

/// The publish-ack a refused JetStream publish gets.
pub fn pub_ack_error(violation: &Violation) -> Vec<u8> {
    serde_json::json!({
        "error": {
            "code": 400,
            "err_code": SCHEMA_VIOLATION_ERR_CODE,
            "description": violation.description,
        }
    })
    .to_string()
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn orders() -> SchemaRegistry {
        let registry = SchemaRegistry::default();
        let binding = serde_json::json!({
            "subject": "orders.*",
            "name": "OrderCreated",
            "schema": {
                "type": "object",
                "required": ["orderId"],
                "properties": {"orderId": {"type": "string"}, "createdAt": {"type": "string", "format": "date-time"}}
            }
        });
        registry.apply_bucket_message(
            b"$KV.weir_schemas.b3JkZXJzLio",
            None,
            binding.to_string().as_bytes(),
        );
        registry
    }

    #[test]
    fn conforming_payloads_pass_and_others_name_the_path() {
        let registry = orders();
        assert!(registry.is_active());
        assert_eq!(
            registry.check(b"orders.created", br#"{"orderId":"o1"}"#),
            Ok(())
        );
        assert_eq!(
            registry.check(b"other", b"not json"),
            Ok(()),
            "unbound subject"
        );
        let missing = registry
            .check(b"orders.created", br#"{"customerId":"c"}"#)
            .unwrap_err();
        assert!(missing.description.contains("OrderCreated"), "{missing:?}");
        assert!(missing.description.contains("orderId"), "{missing:?}");
        let wrong = registry
            .check(b"orders.created", br#"{"orderId":7}"#)
            .unwrap_err();
        assert!(wrong.description.contains("/orderId"), "{wrong:?}");
        let date = registry
            .check(
                b"orders.created",
                br#"{"orderId":"o","createdAt":"yesterday"}"#,
            )
            .unwrap_err();
        assert!(date.description.contains("/createdAt"), "{date:?}");
        assert!(registry.check(b"orders.x", b"{").is_err(), "not JSON");
        assert_eq!(registry.rejected(), 4);
    }

    #[test]
    fn system_subjects_are_never_checked() {
        let registry = SchemaRegistry::default();
        let everything = serde_json::json!({"subject": ">", "schema": false});
        registry.apply_bucket_message(
            b"$KV.weir_schemas.Pg",
            None,
            everything.to_string().as_bytes(),
        );
        assert!(
            registry.check(b"orders.x", b"{}").is_err(),
            "a false schema refuses all"
        );
        assert_eq!(registry.check(b"$JS.API.INFO", b""), Ok(()));
        assert_eq!(
            registry.check(b"$KV.weir_schemas.Pg", b""),
            Ok(()),
            "can still unbind"
        );
        assert_eq!(registry.check(b"_INBOX.abc", b"x"), Ok(()));
    }

    #[test]
    fn delete_markers_unbind() {
        let registry = orders();
        registry.apply_bucket_message(
            b"$KV.weir_schemas.b3JkZXJzLio",
            Some(b"NATS/1.0\r\nKV-Operation: DEL\r\n\r\n"),
            b"",
        );
        assert!(!registry.is_active());
        assert_eq!(registry.check(b"orders.created", b"{}"), Ok(()));
    }

    #[test]
    fn a_bad_binding_replaces_nothing_silently() {
        let registry = orders();
        registry.apply_bucket_message(b"$KV.weir_schemas.b3JkZXJzLio", None, b"{not json");
        assert_eq!(
            registry.binding_count(),
            0,
            "the old schema is not left in force"
        );
    }
}
