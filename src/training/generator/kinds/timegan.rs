//! TimeGAN as the reference trains it (spec §3.3, §9.5 item 16): one unconditional TimeGAN
//! per class, each trained on that class's windows in three phases, and a conditional
//! sampler that draws window i from the model of `labels[i]`. NON-PRIVATE ONLY.
//!
//! Phases of one class model (E embedder, R recovery, G generator, S supervisor,
//! D discriminator; networks in `models::generators::timegan`):
//! 1. embedding: E, R minimise `10·√MSE(X, R(E(X)))`;
//! 2. supervised: `MSE(H[:,1:], S(H)[:,:-1])` with H = E(X) — over S only (reference) or over
//!    G and S (default, the original's variable list; the loss does not depend on G, so G
//!    receives no gradient and only S moves in both modes);
//! 3. joint, per iteration: twice { G step on G+S with
//!    `BCE(1,D(S(G(Z)))) + γ·BCE(1,D(G(Z))) + 100·√MSE_sup + 100·(V1+V2)`; E step on E+R
//!    with `10·√MSE_rec + 0.1·MSE_sup` on the same real batch }, then a D step on
//!    `BCE(1,D(H)) + BCE(0,D(S(G(Z)))) + γ·BCE(0,D(G(Z)))`, taken only if that loss exceeds
//!    the gate (0.15).
//!
//! V1 = mean|√(Var_b(X̂)+1e-6) − √(Var_b(X)+1e-6)|, V2 = mean|Mean_b(X̂) − Mean_b(X)|, moments
//! over the batch per (time, feature), X̂ = R(S(G(Z))). BCEs take logits and average over
//! batch and time. Z ~ U[0,1)^(T×z) from the step's latent stream; a batch is a random subset
//! of min(batch, class windows) of the class's windows (without replacement) from the step's
//! batch stream.
//!
//! Executor steps: one step = one iteration of one phase of one class model, in the order
//! class 0 (embedding, supervised, joint), class 1, ...; [`Schedule::locate`] maps a step
//! index to (class, phase, iteration) as a pure function, so a resume can start mid-phase.
//!
//! Optimisers: [`KerasAdam`], TensorFlow's Adam (ε̂ form: `p −= lr·√(1−β2ᵗ)/(1−β1ᵗ)·m/(√v+ε)`),
//! updating only the variables of the call that have a gradient (TF drops `None` gradients).
//! Reference mode: ONE instance over all five networks, so every update of any network
//! advances the one iteration counter used for bias correction, while moments are per
//! variable and only the updated variables' moments change (a shared Keras Adam). Default
//! mode: one instance per solver of the original TimeGAN (E0, GS, G, E, D). The project's
//! `adam::Adam` is not used: it updates every parameter it holds (an absent gradient counts as
//! zero, so momentum would keep moving networks that a call does not train) and uses
//! PyTorch's ε placement.
//!
//! Privacy: none. Every network reads real data and the D update is gated on a loss over
//! real data; [`Family::private_use`] says so and `build` refuses a DP setting.
//!
//! May depend on: tch, rand, serde, the TimeGAN networks, the generator training traits.

use std::collections::HashMap;
use std::ops::Range;

use serde::{Deserialize, Serialize};
use tch::{nn, Device, Kind, Reduction, Tensor};

use crate::models::generator_spec::{GeneratorKind, GeneratorMode};
use crate::models::generators::timegan::{TimeganDims, TimeganNets, TimeganSampler, NET_NAMES};
use crate::privacy::accounting::PrivacyUnit;
use crate::training::generator::algorithm::{
    check_labels, constant_step_labels, DpSettings, Family, GanAlgorithm, Overrides, PrivateUse,
    Sampled, StepReport, WindowSampler,
};
use crate::training::generator::data::{GenData, SEQ_LEN};
use crate::training::generator::rng::{self, StepRng};

/// The reference's schedule: embedding, supervised and joint iterations per class model.
pub const REFERENCE_EMBEDDING_ITERATIONS: u64 = 2000;
pub const REFERENCE_SUPERVISED_ITERATIONS: u64 = 1000;
pub const REFERENCE_JOINT_ITERATIONS: u64 = 6000;
pub const REFERENCE_BATCH: usize = 128;
/// The D update is taken only when the D loss exceeds this (reference and original).
pub const D_LOSS_GATE: f64 = 0.15;

/// Why TimeGAN cannot be trained with a finite ε here (shown by the privacy planner after
/// "a finite epsilon cannot be honoured for timegan: ").
pub const NOT_PRIVATE_REASON: &str = "all five TimeGAN networks read the real windows: the \
    embedder and recovery reconstruct X, the supervisor is trained on H = E(X), the \
    generator's moment loss (V1, V2) matches the real batch's mean and variance, and the \
    discriminator sees H = E(X); the discriminator update is also gated on its own loss over \
    real data (> 0.15). Making every one of these updates DP-SGD and composing all three \
    phases is not implemented, so train timegan non-private (no epsilon), or use cgan or \
    dp-merf for a private generator";

/// Hyper-parameters of a TimeGAN family (recorded in the model card).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeganHyper {
    pub mode: GeneratorMode,
    /// Class models (one unconditional TimeGAN per class).
    pub n_classes: usize,
    pub dims: TimeganDims,
    /// Windows per batch (capped at the class's windows, as the reference's
    /// `permutation(n)[:batch]`).
    pub batch_size: usize,
    pub embedding_iterations: u64,
    pub supervised_iterations: u64,
    pub joint_iterations: u64,
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    /// Weight γ of the unsupervised losses on G(Z) (1).
    pub gamma: f64,
    /// Weight of the supervised loss in the joint E step (0.1).
    pub e_supervised_weight: f64,
    /// D step only if the D loss exceeds this; `None` always steps.
    pub d_loss_gate: Option<f64>,
    /// One Adam over all networks (reference) instead of one per solver.
    pub shared_optimizer: bool,
    /// The supervised phase's variable list holds G as well as S (the original).
    pub supervised_updates_generator: bool,
}

