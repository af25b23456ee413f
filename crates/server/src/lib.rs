//! weir-server: the NATS-protocol broker. `Server::start` binds its listeners and returns a
//! handle; the binary in `main.rs` only turns flags and config into `Options`.
//! Read ARCHITECTURE.md at the repository root first.

mod account;
mod auth;
pub mod client;
pub mod config;
pub mod flags;
mod ids;
mod imports;
mod info;
pub mod internal;
pub mod jetstream;
mod listener;
pub mod logging;
pub mod match_cache;
mod monitor;
pub mod options;
mod process;
pub mod reload;
pub mod router;
pub mod schemas;
pub mod signals;
pub mod state;
pub mod subscription;
mod timefmt;
pub mod tls;

#[doc(hidden)]
pub use auth::fuzzing as auth_fuzzing;
pub use auth::{PermissionsConfig, ResponsesConfig, SubjectRules};
pub use options::{
    AccountConfig, AccountJetStreamLimits, Authorization, ExportConfig, ExportKind, ImportConfig,
    JetStreamLimits, Options, SyncPolicy, UserConfig,
};

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_util::task::TaskTracker;

use state::ServerState;

/// Why a server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen for client connections on {addr}: {source}")]
    Bind {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot listen for monitoring on {addr}: {source}")]
    BindMonitor {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    /// The JetStream store directory cannot be used. nats-server 2.9.10 logs
    /// `[FTL] Can't start JetStream: …` and exits with status 1; `weir-server` does the same.
    #[error("Can't start JetStream: {0}")]
    JetStream(String),
    /// The TLS setup cannot be used (certificate files, `https_port` without `tls`).
    #[error("{0}")]
    Tls(String),
}

/// A running server. Dropping it does not stop the server; call `shutdown`.
pub struct ServerHandle {
    state: Arc<ServerState>,
    monitor_addr: Option<SocketAddr>,
    monitor_https_addr: Option<SocketAddr>,
    tasks: TaskTracker,
}

impl ServerHandle {
    /// Where clients connect (the bound address, with the real port when `port` was 0).
    pub fn client_addr(&self) -> SocketAddr {
        self.state.client_addr
    }

    /// Where the monitoring HTTP listener is bound, if enabled.
    pub fn monitor_addr(&self) -> Option<SocketAddr> {
        self.monitor_addr
    }

    /// Where the HTTPS monitoring listener is bound, if `https_port` is set.
    pub fn monitor_https_addr(&self) -> Option<SocketAddr> {
        self.monitor_https_addr
    }

    /// The shared state, for in-crate tests that exercise server internals.
    #[cfg(test)]
    pub(crate) fn state_for_tests(&self) -> Arc<ServerState> {
        self.state.clone()
    }

    /// Resolves once shutdown has been requested (by `shutdown`, a signal or lame duck mode).
    pub async fn stopped(&self) {
        self.state.shutdown.cancelled().await
    }

    /// Enters lame duck mode: stop accepting, tell clients, close them over the grace period,
    /// then shut down.
    pub fn enter_lame_duck_mode(&self) {
        listener::enter_lame_duck_mode(self.state.clone());
    }

    /// Applies re-read options (SIGHUP); returns the names of the options that changed.
    pub fn reload(&self, opts: Options) -> Result<Vec<&'static str>, reload::ReloadError> {
        reload::apply(&self.state, opts)
    }

    /// Stops accepting, flushes pending output to clients, closes every connection and waits
    /// (bounded by the write deadline) for their tasks to finish.
    pub async fn shutdown(self) {
        self.state.stop_accepting.cancel();
        // Streams first: queued publishes are stored and acknowledged while clients are
        // still connected, and stores close cleanly for a fast restart.
        for (account, js) in self.state.jetstreams() {
            if let Some(account) = self.state.account(&account) {
                let scope = account::AccountScope::new(self.state.clone(), account);
                js.shutdown(&scope).await;
            }
        }
        self.state.shutdown.cancel();
        listener::close_all_clients(&self.state);
        self.tasks.close();
        let deadline = self.state.opts().write_deadline + std::time::Duration::from_secs(1);
        if tokio::time::timeout(deadline, self.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!("some connections did not close within {deadline:?}");
        }
        // Internal handlers in the indexes may hold what holds their account.
        for account in self.state.accounts() {
            account.clear();
        }
    }
}

