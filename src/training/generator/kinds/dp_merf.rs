//! Conditional DP-MERF (Harder et al. 2021, arXiv 2002.11603): the windows are read once, to
//! release a noisy sum of random-feature embeddings; the generator is then fitted to that
//! release and never reads the data again.
//!
//! # The release (executor step 0)
//!
//! With φ the fixed random feature map of `models::generators::dp_merf` (‖φ(x)‖ ≤ 1 for
//! every x, drawn from a public seed) and C classes, the statistic is the **sum**
//! S = Σ_units u ∈ R^{C×D}, where the unit contribution u is
//! - window unit: clip(φ(x_i) ⊗ onehot(y_i)) for each window;
//! - subject unit: clip(Σ_{i ∈ subject} φ(x_i) ⊗ onehot(y_i)) for each subject,
//!
//! with clip(v) = v · min(1, 1/‖v‖) (non-finite rows zeroed first). Under add/remove-one
//! adjacency (the adjacency of dpwear's accountants) adding or removing one unit changes S by
//! exactly one u, so the L2 sensitivity is Δ = max ‖u‖ ≤ 1 (for windows the clip is a no-op,
//! since ‖φ ⊗ onehot(y)‖ = ‖φ‖ ≤ 1; it is kept as a guard against rounding and non-finite
//! input). The release is S̃ = S + N(0, σ²·Δ²·I) with Δ = 1, i.e. noise std σ on each of the
//! C·D coordinates, drawn once from the step's `noise` stream: one Gaussian mechanism with
//! q = 1, counted as `private_steps = 1` ([`PrivateUse::OneShotGaussian`]). S̃ is kept in
//! [`GanAlgorithm::state`] (`release.sum`, `release.done`), so a resumed run reads it back and
//! never releases again; step 0 refuses to run twice. Without DP the same sum is used with no
//! noise and no private step is counted.
//!
//! Subject-level DP is affordable here (and only here among dpwear's generators) because the
//! data are touched once: Δ = 1 per subject, one Gaussian. Each subject's summed embedding is
//! scaled to norm ≤ 1, so subjects with more windows are down-weighted; at the default
//! D = 641 features per class and 14 subjects the noise (σ per coordinate against a total
//! signal norm ≤ 14) is large unless ε is large: use fewer features for this unit.
//!
//! # Post-processing of S̃ (everything below reads only S̃)
//!
//! φ's coordinate 0 is the constant √w₀, so S̃[c, 0] / √w₀ = Ñ_c is a noisy mass of class c
//! (its window count, or for the subject unit the clip-weighted count Σ_s f_s n_{s,c}).
//! m_c = max(Ñ_c, 3·σ/√w₀, 10⁻⁶) (σ/√w₀ is the noise std of Ñ_c, public; the floor keeps a
//! class whose noisy mass came out tiny or negative from blowing its target up, and does not
//! act without noise, where Ñ_c is the exact, positive mass). The target mean embedding of
//! class c is μ̃_c = S̃[c] / m_c and the class proportions are p̂_c = m_c / Σ m. The raw counts
//! are never used.
//!
//! Not claimed: the Gaussian draws are floating-point ChaCha20 draws seeded from the run seed
//! (as every dpwear mechanism), so whoever holds the run seed *and* the training state
//! (`release.sum`) can remove the noise; the training state is not a release.
//!
//! # The generator steps (executor steps 1..=steps)
//!
//! Each step draws B = batch_per_class latent vectors per class from the step's `latent`
//! stream and minimises Σ_c p̂_c · MMD²_u(c) with Adam, where
//! MMD²_u(c) = ‖μ̃_c‖² − (2/B) ⟨μ̃_c, Σ_j φ_j⟩ + (‖Σ_j φ_j‖² − Σ_j ‖φ_j‖²) / (B(B−1)),
//! φ_j = φ(G(z_j, c)): the unbiased estimate of ‖μ̃_c − E φ(G(z, c))‖². (The plain
//! ‖μ̃_c − mean_j φ_j‖² of the DP-MERF code adds tr Cov(φ(G))/B, which rewards a generator
//! with less variety; the unbiased form does not. It can be slightly negative.)
//!
//! Overrides: `--steps` sets the generator steps, `--batch-size` the batch per class; there
//! is no epoch (the data are never passed over) and no critic, so `--epochs` and `--d-steps`
//! are refused. There is no reference mode: the reference never had DP-MERF.
//!
//! May depend on: tch, the generator models, the training traits, rng, adam.

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};
use tch::{nn, Device, Kind, Tensor};

use crate::models::generator_spec::{GeneratorKind, GeneratorMode};
use crate::models::generators::dp_merf::{
    clip_rows, FeatureConfig, FeatureMap, MerfGenerator, WINDOW_VALUES,
};
use crate::privacy::accounting::PrivacyUnit;
use crate::training::generator::adam::{Adam, AdamConfig};
use crate::training::generator::algorithm::{
    check_labels, constant_step_labels, DpSettings, Family, GanAlgorithm, Overrides, PrivateUse,
    Sampled, StepReport, WindowSampler,
};
use crate::training::generator::data::{GenData, N_FEATURES, SEQ_LEN};
use crate::training::generator::rng::{label_tensor, normal, StepRng};

