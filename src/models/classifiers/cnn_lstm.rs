//! The reference CNN-LSTM (`build_cnn_lstm`): conv stack → BatchNormalization over the 64
//! filters (Keras momentum 0.99, ε 1e-3) → the 6 signal rows as a sequence of 52·64 = 3,328
//! features (the LSTM runs over the *signals*, not time, as in the reference) → LSTM(128,
//! sequences) → Dropout → LSTM(64) → Dropout → Dense(128, ReLU) → Dropout → Dense(64, ReLU) →
//! Dropout → Dense(2). 1,873,666 parameters (Keras count).
//!
//! DP variant ([`CnnLstm::new_dp`]): BatchNorm normalises with statistics of the whole batch,
//! so one window's gradient depends on the other windows and per-example clipping would not
//! bound its influence. Under example-level DP-SGD the BatchNorm is therefore replaced by a
//! LayerNorm over the same 64 filter features (normalised per window, signal row and position;
//! learned per-filter scale and offset, ε 1e-3): 1,873,538 parameters (no moving statistics).
//! This is an explicit architecture change, reported as [`DP_ARCHITECTURE_NOTE`].

use crate::models::dropout::StreamDropout;
use tch::{nn, Tensor};

use super::conv_stack::{ConvStack, FILTERS};
use super::Classifier;
use crate::models::layers::{Dense, KerasLstm, LayerNorm};
use crate::privacy::dpsgd::{LayerKind, Tape};

const DROPOUT: f64 = 0.3;

/// The architecture change of the DP variant, as recorded in private results.
pub const DP_ARCHITECTURE_NOTE: &str = "cnn-lstm under example-level DP-SGD: the reference's \
BatchNormalization over the 64 conv filters is replaced by LayerNorm over the same 64 filter \
features (per window, signal row and position; learned per-filter scale and offset, eps 1e-3), \
because BatchNorm mixes the windows of a batch and per-example clipping would not bound one \
window's influence";

#[derive(Debug)]
enum Norm {
    /// The reference's BatchNormalization (non-private and reference-batch training).
    Batch(nn::BatchNorm),
    /// LayerNorm over the filters (example-level DP-SGD).
    Layer(LayerNorm),
}

#[derive(Debug)]
pub struct CnnLstm {
    convs: ConvStack,
    norm: Norm,
    lstm1: KerasLstm,
    lstm2: KerasLstm,
    fc1: Dense,
    fc2: Dense,
    out: Dense,
}

impl CnnLstm {
    /// The reference architecture (with BatchNorm).
    pub fn new(p: nn::Path) -> Self {
        let bn_cfg = nn::BatchNormConfig {
            momentum: 0.01,
            eps: 1e-3,
            ..Default::default()
        };
        let convs = ConvStack::new(&p, DROPOUT);
        let norm = Norm::Batch(nn::batch_norm2d(&p / "bn", FILTERS, bn_cfg));
        Self::rest(p, convs, norm)
    }

    /// The DP variant: LayerNorm over the 64 filters instead of BatchNorm (see the module
    /// docs and [`DP_ARCHITECTURE_NOTE`]).
    pub fn new_dp(p: nn::Path) -> Self {
        let convs = ConvStack::new(&p, DROPOUT);
        let norm = Norm::Layer(LayerNorm::new(&p / "ln", FILTERS, 1e-3));
        Self::rest(p, convs, norm)
    }

    fn rest(p: nn::Path, convs: ConvStack, norm: Norm) -> Self {
        Self {
            convs,
            norm,
            lstm1: KerasLstm::new(&p / "lstm1", 52 * FILTERS, 128),
            lstm2: KerasLstm::new(&p / "lstm2", 128, 64),
            fc1: Dense::new(&p / "fc1", 64, 128),
            fc2: Dense::new(&p / "fc2", 128, 64),
            out: Dense::new(&p / "out", 64, 2),
        }
    }

    /// The head after the sequence: LSTM → LSTM → dense layers, through plain ops.
    fn head(&self, seq: &Tensor, train: bool) -> Tensor {
        let (s1, _) = self.lstm1.forward(seq);
        let s1 = s1.stream_dropout(DROPOUT, train);
        let (_, last) = self.lstm2.forward(&s1);
        let h = last.stream_dropout(DROPOUT, train);
        let h = self.fc1.forward(&h).relu().stream_dropout(DROPOUT, train);
        let h = self.fc2.forward(&h).relu().stream_dropout(DROPOUT, train);
        self.out.forward(&h)
    }
}

impl Classifier for CnnLstm {
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let h = self.convs.forward_t(x, train);
        let b = h.size()[0];
        // (b, 64, 6, 52) → (b, 6, 52, 64) → (b, 6, 3328): Keras' TimeDistributed(Flatten)
        let seq = match &self.norm {
            Norm::Batch(bn) => nn::ModuleT::forward_t(bn, &h, train)
                .permute([0, 2, 3, 1])
                .contiguous()
                .view([b, 6, 52 * FILTERS]),
            Norm::Layer(ln) => {
                ln.forward(&h.permute([0, 2, 3, 1]).contiguous())
                    .view([b, 6, 52 * FILTERS])
            }
        };
        self.head(&seq, train)
    }

    fn forward_tape(&self, tape: &mut Tape, x: &Tensor, train: bool) -> Tensor {
        let Norm::Layer(ln) = &self.norm else {
            panic!("the BatchNorm CNN-LSTM has no per-example forward; build it with new_dp");
        };
        let h = self.convs.forward_tape(tape, x, train);
        let b = h.size()[0];
        let seq = tape
            .layer_norm(ln, &h.permute([0, 2, 3, 1]).contiguous())
            .view([b, 6, 52 * FILTERS]);
        let (s1, _) = tape.lstm(&self.lstm1, &seq);
        let s1 = s1.stream_dropout(DROPOUT, train);
        let (_, last) = tape.lstm(&self.lstm2, &s1);
        let h = last.stream_dropout(DROPOUT, train);
        super::recorded_dense_head(tape, [&self.fc1, &self.fc2, &self.out], &h, DROPOUT, train)
    }

    fn layer_kinds(&self) -> Vec<LayerKind> {
        let norm = match self.norm {
            Norm::Batch(_) => LayerKind::BatchNorm,
            Norm::Layer(_) => LayerKind::LayerNorm,
        };
        vec![
            LayerKind::ConvRow,
            norm,
            LayerKind::Lstm,
            LayerKind::Dense,
            LayerKind::ParameterFree,
        ]
    }
}
