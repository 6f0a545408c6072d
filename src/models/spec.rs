//! What a stress classifier is, without libtorch: its kind, its head/loss mode, the
//! reference's training hyper-parameters (spec §4.2) and the optional DP-SGD request
//! ([`DpTraining`]).

use serde::{Deserialize, Serialize};

use crate::privacy::accounting::ledger::AccountantKind;
use crate::privacy::accounting::PrivacyUnit;

/// The three stress classifiers of the reference (spec §4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClassifierKind {
    Cnn,
    CnnLstm,
    Transformer,
}

impl ClassifierKind {
    /// All kinds, in the reference's table order.
    pub const ALL: [ClassifierKind; 3] = [
        ClassifierKind::Cnn,
        ClassifierKind::CnnLstm,
        ClassifierKind::Transformer,
    ];

    /// Stable name (`cnn`, `cnn-lstm`, `transformer`).
    pub fn as_str(self) -> &'static str {
        match self {
            ClassifierKind::Cnn => "cnn",
            ClassifierKind::CnnLstm => "cnn-lstm",
            ClassifierKind::Transformer => "transformer",
        }
    }

    /// Parses [`ClassifierKind::as_str`] (case-insensitive; `CNN-LSTM`, `cnn_lstm` accepted).
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().replace('_', "-").as_str() {
            "cnn" => Some(ClassifierKind::Cnn),
            "cnn-lstm" => Some(ClassifierKind::CnnLstm),
            "transformer" => Some(ClassifierKind::Transformer),
            _ => None,
        }
    }

    /// The reference's training configuration (spec §4.2).
    pub fn reference_hyper(self) -> TrainHyper {
        match self {
            ClassifierKind::Cnn => TrainHyper {
                epochs: 10,
                batch_size: 50,
                learning_rate: 1e-3,
                dp: None,
            },
            ClassifierKind::CnnLstm => TrainHyper {
                epochs: 20,
                batch_size: 50,
                learning_rate: 1e-3,
                dp: None,
            },
            ClassifierKind::Transformer => TrainHyper {
                epochs: 110,
                batch_size: 50,
                learning_rate: 1e-4,
                dp: None,
            },
        }
    }
}

/// Output head, loss and input handling.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HeadMode {
    /// The reference's: two independent sigmoid outputs trained with binary cross-entropy on
    /// one-hot targets, class weights `{0: 1, 1: n_nonstress / n_stress}`, raw FFT features.
    Reference,
    /// dpwear's default: one softmax over the classes trained with class-weighted
    /// cross-entropy (weights `n / (k · n_c)`, scikit-learn's "balanced"), and each feature
    /// standardised with the mean and sd of the training windows (zero-sd features left at 0).
    Default,
}

impl HeadMode {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            HeadMode::Reference => "reference",
            HeadMode::Default => "default",
        }
    }
}

/// Epochs, batch size and Adam learning rate, and whether the Adam steps are DP-SGD steps.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainHyper {
    pub epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    /// DP-SGD instead of plain mini-batch Adam (absent: non-private training; the field is
    /// then not serialised, so non-private records are unchanged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dp: Option<DpTraining>,
}

/// How the classifier is trained privately.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DpMode {
    /// Standard DP-SGD: Poisson sampling with rate q = batch / n, per-example (or per-unit)
    /// clipping to C, N(0, σ²C²) noise on the clipped sum, division by the expected batch
    /// size; σ calibrated for the target ε with the chosen accountant.
    Example,
    /// The reference implementation's private rows (spec §4.3): shuffled fixed-size batches,
    /// the batch-mean gradient clipped to C with N(0, σ²C²) added (one "microbatch"), σ from
    /// tf-privacy 0.8.5's `compute_noise` with the reference's n, δ and steps. NOT
    /// example-level DP.
    ReferenceBatch,
}

impl DpMode {
    /// Stable name (`example`, `reference-batch`).
    pub fn as_str(self) -> &'static str {
        match self {
            DpMode::Example => "example",
            DpMode::ReferenceBatch => "reference-batch",
        }
    }
}

