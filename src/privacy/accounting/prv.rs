//! PRV accountant: ε of the Poisson-subsampled Gaussian mechanism with certified error bars,
//! by numerical composition of its privacy random variable (Gopi, Lee & Wutschitz 2021,
//! "Numerical Composition of Differential Privacy"), in dpwear's own construction:
//!
//! 1. **The privacy random variable.** With L(x) = ln(1 − q + q·e^{(x − ½)/σ²}), the loss of
//!    the *remove* relation is Y = L(X), X ~ (1 − q)·N(0, σ²) + q·N(1, σ²), and that of the
//!    *add* relation is Y = −L(X), X ~ N(0, σ²). Both CDFs are closed-form through x(t), the
//!    inverse of L. Each direction is composed separately and the larger ε is reported
//!    (add-or-remove adjacency, as the PLD accountant).
//! 2. **Domain.** The grid is aligned to 0 with mesh h and covers [−n_lo·h, n_hi·h]. Its
//!    extent comes from RDP tail bounds of the k-fold sum S (Markov on e^{(α−1)S} for the upper
//!    tail; on (Q/P)^λ, λ ≥ 1, for the lower tail — both bounded by the RDP curve, which covers
//!    both directions for the sampled Gaussian, Mironov et al. 2019), plus the error margin and
//!    the worst drift k·|s| of the mean shift; the single-step truncated mass is then checked
//!    exactly and the grid widened when needed.
//! 3. **Discretisation.** Cell masses from CDF differences (survival functions in the upper
//!    half, for precision), normalised to the truncated variable T; all points are then shifted
//!    by s = E[T] − Σ tᵢpᵢ, so the discrete variable D has T's mean (E[T] by composite Simpson
//!    in x-space). Coupled per cell, |T − D| ≤ c = h/2 + |s|.
//! 4. **Composition** of k copies by one FFT (pointwise k-th power), mapped back onto the grid
//!    (the sum lies at integer multiples of h plus k·s).
//! 5. **Error bounds.** Hoeffding on the mean-zero coupling errors gives |S_T − S_D| ≤
//!    u = c·√(2k·ln(2/η)) except with probability η. With δ_err = η + k·P(Y ∉ grid) + the
//!    mass that can wrap around the circular convolution (budgeted as δ_err/4 + δ_err/8 +
//!    5δ_err/8), the true δ satisfies δ_D(ε + u) − δ_err ≤ δ(ε) ≤ δ_D(ε − u) + δ_err, so
//!    ε_upper = ε_D(δ − δ_err) + u and ε_lower = ε_D(δ + δ_err) − u. The accountant reports
//!    ε_upper (sound); the estimate ε_D(δ) and the lower bound are available for inspection.
//!
//! 6. **Heterogeneous composition** (`compose`): parts i with their own (qᵢ, σᵢ, kᵢ) are
//!    discretised on one common grid (one h, n_lo and length), each with its own mean shift
//!    sᵢ, and composed by one FFT (product of the kᵢ-th powers). With K = Σkᵢ and
//!    c = maxᵢ (h/2 + |sᵢ|), Hoeffding over all K coupling errors gives u = c·√(2K·ln(2/η));
//!    the truncated mass is Σkᵢ·P(Yᵢ ∉ grid), the drift Σkᵢ·sᵢ, and the tail bounds come
//!    from the summed RDP curve Σkᵢ·ρᵢ (RDP composes by addition). The δ budget and the
//!    bounds of item 5 are unchanged; with one part every quantity is the one above.
//!
//! Error policy (default): u ≤ 1 % of the RDP ε (at least 1e−4), δ_err = δ/1000 (Opacus's
//! choice for its PRV accountant). The mesh is chosen so that u ≈ 0.95 of that target and
//! refined when the mean shift would push u above it.
//!
//! May depend on: `log_math`, `rdp`, `pld` (FFT length helper), `compose` (the `Mechanism`
//! type and its validation), `error`, `mod`; rustfft.
//! f64 maths only.

use super::budget;
use super::compose::{canonical_parts, no_finite_epsilon, validate_delta, Mechanism};
use super::error::{invalid, is_pos_finite, AccountingError, Result};
use super::ledger::AccountantKind;
use super::log_math::{log_add, norm_cdf};
use super::rdp::{epsilon_from_rdp, validate_sigma, RdpAccountant};
use super::{Accountant, Schedule};
use rustfft::num_complex::Complex;
use rustfft::FftPlanner;

