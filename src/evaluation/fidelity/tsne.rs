//! Exact t-SNE (van der Maaten & Hinton 2008) for the real-vs-synthetic embedding figure,
//! following `sklearn.manifold.TSNE(method="exact")` 1.9 step by step:
//!
//! - Affinities: squared Euclidean distances D; per record i a binary search (at most 100
//!   steps, from β = 1, doubling/halving until bracketed, then bisecting) for the precision β_i
//!   whose conditional distribution p_{j|i} ∝ exp(−D_ij β_i) has entropy ln(perplexity) within
//!   1e-5 nats (sklearn's float32 tolerance); joint P_ij = max((p_{j|i} + p_{i|j}) / Σ, ε)
//!   with ε the f64 machine epsilon ([`joint_probabilities`]). Unlike sklearn, which rounds D
//!   to float32 first, D stays f64.
//! - Similarities in the embedding: Student t with α = max(components − 1, 1) degrees of
//!   freedom, w_ij = (1 + |y_i − y_j|²/α)^(−(α+1)/2), Q_ij = max(w_ij / Σ_{k≠l} w_kl, ε).
//! - Objective KL(P‖Q); gradient (2(α+1)/α) Σ_j (P_ij − Q_ij) w_ij (y_i − y_j).
//! - Optimiser: gradient descent with momentum and per-coordinate gains (+0.2 when the
//!   gradient changes sign against the last update, ×0.8 otherwise, floor 0.01). Phase 1:
//!   250 iterations with P multiplied by the early exaggeration (12) and momentum 0.5;
//!   phase 2 (fresh update and gains): up to `max_iter` in total with momentum 0.8. Every
//!   50 iterations the KL and the gradient norm are checked: stop when the norm is ≤ 1e-7,
//!   or (phase 2) when the KL has not improved for 300 iterations.
//! - Learning rate "auto": max(n / early_exaggeration / 4, 50).
//! - Initialisation: [`TsneInit::Pca`] (sklearn's default): the PCA projection onto the
//!   first components, scaled so that the first coordinate has standard deviation 1e-4 —
//!   deterministic; or [`TsneInit::Random`]: 1e-4 · N(0, 1) from the given ChaCha stream.
//!
//! Cost O(n²) memory and O(n²) per iteration: at most [`MAX_EXACT_TSNE_RECORDS`] records
//! (subsample beyond). Coordinates are not expected to equal sklearn's (rounding diverges
//! over 1000 chaotic iterations); the affinities are (fixture test), and the embedding's
//! neighbourhood structure is (cluster tests).

use rand_chacha::ChaCha20Rng;
use rand_distr::{Distribution, StandardNormal};

use super::pca::Pca;
use super::{check_rows, squared_distance, FidelityError};

const METRIC: &str = "the t-SNE";

/// The largest number of records the exact (O(n²)) t-SNE accepts.
pub const MAX_EXACT_TSNE_RECORDS: usize = 2000;

/// Iterations with early exaggeration (sklearn's `_EXPLORATION_MAX_ITER`).
const EXPLORATION_ITER: usize = 250;
/// The KL and gradient norm are checked every this many iterations.
const CHECK_EVERY: usize = 50;
const MIN_GRAD_NORM: f64 = 1e-7;
const MIN_GAIN: f64 = 0.01;
/// sklearn's `PERPLEXITY_TOLERANCE`, a float32 1e-5.
const PERPLEXITY_TOLERANCE: f64 = 1e-5_f32 as f64;
const BINARY_SEARCH_STEPS: usize = 100;

/// How the embedding starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TsneInit {
    /// PCA projection scaled to a first-coordinate standard deviation of 1e-4 (sklearn's
    /// default).
    Pca,
    /// 1e-4 · standard normal draws from the RNG.
    Random,
}

