//! The quality report of one synthetic sample, assembled from [`super::fidelity`] and
//! [`super::leakage`]: how faithful it is to a real sample (marginals, per-window statistics,
//! MMD², correlation, autocorrelation, spectra, the reference's C2ST) and what it leaks about
//! the generator's training windows against held-out real windows (DCR, the distance attack).
//!
//! Quadratic metrics (MMD², C2ST, DCR and the distance attack) run on at most
//! [`QualityOptions::max_pairwise`] windows per set, drawn without replacement by a ChaCha
//! stream from [`QualityOptions::seed`] (sorted, so the draw is reproducible and
//! order-independent); the report states the sizes actually used.
//!
//! The numbers a campaign table can show are [`QualityReport::scalars`], under the names in
//! [`SCALAR_METRICS`].
//!
//! May depend on: fidelity, leakage, rand / rand_chacha (the subsample), serde, thiserror.
//! Pure: no tch, no IO.

use rand::seq::index::sample;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde::Serialize;

use super::domias::{domias_attack_pca, DEFAULT_DOMIAS_COMPONENTS};
use super::fidelity::{
    autocorrelation_distance, c2st_knn2, frobenius_distance, ks_2samp, mmd2_permutation_test, prdc,
    psd_distance, wasserstein_distance, C2st, FidelityError, KsResult, MmdTest, Prdc, Windows,
    DEFAULT_PRDC_K, WINDOW_STATS,
};
use super::leakage::{dcr_summary, distance_attack, AttackResult, DcrSummary, LeakageError};

/// Why a quality report cannot be made. Messages read after "failed to …".
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QualityError {
    #[error(
        "compare {a} with {b}: {a} has windows of {ta} steps × {ca} channels, {b} of {tb} × {cb}"
    )]
    ShapeMismatch {
        a: &'static str,
        b: &'static str,
        ta: usize,
        ca: usize,
        tb: usize,
        cb: usize,
    },
    #[error("name the channels: {found} names for windows of {expected} channels")]
    ChannelNames { expected: usize, found: usize },
    #[error(transparent)]
    Fidelity(#[from] FidelityError),
    #[error(transparent)]
    Leakage(#[from] LeakageError),
}

/// Sizes and seeds of the report's computations.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct QualityOptions {
    /// Permutations of the MMD² test.
    pub permutations: usize,
    /// At most this many windows per set enter a quadratic metric.
    pub max_pairwise: usize,
    /// Autocorrelation lags compared (1..=max_lag).
    pub acf_max_lag: usize,
    /// Seed of the subsample and of the permutations.
    pub seed: u64,
}

impl Default for QualityOptions {
    fn default() -> Self {
        Self {
            permutations: 200,
            max_pairwise: 1500,
            acf_max_lag: 10,
            seed: 0,
        }
    }
}

/// A two-sample comparison of one channel.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ChannelComparison {
    pub channel: String,
    pub ks: KsResult,
    pub wasserstein: f64,
}

/// The comparisons of one per-window statistic (see [`WINDOW_STATS`]), per channel.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StatComparison {
    pub statistic: String,
    pub channels: Vec<ChannelComparison>,
}

/// Fidelity of a synthetic sample to a real one.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FidelityReport {
    pub real_windows: usize,
    pub synthetic_windows: usize,
    /// Every value of a channel, pooled over windows and time steps.
    pub marginals: Vec<ChannelComparison>,
    pub window_stats: Vec<StatComparison>,
    /// MMD² on windows flattened row-major (time, channel).
    pub mmd: MmdTest,
    /// (real, synthetic) windows the MMD² and the C2ST used.
    pub pairwise_windows: (usize, usize),
    /// Row-major c × c Pearson correlation matrices over all time points.
    pub correlation_real: Vec<f64>,
    pub correlation_synthetic: Vec<f64>,
    pub correlation_frobenius: f64,
    /// Per channel: mean absolute difference of the mean autocorrelation at lags 1..=max_lag.
    pub acf_distance: Vec<f64>,
    /// Per channel: L1 distance of the normalised mean Welch spectra (one segment per window).
    pub psd_distance: Vec<f64>,
    pub c2st: C2st,
    /// Precision, recall, density and coverage (k = [`DEFAULT_PRDC_K`]) of the flattened
    /// windows, on the same subsample.
    pub prdc: Prdc,
}

