//! TimeGAN networks (spec §3.3.2): five recurrent networks, each a stack of Keras GRUs
//! (`return_sequences`) followed by a per-time-step Dense layer.
//!
//! | network       | input → output | output layer        |
//! |---------------|----------------|---------------------|
//! | embedder E    | X (6) → H (10) | Dense(10, sigmoid)  |
//! | recovery R    | H → X̃ (6)     | Dense(6, linear)    |
//! | generator G   | Z (6) → Ê (10) | Dense(10, sigmoid)  |
//! | supervisor S  | H → Ĥ (10)     | Dense(10, sigmoid)  |
//! | discriminator | H → logit (1)  | Dense(1, linear)    |
//!
//! The reference wraps each network in `Masking(-1)`; windows here are complete (never −1), so
//! the mask never applies and is left out. The supervisor has as many GRU layers as the
//! others in the reference (3); the original TimeGAN gives it `num_layers − 1`
//! ([`TimeganDims::supervisor_layers`] chooses).
//!
//! May depend on: tch, `models::layers`. Training lives in
//! `training::generator::kinds::timegan`.

use std::collections::HashMap;

use tch::{nn, Tensor};

use crate::models::layers::{Dense, KerasGru};

/// Sizes of the five networks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TimeganDims {
    /// Signal channels of a window (6).
    pub features: i64,
    /// Latent channels per time step (the reference's `z_dim = -1` means `features`).
    pub z_dim: i64,
    /// GRU units and latent (H) size (10).
    pub hidden: i64,
    /// GRU layers of the embedder, recovery, generator and discriminator (3).
    pub layers: i64,
    /// GRU layers of the supervisor (3 in the reference).
    pub supervisor_layers: i64,
}

impl TimeganDims {
    /// The reference's sizes: 6 features, z 6, hidden 10, 3 layers everywhere.
    pub fn reference() -> Self {
        Self {
            features: 6,
            z_dim: 6,
            hidden: 10,
            layers: 3,
            supervisor_layers: 3,
        }
    }

    /// Checks that every size is positive.
    pub fn validate(&self) -> Result<(), String> {
        for (name, v) in [
            ("features", self.features),
            ("z_dim", self.z_dim),
            ("hidden", self.hidden),
            ("layers", self.layers),
            ("supervisor_layers", self.supervisor_layers),
        ] {
            if v < 1 {
                return Err(format!("timegan {name} must be at least 1, got {v}"));
            }
        }
        Ok(())
    }
}

/// A stack of GRUs (all returning sequences) and a per-step Dense output layer.
#[derive(Debug)]
pub struct RnnNet {
    pub grus: Vec<KerasGru>,
    pub out: Dense,
    sigmoid: bool,
}

impl RnnNet {
    /// `layers` GRUs of `hidden` units over `d_in` inputs, then Dense(`d_out`), with a sigmoid
    /// when `sigmoid`.
    pub fn new(
        p: nn::Path,
        d_in: i64,
        hidden: i64,
        layers: i64,
        d_out: i64,
        sigmoid: bool,
    ) -> Self {
        let grus = (0..layers)
            .map(|i| {
                let d = if i == 0 { d_in } else { hidden };
                KerasGru::new(&p / format!("gru{i}"), d, hidden)
            })
            .collect();
        Self {
            grus,
            out: Dense::new(&p / "out", hidden, d_out),
            sigmoid,
        }
    }

    /// (batch, time, d_in) → (batch, time, d_out).
    pub fn forward(&self, x: &Tensor) -> Tensor {
        let mut h = x.shallow_clone();
        for g in &self.grus {
            h = g.forward(&h).0;
        }
        let y = self.out.forward(&h);
        if self.sigmoid {
            y.sigmoid()
        } else {
            y
        }
    }

    /// The parameters by name under `prefix`, in a fixed order: `gru<i>.kernel`,
    /// `gru<i>.recurrent`, `gru<i>.bias` for each layer, then `out.weight`, `out.bias`.
    pub fn named_params(&self, prefix: &str) -> Vec<(String, Tensor)> {
        let mut out = Vec::with_capacity(3 * self.grus.len() + 2);
        for (i, g) in self.grus.iter().enumerate() {
            out.push((format!("{prefix}.gru{i}.kernel"), g.kernel.shallow_clone()));
            out.push((
                format!("{prefix}.gru{i}.recurrent"),
                g.recurrent.shallow_clone(),
            ));
            out.push((format!("{prefix}.gru{i}.bias"), g.bias.shallow_clone()));
        }
        out.push((
            format!("{prefix}.out.weight"),
            self.out.weight.shallow_clone(),
        ));
        out.push((format!("{prefix}.out.bias"), self.out.bias.shallow_clone()));
        out
    }

