//! Fold-batched training: the non-private CNNs of several LOSO folds (or replicates) trained
//! as one batched model ([`BatchedCnn`]), each keeping what it would have alone — its
//! initialisation (built from its own init seed exactly as [`super::classifier::train`] builds
//! it), its training windows, input transform and class weights, its shuffling stream, its
//! dropout stream and its own Adam state and step count. The result is one [`Trained`] per
//! spec, equal to training it alone within float tolerance (different summation orders in the
//! grouped convolution; tested below: after 3 epochs mean |Δθ| ≤ 2e-5 and predictions
//! within 1e-3).
//!
//! Every epoch each model shuffles its own order and splits it into its own batches; step j of
//! the epoch takes batch j of every model that has one (the others sit the step out: no
//! gradient, no Adam step, no dropout draw). Batches are padded to the step's largest with
//! rows of weight 0; each model's loss is the reference's Σ wᵢ lᵢ / (its batch size), and the
//! step minimises their sum, whose gradient with respect to model m's parameters is model m's
//! own.
//!
//! Where it should pay: on a GPU, where one small model leaves the device mostly idle (not
//! measured yet: no GPU lent). On this 2-core CPU it does not: training is compute-bound,
//! oneDNN's grouped convolution (forward and backward) costs ≈ 1.35–1.4× its groups run one
//! after the other, and the per-model dropout masks, interleaved with the models' channels,
//! are multiplied in through strides (libtorch's profiler, `bench/fold_batch_profile.py`;
//! `bench/fold_batch.sh`, results/benchmarks/fold-batch.md), so `eval` uses it on the CPU
//! only when asked (`--fold-batch`).
//!
//! Only the CNN without DP is batched: the CNN-LSTM (BatchNorm statistics and LSTMs) and the
//! Transformer have no batched model yet, and per-example gradients of batched models (DP-SGD)
//! are not built; [`batchable`] says which requests qualify.
//!
//! May depend on: tch, models, `training::classifier`.

use std::time::Instant;

use rand::seq::SliceRandom;
use tch::{Device, Kind, Tensor};

use super::classifier::{
    class_weights, init_model, per_sample_loss, InputTransform, Lap, TrainProfile, TrainSpec,
    Trained, KERAS_ADAM_BETA1 as BETA1, KERAS_ADAM_BETA2 as BETA2, KERAS_ADAM_EPS as EPS,
};
use crate::models::classifiers::batched_cnn::{BatchedCnn, StepDropout};
use crate::models::dropout::DropoutStream;
use crate::models::ClassifierKind;

/// Whether specs of this kind can be trained fold-batched: the CNN without DP.
pub fn batchable(kind: ClassifierKind, private: bool) -> bool {
    kind == ClassifierKind::Cnn && !private
}