/// The DOMIAS density-ratio attack as run here: the attacker's reference set is every other
/// held-out window (in order), the non-members are the rest; windows are reduced to
/// `components` principal components of the reference set.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DomiasReport {
    pub components: usize,
    pub reference: usize,
    pub attack: AttackResult,
}

/// What a synthetic sample leaks about its generator's training windows.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LeakageReport {
    /// Training windows and held-out windows (after the subsample).
    pub members: usize,
    pub holdout: usize,
    pub synthetic: usize,
    pub dcr: DcrSummary,
    pub distance_attack: AttackResult,
    /// `None` with the reason in `domias_skipped` when the holdout is too small to split.
    pub domias: Option<DomiasReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domias_skipped: Option<String>,
}

/// Scores of small models trained to tell real from synthetic windows or to predict them
/// (TimeGAN's post-hoc scores; computed by `training::quality`, which needs libtorch).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ModelScores {
    /// Held-out accuracy of the real-vs-synthetic GRU classifier.
    pub discriminative_accuracy: f64,
    /// |accuracy − 0.5| (0: indistinguishable).
    pub discriminative_score: f64,
    /// One-step-ahead MAE on real held-out windows of a GRU predictor trained on the synthetic
    /// windows, and of the same predictor trained on real windows (the reference point).
    pub predictive_mae: f64,
    pub predictive_mae_real_trained: f64,
    pub iterations: usize,
}

/// A canary audit of a private mechanism's single step (computed by `training::quality`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AuditSummary {
    /// What was audited.
    pub mechanism: String,
    /// The empirical ε lower bound (valid with probability `confidence`).
    pub eps_lower: f64,
    /// The accountant's ε for that one step, at the same δ.
    pub claimed_epsilon: Option<f64>,
    pub delta: f64,
    pub confidence: f64,
    pub trials: usize,
    pub noise_multiplier: f64,
    pub clip_norm: f64,
}

/// Fidelity and, where the training and held-out windows were given, leakage.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QualityReport {
    pub options: QualityOptions,
    pub channels: Vec<String>,
    pub fidelity: FidelityReport,
    pub leakage: Option<LeakageReport>,
    /// Filled by callers that can train models (`None`: not computed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_scores: Option<ModelScores>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit: Option<AuditSummary>,
}

/// The scalar metrics a table can show, in [`QualityReport::scalars`] order, with what each is.
pub const SCALAR_METRICS: [(&str, &str); 16] = [
    (
        "mmd2",
        "unbiased MMD² of flattened windows, median-heuristic RBF",
    ),
    ("mmd_pvalue", "permutation p-value of the MMD²"),
    (
        "c2st_accuracy",
        "2-NN classifier two-sample test accuracy (0.5 = indistinguishable)",
    ),
    (
        "marginal_ks_mean",
        "mean over channels of the marginal KS statistic",
    ),
    (
        "correlation_frobenius",
        "Frobenius distance of the channel correlation matrices",
    ),
    (
        "psd_distance_mean",
        "mean over channels of the spectral-shape L1 distance",
    ),
    (
        "prdc_precision",
        "share of synthetic windows inside the real k-NN balls",
    ),
    (
        "prdc_recall",
        "share of real windows inside the synthetic k-NN balls",
    ),
    (
        "prdc_density",
        "mean count of real k-NN balls holding a synthetic window, over k",
    ),
    (
        "prdc_coverage",
        "share of real windows whose k-NN ball holds a synthetic window",
    ),
    (
        "mia_auc",
        "distance membership-inference AUC (0.5 = no leakage)",
    ),
    (
        "dcr_ratio",
        "median DCR to training over median DCR to holdout (< 1 = closer to training)",
    ),
    (
        "domias_auc",
        "DOMIAS density-ratio membership-inference AUC (0.5 = no leakage)",
    ),
    (
        "discriminative_score",
        "|held-out accuracy − 0.5| of a GRU real-vs-synthetic classifier",
    ),
    (
        "predictive_mae",
        "one-step-ahead MAE on real windows of a GRU trained on synthetic ones",
    ),
    (
        "audit_eps_lower",
        "empirical ε lower bound of one private step (canary audit)",
    ),
];

