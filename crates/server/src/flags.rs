//! nats-server's command line, parsed the way Go's `flag` package does it: one or two dashes,
//! `-name value` or `-name=value`, booleans as `-name` or `-name=false`, multi-letter short
//! names such as `-js`, `-sd` and `-DV`. Parsing stops at `--` or the first non-flag argument.

use std::path::PathBuf;

use crate::options::Options;

/// Flag values given on the command line; `None` means "not given", so the config file wins.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Flags {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub server_name: Option<String>,
    pub http_port: Option<u16>,
    pub config_file: Option<PathBuf>,
    pub test_config: bool,
    pub jetstream: Option<bool>,
    pub store_dir: Option<PathBuf>,
    pub debug: Option<bool>,
    pub trace: Option<bool>,
    pub log_file: Option<PathBuf>,
    pub log_time: Option<bool>,
    pub log_size_limit: Option<u64>,
    pub log_json: Option<bool>,
    pub pid_file: Option<PathBuf>,
    pub user: Option<String>,
    pub password: Option<String>,
    pub token: Option<String>,
    pub ports_file_dir: Option<PathBuf>,
    /// `--tls`: TLS on (needs `--tlscert` and `--tlskey`, or a `tls` block).
    pub tls: Option<bool>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub tls_ca_cert: Option<PathBuf>,
    /// `--tlsverify`: TLS on, client certificates required and verified.
    pub tls_verify: Option<bool>,
}