impl TimeganHyper {
    /// The mode's hyper-parameters with `overrides` applied. `--steps N` sets the joint
    /// iterations; the embedding and supervised iterations keep the mode's ratio to them,
    /// rounded up (N = 6 → 2 embedding, 1 supervised, 6 joint).
    pub fn new(mode: GeneratorMode, n_classes: usize, o: &Overrides) -> Result<Self, String> {
        if o.epochs.is_some() {
            return Err(
                "timegan trains by iterations, not epochs: use --steps (joint \
                        iterations per class model) instead of --epochs"
                    .into(),
            );
        }
        if o.d_steps.is_some() {
            return Err(
                "timegan's schedule is fixed at two generator/embedder steps per \
                        discriminator step (as the reference): --d-steps does not apply"
                    .into(),
            );
        }
        let mut h = Self {
            mode,
            n_classes,
            dims: TimeganDims::reference(),
            batch_size: REFERENCE_BATCH,
            embedding_iterations: REFERENCE_EMBEDDING_ITERATIONS,
            supervised_iterations: REFERENCE_SUPERVISED_ITERATIONS,
            joint_iterations: REFERENCE_JOINT_ITERATIONS,
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            gamma: 1.0,
            e_supervised_weight: 0.1,
            d_loss_gate: Some(D_LOSS_GATE),
            shared_optimizer: mode == GeneratorMode::Reference,
            supervised_updates_generator: mode == GeneratorMode::Default,
        };
        if let Some(steps) = o.steps {
            if steps == 0 {
                return Err("--steps must be at least 1 (joint iterations per class model)".into());
            }
            let scale = |base: u64| {
                ((steps as u128 * base as u128).div_ceil(REFERENCE_JOINT_ITERATIONS as u128)) as u64
            };
            h.embedding_iterations = scale(REFERENCE_EMBEDDING_ITERATIONS);
            h.supervised_iterations = scale(REFERENCE_SUPERVISED_ITERATIONS);
            h.joint_iterations = steps;
        }
        if let Some(b) = o.batch_size {
            h.batch_size = b;
        }
        h.check()?;
        Ok(h)
    }

    /// Checks values that do not depend on the data.
    pub fn check(&self) -> Result<(), String> {
        if self.n_classes == 0 {
            return Err("timegan needs at least one class".into());
        }
        self.dims.validate()?;
        if self.batch_size == 0 {
            return Err("timegan batch size must be at least 1".into());
        }
        if self.joint_iterations == 0 {
            return Err("timegan needs at least one joint iteration".into());
        }
        for (name, v) in [("lr", self.lr), ("eps", self.eps)] {
            if !(v.is_finite() && v > 0.0) {
                return Err(format!("timegan {name} must be positive, got {v}"));
            }
        }
        for (name, v) in [("beta1", self.beta1), ("beta2", self.beta2)] {
            if !(0.0..1.0).contains(&v) {
                return Err(format!("timegan {name} must lie in [0, 1), got {v}"));
            }
        }
        Ok(())
    }

    pub fn schedule(&self) -> Schedule {
        Schedule {
            n_classes: self.n_classes as u64,
            embedding: self.embedding_iterations,
            supervised: self.supervised_iterations,
            joint: self.joint_iterations,
        }
    }
}

/// The family constructor of the registry.
pub fn family(
    mode: GeneratorMode,
    n_classes: usize,
    overrides: &Overrides,
) -> Result<Box<dyn Family>, String> {
    Ok(Box::new(TimeganFamily {
        hyper: TimeganHyper::new(mode, n_classes, overrides)?,
    }))
}

/// The family from a model card's hyper-parameters.
pub fn from_hyper(hyper: &serde_json::Value) -> Result<Box<dyn Family>, String> {
    let hyper: TimeganHyper = serde_json::from_value(hyper.clone())
        .map_err(|e| format!("timegan hyper-parameters: {e}"))?;
    hyper.check()?;
    Ok(Box::new(TimeganFamily { hyper }))
}

// ---------------------------------------------------------------------------------------
// Schedule

/// A training phase of one class model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Embedding,
    Supervised,
    Joint,
}

/// Where an executor step falls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Place {
    pub class: usize,
    pub phase: Phase,
    /// Iteration within the phase (0-based).
    pub iteration: u64,
}

/// The step layout: per class, embedding then supervised then joint iterations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Schedule {
    pub n_classes: u64,
    pub embedding: u64,
    pub supervised: u64,
    pub joint: u64,
}

impl Schedule {
    pub fn per_class(&self) -> u64 {
        self.embedding + self.supervised + self.joint
    }

    pub fn total(&self) -> u64 {
        self.n_classes * self.per_class()
    }

    /// The (class, phase, iteration) of executor step `step`; `None` past the end.
    pub fn locate(&self, step: u64) -> Option<Place> {
        let per = self.per_class();
        if per == 0 || step >= self.total() {
            return None;
        }
        let class = (step / per) as usize;
        let r = step % per;
        let (phase, iteration) = if r < self.embedding {
            (Phase::Embedding, r)
        } else if r < self.embedding + self.supervised {
            (Phase::Supervised, r - self.embedding)
        } else {
            (Phase::Joint, r - self.embedding - self.supervised)
        };
        Some(Place {
            class,
            phase,
            iteration,
        })
    }
}

// ---------------------------------------------------------------------------------------
// Keras Adam

/// TensorFlow/Keras Adam over a fixed list of variables with checkpointable state: per
/// variable moments, ONE iteration counter advanced by every [`KerasAdam::apply`], whatever
/// variables that call updates. Update (TF's `ApplyAdam`):
/// m ← β1 m + (1−β1) g; v ← β2 v + (1−β2) g²; p ← p − lr·√(1−β2ᵗ)/(1−β1ᵗ) · m / (√v + ε).
#[derive(Debug)]
pub struct KerasAdam {
    lr: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    params: Vec<Tensor>,
    m: Vec<Tensor>,
    v: Vec<Tensor>,
    t: u64,
}

impl KerasAdam {
    pub fn new(params: Vec<Tensor>, lr: f64, beta1: f64, beta2: f64, eps: f64) -> Self {
        let zeros = |ps: &[Tensor]| ps.iter().map(|p| p.zeros_like().detach()).collect();
        Self {
            lr,
            beta1,
            beta2,
            eps,
            m: zeros(&params),
            v: zeros(&params),
            params,
            t: 0,
        }
    }

    /// Iterations taken (calls of [`KerasAdam::apply`]).
    pub fn iterations(&self) -> u64 {
        self.t
    }

    /// One update of the variables `range` with `grads` (one per variable of the range; an
    /// undefined gradient leaves that variable and its moments untouched, as TF drops `None`
    /// gradients). Advances the shared iteration counter once.
    pub fn apply(&mut self, range: Range<usize>, grads: &[Tensor]) -> Result<(), String> {
        if range.end > self.params.len() || range.len() != grads.len() {
            return Err(format!(
                "optimiser update of variables {range:?} with {} gradients (holds {})",
                grads.len(),
                self.params.len()
            ));
        }
        self.t += 1;
        let t = self.t as f64;
        let alpha = self.lr * (1.0 - self.beta2.powf(t)).sqrt() / (1.0 - self.beta1.powf(t));
        let (b1, b2, eps) = (self.beta1, self.beta2, self.eps);
        tch::no_grad(|| {
            for (i, g) in range.zip(grads) {
                if !g.defined() {
                    continue;
                }
                let _ = self.m[i].g_mul_scalar_(b1).g_add_(&(g * (1.0 - b1)));
                let _ = self.v[i].g_mul_scalar_(b2).g_add_(&(g * g * (1.0 - b2)));
                let upd = &self.m[i] / (self.v[i].sqrt() + eps) * alpha;
                let _ = self.params[i].g_sub_(&upd);
            }
        });
        Ok(())
    }

