//! The boundary-seeking GAN of Imtiaz et al. 2021 (seed 001, Fig. 3–4) for tabular records
//! scaled to [−1, 1]:
//!
//! - Generator: z ∈ R^w (the seed feeds a "15×1 signal", the record width) → Dense 64 →
//!   LeakyReLU(0.2) → Dense 32 → LeakyReLU(0.2) → Dense w → tanh. 3,599 parameters for
//!   w = 15, 3,405 for the 13 Fitbit value columns.
//! - Discriminator: Dense 512 → LeakyReLU(0.2) → Dense 256 → LeakyReLU(0.2) → Dense 1 (a
//!   logit; the seed's sigmoid is applied inside the losses). 139,777 parameters for w = 15.
//!   No BatchNorm, so per-example gradients for DP-SGD are well defined.
//! - Losses: the discriminator's binary cross-entropy, real → 1, fake → 0, averaged over the
//!   two halves; the **boundary-seeking** generator loss
//!   ½·mean((log D(G(z)) − log(1 − D(G(z))))²) = ½·mean(logit²) (Hjelm et al. 2018, the
//!   Keras-GAN reference), which pulls D(G(z)) to the decision boundary ½.
//!
//! May depend on: tch, `models::layers`.

use tch::nn;
use tch::Tensor;

use crate::models::layers::Dense;

/// LeakyReLU slope of both networks (the seed's "rate of 0.2").
pub const LEAKY_SLOPE: f64 = 0.2;
/// Hidden widths of the generator and the discriminator.
pub const G_HIDDEN: [i64; 2] = [64, 32];
pub const D_HIDDEN: [i64; 2] = [512, 256];

fn leaky(x: &Tensor) -> Tensor {
    x.where_self(&x.gt(0.0), &(x * LEAKY_SLOPE))
}

/// Three dense layers with LeakyReLU between them.
#[derive(Debug)]
pub struct Mlp {
    pub layers: [Dense; 3],
}

impl Mlp {
    fn new(p: &nn::Path, d_in: i64, hidden: [i64; 2], d_out: i64) -> Mlp {
        Mlp {
            layers: [
                Dense::new(p / "l0", d_in, hidden[0]),
                Dense::new(p / "l1", hidden[0], hidden[1]),
                Dense::new(p / "l2", hidden[1], d_out),
            ],
        }
    }

    fn forward(&self, x: &Tensor) -> Tensor {
        let h = leaky(&self.layers[0].forward(x));
        let h = leaky(&self.layers[1].forward(&h));
        self.layers[2].forward(&h)
    }

    /// Weights and biases by stable name (`PREFIX.lK.weight|bias`).
    pub fn named(&self, prefix: &str) -> Vec<(String, Tensor)> {
        self.layers
            .iter()
            .enumerate()
            .flat_map(|(k, d)| {
                [
                    (format!("{prefix}.l{k}.weight"), d.weight.shallow_clone()),
                    (format!("{prefix}.l{k}.bias"), d.bias.shallow_clone()),
                ]
            })
            .collect()
    }

    pub fn parameters(&self) -> Vec<&Tensor> {
        self.layers
            .iter()
            .flat_map(|d| [&d.weight, &d.bias])
            .collect()
    }
}

/// The generator: `width` noise values in, a record in [−1, 1]^width out.
#[derive(Debug)]
pub struct BganGenerator {
    pub net: Mlp,
    pub width: i64,
}

impl BganGenerator {
    pub fn new(p: &nn::Path, width: i64) -> Self {
        BganGenerator {
            net: Mlp::new(&(p / "generator"), width, G_HIDDEN, width),
            width,
        }
    }
    /// z: (n, width) → records (n, width) in [−1, 1].
    pub fn forward(&self, z: &Tensor) -> Tensor {
        self.net.forward(z).tanh()
    }
}

/// The discriminator: a record in, one logit out.
#[derive(Debug)]
pub struct BganDiscriminator {
    pub net: Mlp,
}

