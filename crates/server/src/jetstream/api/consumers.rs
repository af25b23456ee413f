//! The consumer API operations: create (all three subject forms), info, names, list,
//! delete, pause. Pull requests (`MSG.NEXT`) bypass this task: see `worker.rs`.

use std::sync::Arc;

use serde_json::json;
use weir_jsapi::{
    self as jsapi, decode_optional_request, decode_request, ApiPaged, ConsumerCreateSubject,
    ConsumerInfoBody, ConsumerLimits, ConsumerListBody, ConsumerNamesBody, ConsumerNamesRequest,
    ConsumerPauseBody, ConsumerPauseRequest, CreateConsumerRequest, JsError, SuccessBody,
    Timestamp,
};

use super::handlers::JsApi;
use crate::jetstream::consumer::Consumer;
use crate::jetstream::manager::StreamEntry;

type Result<T> = std::result::Result<T, JsError>;

impl JsApi {
    fn consumer(&self, stream: &str, name: &str) -> Result<(Arc<StreamEntry>, Arc<Consumer>)> {
        let entry = self.js.get(stream).ok_or(JsError::StreamNotFound)?;
        let consumer = entry.consumers.get(name).ok_or(JsError::ConsumerNotFound)?;
        Ok((entry, consumer))
    }

    pub(super) async fn consumer_create(
        &self,
        subject: &str,
        body: &[u8],
    ) -> Result<ConsumerInfoBody> {
        let parsed = ConsumerCreateSubject::parse(subject).ok_or(JsError::BadRequest)?;
        // nats-server decodes before it looks the stream up: bad JSON is 10025 either way.
        let request: CreateConsumerRequest = decode_request(body, false)?;
        let entry = self.js.get(parsed.stream).ok_or(JsError::StreamNotFound)?;
        let action = request.action;
        let stream_config = entry.config.read().clone();
        let limits = ConsumerLimits {
            server_max_ack_pending: self.js.consumer_limits.server_max_ack_pending,
            server_max_request_batch: self.js.consumer_limits.server_max_request_batch,
            ..ConsumerLimits::from_server(&self.js.limits)
        };
        let config = jsapi::prepare_consumer_create_with(&stream_config, request, parsed, &limits)?;
        let _admin = self.js.admin.lock().await;
        let name = match config.consumer_name() {
            "" => ephemeral_name(),
            n => n.to_string(),
        };
        let existing = entry.consumers.get(&name);
        let existing_config = existing.as_ref().map(|c| c.config.read().clone());
        jsapi::check_consumer_action(action, existing_config.as_ref(), &config)?;
        let others: Vec<jsapi::ConsumerConfig> = entry
            .consumers
            .all()
            .iter()
            .filter(|c| c.name != name)
            .map(|c| c.config.read().clone())
            .collect();
        let others: Vec<&jsapi::ConsumerConfig> = others.iter().collect();
        if let (Some(existing), Some(old)) = (existing, existing_config) {
            // A bound push consumer keeps its deliver subject (nats-server: 10013).
            if old.deliver_subject != config.deliver_subject
                && !old.deliver_subject.is_empty()
                && existing.has_push_interest(&self.state)
            {
                return Err(JsError::ConsumerNameExist);
            }
            let updated = jsapi::apply_consumer_update(&old, &config)?;
            jsapi::check_workqueue_update(&stream_config, &updated, &others)?;
            if updated != old {
                existing.update(updated);
            }
            return Ok(ConsumerInfoBody {
                info: Some(existing.info()),
            });
        }
        jsapi::check_workqueue_consumer(&stream_config, &config, &others)?;
        jsapi::check_consumer_limit(
            &stream_config,
            self.js.limits.account.max_consumers,
            &others,
        )?;
        let mut config = config;
        if config.name.is_empty() && config.durable_name.is_empty() {
            config.name = name.clone();
        }
        let consumer =
            entry.start_consumer(&self.state, name.clone(), config, Timestamp::now(), None)?;
        self.consumer_advisory("CREATED", "create", &stream_config.name, &name);
        Ok(ConsumerInfoBody {
            info: Some(consumer.info()),
        })
    }

    pub(super) fn consumer_info(
        &self,
        stream: &str,
        name: &str,
        body: &[u8],
    ) -> Result<ConsumerInfoBody> {
        if !jsapi::is_empty_request(body) {
            return Err(JsError::NotEmptyRequest);
        }
        let (_, consumer) = self.consumer(stream, name)?;
        Ok(ConsumerInfoBody {
            info: Some(consumer.info()),
        })
    }

    pub(super) async fn consumer_delete(
        &self,
        stream: &str,
        name: &str,
        body: &[u8],
    ) -> Result<SuccessBody> {
        if !jsapi::is_empty_request(body) {
            return Err(JsError::NotEmptyRequest);
        }
        let _admin = self.js.admin.lock().await;
        let (entry, consumer) = self.consumer(stream, name)?;
        entry.consumers.map.write().remove(name);
        consumer.stop(true).await;
        if entry.config.read().retention == jsapi::RetentionPolicy::Interest {
            crate::jetstream::consumer::release_unneeded(&entry);
        }
        self.consumer_advisory("DELETED", "delete", stream, name);
        Ok(SuccessBody { success: true })
    }