/// A DP-SGD request for classifier training: the target ε and how to reach it. σ, q, δ and
/// the number of steps are derived per fold (they depend on the fold's training set) and
/// recorded in the fold's privacy block.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct DpTraining {
    pub mode: DpMode,
    /// Target ε (> 0) for the whole training run of one model.
    pub target_epsilon: f64,
    /// Fixed δ ∈ (0, 1); absent: min(1e−5, 1/(100·n)) with n the fold's privacy units
    /// (example mode) or 10^−digits(n) with the reference's n (reference-batch mode). A δ ≥ 1/n
    /// is refused (`privacy::accounting::delta`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delta: Option<f64>,
    /// Accountant for σ calibration and the spent ε (example mode; reference-batch mode
    /// always uses tf-privacy 0.8.5's RDP accountant).
    pub accountant: AccountantKind,
    /// Clipping norm C (> 0).
    pub clip_norm: f64,
    /// Privacy unit: window (default) or subject.
    pub unit: PrivacyUnit,
    /// Example mode: public class weights [non-stress, stress], fixed before training (never
    /// computed from the fold's labels). Each clipped per-example gradient is scaled by
    /// w[y]/max(w) ≤ 1, so the sensitivity stays C; clipping would undo a weight put on the
    /// loss. Reference-batch mode ignores them (it uses the reference's own weights).
    #[serde(default = "DpTraining::default_class_weights")]
    pub class_weights: [f64; 2],
    /// Derive the Poisson batches and the Gaussian noise from the recorded seed (bitwise
    /// reproducible; the guarantee then does NOT hold against anyone who knows the seed).
    /// Default: a fresh secret key from the operating system per trained model, never
    /// recorded.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reproducible_noise: bool,
}

impl DpTraining {
    /// The default public class weights: 1 for non-stress, 2.5 for stress. Provenance: the
    /// published reference's weights n_nonstress/n_stress were 2.51–2.57 on every real LOSO
    /// fold (spec §4.2); dpwear takes that published figure as a fixed hyper-parameter instead
    /// of recounting the private labels. For another dataset set them from public knowledge.
    pub const DEFAULT_CLASS_WEIGHTS: [f64; 2] = [1.0, 2.5];

    pub(crate) fn default_class_weights() -> [f64; 2] {
        Self::DEFAULT_CLASS_WEIGHTS
    }

    /// Window-level example DP-SGD with the RDP accountant, C = 1, the default δ rule and the
    /// default public class weights.
    pub fn example(target_epsilon: f64) -> Self {
        DpTraining {
            mode: DpMode::Example,
            target_epsilon,
            delta: None,
            accountant: AccountantKind::Rdp,
            clip_norm: 1.0,
            unit: PrivacyUnit::Window,
            class_weights: Self::DEFAULT_CLASS_WEIGHTS,
            reproducible_noise: false,
        }
    }

    /// Per-class contribution scales w[c]/max(w) ∈ (0, 1].
    pub fn class_scales(&self) -> [f64; 2] {
        let max = self.class_weights[0].max(self.class_weights[1]);
        [self.class_weights[0] / max, self.class_weights[1] / max]
    }

    /// Checks ε > 0, δ ∈ (0, 1), C > 0 (all finite) and the mode/unit combination; the error
    /// names the parameter.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.target_epsilon.is_finite() && self.target_epsilon > 0.0) {
            return Err(format!(
                "--epsilon {} must be finite and > 0",
                self.target_epsilon
            ));
        }
        if let Some(d) = self.delta {
            if !(d > 0.0 && d < 1.0) {
                return Err(format!("--delta {d} must lie in (0, 1)"));
            }
        }
        if !(self.clip_norm.is_finite() && self.clip_norm > 0.0) {
            return Err(format!(
                "--clip-norm {} must be finite and > 0",
                self.clip_norm
            ));
        }
        if !self.class_weights.iter().all(|w| w.is_finite() && *w > 0.0) {
            return Err(format!(
                "--dp-class-weights {},{} must both be finite and > 0",
                self.class_weights[0], self.class_weights[1]
            ));
        }
        if self.mode == DpMode::ReferenceBatch && self.accountant != AccountantKind::Rdp {
            return Err(
                "--dp-mode reference-batch calibrates sigma with tf-privacy 0.8.5's RDP accountant \
                 (the reference's); --accountant pld/prv applies to --dp-mode example only"
                    .into(),
            );
        }
        if self.mode == DpMode::ReferenceBatch && self.unit != PrivacyUnit::Window {
            return Err(
                "--dp-mode reference-batch clips batch-mean gradients of shuffled windows; \
                 --privacy-unit subject needs --dp-mode example"
                    .into(),
            );
        }
        Ok(())
    }
}
