//! The reference's conditional LSTM GAN (spec §3.1.2–3.1.3), layer by layer over explicit
//! tensors (`models::layers`), so that the discriminator's forward pass can be recorded by the
//! DP-SGD [`Tape`] for exact per-example gradients.
//!
//! - Generator: z ∈ R^60 and a class label. Label branch `Embedding(C, C)` (uniform ±0.05) →
//!   `Dense(C → 60)` → (60, 1); noise branch `Dense(60 → 360)` → LeakyReLU(0.3) → (60, 6);
//!   concatenated (noise first, label last) → (60, 7) → LSTM(60) → LSTM(60) → `Dense(60 → 6)`
//!   + ReLU per time step. 67,870 parameters for C = 2, 67,935 for C = 3.
//! - Discriminator: the same label branch → (60, 1), concatenated after the window →
//!   (60, 7) → LSTM(60) → LSTM(60) → mean over time → `Dense(60 → 1)` logit. 45,605
//!   parameters for C = 2, 45,670 for C = 3. No BatchNorm (it could not be private).
//!
//! The reference's `Concatenate` order is not recorded in the spec; the order only permutes
//! rows of the first LSTM kernel, so the function class is the same either way.
//!
//! Two LSTM paths with the same maths: the step-by-step Keras cell (`KerasLstm::forward`, and
//! [`Tape::lstm`] for the private discriminator step) and libtorch's fused `lstm` op
//! ([`lstm_fused`], Keras gate order i, f, c, o equals ATen's i, f, g, o) used wherever no
//! per-example gradient is needed; a test checks they agree.
//!
//! Building a network initialises it from libtorch's global generator (Keras initialisers);
//! [`CganGenerator::from_named`] does the same and then copies the released tensors in.
//!
//! May depend on: tch, `models::layers`, `privacy::dpsgd` (the recording tape).

use tch::nn::{self, Init};
use tch::{Device, Tensor};

use crate::models::layers::{Dense, KerasLstm};
use crate::privacy::dpsgd::Tape;

/// Time steps of a window.
pub const SEQ_LEN: i64 = 60;
/// Signal channels of a window.
pub const N_FEATURES: i64 = 6;
/// Latent dimension of z.
pub const LATENT_DIM: i64 = 60;
/// LSTM units (the reference passes `SEQ_LENGTH = 60` as `hidden_units`).
pub const UNITS: i64 = 60;
/// Keras' default LeakyReLU slope.
pub const LEAKY_SLOPE: f64 = 0.3;
/// Uniform init limit of Keras' `Embedding`.
pub const EMBEDDING_INIT: f64 = 0.05;

/// LeakyReLU with slope [`LEAKY_SLOPE`] (tch's `leaky_relu` has a fixed 0.01 slope).
fn leaky_relu(x: &Tensor) -> Tensor {
    x.where_self(&x.gt(0.0), &(x * LEAKY_SLOPE))
}

/// `KerasLstm` through libtorch's fused LSTM op: returns the output sequence (B, T, u).
/// Same maths as `KerasLstm::forward` (weights transposed, second bias zero).
pub fn lstm_fused(layer: &KerasLstm, x: &Tensor) -> Tensor {
    let b = x.size()[0];
    let u = layer.recurrent.size()[0];
    let opts = (x.kind(), x.device());
    let h0 = Tensor::zeros([1, b, u], opts);
    let c0 = Tensor::zeros([1, b, u], opts);
    let b_hh = Tensor::zeros([4 * u], opts);
    let w_ih = layer.kernel.tr();
    let w_hh = layer.recurrent.tr();
    let (out, _, _) = x.lstm(
        &[&h0, &c0],
        &[&w_ih, &w_hh, &layer.bias, &b_hh],
        true,
        1,
        0.0,
        false,
        false,
        true,
    );
    out
}

fn dense_named(prefix: &str, d: &Dense) -> Vec<(String, Tensor)> {
    vec![
        (format!("{prefix}.weight"), d.weight.shallow_clone()),
        (format!("{prefix}.bias"), d.bias.shallow_clone()),
    ]
}

fn lstm_named(prefix: &str, l: &KerasLstm) -> Vec<(String, Tensor)> {
    vec![
        (format!("{prefix}.kernel"), l.kernel.shallow_clone()),
        (format!("{prefix}.recurrent"), l.recurrent.shallow_clone()),
        (format!("{prefix}.bias"), l.bias.shallow_clone()),
    ]
}

/// Copies `src` tensors into `dst` by name (`prefix` + dst name), checking shapes.
pub fn copy_named(
    dst: &[(String, Tensor)],
    src: &[(String, Tensor)],
    prefix: &str,
) -> Result<(), String> {
    for (name, d) in dst {
        let full = format!("{prefix}{name}");
        let s = src
            .iter()
            .find(|(n, _)| *n == full)
            .map(|(_, t)| t)
            .ok_or_else(|| format!("tensor `{full}` is missing"))?;
        if s.size() != d.size() {
            return Err(format!(
                "tensor `{full}` has shape {:?}, expected {:?}",
                s.size(),
                d.size()
            ));
        }
        let mut d = d.shallow_clone();
        tch::no_grad(|| d.copy_(&s.to_kind(d.kind()).to_device(d.device())));
    }
    Ok(())
}