/// What the command line asks for.
#[derive(Debug, PartialEq)]
pub enum Command {
    Run(Box<Flags>),
    Version,
    Help,
    /// `--signal stop|quit|reopen|reload|ldm|term[=PID or pid file]`
    Signal {
        command: String,
        pid: Option<String>,
    },
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FlagError {
    #[error("flag provided but not defined: {0}")]
    Unknown(String),
    #[error("flag needs an argument: {0}")]
    MissingValue(String),
    #[error("invalid value {value:?} for flag {flag}: {why}")]
    BadValue {
        flag: String,
        value: String,
        why: &'static str,
    },
    #[error("unexpected argument {0:?}: weir-server takes only flags (see --help)")]
    Positional(String),
}

enum Kind {
    Bool,
    Value,
}

/// Every flag name, by the canonical name used in `apply`.
const FLAGS: &[(&[&str], Kind)] = &[
    (&["a", "addr", "net"], Kind::Value),
    (&["p", "port"], Kind::Value),
    (&["n", "name", "server_name"], Kind::Value),
    (&["m", "http_port"], Kind::Value),
    (&["c", "config"], Kind::Value),
    (&["t"], Kind::Bool),
    (&["js", "jetstream"], Kind::Bool),
    (&["sd", "store_dir"], Kind::Value),
    (&["D", "debug"], Kind::Bool),
    (&["V", "trace"], Kind::Bool),
    (&["DV"], Kind::Bool),
    (&["VV"], Kind::Bool),
    (&["DVV"], Kind::Bool),
    (&["T", "logtime"], Kind::Bool),
    (&["l", "log", "log_file"], Kind::Value),
    (&["log_size_limit"], Kind::Value),
    (&["log_json", "log-json"], Kind::Bool),
    (&["P", "pid"], Kind::Value),
    (&["user"], Kind::Value),
    (&["pass"], Kind::Value),
    (&["auth"], Kind::Value),
    (&["ports_file_dir"], Kind::Value),
    (&["tls"], Kind::Bool),
    (&["tlscert"], Kind::Value),
    (&["tlskey"], Kind::Value),
    (&["tlscacert"], Kind::Value),
    (&["tlsverify"], Kind::Bool),
    (&["v", "version"], Kind::Bool),
    (&["h", "help"], Kind::Bool),
    (&["sl", "signal"], Kind::Value),
];

fn lookup(name: &str) -> Option<(&'static str, &'static Kind)> {
    FLAGS
        .iter()
        .find(|(names, _)| names.contains(&name))
        .map(|(names, kind)| (names[0], kind))
}

fn parse_bool(flag: &str, value: &str) -> Result<bool, FlagError> {
    // The spellings Go's strconv.ParseBool accepts.
    match value {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        _ => Err(FlagError::BadValue {
            flag: format!("-{flag}"),
            value: value.to_string(),
            why: "expected true or false",
        }),
    }
}

/// nats-server's `-1` (RANDOM_PORT) asks for an ephemeral port, as 0 does.
pub fn parse_port(text: &str) -> Option<u16> {
    match text.parse::<i32>().ok()? {
        -1 => Some(0),
        n => u16::try_from(n).ok(),
    }
}

pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Command, FlagError> {
    let mut flags = Flags::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        if arg == "--" {
            break;
        }
        let Some(stripped) = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-')) else {
            return Err(FlagError::Positional(arg));
        };
        if stripped.is_empty() || stripped.starts_with('-') {
            return Err(FlagError::Unknown(arg));
        }
        let (name, inline) = match stripped.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (stripped, None),
        };
        let (canonical, kind) =
            lookup(name).ok_or_else(|| FlagError::Unknown(format!("-{name}")))?;
        match kind {
            Kind::Bool => {
                let on = match &inline {
                    Some(v) => parse_bool(name, v)?,
                    None => true,
                };
                match canonical {
                    "v" if on => return Ok(Command::Version),
                    "h" if on => return Ok(Command::Help),
                    "t" => flags.test_config = on,
                    "js" => flags.jetstream = Some(on),
                    "D" => flags.debug = Some(on),
                    "V" | "VV" => flags.trace = Some(on),
                    "DV" | "DVV" => {
                        flags.debug = Some(on);
                        flags.trace = Some(on);
                    }
                    "T" => flags.log_time = Some(on),
                    "log_json" => flags.log_json = Some(on),
                    "tls" => flags.tls = Some(on),
                    "tlsverify" => flags.tls_verify = Some(on),
                    _ => {}
                }
            }
            Kind::Value => {
                let value = match inline {
                    Some(v) => v,
                    None => args
                        .next()
                        .ok_or_else(|| FlagError::MissingValue(format!("-{name}")))?,
                };
                let port = |v: &str| {
                    parse_port(v).ok_or_else(|| FlagError::BadValue {
                        flag: format!("-{name}"),
                        value: v.to_string(),
                        why: "expected a port number from 0 to 65535, or -1 for a random port",
                    })
                };
                match canonical {
                    "a" => flags.host = Some(value),
                    "p" => flags.port = Some(port(&value)?),
                    "n" => flags.server_name = Some(value),
                    "m" => flags.http_port = Some(port(&value)?),
                    "c" => flags.config_file = Some(value.into()),
                    "sd" => flags.store_dir = Some(value.into()),
                    "l" => flags.log_file = Some(value.into()),
                    "log_size_limit" => {
                        flags.log_size_limit =
                            Some(value.parse::<u64>().map_err(|_| FlagError::BadValue {
                                flag: format!("-{name}"),
                                value: value.clone(),
                                why: "expected a size in bytes",
                            })?)
                    }
                    "P" => flags.pid_file = Some(value.into()),
                    "user" => flags.user = Some(value),
                    "pass" => flags.password = Some(value),
                    "auth" => flags.token = Some(value),
                    "ports_file_dir" => flags.ports_file_dir = Some(value.into()),
                    "tlscert" => flags.tls_cert = Some(value.into()),
                    "tlskey" => flags.tls_key = Some(value.into()),
                    "tlscacert" => flags.tls_ca_cert = Some(value.into()),
                    "sl" => {
                        let (command, pid) = match value.split_once('=') {
                            Some((c, p)) => (c.to_string(), Some(p.to_string())),
                            None => (value, None),
                        };
                        return Ok(Command::Signal { command, pid });
                    }
                    _ => unreachable!("every value flag is handled above"),
                }
            }
        }
    }
    if let Some(extra) = args.next() {
        return Err(FlagError::Positional(extra));
    }
    Ok(Command::Run(Box::new(flags)))
}

