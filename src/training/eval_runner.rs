//! Runs the LOSO and TSTR protocols (plans in `evaluation::protocol`) over replicates and
//! folds, trains a fresh classifier per fold (per replicate for TSTR), scores every test
//! subject and assembles the versioned result record.
//!
//! Private training (`config.hyper.dp`, LOSO only): before any model is trained, σ is
//! calibrated for every requested fold ([`super::dp::plan`]), so a bad or unreachable privacy
//! request fails before work starts; each fold's record then carries its privacy block.

use std::time::Instant;

use tch::Device;

use super::classifier::{features_tensor, train, PrivateTraining, TrainSpec};
use super::dp::{self, DpPlan, DpSizes};
use crate::config::seeds::{self, Purpose, SeedKey};
use crate::data::LabelMap;
use crate::evaluation::aggregate::{
    pooled, subject_average, ReplicateSummary, DEFAULT_POOR_THRESHOLD,
};
use crate::evaluation::metrics::MetricSet;
use crate::evaluation::protocol::{loso_folds, tstr_splits, Fold, Protocol};
use crate::evaluation::record::{
    DataProvenance, EvalConfig, EvalRecord, FoldRecord, ReplicateRecord, Timings,
    TrainProfileSeconds, RECORD_SCHEMA_VERSION,
};
use crate::evaluation::EvaluationError;
use crate::features::FeatureSet;

