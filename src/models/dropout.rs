//! Dropout masks from a counter-based stream, for training on the CPU.
//!
//! libtorch's CPU dropout draws its mask with `bernoulli_`, one element at a time from one
//! Mersenne twister: on the reference CNN's (50, 64, 6, 210) activations that is ≈ 40 ms per
//! layer, more than the convolution it follows (libtorch's profiler, 2 threads, this 2-core
//! machine; results/benchmarks/README.md). Here the mask of element `i` of the `c`-th dropout
//! call of a stream with seed `s` is a pure function of `(s, c, i)`: 32 bits of SplitMix64 over
//! a per-call key, kept when they reach round(p·2³²) (≈ 3 ms for that mask). The mask is
//! generated in parallel (rayon) when libtorch runs on several threads, scaled by 1/(1 − p)
//! like Keras' and torch's inverted dropout, and multiplied in (its autograd is the plain
//! product).
//!
//! Because masks are indexed by position rather than drawn in sequence, a window's mask depends
//! only on the stream, the call and the window's place in its batch — the property fold-batched
//! training needs to give every model its own stream.
//!
//! A stream is installed for the duration of a closure with [`with_stream`]; [`dropout`] uses it
//! for CPU tensors and falls back to libtorch's dropout otherwise (CUDA tensors, or no stream
//! installed — generator code, which keeps libtorch's seeded generator).
//!
//! May depend on: tch, rayon.

use std::cell::RefCell;

use rayon::prelude::*;
use tch::{Device, Kind, Tensor};

/// The state of one model's dropout stream: its seed and the number of dropout calls so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DropoutStream {
    seed: u64,
    calls: u64,
}

impl DropoutStream {
    pub fn new(seed: u64) -> Self {
        Self { seed, calls: 0 }
    }

    /// Dropout calls made so far.
    pub fn calls(&self) -> u64 {
        self.calls
    }

    /// The key of the next call, advancing the counter.
    fn next_key(&mut self) -> u64 {
        let key = splitmix(self.seed ^ splitmix(self.calls.wrapping_add(GOLDEN)));
        self.calls += 1;
        key
    }
}

thread_local! {
    static INSTALLED: RefCell<Option<DropoutStream>> = const { RefCell::new(None) };
}

/// Runs `f` with `stream` installed on this thread: every [`dropout`] of a CPU tensor inside
/// draws its mask from it. The stream's counter is saved back afterwards (also on panic-free
/// early return); nesting replaces the outer stream for the inner closure.
pub fn with_stream<R>(stream: &mut DropoutStream, f: impl FnOnce() -> R) -> R {
    let outer = INSTALLED.with(|s| s.borrow_mut().replace(*stream));
    let out = f();
    INSTALLED.with(|s| {
        let mut slot = s.borrow_mut();
        if let Some(used) = *slot {
            *stream = used;
        }
        *slot = outer;
    });
    out
}

/// Inverted dropout with rate `p` when `train` (identity otherwise): the installed stream's
/// mask for CPU tensors, libtorch's dropout elsewhere.
pub fn dropout(x: &Tensor, p: f64, train: bool) -> Tensor {
    if !train || p <= 0.0 {
        return x.shallow_clone();
    }
    if x.device() != Device::Cpu {
        return x.dropout(p, train);
    }
    let key = INSTALLED.with(|s| s.borrow_mut().as_mut().map(DropoutStream::next_key));
    match key {
        Some(key) => x * mask_tensor(key, &x.size(), p),
        None => x.dropout(p, train),
    }
}

/// The masks of one dropout call of several models trained as one (fold-batched training):
/// an (M, shape…) float32 CPU tensor whose slice m is exactly the mask [`dropout`] would draw
/// for a tensor of `shape` from `streams[m]`, which advances — for the models marked `active`
/// only (a model without a batch at this step draws nothing; its slice is all ones).
pub fn stacked_masks(
    streams: &mut [DropoutStream],
    active: &[bool],
    shape: &[i64],
    p: f64,
) -> Tensor {
    assert_eq!(streams.len(), active.len(), "one activity flag per stream");
    let mut full = vec![streams.len() as i64];
    full.extend_from_slice(shape);
    let per_model: usize = shape.iter().map(|&d| d as usize).product();
    float_bits_tensor(&full, |bits| {
        for ((stream, &on), slice) in streams
            .iter_mut()
            .zip(active)
            .zip(bits.chunks_mut(per_model.max(1)))
        {
            if on {
                fill_mask_bits(stream.next_key(), p, slice);
            } else {
                slice.fill(1f32.to_bits());
            }
        }
    })
}

/// [`dropout`] as a method, so that layer code reads like tch's `Tensor::dropout`.
pub trait StreamDropout {
    fn stream_dropout(&self, p: f64, train: bool) -> Tensor;
}

impl StreamDropout for Tensor {
    fn stream_dropout(&self, p: f64, train: bool) -> Tensor {
        dropout(self, p, train)
    }
}

/// The scaled mask {0, 1/(1 − p)} of one call with `key`, of the given shape (row-major),
/// written straight into a fresh float32 CPU tensor.
fn mask_tensor(key: u64, shape: &[i64], p: f64) -> Tensor {
    float_bits_tensor(shape, |bits| fill_mask_bits(key, p, bits))
}

