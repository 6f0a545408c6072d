//! DP-MERF building blocks (Harder et al. 2021, arXiv 2002.11603): a fixed, data-independent
//! random feature map φ of a 60 s × 6-channel window with ‖φ(x)‖ ≤ 1 for every input, and the
//! conditional generator network fitted to a released mean embedding. The training step (the
//! release and the generator's loss) lives in `training::generator::kinds::dp_merf`.
//!
//! # The feature map
//!
//! All random draws come from [`FeatureConfig::seed`] (a public hyper-parameter), never from
//! the data: the map is the same function for every dataset. For a window x ∈ R^{60×6},
//! flattened time-major into v ∈ R^{360}:
//!
//! φ(x) = [ √w₀ ; √w_rff · φ_rff(v) ; √w_conv · φ_conv(x) ],   w₀ + w_rff + w_conv = 1, w ≥ 0.
//!
//! - **Constant coordinate** √w₀. Its entry in a released sum Σ_i φ(x_i) ⊗ onehot(y_i) is
//!   √w₀ · (windows of each class), so the class masses (and proportions) are read from the
//!   noisy release itself, never from the raw counts.
//! - **Random Fourier features** of the Gaussian kernel k(v, v') = exp(−‖v − v'‖² / (2ℓ²)):
//!   m frequencies ω_j ~ N(0, I/ℓ_j²) (the m frequencies are split evenly over the fixed
//!   length-scales ℓ of [`FeatureConfig::length_scales`], remainder to the first),
//!   φ_rff(v) = (1/√m) · [cos(ω_jᵀv), sin(ω_jᵀv)]_{j=1..m} ∈ R^{2m}.
//!   ‖φ_rff(v)‖² = (1/m) Σ_j (cos² + sin²) = 1 exactly. Default ℓ: windows are min–max scaled
//!   to [0, 1]; two windows differing by ≈ 0.3 per value lie ‖v − v'‖ ≈ 0.3·√360 ≈ 5.7 apart,
//!   so ℓ = 0.3·√360 keeps the kernel informative (k ≈ 0.6 at that distance) and a second,
//!   finer ℓ = 0.15·√360 resolves closer windows. Both are fixed in advance (public), not
//!   chosen on the data (no median heuristic).
//! - **ROCKET-style random convolution features** (Dempster et al., arXiv 1910.13051), K
//!   kernels. Kernel k has a length L_k ∈ [`FeatureConfig::conv_lengths`], a dilation
//!   d_k ∈ [`FeatureConfig::conv_dilations`], a random subset of c_k = ⌊2^U(0, log₂7)⌋ of the 6
//!   channels (at most 6), weights N(0, 1) over its (c_k, L_k) taps, mean-centred and scaled to
//!   unit L2 norm (so a constant window gives 0 before the bias), and a bias
//!   b_k ~ U(−β, β) ([`FeatureConfig::conv_bias`]). With o_{k,t} = Σ w·x over the dilated
//!   window at t (no padding) plus b_k, two features per kernel:
//!   soft PPV p_k = mean_t sigmoid(o_{k,t} / τ) ∈ [0, 1] (ROCKET's proportion of positive
//!   values, smoothed so the generator gets a gradient; τ = [`FeatureConfig::conv_temperature`]),
//!   and a_k = tanh(max_t o_{k,t} / κ) ∈ [−1, 1] (ROCKET's max, squashed so it is bounded for
//!   every input; κ = [`FeatureConfig::conv_max_scale`]).
//!   φ_conv(x) = (1/√(2K)) · [p_k, a_k]_{k=1..K}, so ‖φ_conv(x)‖² = (1/(2K)) Σ_k (p_k² + a_k²) ≤ 1.
//!   Unlike ROCKET, series are not z-normalised per window and biases are not drawn from data
//!   quantiles (that would read the data); β, τ and κ are fixed in units of the [0, 1] scale
//!   (set so that the features spread across windows of dpwear's simulator, never looked up
//!   on real data).
//!
//! **Bound.** For every x ∈ R^{60×6} with finite φ(x):
//! ‖φ(x)‖² = w₀ + w_rff · ‖φ_rff‖² + w_conv · ‖φ_conv‖² ≤ w₀ + w_rff · 1 + w_conv · 1 = 1,
//! because each block's squared norm is at most 1 (shown above) and the blocks occupy disjoint
//! coordinates. A window with non-finite values (NaN, ±∞) can make φ non-finite; the release
//! therefore passes every contribution through [`clip_rows`], which zeroes non-finite rows and
//! scales any row to norm ≤ 1 (a no-op up to rounding for finite inputs), so the sensitivity
//! bound holds by construction and not only by this argument.
//!
//! # The generator
//!
//! z ~ N(0, I_{z_dim}) ⊕ onehot(y) → Dense + ReLU (per hidden size) → Dense(360) → sigmoid →
//! (60, 6). An MLP rather than an LSTM: the windows have a fixed length of 60 samples at 1 Hz,
//! so one dense map can shape every second and every cross-channel correlation directly, it
//! has no sequential bottleneck, and one step costs a few matrix products (the embedding
//! loss needs many steps). The sigmoid keeps values in [0, 1], the range of the data.
//!
//! May depend on: tch, `models::layers`, rand / rand_chacha / rand_distr (seeded draws).

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};
use tch::nn::{self, Init};
use tch::{Device, Kind, Tensor};