impl QualityReport {
    /// The headline numbers by [`SCALAR_METRICS`] name; leakage ones only when measured.
    pub fn scalars(&self) -> Vec<(&'static str, f64)> {
        let f = &self.fidelity;
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
        let ks: Vec<f64> = f.marginals.iter().map(|c| c.ks.statistic).collect();
        let mut out = vec![
            ("mmd2", f.mmd.mmd2),
            ("mmd_pvalue", f.mmd.pvalue),
            ("c2st_accuracy", f.c2st.accuracy),
            ("marginal_ks_mean", mean(&ks)),
            ("correlation_frobenius", f.correlation_frobenius),
            ("psd_distance_mean", mean(&f.psd_distance)),
            ("prdc_precision", f.prdc.precision),
            ("prdc_recall", f.prdc.recall),
            ("prdc_density", f.prdc.density),
            ("prdc_coverage", f.prdc.coverage),
        ];
        if let Some(l) = &self.leakage {
            out.push(("mia_auc", l.distance_attack.auc));
            out.push(("dcr_ratio", l.dcr.ratio));
            if let Some(d) = &l.domias {
                out.push(("domias_auc", d.attack.auc));
            }
        }
        if let Some(m) = &self.model_scores {
            out.push(("discriminative_score", m.discriminative_score));
            out.push(("predictive_mae", m.predictive_mae));
        }
        if let Some(a) = &self.audit {
            out.push(("audit_eps_lower", a.eps_lower));
        }
        out
    }
}

fn same_shape(
    a: (&'static str, &Windows<'_>),
    b: (&'static str, &Windows<'_>),
) -> Result<(), QualityError> {
    if a.1.t != b.1.t || a.1.c != b.1.c {
        return Err(QualityError::ShapeMismatch {
            a: a.0,
            b: b.0,
            ta: a.1.t,
            ca: a.1.c,
            tb: b.1.t,
            cb: b.1.c,
        });
    }
    Ok(())
}

/// Indices of at most `max` of `n` windows, drawn without replacement from `rng` and sorted
/// (all of them, drawing nothing, when `n <= max`).
pub fn subsample(n: usize, max: usize, rng: &mut ChaCha20Rng) -> Vec<usize> {
    if n <= max {
        return (0..n).collect();
    }
    let mut idx = sample(rng, n, max).into_vec();
    idx.sort_unstable();
    idx
}

/// Windows `idx` of `w`, each flattened row-major (time, channel).
fn flat_rows(w: &Windows<'_>, idx: &[usize]) -> Vec<Vec<f64>> {
    idx.iter()
        .map(|&i| {
            (0..w.t)
                .flat_map(|s| (0..w.c).map(move |ch| (s, ch)))
                .map(|(s, ch)| w.value(i, s, ch))
                .collect()
        })
        .collect()
}

fn compare(channel: &str, x: &[f64], y: &[f64]) -> Result<ChannelComparison, QualityError> {
    Ok(ChannelComparison {
        channel: channel.to_string(),
        ks: ks_2samp(x, y)?,
        wasserstein: wasserstein_distance(x, y)?,
    })
}

