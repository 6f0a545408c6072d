//! The privacy of a generator training: σ calibrated before training from the exact schedule
//! the family declares ([`PrivateUse`]), and the statement computed after training from the
//! realised number of mechanism invocations.
//!
//! What one unit protects, and what is refused:
//! - **window unit** (default): one 60-s window. Refused on sliding windows, where every
//!   second lies in two windows (a window-level guarantee would really be a group-of-2
//!   guarantee for a second of data): use non-overlapping windows or the subject unit.
//! - **subject unit**: all windows of one subject (subjects drawn with the same rate q).
//! - δ: the one rule of `accounting::delta` (default min(1e-5, 1/(100 n)); δ ≥ 1/n refused).
//! - A family whose training cannot be private ([`PrivateUse::Impossible`], e.g. TimeGAN,
//!   whose five networks all read the data) is refused with its reason.
//!
//! Not covered by any statement (named in it): the per-subject min–max scaling of the 1 Hz
//! data done before training (a private statistic of each subject), and the choice of
//! hyper-parameters (fixed in advance, not tuned on the data by dpwear).
//!
//! May depend on: privacy::accounting, the family traits.

use serde::{Deserialize, Serialize};

use super::algorithm::{DpSettings, Family, PrivateUse};
use super::data::GenData;
use crate::features::windows::WindowScheme;
use crate::privacy::accounting::delta::choose_delta;
use crate::privacy::accounting::fmt::sig6;
use crate::privacy::accounting::ledger::AccountantKind;
use crate::privacy::accounting::{
    calibrate_sigma, compute_noise, Accountant, CalibrationOptions, DpLevel, PldAccountant,
    PrivacyStatement, PrivacyUnit, PrvAccountant, RdpAccountant, Sampling, Schedule,
};

/// What the user asked for.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct GenDpRequest {
    pub target_epsilon: f64,
    /// `None`: the default rule.
    pub delta: Option<f64>,
    pub accountant: AccountantKind,
    pub unit: PrivacyUnit,
    /// Per-unit clipping norm of DP-SGD.
    pub clip_norm: f64,
    /// DP batches and noise derived from the public seed (`--reproducible-dp`): the statement
    /// then excludes anyone who knows the seed.
    #[serde(default)]
    pub reproducible_noise: bool,
}

/// What the statement does not cover (recorded in every private model card).
pub const NOT_COVERED: [&str; 3] = [
    "the per-subject min-max scaling of the 1 Hz data done before training (each subject's min and max are private statistics used outside the mechanism)",
    "the choice of hyper-parameters and schedule (fixed in advance by the mode, not tuned on these data by dpwear)",
    "releases of other generators or classifiers trained on the same subjects (each run states its own epsilon; compose them yourself)",
];

/// [`NOT_COVERED`] in one clause, appended to every printed generator statement.
pub const NOT_COVERED_SHORT: &str = "not covered: the per-subject min-max scaling done before training, the choice of hyper-parameters, other releases on the same subjects";

/// The plan: σ fixed before training.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GenDpPlan {
    pub request: GenDpRequest,
    pub mechanism: String,
    pub units: usize,
    pub units_rule: String,
    pub sample_rate: f64,
    pub expected_batch: f64,
    pub fake_batch: usize,
    pub steps_planned: u64,
    pub delta: f64,
    pub delta_rule: String,
    pub sigma: f64,
    pub epsilon_planned: f64,
    pub notes: Vec<String>,
}

/// The privacy block of a model card.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GenPrivacyRecord {
    /// One line: ε, δ, unit, accountant, σ, q, steps, sampling.
    pub statement: String,
    pub epsilon_target: f64,
    pub epsilon_spent: f64,
    pub delta: f64,
    pub delta_rule: String,
    pub accountant: AccountantKind,
    pub conversion: String,
    pub sigma: f64,
    pub sample_rate: f64,
    pub sampling: Sampling,
    pub unit: PrivacyUnit,
    pub units: usize,
    pub units_rule: String,
    pub mechanism: String,
    pub clip_norm: f64,
    pub expected_batch: f64,
    pub fake_batch: usize,
    pub steps_planned: u64,
    pub steps_realised: u64,
    pub empty_batches: u64,
    pub mean_clipped_fraction: Option<f64>,
    pub not_covered: Vec<String>,
    pub notes: Vec<String>,
}