/// The conditioning branch shared (in shape, not in weights) by G and D:
/// `Embedding(C, C)` → `Dense(C → 60)` → (B, 60, 1).
#[derive(Debug)]
pub struct LabelBranch {
    pub embedding: Tensor,
    pub dense: Dense,
}

impl LabelBranch {
    pub fn new(p: nn::Path, n_classes: i64) -> Self {
        Self {
            embedding: p.var(
                "embedding",
                &[n_classes, n_classes],
                Init::Uniform {
                    lo: -EMBEDDING_INIT,
                    up: EMBEDDING_INIT,
                },
            ),
            dense: Dense::new(&p / "dense", n_classes, SEQ_LEN),
        }
    }

    /// y (B,) int64 → (B, 60, 1).
    pub fn forward(&self, y: &Tensor) -> Tensor {
        let e = Tensor::embedding(&self.embedding, y, -1, false, false);
        self.dense.forward(&e).unsqueeze(-1)
    }

    /// [`Self::forward`], recorded.
    pub fn forward_tape(&self, tape: &mut Tape, y: &Tensor) -> Tensor {
        let e = tape.embedding(&self.embedding, y);
        tape.dense(&self.dense, &e).unsqueeze(-1)
    }

    fn named(&self, prefix: &str) -> Vec<(String, Tensor)> {
        let mut v = vec![(
            format!("{prefix}.embedding"),
            self.embedding.shallow_clone(),
        )];
        v.extend(dense_named(&format!("{prefix}.dense"), &self.dense));
        v
    }
}

/// The conditional generator G(z, y) → (B, 60, 6), ≥ 0.
#[derive(Debug)]
pub struct CganGenerator {
    pub n_classes: i64,
    pub label: LabelBranch,
    pub noise: Dense,
    pub lstm1: KerasLstm,
    pub lstm2: KerasLstm,
    pub out: Dense,
}

impl CganGenerator {
    /// A freshly initialised generator (libtorch's global generator).
    pub fn new(p: nn::Path, n_classes: i64) -> Self {
        Self {
            n_classes,
            label: LabelBranch::new(&p / "label", n_classes),
            noise: Dense::new(&p / "noise", LATENT_DIM, SEQ_LEN * N_FEATURES),
            lstm1: KerasLstm::new(&p / "lstm1", N_FEATURES + 1, UNITS),
            lstm2: KerasLstm::new(&p / "lstm2", UNITS, UNITS),
            out: Dense::new(&p / "out", UNITS, N_FEATURES),
        }
    }

    /// A generator holding the released tensors `named` (names `prefix` + [`Self::named`]).
    pub fn from_named(
        named: &[(String, Tensor)],
        prefix: &str,
        n_classes: i64,
        device: Device,
    ) -> Result<Self, String> {
        let vs = nn::VarStore::new(device);
        let g = Self::new(vs.root(), n_classes);
        copy_named(&g.named(), named, prefix)?;
        Ok(g)
    }

    /// z (B, 60) float, y (B,) int64 → windows (B, 60, 6).
    pub fn forward(&self, z: &Tensor, y: &Tensor) -> Tensor {
        let b = z.size()[0];
        let label = self.label.forward(y);
        let noise = leaky_relu(&self.noise.forward(z)).view([b, SEQ_LEN, N_FEATURES]);
        let h = Tensor::cat(&[noise, label], 2);
        let h = lstm_fused(&self.lstm1, &h);
        let h = lstm_fused(&self.lstm2, &h);
        self.out.forward(&h).relu()
    }

    /// The tensors by stable name, in a fixed order.
    pub fn named(&self) -> Vec<(String, Tensor)> {
        let mut v = self.label.named("label");
        v.extend(dense_named("noise", &self.noise));
        v.extend(lstm_named("lstm1", &self.lstm1));
        v.extend(lstm_named("lstm2", &self.lstm2));
        v.extend(dense_named("out", &self.out));
        v
    }

    /// The parameters in [`Self::named`] order.
    pub fn parameters(&self) -> Vec<Tensor> {
        self.named().into_iter().map(|(_, t)| t).collect()
    }
}

/// The conditional discriminator D(x, y) → logit (B,).
#[derive(Debug)]
pub struct CganDiscriminator {
    pub n_classes: i64,
    pub label: LabelBranch,
    pub lstm1: KerasLstm,
    pub lstm2: KerasLstm,
    pub out: Dense,
}

impl CganDiscriminator {
    pub fn new(p: nn::Path, n_classes: i64) -> Self {
        Self {
            n_classes,
            label: LabelBranch::new(&p / "label", n_classes),
            lstm1: KerasLstm::new(&p / "lstm1", N_FEATURES + 1, UNITS),
            lstm2: KerasLstm::new(&p / "lstm2", UNITS, UNITS),
            out: Dense::new(&p / "out", UNITS, 1),
        }
    }

