//! The JetStream API error catalogue: nats-server's `code` (HTTP-like),
//! `err_code` (10xxx) and description template for every stream, account
//! and publish error Weir can return.
//!
//! Numbers and templates are nats-server's `server/errors.json` (2.14); each
//! `{name}` in a template is a field of the variant. A test checks that every
//! `err_code` is unique.

use serde::{Deserialize, Serialize};

/// The wire form: `{"code":…,"err_code":…,"description":…}` (ADR-1, ADR-7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    pub code: u16,
    #[serde(default, skip_serializing_if = "is_zero_u16")]
    pub err_code: u16,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
}

fn is_zero_u16(v: &u16) -> bool {
    *v == 0
}

impl From<&JsError> for ApiError {
    fn from(e: &JsError) -> Self {
        e.to_json()
    }
}

impl From<JsError> for ApiError {
    fn from(e: JsError) -> Self {
        e.to_json()
    }
}

macro_rules! catalogue {
    ($( $(#[$meta:meta])* $variant:ident $({ $($field:ident),+ })? = $code:literal, $err_code:literal, $desc:literal; )*) => {
        /// A JetStream API error. `Display` is the filled-in description.
        #[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
        #[non_exhaustive]
        pub enum JsError {
            $( $(#[$meta])* #[error($desc)] $variant $({ $($field: String),+ })?, )*
        }

        impl JsError {
            /// HTTP-like status (`code`).
            pub fn code(&self) -> u16 {
                match self { $( Self::$variant { .. } => $code, )* }
            }

            /// nats-server's `err_code` (10xxx).
            pub fn err_code(&self) -> u16 {
                match self { $( Self::$variant { .. } => $err_code, )* }
            }

            /// nats-server's constant name without the `JS` prefix and `Err`
            /// suffix, e.g. `StreamNotFound`.
            pub fn name(&self) -> &'static str {
                match self { $( Self::$variant { .. } => stringify!($variant), )* }
            }
        }

        /// Every entry: (name, code, err_code, description template).
        pub const CATALOGUE: &[(&str, u16, u16, &str)] = &[
            $( (stringify!($variant), $code, $err_code, $desc), )*
        ];
    };
}

catalogue! {
    // --- account / general ---
    AccountResourcesExceeded = 400, 10002, "resource limits exceeded for account";
    BadRequest = 400, 10003, "bad request";
    ClusterIncomplete = 503, 10004, "incomplete results";
    ClusterNotActive = 500, 10006, "JetStream not in clustered mode";
    ClusterNotAvail = 503, 10008, "JetStream system temporarily unavailable";
    ClusterNotLeader = 500, 10009, "JetStream cluster can not handle request";
    ClusterRequired = 503, 10010, "JetStream clustering support required";
    ClusterTags = 400, 10011, "tags placement not supported for operation";
    ConsumerNotFound = 404, 10014, "consumer not found";
    SnapshotDeliverSubjectInvalid = 400, 10015, "deliver subject not valid";
    InsufficientResources = 503, 10023, "insufficient resources";
    /// 2.9 sends a bare "invalid JSON"; 2.14 appends the decoder's error.
    InvalidJson { err } = 400, 10025, "invalid JSON: {err}";
    MaximumConsumersLimit = 400, 10026, "maximum consumers limit reached";
    MaximumStreamsLimit = 400, 10027, "maximum number of streams reached";
    MemoryResourcesExceeded = 500, 10028, "insufficient memory resources available";
    NoAccount = 503, 10035, "account not found";
    ClusterUnSupportFeature = 503, 10036, "not currently supported in clustered mode";
    NoMessageFound = 404, 10037, "no message found";
    NotEmptyRequest = 400, 10038, "expected an empty request payload";
    /// JetStream is enabled on the server but not for this account.
    NotEnabledForAccount = 503, 10039, "JetStream not enabled for account";
    RestoreSubscribeFailed { subject, err } = 500, 10042, "JetStream unable to subscribe to restore snapshot {subject}: {err}";
    SequenceNotFound { seq } = 400, 10043, "sequence {seq} not found";
    StorageResourcesExceeded = 500, 10047, "insufficient storage resources available";
    TempStorageFailed = 500, 10072, "JetStream unable to open temp storage for restore";
    /// JetStream is not enabled on the server at all.
    NotEnabled = 503, 10076, "JetStream not enabled";
    NoLimits = 400, 10120, "no JetStream default or applicable tiered limit present";
    ReplicasCountCannotBeNegative = 400, 10133, "replicas count cannot be negative";
    Pedantic { err } = 400, 10157, "pedantic mode: {err}";
    RequiredApiLevel = 412, 10185, "JetStream minimum api level required";

    // --- stream management ---
    StreamExternalApiOverlap { prefix, subject } = 400, 10021, "stream external api prefix {prefix} must not overlap with {subject}";
    StreamExternalDelPrefixOverlaps { prefix, subject } = 400, 10022, "stream external delivery prefix {prefix} overlaps with stream subject {subject}";
    StreamInvalidExternalDeliverySubj { prefix } = 400, 10024, "stream external delivery prefix {prefix} must not contain wildcards";
    MirrorMaxMessageSizeTooBig = 400, 10030, "stream mirror must have max message size >= source";
    MirrorWithSources = 400, 10031, "stream mirrors can not also contain other sources";
    MirrorWithStartSeqAndTime = 400, 10032, "stream mirrors can not have both start seq and start time configured";
    MirrorWithSubjectFilters = 400, 10033, "stream mirrors can not contain filtered subjects";
    MirrorWithSubjects = 400, 10034, "stream mirrors can not contain subjects";
    SourceMaxMessageSizeTooBig = 400, 10046, "stream source must have max message size >= target";
    StreamAssignment { err } = 500, 10048, "{err}";
    StreamCreate { err } = 500, 10049, "{err}";
    StreamDelete { err } = 500, 10050, "{err}";
    StreamGeneralError { err } = 500, 10051, "{err}";
    /// Config validation failures; nats-server sends them with code 500.
    StreamInvalidConfig { err } = 500, 10052, "{err}";
    StreamLimits { err } = 500, 10053, "{err}";
    StreamMessageExceedsMaximum = 400, 10054, "message size exceeds maximum allowed";
    StreamMirrorNotUpdatable = 400, 10055, "stream mirror configuration can not be updated";
    /// The name in the API subject differs from the name in the body.
    StreamMismatch = 400, 10056, "stream name in subject does not match request";
    StreamMsgDeleteFailed { err } = 500, 10057, "{err}";
    StreamNameExist = 400, 10058, "stream name already in use with a different configuration";
    StreamNotFound = 404, 10059, "stream not found";
    /// `Nats-Expected-Stream` mismatch.
    StreamNotMatch = 400, 10060, "expected stream does not match";
    StreamReplicasNotUpdatable = 400, 10061, "Replicas configuration can not be updated";
    StreamRestore { err } = 500, 10062, "restore failed: {err}";
    StreamSequenceNotMatch = 503, 10063, "expected stream sequence does not match";
    StreamSnapshot { err } = 500, 10064, "snapshot failed: {err}";
    StreamSubjectOverlap = 400, 10065, "subjects overlap with an existing stream";
    StreamUpdate { err } = 500, 10069, "{err}";
    StreamWrongLastMsgId { id } = 400, 10070, "wrong last msg ID: {id}";
    StreamWrongLastSequence { seq } = 400, 10071, "wrong last sequence: {seq}";
    StreamReplicasNotSupported = 500, 10074, "replicas > 1 not supported in non-clustered mode";
    /// Storing failed, e.g. "maximum messages exceeded" under discard new.
    StreamStoreFailed { err } = 503, 10077, "{err}";
    StreamInvalid = 500, 10096, "stream not valid";
    StreamHeaderExceedsMaximum = 400, 10097, "header size exceeds maximum allowed of 64k";
    StreamSealed = 400, 10109, "invalid operation on sealed stream";
    StreamPurgeFailed { err } = 500, 10110, "{err}";
    StreamRollupFailed { err } = 500, 10111, "{err}";
    StreamMaxBytesRequired = 400, 10113, "account requires a stream config to have max bytes set";
    StreamInfoMaxSubjects = 500, 10117, "subject details would exceed maximum allowed";
    StreamOffline = 500, 10118, "stream is offline";
    StreamMaxStreamBytesExceeded = 400, 10122, "stream max bytes exceeds account limit max stream bytes";
    StreamMoveAndScale = 400, 10123, "can not move and scale a stream in a single update";
    StreamMoveInProgress = 400, 10124, "stream move already in progress";
    StreamNameContainsPathSeparators = 400, 10128, "Stream name can not contain path separators";
    StreamReconfigureNotInProgress = 400, 10129, "stream reconfiguration not in progress";
    StreamNameExistRestoreFailed = 400, 10130, "stream name already in use, cannot restore";
    SourceDuplicateDetected = 400, 10140, "duplicate source configuration detected";
    SourceInvalidStreamName = 400, 10141, "sourced stream name is invalid";
    MirrorInvalidStreamName = 400, 10142, "mirrored stream name is invalid";
    MirrorWithFirstSeq = 400, 10143, "stream mirrors can not have first sequence configured";
    SourceMultipleFiltersNotAllowed = 400, 10144, "source with multiple subject transforms cannot also have a single subject filter";
    SourceInvalidSubjectFilter { err } = 400, 10145, "source transform source: {err}";
    SourceInvalidTransformDestination { err } = 400, 10146, "source transform: {err}";
    SourceOverlappingSubjectFilters = 400, 10147, "source filters can not overlap";
    MirrorMultipleFiltersNotAllowed = 400, 10150, "mirror with multiple subject transforms cannot also have a single subject filter";
    MirrorInvalidSubjectFilter { err } = 400, 10151, "mirror transform source: {err}";
    MirrorOverlappingSubjectFilters = 400, 10152, "mirror subject filters can not overlap";
    MirrorInvalidTransformDestination { err } = 400, 10154, "mirror transform: {err}";
    StreamTransformInvalidSource { err } = 400, 10155, "stream transform source: {err}";
    StreamTransformInvalidDestination { err } = 400, 10156, "stream transform: {err}";
    MirrorWithCounters = 400, 10173, "stream mirrors can not also calculate counters";
    MirrorWithMsgSchedules = 400, 10186, "stream mirrors can not also schedule messages";
    SourceWithMsgSchedules = 400, 10187, "stream source can not also schedule messages";
    StreamOfflineReason { err } = 500, 10194, "stream is offline: {err}";
    MirrorWithAtomicPublish = 400, 10198, "stream mirrors can not also use atomic publishing";
    MirrorWithBatchPublish = 400, 10209, "stream mirrors can not also use batch publishing";
    MirrorDurableConsumerCfgInvalid = 400, 10213, "stream mirror consumer config is invalid";
    MirrorConsumerRequiresAckFc = 400, 10214, "stream mirror consumer requires flow control ack policy";
    SourceDurableConsumerCfgInvalid = 400, 10215, "stream source consumer config is invalid";
    SourceDurableConsumerDuplicateDetected = 400, 10216, "duplicate stream source consumer detected";
    SourceConsumerRequiresAckFc = 400, 10217, "stream source consumer requires flow control ack policy";
    StreamReconfigureInProgress = 400, 10226, "stream reconfiguration already in progress";

    // --- consumers ---
    /// Generic create/update failure; the update rules' texts arrive here.
    ConsumerCreate { err } = 500, 10012, "{err}";
    ConsumerNameExist = 400, 10013, "consumer name already in use";
    ConsumerDurableNameNotInSubject = 400, 10016, "consumer expected to be durable but no durable name set in subject";
    ConsumerDurableNameNotMatchSubject = 400, 10017, "consumer name in subject does not match durable name in request";
    ConsumerDurableNameNotSet = 400, 10018, "consumer expected to be durable but a durable name was not set";
    ConsumerEphemeralWithDurableInSubject = 400, 10019, "consumer expected to be ephemeral but detected a durable name set in subject";
    ConsumerEphemeralWithDurableName = 400, 10020, "consumer expected to be ephemeral but a durable name was set in request";
    ConsumerConfigRequired = 400, 10078, "consumer config required";
    ConsumerDeliverToWildcards = 400, 10079, "consumer deliver subject has wildcards";
    ConsumerPushMaxWaiting = 400, 10080, "consumer in push mode can not set max waiting";
    ConsumerDeliverCycle = 400, 10081, "consumer deliver subject forms a cycle";
    ConsumerMaxPendingAckPolicyRequired = 400, 10082, "consumer requires ack policy for max ack pending";
    ConsumerSmallHeartbeat = 400, 10083, "consumer idle heartbeat needs to be >= 100ms";
    ConsumerPullRequiresAck = 400, 10084, "consumer in pull mode requires explicit ack policy on workqueue stream";
    ConsumerPullNotDurable = 400, 10085, "consumer in pull mode requires a durable name";
    ConsumerPullWithRateLimit = 400, 10086, "consumer in pull mode can not have rate limit set";
    ConsumerMaxWaitingNegative = 400, 10087, "consumer max waiting needs to be positive";
    ConsumerHbRequiresPush = 400, 10088, "consumer idle heartbeat requires a push based consumer";
    ConsumerFcRequiresPush = 400, 10089, "consumer flow control requires a push based consumer";
    ConsumerDirectRequiresPush = 400, 10090, "consumer direct requires a push based consumer";
    ConsumerDirectRequiresEphemeral = 400, 10091, "consumer direct requires an ephemeral consumer";
    ConsumerOnMapped = 400, 10092, "consumer direct on a mapped consumer";
    ConsumerFilterNotSubset = 400, 10093, "consumer filter subject is not a valid subset of the interest subjects";
    /// Deliver policy vs start sequence/time conflicts.
    ConsumerInvalidPolicy { err } = 400, 10094, "{err}";
    ConsumerInvalidSampling { err } = 400, 10095, "failed to parse consumer sampling configuration: {err}";
    ConsumerWqRequiresExplicitAck = 400, 10098, "workqueue stream requires explicit ack";
    ConsumerWqMultipleUnfiltered = 400, 10099, "multiple non-filtered consumers not allowed on workqueue stream";
    ConsumerWqConsumerNotUnique = 400, 10100, "filtered consumer not unique on workqueue stream";
    ConsumerWqConsumerNotDeliverAll = 400, 10101, "consumer must be deliver all on workqueue stream";
    ConsumerNameTooLong { max } = 400, 10102, "consumer name is too long, maximum allowed is {max}";
    ConsumerBadDurableName = 400, 10103, "durable name can not contain '.', '*', '>'";
    ConsumerStoreFailed { err } = 500, 10104, "error creating store for consumer: {err}";
    ConsumerExistingActive = 400, 10105, "consumer already exists and is still active";
    ConsumerReplacementWithDifferentName = 400, 10106, "consumer replacement durable config not the same";
    ConsumerDescriptionTooLong { max } = 400, 10107, "consumer description is too long, maximum allowed is {max}";
    ConsumerWithFlowControlNeedsHeartbeats = 400, 10108, "consumer with flow control also needs heartbeats";
    ConsumerInvalidDeliverSubject = 400, 10112, "invalid push consumer deliver subject";
    ConsumerMaxRequestBatchNegative = 400, 10114, "consumer max request batch needs to be > 0";
    ConsumerMaxRequestExpiresTooSmall = 400, 10115, "consumer max request expires needs to be >= 1ms";
    ConsumerMaxDeliverBackoff = 400, 10116, "max deliver is required to be > length of backoff values";
    ConsumerOffline = 500, 10119, "consumer is offline";
    ConsumerMaxPendingAckExcess { limit } = 400, 10121, "consumer max ack pending exceeds system limit of {limit}";
    ConsumerMaxRequestBatchExceeded { limit } = 400, 10125, "consumer max request batch exceeds server limit of {limit}";
    ConsumerReplicasExceedsStream = 400, 10126, "consumer config replica count exceeds parent stream";
    ConsumerNameContainsPathSeparators = 400, 10127, "Consumer name can not contain path separators";
    ConsumerCreateFilterSubjectMismatch = 400, 10131, "Consumer create request did not match filtered subject from create subject";
    ConsumerCreateDurableAndNameMismatch = 400, 10132, "Consumer Durable and Name have to be equal if both are provided";
    ConsumerReplicasShouldMatchStream = 400, 10134, "consumer config replicas must match interest retention stream's replicas";
    ConsumerMetadataLength { limit } = 400, 10135, "consumer metadata exceeds maximum size of {limit}";
    ConsumerDuplicateFilterSubjects = 400, 10136, "consumer cannot have both FilterSubject and FilterSubjects specified";
    ConsumerMultipleFiltersNotAllowed = 400, 10137, "consumer with multiple subject filters cannot use subject based API";
    ConsumerOverlappingSubjectFilters = 400, 10138, "consumer subject filters cannot overlap";
    ConsumerEmptyFilter = 400, 10139, "consumer filter in FilterSubjects cannot be empty";
    /// Action `create` on an existing consumer with a different config.
    ConsumerAlreadyExists = 400, 10148, "consumer already exists";
    /// Action `update` on a consumer that does not exist.
    ConsumerDoesNotExist = 400, 10149, "consumer does not exist";
    ConsumerInactiveThresholdExcess { limit } = 400, 10153, "consumer inactive threshold exceeds system limit of {limit}";
    ConsumerPriorityPolicyWithoutGroup = 400, 10159, "Setting PriorityPolicy requires at least one PriorityGroup to be set";
    ConsumerInvalidPriorityGroup = 400, 10160, "Provided priority group does not exist for this consumer";
    ConsumerEmptyGroupName = 400, 10161, "Group name cannot be an empty string";
    ConsumerInvalidGroupName = 400, 10162, "Valid priority group name must match A-Z, a-z, 0-9, -_/=)+ and may not exceed 16 characters";
    ConsumerPushWithPriorityGroup = 400, 10178, "priority groups can not be used with push consumers";
    ConsumerAckPolicyInvalid = 400, 10181, "consumer ack policy invalid";
    ConsumerReplayPolicyInvalid = 400, 10182, "consumer replay policy invalid";
    ConsumerAckWaitNegative = 400, 10183, "consumer ack wait needs to be positive";
    ConsumerBackOffNegative = 400, 10184, "consumer backoff needs to be positive";
    ConsumerOfflineReason { err } = 500, 10195, "consumer is offline: {err}";
    ConsumerPriorityGroupWithPolicyNone = 400, 10196, "consumer can not have priority groups when policy is none";
    ConsumerPinnedTtlWithoutPriorityPolicyNone = 400, 10197, "PinnedTTL cannot be set when PriorityPolicy is none";
    ConsumerInvalidReset { err } = 400, 10204, "invalid reset: {err}";
    ConsumerAckFcRequiresPush = 400, 10218, "flow control ack policy requires a push based consumer";
    ConsumerAckFcRequiresFc = 400, 10219, "flow control ack policy requires flow control";
    ConsumerAckFcRequiresMaxAckPending = 400, 10220, "flow control ack policy requires max ack pending";
    ConsumerAckFcRequiresNoAckWait = 400, 10221, "flow control ack policy requires unset ack wait";
    ConsumerAckFcRequiresNoMaxDeliver = 400, 10222, "flow control ack policy requires unset max deliver";
    /// nats-io/nats-server main numbers this 10225 (a 2.14-era fork has 10224).
    ConsumerStreamIdentityMismatch { msg } = 400, 10225, "consumer's stream identity does not match: {msg}";

    // --- publish ---
    StreamDuplicateMessageConflict = 409, 10158, "duplicate message id is in process";
    StreamExpectedLastSeqPerSubjectNotReady = 503, 10163, "expected last sequence per subject temporarily unavailable";
    StreamWrongLastSequenceConstant = 400, 10164, "wrong last sequence";
    MessageTtlInvalid = 400, 10165, "invalid per-message TTL";
    MessageTtlDisabled = 400, 10166, "per-message TTL is disabled";
    StreamTooManyRequests = 429, 10167, "too many requests";
    MessageIncrDisabled = 400, 10168, "message counters is disabled";
    MessageIncrMissing = 400, 10169, "message counter increment is missing";
    MessageIncrPayload = 400, 10170, "message counter has payload";
    MessageIncrInvalid = 400, 10171, "message counter increment is invalid";
    MessageCounterBroken = 400, 10172, "message counter is broken";
    AtomicPublishDisabled = 400, 10174, "atomic publish is disabled";
    AtomicPublishMissingSeq = 400, 10175, "atomic publish sequence is missing";
    AtomicPublishIncompleteBatch = 400, 10176, "atomic publish batch is incomplete";
    AtomicPublishUnsupportedHeaderBatch { header } = 400, 10177, "atomic publish unsupported header used: {header}";
    AtomicPublishInvalidBatchId = 400, 10179, "atomic publish batch ID is invalid";
    StreamMinLastSeq = 412, 10180, "min last sequence";
    MessageSchedulesDisabled = 400, 10188, "message schedules is disabled";
    MessageSchedulesPatternInvalid = 400, 10189, "message schedules pattern is invalid";
    MessageSchedulesTargetInvalid = 400, 10190, "message schedules target is invalid";
    MessageSchedulesTtlInvalid = 400, 10191, "message schedules invalid per-message TTL";
    MessageSchedulesRollupInvalid = 400, 10192, "message schedules invalid rollup";
    StreamExpectedLastSeqPerSubjectInvalid = 400, 10193, "missing sequence for expected last sequence per subject";
    AtomicPublishTooLargeBatch { size } = 400, 10199, "atomic publish batch is too large: {size}";
    AtomicPublishInvalidBatchCommit = 400, 10200, "atomic publish batch commit is invalid";
    AtomicPublishContainsDuplicateMessage = 400, 10201, "atomic publish batch contains duplicate message id";
    MessageSchedulesSourceInvalid = 400, 10203, "message schedules source is invalid";
    BatchPublishDisabled = 400, 10205, "batch publish is disabled";
    BatchPublishInvalidPattern = 400, 10206, "batch publish pattern is invalid";
    BatchPublishInvalidBatchId = 400, 10207, "batch publish ID is invalid";
    BatchPublishUnknownBatchId = 400, 10208, "batch publish ID unknown";
    AtomicPublishTooManyInflight = 429, 10210, "atomic publish too many inflight";
    BatchPublishTooManyInflight = 429, 10211, "batch publish too many inflight";
    MessageSchedulesSchedulerInvalid = 400, 10212, "message schedules invalid scheduler";
    MessageSchedulesTimeZoneInvalid = 400, 10223, "message schedules time zone is invalid";
}

impl JsError {
    /// The wire form with the template filled in.
    pub fn to_json(&self) -> ApiError {
        ApiError {
            code: self.code(),
            err_code: self.err_code(),
            description: self.to_string(),
        }
    }

    /// 10052 with the given text.
    pub fn invalid_config(err: impl Into<String>) -> Self {
        Self::StreamInvalidConfig { err: err.into() }
    }

    /// 10025 with the decoder's message.
    pub fn invalid_json(err: impl Into<String>) -> Self {
        Self::InvalidJson { err: err.into() }
    }

    /// Discard-new rejection when `max_msgs` is reached (10077).
    pub fn max_msgs_exceeded() -> Self {
        Self::StreamStoreFailed {
            err: "maximum messages exceeded".into(),
        }
    }

    /// Discard-new rejection when `max_bytes` is reached (10077).
    pub fn max_bytes_exceeded() -> Self {
        Self::StreamStoreFailed {
            err: "maximum bytes exceeded".into(),
        }
    }

    /// Discard-new-per-subject rejection (10077).
    pub fn max_msgs_per_subject_exceeded() -> Self {
        Self::StreamStoreFailed {
            err: "maximum messages per subject exceeded".into(),
        }
    }

    /// Message delete on a `deny_delete` stream (10057, as 2.9.10 sends it).
    pub fn msg_delete_not_permitted() -> Self {
        Self::StreamMsgDeleteFailed {
            err: "message delete not permitted".into(),
        }
    }

    /// Purge on a `deny_purge` stream (10110, as 2.9.10 sends it).
    pub fn purge_not_permitted() -> Self {
        Self::StreamPurgeFailed {
            err: "stream purge not permitted".into(),
        }
    }

    /// 10043 for a sequence number.
    pub fn sequence_not_found(seq: u64) -> Self {
        Self::SequenceNotFound {
            seq: seq.to_string(),
        }
    }

    /// 10071 with the stream's (or subject's) actual last sequence.
    pub fn wrong_last_sequence(actual: u64) -> Self {
        Self::StreamWrongLastSequence {
            seq: actual.to_string(),
        }
    }

    /// 10070 with the stream's actual last message id.
    pub fn wrong_last_msg_id(actual: impl Into<String>) -> Self {
        Self::StreamWrongLastMsgId { id: actual.into() }
    }

    /// 10012 with the update rule's (or other) text.
    pub fn consumer_create(err: impl Into<String>) -> Self {
        Self::ConsumerCreate { err: err.into() }
    }

    /// 10094 with the deliver-policy conflict text.
    pub fn consumer_invalid_policy(err: impl Into<String>) -> Self {
        Self::ConsumerInvalidPolicy { err: err.into() }
    }

    /// 10095; `err` is Go's `strconv.Atoi` error, or `<nil>` for a
    /// negative number (nats-server formats a nil error).
    pub fn consumer_invalid_sampling(err: impl Into<String>) -> Self {
        Self::ConsumerInvalidSampling { err: err.into() }
    }

    /// 10102 for a durable name longer than `max`.
    pub fn consumer_name_too_long(max: usize) -> Self {
        Self::ConsumerNameTooLong {
            max: max.to_string(),
        }
    }

    /// 10107 for a description longer than `max`.
    pub fn consumer_description_too_long(max: usize) -> Self {
        Self::ConsumerDescriptionTooLong {
            max: max.to_string(),
        }
    }

    /// 10121 naming the limit that `max_ack_pending` exceeds.
    pub fn consumer_max_pending_ack_excess(limit: i64) -> Self {
        Self::ConsumerMaxPendingAckExcess {
            limit: limit.to_string(),
        }
    }

    /// 10125 naming the server's `max_request_batch`.
    pub fn consumer_max_request_batch_exceeded(limit: i64) -> Self {
        Self::ConsumerMaxRequestBatchExceeded {
            limit: limit.to_string(),
        }
    }

    /// 10153 naming the stream's limit as a Go duration (`5m0s`).
    pub fn consumer_inactive_threshold_excess(limit_ns: i64) -> Self {
        Self::ConsumerInactiveThresholdExcess {
            limit: crate::duration::go_duration(limit_ns),
        }
    }

    /// 10104 (store creation failed).
    pub fn consumer_store_failed(err: impl Into<String>) -> Self {
        Self::ConsumerStoreFailed { err: err.into() }
    }

    /// 10195 with the reason the consumer is offline.
    pub fn consumer_offline_reason(err: impl Into<String>) -> Self {
        Self::ConsumerOfflineReason { err: err.into() }
    }

    /// 10204 with why the reset sequence is refused (`below start seq`,
    /// `below start time`, `not allowed`).
    pub fn consumer_invalid_reset(err: impl Into<String>) -> Self {
        Self::ConsumerInvalidReset { err: err.into() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn err_codes_are_unique_and_in_range() {
        let mut seen = HashSet::new();
        for (name, code, err_code, desc) in CATALOGUE {
            assert!(
                seen.insert(*err_code),
                "duplicate err_code {err_code} ({name})"
            );
            assert!((10002..=10227).contains(err_code), "{name}");
            assert!([400, 404, 409, 412, 429, 500, 503].contains(code), "{name}");
            assert!(!desc.is_empty());
        }
    }

    #[test]
    fn well_known_numbers() {
        let cases = [
            (JsError::StreamNotFound, 404, 10059, "stream not found"),
            (
                JsError::StreamNameExist,
                400,
                10058,
                "stream name already in use with a different configuration",
            ),
            (JsError::NotEnabled, 503, 10076, "JetStream not enabled"),
            (
                JsError::NotEnabledForAccount,
                503,
                10039,
                "JetStream not enabled for account",
            ),
            (
                JsError::StreamSubjectOverlap,
                400,
                10065,
                "subjects overlap with an existing stream",
            ),
            (
                JsError::wrong_last_sequence(7),
                400,
                10071,
                "wrong last sequence: 7",
            ),
            (
                JsError::wrong_last_msg_id("a"),
                400,
                10070,
                "wrong last msg ID: a",
            ),
            (
                JsError::StreamNotMatch,
                400,
                10060,
                "expected stream does not match",
            ),
            (
                JsError::StreamMessageExceedsMaximum,
                400,
                10054,
                "message size exceeds maximum allowed",
            ),
            (
                JsError::max_msgs_exceeded(),
                503,
                10077,
                "maximum messages exceeded",
            ),
            (
                JsError::MaximumStreamsLimit,
                400,
                10027,
                "maximum number of streams reached",
            ),
            (JsError::NoMessageFound, 404, 10037, "no message found"),
            (
                JsError::StreamSealed,
                400,
                10109,
                "invalid operation on sealed stream",
            ),
            (JsError::BadRequest, 400, 10003, "bad request"),
            (
                JsError::MessageTtlInvalid,
                400,
                10165,
                "invalid per-message TTL",
            ),
            (
                JsError::MessageTtlDisabled,
                400,
                10166,
                "per-message TTL is disabled",
            ),
            (
                JsError::invalid_config("invalid subject"),
                500,
                10052,
                "invalid subject",
            ),
            (
                JsError::sequence_not_found(1),
                400,
                10043,
                "sequence 1 not found",
            ),
            (
                JsError::StreamReplicasNotSupported,
                500,
                10074,
                "replicas > 1 not supported in non-clustered mode",
            ),
        ];
        for (e, code, err_code, desc) in cases {
            let j = e.to_json();
            assert_eq!(
                (j.code, j.err_code, j.description.as_str()),
                (code, err_code, desc)
            );
        }
    }

    #[test]
    fn consumer_numbers_and_helpers() {
        let cases = [
            (JsError::consumer_create("x"), 500, 10012, "x"),
            (
                JsError::ConsumerNameExist,
                400,
                10013,
                "consumer name already in use",
            ),
            (
                JsError::ConsumerAlreadyExists,
                400,
                10148,
                "consumer already exists",
            ),
            (
                JsError::ConsumerDoesNotExist,
                400,
                10149,
                "consumer does not exist",
            ),
            (
                JsError::consumer_name_too_long(255),
                400,
                10102,
                "consumer name is too long, maximum allowed is 255",
            ),
            (
                JsError::consumer_store_failed("disk"),
                500,
                10104,
                "error creating store for consumer: disk",
            ),
            (JsError::ConsumerOffline, 500, 10119, "consumer is offline"),
            (
                JsError::consumer_max_pending_ack_excess(10),
                400,
                10121,
                "consumer max ack pending exceeds system limit of 10",
            ),
            (
                JsError::consumer_inactive_threshold_excess(90_000_000_000),
                400,
                10153,
                "consumer inactive threshold exceeds system limit of 1m30s",
            ),
            (
                JsError::consumer_offline_reason("r"),
                500,
                10195,
                "consumer is offline: r",
            ),
            (
                JsError::consumer_invalid_reset("not allowed"),
                400,
                10204,
                "invalid reset: not allowed",
            ),
            (
                JsError::ConsumerSmallHeartbeat,
                400,
                10083,
                "consumer idle heartbeat needs to be >= 100ms",
            ),
        ];
        for (e, code, err_code, desc) in cases {
            let j = e.to_json();
            assert_eq!(
                (j.code, j.err_code, j.description.as_str()),
                (code, err_code, desc)
            );
        }
        // Go's JSON encoder escapes `>` in the description on the wire.
        let wire = crate::to_go_json(&JsError::ConsumerSmallHeartbeat.to_json());
        assert!(String::from_utf8(wire).unwrap().contains(r"\u003e= 100ms"));
    }

    #[test]
    fn api_error_json_shape() {
        let j = serde_json::to_string(&JsError::StreamNotFound.to_json()).unwrap();
        assert_eq!(
            j,
            r#"{"code":404,"err_code":10059,"description":"stream not found"}"#
        );
        // err_code and description are omitempty in nats-server.
        let bare: ApiError = serde_json::from_str(r#"{"code":503}"#).unwrap();
        assert_eq!(serde_json::to_string(&bare).unwrap(), r#"{"code":503}"#);
    }

    #[test]
    fn templates_fill_every_field() {
        let e = JsError::StreamExternalApiOverlap {
            prefix: "$JS.API".into(),
            subject: "$JS.API".into(),
        };
        assert_eq!(
            e.to_string(),
            "stream external api prefix $JS.API must not overlap with $JS.API"
        );
        assert_eq!(e.name(), "StreamExternalApiOverlap");
        for (_, _, _, desc) in CATALOGUE {
            // No template keeps an unfilled placeholder once formatted by thiserror;
            // here we just check they are well-formed (balanced braces).
            assert_eq!(desc.matches('{').count(), desc.matches('}').count());
        }
    }
}
