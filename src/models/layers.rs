//! Keras-compatible building blocks written over explicit weight tensors (so that the DP-SGD
//! code can reach every parameter): Glorot-uniform kernels and zero biases as Keras
//! initialises them, a (1, k) Conv2d, Dense, a Keras-style LSTM (one bias, gate order i, f, c, o,
//! unit forget bias, orthogonal recurrent kernel) and multi-head self-attention.

use crate::models::dropout::StreamDropout;
use tch::nn::{self, Init};
use tch::Tensor;

/// Glorot/Xavier uniform limits for the given fans (Keras' default kernel initialiser).
pub fn glorot(fan_in: i64, fan_out: i64) -> Init {
    let limit = (6.0 / (fan_in + fan_out) as f64).sqrt();
    Init::Uniform {
        lo: -limit,
        up: limit,
    }
}

/// Fully connected layer `y = x Wᵀ + b` (weight (out, in)).
#[derive(Debug)]
pub struct Dense {
    pub weight: Tensor,
    pub bias: Tensor,
}

impl Dense {
    pub fn new(p: nn::Path, d_in: i64, d_out: i64) -> Self {
        Self {
            weight: p.var("weight", &[d_out, d_in], glorot(d_in, d_out)),
            bias: p.var("bias", &[d_out], Init::Const(0.0)),
        }
    }

    pub fn forward(&self, x: &Tensor) -> Tensor {
        x.linear(&self.weight, Some(&self.bias))
    }
}

/// Conv2d with a (1, k) kernel, stride 1 and "same" padding on the width, as Keras'
/// `Conv2D(filters, (1, k), padding="same")` on channels-last input (here NCHW).
#[derive(Debug)]
pub struct ConvRow {
    pub weight: Tensor,
    pub bias: Tensor,
    k: i64,
}

impl ConvRow {
    pub fn new(p: nn::Path, c_in: i64, c_out: i64, k: i64) -> Self {
        Self {
            weight: p.var("weight", &[c_out, c_in, 1, k], glorot(c_in * k, c_out * k)),
            bias: p.var("bias", &[c_out], Init::Const(0.0)),
            k,
        }
    }

    pub fn forward(&self, x: &Tensor) -> Tensor {
        x.conv2d(
            &self.weight,
            Some(&self.bias),
            [1, 1],
            [0, self.k / 2],
            [1, 1],
            1,
        )
    }

    /// The same convolution on channels-last input (batch, h, w, c_in) → (batch, h, w, c_out),
    /// contiguous: the NCHW view of an NHWC tensor is what oneDNN takes as channels-last.
    pub fn forward_nhwc(&self, x: &Tensor) -> Tensor {
        self.forward(&x.permute([0, 3, 1, 2]))
            .permute([0, 2, 3, 1])
            .contiguous()
    }
}

/// Keras-style LSTM over (batch, time, features): one bias vector, gates in the order
/// input, forget, cell, output; kernel Glorot-uniform, recurrent kernel orthogonal, forget-gate
/// bias initialised to 1 (`unit_forget_bias`).
#[derive(Debug)]
pub struct KerasLstm {
    pub kernel: Tensor,
    pub recurrent: Tensor,
    pub bias: Tensor,
    units: i64,
}

impl KerasLstm {
    pub fn new(p: nn::Path, d_in: i64, units: i64) -> Self {
        let kernel = p.var("kernel", &[d_in, 4 * units], glorot(d_in, 4 * units));
        let recurrent = p.var(
            "recurrent",
            &[units, 4 * units],
            Init::Orthogonal { gain: 1.0 },
        );
        let bias = p.var("bias", &[4 * units], Init::Const(0.0));
        tch::no_grad(|| {
            let _ = bias.narrow(0, units, units).fill_(1.0);
        });
        Self {
            kernel,
            recurrent,
            bias,
            units,
        }
    }

    /// Returns the output sequence (batch, time, units) and the last output (batch, units).
    pub fn forward(&self, x: &Tensor) -> (Tensor, Tensor) {
        let (b, t, _) = x
            .size3()
            .expect("LSTM input must be (batch, time, features)");
        let u = self.units;
        let xw = x.matmul(&self.kernel) + &self.bias; // (b, t, 4u), all steps at once
        let mut h = Tensor::zeros([b, u], (x.kind(), x.device()));
        let mut c = Tensor::zeros([b, u], (x.kind(), x.device()));
        let mut outs = Vec::with_capacity(t as usize);
        for step in 0..t {
            (h, c) = self.cell_step(&xw.select(1, step), &h, &c);
            outs.push(h.shallow_clone());
        }
        (Tensor::stack(&outs, 1), h)
    }

    /// One time step: `xw_t` is the step's input already multiplied by the kernel (plus bias);
    /// returns the new (h, c).
    pub fn cell_step(&self, xw_t: &Tensor, h: &Tensor, c: &Tensor) -> (Tensor, Tensor) {
        let z = xw_t + h.matmul(&self.recurrent);
        let gates = z.chunk(4, 1);
        let i = gates[0].sigmoid();
        let f = gates[1].sigmoid();
        let g = gates[2].tanh();
        let o = gates[3].sigmoid();
        let c = f * c + i * g;
        let h = o * c.tanh();
        (h, c)
    }
}