use crate::models::layers::{glorot, Dense};

/// Time steps of a window (1 Hz samples).
pub const WINDOW_STEPS: i64 = 60;
/// Channels of a window.
pub const WINDOW_CHANNELS: i64 = 6;
/// Values of a flattened window.
pub const WINDOW_VALUES: i64 = WINDOW_STEPS * WINDOW_CHANNELS;

/// The random feature map's hyper-parameters (all public, fixed before training).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureConfig {
    /// Seed of every random draw of the map (frequencies, kernels). Public.
    pub seed: u64,
    /// Random Fourier frequencies m (2m features).
    pub rff_frequencies: usize,
    /// Length-scales ℓ of the Gaussian kernel(s) in the flattened-window space (R^360).
    pub length_scales: Vec<f64>,
    /// Random convolution kernels K (2K features).
    pub conv_kernels: usize,
    /// Kernel lengths drawn from (uniformly).
    pub conv_lengths: Vec<usize>,
    /// Dilations drawn from (uniformly).
    pub conv_dilations: Vec<usize>,
    /// Bias range β: b ~ U(−β, β).
    pub conv_bias: f64,
    /// Temperature τ of the soft proportion of positive values.
    pub conv_temperature: f64,
    /// Scale κ of the squashed maximum tanh(max / κ).
    pub conv_max_scale: f64,
    /// Squared-norm share w₀ of the constant coordinate (> 0: it carries the class masses).
    pub const_weight: f64,
    /// Squared-norm share w_rff of the Fourier block.
    pub rff_weight: f64,
    /// Squared-norm share w_conv of the convolution block.
    pub conv_weight: f64,
}

impl Default for FeatureConfig {
    fn default() -> Self {
        let root = (WINDOW_VALUES as f64).sqrt();
        Self {
            seed: 20_020_011_603,
            rff_frequencies: 256,
            length_scales: vec![0.3 * root, 0.15 * root],
            conv_kernels: 64,
            conv_lengths: vec![3, 5, 7],
            conv_dilations: vec![1, 2, 4, 8],
            conv_bias: 0.05,
            conv_temperature: 0.02,
            conv_max_scale: 0.1,
            const_weight: 0.1,
            rff_weight: 0.6,
            conv_weight: 0.3,
        }
    }
}

impl FeatureConfig {
    /// Dimension D of φ: 1 + 2m + 2K.
    pub fn dim(&self) -> usize {
        1 + 2 * self.rff_frequencies + 2 * self.conv_kernels
    }

