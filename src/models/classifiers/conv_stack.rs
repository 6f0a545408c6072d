//! The convolutional stack shared by the CNN and the CNN-LSTM (spec §4.1): four
//! `Conv2D(64, (1, 3), same, ReLU)` layers over the (6, 210) feature image with dropout after
//! each, a (1, 2) max-pool after the third, and a dropout, (1, 2) max-pool, dropout after the
//! fourth. (batch, 1, 6, 210) → (batch, 64, 6, 52).

use tch::{nn, Tensor};

use crate::models::layers::ConvRow;
use crate::privacy::dpsgd::Tape;

/// Filters per conv layer.
pub const FILTERS: i64 = 64;

#[derive(Debug)]
pub struct ConvStack {
    convs: [ConvRow; 4],
    dropout: f64,
}

impl ConvStack {
    pub fn new(p: &nn::Path, dropout: f64) -> Self {
        Self {
            convs: [
                ConvRow::new(p / "conv1", 1, FILTERS, 3),
                ConvRow::new(p / "conv2", FILTERS, FILTERS, 3),
                ConvRow::new(p / "conv3", FILTERS, FILTERS, 3),
                ConvRow::new(p / "conv4", FILTERS, FILTERS, 3),
            ],
            dropout,
        }
    }

    /// x: (batch, 6, 210) → (batch, 64, 6, 52).
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let pool = |t: Tensor| t.max_pool2d([1, 2], [1, 2], [0, 0], [1, 1], false);
        let d = self.dropout;
        let x = x.unsqueeze(1);
        let x = self.convs[0].forward(&x).relu().dropout(d, train);
        let x = self.convs[1].forward(&x).relu().dropout(d, train);
        let x = pool(self.convs[2].forward(&x).relu()).dropout(d, train);
        let x = self.convs[3].forward(&x).relu().dropout(d, train);
        pool(x).dropout(d, train)
    }

    /// [`ConvStack::forward_t`] with every convolution recorded on `tape` (same operations).
    pub fn forward_tape(&self, tape: &mut Tape, x: &Tensor, train: bool) -> Tensor {
        let pool = |t: Tensor| t.max_pool2d([1, 2], [1, 2], [0, 0], [1, 1], false);
        let d = self.dropout;
        let x = x.unsqueeze(1);
        let x = tape.conv_row(&self.convs[0], &x).relu().dropout(d, train);
        let x = tape.conv_row(&self.convs[1], &x).relu().dropout(d, train);
        let x = pool(tape.conv_row(&self.convs[2], &x).relu()).dropout(d, train);
        let x = tape.conv_row(&self.convs[3], &x).relu().dropout(d, train);
        pool(x).dropout(d, train)
    }
}
