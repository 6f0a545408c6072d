//! The convolutional stack shared by the CNN and the CNN-LSTM (spec §4.1): four
//! `Conv2D(64, (1, 3), same, ReLU)` layers over the (6, 210) feature image with dropout after
//! each, a (1, 2) max-pool after the third, and a dropout, (1, 2) max-pool, dropout after the
//! fourth. (batch, 1, 6, 210) → (batch, 64, 6, 52).

use crate::models::dropout::StreamDropout;
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

    /// x: (batch, 6, 210) → (batch, 64, 6, 52), returned as a channels-last view (contiguous
    /// as (batch, 6, 52, 64)). The stack runs channels-last throughout: oneDNN's convolutions
    /// and their gradients are ≈ 1.7× as fast on NHWC as on NCHW for these (1, 3) kernels, and
    /// the pooling, ReLU and dropout masks then work on contiguous memory (libtorch's profiler,
    /// batch 50, 2 threads; results/benchmarks/README.md).
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let d = self.dropout;
        let x = x.unsqueeze(3); // (batch, 6, 210, 1)
        let x = self.convs[0]
            .forward_nhwc(&x)
            .relu()
            .stream_dropout(d, train);
        let x = self.convs[1]
            .forward_nhwc(&x)
            .relu()
            .stream_dropout(d, train);
        let x = max_pool_pairs(&self.convs[2].forward_nhwc(&x).relu(), 2).stream_dropout(d, train);
        let x = self.convs[3]
            .forward_nhwc(&x)
            .relu()
            .stream_dropout(d, train);
        max_pool_pairs(&x, 2)
            .stream_dropout(d, train)
            .permute([0, 3, 1, 2])
    }

    /// [`ConvStack::forward_t`] with every convolution recorded on `tape` (same operations).
    pub fn forward_tape(&self, tape: &mut Tape, x: &Tensor, train: bool) -> Tensor {
        let pool = |t: Tensor| max_pool_pairs(&t, 3);
        let d = self.dropout;
        let x = x.unsqueeze(1);
        let x = tape
            .conv_row(&self.convs[0], &x)
            .relu()
            .stream_dropout(d, train);
        let x = tape
            .conv_row(&self.convs[1], &x)
            .relu()
            .stream_dropout(d, train);
        let x = pool(tape.conv_row(&self.convs[2], &x).relu()).stream_dropout(d, train);
        let x = tape
            .conv_row(&self.convs[3], &x)
            .relu()
            .stream_dropout(d, train);
        pool(x).stream_dropout(d, train)
    }
}

/// Keras' `MaxPooling2D((1, 2))` (valid padding) along `axis` (the width: 3 for NCHW, 2 for
/// NHWC): the larger of each pair, the first on ties, exactly as libtorch's `max_pool2d` — but
/// through a gather of the pairs instead of `max_pool2d_with_indices`, whose CPU kernel costs
/// ≈ 14 ms forward on the CNN's (50, 64, 6, 210) activations against ≈ 3 ms here (forward and
/// backward ≈ 7 ms against 15; libtorch's profiler, 2 threads). The choice is made without recording;
/// the gradient flows to the chosen element only, as with `max_pool2d`.
pub fn max_pool_pairs(x: &Tensor, axis: usize) -> Tensor {
    let size = x.size();
    let half = size[axis] / 2;
    let mut paired = size[..axis].to_vec();
    paired.extend([half, 2]);
    paired.extend(&size[axis + 1..]);
    let pair = (axis + 1) as i64;
    let pairs = x
        .narrow(axis as i64, 0, 2 * half)
        .reshape(paired.as_slice());
    let second = tch::no_grad(|| {
        pairs
            .select(pair, 1)
            .gt_tensor(&pairs.select(pair, 0))
            .to_kind(tch::Kind::Int64)
            .unsqueeze(pair)
    });
    pairs.gather(pair, &second, false).squeeze_dim(pair)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    #[test]
    fn pair_pooling_equals_max_pool2d_values_and_gradients() {
        tch::manual_seed(5);
        for w in [210, 105] {
            // ties included: relu zeros and repeated values
            let base = Tensor::randn([3, 4, 6, w], (Kind::Float, Device::Cpu)).relu();
            let base = base.round_decimals(1);
            let a = base.copy().set_requires_grad(true);
            let b = base.copy().set_requires_grad(true);
            let g = Tensor::randn([3, 4, 6, w / 2], (Kind::Float, Device::Cpu));
            let pa = max_pool_pairs(&a, 3);
            let pb = b.max_pool2d([1, 2], [1, 2], [0, 0], [1, 1], false);
            assert!(pa.equal(&pb), "values at width {w}");
            (&pa * &g).sum(Kind::Float).backward();
            (&pb * &g).sum(Kind::Float).backward();
            assert!(a.grad().equal(&b.grad()), "gradients at width {w}");
            let nhwc = max_pool_pairs(&base.permute([0, 2, 3, 1]).contiguous(), 2);
            assert!(
                nhwc.permute([0, 3, 1, 2]).equal(&pb),
                "channels-last at width {w}"
            );
        }
    }

    #[test]
    fn channels_last_stack_equals_the_recorded_nchw_stack() {
        tch::manual_seed(2);
        let vs = tch::nn::VarStore::new(Device::Cpu);
        let stack = ConvStack::new(&vs.root(), 0.3);
        let x = Tensor::randn([5, 6, 210], (Kind::Float, Device::Cpu));
        let mut tape = Tape::new();
        let a = stack.forward_t(&x, false);
        let b = stack.forward_tape(&mut tape, &x, false);
        assert_eq!(a.size(), [5, 64, 6, 52]);
        let diff = (&a - &b).abs().max().double_value(&[]);
        assert!(diff < 1e-5, "max |NHWC − NCHW| = {diff}");
    }
}
