//! Progress bars on stderr, fed by the library's [`Observer`] calls.

use advland_schema::EpochRecord;
use advland_train::Observer;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Draws one bar per phase and a line per epoch on stderr; silent with `--quiet`.
pub struct Bars {
    bar: ProgressBar,
    phase: String,
    label: String,
    quiet: bool,
}

impl Bars {
    /// Bars labelled `label` (e.g. the run name).
    pub fn new(label: &str, quiet: bool) -> Self {
        let bar = ProgressBar::hidden();
        if !quiet {
            bar.set_draw_target(ProgressDrawTarget::stderr());
        }
        bar.set_style(
            ProgressStyle::with_template("{prefix:>12} {msg:<6} [{bar:30}] {pos}/{len} {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_prefix(label.to_owned());
        Self {
            bar,
            phase: String::new(),
            label: label.to_owned(),
            quiet,
        }
    }

    /// Prints a line above the bar.
    pub fn println(&self, line: &str) {
        if !self.quiet {
            self.bar.suspend(|| eprintln!("{line}"));
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// A bar counting `total` items on stderr (hidden with `--quiet`).
pub fn counter(label: &str, total: u64, quiet: bool) -> ProgressBar {
    let bar = ProgressBar::hidden();
    if !quiet {
        bar.set_draw_target(ProgressDrawTarget::stderr());
    }
    bar.set_style(
        ProgressStyle::with_template("{prefix:>12} [{bar:30}] {pos}/{len} {elapsed} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_prefix(label.to_owned());
    bar.set_length(total);
    bar
}

impl Observer for Bars {
    fn progress(&mut self, phase: &str, done: usize, total: usize) {
        if phase != self.phase {
            self.phase = phase.to_owned();
            self.bar.set_message(phase.to_owned());
            self.bar.reset();
        }
        self.bar.set_length(total as u64);
        self.bar.set_position(done as u64);
    }

    fn epoch(&mut self, r: &EpochRecord) {
        let evaluations = r
            .evaluations()
            .map(|(split, e)| {
                let robust = e
                    .robust
                    .iter()
                    .map(|m| {
                        format!(
                            " | {} eps={:.3}: acc {:.3}",
                            m.attack.norm, m.attack.eps, m.metrics.accuracy
                        )
                    })
                    .collect::<String>();
                format!(" | {split} clean acc {:.3}{robust}", e.clean.accuracy)
            })
            .collect::<String>();
        self.println(&format!(
            "{} epoch {:>3} lr {:.4} | objective loss {:.4} acc {:.3}{evaluations} | {:.1}s",
            self.label,
            r.epoch,
            r.lr,
            r.train_objective.loss,
            r.train_objective.accuracy,
            r.duration_s
        ));
    }
}

/// A spinner with the elapsed time on stderr (hidden with `--quiet`), for work that reports no
/// intermediate progress.
pub fn spinner(message: &str, quiet: bool) -> ProgressBar {
    let spinner = ProgressBar::hidden();
    if !quiet {
        spinner.set_draw_target(ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} {elapsed}") {
            spinner.set_style(style);
        }
        spinner.set_message(message.to_owned());
        spinner.enable_steady_tick(std::time::Duration::from_millis(200));
    }
    spinner
}
