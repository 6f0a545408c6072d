//! `dpwear quality`: how faithful a synthetic dataset store is to real data and what it leaks
//! about the generator's training subjects; writes `quality.json`, `quality.md` and SVG
//! figures into one folder.

use std::path::{Path, PathBuf};

use clap::Args;

use super::exit;
use super::gan::train_cmd::WindowsArg;
use super::{check_overwrite, CliError};
use crate::data::{store, Dataset, CHANNELS};
use crate::evaluation::fidelity::{mean_psd, Windows};
use crate::evaluation::quality::{QualityOptions, QualityReport};
use crate::features::windows::{WindowScheme, WINDOW_LEN};
use crate::pipeline::quality_job::{quality, Holdout, QualityRequest, SampleWindows};
use crate::reporting::quality_figures::{
    render_correlation_heatmaps, render_histograms, render_spectra,
};
use crate::reporting::quality_report::render_quality_markdown;

#[derive(Debug, Args)]
pub struct QualityArgs {
    /// The real dataset store (e.g. the one the generator trained on).
    #[arg(long)]
    pub real: PathBuf,
    /// The synthetic dataset store (`dpwear gan generate --out`).
    #[arg(long)]
    pub synthetic: PathBuf,
    /// Real windows the generator never saw (non-members of the membership-inference attack).
    /// Without it, a checkpoint's left-out subjects of --real are the holdout.
    #[arg(long)]
    pub holdout: Option<PathBuf>,
    /// The generator's checkpoint folder: its model card names the training subjects (the
    /// members) and the window scheme.
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// Real window scheme (default: the checkpoint's, else non-overlapping).
    #[arg(long, value_enum)]
    pub windows: Option<WindowsArg>,
    /// Permutations of the MMD² test.
    #[arg(long, default_value_t = 200)]
    pub permutations: usize,
    /// At most this many windows per set in the quadratic metrics (MMD², C2ST, DCR, attack).
    #[arg(long, default_value_t = 1500)]
    pub max_pairwise: usize,
    /// Seed of the subsample and the permutations.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Also train TimeGAN's post-hoc models: the discriminative score (a GRU telling real from
    /// synthetic) and the predictive score (a GRU one-step predictor trained on synthetic).
    #[arg(long)]
    pub model_scores: bool,
    /// Adam steps of each post-hoc model.
    #[arg(long, default_value_t = 2000)]
    pub score_iterations: usize,
    /// Audit one private step of the checkpoint's mechanism with a canary (cGAN checkpoints
    /// trained with DP): an empirical ε lower bound beside the accountant's ε for that step.
    #[arg(long, requires = "checkpoint")]
    pub audit: bool,
    /// Mechanism runs of the audit (half without, half with the canary).
    #[arg(long, default_value_t = 1000)]
    pub audit_trials: usize,
    /// Leave out the t-SNE figure (exact t-SNE on at most 1,000 windows).
    #[arg(long)]
    pub no_tsne: bool,
    /// libtorch threads of the post-hoc models and the audit.
    #[arg(long, value_parser = crate::config::limits::threads)]
    pub threads: Option<usize>,
    /// Output folder (created).
    #[arg(long)]
    pub out: PathBuf,
    /// Replace an existing report in --out.
    #[arg(long)]
    pub force: bool,
}

fn read(path: &Path, what: &str) -> Result<Dataset, CliError> {
    store::read_dataset(path).map_err(|e| CliError::data(&format!("read the {what} store"), e))
}