/// Largest grid (FFT length) the accountant builds: the accountants' shared limit.
pub const PRV_MAX_GRID: usize = super::budget::MAX_GRID_POINTS;

/// Composite-Simpson intervals for E[T] (x-space, smooth integrand).
const SIMPSON_INTERVALS: usize = 1 << 16;

/// Half-width of the Gaussian window, in σ, outside which the integrand is below f64 range.
const GAUSS_WINDOW: f64 = 40.0;

/// How the ε error u is chosen.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum EpsError {
    /// u = max(`rel` · ε_RDP, `min`), where ε_RDP is the RDP accountant's ε at the same δ.
    RelativeToRdp { rel: f64, min: f64 },
    /// A fixed u.
    Absolute(f64),
}

/// How δ_err is chosen.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum DeltaError {
    /// δ_err = `ratio` · δ.
    Relative(f64),
    /// A fixed δ_err (must be below δ).
    Absolute(f64),
}

/// The PRV accountant (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PrvAccountant {
    eps_error: EpsError,
    delta_error: DeltaError,
}

impl Default for PrvAccountant {
    /// u = 1 % of ε_RDP (≥ 1e−4), δ_err = δ/1000.
    fn default() -> Self {
        PrvAccountant {
            eps_error: EpsError::RelativeToRdp {
                rel: 0.01,
                min: 1e-4,
            },
            delta_error: DeltaError::Relative(1e-3),
        }
    }
}

/// ε with its error bars from [`PrvAccountant::epsilon_bounds`] (the larger direction).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PrvEpsilon {
    /// Lower bound on the true ε (may be below 0 when ε ≈ 0).
    pub lower: f64,
    /// The discrete estimate ε_D(δ).
    pub estimate: f64,
    /// Upper bound on the true ε: what [`Accountant::epsilon`] reports.
    pub upper: f64,
    /// The ε error u used.
    pub eps_error: f64,
    /// The δ error used.
    pub delta_error: f64,
    /// Grid points (FFT length) of the larger direction.
    pub grid: usize,
}

/// Which neighbouring relation the loss describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Direction {
    Remove,
    Add,
}

/// The privacy random variable of one direction.
struct Prv {
    q: f64,
    sigma: f64,
    log1mq: f64,
    dir: Direction,
}

impl Prv {
    fn new(q: f64, sigma: f64, dir: Direction) -> Self {
        Prv {
            q,
            sigma,
            log1mq: (-q).ln_1p(),
            dir,
        }
    }

    /// L(x) = ln(1 − q + q·e^{(x − ½)/σ²}).
    fn loss(&self, x: f64) -> f64 {
        let z = (x - 0.5) / (self.sigma * self.sigma);
        if self.q == 1.0 {
            z
        } else {
            log_add(self.log1mq, self.q.ln() + z)
        }
    }

    /// The x with L(x) = t; −∞ for t ≤ ln(1 − q).
    fn x_of(&self, t: f64) -> f64 {
        if t <= self.log1mq {
            return f64::NEG_INFINITY;
        }
        let inner = t.exp_m1() + self.q;
        self.sigma * self.sigma * (inner.ln() - self.q.ln()) + 0.5
    }

    /// (P(Y ≤ t), P(Y > t)), each computed directly (no 1 − F).
    fn cdf_sf(&self, t: f64) -> (f64, f64) {
        let s = self.sigma;
        match self.dir {
            Direction::Remove => {
                let x = self.x_of(t);
                if x == f64::NEG_INFINITY {
                    return (0.0, 1.0);
                }
                let p = 1.0 - self.q;
                (
                    p * norm_cdf(x / s) + self.q * norm_cdf((x - 1.0) / s),
                    p * norm_cdf(-x / s) + self.q * norm_cdf((1.0 - x) / s),
                )
            }
            Direction::Add => {
                let x = self.x_of(-t);
                if x == f64::NEG_INFINITY {
                    return (1.0, 0.0);
                }
                (norm_cdf(-x / s), norm_cdf(x / s))
            }
        }
    }

