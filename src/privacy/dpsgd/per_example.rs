//! Exact, batched per-example gradients by the "hooks" method (Opacus-style).
//!
//! A [`Tape`] runs the forward pass of the supported layers, recording each layer's input
//! activation (detached) and its output (still in the autograd graph). After the forward pass
//! the caller builds `loss_sum`, the **sum** of per-example losses (sum reduction is what makes
//! the per-example gradients exact), and the tape obtains d loss_sum / d output for every
//! recorded output with one `Tensor::run_backward(&[loss_sum], &outputs, false, false)` (this
//! neither touches nor needs `.grad`). Per-example parameter gradients follow in closed form:
//!
//! * Linear (`Dense`, and the projections inside attention): weight `einsum("bso,bsi->boi")`
//!   of backprops and inputs, bias = backprop summed over positions.
//! * `ConvRow` ((1,k) Conv2d, same padding): the padded input is unfolded along the width, then
//!   `einsum("bohw,bchwk->bock")`; bias = backprop summed over H, W.
//! * `LayerNorm`: gamma = Σ backprop × normalised input, beta = Σ backprop (per example).
//! * Embedding: `index_add` of the backprops into a (B, V, D) tensor.
//! * `KerasLstm`: the kernel is applied as x·K for all steps at once, so d loss / d (x·K + b)
//!   at step t is the gate pre-activation backprop g_t; kernel = Σ_t x_t ⊗ g_t, recurrent =
//!   Σ_t h_{t-1} ⊗ g_t, bias = Σ_t g_t.
//! * `KerasGru`: the recurrent projection h·U sits inside the reset gate, so its backprop is
//!   not that of the input projection. The tape adds a zero leaf `probe` (B, T, 6u) to both
//!   projections (x + 0 is exact) and takes d loss / d probe: the first 3u channels are the
//!   input-projection backprops g_t, the last 3u the recurrent-projection backprops q_t;
//!   kernel = Σ_t x_t ⊗ g_t, recurrent = Σ_t h_{t-1} ⊗ q_t, bias = [Σ_t g_t; Σ_t q_t].
//! * `MultiHeadAttention`: its four projections are recorded as Linear layers.
//!
//! Ghost clipping ([`Tape::clipped_sum`]) gets Linear per-example norms from Gram matrices of
//! backprops and inputs without materialising the (B, out, in) gradients.
//!
//! Limitations: a parameter must be used by one recorded layer only (weight sharing across
//! records is not merged); batches are the first dimension of every input.
//!
//! May depend on: tch, `crate::models::layers`. No IO, no orchestration.

use crate::models::dropout::StreamDropout;
use crate::models::layers::{ConvRow, Dense, KerasGru, KerasLstm, LayerNorm, MultiHeadAttention};
use tch::{Kind, Tensor};

/// One recorded use of a parameterised layer.
#[derive(Debug)]
enum Record {
    /// `z = a Wᵀ + b`, a (B, S, in) detached, z (B, S, out) in the graph.
    Linear {
        weight: Tensor,
        bias: Option<Tensor>,
        a: Tensor,
        z: Tensor,
    },
    /// a (B, C, H, W) detached input, z (B, O, H, W') output.
    ConvRow {
        weight: Tensor,
        bias: Tensor,
        a: Tensor,
        z: Tensor,
        k: i64,
    },
    /// xhat (B, .., D) detached normalised input.
    LayerNorm {
        gamma: Tensor,
        beta: Tensor,
        xhat: Tensor,
        z: Tensor,
    },
    /// idx (B, ..) int64, z (B, .., D).
    Embedding {
        weight: Tensor,
        idx: Tensor,
        z: Tensor,
    },
    /// x (B, T, in), hprev (B, T, u) detached, xw = x·K + b (B, T, 4u) in the graph.
    Lstm {
        kernel: Tensor,
        recurrent: Tensor,
        bias: Tensor,
        x: Tensor,
        hprev: Tensor,
        xw: Tensor,
    },
    /// x (B, T, in), hprev (B, T, u) detached; probe (B, T, 6u) a zero leaf added to the input
    /// projection (channels 0..3u) and the recurrent projection (3u..6u).
    Gru {
        kernel: Tensor,
        recurrent: Tensor,
        bias: Tensor,
        x: Tensor,
        hprev: Tensor,
        probe: Tensor,
    },
}