pub struct Server;

impl Server {
    /// Binds the listeners and starts serving in the current tokio runtime.
    pub async fn start(opts: Options) -> Result<ServerHandle, StartError> {
        tls::check_at_start(&opts).map_err(|err| StartError::Tls(err.to_string()))?;
        let addr = format!("{}:{}", opts.host, opts.port);
        let tcp = TcpListener::bind(&addr)
            .await
            .map_err(|source| StartError::Bind {
                addr: addr.clone(),
                source,
            })?;
        let client_addr = tcp.local_addr().map_err(|source| StartError::Bind {
            addr: addr.clone(),
            source,
        })?;
        let state = Arc::new(ServerState::new(opts, client_addr));
        *state.imports.lock() = imports::install(&state);
        let tasks = TaskTracker::new();

        let monitor_addr = match state.opts().http_port {
            Some(port) => Some(monitor::start(state.clone(), port, &tasks).await?),
            None => None,
        };
        let monitor_https_addr = match state.opts().https_port {
            Some(port) => match monitor::start_https(state.clone(), port, &tasks).await {
                Ok(addr) => Some(addr),
                Err(err) => {
                    state.shutdown.cancel();
                    tasks.close();
                    return Err(err);
                }
            },
            None => None,
        };

        tracing::info!("Starting weir-server");
        tracing::info!(
            "  Version:  {} (implements nats-server {})",
            state::WEIR_VERSION,
            state::NATS_COMPAT_VERSION
        );
        tracing::info!("  Name:     {}", state.server_name);
        tracing::info!("  ID:       {}", state.server_id);
        if let Some(addr) = monitor_addr {
            tracing::info!("Starting http monitor on {}", addr);
        }
        if let Some(addr) = monitor_https_addr {
            tracing::info!("Starting https monitor on {}", addr);
        }
        if state.opts().jetstream {
            if let Err(why) = check_store_dir(&state.opts()) {
                // The monitoring listener is already serving: stop it with the rest.
                state.shutdown.cancel();
                tasks.close();
                return Err(StartError::JetStream(why));
            }
            // Restoring streams reads every store: do it off the runtime's workers so the
            // monitoring listener keeps answering (`/healthz` says 503 until it is done).
            let js_state = state.clone();
            match tokio::task::spawn_blocking(move || jetstream::start_all(&js_state)).await {
                Ok(()) => {}
                Err(err) => {
                    state.shutdown.cancel();
                    tasks.close();
                    return Err(StartError::JetStream(format!("startup failed: {err}")));
                }
            }
        }
        tracing::info!("Listening for client connections on {}", client_addr);
        if state.opts().tls.is_some() {
            tracing::info!("TLS required for client connections");
        }
        tracing::info!("Server is ready");

        tasks.spawn(listener::accept_loop(state.clone(), tcp, tasks.clone()));
        Ok(ServerHandle {
            state,
            monitor_addr,
            monitor_https_addr,
            tasks,
        })
    }
}

/// nats-server's checks of the JetStream store directory (`<store_dir>/jetstream`) at start:
/// create it if missing, else it must be a directory we can create files in. The messages
/// are nats-server 2.9.10's.
fn check_store_dir(opts: &Options) -> Result<(), String> {
    let root = opts.jetstream_dir();
    match std::fs::metadata(&root) {
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => std::fs::create_dir_all(&root)
            .map_err(|err| {
                format!(
                    "could not create storage directory - mkdir {}: {err}",
                    root.display()
                )
            }),
        // Any other failure (a file where a directory should be) reads as nats-server's
        // `stat == nil || !stat.IsDir()`.
        Err(_) => Err("storage directory is not a directory".to_string()),
        Ok(meta) if !meta.is_dir() => Err("storage directory is not a directory".to_string()),
        Ok(_) => {
            let probe = root.join(format!("_test_{:016x}", rand::random::<u64>()));
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&probe)
            {
                Ok(file) => {
                    drop(file);
                    let _ = std::fs::remove_file(&probe);
                    Ok(())
                }
                Err(_) => Err("storage directory is not writable".to_string()),
            }
        }
    }
}