/// The accountant of `kind` with its default settings.
pub(crate) fn accountant(kind: AccountantKind) -> Box<dyn Accountant> {
    match kind {
        AccountantKind::Rdp => Box::new(RdpAccountant::default()),
        AccountantKind::RdpReference => Box::new(RdpAccountant::reference()),
        AccountantKind::Pld => Box::new(PldAccountant::default()),
        AccountantKind::Prv => Box::new(PrvAccountant::default()),
    }
}

/// Checks the request and calibrates σ for the family's declared schedule on `data`.
pub fn plan(req: &GenDpRequest, family: &dyn Family, data: &GenData) -> Result<GenDpPlan, String> {
    if !(req.target_epsilon.is_finite() && req.target_epsilon > 0.0) {
        return Err(format!(
            "--epsilon {} must be finite and > 0 (omit it for a non-private generator)",
            req.target_epsilon
        ));
    }
    if !(req.clip_norm.is_finite() && req.clip_norm > 0.0) {
        return Err(format!(
            "--clip-norm {} must be finite and > 0",
            req.clip_norm
        ));
    }
    if req.unit == PrivacyUnit::Window && data.scheme == WindowScheme::Sliding {
        return Err(
            "window-level DP on sliding windows is refused: every second lies in two 60-s \
             windows (stride 30 s), so one window's guarantee would not protect one window of \
             data; use --windows non-overlapping, or --privacy-unit subject"
                .into(),
        );
    }
    let (units, units_rule, unit_name) = match req.unit {
        PrivacyUnit::Window => (
            data.len(),
            "training windows".to_string(),
            "training windows",
        ),
        PrivacyUnit::Subject => (
            data.subject_ids.len(),
            "training subjects (each drawn with the windows' rate q)".to_string(),
            "training subjects",
        ),
    };
    let chosen = choose_delta(req.delta, "fixed (--delta)", units as u64, unit_name)
        .map_err(|e| format!("choose delta: {e}"))?;
    let mut notes: Vec<String> = chosen.warning.into_iter().collect();
    let (q, steps, expected_batch, mechanism) = match family.private_use(data, req.unit) {
        PrivateUse::Impossible(why) => {
            return Err(format!(
                "a finite epsilon cannot be honoured for {}: {why}",
                family.kind()
            ))
        }
        PrivateUse::DpSgd {
            expected_batch,
            steps,
        } => {
            if steps == 0 {
                return Err("the schedule has zero private steps; nothing to train".into());
            }
            let q = expected_batch / data.len() as f64;
            if !(q > 0.0 && q <= 1.0) {
                return Err(format!(
                    "expected batch {expected_batch} must lie in (0, {}] (the training windows)",
                    data.len()
                ));
            }
            let eb = match req.unit {
                PrivacyUnit::Window => expected_batch,
                PrivacyUnit::Subject => q * units as f64,
            };
            (
                q,
                steps,
                eb,
                "DP-SGD on every update that reads real windows: per-unit clipping, Gaussian noise once per step, a fresh Poisson batch per step".to_string(),
            )
        }
        PrivateUse::OneShotGaussian => (
            1.0,
            1,
            units as f64,
            "one Gaussian release of a bounded-sensitivity statistic; the generator is fitted to it without reading the data again".to_string(),
        ),
    };
    let sched = Schedule::new(q, steps, chosen.delta).map_err(|e| format!("schedule: {e}"))?;
    let acc = accountant(req.accountant);
    let (sigma, epsilon_planned) = match family.reference_sigma(data) {
        Some(r) => {
            let sigma = compute_noise(r.n, r.batch, req.target_epsilon, r.epochs, r.delta, 1e-5)
                .map_err(|e| format!("the reference's sigma calibration ({}): {e}", r.rule))?;
            let eps = acc
                .epsilon(&sched, sigma)
                .map_err(|e| format!("account for the planned steps: {e}"))?;
            notes.push(format!(
                "sigma = {} from the reference's intended calibration, applied for real: tf-privacy compute_noise(n = {}, batch = {}, epsilon = {}, epochs = {}, delta = {:e}) ({}); the stated epsilon is dpwear's {} accountant for the schedule actually run (q = {}, {} steps, delta = {:e}) and may differ from the target",
                sig6(sigma), r.n, r.batch, req.target_epsilon, r.epochs, r.delta, r.rule,
                req.accountant.as_str(), sig6(q), steps, chosen.delta
            ));
            (sigma, eps)
        }
        None => {
            let cal = calibrate_sigma(
                acc.as_ref(),
                &sched,
                req.target_epsilon,
                &CalibrationOptions::default(),
            )
            .map_err(|e| format!("calibrate sigma: {e}"))?;
            notes.extend(cal.note());
            (cal.sigma, cal.epsilon)
        }
    };
    Ok(GenDpPlan {
        request: *req,
        mechanism,
        units,
        units_rule,
        sample_rate: q,
        expected_batch,
        fake_batch: family.fake_batch(expected_batch),
        steps_planned: steps,
        delta: chosen.delta,
        delta_rule: chosen.rule,
        sigma,
        epsilon_planned,
        notes,
    })
}

