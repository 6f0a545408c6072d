//! Randomness of generator training: one ChaCha20 stream per (run seed, purpose, step), so a
//! step's draws are a pure function of the seed and the step index. That is what makes a
//! resumed training bitwise equal to an uninterrupted one without saving any RNG state, and
//! what keeps the draws independent of libtorch's process-global generator (used only to
//! initialise weights, seeded once before the networks are built).
//!
//! May depend on: rand, rand_chacha, rand_distr, sha2, tch.

use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use rand_distr::{Distribution, StandardNormal};
use sha2::{Digest, Sha256};
use tch::{Device, Kind, Tensor};

/// What a stream is drawn for. Distinct purposes never share draws.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepPurpose {
    /// Which real windows a (Poisson) batch holds.
    Batch,
    /// Latent noise, fake labels, interpolation weights.
    Latent,
    /// DP-SGD Gaussian noise seeds.
    Noise,
    /// Sampling synthetic data from a trained generator.
    Generate,
    /// Anything else an algorithm needs (random features, ...).
    Other(u32),
}

impl StepPurpose {
    fn tag(self) -> String {
        match self {
            StepPurpose::Batch => "batch".into(),
            StepPurpose::Latent => "latent".into(),
            StepPurpose::Noise => "noise".into(),
            StepPurpose::Generate => "generate".into(),
            StepPurpose::Other(k) => format!("other-{k}"),
        }
    }
}

/// The seed of one (run, purpose, step) stream.
pub fn stream_seed(run_seed: u64, purpose: StepPurpose, step: u64) -> u64 {
    let mut h = Sha256::new();
    h.update(format!("dpwear-gen-v1|{run_seed}|{}|{step}", purpose.tag()).as_bytes());
    let d = h.finalize();
    u64::from_le_bytes(d[..8].try_into().expect("8 bytes"))
}

/// The ChaCha20 stream of one (run, purpose, step).
pub fn stream(run_seed: u64, purpose: StepPurpose, step: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(stream_seed(run_seed, purpose, step))
}

/// The random streams of one executor step.
#[derive(Debug)]
pub struct StepRng {
    pub run_seed: u64,
    pub step: u64,
    pub batch: ChaCha20Rng,
    pub latent: ChaCha20Rng,
    pub noise: ChaCha20Rng,
}

impl StepRng {
    pub fn new(run_seed: u64, step: u64) -> Self {
        Self {
            run_seed,
            step,
            batch: stream(run_seed, StepPurpose::Batch, step),
            latent: stream(run_seed, StepPurpose::Latent, step),
            noise: stream(run_seed, StepPurpose::Noise, step),
        }
    }

    /// A fresh seed for one DP noise draw (`dpsgd::noisy_mean` seeds its own ChaCha from it).
    pub fn noise_seed(&mut self) -> i64 {
        (self.noise.next_u64() >> 1) as i64
    }
}

/// Standard normal draws as an f32 tensor of `shape`.
pub fn normal(shape: &[i64], rng: &mut ChaCha20Rng, device: Device) -> Tensor {
    let n: i64 = shape.iter().product();
    let v: Vec<f32> = (0..n)
        .map(|_| {
            let x: f64 = StandardNormal.sample(rng);
            x as f32
        })
        .collect();
    Tensor::from_slice(&v).view(shape).to_device(device)
}

/// U[0, 1) draws as an f32 tensor of `shape`.
pub fn uniform(shape: &[i64], rng: &mut ChaCha20Rng, device: Device) -> Tensor {
    let n: i64 = shape.iter().product();
    let v: Vec<f32> = (0..n).map(|_| rng.random::<f32>()).collect();
    Tensor::from_slice(&v).view(shape).to_device(device)
}

/// `n` labels drawn from a (public) class prior `p` (probabilities summing to 1).
pub fn labels_from_prior(n: usize, prior: &[f64], rng: &mut ChaCha20Rng) -> Vec<u8> {
    (0..n)
        .map(|_| {
            let u: f64 = rng.random();
            let mut acc = 0.0;
            for (c, p) in prior.iter().enumerate() {
                acc += p;
                if u < acc {
                    return c as u8;
                }
            }
            (prior.len() - 1) as u8
        })
        .collect()
}

/// Labels as an int64 tensor.
pub fn label_tensor(labels: &[u8], device: Device) -> Tensor {
    let v: Vec<i64> = labels.iter().map(|&l| l as i64).collect();
    Tensor::from_slice(&v).to_device(device)
}

/// Float tensor helper for callers that build tensors from f64 values.
pub fn f32_tensor(values: &[f64], shape: &[i64], device: Device) -> Tensor {
    let v: Vec<f32> = values.iter().map(|&x| x as f32).collect();
    Tensor::from_slice(&v)
        .view(shape)
        .to_kind(Kind::Float)
        .to_device(device)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_pure_functions_of_seed_purpose_and_step() {
        let a = normal(&[3, 4], &mut stream(7, StepPurpose::Latent, 5), Device::Cpu);
        let b = normal(&[3, 4], &mut stream(7, StepPurpose::Latent, 5), Device::Cpu);
        let c = normal(&[3, 4], &mut stream(7, StepPurpose::Latent, 6), Device::Cpu);
        let d = normal(&[3, 4], &mut stream(7, StepPurpose::Batch, 5), Device::Cpu);
        assert!(a.equal(&b));
        assert!(!a.equal(&c));
        assert!(!a.equal(&d));
    }

    #[test]
    fn prior_labels_follow_the_prior() {
        let mut rng = stream(1, StepPurpose::Generate, 0);
        let l = labels_from_prior(20_000, &[0.7, 0.3], &mut rng);
        let ones = l.iter().filter(|&&x| x == 1).count() as f64 / 20_000.0;
        assert!((ones - 0.3).abs() < 0.015, "{ones}");
    }
}
