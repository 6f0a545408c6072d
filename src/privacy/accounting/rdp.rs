//! Rényi-DP accountant for the Poisson-subsampled Gaussian mechanism (Mironov, Talwar, Zhang
//! 2019, "Rényi Differential Privacy of the Sampled Gaussian Mechanism"), with the RDP → (ε, δ)
//! conversions of Mironov 2017 (classic) and of Balle et al. 2020 / Asoodeh et al. 2020
//! (improved, as in tf-privacy 0.8.5 and dp_accounting).
//!
//! `log A_α` is computed
//! - for integer α by the binomial expansion
//!   `A_α = Σᵢ C(α,i) qⁱ (1−q)^{α−i} exp((i²−i)/(2σ²))`;
//! - for fractional α by the two-sided erfc series of §3.3 of the paper, in one of two
//!   [`FracSeries`] variants: [`FracSeries::Signed`] (tf-privacy ≤ 0.8.5 and dp_accounting
//!   0.3.0: signed generalised binomial coefficients, iterate until both terms are below
//!   e^−30, no iteration cap) or [`FracSeries::Capped`] (dp_accounting ≥ 0.4: absolute values
//!   of the coefficients, stop once both terms decrease and are e^−30 below the running total,
//!   give up after 1000 terms and drop that order, i.e. its RDP becomes +∞).
//!
//! May depend on: `log_math`, `error`, `mod` (the `Accountant` trait). f64 maths only.

use super::error::{invalid, is_pos_finite, AccountingError, Result};
use super::ledger::AccountantKind;
use super::log_math::{log_add, log_erfc, log_sub};
use super::{Accountant, Schedule};
use serde::{Deserialize, Serialize};

/// The order list of tf-privacy 0.8.5 `compute_noise`:
/// `[1.25, 1.5, 1.75, 2, 2.25, 2.5, 3, 3.5, 4, 4.5] + 5..=63 + [128, 256, 512]`.
pub fn reference_orders() -> Vec<f64> {
    let mut v = vec![1.25, 1.5, 1.75, 2.0, 2.25, 2.5, 3.0, 3.5, 4.0, 4.5];
    v.extend((5..64).map(|a| a as f64));
    v.extend([128.0, 256.0, 512.0]);
    v
}

/// dpwear's dense default order list (dp_accounting ≥ 0.4 `DEFAULT_RDP_ORDERS`):
/// `1 + x/10` for x in 1..100, then 11..=63, then 128, 256, 512, 1024.
pub fn default_orders() -> Vec<f64> {
    let mut v: Vec<f64> = (1..100).map(|x| 1.0 + x as f64 / 10.0).collect();
    v.extend((11..64).map(|a| a as f64));
    v.extend([128.0, 256.0, 512.0, 1024.0]);
    v
}

/// How the fractional-order series for `log A_α` is summed (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FracSeries {
    /// tf-privacy ≤ 0.8.5 / dp_accounting 0.3.0: signed terms, until both < e^−30, no cap
    /// (a safety stop at [`SIGNED_SERIES_SAFETY_STOP`] terms returns an error, never a value).
    Signed,
    /// dp_accounting ≥ 0.4: |terms|, relative stopping rule, at most
    /// [`CAPPED_SERIES_MAX_TERMS`] terms, after which the order is dropped (RDP = +∞).
    Capped,
}

/// Maximum number of terms of the [`FracSeries::Capped`] series (dp_accounting's
/// `_MAX_STEPS_LOG_A_FRAC`).
pub const CAPPED_SERIES_MAX_TERMS: usize = 1000;
/// Safety stop of the [`FracSeries::Signed`] series; reaching it is an error.
pub const SIGNED_SERIES_SAFETY_STOP: usize = 50_000_000;

/// RDP → (ε, δ) conversion.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RdpConversion {
    /// Mironov 2017, Prop. 3: `ε = r − ln δ / (α − 1)`.
    Classic,
    /// Balle et al. 2020 Thm. 21 / Asoodeh et al. 2020 (tf-privacy 0.8.5, dp_accounting):
    /// `ε_α = r + ln(1 − 1/α) − ln(δ·α)/(α − 1)` for α > 1.01; ε_α = 0 when
    /// `δ² + expm1(−r) ≥ 0` (the KL bound); ε_α = ∞ for α ≤ 1.01.
    Improved,
}

