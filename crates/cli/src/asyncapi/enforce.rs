//! `apply --enforce`: binds each stored channel's message schema to its subject on the
//! server, so weir-server refuses non-conforming publishes. Bindings are entries of the
//! account's `weir_schemas` key-value bucket (stream `KV_weir_schemas`): key = the subject
//! (base64url, since subjects may hold wildcards), value = `{"subject", "name", "stream",
//! "schema"}`. Unchanged bindings are not rewritten, so a second apply changes nothing.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde::Serialize;
use serde_json::{json, Value};
use weir_asyncapi::intent::Intent;
use weir_asyncapi::Document;

use crate::error::{CliError, Result};
use crate::js::api::{err_code, Api};

const BUCKET_STREAM: &str = "KV_weir_schemas";
const BUCKET_PREFIX: &str = "$KV.weir_schemas.";

/// One binding and what apply did (or would do) with it.
#[derive(Debug, Serialize)]
pub struct SchemaStep {
    pub subject: String,
    pub name: String,
    pub stream: String,
    /// `bind`, `update` or `unchanged`.
    pub action: &'static str,
}

/// Payload enforcement is Weir's: refuse other servers rather than write a bucket they
/// would ignore.
fn require_weir(api: &Api) -> Result<()> {
    let info = api.client.server_info();
    if info.go.starts_with("weir") {
        return Ok(());
    }
    Err(CliError::Unsupported(format!(
        "payload enforcement needs weir-server, and {} is nats-server {}: run apply without \
         --enforce to provision streams and consumers only",
        api.url, info.version
    )))
}

/// The bindings the contract implies, compared with the server's; written when `apply`.
pub async fn run(
    api: &Api,
    doc: &Document,
    intent: &Intent,
    apply: bool,
) -> Result<Vec<SchemaStep>> {
    require_weir(api)?;
    let wanted = weir_asyncapi::bundle::subject_schemas(&doc.root, intent)
        .map_err(|e| CliError::Usage(format!("cannot bundle the message schemas: {e}")))?;
    if apply {
        ensure_bucket(api).await?;
    }
    let mut steps = Vec::new();
    for binding in wanted {
        let name = binding
            .messages
            .first()
            .and_then(|pointer| pointer.rsplit('/').next())
            .unwrap_or(binding.subject.as_str())
            .to_string();
        let value = json!({
            "subject": binding.subject,
            "name": name,
            "stream": binding.stream,
            "schema": binding.schema,
        });
        let key = format!(
            "{BUCKET_PREFIX}{}",
            URL_SAFE_NO_PAD.encode(&binding.subject)
        );
        let action = match current(api, &key).await? {
            Some(existing) if existing == value => "unchanged",
            Some(_) => "update",
            None => "bind",
        };
        if apply && action != "unchanged" {
            put(api, &key, &value).await?;
        }
        steps.push(SchemaStep {
            subject: binding.subject,
            name,
            stream: binding.stream,
            action,
        });
    }
    Ok(steps)
}

/// Creates the bucket's stream when missing, as a KV bucket with history 1.
async fn ensure_bucket(api: &Api) -> Result<()> {
    match api.call(&format!("STREAM.INFO.{BUCKET_STREAM}"), "").await {
        Ok(_) => return Ok(()),
        Err(CliError::JetStream { err_code: code, .. }) if code == err_code::STREAM_NOT_FOUND => {}
        Err(e) => return Err(e),
    }
    let config = json!({
        "name": BUCKET_STREAM,
        "subjects": [format!("{BUCKET_PREFIX}>")],
        "retention": "limits",
        "storage": "file",
        "max_msgs_per_subject": 1,
        "discard": "new",
        "allow_rollup_hdrs": true,
        "deny_delete": true,
        "allow_direct": true,
        "num_replicas": 1,
    });
    api.call_json(&format!("STREAM.CREATE.{BUCKET_STREAM}"), &config)
        .await
        .map(|_| ())
}

/// The binding stored under `key`, if any.
async fn current(api: &Api, key: &str) -> Result<Option<Value>> {
    let request = json!({"last_by_subj": key});
    let answer = match api
        .call_json(&format!("STREAM.MSG.GET.{BUCKET_STREAM}"), &request)
        .await
    {
        Ok(answer) => answer,
        Err(CliError::JetStream { err_code: code, .. })
            if code == err_code::STREAM_NOT_FOUND || code == err_code::NO_MESSAGE_FOUND =>
        {
            return Ok(None)
        }
        Err(e) => return Err(e),
    };
    let data = answer["message"]["data"].as_str().unwrap_or_default();
    let bytes = STANDARD.decode(data).unwrap_or_default();
    Ok(serde_json::from_slice(&bytes).ok())
}

/// Stores `value` under `key` and waits for the stream's acknowledgement.
async fn put(api: &Api, key: &str, value: &Value) -> Result<()> {
    let reply = api
        .client
        .request(key.to_string(), value.to_string().into())
        .await
        .map_err(|e| CliError::Unsupported(format!("binding {key} failed: {e}")))?;
    let ack: Value = serde_json::from_slice(&reply.payload).unwrap_or(Value::Null);
    if ack.get("error").is_some() || ack.get("seq").is_none() {
        return Err(CliError::Unsupported(format!(
            "binding {key} was not stored: {ack}"
        )));
    }
    Ok(())
}
