//! Cross-checks of the batched per-example gradients against a per-example loop, plus
//! clipping, noise, empty-batch, sampling and subject-unit tests (float64 throughout).
//!
//! May depend on: everything in `super`, tch, rand_chacha, `crate::models::layers`.

use super::*;
use crate::models::layers::{ConvRow, Dense, KerasGru, KerasLstm, LayerNorm, MultiHeadAttention};
use crate::privacy::accounting::{PrivacyUnit, Sampling};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use tch::{nn, Device, Kind, Tensor};

const B: i64 = 5;

/// Per-example loss (B,): Σ (out − 0.3)² over the non-batch dimensions.
fn per_example_loss(out: &Tensor) -> Tensor {
    (out.flatten(1, -1) - 0.3)
        .square()
        .sum_dim_intlist(&[1i64][..], false, None)
}

fn max_abs(a: &Tensor, b: &Tensor) -> f64 {
    assert_eq!(a.size(), b.size());
    if a.numel() == 0 {
        return 0.0;
    }
    (a - b).abs().max().double_value(&[])
}

/// Batched per-example grads vs a loop of single-example backward passes, and Σ_b vs the batch
/// gradient. `f` maps (tape, input batch) to the per-example losses (B,).
fn check_against_loop<F>(f: F, x: &Tensor) -> PerExampleGrads
where
    F: Fn(&mut Tape, &Tensor) -> Tensor,
{
    let mut tape = Tape::new();
    let losses = f(&mut tape, x);
    let pe = tape.per_example_grads(&losses.sum(Kind::Double));
    assert_eq!(pe.batch_size(), B);
    assert_eq!(pe.params.len(), pe.grads.len());
    for (p, g) in pe.params.iter().zip(&pe.grads) {
        let mut expect = vec![B];
        expect.extend(p.size());
        assert_eq!(g.size(), expect);
    }
    let mut worst: f64 = 0.0;
    for b in 0..B {
        let mut t = Tape::new();
        let l = f(&mut t, &x.narrow(0, b, 1)).sum(Kind::Double);
        let gs = Tensor::run_backward(&[l], &pe.params, false, false);
        for (g_loop, g_batched) in gs.iter().zip(&pe.grads) {
            worst = worst.max(max_abs(g_loop, &g_batched.get(b)));
        }
    }
    assert!(worst < 1e-5, "per-example vs loop: max |diff| = {worst:e}");
    let l = f(&mut Tape::new(), x).sum(Kind::Double);
    let full = Tensor::run_backward(&[l], &pe.params, false, false);
    let mut worst_sum: f64 = 0.0;
    for (g, s) in full.iter().zip(pe.sum()) {
        worst_sum = worst_sum.max(max_abs(g, &s));
    }
    assert!(worst_sum < 1e-5, "Σ per-example vs batch: {worst_sum:e}");
    pe
}

fn store() -> nn::VarStore {
    tch::manual_seed(7);
    nn::VarStore::new(Device::Cpu)
}

fn randn(shape: &[i64]) -> Tensor {
    Tensor::randn(shape, (Kind::Double, Device::Cpu))
}

struct Mlp {
    d1: Dense,
    d2: Dense,
}

impl Mlp {
    fn new(vs: &mut nn::VarStore) -> Self {
        let m = Self {
            d1: Dense::new(vs.root() / "d1", 4, 3),
            d2: Dense::new(vs.root() / "d2", 3, 2),
        };
        vs.double();
        m
    }

    fn loss(&self, t: &mut Tape, x: &Tensor) -> Tensor {
        let h = t.dense(&self.d1, x).tanh();
        per_example_loss(&t.dense(&self.d2, &h))
    }
}

#[test]
fn linear_matches_loop() {
    let mut vs = store();
    let m = Mlp::new(&mut vs);
    let x = randn(&[B, 4]);
    check_against_loop(|t, x| m.loss(t, x), &x);
}