impl RdpConversion {
    /// A short label for ledgers.
    pub fn label(self) -> &'static str {
        match self {
            RdpConversion::Classic => "rdp-classic (Mironov 2017)",
            RdpConversion::Improved => "rdp-improved (Balle et al. 2020; tf-privacy 0.8.5)",
        }
    }
}

/// `log A_α` for the integer order `alpha ≥ 2`, 0 < q < 1 (binomial expansion).
fn log_a_int(q: f64, sigma: f64, alpha: u64) -> f64 {
    let ln_q = q.ln();
    let ln_1mq = (-q).ln_1p();
    let two_s2 = 2.0 * sigma * sigma;
    let a = alpha as f64;
    let mut log_a = f64::NEG_INFINITY;
    // ln C(α, i), updated by the product formula (exact for small α).
    let mut log_binom = 0.0f64;
    for i in 0..=alpha {
        let fi = i as f64;
        let log_coef = log_binom + fi * ln_q + (a - fi) * ln_1mq;
        log_a = log_add(log_a, log_coef + (fi * fi - fi) / two_s2);
        if i < alpha {
            log_binom += (a - fi).ln() - (fi + 1.0).ln();
        }
    }
    log_a
}

/// The terms `log s0`, `log s1` of the fractional series at index `i`.
fn frac_terms(i: f64, alpha: f64, log_abs_coef: f64, q: f64, sigma: f64, z0: f64) -> (f64, f64) {
    let ln_q = q.ln();
    let ln_1mq = (-q).ln_1p();
    let j = alpha - i;
    let log_t0 = log_abs_coef + i * ln_q + j * ln_1mq;
    let log_t1 = log_abs_coef + j * ln_q + i * ln_1mq;
    let s2 = std::f64::consts::SQRT_2 * sigma;
    let log_e0 = 0.5f64.ln() + log_erfc((i - z0) / s2);
    let log_e1 = 0.5f64.ln() + log_erfc((z0 - j) / s2);
    let two_s2 = 2.0 * sigma * sigma;
    (
        log_t0 + (i * i - i) / two_s2 + log_e0,
        log_t1 + (j * j - j) / two_s2 + log_e1,
    )
}

/// `log A_α` for fractional α, 0 < q < 1.
fn log_a_frac(q: f64, sigma: f64, alpha: f64, series: FracSeries) -> Result<f64> {
    let z0 = sigma * sigma * (1.0 / q - 1.0).ln() + 0.5;
    let mut log_a0 = f64::NEG_INFINITY;
    let mut log_a1 = f64::NEG_INFINITY;
    // Generalised binomial coefficient C(α, i), tracked as (ln |C|, sign).
    let mut log_abs_coef = 0.0f64;
    match series {
        FracSeries::Signed => {
            let mut sign = 1.0f64;
            let mut i = 0usize;
            loop {
                let fi = i as f64;
                let (s0, s1) = frac_terms(fi, alpha, log_abs_coef, q, sigma, z0);
                if sign > 0.0 {
                    log_a0 = log_add(log_a0, s0);
                    log_a1 = log_add(log_a1, s1);
                } else {
                    let (Some(a0), Some(a1)) = (log_sub(log_a0, s0), log_sub(log_a1, s1)) else {
                        return Err(AccountingError::Numerical {
                            what: "fractional-order RDP series",
                            reason: format!(
                                "partial sum became negative at term {i} (q = {q}, sigma = {sigma}, alpha = {alpha})"
                            ),
                        });
                    };
                    log_a0 = a0;
                    log_a1 = a1;
                }
                if s0.is_nan() || s1.is_nan() {
                    return Err(AccountingError::Numerical {
                        what: "fractional-order RDP series",
                        reason: format!(
                            "NaN term at {i} (q = {q}, sigma = {sigma}, alpha = {alpha})"
                        ),
                    });
                }
                let next = alpha - fi;
                log_abs_coef += next.abs().ln() - (fi + 1.0).ln();
                if next < 0.0 {
                    sign = -sign;
                }
                i += 1;
                if s0.max(s1) < -30.0 {
                    break;
                }
                if i >= SIGNED_SERIES_SAFETY_STOP {
                    return Err(AccountingError::Numerical {
                        what: "fractional-order RDP series",
                        reason: format!(
                            "no convergence after {i} terms (q = {q}, sigma = {sigma}, alpha = {alpha})"
                        ),
                    });
                }
            }
            Ok(log_add(log_a0, log_a1))
        }
        FracSeries::Capped => {
            let mut last_s0 = f64::NEG_INFINITY;
            let mut last_s1 = f64::NEG_INFINITY;
            for i in 0..CAPPED_SERIES_MAX_TERMS {
                let fi = i as f64;
                // dp_accounting sums |C(α, i)|-weighted terms (its gammaln gives ln|C|).
                let (s0, s1) = frac_terms(fi, alpha, log_abs_coef, q, sigma, z0);
                log_abs_coef += (alpha - fi).abs().ln() - (fi + 1.0).ln();
                log_a0 = log_add(log_a0, s0);
                log_a1 = log_add(log_a1, s1);
                let total = log_add(log_a0, log_a1);
                if s0 < last_s0 && s1 < last_s1 && s0.max(s1) < total - 30.0 {
                    return Ok(total);
                }
                last_s0 = s0;
                last_s1 = s1;
            }
            Ok(f64::INFINITY)
        }
    }
}