impl BganDiscriminator {
    pub fn new(p: &nn::Path, width: i64) -> Self {
        BganDiscriminator {
            net: Mlp::new(&(p / "discriminator"), width, D_HIDDEN, 1),
        }
    }
    /// records (n, width) → logits (n,).
    pub fn forward(&self, x: &Tensor) -> Tensor {
        self.net.forward(x).squeeze_dim(1)
    }
}

/// The boundary-seeking generator loss from the discriminator's logits on fakes:
/// ½·mean((log D − log(1 − D))²) with D = sigmoid(logit), i.e. ½·mean(logit²).
pub fn boundary_seeking_loss(fake_logits: &Tensor) -> Tensor {
    fake_logits.square().mean(tch::Kind::Float) * 0.5
}

/// Per-example binary cross-entropy of logits against a constant target (1 real, 0 fake).
pub fn bce_per_example(logits: &Tensor, target: f64) -> Tensor {
    // −[t·log σ(x) + (1 − t)·log(1 − σ(x))], with log(1 − σ(x)) = log σ(−x).
    let pos = logits.log_sigmoid();
    let neg = (-logits).log_sigmoid();
    -(pos * target + neg * (1.0 - target))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    fn count(ts: &[&Tensor]) -> i64 {
        ts.iter().map(|t| t.numel() as i64).sum()
    }

    #[test]
    fn parameter_counts_follow_the_seed() {
        let vs = nn::VarStore::new(Device::Cpu);
        let g = BganGenerator::new(&vs.root(), 15);
        let d = BganDiscriminator::new(&vs.root(), 15);
        assert_eq!(
            count(&g.net.parameters()),
            15 * 64 + 64 + 64 * 32 + 32 + 32 * 15 + 15
        );
        assert_eq!(count(&g.net.parameters()), 3_599);
        assert_eq!(count(&d.net.parameters()), 139_777);
        let g13 = BganGenerator::new(&vs.root(), 13);
        assert_eq!(count(&g13.net.parameters()), 3_405);
        let z = Tensor::randn([5, 15], (Kind::Float, Device::Cpu)) * 10.0;
        let x = g.forward(&z);
        assert_eq!(x.size(), vec![5, 15]);
        assert!(x.abs().max().double_value(&[]) <= 1.0);
        assert_eq!(d.forward(&x).size(), vec![5]);
        assert_eq!(g.net.named("g").len(), 6);
    }

    #[test]
    fn the_boundary_seeking_loss_matches_a_hand_computed_case() {
        // D = sigmoid(1) and sigmoid(−2): log(D / (1 − D)) = 1 and −2 → ½·(1 + 4)/2 = 1.25.
        let p = [0.731_058_578_630_004_9_f64, 0.119_202_922_022_117_58];
        let logits: Vec<f64> = p.iter().map(|p| (p / (1.0 - p)).ln()).collect();
        let l = boundary_seeking_loss(&Tensor::from_slice(&logits).to_kind(Kind::Float));
        assert!((l.double_value(&[]) - 1.25).abs() < 1e-6);
        // At the boundary the loss is 0 whatever the batch.
        assert_eq!(
            boundary_seeking_loss(&Tensor::zeros([4], (Kind::Float, Device::Cpu)))
                .double_value(&[]),
            0.0
        );
    }

    #[test]
    fn bce_is_the_textbook_formula() {
        let x = Tensor::from_slice(&[2.0f32, -1.0]);
        let s = |v: f64| 1.0 / (1.0 + (-v).exp());
        let real = bce_per_example(&x, 1.0);
        let fake = bce_per_example(&x, 0.0);
        assert!((real.double_value(&[0]) + s(2.0).ln()).abs() < 1e-6);
        assert!((fake.double_value(&[1]) + (1.0 - s(-1.0)).ln()).abs() < 1e-6);
    }
}