#[test]
fn conv_row_matches_loop() {
    let mut vs = store();
    let c1 = ConvRow::new(vs.root() / "c1", 2, 3, 3);
    let c2 = ConvRow::new(vs.root() / "c2", 3, 2, 4); // even k: width grows by one
    let d = Dense::new(vs.root() / "d", 2 * 2 * 7, 2);
    vs.double();
    let x = randn(&[B, 2, 2, 6]);
    check_against_loop(
        |t, x| {
            let h = t.conv_row(&c1, x).tanh();
            let h = t.conv_row(&c2, &h).relu();
            let b = h.size()[0];
            per_example_loss(&t.dense(&d, &h.reshape([b, -1])))
        },
        &x,
    );
}

#[test]
fn layer_norm_matches_loop() {
    let mut vs = store();
    let d1 = Dense::new(vs.root() / "d1", 4, 6);
    let ln = LayerNorm::new(vs.root() / "ln", 6, 1e-3);
    let d2 = Dense::new(vs.root() / "d2", 6, 2);
    vs.double();
    // Move gamma/beta away from their initial values so that both terms matter.
    tch::no_grad(|| {
        let mut g = ln.gamma.shallow_clone();
        g += randn(&[6]) * 0.5;
        let mut b = ln.beta.shallow_clone();
        b += randn(&[6]) * 0.5;
    });
    let x = randn(&[B, 3, 4]);
    check_against_loop(
        |t, x| {
            let z = t.dense(&d1, x);
            let h = t.layer_norm(&ln, &z).tanh();
            per_example_loss(&t.dense(&d2, &h))
        },
        &x,
    );
}

#[test]
fn embedding_matches_loop() {
    let mut vs = store();
    let emb = vs.root().var(
        "emb",
        &[7, 4],
        nn::Init::Randn {
            mean: 0.,
            stdev: 1.,
        },
    );
    let d = Dense::new(vs.root() / "d", 4, 2);
    vs.double();
    // Repeated indices within an example must accumulate.
    let idx = Tensor::from_slice(&[0i64, 1, 1, 3, 6, 6, 2, 0, 5, 4, 4, 4, 1, 2, 3]).view([B, 3]);
    check_against_loop(
        |t, idx| {
            let e = t.embedding(&emb, idx);
            per_example_loss(&t.dense(&d, &e.tanh()))
        },
        &idx,
    );
}

/// Per-example loss on a recurrent layer's output: a Dense head on the last state plus the sum
/// of the whole sequence (so that every step's output matters).
fn sequence_head_loss(t: &mut Tape, d: &Dense, seq: &Tensor, last: &Tensor) -> Tensor {
    let y = t.dense(d, last)
        + seq
            .sum_dim_intlist(&[1i64, 2][..], false, None)
            .unsqueeze(1);
    per_example_loss(&y)
}

#[test]
fn lstm_matches_loop_and_layer_forward() {
    let mut vs = store();
    let lstm = KerasLstm::new(vs.root() / "lstm", 3, 4);
    let d = Dense::new(vs.root() / "d", 4, 2);
    vs.double();
    let x = randn(&[B, 6, 3]);
    let (seq_ref, last_ref) = lstm.forward(&x);
    let (seq, last) = Tape::new().lstm(&lstm, &x);
    assert!(max_abs(&seq, &seq_ref) < 1e-12 && max_abs(&last, &last_ref) < 1e-12);
    check_against_loop(
        |t, x| {
            let (seq, last) = t.lstm(&lstm, x);
            sequence_head_loss(t, &d, &seq, &last)
        },
        &x,
    );
}

