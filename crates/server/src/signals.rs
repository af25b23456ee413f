//! `--signal` (send a signal to a running server) and the signals a running server obeys:
//! SIGINT/SIGTERM shut down gracefully, SIGUSR2 enters lame duck mode, SIGHUP reloads.

use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum SignalError {
    #[error("unknown signal {0:?}: use one of stop, quit, term, reopen, reload, ldm")]
    UnknownCommand(String),
    #[error("invalid pid {0:?}: give a process id or the path of a pid file")]
    BadPid(String),
    #[error("no weir-server process found; give its pid with --signal {0}=<pid>")]
    NoProcess(String),
    #[error(
        "several weir-server processes are running ({0}); choose one with --signal <signal>=<pid>"
    )]
    Ambiguous(String),
    #[error("cannot signal process {pid}: {source}")]
    Kill {
        pid: i32,
        #[source]
        source: std::io::Error,
    },
}

/// The signal nats-server sends for each `--signal` command.
pub fn signal_for(command: &str) -> Option<i32> {
    Some(match command {
        "stop" => libc::SIGKILL,
        "quit" => libc::SIGINT,
        "term" => libc::SIGTERM,
        "reopen" => libc::SIGUSR1,
        "reload" => libc::SIGHUP,
        "ldm" => libc::SIGUSR2,
        _ => return None,
    })
}

/// A pid, or the path of a pid file holding one.
fn resolve_pid(text: &str) -> Result<i32, SignalError> {
    if let Ok(pid) = text.trim().parse::<i32>() {
        return Ok(pid);
    }
    let contents = std::fs::read_to_string(Path::new(text))
        .map_err(|_| SignalError::BadPid(text.to_string()))?;
    contents
        .trim()
        .parse::<i32>()
        .map_err(|_| SignalError::BadPid(text.to_string()))
}

/// Finds running weir-server processes other than this one through /proc.
fn find_servers() -> Vec<i32> {
    let me = std::process::id() as i32;
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| pid != me)
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|comm| comm.trim() == "weir-server")
        })
        .collect()
}

pub fn send(command: &str, pid: Option<&str>) -> Result<i32, SignalError> {
    let signal =
        signal_for(command).ok_or_else(|| SignalError::UnknownCommand(command.to_string()))?;
    let pid = match pid {
        Some(text) => resolve_pid(text)?,
        None => match find_servers().as_slice() {
            [] => return Err(SignalError::NoProcess(command.to_string())),
            [one] => *one,
            many => {
                let list: Vec<String> = many.iter().map(i32::to_string).collect();
                return Err(SignalError::Ambiguous(list.join(", ")));
            }
        },
    };
    // SAFETY: kill(2) has no memory-safety preconditions; errors come back through errno.
    let rc = unsafe { libc::kill(pid, signal) };
    if rc != 0 {
        return Err(SignalError::Kill {
            pid,
            source: std::io::Error::last_os_error(),
        });
    }
    Ok(pid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_map_to_nats_server_signals() {
        assert_eq!(signal_for("ldm"), Some(libc::SIGUSR2));
        assert_eq!(signal_for("stop"), Some(libc::SIGKILL));
        assert_eq!(signal_for("reload"), Some(libc::SIGHUP));
        assert_eq!(signal_for("bogus"), None);
    }

    #[test]
    fn pid_from_number_or_file() {
        assert_eq!(resolve_pid("42").unwrap(), 42);
        let path = std::env::temp_dir().join(format!("weir-sig-test-{}.pid", std::process::id()));
        std::fs::write(&path, "1234\n").unwrap();
        assert_eq!(resolve_pid(path.to_str().unwrap()).unwrap(), 1234);
        std::fs::remove_file(&path).unwrap();
        assert!(matches!(
            resolve_pid("/no/such/file"),
            Err(SignalError::BadPid(_))
        ));
    }
}