/// `log A_α` of the Poisson-subsampled Gaussian for 0 < q < 1, σ > 0, α > 1.
pub fn log_a(q: f64, sigma: f64, alpha: f64, series: FracSeries) -> Result<f64> {
    if alpha.fract() == 0.0 && alpha <= u64::MAX as f64 {
        Ok(log_a_int(q, sigma, alpha as u64))
    } else {
        log_a_frac(q, sigma, alpha, series)
    }
}

/// Per-step RDP of order α of the Poisson-subsampled Gaussian with sampling rate q and noise
/// multiplier σ: 0 for q = 0, α/(2σ²) for q = 1, `log A_α / (α − 1)` otherwise. May be +∞
/// (only with [`FracSeries::Capped`], for a dropped order).
pub fn rdp_poisson_gaussian(q: f64, sigma: f64, alpha: f64, series: FracSeries) -> Result<f64> {
    if !(0.0..=1.0).contains(&q) {
        return Err(invalid("sample_rate", q, "must lie in [0, 1]"));
    }
    if !is_pos_finite(sigma) {
        return Err(invalid("sigma", sigma, "must be finite and > 0"));
    }
    if alpha.is_nan() || alpha <= 1.0 {
        return Err(invalid("alpha", alpha, "RDP orders must be > 1"));
    }
    if q == 0.0 {
        return Ok(0.0);
    }
    if alpha.is_infinite() {
        return Ok(f64::INFINITY);
    }
    if q == 1.0 {
        return Ok(alpha / (2.0 * sigma * sigma));
    }
    Ok(log_a(q, sigma, alpha, series)? / (alpha - 1.0))
}

/// Per-step RDP at every order.
pub fn rdp_vector(q: f64, sigma: f64, orders: &[f64], series: FracSeries) -> Result<Vec<f64>> {
    orders
        .iter()
        .map(|&a| rdp_poisson_gaussian(q, sigma, a, series))
        .collect()
}

/// Checks one (order, RDP) pair, clamping round-off negatives (> −1e−12) to 0.
fn checked_rdp(a: f64, r: f64) -> Result<f64> {
    if a.is_nan() || a <= 1.0 {
        return Err(invalid("alpha", a, "RDP orders must be > 1"));
    }
    if r.is_nan() {
        return Err(AccountingError::Numerical {
            what: "RDP to (epsilon, delta) conversion",
            reason: format!("RDP at order {a} is NaN"),
        });
    }
    if r < 0.0 {
        if r > -1e-12 {
            return Ok(0.0);
        }
        return Err(AccountingError::Numerical {
            what: "RDP to (epsilon, delta) conversion",
            reason: format!("negative RDP {r} at order {a}"),
        });
    }
    Ok(r)
}

