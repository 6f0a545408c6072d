//! The Laplace mechanism for tabular records (the noisy-input and noisy-output mechanisms of
//! Imtiaz et al. 2021) and its per-record and per-user guarantees.
//!
//! A value v of a column with public domain [lo, hi] is released as clip(v + Lap(Δ/ε)),
//! Δ = hi − lo: ε-DP for that value (pure DP, δ = 0), clipping being post-processing. A record
//! whose columns are released this way is (Σ_c ε_c)-DP (sequential composition over its
//! columns), and a user with at most K records (a public bound, enforced by keeping each
//! user's first K records) is K·Σ_c ε_c-DP (group privacy).
//!
//! The sampler draws from an explicit ChaCha stream (inverse CDF on a 53-bit uniform in
//! (0, 1)); floating-point attacks on the Laplace mechanism (Mironov 2012) are not covered.
//!
//! May depend on: f64 maths, rand (explicit RNG only).

use rand::RngCore;

/// The Laplace scale b = Δ / ε, refusing impossible inputs.
pub fn scale(sensitivity: f64, epsilon: f64) -> Result<f64, String> {
    if !(epsilon.is_finite() && epsilon > 0.0) {
        return Err(format!("Laplace epsilon {epsilon} must be finite and > 0"));
    }
    if !(sensitivity.is_finite() && sensitivity > 0.0) {
        return Err(format!(
            "Laplace sensitivity {sensitivity} must be finite and > 0"
        ));
    }
    Ok(sensitivity / epsilon)
}

/// A uniform draw in the open interval (0, 1) with 53 random bits.
fn open_unit(rng: &mut dyn RngCore) -> f64 {
    ((rng.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
}

/// One draw of Lap(0, b).
pub fn sample(rng: &mut dyn RngCore, b: f64) -> f64 {
    let u = open_unit(rng) - 0.5;
    -b * u.signum() * (1.0 - 2.0 * u.abs()).ln()
}

/// `v` released by the Laplace mechanism on the public domain [lo, hi]:
/// clip(clip(v) + Lap((hi − lo)/ε)) into [lo, hi] (the inner clip bounds the sensitivity).
pub fn release(
    rng: &mut dyn RngCore,
    v: f64,
    lo: f64,
    hi: f64,
    epsilon: f64,
) -> Result<f64, String> {
    let b = scale(hi - lo, epsilon)?;
    Ok((v.clamp(lo, hi) + sample(rng, b)).clamp(lo, hi))
}

/// The guarantee of releasing every listed column of a record with its own ε.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct RecordGuarantee {
    /// Σ_c ε_c: one record (one user-day).
    pub epsilon_record: f64,
    /// K · ε_record for a user with at most K records.
    pub epsilon_user: f64,
    pub max_records_per_user: usize,
    /// One line: ε per record and per user, δ = 0, the mechanism, what is not covered.
    pub statement: String,
}

/// Composes per-column ε (sequential composition) into the record and user guarantees.
pub fn compose_record(
    column_epsilons: &[f64],
    max_records_per_user: usize,
) -> Result<RecordGuarantee, String> {
    if column_epsilons.is_empty() {
        return Err("no column is released".into());
    }
    if let Some(e) = column_epsilons
        .iter()
        .find(|e| !(e.is_finite() && **e > 0.0))
    {
        return Err(format!("column epsilon {e} must be finite and > 0"));
    }
    if max_records_per_user == 0 {
        return Err("max_records_per_user must be at least 1".into());
    }
    let record: f64 = column_epsilons.iter().sum();
    let user = record * max_records_per_user as f64;
    Ok(RecordGuarantee {
        epsilon_record: record,
        epsilon_user: user,
        max_records_per_user,
        statement: format!(
            "(ε = {}, δ = 0)-DP per record (Laplace mechanism on each of {} values, sequential composition); (ε = {}, δ = 0) per user with at most {max_records_per_user} records (group privacy; each user's first {max_records_per_user} records kept); not covered: floating-point attacks on the Laplace sampler, the choice of the public domains",
            super::fmt::sig6(record),
            column_epsilons.len(),
            super::fmt::sig6(user),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    #[test]
    fn the_scale_is_sensitivity_over_epsilon() {
        assert_eq!(scale(1440.0, 0.5).unwrap(), 2880.0);
        assert!(scale(1.0, 0.0).is_err());
        assert!(scale(1.0, f64::INFINITY).is_err());
        assert!(scale(0.0, 1.0).is_err());
    }

    #[test]
    fn draws_follow_the_laplace_distribution_and_the_seed() {
        let b = 2.0;
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let n = 200_000;
        let xs: Vec<f64> = (0..n).map(|_| sample(&mut rng, b)).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let mean_abs = xs.iter().map(|x| x.abs()).sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n as f64;
        // E|X| = b, Var X = 2b²; standard errors ≈ b/√n and ≈ 2.2 b²/√n.
        assert!(
            mean.abs() < 5.0 * (2.0f64).sqrt() * b / (n as f64).sqrt(),
            "{mean}"
        );
        assert!((mean_abs - b).abs() < 0.02, "{mean_abs}");
        assert!((var - 2.0 * b * b).abs() < 0.1, "{var}");
        // P(X > b·ln 2) = 1/4.
        let tail = xs.iter().filter(|&&x| x > b * 2f64.ln()).count() as f64 / n as f64;
        assert!((tail - 0.25).abs() < 0.005, "{tail}");
        let again: Vec<f64> = {
            let mut rng = ChaCha20Rng::seed_from_u64(7);
            (0..5).map(|_| sample(&mut rng, b)).collect()
        };
        assert_eq!(&xs[..5], &again[..]);
        assert!(xs.iter().all(|x| x.is_finite()));
    }

    #[test]
    fn releases_stay_in_the_domain() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let xs: Vec<f64> = (0..1000)
            .map(|_| release(&mut rng, 2000.0, 0.0, 1440.0, 0.5).unwrap())
            .collect();
        assert!(xs.iter().all(|x| (0.0..=1440.0).contains(x)));
        assert!(
            xs.iter().any(|&x| x < 1440.0),
            "noise moves values off the bound"
        );
        assert!(release(&mut rng, 1.0, 0.0, 0.0, 0.5).is_err());
    }

    #[test]
    fn a_record_composes_its_columns_and_a_user_its_records() {
        let g = compose_record(&[0.5; 13], 31).unwrap();
        assert!((g.epsilon_record - 6.5).abs() < 1e-12);
        assert!((g.epsilon_user - 201.5).abs() < 1e-9);
        assert!(g.statement.contains("per record"), "{}", g.statement);
        assert!(g.statement.contains("not covered"));
        let g = compose_record(&[0.2, 0.2, 0.5], 1).unwrap();
        assert!((g.epsilon_record - 0.9).abs() < 1e-12);
        assert!(compose_record(&[], 3).is_err());
        assert!(compose_record(&[0.5, -1.0], 3).is_err());
    }
}
