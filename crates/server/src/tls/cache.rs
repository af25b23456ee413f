//! The rustls config in force, rebuilt once per options generation (a reload) rather than per
//! connection: a connection costs one atomic load and a short lock to find it.

use std::sync::Arc;

use parking_lot::Mutex;
use rustls::ServerConfig;

use super::TlsOptions;
use crate::state::ServerState;

/// How new connections must be served under the options in force.
#[derive(Clone)]
pub enum Transport {
    Plain,
    Tls(Arc<TlsSetup>),
    /// TLS is configured but no certificate could ever be loaded: refuse connections rather
    /// than serve them in plaintext.
    Unavailable,
}

/// One generation's TLS: the config and the options it was built from (timeouts, modes).
pub struct TlsSetup {
    pub acceptor: tokio_rustls::TlsAcceptor,
    pub opts: TlsOptions,
}

#[derive(Default)]
pub struct TlsConfigCache {
    current: Mutex<Option<(u64, Transport)>>,
    /// For the HTTPS monitor: never ask for client certificates, as nats-server does not
    /// (`verify` applies to client connections only, so browsers can use the monitor).
    monitoring: bool,
}

impl TlsConfigCache {
    /// For client connections.
    pub fn new() -> Self {
        Self::default()
    }

    /// For the HTTPS monitor.
    pub fn for_monitoring() -> Self {
        TlsConfigCache {
            monitoring: true,
            ..Self::default()
        }
    }

    /// The options this cache builds from: the monitor drops client verification.
    pub fn effective(&self, tls: &TlsOptions) -> TlsOptions {
        let mut tls = tls.clone();
        if self.monitoring {
            tls.verify = false;
            tls.verify_and_map = false;
        }
        tls
    }

    /// The transport for the options in force. After a reload the files are read once; if
    /// that fails the previous certificate stays in use and the error is logged.
    pub fn get(&self, state: &ServerState) -> Transport {
        // Generation first: a reload stores the options before bumping it, so a stale pair
        // can only make us rebuild once more, never keep old options.
        let generation = state.opts_generation();
        let mut current = self.current.lock();
        if let Some((built_for, transport)) = &*current {
            if *built_for == generation {
                return transport.clone();
            }
        }
        let opts = state.opts_snapshot();
        let transport = match &opts.tls {
            None => Transport::Plain,
            Some(tls) => match super::build_server_config(&self.effective(tls)) {
                Ok(config) => Transport::Tls(Arc::new(TlsSetup {
                    acceptor: tokio_rustls::TlsAcceptor::from(config),
                    opts: self.effective(tls),
                })),
                Err(err) => {
                    tracing::error!("TLS configuration not applied: {err}");
                    match current.take() {
                        Some((_, previous @ Transport::Tls(_))) => previous,
                        _ => Transport::Unavailable,
                    }
                }
            },
        };
        *current = Some((generation, transport.clone()));
        transport
    }

    /// Builds the config for `tls` now, so start-up can refuse to start on an error.
    pub fn seed(&self, generation: u64, tls: &TlsOptions) -> Result<(), super::TlsError> {
        let opts = self.effective(tls);
        let config: Arc<ServerConfig> = super::build_server_config(&opts)?;
        let setup = TlsSetup {
            acceptor: tokio_rustls::TlsAcceptor::from(config),
            opts,
        };
        *self.current.lock() = Some((generation, Transport::Tls(Arc::new(setup))));
        Ok(())
    }
}
