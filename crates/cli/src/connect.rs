//! Connecting to the server: global options, async-nats clients and raw TCP addresses.

use std::io;
use std::path::PathBuf;
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
    pub credentials: Credentials,
}

/// How to authenticate and secure the connection (the `nats` CLI's context flags).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Credentials {
    /// User name, for servers that require a user and password
    #[arg(long, global = true, env = "NATS_USER")]
    pub user: Option<String>,
    /// Password for --user
    #[arg(long, global = true, env = "NATS_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// Authentication token
    #[arg(long, global = true, env = "NATS_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Credentials file (user JWT and NKey seed)
    #[arg(long, global = true, env = "NATS_CREDS")]
    pub creds: Option<PathBuf>,
    /// File holding the user's NKey seed (SU…), for nkey authentication
    #[arg(long, global = true, env = "NATS_NKEY")]
    pub nkey: Option<PathBuf>,
    /// Client certificate for TLS (with --tlskey)
    #[arg(long, global = true, env = "NATS_CERT")]
    pub tlscert: Option<PathBuf>,
    /// Private key of --tlscert
    #[arg(long, global = true, env = "NATS_KEY")]
    pub tlskey: Option<PathBuf>,
    /// CA certificate(s) to verify the server with; implies TLS
    #[arg(long, global = true, env = "NATS_CA")]
    pub tlsca: Option<PathBuf>,
}

impl Credentials {
    /// Adds these credentials to `options`; a missing half of a pair or an unreadable
    /// credentials file is a usage error naming the flag.
    pub fn apply(&self, mut options: ConnectOptions) -> Result<ConnectOptions> {
        match (&self.user, &self.password) {
            (Some(user), Some(password)) => {
                options = options.user_and_password(user.clone(), password.clone());
            }
            (Some(_), None) => return Err(usage("--user needs --password")),
            (None, Some(_)) => return Err(usage("--password needs --user")),
            (None, None) => {}
        }
        if let Some(token) = &self.token {
            options = options.token(token.clone());
        }
        if let Some(path) = &self.creds {
            let text = std::fs::read_to_string(path).map_err(|e| {
                usage(&format!(
                    "cannot read the credentials file {}: {}",
                    path.display(),
                    describe_io(&e)
                ))
            })?;
            options = options.credentials(&text).map_err(|e| {
                usage(&format!(
                    "{} is not a credentials file (a user JWT and an NKey seed): {e}",
                    path.display()
                ))
            })?;
        }
        if let Some(path) = &self.nkey {
            let seed = std::fs::read_to_string(path).map_err(|e| {
                usage(&format!(
                    "cannot read the NKey seed file {}: {}",
                    path.display(),
                    describe_io(&e)
                ))
            })?;
            let seed = seed.trim();
            if !seed.starts_with("SU") {
                return Err(usage(&format!(
                    "{} does not hold a user NKey seed (a line starting with SU)",
                    path.display()
                )));
            }
            options = options.nkey(seed.to_string());
        }
        match (&self.tlscert, &self.tlskey) {
            (Some(cert), Some(key)) => {
                options = options
                    .add_client_certificate(cert.clone(), key.clone())
                    .require_tls(true);
            }
            (Some(_), None) => return Err(usage("--tlscert needs --tlskey")),
            (None, Some(_)) => return Err(usage("--tlskey needs --tlscert")),
            (None, None) => {}
        }
        if let Some(ca) = &self.tlsca {
            options = options.add_root_certificates(ca.clone()).require_tls(true);
        }
        Ok(options)
    }
}

fn usage(message: &str) -> CliError {
    CliError::Usage(message.to_string())
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
        self.credentials
            .apply(options)?
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
                hint:
                    "is the address right and the server reachable? raise --timeout if it is slow",
            },
            ConnectErrorKind::Authentication | ConnectErrorKind::AuthorizationViolation => {
                CliError::Connect {
                    url,
                    reason: err.to_string(),
                    hint:
                        "the server requires credentials: pass --user and --password, --token, \
                           --nkey FILE or --creds FILE (or put them in the URL, nats://user:pass@HOST:PORT)",
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
            credentials: Credentials::default(),
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

    #[test]
    fn credential_pairs_must_be_complete() {
        let half =
            |c: Credentials| matches!(c.apply(ConnectOptions::new()), Err(CliError::Usage(_)));
        assert!(half(Credentials {
            user: Some("a".into()),
            ..Credentials::default()
        }));
        assert!(half(Credentials {
            tlskey: Some("k.pem".into()),
            ..Credentials::default()
        }));
        assert!(half(Credentials {
            creds: Some("/nonexistent/user.creds".into()),
            ..Credentials::default()
        }));
        assert!(half(Credentials {
            nkey: Some("/nonexistent/user.nk".into()),
            ..Credentials::default()
        }));
        assert!(Credentials {
            user: Some("a".into()),
            password: Some("b".into()),
            token: None,
            ..Credentials::default()
        }
        .apply(ConnectOptions::new())
        .is_ok());
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
