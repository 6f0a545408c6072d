//! DoppelGANger's networks as the reference trains them (spec §3.2.3, gretel-synthetics
//! `timeseries_dgan` with `sample_len = max_sequence_len = 60` and no attributes), written over
//! explicit tensors so that a checkpoint holds them by name and the critic can be run with
//! per-example parameter copies (DP-SGD including the gradient penalty).
//!
//! - **Generator** (87,220 parameters): feature noise (B, 1, 10) ~ N(0, 1) → one step of a
//!   PyTorch-style LSTM(10 → 100) from h₀ = c₀ = 0 (gates i, f, g, o; `W_ih` (400, 10),
//!   `W_hh` (400, 100), `b_ih`, `b_hh` (400)) → 60 output decoders × 7 heads
//!   `Linear(100 → 1) + Sigmoid`, stored as one (420, 100) weight and a (420,) bias whose row
//!   `t·7 + c` is the head of channel `c` in decoder (time step) `t` → (B, 60, 7).
//! - **Critic** (245,201 parameters): MLP on the flattened 420 values,
//!   `[Linear(420, 200), ReLU] + 4 × [Linear(200, 200), ReLU] + Linear(200, 1)`. No
//!   normalisation layer (no BatchNorm: the critic is DP-SGD compatible).
//!
//! Initialisation is PyTorch's default (U(±1/√fan_in) for Linear weights and biases,
//! U(±1/√hidden) for every LSTM tensor), drawn from libtorch's global generator (seeded by the
//! caller before the networks are built).
//!
//! May depend on: tch. Nothing else.

use tch::{Device, Kind, Tensor};

/// Feature-noise dimension (`feature_noise_dim`).
pub const NOISE_DIM: i64 = 10;
/// LSTM units (`feature_num_units`).
pub const LSTM_UNITS: i64 = 100;
/// Time steps per window (`max_sequence_len = sample_len`).
pub const SEQ: i64 = 60;
/// Channels per time step: the 6 signals and the label as a continuous channel.
pub const CHANNELS: i64 = 7;
/// Flattened window size, the critic's input.
pub const FLAT: i64 = SEQ * CHANNELS;
/// Units of each hidden critic layer.
pub const CRITIC_UNITS: i64 = 200;
/// Hidden (Linear + ReLU) critic layers.
pub const CRITIC_HIDDEN_LAYERS: usize = 5;

fn uniform(shape: &[i64], bound: f64, device: Device) -> Tensor {
    Tensor::empty(shape, (Kind::Float, device))
        .uniform_(-bound, bound)
        .set_requires_grad(true)
}

fn find<'a>(
    named: &'a [(String, Tensor)],
    name: &str,
    shape: &[i64],
) -> Result<&'a Tensor, String> {
    let t = named
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, t)| t)
        .ok_or_else(|| format!("DoppelGANger tensor `{name}` missing"))?;
    if t.size() != shape {
        return Err(format!(
            "DoppelGANger tensor `{name}` has shape {:?}, expected {shape:?}",
            t.size()
        ));
    }
    Ok(t)
}

fn leaf(t: &Tensor, device: Device) -> Tensor {
    t.detach()
        .to_kind(Kind::Float)
        .to_device(device)
        .copy()
        .set_requires_grad(true)
}

/// The generator: noise → LSTM step → 420 sigmoid heads.
#[derive(Debug)]
pub struct DganGenerator {
    pub w_ih: Tensor,
    pub w_hh: Tensor,
    pub b_ih: Tensor,
    pub b_hh: Tensor,
    /// (420, 100): row `t·7 + c` is decoder `t`'s head for channel `c`.
    pub head_w: Tensor,
    /// (420,).
    pub head_b: Tensor,
}

impl DganGenerator {
    /// Stable tensor names, in parameter order.
    pub const NAMES: [&'static str; 6] = [
        "g.lstm.w_ih",
        "g.lstm.w_hh",
        "g.lstm.b_ih",
        "g.lstm.b_hh",
        "g.heads.w",
        "g.heads.b",
    ];

    fn shapes() -> [Vec<i64>; 6] {
        [
            vec![4 * LSTM_UNITS, NOISE_DIM],
            vec![4 * LSTM_UNITS, LSTM_UNITS],
            vec![4 * LSTM_UNITS],
            vec![4 * LSTM_UNITS],
            vec![FLAT, LSTM_UNITS],
            vec![FLAT],
        ]
    }

    /// A freshly initialised generator (PyTorch default init, global generator).
    pub fn new(device: Device) -> Self {
        let k = 1.0 / (LSTM_UNITS as f64).sqrt();
        let s = Self::shapes();
        Self {
            w_ih: uniform(&s[0], k, device),
            w_hh: uniform(&s[1], k, device),
            b_ih: uniform(&s[2], k, device),
            b_hh: uniform(&s[3], k, device),
            // Each head is Linear(100 → 1): fan_in 100.
            head_w: uniform(&s[4], k, device),
            head_b: uniform(&s[5], k, device),
        }
    }

