//! The post-hoc networks of TimeGAN's quality scores (Yoon, Jarrett & van der Schaar 2019,
//! `metrics/discriminative_metrics.py` and `metrics/predictive_metrics.py`): one GRU layer
//! (libtorch's fused op, batch first, PyTorch's initialisation) and a linear head, either on the
//! last hidden state (the real/synthetic classifier) or on every step (the one-step-ahead
//! predictor). TimeGAN sizes the GRU at ⌊channels / 2⌋ units ([`timegan_hidden`]).
//!
//! These networks never see private data under a guarantee: they score a release after the
//! fact, so they use neither the DP tape nor the Keras layers.
//!
//! May depend on: tch.

use tch::nn::{self, Module, RNN};
use tch::Tensor;

/// TimeGAN's GRU width for `channels` input channels: ⌊channels / 2⌋, at least 1.
pub fn timegan_hidden(channels: i64) -> i64 {
    (channels / 2).max(1)
}

/// GRU(d_in → hidden) followed by Linear(hidden → d_out).
#[derive(Debug)]
pub struct PostHocGru {
    gru: nn::GRU,
    head: nn::Linear,
}

impl PostHocGru {
    /// A freshly initialised network (libtorch's global generator).
    pub fn new(p: nn::Path, d_in: i64, hidden: i64, d_out: i64) -> Self {
        Self {
            gru: nn::gru(&p / "gru", d_in, hidden, Default::default()),
            head: nn::linear(&p / "head", hidden, d_out, Default::default()),
        }
    }

    /// x (B, T, d_in) → one output per step (B, T, d_out).
    pub fn forward_seq(&self, x: &Tensor) -> Tensor {
        let (h, _) = self.gru.seq(x);
        self.head.forward(&h)
    }

    /// x (B, T, d_in) → one output from the last hidden state (B, d_out).
    pub fn forward_last(&self, x: &Tensor) -> Tensor {
        let (h, _) = self.gru.seq(x);
        self.head.forward(&h.select(1, -1))
    }
}