#[test]
fn gru_matches_loop_and_layer_forward() {
    let mut vs = store();
    let gru = KerasGru::new(vs.root() / "gru", 3, 4);
    let d = Dense::new(vs.root() / "d", 4, 2);
    vs.double();
    // non-zero biases so that both halves of the bias gradient are exercised
    tch::no_grad(|| {
        gru.bias.shallow_clone().copy_(&randn(&[2, 12]));
    });
    let x = randn(&[B, 6, 3]);
    let (seq_ref, last_ref) = gru.forward(&x);
    let (seq, last) = Tape::new().gru(&gru, &x);
    assert!(max_abs(&seq, &seq_ref) < 1e-12 && max_abs(&last, &last_ref) < 1e-12);
    let pe = check_against_loop(
        |t, x| {
            let (seq, last) = t.gru(&gru, x);
            sequence_head_loss(t, &d, &seq, &last)
        },
        &x,
    );
    // the recurrent kernel's gradient is not zero (the probe reaches inside the reset gate)
    assert!(pe.grads[1].abs().max().double_value(&[]) > 1e-6);
    // grouped clipping and ghost clipping fall back to materialised GRU gradients
    let mut t = Tape::new();
    let (_, last) = t.gru(&gru, &x);
    let l = per_example_loss(&t.dense(&d, &last)).sum(Kind::Double);
    let (sum, norms) = t.clipped_sum(&l, 0.05);
    assert_eq!(sum.len(), 5);
    assert!(norms.min().double_value(&[]) > 0.0);
}

struct AttnModel {
    mha: MultiHeadAttention,
    ln: LayerNorm,
    d: Dense,
}

impl AttnModel {
    fn new(vs: &mut nn::VarStore) -> Self {
        let m = Self {
            mha: MultiHeadAttention::new(vs.root() / "mha", 4, 2, 3, 0.1),
            ln: LayerNorm::new(vs.root() / "ln", 4, 1e-6),
            d: Dense::new(vs.root() / "d", 4, 1),
        };
        vs.double();
        m
    }

    fn loss(&self, t: &mut Tape, x: &Tensor) -> Tensor {
        let a = t.attention(&self.mha, x, false);
        let h = t.layer_norm(&self.ln, &(a + x));
        per_example_loss(&t.dense(&self.d, &h))
    }
}

#[test]
fn attention_matches_loop_and_layer_forward() {
    let mut vs = store();
    let m = AttnModel::new(&mut vs);
    let x = randn(&[B, 5, 4]);
    let reference = m.mha.forward_t(&x, false);
    let recorded = Tape::new().attention(&m.mha, &x, false);
    assert!(max_abs(&reference, &recorded) < 1e-12);
    check_against_loop(|t, x| m.loss(t, x), &x);
}

/// A fresh recorded forward of `m` on `x`: the tape and the summed per-example loss.
fn recorded_attn(m: &AttnModel, x: &Tensor) -> (Tape, Tensor) {
    let mut t = Tape::new();
    let l = m.loss(&mut t, x).sum(Kind::Double);
    (t, l)
}

/// The attention model on random inputs with its materialised per-example gradients (the
/// store is returned to keep the parameters alive).
fn attn_case() -> (nn::VarStore, AttnModel, Tensor, PerExampleGrads) {
    let mut vs = store();
    let m = AttnModel::new(&mut vs);
    let x = randn(&[B, 5, 4]);
    let (t, l) = recorded_attn(&m, &x);
    let pe = t.per_example_grads(&l);
    (vs, m, x, pe)
}

#[test]
fn ghost_clipping_matches_materialised() {
    let clip = 0.05;
    let (_vs, m, x, pe) = attn_case();
    let (t2, l) = recorded_attn(&m, &x);
    let (ghost_sum, ghost_norms) = t2.clipped_sum(&l, clip);
    assert!(max_abs(&ghost_norms, &pe.norms()) < 1e-9);
    for (a, b) in ghost_sum.iter().zip(clipped_sum(&pe, clip)) {
        assert!(max_abs(a, &b) < 1e-9);
    }
}

