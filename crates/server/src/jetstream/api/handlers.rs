//! The stream API operations: decode the request, act, encode nats-server's response.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use weir_jsapi::{
    self as jsapi, decode_optional_request, decode_request, AccountInfoBody, ApiPaged, ApiResponse,
    JsError, MsgDeleteRequest, MsgGetBody, MsgGetRequest, PurgeBody, StreamConfigRequest,
    StreamCreateBody, StreamInfoBody, StreamInfoRequest, StreamListBody, StreamNamesBody,
    StreamNamesRequest, StreamPurgeRequest, SuccessBody,
};
use weir_store::{PurgeRequest, StoredMsg};

use super::route::ApiOp;
use super::worker::{ApiReply, ApiRequest, ApiService};
use crate::account::AccountScope;
use crate::jetstream::admin::{AdminDone, AdminError, AdminKind};
use crate::jetstream::manager::{JetStream, StreamEntry};

pub struct JsApi {
    pub state: Arc<AccountScope>,
    pub js: Arc<JetStream>,
}

type Result<T> = std::result::Result<T, JsError>;

fn json<T: serde::Serialize + Default>(
    kind: &str,
    result: Result<T>,
    errors: &mut bool,
) -> ApiReply {
    let response = match result {
        Ok(body) => ApiResponse::ok(kind, body),
        Err(err) => {
            *errors = true;
            ApiResponse::err(kind, &err, T::default())
        }
    };
    ApiReply::json(response.to_bytes())
}

impl ApiService for JsApi {
    async fn serve(&self, req: &ApiRequest) -> Vec<ApiReply> {
        let mut errors = false;
        let body = &req.payload[..];
        let reply = match &req.op {
            ApiOp::AccountInfo => json(
                jsapi::ACCOUNT_INFO_RESPONSE,
                Ok(AccountInfoBody {
                    info: Some(self.js.account_info()),
                }),
                &mut errors,
            ),
            ApiOp::StreamCreate(name) => json(
                jsapi::STREAM_CREATE_RESPONSE,
                self.create(name, body).await,
                &mut errors,
            ),
            ApiOp::StreamUpdate(name) => json(
                jsapi::STREAM_UPDATE_RESPONSE,
                self.update(name, body).await,
                &mut errors,
            ),
            ApiOp::StreamInfo(name) => json(
                jsapi::STREAM_INFO_RESPONSE,
                self.stream_info(name, body),
                &mut errors,
            ),
            ApiOp::StreamDelete(name) => json(
                jsapi::STREAM_DELETE_RESPONSE,
                self.delete(name, body).await,
                &mut errors,
            ),
            ApiOp::StreamNames => json(jsapi::STREAM_NAMES_RESPONSE, self.names(body), &mut errors),
            ApiOp::StreamList => json(jsapi::STREAM_LIST_RESPONSE, self.list(body), &mut errors),
            ApiOp::StreamPurge(name) => json(
                jsapi::STREAM_PURGE_RESPONSE,
                self.purge(name, body).await,
                &mut errors,
            ),
            ApiOp::StreamMsgGet(name) => json(
                jsapi::STREAM_MSG_GET_RESPONSE,
                self.msg_get(name, body),
                &mut errors,
            ),
            ApiOp::StreamMsgDelete(name) => json(
                jsapi::STREAM_MSG_DELETE_RESPONSE,
                self.msg_delete(name, body).await,
                &mut errors,
            ),
            ApiOp::ConsumerCreate(_) => {
                let subject = String::from_utf8_lossy(&req.subject);
                json(
                    jsapi::CONSUMER_CREATE_RESPONSE,
                    self.consumer_create(&subject, body).await,
                    &mut errors,
                )
            }
            ApiOp::ConsumerInfo { stream, consumer } => json(
                jsapi::CONSUMER_INFO_RESPONSE,
                self.consumer_info(stream, consumer, body),
                &mut errors,
            ),
            ApiOp::ConsumerDelete { stream, consumer } => json(
                jsapi::CONSUMER_DELETE_RESPONSE,
                self.consumer_delete(stream, consumer, body).await,
                &mut errors,
            ),
            ApiOp::ConsumerNames(stream) => json(
                jsapi::CONSUMER_NAMES_RESPONSE,
                self.consumer_names(stream, body),
                &mut errors,
            ),
            ApiOp::ConsumerList(stream) => json(
                jsapi::CONSUMER_LIST_RESPONSE,
                self.consumer_list(stream, body),
                &mut errors,
            ),
            ApiOp::ConsumerPause { stream, consumer } => json(
                jsapi::CONSUMER_PAUSE_RESPONSE,
                self.consumer_pause(stream, consumer, body),
                &mut errors,
            ),
            ApiOp::ConsumerReset { stream, consumer } => json(
                jsapi::CONSUMER_RESET_RESPONSE,
                self.consumer_reset(stream, consumer, body),
                &mut errors,
            ),
            ApiOp::ConsumerUnpin { stream, consumer } => json(
                jsapi::CONSUMER_UNPIN_RESPONSE,
                self.consumer_unpin(stream, consumer, body),
                &mut errors,
            ),
            // Served on the publisher's task (see `jetstream::start`).
            ApiOp::ConsumerNext { .. }
            | ApiOp::DirectGet(_)
            | ApiOp::DirectGetLast { .. }
            | ApiOp::Unknown => return Vec::new(),
        };
        // Counted as nats-server's `sendAPIResponse`/`sendAPIErrResponse` do: once the
        // response is built (an account info reports the requests before itself), and only
        // for requests answered through the API (DIRECT.GET is the stream's own).
        self.js.api_total.fetch_add(1, Ordering::Relaxed);
        if errors {
            self.js.api_errors.fetch_add(1, Ordering::Relaxed);
        }
        vec![reply]
    }
}

