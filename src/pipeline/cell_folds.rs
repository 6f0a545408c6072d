//! The per-fold pipeline of one cell: for each LOSO fold (or TSTR test subject), the fold's
//! synthetic subjects (none, one set for every fold, or the fold's own generator's output) →
//! features → classifier → score. Folds run in the order asked; a caller may stop between
//! folds (checkpoints, signals). Ranks, fold checkpoints and cell records belong to the
//! caller (`run-cell`).
//!
//! May depend on: config, features, training::eval_runner, pipeline::{inputs, error}.

use std::collections::BTreeMap;

use super::error::{Fault, JobError};
use super::inputs::eval_config;
use crate::config::CellConfig;
use crate::evaluation::protocol::Fold;
use crate::evaluation::record::EvalRecord;
use crate::features::FeatureSet;
use crate::training::eval_runner::{self, EvalError, EvalInputs, FoldOutcome, Next};

/// The synthetic data of a cell.
pub enum CellSynthetic {
    None,
    /// One synthetic set for every fold (a precomputed file or a shared generator's
    /// subjects), with the path records name.
    Shared(FeatureSet, String),
    /// One set per fold, by the fold's test subject (per-fold generators); only the folds a
    /// rank computes need to be present.
    PerFold(BTreeMap<u32, (FeatureSet, String)>),
}

/// The error of an evaluation step.
pub fn eval_error(action: &str, e: EvalError) -> JobError {
    let fault = match &e {
        EvalError::Invalid(_) => Fault::InvalidParameter,
        EvalError::Input(d) => Fault::of_data(d),
        EvalError::Metrics(_) => Fault::Internal,
    };
    JobError::new(fault, action, e)
}

/// A cell's evaluation: its configuration, the real features and its synthetic data.
pub struct CellEval<'a> {
    pub config: &'a CellConfig,
    pub real: &'a FeatureSet,
    pub real_path: String,
    pub synthetic: &'a CellSynthetic,
    pub threads: usize,
}

impl CellEval<'_> {
    /// Whether every fold has its own synthetic data (and so TSTR folds are independent).
    pub fn per_fold(&self) -> bool {
        matches!(self.synthetic, CellSynthetic::PerFold(_))
    }

    fn inputs<'s>(&'s self, synthetic: Option<(&'s FeatureSet, String)>) -> EvalInputs<'s> {
        let (config, device) = eval_config(self.config, self.threads);
        EvalInputs {
            config,
            real: self.real,
            real_path: self.real_path.clone(),
            synthetic,
            device,
        }
    }

    /// The inputs of fold `test_subject` (per-fold) or of every fold.
    fn inputs_for(&self, test_subject: Option<u32>) -> Result<EvalInputs<'_>, JobError> {
        Ok(match self.synthetic {
            CellSynthetic::None => self.inputs(None),
            CellSynthetic::Shared(fs, p) => self.inputs(Some((fs, p.clone()))),
            CellSynthetic::PerFold(map) => {
                let entry = match test_subject {
                    Some(s) => map.get(&s),
                    None => map.values().next(),
                };
                let (fs, p) = entry.ok_or_else(|| {
                    JobError::new(
                        Fault::Internal,
                        "run the cell's folds",
                        format!(
                            "no synthetic data for the fold of test subject {}",
                            test_subject.map_or("?".into(), |s| s.to_string())
                        ),
                    )
                })?;
                self.inputs(Some((fs, p.clone())))
            }
        })
    }

    /// The cell's folds, in fold order.
    pub fn plan_folds(&self) -> Result<Vec<Fold>, JobError> {
        let inp = self.inputs_for(None)?;
        eval_runner::plan_folds(&inp).map_err(|e| eval_error("plan the cell's folds", e))
    }

    /// Trains and scores folds `todo` (indices of [`CellEval::plan_folds`]); `on_fold` sees
    /// each outcome and may stop the run between folds.
    pub fn run_folds(
        &self,
        todo: &[usize],
        mut on_fold: impl FnMut(&FoldOutcome) -> Next,
    ) -> Result<Vec<FoldOutcome>, JobError> {
        let invalid = |e| eval_error("run the cell's folds", e);
        let r = self.config.replicate;
        if !self.per_fold() {
            let inp = self.inputs_for(None)?;
            return eval_runner::run_folds(&inp, r, todo, on_fold).map_err(invalid);
        }
        let folds = self.plan_folds()?;
        let mut out = Vec::with_capacity(todo.len());
        let mut stopped = false;
        for &f in todo {
            let fold = folds.get(f).ok_or_else(|| {
                JobError::invalid(
                    "run the cell's folds",
                    format!("fold {f} does not exist ({} folds)", folds.len()),
                )
            })?;
            let inp = self.inputs_for(Some(fold.test_subject))?;
            let done = eval_runner::run_folds(&inp, r, &[f], |o| {
                let next = on_fold(o);
                stopped = next == Next::Stop;
                next
            })
            .map_err(invalid)?;
            out.extend(done);
            if stopped {
                break;
            }
        }
        Ok(out)
    }

    /// The cell's evaluation record from all of its folds.
    pub fn assemble(&self, all: Vec<FoldOutcome>, seconds: f64) -> Result<EvalRecord, JobError> {
        let inp = self.inputs_for(None)?;
        let mut rec = eval_runner::assemble(&inp, vec![(self.config.replicate, all)], seconds)
            .map_err(|e| eval_error("assemble the cell's record", e))?;
        if let (CellSynthetic::PerFold(map), Some(s)) = (self.synthetic, rec.synthetic.as_mut()) {
            s.path = format!(
                "{} per-fold generator samples (one per test subject; e.g. {})",
                map.len(),
                s.path
            );
            s.windows = map.values().map(|(f, _)| f.len()).sum();
        }
        Ok(rec)
    }
}
