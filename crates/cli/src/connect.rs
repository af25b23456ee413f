//! Connecting to the server: global options, async-nats clients and raw TCP addresses.

use std::io;
use std::time::Duration;

use async_nats::{Client, ConnectErrorKind, ConnectOptions, ServerAddr};

use crate::error::{describe_io, CliError, Result, START_HINT};

/// Options shared by every command.
#[derive(Debug, Clone)]
pub struct Global {
    /// Server URL(s) as given, comma separated.
    pub server: String,
    pub timeout: Duration,
    pub json: bool,
}

impl Global {
    /// The parsed server addresses.
    pub fn addrs(&self) -> Result<Vec<ServerAddr>> {
        let addrs = self
            .server
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<ServerAddr>().map_err(|e| {
                    CliError::Usage(format!(
                        "invalid server URL {s:?}: {e} (expected e.g. nats://127.0.0.1:4222)"
                    ))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        if addrs.is_empty() {
            return Err(CliError::Usage(
                "no server URL given: use -s nats://HOST:PORT".to_string(),
            ));
        }
        Ok(addrs)
    }

    /// `host:port` of the first server, for the raw TCP benchmarks and `server info`.
    pub fn tcp_addr(&self) -> Result<String> {
        let addrs = self.addrs()?;
        let first = &addrs[0];
        if first.tls_required() || first.is_websocket() {
            return Err(CliError::Usage(format!(
                "{} uses {}://, but this command speaks plain TCP only: use nats://HOST:PORT",
                self.server,
                first.scheme()
            )));
        }
        Ok(format!("{}:{}", first.host(), first.port()))
    }

    /// Default connect options: named client, the global timeout for connect and requests.
    pub fn options(&self, name: &str) -> ConnectOptions {
        ConnectOptions::new()
            .name(name)
            .connection_timeout(self.timeout)
            .request_timeout(Some(self.timeout))
    }

    pub async fn connect(&self, name: &str) -> Result<Client> {
        self.connect_with(self.options(name)).await
    }

    pub async fn connect_with(&self, options: ConnectOptions) -> Result<Client> {
        let addrs = self.addrs()?;
        options
            .connect(addrs)
            .await
            .map_err(|err| self.connect_error(&err))
    }

    fn connect_error(&self, err: &async_nats::ConnectError) -> CliError {
        let url = self.server.clone();
        match err.kind() {
            ConnectErrorKind::Io | ConnectErrorKind::Dns | ConnectErrorKind::MaxReconnects => {
                let reason = find_io_error(err)
                    .map(describe_io)
                    .unwrap_or_else(|| err.to_string());
                CliError::Connect {
                    url,
                    reason,
                    hint: START_HINT,
                }
            }
            ConnectErrorKind::TimedOut => CliError::Connect {
                url,
                reason: format!("timed out after {:?}", self.timeout),
                hint: "is the address right and the server reachable? raise --timeout if it is slow",
            },
            ConnectErrorKind::Authentication | ConnectErrorKind::AuthorizationViolation => {
                CliError::Connect {
                    url,
                    reason: err.to_string(),
                    hint: "the server requires credentials: put them in the URL, e.g. nats://user:pass@HOST:PORT",
                }
            }
            _ => CliError::Connect {
                url,
                reason: err.to_string(),
                hint: "check the server URL and the server's TLS settings",
            },
        }
    }
}

fn find_io_error<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a io::Error> {
    let mut current = err.source();
    while let Some(source) = current {
        if let Some(io_err) = source.downcast_ref::<io::Error>() {
            return Some(io_err);
        }
        current = source.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn global(server: &str) -> Global {
        Global {
            server: server.to_string(),
            timeout: Duration::from_secs(1),
            json: false,
        }
    }

    #[test]
    fn tcp_addr_defaults_scheme_and_port() {
        assert_eq!(global("127.0.0.1").tcp_addr().unwrap(), "127.0.0.1:4222");
        assert_eq!(
            global("nats://127.0.0.1:14333,nats://127.0.0.1:2")
                .tcp_addr()
                .unwrap(),
            "127.0.0.1:14333"
        );
        assert_eq!(global("localhost:5").tcp_addr().unwrap(), "localhost:5");
    }

    #[test]
    fn tls_and_empty_urls_are_usage_errors() {
        assert!(matches!(
            global("tls://127.0.0.1:4222").tcp_addr(),
            Err(CliError::Usage(_))
        ));
        assert!(matches!(global(" , ").addrs(), Err(CliError::Usage(_))));
    }

    #[tokio::test]
    async fn refused_connection_says_how_to_start_the_server() {
        // Bind then drop a listener so the port is (almost certainly) closed.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("nats://127.0.0.1:{port}");
        let err = global(&url).connect("test").await.unwrap_err().to_string();
        assert!(err.contains(&format!("cannot connect to {url}")), "{err}");
        assert!(err.contains("connection refused"), "{err}");
        assert!(err.contains("weir-server -js"), "{err}");
    }
}