    /// Rebuilds a generator from [`DganGenerator::named`] tensors (copies, requiring grad).
    pub fn from_named(named: &[(String, Tensor)], device: Device) -> Result<Self, String> {
        let s = Self::shapes();
        let get = |i: usize| find(named, Self::NAMES[i], &s[i]).map(|t| leaf(t, device));
        Ok(Self {
            w_ih: get(0)?,
            w_hh: get(1)?,
            b_ih: get(2)?,
            b_hh: get(3)?,
            head_w: get(4)?,
            head_b: get(5)?,
        })
    }

    /// The parameters, in [`DganGenerator::NAMES`] order (shallow clones).
    pub fn params(&self) -> Vec<Tensor> {
        [
            &self.w_ih,
            &self.w_hh,
            &self.b_ih,
            &self.b_hh,
            &self.head_w,
            &self.head_b,
        ]
        .iter()
        .map(|t| t.shallow_clone())
        .collect()
    }

    /// The parameters by stable name.
    pub fn named(&self) -> Vec<(String, Tensor)> {
        Self::NAMES
            .iter()
            .zip(self.params())
            .map(|(n, t)| (n.to_string(), t))
            .collect()
    }

    /// Loads [`DganGenerator::named`] values into the existing tensors (in place).
    pub fn load(&mut self, named: &[(String, Tensor)]) -> Result<(), String> {
        let s = Self::shapes();
        for (i, p) in self.params().iter_mut().enumerate() {
            let src = find(named, Self::NAMES[i], &s[i])?;
            tch::no_grad(|| p.copy_(src));
        }
        Ok(())
    }

    /// noise (B, 1, 10) → windows (B, 60, 7) in (0, 1).
    pub fn forward(&self, noise: &Tensor) -> Tensor {
        let b = noise.size()[0];
        let x = noise.view([b, NOISE_DIM]);
        let h0 = Tensor::zeros([b, LSTM_UNITS], (Kind::Float, noise.device()));
        let c0 = Tensor::zeros([b, LSTM_UNITS], (Kind::Float, noise.device()));
        let gates =
            x.matmul(&self.w_ih.tr()) + &self.b_ih + h0.matmul(&self.w_hh.tr()) + &self.b_hh;
        let ch = gates.chunk(4, 1);
        let (i, f, g, o) = (
            ch[0].sigmoid(),
            ch[1].sigmoid(),
            ch[2].tanh(),
            ch[3].sigmoid(),
        );
        let c = f * c0 + i * g;
        let h = o * c.tanh();
        (h.matmul(&self.head_w.tr()) + &self.head_b)
            .sigmoid()
            .view([b, SEQ, CHANNELS])
    }
}

/// The critic MLP.
#[derive(Debug)]
pub struct DganCritic {
    /// (weight (out, in), bias (out,)) per Linear layer, input to output.
    pub layers: Vec<(Tensor, Tensor)>,
}

impl DganCritic {
    fn dims() -> Vec<(i64, i64)> {
        let mut d = vec![(FLAT, CRITIC_UNITS)];
        d.extend(std::iter::repeat_n(
            (CRITIC_UNITS, CRITIC_UNITS),
            CRITIC_HIDDEN_LAYERS - 1,
        ));
        d.push((CRITIC_UNITS, 1));
        d
    }

    /// A freshly initialised critic (PyTorch default Linear init, global generator).
    pub fn new(device: Device) -> Self {
        let layers = Self::dims()
            .into_iter()
            .map(|(i, o)| {
                let k = 1.0 / (i as f64).sqrt();
                (uniform(&[o, i], k, device), uniform(&[o], k, device))
            })
            .collect();
        Self { layers }
    }

    /// The parameters (w, b per layer; shallow clones).
    pub fn params(&self) -> Vec<Tensor> {
        self.layers
            .iter()
            .flat_map(|(w, b)| [w.shallow_clone(), b.shallow_clone()])
            .collect()
    }

    /// The parameters by stable name `d.l<k>.w` / `d.l<k>.b`.
    pub fn named(&self) -> Vec<(String, Tensor)> {
        self.layers
            .iter()
            .enumerate()
            .flat_map(|(k, (w, b))| {
                [
                    (format!("d.l{k}.w"), w.shallow_clone()),
                    (format!("d.l{k}.b"), b.shallow_clone()),
                ]
            })
            .collect()
    }

    /// Loads [`DganCritic::named`] values in place.
    pub fn load(&mut self, named: &[(String, Tensor)]) -> Result<(), String> {
        for (k, ((w, b), (i, o))) in self.layers.iter_mut().zip(Self::dims()).enumerate() {
            let sw = find(named, &format!("d.l{k}.w"), &[o, i])?;
            let sb = find(named, &format!("d.l{k}.b"), &[o])?;
            tch::no_grad(|| {
                w.copy_(sw);
                b.copy_(sb);
            });
        }
        Ok(())
    }