    /// E[Y; a ≤ Y ≤ b], by composite Simpson over the matching x-interval.
    fn partial_mean(&self, a: f64, b: f64) -> f64 {
        let s = self.sigma;
        let w = GAUSS_WINDOW * s;
        let (lo, hi, sign, window) = match self.dir {
            Direction::Remove => (self.x_of(a), self.x_of(b), 1.0, (-w, 1.0 + w)),
            Direction::Add => (self.x_of(-b), self.x_of(-a), -1.0, (-w, w)),
        };
        let (lo, hi) = (lo.max(window.0), hi.min(window.1));
        if hi.is_nan() || lo.is_nan() || hi <= lo {
            return 0.0;
        }
        let phi = |z: f64| (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt();
        let f = |x: f64| {
            let density = match self.dir {
                Direction::Remove => {
                    ((1.0 - self.q) * phi(x / s) + self.q * phi((x - 1.0) / s)) / s
                }
                Direction::Add => phi(x / s) / s,
            };
            if density == 0.0 {
                0.0
            } else {
                self.loss(x) * density
            }
        };
        let n = SIMPSON_INTERVALS;
        let dx = (hi - lo) / n as f64;
        let mut sum = f(lo) + f(hi);
        for i in 1..n {
            let wgt = if i % 2 == 1 { 4.0 } else { 2.0 };
            sum += wgt * f(lo + i as f64 * dx);
        }
        sign * sum * dx / 3.0
    }
}

/// D: masses `probs[i]` at (i − n_lo)·h + shift.
struct Discrete {
    probs: Vec<f64>,
    n_lo: usize,
    h: f64,
    shift: f64,
    /// P(Y outside the grid's cells) before normalisation.
    tail: f64,
}

/// Cell-centred, mean-preserving discretisation of the truncated `prv` on `len` points.
fn discretise(prv: &Prv, h: f64, n_lo: usize, len: usize) -> Result<Discrete> {
    let edge = |i: usize| (i as f64 - n_lo as f64) * h - 0.5 * h;
    let cs: Vec<(f64, f64)> = (0..=len).map(|i| prv.cdf_sf(edge(i))).collect();
    let mut probs: Vec<f64> = cs
        .windows(2)
        .map(|w| {
            let (f0, s0) = w[0];
            let (f1, s1) = w[1];
            let p = if s0 < 0.5 { s0 - s1 } else { f1 - f0 };
            p.max(0.0)
        })
        .collect();
    let z: f64 = probs.iter().sum();
    if !is_pos_finite(z) {
        return Err(AccountingError::Numerical {
            what: "PRV discretisation",
            reason: "the grid holds no probability mass".into(),
        });
    }
    let tail = cs[0].0 + cs[len].1;
    let mean_c = prv.partial_mean(edge(0), edge(len)) / z;
    let mut mean_d = 0.0;
    for (i, p) in probs.iter_mut().enumerate() {
        *p /= z;
        mean_d += (i as f64 - n_lo as f64) * h * *p;
    }
    Ok(Discrete {
        probs,
        n_lo,
        h,
        shift: mean_c - mean_d,
        tail,
    })
}

/// The k-fold sum of D: masses `probs[j]` at (j − n_lo)·h + offset.
struct Composed {
    probs: Vec<f64>,
    n_lo: usize,
    h: f64,
    offset: f64,
}

/// The sum of `kᵢ` copies of each `Dᵢ` (all on one grid: same length, n_lo and h), by one
/// FFT: the product of the pointwise `kᵢ`-th powers of the transforms.
fn compose(parts: &[(&Discrete, u64)]) -> Result<Composed> {
    let Some(&(first, _)) = parts.first() else {
        return Err(invalid("parts", 0.0, "nothing to compose"));
    };
    let n = first.probs.len();
    let mut planner = FftPlanner::<f64>::new();
    let forward = planner.plan_fft_forward(n);
    let mut acc: Vec<Complex<f64>> = Vec::new();
    let mut total_k = 0u128;
    // −0.0 + x = x exactly: one part's offset is exactly k·shift.
    let mut offset = -0.0f64;
    for (i, &(d, k)) in parts.iter().enumerate() {
        debug_assert!(d.probs.len() == n && d.n_lo == first.n_lo && d.h == first.h);
        let exp = u32::try_from(k).map_err(|_| invalid("steps", k as f64, "at most 2^32 - 1"))?;
        let mut buf: Vec<Complex<f64>> = d.probs.iter().map(|&p| Complex::new(p, 0.0)).collect();
        forward.process(&mut buf);
        for z in &mut buf {
            *z = z.powu(exp);
        }
        if i == 0 {
            acc = buf;
        } else {
            for (a, b) in acc.iter_mut().zip(&buf) {
                *a *= b;
            }
        }
        total_k += k as u128;
        offset += k as f64 * d.shift;
    }
    planner.plan_fft_inverse(n).process(&mut acc);
    // Σ of K = Σkᵢ indices ≡ m (mod n) sits at (m − K·n_lo)·h + Σkᵢ·shiftᵢ; grid index
    // j = m − (K−1)·n_lo.
    let rot = ((total_k - 1) * first.n_lo as u128 % n as u128) as usize;
    let scale = 1.0 / n as f64;
    let probs = (0..n)
        .map(|j| (acc[(j + rot) % n].re * scale).max(0.0))
        .collect();
    Ok(Composed {
        probs,
        n_lo: first.n_lo,
        h: first.h,
        offset,
    })
}

impl Composed {
    fn value(&self, j: usize) -> f64 {
        (j as f64 - self.n_lo as f64) * self.h + self.offset
    }