/// A fresh float32 CPU tensor of `shape` whose every element `fill` writes, as f32 bit
/// patterns, through a slice of the tensor's memory.
fn float_bits_tensor(shape: &[i64], fill: impl FnOnce(&mut [u32])) -> Tensor {
    let t = Tensor::empty(shape, (Kind::Float, Device::Cpu));
    let n = t.numel();
    // SAFETY: `t` is a fresh, contiguous float32 CPU tensor of `n` elements that nothing else
    // references until this function returns it; the slice (of the f32 bit patterns) does not
    // outlive this block.
    let bits = unsafe { std::slice::from_raw_parts_mut(t.data_ptr() as *mut u32, n) };
    fill(bits);
    t
}

const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;

/// SplitMix64's output function.
fn splitmix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Fills `out` with the f32 bit patterns of the mask: element 2k takes the low and 2k+1 the
/// high 32 bits of SplitMix64's k-th output from state `key`, and is dropped (0) when they fall
/// below round(p·2³²), kept (1/(1 − p)) otherwise. Two branch-free passes (draw, then
/// threshold: the second vectorises), in parallel for large masks when libtorch runs on more
/// than one thread.
fn fill_mask_bits(key: u64, p: f64, out: &mut [u32]) {
    let threshold = (p.clamp(0.0, 1.0) * 4_294_967_296.0).round();
    let keep = if p < 1.0 {
        (1.0 / (1.0 - p)) as f32
    } else {
        0.0
    }
    .to_bits();
    const CHUNK: usize = 1 << 15; // even, so pairs never straddle chunks
    let fill = |(c, chunk): (usize, &mut [u32])| {
        let mut k = (c * CHUNK / 2) as u64;
        let mut pairs = chunk.chunks_exact_mut(2);
        for pair in &mut pairs {
            let u = splitmix(key.wrapping_add(k.wrapping_mul(GOLDEN)));
            pair[0] = u as u32;
            pair[1] = (u >> 32) as u32;
            k += 1;
        }
        if let [last] = pairs.into_remainder() {
            *last = splitmix(key.wrapping_add(k.wrapping_mul(GOLDEN))) as u32;
        }
        if threshold >= 4_294_967_296.0 {
            chunk.fill(0);
        } else {
            let t = threshold as u32;
            for b in chunk.iter_mut() {
                *b = keep & ((*b >= t) as u32).wrapping_neg();
            }
        }
    };
    // As parallel as libtorch's own ops: serial in a fold worker running on one thread.
    if out.len() >= 4 * CHUNK && tch::get_num_threads() > 1 {
        out.par_chunks_mut(CHUNK).enumerate().for_each(fill);
    } else {
        out.chunks_mut(CHUNK).enumerate().for_each(fill);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Mask values of elements 0..n (see [`fill_mask_bits`]).
    fn mask_values(key: u64, n: usize, p: f64) -> Vec<f32> {
        let mut bits = vec![0u32; n];
        fill_mask_bits(key, p, &mut bits);
        bits.into_iter().map(f32::from_bits).collect()
    }

    #[test]
    fn masks_are_positional_and_parallel_generation_matches_serial() {
        let a = mask_values(7, 300_000, 0.3);
        let b = mask_values(7, 1_000, 0.3);
        assert_eq!(
            &a[..1_000],
            &b[..],
            "a prefix does not depend on the length"
        );
        let dropped = a.iter().filter(|&&v| v == 0.0).count() as f64 / a.len() as f64;
        // binomial sd at n = 3e5, p = 0.3 is 8.4e-4: 6 sd
        assert!((dropped - 0.3).abs() < 5e-3, "drop rate {dropped}");
        assert!(a.iter().all(|&v| v == 0.0 || (v - 1.0 / 0.7).abs() < 1e-6));
        assert_ne!(mask_values(8, 1_000, 0.3), b, "another key, another mask");
    }

    #[test]
    fn stacked_masks_are_each_models_own_mask() {
        let x = Tensor::ones([3, 50], (Kind::Float, Device::Cpu));
        let mut streams = [
            DropoutStream::new(1),
            DropoutStream::new(2),
            DropoutStream::new(3),
        ];
        let stacked = stacked_masks(&mut streams, &[true, false, true], &[3, 50], 0.4);
        assert_eq!(stacked.size(), [3, 3, 50]);
        assert_eq!(
            streams.map(|s| s.calls()),
            [1, 0, 1],
            "inactive models do not advance"
        );
        for (m, seed) in [(0, 1), (2, 3)] {
            let mut own = DropoutStream::new(seed);
            let single = with_stream(&mut own, || dropout(&x, 0.4, true));
            assert!(stacked.get(m).equal(&single), "model {m}");
        }
        assert!(
            stacked.get(1).equal(&x),
            "an inactive model's slice is ones"
        );
    }

    #[test]
    fn a_stream_advances_per_call_and_is_saved_back() {
        let x = Tensor::ones([4, 1000], (Kind::Float, Device::Cpu));
        let mut s = DropoutStream::new(3);
        let (a, b) = with_stream(&mut s, || (dropout(&x, 0.5, true), dropout(&x, 0.5, true)));
        assert_eq!(s.calls(), 2);
        assert!(!a.equal(&b), "two calls draw two masks");
        let mut again = DropoutStream::new(3);
        let a2 = with_stream(&mut again, || dropout(&x, 0.5, true));
        assert!(a.equal(&a2), "same seed and call, same mask");
        assert!(
            dropout(&x, 0.5, false).equal(&x),
            "no dropout outside training"
        );
        // a window's mask depends on its place, not on the batch around it
        let mut third = DropoutStream::new(3);
        let head = with_stream(&mut third, || dropout(&x.narrow(0, 0, 2), 0.5, true));
        assert!(head.equal(&a.narrow(0, 0, 2)));
    }
}
