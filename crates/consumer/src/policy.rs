//! What the engine needs of a consumer's configuration, in engine units (ns, counts).
//! The server derives it from the JetStream `ConsumerConfig`.

use bytes::Bytes;

use crate::tracker::AckMode;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub stream: String,
    pub name: String,
    pub ack: AckMode,
    pub ack_wait_ns: i64,
    pub backoff_ns: Vec<i64>,
    /// <= 0: unlimited.
    pub max_deliver: i64,
    /// <= 0: unlimited.
    pub max_ack_pending: i64,
    /// Subject filters; empty means every subject. Never overlapping.
    pub filters: Vec<Bytes>,
    pub replay_original: bool,
    pub mode: Mode,
    /// Pull priority-group policy (ADR-42).
    pub priority: Priority,
    /// `sample_freq` is set: every explicit ack is reported for the ack metric (the runtime
    /// samples them).
    pub ack_metrics: bool,
    /// Push delivery rate limit in bits per second (`rate_limit_bps`); 0: none.
    pub rate_limit_bps: u64,
}

/// How waiting pull requests are chosen (ADR-42).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Priority {
    /// Round robin over every waiting request.
    #[default]
    None,
    /// Requests with `min_pending`/`min_ack_pending` are served only while the consumer is
    /// that far behind; requests without conditions come first.
    Overflow,
    /// One client gets everything; another takes over after `timeout_ns` without its pulls.
    PinnedClient { timeout_ns: i64 },
    /// The lowest `priority` number among waiting requests is served first.
    Prioritized,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Pull {
        max_waiting: usize,
    },
    Push {
        deliver_subject: Bytes,
        flow_control: bool,
        /// 0: no heartbeats.
        idle_heartbeat_ns: i64,
    },
}

/// Where delivery starts (`deliver_policy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartPolicy {
    All,
    Last,
    New,
    Sequence(u64),
    /// Unix ns.
    Time(i64),
    LastPerSubject,
}

impl Policy {
    pub fn is_pull(&self) -> bool {
        matches!(self.mode, Mode::Pull { .. })
    }

    pub fn filter_refs(&self) -> Vec<&[u8]> {
        self.filters.iter().map(|f| &f[..]).collect()
    }
}