    /// δ_D(ε) = Σ_{v > ε} p(v)·(1 − e^{ε − v}).
    fn delta_for_epsilon(&self, eps: f64) -> f64 {
        let mut d = 0.0;
        for (j, &p) in self.probs.iter().enumerate().rev() {
            let v = self.value(j);
            if v <= eps {
                break;
            }
            d += -(eps - v).exp_m1() * p;
        }
        d
    }

    /// The ε with δ_D(ε) = δ (−∞ when δ_D stays at or below δ everywhere on the grid's left).
    fn epsilon_for_delta(&self, delta: f64) -> f64 {
        let n = self.probs.len();
        // a[j] = Σ_{i ≥ j} p_i; c[j] = Σ_{i ≥ j} p_i e^{v_j − v_i}; δ_D(v_j) = a[j] − c[j].
        let mut a = vec![0.0; n + 1];
        let mut c = vec![0.0; n + 1];
        let decay = (-self.h).exp();
        for j in (0..n).rev() {
            a[j] = a[j + 1] + self.probs[j];
            c[j] = self.probs[j] + decay * c[j + 1];
        }
        let at_grid = |j: usize| a[j] - c[j];
        // δ_D(v_j) is non-increasing in j: the first j with δ_D(v_j) ≤ δ.
        let (mut lo, mut hi) = (0usize, n - 1);
        if at_grid(0) > delta {
            while hi - lo > 1 {
                let mid = (lo + hi) / 2;
                if at_grid(mid) <= delta {
                    hi = mid;
                } else {
                    lo = mid;
                }
            }
        } else {
            hi = 0;
        }
        let j = hi;
        if a[j] <= delta {
            return if j == 0 {
                f64::NEG_INFINITY
            } else {
                self.value(j - 1)
            };
        }
        let eps = self.value(j) + ((a[j] - delta) / c[j]).ln();
        if j == 0 {
            eps.min(self.value(0))
        } else {
            eps.clamp(self.value(j - 1), self.value(j))
        }
    }
}

/// RDP tail bounds of the k-fold privacy loss S, from the total RDP curve R(α) = k·ρ(α):
/// P(S ≥ t) ≤ δ' for t = min_α R(α) + ln(1/δ')/(α − 1), and P(S ≤ −t) ≤ δ' for
/// t = min_{λ ≥ 1} ((λ − 1)·R(λ) + ln(1/δ'))/λ (λ = 1: the trivial e^{−t}).
fn tail_bounds(orders: &[f64], rdp: &[f64], delta: f64) -> (f64, f64) {
    let l = (1.0 / delta).ln();
    let mut up = f64::INFINITY;
    let mut low = l;
    for (&a, &r) in orders.iter().zip(rdp) {
        if !r.is_finite() {
            continue;
        }
        up = up.min(r + l / (a - 1.0));
        low = low.min(((a - 1.0) * r + l) / a);
    }
    (up, low.max(0.0))
}

/// One direction's composed distribution with its error terms.
struct ComposedDirection {
    composed: Composed,
    eps_error: f64,
    grid: usize,
}

impl PrvAccountant {
    /// An accountant with explicit error choices (each value finite and > 0; a relative δ
    /// error below 1).
    pub fn new(eps_error: EpsError, delta_error: DeltaError) -> Result<Self> {
        match eps_error {
            EpsError::RelativeToRdp { rel, min } => {
                if !is_pos_finite(rel) || !is_pos_finite(min) {
                    return Err(invalid("eps_error", rel.min(min), "must be finite and > 0"));
                }
            }
            EpsError::Absolute(u) => {
                if !is_pos_finite(u) {
                    return Err(invalid("eps_error", u, "must be finite and > 0"));
                }
            }
        }
        match delta_error {
            DeltaError::Relative(r) if !(is_pos_finite(r) && r < 1.0) => {
                return Err(invalid(
                    "delta_error",
                    r,
                    "relative δ error must lie in (0, 1)",
                ));
            }
            DeltaError::Absolute(d) if !is_pos_finite(d) => {
                return Err(invalid("delta_error", d, "must be finite and > 0"));
            }
            _ => {}
        }
        Ok(PrvAccountant {
            eps_error,
            delta_error,
        })
    }