/// Trains the specs' models as one batched model; see the module docs. All specs must share
/// the classifier (the CNN), head, hyper-parameters and device, and none may be private.
pub fn train_batched(specs: Vec<TrainSpec<'_>>) -> Result<Vec<Trained>, String> {
    let started = Instant::now();
    let Some(first) = specs.first() else {
        return Ok(Vec::new());
    };
    let (kind, head, hyper, device) = (first.kind, first.head, first.hyper, first.device);
    for s in &specs {
        if s.privacy.is_some() || s.hyper.dp.is_some() {
            return Err("fold-batched training is not private: train DP-SGD models alone".into());
        }
        if !batchable(s.kind, false) {
            return Err(format!(
                "fold-batched training is built for the CNN only, not the {}",
                s.kind.as_str()
            ));
        }
        if s.kind != kind || s.head != head || s.hyper != hyper || s.device != device {
            return Err(
                "fold-batched models must share classifier, head, hyper-parameters and device"
                    .into(),
            );
        }
    }
    let m = specs.len();
    // Each model initialised exactly as train_plain initialises it; libtorch's generator
    // drives dropout on CUDA (one stream for the batch there, seeded with the first model's
    // dropout seed).
    let (stores, models): (Vec<_>, Vec<_>) = specs
        .iter()
        .map(|s| init_model(kind, device, s.init_seed, first.dropout_seed))
        .unzip();
    let batched = BatchedCnn::stack(&stores)?;
    let inputs: Vec<InputTransform> = specs
        .iter()
        .map(|s| InputTransform::for_head(head, s.x))
        .collect();
    let x_train: Vec<Tensor> = specs
        .iter()
        .zip(&inputs)
        .map(|(s, t)| t.apply(s.x))
        .collect();
    let weights: Vec<Vec<f64>> = specs.iter().map(|s| class_weights(s.y, head)).collect();
    let mut adam = BatchedAdam::new(batched.parameters(), hyper.learning_rate);
    let mut streams: Vec<DropoutStream> = specs
        .iter()
        .map(|s| DropoutStream::new(s.dropout_seed as u64))
        .collect();
    let mut orders: Vec<Vec<i64>> = specs
        .iter()
        .map(|s| (0..s.y.len() as i64).collect())
        .collect();
    let (labels, mut shuffles): (Vec<&[u8]>, Vec<_>) =
        specs.into_iter().map(|s| (s.y, s.shuffle)).unzip();
    let batch_size = hyper.batch_size.max(1);
    let mut final_loss = vec![f64::NAN; m];
    let mut profile = TrainProfile {
        setup: started.elapsed().as_secs_f64(),
        ..Default::default()
    };
    let mut lap = Lap::start();
    for _epoch in 0..hyper.epochs {
        for (order, rng) in orders.iter_mut().zip(shuffles.iter_mut()) {
            order.shuffle(rng);
        }
        let batches: Vec<Vec<&[i64]>> = orders
            .iter()
            .map(|o| o.chunks(batch_size).collect())
            .collect();
        let steps = batches.iter().map(Vec::len).max().unwrap_or(0);
        let mut loss_sums = vec![0.0; m];
        let mut counts = vec![0usize; m];
        for j in 0..steps {
            lap.book(&mut profile.batching);
            let chunks: Vec<Option<&[i64]>> = batches.iter().map(|b| b.get(j).copied()).collect();
            let active: Vec<bool> = chunks.iter().map(Option::is_some).collect();
            let (x, y, w) = assemble_step(&x_train, &labels, &weights, &chunks, device);
            lap.book(&mut profile.batching);
            let logits = batched.forward_t(
                &x,
                Some(StepDropout {
                    streams: &mut streams,
                    active: &active,
                }),
            );
            let rows = x.size()[1];
            let per_sample = per_sample_loss(&logits.view([m as i64 * rows, 2]), &y, head);
            let per_model = (per_sample * w).view([m as i64, rows]).sum_dim_intlist(
                [1i64].as_slice(),
                false,
                Kind::Float,
            );
            let loss = per_model.sum(Kind::Float);
            let values = Vec::<f64>::try_from(per_model.detach().to_kind(Kind::Double))
                .map_err(|e| format!("read the step's losses: {e}"))?;
            lap.book(&mut profile.forward);
            adam.zero_grad();
            loss.backward();
            lap.book(&mut profile.backward);
            adam.step(&active);
            lap.book(&mut profile.step);
            for i in (0..m).filter(|&i| active[i]) {
                loss_sums[i] += values[i];
                counts[i] += 1;
            }
        }
        for i in 0..m {
            final_loss[i] = loss_sums[i] / counts[i].max(1) as f64;
        }
    }
    let total = started.elapsed().as_secs_f64();
    // Each model reports its share of the batch's time, so a record's fold times add up to
    // the wall time spent.
    let share = 1.0 / m as f64;
    let profile = TrainProfile {
        setup: profile.setup * share,
        batching: profile.batching * share,
        forward: profile.forward * share,
        backward: profile.backward * share,
        step: profile.step * share,
    };
    let mut out = Vec::with_capacity(m);
    for (i, ((vs, model), (input, w))) in stores
        .into_iter()
        .zip(models)
        .zip(inputs.into_iter().zip(weights))
        .enumerate()
    {
        batched.write_into(i as i64, &vs)?;
        out.push(Trained::from_parts(
            vs,
            model,
            head,
            input,
            w,
            final_loss[i],
            total * share,
            profile,
        ));
    }
    Ok(out)
}

/// The step's input (M, B, 6, 210), labels (M · B) and loss weights (M · B): model m's rows are
/// its batch `chunks[m]` (B = the largest batch of the step), padded with zero windows of
/// weight 0; a real row's weight is its class weight over its model's batch size.
fn assemble_step(
    x_train: &[Tensor],
    labels: &[&[u8]],
    weights: &[Vec<f64>],
    chunks: &[Option<&[i64]>],
    device: Device,
) -> (Tensor, Tensor, Tensor) {
    let rows = chunks.iter().flatten().map(|c| c.len()).max().unwrap_or(0) as i64;
    let m = chunks.len() as i64;
    let x = Tensor::zeros([m, rows, 6, 210], (Kind::Float, device));
    let mut y = vec![0i64; (m * rows) as usize];
    let mut w = vec![0f32; (m * rows) as usize];
    for (i, chunk) in chunks.iter().enumerate() {
        let Some(chunk) = chunk else { continue };
        let idx = Tensor::from_slice(chunk).to_device(device);
        x.get(i as i64)
            .narrow(0, 0, chunk.len() as i64)
            .copy_(&x_train[i].index_select(0, &idx));
        for (r, &k) in chunk.iter().enumerate() {
            let label = labels[i][k as usize];
            let slot = i * rows as usize + r;
            y[slot] = label as i64;
            w[slot] = (weights[i][label as usize] / chunk.len() as f64) as f32;
        }
    }
    (
        x,
        Tensor::from_slice(&y).to_device(device),
        Tensor::from_slice(&w).to_device(device),
    )
}