/// Public per-example scales after clipping: the ghost path gives Σ_b s_b·min(1, C/‖g_b‖)·g_b
/// as built by hand from materialised per-example gradients, and no example contributes more
/// than C (scale ≤ 1), so the sensitivity is unchanged.
#[test]
fn scaled_clipping_weights_each_clipped_example() {
    let clip = 0.05;
    let (_vs, m, x, pe) = attn_case();
    let scales: Vec<f64> = (0..B).map(|b| if b % 2 == 0 { 0.4 } else { 1.0 }).collect();
    let s = Tensor::from_slice(&scales);
    let want = pe.weighted_sum(&(clip_factors(&pe.norms(), clip) * &s));
    let (t2, l) = recorded_attn(&m, &x);
    let (got, _) = t2.clipped_sum_scaled(&l, clip, Some(&s));
    for (a, b) in got.iter().zip(&want) {
        assert!(max_abs(a, b) < 1e-9);
    }
    // each contribution's norm ≤ s_b · C ≤ C
    let contributions = clip_factors(&pe.norms(), clip) * &s * pe.norms();
    assert!(contributions.max().double_value(&[]) <= clip * (1.0 + 1e-9));
    // scales of 1 are plain clipping
    let ones = Tensor::ones([B], (Kind::Double, tch::Device::Cpu));
    let (t3, l) = recorded_attn(&m, &x);
    let (plain, _) = t3.clipped_sum_scaled(&l, clip, Some(&ones));
    for (a, b) in plain.iter().zip(clipped_sum(&pe, clip)) {
        assert!(max_abs(a, &b) < 1e-9);
    }
}

#[test]
#[should_panic(expected = "contribution scales must lie in (0, 1]")]
fn scales_above_one_are_refused() {
    let (_vs, m, x, _) = attn_case();
    let (t, l) = recorded_attn(&m, &x);
    let _ = t.clipped_sum_scaled(
        &l,
        1.0,
        Some(&Tensor::full([B], 2.0, (Kind::Double, tch::Device::Cpu))),
    );
}

/// Conv → LayerNorm → LSTM → Dense (the DP CNN-LSTM's layer kinds), per-example loss (B,).
struct SeqModel {
    conv: ConvRow,
    ln: LayerNorm,
    lstm: KerasLstm,
    d: Dense,
}

impl SeqModel {
    fn new(vs: &mut nn::VarStore) -> Self {
        let m = Self {
            conv: ConvRow::new(vs.root() / "conv", 1, 2, 3),
            ln: LayerNorm::new(vs.root() / "ln", 2, 1e-3),
            lstm: KerasLstm::new(vs.root() / "lstm", 8, 3),
            d: Dense::new(vs.root() / "d", 3, 2),
        };
        vs.double();
        m
    }

    /// x (B, 3, 4) → conv (B, 2, 3, 4) → (B, 3, 4, 2) → LN over 2 → (B, 3, 8) → LSTM → Dense.
    fn loss(&self, t: &mut Tape, x: &Tensor) -> Tensor {
        let b = x.size()[0];
        let h = t.conv_row(&self.conv, &x.unsqueeze(1)).tanh();
        let h = t.layer_norm(&self.ln, &h.permute([0, 2, 3, 1]).contiguous());
        let (_, last) = t.lstm(&self.lstm, &h.view([b, 3, 8]));
        per_example_loss(&t.dense(&self.d, &last))
    }
}

#[test]
fn lstm_ghost_clipping_matches_materialised() {
    let clip = 0.02;
    let mut vs = store();
    let m = SeqModel::new(&mut vs);
    let x = randn(&[B, 3, 4]);
    let pe = check_against_loop(|t, x| m.loss(t, x), &x);
    let mut t = Tape::new();
    let l = m.loss(&mut t, &x).sum(Kind::Double);
    let (ghost_sum, ghost_norms) = t.clipped_sum(&l, clip);
    assert!(max_abs(&ghost_norms, &pe.norms()) < 1e-9);
    for (a, b) in ghost_sum.iter().zip(clipped_sum(&pe, clip)) {
        assert!(max_abs(a, &b) < 1e-9);
    }
}