/// Reshape (B, .., d) to (B, S, d).
fn as_bsd(t: &Tensor) -> Tensor {
    let size = t.size();
    let b = size[0];
    let d = *size.last().expect("tensor has at least one dimension");
    let s: i64 = size[1..size.len() - 1].iter().product();
    t.reshape([b, s, d])
}

fn sum_except_first_last(t: &Tensor) -> Tensor {
    as_bsd(t).sum_dim_intlist(&[1i64][..], false, None)
}

impl Record {
    fn output(&self) -> &Tensor {
        match self {
            Record::Linear { z, .. }
            | Record::ConvRow { z, .. }
            | Record::LayerNorm { z, .. }
            | Record::Embedding { z, .. } => z,
            Record::Lstm { xw, .. } => xw,
            Record::Gru { probe, .. } => probe,
        }
    }

    fn params(&self) -> Vec<Tensor> {
        match self {
            Record::Linear { weight, bias, .. } => {
                let mut v = vec![weight.shallow_clone()];
                if let Some(b) = bias {
                    v.push(b.shallow_clone());
                }
                v
            }
            Record::ConvRow { weight, bias, .. } => {
                vec![weight.shallow_clone(), bias.shallow_clone()]
            }
            Record::LayerNorm { gamma, beta, .. } => {
                vec![gamma.shallow_clone(), beta.shallow_clone()]
            }
            Record::Embedding { weight, .. } => vec![weight.shallow_clone()],
            Record::Lstm {
                kernel,
                recurrent,
                bias,
                ..
            }
            | Record::Gru {
                kernel,
                recurrent,
                bias,
                ..
            } => vec![
                kernel.shallow_clone(),
                recurrent.shallow_clone(),
                bias.shallow_clone(),
            ],
        }
    }

    /// Per-example gradients (B, *param_shape), in the order of `params()`.
    fn per_example(&self, gz: &Tensor) -> Vec<Tensor> {
        match self {
            Record::Linear { bias, a, .. } => {
                let a = as_bsd(a);
                let g = as_bsd(gz);
                let mut v = vec![Tensor::einsum("bso,bsi->boi", &[&g, &a], None::<i64>)];
                if bias.is_some() {
                    v.push(g.sum_dim_intlist(&[1i64][..], false, None));
                }
                v
            }
            Record::ConvRow { a, k, .. } => {
                let p = k / 2;
                let unfolded = a.constant_pad_nd([p, p]).unfold(3, *k, 1); // (B,C,H,W',k)
                let w =
                    Tensor::einsum("bohw,bchwk->bock", &[gz, &unfolded], None::<i64>).unsqueeze(3);
                let b = gz.sum_dim_intlist(&[2i64, 3][..], false, None);
                vec![w, b]
            }
            Record::LayerNorm { xhat, .. } => {
                vec![
                    sum_except_first_last(&(gz * xhat)),
                    sum_except_first_last(gz),
                ]
            }
            Record::Embedding { weight, idx, .. } => {
                let (v, d) = weight.size2().expect("embedding weight must be (V, D)");
                let b = idx.size()[0];
                let idx = if idx.dim() == 1 {
                    idx.unsqueeze(1)
                } else {
                    idx.flatten(1, -1)
                };
                let offs = Tensor::arange(b, (Kind::Int64, idx.device())).unsqueeze(1) * v;
                let flat = (idx + offs).reshape([-1]);
                let src = gz.reshape([-1, d]);
                let mut out = Tensor::zeros([b * v, d], (gz.kind(), gz.device()));
                let _ = out.index_add_(0, &flat, &src);
                vec![out.view([b, v, d])]
            }
            Record::Lstm { x, hprev, .. } => vec![
                Tensor::einsum("bti,btg->big", &[x, gz], None::<i64>),
                Tensor::einsum("btu,btg->bug", &[hprev, gz], None::<i64>),
                gz.sum_dim_intlist(&[1i64][..], false, None),
            ],
            Record::Gru { x, hprev, .. } => {
                let g3 = gz.size()[2] / 2;
                let g_in = gz.narrow(2, 0, g3);
                let g_rec = gz.narrow(2, g3, g3);
                vec![
                    Tensor::einsum("bti,btg->big", &[x, &g_in], None::<i64>),
                    Tensor::einsum("btu,btg->bug", &[hprev, &g_rec], None::<i64>),
                    Tensor::stack(
                        &[
                            g_in.sum_dim_intlist(&[1i64][..], false, None),
                            g_rec.sum_dim_intlist(&[1i64][..], false, None),
                        ],
                        1,
                    ),
                ]
            }
        }
    }