    /// Checks the configuration (weights sum to 1, every block that has a weight has features
    /// and conversely, positive scales, kernels that fit in 60 steps).
    pub fn validate(&self) -> Result<(), String> {
        let ws = [self.const_weight, self.rff_weight, self.conv_weight];
        if ws.iter().any(|w| !(w.is_finite() && *w >= 0.0)) {
            return Err(format!("feature weights {ws:?} must be finite and >= 0"));
        }
        if (ws.iter().sum::<f64>() - 1.0).abs() > 1e-9 {
            return Err(format!(
                "feature weights (const {}, rff {}, conv {}) must sum to 1 (they share the unit norm of phi)",
                self.const_weight, self.rff_weight, self.conv_weight
            ));
        }
        if self.const_weight <= 0.0 {
            return Err(
                "const_weight must be > 0: the constant coordinate carries the class masses of the release"
                    .into(),
            );
        }
        if (self.rff_frequencies > 0) != (self.rff_weight > 0.0) {
            return Err(format!(
                "rff_frequencies {} and rff_weight {} disagree (both zero or both positive)",
                self.rff_frequencies, self.rff_weight
            ));
        }
        if (self.conv_kernels > 0) != (self.conv_weight > 0.0) {
            return Err(format!(
                "conv_kernels {} and conv_weight {} disagree (both zero or both positive)",
                self.conv_kernels, self.conv_weight
            ));
        }
        if self.rff_frequencies > 0 {
            if self.length_scales.is_empty() || self.length_scales.len() > self.rff_frequencies {
                return Err(format!(
                    "length_scales needs between 1 and rff_frequencies ({}) values, got {}",
                    self.rff_frequencies,
                    self.length_scales.len()
                ));
            }
            if self
                .length_scales
                .iter()
                .any(|l| !(l.is_finite() && *l > 0.0))
            {
                return Err(format!(
                    "length_scales {:?} must be finite and > 0",
                    self.length_scales
                ));
            }
        }
        if self.conv_kernels > 0 {
            if self.conv_lengths.is_empty() || self.conv_dilations.is_empty() {
                return Err("conv_lengths and conv_dilations must not be empty".into());
            }
            for &l in &self.conv_lengths {
                for &d in &self.conv_dilations {
                    if l < 2 || d < 1 || (l - 1) * d >= WINDOW_STEPS as usize {
                        return Err(format!(
                            "a kernel of length {l} with dilation {d} does not fit in {WINDOW_STEPS} steps (need length >= 2, dilation >= 1, (length-1)*dilation < {WINDOW_STEPS})"
                        ));
                    }
                }
            }
            for (name, v) in [
                ("conv_bias", self.conv_bias),
                ("conv_temperature", self.conv_temperature),
                ("conv_max_scale", self.conv_max_scale),
            ] {
                let ok = v.is_finite()
                    && if name == "conv_bias" {
                        v >= 0.0
                    } else {
                        v > 0.0
                    };
                if !ok {
                    return Err(format!("{name} {v} must be finite and positive"));
                }
            }
        }
        Ok(())
    }
}

/// Kernels that share a (length, dilation): one conv1d call.
#[derive(Debug)]
struct ConvGroup {
    /// (K_g, 6, L) with zeros on the channels a kernel does not read.
    weight: Tensor,
    /// (K_g,)
    bias: Tensor,
    dilation: i64,
}

/// The fixed random feature map φ (see the module docs). Parameters are stored in float32
/// and applied in the input's float kind (the release uses float64).
#[derive(Debug)]
pub struct FeatureMap {
    cfg: FeatureConfig,
    /// (360, m): column j is ω_j.
    omega: Tensor,
    groups: Vec<ConvGroup>,
}

