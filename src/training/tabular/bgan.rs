//! The BGAN training step and sampler (Imtiaz et al. 2021 on the Keras-GAN reference BGAN):
//! each step draws a batch of real records uniformly with replacement (the batch stream), one
//! latent batch z ~ N(0, 1) (the latent stream), updates the discriminator on the real half
//! (label 1) and the fake half (label 0) with the mean of the two binary cross-entropies, then
//! the generator on the same z with the boundary-seeking loss. Adam 2e-4, β1 0.5 for both.
//! Without DP-SGD no step is a mechanism (`private_steps` 0): a noisy-input training is
//! private through its input (see [`super::prepare`]), never through these steps.
//!
//! May depend on: tch, models::generators::bgan, training::generator (Adam, streams).

use rand::Rng;
use serde::{Deserialize, Serialize};
use tch::{nn, Device, Kind, Tensor};

use super::TabularTrainData;
use crate::models::generator_spec::GeneratorKind;
use crate::models::generators::bgan::{
    bce_per_example, boundary_seeking_loss, BganDiscriminator, BganGenerator,
};
use crate::models::generators::cgan::copy_named;
use crate::training::generator::adam::{Adam, AdamConfig};
use crate::training::generator::algorithm::{GanAlgorithm, StepReport};
use crate::training::generator::rng::{self, StepRng};

/// Hyper-parameters (the Keras-GAN reference's, with the seed's networks).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BganHyper {
    /// Steps (one D update and one G update each).
    pub steps: u64,
    pub batch_size: usize,
    pub adam: AdamConfig,
    /// Record width (columns).
    pub width: i64,
}

impl BganHyper {
    /// The reference's batch 32 and Adam 2e-4 / 0.5, `steps` steps, `width` columns.
    pub fn new(steps: u64, width: i64) -> BganHyper {
        BganHyper {
            steps,
            batch_size: 32,
            adam: AdamConfig::new(2e-4, 0.5),
            width,
        }
    }

    pub fn check(&self) -> Result<(), String> {
        if self.steps == 0 || self.steps > 100_000_000 {
            return Err(format!("steps {} must lie in 1..=100000000", self.steps));
        }
        if self.batch_size == 0 || self.batch_size > 65_536 {
            return Err(format!(
                "batch size {} must lie in 1..=65536",
                self.batch_size
            ));
        }
        if !(1..=4096).contains(&self.width) {
            return Err(format!("record width {} must lie in 1..=4096", self.width));
        }
        Ok(())
    }
}

/// The BGAN being trained.
pub struct BganAlgorithm {
    hyper: BganHyper,
    _vs: nn::VarStore,
    g: BganGenerator,
    d: BganDiscriminator,
    g_opt: Adam,
    d_opt: Adam,
}

impl BganAlgorithm {
    /// Networks initialised from libtorch's global generator (G first, then D).
    pub fn new(hyper: BganHyper, device: Device) -> Result<Self, String> {
        hyper.check()?;
        let vs = nn::VarStore::new(device);
        let g = BganGenerator::new(&vs.root(), hyper.width);
        let d = BganDiscriminator::new(&vs.root(), hyper.width);
        let g_opt = Adam::new(
            g.net
                .parameters()
                .into_iter()
                .map(|t| t.shallow_clone())
                .collect(),
            hyper.adam,
        );
        let d_opt = Adam::new(
            d.net
                .parameters()
                .into_iter()
                .map(|t| t.shallow_clone())
                .collect(),
            hyper.adam,
        );
        Ok(BganAlgorithm {
            hyper,
            _vs: vs,
            g,
            d,
            g_opt,
            d_opt,
        })
    }
}

impl GanAlgorithm<TabularTrainData> for BganAlgorithm {
    fn kind(&self) -> GeneratorKind {
        GeneratorKind::Bgan
    }

    fn total_steps(&self) -> u64 {
        self.hyper.steps
    }