/// The message for `--mode reference`.
pub const NO_REFERENCE: &str =
    "dp-merf has no reference mode (the reference never had it); use --mode default";

/// Windows per chunk when the data's features are computed (bounds memory).
const CHUNK: i64 = 512;

/// DP-MERF hyper-parameters (recorded in the model card).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DpMerfHyper {
    pub n_classes: usize,
    /// The random feature map φ (public seed, sizes, scales, norm shares).
    pub features: FeatureConfig,
    /// Latent dimension of the generator.
    pub z_dim: usize,
    /// Hidden sizes of the generator MLP.
    pub hidden: Vec<usize>,
    /// Generator steps (after the one release step).
    pub steps: u64,
    /// Generated windows per class per step.
    pub batch_per_class: usize,
    pub lr: f64,
    pub beta1: f64,
}

impl DpMerfHyper {
    /// dpwear's default DP-MERF for `n_classes` classes.
    pub fn default_for(n_classes: usize) -> Self {
        Self {
            n_classes,
            features: FeatureConfig::default(),
            z_dim: 32,
            hidden: vec![256, 256],
            steps: 2000,
            batch_per_class: 64,
            lr: 1e-3,
            beta1: 0.9,
        }
    }

    /// Checks everything that does not need the data.
    pub fn validate(&self) -> Result<(), String> {
        self.features.validate()?;
        if self.n_classes == 0 || self.n_classes > 255 {
            return Err(format!("n_classes {} must lie in 1..=255", self.n_classes));
        }
        if self.z_dim == 0 {
            return Err("z_dim must be >= 1".into());
        }
        if self.hidden.contains(&0) {
            return Err(format!("hidden sizes {:?} must all be >= 1", self.hidden));
        }
        if self.steps == 0 {
            return Err("dp-merf needs at least 1 generator step (--steps >= 1)".into());
        }
        if self.batch_per_class < 2 {
            return Err(format!(
                "batch per class {} must be >= 2 (the unbiased MMD estimate needs two generated windows per class)",
                self.batch_per_class
            ));
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(format!("lr {} must be finite and > 0", self.lr));
        }
        if !(self.beta1.is_finite() && (0.0..1.0).contains(&self.beta1)) {
            return Err(format!("beta1 {} must lie in [0, 1)", self.beta1));
        }
        Ok(())
    }
}

/// The family for `mode` with `overrides` applied.
pub fn family(
    mode: GeneratorMode,
    n_classes: usize,
    overrides: &Overrides,
) -> Result<Box<dyn Family>, String> {
    if mode == GeneratorMode::Reference {
        return Err(NO_REFERENCE.into());
    }
    if overrides.epochs.is_some() {
        return Err(
            "dp-merf has no epochs: its generator never passes over the windows (it reads them once, for the release); set the generator steps with --steps"
                .into(),
        );
    }
    if overrides.d_steps.is_some() {
        return Err("dp-merf has no critic, so --d-steps does not apply".into());
    }
    let mut hyper = DpMerfHyper::default_for(n_classes);
    if let Some(s) = overrides.steps {
        hyper.steps = s;
    }
    if let Some(b) = overrides.batch_size {
        hyper.batch_per_class = b;
    }
    hyper.validate()?;
    Ok(Box::new(DpMerfFamily { hyper }))
}

/// The family from a model card's recorded hyper-parameters.
pub fn from_hyper(hyper: &serde_json::Value) -> Result<Box<dyn Family>, String> {
    let hyper: DpMerfHyper = serde_json::from_value(hyper.clone())
        .map_err(|e| format!("dp-merf hyper-parameters: {e}"))?;
    hyper.validate()?;
    Ok(Box::new(DpMerfFamily { hyper }))
}

/// Conditional DP-MERF with fixed hyper-parameters.
#[derive(Clone, Debug)]
pub struct DpMerfFamily {
    pub hyper: DpMerfHyper,
}

impl Family for DpMerfFamily {
    fn kind(&self) -> GeneratorKind {
        GeneratorKind::DpMerf
    }