    /// `prefix.m.<i>`, `prefix.v.<i>`, `prefix.t` (as `adam::Adam` names its state).
    pub fn state(&self, prefix: &str) -> Vec<(String, Tensor)> {
        let mut out = Vec::with_capacity(2 * self.m.len() + 1);
        for (i, (m, v)) in self.m.iter().zip(&self.v).enumerate() {
            out.push((format!("{prefix}.m.{i}"), m.shallow_clone()));
            out.push((format!("{prefix}.v.{i}"), v.shallow_clone()));
        }
        out.push((format!("{prefix}.t"), Tensor::from_slice(&[self.t as i64])));
        out
    }

    /// Restores [`KerasAdam::state`].
    pub fn load_state(
        &mut self,
        prefix: &str,
        named: &HashMap<&str, &Tensor>,
    ) -> Result<(), String> {
        for i in 0..self.m.len() {
            for (which, dst) in [("m", &mut self.m[i]), ("v", &mut self.v[i])] {
                copy_named(named, &format!("{prefix}.{which}.{i}"), dst)?;
            }
        }
        let name = format!("{prefix}.t");
        let t = named
            .get(name.as_str())
            .ok_or_else(|| format!("optimiser state `{name}` missing"))?;
        let t = t.int64_value(&[0]);
        if t < 0 {
            return Err(format!("optimiser state `{name}` is negative ({t})"));
        }
        self.t = t as u64;
        Ok(())
    }
}

fn copy_named(named: &HashMap<&str, &Tensor>, name: &str, dst: &mut Tensor) -> Result<(), String> {
    let src = named
        .get(name)
        .ok_or_else(|| format!("training state `{name}` missing"))?;
    if src.size() != dst.size() {
        return Err(format!(
            "training state `{name}` has shape {:?}, expected {:?}",
            src.size(),
            dst.size()
        ));
    }
    tch::no_grad(|| dst.copy_(src));
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Family

/// TimeGAN with fixed hyper-parameters.
#[derive(Clone, Debug)]
pub struct TimeganFamily {
    pub hyper: TimeganHyper,
}

impl Family for TimeganFamily {
    fn kind(&self) -> GeneratorKind {
        GeneratorKind::Timegan
    }

    fn hyper_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.hyper).unwrap_or(serde_json::Value::Null)
    }

    fn validate(&self, data: &GenData) -> Result<(), String> {
        let h = &self.hyper;
        h.check()?;
        if data.n_classes != h.n_classes {
            return Err(format!(
                "timegan was configured for {} classes, the data has {}",
                h.n_classes, data.n_classes
            ));
        }
        let size = data.x.size();
        if size.len() != 3 || size[2] != h.dims.features {
            return Err(format!(
                "timegan expects windows (n, time, {}), got {size:?}",
                h.dims.features
            ));
        }
        if size[1] < 2 {
            return Err("timegan's supervised loss needs windows of at least 2 time steps".into());
        }
        for (c, n) in data.class_counts().into_iter().enumerate() {
            if n == 0 {
                return Err(format!(
                    "class {c} has no window: its TimeGAN has nothing to train on"
                ));
            }
            if n < h.batch_size {
                tracing::info!(
                    "timegan class {c}: {n} windows < batch {}; each batch holds all {n} \
                     (as the reference's permutation(n)[:batch])",
                    h.batch_size
                );
            }
        }
        Ok(())
    }

    fn private_use(&self, _data: &GenData, _unit: PrivacyUnit) -> PrivateUse {
        PrivateUse::Impossible(NOT_PRIVATE_REASON.into())
    }

    fn notes(&self) -> Vec<String> {
        let h = &self.hyper;
        let mut n = vec![
            format!(
                "{} separate unconditional TimeGANs, one per class, each trained on its class's \
                 windows only; the sampler draws window i from the model of its label",
                h.n_classes
            ),
            format!(
                "per class model: {} embedding, {} supervised, {} joint iterations (--steps sets \
                 the joint iterations; embedding and supervised keep the 2000:1000:6000 ratio, \
                 rounded up), batch {} (capped at the class's windows)",
                h.embedding_iterations, h.supervised_iterations, h.joint_iterations, h.batch_size
            ),
            "no normalisation and a linear recovery layer: generated values can fall outside \
             [0, 1] and are not clipped (as the reference)"
                .into(),
            "Keras Masking(-1) left out: complete windows never hold the mask value".into(),
            "batches and latent draws are seeded per step (the reference's np.random was not \
             seeded)"
                .into(),
            format!(
                "supervisor has {} GRU layers (the reference's 3; the original TimeGAN uses \
                 num_layers - 1)",
                h.dims.supervisor_layers
            ),
        ];
        if let Some(g) = h.d_loss_gate {
            n.push(format!(
                "the discriminator is updated only when its loss exceeds {g} (a data-dependent \
                 gate, as the reference and the original)"
            ));
        }
        if h.shared_optimizer {
            n.push(
                "reference quirk: ONE Adam (Keras) shared by all five networks: per-variable \
                 moments, a single iteration counter advanced by every update"
                    .into(),
            );
        } else {
            n.push(
                "separate Adam (TF form) per solver of the original TimeGAN: embedding (E, R), \
                 supervised (G, S), generator (G, S), joint embedder (E, R), discriminator (D)"
                    .into(),
            );
        }
        if h.supervised_updates_generator {
            n.push(
                "the supervised phase's variable list holds G and S (the original); its loss \
                 does not depend on G, so only S changes"
                    .into(),
            );
        } else {
            n.push("reference quirk: the supervised phase updates the supervisor only".into());
        }
        n.push("non-private: TimeGAN has no DP training in dpwear".into());
        n
    }

    fn build(
        &self,
        data: &GenData,
        dp: Option<DpSettings>,
        device: Device,
    ) -> Result<Box<dyn GanAlgorithm>, String> {
        if dp.is_some() {
            return Err(format!(
                "timegan cannot train privately: {NOT_PRIVATE_REASON}"
            ));
        }
        self.validate(data)?;
        Ok(Box::new(TimeganAlgorithm::new(self.hyper.clone(), device)))
    }

    fn sampler(
        &self,
        tensors: &[(String, Tensor)],
        device: Device,
    ) -> Result<Box<dyn WindowSampler>, String> {
        let h = &self.hyper;
        let named: HashMap<&str, &Tensor> = tensors.iter().map(|(n, t)| (n.as_str(), t)).collect();
        let mut models = Vec::with_capacity(h.n_classes);
        let mut expected = 0;
        for c in 0..h.n_classes {
            let vs = nn::VarStore::new(device);
            let m = TimeganSampler::new(&vs.root(), &h.dims);
            for (name, net) in [
                ("generator", &m.generator),
                ("supervisor", &m.supervisor),
                ("recovery", &m.recovery),
            ] {
                net.load(&format!("c{c}.{name}"), &named)
                    .map_err(|e| format!("timegan generator tensors: {e}"))?;
                expected += net.params().len();
            }
            models.push(m);
        }
        if tensors.len() != expected {
            return Err(format!(
                "timegan generator tensors: {} tensors, expected {expected} for {} classes",
                tensors.len(),
                h.n_classes
            ));
        }
        Ok(Box::new(TimeganWindowSampler {
            models,
            dims: h.dims,
            device,
        }))
    }
}

