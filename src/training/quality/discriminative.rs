//! TimeGAN's post-hoc discriminative score (Yoon et al. 2019, `discriminative_metrics.py`):
//! a GRU classifier ([`PostHocGru`], one layer, ⌊c/2⌋ units by default, a linear head on the
//! last hidden state) is trained to tell real (label 1) from synthetic (label 0) windows.
//! Each set is split 80/20 at random; every Adam step takes `batch` windows of the real 80 %
//! and `batch` of the synthetic 80 % (without replacement) and minimises the mean binary
//! cross-entropy; after the fixed number of steps the accuracy (logit > 0) is measured on the
//! two held-out 20 % parts together, and the score is |accuracy − ½|: about 0 when the
//! classifier cannot tell the sets apart, ½ when it always can.
//!
//! May depend on: tch, models::posthoc, the generator training's Adam, config::seeds.

use serde::Serialize;
use tch::{nn, Device, Kind, Reduction, Tensor};

use super::windows::{batch, check_shape, split, to_tensor};
use super::{apply_threads, QualityError, QualityTrainConfig};
use crate::config::seeds::{self, Purpose, SeedKey};
use crate::models::posthoc::PostHocGru;
use crate::training::generator::adam::{Adam, AdamConfig};

const WHAT: &str = "the discriminative score";
const SCOPE: &str = "quality-discriminative";

/// The discriminative score and what it was measured on.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DiscriminativeScore {
    /// Accuracy on the held-out windows (real and synthetic together).
    pub accuracy: f64,
    /// |accuracy − 0.5|.
    pub score: f64,
    /// Training windows (real + synthetic).
    pub n_train: usize,
    /// Held-out windows (real + synthetic).
    pub n_test: usize,
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

/// The discriminative score of `synthetic` against `real` (both n × t × c, window-major).
pub fn discriminative_score(
    real: &[f32],
    synthetic: &[f32],
    t: usize,
    c: usize,
    cfg: &QualityTrainConfig,
) -> Result<DiscriminativeScore, QualityError> {
    cfg.check()?;
    check_shape(WHAT, t, c, 1)?;
    let real = to_tensor(WHAT, "real", real, t, c)?;
    let synthetic = to_tensor(WHAT, "synthetic", synthetic, t, c)?;
    apply_threads(cfg.threads);
    let mut rng = seeds::rng(cfg.seed, &key(Purpose::Shuffle));
    let (real_train, real_test) = split(real.size()[0] as usize, &mut rng);
    let (syn_train, syn_test) = split(synthetic.size()[0] as usize, &mut rng);

    tch::manual_seed(seeds::torch_seed(seeds::derive(
        cfg.seed,
        &key(Purpose::Init),
    )));
    let hidden = cfg.hidden_for(c);
    let vs = nn::VarStore::new(Device::Cpu);
    let net = PostHocGru::new(vs.root(), c as i64, hidden, 1);
    let mut opt = Adam::new(
        vs.trainable_variables(),
        AdamConfig::new(cfg.learning_rate, 0.9),
    );
    for _ in 0..cfg.iterations {
        let xr = real.index_select(0, &batch(&real_train, cfg.batch, &mut rng));
        let xs = synthetic.index_select(0, &batch(&syn_train, cfg.batch, &mut rng));
        let target = Tensor::cat(
            &[
                Tensor::ones([xr.size()[0]], (Kind::Float, Device::Cpu)),
                Tensor::zeros([xs.size()[0]], (Kind::Float, Device::Cpu)),
            ],
            0,
        );
        let logits = net.forward_last(&Tensor::cat(&[xr, xs], 0)).squeeze_dim(1);
        let loss =
            logits.binary_cross_entropy_with_logits::<Tensor>(&target, None, None, Reduction::Mean);
        opt.zero_grad();
        loss.backward();
        opt.step();
    }

    let correct = |x: &Tensor, rows: &[i64], real: bool| -> i64 {
        tch::no_grad(|| {
            let logits = net.forward_last(&x.index_select(0, &Tensor::from_slice(rows)));
            let said_real = logits.gt(0.0);
            let right = if real {
                said_real
            } else {
                said_real.logical_not()
            };
            right.sum(Kind::Int64).int64_value(&[])
        })
    };
    let hits = correct(&real, &real_test, true) + correct(&synthetic, &syn_test, false);
    let n_test = real_test.len() + syn_test.len();
    let accuracy = hits as f64 / n_test as f64;
    Ok(DiscriminativeScore {
        accuracy,
        score: (accuracy - 0.5).abs(),
        n_train: real_train.len() + syn_train.len(),
        n_test,
        iterations: cfg.iterations,
        hidden,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::training::quality::windows::sine_windows;

    const T: usize = 60;
    const C: usize = 6;

    fn cfg(seed: u64) -> QualityTrainConfig {
        QualityTrainConfig {
            iterations: 150,
            batch: 64,
            learning_rate: 1e-2,
            seed,
            threads: Some(1),
            ..Default::default()
        }
    }

    #[test]
    fn fresh_draws_of_the_same_distribution_score_near_zero() {
        let real = sine_windows(500, T, C, 0.0, 1);
        let synthetic = sine_windows(500, T, C, 0.0, 2);
        let s = discriminative_score(&real, &synthetic, T, C, &cfg(7)).unwrap();
        assert_eq!((s.n_train, s.n_test), (800, 200));
        assert_eq!(s.hidden, 3);
        assert!(s.score < 0.1, "{s:?}");
    }

    #[test]
    fn shifted_data_score_high_and_the_score_is_reproducible() {
        let real = sine_windows(500, T, C, 0.0, 1);
        let synthetic = sine_windows(300, T, C, 0.3, 2);
        let s = discriminative_score(&real, &synthetic, T, C, &cfg(7)).unwrap();
        assert!(s.score > 0.3, "{s:?}");
        let again = discriminative_score(&real, &synthetic, T, C, &cfg(7)).unwrap();
        assert_eq!(s, again);
    }

    #[test]
    fn bad_input_is_an_error() {
        let real = sine_windows(10, T, C, 0.0, 1);
        let few = sine_windows(4, T, C, 0.0, 2);
        assert!(matches!(
            discriminative_score(&real, &few, T, C, &cfg(0)),
            Err(QualityError::TooFewWindows {
                set: "synthetic",
                found: 4,
                ..
            })
        ));
        assert!(matches!(
            discriminative_score(&real, &real[1..], T, C, &cfg(0)),
            Err(QualityError::Ragged { .. })
        ));
        let mut inf = real.clone();
        inf[T * C * 3] = f32::INFINITY;
        assert!(matches!(
            discriminative_score(&inf, &real, T, C, &cfg(0)),
            Err(QualityError::NonFinite {
                set: "real",
                window: 3,
                ..
            })
        ));
        let zero = QualityTrainConfig {
            iterations: 0,
            ..cfg(0)
        };
        assert!(matches!(
            discriminative_score(&real, &real, T, C, &zero),
            Err(QualityError::Config {
                field: "iterations",
                ..
            })
        ));
    }
}
