//! The reference CNN (`build_cnn`, dropout 0.3): conv stack → flatten (6·52·64 = 19,968) →
//! Dense(128, ReLU) → Dropout → Dense(64, ReLU) → Dropout → Dense(2). 2,601,730 parameters.

use crate::models::dropout::StreamDropout;
use tch::{nn, Tensor};

use super::conv_stack::{ConvStack, FILTERS};
use super::Classifier;
use crate::models::layers::Dense;
use crate::privacy::dpsgd::{LayerKind, Tape};

/// The CNN's dropout rate (every dropout layer).
pub(crate) const DROPOUT: f64 = 0.3;

#[derive(Debug)]
pub struct Cnn {
    convs: ConvStack,
    fc1: Dense,
    fc2: Dense,
    out: Dense,
}

impl Cnn {
    pub fn new(p: nn::Path) -> Self {
        Self {
            convs: ConvStack::new(&p, DROPOUT),
            fc1: Dense::new(&p / "fc1", 6 * 52 * FILTERS, 128),
            fc2: Dense::new(&p / "fc2", 128, 64),
            out: Dense::new(&p / "out", 64, 2),
        }
    }
}

impl Classifier for Cnn {
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let h = self.convs.forward_t(x, train).flatten(1, -1);
        let h = self.fc1.forward(&h).relu().stream_dropout(DROPOUT, train);
        let h = self.fc2.forward(&h).relu().stream_dropout(DROPOUT, train);
        self.out.forward(&h)
    }

    fn forward_tape(&self, tape: &mut Tape, x: &Tensor, train: bool) -> Tensor {
        let h = self.convs.forward_tape(tape, x, train).flatten(1, -1);
        super::recorded_dense_head(tape, [&self.fc1, &self.fc2, &self.out], &h, DROPOUT, train)
    }

    fn layer_kinds(&self) -> Vec<LayerKind> {
        vec![
            LayerKind::ConvRow,
            LayerKind::Dense,
            LayerKind::ParameterFree,
        ]
    }
}
