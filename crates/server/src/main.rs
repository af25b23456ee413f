//! `weir-server`: flags and config file → `Options`, logging, pid and ports files, signals.

use std::path::Path;
use std::process::ExitCode;

use tokio::signal::unix::{signal, SignalKind};
use weir_server::flags::{self, Command, Flags};
use weir_server::logging::{self, LogConfig, LogHandle};
use weir_server::state::{NATS_COMPAT_VERSION, WEIR_VERSION};
use weir_server::{config, signals, Options, Server, ServerHandle};

fn main() -> ExitCode {
    match flags::parse(std::env::args().skip(1)) {
        Err(err) => {
            eprintln!("weir-server: {err}\n\n{}", flags::USAGE);
            ExitCode::from(2)
        }
        Ok(Command::Version) => {
            println!(
                "weir-server: v{WEIR_VERSION} (implements nats-server v{NATS_COMPAT_VERSION})"
            );
            ExitCode::SUCCESS
        }
        Ok(Command::Help) => {
            print!("{}", flags::USAGE);
            ExitCode::SUCCESS
        }
        Ok(Command::Signal { command, pid }) => match signals::send(&command, pid.as_deref()) {
            Ok(_) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("weir-server: {err}");
                ExitCode::FAILURE
            }
        },
        Ok(Command::Run(flags)) => run(&flags),
    }
}

fn load_options(flags: &Flags) -> Result<Options, String> {
    let mut opts = Options::default();
    if let Some(path) = &flags.config_file {
        config::apply_file(path, &mut opts).map_err(|e| e.to_string())?;
    }
    flags.apply(&mut opts);
    Ok(opts)
}

fn run(flags: &Flags) -> ExitCode {
    let opts = match load_options(flags) {
        Ok(opts) => opts,
        Err(err) => {
            eprintln!("weir-server: {err}");
            return ExitCode::FAILURE;
        }
    };
    if flags.test_config {
        if let Some(path) = &flags.config_file {
            println!(
                "weir-server: configuration file {} test is successful",
                path.display()
            );
        }
        return ExitCode::SUCCESS;
    }
    let log = match logging::init(&LogConfig {
        debug: opts.debug,
        trace: opts.trace,
        file: opts.log_file.clone(),
        log_time: opts.log_time,
        size_limit: opts.log_size_limit,
        max_files: opts.log_max_files,
        json: opts.log_json,
    }) {
        Ok(log) => log,
        Err(err) => {
            eprintln!("weir-server: cannot open log file: {err}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("weir-server: cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(opts, flags, log)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err}");
            eprintln!("weir-server: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(opts: Options, flags: &Flags, log: LogHandle) -> Result<(), String> {
    // Before the listener binds: a signal that arrives once clients can connect (say, SIGUSR2
    // from a deploy script) must not meet the default action, which kills the process.
    let mut signals = Signals::install()?;
    let handle = Server::start(opts.clone())
        .await
        .map_err(|e| e.to_string())?;
    if let Some(path) = &opts.pid_file {
        std::fs::write(path, std::process::id().to_string())
            .map_err(|e| format!("cannot write pid file {}: {e}", path.display()))?;
    }
    let ports_file = match &opts.ports_file_dir {
        Some(dir) => Some(write_ports_file(dir, &handle)?),
        None => None,
    };
    signals.wait(&handle, flags, &log).await;
    tracing::info!("Initiating Shutdown...");
    handle.shutdown().await;
    if let Some(path) = ports_file {
        let _ = std::fs::remove_file(path);
    }
    tracing::info!("Server Exiting..");
    Ok(())
}

struct Signals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
    hangup: tokio::signal::unix::Signal,
    lame_duck: tokio::signal::unix::Signal,
    reopen: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> Result<Signals, String> {
        let listen = |kind: SignalKind| {
            signal(kind).map_err(|e| format!("cannot install signal handler: {e}"))
        };
        Ok(Signals {
            interrupt: listen(SignalKind::interrupt())?,
            terminate: listen(SignalKind::terminate())?,
            hangup: listen(SignalKind::hangup())?,
            lame_duck: listen(SignalKind::user_defined2())?,
            reopen: listen(SignalKind::user_defined1())?,
        })
    }

    /// Serves signals until one asks to stop or the server stops by itself (lame duck mode).
    async fn wait(&mut self, handle: &ServerHandle, flags: &Flags, log: &LogHandle) {
        loop {
            tokio::select! {
                _ = self.interrupt.recv() => { tracing::info!("Trapped \"interrupt\" signal"); return }
                _ = self.terminate.recv() => { tracing::info!("Trapped \"terminated\" signal"); return }
                _ = handle.stopped() => return,
                _ = self.lame_duck.recv() => handle.enter_lame_duck_mode(),
                _ = self.reopen.recv() => match log.reopen() {
                    Ok(()) => tracing::info!("File log re-opened"),
                    Err(err) => tracing::error!("Unable to re-open the log file: {err}"),
                },
                _ = self.hangup.recv() => reload(handle, flags, log),
            }
        }
    }
}

/// SIGHUP: re-reads the config file and applies it, unless it changes an option that needs
/// a restart (then nothing changes and the error says which option).
fn reload(handle: &ServerHandle, flags: &Flags, log: &LogHandle) {
    let opts = match load_options(flags) {
        Ok(opts) => opts,
        Err(err) => {
            tracing::error!("Failed to reload server configuration: {err}");
            return;
        }
    };
    let (debug, trace) = (opts.debug, opts.trace);
    match handle.reload(opts) {
        Ok(_) => {
            log.set_levels(debug, trace);
            tracing::info!("Reloaded server configuration");
        }
        Err(err) => tracing::error!("Failed to reload server configuration: {err}"),
    }
}

/// `<exe>_<pid>.ports` with the client and monitoring URLs, as nats-server writes it.
fn write_ports_file(dir: &Path, handle: &ServerHandle) -> Result<std::path::PathBuf, String> {
    let exe = std::env::args()
        .next()
        .and_then(|a| {
            Path::new(&a)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "weir-server".to_string());
    let path = dir.join(format!("{exe}_{}.ports", std::process::id()));
    let advertised = |addr: std::net::SocketAddr| {
        let ip = if addr.ip().is_unspecified() {
            "127.0.0.1".to_string()
        } else {
            addr.ip().to_string()
        };
        format!("{ip}:{}", addr.port())
    };
    let mut ports =
        serde_json::json!({ "client": [format!("nats://{}", advertised(handle.client_addr()))] });
    if let Some(addr) = handle.monitor_addr() {
        ports["monitoring"] = serde_json::json!([format!("http://{}", advertised(addr))]);
    }
    std::fs::write(&path, ports.to_string())
        .map_err(|e| format!("cannot write ports file {}: {e}", path.display()))?;
    Ok(path)
}