// ---------------------------------------------------------------------------------------
// Algorithm

/// The update calls of one class model (the original's solvers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Solver {
    /// Embedding phase: E, R.
    E0 = 0,
    /// Supervised phase: S (reference) or G, S.
    Gs = 1,
    /// Joint G step: G, S.
    G = 2,
    /// Joint E step: E, R.
    E = 3,
    /// Joint D step: D.
    D = 4,
}

const SOLVERS: [Solver; 5] = [Solver::E0, Solver::Gs, Solver::G, Solver::E, Solver::D];
const SOLVER_NAMES: [&str; 5] = ["e0", "gs", "g", "e", "d"];

// Network indices in NET_NAMES order.
const NET_E: usize = 0;
const NET_R: usize = 1;
const NET_G: usize = 2;
const NET_S: usize = 3;
const NET_D: usize = 4;

enum Optimisers {
    /// One Adam over all five networks (reference).
    Shared(KerasAdam),
    /// One Adam per solver, indexed by `Solver as usize` (default).
    PerSolver(Vec<KerasAdam>),
}

struct ClassModel {
    nets: TimeganNets,
    /// All parameters, networks in NET_NAMES order.
    params: Vec<Tensor>,
    /// `offsets[k]..offsets[k+1]`: network k's parameters within `params`.
    offsets: [usize; 6],
    opt: Optimisers,
}

impl ClassModel {
    /// The networks (a contiguous range of NET_NAMES indices) a solver updates.
    fn solver_nets(h: &TimeganHyper, s: Solver) -> Range<usize> {
        match s {
            Solver::E0 | Solver::E => NET_E..NET_R + 1,
            Solver::Gs if !h.supervised_updates_generator => NET_S..NET_S + 1,
            Solver::Gs | Solver::G => NET_G..NET_S + 1,
            Solver::D => NET_D..NET_D + 1,
        }
    }

    fn new(h: &TimeganHyper, device: Device) -> Self {
        let vs = nn::VarStore::new(device);
        let nets = TimeganNets::new(&vs.root(), &h.dims);
        let mut params = Vec::new();
        let mut offsets = [0usize; 6];
        for (k, net) in nets.all().iter().enumerate() {
            params.extend(net.params());
            offsets[k + 1] = params.len();
        }
        let adam = |ps: Vec<Tensor>| KerasAdam::new(ps, h.lr, h.beta1, h.beta2, h.eps);
        let opt = if h.shared_optimizer {
            Optimisers::Shared(adam(params.iter().map(|p| p.shallow_clone()).collect()))
        } else {
            Optimisers::PerSolver(
                SOLVERS
                    .iter()
                    .map(|&s| {
                        let r = Self::solver_nets(h, s);
                        adam(
                            params[offsets[r.start]..offsets[r.end]]
                                .iter()
                                .map(|p| p.shallow_clone())
                                .collect(),
                        )
                    })
                    .collect(),
            )
        };
        Self {
            nets,
            params,
            offsets,
            opt,
        }
    }

    /// One optimiser update of `solver`'s networks on `loss` (gradients of exactly those
    /// variables; nothing accumulates in `.grad()`).
    fn update(&mut self, h: &TimeganHyper, solver: Solver, loss: &Tensor) -> Result<(), String> {
        let r = Self::solver_nets(h, solver);
        let vars = self.offsets[r.start]..self.offsets[r.end];
        let grads = Tensor::f_run_backward(&[loss], &self.params[vars.clone()], false, false)
            .map_err(|e| format!("timegan backward: {e}"))?;
        match &mut self.opt {
            Optimisers::Shared(a) => a.apply(vars, &grads),
            Optimisers::PerSolver(v) => {
                let n = grads.len();
                v[solver as usize].apply(0..n, &grads)
            }
        }
    }

    fn named_weights(&self, c: usize) -> Vec<(String, Tensor)> {
        self.nets
            .all()
            .iter()
            .zip(NET_NAMES)
            .flat_map(|(net, name)| net.named_params(&format!("c{c}.{name}")))
            .map(|(n, t)| (n, t.detach()))
            .collect()
    }

    fn opt_state(&self, c: usize) -> Vec<(String, Tensor)> {
        match &self.opt {
            Optimisers::Shared(a) => a.state(&format!("c{c}.adam")),
            Optimisers::PerSolver(v) => v
                .iter()
                .zip(SOLVER_NAMES)
                .flat_map(|(a, s)| a.state(&format!("c{c}.adam.{s}")))
                .collect(),
        }
    }

    fn load(&mut self, c: usize, named: &HashMap<&str, &Tensor>) -> Result<(), String> {
        for (net, name) in self.nets.all().iter().zip(NET_NAMES) {
            net.load(&format!("c{c}.{name}"), named)?;
        }
        match &mut self.opt {
            Optimisers::Shared(a) => a.load_state(&format!("c{c}.adam"), named),
            Optimisers::PerSolver(v) => {
                for (a, s) in v.iter_mut().zip(SOLVER_NAMES) {
                    a.load_state(&format!("c{c}.adam.{s}"), named)?;
                }
                Ok(())
            }
        }
    }
}

fn mse(a: &Tensor, b: &Tensor) -> Tensor {
    (a - b).square().mean(Kind::Float)
}

/// MSE(H[:,1:], Ŝ[:,:-1]): the supervisor's one-step-ahead prediction error.
fn supervised_mse(h: &Tensor, s_of_h: &Tensor) -> Tensor {
    let t = h.size()[1];
    mse(&h.narrow(1, 1, t - 1), &s_of_h.narrow(1, 0, t - 1))
}

/// Sigmoid cross-entropy of `logits` against the constant `target`, mean over all entries.
fn bce(logits: &Tensor, target: f64) -> Tensor {
    logits.binary_cross_entropy_with_logits::<Tensor>(
        &logits.full_like(target),
        None,
        None,
        Reduction::Mean,
    )
}

