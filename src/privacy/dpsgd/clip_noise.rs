//! Per-example clipping, Gaussian noise and writing the noisy gradient into `.grad()`.
//!
//! The DP-SGD gradient is `(Σ_b min(1, C/‖g_b‖) g_b + N(0, σ²C² I)) / (q·N)`: the sum of the
//! clipped per-example (or per-unit) gradients plus Gaussian noise, divided by the EXPECTED
//! batch size q·N (not the realised B, which is itself random under Poisson sampling). The
//! result is written into each parameter's `.grad()`, so that an ordinary tch optimiser step
//! follows.
//!
//! Noise RNG: [`noisy_mean`] seeds a `ChaCha20Rng` from the given i64 and draws standard
//! normals for each parameter in order (f64, then cast to the parameter's kind), so the noise of
//! a step is a pure function of `seed` and the parameter shapes/order, independent of libtorch
//! version and thread count. We deliberately do NOT use `tch::manual_seed` + `Tensor::randn`:
//! that reseeds libtorch's process-global generator, which other threads (dropout, init, other
//! tests) draw from concurrently, so the noise would not be reproducible and the dropout stream
//! would be reset every step. Callers derive one fresh seed per step (e.g. from the run's
//! ChaCha stream) and never reuse it. ChaCha20 is a CSPRNG, as DP noise should come from one
//! (floating-point attacks on Gaussian sampling are out of scope here).
//!
//! Empty batches (B = 0, which Poisson sampling produces): call [`pure_noise_step`] and skip the
//! forward pass entirely.
//!
//! May depend on: tch, rand, rand_chacha, rand_distr, `super::per_example`. No IO, no orchestration.

use super::per_example::{PerExampleGrads, Tape};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rand_distr::{Distribution, StandardNormal};
use tch::Tensor;

/// The DP-SGD step parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DpStepConfig {
    /// Clipping norm C.
    pub clip_norm: f64,
    /// Noise multiplier σ (noise std is σ·C).
    pub noise_multiplier: f64,
    /// Expected batch size q·N (in privacy units).
    pub expected_batch_size: f64,
}

/// Per-example clip factors min(1, C/‖g_b‖), shape (B,) (1 where ‖g_b‖ = 0).
pub fn clip_factors(norms: &Tensor, clip: f64) -> Tensor {
    (norms.clamp_min(1e-300).reciprocal() * clip).clamp_max(1.0)
}

/// Σ_b min(1, C/‖g_b‖) g_b, one tensor per parameter.
pub fn clipped_sum(pe: &PerExampleGrads, clip: f64) -> Vec<Tensor> {
    tch::no_grad(|| pe.weighted_sum(&clip_factors(&pe.norms(), clip)))
}

/// `(clipped_sum + N(0, σ²C²)) / expected_batch_size`, noise from `ChaCha20Rng(seed)`.
pub fn noisy_mean(clipped_sum: &[Tensor], cfg: &DpStepConfig, seed: i64) -> Vec<Tensor> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed as u64);
    let std = cfg.noise_multiplier * cfg.clip_norm;
    tch::no_grad(|| {
        clipped_sum
            .iter()
            .map(|s| {
                let n = s.numel();
                let draws: Vec<f64> = (0..n).map(|_| StandardNormal.sample(&mut rng)).collect();
                let noise = Tensor::from_slice(&draws)
                    .view(s.size().as_slice())
                    .to_kind(s.kind())
                    .to_device(s.device());
                (s + noise * std) / cfg.expected_batch_size
            })
            .collect()
    })
}

/// Writes `grads[i]` into `params[i].grad()` (replacing any previous value).
pub fn write_grads(params: &[Tensor], grads: &[Tensor]) {
    assert_eq!(params.len(), grads.len(), "one gradient per parameter");
    for (p, g) in params.iter().zip(grads) {
        let mut current = p.grad();
        if current.defined() {
            tch::no_grad(|| {
                current.copy_(g);
            });
        } else {
            // No .grad yet: create it through autograd (d/dp Σ p·g = g).
            let surrogate = (p * g.detach()).sum(g.kind());
            surrogate.backward();
        }
    }
}