fn normal_vec(n: usize, rng: &mut ChaCha20Rng) -> Vec<f64> {
    (0..n)
        .map(|_| {
            let x: f64 = StandardNormal.sample(rng);
            x
        })
        .collect()
}

impl FeatureMap {
    /// Draws the map from `cfg.seed` (checked by [`FeatureConfig::validate`]).
    pub fn new(cfg: &FeatureConfig, device: Device) -> Result<Self, String> {
        cfg.validate()?;
        // Separate ChaCha streams: the kernels do not change when m changes, and conversely.
        let mut rff_rng = ChaCha20Rng::seed_from_u64(cfg.seed);
        rff_rng.set_stream(1);
        let mut conv_rng = ChaCha20Rng::seed_from_u64(cfg.seed);
        conv_rng.set_stream(2);

        let m = cfg.rff_frequencies;
        let d = WINDOW_VALUES as usize;
        let mut omega = vec![0f32; d * m];
        if m > 0 {
            let n_scales = cfg.length_scales.len();
            let per = m / n_scales;
            let mut j = 0usize;
            for (s, &ell) in cfg.length_scales.iter().enumerate() {
                let count = if s == 0 { per + m % n_scales } else { per };
                for _ in 0..count {
                    for (i, g) in normal_vec(d, &mut rff_rng).into_iter().enumerate() {
                        omega[i * m + j] = (g / ell) as f32;
                    }
                    j += 1;
                }
            }
        }
        let omega = Tensor::from_slice(&omega)
            .view([d as i64, m as i64])
            .to_device(device);

        // ROCKET-style kernels, grouped by (length, dilation) in a fixed (sorted) order.
        let mut by_shape: BTreeMap<(usize, usize), (Vec<f32>, Vec<f32>)> = BTreeMap::new();
        let max_channels_log = ((WINDOW_CHANNELS + 1) as f64).log2();
        for _ in 0..cfg.conv_kernels {
            let len = cfg.conv_lengths[conv_rng.random_range(0..cfg.conv_lengths.len())];
            let dil = cfg.conv_dilations[conv_rng.random_range(0..cfg.conv_dilations.len())];
            let u: f64 = conv_rng.random::<f64>() * max_channels_log;
            let n_ch = (2f64.powf(u).floor() as usize).clamp(1, WINDOW_CHANNELS as usize);
            // A random subset of n_ch channels (partial Fisher–Yates).
            let mut chans: Vec<usize> = (0..WINDOW_CHANNELS as usize).collect();
            for i in 0..n_ch {
                let k = conv_rng.random_range(i..chans.len());
                chans.swap(i, k);
            }
            chans.truncate(n_ch);
            let mut w = normal_vec(n_ch * len, &mut conv_rng);
            let mean = w.iter().sum::<f64>() / w.len() as f64;
            w.iter_mut().for_each(|v| *v -= mean);
            let norm = w.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-12);
            let bias = (conv_rng.random::<f64>() * 2.0 - 1.0) * cfg.conv_bias;
            let mut full = vec![0f32; WINDOW_CHANNELS as usize * len];
            for (ci, &ch) in chans.iter().enumerate() {
                for t in 0..len {
                    full[ch * len + t] = (w[ci * len + t] / norm) as f32;
                }
            }
            let e = by_shape.entry((len, dil)).or_default();
            e.0.extend_from_slice(&full);
            e.1.push(bias as f32);
        }
        let groups = by_shape
            .into_iter()
            .map(|((len, dil), (w, b))| {
                let k = b.len() as i64;
                ConvGroup {
                    weight: Tensor::from_slice(&w)
                        .view([k, WINDOW_CHANNELS, len as i64])
                        .to_device(device),
                    bias: Tensor::from_slice(&b).to_device(device),
                    dilation: dil as i64,
                }
            })
            .collect();
        Ok(Self {
            cfg: cfg.clone(),
            omega,
            groups,
        })
    }

    /// The configuration the map was drawn from.
    pub fn config(&self) -> &FeatureConfig {
        &self.cfg
    }

    /// Dimension D of φ.
    pub fn dim(&self) -> usize {
        self.cfg.dim()
    }

    /// The constant coordinate's value √w₀ (coordinate 0 of φ).
    pub fn constant(&self) -> f64 {
        self.cfg.const_weight.sqrt()
    }

    /// Every random parameter of the map (for tests: same seed, same map).
    pub fn parameters(&self) -> Vec<Tensor> {
        let mut out = vec![self.omega.shallow_clone()];
        for g in &self.groups {
            out.push(g.weight.shallow_clone());
            out.push(g.bias.shallow_clone());
        }
        out
    }

    /// φ of windows `x` (B, 60, 6) in x's float kind → (B, D). Differentiable in x.
    pub fn phi(&self, x: &Tensor) -> Tensor {
        let kind = x.kind();
        let b = x.size()[0];
        let mut blocks = vec![Tensor::full([b, 1], self.constant(), (kind, x.device()))];
        let m = self.cfg.rff_frequencies;
        if m > 0 {
            let proj = x
                .reshape([b, WINDOW_VALUES])
                .matmul(&self.omega.to_kind(kind));
            let scale = (self.cfg.rff_weight / m as f64).sqrt();
            blocks.push(proj.cos() * scale);
            blocks.push(proj.sin() * scale);
        }
        let k = self.cfg.conv_kernels;
        if k > 0 {
            let xc = x.transpose(1, 2); // (B, 6, 60)
            let scale = (self.cfg.conv_weight / (2 * k) as f64).sqrt();
            let (mut ppv, mut mx) = (Vec::new(), Vec::new());
            for g in &self.groups {
                let o = xc.conv1d(
                    &g.weight.to_kind(kind),
                    Some(&g.bias.to_kind(kind)),
                    [1],
                    [0],
                    [g.dilation],
                    1,
                ); // (B, K_g, T_out)
                ppv.push((&o / self.cfg.conv_temperature).sigmoid().mean_dim(
                    [2i64].as_slice(),
                    false,
                    kind,
                ));
                mx.push((o.amax([2i64].as_slice(), false) / self.cfg.conv_max_scale).tanh());
            }
            blocks.push(Tensor::cat(&ppv, 1) * scale);
            blocks.push(Tensor::cat(&mx, 1) * scale);
        }
        Tensor::cat(&blocks, 1)
    }
}

