//! The JetStream API calls `bench js` needs, as plain JSON requests on `$JS.API.>`:
//! create, delete, purge and inspect the benchmark stream.

use async_nats::{Client, RequestErrorKind};
use serde::Serialize;
use serde_json::{json, Value};

use crate::error::{CliError, Result};

/// Stream storage backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Storage {
    File,
    Memory,
}

impl Storage {
    pub fn as_str(self) -> &'static str {
        match self {
            Storage::File => "file",
            Storage::Memory => "memory",
        }
    }
}

/// `err_code` of "stream not found".
const STREAM_NOT_FOUND: u64 = 10059;

/// The part of a stream's state the benchmark checks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StreamState {
    pub messages: u64,
    pub bytes: u64,
}

/// An error reply from the JetStream API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: u64,
    pub err_code: u64,
    pub description: String,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (code {}, err_code {})",
            self.description, self.code, self.err_code
        )
    }
}

/// The configuration `bench js` creates: limits retention, one replica.
pub fn stream_config(name: &str, subjects: &[String], storage: Storage) -> Value {
    json!({
        "name": name,
        "subjects": subjects,
        "storage": storage.as_str(),
        "retention": "limits",
        "discard": "old",
        "num_replicas": 1,
    })
}

/// Splits an API reply into its JSON body or its `error` object.
pub fn parse_reply(payload: &[u8]) -> std::result::Result<Value, ApiError> {
    let value: Value = serde_json::from_slice(payload).map_err(|e| ApiError {
        code: 0,
        err_code: 0,
        description: format!(
            "invalid JSON reply ({e}): {}",
            String::from_utf8_lossy(&payload[..payload.len().min(200)])
        ),
    })?;
    match value.get("error") {
        Some(err) => Err(ApiError {
            code: err.get("code").and_then(Value::as_u64).unwrap_or(0),
            err_code: err.get("err_code").and_then(Value::as_u64).unwrap_or(0),
            description: err
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or("unknown error")
                .to_string(),
        }),
        None => Ok(value),
    }
}

/// The `state` of a STREAM.INFO / STREAM.CREATE reply.
pub fn parse_state(reply: &Value) -> Option<StreamState> {
    let state = reply.get("state")?;
    Some(StreamState {
        messages: state.get("messages")?.as_u64()?,
        bytes: state.get("bytes").and_then(Value::as_u64).unwrap_or(0),
    })
}

/// Sends one API request; `Ok(None)` when nothing answers the subject (no responders).
pub async fn try_call(
    client: &Client,
    subject: String,
    body: String,
) -> Result<Option<std::result::Result<Value, ApiError>>> {
    match client.request(subject.clone(), body.into()).await {
        Ok(msg) => Ok(Some(parse_reply(&msg.payload))),
        Err(e) if e.kind() == RequestErrorKind::NoResponders => Ok(None),
        Err(e) => Err(CliError::nats(format!("JetStream request {subject}"), e)),
    }
}

/// Sends one API request; transport failures are errors, API errors are returned as such.
async fn call(
    client: &Client,
    subject: String,
    body: String,
) -> Result<std::result::Result<Value, ApiError>> {
    match try_call(client, subject.clone(), body).await? {
        Some(reply) => Ok(reply),
        None => Err(CliError::NoResponders {
            subject,
            hint: " — is JetStream enabled? start the server with -js".to_string(),
        }),
    }
}

/// Checks with `$JS.API.INFO` that the server (and this account) has JetStream enabled.
pub async fn require_jetstream(client: &Client, url: &str) -> Result<()> {
    let disabled = |detail: String| {
        CliError::Unsupported(format!(
            "JetStream is not enabled on the server at {url}{detail}: start it with -js"
        ))
    };
    match try_call(client, "$JS.API.INFO".to_string(), String::new()).await? {
        None => Err(disabled(String::new())),
        Some(Err(e)) if e.code == 503 || e.description.contains("not enabled") => {
            Err(disabled(format!(" ({})", e.description)))
        }
        Some(Err(e)) => Err(api_failure("cannot read the JetStream account info", e)),
        Some(Ok(_)) => Ok(()),
    }
}

/// Deletes the stream; a stream that does not exist is not an error.
pub async fn delete_stream(client: &Client, name: &str) -> Result<()> {
    let deleted = call(
        client,
        format!("$JS.API.STREAM.DELETE.{name}"),
        String::new(),
    )
    .await?;
    match deleted {
        Err(e) if e.err_code != STREAM_NOT_FOUND => {
            Err(api_failure(&format!("cannot delete stream {name}"), e))
        }
        _ => Ok(()),
    }
}

pub fn api_failure(what: &str, err: ApiError) -> CliError {
    CliError::BenchIncomplete(format!("{what}: {err}"))
}

/// Creates the stream (deleting it first with `recreate`, purging it after with `purge`)
/// and returns its state before the benchmark publishes.
pub async fn prepare_stream(
    client: &Client,
    config: &Value,
    purge: bool,
    recreate: bool,
) -> Result<StreamState> {
    let name = config["name"].as_str().unwrap_or_default().to_string();
    if recreate {
        delete_stream(client, &name).await?;
    }
    let created = call(
        client,
        format!("$JS.API.STREAM.CREATE.{name}"),
        config.to_string(),
    )
    .await?
    .map_err(|e| {
        let hint = if recreate {
            ""
        } else {
            " — pass --recreate to replace an existing stream"
        };
        api_failure(&format!("cannot create stream {name}{hint}"), e)
    })?;
    if purge {
        call(
            client,
            format!("$JS.API.STREAM.PURGE.{name}"),
            String::new(),
        )
        .await?
        .map_err(|e| api_failure(&format!("cannot purge stream {name}"), e))?;
        return stream_state(client, &name).await;
    }
    match parse_state(&created) {
        Some(state) => Ok(state),
        None => stream_state(client, &name).await,
    }
}

/// The stream's current state via `$JS.API.STREAM.INFO.<name>`.
pub async fn stream_state(client: &Client, name: &str) -> Result<StreamState> {
    let info = call(client, format!("$JS.API.STREAM.INFO.{name}"), String::new())
        .await?
        .map_err(|e| api_failure(&format!("cannot read stream {name}"), e))?;
    parse_state(&info).ok_or_else(|| {
        CliError::BenchIncomplete(format!("stream {name} info has no state.messages: {info}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_replies_are_split_out() {
        let err = parse_reply(
            br#"{"type":"io.nats.jetstream.api.v1.stream_create_response","error":{"code":400,"err_code":10058,"description":"stream name already in use with a different configuration"}}"#,
        )
        .unwrap_err();
        assert_eq!(err.code, 400);
        assert_eq!(err.err_code, 10058);
        assert!(err.to_string().contains("already in use"), "{err}");
        assert!(parse_reply(b"not json").is_err());
        assert!(parse_reply(br#"{"config":{}}"#).is_ok());
    }

    #[test]
    fn state_comes_from_the_info_reply() {
        let reply = parse_reply(
            br#"{"config":{"name":"S"},"state":{"messages":42,"bytes":5376,"first_seq":1}}"#,
        )
        .unwrap();
        assert_eq!(
            parse_state(&reply),
            Some(StreamState {
                messages: 42,
                bytes: 5376
            })
        );
        assert_eq!(parse_state(&json!({"state": {}})), None);
    }

    #[test]
    fn config_names_storage_and_subjects() {
        let config = stream_config("BENCH", &["a.*".to_string()], Storage::Memory);
        assert_eq!(config["storage"], "memory");
        assert_eq!(config["subjects"][0], "a.*");
        assert_eq!(config["name"], "BENCH");
    }
}
