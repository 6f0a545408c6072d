//! What a stress classifier is, without libtorch: its kind, its head/loss mode and the
//! reference's training hyper-parameters (spec §4.2).

use serde::{Deserialize, Serialize};

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
            },
            ClassifierKind::CnnLstm => TrainHyper {
                epochs: 20,
                batch_size: 50,
                learning_rate: 1e-3,
            },
            ClassifierKind::Transformer => TrainHyper {
                epochs: 110,
                batch_size: 50,
                learning_rate: 1e-4,
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

/// Epochs, batch size and Adam learning rate.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainHyper {
    pub epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
}
