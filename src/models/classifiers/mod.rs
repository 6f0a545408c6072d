//! The reference's three stress classifiers (spec §4.1), layer by layer, over (batch, 6, 210)
//! feature tensors. Each returns two logits per window: the reference head applies a sigmoid to
//! each (two independent outputs), the default head a softmax over both.

pub mod cnn;
pub mod cnn_lstm;
pub mod conv_stack;
pub mod transformer;

use tch::{nn, Tensor};

use super::spec::ClassifierKind;

/// A classifier network.
pub trait Classifier: Send {
    /// Logits (batch, 2) for features (batch, 6, 210); `train` enables dropout and batch-norm
    /// statistics updates.
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor;
}

/// Builds a classifier's variables under `p` (Keras-style initialisation).
pub fn build(kind: ClassifierKind, p: nn::Path) -> Box<dyn Classifier> {
    match kind {
        ClassifierKind::Cnn => Box::new(cnn::Cnn::new(p)),
        ClassifierKind::CnnLstm => Box::new(cnn_lstm::CnnLstm::new(p)),
        ClassifierKind::Transformer => Box::new(transformer::Transformer::new(p)),
    }
}

/// Number of parameters in a VarStore, trainable or not (Keras' "Total params", which counts
/// batch-norm moving statistics).
pub fn parameter_count(vs: &nn::VarStore) -> i64 {
    vs.variables().values().map(|t| t.numel() as i64).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    fn count(kind: ClassifierKind) -> i64 {
        let vs = nn::VarStore::new(Device::Cpu);
        let _m = build(kind, vs.root());
        parameter_count(&vs)
    }

    #[test]
    fn parameter_counts_match_keras() {
        // CNN: stated in the spec (2,601,730). CNN-LSTM and Transformer: the Keras totals of
        // the spec's layer lists (≈1.87 M and ≈6.93 M there), counted by hand:
        //   CNN-LSTM = conv 37,312 + BN 256 + LSTM 1,769,984 + LSTM 49,408 + dense 16,706
        //   Transformer = 8 × (MHA 863,442 + 2 LN 840 + conv1x1 844 + 1,050) + 896 + 258
        assert_eq!(count(ClassifierKind::Cnn), 2_601_730);
        assert_eq!(count(ClassifierKind::CnnLstm), 1_873_666);
        assert_eq!(count(ClassifierKind::Transformer), 6_930_562);
    }

    #[test]
    fn outputs_are_batch_by_two_and_finite() {
        tch::manual_seed(0);
        for kind in ClassifierKind::ALL {
            let vs = nn::VarStore::new(Device::Cpu);
            let m = build(kind, vs.root());
            let x = Tensor::rand([3, 6, 210], (Kind::Float, Device::Cpu));
            for train in [false, true] {
                let y = m.forward_t(&x, train);
                assert_eq!(y.size(), vec![3, 2], "{kind:?}");
                assert!(bool::try_from(y.isfinite().all()).unwrap());
            }
        }
    }
}