/// What one DP step did.
#[derive(Debug)]
pub struct DpStepReport {
    /// Realised number of examples/units B.
    pub batch_size: i64,
    /// Fraction of examples whose norm exceeded C.
    pub clipped_fraction: f64,
    /// Mean unclipped per-example norm (NaN for B = 0).
    pub mean_norm: f64,
    /// ‖Σ_b clipped g_b‖ before noise: the signal the noise N(0, σ²C² I) has to compete with
    /// (0 for B = 0). A training diagnostic computed from the batch, like the loss.
    pub signal_norm: f64,
}

/// The L2 norm of a list of tensors taken as one vector.
pub fn total_norm(ts: &[Tensor]) -> f64 {
    tch::no_grad(|| {
        ts.iter()
            .map(|t| t.square().sum(tch::Kind::Double).double_value(&[]))
            .sum::<f64>()
            .sqrt()
    })
}

fn report(norms: &Tensor, clip: f64, clipped_sum: &[Tensor]) -> DpStepReport {
    let b = norms.size()[0];
    let (clipped_fraction, mean_norm) = if b == 0 {
        (0.0, f64::NAN)
    } else {
        (
            norms
                .gt(clip)
                .to_kind(tch::Kind::Double)
                .mean(None)
                .double_value(&[]),
            norms
                .to_kind(tch::Kind::Double)
                .mean(None)
                .double_value(&[]),
        )
    };
    DpStepReport {
        batch_size: b,
        clipped_fraction,
        mean_norm,
        signal_norm: total_norm(clipped_sum),
    }
}

/// Full DP gradient from materialised per-example (or per-unit) gradients: clip, sum, noise,
/// divide by q·N, write into `.grad()`.
pub fn dp_step_from_grads(pe: &PerExampleGrads, cfg: &DpStepConfig, seed: i64) -> DpStepReport {
    let norms = pe.norms();
    let sum = clipped_sum(pe, cfg.clip_norm);
    write_grads(&pe.params, &noisy_mean(&sum, cfg, seed));
    report(&norms, cfg.clip_norm, &sum)
}

/// Full DP gradient from a recorded forward pass (window-level privacy unit), using ghost
/// clipping for Linear layers. `loss_sum` is the SUM of per-example losses.
pub fn dp_step(tape: &Tape, loss_sum: &Tensor, cfg: &DpStepConfig, seed: i64) -> DpStepReport {
    dp_step_scaled(tape, loss_sum, None, cfg, seed)
}

/// [`dp_step`] with public per-example scales in (0, 1] applied after clipping (see
/// [`Tape::clipped_sum_scaled`]); the sensitivity stays C.
pub fn dp_step_scaled(
    tape: &Tape,
    loss_sum: &Tensor,
    scale: Option<&Tensor>,
    cfg: &DpStepConfig,
    seed: i64,
) -> DpStepReport {
    let (sum, norms) = tape.clipped_sum_scaled(loss_sum, cfg.clip_norm, scale);
    write_grads(&tape.params(), &noisy_mean(&sum, cfg, seed));
    report(&norms, cfg.clip_norm, &sum)
}

/// Full DP gradient with one privacy unit per group (subject-level DP): example b belongs to
/// unit `group[b]` (int64 in 0..n_groups); every unit's summed gradient is clipped to C, the
/// clipped sum gets N(0, σ²C²) noise and is divided by the expected number of units per batch
/// (`cfg.expected_batch_size`). The report counts units, not examples.
pub fn dp_step_grouped(
    tape: &Tape,
    loss_sum: &Tensor,
    group: &Tensor,
    n_groups: i64,
    cfg: &DpStepConfig,
    seed: i64,
) -> DpStepReport {
    let (sum, norms) = tape.clipped_sum_grouped(loss_sum, group, n_groups, cfg.clip_norm);
    write_grads(&tape.params(), &noisy_mean(&sum, cfg, seed));
    report(&norms, cfg.clip_norm, &sum)
}

/// Empty batch: the gradient is pure noise N(0, σ²C²)/(q·N); no forward pass is needed.
pub fn pure_noise_step(params: &[Tensor], cfg: &DpStepConfig, seed: i64) -> DpStepReport {
    let zeros: Vec<Tensor> = params.iter().map(|p| p.detach().zeros_like()).collect();
    write_grads(params, &noisy_mean(&zeros, cfg, seed));
    DpStepReport {
        batch_size: 0,
        clipped_fraction: 0.0,
        mean_norm: f64::NAN,
        signal_norm: 0.0,
    }
}