    fn step(
        &mut self,
        _step: u64,
        data: &TabularTrainData,
        rng: &mut StepRng,
    ) -> Result<StepReport, String> {
        if data.width != self.hyper.width {
            return Err(format!(
                "the BGAN was built for {} columns but the records have {}",
                self.hyper.width, data.width
            ));
        }
        let b = self.hyper.batch_size;
        let device = data.records.device();
        let idx: Vec<i64> = (0..b)
            .map(|_| rng.batch.random_range(0..data.n as i64))
            .collect();
        let real = data
            .records
            .index_select(0, &Tensor::from_slice(&idx).to_device(device));
        let z = rng::normal(&[b as i64, self.hyper.width], &mut rng.latent, device);

        let fake = self.g.forward(&z);
        let d_real = bce_per_example(&self.d.forward(&real), 1.0).mean(Kind::Float);
        let d_fake = bce_per_example(&self.d.forward(&fake.detach()), 0.0).mean(Kind::Float);
        let d_loss = (&d_real + &d_fake) * 0.5;
        self.d_opt.zero_grad();
        d_loss.backward();
        self.d_opt.step();

        let g_loss = boundary_seeking_loss(&self.d.forward(&self.g.forward(&z)));
        self.g_opt.zero_grad();
        g_loss.backward();
        self.g_opt.step();

        let value = |t: &Tensor| t.double_value(&[]);
        let (dr, df, g) = (value(&d_real), value(&d_fake), value(&g_loss));
        if !(dr.is_finite() && df.is_finite() && g.is_finite()) {
            return Err(format!("non-finite loss (d_real {dr}, d_fake {df}, g {g})"));
        }
        Ok(StepReport {
            losses: vec![("d_real", dr), ("d_fake", df), ("g", g)],
            ..StepReport::default()
        })
    }

    fn state(&self) -> Vec<(String, Tensor)> {
        let mut out = self.generator_tensors();
        out.extend(self.d.net.named("d"));
        out.extend(self.g_opt.state("opt.g"));
        out.extend(self.d_opt.state("opt.d"));
        out
    }

    fn load_state(&mut self, named: &[(String, Tensor)]) -> Result<(), String> {
        copy_named(&self.g.net.named("g"), named, "")?;
        copy_named(&self.d.net.named("d"), named, "")?;
        self.g_opt.load_state("opt.g", named)?;
        self.d_opt.load_state("opt.d", named)?;
        Ok(())
    }

    fn generator_tensors(&self) -> Vec<(String, Tensor)> {
        self.g.net.named("g")
    }
}

/// Draws records from a trained BGAN generator.
pub struct BganSampler {
    _vs: nn::VarStore,
    g: BganGenerator,
}

impl BganSampler {
    /// Rebuilds the generator of `width` columns from its released tensors.
    pub fn new(tensors: &[(String, Tensor)], width: i64) -> Result<Self, String> {
        let vs = nn::VarStore::new(Device::Cpu);
        let g = BganGenerator::new(&vs.root(), width);
        copy_named(&g.net.named("g"), tensors, "")?;
        Ok(BganSampler { _vs: vs, g })
    }