#[test]
fn grouped_clipping_matches_sum_by_group() {
    let clip = 0.05;
    let group_ids = [1i64, 0, 2, 1, 0];
    for attention in [false, true] {
        let mut vs = store();
        let seq = SeqModel::new(&mut vs);
        let mut vs2 = store();
        let attn = AttnModel::new(&mut vs2);
        let x = if attention {
            randn(&[B, 5, 4])
        } else {
            randn(&[B, 3, 4])
        };
        let loss = |t: &mut Tape| {
            if attention {
                attn.loss(t, &x)
            } else {
                seq.loss(t, &x)
            }
        };
        let group = Tensor::from_slice(&group_ids);
        let mut t1 = Tape::new();
        let l = loss(&mut t1).sum(Kind::Double);
        let per_unit = t1.per_example_grads(&l).sum_by_group(&group, 3);
        let want_norms = per_unit.norms();
        let want = clipped_sum(&per_unit, clip);
        let mut t2 = Tape::new();
        let l = loss(&mut t2).sum(Kind::Double);
        let (got, norms) = t2.clipped_sum_grouped(&l, &group, 3, clip);
        assert!(max_abs(&norms, &want_norms) < 1e-9);
        for (a, b) in got.iter().zip(&want) {
            assert!(max_abs(a, b) < 1e-9);
        }
        // dp_step_grouped with zero noise writes clipped_sum / E into .grad.
        let cfg = DpStepConfig {
            clip_norm: clip,
            noise_multiplier: 0.0,
            expected_batch_size: 1.5,
        };
        let mut t3 = Tape::new();
        let l = loss(&mut t3).sum(Kind::Double);
        let rep = dp_step_grouped(&t3, &l, &group, 3, &cfg, 1);
        assert_eq!(rep.batch_size, 3);
        for (p, w) in t3.params().iter().zip(&want) {
            assert!(max_abs(&p.grad(), &(w / 1.5)) < 1e-12);
        }
    }
}

#[test]
fn clipping_bounds_norms() {
    let mut vs = store();
    let m = Mlp::new(&mut vs);
    let x = randn(&[B, 4]) * 3.0;
    let mut t = Tape::new();
    let l = m.loss(&mut t, &x).sum(Kind::Double);
    let pe = t.per_example_grads(&l);
    let norms = pe.norms();
    let clip = 0.5 * norms.min().double_value(&[]).max(1e-3);
    let f = clip_factors(&norms, clip);
    let clipped = PerExampleGrads {
        params: pe.params.iter().map(|p| p.shallow_clone()).collect(),
        grads: pe
            .grads
            .iter()
            .map(|g| {
                let mut shape = vec![-1i64];
                shape.extend(std::iter::repeat_n(1, g.dim() - 1));
                g * f.view(shape.as_slice())
            })
            .collect(),
    };
    let cn = clipped.norms();
    assert!(cn.max().double_value(&[]) <= clip * (1.0 + 1e-9));
    // Every example exceeded C here, so all clipped norms equal C.
    assert!((cn - clip).abs().max().double_value(&[]) < 1e-9);
    // A huge C leaves gradients unchanged.
    let sum_big = clipped_sum(&pe, 1e9);
    for (a, b) in sum_big.iter().zip(pe.sum()) {
        assert!(max_abs(a, &b) < 1e-12);
    }
}

#[test]
fn zero_noise_gives_scaled_clipped_mean_in_grad() {
    let mut vs = store();
    let m = Mlp::new(&mut vs);
    let x = randn(&[B, 4]);
    let cfg = DpStepConfig {
        clip_norm: 0.1,
        noise_multiplier: 0.0,
        expected_batch_size: 4.0,
    };
    let mut t = Tape::new();
    let l = m.loss(&mut t, &x).sum(Kind::Double);
    let pe = t.per_example_grads(&l);
    let sum = clipped_sum(&pe, cfg.clip_norm);
    // Written twice: first creates .grad, second overwrites it.
    for _ in 0..2 {
        let mut t = Tape::new();
        let l = m.loss(&mut t, &x).sum(Kind::Double);
        let rep = dp_step(&t, &l, &cfg, 3);
        assert_eq!(rep.batch_size, B);
        for (p, s) in pe.params.iter().zip(&sum) {
            let clipped_mean = s / B as f64;
            let want = clipped_mean * (B as f64 / cfg.expected_batch_size);
            assert!(max_abs(&p.grad(), &want) < 1e-12);
        }
    }
}