    /// x (B, 60, 6), y (B,) int64 → logits (B,), through the fused LSTM.
    pub fn forward(&self, x: &Tensor, y: &Tensor) -> Tensor {
        let h = Tensor::cat(&[x.shallow_clone(), self.label.forward(y)], 2);
        let h = lstm_fused(&self.lstm1, &h);
        let h = lstm_fused(&self.lstm2, &h);
        let pooled = h.mean_dim(&[1i64][..], false, None);
        self.out.forward(&pooled).squeeze_dim(1)
    }

    /// [`Self::forward`] recorded on `tape` (every parameter used by exactly one record), for
    /// exact per-example gradients of a sum of per-row losses.
    pub fn forward_tape(&self, tape: &mut Tape, x: &Tensor, y: &Tensor) -> Tensor {
        let label = self.label.forward_tape(tape, y);
        let h = Tensor::cat(&[x.shallow_clone(), label], 2);
        let (h, _) = tape.lstm(&self.lstm1, &h);
        let (h, _) = tape.lstm(&self.lstm2, &h);
        let pooled = h.mean_dim(&[1i64][..], false, None);
        tape.dense(&self.out, &pooled).squeeze_dim(1)
    }

    /// The tensors by stable name, in a fixed order (= the tape's parameter order).
    pub fn named(&self) -> Vec<(String, Tensor)> {
        let mut v = self.label.named("label");
        v.extend(lstm_named("lstm1", &self.lstm1));
        v.extend(lstm_named("lstm2", &self.lstm2));
        v.extend(dense_named("out", &self.out));
        v
    }

    pub fn parameters(&self) -> Vec<Tensor> {
        self.named().into_iter().map(|(_, t)| t).collect()
    }
}

/// Parameter count of a list of tensors.
pub fn count(named: &[(String, Tensor)]) -> i64 {
    named.iter().map(|(_, t)| t.numel() as i64).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Kind;

    fn float_opts(device: Device) -> (Kind, Device) {
        (Kind::Float, device)
    }

    fn nets(c: i64) -> (CganGenerator, CganDiscriminator) {
        let vs = nn::VarStore::new(Device::Cpu);
        (
            CganGenerator::new(vs.root() / "g", c),
            CganDiscriminator::new(vs.root() / "d", c),
        )
    }

    #[test]
    fn parameter_counts_match_the_reference() {
        let (g, d) = nets(2);
        assert_eq!(count(&g.named()), 67_870);
        assert_eq!(count(&d.named()), 45_605);
        let (g, d) = nets(3);
        assert_eq!(count(&g.named()), 67_935);
        assert_eq!(count(&d.named()), 45_670);
    }

    #[test]
    fn shapes_and_relu_output() {
        let (g, d) = nets(3);
        let z = Tensor::randn([5, LATENT_DIM], float_opts(Device::Cpu));
        let y = Tensor::from_slice(&[0i64, 1, 2, 1, 0]);
        let x = g.forward(&z, &y);
        assert_eq!(x.size(), vec![5, 60, 6]);
        assert!(x.min().double_value(&[]) >= 0.0);
        assert_eq!(d.forward(&x, &y).size(), vec![5]);
    }

    #[test]
    fn fused_lstm_equals_the_keras_cell_and_the_tape() {
        let (_, d) = nets(2);
        let x = Tensor::rand([4, 60, 6], float_opts(Device::Cpu));
        let y = Tensor::from_slice(&[0i64, 1, 1, 0]);
        let h = Tensor::cat(&[x.shallow_clone(), d.label.forward(&y)], 2);
        let (cell, _) = d.lstm1.forward(&h);
        let fused = lstm_fused(&d.lstm1, &h);
        let diff = (cell - fused).abs().max().double_value(&[]);
        assert!(diff < 1e-5, "{diff}");
        let mut tape = Tape::new();
        let a = d.forward_tape(&mut tape, &x, &y);
        let b = d.forward(&x, &y);
        let diff = (a - b).abs().max().double_value(&[]);
        assert!(diff < 1e-5, "{diff}");
        assert_eq!(tape.params().len(), d.parameters().len());
    }

    #[test]
    fn from_named_restores_the_generator() {
        let (g, _) = nets(2);
        let named: Vec<(String, Tensor)> = g
            .named()
            .into_iter()
            .map(|(n, t)| (format!("g.{n}"), t.detach().copy()))
            .collect();
        let h = CganGenerator::from_named(&named, "g.", 2, Device::Cpu).unwrap();
        let z = Tensor::randn([3, LATENT_DIM], float_opts(Device::Cpu));
        let y = Tensor::from_slice(&[0i64, 1, 0]);
        assert!(g.forward(&z, &y).equal(&h.forward(&z, &y)));
        let err = CganGenerator::from_named(&named[1..], "g.", 2, Device::Cpu).unwrap_err();
        assert!(err.contains("g.label.embedding"), "{err}");
    }
}