    /// Ghost squared norms (B,) for Linear and LSTM records when cheaper than materialising:
    /// a gradient Σ_s g_s ⊗ a_s has squared norm Σ_{s,t} (a_s·a_t)(g_s·g_t).
    fn ghost_sq_norm(&self, gz: &Tensor) -> Option<Tensor> {
        match self {
            Record::Linear {
                weight, bias, a, ..
            } => {
                let (out, inp) = weight.size2().ok()?;
                let a = as_bsd(a);
                let g = as_bsd(gz);
                let s = a.size()[1];
                if s * s > out * inp {
                    return None;
                }
                let mut sq = gram_sq_norm(&a, &g);
                if bias.is_some() {
                    let gb = g.sum_dim_intlist(&[1i64][..], false, None);
                    sq += gb.square().sum_dim_intlist(&[1i64][..], false, None);
                }
                Some(sq)
            }
            Record::Lstm {
                kernel,
                recurrent,
                x,
                hprev,
                ..
            } => {
                let (d_in, g4) = kernel.size2().ok()?;
                let u = recurrent.size()[0];
                let t = x.size()[1];
                if t * t > u * g4 || t * t > d_in * g4 {
                    return None;
                }
                let gb = gz.sum_dim_intlist(&[1i64][..], false, None);
                Some(
                    gram_sq_norm(x, gz)
                        + gram_sq_norm(hprev, gz)
                        + gb.square().sum_dim_intlist(&[1i64][..], false, None),
                )
            }
            _ => None,
        }
    }

    /// Σ_b factor_b · grad_b for a Linear or LSTM record without materialising per-example
    /// gradients (`params()` order).
    fn ghost_weighted_sum(&self, gz: &Tensor, factor: &Tensor) -> Option<Vec<Tensor>> {
        match self {
            Record::Linear { bias, a, .. } => {
                let a = as_bsd(a);
                let g = as_bsd(gz) * factor.view([-1, 1, 1]);
                let mut v = vec![Tensor::einsum("bso,bsi->oi", &[&g, &a], None::<i64>)];
                if bias.is_some() {
                    v.push(g.sum_dim_intlist(&[0i64, 1][..], false, None));
                }
                Some(v)
            }
            Record::Lstm { x, hprev, .. } => {
                let g = gz * factor.view([-1, 1, 1]);
                Some(vec![
                    Tensor::einsum("bti,btg->ig", &[x, &g], None::<i64>),
                    Tensor::einsum("btu,btg->ug", &[hprev, &g], None::<i64>),
                    g.sum_dim_intlist(&[0i64, 1][..], false, None),
                ])
            }
            _ => None,
        }
    }

    /// Per-group gradients (G, *param_shape) for `onehot` (G, B): Σ_b onehot[g, b] · grad_b.
    /// Linear and LSTM weights are contracted directly (no (B, out, in) tensor); other layers
    /// materialise their (small) per-example gradients first.
    fn per_group(&self, gz: &Tensor, onehot: &Tensor) -> Vec<Tensor> {
        let groups = onehot.size()[0];
        // Σ_b M[g,b] Σ_s g_bs ⊗ a_bs as (G, out, in): weight the backprops per group, then
        // contract (b, s) in one matmul.
        let outer = |g: &Tensor, a: &Tensor| -> Tensor {
            let (b, s, o) = g.size3().expect("(B, S, out)");
            let i = a.size()[2];
            let gm =
                (onehot.reshape([groups, b, 1, 1]) * g.unsqueeze(0)).reshape([groups, b * s, o]);
            gm.transpose(1, 2).matmul(&a.reshape([b * s, i]))
        };
        match self {
            Record::Linear { bias, a, .. } => {
                let a = as_bsd(a);
                let g = as_bsd(gz);
                let mut v = vec![outer(&g, &a)];
                if bias.is_some() {
                    v.push(onehot.matmul(&g.sum_dim_intlist(&[1i64][..], false, None)));
                }
                v
            }
            Record::Lstm { x, hprev, .. } => vec![
                outer(gz, x).transpose(1, 2),
                outer(gz, hprev).transpose(1, 2),
                onehot.matmul(&gz.sum_dim_intlist(&[1i64][..], false, None)),
            ],
            _ => self
                .per_example(gz)
                .into_iter()
                .map(|pe| {
                    let mut shape = pe.size();
                    shape[0] = groups;
                    onehot.matmul(&pe.flatten(1, -1)).reshape(shape.as_slice())
                })
                .collect(),
        }
    }
}

