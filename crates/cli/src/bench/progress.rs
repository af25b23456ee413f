//! Progress bars on stderr, hidden for JSON output, `--no-progress` or a non-terminal.

use std::io::{IsTerminal, Write};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

use crate::output::{clock, commas, log};

/// Update bars every this many messages: indicatif takes a lock per update.
pub const UPDATE_EVERY: u64 = 4096;

pub struct Progress {
    multi: Option<MultiProgress>,
}

impl Progress {
    pub fn new(enabled: bool) -> Progress {
        let enabled = enabled && std::io::stderr().is_terminal();
        Progress {
            multi: enabled.then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr())),
        }
    }

    /// Ends the bars' last line so the summary starts on a fresh line.
    pub fn finish(&self) {
        if self.multi.is_some() {
            let _ = writeln!(std::io::stderr());
        }
    }

    /// A log line that does not tear the bars.
    pub fn log(&self, message: impl std::fmt::Display) {
        match &self.multi {
            Some(multi) => {
                let _ = multi.println(format!("{} {message}", clock()));
            }
            None => log(message),
        }
    }

    /// A bar counting up to `len`, labelled `label`; a hidden bar when disabled.
    pub fn bar(&self, label: &str, len: u64) -> ProgressBar {
        let Some(multi) = &self.multi else {
            return ProgressBar::hidden();
        };
        let style = ProgressStyle::with_template(
            "{prefix:<8} {elapsed:>4} [{bar:40.cyan/blue}] {percent:>3}% {human_pos}/{human_len} {rate}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .with_key(
            "rate",
            |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{}/s", commas(state.per_sec().round() as u64));
            },
        )
        .progress_chars("=> ");
        let bar = multi.add(ProgressBar::new(len));
        bar.set_style(style);
        bar.set_prefix(label.to_string());
        bar
    }
}
