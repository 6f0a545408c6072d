//! The reference CNN-LSTM (`build_cnn_lstm`): conv stack → BatchNormalization over the 64
//! filters (Keras momentum 0.99, ε 1e-3) → the 6 signal rows as a sequence of 52·64 = 3,328
//! features (the LSTM runs over the *signals*, not time, as in the reference) → LSTM(128,
//! sequences) → Dropout → LSTM(64) → Dropout → Dense(128, ReLU) → Dropout → Dense(64, ReLU) →
//! Dropout → Dense(2). 1,873,666 parameters (Keras count).

use tch::{nn, Tensor};

use super::conv_stack::{ConvStack, FILTERS};
use super::Classifier;
use crate::models::layers::{Dense, KerasLstm};

const DROPOUT: f64 = 0.3;

#[derive(Debug)]
pub struct CnnLstm {
    convs: ConvStack,
    bn: nn::BatchNorm,
    lstm1: KerasLstm,
    lstm2: KerasLstm,
    fc1: Dense,
    fc2: Dense,
    out: Dense,
}

impl CnnLstm {
    pub fn new(p: nn::Path) -> Self {
        let bn_cfg = nn::BatchNormConfig {
            momentum: 0.01,
            eps: 1e-3,
            ..Default::default()
        };
        Self {
            convs: ConvStack::new(&p, DROPOUT),
            bn: nn::batch_norm2d(&p / "bn", FILTERS, bn_cfg),
            lstm1: KerasLstm::new(&p / "lstm1", 52 * FILTERS, 128),
            lstm2: KerasLstm::new(&p / "lstm2", 128, 64),
            fc1: Dense::new(&p / "fc1", 64, 128),
            fc2: Dense::new(&p / "fc2", 128, 64),
            out: Dense::new(&p / "out", 64, 2),
        }
    }
}

impl Classifier for CnnLstm {
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let h = self.convs.forward_t(x, train);
        let h = nn::ModuleT::forward_t(&self.bn, &h, train);
        // (b, 64, 6, 52) → (b, 6, 52, 64) → (b, 6, 3328): Keras' TimeDistributed(Flatten)
        let b = h.size()[0];
        let seq = h
            .permute([0, 2, 3, 1])
            .contiguous()
            .view([b, 6, 52 * FILTERS]);
        let (s1, _) = self.lstm1.forward(&seq);
        let s1 = s1.dropout(DROPOUT, train);
        let (_, last) = self.lstm2.forward(&s1);
        let h = last.dropout(DROPOUT, train);
        let h = self.fc1.forward(&h).relu().dropout(DROPOUT, train);
        let h = self.fc2.forward(&h).relu().dropout(DROPOUT, train);
        self.out.forward(&h)
    }
}
