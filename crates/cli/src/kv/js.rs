//! JetStream plumbing shared by `weir kv` and `weir object`: the connection, bucket names,
//! telling apart why an operation failed (JetStream off, bucket missing, a conflict, an API
//! error) so the message can name the fix, confirmations and bucket listings.

use std::error::Error as StdError;
use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

use async_nats::jetstream::context::{
    CreateStreamError, CreateStreamErrorKind, GetStreamError, GetStreamErrorKind, PublishError,
    PublishErrorKind, RequestError, RequestErrorKind,
};
use async_nats::jetstream::stream::{ConsumerError, ConsumerErrorKind, PurgeError, PurgeErrorKind};
use async_nats::jetstream::{self, ErrorCode};
use futures::{Stream, StreamExt};

use crate::connect::Global;
use crate::error::{CliError, Result};

/// The two kinds of bucket, which differ in their stream prefix and the command creating them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BucketKind {
    Kv,
    Object,
}

impl BucketKind {
    pub fn stream_prefix(self) -> &'static str {
        match self {
            BucketKind::Kv => "KV_",
            BucketKind::Object => "OBJ_",
        }
    }

    pub fn stream_name(self, bucket: &str) -> String {
        format!("{}{bucket}", self.stream_prefix())
    }

    fn command(self) -> &'static str {
        match self {
            BucketKind::Kv => "weir kv",
            BucketKind::Object => "weir object",
        }
    }
}

/// Why a JetStream operation failed, as far as it matters to the person who ran it.
#[derive(Debug, Clone, PartialEq)]
pub enum Cause {
    /// Nothing answers the JetStream API, or the server says JetStream is off.
    JetStreamOff,
    /// The bucket's stream does not exist.
    StreamNotFound,
    /// An expected-revision check failed (update, create of an existing key).
    WrongLastSequence,
    TimedOut,
    /// Any other error reply from the JetStream API.
    Api(jetstream::Error),
    Other,
}

fn api_cause(err: &jetstream::Error) -> Cause {
    match err.error_code() {
        ErrorCode::STREAM_NOT_FOUND => Cause::StreamNotFound,
        ErrorCode::JETSTREAM_NOT_ENABLED | ErrorCode::JETSTREAM_NOT_ENABLED_FOR_ACCOUNT => {
            Cause::JetStreamOff
        }
        ErrorCode::STREAM_WRONG_LAST_SEQUENCE => Cause::WrongLastSequence,
        _ => Cause::Api(err.clone()),
    }
}