    fn hyper_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.hyper).unwrap_or(serde_json::Value::Null)
    }

    fn validate(&self, data: &GenData) -> Result<(), String> {
        self.hyper.validate()?;
        if data.n_classes != self.hyper.n_classes {
            return Err(format!(
                "the data have {} classes but the generator was configured for {}",
                data.n_classes, self.hyper.n_classes
            ));
        }
        if data.x.size() != [data.len() as i64, SEQ_LEN, N_FEATURES] {
            return Err(format!(
                "windows have shape {:?}, expected (N, {SEQ_LEN}, {N_FEATURES})",
                data.x.size()
            ));
        }
        Ok(())
    }

    fn private_use(&self, _data: &GenData, _unit: PrivacyUnit) -> PrivateUse {
        PrivateUse::OneShotGaussian
    }

    fn fake_batch(&self, _expected_batch: f64) -> usize {
        0
    }

    fn notes(&self) -> Vec<String> {
        vec![
            "DP-MERF reads the windows once: it releases S = sum over units of phi(x) (x) onehot(y) (phi: fixed random Fourier + ROCKET-style convolution features from a public seed, ||phi|| <= 1 for every input) plus N(0, sigma^2) per coordinate (add/remove sensitivity 1); the generator is fitted to that release only".into(),
            "subject unit: each subject's summed embedding is clipped to norm 1 before the sum (sensitivity 1 per subject); subjects with more windows weigh less".into(),
            "class masses and proportions come from the release's constant coordinate (noisy), never from the raw counts".into(),
            "--clip-norm does not apply: every contribution is bounded by ||phi|| <= 1 (windows) or clipped to norm 1 (subjects), so the sensitivity is 1 and the noise std is sigma".into(),
            "no reference mode: the reference never had DP-MERF".into(),
        ]
    }

    fn build(
        &self,
        data: &GenData,
        dp: Option<DpSettings>,
        device: Device,
    ) -> Result<Box<dyn GanAlgorithm>, String> {
        self.validate(data)?;
        if let Some(dp) = &dp {
            if !(dp.sigma.is_finite() && dp.sigma >= 0.0) {
                return Err(format!("sigma {} must be finite and >= 0", dp.sigma));
            }
        }
        Ok(Box::new(DpMerfAlgorithm::new(
            self.hyper.clone(),
            dp,
            device,
        )?))
    }

    fn sampler(
        &self,
        tensors: &[(String, Tensor)],
        device: Device,
    ) -> Result<Box<dyn WindowSampler>, String> {
        Ok(Box::new(DpMerfSampler::new(&self.hyper, tensors, device)?))
    }
}

/// The noiseless sum S (C, D) float64 of the units' contributions (see the module
/// docs): `subject_unit` groups windows by `data.subject_of` and clips each subject's sum.
pub fn embedding_sum(features: &FeatureMap, data: &GenData, subject_unit: bool) -> Tensor {
    let device = data.x.device();
    let n = data.len() as i64;
    let c = data.n_classes as i64;
    let d = features.dim() as i64;
    let labels = label_tensor(&data.labels, device);
    // Per-window contributions φ(x_i) ⊗ onehot(y_i), flattened to (N, C·D), in float64.
    let mut rows = Vec::new();
    for start in (0..n).step_by(CHUNK as usize) {
        let len = CHUNK.min(n - start);
        let x = data.x.narrow(0, start, len).to_kind(Kind::Double);
        let phi = tch::no_grad(|| features.phi(&x)); // (len, D)
        let onehot = labels
            .narrow(0, start, len)
            .one_hot(c)
            .to_kind(Kind::Double);
        rows.push((onehot.unsqueeze(2) * phi.unsqueeze(1)).view([len, c * d]));
    }
    let rows = Tensor::cat(&rows, 0);
    let sum = if subject_unit {
        let n_subjects = data.subject_of.iter().copied().max().map_or(0, |m| m + 1);
        let mut per_subject = Vec::with_capacity(n_subjects);
        for s in 0..n_subjects {
            let idx: Vec<i64> = (0..data.len())
                .filter(|&i| data.subject_of[i] == s)
                .map(|i| i as i64)
                .collect();
            if idx.is_empty() {
                continue;
            }
            let it = Tensor::from_slice(&idx).to_device(device);
            let u = clip_rows(&rows.index_select(0, &it)).sum_dim_intlist(
                [0i64].as_slice(),
                true,
                Kind::Double,
            );
            per_subject.push(u);
        }
        clip_rows(&Tensor::cat(&per_subject, 0)).sum_dim_intlist(
            [0i64].as_slice(),
            false,
            Kind::Double,
        )
    } else {
        clip_rows(&rows).sum_dim_intlist([0i64].as_slice(), false, Kind::Double)
    };
    sum.view([c, d])
}

/// Class masses m_c = max(Ñ_c, 3·noise_std/√w₀, 10⁻⁶) with Ñ_c = S̃[c, 0] / √w₀ and √w₀ =
/// `constant` (post-processing of the release; `noise_std` is the release's public σ).
pub fn class_masses(release_sum: &Tensor, constant: f64, noise_std: f64) -> Vec<f64> {
    let floor = (3.0 * noise_std / constant).max(1e-6);
    let col = release_sum
        .select(1, 0)
        .to_kind(Kind::Double)
        .to_device(Device::Cpu);
    Vec::<f64>::try_from(col)
        .unwrap_or_default()
        .into_iter()
        .map(|v| (v / constant).max(floor))
        .collect()
}

/// The class proportions p̂ derived from a release (post-processing; never the raw counts).
pub fn class_prior(release_sum: &Tensor, constant: f64, noise_std: f64) -> Vec<f64> {
    let m = class_masses(release_sum, constant, noise_std);
    let total: f64 = m.iter().sum();
    m.into_iter().map(|v| v / total).collect()
}

/// `n` float64 N(0, 1) draws.
fn normal_f64(shape: &[i64], rng: &mut ChaCha20Rng, device: Device) -> Tensor {
    let n: i64 = shape.iter().product();
    let v: Vec<f64> = (0..n)
        .map(|_| {
            let x: f64 = StandardNormal.sample(rng);
            x
        })
        .collect();
    Tensor::from_slice(&v).view(shape).to_device(device)
}

