//! Randomness of generator training: one ChaCha20 stream per (run seed, purpose, step), so a
//! step's draws are a pure function of the seed and the step index. That is what makes a
//! resumed training bitwise equal to an uninterrupted one without saving any RNG state, and
//! what keeps the draws independent of libtorch's process-global generator (used only to
//! initialise weights, seeded once before the networks are built).
//!
//! **Secret streams.** A DP guarantee holds only against an adversary who cannot recompute the
//! mechanism's randomness: the Gaussian noise, and which windows each Poisson batch holds (the
//! amplification by subsampling assumes the sample is hidden). Those two streams are therefore
//! keyed by a [`SecretKey`], not by the recorded seed: a private training draws a fresh 256-bit
//! key from the operating system and keeps it only in its training state (never in the model
//! card or the released generator), so resuming continues the same streams. A key derived from
//! the seed ([`SecretKey::from_seed`]) makes a run bitwise reproducible from its card, and is
//! what non-private runs and `--reproducible-dp` use; the latter's statement then says that it
//! does not hold against anyone who knows the seed.
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

/// The key of the streams a DP guarantee needs hidden (module docs).
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey([u8; 32]);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

impl SecretKey {
    /// Name of the key's tensor in the training state.
    pub const STATE_NAME: &'static str = "executor.secret_key";

    /// 256 bits from the operating system's random source.
    pub fn fresh() -> Result<Self, String> {
        use rand::TryRngCore;
        let mut k = [0u8; 32];
        rand::rngs::OsRng
            .try_fill_bytes(&mut k)
            .map_err(|e| format!("draw a secret key from the operating system: {e}"))?;
        Ok(Self(k))
    }

    /// A key anyone who knows `run_seed` can recompute (non-private runs, tests,
    /// `--reproducible-dp`).
    pub fn from_seed(run_seed: u64) -> Self {
        let mut h = Sha256::new();
        h.update(format!("dpwear-gen-public-key-v1|{run_seed}").as_bytes());
        Self(h.finalize().into())
    }

    /// The key as a (32,) uint8 tensor for the training state.
    pub fn to_tensor(&self) -> Tensor {
        Tensor::from_slice(&self.0)
    }

    /// The key from [`SecretKey::to_tensor`].
    pub fn from_tensor(t: &Tensor) -> Result<Self, String> {
        let v: Vec<u8> = Vec::<u8>::try_from(t.to_kind(Kind::Uint8).view([-1]))
            .map_err(|e| format!("secret key: {e}"))?;
        let k: [u8; 32] = v
            .try_into()
            .map_err(|_| "secret key: expected 32 bytes".to_string())?;
        Ok(Self(k))
    }

    /// The stream of (purpose, step) under this key (hidden from anyone without the key).
    pub fn stream(&self, purpose: StepPurpose, step: u64) -> ChaCha20Rng {
        let mut h = Sha256::new();
        h.update(self.0);
        h.update(format!("|{}|{step}", purpose.tag()).as_bytes());
        ChaCha20Rng::from_seed(h.finalize().into())
    }
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
    /// Streams of step `step` with the batch and noise streams keyed by the seed itself
    /// ([`SecretKey::from_seed`]): reproducible by anyone who knows the seed.
    pub fn new(run_seed: u64, step: u64) -> Self {
        Self::keyed(run_seed, step, &SecretKey::from_seed(run_seed))
    }

    /// Streams of step `step`: latent draws from the seed, batches and noise from `key`.
    pub fn keyed(run_seed: u64, step: u64, key: &SecretKey) -> Self {
        Self {
            run_seed,
            step,
            batch: key.stream(StepPurpose::Batch, step),
            latent: stream(run_seed, StepPurpose::Latent, step),
            noise: key.stream(StepPurpose::Noise, step),
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
    fn secret_streams_depend_on_the_key_only() {
        let k1 = SecretKey::fresh().unwrap();
        let k2 = SecretKey::fresh().unwrap();
        assert_ne!(k1, k2);
        let a = StepRng::keyed(5, 3, &k1);
        let mut a2 = StepRng::keyed(6, 3, &k1);
        let mut b = StepRng::keyed(5, 3, &k2);
        let mut a = a;
        // Same key, other seed: same batch and noise, other latent.
        assert_eq!(a.noise_seed(), a2.noise_seed());
        assert_eq!(a.batch.next_u64(), a2.batch.next_u64());
        assert_ne!(a.latent.next_u64(), a2.latent.next_u64());
        assert_ne!(a.noise_seed(), b.noise_seed());
        // The key survives the training state.
        assert_eq!(SecretKey::from_tensor(&k1.to_tensor()).unwrap(), k1);
        // The public key is what StepRng::new uses.
        let mut p = StepRng::new(9, 1);
        let mut q = StepRng::keyed(9, 1, &SecretKey::from_seed(9));
        assert_eq!(p.noise_seed(), q.noise_seed());
    }

    #[test]
    fn prior_labels_follow_the_prior() {
        let mut rng = stream(1, StepPurpose::Generate, 0);
        let l = labels_from_prior(20_000, &[0.7, 0.3], &mut rng);
        let ones = l.iter().filter(|&&x| x == 1).count() as f64 / 20_000.0;
        assert!((ones - 0.3).abs() < 0.015, "{ones}");
    }
}
