//! One progress bar across a whole `train` pipeline (soup members, distillation, export), with an
//! ETA over all planned steps, and the measured time per step once the first steps are done.
//! Without a pipeline (the library's own callers, tests) each epoch gets its own bar as before.

use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};

/// Steps timed before the estimate is printed: enough to mix the length buckets' short and long
/// batches. The first one (allocation, warm-up) is not counted.
const TIMED_STEPS: u64 = 30;

struct Pipeline {
    bar: ProgressBar,
    device: String,
    timing: Mutex<Timing>,
}

#[derive(Default)]
struct Timing {
    steps: u64,
    since: Option<Instant>,
    reported: bool,
}

static PIPELINE: OnceLock<Pipeline> = OnceLock::new();

/// Starts the pipeline's bar over `total` planned steps.
pub fn begin(total: u64, device: &str) {
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix} [{bar:30}] {pos}/{len} steps {msg} | {elapsed} elapsed, ETA {eta}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    let pipeline = Pipeline {
        bar,
        device: device.to_string(),
        timing: Mutex::default(),
    };
    let _ = PIPELINE.set(pipeline);
}

/// The bar for one epoch: the pipeline's, labelled with the stage, or a bar of its own.
pub fn epoch_bar(len: u64, epoch: usize, epochs: usize) -> ProgressBar {
    if let Some(p) = PIPELINE.get() {
        p.bar.set_prefix(format!("epoch {epoch}/{epochs}"));
        // A stage longer than planned must not run past the end of the bar.
        let planned_left = p.bar.length().unwrap_or(0).saturating_sub(p.bar.position());
        if planned_left < len {
            p.bar.inc_length(len - planned_left);
        }
        return p.bar.clone();
    }
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template(
            "epoch {prefix} [{bar:30}] {pos}/{len} {msg} | {elapsed} elapsed, ETA {eta}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar.set_prefix(format!("{epoch}/{epochs}"));
    bar
}

/// Ends an epoch's bar (the pipeline's stays up).
pub fn end_epoch(bar: &ProgressBar) {
    let done = PIPELINE
        .get()
        .is_none_or(|p| p.bar.position() >= p.bar.length().unwrap_or(0));
    if done {
        bar.finish_and_clear();
    }
}

/// Steps done before this process started (a resumed run): the bar starts past them, untimed.
pub fn skip(steps: u64) {
    if let Some(p) = PIPELINE.get() {
        p.bar.inc(steps);
        p.bar.reset_eta();
    }
}

/// Counts one step done; after the first few, prints the measured time per step and the ETA.
pub fn step_done() {
    let Some(p) = PIPELINE.get() else { return };
    let mut t = p.timing.lock().expect("timing lock");
    t.steps += 1;
    let started = t.since;
    match started {
        None => t.since = Some(Instant::now()),
        Some(since) if !t.reported && t.steps > TIMED_STEPS => {
            t.reported = true;
            let per_step = since.elapsed().as_secs_f64() / (t.steps - 1) as f64;
            let left = p
                .bar
                .length()
                .unwrap_or(0)
                .saturating_sub(p.bar.position() + 1);
            line(&p.bar, format!(
                "measured {per_step:.2} s/step on {} over {} steps → about {} for the {left} steps left",
                p.device,
                t.steps - 1,
                human(per_step * left as f64)
            ));
        }
        Some(_) => {}
    }
}

/// Prints a line above the bar (or to stderr without one).
pub fn println(line: String) {
    match PIPELINE.get() {
        Some(p) => self::line(&p.bar, line),
        None => eprintln!("{line}"),
    }
}

/// A hidden bar (stderr not a terminal: logs, tests) prints nothing, so its lines go to stderr.
fn line(bar: &ProgressBar, text: String) {
    if bar.is_hidden() {
        eprintln!("{text}");
    } else {
        bar.println(text);
    }
}

/// Closes the pipeline's bar.
pub fn finish() {
    if let Some(p) = PIPELINE.get() {
        p.bar.finish_and_clear();
    }
}

/// A duration as hours or minutes, the way the plan is read.
pub fn human(seconds: f64) -> String {
    if seconds >= 3600.0 {
        format!("{:.1} h", seconds / 3600.0)
    } else if seconds >= 60.0 {
        format!("{:.0} min", seconds / 60.0)
    } else {
        format!("{seconds:.0} s")
    }
}

#[cfg(test)]
mod tests {
    use super::human;

    #[test]
    fn durations_read_in_the_largest_fitting_unit() {
        assert_eq!(human(6.1 * 3600.0), "6.1 h");
        assert_eq!(human(125.0), "2 min");
        assert_eq!(human(9.0), "9 s");
    }
}