/// Keras-style GRU over (batch, time, features), TF2 defaults (`reset_after = True`): gates in
/// the order update z, reset r, candidate; bias (2, 3u) = [input bias; recurrent bias], so the
/// candidate is tanh(x·W_h + b_in,h + r ⊙ (h·U_h + b_rec,h)). Kernel Glorot-uniform, recurrent
/// kernel orthogonal, biases 0. Used by generators (the classifiers have none).
#[derive(Debug)]
pub struct KerasGru {
    pub kernel: Tensor,
    pub recurrent: Tensor,
    pub bias: Tensor,
    units: i64,
}

impl KerasGru {
    pub fn new(p: nn::Path, d_in: i64, units: i64) -> Self {
        Self {
            kernel: p.var("kernel", &[d_in, 3 * units], glorot(d_in, 3 * units)),
            recurrent: p.var(
                "recurrent",
                &[units, 3 * units],
                Init::Orthogonal { gain: 1.0 },
            ),
            bias: p.var("bias", &[2, 3 * units], Init::Const(0.0)),
            units,
        }
    }

    pub fn units(&self) -> i64 {
        self.units
    }

    /// Returns the output sequence (batch, time, units) and the last output (batch, units).
    pub fn forward(&self, x: &Tensor) -> (Tensor, Tensor) {
        let (b, t, _) = x
            .size3()
            .expect("GRU input must be (batch, time, features)");
        let xw = x.matmul(&self.kernel) + self.bias.get(0); // (b, t, 3u), all steps at once
        let mut h = Tensor::zeros([b, self.units], (x.kind(), x.device()));
        let mut outs = Vec::with_capacity(t as usize);
        for step in 0..t {
            let rec = h.matmul(&self.recurrent) + self.bias.get(1);
            h = self.cell_step(&xw.select(1, step), &rec, &h);
            outs.push(h.shallow_clone());
        }
        (Tensor::stack(&outs, 1), h)
    }

    /// One time step from the step's input projection `xw_t` = x_t·W + b_in and recurrent
    /// projection `rec_t` = h·U + b_rec (both (batch, 3u)); returns the new h.
    pub fn cell_step(&self, xw_t: &Tensor, rec_t: &Tensor, h: &Tensor) -> Tensor {
        let x = xw_t.chunk(3, 1);
        let r_ = rec_t.chunk(3, 1);
        let z = (&x[0] + &r_[0]).sigmoid();
        let r = (&x[1] + &r_[1]).sigmoid();
        let candidate = (&x[2] + r * &r_[2]).tanh();
        &z * h + (1.0 - z) * candidate
    }
}

/// Keras `LayerNormalization` over the last dimension.
#[derive(Debug)]
pub struct LayerNorm {
    pub gamma: Tensor,
    pub beta: Tensor,
    dim: i64,
    eps: f64,
}

impl LayerNorm {
    pub fn new(p: nn::Path, dim: i64, eps: f64) -> Self {
        Self {
            gamma: p.var("gamma", &[dim], Init::Const(1.0)),
            beta: p.var("beta", &[dim], Init::Const(0.0)),
            dim,
            eps,
        }
    }

    /// The epsilon added to the variance (needed to recompute the normalised input for
    /// per-example gradients).
    pub fn eps(&self) -> f64 {
        self.eps
    }

    pub fn forward(&self, x: &Tensor) -> Tensor {
        x.layer_norm(
            [self.dim],
            Some(&self.gamma),
            Some(&self.beta),
            self.eps,
            false,
        )
    }
}

/// Keras `MultiHeadAttention(num_heads, key_dim, dropout)` used as self-attention: separate
/// query/key/value projections d → heads·key_dim (with bias), scaled dot-product attention with
/// dropout on the attention probabilities, output projection heads·key_dim → d.
#[derive(Debug)]
pub struct MultiHeadAttention {
    pub query: Dense,
    pub key: Dense,
    pub value: Dense,
    pub output: Dense,
    heads: i64,
    key_dim: i64,
    dropout: f64,
}

impl MultiHeadAttention {
    pub fn new(p: nn::Path, d_model: i64, heads: i64, key_dim: i64, dropout: f64) -> Self {
        let inner = heads * key_dim;
        Self {
            query: Dense::new(&p / "query", d_model, inner),
            key: Dense::new(&p / "key", d_model, inner),
            value: Dense::new(&p / "value", d_model, inner),
            output: Dense::new(&p / "output", inner, d_model),
            heads,
            key_dim,
            dropout,
        }
    }

    /// Number of attention heads.
    pub fn heads(&self) -> i64 {
        self.heads
    }

    /// Size of each head's query/key/value projection.
    pub fn key_dim(&self) -> i64 {
        self.key_dim
    }

    /// Dropout rate on the attention probabilities.
    pub fn dropout(&self) -> f64 {
        self.dropout
    }

    /// Self-attention over x (batch, seq, d_model).
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let (b, s, _) = x.size3().expect("attention input must be (batch, seq, d)");
        let split = |t: Tensor| t.view([b, s, self.heads, self.key_dim]).transpose(1, 2);
        let q = split(self.query.forward(x));
        let k = split(self.key.forward(x));
        let v = split(self.value.forward(x));
        let scores = q.matmul(&k.transpose(-2, -1)) / (self.key_dim as f64).sqrt();
        let probs = scores
            .softmax(-1, scores.kind())
            .stream_dropout(self.dropout, train);
        let ctx =
            probs
                .matmul(&v)
                .transpose(1, 2)
                .contiguous()
                .view([b, s, self.heads * self.key_dim]);
        self.output.forward(&ctx)
    }
}