/// An RDP curve needs one value per order and at least one order.
fn check_curve(orders: &[f64], rdp: &[f64]) -> Result<()> {
    if orders.len() != rdp.len() || orders.is_empty() {
        return Err(invalid(
            "orders",
            orders.len() as f64,
            format!(
                "need a non-empty order list as long as the RDP list ({})",
                rdp.len()
            ),
        ));
    }
    Ok(())
}

/// ε(δ) from an RDP curve: `(ε, optimal order)`, minimised over the orders (first minimum
/// wins, as numpy's `argmin`), clipped at 0. ε may be +∞ (every order infinite).
pub fn epsilon_from_rdp(
    orders: &[f64],
    rdp: &[f64],
    delta: f64,
    conversion: RdpConversion,
) -> Result<(f64, f64)> {
    check_curve(orders, rdp)?;
    if !(delta > 0.0 && delta < 1.0) {
        return Err(invalid("delta", delta, "must lie in (0, 1)"));
    }
    let mut best = (f64::INFINITY, orders[0]);
    for (&a, &r) in orders.iter().zip(rdp) {
        let r = checked_rdp(a, r)?;
        let eps = match conversion {
            RdpConversion::Classic => r - delta.ln() / (a - 1.0),
            RdpConversion::Improved => {
                if delta * delta + (-r).exp_m1() >= 0.0 {
                    0.0
                } else if a > 1.01 {
                    r + (-1.0 / a).ln_1p() - (delta * a).ln() / (a - 1.0)
                } else {
                    f64::INFINITY
                }
            }
        };
        if eps < best.0 {
            best = (eps, a);
        }
    }
    Ok((best.0.max(0.0), best.1))
}

/// δ(ε) from an RDP curve: `(δ, optimal order)`, δ ≤ 1 (dp_accounting `compute_delta` for
/// [`RdpConversion::Improved`]; `min exp((α−1)(r−ε))` for [`RdpConversion::Classic`]).
pub fn delta_from_rdp(
    orders: &[f64],
    rdp: &[f64],
    epsilon: f64,
    conversion: RdpConversion,
) -> Result<(f64, f64)> {
    check_curve(orders, rdp)?;
    if !(epsilon.is_finite() && epsilon >= 0.0) {
        return Err(invalid("epsilon", epsilon, "must be finite and >= 0"));
    }
    let mut best = (f64::INFINITY, orders[0]);
    for (&a, &r) in orders.iter().zip(rdp) {
        let r = checked_rdp(a, r)?;
        let log_delta = match conversion {
            RdpConversion::Classic => (a - 1.0) * (r - epsilon),
            RdpConversion::Improved => {
                let mut ld = if r == 0.0 {
                    f64::NEG_INFINITY
                } else {
                    0.5 * (-(-r).exp()).ln_1p()
                };
                if a > 1.01 {
                    let bound = (a - 1.0) * (r - epsilon + (-1.0 / a).ln_1p()) - a.ln();
                    ld = ld.min(bound);
                }
                ld
            }
        };
        if log_delta < best.0 {
            best = (log_delta, a);
        }
    }
    Ok((best.0.exp().min(1.0), best.1))
}

/// RDP accountant: an order list, a fractional-series variant and a conversion.
#[derive(Clone, Debug, PartialEq)]
pub struct RdpAccountant {
    orders: Vec<f64>,
    series: FracSeries,
    conversion: RdpConversion,
    /// The identity carried into statements and records: [`AccountantKind::RdpReference`]
    /// for [`RdpAccountant::reference`], [`AccountantKind::Rdp`] otherwise.
    kind: AccountantKind,
}

impl Default for RdpAccountant {
    /// dpwear's default: [`default_orders`], [`FracSeries::Capped`], [`RdpConversion::Improved`]
    /// (what dp_accounting ≥ 0.4 `RdpAccountant()` computes).
    fn default() -> Self {
        RdpAccountant {
            orders: default_orders(),
            series: FracSeries::Capped,
            conversion: RdpConversion::Improved,
            kind: AccountantKind::Rdp,
        }
    }
}