/// The t-SNE settings; [`Default`] gives sklearn's defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TsneConfig {
    /// Output dimension (2).
    pub n_components: usize,
    /// Perplexity (30); must be below the number of records.
    pub perplexity: f64,
    /// P's multiplier during the first 250 iterations (12).
    pub early_exaggeration: f64,
    /// `None`: "auto", max(n / early_exaggeration / 4, 50).
    pub learning_rate: Option<f64>,
    /// Total iterations including the 250 exaggerated ones (1000; at least 250).
    pub max_iter: usize,
    /// Phase-2 iterations without KL improvement before stopping (300).
    pub n_iter_without_progress: usize,
    pub init: TsneInit,
}

impl Default for TsneConfig {
    fn default() -> Self {
        Self {
            n_components: 2,
            perplexity: 30.0,
            early_exaggeration: 12.0,
            learning_rate: None,
            max_iter: 1000,
            n_iter_without_progress: 300,
            init: TsneInit::Pca,
        }
    }
}

/// A t-SNE embedding.
#[derive(Clone, Debug, PartialEq)]
pub struct Tsne {
    /// `n × n_components` coordinates, in the order of the input records.
    pub embedding: Vec<Vec<f64>>,
    /// KL(P‖Q) of the final embedding (unexaggerated P).
    pub kl_divergence: f64,
    /// (iteration, KL(P‖Q) with the unexaggerated P) at every check and at the end; the
    /// first entry is the initial embedding (iteration 0).
    pub kl_history: Vec<(usize, f64)>,
    /// The number of iterations run.
    pub n_iter: usize,
    /// The learning rate used.
    pub learning_rate: f64,
}

fn invalid(parameter: &'static str, value: f64, reason: &str) -> FidelityError {
    FidelityError::InvalidParameter {
        metric: METRIC,
        parameter,
        value: value.to_string(),
        reason: reason.to_string(),
    }
}

/// Row-major `n × n` squared Euclidean distances.
fn squared_distances<R: AsRef<[f64]>>(rows: &[R]) -> Vec<f64> {
    let n = rows.len();
    let mut d = vec![0.0; n * n];
    for i in 0..n {
        for j in (i + 1)..n {
            let v = squared_distance(rows[i].as_ref(), rows[j].as_ref());
            d[i * n + j] = v;
            d[j * n + i] = v;
        }
    }
    d
}

/// The conditional distributions p_{j|i} (row i of the row-major `n × n` result; the
/// diagonal is 0) calibrated to `perplexity` from row-major squared distances, and each row's
/// achieved perplexity exp(H_i).
fn conditional_probabilities(sq: &[f64], n: usize, perplexity: f64) -> (Vec<f64>, Vec<f64>) {
    let desired_entropy = perplexity.ln();
    let mut p = vec![0.0; n * n];
    let mut achieved = vec![0.0; n];
    for i in 0..n {
        let row_d = &sq[i * n..(i + 1) * n];
        let row = &mut p[i * n..(i + 1) * n];
        let (mut beta, mut beta_min, mut beta_max) = (1.0, f64::NEG_INFINITY, f64::INFINITY);
        let mut entropy = 0.0;
        for _ in 0..BINARY_SEARCH_STEPS {
            let mut sum = 0.0;
            for j in 0..n {
                if j != i {
                    row[j] = (-row_d[j] * beta).exp();
                    sum += row[j];
                }
            }
            if sum == 0.0 {
                sum = 1e-8_f32 as f64;
            }
            let mut weighted = 0.0;
            for j in 0..n {
                row[j] /= sum;
                weighted += row_d[j] * row[j];
            }
            entropy = sum.ln() + beta * weighted;
            let diff = entropy - desired_entropy;
            if diff.abs() <= PERPLEXITY_TOLERANCE {
                break;
            }
            if diff > 0.0 {
                beta_min = beta;
                beta = if beta_max == f64::INFINITY {
                    beta * 2.0
                } else {
                    (beta + beta_max) / 2.0
                };
            } else {
                beta_max = beta;
                beta = if beta_min == f64::NEG_INFINITY {
                    beta / 2.0
                } else {
                    (beta + beta_min) / 2.0
                };
            }
        }
        achieved[i] = entropy.exp();
    }
    (p, achieved)
}