/// The fidelity of `synthetic` to `real` (same window shape; `channels` names each channel).
///
/// Errors: a shape mismatch, wrong channel names, or what a metric refuses (too few windows
/// for the C2ST, a zero MMD bandwidth, …).
pub fn fidelity(
    real: &Windows<'_>,
    synthetic: &Windows<'_>,
    channels: &[&str],
    opts: &QualityOptions,
) -> Result<FidelityReport, QualityError> {
    same_shape(
        ("the real windows", real),
        ("the synthetic windows", synthetic),
    )?;
    if channels.len() != real.c {
        return Err(QualityError::ChannelNames {
            expected: real.c,
            found: channels.len(),
        });
    }
    let column = |w: &Windows<'_>, ch: usize| -> Vec<f64> {
        (0..w.n)
            .flat_map(|i| (0..w.t).map(move |s| (i, s)))
            .map(|(i, s)| w.value(i, s, ch))
            .collect()
    };
    let marginals = channels
        .iter()
        .enumerate()
        .map(|(ch, name)| compare(name, &column(real, ch), &column(synthetic, ch)))
        .collect::<Result<Vec<_>, _>>()?;
    let (rs, ss) = (real.window_stats(), synthetic.window_stats());
    let window_stats = WINDOW_STATS
        .iter()
        .enumerate()
        .map(|(k, stat)| {
            Ok(StatComparison {
                statistic: stat.to_string(),
                channels: channels
                    .iter()
                    .enumerate()
                    .map(|(ch, name)| compare(name, &rs[k][ch], &ss[k][ch]))
                    .collect::<Result<Vec<_>, QualityError>>()?,
            })
        })
        .collect::<Result<Vec<_>, QualityError>>()?;

    let mut rng = ChaCha20Rng::seed_from_u64(opts.seed);
    let ri = subsample(real.n, opts.max_pairwise, &mut rng);
    let si = subsample(synthetic.n, opts.max_pairwise, &mut rng);
    let (rflat, sflat) = (flat_rows(real, &ri), flat_rows(synthetic, &si));
    let mmd = mmd2_permutation_test(&rflat, &sflat, opts.permutations, &mut rng)?;
    let prdc = prdc(&rflat, &sflat, DEFAULT_PRDC_K)?;
    // The same windows, contiguous again, for the C2ST (which takes [`Windows`]).
    let (rbuf, sbuf) = (rflat.concat(), sflat.concat());
    let c2st = c2st_knn2(
        &Windows::new(&rbuf, ri.len(), real.t, real.c)?,
        &Windows::new(&sbuf, si.len(), real.t, real.c)?,
    )?;
    let (correlation_real, correlation_synthetic) =
        (real.channel_correlation(), synthetic.channel_correlation());
    Ok(FidelityReport {
        real_windows: real.n,
        synthetic_windows: synthetic.n,
        marginals,
        window_stats,
        mmd,
        pairwise_windows: (ri.len(), si.len()),
        correlation_frobenius: frobenius_distance(&correlation_real, &correlation_synthetic),
        correlation_real,
        correlation_synthetic,
        acf_distance: autocorrelation_distance(real, synthetic, opts.acf_max_lag),
        psd_distance: psd_distance(real, synthetic, real.t)?,
        c2st,
        prdc,
    })
}

/// What `synthetic` leaks about `members` (the generator's training windows) against
/// `holdout` (real windows it never saw).
///
/// Errors: a shape mismatch or an empty set.
pub fn leakage(
    synthetic: &Windows<'_>,
    members: &Windows<'_>,
    holdout: &Windows<'_>,
    opts: &QualityOptions,
) -> Result<LeakageReport, QualityError> {
    same_shape(
        ("the training windows", members),
        ("the synthetic windows", synthetic),
    )?;
    same_shape(
        ("the training windows", members),
        ("the holdout windows", holdout),
    )?;
    // A stream of its own, so that leakage does not shift with the fidelity computations.
    let mut rng = ChaCha20Rng::seed_from_u64(opts.seed ^ 0x6c65_616b_6167_6521);
    let mi = subsample(members.n, opts.max_pairwise, &mut rng);
    let hi = subsample(holdout.n, opts.max_pairwise, &mut rng);
    let si = subsample(synthetic.n, opts.max_pairwise, &mut rng);
    let (m, h, s) = (
        flat_rows(members, &mi),
        flat_rows(holdout, &hi),
        flat_rows(synthetic, &si),
    );
    let (domias, domias_skipped) = match domias(&s, &m, &h) {
        Ok(d) => (Some(d), None),
        Err(why) => (None, Some(why)),
    };
    Ok(LeakageReport {
        members: m.len(),
        holdout: h.len(),
        synthetic: s.len(),
        dcr: dcr_summary(&s, &m, &h)?,
        distance_attack: distance_attack(&s, &m, &h)?,
        domias,
        domias_skipped,
    })
}