    fn delta_error_for(&self, delta: f64) -> Result<f64> {
        let d = match self.delta_error {
            DeltaError::Relative(r) => r * delta,
            DeltaError::Absolute(d) => d,
        };
        if d >= delta {
            return Err(invalid(
                "delta_error",
                d,
                format!("must be below delta = {delta}"),
            ));
        }
        Ok(d)
    }

    /// Composes one direction of `parts` (validated, each with its own (q, σ, steps)) on one
    /// common grid (u from `eps_target`). With K = Σ stepsᵢ and cᵢ = h/2 + |sᵢ| the coupling
    /// bound of part i, Hoeffding over all K steps with c = max cᵢ gives u = c·√(2K·ln(2/η));
    /// the truncated mass is Σ stepsᵢ·P(Yᵢ ∉ grid) and the drift Σ stepsᵢ·sᵢ; the tail bounds
    /// come from the summed RDP curve (RDP composes by addition). One part is exactly the
    /// single-schedule construction of the module docs.
    fn direction(
        &self,
        parts: &[Mechanism],
        delta: f64,
        dir: Direction,
        eps_target: f64,
        delta_err: f64,
        curves: &Curves,
    ) -> Result<ComposedDirection> {
        let k = parts
            .iter()
            .try_fold(0u64, |acc, p| acc.checked_add(p.steps))
            .ok_or_else(|| {
                invalid(
                    "steps",
                    f64::INFINITY,
                    "the parts' steps add up past 2^64 - 1",
                )
            })?;
        let kf = k as f64;
        let eta = delta_err / 4.0;
        let hoeffding = (2.0 * kf * (2.0 / eta).ln()).sqrt();
        // c = h/2 + |s| with |s| usually ≪ h: start at u ≈ 0.95·target and shrink h if the
        // shift makes u exceed the target.
        let mut h = 1.9 * eps_target / hoeffding;
        let prvs: Vec<Prv> = parts
            .iter()
            .map(|p| Prv::new(p.sample_rate, p.sigma, dir))
            .collect();
        let (up_k, low_k) = tail_bounds(&curves.orders, &curves.total, delta_err / 8.0);
        // single-step tails at δ_err/(16K): the widest part sizes the first grid
        let (mut up_1, mut low_1) = (f64::NEG_INFINITY, f64::NEG_INFINITY);
        for single in &curves.singles {
            let (u, l) = tail_bounds(&curves.orders, single, delta_err / (16.0 * kf));
            up_1 = up_1.max(u);
            low_1 = low_1.max(l);
        }
        if !(up_k.is_finite() && up_1.is_finite()) {
            return Err(no_finite_epsilon(
                "prv",
                parts,
                delta,
                "the RDP tail bounds that size the PRV grid are infinite",
            ));
        }
        // The mean shift moves the composed grid by k·s, and |s| ≤ c = u/√(2k·ln(2/η)) with
        // u ≤ target: margin k·target/√(2k·ln(2/η)) on both sides.
        let drift = kf * eps_target / hoeffding;
        let mut hi_t = (up_k + eps_target + drift).max(up_1) + h;
        let mut lo_t = (low_k + eps_target + drift).max(low_1) + h;
        for _ in 0..12 {
            // Sized in f64 and checked before any cast or allocation.
            let (n_lo_f, n_hi_f) = ((lo_t / h).ceil(), (hi_t / h).ceil());
            budget::grid_points("prv", "the privacy-loss grid", n_lo_f + n_hi_f + 1.0)?;
            let (n_lo, n_hi) = (n_lo_f as usize, n_hi_f as usize);
            let len = budget::grid_points(
                "prv",
                "the composition FFT",
                super::pld::next_fast_len(n_lo + n_hi + 1) as f64,
            )?;
            if parts.len() > 1 {
                // one discretised loss per part is held until the composition
                budget::grid_points(
                    "prv",
                    "the discretised losses of all parts",
                    len as f64 * parts.len() as f64,
                )?;
            }
            let ds = prvs
                .iter()
                .map(|prv| discretise(prv, h, n_lo, len))
                .collect::<Result<Vec<_>>>()?;
            let c = ds
                .iter()
                .map(|d| 0.5 * h + d.shift.abs())
                .fold(0.0, f64::max);
            let u = c * hoeffding;
            let n_hi = len - 1 - n_lo;
            // Σ stepsᵢ·sᵢ and Σ stepsᵢ·P(Yᵢ ∉ grid), each exactly k·x for one part
            let drift_k = ds
                .iter()
                .zip(parts)
                .fold(-0.0, |acc, (d, p)| acc + p.steps as f64 * d.shift);
            let tail_k = ds
                .iter()
                .zip(parts)
                .fold(-0.0, |acc, (d, p)| acc + p.steps as f64 * d.tail);
            let covers_low = n_lo as f64 * h >= low_k + u + drift_k;
            let covers_up = n_hi as f64 * h >= up_k + u - drift_k;
            let small_tail = tail_k <= delta_err / 8.0;
            if u > eps_target {
                h *= 0.95 * eps_target / u;
                continue;
            }
            if covers_low && covers_up && small_tail {
                let pairs: Vec<(&Discrete, u64)> =
                    ds.iter().zip(parts).map(|(d, p)| (d, p.steps)).collect();
                return Ok(ComposedDirection {
                    composed: compose(&pairs)?,
                    eps_error: u,
                    grid: len,
                });
            }
            hi_t = hi_t * 1.25 + 1.0;
            lo_t = lo_t * 1.25 + 1.0;
        }
        Err(AccountingError::Numerical {
            what: "PRV accountant",
            reason: "could not size a grid that holds the loss distribution's tails".into(),
        })
    }