/// Walks `err` and its sources for the first error that says what went wrong.
///
/// async-nats nests the server's answer in per-operation error kinds (`GetStreamError`
/// inside `KeyValueError`, ...), so each kind that can carry it is looked at in turn.
pub fn cause_of(err: &(dyn StdError + 'static)) -> Cause {
    let mut current = Some(err);
    while let Some(err) = current {
        if let Some(api) = err.downcast_ref::<jetstream::Error>() {
            return api_cause(api);
        }
        if let Some(e) = err.downcast_ref::<GetStreamError>() {
            if let GetStreamErrorKind::JetStream(api) = e.kind() {
                return api_cause(&api);
            }
        }
        if let Some(e) = err.downcast_ref::<CreateStreamError>() {
            match e.kind() {
                CreateStreamErrorKind::JetStream(api) => return api_cause(&api),
                CreateStreamErrorKind::JetStreamUnavailable => return Cause::JetStreamOff,
                CreateStreamErrorKind::NotFound => return Cause::StreamNotFound,
                CreateStreamErrorKind::TimedOut => return Cause::TimedOut,
                _ => {}
            }
        }
        if let Some(e) = err.downcast_ref::<ConsumerError>() {
            match e.kind() {
                ConsumerErrorKind::JetStream(api) => return api_cause(&api),
                ConsumerErrorKind::TimedOut => return Cause::TimedOut,
                _ => {}
            }
        }
        if let Some(e) = err.downcast_ref::<PurgeError>() {
            match e.kind() {
                PurgeErrorKind::JetStream(api) => return api_cause(&api),
                PurgeErrorKind::TimedOut => return Cause::TimedOut,
                PurgeErrorKind::Request => {}
            }
        }
        if let Some(e) = err.downcast_ref::<RequestError>() {
            match e.kind() {
                RequestErrorKind::NoResponders => return Cause::JetStreamOff,
                RequestErrorKind::TimedOut => return Cause::TimedOut,
                _ => {}
            }
        }
        if let Some(e) = err.downcast_ref::<async_nats::RequestError>() {
            match e.kind() {
                async_nats::RequestErrorKind::NoResponders => return Cause::JetStreamOff,
                async_nats::RequestErrorKind::TimedOut => return Cause::TimedOut,
                _ => {}
            }
        }
        if let Some(e) = err.downcast_ref::<PublishError>() {
            match e.kind() {
                // A publish nobody stores: the bucket's stream is gone.
                PublishErrorKind::StreamNotFound => return Cause::StreamNotFound,
                PublishErrorKind::WrongLastSequence => return Cause::WrongLastSequence,
                PublishErrorKind::TimedOut => return Cause::TimedOut,
                _ => {}
            }
        }
        current = err.source();
    }
    Cause::Other
}

/// A bucket's store as async-nats opens it: a KV `Store` or an `ObjectStore`.
pub trait BucketStore: Sized {
    const KIND: BucketKind;
    type OpenError: StdError + Send + Sync + 'static;
    fn open(
        context: &jetstream::Context,
        bucket: &str,
    ) -> impl std::future::Future<Output = std::result::Result<Self, Self::OpenError>> + Send;
}

impl BucketStore for jetstream::kv::Store {
    const KIND: BucketKind = BucketKind::Kv;
    type OpenError = jetstream::context::KeyValueError;
    fn open(
        context: &jetstream::Context,
        bucket: &str,
    ) -> impl std::future::Future<Output = std::result::Result<Self, Self::OpenError>> + Send {
        context.get_key_value(bucket.to_string())
    }
}

impl BucketStore for jetstream::object_store::ObjectStore {
    const KIND: BucketKind = BucketKind::Object;
    type OpenError = jetstream::context::ObjectStoreError;
    fn open(
        context: &jetstream::Context,
        bucket: &str,
    ) -> impl std::future::Future<Output = std::result::Result<Self, Self::OpenError>> + Send {
        context.get_object_store(bucket.to_string())
    }
}

/// The connection and an opened bucket.
pub struct Bucket<S> {
    pub js: Js,
    pub store: S,
    pub name: String,
}

impl<S: BucketStore> Bucket<S> {
    pub async fn open(global: &Global, bucket: &str) -> Result<Bucket<S>> {
        let js = Js::connect(global, S::KIND.command()).await?;
        let store = S::open(&js.context, bucket)
            .await
            .map_err(|e| js.failure(&format!("cannot open bucket {bucket}"), S::KIND, bucket, e))?;
        Ok(Bucket {
            js,
            store,
            name: bucket.to_string(),
        })
    }

    pub fn failure<E>(&self, what: &str, err: E) -> CliError
    where
        E: StdError + Send + Sync + 'static,
    {
        self.js.failure(what, S::KIND, &self.name, err)
    }
}

/// A connection with its JetStream context.
pub struct Js {
    pub context: jetstream::Context,
    /// The server URL(s) as given, for messages.
    pub url: String,
    timeout: Duration,
}

impl Js {
    pub async fn connect(global: &Global, name: &str) -> Result<Js> {
        let client = global.connect(name).await?;
        let context = jetstream::ContextBuilder::new()
            .timeout(global.timeout)
            .build(client);
        Ok(Js {
            context,
            url: global.server.clone(),
            timeout: global.timeout,
        })
    }

    /// The error for `what` (e.g. "cannot read ORDERS > size") failing with `err`, naming the
    /// fix where the cause is known.
    pub fn failure<E>(&self, what: &str, kind: BucketKind, bucket: &str, err: E) -> CliError
    where
        E: StdError + Send + Sync + 'static,
    {
        match cause_of(&err) {
            Cause::JetStreamOff => self.jetstream_off(),
            Cause::StreamNotFound => bucket_not_found(kind, bucket),
            Cause::TimedOut => CliError::nats(
                format!(
                    "{what}: no answer from {} within {:?} (raise --timeout if the server is busy)",
                    self.url, self.timeout
                ),
                err,
            ),
            Cause::Api(api) => CliError::nats(what.to_string(), api),
            Cause::WrongLastSequence | Cause::Other => CliError::nats(what.to_string(), err),
        }
    }

    pub fn jetstream_off(&self) -> CliError {
        CliError::Unsupported(format!(
            "JetStream is not enabled on the server at {}: start it with -js",
            self.url
        ))
    }

    /// Information on the stream backing `bucket`.
    pub async fn bucket_stream(
        &self,
        kind: BucketKind,
        bucket: &str,
    ) -> Result<jetstream::stream::Info> {
        self.context
            .get_stream(kind.stream_name(bucket))
            .await
            .map(|stream| stream.cached_info().clone())
            .map_err(|e| self.failure(&format!("cannot read bucket {bucket}"), kind, bucket, e))
    }

    /// Every stream backing a bucket of `kind`, in the server's order.
    pub async fn bucket_streams(&self, kind: BucketKind) -> Result<Vec<jetstream::stream::Info>> {
        let mut streams = self.context.streams();
        let mut found = Vec::new();
        while let Some(info) = streams.next().await {
            let info = info.map_err(|e| match cause_of(&e) {
                Cause::JetStreamOff => self.jetstream_off(),
                _ => CliError::nats("cannot list the streams", e),
            })?;
            if info.config.name.starts_with(kind.stream_prefix()) {
                found.push(info);
            }
        }
        Ok(found)
    }

    /// Deletes the stream backing `bucket`.
    pub async fn delete_bucket(&self, kind: BucketKind, bucket: &str) -> Result<()> {
        self.context
            .delete_stream(kind.stream_name(bucket))
            .await
            .map(|_| ())
            .map_err(|e| self.failure(&format!("cannot delete bucket {bucket}"), kind, bucket, e))
    }
}

pub fn bucket_not_found(kind: BucketKind, bucket: &str) -> CliError {
    CliError::Unsupported(format!(
        "bucket {bucket} not found: create it with `{} add {bucket}`",
        kind.command()
    ))
}

/// Checks a bucket name before anything is sent: letters, digits, `-` and `_`.
pub fn parse_bucket(text: &str) -> std::result::Result<String, String> {
    if !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        Ok(text.to_string())
    } else {
        Err(format!(
            "invalid bucket name {text:?}: use letters, digits, '-' and '_'"
        ))
    }
}