/// Why an evaluation cannot run.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// An impossible request for these inputs (bad hyper-parameters, LOSO on one subject, a
    /// training set without one of the classes); names the file where one is involved.
    #[error("{0}")]
    Invalid(String),
    /// An input feature set is malformed (non-finite values, a subject without windows, …);
    /// names the file.
    #[error(transparent)]
    Input(#[from] crate::data::DataError),
    #[error("score a fold: {0}")]
    Metrics(#[from] EvaluationError),
}

/// What to evaluate.
pub struct EvalInputs<'a> {
    pub config: EvalConfig,
    pub real: &'a FeatureSet,
    pub real_path: String,
    pub synthetic: Option<(&'a FeatureSet, String)>,
    pub device: Device,
}

/// Progress events.
pub struct FoldDone {
    pub replicate: usize,
    pub fold: usize,
    pub test_subject: u32,
    pub reference_f1: f64,
    pub positive_f1: f64,
}

fn provenance(fs: &FeatureSet, path: &str) -> DataProvenance {
    DataProvenance {
        path: path.to_string(),
        source_sha256: fs.source_sha256.clone(),
        simulated: fs.source_kind.is_simulated(),
        feature_mode: fs.mode.as_str().into(),
        window_scheme: fs.scheme.as_str().into(),
        windows: fs.len(),
        label_counts: fs.label_counts(),
    }
}

fn validate(inp: &EvalInputs<'_>) -> Result<(), EvalError> {
    let c = &inp.config;
    if c.replicates == 0 {
        return Err(EvalError::Invalid("--replicates must be at least 1".into()));
    }
    if c.hyper.epochs == 0
        || c.hyper.batch_size == 0
        || c.hyper.learning_rate.is_nan()
        || c.hyper.learning_rate <= 0.0
    {
        return Err(EvalError::Invalid(
            "epochs, batch size and learning rate must be positive".into(),
        ));
    }
    if inp.real.label_map != LabelMap::Binary {
        return Err(EvalError::Invalid(format!(
            "{}: the stress classifiers are binary but the features use the {} label map; import with --label-map binary",
            inp.real_path,
            inp.real.label_map.as_str()
        )));
    }
    if inp.real.is_empty() {
        return Err(EvalError::Invalid(format!("{}: no windows", inp.real_path)));
    }
    inp.real.validate(std::path::Path::new(&inp.real_path))?;
    if let Some((syn, path)) = &inp.synthetic {
        syn.validate(std::path::Path::new(path))?;
        if syn.mode != inp.real.mode {
            return Err(EvalError::Invalid(format!(
                "{path}: synthetic features use the {} feature mode but the real ones ({}) use {}",
                syn.mode.as_str(),
                inp.real_path,
                inp.real.mode.as_str()
            )));
        }
        if syn.label_map != LabelMap::Binary {
            return Err(EvalError::Invalid(format!(
                "{path}: synthetic labels must be binary"
            )));
        }
        if syn.is_empty() {
            return Err(EvalError::Invalid(format!("{path}: no synthetic windows")));
        }
    } else if c.protocol == Protocol::Tstr {
        return Err(EvalError::Invalid(
            "TSTR needs synthetic training data (--train)".into(),
        ));
    }
    check_training_classes(inp)?;
    if let Some(dp) = &c.hyper.dp {
        if c.protocol == Protocol::Tstr {
            return Err(EvalError::Invalid(
                "private training (--epsilon) is implemented for LOSO only: TSTR trains on synthetic windows, whose privacy comes from the generator (the reference never trained a private TSTR classifier either)".into(),
            ));
        }
        dp.validate().map_err(EvalError::Invalid)?;
    }
    Ok(())
}

/// The protocol can run on these inputs: LOSO needs at least 2 real subjects, and every
/// training set (each LOSO fold's other subjects, plus the synthetic windows when augmenting;
/// TSTR's synthetic windows) must hold both classes, or the binary classifier has nothing to
/// separate (and the reference's class weight n0/n1 divides by zero).
fn check_training_classes(inp: &EvalInputs<'_>) -> Result<(), EvalError> {
    let real = inp.real;
    let has = |y: &[u8]| [y.contains(&0), y.contains(&1)];
    let syn_has = inp
        .synthetic
        .as_ref()
        .map(|(s, _)| has(&s.y))
        .unwrap_or([false, false]);
    let missing = |present: [bool; 2]| present.iter().position(|p| !p);
    let class_name = |c: usize| real.label_map.class_names()[c];
    match inp.config.protocol {
        Protocol::Loso => {
            if real.subject_ids.len() < 2 {
                return Err(EvalError::Invalid(format!(
                    "{}: LOSO needs at least 2 subjects, the file holds {} ({})",
                    inp.real_path,
                    real.subject_ids.len(),
                    real.subject_ids
                        .iter()
                        .map(|s| format!("S{s}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            for &test in &real.subject_ids {
                let mut present = syn_has;
                for (i, &s) in real.subject.iter().enumerate() {
                    if s != test {
                        present[real.y[i] as usize] = true;
                    }
                }
                if let Some(c) = missing(present) {
                    return Err(EvalError::Invalid(format!(
                        "{}: the LOSO fold testing S{test} has no {} windows to train on{}; the binary classifiers need both classes in every training set",
                        inp.real_path,
                        class_name(c),
                        if inp.synthetic.is_some() { " (real or synthetic)" } else { "" }
                    )));
                }
            }
        }
        Protocol::Tstr => {
            if let (Some((_, path)), Some(c)) = (&inp.synthetic, missing(syn_has)) {
                return Err(EvalError::Invalid(format!(
                    "{path}: the synthetic training windows hold no {} windows; the binary classifiers need both classes in training",
                    class_name(c)
                )));
            }
        }
    }
    Ok(())
}

/// A ChaCha stream keyed by 256 bits from the operating system (DP batches and noise).
fn secret_rng() -> Result<rand_chacha::ChaCha20Rng, EvalError> {
    use rand::{SeedableRng, TryRngCore};
    let mut key = [0u8; 32];
    rand::rngs::OsRng.try_fill_bytes(&mut key).map_err(|e| {
        EvalError::Invalid(format!(
            "draw the secret key of the DP noise from the operating system: {e}"
        ))
    })?;
    Ok(rand_chacha::ChaCha20Rng::from_seed(key))
}

/// Subject ids of synthetic windows are kept apart from real ones (the top bit set), so that
/// a synthetic subject never merges with a real subject of the same number.
const SYNTHETIC_SUBJECT_FLAG: u32 = 1 << 31;

/// The privacy plan of every fold (`None` for non-private training): what `dpwear plan`
/// shows in its ledger before anything runs.
pub fn fold_privacy_plans(inp: &EvalInputs<'_>) -> Result<Vec<Option<DpPlan>>, EvalError> {
    let folds = plan_folds(inp)?;
    let all: Vec<usize> = (0..folds.len()).collect();
    privacy_plans(inp, &folds, &all, None)
}

/// The size of synthetic data that does not exist yet (a trained generator's subjects, known
/// at plan time by their count and shape only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyntheticSize {
    pub windows: usize,
    pub subjects: usize,
}

/// [`fold_privacy_plans`] of LOSO folds augmented with synthetic data of `size` (the ledger of
/// `dpwear plan` for cells whose generator is trained later); `inp.synthetic` must be `None`.
pub fn fold_privacy_plans_sized(
    inp: &EvalInputs<'_>,
    size: SyntheticSize,
) -> Result<Vec<Option<DpPlan>>, EvalError> {
    validate(inp)?;
    let folds = loso_folds(&inp.real.subject_ids, &inp.real.subject, true)?;
    let all: Vec<usize> = (0..folds.len()).collect();
    privacy_plans(inp, &folds, &all, Some(size))
}

/// Calibrates the privacy plan of every fold in `wanted` (before any training).
fn privacy_plans(
    inp: &EvalInputs<'_>,
    folds: &[Fold],
    wanted: &[usize],
    planned: Option<SyntheticSize>,
) -> Result<Vec<Option<DpPlan>>, EvalError> {
    let Some(req) = &inp.config.hyper.dp else {
        return Ok(vec![None; wanted.len()]);
    };
    let syn = inp.synthetic.as_ref().map(|(s, _)| *s);
    // Synthetic ids only need to be distinct from real ones and from each other.
    let syn_size = planned.or(syn.map(|s| {
        let mut ids = s.subject.clone();
        ids.sort_unstable();
        ids.dedup();
        SyntheticSize {
            windows: s.len(),
            subjects: ids.len(),
        }
    }));
    let mut cache: Vec<(DpSizes, DpPlan)> = Vec::new();
    let mut out = Vec::with_capacity(wanted.len());
    for &fi in wanted {
        let Some(f) = folds.get(fi) else {
            return Err(EvalError::Invalid(format!(
                "fold {fi} does not exist ({} folds)",
                folds.len()
            )));
        };
        let mut subjects: Vec<u32> = f.train_real.iter().map(|&i| inp.real.subject[i]).collect();
        let mut windows = f.train_real.len();
        subjects.sort_unstable();
        subjects.dedup();
        let mut n_subjects = subjects.len();
        if let (Some(s), true) = (syn_size, f.use_synthetic) {
            windows += s.windows;
            n_subjects += s.subjects;
        }
        let sizes = DpSizes {
            train_windows: windows,
            train_subjects: n_subjects,
            all_real_windows: inp.real.len(),
        };
        let plan = match cache.iter().find(|(k, _)| *k == sizes) {
            Some((_, p)) => p.clone(),
            None => {
                let p = dp::plan(req, &inp.config.hyper, sizes).map_err(|e| {
                    EvalError::Invalid(format!("fold {fi} (test subject S{}): {e}", f.test_subject))
                })?;
                tracing::info!(
                    fold = fi,
                    sigma = p.sigma,
                    q = p.sample_rate,
                    steps = p.steps_planned,
                    delta = p.delta,
                    epsilon_planned = p.epsilon_planned,
                    accountant = p.accountant.as_str(),
                    sampling = p.sampling.as_str(),
                    unit = p.request.unit.as_str(),
                    dp_level = p.dp_level.as_str(),
                    "privacy plan"
                );
                cache.push((sizes, p.clone()));
                p
            }
        };
        out.push(Some(plan));
    }
    Ok(out)
}

/// One scored fold of one replicate, with its timings: the unit of checkpoints and of the
/// MPI gather (serialisable).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FoldOutcome {
    pub replicate: usize,
    pub record: FoldRecord,
    pub train_seconds: f64,
    pub predict_seconds: f64,
    /// Where the training time went; absent for TSTR folds after the first (one model per
    /// replicate).
    pub profile: Option<TrainProfileSeconds>,
}

/// What every fold's model of one replicate shares: the run's configuration and device, and
/// where the fold's seeds come from (the replicate's base seed and the protocol's scope).
struct FoldStreams<'c> {
    config: &'c EvalConfig,
    device: Device,
    base: u64,
    scope: &'static str,
    replicate: u64,
}

impl FoldStreams<'_> {
    fn key(&self, fold: usize, purpose: Purpose) -> SeedKey<'_> {
        SeedKey {
            scope: self.scope,
            replicate: self.replicate,
            fold: fold as u64,
            purpose,
        }
    }

    /// The training inputs of fold `fold`'s model: its seeds, data and (when private) the
    /// private training.
    fn spec<'a>(
        &self,
        fold: usize,
        x: &'a tch::Tensor,
        y: &'a [u8],
        privacy: Option<PrivateTraining<'a>>,
    ) -> TrainSpec<'a> {
        let seed = |purpose| seeds::derive(self.base, &self.key(fold, purpose));
        let c = self.config;
        TrainSpec {
            kind: c.classifier,
            head: c.head,
            hyper: c.hyper,
            device: self.device,
            x,
            y,
            init_seed: seeds::torch_seed(seed(Purpose::Init)),
            dropout_seed: seeds::torch_seed(seed(Purpose::Dropout)),
            shuffle: seeds::rng(self.base, &self.key(fold, Purpose::Shuffle)),
            privacy,
        }
    }
}

