//! The JetStream API as the `stream`, `consumer` and `account` verbs use it: JSON requests on
//! `$JS.API.…` answered with JSON. Responses stay `serde_json::Value`, so `--json` prints
//! exactly what the server sent and the CLI reads the same fields from weir-server and from
//! any nats-server version (async-nats' typed structs reject some older servers' answers).

use async_nats::Client;
use bytes::Bytes;
use serde_json::Value;

use crate::connect::Global;
use crate::error::{CliError, Result};

/// err_codes the CLI turns into a message with a fix (nats-server's catalogue).
pub mod err_code {
    pub const JETSTREAM_NOT_ENABLED_FOR_ACCOUNT: u64 = 10039;
    pub const JETSTREAM_NOT_ENABLED: u64 = 10076;
    pub const STREAM_NOT_FOUND: u64 = 10059;
    pub const STREAM_NAME_IN_USE: u64 = 10058;
    pub const CONSUMER_NOT_FOUND: u64 = 10014;
    pub const NO_MESSAGE_FOUND: u64 = 10037;
}

/// A connection used for JetStream API calls.
pub struct Api {
    pub client: Client,
    /// The server URL(s) as given, for messages.
    pub url: String,
    timeout: std::time::Duration,
}

impl Api {
    pub async fn connect(global: &Global, name: &str) -> Result<Api> {
        Ok(Api {
            client: global.connect(name).await?,
            url: global.server.clone(),
            timeout: global.timeout,
        })
    }

    /// Sends `body` to `$JS.API.<api>` and returns the answer, or the server's error as
    /// `CliError::JetStream` (code, err_code, description and the fix where one is known).
    pub async fn call(&self, api: &str, body: impl Into<Bytes>) -> Result<Value> {
        let subject = format!("$JS.API.{api}");
        let reply = self
            .client
            .request(subject.clone(), body.into())
            .await
            .map_err(|e| self.request_failure(&subject, e))?;
        let value: Value =
            serde_json::from_slice(&reply.payload).map_err(|e| CliError::Protocol {
                url: self.url.clone(),
                message: format!("{subject} answered with invalid JSON: {e}"),
            })?;
        match api_error(&value) {
            Some(err) => Err(self.explain(err)),
            None => Ok(value),
        }
    }

    /// `call` with a JSON request body.
    pub async fn call_json(&self, api: &str, body: &Value) -> Result<Value> {
        self.call(api, body.to_string()).await
    }

    /// Every page of a paged list API (`STREAM.LIST`, `CONSUMER.LIST`, …), with `field` the
    /// array holding the items (`streams`, `consumers`).
    pub async fn list(&self, api: &str, mut request: Value, field: &str) -> Result<Vec<Value>> {
        let mut items = Vec::new();
        loop {
            request["offset"] = items.len().into();
            let page = self.call_json(api, &request).await?;
            let batch = page[field].as_array().cloned().unwrap_or_default();
            let total = page["total"].as_u64().unwrap_or(0) as usize;
            let got = batch.len();
            items.extend(batch);
            if got == 0 || items.len() >= total {
                return Ok(items);
            }
        }
    }

    fn request_failure(&self, subject: &str, err: async_nats::RequestError) -> CliError {
        match err.kind() {
            async_nats::RequestErrorKind::NoResponders => self.jetstream_off(),
            async_nats::RequestErrorKind::TimedOut => CliError::RequestTimeout {
                subject: format!(
                    "{subject} (is the server overloaded? raise --timeout, now {:?})",
                    self.timeout
                ),
                timeout_ms: self.timeout.as_millis(),
            },
            _ => CliError::nats(format!("request to {subject} failed"), err),
        }
    }

    pub fn jetstream_off(&self) -> CliError {
        CliError::Unsupported(format!(
            "JetStream is not enabled on the server at {}: start the server with -js",
            self.url
        ))
    }

    /// The server's error with the fix appended where the CLI knows one.
    pub fn explain(&self, err: ApiError) -> CliError {
        let hint = match err.err_code {
            err_code::JETSTREAM_NOT_ENABLED | err_code::JETSTREAM_NOT_ENABLED_FOR_ACCOUNT => {
                return self.jetstream_off();
            }
            err_code::STREAM_NOT_FOUND => "list the streams with `weir stream ls`",
            err_code::CONSUMER_NOT_FOUND => "list the consumers with `weir consumer ls STREAM`",
            err_code::STREAM_NAME_IN_USE => {
                "a stream of that name exists with another configuration: change it with \
                 `weir stream edit`, or pick another name"
            }
            _ => "",
        };
        CliError::JetStream {
            code: err.code,
            err_code: err.err_code,
            description: err.description,
            hint: if hint.is_empty() {
                String::new()
            } else {
                format!(" — {hint}")
            },
        }
    }
}

/// The `error` object of a JetStream API answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: u64,
    pub err_code: u64,
    pub description: String,
}

/// The error an API answer carries, if any.
pub fn api_error(answer: &Value) -> Option<ApiError> {
    let error = answer.get("error")?;
    Some(ApiError {
        code: error["code"].as_u64().unwrap_or(0),
        err_code: error["err_code"].as_u64().unwrap_or(0),
        description: error["description"]
            .as_str()
            .unwrap_or("unknown error")
            .to_string(),
    })
}

/// Validates a stream or consumer name as the server would, so a typo is caught before a
/// request goes out on a subject it would corrupt (`$JS.API.STREAM.INFO.a.b`).
pub fn check_name(kind: &str, name: &str) -> Result<()> {
    let bad = name.is_empty()
        || name
            .chars()
            .any(|c| matches!(c, '.' | '*' | '>' | ' ' | '\t' | '\r' | '\n' | '/' | '\\'));
    if bad {
        return Err(CliError::Usage(format!(
            "invalid {kind} name {name:?}: names may not be empty or contain '.', '*', '>', \
             slashes or whitespace"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn error_answers_are_recognised() {
        let answer = json!({"type": "io.nats.jetstream.api.v1.stream_info_response",
            "error": {"code": 404, "err_code": 10059, "description": "stream not found"}});
        assert_eq!(
            api_error(&answer),
            Some(ApiError {
                code: 404,
                err_code: 10059,
                description: "stream not found".to_string()
            })
        );
        assert_eq!(api_error(&json!({"config": {}})), None);
    }

    #[test]
    fn names_with_subject_tokens_are_refused() {
        assert!(check_name("stream", "ORDERS").is_ok());
        for bad in ["", "a.b", "a*", "a>", "a b"] {
            assert!(
                matches!(check_name("stream", bad), Err(CliError::Usage(_))),
                "{bad:?}"
            );
        }
    }
}