/// Symmetrised joint probabilities from conditional ones, row-major `n × n` (diagonal 0).
fn symmetrise(conditional: &[f64], n: usize) -> Vec<f64> {
    let mut joint = vec![0.0; n * n];
    let mut total = 0.0;
    for i in 0..n {
        for j in 0..n {
            if i != j {
                let v = conditional[i * n + j] + conditional[j * n + i];
                joint[i * n + j] = v;
                total += v;
            }
        }
    }
    let total = total.max(f64::EPSILON);
    for i in 0..n {
        for j in 0..n {
            if i != j {
                joint[i * n + j] = (joint[i * n + j] / total).max(f64::EPSILON);
            }
        }
    }
    joint
}

/// The joint probabilities P of exact t-SNE (row-major `n × n`, symmetric, diagonal 0) for
/// the row-major squared distances `sq_distances`, as sklearn's `_joint_probabilities`, and
/// each record's achieved perplexity.
///
/// Errors: `sq_distances.len() != n²`, n < 2, a negative or non-finite distance, or a
/// perplexity not in (1, n).
pub fn joint_probabilities(
    sq_distances: &[f64],
    n: usize,
    perplexity: f64,
) -> Result<(Vec<f64>, Vec<f64>), FidelityError> {
    if n < 2 {
        return Err(FidelityError::TooFewValues {
            metric: METRIC,
            what: "records",
            found: n,
            needed: 2,
        });
    }
    if sq_distances.len() != n * n {
        return Err(invalid(
            "the distance matrix length",
            sq_distances.len() as f64,
            &format!("{n} records need {} squared distances", n * n),
        ));
    }
    if let Some((index, &value)) = sq_distances
        .iter()
        .enumerate()
        .find(|(_, v)| !v.is_finite() || **v < 0.0)
    {
        return Err(FidelityError::NonFinite {
            metric: METRIC,
            what: "squared distances (or a negative one)",
            index,
            value,
        });
    }
    if !(perplexity > 1.0 && perplexity < n as f64) {
        return Err(invalid(
            "perplexity",
            perplexity,
            &format!("it must be above 1 and below the number of records ({n})"),
        ));
    }
    let (conditional, achieved) = conditional_probabilities(sq_distances, n, perplexity);
    Ok((symmetrise(&conditional, n), achieved))
}

/// KL(P‖Q) (when `want_kl`) and the gradient for embedding `y` (n × k, row-major).
fn objective(
    p: &[f64],
    y: &[f64],
    n: usize,
    k: usize,
    alpha: f64,
    want_kl: bool,
    grad: &mut [f64],
) -> f64 {
    let exponent = -(alpha + 1.0) / 2.0;
    // w_ij for i < j, in condensed order.
    let mut w = Vec::with_capacity(n * (n - 1) / 2);
    let mut total = 0.0;
    for i in 0..n {
        for j in (i + 1)..n {
            let d2 = squared_distance(&y[i * k..(i + 1) * k], &y[j * k..(j + 1) * k]);
            let v = if alpha == 1.0 {
                1.0 / (1.0 + d2)
            } else {
                (1.0 + d2 / alpha).powf(exponent)
            };
            w.push(v);
            total += v;
        }
    }
    let total = 2.0 * total;
    let c = 2.0 * (alpha + 1.0) / alpha;
    grad.iter_mut().for_each(|g| *g = 0.0);
    let mut kl = 0.0;
    let mut idx = 0;
    for i in 0..n {
        for j in (i + 1)..n {
            let pij = p[i * n + j];
            let q = (w[idx] / total).max(f64::EPSILON);
            if want_kl {
                kl += pij * (pij.max(f64::EPSILON) / q).ln();
            }
            let s = c * (pij - q) * w[idx];
            for t in 0..k {
                let diff = s * (y[i * k + t] - y[j * k + t]);
                grad[i * k + t] += diff;
                grad[j * k + t] -= diff;
            }
            idx += 1;
        }
    }
    2.0 * kl
}

