//! Progress for long steps: an indicatif bar on a terminal; when stderr is not a terminal (a
//! Slurm job, CI) the bar is hidden and a summary line is logged every `every` items instead.

use std::io::IsTerminal;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress reporter over `len` items.
pub struct Progress {
    bar: ProgressBar,
    what: String,
    len: u64,
    every: u64,
    done: u64,
    started: Instant,
    tty: bool,
    /// Shown after the counts (e.g. the latest losses).
    detail: String,
}

impl Progress {
    /// Starts reporting `len` items of `what` (e.g. "subjects", "folds").
    pub fn new(len: u64, what: &str) -> Self {
        let tty = std::io::stderr().is_terminal();
        let bar = if tty {
            let b = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
            b.set_style(
                ProgressStyle::with_template(
                    "{spinner} {msg:>10} [{bar:30}] {pos}/{len} {elapsed_precise} eta {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            b.set_message(what.to_string());
            b
        } else {
            ProgressBar::hidden()
        };
        Self {
            bar,
            what: what.to_string(),
            len,
            every: (len / 10).max(1),
            done: 0,
            started: Instant::now(),
            tty,
            detail: String::new(),
        }
    }

    /// Like [`Progress::new`], with `done` items already finished (a resumed run).
    pub fn resuming(len: u64, done: u64, what: &str) -> Self {
        let mut p = Self::new(len, what);
        p.done = done.min(len);
        p.bar.set_position(p.done);
        p
    }

    /// Text shown after the counts on the bar and in the summary lines.
    pub fn set_detail(&mut self, detail: String) {
        if self.tty {
            self.bar.set_message(format!("{} {detail}", self.what));
        }
        self.detail = detail;
    }

    /// One more item finished.
    pub fn inc(&mut self) {
        self.done += 1;
        self.bar.inc(1);
        if !self.tty && (self.done.is_multiple_of(self.every) || self.done == self.len) {
            tracing::info!(
                "{} {}/{} done in {:.1} s{}{}",
                self.what,
                self.done,
                self.len,
                self.started.elapsed().as_secs_f64(),
                if self.detail.is_empty() { "" } else { "; " },
                self.detail
            );
        }
    }

    /// Clears the bar.
    pub fn finish(self) {
        self.bar.finish_and_clear();
    }
}