    /// Both directions for (sched, σ), with the δ error.
    fn directions(&self, sched: &Schedule, sigma: f64) -> Result<(Vec<ComposedDirection>, f64)> {
        sched.validate()?;
        validate_sigma(sigma)?;
        let part = Mechanism {
            sample_rate: sched.sample_rate,
            steps: sched.steps,
            sigma,
        };
        self.directions_of(&[part], sched.delta)
    }

    /// Both directions of the composition of `parts` (validated, non-empty) at `delta`, with
    /// the δ error (u from the default RDP accountant's ε of the same composition).
    fn directions_of(
        &self,
        parts: &[Mechanism],
        delta: f64,
    ) -> Result<(Vec<ComposedDirection>, f64)> {
        let delta_err = self.delta_error_for(delta)?;
        let curves = Curves::new(parts, delta)?;
        let eps_target = match self.eps_error {
            EpsError::Absolute(u) => u,
            EpsError::RelativeToRdp { rel, min } => {
                // the default RDP accountant's ε, from the curve already computed
                let (e, _) = epsilon_from_rdp(
                    &curves.orders,
                    &curves.total,
                    delta,
                    RdpAccountant::default().conversion(),
                )?;
                if !e.is_finite() {
                    return Err(no_finite_epsilon(
                        "rdp",
                        parts,
                        delta,
                        "every RDP order gives an infinite epsilon",
                    ));
                }
                (rel * e).max(min)
            }
        };
        // The two directions are independent: compose them on two threads.
        let one = |d| self.direction(parts, delta, d, eps_target, delta_err, &curves);
        let (remove, add) = std::thread::scope(|s| {
            let remove = s.spawn(|| one(Direction::Remove));
            let add = one(Direction::Add);
            (remove.join().expect("PRV thread panicked"), add)
        });
        Ok((vec![remove?, add?], delta_err))
    }

    /// Lower bound, estimate and upper bound of ε at `sched.delta` (the direction with the
    /// larger upper bound).
    pub fn epsilon_bounds(&self, sched: &Schedule, sigma: f64) -> Result<PrvEpsilon> {
        let (dirs, delta_err) = self.directions(sched, sigma)?;
        bounds(&dirs, delta_err, sched.delta)
    }