/// Asks `Really <action>? [y/N]` on a terminal. Without one, only `--force` says yes, so a
/// script cannot destroy data by accident.
pub fn confirm(action: &str, force: bool) -> Result<bool> {
    if force {
        return Ok(true);
    }
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        return Err(CliError::Usage(format!(
            "refusing to {action} without confirmation: pass --force"
        )));
    }
    let mut stderr = std::io::stderr().lock();
    let _ = write!(stderr, "Really {action}? [y/N] ");
    let _ = stderr.flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| CliError::io("cannot read the answer from stdin", e))?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

/// The next item of a consumer-backed stream, or an error when the server sends nothing for
/// `idle`: the clients' history and key listings end only when the server says they are
/// complete, so a silent server would otherwise hang the command.
pub async fn next_within<S, T>(stream: &mut S, idle: Duration, what: &str) -> Result<Option<T>>
where
    S: Stream<Item = T> + Unpin,
{
    tokio::time::timeout(idle, stream.next())
        .await
        .map_err(|_| {
            CliError::Unsupported(format!(
                "{what}: the server sent nothing for {idle:?} before the listing was complete \
                 (raise --timeout if it is busy)"
            ))
        })
}

/// Keys of `metadata` the server sets for itself (`_nats.*`), hidden from people.
pub fn is_reserved_metadata(key: &str) -> bool {
    key.starts_with("_nats.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names_are_checked_before_sending() {
        assert_eq!(parse_bucket("ORDERS_v-2"), Ok("ORDERS_v-2".to_string()));
        assert!(parse_bucket("").is_err());
        assert!(parse_bucket("a.b").is_err());
        assert!(parse_bucket("a b").is_err());
        assert!(parse_bucket("a*").is_err());
    }

    #[test]
    fn causes_are_found_through_nested_errors() {
        let not_found: jetstream::Error = serde_json::from_str(
            r#"{"code":404,"err_code":10059,"description":"stream not found"}"#,
        )
        .unwrap();
        let get = GetStreamError::new(GetStreamErrorKind::JetStream(not_found));
        let outer = async_nats::jetstream::context::KeyValueError::with_source(
            async_nats::jetstream::context::KeyValueErrorKind::GetBucket,
            get,
        );
        assert_eq!(cause_of(&outer), Cause::StreamNotFound);

        let off = RequestError::new(RequestErrorKind::NoResponders);
        assert_eq!(cause_of(&off), Cause::JetStreamOff);

        let conflict = PublishError::new(PublishErrorKind::WrongLastSequence);
        assert_eq!(cause_of(&conflict), Cause::WrongLastSequence);

        let other: jetstream::Error = serde_json::from_str(
            r#"{"code":400,"err_code":10058,"description":"stream name already in use"}"#,
        )
        .unwrap();
        assert!(matches!(
            cause_of(&GetStreamError::new(GetStreamErrorKind::JetStream(other))),
            Cause::Api(_)
        ));
        assert_eq!(cause_of(&std::io::Error::other("x")), Cause::Other);
    }

    #[test]
    fn missing_bucket_message_names_the_fix() {
        assert_eq!(
            bucket_not_found(BucketKind::Kv, "ORDERS").to_string(),
            "bucket ORDERS not found: create it with `weir kv add ORDERS`"
        );
        assert_eq!(
            bucket_not_found(BucketKind::Object, "FILES").to_string(),
            "bucket FILES not found: create it with `weir object add FILES`"
        );
    }

    #[tokio::test]
    async fn a_silent_listing_times_out_instead_of_hanging() {
        let mut never = futures::stream::pending::<u32>();
        let err = next_within(
            &mut never,
            std::time::Duration::from_millis(10),
            "cannot list",
        )
        .await
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("cannot list: the server sent nothing"),
            "{err}"
        );
        let mut one = futures::stream::iter([7]);
        assert_eq!(
            next_within(&mut one, std::time::Duration::from_secs(5), "x")
                .await
                .unwrap(),
            Some(7)
        );
    }
}
