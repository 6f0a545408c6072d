//! Privacy-loss-distribution (PLD) accountant for the Poisson-subsampled Gaussian mechanism,
//! following Google's dp_accounting `PLDAccountant` (≥ 0.4) for
//! `SelfComposed(PoissonSampled(q, Gaussian(σ)), steps)` under add-or-remove adjacency.
//!
//! Variant implemented (matching dp_accounting's defaults):
//! - one PLD for REMOVE adjacency (μ_upper = (1−q)N(0,σ²) + qN(−1,σ²), μ_lower = N(0,σ²)) and
//!   one for ADD adjacency (μ_upper = N(0,σ²), μ_lower = (1−q)N(0,σ²) + qN(1,σ²)); for q = 1
//!   the two coincide and only REMOVE is used. ε(δ) is the max over the two, δ(ε) likewise;
//! - pessimistic discretisation by **connect-the-dots** (Doroshenko et al. 2022) on the grid
//!   `k·Δ`, Δ = `value_discretization_interval` (default 1e−4), between the losses at the
//!   noise truncation points `σ·Φ⁻¹(e^{b}/2)` (b = `log_mass_truncation_bound`, default −50);
//!   the hockey-stick δ of the continuous mechanism is evaluated at every grid ε and turned
//!   into probabilities; the δ at the top grid point goes to the +∞ atom;
//! - self-composition by one FFT (rustfft) of a length covering the Chernoff bound of the
//!   composed support at tail mass `tail_mass_truncation` (default 1e−15), with each Fourier
//!   coefficient raised to the power `steps` by repeated squaring; the truncated tail mass is
//!   added to the +∞ atom (pessimistic), as dp_accounting does;
//! - dp_accounting additionally composes the result once with the identity PLD, which only
//!   re-truncates ≤ 5e−16 of mass; that step is omitted here.
//! - heterogeneous composition (`compose`) convolves the composed PMFs of the parts
//!   ([`Pmf::compose`], dp_accounting `DensePLDPmf.compose`): exact linear convolution by
//!   one zero-padded FFT, then dp_accounting's pessimistic tail truncation (a prefix of mass
//!   ≤ tail/2 moves up onto the first kept bin, a suffix of mass ≤ tail/2 goes to +∞).
//!
//! May depend on: `log_math`, `error`, `mod`, rustfft. f64 maths only.

use super::budget;
use super::error::{invalid, AccountingError, Result};
use super::ledger::AccountantKind;
use super::log_math::{log_a_times_exp_b_plus_c, log_add, norm_cdf, norm_log_cdf, norm_ppf};
use super::rdp::validate_sigma;
use super::{Accountant, Schedule};
use rustfft::num_complex::Complex;
use rustfft::FftPlanner;

/// Adjacency direction of one PLD.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Adjacency {
    /// D' has one more record than D.
    Add,
    /// D' has one record less than D.
    Remove,
}

/// Privacy loss of the Poisson-subsampled Gaussian (sensitivity 1) for one adjacency.
#[derive(Clone, Copy, Debug)]
struct SubsampledGaussianLoss {
    sigma: f64,
    q: f64,
    adj: Adjacency,
}