    /// [`PrvAccountant::epsilon_bounds`] of a heterogeneous composition: `parts` (validated,
    /// merged and ordered by [`canonical_parts`]) composed in each direction on one common
    /// grid, with the same certified error construction (item 6 of the module docs). One part
    /// gives exactly [`PrvAccountant::epsilon_bounds`] of its schedule.
    pub fn composed_epsilon_bounds(&self, parts: &[Mechanism], delta: f64) -> Result<PrvEpsilon> {
        let parts = canonical_parts(parts)?;
        validate_delta(delta)?;
        let (dirs, delta_err) = self.directions_of(&parts, delta)?;
        bounds(&dirs, delta_err, delta)
    }
}

/// The bounds of the direction with the larger upper bound.
fn bounds(dirs: &[ComposedDirection], delta_err: f64, delta: f64) -> Result<PrvEpsilon> {
    let mut best: Option<PrvEpsilon> = None;
    for d in dirs {
        let c = &d.composed;
        let b = PrvEpsilon {
            lower: c.epsilon_for_delta(delta + delta_err) - d.eps_error,
            estimate: c.epsilon_for_delta(delta),
            upper: c.epsilon_for_delta(delta - delta_err) + d.eps_error,
            eps_error: d.eps_error,
            delta_error: delta_err,
            grid: d.grid,
        };
        if best.is_none_or(|x| b.upper > x.upper) {
            best = Some(b);
        }
    }
    let b = best.expect("two directions");
    if !b.upper.is_finite() {
        return Err(AccountingError::Numerical {
            what: "PRV accountant",
            reason: format!("non-finite epsilon bound {b:?}"),
        });
    }
    Ok(b)
}

/// The default RDP curve: one step of each part, and the whole composition (Σ stepsᵢ·ρᵢ;
/// exactly steps·ρ for one part).
struct Curves {
    orders: Vec<f64>,
    singles: Vec<Vec<f64>>,
    total: Vec<f64>,
}

impl Curves {
    fn new(parts: &[Mechanism], delta: f64) -> Result<Self> {
        let rdp = RdpAccountant::default();
        let mut singles = Vec::with_capacity(parts.len());
        let mut total: Vec<f64> = Vec::new();
        for (i, p) in parts.iter().enumerate() {
            let one = Schedule {
                sample_rate: p.sample_rate,
                steps: 1,
                delta,
            };
            let single = rdp.rdp(&one, p.sigma)?;
            let k = p.steps as f64;
            if i == 0 {
                total = single.iter().map(|r| r * k).collect();
            } else {
                for (t, r) in total.iter_mut().zip(&single) {
                    *t += r * k;
                }
            }
            singles.push(single);
        }
        Ok(Curves {
            orders: rdp.orders().to_vec(),
            singles,
            total,
        })
    }
}

impl Accountant for PrvAccountant {
    fn epsilon(&self, sched: &Schedule, sigma: f64) -> Result<f64> {
        Ok(self.epsilon_bounds(sched, sigma)?.upper.max(0.0))
    }

    /// Work: the grid points of the two directions (bounded by twice the larger).
    fn epsilon_and_work(&self, sched: &Schedule, sigma: f64) -> Result<(f64, usize)> {
        let b = self.epsilon_bounds(sched, sigma)?;
        Ok((b.upper.max(0.0), 2 * b.grid))
    }

    fn delta(&self, sched: &Schedule, sigma: f64, epsilon: f64) -> Result<f64> {
        let (dirs, delta_err) = self.directions(sched, sigma)?;
        let d = dirs
            .iter()
            .map(|d| d.composed.delta_for_epsilon(epsilon - d.eps_error) + delta_err)
            .fold(0.0, f64::max);
        Ok(d.clamp(0.0, 1.0))
    }

    fn kind(&self) -> AccountantKind {
        AccountantKind::Prv
    }