/// The per-step states stacked along time (B, T, u), or an empty (B, 0, u) for T = 0.
fn stack_steps(steps: &[Tensor], empty: [i64; 3], like: &Tensor) -> Tensor {
    if steps.is_empty() {
        Tensor::zeros(empty, (like.kind(), like.device()))
    } else {
        Tensor::stack(steps, 1)
    }
}

/// Σ_{s,t} (a_s·a_t)(g_s·g_t) per example: the squared norm of Σ_s g_s ⊗ a_s, shape (B,).
fn gram_sq_norm(a: &Tensor, g: &Tensor) -> Tensor {
    let ga = Tensor::einsum("bsi,bti->bst", &[a, a], None::<i64>);
    let gg = Tensor::einsum("bso,bto->bst", &[g, g], None::<i64>);
    (ga * gg).sum_dim_intlist(&[1i64, 2][..], false, None)
}

/// Per-example gradients of a list of parameters: `grads[i]` has shape (B, *params[i].shape).
#[derive(Debug)]
pub struct PerExampleGrads {
    /// The parameters (shallow clones), in recording order.
    pub params: Vec<Tensor>,
    /// Per-example gradients, one per parameter.
    pub grads: Vec<Tensor>,
}

impl PerExampleGrads {
    /// Number of examples (or privacy units) B.
    pub fn batch_size(&self) -> i64 {
        self.grads.first().map_or(0, |g| g.size()[0])
    }

    /// Per-example squared L2 norms over all parameters, shape (B,).
    pub fn sq_norms(&self) -> Tensor {
        let mut total: Option<Tensor> = None;
        for g in &self.grads {
            let s = g
                .flatten(1, -1)
                .square()
                .sum_dim_intlist(&[1i64][..], false, None);
            total = Some(match total {
                Some(t) => t + s,
                None => s,
            });
        }
        total.unwrap_or_else(|| Tensor::zeros([0], (Kind::Double, tch::Device::Cpu)))
    }

    /// Per-example L2 norms, shape (B,).
    pub fn norms(&self) -> Tensor {
        self.sq_norms().sqrt()
    }

    /// The batch gradient Σ_b g_b, one tensor per parameter.
    pub fn sum(&self) -> Vec<Tensor> {
        self.grads
            .iter()
            .map(|g| g.sum_dim_intlist(&[0i64][..], false, None))
            .collect()
    }

    /// Σ_b factor_b · g_b with factor of shape (B,).
    pub fn weighted_sum(&self, factor: &Tensor) -> Vec<Tensor> {
        self.grads
            .iter()
            .map(|g| {
                let mut shape = vec![-1i64];
                shape.extend(std::iter::repeat_n(1, g.dim() - 1));
                (g * factor.view(shape.as_slice())).sum_dim_intlist(&[0i64][..], false, None)
            })
            .collect()
    }

    /// Sums the per-example gradients by group: `group[b]` (int64, in 0..n_groups) is the
    /// privacy unit (e.g. subject) of example b. Returns per-unit gradients (n_groups, ..),
    /// which are then clipped as one record each (subject-level DP).
    pub fn sum_by_group(&self, group: &Tensor, n_groups: i64) -> PerExampleGrads {
        let grads = self
            .grads
            .iter()
            .map(|g| {
                let mut shape = g.size();
                shape[0] = n_groups;
                let mut out = Tensor::zeros(shape.as_slice(), (g.kind(), g.device()));
                let _ = out.index_add_(0, group, g);
                out
            })
            .collect();
        PerExampleGrads {
            params: self.params.iter().map(|p| p.shallow_clone()).collect(),
            grads,
        }
    }
}