    /// `n` records in [−1, 1] from the ChaCha stream `rng`.
    pub fn sample(&self, n: usize, rng: &mut rand_chacha::ChaCha20Rng) -> Vec<Vec<f32>> {
        let z = rng::normal(&[n as i64, self.g.width], rng, Device::Cpu);
        let x = tch::no_grad(|| self.g.forward(&z)).contiguous();
        let flat = Vec::<f32>::try_from(x.view([-1])).expect("f32 records");
        flat.chunks(self.g.width as usize)
            .map(|c| c.to_vec())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::super::prepare::{noisy_output, prepare, Mechanism};
    use super::*;
    use crate::config::tabular_domains;
    use crate::data::tabular::read_fitbit_daily;
    use crate::features::tabular::unscale_records;
    use crate::training::generator::rng::{SecretKey, StepPurpose};
    use rand::SeedableRng;

    fn fitbit() -> (crate::data::tabular::TabularData, tabular_domains::Domains) {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let csv = root.join("../shared/data/fitbit/dailyActivity_merged.csv");
        let csv = if csv.exists() {
            csv
        } else {
            "/work/shared/data/fitbit/dailyActivity_merged.csv".into()
        };
        let data = read_fitbit_daily(&csv).unwrap();
        let domains =
            tabular_domains::load(&root.join("experiments/tabular/fitbit-domains.toml")).unwrap();
        (data, domains)
    }

    fn train(alg: &mut BganAlgorithm, data: &TabularTrainData, from: u64, to: u64) {
        for step in from..to {
            alg.step(step, data, &mut StepRng::new(5, step)).unwrap();
        }
    }

    fn mean_ks(real: &[Vec<f64>], syn: &[Vec<f64>], names: &[String]) -> f64 {
        let c = crate::evaluation::tabular::compare(real, syn, names).unwrap();
        c.columns.iter().map(|c| c.ks.statistic).sum::<f64>() / c.columns.len() as f64
    }

    #[test]
    fn training_on_fitbit_records_brings_every_column_closer() {
        let (data, domains) = fitbit();
        let mut noise = SecretKey::from_seed(1).stream(StepPurpose::Other(1), 0);
        let p = prepare(&data, &domains, Mechanism::None, &mut noise).unwrap();
        assert_eq!(p.records, 940);
        assert_eq!(p.dropped, 0, "no user has more than 31 daily records");
        tch::manual_seed(3);
        let mut alg = BganAlgorithm::new(BganHyper::new(2000, 13), Device::Cpu).unwrap();
        let sample = |alg: &BganAlgorithm| {
            let s = BganSampler::new(&alg.generator_tensors(), 13).unwrap();
            let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(9);
            unscale_records(&s.sample(940, &mut rng), &p.domains)
        };
        let real: Vec<Vec<f64>> = data.values.clone();
        let before = mean_ks(&real, &sample(&alg), &data.columns);
        train(&mut alg, &p.train, 0, 2000);
        let after = mean_ks(&real, &sample(&alg), &data.columns);
        assert!(
            after < 0.7 * before,
            "mean KS statistic {before:.3} before, {after:.3} after"
        );
        let syn = sample(&alg);
        for (r, d) in syn.iter().flatten().zip(p.domains.iter().cycle()) {
            assert!((d.min..=d.max).contains(r), "{r} outside {}", d.name);
        }
    }

    #[test]
    fn a_training_is_deterministic_and_resumes_exactly() {
        let (data, domains) = fitbit();
        let mut noise = SecretKey::from_seed(1).stream(StepPurpose::Other(1), 0);
        let p = prepare(&data, &domains, Mechanism::None, &mut noise).unwrap();
        let build = || {
            tch::manual_seed(4);
            BganAlgorithm::new(BganHyper::new(40, 13), Device::Cpu).unwrap()
        };
        let mut whole = build();
        train(&mut whole, &p.train, 0, 40);
        let mut first = build();
        train(&mut first, &p.train, 0, 20);
        let state: Vec<(String, Tensor)> = first
            .state()
            .into_iter()
            .map(|(n, t)| (n, t.detach().copy()))
            .collect();
        tch::manual_seed(99);
        let mut resumed = BganAlgorithm::new(BganHyper::new(40, 13), Device::Cpu).unwrap();
        resumed.load_state(&state).unwrap();
        train(&mut resumed, &p.train, 20, 40);
        for ((n, a), (_, b)) in whole.state().iter().zip(resumed.state().iter()) {
            assert!(a.equal(b), "{n} differs after resuming");
        }
    }

    #[test]
    fn noisy_input_is_private_by_its_statement_and_noisy_output_says_it_is_not() {
        let (data, domains) = fitbit();
        let key = SecretKey::from_seed(1);
        // Every preparation draws from the same keyed stream.
        let prep = |m| {
            prepare(
                &data,
                &domains,
                m,
                &mut key.stream(StepPurpose::Other(1), 0),
            )
            .unwrap()
        };
        let clean = prep(Mechanism::None);
        let noisy = prep(Mechanism::NoisyInput);
        let again = prep(Mechanism::NoisyInput);
        assert!(clean.guarantee.is_none());
        assert_eq!(clean.statement, "no differential privacy");
        let g = noisy.guarantee.as_ref().unwrap();
        assert!((g.epsilon_record - 13.0 * 0.5).abs() < 1e-12);
        assert!((g.epsilon_user - 31.0 * 6.5).abs() < 1e-9);
        assert!(
            noisy.train.records.equal(&again.train.records),
            "the same key gives the same noise"
        );
        assert!(!noisy.train.records.equal(&clean.train.records));
        let max = noisy.train.records.abs().max().double_value(&[]);
        assert!(max <= 1.0, "noisy records stay in the domains: {max}");
        let out = prep(Mechanism::NoisyOutput);
        assert!(out
            .statement
            .starts_with("no differential privacy for the training records"));
        assert!(
            out.train.records.equal(&clean.train.records),
            "noisy output trains on clean records"
        );
        let mut records = vec![vec![100.0; 13]; 3];
        noisy_output(
            &mut records,
            &domains,
            &out.domains,
            &mut key.stream(StepPurpose::Other(2), 0),
        )
        .unwrap();
        assert!(records.iter().flatten().any(|v| *v != 100.0));
        for r in &records {
            for (v, d) in r.iter().zip(&out.domains) {
                assert!((d.min..=d.max).contains(v));
            }
        }
    }
}