    pub(super) fn consumer_names(&self, stream: &str, body: &[u8]) -> Result<ConsumerNamesBody> {
        let request: ConsumerNamesRequest = decode_optional_request(body, false)?;
        let entry = self.js.get(stream).ok_or(JsError::StreamNotFound)?;
        let names: Vec<String> = entry.consumers.map.read().keys().cloned().collect();
        let total = names.len();
        let page: Vec<String> = names
            .into_iter()
            .skip(request.offset)
            .take(jsapi::CONSUMER_NAMES_LIMIT)
            .collect();
        Ok(ConsumerNamesBody {
            paged: ApiPaged {
                total: total as u64,
                offset: request.offset.min(total) as u64,
                limit: jsapi::CONSUMER_NAMES_LIMIT as u64,
            },
            consumers: page,
        })
    }

    pub(super) fn consumer_list(&self, stream: &str, body: &[u8]) -> Result<ConsumerListBody> {
        let request: ConsumerNamesRequest = decode_optional_request(body, false)?;
        let entry = self.js.get(stream).ok_or(JsError::StreamNotFound)?;
        let all = entry.consumers.all();
        let total = all.len();
        let consumers = all
            .iter()
            .skip(request.offset)
            .take(jsapi::CONSUMER_LIST_LIMIT)
            .map(|c| c.info())
            .collect();
        Ok(ConsumerListBody {
            paged: ApiPaged {
                total: total as u64,
                offset: request.offset.min(total) as u64,
                limit: jsapi::CONSUMER_LIST_LIMIT as u64,
            },
            consumers,
            ..ConsumerListBody::default()
        })
    }

    pub(super) fn consumer_pause(
        &self,
        stream: &str,
        name: &str,
        body: &[u8],
    ) -> Result<ConsumerPauseBody> {
        let request: ConsumerPauseRequest = decode_optional_request(body, false)?;
        let (_, consumer) = self.consumer(stream, name)?;
        let now = Timestamp::now();
        let until = request.pause_until.filter(|t| *t > now);
        consumer.set_paused(until);
        let kind = "PAUSE";
        let body = json!({
            "type": "io.nats.jetstream.advisory.v1.consumer_pause",
            "stream": stream, "consumer": name, "paused": until.is_some(),
            "pause_until": until.unwrap_or(Timestamp::ZERO),
        });
        self.publish_advisory(
            &format!("$JS.EVENT.ADVISORY.CONSUMER.{kind}.{stream}.{name}"),
            body,
        );
        Ok(ConsumerPauseBody::at(until, now))
    }

    pub(super) fn consumer_reset(
        &self,
        stream: &str,
        name: &str,
        body: &[u8],
    ) -> Result<jsapi::ConsumerResetBody> {
        let request: jsapi::ConsumerResetRequest = decode_optional_request(body, false)?;
        let (entry, consumer) = self.consumer(stream, name)?;
        let config = consumer.config.read().clone();
        let start_time_seq = match config.opt_start_time {
            Some(t) if config.deliver_policy == jsapi::DeliverPolicy::ByStartTime => {
                let store = entry.stream.store.read();
                weir_consumer::first_at_or_after(&**store, t.unix_nanos())
                    .map_err(|e| JsError::StreamGeneralError { err: e.to_string() })?
                    .unwrap_or(0)
            }
            _ => 0,
        };
        jsapi::check_consumer_reset(&config, request.seq, start_time_seq)?;
        let reset_seq = consumer.reset(request.seq);
        Ok(jsapi::ConsumerResetBody {
            info: Some(consumer.info()),
            reset_seq,
        })
    }

    pub(super) fn consumer_unpin(
        &self,
        stream: &str,
        name: &str,
        body: &[u8],
    ) -> Result<jsapi::EmptyBody> {
        let request: jsapi::ConsumerUnpinRequest = decode_request(body, false)?;
        request.validate()?;
        let (_, consumer) = self.consumer(stream, name)?;
        if !consumer
            .config
            .read()
            .priority_groups
            .contains(&request.group)
        {
            return Err(JsError::ConsumerInvalidPriorityGroup);
        }
        consumer.unpin();
        Ok(jsapi::EmptyBody {})
    }

    fn consumer_advisory(&self, kind: &str, action: &str, stream: &str, name: &str) {
        let body = json!({
            "type": "io.nats.jetstream.advisory.v1.consumer_action",
            "stream": stream, "consumer": name, "action": action,
        });
        self.publish_advisory(
            &format!("$JS.EVENT.ADVISORY.CONSUMER.{kind}.{stream}.{name}"),
            body,
        );
    }

    fn publish_advisory(&self, subject: &str, body: serde_json::Value) {
        let payload = crate::jetstream::advisory_payload(body);
        self.state.publish(subject.as_bytes(), None, None, &payload);
    }
}

/// An ephemeral consumer's generated name: 8 characters, as nats-server's.
fn ephemeral_name() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::thread_rng();
    (0..8)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}