/// The DP-MERF training: step 0 releases, steps 1..=steps fit the generator.
pub struct DpMerfAlgorithm {
    hyper: DpMerfHyper,
    features: FeatureMap,
    _vs: nn::VarStore,
    gen: MerfGenerator,
    adam: Adam,
    dp: Option<DpSettings>,
    /// S̃ (C, D) float64 (zeros before the release).
    release_sum: Tensor,
    released: bool,
    /// Noise std used by the release (0 without DP).
    noise_std: f64,
    device: Device,
}

impl DpMerfAlgorithm {
    /// Builds the feature map (public seed) and the generator (libtorch's global RNG).
    pub fn new(hyper: DpMerfHyper, dp: Option<DpSettings>, device: Device) -> Result<Self, String> {
        hyper.validate()?;
        let features = FeatureMap::new(&hyper.features, device)?;
        let vs = nn::VarStore::new(device);
        let gen = MerfGenerator::new(vs.root(), hyper.z_dim, &hyper.hidden, hyper.n_classes);
        let adam = Adam::new(gen.parameters(), AdamConfig::new(hyper.lr, hyper.beta1));
        let release_sum = Tensor::zeros(
            [hyper.n_classes as i64, features.dim() as i64],
            (Kind::Double, device),
        );
        Ok(Self {
            hyper,
            features,
            _vs: vs,
            gen,
            adam,
            dp,
            release_sum,
            released: false,
            noise_std: 0.0,
            device,
        })
    }

    /// The class proportions of the release (empty before it).
    pub fn class_prior(&self) -> Vec<f64> {
        if !self.released {
            return Vec::new();
        }
        class_prior(&self.release_sum, self.features.constant(), self.noise_std)
    }

    fn release(&mut self, data: &GenData, rng: &mut StepRng) -> Result<StepReport, String> {
        if self.released {
            return Err(
                "the embedding was already released (the training state says so); refusing to release it twice"
                    .into(),
            );
        }
        let subject_unit = matches!(self.dp.as_ref().map(|d| d.unit), Some(PrivacyUnit::Subject));
        let sum = embedding_sum(&self.features, data, subject_unit).to_device(self.device);
        let (release, private_steps) = match &self.dp {
            Some(dp) => {
                // Δ = 1 (add/remove one unit), so the noise std is σ · Δ = σ.
                self.noise_std = dp.sigma;
                let noise = normal_f64(&sum.size(), &mut rng.noise, self.device);
                (sum + noise * dp.sigma, 1)
            }
            None => {
                self.noise_std = 0.0;
                (sum, 0)
            }
        };
        self.release_sum = release;
        self.released = true;
        let masses = class_masses(&self.release_sum, self.features.constant(), self.noise_std);
        tracing::info!(
            ?masses,
            noise_std = self.noise_std,
            "dp-merf: embedding released (class masses from the release)"
        );
        Ok(StepReport {
            losses: Vec::new(),
            private_steps,
            empty_batches: 0,
            clipped_fraction_sum: 0.0,
        })
    }

    /// Targets μ̃ (C, D) float32 and weights p̂ (C,) float32 from the release.
    fn targets(&self) -> (Tensor, Tensor) {
        let masses = class_masses(&self.release_sum, self.features.constant(), self.noise_std);
        let total: f64 = masses.iter().sum();
        let m = Tensor::from_slice(&masses)
            .to_device(self.device)
            .unsqueeze(1);
        let mu = (&self.release_sum / m).to_kind(Kind::Float);
        let p: Vec<f32> = masses.iter().map(|v| (v / total) as f32).collect();
        (mu, Tensor::from_slice(&p).to_device(self.device))
    }

    /// The weighted unbiased MMD² (scalar) of generated windows `x` (C·B, 60, 6), class-major.
    fn loss(&self, x: &Tensor, mu: &Tensor, p: &Tensor) -> Tensor {
        let c = self.hyper.n_classes as i64;
        let b = self.hyper.batch_per_class as i64;
        let phi = self.features.phi(x).view([c, b, -1]); // (C, B, D)
        let s = phi.sum_dim_intlist([1i64].as_slice(), false, Kind::Float); // (C, D)
        let self_sq = phi
            .square()
            .sum_dim_intlist([1i64, 2].as_slice(), false, Kind::Float); // (C,)
        let cross = (s
            .square()
            .sum_dim_intlist([1i64].as_slice(), false, Kind::Float)
            - self_sq)
            / (b * (b - 1)) as f64;
        let mu_s =
            (mu * &s).sum_dim_intlist([1i64].as_slice(), false, Kind::Float) * (2.0 / b as f64);
        let mu_sq = mu
            .square()
            .sum_dim_intlist([1i64].as_slice(), false, Kind::Float);
        ((cross - mu_s + mu_sq) * p).sum(Kind::Float)
    }