    /// The parameters in [`RnnNet::named_params`] order.
    pub fn params(&self) -> Vec<Tensor> {
        self.named_params("").into_iter().map(|(_, t)| t).collect()
    }

    /// Number of scalar parameters.
    pub fn parameter_count(&self) -> i64 {
        self.params().iter().map(|t| t.numel() as i64).sum()
    }

    /// Copies the tensors named as [`RnnNet::named_params`] (under `prefix`) from `named` into
    /// this network; a missing name or a shape mismatch is an error.
    pub fn load(&self, prefix: &str, named: &HashMap<&str, &Tensor>) -> Result<(), String> {
        for (name, mut dst) in self.named_params(prefix) {
            let src = named
                .get(name.as_str())
                .ok_or_else(|| format!("tensor `{name}` missing"))?;
            if src.size() != dst.size() {
                return Err(format!(
                    "tensor `{name}` has shape {:?}, expected {:?}",
                    src.size(),
                    dst.size()
                ));
            }
            tch::no_grad(|| dst.copy_(src));
        }
        Ok(())
    }
}

/// Embedder E: X → H, Dense(hidden, sigmoid).
pub fn embedder(p: nn::Path, d: &TimeganDims) -> RnnNet {
    RnnNet::new(p, d.features, d.hidden, d.layers, d.hidden, true)
}

/// Recovery R: H → X̃, Dense(features, linear).
pub fn recovery(p: nn::Path, d: &TimeganDims) -> RnnNet {
    RnnNet::new(p, d.hidden, d.hidden, d.layers, d.features, false)
}

/// Generator G: Z → Ê, Dense(hidden, sigmoid).
pub fn generator(p: nn::Path, d: &TimeganDims) -> RnnNet {
    RnnNet::new(p, d.z_dim, d.hidden, d.layers, d.hidden, true)
}

/// Supervisor S: H → Ĥ (next-step latent), Dense(hidden, sigmoid).
pub fn supervisor(p: nn::Path, d: &TimeganDims) -> RnnNet {
    RnnNet::new(p, d.hidden, d.hidden, d.supervisor_layers, d.hidden, true)
}

/// Discriminator D: H → one logit per time step, Dense(1, linear).
pub fn discriminator(p: nn::Path, d: &TimeganDims) -> RnnNet {
    RnnNet::new(p, d.hidden, d.hidden, d.layers, 1, false)
}

/// Names of the five networks, in the order their parameters are laid out.
pub const NET_NAMES: [&str; 5] = [
    "embedder",
    "recovery",
    "generator",
    "supervisor",
    "discriminator",
];

/// The five networks of one (unconditional) TimeGAN.
#[derive(Debug)]
pub struct TimeganNets {
    pub embedder: RnnNet,
    pub recovery: RnnNet,
    pub generator: RnnNet,
    pub supervisor: RnnNet,
    pub discriminator: RnnNet,
}

impl TimeganNets {
    /// Builds the five networks under `p` (Keras initialisation from libtorch's generator).
    pub fn new(p: &nn::Path, d: &TimeganDims) -> Self {
        Self {
            embedder: embedder(p / "embedder", d),
            recovery: recovery(p / "recovery", d),
            generator: generator(p / "generator", d),
            supervisor: supervisor(p / "supervisor", d),
            discriminator: discriminator(p / "discriminator", d),
        }
    }

    /// The networks in [`NET_NAMES`] order.
    pub fn all(&self) -> [&RnnNet; 5] {
        [
            &self.embedder,
            &self.recovery,
            &self.generator,
            &self.supervisor,
            &self.discriminator,
        ]
    }
}

/// The released part of one TimeGAN: generator, supervisor and recovery.
#[derive(Debug)]
pub struct TimeganSampler {
    pub generator: RnnNet,
    pub supervisor: RnnNet,
    pub recovery: RnnNet,
}

impl TimeganSampler {
    pub fn new(p: &nn::Path, d: &TimeganDims) -> Self {
        Self {
            generator: generator(p / "generator", d),
            supervisor: supervisor(p / "supervisor", d),
            recovery: recovery(p / "recovery", d),
        }
    }

    /// X̂ = R(S(G(Z))), no renormalisation (as the reference generates).
    pub fn generate(&self, z: &Tensor) -> Tensor {
        generate(&self.generator, &self.supervisor, &self.recovery, z)
    }
}