/// Whether to go on after a fold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    Continue,
    Stop,
}

/// The fold plan of `inp` (LOSO folds or TSTR test subjects), in fold order.
pub fn plan_folds(inp: &EvalInputs<'_>) -> Result<Vec<Fold>, EvalError> {
    validate(inp)?;
    let real = inp.real;
    Ok(match inp.config.protocol {
        Protocol::Loso => loso_folds(&real.subject_ids, &real.subject, inp.synthetic.is_some())?,
        Protocol::Tstr => tstr_splits(&real.subject_ids, &real.subject),
    })
}

/// Trains and scores the folds `wanted` (indices into [`plan_folds`]) of replicate `r`;
/// `on_fold` sees each outcome as it is scored and may stop the run between folds (the
/// outcomes so far are returned).
pub fn run_folds(
    inp: &EvalInputs<'_>,
    r: usize,
    wanted: &[usize],
    mut on_fold: impl FnMut(&FoldOutcome) -> Next,
) -> Result<Vec<FoldOutcome>, EvalError> {
    let folds = plan_folds(inp)?;
    let c = &inp.config;
    let real = inp.real;
    let plans = privacy_plans(inp, &folds, wanted, None)?;
    let scope = match c.protocol {
        Protocol::Loso => "loso",
        Protocol::Tstr => "tstr",
    };
    let syn_all: Vec<usize> = inp
        .synthetic
        .as_ref()
        .map(|(s, _)| (0..s.len()).collect())
        .unwrap_or_default();
    let syn_x = inp
        .synthetic
        .as_ref()
        .map(|(s, _)| features_tensor(&s.x, &syn_all, inp.device));
    let syn_y: Vec<u8> = inp
        .synthetic
        .as_ref()
        .map(|(s, _)| s.y.clone())
        .unwrap_or_default();
    let base = seeds::replicate_seed(c.master_seed, r as u64, c.same_seed);
    // With --same-seed every replicate draws the very same streams, as the reference did.
    let key_rep = if c.same_seed { 0 } else { r as u64 };
    let streams = FoldStreams {
        config: c,
        device: inp.device,
        base,
        scope,
        replicate: key_rep,
    };
    let train_fold = |fold: usize, x: &tch::Tensor, y: &[u8], private: Option<(DpPlan, &[u32])>| {
        // DP randomness (which windows each Poisson batch holds, the Gaussian noise) is
        // secret: a fresh key from the operating system per trained model, never recorded,
        // unless the request asks for it to be reproducible from the recorded seed.
        let privacy = match private {
            None => None,
            Some((plan, subjects)) => {
                let rng = if plan.request.reproducible_noise {
                    seeds::rng(base, &streams.key(fold, Purpose::Privacy))
                } else {
                    secret_rng()?
                };
                Some(PrivateTraining {
                    plan,
                    subjects,
                    rng,
                })
            }
        };
        train(streams.spec(fold, x, y, privacy))
            .map_err(|e| EvalError::Invalid(format!("train fold {fold} privately: {e}")))
    };
    // TSTR trains one model per call on the synthetic windows only, its streams keyed by the
    // first wanted fold (fold 0 for a whole TSTR; the fold itself when each fold has its own
    // synthetic data, as with per-fold generators).
    let tstr_model = match c.protocol {
        Protocol::Tstr if !wanted.is_empty() => {
            let x = syn_x.as_ref().expect("validated");
            Some(train_fold(wanted[0], x, &syn_y, None)?)
        }
        _ => None,
    };
    let lookup = |fi: usize| {
        folds.get(fi).ok_or_else(|| {
            EvalError::Invalid(format!("fold {fi} does not exist ({} folds)", folds.len()))
        })
    };
    // A LOSO fold's training windows: its real subjects' (and the synthetic ones when it
    // augments), with their labels and subjects.
    let training_set = |f: &Fold, syn_x: Option<&tch::Tensor>| {
        let real_x = features_tensor(&real.x, &f.train_real, inp.device);
        let mut y: Vec<u8> = f.train_real.iter().map(|&i| real.y[i]).collect();
        let mut subjects: Vec<u32> = f.train_real.iter().map(|&i| real.subject[i]).collect();
        let x = match (syn_x, f.use_synthetic) {
            (Some(sx), true) => {
                y.extend_from_slice(&syn_y);
                if let Some((s, _)) = &inp.synthetic {
                    subjects.extend(s.subject.iter().map(|&id| id | SYNTHETIC_SUBJECT_FLAG));
                }
                tch::Tensor::cat(&[real_x, sx.shallow_clone()], 0)
            }
            _ => real_x,
        };
        (x, y, subjects)
    };
    // Predicts fold f's test subject with `model` and scores it; `first_use`: the model was
    // trained for this fold (its training time is booked here).
    let score = |f: &Fold,
                 model: &super::classifier::Trained,
                 first_use: bool|
     -> Result<FoldOutcome, EvalError> {
        let t = Instant::now();
        let test_x = features_tensor(&real.x, &f.test, inp.device);
        let probs = model.predict(&test_x);
        let truth: Vec<usize> = f.test.iter().map(|&i| real.y[i] as usize).collect();
        let metrics = MetricSet::from_binary_probabilities(&probs, &truth)?;
        let predict_seconds = t.elapsed().as_secs_f64();
        let p = model.profile;
        Ok(FoldOutcome {
            replicate: r,
            train_seconds: if first_use { model.train_seconds } else { 0.0 },
            predict_seconds,
            profile: first_use.then_some(TrainProfileSeconds {
                setup: p.setup,
                batching: p.batching,
                forward: p.forward,
                backward: p.backward,
                step: p.step,
            }),
            record: FoldRecord {
                fold: f.index,
                test_subject: format!("S{}", f.test_subject),
                n_train_real: f.train_real.len(),
                n_train_synthetic: if f.use_synthetic { syn_y.len() } else { 0 },
                n_test: f.test.len(),
                class_weights: model.class_weights.clone(),
                final_loss: model.final_loss,
                metrics,
                privacy: model.privacy.clone(),
            },
        })
    };
    // One fold, from its place k in `wanted`: train (unless TSTR's one model is given), predict
    // the test subject, score.
    let fold_outcome = |k: usize,
                        fi: usize,
                        syn_x: Option<&tch::Tensor>,
                        shared: Option<&super::classifier::Trained>|
     -> Result<FoldOutcome, EvalError> {
        let f = lookup(fi)?;
        match shared {
            Some(m) => score(f, m, k == 0),
            None => {
                let (x, y, subjects) = training_set(f, syn_x);
                let private = plans[k].clone().map(|p| (p, subjects.as_slice()));
                let model = train_fold(f.index, &x, &y, private)?;
                score(f, &model, true)
            }
        }
    };
    let group = fold_group(c, wanted.len(), tstr_model.is_some());
    if group > 1 {
        let mut out = Vec::with_capacity(wanted.len());
        for chunk in wanted.chunks(group) {
            let folds_here = chunk
                .iter()
                .map(|&fi| lookup(fi))
                .collect::<Result<Vec<_>, _>>()?;
            let sets: Vec<_> = folds_here
                .iter()
                .map(|f| training_set(f, syn_x.as_ref()))
                .collect();
            let specs = folds_here
                .iter()
                .zip(&sets)
                .map(|(f, (x, y, _))| streams.spec(f.index, x, y, None))
                .collect();
            let models = super::fold_batch::train_batched(specs)
                .map_err(|e| EvalError::Invalid(format!("fold-batched training: {e}")))?;
            // The group's folds are all trained: every one is scored and reported, then a
            // Stop takes effect.
            let mut stop = false;
            for (f, model) in folds_here.iter().zip(&models) {
                let outcome = score(f, model, true)?;
                stop |= on_fold(&outcome) == Next::Stop;
                out.push(outcome);
            }
            if stop {
                break;
            }
        }
        return Ok(out);
    }
    let workers = fold_workers(c.threads, inp.device, wanted.len(), tstr_model.is_some());
    if workers > 1 {
        return run_concurrently(workers, c.threads, wanted, &syn_x, &fold_outcome, on_fold);
    }
    let mut out = Vec::with_capacity(wanted.len());
    for (k, &fi) in wanted.iter().enumerate() {
        let outcome = fold_outcome(k, fi, syn_x.as_ref(), tstr_model.as_ref())?;
        let next = on_fold(&outcome);
        out.push(outcome);
        if next == Next::Stop {
            break;
        }
    }
    Ok(out)
}