    /// Latent vectors and class-major labels for one generator step.
    fn latent_batch(&self, rng: &mut ChaCha20Rng) -> (Tensor, Tensor) {
        let c = self.hyper.n_classes;
        let b = self.hyper.batch_per_class;
        let z = normal(&[(c * b) as i64, self.hyper.z_dim as i64], rng, self.device);
        let labels: Vec<u8> = (0..c)
            .flat_map(|k| std::iter::repeat_n(k as u8, b))
            .collect();
        (z, label_tensor(&labels, self.device))
    }

    /// The loss on a fixed latent batch drawn from `seed`, without a gradient (tests,
    /// diagnostics).
    pub fn evaluate(&self, seed: u64) -> Result<f64, String> {
        if !self.released {
            return Err("nothing released yet".into());
        }
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let (z, y) = self.latent_batch(&mut rng);
        let (mu, p) = self.targets();
        Ok(tch::no_grad(|| self.loss(&self.gen.forward(&z, &y), &mu, &p)).double_value(&[]))
    }

    fn generator_step(&mut self, rng: &mut StepRng) -> Result<StepReport, String> {
        let (z, y) = self.latent_batch(&mut rng.latent);
        let (mu, p) = self.targets();
        self.adam.zero_grad();
        let loss = self.loss(&self.gen.forward(&z, &y), &mu, &p);
        let value = loss.double_value(&[]);
        if !value.is_finite() {
            return Err(format!("the MMD loss is not finite ({value})"));
        }
        loss.backward();
        self.adam.step();
        Ok(StepReport {
            losses: vec![("mmd", value)],
            private_steps: 0,
            empty_batches: 0,
            clipped_fraction_sum: 0.0,
        })
    }
}

impl GanAlgorithm for DpMerfAlgorithm {
    fn kind(&self) -> GeneratorKind {
        GeneratorKind::DpMerf
    }

    fn total_steps(&self) -> u64 {
        1 + self.hyper.steps
    }

    fn step(&mut self, step: u64, data: &GenData, rng: &mut StepRng) -> Result<StepReport, String> {
        if step == 0 {
            return self.release(data, rng);
        }
        if step > self.hyper.steps {
            return Err(format!(
                "step {step} is beyond the schedule (1 release + {} generator steps)",
                self.hyper.steps
            ));
        }
        if !self.released {
            return Err(
                "generator step before the release: the training state has no released embedding"
                    .into(),
            );
        }
        self.generator_step(rng)
    }

    fn state(&self) -> Vec<(String, Tensor)> {
        let mut out: Vec<(String, Tensor)> = self
            .gen
            .named()
            .into_iter()
            .map(|(n, t)| (format!("g.{n}"), t))
            .collect();
        out.extend(self.adam.state("adam"));
        out.push(("release.sum".into(), self.release_sum.shallow_clone()));
        out.push((
            "release.done".into(),
            Tensor::from_slice(&[self.released as i64]),
        ));
        out.push((
            "release.noise_std".into(),
            Tensor::from_slice(&[self.noise_std]),
        ));
        out
    }

    fn load_state(&mut self, named: &[(String, Tensor)]) -> Result<(), String> {
        let find = |name: &str| {
            named
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, t)| t)
                .ok_or_else(|| format!("training state `{name}` missing"))
        };
        for (n, dst) in self.gen.named() {
            let src = find(&format!("g.{n}"))?;
            if src.size() != dst.size() {
                return Err(format!(
                    "training state `g.{n}` has shape {:?}, expected {:?}",
                    src.size(),
                    dst.size()
                ));
            }
            let mut dst = dst;
            tch::no_grad(|| dst.copy_(src));
        }
        self.adam.load_state("adam", named)?;
        let sum = find("release.sum")?;
        if sum.size() != self.release_sum.size() {
            return Err(format!(
                "training state `release.sum` has shape {:?}, expected {:?} (other features?)",
                sum.size(),
                self.release_sum.size()
            ));
        }
        self.release_sum = sum.to_kind(Kind::Double).to_device(self.device).copy();
        self.released = find("release.done")?.int64_value(&[0]) != 0;
        self.noise_std = find("release.noise_std")?.double_value(&[0]);
        Ok(())
    }

    fn generator_tensors(&self) -> Vec<(String, Tensor)> {
        self.gen.named()
    }
}

/// Draws windows from a trained DP-MERF generator.
pub struct DpMerfSampler {
    gen: MerfGenerator,
    device: Device,
}

impl DpMerfSampler {
    pub fn new(
        hyper: &DpMerfHyper,
        tensors: &[(String, Tensor)],
        device: Device,
    ) -> Result<Self, String> {
        let gen = MerfGenerator::from_named(
            tensors,
            hyper.z_dim,
            &hyper.hidden,
            hyper.n_classes,
            device,
        )?;
        Ok(Self { gen, device })
    }
}

impl WindowSampler for DpMerfSampler {
    fn conditional(&self) -> bool {
        true
    }