fn isclose(a: f64, b: f64) -> bool {
    // Python's math.isclose defaults: rel_tol 1e-9, abs_tol 0.
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

impl SubsampledGaussianLoss {
    fn loss_wo_remove(&self, x: f64) -> f64 {
        (-0.5 - x) / (self.sigma * self.sigma)
    }

    fn loss_remove(&self, x: f64) -> f64 {
        let l = self.loss_wo_remove(x);
        if self.q == 1.0 {
            return l;
        }
        log_a_times_exp_b_plus_c(self.q, l, 1.0 - self.q)
    }

    /// Privacy loss ln(μ_upper(x)/μ_lower(x)); decreasing in x.
    fn privacy_loss(&self, x: f64) -> f64 {
        match self.adj {
            Adjacency::Remove => self.loss_remove(x),
            Adjacency::Add => -self.loss_remove(-x),
        }
    }

    fn inverse_wo_remove(&self, loss: f64) -> f64 {
        -0.5 - loss * self.sigma * self.sigma
    }

    /// x with privacy_loss(x) = loss.
    fn inverse_privacy_loss(&self, loss: f64) -> f64 {
        let q = self.q;
        match self.adj {
            Adjacency::Remove => {
                if q == 1.0 {
                    return self.inverse_wo_remove(loss);
                }
                let floor = (-q).ln_1p();
                if isclose(loss, floor) {
                    return f64::INFINITY;
                }
                let lw = log_a_times_exp_b_plus_c(1.0 / q, loss, 1.0 - 1.0 / q);
                self.inverse_wo_remove(lw)
            }
            Adjacency::Add => {
                if q == 1.0 {
                    return 1.0 + self.inverse_wo_remove(loss);
                }
                let ceil = -(-q).ln_1p();
                if isclose(loss, ceil) {
                    return f64::NEG_INFINITY;
                }
                let lw = -log_a_times_exp_b_plus_c(1.0 / q, -loss, 1.0 - 1.0 / q);
                1.0 + self.inverse_wo_remove(lw)
            }
        }
    }

    fn mu_upper_cdf(&self, x: f64) -> f64 {
        let s = self.sigma;
        match self.adj {
            Adjacency::Add => norm_cdf(x / s),
            Adjacency::Remove => {
                if self.q == 1.0 {
                    norm_cdf((x + 1.0) / s)
                } else {
                    (1.0 - self.q) * norm_cdf(x / s) + self.q * norm_cdf((x + 1.0) / s)
                }
            }
        }
    }

    fn mu_lower_log_cdf(&self, x: f64) -> f64 {
        let s = self.sigma;
        match self.adj {
            Adjacency::Remove => norm_log_cdf(x / s),
            Adjacency::Add => {
                if self.q == 1.0 {
                    norm_log_cdf((x - 1.0) / s)
                } else {
                    log_add(
                        (-self.q).ln_1p() + norm_log_cdf(x / s),
                        self.q.ln() + norm_log_cdf((x - 1.0) / s),
                    )
                }
            }
        }
    }

    /// Hockey-stick divergence δ(ε) of the continuous mechanism, clipped to [0, 1].
    fn delta_for_epsilon(&self, eps: f64) -> f64 {
        let q = self.q;
        let use_inverse = q == 1.0
            || match self.adj {
                Adjacency::Add => eps < -(-q).ln_1p(),
                Adjacency::Remove => eps > (-q).ln_1p(),
            };
        let d = if use_inverse {
            let x = self.inverse_privacy_loss(eps);
            self.mu_upper_cdf(x) - (eps + self.mu_lower_log_cdf(x)).exp()
        } else {
            match self.adj {
                Adjacency::Add => 0.0,
                Adjacency::Remove => -eps.exp_m1(),
            }
        };
        d.clamp(0.0, 1.0)
    }

    /// (lower_x, upper_x) noise truncation points.
    fn truncation(&self, log_mass_truncation_bound: f64) -> (f64, f64) {
        let mut lower = self.sigma * norm_ppf(0.5 * log_mass_truncation_bound.exp());
        let mut upper = -lower;
        match self.adj {
            Adjacency::Add => upper += 1.0,
            Adjacency::Remove => lower -= 1.0,
        }
        (lower, upper)
    }
}

/// A discrete PLD: mass `probs[i]` at loss `(lower_loss + i)·Δ`, plus an atom at +∞.
#[derive(Clone, Debug, PartialEq)]
pub struct Pmf {
    /// Discretisation interval Δ.
    pub discretization: f64,
    /// Index of the first bin.
    pub lower_loss: i64,
    /// Bin masses.
    pub probs: Vec<f64>,
    /// Mass at +∞.
    pub infinity_mass: f64,
}

impl Pmf {
    /// δ(ε) = mass(∞) + Σ_{ℓ > ε} (1 − e^{ε−ℓ}) p(ℓ).
    pub fn delta_for_epsilon(&self, eps: f64) -> f64 {
        let mut d = self.infinity_mass;
        for (i, &p) in self.probs.iter().enumerate() {
            let loss = (self.lower_loss + i as i64) as f64 * self.discretization;
            if loss > eps {
                d += -(eps - loss).exp_m1() * p;
            }
        }
        d
    }

    /// Smallest ε ≥ 0 with δ(ε) ≤ δ (dp_accounting `_get_epsilon_for_delta`); +∞ when the
    /// mass at +∞ exceeds δ.
    pub fn epsilon_for_delta(&self, delta: f64) -> f64 {
        if self.infinity_mass > delta {
            return f64::INFINITY;
        }
        let mut mass_upper = self.infinity_mass;
        let mut mass_lower = 0.0;
        for (i, &p) in self.probs.iter().enumerate().rev() {
            let loss = (self.lower_loss + i as i64) as f64 * self.discretization;
            if mass_upper > delta
                && mass_lower > 0.0
                && ((mass_upper - delta) / mass_lower).ln() >= loss
            {
                break;
            }
            mass_upper += p;
            mass_lower += (-loss).exp() * p;
            if mass_upper >= delta && mass_lower == 0.0 {
                return loss.max(0.0);
            }
        }
        if mass_upper <= mass_lower + delta {
            return 0.0;
        }
        ((mass_upper - delta) / mass_lower).ln()
    }
}

impl Pmf {
    /// The PMF of the sum of two independent privacy losses on the same grid (dp_accounting
    /// `DensePLDPmf.compose`, used for heterogeneous composition): the bins are convolved
    /// exactly (one zero-padded FFT, no wrap-around), the masses at +∞ combine as
    /// `a + b − a·b`, and the tails are truncated pessimistically as dp_accounting does
    /// (`truncate_tails_pessimistic`, budget `tail_mass_truncation`). The output length is
    /// checked against the work limit before anything is allocated.
    pub fn compose(&self, other: &Pmf, tail_mass_truncation: f64) -> Result<Pmf> {
        if self.discretization != other.discretization {
            return Err(invalid(
                "value_discretization_interval",
                other.discretization,
                format!(
                    "PMFs compose only on one grid, and the other PMF's interval is {:e}",
                    self.discretization
                ),
            ));
        }
        if !(0.0..=1e-3).contains(&tail_mass_truncation) {
            return Err(invalid(
                "tail_mass_truncation",
                tail_mass_truncation,
                "must lie in [0, 1e-3]",
            ));
        }
        if self.probs.is_empty() || other.probs.is_empty() {
            return Err(AccountingError::Numerical {
                what: "PLD composition",
                reason: "a PMF without finite-loss bins".into(),
            });
        }
        let out_len = budget::grid_points(
            "pld",
            "the composed privacy loss",
            (self.probs.len() + other.probs.len() - 1) as f64,
        )?;
        let fast =
            budget::grid_points("pld", "the composition FFT", next_fast_len(out_len) as f64)?;
        let padded = |probs: &[f64]| {
            let mut buf = vec![Complex::new(0.0, 0.0); fast];
            for (b, &p) in buf.iter_mut().zip(probs) {
                b.re = p;
            }
            buf
        };
        let mut a = padded(&self.probs);
        let mut b = padded(&other.probs);
        let mut planner = FftPlanner::<f64>::new();
        let forward = planner.plan_fft_forward(fast);
        forward.process(&mut a);
        forward.process(&mut b);
        for (x, y) in a.iter_mut().zip(&b) {
            *x *= y;
        }
        drop(b);
        planner.plan_fft_inverse(fast).process(&mut a);
        let scale = 1.0 / fast as f64;
        let mut probs: Vec<f64> = a[..out_len].iter().map(|z| z.re * scale).collect();
        drop(a);
        let (dropped, right_mass) = truncate_tails_pessimistic(&mut probs, tail_mass_truncation);
        let (ia, ib) = (self.infinity_mass, other.infinity_mass);
        Ok(Pmf {
            discretization: self.discretization,
            lower_loss: self.lower_loss + other.lower_loss + dropped as i64,
            probs,
            infinity_mass: ia + ib - ia * ib + right_mass,
        })
    }
}

/// dp_accounting `_truncate_tails` with `pessimistic_estimate = True`: drops the longest
/// prefix and the longest suffix of `probs` whose masses are each at most `tail / 2` (at least
/// one bin stays). The prefix mass is added to the first kept bin (it moves to a larger loss:
/// pessimistic); the suffix mass is returned, for the caller to add to the +∞ atom.
/// Returns (bins dropped at the front, suffix mass).
fn truncate_tails_pessimistic(probs: &mut Vec<f64>, tail: f64) -> (usize, f64) {
    if tail == 0.0 || probs.is_empty() {
        return (0, 0.0);
    }
    let half = tail / 2.0;
    // Length of the longest prefix of `it` with sum ≤ half.
    let prefix = |it: &mut dyn Iterator<Item = &f64>| {
        let mut s = 0.0;
        let mut n = 0usize;
        for &p in it {
            s += p;
            if s > half {
                break;
            }
            n += 1;
        }
        n
    };
    let len = probs.len();
    let left = prefix(&mut probs.iter()).min(len - 1);
    let right = (len - prefix(&mut probs.iter().rev())).max(left + 1);
    let left_mass: f64 = probs[..left].iter().sum();
    let right_mass: f64 = probs[right..].iter().sum();
    probs.truncate(right);
    probs.drain(..left);
    probs[0] += left_mass;
    (left, right_mass)
}

/// Connect-the-dots pessimistic PMF (dp_accounting
/// `create_pmf_pessimistic_connect_dots_fixed_gap`).
/// The grid (k·Δ, k ∈ lo..=hi) is sized in f64 and checked against the work limit before
/// anything is allocated.
fn connect_dots(loss: &SubsampledGaussianLoss, d: f64, log_mass_bound: f64) -> Result<Pmf> {
    let (lower_x, upper_x) = loss.truncation(log_mass_bound);
    let eps_upper = loss.privacy_loss(lower_x);
    let eps_lower = loss.privacy_loss(upper_x);
    let (hi_f, lo_f) = ((eps_upper / d).ceil(), (eps_lower / d).floor());
    budget::grid_points("pld", "the discretised privacy loss", hi_f - lo_f + 1.0)?;
    let hi = hi_f as i64;
    let lo = lo_f as i64;
    let mut deltas: Vec<f64> = (lo..=hi)
        .map(|k| loss.delta_for_epsilon(k as f64 * d))
        .collect();
    if lo == hi {
        return Ok(Pmf {
            discretization: d,
            lower_loss: lo,
            probs: vec![1.0 - deltas[0]],
            infinity_mass: deltas[0],
        });
    }
    for i in 1..deltas.len() {
        deltas[i] = deltas[i].min(deltas[i - 1]);
    }
    let diffs: Vec<f64> = deltas.windows(2).map(|w| w[1] - w[0]).collect();
    let m = deltas.len();
    let em1 = d.exp_m1();
    let ed = d.exp();
    let mut probs = vec![0.0; m];
    probs[0] = 1.0 - deltas[0] + diffs[0] / em1;
    for i in 1..m - 1 {
        probs[i] = (diffs[i] - diffs[i - 1] * ed) / em1;
    }
    probs[m - 1] = diffs[m - 2] / (-d).exp_m1();
    for p in &mut probs {
        *p = p.max(0.0);
    }
    Ok(Pmf {
        discretization: d,
        lower_loss: lo,
        probs,
        infinity_mass: deltas[m - 1],
    })
}

/// The step count as the exponent of one FFT power (at most 2^32 − 1); checked before the
/// support bounds, whose integer arithmetic it keeps in range.
fn max_steps(n: u64) -> Result<u32> {
    u32::try_from(n)
        .map_err(|_| invalid("steps", n as f64, "at most 2^32 - 1 for the pld accountant"))
}

/// Smallest 2·3·5·7-smooth integer ≥ n.
pub(crate) fn next_fast_len(n: usize) -> usize {
    let mut m = n.max(1);
    loop {
        let mut r = m;
        for p in [2, 3, 5, 7] {
            while r.is_multiple_of(p) {
                r /= p;
            }
        }
        if r == 1 {
            return m;
        }
        m += 1;
    }
}

/// Chernoff bounds on the support of the `n`-fold self-convolution (dp_accounting
/// `compute_self_convolve_bounds`).
fn self_convolve_bounds(probs: &[f64], n: u64, tail: f64) -> (i64, i64) {
    let len = probs.len();
    let mut upper = (len as i64 - 1) * n as i64;
    let mut lower = 0i64;
    if tail == 0.0 {
        return (lower, upper);
    }
    let orders = (-20..0).chain(1..21).map(|k| k as f64 / len as f64);
    for t in orders {
        // log Σ p_i e^{i t}
        let mx = if t > 0.0 { (len - 1) as f64 * t } else { 0.0 };
        let s: f64 = probs
            .iter()
            .enumerate()
            .map(|(i, &p)| p * (i as f64 * t - mx).exp())
            .sum();
        let log_mgf = s.ln() + mx;
        let bound = (n as f64 * log_mgf + (2.0 / tail).ln()) / t;
        if !bound.is_finite() {
            continue;
        }
        if t > 0.0 {
            upper = upper.min(bound.ceil() as i64);
        } else {
            lower = lower.max(bound.floor() as i64);
        }
    }
    (lower, upper)
}

/// `n`-fold self-composition by one FFT (dp_accounting `DensePLDPmf.self_compose`).
fn self_compose(pmf: &Pmf, n: u64, tail: f64) -> Result<Pmf> {
    if n == 1 {
        return Ok(pmf.clone());
    }
    let (lo, hi) = self_convolve_bounds(&pmf.probs, n, tail);
    if hi < lo {
        return Err(AccountingError::Numerical {
            what: "PLD self-composition",
            reason: format!("empty Chernoff support [{lo}, {hi}]"),
        });
    }
    let out_len = budget::grid_points("pld", "the composed privacy loss", (hi - lo) as f64 + 1.0)?;
    let fast = budget::grid_points(
        "pld",
        "the composition FFT",
        next_fast_len(out_len.max(pmf.probs.len())) as f64,
    )?;
    let mut buf: Vec<Complex<f64>> = vec![Complex::new(0.0, 0.0); fast];
    for (b, &p) in buf.iter_mut().zip(&pmf.probs) {
        b.re = p;
    }
    let mut planner = FftPlanner::<f64>::new();
    planner.plan_fft_forward(fast).process(&mut buf);
    let exp = max_steps(n)?;
    for z in &mut buf {
        *z = z.powu(exp);
    }
    planner.plan_fft_inverse(fast).process(&mut buf);
    let scale = 1.0 / fast as f64;
    let probs: Vec<f64> = (0..out_len)
        .map(|k| buf[(k as i64 + lo).rem_euclid(fast as i64) as usize].re * scale)
        .collect();
    let inf = tail - (n as f64 * (-pmf.infinity_mass).ln_1p()).exp_m1();
    Ok(Pmf {
        discretization: pmf.discretization,
        lower_loss: pmf.lower_loss * n as i64 + lo,
        probs,
        infinity_mass: inf,
    })
}

/// PLD accountant (see the module docs for the exact variant).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PldAccountant {
    value_discretization_interval: f64,
    log_mass_truncation_bound: f64,
    tail_mass_truncation: f64,
}