/// How many folds' models to train as one batched model ([`super::fold_batch`]): the
/// requested `fold_batch` (at most the folds wanted), for CNNs trained without DP, each fold
/// training its own model (not TSTR's one model per replicate); 1 otherwise.
fn fold_group(c: &EvalConfig, folds: usize, shared_model: bool) -> usize {
    let eligible = super::fold_batch::batchable(c.classifier, c.hyper.dp.is_some());
    if !eligible || shared_model || c.fold_batch <= 1 {
        return 1;
    }
    c.fold_batch.min(folds).max(1)
}

/// How many folds to train at once: on the CPU, with at least two threads and two folds that
/// each train their own model, one fold per thread (each with `threads / workers` libtorch
/// threads). On this 2-core machine two folds on one libtorch thread each ran a 2-epoch CNN
/// LOSO in 36.1 s against 40.6 s one fold at a time on two threads (1.12×; `dpwear eval loso
/// --classifier cnn --mode reference --epochs 2 --threads 2`, with and without
/// `DPWEAR_SEQUENTIAL_FOLDS`): libtorch's intra-op parallelism does not keep two cores busy on
/// these small models. One fold at a time on CUDA, and for TSTR's one
/// model per replicate.
fn fold_workers(threads: usize, device: Device, folds: usize, shared_model: bool) -> usize {
    if device != Device::Cpu || shared_model || std::env::var_os(SEQUENTIAL_FOLDS_ENV).is_some() {
        return 1;
    }
    threads.min(folds).max(1)
}