impl RdpAccountant {
    /// An accountant with explicit orders (each finite and > 1), series and conversion.
    pub fn new(orders: Vec<f64>, series: FracSeries, conversion: RdpConversion) -> Result<Self> {
        if orders.is_empty() {
            return Err(invalid("orders", 0.0, "need at least one RDP order"));
        }
        for &a in &orders {
            if !(a.is_finite() && a > 1.0) {
                return Err(invalid(
                    "orders",
                    a,
                    "every RDP order must be finite and > 1",
                ));
            }
        }
        Ok(RdpAccountant {
            orders,
            series,
            conversion,
            kind: AccountantKind::Rdp,
        })
    }

    /// The accountant of tf-privacy 0.8.5 `compute_noise`: [`reference_orders`],
    /// [`FracSeries::Signed`], [`RdpConversion::Improved`].
    pub fn reference() -> Self {
        RdpAccountant {
            orders: reference_orders(),
            series: FracSeries::Signed,
            conversion: RdpConversion::Improved,
            kind: AccountantKind::RdpReference,
        }
    }

    /// The order list.
    pub fn orders(&self) -> &[f64] {
        &self.orders
    }

    /// The fractional-series variant.
    pub fn series(&self) -> FracSeries {
        self.series
    }

    /// The conversion.
    pub fn conversion(&self) -> RdpConversion {
        self.conversion
    }

    /// Total RDP at every order after `sched.steps` steps.
    pub fn rdp(&self, sched: &Schedule, sigma: f64) -> Result<Vec<f64>> {
        sched.validate()?;
        validate_sigma(sigma)?;
        let per_step = rdp_vector(sched.sample_rate, sigma, &self.orders, self.series)?;
        Ok(per_step
            .into_iter()
            .map(|r| r * sched.steps as f64)
            .collect())
    }

    /// `(ε, optimal order)`; ε may be +∞ here.
    pub fn epsilon_and_order(&self, sched: &Schedule, sigma: f64) -> Result<(f64, f64)> {
        let rdp = self.rdp(sched, sigma)?;
        self.epsilon_from_rdp_vector(&rdp, sched.delta)
    }

    /// `(ε, optimal order)` at `delta` of a total RDP curve given at this accountant's orders
    /// (one value per order, as [`RdpAccountant::rdp`] returns, or a sum of such curves for a
    /// composition), by this accountant's conversion; ε may be +∞ here.
    pub fn epsilon_from_rdp_vector(&self, rdp: &[f64], delta: f64) -> Result<(f64, f64)> {
        epsilon_from_rdp(&self.orders, rdp, delta, self.conversion)
    }
}

/// σ must be finite and > 0.
pub(crate) fn validate_sigma(sigma: f64) -> Result<()> {
    if !is_pos_finite(sigma) {
        return Err(invalid(
            "sigma",
            sigma,
            "noise multiplier must be finite and > 0",
        ));
    }
    Ok(())
}

impl Accountant for RdpAccountant {
    fn epsilon(&self, sched: &Schedule, sigma: f64) -> Result<f64> {
        let (eps, _) = self.epsilon_and_order(sched, sigma)?;
        sched.finite_epsilon(
            eps,
            self.name(),
            sigma,
            "every RDP order gives an infinite epsilon",
        )
    }

    fn delta(&self, sched: &Schedule, sigma: f64, epsilon: f64) -> Result<f64> {
        let rdp = self.rdp(sched, sigma)?;
        Ok(delta_from_rdp(&self.orders, &rdp, epsilon, self.conversion)?.0)
    }

    fn kind(&self) -> AccountantKind {
        self.kind
    }