impl Flags {
    /// Overrides `opts` with every flag that was given (flags beat the config file).
    pub fn apply(&self, opts: &mut Options) {
        if let Some(v) = &self.host {
            opts.host = v.clone();
        }
        if let Some(v) = self.port {
            opts.port = v;
        }
        if let Some(v) = &self.server_name {
            opts.server_name = Some(v.clone());
        }
        if let Some(v) = self.http_port {
            opts.http_port = Some(v);
        }
        if let Some(v) = self.jetstream {
            opts.jetstream = v;
        }
        if let Some(v) = &self.store_dir {
            opts.store_dir = Some(v.clone());
        }
        if let Some(v) = self.debug {
            opts.debug = v;
        }
        if let Some(v) = self.trace {
            opts.trace = v;
        }
        if let Some(v) = &self.log_file {
            opts.log_file = Some(v.clone());
        }
        if let Some(v) = self.log_time {
            opts.log_time = v;
        }
        if let Some(v) = self.log_size_limit {
            opts.log_size_limit = v;
        }
        if let Some(v) = self.log_json {
            opts.log_json = v;
        }
        if let Some(v) = &self.pid_file {
            opts.pid_file = Some(v.clone());
        }
        if let Some(v) = &self.ports_file_dir {
            opts.ports_file_dir = Some(v.clone());
        }
        if let Some(v) = &self.user {
            opts.authorization.user = Some(v.clone());
        }
        if let Some(v) = &self.password {
            opts.authorization.password = Some(v.clone());
        }
        if let Some(v) = &self.token {
            opts.authorization.token = Some(v.clone());
        }
        self.apply_tls(opts);
    }

    /// nats-server: `--tls`, `--tlsverify`, `--tlscert` or `--tlskey` turn TLS on; each given
    /// flag overrides the `tls` block's field. A missing certificate or key is reported when
    /// the server starts (`tls::check_at_start`).
    fn apply_tls(&self, opts: &mut Options) {
        let verify = self.tls_verify == Some(true);
        let on = self.tls == Some(true)
            || verify
            || self.tls_cert.is_some()
            || self.tls_key.is_some()
            || self.tls_ca_cert.is_some();
        if !on {
            return;
        }
        let tls = opts.tls.get_or_insert_with(Default::default);
        if let Some(v) = &self.tls_cert {
            tls.cert_file = Some(v.clone());
        }
        if let Some(v) = &self.tls_key {
            tls.key_file = Some(v.clone());
        }
        if let Some(v) = &self.tls_ca_cert {
            tls.ca_file = Some(v.clone());
        }
        if verify {
            tls.verify = true;
        }
    }
}

pub const USAGE: &str = "\
Usage: weir-server [options]

Server Options:
    -a, --addr, --net <host>         Bind to host address (default: 0.0.0.0)
    -p, --port <port>                Use port for clients (default: 4222)
    -n, --name, --server_name <name> Server name (default: the server ID)
    -P, --pid <file>                 File to store PID
    -m, --http_port <port>           Use port for http monitoring
    -c, --config <file>              Configuration file
    -t                               Test configuration and exit
    -sl, --signal <signal>[=<pid>]   Send signal to weir-server process (ldm, stop, quit, term, reopen, reload)
                                     <pid> can be a PID or the path to a PID file
        --ports_file_dir <dir>       Creates a ports file in the specified directory (<executable_name>_<pid>.ports)

Logging Options:
    -l, --log, --log_file <file>     File to redirect log output
    -T, --logtime                    Timestamp log entries (default: true)
    -D, --debug                      Enable debugging output
    -V, --trace                      Trace the raw protocol
    -DV                              Debug and trace
        --log_size_limit <bytes>     Rotate the log file past this size (default: no rotation)
        --log-json                   Log one JSON object per line

JetStream Options:
    -js, --jetstream                 Enable JetStream functionality
    -sd, --store_dir <dir>           Set the storage directory

Authorization Options:
        --user <user>                User required for connections
        --pass <password>            Password required for connections
        --auth <token>               Authorization token required for connections

TLS Options:
        --tls                        Enable TLS, do not verify clients (default: false)
        --tlscert <file>             Server certificate file
        --tlskey <file>              Private key for server certificate
        --tlsverify                  Enable TLS, verify client certificates
        --tlscacert <file>           Client certificate CA for verification

Common Options:
    -h, --help                       Show this message
    -v, --version                    Show version