/// Rows of `v` (n, D) made safe for a release: non-finite entries' rows become zero, then each
/// row is scaled by min(1, 1/‖row‖). Every output row has norm ≤ 1 (up to one rounding).
pub fn clip_rows(v: &Tensor) -> Tensor {
    let finite = v.isfinite().all_dim(1, true); // (n, 1) bool
    let v = v.where_self(&finite, &v.zeros_like());
    let norms = v
        .square()
        .sum_dim_intlist([1i64].as_slice(), true, v.kind())
        .sqrt();
    let factor = norms.clamp_min(1.0).reciprocal();
    v * factor
}

/// The conditional generator: z ⊕ onehot(y) → MLP → sigmoid → (B, 60, 6).
#[derive(Debug)]
pub struct MerfGenerator {
    pub layers: Vec<Dense>,
    pub z_dim: i64,
    pub n_classes: i64,
}

/// Parameters of [`MerfGenerator`] for these sizes.
pub fn generator_parameter_count(z_dim: usize, hidden: &[usize], n_classes: usize) -> i64 {
    let mut d_in = (z_dim + n_classes) as i64;
    let mut total = 0i64;
    for &h in hidden
        .iter()
        .chain(std::iter::once(&(WINDOW_VALUES as usize)))
    {
        total += d_in * h as i64 + h as i64;
        d_in = h as i64;
    }
    total
}