impl JsApi {
    fn stream(&self, name: &str) -> Result<Arc<StreamEntry>> {
        self.js.get(name).ok_or(JsError::StreamNotFound)
    }

    fn overlaps_other(&self, name: &str, subjects: &[String]) -> bool {
        self.js
            .streams
            .read()
            .values()
            .filter(|e| e.stream.name != name)
            .any(|e| jsapi::subjects_overlap(&e.config.read().subjects, subjects))
    }

    async fn create(&self, name: &str, body: &[u8]) -> Result<StreamCreateBody> {
        let request: StreamConfigRequest = decode_request(body, false)?;
        jsapi::check_request_stream_name(name, &request.config)?;
        let config = jsapi::prepare_stream_create(&request.config, &self.js.limits)?;
        let _admin = self.js.admin.lock().await;
        if let Some(existing) = self.js.get(name) {
            if jsapi::same_stream_config(&existing.config.read(), &config) {
                return Ok(StreamCreateBody {
                    info: Some(self.js.info(&existing, "", false)),
                    did_create: false,
                });
            }
            return Err(JsError::StreamNameExist);
        }
        if self.overlaps_other(name, &config.subjects) {
            return Err(JsError::StreamSubjectOverlap);
        }
        self.js.check_account_limits(&config, None)?;
        let entry = self
            .js
            .start_stream(&self.state, config, jsapi::Timestamp::now(), true)?;
        tracing::debug!("created stream '{name}'");
        Ok(StreamCreateBody {
            info: Some(self.js.info(&entry, "", false)),
            did_create: true,
        })
    }

    async fn update(&self, name: &str, body: &[u8]) -> Result<StreamCreateBody> {
        let request: StreamConfigRequest = decode_request(body, false)?;
        jsapi::check_request_stream_name(name, &request.config)?;
        let _admin = self.js.admin.lock().await;
        let entry = self.stream(name)?;
        let old = entry.config.read().clone();
        let config = jsapi::apply_stream_update(&old, &request.config, &self.js.limits)?;
        check_consumers_within_limits(&entry, &config.consumer_limits)?;
        if self.overlaps_other(name, &config.subjects) {
            return Err(JsError::StreamSubjectOverlap);
        }
        self.js.check_account_limits(&config, Some(name))?;
        self.js.apply_config(&self.state, &entry, config).await?;
        Ok(StreamCreateBody {
            info: Some(self.js.info(&entry, "", false)),
            did_create: false,
        })
    }