    fn sample(&self, labels: &[u8], rng: &mut ChaCha20Rng) -> Result<Sampled, String> {
        check_labels(labels, self.gen.n_classes as usize, "DP-MERF generator")?;
        let n = labels.len() as i64;
        let z = normal(&[n, self.gen.z_dim], rng, self.device);
        let y = label_tensor(labels, self.device);
        let windows = tch::no_grad(|| self.gen.forward(&z, &y));
        let step_labels = constant_step_labels(labels, self.device);
        debug_assert_eq!(WINDOW_VALUES, SEQ_LEN * N_FEATURES);
        Ok(Sampled {
            windows,
            step_labels,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::simulator::{simulate, SimulatorConfig};
    use crate::features::windows::WindowScheme;

    fn sim() -> GenData {
        let ds = simulate(&SimulatorConfig {
            subjects: 3,
            ..Default::default()
        })
        .expect("simulate");
        GenData::from_dataset(&ds, WindowScheme::NonOverlapping, &[], Device::Cpu).expect("data")
    }

    fn tiny_features() -> FeatureConfig {
        FeatureConfig {
            rff_frequencies: 32,
            conv_kernels: 8,
            ..FeatureConfig::default()
        }
    }

    fn tiny(n_classes: usize) -> DpMerfHyper {
        DpMerfHyper {
            features: tiny_features(),
            z_dim: 8,
            hidden: vec![32],
            steps: 6,
            batch_per_class: 8,
            lr: 3e-3,
            ..DpMerfHyper::default_for(n_classes)
        }
    }

    fn dp(sigma: f64, unit: PrivacyUnit) -> DpSettings {
        DpSettings {
            sigma,
            clip_norm: 1.0,
            sample_rate: 1.0,
            expected_batch: 1.0,
            fake_batch: 0,
            unit,
        }
    }

    /// The windows of `data` at `keep` (subject indices unchanged).
    fn subset(data: &GenData, keep: &[usize]) -> GenData {
        let (x, _, step_labels) = data.gather(keep);
        GenData {
            x,
            labels: keep.iter().map(|&i| data.labels[i]).collect(),
            step_labels,
            subject_of: keep.iter().map(|&i| data.subject_of[i]).collect(),
            subject_ids: data.subject_ids.clone(),
            n_classes: data.n_classes,
            label_map: data.label_map,
            scheme: data.scheme,
            sliding_window_count: data.sliding_window_count,
        }
    }

    fn diff_norm(a: &Tensor, b: &Tensor) -> f64 {
        (a - b).square().sum(Kind::Double).sqrt().double_value(&[])
    }

    #[test]
    fn family_modes_overrides_and_hyper_round_trip() {
        let err = family(GeneratorMode::Reference, 2, &Overrides::default())
            .err()
            .unwrap();
        assert_eq!(err, NO_REFERENCE);
        let err = family(
            GeneratorMode::Default,
            2,
            &Overrides {
                epochs: Some(3),
                ..Default::default()
            },
        )
        .err()
        .unwrap();
        assert!(err.contains("no epochs"), "{err}");
        let err = family(
            GeneratorMode::Default,
            2,
            &Overrides {
                batch_size: Some(1),
                ..Default::default()
            },
        )
        .err()
        .unwrap();
        assert!(err.contains(">= 2"), "{err}");
        let f = family(
            GeneratorMode::Default,
            2,
            &Overrides {
                steps: Some(17),
                batch_size: Some(5),
                ..Default::default()
            },
        )
        .unwrap();
        let h: DpMerfHyper = serde_json::from_value(f.hyper_json()).unwrap();
        assert_eq!((h.steps, h.batch_per_class), (17, 5));
        let g = from_hyper(&f.hyper_json()).unwrap();
        assert_eq!(g.hyper_json(), f.hyper_json());
        let data = sim();
        assert_eq!(
            f.private_use(&data, PrivacyUnit::Subject),
            PrivateUse::OneShotGaussian
        );
        let algo = f.build(&data, None, Device::Cpu).unwrap();
        assert_eq!(algo.total_steps(), 18);
        assert!(from_hyper(&serde_json::json!({"n_classes": 2})).is_err());
    }

    #[test]
    fn window_sensitivity_is_at_most_one() {
        let data = sim();
        let fm = FeatureMap::new(&tiny_features(), Device::Cpu).unwrap();
        let full = embedding_sum(&fm, &data, false);
        // Random data too: uniform and wide Gaussian windows.
        let mut random = subset(&data, &(0..data.len()).collect::<Vec<_>>());
        random.x = Tensor::randn([data.len() as i64, 60, 6], (Kind::Float, Device::Cpu)) * 10.0;
        let full_random = embedding_sum(&fm, &random, false);
        let n = data.len();
        for drop in [0, n / 3, n / 2, n - 1] {
            let keep: Vec<usize> = (0..n).filter(|&i| i != drop).collect();
            for (d, f) in [(&data, &full), (&random, &full_random)] {
                let delta = diff_norm(f, &embedding_sum(&fm, &subset(d, &keep), false));
                assert!(delta <= 1.0 + 1e-9, "{delta}");
                assert!(delta >= 0.7f64.sqrt() - 1e-9, "{delta}");
            }
        }
        // With Fourier features only, ||phi|| = 1 exactly: the bound is attained.
        let rff_only = FeatureMap::new(
            &FeatureConfig {
                conv_kernels: 0,
                conv_weight: 0.0,
                rff_weight: 0.9,
                ..tiny_features()
            },
            Device::Cpu,
        )
        .unwrap();
        let keep: Vec<usize> = (1..n).collect();
        let delta = diff_norm(
            &embedding_sum(&rff_only, &data, false),
            &embedding_sum(&rff_only, &subset(&data, &keep), false),
        );
        assert!((delta - 1.0).abs() < 1e-9, "{delta}");
    }

    #[test]
    fn subject_sensitivity_is_one() {
        let data = sim();
        let fm = FeatureMap::new(&tiny_features(), Device::Cpu).unwrap();
        let full = embedding_sum(&fm, &data, true);
        for s in 0..data.subject_ids.len() {
            let keep: Vec<usize> = (0..data.len())
                .filter(|&i| data.subject_of[i] != s)
                .collect();
            let delta = diff_norm(&full, &embedding_sum(&fm, &subset(&data, &keep), true));
            // Every subject has many windows, so its summed embedding is clipped to norm 1.
            assert!((delta - 1.0).abs() <= 1e-9, "{delta}");
        }
        assert_eq!(full.size(), vec![2, fm.dim() as i64]);
        // A subject with a single window contributes that window's (norm <= 1) embedding.
        let first = (0..data.len()).find(|&i| data.subject_of[i] == 0).unwrap();
        let keep: Vec<usize> = (0..data.len())
            .filter(|&i| data.subject_of[i] != 0 || i == first)
            .collect();
        let without: Vec<usize> = keep.iter().copied().filter(|&i| i != first).collect();
        let delta = diff_norm(
            &embedding_sum(&fm, &subset(&data, &keep), true),
            &embedding_sum(&fm, &subset(&data, &without), true),
        );
        assert!(delta <= 1.0 + 1e-9, "{delta}");
        assert!(delta >= 0.7f64.sqrt() - 1e-9, "{delta}");
    }

    #[test]
    fn release_noise_has_std_sigma_is_seeded_and_counted_once() {
        let data = sim();
        let hyper = DpMerfHyper {
            features: FeatureConfig {
                rff_frequencies: 256,
                ..tiny_features()
            },
            ..tiny(2)
        };
        let sigma = 2.5;
        let run = |seed: u64| {
            tch::manual_seed(0);
            let mut a = DpMerfAlgorithm::new(
                hyper.clone(),
                Some(dp(sigma, PrivacyUnit::Window)),
                Device::Cpu,
            )
            .unwrap();
            let r = a.step(0, &data, &mut StepRng::new(seed, 0)).unwrap();
            assert_eq!(r.private_steps, 1);
            a
        };
        let a = run(11);
        let exact = embedding_sum(&a.features, &data, false);
        let noise = &a.release_sum - &exact;
        let n = noise.numel() as f64;
        let mean = noise.sum(Kind::Double).double_value(&[]) / n;
        let std = noise.square().sum(Kind::Double).double_value(&[]).sqrt() / n.sqrt();
        assert!(n > 1000.0);
        assert!((std / sigma - 1.0).abs() < 0.08, "std {std}");
        assert!(mean.abs() < 0.25, "mean {mean}");
        assert!(run(11).release_sum.equal(&a.release_sum));
        assert!(!run(12).release_sum.equal(&a.release_sum));
        let prior = a.class_prior();
        assert!((prior.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        // Non-private: no noise, no private step, exact class proportions.
        let mut b = DpMerfAlgorithm::new(hyper.clone(), None, Device::Cpu).unwrap();
        assert_eq!(
            b.step(0, &data, &mut StepRng::new(11, 0))
                .unwrap()
                .private_steps,
            0
        );
        assert!(b.release_sum.equal(&exact));
        let counts = data.class_counts();
        let total: usize = counts.iter().sum();
        for (p, c) in b.class_prior().iter().zip(counts) {
            assert!((p - c as f64 / total as f64).abs() < 1e-9);
        }
        // The release happens once.
        let err = b.step(0, &data, &mut StepRng::new(11, 0)).unwrap_err();
        assert!(err.contains("twice"), "{err}");
    }

    #[test]
    fn class_masses_come_from_the_constant_coordinate_with_a_noise_floor() {
        let c = 0.1f64.sqrt();
        let s = Tensor::from_slice(&[30.0 * c, 0.5, -2.0 * c, 0.1]).view([2, 2]);
        assert_eq!(class_masses(&s, c, 0.0), vec![30.0, 1e-6]);
        let m = class_masses(&s, c, 1.0);
        assert!(
            (m[0] - 30.0).abs() < 1e-9 && (m[1] - 3.0 / c).abs() < 1e-9,
            "{m:?}"
        );
        let p = class_prior(&s, c, 1.0);
        assert!((p[0] - 30.0 / (30.0 + 3.0 / c)).abs() < 1e-12);
    }

    #[test]
    fn subject_unit_release_is_private_and_noised() {
        let data = sim();
        let mut a = DpMerfAlgorithm::new(tiny(2), Some(dp(1.0, PrivacyUnit::Subject)), Device::Cpu)
            .unwrap();
        let r = a.step(0, &data, &mut StepRng::new(3, 0)).unwrap();
        assert_eq!(r.private_steps, 1);
        let exact = embedding_sum(&a.features, &data, true);
        assert!(!a.release_sum.equal(&exact));
        assert!(diff_norm(&a.release_sum, &exact) > 1.0);
    }

    #[test]
    fn resume_is_bitwise_and_never_releases_again() {
        let data = sim();
        let settings = Some(dp(1.0, PrivacyUnit::Window));
        let seed = 42;
        let hyper = tiny(2);
        // Both runs start from the same weights by loading one initial state (libtorch's
        // global generator is shared with concurrently running tests, so re-seeding it would
        // not give the same initialisation).
        let mut a = DpMerfAlgorithm::new(hyper.clone(), settings.clone(), Device::Cpu).unwrap();
        let init: Vec<(String, Tensor)> =
            a.state().into_iter().map(|(n, t)| (n, t.copy())).collect();
        let mut private_a = 0;
        for k in 0..=6 {
            private_a += a
                .step(k, &data, &mut StepRng::new(seed, k))
                .unwrap()
                .private_steps;
        }
        let mut b = DpMerfAlgorithm::new(hyper.clone(), settings.clone(), Device::Cpu).unwrap();
        b.load_state(&init).unwrap();
        let mut private_b = 0;
        for k in 0..=3 {
            private_b += b
                .step(k, &data, &mut StepRng::new(seed, k))
                .unwrap()
                .private_steps;
        }
        let saved: Vec<(String, Tensor)> =
            b.state().into_iter().map(|(n, t)| (n, t.copy())).collect();
        tch::manual_seed(99);
        let mut c = DpMerfAlgorithm::new(hyper, settings, Device::Cpu).unwrap();
        c.load_state(&saved).unwrap();
        assert!(c.step(0, &data, &mut StepRng::new(seed, 0)).is_err());
        for k in 4..=6 {
            private_b += c
                .step(k, &data, &mut StepRng::new(seed, k))
                .unwrap()
                .private_steps;
        }
        assert_eq!((private_a, private_b), (1, 1));
        let sa = a.state();
        let sc = c.state();
        assert_eq!(sa.len(), sc.len());
        for ((na, ta), (nc, tc)) in sa.iter().zip(&sc) {
            assert_eq!(na, nc);
            assert!(ta.equal(tc), "{na} differs after resume");
        }
        // A generator step without a release is refused.
        let mut d = DpMerfAlgorithm::new(tiny(2), None, Device::Cpu).unwrap();
        assert!(d.step(1, &data, &mut StepRng::new(seed, 1)).is_err());
    }

    #[test]
    fn tiny_training_reduces_the_mmd_loss() {
        let data = sim();
        tch::manual_seed(5);
        let hyper = DpMerfHyper {
            steps: 150,
            batch_per_class: 16,
            ..tiny(2)
        };
        let mut a = DpMerfAlgorithm::new(hyper, None, Device::Cpu).unwrap();
        a.step(0, &data, &mut StepRng::new(9, 0)).unwrap();
        let before = a.evaluate(1234).unwrap();
        for k in 1..=150 {
            let r = a.step(k, &data, &mut StepRng::new(9, k)).unwrap();
            assert!(r.losses[0].1.is_finite());
            assert_eq!(r.private_steps, 0);
        }
        let after = a.evaluate(1234).unwrap();
        assert!(after < 0.5 * before, "before {before}, after {after}");
    }

    #[test]
    fn sampler_shapes_labels_and_range() {
        let data = sim();
        let f = DpMerfFamily { hyper: tiny(2) };
        let mut a = f.build(&data, None, Device::Cpu).unwrap();
        a.step(0, &data, &mut StepRng::new(1, 0)).unwrap();
        a.step(1, &data, &mut StepRng::new(1, 1)).unwrap();
        let s = f.sampler(&a.generator_tensors(), Device::Cpu).unwrap();
        assert!(s.conditional());
        let labels = [0u8, 1, 1, 0, 1];
        let mut rng = ChaCha20Rng::seed_from_u64(8);
        let out = s.sample(&labels, &mut rng).unwrap();
        assert_eq!(out.windows.size(), vec![5, 60, 6]);
        assert_eq!(out.step_labels.size(), vec![5, 60]);
        assert_eq!(out.step_labels.kind(), Kind::Int64);
        for (i, &l) in labels.iter().enumerate() {
            let row = Vec::<i64>::try_from(out.step_labels.get(i as i64)).unwrap();
            assert!(row.iter().all(|&v| v == l as i64));
        }
        let lo = out.windows.min().double_value(&[]);
        let hi = out.windows.max().double_value(&[]);
        assert!(lo >= 0.0 && hi <= 1.0);
        let again = s
            .sample(&labels, &mut ChaCha20Rng::seed_from_u64(8))
            .unwrap();
        assert!(again.windows.equal(&out.windows));
        assert!(s.sample(&[2], &mut rng).is_err());
        let empty = s.sample(&[], &mut rng).unwrap();
        assert_eq!(empty.windows.size(), vec![0, 60, 6]);
    }
}
