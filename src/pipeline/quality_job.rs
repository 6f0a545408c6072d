//! The quality report of a synthetic dataset store against real data: the body of `dpwear
//! quality` and of the generator stage's quality step.
//!
//! Windows: real windows are cut by the scheme the generator trained on (its model card's, or
//! the caller's); synthetic subjects are always cut into non-overlapping 60 s windows, the
//! windows the generator emitted one after another (a sliding cut would straddle two of them).
//! Members are the real windows of the generator's training subjects; the holdout is either
//! the real store's other subjects (a per-fold generator's LOSO test subject) or a separate
//! store. Only the 1 Hz channel values enter the metrics; labels do not.
//!
//! May depend on: data, features::windows, evaluation::quality, pipeline::error.

use crate::data::{Dataset, CHANNELS, N_CHANNELS};
use crate::evaluation::fidelity::Windows;
use crate::evaluation::quality::{quality_report, QualityOptions, QualityReport};
use crate::features::windows::{windows, WindowScheme, WINDOW_LEN};

use super::error::JobError;

/// Where the held-out real windows come from.
#[derive(Clone, Copy, Debug)]
pub enum Holdout<'a> {
    /// No holdout: fidelity only.
    None,
    /// The real store's subjects that did not train the generator.
    OtherSubjects,
    /// A separate store (all its subjects).
    Store(&'a Dataset),
}

/// What to compare.
#[derive(Clone, Debug)]
pub struct QualityRequest<'a> {
    pub real: &'a Dataset,
    pub synthetic: &'a Dataset,
    /// The generator's training subjects (from its model card); `None`: unknown, so every
    /// subject of `real` counts as a member when a holdout store is given.
    pub training_subjects: Option<&'a [u32]>,
    pub holdout: Holdout<'a>,
    /// The scheme of the real windows.
    pub scheme: WindowScheme,
    pub options: QualityOptions,
}

/// The values of the windows of `ds` by `scheme` whose subject `keep` accepts, row-major
/// (window, second, channel), and how many windows there are.
pub fn window_values(
    ds: &Dataset,
    scheme: WindowScheme,
    keep: impl Fn(u32) -> bool,
) -> (Vec<f64>, usize) {
    let ws: Vec<_> = windows(ds, scheme)
        .into_iter()
        .filter(|w| keep(w.subject_id))
        .collect();
    let mut v = Vec::with_capacity(ws.len() * WINDOW_LEN * N_CHANNELS);
    for w in &ws {
        let s = &ds.subjects[w.subject_index];
        for t in w.start..w.start + WINDOW_LEN {
            for ch in &s.channels {
                v.push(ch[t]);
            }
        }
    }
    (v, ws.len())
}

fn windows_of<'a>(
    action: &str,
    what: &str,
    values: &'a [f64],
    n: usize,
) -> Result<Windows<'a>, JobError> {
    if n == 0 {
        return Err(JobError::invalid(
            action,
            format!("{what} has no complete 60 s window"),
        ));
    }
    Windows::new(values, n, WINDOW_LEN, N_CHANNELS)
        .map_err(|e| JobError::invalid(action, format!("{what}: {e}")))
}

/// The real windows (by the request's scheme) and the synthetic ones (non-overlapping) of a
/// request, cut once for every measurement that reads them (the report, the post-hoc models,
/// the figures): row-major (window, second, channel) values and window counts.
#[derive(Clone, Debug, PartialEq)]
pub struct SampleWindows {
    pub real: Vec<f64>,
    pub real_n: usize,
    pub synthetic: Vec<f64>,
    pub synthetic_n: usize,
}

impl SampleWindows {
    pub fn of(req: &QualityRequest<'_>) -> Self {
        let (real, real_n) = window_values(req.real, req.scheme, |_| true);
        let (synthetic, synthetic_n) =
            window_values(req.synthetic, WindowScheme::NonOverlapping, |_| true);
        Self {
            real,
            real_n,
            synthetic,
            synthetic_n,
        }
    }
}

/// Computes the report of `req` on its windows `w` ([`SampleWindows::of`] the same request).
/// Errors name the set that is empty or unusable.
pub fn quality(req: &QualityRequest<'_>, w: &SampleWindows) -> Result<QualityReport, JobError> {
    const ACTION: &str = "measure the synthetic data's quality";
    let trained = |id: u32| req.training_subjects.is_none_or(|t| t.contains(&id));
    let real = windows_of(ACTION, "the real store", &w.real, w.real_n)?;
    let synthetic = windows_of(ACTION, "the synthetic store", &w.synthetic, w.synthetic_n)?;
    let (mem_v, mem_n) = window_values(req.real, req.scheme, trained);
    let (hold_v, hold_n) = match req.holdout {
        Holdout::None => (Vec::new(), 0),
        Holdout::OtherSubjects => window_values(req.real, req.scheme, |id| !trained(id)),
        Holdout::Store(h) => window_values(h, req.scheme, |_| true),
    };
    let pair = match req.holdout {
        Holdout::None => None,
        _ => Some((
            windows_of(
                ACTION,
                "the generator's training subjects in the real store",
                &mem_v,
                mem_n,
            )?,
            windows_of(ACTION, "the holdout", &hold_v, hold_n)?,
        )),
    };
    let names: Vec<&str> = CHANNELS.to_vec();
    quality_report(
        &real,
        &synthetic,
        pair.as_ref().map(|(m, h)| (m, h)),
        &names,
        &req.options,
    )
    .map_err(|e| JobError::invalid(ACTION, e))
}