#[test]
fn noise_has_expected_scale_and_is_seeded() {
    let mut vs = store();
    let _m = Mlp::new(&mut vs);
    let big = Tensor::zeros([200, 100], (Kind::Double, Device::Cpu));
    let cfg = DpStepConfig {
        clip_norm: 2.0,
        noise_multiplier: 1.5,
        expected_batch_size: 10.0,
    };
    let a = noisy_mean(&[big.shallow_clone()], &cfg, 42);
    let b = noisy_mean(&[big.shallow_clone()], &cfg, 42);
    let c = noisy_mean(&[big], &cfg, 43);
    assert_eq!(max_abs(&a[0], &b[0]), 0.0);
    assert!(max_abs(&a[0], &c[0]) > 0.0);
    // std of (N(0, σ²C²))/E = σC/E = 0.3; 20000 draws: relative sd of the sample sd ≈ 0.5%.
    let sd = a[0].std(true).double_value(&[]);
    assert!((sd - 0.3).abs() < 0.3 * 0.03, "sd = {sd}");
}

#[test]
fn empty_batch_is_pure_noise() {
    let mut vs = store();
    let m = Mlp::new(&mut vs);
    let params = vec![
        m.d1.weight.shallow_clone(),
        m.d1.bias.shallow_clone(),
        m.d2.weight.shallow_clone(),
        m.d2.bias.shallow_clone(),
    ];
    let cfg = DpStepConfig {
        clip_norm: 1.0,
        noise_multiplier: 1.0,
        expected_batch_size: 2.5,
    };
    let rep = pure_noise_step(&params, &cfg, 9);
    assert_eq!(rep.batch_size, 0);
    for p in &params {
        let g = p.grad();
        assert_eq!(g.size(), p.size());
        assert!(bool::try_from(g.isfinite().all()).unwrap());
        assert!(g.abs().sum(Kind::Double).double_value(&[]) > 0.0);
    }
    // The hooks path also copes with B = 0 (returns (0, ..) grads).
    let mut t = Tape::new();
    let x = Tensor::zeros([0, 4], (Kind::Double, Device::Cpu));
    let l = m.loss(&mut t, &x).sum(Kind::Double);
    let pe = t.per_example_grads(&l);
    assert_eq!(pe.batch_size(), 0);
    assert_eq!(pe.grads[0].size(), vec![0, 3, 4]);
}

#[test]
fn subject_grads_are_sums_of_window_grads() {
    let mut vs = store();
    let m = Mlp::new(&mut vs);
    let x = randn(&[B, 4]);
    let subjects = ["s1", "s2", "s1", "s3", "s2"];
    let index = SubjectIndex::from_labels(&subjects);
    assert_eq!(index.windows_of, vec![vec![0, 2], vec![1, 4], vec![3]]);
    let (windows, group) = index.expand(&[2, 0]);
    assert_eq!(windows, vec![3, 0, 2]);
    assert_eq!(group, vec![0, 1, 1]);

    let mut t = Tape::new();
    let l = m.loss(&mut t, &x).sum(Kind::Double);
    let pe = t.per_example_grads(&l);
    let group = Tensor::from_slice(&[0i64, 1, 0, 2, 1]);
    let per_subject = pe.sum_by_group(&group, 3);
    assert_eq!(per_subject.batch_size(), 3);
    for (s, ws) in index.windows_of.iter().enumerate() {
        let rows: Vec<i64> = ws.iter().map(|&w| w as i64).collect();
        let xs = x.index_select(0, &Tensor::from_slice(&rows));
        let l = m.loss(&mut Tape::new(), &xs).sum(Kind::Double);
        let gs = Tensor::run_backward(&[l], &pe.params, false, false);
        for (g, ps) in gs.iter().zip(&per_subject.grads) {
            assert!(max_abs(g, &ps.get(s as i64)) < 1e-10);
        }
    }
}