/// Runs `dpwear quality`.
pub fn run(a: QualityArgs) -> Result<(), CliError> {
    if a.max_pairwise < 10 {
        return Err(CliError::new(
            exit::INVALID_PARAMETER,
            "measure quality",
            format!(
                "--max-pairwise {}: at least 10 windows are needed",
                a.max_pairwise
            ),
        ));
    }
    let json_path = a.out.join("quality.json");
    check_overwrite(&json_path, a.force)?;
    let real = read(&a.real, "real")?;
    let synthetic = read(&a.synthetic, "synthetic")?;
    let holdout_store = a
        .holdout
        .as_deref()
        .map(|p| read(p, "holdout"))
        .transpose()?;
    let card = a
        .checkpoint
        .as_deref()
        .map(|c| {
            crate::training::generator::checkpoint::read_card(c).map_err(|e| {
                CliError::from(crate::pipeline::generator_job::checkpoint_error(
                    "read the checkpoint",
                    e,
                ))
            })
        })
        .transpose()?;
    let scheme = match (a.windows, &card) {
        (Some(WindowsArg::Sliding), _) => WindowScheme::Sliding,
        (Some(WindowsArg::NonOverlapping), _) => WindowScheme::NonOverlapping,
        (None, Some(c)) => c.data.window_scheme,
        (None, None) => WindowScheme::NonOverlapping,
    };
    let training = card.as_ref().map(|c| c.data.training_subjects.clone());
    let mut notes = Vec::new();
    let holdout = match (&holdout_store, &training) {
        (Some(h), _) => Holdout::Store(h),
        (None, Some(t)) if real.subjects.iter().any(|s| !t.contains(&s.id)) => {
            Holdout::OtherSubjects
        }
        (None, Some(_)) => {
            notes.push("leakage not measured: every subject of the real store trained the generator and no --holdout was given".to_string());
            Holdout::None
        }
        (None, None) => Holdout::None,
    };
    if let (Some(t), Holdout::Store(_)) = (&training, holdout) {
        if let Some(s) = t.iter().find(|s| real.subject(**s).is_none()) {
            notes.push(format!("the checkpoint's training subject S{s} is not in the real store: the members are the training subjects the real store has"));
        }
    }
    let options = QualityOptions {
        permutations: a.permutations,
        max_pairwise: a.max_pairwise,
        seed: a.seed,
        ..QualityOptions::default()
    };
    let req = QualityRequest {
        real: &real,
        synthetic: &synthetic,
        training_subjects: training.as_deref(),
        holdout,
        scheme,
        options,
    };
    let windows = SampleWindows::of(&req);
    let mut report = quality(&req, &windows)?;
    if a.model_scores {
        report.model_scores = Some(crate::pipeline::quality_models::model_scores(
            &windows.real,
            &windows.synthetic,
            WINDOW_LEN,
            CHANNELS.len(),
            a.score_iterations,
            a.seed,
            a.threads,
        )?);
    }
    if a.audit {
        let card = card
            .as_ref()
            .expect("clap requires --checkpoint with --audit");
        report.audit = Some(crate::pipeline::quality_models::audit_checkpoint(
            card,
            a.audit_trials,
            a.seed,
            a.threads,
        )?);
    }
    write_report(&a, &req, &windows, &report, card.as_ref(), &notes)?;
    println!(
        "{}",
        report
            .scalars()
            .iter()
            .map(|(n, v)| format!("{n} = {v:.4}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("wrote {}", a.out.join("quality.md").display());
    Ok(())
}

fn write_report(
    a: &QualityArgs,
    req: &QualityRequest<'_>,
    windows: &SampleWindows,
    report: &QualityReport,
    card: Option<&crate::training::generator::checkpoint::ModelCard>,
    notes: &[String],
) -> Result<(), CliError> {
    let out_err = |p: &Path, e: std::io::Error| {
        CliError::new(exit::OUTPUT_FAILED, &format!("write {}", p.display()), e)
    };
    let figs = a.out.join("figures");
    std::fs::create_dir_all(&figs).map_err(|e| out_err(&figs, e))?;
    let figures = figures(windows, !a.no_tsne, a.seed)?;
    let mut links = Vec::new();
    for (caption, name, svg) in &figures {
        let p = figs.join(name);
        crate::atomic_file::write(&p, svg.as_bytes()).map_err(|e| out_err(&p, e))?;
        links.push((caption.clone(), format!("figures/{name}")));
    }
    let digest = |p: &Path| {
        crate::data::hash::sha256_file(p)
            .map(|d| d[..12].to_string())
            .unwrap_or_else(|_| "?".into())
    };
    let mut inputs = vec![
        format!(
            "real: `{}` (sha256 {}…), {} windows",
            a.real.display(),
            digest(&a.real),
            req.scheme.as_str()
        ),
        format!(
            "synthetic: `{}` (sha256 {}…), non-overlapping 60 s windows",
            a.synthetic.display(),
            digest(&a.synthetic)
        ),
    ];
    if let Some(h) = &a.holdout {
        inputs.push(format!(
            "holdout: `{}` (sha256 {}…)",
            h.display(),
            digest(h)
        ));
    }
    if let Some(c) = card {
        inputs.push(format!(
            "generator: {} ({}), trained on subjects {:?}; {}",
            c.generator.as_str(),
            c.mode.as_str(),
            c.data.training_subjects,
            c.privacy_summary
        ));
    }
    let md = render_quality_markdown("Synthetic-data quality", &inputs, report, &links, notes);
    let md_path = a.out.join("quality.md");
    crate::atomic_file::write(&md_path, md.as_bytes()).map_err(|e| out_err(&md_path, e))?;
    let json = serde_json::json!({
        "schema_version": 1,
        "kind": "dpwear-quality-report",
        "note": crate::pipeline::generator_quality::NOT_PRIVATE,
        "inputs": inputs,
        "notes": notes,
        "report": report,
    });
    let json_path = a.out.join("quality.json");
    crate::atomic_file::write_json(&json_path, &json).map_err(|e| out_err(&json_path, e))
}

/// (caption, file name, SVG) of each figure.
fn figures(
    w: &SampleWindows,
    with_tsne: bool,
    seed: u64,
) -> Result<Vec<(String, String, String)>, CliError> {
    let draw = |e: crate::reporting::ReportError| {
        CliError::new(exit::INTERNAL, "draw the quality figures", e)
    };
    let (rv, rn, sv, sn) = (&w.real, w.real_n, &w.synthetic, w.synthetic_n);
    let c = CHANNELS.len();
    let column =
        |v: &[f64], ch: usize| -> Vec<f64> { v.iter().skip(ch).step_by(c).copied().collect() };
    let rc: Vec<Vec<f64>> = (0..c).map(|ch| column(rv, ch)).collect();
    let sc: Vec<Vec<f64>> = (0..c).map(|ch| column(sv, ch)).collect();
    let names: Vec<&str> = CHANNELS.to_vec();
    let mut out = vec![(
        "Per-channel value histograms (density)".to_string(),
        "histograms.svg".to_string(),
        render_histograms(
            "Channel values: real against synthetic",
            &names,
            &rc,
            &sc,
            40,
        )
        .map_err(draw)?,
    )];
    let rw = Windows::new(rv, rn, WINDOW_LEN, c);
    let sw = Windows::new(sv, sn, WINDOW_LEN, c);
    if let (Ok(rw), Ok(sw)) = (rw, sw) {
        out.push((
            "Channel correlation matrices (real, synthetic, difference)".into(),
            "correlation.svg".into(),
            render_correlation_heatmaps(
                "Cross-channel Pearson correlation",
                &names,
                &rw.channel_correlation(),
                &sw.channel_correlation(),
            )
            .map_err(draw)?,
        ));
        if let (Ok(rp), Ok(sp)) = (mean_psd(&rw, WINDOW_LEN), mean_psd(&sw, WINDOW_LEN)) {
            let freqs: Vec<f64> = (0..rp[0].len())
                .map(|k| k as f64 / WINDOW_LEN as f64)
                .collect();
            out.push((
                "Mean Welch power spectra per channel".into(),
                "spectra.svg".into(),
                render_spectra(
                    "Mean power spectrum (1 Hz, one 60 s segment per window)",
                    &names,
                    &freqs,
                    &rp,
                    &sp,
                )
                .map_err(draw)?,
            ));
        }
    }
    out.extend(projections(w, with_tsne, seed)?);
    Ok(out)
}

/// PCA (fitted on the real windows) and t-SNE scatter plots of flattened windows (the
/// reference's §7.1 figures); t-SNE on at most 500 windows of each set.
fn projections(
    w: &SampleWindows,
    with_tsne: bool,
    seed: u64,
) -> Result<Vec<(String, String, String)>, CliError> {
    use crate::evaluation::fidelity::{tsne, Pca, TsneConfig};
    use rand::SeedableRng;
    let draw = |e: crate::reporting::ReportError| {
        CliError::new(exit::INTERNAL, "draw the projection figures", e)
    };
    let width = WINDOW_LEN * CHANNELS.len();
    let rows = |v: &[f64]| -> Vec<Vec<f64>> { v.chunks(width).map(|c| c.to_vec()).collect() };
    let (real, synthetic) = (rows(&w.real), rows(&w.synthetic));
    let mut out = Vec::new();
    if w.real_n < 3 || w.synthetic_n < 1 {
        return Ok(out);
    }
    let pair = |p: &Vec<f64>| (p[0], p[1]);
    if let Ok(pca) = Pca::fit(&real, 2) {
        if let (Ok(pr), Ok(ps)) = (pca.transform(&real), pca.transform(&synthetic)) {
            let pct = |i: usize| 100.0 * pca.explained_variance_ratio[i];
            out.push((
                "PCA of flattened windows (fitted on the real ones)".to_string(),
                "pca.svg".to_string(),
                crate::reporting::quality_figures::render_scatter(
                    "PCA: real against synthetic windows",
                    &format!("PC1 ({:.1} % of the real variance)", pct(0)),
                    &format!("PC2 ({:.1} %)", pct(1)),
                    &pr.iter().map(pair).collect::<Vec<_>>(),
                    &ps.iter().map(pair).collect::<Vec<_>>(),
                )
                .map_err(draw)?,
            ));
        }
    }
    if with_tsne {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
        let pick = |v: &[Vec<f64>], rng: &mut rand_chacha::ChaCha20Rng| -> Vec<Vec<f64>> {
            crate::evaluation::quality::subsample(v.len(), 500, rng)
                .into_iter()
                .map(|i| v[i].clone())
                .collect()
        };
        let (r, s) = (pick(&real, &mut rng), pick(&synthetic, &mut rng));
        let pooled: Vec<Vec<f64>> = r.iter().chain(&s).cloned().collect();
        match tsne(&pooled, &TsneConfig::default(), &mut rng) {
            Ok(t) => {
                let (er, es) = t.embedding.split_at(r.len());
                out.push((
                    format!(
                        "t-SNE of flattened windows ({} real, {} synthetic; perplexity 30, KL {:.3})",
                        r.len(),
                        s.len(),
                        t.kl_divergence
                    ),
                    "tsne.svg".to_string(),
                    crate::reporting::quality_figures::render_scatter(
                        "t-SNE: real against synthetic windows",
                        "t-SNE 1",
                        "t-SNE 2",
                        &er.iter().map(pair).collect::<Vec<_>>(),
                        &es.iter().map(pair).collect::<Vec<_>>(),
                    )
                    .map_err(draw)?,
                ));
            }
            Err(e) => tracing::warn!("t-SNE figure left out: {e}"),
        }
    }
    Ok(out)
}