/// V1 + V2: differences of the batch standard deviations and means per (time, feature).
fn moment_loss(x_hat: &Tensor, x: &Tensor) -> Tensor {
    let moments = |t: &Tensor| {
        let mean = t.mean_dim(Some(&[0i64][..]), false, Kind::Float);
        let var = (t - &mean)
            .square()
            .mean_dim(Some(&[0i64][..]), false, Kind::Float);
        (mean, var)
    };
    let (m_hat, v_hat) = moments(x_hat);
    let (m, v) = moments(x);
    let v1 = ((v_hat + 1e-6).sqrt() - (v + 1e-6).sqrt())
        .abs()
        .mean(Kind::Float);
    let v2 = (m_hat - m).abs().mean(Kind::Float);
    v1 + v2
}

fn value(t: &Tensor) -> f64 {
    t.double_value(&[])
}

/// The TimeGAN training algorithm over all class models.
pub struct TimeganAlgorithm {
    hyper: TimeganHyper,
    schedule: Schedule,
    models: Vec<ClassModel>,
    device: Device,
}

impl TimeganAlgorithm {
    /// Builds every class model's networks (libtorch's generator, seeded by the caller) and
    /// optimisers.
    pub fn new(hyper: TimeganHyper, device: Device) -> Self {
        let models = (0..hyper.n_classes)
            .map(|_| ClassModel::new(&hyper, device))
            .collect();
        tracing::debug!(
            "timegan: {} class models, {} steps each",
            hyper.n_classes,
            hyper.schedule().per_class()
        );
        Self {
            schedule: hyper.schedule(),
            hyper,
            models,
            device,
        }
    }

    pub fn schedule(&self) -> Schedule {
        self.schedule
    }

    fn batch(&self, data: &GenData, members: &[usize], rng: &mut StepRng) -> (Tensor, Tensor) {
        let b = self.hyper.batch_size.min(members.len());
        let pick = rand::seq::index::sample(&mut rng.batch, members.len(), b);
        let ids: Vec<usize> = pick.iter().map(|i| members[i]).collect();
        let x = data.gather(&ids).0.to_device(self.device);
        let t = x.size()[1];
        let z = rng::uniform(
            &[b as i64, t, self.hyper.dims.z_dim],
            &mut rng.latent,
            self.device,
        );
        (x, z)
    }

    fn embedding_step(&mut self, c: usize, x: &Tensor) -> Result<StepReport, String> {
        let m = &self.models[c];
        let x_tilde = m.nets.recovery.forward(&m.nets.embedder.forward(x));
        let loss = mse(x, &x_tilde).sqrt() * 10.0;
        let v = value(&loss);
        self.models[c].update(&self.hyper, Solver::E0, &loss)?;
        Ok(StepReport {
            losses: vec![("e0", v)],
            ..Default::default()
        })
    }

    fn supervised_step(&mut self, c: usize, x: &Tensor) -> Result<StepReport, String> {
        let m = &self.models[c];
        let h = tch::no_grad(|| m.nets.embedder.forward(x));
        let loss = supervised_mse(&h, &m.nets.supervisor.forward(&h));
        let v = value(&loss);
        self.models[c].update(&self.hyper, Solver::Gs, &loss)?;
        Ok(StepReport {
            losses: vec![("s", v)],
            ..Default::default()
        })
    }

    fn joint_step(
        &mut self,
        c: usize,
        data: &GenData,
        members: &[usize],
        rng: &mut StepRng,
    ) -> Result<StepReport, String> {
        let h = self.hyper.clone();
        let (mut g_u, mut g_s, mut g_v, mut e_loss) = (0.0, 0.0, 0.0, 0.0);
        for _ in 0..2 {
            let (x, z) = self.batch(data, members, rng);
            // G step on G + S.
            let m = &self.models[c];
            let n = &m.nets;
            let hr = tch::no_grad(|| n.embedder.forward(&x));
            let e_hat = n.generator.forward(&z);
            let h_hat = n.supervisor.forward(&e_hat);
            let x_hat = n.recovery.forward(&h_hat);
            let loss_u = bce(&n.discriminator.forward(&h_hat), 1.0);
            let loss_u_e = bce(&n.discriminator.forward(&e_hat), 1.0);
            let loss_s = supervised_mse(&hr, &n.supervisor.forward(&hr));
            let loss_v = moment_loss(&x_hat, &x);
            let loss = &loss_u + &loss_u_e * h.gamma + loss_s.sqrt() * 100.0 + &loss_v * 100.0;
            g_u += value(&loss_u) / 2.0;
            g_s += value(&loss_s) / 2.0;
            g_v += value(&loss_v) / 2.0;
            self.models[c].update(&h, Solver::G, &loss)?;
            // E step on E + R, same real batch.
            let n = &self.models[c].nets;
            let he = n.embedder.forward(&x);
            let rec = mse(&x, &n.recovery.forward(&he));
            let sup = supervised_mse(&he, &n.supervisor.forward(&he));
            let loss = rec.sqrt() * 10.0 + sup * h.e_supervised_weight;
            e_loss += value(&loss) / 2.0;
            self.models[c].update(&h, Solver::E, &loss)?;
        }
        // D step on a fresh batch, gated on its loss.
        let (x, z) = self.batch(data, members, rng);
        let n = &self.models[c].nets;
        let (hr, e_hat, h_hat) = tch::no_grad(|| {
            let hr = n.embedder.forward(&x);
            let e_hat = n.generator.forward(&z);
            let h_hat = n.supervisor.forward(&e_hat);
            (hr, e_hat, h_hat)
        });
        let d = &n.discriminator;
        let loss = bce(&d.forward(&hr), 1.0)
            + bce(&d.forward(&h_hat), 0.0)
            + bce(&d.forward(&e_hat), 0.0) * h.gamma;
        let d_loss = value(&loss);
        let train_d = h.d_loss_gate.is_none_or(|g| d_loss > g);
        if train_d {
            self.models[c].update(&h, Solver::D, &loss)?;
        }
        Ok(StepReport {
            losses: vec![
                ("g_u", g_u),
                ("g_s", g_s),
                ("g_v", g_v),
                ("e", e_loss),
                ("d", d_loss),
                ("d_trained", if train_d { 1.0 } else { 0.0 }),
            ],
            ..Default::default()
        })
    }
}

impl GanAlgorithm for TimeganAlgorithm {
    fn kind(&self) -> GeneratorKind {
        GeneratorKind::Timegan
    }

    fn total_steps(&self) -> u64 {
        self.schedule.total()
    }

    fn step(&mut self, step: u64, data: &GenData, rng: &mut StepRng) -> Result<StepReport, String> {
        let place = self.schedule.locate(step).ok_or_else(|| {
            format!(
                "step {step} is past the end of the timegan schedule ({} steps)",
                self.schedule.total()
            )
        })?;
        let c = place.class;
        let members: Vec<usize> = data
            .labels
            .iter()
            .enumerate()
            .filter(|(_, &l)| l as usize == c)
            .map(|(i, _)| i)
            .collect();
        if members.is_empty() {
            return Err(format!("class {c} has no window to train its TimeGAN on"));
        }
        match place.phase {
            Phase::Embedding => {
                let (x, _) = self.batch(data, &members, rng);
                self.embedding_step(c, &x)
            }
            Phase::Supervised => {
                let (x, _) = self.batch(data, &members, rng);
                self.supervised_step(c, &x)
            }
            Phase::Joint => self.joint_step(c, data, &members, rng),
        }
    }