/// The initial embedding (row-major n × k).
fn initial_embedding<R: AsRef<[f64]>>(
    records: &[R],
    config: &TsneConfig,
    rng: &mut ChaCha20Rng,
) -> Result<Vec<f64>, FidelityError> {
    let (n, k) = (records.len(), config.n_components);
    match config.init {
        TsneInit::Random => Ok((0..n * k)
            .map(|_| {
                let z: f64 = StandardNormal.sample(rng);
                1e-4 * z
            })
            .collect()),
        TsneInit::Pca => {
            let d = records[0].as_ref().len();
            if d < k {
                return Err(invalid(
                    "n_components",
                    k as f64,
                    &format!("the PCA initialisation needs at least as many dimensions ({d})"),
                ));
            }
            let z = Pca::fit(records, k)?.transform(records)?;
            let mean = z.iter().map(|r| r[0]).sum::<f64>() / n as f64;
            let var = z.iter().map(|r| (r[0] - mean).powi(2)).sum::<f64>() / n as f64;
            let sd = var.sqrt();
            if sd <= 0.0 {
                return Err(FidelityError::Degenerate {
                    metric: METRIC,
                    reason: "the first principal coordinate is constant, so the PCA initialisation cannot be scaled",
                });
            }
            Ok(z.iter().flatten().map(|v| v / sd * 1e-4).collect())
        }
    }
}

/// One optimisation phase (sklearn's `_gradient_descent` call): it runs from the iteration
/// after the previous phase's last one to `end` (exclusive).
struct Phase {
    end: usize,
    momentum: f64,
    n_iter_without_progress: usize,
    exaggeration: f64,
}