    fn conversion(&self) -> String {
        let eps = match self.eps_error {
            EpsError::RelativeToRdp { rel, min } => {
                format!("{} % of the rdp epsilon (>= {min:e})", rel * 100.0)
            }
            EpsError::Absolute(u) => format!("{u:e}"),
        };
        let delta = match self.delta_error {
            DeltaError::Relative(r) => format!("{r:e} x delta"),
            DeltaError::Absolute(d) => format!("{d:e}"),
        };
        format!(
            "prv upper bound (Gopi et al. 2021), epsilon error {eps}, delta error {delta}, max(add, remove)"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::privacy::accounting::log_math::norm_cdf;

    #[test]
    fn cdf_and_sf_agree_and_match_the_gaussian_without_sampling() {
        for dir in [Direction::Remove, Direction::Add] {
            let prv = Prv::new(0.1, 1.3, dir);
            for t in [-3.0, -0.5, -0.01, 0.0, 0.02, 0.4, 2.0, 6.0] {
                let (f, s) = prv.cdf_sf(t);
                assert!((f + s - 1.0).abs() < 1e-14, "{dir:?} t {t}: {f} + {s}");
            }
        }
        // q = 1: Y ~ N(μ, 2μ) with μ = 1/(2σ²) in both directions.
        let sigma = 0.9f64;
        let mu = 0.5 / (sigma * sigma);
        for dir in [Direction::Remove, Direction::Add] {
            let prv = Prv::new(1.0, sigma, dir);
            for t in [-1.0, 0.0, 0.3, 1.5] {
                let want = norm_cdf((t - mu) / (2.0 * mu).sqrt());
                assert!((prv.cdf_sf(t).0 - want).abs() < 1e-14, "{dir:?} t {t}");
            }
        }
    }

    #[test]
    fn discretisation_keeps_mass_and_mean() {
        let prv = Prv::new(1.0, 1.0, Direction::Remove);
        // Y ~ N(0.5, 1): mean 0.5.
        let h = 1e-3;
        let n_lo = 12_000;
        let d = discretise(&prv, h, n_lo, 24_000).unwrap();
        let mass: f64 = d.probs.iter().sum();
        assert!((mass - 1.0).abs() < 1e-12);
        let mean: f64 = d
            .probs
            .iter()
            .enumerate()
            .map(|(i, p)| ((i as f64 - n_lo as f64) * h + d.shift) * p)
            .sum();
        assert!((mean - 0.5).abs() < 1e-12, "mean {mean}");
        assert!(d.shift.abs() <= 0.5 * h, "shift {}", d.shift);
    }

    #[test]
    fn gaussian_mechanism_matches_the_closed_form() {
        // q = 1, k steps of σ: one Gaussian mechanism with σ/√k; δ(ε) is closed-form
        // (Balle & Wang 2018): Φ(−ε/μ + μ/2) − e^ε Φ(−ε/μ − μ/2), μ = √k/σ.
        let (sigma, k) = (4.0, 16u64);
        let mu = (k as f64).sqrt() / sigma;
        let delta_of =
            |e: f64| norm_cdf(-e / mu + mu / 2.0) - e.exp() * norm_cdf(-e / mu - mu / 2.0);
        let acc =
            PrvAccountant::new(EpsError::Absolute(1e-3), DeltaError::Absolute(1e-10)).unwrap();
        let sched = Schedule::new(1.0, k, 1e-5).unwrap();
        let b = acc.epsilon_bounds(&sched, sigma).unwrap();
        // the exact ε: bisection on the closed form
        let (mut lo, mut hi) = (0.0, 50.0);
        for _ in 0..200 {
            let m = 0.5 * (lo + hi);
            if delta_of(m) > 1e-5 {
                lo = m
            } else {
                hi = m
            }
        }
        assert!(b.lower <= hi && hi <= b.upper, "{b:?} vs exact {hi}");
        assert!((b.estimate - hi).abs() < 2e-4, "{b:?} vs exact {hi}");
        let d = acc.delta(&sched, sigma, b.upper).unwrap();
        assert!(d <= 1e-5 * (1.0 + 1e-9), "delta at the upper bound {d}");
    }

    #[test]
    fn bad_parameters_are_refused() {
        assert!(PrvAccountant::new(EpsError::Absolute(0.0), DeltaError::Relative(1e-3)).is_err());
        assert!(PrvAccountant::new(EpsError::Absolute(0.01), DeltaError::Relative(1.0)).is_err());
        let acc = PrvAccountant::new(EpsError::Absolute(0.01), DeltaError::Absolute(1e-3)).unwrap();
        // δ_err ≥ δ
        assert!(acc
            .epsilon(&Schedule::new(0.1, 10, 1e-4).unwrap(), 1.0)
            .is_err());
        assert!(PrvAccountant::default()
            .epsilon(&Schedule::new(0.1, 10, 1e-4).unwrap(), 0.0)
            .is_err());
    }
}