impl Default for PldAccountant {
    /// dp_accounting's defaults: Δ = 1e−4, log-mass truncation −50, tail truncation 1e−15.
    fn default() -> Self {
        PldAccountant {
            value_discretization_interval: 1e-4,
            log_mass_truncation_bound: -50.0,
            tail_mass_truncation: 1e-15,
        }
    }
}

impl PldAccountant {
    /// An accountant with discretisation interval Δ (> 0, ≤ 1) and dp_accounting's other
    /// defaults.
    pub fn new(value_discretization_interval: f64) -> Result<Self> {
        Self::with_truncation(value_discretization_interval, -50.0, 1e-15)
    }

    /// Full control: Δ ∈ (0, 1], `log_mass_truncation_bound` < 0 (natural log of the noise
    /// mass cut from the tails), `tail_mass_truncation` ∈ [0, 1e−3].
    pub fn with_truncation(
        value_discretization_interval: f64,
        log_mass_truncation_bound: f64,
        tail_mass_truncation: f64,
    ) -> Result<Self> {
        let d = value_discretization_interval;
        if !(d > 0.0 && d <= 1.0) {
            return Err(invalid(
                "value_discretization_interval",
                d,
                "must lie in (0, 1]",
            ));
        }
        if !(log_mass_truncation_bound.is_finite() && log_mass_truncation_bound < 0.0) {
            return Err(invalid(
                "log_mass_truncation_bound",
                log_mass_truncation_bound,
                "must be finite and < 0",
            ));
        }
        if !(0.0..=1e-3).contains(&tail_mass_truncation) {
            return Err(invalid(
                "tail_mass_truncation",
                tail_mass_truncation,
                "must lie in [0, 1e-3]",
            ));
        }
        Ok(PldAccountant {
            value_discretization_interval: d,
            log_mass_truncation_bound,
            tail_mass_truncation,
        })
    }