/// The exact t-SNE embedding of `records` (see the module docs); `rng` is used only by
/// [`TsneInit::Random`].
///
/// Errors: fewer than 2 or more than [`MAX_EXACT_TSNE_RECORDS`] records, empty or ragged
/// rows, a non-finite value, a perplexity not in (1, n), `n_components` = 0,
/// `max_iter` < 250, a non-positive learning rate or exaggeration, or a degenerate PCA
/// initialisation (all records equal).
pub fn tsne<R: AsRef<[f64]>>(
    records: &[R],
    config: &TsneConfig,
    rng: &mut ChaCha20Rng,
) -> Result<Tsne, FidelityError> {
    let n = records.len();
    if n > MAX_EXACT_TSNE_RECORDS {
        return Err(FidelityError::TooManyValues {
            metric: METRIC,
            found: n,
            limit: MAX_EXACT_TSNE_RECORDS,
        });
    }
    let d = records.first().map_or(0, |r| r.as_ref().len());
    check_rows(METRIC, "records", records, d, 2)?;
    let k = config.n_components;
    if k == 0 {
        return Err(invalid("n_components", 0.0, "it must be at least 1"));
    }
    if config.max_iter < EXPLORATION_ITER {
        return Err(invalid(
            "max_iter",
            config.max_iter as f64,
            "it must be at least 250 (the early-exaggeration iterations)",
        ));
    }
    if !(config.early_exaggeration > 0.0 && config.early_exaggeration.is_finite()) {
        return Err(invalid(
            "early_exaggeration",
            config.early_exaggeration,
            "it must be positive",
        ));
    }
    let learning_rate = match config.learning_rate {
        None => (n as f64 / config.early_exaggeration / 4.0).max(50.0),
        Some(lr) if lr > 0.0 && lr.is_finite() => lr,
        Some(lr) => return Err(invalid("learning_rate", lr, "it must be positive")),
    };
    let (mut p, _) = joint_probabilities(&squared_distances(records), n, config.perplexity)?;
    let mut y = initial_embedding(records, config, rng)?;
    let alpha = (k as f64 - 1.0).max(1.0);
    let mut grad = vec![0.0; n * k];
    // KL(P‖Q) with the unexaggerated P = p / scale (`grad` is overwritten).
    let kl_true = |p: &[f64], y: &[f64], scale: f64, grad: &mut [f64]| {
        let unscaled: Vec<f64> = p.iter().map(|v| v / scale).collect();
        objective(&unscaled, y, n, k, alpha, true, grad)
    };
    let mut history = vec![(0, kl_true(&p, &y, 1.0, &mut grad))];
    let phases = [
        Phase {
            end: EXPLORATION_ITER,
            momentum: 0.5,
            n_iter_without_progress: EXPLORATION_ITER,
            exaggeration: config.early_exaggeration,
        },
        Phase {
            end: config.max_iter,
            momentum: 0.8,
            n_iter_without_progress: config.n_iter_without_progress,
            exaggeration: 1.0,
        },
    ];
    let mut last = 0;
    let mut kl = f64::NAN;
    for (index, phase) in phases.iter().enumerate() {
        let start = if index == 0 { 0 } else { last + 1 };
        if start >= phase.end {
            break;
        }
        if phase.exaggeration != 1.0 {
            p.iter_mut().for_each(|v| *v *= phase.exaggeration);
        }
        let mut update = vec![0.0f64; n * k];
        let mut gains = vec![1.0f64; n * k];
        let (mut best_error, mut best_iter) = (f64::MAX, start);
        last = start;
        for i in start..phase.end {
            last = i;
            let check = (i + 1) % CHECK_EVERY == 0;
            let error = objective(&p, &y, n, k, alpha, check || i + 1 == phase.end, &mut grad);
            for t in 0..n * k {
                if update[t] * grad[t] < 0.0 {
                    gains[t] += 0.2;
                } else {
                    gains[t] *= 0.8;
                }
                gains[t] = gains[t].max(MIN_GAIN);
                grad[t] *= gains[t];
                update[t] = phase.momentum * update[t] - learning_rate * grad[t];
                y[t] += update[t];
            }
            if check {
                let grad_norm = grad.iter().map(|g| g * g).sum::<f64>().sqrt();
                let mut scratch = vec![0.0; n * k];
                history.push((i + 1, kl_true(&p, &y, phase.exaggeration, &mut scratch)));
                if error < best_error {
                    best_error = error;
                    best_iter = i;
                } else if i - best_iter > phase.n_iter_without_progress {
                    break;
                }
                if grad_norm <= MIN_GRAD_NORM {
                    break;
                }
            }
        }
        if phase.exaggeration != 1.0 {
            p.iter_mut().for_each(|v| *v /= phase.exaggeration);
        }
        kl = kl_true(&p, &y, 1.0, &mut grad);
    }
    if history.last().map(|h| h.0) != Some(last + 1) {
        history.push((last + 1, kl));
    }
    Ok(Tsne {
        embedding: y.chunks(k).map(<[f64]>::to_vec).collect(),
        kl_divergence: kl,
        kl_history: history,
        n_iter: last + 1,
        learning_rate,
    })
}

#[cfg(test)]
mod tests {
    use super::super::fixture::load_quality;
    use super::*;
    use rand::SeedableRng;

    #[derive(serde::Deserialize)]
    struct Case {
        name: String,
        n: usize,
        perplexity: f64,
        /// Condensed (i < j) float32 squared distances.
        sq_distances: Vec<f64>,
        row_perplexity: Vec<f64>,
        /// Condensed (i < j) joint probabilities.
        joint_p: Vec<f64>,
    }

    fn square(condensed: &[f64], n: usize) -> Vec<f64> {
        let mut m = vec![0.0; n * n];
        let mut idx = 0;
        for i in 0..n {
            for j in (i + 1)..n {
                m[i * n + j] = condensed[idx];
                m[j * n + i] = condensed[idx];
                idx += 1;
            }
        }
        m
    }