";

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Flags {
        match parse(args.iter().map(|s| s.to_string())) {
            Ok(Command::Run(flags)) => *flags,
            other => panic!("expected Run, got {other:?}"),
        }
    }

    #[test]
    fn go_flag_spellings() {
        let f = run(&[
            "-p",
            "4333",
            "--addr=127.0.0.1",
            "-js",
            "-sd",
            "/tmp/js",
            "-DV",
        ]);
        assert_eq!(f.port, Some(4333));
        assert_eq!(f.host.as_deref(), Some("127.0.0.1"));
        assert_eq!(f.jetstream, Some(true));
        assert_eq!(f.store_dir, Some(PathBuf::from("/tmp/js")));
        assert_eq!((f.debug, f.trace), (Some(true), Some(true)));
        assert_eq!(run(&["-p", "-1"]).port, Some(0), "-1 is a random port");
        let f = run(&["--jetstream=false", "-port=1", "--http_port", "8222"]);
        assert_eq!(f.jetstream, Some(false));
        assert_eq!(f.port, Some(1));
        assert_eq!(f.http_port, Some(8222));
    }

    #[test]
    fn unknown_flags_are_named() {
        let err = parse(["--bogus".to_string()]).unwrap_err();
        assert_eq!(err.to_string(), "flag provided but not defined: -bogus");
        assert!(matches!(
            parse(["-p".to_string()]),
            Err(FlagError::MissingValue(_))
        ));
        assert!(matches!(
            parse(["-p".to_string(), "x".to_string()]),
            Err(FlagError::BadValue { .. })
        ));
        assert!(matches!(
            parse(["stray".to_string()]),
            Err(FlagError::Positional(_))
        ));
    }

    #[test]
    fn signal_version_and_help() {
        assert_eq!(
            parse(["--signal".into(), "ldm=123".into()]).unwrap(),
            Command::Signal {
                command: "ldm".into(),
                pid: Some("123".into())
            }
        );
        assert_eq!(parse(["-v".to_string()]).unwrap(), Command::Version);
        assert_eq!(parse(["-h".to_string()]).unwrap(), Command::Help);
    }

    #[test]
    fn logging_flags() {
        let f = run(&["-D", "--log_size_limit", "1024", "--log-json"]);
        assert_eq!(f.debug, Some(true));
        assert_eq!(f.trace, None);
        assert_eq!(f.log_size_limit, Some(1024));
        assert_eq!(f.log_json, Some(true));
        let f = run(&["-V", "-log_json=false"]);
        assert_eq!(
            (f.debug, f.trace, f.log_json),
            (None, Some(true), Some(false))
        );
        let mut opts = Options::default();
        run(&["-DV", "--log_size_limit=10", "--log-json"]).apply(&mut opts);
        assert!(opts.debug && opts.trace && opts.log_json);
        assert_eq!(opts.log_size_limit, 10);
        assert!(matches!(
            parse(["--log_size_limit".to_string(), "big".to_string()]),
            Err(FlagError::BadValue { .. })
        ));
    }

    #[test]
    fn tls_flags_turn_tls_on() {
        let mut opts = Options::default();
        run(&["--tlscert", "c.pem", "--tlskey=k.pem"]).apply(&mut opts);
        let tls = opts.tls.clone().expect("tls on");
        assert_eq!(tls.cert_file, Some(PathBuf::from("c.pem")));
        assert_eq!(tls.key_file, Some(PathBuf::from("k.pem")));
        assert!(!tls.verify);
        run(&["--tlsverify", "--tlscacert", "ca.pem"]).apply(&mut opts);
        let tls = opts.tls.clone().expect("tls on");
        assert!(tls.verify);
        assert_eq!(tls.ca_file, Some(PathBuf::from("ca.pem")));
        assert_eq!(
            tls.cert_file,
            Some(PathBuf::from("c.pem")),
            "kept from before"
        );
        let mut plain = Options::default();
        run(&["-p", "1"]).apply(&mut plain);
        assert!(plain.tls.is_none());
        run(&["--tls"]).apply(&mut plain);
        assert!(plain.tls.is_some());
    }

    #[test]
    fn flags_override_options() {
        let mut opts = Options::default();
        run(&["-p", "0", "--user", "u", "--pass", "p", "-l", "/tmp/x.log"]).apply(&mut opts);
        assert_eq!(opts.port, 0);
        assert_eq!(opts.authorization.user.as_deref(), Some("u"));
        assert_eq!(opts.authorization.password.as_deref(), Some("p"));
        assert_eq!(opts.log_file, Some(PathBuf::from("/tmp/x.log")));
    }
}
