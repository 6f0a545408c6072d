//! The reference Transformer (`build_transformer`, the Keras "timeseries transformer" recipe):
//! input (6, 210) = a sequence of 6 signals with model dim 210; 8 encoder blocks of
//! [LayerNorm(ε 1e-6) → MultiHeadAttention(4 heads, key_dim 256, dropout 0.25) → Dropout →
//! residual; LayerNorm → Conv1D(4, k=1, ReLU) → Dropout → Conv1D(210, k=1) → residual];
//! GlobalAveragePooling1D(channels_first), which pools the 210-feature axis (leaving 6 values,
//! as in the reference); Dense(128, ReLU) → Dropout(0.25) → Dense(2). 6,930,562 parameters.

use crate::models::dropout::StreamDropout;
use tch::{nn, Tensor};

use super::Classifier;
use crate::models::layers::{Dense, LayerNorm, MultiHeadAttention};
use crate::privacy::dpsgd::{LayerKind, Tape};

const D_MODEL: i64 = 210;
const HEADS: i64 = 4;
const KEY_DIM: i64 = 256;
const FF_DIM: i64 = 4;
const BLOCKS: usize = 8;
const DROPOUT: f64 = 0.25;

#[derive(Debug)]
struct EncoderBlock {
    ln1: LayerNorm,
    attn: MultiHeadAttention,
    ln2: LayerNorm,
    ff1: Dense,
    ff2: Dense,
}

impl EncoderBlock {
    fn new(p: nn::Path) -> Self {
        Self {
            ln1: LayerNorm::new(&p / "ln1", D_MODEL, 1e-6),
            attn: MultiHeadAttention::new(&p / "attn", D_MODEL, HEADS, KEY_DIM, DROPOUT),
            ln2: LayerNorm::new(&p / "ln2", D_MODEL, 1e-6),
            ff1: Dense::new(&p / "ff1", D_MODEL, FF_DIM),
            ff2: Dense::new(&p / "ff2", FF_DIM, D_MODEL),
        }
    }

    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let h = self
            .attn
            .forward_t(&self.ln1.forward(x), train)
            .stream_dropout(DROPOUT, train);
        let res = h + x;
        let h = self
            .ff1
            .forward(&self.ln2.forward(&res))
            .relu()
            .stream_dropout(DROPOUT, train);
        self.ff2.forward(&h) + res
    }

    /// [`EncoderBlock::forward_t`] with every parameterised layer recorded on `tape`.
    fn forward_tape(&self, tape: &mut Tape, x: &Tensor, train: bool) -> Tensor {
        let h = tape.layer_norm(&self.ln1, x);
        let h = tape
            .attention(&self.attn, &h, train)
            .stream_dropout(DROPOUT, train);
        let res = h + x;
        let h = tape.layer_norm(&self.ln2, &res);
        let h = tape
            .dense(&self.ff1, &h)
            .relu()
            .stream_dropout(DROPOUT, train);
        tape.dense(&self.ff2, &h) + res
    }
}

#[derive(Debug)]
pub struct Transformer {
    blocks: Vec<EncoderBlock>,
    fc: Dense,
    out: Dense,
}

impl Transformer {
    pub fn new(p: nn::Path) -> Self {
        Self {
            blocks: (0..BLOCKS)
                .map(|i| EncoderBlock::new(&p / format!("block{i}")))
                .collect(),
            fc: Dense::new(&p / "fc", 6, 128),
            out: Dense::new(&p / "out", 128, 2),
        }
    }
}

impl Classifier for Transformer {
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let mut h = x.shallow_clone();
        for b in &self.blocks {
            h = b.forward_t(&h, train);
        }
        let pooled = h.mean_dim([2i64].as_slice(), false, h.kind()); // (b, 6)
        let h = self
            .fc
            .forward(&pooled)
            .relu()
            .stream_dropout(DROPOUT, train);
        self.out.forward(&h)
    }

    fn forward_tape(&self, tape: &mut Tape, x: &Tensor, train: bool) -> Tensor {
        let mut h = x.shallow_clone();
        for b in &self.blocks {
            h = b.forward_tape(tape, &h, train);
        }
        let pooled = h.mean_dim([2i64].as_slice(), false, h.kind()); // (b, 6)
        let h = tape
            .dense(&self.fc, &pooled)
            .relu()
            .stream_dropout(DROPOUT, train);
        tape.dense(&self.out, &h)
    }

    fn layer_kinds(&self) -> Vec<LayerKind> {
        vec![
            LayerKind::LayerNorm,
            LayerKind::MultiHeadAttention,
            LayerKind::Dense,
            LayerKind::ParameterFree,
        ]
    }
}