    /// x (B, 420) → scores (B,).
    pub fn forward(&self, x: &Tensor) -> Tensor {
        let last = self.layers.len() - 1;
        let mut h = x.shallow_clone();
        for (k, (w, b)) in self.layers.iter().enumerate() {
            h = h.linear(w, Some(b));
            if k < last {
                h = h.relu();
            }
        }
        h.squeeze_dim(1)
    }

    /// Per-example copies of the critic's parameters for `rows` rows (see [`CriticCopies`]).
    pub fn copies(&self, rows: i64) -> CriticCopies {
        let layers = self
            .layers
            .iter()
            .map(|(w, b)| {
                let (o, i) = (w.size()[0], w.size()[1]);
                (
                    w.detach()
                        .unsqueeze(0)
                        .expand([rows, o, i], false)
                        .set_requires_grad(true),
                    b.detach()
                        .unsqueeze(0)
                        .expand([rows, o], false)
                        .set_requires_grad(true),
                )
            })
            .collect();
        CriticCopies { layers, rows }
    }
}

/// One copy of every critic parameter per row: weights (R, out, in) and biases (R, out), fresh
/// autograd leaves whose values are the shared parameters (an expand, no memory per copy).
/// Row r of an input is scored with copy r, so after one backward of a loss that is a sum of
/// per-row terms, copy r's `.grad()` is row r's gradient — including terms that differentiate
/// the critic twice (the gradient penalty), which hook-based per-example methods cannot do.
#[derive(Debug)]
pub struct CriticCopies {
    pub layers: Vec<(Tensor, Tensor)>,
    pub rows: i64,
}

impl CriticCopies {
    /// x (n, 420) scored with copies `first .. first + n` → (n,).
    pub fn forward(&self, x: &Tensor, first: i64) -> Tensor {
        let n = x.size()[0];
        let last = self.layers.len() - 1;
        let mut h = x.unsqueeze(1);
        for (k, (w, b)) in self.layers.iter().enumerate() {
            let w = w.narrow(0, first, n);
            let b = b.narrow(0, first, n);
            h = h.bmm(&w.transpose(1, 2)) + b.unsqueeze(1);
            if k < last {
                h = h.relu();
            }
        }
        h.view([n])
    }

    /// Each copy's gradient after a backward, in [`DganCritic::params`] order: (R, *shape);
    /// zeros where a copy received no gradient.
    pub fn grads(&self) -> Vec<Tensor> {
        self.layers
            .iter()
            .flat_map(|(w, b)| {
                [w, b].map(|t| {
                    let g = t.grad();
                    if g.defined() {
                        g.detach()
                    } else {
                        t.detach().zeros_like()
                    }
                })
            })
            .collect()
    }
}

/// Total element count of a list of tensors.
pub fn count(ts: &[Tensor]) -> i64 {
    ts.iter().map(|t| t.numel() as i64).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_counts_match_the_reference() {
        tch::manual_seed(0);
        let g = DganGenerator::new(Device::Cpu);
        assert_eq!(count(&g.params()), 87_220);
        assert_eq!(g.w_ih.size(), vec![400, 10]);
        assert_eq!(g.w_hh.size(), vec![400, 100]);
        let d = DganCritic::new(Device::Cpu);
        assert_eq!(count(&d.params()), 245_201);
        assert_eq!(d.layers.len(), 6);
    }

    #[test]
    fn shapes_and_ranges() {
        tch::manual_seed(1);
        let g = DganGenerator::new(Device::Cpu);
        let z = Tensor::randn([5, 1, NOISE_DIM], (Kind::Float, Device::Cpu));
        let x = g.forward(&z);
        assert_eq!(x.size(), vec![5, 60, 7]);
        assert!(x.min().double_value(&[]) > 0.0 && x.max().double_value(&[]) < 1.0);
        let d = DganCritic::new(Device::Cpu);
        assert_eq!(d.forward(&x.view([5, FLAT])).size(), vec![5]);
    }

    #[test]
    fn copies_score_like_the_shared_critic() {
        tch::manual_seed(2);
        let d = DganCritic::new(Device::Cpu);
        let x = Tensor::rand([4, FLAT], (Kind::Float, Device::Cpu));
        let c = d.copies(6);
        let a = d.forward(&x);
        let b = c.forward(&x, 2);
        let diff = (a - b).abs().max().double_value(&[]);
        assert!(diff < 1e-5, "{diff}");
    }

    #[test]
    fn named_round_trip() {
        tch::manual_seed(3);
        let g = DganGenerator::new(Device::Cpu);
        let h = DganGenerator::from_named(&g.named(), Device::Cpu).unwrap();
        let z = Tensor::randn([3, 1, NOISE_DIM], (Kind::Float, Device::Cpu));
        assert!(g.forward(&z).equal(&h.forward(&z)));
        let err = DganGenerator::from_named(&g.named()[1..], Device::Cpu).unwrap_err();
        assert!(err.contains("g.lstm.w_ih"), "{err}");
    }
}
