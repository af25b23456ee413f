//! Server options: the merged result of defaults, the config file and command-line flags.
//! Field names follow nats-server's option names; units are last in names.

use std::path::PathBuf;
use std::time::Duration;

/// The `authorization` block: a token, one user, or a list of users.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Authorization {
    pub user: Option<String>,
    pub password: Option<String>,
    pub token: Option<String>,
    pub users: Vec<UserConfig>,
    /// Permissions of users that have none of their own.
    pub default_permissions: Option<crate::auth::PermissionsConfig>,
}

/// One entry of `authorization { users: [...] }`: a password user or an nkey user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserConfig {
    pub user: Option<String>,
    /// Plain text or a bcrypt hash (`$2a$...`).
    pub password: Option<String>,
    /// The user's public nkey (`U...`).
    pub nkey: Option<String>,
    pub permissions: Option<crate::auth::PermissionsConfig>,
    /// The account the user belongs to (set for users listed inside `accounts`).
    pub account: Option<String>,
}

/// One account of the `accounts` block.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountConfig {
    pub name: String,
    /// JetStream for this account, with its limits; `None`: not enabled.
    pub jetstream: Option<AccountJetStreamLimits>,
    pub exports: Vec<ExportConfig>,
    pub imports: Vec<ImportConfig>,
}

/// An account's JetStream limits; `None` means unlimited (-1 in the API).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountJetStreamLimits {
    pub max_memory_bytes: Option<u64>,
    pub max_store_bytes: Option<u64>,
    pub max_streams: Option<u64>,
    pub max_consumers: Option<u64>,
    pub max_ack_pending: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportKind {
    /// Messages published on the subject flow to importers.
    Stream,
    /// Requests from importers reach the exporter's responders; replies flow back.
    Service,
}

/// `exports: [{stream: "a.>"}, {service: "svc", accounts: [B]}]`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportConfig {
    pub kind: ExportKind,
    pub subject: String,
    /// Accounts allowed to import; empty means every account.
    pub accounts: Vec<String>,
}

/// `imports: [{stream: {account: A, subject: "a.>"}, prefix: p}, {service: {account: A,
/// subject: svc}, to: local}]`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportConfig {
    pub kind: ExportKind,
    /// The exporting account.
    pub account: String,
    pub subject: String,
    /// Stream imports: deliver under `<prefix>.<subject>` in the importing account.
    pub prefix: Option<String>,
    /// Service imports: the subject importers publish requests to (default: `subject`).
    pub to: Option<String>,
}

/// When JetStream file writes reach the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncPolicy {
    /// Acknowledge a publish only after its record is fsynced (group commit). Weir's default.
    Always,
    /// nats-server's lazy mode (`sync_interval: 2m`): fsync on a timer, acknowledge before.
    Interval(Duration),
}

/// Server-wide JetStream limits (`jetstream { limits { ... } }`), applied by the API.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JetStreamLimits {
    pub max_request_batch: Option<u64>,
    pub max_ack_pending: Option<u64>,
    pub max_ha_assets: Option<u64>,
    pub duplicate_window: Option<Duration>,
}

/// Everything that shapes a running server.
#[derive(Debug, Clone)]
pub struct Options {
    /// Interface for client connections (`-a`, `host`, `listen`).
    pub host: String,
    /// Client port (`-p`, `port`); 0 picks an ephemeral port.
    pub port: u16,
    pub server_name: Option<String>,
    pub max_payload_bytes: usize,
    pub max_control_line_bytes: usize,
    pub max_connections: usize,
    /// Subscriptions one connection may hold (`max_subscriptions`); 0 means no limit.
    pub max_subscriptions: usize,
    /// Outbound bytes buffered for one client before it is cut off as a slow consumer.
    pub max_pending_bytes: usize,
    pub ping_interval: Duration,
    pub ping_max: u32,
    pub write_deadline: Duration,
    /// How long a reader busy-polls for a client's next bytes after a small read (`busy_poll`,
    /// a Weir extension; `client/spin.rs`). Zero turns it off.
    pub busy_poll: Duration,
    pub auth_timeout: Duration,
    /// Monitoring HTTP port (`-m`); `Some(0)` picks an ephemeral port.
    pub http_port: Option<u16>,
    pub http_host: Option<String>,
    /// HTTPS monitoring port (`https_port`); served with the `tls` block's certificate.
    pub https_port: Option<u16>,
    /// TLS for client connections (`tls { ... }`, `--tls*` flags).
    pub tls: Option<crate::tls::TlsOptions>,
    pub jetstream: bool,
    pub store_dir: Option<PathBuf>,
    pub jetstream_max_memory_bytes: Option<u64>,
    pub jetstream_max_store_bytes: Option<u64>,
    pub sync: SyncPolicy,
    pub jetstream_limits: JetStreamLimits,
    pub authorization: Authorization,
    /// The user a client without credentials connects as (`no_auth_user`).
    pub no_auth_user: Option<String>,
    /// The `accounts` block; empty: everyone is in the global account `$G`.
    pub accounts: Vec<AccountConfig>,
    /// The account named by `system_account`, when given.
    pub system_account: Option<String>,
    pub pid_file: Option<PathBuf>,
    pub ports_file_dir: Option<PathBuf>,
    pub log_file: Option<PathBuf>,
    pub debug: bool,
    pub trace: bool,
    /// Timestamps on log lines (`-T`, `logtime`).
    pub log_time: bool,
    /// Rotate the log file past this many bytes (`--log_size_limit`, `logfile_size_limit`);
    /// 0 never rotates.
    pub log_size_limit: u64,
    /// Keep at most this many log files, the active one included (`logfile_max_num`);
    /// 0 keeps every backup.
    pub log_max_files: u64,
    /// JSON log lines (`--log-json`, `log_json`), a Weir extension.
    pub log_json: bool,
    /// How long lame duck mode takes to close every client.
    pub lame_duck_duration: Duration,
    /// How long lame duck mode waits before it starts closing clients.
    pub lame_duck_grace_period: Duration,
}

impl Options {
    /// JetStream's directory: `<store_dir>/jetstream`, with nats-server's default store dir
    /// (`<temp dir>/nats`) when none is set.
    pub fn jetstream_dir(&self) -> std::path::PathBuf {
        self.store_dir
            .clone()
            .unwrap_or_else(|| std::env::temp_dir().join("nats"))
            .join("jetstream")
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            host: "0.0.0.0".to_string(),
            port: 4222,
            server_name: None,
            max_payload_bytes: 1024 * 1024,
            max_control_line_bytes: 4096,
            max_subscriptions: 0,
            max_connections: 64 * 1024,
            max_pending_bytes: 64 * 1024 * 1024,
            ping_interval: Duration::from_secs(120),
            ping_max: 2,
            write_deadline: Duration::from_secs(10),
            busy_poll: Duration::from_micros(50),
            auth_timeout: Duration::from_secs(2),
            http_port: None,
            http_host: None,
            https_port: None,
            tls: None,
            jetstream: false,
            store_dir: None,
            jetstream_max_memory_bytes: None,
            jetstream_max_store_bytes: None,
            sync: SyncPolicy::Always,
            jetstream_limits: JetStreamLimits::default(),
            authorization: Authorization::default(),
            no_auth_user: None,
            accounts: Vec::new(),
            system_account: None,
            pid_file: None,
            ports_file_dir: None,
            log_file: None,
            debug: false,
            trace: false,
            log_time: true,
            log_size_limit: 0,
            log_max_files: 0,
            log_json: false,
            lame_duck_duration: Duration::from_secs(120),
            lame_duck_grace_period: Duration::from_secs(10),
        }
    }
}