/// DOMIAS with every other held-out window as the attacker's reference set (see
/// [`DomiasReport`]); the reason as text when it cannot run (too few held-out windows for a
/// KDE in the reduced space, a singular reference covariance).
fn domias(
    synthetic: &[Vec<f64>],
    members: &[Vec<f64>],
    holdout: &[Vec<f64>],
) -> Result<DomiasReport, String> {
    let k = DEFAULT_DOMIAS_COMPONENTS;
    let reference: Vec<Vec<f64>> = holdout.iter().step_by(2).cloned().collect();
    let non_members: Vec<Vec<f64>> = holdout.iter().skip(1).step_by(2).cloned().collect();
    // A KDE in k dimensions needs more than k records; ask for twice that.
    if reference.len() < 2 * (k + 1) || non_members.is_empty() {
        return Err(format!(
            "DOMIAS not run: {} held-out windows give a reference set of {} (at least {} are needed for a {k}-dimensional KDE)",
            holdout.len(),
            reference.len(),
            2 * (k + 1)
        ));
    }
    domias_attack_pca(synthetic, &reference, members, &non_members, k)
        .map(|attack| DomiasReport {
            components: k,
            reference: reference.len(),
            attack,
        })
        .map_err(|e| format!("DOMIAS not run: {e}"))
}