#[test]
fn poisson_rate_is_q() {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let (n, q, draws) = (1000usize, 0.05, 200);
    let mut total = 0usize;
    let mut empty_seen = false;
    for _ in 0..draws {
        let batch = poisson_sample(n, q, &mut rng);
        assert!(batch.windows(2).all(|w| w[0] < w[1]) && batch.iter().all(|&i| i < n));
        total += batch.len();
    }
    for _ in 0..200 {
        empty_seen |= poisson_sample(20, 0.05, &mut rng).is_empty();
    }
    // total ~ Binomial(n·draws, q): sd of the rate = sqrt(q(1−q)/(n·draws)) ≈ 4.9e-4;
    // tolerance 6 sd (a false failure has probability < 1e-8).
    let m = (n * draws) as f64;
    let rate = total as f64 / m;
    let bound = 6.0 * (q * (1.0 - q) / m).sqrt();
    assert!(
        (rate - q).abs() < bound,
        "rate {rate} vs q {q} (bound {bound})"
    );
    // P(empty) = 0.95^20 ≈ 0.36 per draw: an empty batch must occur in 200 draws.
    assert!(empty_seen);
    let plan = SamplingPlan::poisson_windows(q);
    assert_eq!(plan.sampling, Sampling::Poisson);
    assert_eq!(plan.unit, PrivacyUnit::Window);
    assert!((plan.expected_batch_size(n) - 50.0).abs() < 1e-12);
}

#[test]
fn shuffle_batches_cover_each_index_once() {
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let batches = shuffle_batches(23, 5, &mut rng);
    assert_eq!(batches.len(), 5);
    let mut all: Vec<usize> = batches.concat();
    all.sort_unstable();
    assert_eq!(all, (0..23).collect::<Vec<_>>());
    assert!(Sampling::Shuffle.as_str().contains("not covered"));
}

#[test]
fn batchnorm_is_refused() {
    assert!(check_dp_compatible(&[LayerKind::ConvRow, LayerKind::Dense]).is_ok());
    let err = check_dp_compatible(&[LayerKind::Dense, LayerKind::BatchNorm]).unwrap_err();
    assert_eq!(err, DpsgdError::BatchNormUnderDp);
    assert!(err.to_string().contains("BatchNorm"));
}

/// Timing (run with `--ignored --nocapture`): a DP step vs a non-private step for a batch of 50
/// through a small CNN (two (1,5) convs, 3→16→16 channels, 3×64 input, Dense → 6).
#[test]
#[ignore]
fn bench_dp_step_vs_plain() {
    tch::set_num_threads(1);
    let vs = store();
    let c1 = ConvRow::new(vs.root() / "c1", 3, 16, 5);
    let c2 = ConvRow::new(vs.root() / "c2", 16, 16, 5);
    let d = Dense::new(vs.root() / "d", 16 * 3 * 64, 6);
    let mut opt = nn::OptimizerConfig::build(nn::Sgd::default(), &vs, 1e-3).unwrap();
    let x = Tensor::randn([50, 3, 3, 64], (Kind::Float, Device::Cpu));
    let fwd = |t: &mut Tape, x: &Tensor| {
        let h = t.conv_row(&c1, x).relu();
        let h = t.conv_row(&c2, &h).relu();
        let b = h.size()[0];
        per_example_loss(&t.dense(&d, &h.reshape([b, -1])))
    };
    let cfg = DpStepConfig {
        clip_norm: 1.0,
        noise_multiplier: 1.0,
        expected_batch_size: 50.0,
    };
    let reps = 30;
    let time = |f: &mut dyn FnMut()| {
        for _ in 0..3 {
            f();
        }
        let t0 = std::time::Instant::now();
        for _ in 0..reps {
            f();
        }
        t0.elapsed().as_secs_f64() * 1e3 / reps as f64
    };
    let plain = time(&mut || {
        opt.zero_grad();
        let l = fwd(&mut Tape::new(), &x).sum(Kind::Float);
        l.backward();
        opt.step();
    });
    let mut seed = 0;
    let dp = time(&mut || {
        let mut t = Tape::new();
        let l = fwd(&mut t, &x).sum(Kind::Float);
        seed += 1;
        dp_step(&t, &l, &cfg, seed);
        opt.step();
    });
    println!("batch 50 small CNN, 1 thread: plain step {plain:.2} ms, DP step {dp:.2} ms");
}
