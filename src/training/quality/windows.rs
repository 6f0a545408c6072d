//! Flat window slices into (n, t, c) tensors with their checks, TimeGAN's 80/20 split and its
//! batches (a random subset of the training rows per step).
//!
//! May depend on: tch, rand.

use rand::seq::{IndexedRandom, SliceRandom};
use rand_chacha::ChaCha20Rng;
use tch::Tensor;

use super::{QualityError, MIN_WINDOWS};

/// Checks the window shape itself.
pub(crate) fn check_shape(
    what: &'static str,
    t: usize,
    c: usize,
    min_t: usize,
) -> Result<(), QualityError> {
    let reason = if c == 0 {
        "no channel"
    } else if t < min_t {
        if min_t > 1 {
            "at least 2 steps are needed to predict the next one"
        } else {
            "no time step"
        }
    } else {
        return Ok(());
    };
    Err(QualityError::Shape { what, t, c, reason })
}

/// `values` (n × t × c, window-major) as an (n, t, c) f32 tensor, after checking the length,
/// the number of windows (≥ [`MIN_WINDOWS`]) and that every value is finite.
pub(crate) fn to_tensor(
    what: &'static str,
    set: &'static str,
    values: &[f32],
    t: usize,
    c: usize,
) -> Result<Tensor, QualityError> {
    let window = t * c;
    if !values.len().is_multiple_of(window) {
        return Err(QualityError::Ragged {
            what,
            set,
            len: values.len(),
            t,
            c,
            window,
        });
    }
    let n = values.len() / window;
    if n < MIN_WINDOWS {
        return Err(QualityError::TooFewWindows {
            what,
            set,
            found: n,
            min: MIN_WINDOWS,
        });
    }
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        return Err(QualityError::NonFinite {
            what,
            set,
            window: i / window,
            value: values[i],
        });
    }
    Ok(Tensor::from_slice(values).view([n as i64, t as i64, c as i64]))
}

/// TimeGAN's `train_test_divide`: a random permutation of `n` rows, the first ⌊0.8 n⌋ for
/// training, the rest for testing (both non-empty for n ≥ 2).
pub(crate) fn split(n: usize, rng: &mut ChaCha20Rng) -> (Vec<i64>, Vec<i64>) {
    let mut idx: Vec<i64> = (0..n as i64).collect();
    idx.shuffle(rng);
    let n_train = (n * 4 / 5).max(1);
    let test = idx.split_off(n_train);
    (idx, test)
}

/// TimeGAN's `batch_generator`: `batch` rows of `rows` drawn without replacement (all of
/// them, shuffled, when there are fewer).
pub(crate) fn batch(rows: &[i64], batch: usize, rng: &mut ChaCha20Rng) -> Tensor {
    let chosen: Vec<i64> = rows
        .choose_multiple(rng, batch.min(rows.len()))
        .copied()
        .collect();
    Tensor::from_slice(&chosen)
}

/// Test windows: per channel k a sine of period 8 + 3k steps with a random phase per window,
/// amplitude 0.3, around 0.5 + `shift`, plus N(0, 0.05²) noise; n × t × c, window-major.
#[cfg(test)]
pub(crate) fn sine_windows(n: usize, t: usize, c: usize, shift: f32, seed: u64) -> Vec<f32> {
    use rand::{Rng, SeedableRng};
    use rand_distr::{Distribution, Normal};
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let noise = Normal::new(0.0f32, 0.05).expect("valid normal");
    let mut out = Vec::with_capacity(n * t * c);
    for _ in 0..n {
        let phases: Vec<f32> = (0..c)
            .map(|_| rng.random::<f32>() * std::f32::consts::TAU)
            .collect();
        for s in 0..t {
            for (k, phase) in phases.iter().enumerate() {
                let period = 8.0 + 3.0 * k as f32;
                let v =
                    0.5 + shift + 0.3 * (std::f32::consts::TAU * s as f32 / period + phase).sin();
                out.push(v + noise.sample(&mut rng));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn split_is_eighty_twenty_and_covers_every_row_once() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let (train, test) = split(11, &mut rng);
        assert_eq!((train.len(), test.len()), (8, 3));
        let mut all = [train, test].concat();
        all.sort();
        assert_eq!(all, (0..11).collect::<Vec<i64>>());
    }

    #[test]
    fn bad_windows_are_errors() {
        let ok = vec![0.0f32; 5 * 4 * 2];
        assert!(to_tensor("x", "real", &ok, 4, 2).is_ok());
        assert!(matches!(
            to_tensor("x", "real", &ok[..39], 4, 2),
            Err(QualityError::Ragged { len: 39, .. })
        ));
        assert!(matches!(
            to_tensor("x", "real", &ok[..32], 4, 2),
            Err(QualityError::TooFewWindows { found: 4, .. })
        ));
        let mut nan = ok.clone();
        nan[17] = f32::NAN;
        assert!(matches!(
            to_tensor("x", "real", &nan, 4, 2),
            Err(QualityError::NonFinite { window: 2, .. })
        ));
        assert!(check_shape("x", 1, 6, 2).is_err());
        assert!(check_shape("x", 60, 0, 1).is_err());
    }
}