impl GenDpPlan {
    /// The settings the algorithm trains with.
    pub fn settings(&self) -> DpSettings {
        DpSettings {
            sigma: self.sigma,
            clip_norm: self.request.clip_norm,
            sample_rate: self.sample_rate,
            expected_batch: self.expected_batch,
            fake_batch: self.fake_batch,
            unit: self.request.unit,
        }
    }

    /// The card's privacy block for `steps_realised` mechanism invocations (ε from the
    /// realised count, never from the plan).
    pub fn record(
        &self,
        steps_realised: u64,
        empty_batches: u64,
        clipped_fraction_sum: f64,
    ) -> Result<GenPrivacyRecord, String> {
        let acc = accountant(self.request.accountant);
        let (epsilon, statement) = if steps_realised == 0 {
            (
                0.0,
                format!(
                    "(ε = 0, δ = 0)-DP per {}: no step read the data yet",
                    self.request.unit.as_str()
                ),
            )
        } else {
            let sched = Schedule::new(self.sample_rate, steps_realised, self.delta)
                .map_err(|e| format!("schedule: {e}"))?;
            let st = PrivacyStatement::compute(
                acc.as_ref(),
                &sched,
                self.sigma,
                Sampling::Poisson,
                self.request.unit,
                DpLevel::ExampleLevel,
            )
            .map_err(|e| format!("account for the realised steps: {e}"))?
            .with_delta_source(self.delta_rule.clone());
            (st.epsilon, st.to_string())
        };
        Ok(GenPrivacyRecord {
            statement,
            epsilon_target: self.request.target_epsilon,
            epsilon_spent: epsilon,
            delta: self.delta,
            delta_rule: self.delta_rule.clone(),
            accountant: self.request.accountant,
            conversion: acc.conversion(),
            sigma: self.sigma,
            sample_rate: self.sample_rate,
            sampling: Sampling::Poisson,
            unit: self.request.unit,
            units: self.units,
            units_rule: self.units_rule.clone(),
            mechanism: self.mechanism.clone(),
            clip_norm: self.request.clip_norm,
            expected_batch: self.expected_batch,
            fake_batch: self.fake_batch,
            steps_planned: self.steps_planned,
            steps_realised,
            empty_batches,
            mean_clipped_fraction: (steps_realised > empty_batches)
                .then(|| clipped_fraction_sum / (steps_realised - empty_batches) as f64),
            not_covered: {
                let mut v: Vec<String> = NOT_COVERED.iter().map(|s| s.to_string()).collect();
                if self.request.reproducible_noise {
                    v.insert(0, "an adversary who knows the recorded seed: --reproducible-dp derives the Poisson batches and the Gaussian noise from it".into());
                }
                v
            },
            notes: self.notes.clone(),
        })
    }
}