    fn stream_info(&self, name: &str, body: &[u8]) -> Result<StreamInfoBody> {
        let request: StreamInfoRequest = decode_optional_request(body, false)?;
        let entry = self.stream(name)?;
        let mut info = self
            .js
            .info(&entry, &request.subjects_filter, request.deleted_details);
        // nats-server's paging of subject details: the page at `offset` (of the sorted
        // subjects, clamped to their number, as 2.9.10 reports it) of at most 100,000, with
        // `total` the number of subjects matched; all three are 0, and `subjects` absent,
        // when the filter matches nothing (or is unset).
        let mut paged = ApiPaged::default();
        let all = info.state.subjects.take().unwrap_or_default();
        if !all.is_empty() {
            let limit = jsapi::STREAM_INFO_SUBJECTS_LIMIT;
            let offset = usize::try_from(request.offset.max(0))
                .unwrap_or(usize::MAX)
                .min(all.len());
            paged = ApiPaged {
                total: all.len() as u64,
                offset: offset as u64,
                limit: limit as u64,
            };
            info.state.subjects = if offset == 0 && all.len() <= limit {
                Some(all)
            } else {
                let page: std::collections::BTreeMap<_, _> =
                    all.into_iter().skip(offset).take(limit).collect();
                (!page.is_empty()).then_some(page)
            };
        }
        Ok(StreamInfoBody {
            paged,
            info: Some(info),
        })
    }

    async fn delete(&self, name: &str, body: &[u8]) -> Result<SuccessBody> {
        // Clients send `{}`; nats-server counts an empty object as an empty request.
        if !jsapi::is_empty_request(body) {
            return Err(JsError::NotEmptyRequest);
        }
        let _admin = self.js.admin.lock().await;
        self.js.delete_stream(&self.state, name).await?;
        Ok(SuccessBody { success: true })
    }

    /// Names of streams, optionally only those whose subjects overlap `subject`.
    fn matching_names(&self, subject: &str) -> Vec<String> {
        self.js
            .streams
            .read()
            .values()
            .filter(|e| {
                subject.is_empty()
                    || jsapi::subjects_overlap(&e.config.read().subjects, &[subject.to_string()])
            })
            .map(|e| e.stream.name.clone())
            .collect()
    }

    fn names(&self, body: &[u8]) -> Result<StreamNamesBody> {
        let request: StreamNamesRequest = decode_optional_request(body, false)?;
        let names = self.matching_names(&request.subject);
        let offset = request.offset.max(0) as usize;
        let limit = jsapi::STREAM_NAMES_LIMIT;
        let page: Vec<String> = names.iter().skip(offset).take(limit).cloned().collect();
        Ok(StreamNamesBody {
            paged: ApiPaged {
                total: names.len() as u64,
                offset: offset as u64,
                limit: limit as u64,
            },
            streams: (!page.is_empty()).then_some(page),
        })
    }

    fn list(&self, body: &[u8]) -> Result<StreamListBody> {
        let request: StreamNamesRequest = decode_optional_request(body, false)?;
        let names = self.matching_names(&request.subject);
        let offset = request.offset.max(0) as usize;
        let limit = jsapi::STREAM_LIST_LIMIT;
        let streams = names
            .iter()
            .skip(offset)
            .take(limit)
            .filter_map(|n| self.js.get(n))
            .map(|e| self.js.info(&e, "", false))
            .collect();
        Ok(StreamListBody {
            paged: ApiPaged {
                total: names.len() as u64,
                offset: offset as u64,
                limit: limit as u64,
            },
            streams,
            missing: Vec::new(),
        })
    }

