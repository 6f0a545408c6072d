//! Small building blocks shared by the channel models: first-order lags toward per-second
//! targets and AR(1) noise with a given correlation time.
//!
//! May depend on: rand (through `super::rng`).

use rand::Rng;

use super::rng::std_normal;

/// First-order lag of a per-second target series: `y[t] = y[t-1] + (x[t] - y[t-1]) · (1 − e^{−1/τ})`
/// with `τ = tau_up` while the target is above the state and `tau_down` while below. Starts
/// at `x[0]`. Models sluggish physiological responses (tonic EDA, heart rate, skin temperature).
pub(super) fn lag(target: &[f64], tau_up: f64, tau_down: f64) -> Vec<f64> {
    let (a_up, a_down) = (1.0 - (-1.0 / tau_up).exp(), 1.0 - (-1.0 / tau_down).exp());
    let mut out = Vec::with_capacity(target.len());
    let mut y = target.first().copied().unwrap_or(0.0);
    for &x in target {
        let a = if x > y { a_up } else { a_down };
        y += (x - y) * a;
        out.push(y);
    }
    out
}

/// `n` samples of a stationary AR(1) process with correlation time `tau` seconds and
/// standard deviation `sd` (slow drifts and fluctuations).
pub(super) fn ar1<R: Rng + ?Sized>(rng: &mut R, n: usize, tau: f64, sd: f64) -> Vec<f64> {
    let phi = (-1.0 / tau).exp();
    let innovation = sd * (1.0 - phi * phi).sqrt();
    let mut x = sd * std_normal(rng);
    (0..n)
        .map(|_| {
            let v = x;
            x = phi * x + innovation * std_normal(rng);
            v
        })
        .collect()
}