    /// The discretisation interval Δ.
    pub fn value_discretization_interval(&self) -> f64 {
        self.value_discretization_interval
    }

    /// The tail mass truncated (and moved to +∞) by each composition.
    pub fn tail_mass_truncation(&self) -> f64 {
        self.tail_mass_truncation
    }

    /// The composed PMFs: `[remove]` for q = 1, `[remove, add]` otherwise.
    pub fn composed_pmfs(&self, sched: &Schedule, sigma: f64) -> Result<Vec<Pmf>> {
        sched.validate()?;
        validate_sigma(sigma)?;
        max_steps(sched.steps)?;
        let adjs: &[Adjacency] = if sched.sample_rate == 1.0 {
            &[Adjacency::Remove]
        } else {
            &[Adjacency::Remove, Adjacency::Add]
        };
        adjs.iter()
            .map(|&adj| {
                let loss = SubsampledGaussianLoss {
                    sigma,
                    q: sched.sample_rate,
                    adj,
                };
                let pmf = connect_dots(
                    &loss,
                    self.value_discretization_interval,
                    self.log_mass_truncation_bound,
                )?;
                self_compose(&pmf, sched.steps, self.tail_mass_truncation)
            })
            .collect()
    }

    /// ε at `sched.delta`, possibly +∞ (max over adjacencies).
    pub fn epsilon_raw(&self, sched: &Schedule, sigma: f64) -> Result<f64> {
        let pmfs = self.composed_pmfs(sched, sigma)?;
        Ok(pmfs
            .iter()
            .map(|p| p.epsilon_for_delta(sched.delta))
            .fold(0.0, f64::max))
    }
}