impl MerfGenerator {
    /// Glorot-uniform kernels, zero biases (libtorch's global generator, seeded by the caller).
    pub fn new(p: nn::Path, z_dim: usize, hidden: &[usize], n_classes: usize) -> Self {
        let mut d_in = (z_dim + n_classes) as i64;
        let mut layers = Vec::with_capacity(hidden.len() + 1);
        for (i, &h) in hidden
            .iter()
            .chain(std::iter::once(&(WINDOW_VALUES as usize)))
            .enumerate()
        {
            let h = h as i64;
            let q = &p / format!("dense{i}");
            layers.push(Dense {
                weight: q.var("weight", &[h, d_in], glorot(d_in, h)),
                bias: q.var("bias", &[h], Init::Const(0.0)),
            });
            d_in = h;
        }
        Self {
            layers,
            z_dim: z_dim as i64,
            n_classes: n_classes as i64,
        }
    }

    /// Rebuilds the generator from [`MerfGenerator::named`] tensors, checking every shape
    /// against the sizes.
    pub fn from_named(
        named: &[(String, Tensor)],
        z_dim: usize,
        hidden: &[usize],
        n_classes: usize,
        device: Device,
    ) -> Result<Self, String> {
        let find = |name: &str, shape: &[i64]| -> Result<Tensor, String> {
            let t = named
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, t)| t)
                .ok_or_else(|| format!("generator tensor `{name}` missing"))?;
            if t.size() != shape {
                return Err(format!(
                    "generator tensor `{name}` has shape {:?}, expected {shape:?}",
                    t.size()
                ));
            }
            Ok(t.to_kind(Kind::Float).to_device(device).detach())
        };
        let mut d_in = (z_dim + n_classes) as i64;
        let mut layers = Vec::new();
        for (i, &h) in hidden
            .iter()
            .chain(std::iter::once(&(WINDOW_VALUES as usize)))
            .enumerate()
        {
            let h = h as i64;
            layers.push(Dense {
                weight: find(&format!("dense{i}.weight"), &[h, d_in])?,
                bias: find(&format!("dense{i}.bias"), &[h])?,
            });
            d_in = h;
        }
        let expected = 2 * layers.len();
        if named.len() != expected {
            return Err(format!(
                "the generator has {} tensors, expected {expected} (z_dim {z_dim}, hidden {hidden:?})",
                named.len()
            ));
        }
        Ok(Self {
            layers,
            z_dim: z_dim as i64,
            n_classes: n_classes as i64,
        })
    }

    /// The weights by stable name (`dense{i}.weight`, `dense{i}.bias`).
    pub fn named(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::with_capacity(2 * self.layers.len());
        for (i, l) in self.layers.iter().enumerate() {
            out.push((format!("dense{i}.weight"), l.weight.shallow_clone()));
            out.push((format!("dense{i}.bias"), l.bias.shallow_clone()));
        }
        out
    }

    /// The weights in order.
    pub fn parameters(&self) -> Vec<Tensor> {
        self.named().into_iter().map(|(_, t)| t).collect()
    }

    /// Windows (B, 60, 6) in (0, 1) for latent `z` (B, z_dim) and labels (B,) int64.
    pub fn forward(&self, z: &Tensor, labels: &Tensor) -> Tensor {
        let onehot = labels.one_hot(self.n_classes).to_kind(z.kind());
        let mut h = Tensor::cat(&[z.shallow_clone(), onehot], 1);
        let last = self.layers.len() - 1;
        for (i, l) in self.layers.iter().enumerate() {
            h = l.forward(&h);
            if i < last {
                h = h.relu();
            }
        }
        h.sigmoid().view([-1, WINDOW_STEPS, WINDOW_CHANNELS])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> FeatureConfig {
        FeatureConfig {
            rff_frequencies: 40,
            conv_kernels: 24,
            ..FeatureConfig::default()
        }
    }

    fn norms(phi: &Tensor) -> Vec<f64> {
        let n = phi
            .square()
            .sum_dim_intlist([1i64].as_slice(), false, Kind::Double)
            .sqrt();
        Vec::<f64>::try_from(n).unwrap()
    }

    #[test]
    fn default_dimension_and_validation() {
        let c = FeatureConfig::default();
        c.validate().unwrap();
        assert_eq!(c.dim(), 1 + 512 + 128);
        let bad = FeatureConfig {
            const_weight: 0.2,
            ..FeatureConfig::default()
        };
        assert!(bad.validate().unwrap_err().contains("sum to 1"));
        let bad = FeatureConfig {
            conv_lengths: vec![9],
            conv_dilations: vec![8],
            ..FeatureConfig::default()
        };
        assert!(bad.validate().unwrap_err().contains("does not fit"));
        let bad = FeatureConfig {
            conv_kernels: 0,
            ..FeatureConfig::default()
        };
        assert!(bad.validate().unwrap_err().contains("disagree"));
    }

    #[test]
    fn phi_norm_is_at_most_one_for_random_and_extreme_inputs() {
        let fm = FeatureMap::new(&small(), Device::Cpu).unwrap();
        let mut inputs = vec![
            Tensor::rand([64, 60, 6], (Kind::Double, Device::Cpu)),
            Tensor::randn([64, 60, 6], (Kind::Double, Device::Cpu)) * 100.0,
            Tensor::randn([16, 60, 6], (Kind::Double, Device::Cpu)) * 1e6,
            Tensor::zeros([1, 60, 6], (Kind::Double, Device::Cpu)),
            Tensor::ones([1, 60, 6], (Kind::Double, Device::Cpu)),
            Tensor::ones([1, 60, 6], (Kind::Double, Device::Cpu)) * -1e6,
        ];
        // Alternating 0/1 in time, and a single spike.
        let alt = Tensor::arange(60, (Kind::Double, Device::Cpu))
            .remainder(2.0)
            .view([1, 60, 1])
            .expand([1, 60, 6], false)
            .contiguous();
        inputs.push(alt);
        let spike = Tensor::zeros([1, 60, 6], (Kind::Double, Device::Cpu));
        let _ = spike.get(0).get(30).fill_(1e3);
        inputs.push(spike);
        // Float32 too (the generator's kind).
        inputs.push(Tensor::rand([32, 60, 6], (Kind::Float, Device::Cpu)));
        for x in &inputs {
            let phi = fm.phi(x);
            assert_eq!(phi.size(), vec![x.size()[0], fm.dim() as i64]);
            for n in norms(&phi) {
                assert!(n.is_finite() && n <= 1.0 + 1e-6, "norm {n}");
                // The constant and Fourier blocks alone give w0 + w_rff.
                assert!(n >= (0.7f64).sqrt() - 1e-6, "norm {n}");
            }
        }
        // Non-finite windows: the release's clip makes their rows zero.
        let bad = Tensor::rand([3, 60, 6], (Kind::Double, Device::Cpu));
        let _ = bad.get(0).get(3).get(2).fill_(f64::NAN);
        let _ = bad.get(1).get(7).get(0).fill_(f64::INFINITY);
        let clipped = clip_rows(&fm.phi(&bad));
        let n = norms(&clipped);
        assert_eq!(n[0], 0.0);
        assert_eq!(n[1], 0.0);
        assert!(n[2] > 0.8 && n[2] <= 1.0 + 1e-12);
    }

    #[test]
    fn clip_rows_bounds_every_row() {
        let v = Tensor::randn([50, 20], (Kind::Double, Device::Cpu)) * 3.0;
        let c = clip_rows(&v);
        for (a, b) in norms(&c).into_iter().zip(norms(&v)) {
            assert!(a <= 1.0 + 1e-12);
            if b <= 1.0 {
                assert!((a - b).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn rff_only_map_has_unit_norm_exactly() {
        let cfg = FeatureConfig {
            conv_kernels: 0,
            conv_weight: 0.0,
            rff_weight: 0.9,
            ..small()
        };
        let fm = FeatureMap::new(&cfg, Device::Cpu).unwrap();
        let x = Tensor::rand([20, 60, 6], (Kind::Double, Device::Cpu));
        for n in norms(&fm.phi(&x)) {
            assert!((n - 1.0).abs() < 1e-12, "{n}");
        }
    }

    #[test]
    fn same_seed_same_features_other_seed_other_features() {
        let a = FeatureMap::new(&small(), Device::Cpu).unwrap();
        let b = FeatureMap::new(&small(), Device::Cpu).unwrap();
        let c = FeatureMap::new(&FeatureConfig { seed: 7, ..small() }, Device::Cpu).unwrap();
        for (p, q) in a.parameters().iter().zip(b.parameters()) {
            assert!(p.equal(&q));
        }
        assert!(!a.parameters()[0].equal(&c.parameters()[0]));
        let x = Tensor::rand([8, 60, 6], (Kind::Double, Device::Cpu));
        assert!(a.phi(&x).equal(&b.phi(&x)));
        assert!(!a.phi(&x).equal(&c.phi(&x)));
        // Kernels do not depend on the number of frequencies (separate streams).
        let d = FeatureMap::new(
            &FeatureConfig {
                rff_frequencies: 10,
                ..small()
            },
            Device::Cpu,
        )
        .unwrap();
        for (p, q) in a.parameters()[1..].iter().zip(&d.parameters()[1..]) {
            assert!(p.equal(q));
        }
    }

    #[test]
    fn kernels_are_centred_unit_norm_and_fit() {
        let fm = FeatureMap::new(&FeatureConfig::default(), Device::Cpu).unwrap();
        let total: i64 = fm.groups.iter().map(|g| g.weight.size()[0]).sum();
        assert_eq!(total, 64);
        for g in &fm.groups {
            let w = g.weight.to_kind(Kind::Double);
            let k = w.size()[0];
            let flat = w.view([k, -1]);
            let sums =
                Vec::<f64>::try_from(flat.sum_dim_intlist([1i64].as_slice(), false, Kind::Double))
                    .unwrap();
            let nrm = norms(&flat);
            for (s, n) in sums.into_iter().zip(nrm) {
                assert!(s.abs() < 1e-5 && (n - 1.0).abs() < 1e-5, "{s} {n}");
            }
            let b = Vec::<f64>::try_from(g.bias.to_kind(Kind::Double)).unwrap();
            assert!(b.iter().all(|v| v.abs() <= 0.05 + 1e-7));
        }
    }

    #[test]
    fn generator_shapes_range_and_parameter_count() {
        tch::manual_seed(0);
        let vs = nn::VarStore::new(Device::Cpu);
        let g = MerfGenerator::new(vs.root(), 32, &[256, 256], 2);
        let counted: i64 = g.parameters().iter().map(|t| t.numel() as i64).sum();
        assert_eq!(counted, generator_parameter_count(32, &[256, 256], 2));
        assert_eq!(
            counted,
            (34 * 256 + 256) + (256 * 256 + 256) + (256 * 360 + 360)
        );
        assert_eq!(counted, 167_272);
        let z = Tensor::randn([5, 32], (Kind::Float, Device::Cpu));
        let y = Tensor::from_slice(&[0i64, 1, 1, 0, 1]);
        let x = g.forward(&z, &y);
        assert_eq!(x.size(), vec![5, 60, 6]);
        assert!(x.min().double_value(&[]) > 0.0 && x.max().double_value(&[]) < 1.0);
        let h = MerfGenerator::from_named(&g.named(), 32, &[256, 256], 2, Device::Cpu).unwrap();
        assert!(h.forward(&z, &y).equal(&x));
        let err =
            MerfGenerator::from_named(&g.named(), 16, &[256, 256], 2, Device::Cpu).unwrap_err();
        assert!(err.contains("shape"), "{err}");
    }
}