    fn conversion(&self) -> String {
        match self.kind {
            AccountantKind::RdpReference => format!(
                "{}; tf-privacy 0.8.5 orders 1.25..512, signed fractional series",
                self.conversion.label()
            ),
            _ => self.conversion.label().to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(a: f64, b: f64) -> f64 {
        ((a - b) / b).abs()
    }

    #[test]
    fn order_lists() {
        let r = reference_orders();
        assert_eq!(r.len(), 10 + 59 + 3);
        assert_eq!(r[10], 5.0);
        assert_eq!(*r.last().unwrap(), 512.0);
        let d = default_orders();
        assert_eq!(d.len(), 99 + 53 + 4);
        assert_eq!(d[0], 1.1);
    }

    #[test]
    fn edge_sampling_rates() {
        assert_eq!(
            rdp_poisson_gaussian(0.0, 1.0, 2.0, FracSeries::Signed).unwrap(),
            0.0
        );
        assert_eq!(
            rdp_poisson_gaussian(1.0, 2.0, 3.0, FracSeries::Signed).unwrap(),
            3.0 / 8.0
        );
        assert!(rdp_poisson_gaussian(1.5, 2.0, 3.0, FracSeries::Signed).is_err());
        assert!(rdp_poisson_gaussian(0.5, 0.0, 3.0, FracSeries::Signed).is_err());
        assert!(rdp_poisson_gaussian(0.5, 1.0, 1.0, FracSeries::Signed).is_err());
    }

    #[test]
    fn integer_order_two_closed_form() {
        // A_2 = 1 + q^2 (e^{1/σ²} − 1) for the Poisson-subsampled Gaussian.
        let (q, s) = (0.1, 1.3);
        let want = (q * q * (1.0f64 / (s * s)).exp_m1()).ln_1p();
        let got = rdp_poisson_gaussian(q, s, 2.0, FracSeries::Signed).unwrap();
        assert!(rel(got, want) < 1e-13, "{got} vs {want}");
    }

    #[test]
    fn fractional_orders_interpolate_between_integers() {
        // RDP is non-decreasing in α; both series variants agree closely for moderate σ.
        let (q, s) = (0.01, 1.0);
        let r2 = rdp_poisson_gaussian(q, s, 2.0, FracSeries::Signed).unwrap();
        let r25 = rdp_poisson_gaussian(q, s, 2.5, FracSeries::Signed).unwrap();
        let r3 = rdp_poisson_gaussian(q, s, 3.0, FracSeries::Signed).unwrap();
        assert!(r2 <= r25 && r25 <= r3, "{r2} {r25} {r3}");
        let c25 = rdp_poisson_gaussian(q, s, 2.5, FracSeries::Capped).unwrap();
        assert!(
            c25 >= r25 * (1.0 - 1e-12),
            "capped |terms| sum is an upper bound"
        );
        assert!(rel(c25, r25) < 1e-3);
    }

    #[test]
    fn conversions() {
        let orders = [2.0, 10.0];
        let rdp = [0.5, 1.0];
        let (e, a) = epsilon_from_rdp(&orders, &rdp, 1e-5, RdpConversion::Classic).unwrap();
        let want = (0.5 - 1e-5f64.ln()).min(1.0 - 1e-5f64.ln() / 9.0);
        assert!(rel(e, want) < 1e-15);
        assert_eq!(a, 10.0);
        let (ei, _) = epsilon_from_rdp(&orders, &rdp, 1e-5, RdpConversion::Improved).unwrap();
        assert!(ei < e, "improved conversion is tighter");
        // Tiny RDP: KL branch gives 0.
        let (e0, _) =
            epsilon_from_rdp(&orders, &[1e-12, 1e-12], 1e-3, RdpConversion::Improved).unwrap();
        assert_eq!(e0, 0.0);
        // δ(ε) inverts ε(δ) up to the order grid.
        for conv in [RdpConversion::Classic, RdpConversion::Improved] {
            let (eps, _) = epsilon_from_rdp(&orders, &rdp, 1e-5, conv).unwrap();
            let (d, _) = delta_from_rdp(&orders, &rdp, eps, conv).unwrap();
            assert!(rel(d, 1e-5) < 1e-9, "{conv:?}: {d}");
        }
        assert!(epsilon_from_rdp(&orders, &rdp, 0.0, RdpConversion::Classic).is_err());
        assert!(epsilon_from_rdp(&orders, &[0.1, f64::NAN], 1e-5, RdpConversion::Classic).is_err());
        assert!(epsilon_from_rdp(&orders, &[0.1, -1.0], 1e-5, RdpConversion::Classic).is_err());
    }
}