/// The whole report: fidelity of `synthetic` to `real`, and leakage when `members_holdout`
/// gives the generator's training windows and held-out windows.
pub fn quality_report(
    real: &Windows<'_>,
    synthetic: &Windows<'_>,
    members_holdout: Option<(&Windows<'_>, &Windows<'_>)>,
    channels: &[&str],
    opts: &QualityOptions,
) -> Result<QualityReport, QualityError> {
    Ok(QualityReport {
        options: *opts,
        channels: channels.iter().map(|c| c.to_string()).collect(),
        fidelity: fidelity(real, synthetic, channels, opts)?,
        leakage: members_holdout
            .map(|(m, h)| leakage(synthetic, m, h, opts))
            .transpose()?,
        model_scores: None,
        audit: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    const CH: [&str; 2] = ["a", "b"];

    /// `n` windows of 20 steps × 2 channels: a noisy sine (phase random) and its noisy copy.
    fn sines(rng: &mut ChaCha20Rng, n: usize, freq: f64) -> Vec<f64> {
        let mut v = Vec::with_capacity(n * 40);
        for _ in 0..n {
            let phase: f64 = rng.random::<f64>() * std::f64::consts::TAU;
            for s in 0..20 {
                let x = (freq * s as f64 + phase).sin();
                v.push(x + 0.1 * rng.random::<f64>());
                v.push(0.5 * x + 0.1 * rng.random::<f64>());
            }
        }
        v
    }

    fn opts() -> QualityOptions {
        QualityOptions {
            permutations: 50,
            max_pairwise: 120,
            acf_max_lag: 5,
            seed: 3,
        }
    }

    #[test]
    fn a_fresh_sample_is_faithful_and_a_different_one_is_not() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let (real, same, other) = (
            sines(&mut rng, 150, 0.5),
            sines(&mut rng, 150, 0.5),
            sines(&mut rng, 150, 1.7),
        );
        let w = |v: &[f64]| -> Vec<f64> { v.to_vec() };
        let (a, b, c) = (w(&real), w(&same), w(&other));
        let (ra, rb, rc) = (
            Windows::new(&a, 150, 20, 2).unwrap(),
            Windows::new(&b, 150, 20, 2).unwrap(),
            Windows::new(&c, 150, 20, 2).unwrap(),
        );
        let good = fidelity(&ra, &rb, &CH, &opts()).unwrap();
        let bad = fidelity(&ra, &rc, &CH, &opts()).unwrap();
        assert_eq!(good.pairwise_windows, (120, 120));
        assert!(good.mmd.pvalue > 0.05, "{:?}", good.mmd);
        assert!(
            bad.mmd.pvalue < 0.05 && bad.mmd.mmd2 > good.mmd.mmd2,
            "{:?}",
            bad.mmd
        );
        assert!(
            bad.c2st.accuracy > good.c2st.accuracy + 0.2,
            "{:?} {:?}",
            bad.c2st,
            good.c2st
        );
        let psd = |r: &FidelityReport| r.psd_distance.iter().sum::<f64>();
        assert!(psd(&bad) > 3.0 * psd(&good));
        assert_eq!(good.window_stats.len(), WINDOW_STATS.len());
        assert!(
            good.correlation_frobenius < 0.05,
            "{}",
            good.correlation_frobenius
        );
    }

    #[test]
    fn copies_leak_and_the_scalars_name_them() {
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let (train, hold) = (sines(&mut rng, 100, 0.5), sines(&mut rng, 60, 0.5));
        let (mw, hw) = (
            Windows::new(&train, 100, 20, 2).unwrap(),
            Windows::new(&hold, 60, 20, 2).unwrap(),
        );
        let r = quality_report(&mw, &mw, Some((&mw, &hw)), &CH, &opts()).unwrap();
        let l = r.leakage.as_ref().unwrap();
        assert_eq!(l.distance_attack.auc, 1.0);
        assert_eq!(l.dcr.median_to_train, 0.0);
        // Memorised: DOMIAS sees it too (reference: every other held-out window).
        let d = l.domias.as_ref().expect("60 held-out windows are enough");
        assert_eq!(d.reference, 30);
        assert!(d.attack.auc > 0.75, "{d:?}");
        let names: Vec<&str> = r.scalars().iter().map(|s| s.0).collect();
        let all: Vec<&str> = SCALAR_METRICS.iter().map(|s| s.0).collect();
        assert_eq!(names, all[..13].to_vec(), "without model scores and audit");
        let no_leak = quality_report(&mw, &hw, None, &CH, &opts()).unwrap();
        assert_eq!(no_leak.scalars().len(), 10);
        // A copy covers the real sample: precision and recall 1.
        assert_eq!(
            (r.fidelity.prdc.precision, r.fidelity.prdc.recall),
            (1.0, 1.0)
        );
        // Too small a holdout: DOMIAS is skipped with its reason, the rest is measured.
        let small = Windows::new(&hold[..10 * 40], 10, 20, 2).unwrap();
        let l = leakage(&mw, &mw, &small, &opts()).unwrap();
        assert!(l.domias.is_none());
        assert!(l.domias_skipped.as_deref().unwrap().contains("at least 12"));
    }

    #[test]
    fn shapes_and_names_are_checked() {
        let a = vec![0.5; 40 * 10];
        let b = vec![0.5; 30 * 10];
        let wa = Windows::new(&a, 10, 20, 2).unwrap();
        let wb = Windows::new(&b, 10, 10, 3).unwrap();
        let e = fidelity(&wa, &wb, &CH, &opts()).unwrap_err();
        assert!(e.to_string().contains("20 steps × 2 channels"), "{e}");
        let e = fidelity(&wa, &wa, &["x"], &opts()).unwrap_err();
        assert!(matches!(
            e,
            QualityError::ChannelNames {
                expected: 2,
                found: 1
            }
        ));
    }

    #[test]
    fn the_subsample_is_sorted_reproducible_and_bounded() {
        let mut r1 = ChaCha20Rng::seed_from_u64(9);
        let mut r2 = ChaCha20Rng::seed_from_u64(9);
        let (a, b) = (subsample(1000, 50, &mut r1), subsample(1000, 50, &mut r2));
        assert_eq!(a, b);
        assert_eq!(a.len(), 50);
        assert!(a.windows(2).all(|p| p[0] < p[1]));
        assert_eq!(subsample(7, 50, &mut r1), (0..7).collect::<Vec<_>>());
    }
}