impl Accountant for PldAccountant {
    fn epsilon(&self, sched: &Schedule, sigma: f64) -> Result<f64> {
        Ok(self.epsilon_and_work(sched, sigma)?.0)
    }

    /// Work: the points of the composed PMFs (both adjacencies).
    fn epsilon_and_work(&self, sched: &Schedule, sigma: f64) -> Result<(f64, usize)> {
        let pmfs = self.composed_pmfs(sched, sigma)?;
        let work = pmfs.iter().map(|p| p.probs.len()).sum();
        let eps = pmfs
            .iter()
            .map(|p| p.epsilon_for_delta(sched.delta))
            .fold(0.0, f64::max);
        let eps = sched.finite_epsilon(
            eps,
            self.name(),
            sigma,
            "the PLD mass at +infinity (truncated tails) exceeds delta",
        )?;
        Ok((eps, work))
    }

    fn delta(&self, sched: &Schedule, sigma: f64, epsilon: f64) -> Result<f64> {
        if !(epsilon.is_finite() && epsilon >= 0.0) {
            return Err(invalid("epsilon", epsilon, "must be finite and >= 0"));
        }
        let pmfs = self.composed_pmfs(sched, sigma)?;
        Ok(pmfs
            .iter()
            .map(|p| p.delta_for_epsilon(epsilon))
            .fold(0.0, f64::max)
            .clamp(0.0, 1.0))
    }