/// X̂ = R(S(G(Z))).
pub fn generate(g: &RnnNet, s: &RnnNet, r: &RnnNet, z: &Tensor) -> Tensor {
    r.forward(&s.forward(&g.forward(z)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    #[test]
    fn parameter_counts_match_hand_computation() {
        let vs = nn::VarStore::new(Device::Cpu);
        let d = TimeganDims::reference();
        let nets = TimeganNets::new(&vs.root(), &d);
        // Keras GRU (reset_after): kernel d_in·3u + recurrent u·3u + bias 2·3u; u = 10.
        let gru_6 = 6 * 30 + 10 * 30 + 2 * 30; // 180 + 300 + 60 = 540
        let gru_10 = 10 * 30 + 10 * 30 + 2 * 30; // 300 + 300 + 60 = 660
        let dense = |i: i64, o: i64| i * o + o;
        // E: GRU(6→10) + 2·GRU(10→10) + Dense(10→10) = 540 + 1320 + 110 = 1970
        assert_eq!(
            nets.embedder.parameter_count(),
            gru_6 + 2 * gru_10 + dense(10, 10)
        );
        assert_eq!(nets.embedder.parameter_count(), 1970);
        // R: 3·GRU(10→10) + Dense(10→6) = 1980 + 66 = 2046
        assert_eq!(nets.recovery.parameter_count(), 3 * gru_10 + dense(10, 6));
        assert_eq!(nets.recovery.parameter_count(), 2046);
        // G: GRU(6→10) + 2·GRU(10→10) + Dense(10→10) = 1970 (Z has 6 channels, like X)
        assert_eq!(nets.generator.parameter_count(), 1970);
        // S: 3·GRU(10→10) + Dense(10→10) = 1980 + 110 = 2090
        assert_eq!(
            nets.supervisor.parameter_count(),
            3 * gru_10 + dense(10, 10)
        );
        assert_eq!(nets.supervisor.parameter_count(), 2090);
        // D: 3·GRU(10→10) + Dense(10→1) = 1980 + 11 = 1991
        assert_eq!(
            nets.discriminator.parameter_count(),
            3 * gru_10 + dense(10, 1)
        );
        assert_eq!(nets.discriminator.parameter_count(), 1991);
        // One class model: 1970 + 2046 + 1970 + 2090 + 1991 = 10067.
        let total: i64 = nets.all().iter().map(|n| n.parameter_count()).sum();
        assert_eq!(total, 10_067);
        // The original's supervisor (num_layers − 1 = 2 GRUs): 1320 + 110 = 1430.
        let vs2 = nn::VarStore::new(Device::Cpu);
        let s2 = supervisor(
            vs2.root(),
            &TimeganDims {
                supervisor_layers: 2,
                ..d
            },
        );
        assert_eq!(s2.parameter_count(), 2 * gru_10 + dense(10, 10));
        assert_eq!(s2.parameter_count(), 1430);
    }

    #[test]
    fn shapes_and_output_ranges() {
        tch::manual_seed(0);
        let vs = nn::VarStore::new(Device::Cpu);
        let d = TimeganDims::reference();
        let nets = TimeganNets::new(&vs.root(), &d);
        let x = Tensor::rand([4, 7, 6], (Kind::Float, Device::Cpu));
        let h = nets.embedder.forward(&x);
        assert_eq!(h.size(), vec![4, 7, 10]);
        assert!(h.min().double_value(&[]) > 0.0 && h.max().double_value(&[]) < 1.0);
        assert_eq!(nets.recovery.forward(&h).size(), vec![4, 7, 6]);
        assert_eq!(nets.supervisor.forward(&h).size(), vec![4, 7, 10]);
        assert_eq!(nets.discriminator.forward(&h).size(), vec![4, 7, 1]);
        let xh = generate(&nets.generator, &nets.supervisor, &nets.recovery, &x);
        assert_eq!(xh.size(), vec![4, 7, 6]);
    }

    #[test]
    fn load_copies_named_tensors_and_checks_them() {
        let d = TimeganDims::reference();
        let vs_a = nn::VarStore::new(Device::Cpu);
        let a = generator(vs_a.root(), &d);
        let vs_b = nn::VarStore::new(Device::Cpu);
        let b = generator(vs_b.root(), &d);
        let named = a.named_params("g");
        let map: HashMap<&str, &Tensor> = named.iter().map(|(n, t)| (n.as_str(), t)).collect();
        b.load("g", &map).unwrap();
        for (x, y) in a.params().iter().zip(b.params()) {
            assert!(x.equal(&y));
        }
        let err = b.load("other", &map).unwrap_err();
        assert!(err.contains("other.gru0.kernel"), "{err}");
    }
}
