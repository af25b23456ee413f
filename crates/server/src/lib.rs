//! weir-server: the NATS-protocol broker. `Server::start` binds its listeners and returns a
//! handle; the binary in `main.rs` only turns flags and config into `Options`.

pub mod options;

pub use options::{Authorization, Options};

use std::net::SocketAddr;

/// Why a server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen for client connections on {addr}: {source}")]
    Bind {
        addr: String,
        #[source]
        source: std::io::Error,
    },
}

/// A running server. Dropping it does not stop the server; call `shutdown`.
pub struct ServerHandle {
    client_addr: SocketAddr,
    monitor_addr: Option<SocketAddr>,
}

impl ServerHandle {
    /// Where clients connect (the bound address, with the real port when `port` was 0).
    pub fn client_addr(&self) -> SocketAddr {
        self.client_addr
    }

    /// Where the monitoring HTTP listener is bound, if enabled.
    pub fn monitor_addr(&self) -> Option<SocketAddr> {
        self.monitor_addr
    }

    /// Stops accepting, flushes pending output to clients, closes every connection.
    pub async fn shutdown(self) {}
}

pub struct Server;

impl Server {
    /// Binds the listeners and starts serving in the current tokio runtime.
    pub async fn start(opts: Options) -> Result<ServerHandle, StartError> {
        let _ = opts;
        unimplemented!("server not written yet")
    }
}