/// Records the supported layers' activations during a forward pass.
#[derive(Debug, Default)]
pub struct Tape {
    records: Vec<Record>,
}

impl Tape {
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of recorded layer uses.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// `y = x Wᵀ + b` over raw tensors (weight (out, in)); x is (B, .., in).
    pub fn linear(&mut self, weight: &Tensor, bias: Option<&Tensor>, x: &Tensor) -> Tensor {
        let z = x.linear(weight, bias);
        self.records.push(Record::Linear {
            weight: weight.shallow_clone(),
            bias: bias.map(|b| b.shallow_clone()),
            a: x.detach(),
            z: z.shallow_clone(),
        });
        z
    }

    /// `Dense::forward`, recorded.
    pub fn dense(&mut self, layer: &Dense, x: &Tensor) -> Tensor {
        self.linear(&layer.weight, Some(&layer.bias), x)
    }

    /// `ConvRow::forward`, recorded (input NCHW).
    pub fn conv_row(&mut self, layer: &ConvRow, x: &Tensor) -> Tensor {
        let z = layer.forward(x);
        let k = layer.weight.size()[3];
        self.records.push(Record::ConvRow {
            weight: layer.weight.shallow_clone(),
            bias: layer.bias.shallow_clone(),
            a: x.detach(),
            z: z.shallow_clone(),
            k,
        });
        z
    }

    /// `LayerNorm::forward`, recorded.
    pub fn layer_norm(&mut self, layer: &LayerNorm, x: &Tensor) -> Tensor {
        let z = layer.forward(x);
        let xd = x.detach();
        let mu = xd.mean_dim(&[-1i64][..], true, None);
        let xc = xd - mu;
        let var = xc.square().mean_dim(&[-1i64][..], true, None);
        let xhat = xc / (var + layer.eps()).sqrt();
        self.records.push(Record::LayerNorm {
            gamma: layer.gamma.shallow_clone(),
            beta: layer.beta.shallow_clone(),
            xhat,
            z: z.shallow_clone(),
        });
        z
    }

    /// Embedding lookup `weight[idx]` (weight (V, D), idx int64 (B, ..)), recorded.
    pub fn embedding(&mut self, weight: &Tensor, idx: &Tensor) -> Tensor {
        let z = Tensor::embedding(weight, idx, -1, false, false);
        self.records.push(Record::Embedding {
            weight: weight.shallow_clone(),
            idx: idx.shallow_clone(),
            z: z.shallow_clone(),
        });
        z
    }

    /// `KerasLstm::forward`, recomputed step by step from its public weights and recorded.
    /// Returns (sequence (B, T, u), last (B, u)), identical to the layer's forward.
    pub fn lstm(&mut self, layer: &KerasLstm, x: &Tensor) -> (Tensor, Tensor) {
        let (b, t, _) = x
            .size3()
            .expect("LSTM input must be (batch, time, features)");
        let u = layer.recurrent.size()[0];
        let xw = x.matmul(&layer.kernel) + &layer.bias;
        let mut h = Tensor::zeros([b, u], (x.kind(), x.device()));
        let mut c = Tensor::zeros([b, u], (x.kind(), x.device()));
        let mut outs = Vec::with_capacity(t as usize);
        let mut prev = Vec::with_capacity(t as usize);
        for step in 0..t {
            prev.push(h.detach());
            (h, c) = layer.cell_step(&xw.select(1, step), &h, &c);
            outs.push(h.shallow_clone());
        }
        let hprev = stack_steps(&prev, [b, 0, u], x);
        self.records.push(Record::Lstm {
            kernel: layer.kernel.shallow_clone(),
            recurrent: layer.recurrent.shallow_clone(),
            bias: layer.bias.shallow_clone(),
            x: x.detach(),
            hprev,
            xw: xw.shallow_clone(),
        });
        (Tensor::stack(&outs, 1), h)
    }