    fn state(&self) -> Vec<(String, Tensor)> {
        self.models
            .iter()
            .enumerate()
            .flat_map(|(c, m)| {
                let mut v = m.named_weights(c);
                v.extend(m.opt_state(c));
                v
            })
            .collect()
    }

    fn load_state(&mut self, named: &[(String, Tensor)]) -> Result<(), String> {
        let map: HashMap<&str, &Tensor> = named.iter().map(|(n, t)| (n.as_str(), t)).collect();
        for (c, m) in self.models.iter_mut().enumerate() {
            m.load(c, &map)
                .map_err(|e| format!("timegan training state: {e}"))?;
        }
        Ok(())
    }

    fn generator_tensors(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::new();
        for (c, m) in self.models.iter().enumerate() {
            for (name, net) in [
                ("generator", &m.nets.generator),
                ("supervisor", &m.nets.supervisor),
                ("recovery", &m.nets.recovery),
            ] {
                out.extend(
                    net.named_params(&format!("c{c}.{name}"))
                        .into_iter()
                        .map(|(n, t)| (n, t.detach())),
                );
            }
        }
        out
    }
}

// ---------------------------------------------------------------------------------------
// Sampler

/// Conditional sampling over the class models' released G, S, R.
struct TimeganWindowSampler {
    models: Vec<TimeganSampler>,
    dims: TimeganDims,
    device: Device,
}

impl WindowSampler for TimeganWindowSampler {
    fn conditional(&self) -> bool {
        true
    }