/// Adam over (M, numel) parameters with one step count per model, the update libtorch's Adam
/// makes (Keras' defaults, as `classifier::keras_adam`): m ← β1 m +
/// (1 − β1) g, v ← β2 v + (1 − β2) g², p ← p − lr / (1 − β1ᵗ) · m / (√v / √(1 − β2ᵗ) + ε),
/// applied to the active models only.
struct BatchedAdam {
    params: Vec<Tensor>,
    first: Vec<Tensor>,
    second: Vec<Tensor>,
    steps: Vec<i32>,
    lr: f64,
}

impl BatchedAdam {
    fn new(params: &[Tensor], lr: f64) -> Self {
        let zeros = || params.iter().map(Tensor::zeros_like).collect::<Vec<_>>();
        Self {
            params: params.iter().map(Tensor::shallow_clone).collect(),
            first: zeros(),
            second: zeros(),
            steps: vec![0; params.first().map(|p| p.size()[0] as usize).unwrap_or(0)],
            lr,
        }
    }

    fn zero_grad(&mut self) {
        for p in &self.params {
            let mut g = p.grad();
            if g.defined() {
                let _ = g.zero_();
            }
        }
    }

    fn step(&mut self, active: &[bool]) {
        let device = self
            .params
            .first()
            .map(Tensor::device)
            .unwrap_or(Device::Cpu);
        let mut decay1 = Vec::new();
        let mut gain1 = Vec::new();
        let mut decay2 = Vec::new();
        let mut gain2 = Vec::new();
        let mut rate = Vec::new();
        let mut sqrt_bc2 = Vec::new();
        for (t, &on) in self.steps.iter_mut().zip(active) {
            if on {
                *t += 1;
                decay1.push(BETA1 as f32);
                gain1.push((1.0 - BETA1) as f32);
                decay2.push(BETA2 as f32);
                gain2.push((1.0 - BETA2) as f32);
                rate.push((self.lr / (1.0 - BETA1.powi(*t))) as f32);
                sqrt_bc2.push((1.0 - BETA2.powi(*t)).sqrt() as f32);
            } else {
                decay1.push(1.0);
                gain1.push(0.0);
                decay2.push(1.0);
                gain2.push(0.0);
                rate.push(0.0);
                sqrt_bc2.push(1.0);
            }
        }
        let column = |v: &[f32]| Tensor::from_slice(v).view([-1, 1]).to_device(device);
        let (decay1, gain1, decay2, gain2, rate, sqrt_bc2) = (
            column(&decay1),
            column(&gain1),
            column(&decay2),
            column(&gain2),
            column(&rate),
            column(&sqrt_bc2),
        );
        tch::no_grad(|| {
            for ((p, m), v) in self
                .params
                .iter()
                .zip(&mut self.first)
                .zip(&mut self.second)
            {
                let g = p.grad();
                if !g.defined() {
                    continue;
                }
                *m *= &decay1;
                *m += &g * &gain1;
                *v *= &decay2;
                *v += &g * &g * &gain2;
                let denom = v.sqrt() / &sqrt_bc2 + EPS;
                let mut p = p.shallow_clone();
                p -= &*m / denom * &rate;
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::{HeadMode, TrainHyper};
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    /// Windows with a class signal, so that training moves the models somewhere definite.
    fn windows(n: i64, seed: i64) -> (Tensor, Vec<u8>) {
        tch::manual_seed(seed);
        let y: Vec<u8> = (0..n).map(|i| ((i * 7 + seed) % 3 == 0) as u8).collect();
        let shift =
            Tensor::from_slice(&y.iter().map(|&l| l as f32).collect::<Vec<_>>()).view([n, 1, 1]);
        let x = Tensor::rand([n, 6, 210], (Kind::Float, Device::Cpu)) + shift * 0.5;
        (x, y)
    }

    fn spec<'a>(x: &'a Tensor, y: &'a [u8], k: u64, head: HeadMode) -> TrainSpec<'a> {
        TrainSpec {
            kind: ClassifierKind::Cnn,
            head,
            hyper: TrainHyper {
                epochs: 3,
                batch_size: 8,
                learning_rate: 1e-3,
                dp: None,
            },
            device: Device::Cpu,
            x,
            y,
            init_seed: 100 + k as i64,
            dropout_seed: 200 + k as i64,
            shuffle: ChaCha20Rng::seed_from_u64(300 + k),
            privacy: None,
        }
    }

    /// Tolerances: float32 arithmetic in another order (grouped against single convolutions,
    /// a batched matmul) over 3 epochs (≤ 15 steps) of Adam at lr 1e-3 on 2.6 M parameters.
    /// Adam moves a parameter by up to ≈ lr per step whatever its gradient's size, so one whose
    /// gradient is float noise may end up to ≈ 15 lr apart: the maximum is bounded by 1e-2.
    /// The mean must stay at the float level: seen 1e-9 on 2 libtorch threads (max 2.2e-5)
    /// and 1.8e-6 on 1 thread (max 2.6e-3, other kernels); a model-level mistake (a shared
    /// step count, another model's batch or mask) moves most parameters by ≈ lr, a mean ≥ 1e-4.
    const MEAN_PARAMETER_TOLERANCE: f64 = 2e-5;
    const MAX_PARAMETER_TOLERANCE: f64 = 1e-2;
    const OUTPUT_TOLERANCE: f64 = 1e-3;

    #[test]
    fn batched_training_equals_training_each_model_alone() {
        // Three folds of different sizes: 37 = 4 full batches + 5, 23 = 2 + 7, 16 = 2 exactly;
        // so steps have padded rows and models that sit steps out.
        let data: Vec<(Tensor, Vec<u8>)> = [(37, 1), (23, 2), (16, 3)]
            .iter()
            .map(|&(n, s)| windows(n, s))
            .collect();
        let (test_x, _) = windows(12, 9);
        for head in [HeadMode::Reference, HeadMode::Default] {
            let specs = |()| -> Vec<TrainSpec<'_>> {
                data.iter()
                    .enumerate()
                    .map(|(k, (x, y))| spec(x, y, k as u64, head))
                    .collect()
            };
            let alone: Vec<Trained> = specs(())
                .into_iter()
                .map(|s| super::super::classifier::train(s).unwrap())
                .collect();
            let batched = train_batched(specs(())).unwrap();
            assert_eq!(batched.len(), 3);
            for (k, (a, b)) in alone.iter().zip(&batched).enumerate() {
                let (va, vb) = (a.variables(), b.variables());
                let mut worst = 0f64;
                let mut moved = 0f64;
                let (mut abs_sum, mut count) = (0f64, 0i64);
                for name in crate::models::classifiers::batched_cnn::PARAMETER_NAMES {
                    let delta = (&va[name] - &vb[name]).abs();
                    worst = worst.max(delta.max().double_value(&[]));
                    abs_sum += delta.sum(Kind::Double).double_value(&[]);
                    count += delta.numel() as i64;
                    // The models did train (and differ from each other).
                    moved = moved.max(
                        (&va[name] - &alone[(k + 1) % 3].variables()[name])
                            .abs()
                            .max()
                            .double_value(&[]),
                    );
                }
                let mean = abs_sum / count as f64;
                assert!(
                    mean < MEAN_PARAMETER_TOLERANCE && worst < MAX_PARAMETER_TOLERANCE,
                    "{head:?} model {k}: mean |Δθ| = {mean}, max |Δθ| = {worst}"
                );
                assert!(moved > 0.1, "{head:?} model {k}");
                let (pa, pb) = (a.predict(&test_x), b.predict(&test_x));
                for (ra, rb) in pa.iter().zip(&pb) {
                    for c in 0..2 {
                        assert!(
                            (ra[c] - rb[c]).abs() < OUTPUT_TOLERANCE,
                            "{head:?} model {k}: {ra:?} against {rb:?}"
                        );
                    }
                }
                assert!(
                    (a.final_loss - b.final_loss).abs() < OUTPUT_TOLERANCE,
                    "{head:?} model {k}: loss {} against {}",
                    a.final_loss,
                    b.final_loss
                );
                assert_eq!(a.class_weights, b.class_weights);
            }
        }
    }

    #[test]
    fn private_and_non_cnn_requests_are_refused() {
        let (x, y) = windows(10, 1);
        let mut s = spec(&x, &y, 0, HeadMode::Default);
        s.kind = ClassifierKind::Transformer;
        assert!(train_batched(vec![s]).err().unwrap().contains("CNN only"));
        assert!(!batchable(ClassifierKind::Cnn, true));
        assert!(batchable(ClassifierKind::Cnn, false));
        assert!(train_batched(Vec::new()).unwrap().is_empty());
    }
}
