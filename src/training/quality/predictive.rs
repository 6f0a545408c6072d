//! TimeGAN's post-hoc predictive score (Yoon et al. 2019, `predictive_metrics.py`), "train on
//! synthetic, test on real", in its one-step-ahead form for every channel: a GRU predictor
//! ([`PostHocGru`], one layer, ⌊c/2⌋ units by default, a linear head on every step) reads
//! steps 0..s of a window and predicts all c channels of step s + 1, for s = 0..t − 2; it is
//! trained with Adam on the mean absolute error for a fixed number of steps. (TimeGAN's own
//! variant predicts the last channel at s + 1 from the other channels up to s, through a
//! sigmoid; here no channel is singled out and the head is linear, so data need not lie in
//! [0, 1].)
//!
//! The real windows are split 80/20 at random. The predictor trained on all synthetic windows
//! and the same predictor (same initial weights, same number of steps) trained on the real
//! 80 % are both scored by their MAE over every predicted value of the real 20 %: the second
//! is the reference the first should approach.
//!
//! May depend on: tch, models::posthoc, the generator training's Adam, config::seeds.

use rand_chacha::ChaCha20Rng;
use serde::Serialize;
use tch::{nn, Device, Kind, Reduction, Tensor};

use super::windows::{batch, check_shape, split, to_tensor};
use super::{apply_threads, QualityError, QualityTrainConfig};
use crate::config::seeds::{self, Purpose, SeedKey};
use crate::models::posthoc::PostHocGru;
use crate::training::generator::adam::{Adam, AdamConfig};

const WHAT: &str = "the predictive score";
const SCOPE: &str = "quality-predictive";

/// The predictive score and its real-data reference.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PredictiveScore {
    /// MAE on the held-out real windows of the predictor trained on the synthetic windows.
    pub mae_synthetic_trained: f64,
    /// MAE on the same windows of the predictor trained on the other real windows.
    pub mae_real_trained: f64,
    pub n_synthetic_train: usize,
    pub n_real_train: usize,
    pub n_real_test: usize,
    pub iterations: usize,
    pub hidden: i64,
}

fn key(purpose: Purpose) -> SeedKey<'static> {
    SeedKey {
        scope: SCOPE,
        replicate: 0,
        fold: 0,
        purpose,
    }
}

/// Inputs (steps 0..t−1) and targets (steps 1..t) of windows x (B, t, c).
fn shifted(x: &Tensor) -> (Tensor, Tensor) {
    let t = x.size()[1];
    (x.narrow(1, 0, t - 1), x.narrow(1, 1, t - 1))
}

/// Trains a predictor on `rows` of `x`; initial weights from `init_seed`, batches from `rng`.
fn train(
    x: &Tensor,
    rows: &[i64],
    c: i64,
    hidden: i64,
    cfg: &QualityTrainConfig,
    init_seed: i64,
    rng: &mut ChaCha20Rng,
) -> (nn::VarStore, PostHocGru) {
    tch::manual_seed(init_seed);
    let vs = nn::VarStore::new(Device::Cpu);
    let net = PostHocGru::new(vs.root(), c, hidden, c);
    let mut opt = Adam::new(
        vs.trainable_variables(),
        AdamConfig::new(cfg.learning_rate, 0.9),
    );
    for _ in 0..cfg.iterations {
        let (input, target) = shifted(&x.index_select(0, &batch(rows, cfg.batch, rng)));
        let loss = net.forward_seq(&input).l1_loss(&target, Reduction::Mean);
        opt.zero_grad();
        loss.backward();
        opt.step();
    }
    (vs, net)
}

fn mae(net: &PostHocGru, x: &Tensor) -> f64 {
    tch::no_grad(|| {
        let (input, target) = shifted(x);
        (net.forward_seq(&input) - target)
            .abs()
            .mean(Kind::Double)
            .double_value(&[])
    })
}

/// The predictive score of `synthetic` for `real` (both n × t × c, window-major, t ≥ 2).
pub fn predictive_score(
    real: &[f32],
    synthetic: &[f32],
    t: usize,
    c: usize,
    cfg: &QualityTrainConfig,
) -> Result<PredictiveScore, QualityError> {
    cfg.check()?;
    check_shape(WHAT, t, c, 2)?;
    let real = to_tensor(WHAT, "real", real, t, c)?;
    let synthetic = to_tensor(WHAT, "synthetic", synthetic, t, c)?;
    apply_threads(cfg.threads);
    let mut rng = seeds::rng(cfg.seed, &key(Purpose::Shuffle));
    let (real_train, real_test) = split(real.size()[0] as usize, &mut rng);
    let syn_rows: Vec<i64> = (0..synthetic.size()[0]).collect();
    let test = real.index_select(0, &Tensor::from_slice(&real_test));

    let init = seeds::torch_seed(seeds::derive(cfg.seed, &key(Purpose::Init)));
    let hidden = cfg.hidden_for(c);
    let c = c as i64;
    // The same initial weights and batch stream for both predictors: only the data differ.
    let batches = seeds::derive(cfg.seed, &key(Purpose::Sample));
    let mut rng_syn = seeds::rng(batches, &key(Purpose::Sample));
    let (_vs_syn, on_syn) = train(&synthetic, &syn_rows, c, hidden, cfg, init, &mut rng_syn);
    let mut rng_real = seeds::rng(batches, &key(Purpose::Sample));
    let (_vs_real, on_real) = train(&real, &real_train, c, hidden, cfg, init, &mut rng_real);
    Ok(PredictiveScore {
        mae_synthetic_trained: mae(&on_syn, &test),
        mae_real_trained: mae(&on_real, &test),
        n_synthetic_train: syn_rows.len(),
        n_real_train: real_train.len(),
        n_real_test: real_test.len(),
        iterations: cfg.iterations,
        hidden,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::training::quality::windows::sine_windows;

    const T: usize = 30;
    const C: usize = 6;

    fn cfg() -> QualityTrainConfig {
        QualityTrainConfig {
            iterations: 300,
            batch: 64,
            learning_rate: 1e-2,
            seed: 3,
            threads: Some(1),
            ..Default::default()
        }
    }

    #[test]
    fn same_distribution_matches_the_real_reference_and_a_mismatch_does_not() {
        let real = sine_windows(200, T, C, 0.0, 1);
        let same = predictive_score(&real, &sine_windows(200, T, C, 0.0, 2), T, C, &cfg()).unwrap();
        assert_eq!((same.n_real_train, same.n_real_test), (160, 40));
        let rel = same.mae_synthetic_trained / same.mae_real_trained;
        assert!((0.85..1.15).contains(&rel), "{same:?}");
        let off = predictive_score(&real, &sine_windows(200, T, C, 0.5, 2), T, C, &cfg()).unwrap();
        // The reference does not depend on the synthetic data.
        assert_eq!(off.mae_real_trained, same.mae_real_trained);
        assert!(
            off.mae_synthetic_trained > 1.5 * off.mae_real_trained,
            "{off:?}"
        );
    }

    #[test]
    fn one_step_windows_are_refused() {
        let w = vec![0.5f32; 10 * C];
        assert!(matches!(
            predictive_score(&w, &w, 1, C, &cfg()),
            Err(QualityError::Shape { t: 1, .. })
        ));
    }
}