    async fn purge(&self, name: &str, body: &[u8]) -> Result<PurgeBody> {
        let request: StreamPurgeRequest = decode_optional_request(body, false)?;
        request.validate()?;
        let entry = self.stream(name)?;
        {
            let config = entry.config.read();
            if config.sealed {
                return Err(JsError::StreamSealed);
            }
            if config.deny_purge {
                return Err(JsError::purge_not_permitted());
            }
        }
        let purge = PurgeRequest {
            filter: (!request.filter.is_empty())
                .then(|| bytes::Bytes::from(request.filter.clone().into_bytes())),
            up_to_seq: (request.seq > 0).then_some(request.seq),
            keep: (request.keep > 0).then_some(request.keep),
        };
        let purged = match entry.stream.admin(AdminKind::Purge(purge)).await {
            Ok(AdminDone::Purged(n)) => n,
            Ok(_) => 0,
            Err(e) => return Err(JsError::StreamPurgeFailed { err: e.to_string() }),
        };
        Ok(PurgeBody {
            success: true,
            purged,
        })
    }

    fn msg_get(&self, name: &str, body: &[u8]) -> Result<MsgGetBody> {
        let request: MsgGetRequest = decode_request(body, false)?;
        request.validate_msg_get()?;
        let entry = self.stream(name)?;
        let found = lookup(&entry, &request)?.ok_or(JsError::NoMessageFound)?;
        Ok(MsgGetBody {
            message: Some(jsapi::StoredMsg {
                subject: String::from_utf8_lossy(&found.subject).into_owned(),
                seq: found.seq,
                hdrs: found.headers.to_vec(),
                data: found.payload.to_vec(),
                time: jsapi::Timestamp::from_unix_nanos(found.ts_ns),
            }),
        })
    }

    async fn msg_delete(&self, name: &str, body: &[u8]) -> Result<SuccessBody> {
        let request: MsgDeleteRequest = decode_request(body, false)?;
        request.validate()?;
        let entry = self.stream(name)?;
        {
            let config = entry.config.read();
            if config.sealed {
                return Err(JsError::StreamSealed);
            }
            if config.deny_delete {
                return Err(JsError::msg_delete_not_permitted());
            }
        }
        let delete = AdminKind::Delete {
            seq: request.seq,
            erase: !request.no_erase,
        };
        match entry.stream.admin(delete).await {
            Ok(_) => {}
            Err(AdminError::NotFound) => return Err(JsError::sequence_not_found(request.seq)),
            Err(e) => return Err(JsError::StreamMsgDeleteFailed { err: e.to_string() }),
        }
        Ok(SuccessBody { success: true })
    }
}

/// The message a get request names: by sequence, last on a subject, or next on a subject
/// from a sequence.
pub fn lookup(entry: &StreamEntry, request: &MsgGetRequest) -> Result<Option<StoredMsg>> {
    let store = entry.stream.store.read();
    let found = if !request.next_by_subj.is_empty() {
        store.next_matching(request.seq.max(1), Some(request.next_by_subj.as_bytes()))
    } else if !request.last_by_subj.is_empty() {
        store.last_for_subject(request.last_by_subj.as_bytes())
    } else {
        store.get(request.seq)
    };
    found.map_err(|e| JsError::StreamGeneralError { err: e.to_string() })
}

/// New stream `consumer_limits` must not be exceeded by an existing consumer.
fn check_consumers_within_limits(
    entry: &StreamEntry,
    limits: &jsapi::StreamConsumerLimits,
) -> Result<()> {
    for consumer in entry.consumers.all() {
        let cfg = consumer.config.read();
        let over_ack_pending =
            limits.max_ack_pending > 0 && cfg.max_ack_pending > limits.max_ack_pending;
        let over_inactive =
            limits.inactive_threshold > 0 && cfg.inactive_threshold > limits.inactive_threshold;
        if over_ack_pending || over_inactive {
            return Err(JsError::invalid_config(format!(
                "consumer {:?} exceeds the new consumer limits",
                consumer.name
            )));
        }
    }
    Ok(())
}