/// Set (to anything) to train a process's folds one after the other on all its threads.
pub const SEQUENTIAL_FOLDS_ENV: &str = "DPWEAR_SEQUENTIAL_FOLDS";

/// Trains the folds `wanted` on `workers` threads, each taking the next fold in order; the
/// outcomes reach `on_fold` on this thread as they are scored (so in completion order), and a
/// `Stop` lets the running folds finish but starts no new one. The first error stops the run
/// the same way and is returned. libtorch's thread count is `threads / workers` meanwhile.
fn run_concurrently<F>(
    workers: usize,
    threads: usize,
    wanted: &[usize],
    syn_x: &Option<tch::Tensor>,
    fold_outcome: &F,
    mut on_fold: impl FnMut(&FoldOutcome) -> Next,
) -> Result<Vec<FoldOutcome>, EvalError>
where
    F: Fn(
            usize,
            usize,
            Option<&tch::Tensor>,
            Option<&super::classifier::Trained>,
        ) -> Result<FoldOutcome, EvalError>
        + Sync,
{
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let next_fold = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let per_worker = (threads / workers).max(1);
    tch::set_num_threads(per_worker as i32);
    let (tx, rx) = std::sync::mpsc::channel();
    let mut out = Vec::with_capacity(wanted.len());
    let mut first_error = None;
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let tx = tx.clone();
            // Tensors are Send but not Sync: every worker takes its own handle.
            let syn = syn_x.as_ref().map(|t| t.shallow_clone());
            let (next_fold, stop) = (&next_fold, &stop);
            scope.spawn(move || {
                // OpenMP's thread count is per calling thread: set it in every worker.
                tch::set_num_threads(per_worker as i32);
                while !stop.load(Ordering::SeqCst) {
                    let k = next_fold.fetch_add(1, Ordering::SeqCst);
                    let Some(&fi) = wanted.get(k) else { break };
                    let result = fold_outcome(k, fi, syn.as_ref(), None);
                    if result.is_err() {
                        stop.store(true, Ordering::SeqCst);
                    }
                    if tx.send(result).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        for result in rx {
            match result {
                Ok(outcome) => {
                    if on_fold(&outcome) == Next::Stop {
                        stop.store(true, Ordering::SeqCst);
                    }
                    out.push(outcome);
                }
                Err(e) => {
                    stop.store(true, Ordering::SeqCst);
                    first_error.get_or_insert(e);
                }
            }
        }
    });
    tch::set_num_threads(threads as i32);
    match first_error {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

/// Assembles the record from every fold of every replicate (`replicates[i]` = (replicate
/// index, its outcomes in any order)); `total_seconds` is the wall time to report.
pub fn assemble(
    inp: &EvalInputs<'_>,
    replicates: Vec<(usize, Vec<FoldOutcome>)>,
    total_seconds: f64,
) -> Result<EvalRecord, EvalError> {
    let c = &inp.config;
    let n_folds = plan_folds(inp)?.len();
    let mut records = Vec::with_capacity(replicates.len());
    let mut timings = Timings::default();
    for (r, mut outcomes) in replicates {
        outcomes.sort_by_key(|o| o.record.fold);
        if outcomes.len() != n_folds || outcomes.iter().enumerate().any(|(i, o)| o.record.fold != i)
        {
            return Err(EvalError::Invalid(format!(
                "replicate {r}: {} of {n_folds} folds present",
                outcomes.len()
            )));
        }
        let sets: Vec<MetricSet> = outcomes.iter().map(|o| o.record.metrics.clone()).collect();
        timings
            .train_seconds
            .push(outcomes.iter().map(|o| o.train_seconds).collect());
        timings
            .predict_seconds
            .push(outcomes.iter().map(|o| o.predict_seconds).collect());
        timings
            .train_profile
            .push(outcomes.iter().filter_map(|o| o.profile).collect());
        records.push(ReplicateRecord {
            replicate: r,
            seed: seeds::replicate_seed(c.master_seed, r as u64, c.same_seed),
            average: subject_average(&sets)?,
            pooled: pooled(&sets)?,
            folds: outcomes.into_iter().map(|o| o.record).collect(),
        });
    }
    let averages: Vec<_> = records.iter().map(|r| r.average).collect();
    let summary = ReplicateSummary::from_replicates(&averages, DEFAULT_POOR_THRESHOLD)?;
    timings.total_seconds = total_seconds;
    let n: usize = timings.train_seconds.iter().map(Vec::len).sum();
    let fold_total: f64 = timings
        .train_seconds
        .iter()
        .chain(&timings.predict_seconds)
        .flatten()
        .sum();
    timings.mean_fold_seconds = fold_total / n.max(1) as f64;
    Ok(EvalRecord {
        schema_version: RECORD_SCHEMA_VERSION,
        kind: "dpwear-eval".into(),
        dpwear_version: env!("CARGO_PKG_VERSION").into(),
        git_commit: env!("DPWEAR_GIT_COMMIT").into(),
        config: inp.config.clone(),
        data: provenance(inp.real, &inp.real_path),
        synthetic: inp.synthetic.as_ref().map(|(s, p)| provenance(s, p)),
        replicates: records,
        summary,
        timings,
    })
}

/// Runs every replicate and fold; `on_fold` is called after every scored fold.
pub fn run(
    inp: &EvalInputs<'_>,
    mut on_fold: impl FnMut(&FoldDone),
) -> Result<EvalRecord, EvalError> {
    let started = Instant::now();
    let n_folds = plan_folds(inp)?.len();
    let all: Vec<usize> = (0..n_folds).collect();
    let mut reps = Vec::with_capacity(inp.config.replicates);
    for r in 0..inp.config.replicates {
        let outcomes = run_folds(inp, r, &all, |o| {
            let m = &o.record.metrics;
            on_fold(&FoldDone {
                replicate: r,
                fold: o.record.fold,
                test_subject: o.record.test_subject[1..].parse().unwrap_or(0),
                reference_f1: m.reference.as_ref().map(|x| x.f1).unwrap_or(f64::NAN),
                positive_f1: m.positive_f1,
            });
            Next::Continue
        })?;
        reps.push((r, outcomes));
    }
    assemble(inp, reps, started.elapsed().as_secs_f64())
}