    fn kind(&self) -> AccountantKind {
        AccountantKind::Pld
    }

    fn conversion(&self) -> String {
        format!(
            "pld connect-the-dots pessimistic, interval {:e}, max(add, remove)",
            self.value_discretization_interval
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaussian_without_sampling_matches_closed_form() {
        // δ(ε) of the Gaussian mechanism: Φ(−ε σ + 1/(2σ)) − e^ε Φ(−ε σ − 1/(2σ)).
        let sigma = 2.0;
        let eps = 0.5;
        let want =
            norm_cdf(-eps * sigma + 0.5 / sigma) - eps.exp() * norm_cdf(-eps * sigma - 0.5 / sigma);
        let sched = Schedule::new(1.0, 1, 1e-5).unwrap();
        let acc = PldAccountant::default();
        let got = acc.delta(&sched, sigma, eps).unwrap();
        assert!(got >= want * (1.0 - 1e-9), "pessimistic: {got} < {want}");
        assert!((got - want) / want < 1e-3, "{got} vs {want}");
        // 4 steps of σ = 2 equal one step of σ = 1.
        let sched4 = Schedule::new(1.0, 4, 1e-5).unwrap();
        let want4 = norm_cdf(-eps + 0.5) - eps.exp() * norm_cdf(-eps - 0.5);
        let got4 = acc.delta(&sched4, sigma, eps).unwrap();
        assert!(
            got4 >= want4 * (1.0 - 1e-9) && (got4 - want4) / want4 < 1e-3,
            "{got4} vs {want4}"
        );
    }

    #[test]
    fn pmf_sums_to_one_and_is_pessimistic() {
        let loss = SubsampledGaussianLoss {
            sigma: 1.0,
            q: 0.01,
            adj: Adjacency::Remove,
        };
        let pmf = connect_dots(&loss, 1e-4, -50.0).unwrap();
        let total: f64 = pmf.probs.iter().sum::<f64>() + pmf.infinity_mass;
        assert!((total - 1.0).abs() < 1e-9, "{total}");
        for eps in [0.0, 0.01, 0.1, 1.0] {
            assert!(pmf.delta_for_epsilon(eps) >= loss.delta_for_epsilon(eps) - 1e-15);
        }
        let composed = self_compose(&pmf, 1000, 1e-15).unwrap();
        let total: f64 = composed.probs.iter().sum::<f64>() + composed.infinity_mass;
        assert!((total - 1.0).abs() < 1e-9, "{total}");
    }

    #[test]
    fn tiny_sigma_is_refused_at_the_work_limit_before_allocating() {
        // σ = 1e-3 needed 5e9 points (40 GB); σ = 1e-10 overflowed the capacity (a panic).
        let sched = Schedule::new(0.01, 100, 1e-5).unwrap();
        for sigma in [1e-3, 1e-10, 1e-300] {
            match PldAccountant::default().epsilon(&sched, sigma) {
                Err(AccountingError::WorkLimit { accountant, .. }) => assert_eq!(accountant, "pld"),
                other => panic!("σ {sigma}: {other:?}"),
            }
        }
        // more steps than one FFT power can take: refused before the support bounds
        let many = Schedule::new(0.01, 1 << 40, 1e-5).unwrap();
        assert!(matches!(
            PldAccountant::default().epsilon(&many, 1.0),
            Err(AccountingError::InvalidParameter { name: "steps", .. })
        ));
    }

    #[test]
    fn fast_len() {
        assert_eq!(next_fast_len(1), 1);
        assert_eq!(next_fast_len(11), 12);
        assert_eq!(next_fast_len(1025), 1029);
    }
}