    /// Same distances, same binary search (steps and float32 tolerance) as sklearn's Cython:
    /// joint P to 1e-12 relative (only summation order differs); each row's perplexity to
    /// 1e-9 relative of numpy's exp(−Σ p ln p), and within the search tolerance of the target
    /// (|H − ln perplexity| ≤ 1e-5 ⇒ relative 1.00001).
    #[test]
    fn joint_probabilities_match_sklearn() {
        let cases: Vec<Case> = serde_json::from_value(load_quality()["tsne_p"].clone()).unwrap();
        assert_eq!(cases.len(), 2);
        for c in &cases {
            let sq = square(&c.sq_distances, c.n);
            let (p, achieved) = joint_probabilities(&sq, c.n, c.perplexity).unwrap();
            let want = square(&c.joint_p, c.n);
            for (idx, (a, b)) in p.iter().zip(&want).enumerate() {
                assert!(
                    (a - b).abs() <= 1e-12 * b.abs(),
                    "{}: P[{idx}] {a} vs sklearn {b}",
                    c.name
                );
            }
            let total: f64 = p.iter().sum();
            assert!((total - 1.0).abs() < 1e-12, "{}: Σ P = {total}", c.name);
            for (i, (a, b)) in achieved.iter().zip(&c.row_perplexity).enumerate() {
                assert!((a - b).abs() <= 1e-9 * b, "{}: row {i}: {a} vs {b}", c.name);
                assert!(
                    (a / c.perplexity).ln().abs() <= 1.0001e-5,
                    "{}: row {i}",
                    c.name
                );
            }
            // The conditional rows sum to 1.
            let (cond, _) = conditional_probabilities(&sq, c.n, c.perplexity);
            for row in cond.chunks(c.n) {
                assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-12);
            }
        }
    }

    /// Three well-separated Gaussian blobs (σ = 1, centres 15 apart in 5-D).
    fn blobs(n_per: usize, seed: u64) -> (Vec<Vec<f64>>, Vec<usize>) {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let centres = [
            [0.0; 5],
            [15.0, 0.0, 0.0, 0.0, 0.0],
            [0.0, 15.0, 0.0, 0.0, 15.0],
        ];
        let mut x = Vec::new();
        let mut labels = Vec::new();
        for (label, c) in centres.iter().enumerate() {
            for _ in 0..n_per {
                x.push(
                    c.iter()
                        .map(|m| {
                            let z: f64 = StandardNormal.sample(&mut rng);
                            m + z
                        })
                        .collect::<Vec<f64>>(),
                );
                labels.push(label);
            }
        }
        (x, labels)
    }

    /// Share of points whose nearest other point in `emb` has the same label.
    fn nn_agreement(emb: &[Vec<f64>], labels: &[usize]) -> f64 {
        let mut agree = 0;
        for (i, a) in emb.iter().enumerate() {
            let nearest = (0..emb.len())
                .filter(|&j| j != i)
                .min_by(|&j, &l| {
                    squared_distance(a, &emb[j]).total_cmp(&squared_distance(a, &emb[l]))
                })
                .unwrap();
            agree += usize::from(labels[nearest] == labels[i]);
        }
        agree as f64 / emb.len() as f64
    }

    /// 3 blobs of 40 points, sklearn's defaults, with the PCA and with a random
    /// initialisation (where the separation is all the optimiser's work): the nearest embedded neighbour has the same
    /// blob label for ≥ 95 % of the points, the blobs' embedded centroids are far apart
    /// relative to their spread, and KL(P‖Q) falls from the initial embedding to the end and
    /// never rises between checks of the unexaggerated phase by more than 1e-3.
    #[test]
    fn separated_clusters_stay_separated_and_kl_decreases() {
        let (x, labels) = blobs(40, 3);
        let out = tsne(
            &x,
            &TsneConfig::default(),
            &mut ChaCha20Rng::seed_from_u64(0),
        )
        .unwrap();
        assert_eq!(out.embedding.len(), 120);
        assert_eq!(out.learning_rate, 50.0);
        let agreement = nn_agreement(&out.embedding, &labels);
        assert!(
            agreement >= 0.95,
            "nearest-neighbour label agreement {agreement}"
        );
        let centroid = |l: usize| -> Vec<f64> {
            let pts: Vec<&Vec<f64>> = out
                .embedding
                .iter()
                .zip(&labels)
                .filter(|(_, &m)| m == l)
                .map(|(p, _)| p)
                .collect();
            (0..2)
                .map(|t| pts.iter().map(|p| p[t]).sum::<f64>() / pts.len() as f64)
                .collect()
        };
        let spread = |l: usize| -> f64 {
            let c = centroid(l);
            let pts: Vec<&Vec<f64>> = out
                .embedding
                .iter()
                .zip(&labels)
                .filter(|(_, &m)| m == l)
                .map(|(p, _)| p)
                .collect();
            (pts.iter().map(|p| squared_distance(p, &c)).sum::<f64>() / pts.len() as f64).sqrt()
        };
        for (a, b) in [(0, 1), (0, 2), (1, 2)] {
            let gap = squared_distance(&centroid(a), &centroid(b)).sqrt();
            assert!(
                gap > 2.0 * (spread(a) + spread(b)),
                "blobs {a}, {b}: gap {gap}"
            );
        }
        let first = out.kl_history[0].1;
        assert!(
            out.kl_divergence < 0.5 * first,
            "KL {first} → {}",
            out.kl_divergence
        );
        let late: Vec<f64> = out
            .kl_history
            .iter()
            .filter(|(it, _)| *it > EXPLORATION_ITER)
            .map(|h| h.1)
            .collect();
        assert!(late.len() >= 10, "{:?}", out.kl_history);
        for w in late.windows(2) {
            assert!(w[1] <= w[0] + 1e-3, "KL rose: {:?}", out.kl_history);
        }
        assert_eq!(out.kl_history.last().unwrap().1, out.kl_divergence);
    }

    #[derive(serde::Deserialize)]
    struct Run {
        x: Vec<Vec<f64>>,
        perplexity: f64,
        kl_random_init: Vec<f64>,
        y0: Vec<Vec<f64>>,
        kl_at_y0: f64,
        grad_at_y0: Vec<f64>,
    }

    /// The objective equals sklearn's `_kl_divergence` at a fixed embedding, with P from the
    /// same float32 distances: KL and every gradient entry to 1e-12 relative (of the largest
    /// gradient entry for the gradient).
    #[test]
    fn objective_matches_sklearn_kl_divergence() {
        let q = load_quality();
        let run: Run = serde_json::from_value(q["tsne_run"].clone()).unwrap();
        let cases: Vec<Case> = serde_json::from_value(q["tsne_p"].clone()).unwrap();
        let blobs = &cases[0];
        let (p, _) =
            joint_probabilities(&square(&blobs.sq_distances, blobs.n), blobs.n, 10.0).unwrap();
        let y: Vec<f64> = run.y0.iter().flatten().copied().collect();
        let mut grad = vec![0.0; y.len()];
        let kl = objective(&p, &y, blobs.n, 2, 1.0, true, &mut grad);
        assert!(
            (kl - run.kl_at_y0).abs() <= 1e-12 * run.kl_at_y0,
            "{kl} vs {}",
            run.kl_at_y0
        );
        let scale = run.grad_at_y0.iter().fold(0.0f64, |m, g| m.max(g.abs()));
        for (a, b) in grad.iter().zip(&run.grad_at_y0) {
            assert!((a - b).abs() <= 1e-12 * scale, "gradient {a} vs {b}");
        }
    }

    /// The optimiser reaches the quality of sklearn's on the same records and settings.
    /// Coordinates and single runs are not comparable (1000 iterations amplify rounding
    /// into different local minima: sklearn's own KL moves from 0.127 to 0.150 when its PCA
    /// initialisation is passed as float64, and ours with the PCA initialisation is 0.176), so
    /// the median final KL over five random initialisations must lie within ±20 % of the
    /// median of sklearn's over `random_state` 0..5 (observed: 0.126 against 0.136).
    #[test]
    fn reaches_sklearns_kl_divergence() {
        let run: Run = serde_json::from_value(load_quality()["tsne_run"].clone()).unwrap();
        let cfg = TsneConfig {
            perplexity: run.perplexity,
            init: TsneInit::Random,
            ..TsneConfig::default()
        };
        let median = |mut v: Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let ours = median(
            (0..5)
                .map(|seed| {
                    tsne(&run.x, &cfg, &mut ChaCha20Rng::seed_from_u64(seed))
                        .unwrap()
                        .kl_divergence
                })
                .collect(),
        );
        let theirs = median(run.kl_random_init.clone());
        assert!(
            (0.8..1.2).contains(&(ours / theirs)),
            "median KL {ours} vs sklearn {theirs}"
        );
    }

    /// The PCA initialisation makes the result independent of the RNG; the random one is a
    /// function of the seed.
    #[test]
    fn deterministic() {
        let (x, _) = blobs(10, 9);
        let cfg = TsneConfig {
            perplexity: 8.0,
            max_iter: 300,
            ..TsneConfig::default()
        };
        let a = tsne(&x, &cfg, &mut ChaCha20Rng::seed_from_u64(1)).unwrap();
        let b = tsne(&x, &cfg, &mut ChaCha20Rng::seed_from_u64(2)).unwrap();
        assert_eq!(a, b);
        let random = TsneConfig {
            init: TsneInit::Random,
            ..cfg
        };
        let c = tsne(&x, &random, &mut ChaCha20Rng::seed_from_u64(1)).unwrap();
        let d = tsne(&x, &random, &mut ChaCha20Rng::seed_from_u64(1)).unwrap();
        let e = tsne(&x, &random, &mut ChaCha20Rng::seed_from_u64(2)).unwrap();
        assert_eq!(c, d);
        assert_ne!(c.embedding, e.embedding);
        assert_eq!(a.n_iter, 300);
    }

    #[test]
    fn bad_input_is_an_error() {
        let mut rng = ChaCha20Rng::seed_from_u64(0);
        let (x, _) = blobs(4, 1);
        let cfg = TsneConfig::default();
        // perplexity 30 ≥ 12 records.
        assert!(matches!(
            tsne(&x, &cfg, &mut rng),
            Err(FidelityError::InvalidParameter {
                parameter: "perplexity",
                ..
            })
        ));
        let small = TsneConfig {
            perplexity: 3.0,
            ..cfg
        };
        assert!(matches!(
            tsne(
                &x,
                &TsneConfig {
                    max_iter: 100,
                    ..small
                },
                &mut rng
            ),
            Err(FidelityError::InvalidParameter {
                parameter: "max_iter",
                ..
            })
        ));
        assert!(matches!(
            tsne(
                &x,
                &TsneConfig {
                    learning_rate: Some(-1.0),
                    ..small
                },
                &mut rng
            ),
            Err(FidelityError::InvalidParameter {
                parameter: "learning_rate",
                ..
            })
        ));
        let same = vec![vec![1.0, 2.0]; 12];
        assert!(matches!(
            tsne(&same, &small, &mut rng),
            Err(FidelityError::Degenerate { .. })
        ));
        let big = vec![vec![0.0]; MAX_EXACT_TSNE_RECORDS + 1];
        assert!(matches!(
            tsne(&big, &small, &mut rng),
            Err(FidelityError::TooManyValues { .. })
        ));
        let mut ragged = x.clone();
        ragged[3].push(1.0);
        assert!(matches!(
            tsne(&ragged, &small, &mut rng),
            Err(FidelityError::RaggedRows { row: 3, .. })
        ));
        assert!(joint_probabilities(&[0.0, -1.0, -1.0, 0.0], 2, 1.5).is_err());
    }
}