    /// `KerasGru::forward`, recomputed step by step with a zero probe on both projections (see
    /// the module docs) and recorded. Returns (sequence (B, T, u), last (B, u)), identical to
    /// the layer's forward.
    pub fn gru(&mut self, layer: &KerasGru, x: &Tensor) -> (Tensor, Tensor) {
        let (b, t, _) = x
            .size3()
            .expect("GRU input must be (batch, time, features)");
        let u = layer.units();
        let probe = Tensor::zeros([b, t, 6 * u], (x.kind(), x.device())).set_requires_grad(true);
        let xw = x.matmul(&layer.kernel) + layer.bias.get(0) + probe.narrow(2, 0, 3 * u);
        let mut h = Tensor::zeros([b, u], (x.kind(), x.device()));
        let mut outs = Vec::with_capacity(t as usize);
        let mut prev = Vec::with_capacity(t as usize);
        for step in 0..t {
            prev.push(h.detach());
            let rec = h.matmul(&layer.recurrent)
                + layer.bias.get(1)
                + probe.select(1, step).narrow(1, 3 * u, 3 * u);
            h = layer.cell_step(&xw.select(1, step), &rec, &h);
            outs.push(h.shallow_clone());
        }
        let hprev = stack_steps(&prev, [b, 0, u], x);
        self.records.push(Record::Gru {
            kernel: layer.kernel.shallow_clone(),
            recurrent: layer.recurrent.shallow_clone(),
            bias: layer.bias.shallow_clone(),
            x: x.detach(),
            hprev,
            probe,
        });
        (Tensor::stack(&outs, 1), h)
    }

    /// `MultiHeadAttention::forward_t`, with its four projections recorded as Linear layers.
    pub fn attention(&mut self, layer: &MultiHeadAttention, x: &Tensor, train: bool) -> Tensor {
        let (b, s, _) = x.size3().expect("attention input must be (batch, seq, d)");
        let (heads, kd) = (layer.heads(), layer.key_dim());
        let split = |t: Tensor| t.view([b, s, heads, kd]).transpose(1, 2);
        let q = split(self.dense(&layer.query, x));
        let k = split(self.dense(&layer.key, x));
        let v = split(self.dense(&layer.value, x));
        let scores = q.matmul(&k.transpose(-2, -1)) / (kd as f64).sqrt();
        let probs = scores
            .softmax(-1, scores.kind())
            .stream_dropout(layer.dropout(), train);
        let ctx = probs
            .matmul(&v)
            .transpose(1, 2)
            .contiguous()
            .view([b, s, heads * kd]);
        self.dense(&layer.output, &ctx)
    }

    /// All recorded parameters, in recording order (matches `PerExampleGrads::params`).
    pub fn params(&self) -> Vec<Tensor> {
        self.records.iter().flat_map(|r| r.params()).collect()
    }

    /// d loss_sum / d output for every recorded output (zeros where an output is unused).
    /// Consumes the graph (no `keep_graph`).
    pub fn backprops(&self, loss_sum: &Tensor) -> Vec<Tensor> {
        let outputs: Vec<&Tensor> = self.records.iter().map(|r| r.output()).collect();
        let gz = Tensor::run_backward(&[loss_sum], &outputs, false, false);
        gz.into_iter()
            .zip(outputs)
            .map(|(g, z)| if g.defined() { g } else { z.zeros_like() })
            .collect()
    }

    /// Exact per-example gradients of `loss_sum` (the SUM of per-example losses).
    pub fn per_example_grads(&self, loss_sum: &Tensor) -> PerExampleGrads {
        let gz = self.backprops(loss_sum);
        let grads = tch::no_grad(|| {
            self.records
                .iter()
                .zip(&gz)
                .flat_map(|(r, g)| r.per_example(g))
                .collect()
        });
        PerExampleGrads {
            params: self.params(),
            grads,
        }
    }