    fn sample(&self, labels: &[u8], rng: &mut rand_chacha::ChaCha20Rng) -> Result<Sampled, String> {
        check_labels(labels, self.models.len(), "TimeGAN")?;
        let n = labels.len() as i64;
        // Window i's noise is row i, whatever the other labels are.
        let z = rng::uniform(&[n, SEQ_LEN, self.dims.z_dim], rng, self.device);
        let mut out = Tensor::zeros([n, SEQ_LEN, self.dims.features], (Kind::Float, self.device));
        tch::no_grad(|| {
            for (c, model) in self.models.iter().enumerate() {
                let idx: Vec<i64> = (0..labels.len())
                    .filter(|&i| labels[i] as usize == c)
                    .map(|i| i as i64)
                    .collect();
                if idx.is_empty() {
                    continue;
                }
                let it = Tensor::from_slice(&idx).to_device(self.device);
                let x = model.generate(&z.index_select(0, &it));
                let _ = out.index_copy_(0, &it, &x);
            }
        });
        let step_labels = constant_step_labels(labels, self.device);
        Ok(Sampled {
            windows: out,
            step_labels,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::simulator::{simulate, SimulatorConfig};
    use crate::features::windows::WindowScheme;
    use crate::training::generator::rng::{stream, StepPurpose};

    /// Simulated windows cut to their first `t` seconds (keeps debug-mode GRU loops short).
    fn tiny_data(t: i64) -> GenData {
        let ds = simulate(&SimulatorConfig {
            subjects: 3,
            ..Default::default()
        })
        .expect("simulate");
        let d = GenData::from_dataset(&ds, WindowScheme::NonOverlapping, &[], Device::Cpu)
            .expect("windows");
        GenData {
            x: d.x.narrow(1, 0, t).contiguous(),
            ..d
        }
    }

    /// Small networks and a short schedule: 2 embedding, 2 supervised, 3 joint per class.
    fn tiny_hyper(mode: GeneratorMode) -> TimeganHyper {
        let mut h = TimeganHyper::new(
            mode,
            2,
            &Overrides {
                batch_size: Some(6),
                ..Default::default()
            },
        )
        .unwrap();
        h.dims = TimeganDims {
            hidden: 4,
            layers: 1,
            supervisor_layers: 1,
            ..h.dims
        };
        h.embedding_iterations = 2;
        h.supervised_iterations = 2;
        h.joint_iterations = 3;
        h
    }

    fn build(h: &TimeganHyper, data: &GenData, seed: i64) -> Box<dyn GanAlgorithm> {
        tch::manual_seed(seed);
        TimeganFamily { hyper: h.clone() }
            .build(data, None, Device::Cpu)
            .unwrap()
    }

    fn run(a: &mut dyn GanAlgorithm, data: &GenData, steps: Range<u64>) -> Vec<StepReport> {
        steps
            .map(|k| a.step(k, data, &mut StepRng::new(11, k)).unwrap())
            .collect()
    }

    fn copied(state: Vec<(String, Tensor)>) -> Vec<(String, Tensor)> {
        state.into_iter().map(|(n, t)| (n, t.copy())).collect()
    }

    fn assert_same_state(a: &[(String, Tensor)], b: &[(String, Tensor)]) {
        assert_eq!(a.len(), b.len());
        for ((na, ta), (nb, tb)) in a.iter().zip(b) {
            assert_eq!(na, nb);
            assert!(ta.equal(tb), "{na} differs");
        }
    }

    #[test]
    fn steps_map_to_class_phase_and_iteration() {
        let s = Schedule {
            n_classes: 2,
            embedding: 2,
            supervised: 1,
            joint: 3,
        };
        assert_eq!(s.per_class(), 6);
        assert_eq!(s.total(), 12);
        use Phase::*;
        let expected = [
            (0, Embedding, 0),
            (0, Embedding, 1),
            (0, Supervised, 0),
            (0, Joint, 0),
            (0, Joint, 1),
            (0, Joint, 2),
            (1, Embedding, 0),
            (1, Embedding, 1),
            (1, Supervised, 0),
            (1, Joint, 0),
            (1, Joint, 1),
            (1, Joint, 2),
        ];
        for (k, &(class, phase, iteration)) in expected.iter().enumerate() {
            assert_eq!(
                s.locate(k as u64),
                Some(Place {
                    class,
                    phase,
                    iteration
                }),
                "step {k}"
            );
        }
        assert_eq!(s.locate(12), None);
        // The reference: 2 classes × (2000 + 1000 + 6000) = 18 000 steps.
        let r = TimeganHyper::new(GeneratorMode::Reference, 2, &Overrides::default())
            .unwrap()
            .schedule();
        assert_eq!(r.total(), 18_000);
        assert_eq!(
            r.locate(9_000 + 2_999),
            Some(Place {
                class: 1,
                phase: Supervised,
                iteration: 999
            })
        );
    }

    #[test]
    fn modes_and_overrides() {
        let r = TimeganHyper::new(GeneratorMode::Reference, 2, &Overrides::default()).unwrap();
        assert_eq!(
            (
                r.embedding_iterations,
                r.supervised_iterations,
                r.joint_iterations
            ),
            (2000, 1000, 6000)
        );
        assert_eq!(r.batch_size, 128);
        assert!(r.shared_optimizer && !r.supervised_updates_generator);
        assert_eq!(r.d_loss_gate, Some(0.15));
        let d = TimeganHyper::new(GeneratorMode::Default, 2, &Overrides::default()).unwrap();
        assert!(!d.shared_optimizer && d.supervised_updates_generator);
        let with = |steps: u64| {
            let h = TimeganHyper::new(
                GeneratorMode::Default,
                2,
                &Overrides {
                    steps: Some(steps),
                    batch_size: Some(32),
                    ..Default::default()
                },
            )
            .unwrap();
            assert_eq!(h.batch_size, 32);
            (
                h.embedding_iterations,
                h.supervised_iterations,
                h.joint_iterations,
            )
        };
        assert_eq!(with(6), (2, 1, 6));
        assert_eq!(with(1), (1, 1, 1));
        assert_eq!(with(7), (3, 2, 7));
        assert_eq!(with(6000), (2000, 1000, 6000));
        let err = |o: Overrides| TimeganHyper::new(GeneratorMode::Default, 2, &o).unwrap_err();
        assert!(err(Overrides {
            epochs: Some(3),
            ..Default::default()
        })
        .contains("--steps"));
        assert!(err(Overrides {
            steps: Some(0),
            ..Default::default()
        })
        .contains("at least 1"));
        assert!(err(Overrides {
            batch_size: Some(0),
            ..Default::default()
        })
        .contains("batch"));
        assert!(err(Overrides {
            d_steps: Some(5),
            ..Default::default()
        })
        .contains("--d-steps"));
        // The card's hyper-parameters rebuild the same family.
        let f = family(GeneratorMode::Reference, 3, &Overrides::default()).unwrap();
        let back = from_hyper(&f.hyper_json()).unwrap();
        assert_eq!(back.hyper_json(), f.hyper_json());
    }

    #[test]
    fn keras_adam_update_and_one_shared_counter() {
        let p = Tensor::from_slice(&[1.0f32]).set_requires_grad(true);
        let q = Tensor::from_slice(&[5.0f32]).set_requires_grad(true);
        let mut a = KerasAdam::new(
            vec![p.shallow_clone(), q.shallow_clone()],
            1e-3,
            0.9,
            0.999,
            1e-8,
        );
        // t = 1, g = 2: m = 0.2, v = 0.004, step = 1e-3·√0.001/0.1 · 0.2/(√0.004 + 1e-8) ≈ 1e-3.
        a.apply(0..1, &[Tensor::from_slice(&[2.0f32])]).unwrap();
        assert!((p.double_value(&[0]) - (1.0 - 1e-3)).abs() < 1e-6);
        assert_eq!(q.double_value(&[0]), 5.0);
        // Updating q advances the same counter (t = 2) and leaves p and its moments alone.
        a.apply(1..2, &[Tensor::from_slice(&[-1.0f32])]).unwrap();
        assert_eq!(a.iterations(), 2);
        let m0 = a.m[0].double_value(&[0]);
        assert!((m0 - 0.2).abs() < 1e-7, "{m0}");
        // q at t = 2: m = 0.1·(−1), v = 0.001, α = lr·√(1−0.999²)/(1−0.9²).
        let alpha = 1e-3 * (1.0f64 - 0.999f64.powi(2)).sqrt() / (1.0 - 0.81);
        let expected = 5.0 + alpha * 0.1 / (0.001f64.sqrt() + 1e-8);
        assert!((q.double_value(&[0]) - expected).abs() < 1e-6);
        // An undefined gradient: no change, but the counter advances (one apply_gradients).
        let before = p.copy();
        a.apply(0..1, &[Tensor::new()]).unwrap();
        assert!(p.equal(&before));
        assert_eq!(a.iterations(), 3);
        assert!(a.apply(0..2, &[Tensor::new()]).is_err());
    }

    #[test]
    fn same_seed_is_deterministic_and_mid_phase_resume_is_bitwise() {
        let data = tiny_data(6);
        for mode in [GeneratorMode::Reference, GeneratorMode::Default] {
            let h = tiny_hyper(mode);
            let total = h.schedule().total();
            assert_eq!(total, 14);
            // Uninterrupted.
            let mut a = build(&h, &data, 7);
            // Tests share libtorch's global generator across threads: give b a's initial
            // weights explicitly rather than trusting the reseed.
            let init = copied(a.state());
            run(a.as_mut(), &data, 0..total);
            // Same seed, stopped after step 4 (class 0, joint iteration 0 done; joint 1 next).
            let mut b = build(&h, &data, 7);
            b.load_state(&init).unwrap();
            run(b.as_mut(), &data, 0..5);
            assert_eq!(
                h.schedule().locate(5).map(|p| (p.phase, p.iteration)),
                Some((Phase::Joint, 1))
            );
            let saved = copied(b.state());
            // Resumed into networks initialised differently.
            let mut c = build(&h, &data, 99);
            c.load_state(&saved).unwrap();
            run(c.as_mut(), &data, 5..total);
            run(b.as_mut(), &data, 5..total);
            let sa = a.state();
            assert_same_state(&sa, &b.state());
            assert_same_state(&sa, &c.state());
            assert_same_state(&a.generator_tensors(), &c.generator_tensors());
            // A missing tensor is an error, not a silent partial load.
            let err = c.load_state(&saved[1..]).unwrap_err();
            assert!(err.contains("missing"), "{err}");
        }
    }

    fn net_weights(a: &TimeganAlgorithm, c: usize) -> Vec<Vec<Tensor>> {
        a.models[c]
            .nets
            .all()
            .iter()
            .map(|n| n.params().iter().map(|t| t.copy()).collect())
            .collect()
    }

    #[test]
    fn supervised_phase_changes_only_the_supervisor() {
        let data = tiny_data(6);
        for mode in [GeneratorMode::Reference, GeneratorMode::Default] {
            let h = tiny_hyper(mode);
            tch::manual_seed(1);
            let mut a = TimeganAlgorithm::new(h.clone(), Device::Cpu);
            run(&mut a, &data, 0..h.embedding_iterations);
            let before = net_weights(&a, 0);
            let k = h.embedding_iterations;
            assert_eq!(a.schedule().locate(k).unwrap().phase, Phase::Supervised);
            run(&mut a, &data, k..k + 1);
            let after = net_weights(&a, 0);
            for (net, (b, af)) in NET_NAMES.iter().zip(before.iter().zip(&after)) {
                let changed = b.iter().zip(af).any(|(x, y)| !x.equal(y));
                assert_eq!(changed, *net == "supervisor", "{mode:?}: {net}");
            }
            match &a.models[0].opt {
                // One counter: embedding iterations + this supervised one.
                Optimisers::Shared(adam) => assert_eq!(adam.iterations(), k + 1),
                Optimisers::PerSolver(v) => {
                    assert_eq!(v[Solver::E0 as usize].iterations(), k);
                    assert_eq!(v[Solver::Gs as usize].iterations(), 1);
                }
            }
            // Class 1 has not moved.
            let fresh = net_weights(&a, 1);
            run(&mut a, &data, k + 1..k + 2);
            assert!(net_weights(&a, 1)
                .iter()
                .flatten()
                .zip(fresh.iter().flatten())
                .all(|(x, y)| x.equal(y)));
        }
    }

    #[test]
    fn tiny_training_on_simulated_data_gives_finite_losses() {
        let data = tiny_data(8);
        let mut h = TimeganHyper::new(
            GeneratorMode::Reference,
            2,
            &Overrides {
                steps: Some(2),
                batch_size: Some(8),
                ..Default::default()
            },
        )
        .unwrap();
        h.dims.layers = 2;
        h.dims.supervisor_layers = 2;
        let f = TimeganFamily { hyper: h.clone() };
        f.validate(&data).unwrap();
        tch::manual_seed(3);
        let mut a = f.build(&data, None, Device::Cpu).unwrap();
        assert_eq!(a.total_steps(), 2 * (1 + 1 + 2));
        let total = a.total_steps();
        let reports = run(a.as_mut(), &data, 0..total);
        let mut names = std::collections::BTreeSet::new();
        for r in &reports {
            assert_eq!(r.private_steps, 0);
            for (n, v) in &r.losses {
                assert!(v.is_finite(), "{n} = {v}");
                names.insert(*n);
            }
        }
        for n in ["e0", "s", "g_u", "g_s", "g_v", "e", "d", "d_trained"] {
            assert!(names.contains(n), "{n}");
        }
        assert!(a
            .step(a.total_steps(), &data, &mut StepRng::new(1, 0))
            .is_err());
        // Data with another class count is refused before training.
        let wrong = TimeganFamily {
            hyper: TimeganHyper { n_classes: 3, ..h },
        };
        assert!(wrong.validate(&data).unwrap_err().contains("3 classes"));
    }

    #[test]
    fn sampler_draws_each_window_from_its_class_model() {
        let data = tiny_data(6);
        let h = tiny_hyper(GeneratorMode::Default);
        let f = TimeganFamily { hyper: h.clone() };
        tch::manual_seed(5);
        let mut a = f.build(&data, None, Device::Cpu).unwrap();
        run(a.as_mut(), &data, 0..3);
        let released = copied(a.generator_tensors());
        let s = f.sampler(&released, Device::Cpu).unwrap();
        assert!(s.conditional());
        let labels = [1u8, 0, 1, 1, 0];
        let out = s
            .sample(&labels, &mut stream(4, StepPurpose::Generate, 0))
            .unwrap();
        assert_eq!(out.windows.size(), vec![5, 60, 6]);
        assert_eq!(out.step_labels.size(), vec![5, 60]);
        for (i, &l) in labels.iter().enumerate() {
            let row = out.step_labels.get(i as i64);
            assert!(row.eq(l as i64).all().int64_value(&[]) == 1);
        }
        // Window 1 (label 0) is R(S(G(z₁))) of class 0's model; window 0 of class 1's.
        let z = rng::uniform(
            &[5, SEQ_LEN, 6],
            &mut stream(4, StepPurpose::Generate, 0),
            Device::Cpu,
        );
        let vs = nn::VarStore::new(Device::Cpu);
        let map: HashMap<&str, &Tensor> = released.iter().map(|(n, t)| (n.as_str(), t)).collect();
        for (i, c) in [(1i64, 0usize), (0, 1)] {
            let m = TimeganSampler::new(&(vs.root() / format!("m{c}")), &h.dims);
            m.generator.load(&format!("c{c}.generator"), &map).unwrap();
            m.supervisor
                .load(&format!("c{c}.supervisor"), &map)
                .unwrap();
            m.recovery.load(&format!("c{c}.recovery"), &map).unwrap();
            let x = tch::no_grad(|| m.generate(&z.narrow(0, i, 1)));
            let diff = (x - out.windows.narrow(0, i, 1))
                .abs()
                .max()
                .double_value(&[]);
            assert!(diff < 1e-6, "window {i}: {diff}");
        }
        // Same stream, same windows; an unknown label is an error.
        let again = s
            .sample(&labels, &mut stream(4, StepPurpose::Generate, 0))
            .unwrap();
        assert!(again.windows.equal(&out.windows));
        let err = s
            .sample(&[2], &mut stream(4, StepPurpose::Generate, 0))
            .err()
            .unwrap();
        assert!(err.contains("label 2"), "{err}");
        // Tensors of another shape are refused.
        assert!(f.sampler(&released[1..], Device::Cpu).is_err());
    }

    #[test]
    fn released_generator_size_matches_the_networks() {
        // Reference sizes, nothing trained: per class G 1970 + S 2090 + R 2046 = 6106.
        let h = TimeganHyper::new(GeneratorMode::Reference, 2, &Overrides::default()).unwrap();
        tch::manual_seed(0);
        let a = TimeganAlgorithm::new(h, Device::Cpu);
        let n: i64 = a
            .generator_tensors()
            .iter()
            .map(|(_, t)| t.numel() as i64)
            .sum();
        assert_eq!(n, 2 * (1970 + 2090 + 2046));
        // State: all five networks (10 067 per class) plus the Adam moments (2 × 10 067) and t.
        let s: i64 = a.state().iter().map(|(_, t)| t.numel() as i64).sum();
        assert_eq!(s, 2 * (3 * 10_067 + 1));
    }

    #[test]
    fn private_use_is_impossible_and_dp_is_refused() {
        let data = tiny_data(6);
        let f = TimeganFamily {
            hyper: tiny_hyper(GeneratorMode::Reference),
        };
        for unit in [PrivacyUnit::Window, PrivacyUnit::Subject] {
            match f.private_use(&data, unit) {
                PrivateUse::Impossible(why) => {
                    for word in [
                        "embedder",
                        "recovery",
                        "supervisor",
                        "moment",
                        "discriminator",
                        "0.15",
                        "cgan",
                        "dp-merf",
                    ] {
                        assert!(why.contains(word), "{word}: {why}");
                    }
                }
                other => panic!("{other:?}"),
            }
        }
        let dp = DpSettings {
            sigma: 1.0,
            clip_norm: 1.0,
            sample_rate: 0.1,
            expected_batch: 10.0,
            fake_batch: 10,
            unit: PrivacyUnit::Window,
        };
        let err = f.build(&data, Some(dp), Device::Cpu).err().unwrap();
        assert!(err.contains("cannot train privately"), "{err}");
    }
}
