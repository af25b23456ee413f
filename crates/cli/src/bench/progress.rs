//! Progress bars on stderr, hidden for JSON output, `--no-progress` or a non-terminal.

use std::io::IsTerminal;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

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

    /// A bar counting up to `len`, labelled `label`; a hidden bar when disabled.
    pub fn bar(&self, label: &str, len: u64) -> ProgressBar {
        let Some(multi) = &self.multi else {
            return ProgressBar::hidden();
        };
        let style = ProgressStyle::with_template(
            "{prefix:<12} {elapsed:>4} [{bar:40.cyan/blue}] {percent:>3}% {human_pos}/{human_len} {per_sec}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        let bar = multi.add(ProgressBar::new(len));
        bar.set_style(style);
        bar.set_prefix(label.to_string());
        bar
    }
}