    /// Per-example clipping to `clip` with ghost norms for Linear layers: returns the clipped
    /// sum Σ_b min(1, C/‖g_b‖) g_b (one tensor per parameter, in `params()` order) and the
    /// unclipped per-example norms (B,). Linear layers never build (B, out, in) tensors
    /// (unless a sequence is so long that the Gram matrices would be larger).
    pub fn clipped_sum(&self, loss_sum: &Tensor, clip: f64) -> (Vec<Tensor>, Tensor) {
        self.clipped_sum_scaled(loss_sum, clip, None)
    }

    /// [`Self::clipped_sum`] with a public per-example scale sᵦ ∈ (0, 1] applied after
    /// clipping: Σ_b sᵦ · min(1, C/‖g_b‖) g_b. Every contribution still has norm ≤ C, so the
    /// sensitivity (and the privacy analysis) is that of plain clipping to C; the scales only
    /// re-weight examples, e.g. by class with weights fixed before training.
    pub fn clipped_sum_scaled(
        &self,
        loss_sum: &Tensor,
        clip: f64,
        scale: Option<&Tensor>,
    ) -> (Vec<Tensor>, Tensor) {
        let gz = self.backprops(loss_sum);
        tch::no_grad(|| {
            let b = gz.first().map_or(0, |g| g.size()[0]);
            let kind = gz.first().map_or(Kind::Double, |g| g.kind());
            let device = gz.first().map_or(tch::Device::Cpu, |g| g.device());
            let mut sq = Tensor::zeros([b], (kind, device));
            let mut materialised: Vec<Option<Vec<Tensor>>> = Vec::new();
            for (r, g) in self.records.iter().zip(&gz) {
                if let Some(s) = r.ghost_sq_norm(g) {
                    sq += s;
                    materialised.push(None);
                } else {
                    let pe = PerExampleGrads {
                        params: Vec::new(),
                        grads: r.per_example(g),
                    };
                    sq += pe.sq_norms();
                    materialised.push(Some(pe.grads));
                }
            }
            let norms = sq.sqrt();
            let factor = super::clip_noise::clip_factors(&norms, clip);
            let factor = match scale {
                Some(s) => {
                    assert!(
                        s.numel() == 0 || s.to_kind(Kind::Double).max().double_value(&[]) <= 1.0,
                        "contribution scales must lie in (0, 1]"
                    );
                    factor * s.to_kind(kind).to_device(device)
                }
                None => factor,
            };
            let mut out = Vec::new();
            for ((r, g), m) in self.records.iter().zip(&gz).zip(materialised) {
                match m {
                    Some(grads) => out.extend(
                        PerExampleGrads {
                            params: Vec::new(),
                            grads,
                        }
                        .weighted_sum(&factor),
                    ),
                    None => out.extend(
                        r.ghost_weighted_sum(g, &factor)
                            .expect("ghost norms are only taken for Linear and LSTM records"),
                    ),
                }
            }
            (out, norms)
        })
    }

    /// Clipping per privacy unit (subject-level DP): example b belongs to unit `group[b]`
    /// (int64 in 0..n_groups); each unit's gradient Σ_{b ∈ unit} g_b is clipped to `clip`
    /// as one record. Returns the clipped sum over units (one tensor per parameter, `params()`
    /// order) and the unclipped per-unit norms (n_groups,). Linear and LSTM weights are
    /// contracted per unit directly, so no (B, out, in) tensor is built.
    pub fn clipped_sum_grouped(
        &self,
        loss_sum: &Tensor,
        group: &Tensor,
        n_groups: i64,
        clip: f64,
    ) -> (Vec<Tensor>, Tensor) {
        let gz = self.backprops(loss_sum);
        tch::no_grad(|| {
            let kind = gz.first().map_or(Kind::Float, |g| g.kind());
            let device = gz.first().map_or(tch::Device::Cpu, |g| g.device());
            let onehot = group
                .to_device(device)
                .one_hot(n_groups)
                .to_kind(kind)
                .tr()
                .contiguous();
            let per_unit = PerExampleGrads {
                params: Vec::new(),
                grads: self
                    .records
                    .iter()
                    .zip(&gz)
                    .flat_map(|(r, g)| r.per_group(g, &onehot))
                    .collect(),
            };
            let norms = per_unit.norms();
            let factor = super::clip_noise::clip_factors(&norms, clip);
            (per_unit.weighted_sum(&factor), norms)
        })
    }
}
