//! The Markdown page of one synthetic sample's quality report: what was compared, the headline
//! numbers with what they mean, the per-channel tables, leakage, and links to the figures.
//!
//! May depend on: evaluation::quality (the report's types). Pure: text out.

use std::fmt::Write;

use crate::evaluation::quality::{ChannelComparison, QualityReport, SCALAR_METRICS};

fn g(v: f64) -> String {
    if v == 0.0 || (1e-3..1e4).contains(&v.abs()) {
        format!("{v:.4}")
    } else {
        format!("{v:.3e}")
    }
}

fn channel_table(out: &mut String, rows: &[ChannelComparison]) {
    out.push_str("| channel | KS D | KS p | 1-Wasserstein |\n|---|---:|---:|---:|\n");
    for r in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            r.channel,
            g(r.ks.statistic),
            g(r.ks.pvalue),
            g(r.wasserstein)
        );
    }
    out.push('\n');
}

/// The page. `inputs` are lines describing what was compared (paths, digests, windows);
/// `figures` are (caption, relative file name) pairs.
pub fn render_quality_markdown(
    title: &str,
    inputs: &[String],
    report: &QualityReport,
    figures: &[(String, String)],
    notes: &[String],
) -> String {
    let mut out = format!("# {title}\n\n");
    out.push_str(
        "> Computed from the real windows without any privacy mechanism: these numbers (and the figures) are for the researcher; publishing them releases information about the real subjects that no generator's ε covers.\n\n",
    );
    for line in inputs {
        let _ = writeln!(out, "- {line}");
    }
    out.push('\n');
    out.push_str("## Headline\n\n| metric | value | meaning |\n|---|---:|---|\n");
    let scalars = report.scalars();
    for (name, meaning) in SCALAR_METRICS {
        if let Some((_, v)) = scalars.iter().find(|(n, _)| *n == name) {
            // A `|` inside a cell would end it.
            let meaning = meaning.replace('|', "\\|");
            let _ = writeln!(out, "| {name} | {} | {meaning} |", g(*v));
        }
    }
    out.push('\n');

    let f = &report.fidelity;
    let _ = writeln!(
        out,
        "## Fidelity\n\n{} real and {} synthetic windows; MMD² and C2ST on {} real and {} synthetic (subsampled with seed {}).\n",
        f.real_windows, f.synthetic_windows, f.pairwise_windows.0, f.pairwise_windows.1, report.options.seed
    );
    let _ = writeln!(
        out,
        "- MMD² = {} (RBF, median-heuristic bandwidth {}), permutation p = {} ({} permutations)",
        g(f.mmd.mmd2),
        g(f.mmd.bandwidth),
        g(f.mmd.pvalue),
        f.mmd.permutations
    );
    let _ = writeln!(
        out,
        "- C2ST (2-NN, 80/20 split per class): accuracy {} on {} test windows (0.5: indistinguishable)",
        g(f.c2st.accuracy),
        f.c2st.n_test
    );
    let _ = writeln!(
        out,
        "- channel correlation: Frobenius distance {}",
        g(f.correlation_frobenius)
    );
    let per_channel = |v: &[f64]| -> String {
        report
            .channels
            .iter()
            .zip(v)
            .map(|(c, x)| format!("{c} {}", g(*x)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(
        out,
        "- autocorrelation distance (lags 1–{}): {}",
        report.options.acf_max_lag,
        per_channel(&f.acf_distance)
    );
    let _ = writeln!(
        out,
        "- spectral-shape distance (L1 of normalised mean Welch spectra, 0–2): {}",
        per_channel(&f.psd_distance)
    );
    let _ = writeln!(
        out,
        "- PRDC (k = {}, flattened windows): precision {}, recall {}, density {}, coverage {}\n",
        crate::evaluation::fidelity::DEFAULT_PRDC_K,
        g(f.prdc.precision),
        g(f.prdc.recall),
        g(f.prdc.density),
        g(f.prdc.coverage)
    );
    if let Some(m) = &report.model_scores {
        let _ = writeln!(
            out,
            "Post-hoc models ({} Adam steps each): discriminative score {} (held-out accuracy {} of a GRU telling real from synthetic; 0 = indistinguishable); predictive score: one-step-ahead MAE on real windows {} when trained on synthetic, {} when trained on real.\n",
            m.iterations,
            g(m.discriminative_score),
            g(m.discriminative_accuracy),
            g(m.predictive_mae),
            g(m.predictive_mae_real_trained)
        );
    }
    out.push_str("### Marginals (every value of a channel)\n\n");
    channel_table(&mut out, &f.marginals);
    for s in &f.window_stats {
        let _ = writeln!(out, "### Per-window {}\n", s.statistic);
        channel_table(&mut out, &s.channels);
    }

    out.push_str("## Leakage\n\n");
    match &report.leakage {
        None => out.push_str(
            "Not measured: no held-out real windows were given (a `--holdout` store, or a checkpoint whose training left subjects of the real store out).\n\n",
        ),
        Some(l) => {
            let _ = writeln!(
                out,
                "Members: {} training windows; non-members: {} held-out windows; {} synthetic windows.\n",
                l.members, l.holdout, l.synthetic
            );
            let d = &l.dcr;
            let _ = writeln!(
                out,
                "- distance to closest record: median to training {}, to holdout {}, ratio {} (< 1: synthetic windows sit closer to the training data)",
                g(d.median_to_train),
                g(d.median_to_holdout),
                g(d.ratio)
            );
            let _ = writeln!(
                out,
                "- share of synthetic windows closer to training than the holdout's 5th percentile ({}): {}",
                g(d.holdout_p5),
                g(d.share_closer_than_holdout_p5)
            );
            let a = &l.distance_attack;
            let _ = writeln!(
                out,
                "- distance membership inference: AUC {} (95 % CI {}–{}); TPR at 1 % FPR {} ({}–{}); at 0.1 % FPR {} ({}–{})",
                g(a.auc),
                g(a.auc_low),
                g(a.auc_high),
                g(a.tpr_at_1pct_fpr.value),
                g(a.tpr_at_1pct_fpr.low),
                g(a.tpr_at_1pct_fpr.high),
                g(a.tpr_at_01pct_fpr.value),
                g(a.tpr_at_01pct_fpr.low),
                g(a.tpr_at_01pct_fpr.high)
            );
            match (&l.domias, &l.domias_skipped) {
                (Some(d), _) => {
                    let a = &d.attack;
                    let _ = writeln!(
                        out,
                        "- DOMIAS density-ratio attack ({} PCA components; attacker's reference: {} of the held-out windows, the others non-members): AUC {} (95 % CI {}–{}); TPR at 1 % FPR {}",
                        d.components,
                        d.reference,
                        g(a.auc),
                        g(a.auc_low),
                        g(a.auc_high),
                        g(a.tpr_at_1pct_fpr.value)
                    );
                }
                (None, Some(why)) => {
                    let _ = writeln!(out, "- {why}");
                }
                (None, None) => {}
            }
            out.push_str(
                "\nWith a LOSO test subject as the holdout, members and non-members also differ by subject: an AUC above 0.5 mixes memorisation with how far the held-out subject lies from the training subjects (subject-level membership, which is what a subject-level guarantee protects).\n",
            );
            out.push_str(
                "\nThese are measurements of one attack, not guarantees: a low AUC bounds nothing (the guarantee is the accountant's ε); a high one shows leakage. With few non-members the TPR at 0.1 % FPR is the TPR above the largest non-member score.\n\n",
            );
        }
    }
    if let Some(a) = &report.audit {
        out.push_str("## Canary audit\n\n");
        let _ = writeln!(
            out,
            "- audited: {}\n- {} runs; empirical ε lower bound {} at {} % confidence (δ = {:e}); the accountant's ε for this one step: {}\n- a lower bound above the claim would show the mechanism is not what its statement says; a bound below it confirms nothing beyond this attack\n",
            a.mechanism,
            a.trials,
            g(a.eps_lower),
            100.0 * a.confidence,
            a.delta,
            a.claimed_epsilon.map_or("none (non-private)".into(), g)
        );
    }
    if !figures.is_empty() {
        out.push_str("## Figures\n\n");
        for (caption, file) in figures {
            let _ = writeln!(out, "- [{caption}]({file})");
        }
        out.push('\n');
    }
    if !notes.is_empty() {
        out.push_str("## Notes\n\n");
        for n in notes {
            let _ = writeln!(out, "- {n}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluation::fidelity::Windows;
    use crate::evaluation::quality::{quality_report, ModelScores, QualityOptions};

    #[test]
    fn every_scalar_is_a_well_formed_table_row() {
        // 40 windows of 10 steps × 2 channels, and a shifted copy as the "synthetic" sample.
        let real: Vec<f64> = (0..800).map(|i| ((i * 7919) % 97) as f64 / 97.0).collect();
        let syn: Vec<f64> = real.iter().map(|v| v * 0.8 + 0.1).collect();
        let (r, s) = (
            Windows::new(&real, 40, 10, 2).unwrap(),
            Windows::new(&syn, 40, 10, 2).unwrap(),
        );
        let opts = QualityOptions {
            permutations: 10,
            ..QualityOptions::default()
        };
        let mut report = quality_report(&r, &s, Some((&r, &s)), &["a", "b"], &opts).unwrap();
        report.model_scores = Some(ModelScores {
            discriminative_accuracy: 0.7,
            discriminative_score: 0.2,
            predictive_mae: 0.1,
            predictive_mae_real_trained: 0.09,
            iterations: 5,
        });
        let md = render_quality_markdown("t", &["in".into()], &report, &[], &["n".into()]);
        let head: Vec<&str> = md
            .lines()
            .skip_while(|l| !l.starts_with("| metric"))
            .skip(2)
            .take_while(|l| l.starts_with('|'))
            .collect();
        assert_eq!(head.len(), report.scalars().len());
        // Four cell borders per row: a `|` in a meaning is escaped.
        for row in &head {
            let borders = row.matches('|').count() - row.matches("\\|").count();
            assert_eq!(borders, 4, "{row}");
        }
        assert!(md.contains("## Leakage") && md.contains("DOMIAS") && md.contains("## Notes"));
        assert!(md.contains("without any privacy mechanism"));
    }
}
