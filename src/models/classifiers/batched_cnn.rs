//! M reference CNNs ([`super::cnn::Cnn`]) evaluated as one batched model, for fold-batched
//! training: every parameter is held as one (M, numel) tensor (row m = model m's parameter,
//! flattened), the convolutions run as one grouped convolution with M groups on channels-last
//! activations (batch, 6, width, M · 64) — channel m · 64 + c is model m's filter c — and the
//! dense layers as batched matmuls over (M, batch, features). Input row i of model m is model
//! m's i-th window of the step; models may have fewer real rows than the batch (padding), which
//! the loss weighs with 0.
//!
//! Dropout draws each model's masks from its own [`DropoutStream`] in the single model's order
//! and layout ([`dropout::stacked_masks`]), so model m sees exactly the masks it would see
//! trained alone; on CUDA libtorch's dropout is used over the whole tensor instead.
//!
//! May depend on: tch, `models::dropout`, `models::classifiers::{cnn, conv_stack}`.

use tch::{nn, Device, Tensor};

use super::cnn::DROPOUT;
use super::conv_stack::{max_pool_pairs, FILTERS};
use crate::models::dropout::{self, DropoutStream};

/// The CNN's parameters by VarStore name, in the order the batched model holds them.
pub const PARAMETER_NAMES: [&str; 14] = [
    "conv1.weight",
    "conv1.bias",
    "conv2.weight",
    "conv2.bias",
    "conv3.weight",
    "conv3.bias",
    "conv4.weight",
    "conv4.bias",
    "fc1.weight",
    "fc1.bias",
    "fc2.weight",
    "fc2.bias",
    "out.weight",
    "out.bias",
];

/// The reference CNN's shape of parameter `name` (one of [`PARAMETER_NAMES`]).
fn cnn_shape(name: &str) -> Vec<i64> {
    let flat = 6 * 52 * FILTERS;
    match name {
        "conv1.weight" => vec![FILTERS, 1, 1, 3],
        "conv2.weight" | "conv3.weight" | "conv4.weight" => vec![FILTERS, FILTERS, 1, 3],
        "fc1.weight" => vec![128, flat],
        "fc1.bias" => vec![128],
        "fc2.weight" => vec![64, 128],
        "out.weight" => vec![2, 64],
        "out.bias" => vec![2],
        _ => vec![FILTERS], // the conv biases and fc2.bias
    }
}

/// Each model's dropout streams and which models take part in a step.
pub struct StepDropout<'a> {
    pub streams: &'a mut [DropoutStream],
    pub active: &'a [bool],
}

/// M CNNs as one model.
#[derive(Debug)]
pub struct BatchedCnn {
    models: i64,
    /// (M, numel) per parameter, in [`PARAMETER_NAMES`] order; leaves that require grad.
    params: Vec<Tensor>,
    /// The single model's shape of each parameter.
    shapes: Vec<Vec<i64>>,
}

impl BatchedCnn {
    /// Stacks the parameters of CNNs built in `stores` (by [`super::build`]); the stores are
    /// not changed. Errors when a store does not hold the CNN's parameters.
    pub fn stack(stores: &[nn::VarStore]) -> Result<Self, String> {
        if stores.is_empty() {
            return Err("fold-batched training needs at least one model".into());
        }
        let vars: Vec<_> = stores.iter().map(|vs| vs.variables()).collect();
        let mut params = Vec::with_capacity(PARAMETER_NAMES.len());
        let mut shapes = Vec::with_capacity(PARAMETER_NAMES.len());
        for name in PARAMETER_NAMES {
            let rows = vars
                .iter()
                .map(|v| {
                    v.get(name)
                        .map(|t| t.detach().reshape([-1]))
                        .ok_or_else(|| format!("the model has no parameter {name}: not a CNN"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let shape = vars[0][name].size();
            if shape != cnn_shape(name) || vars.iter().any(|v| v[name].size() != shape) {
                return Err(format!(
                    "parameter {name} has shape {shape:?}, not the CNN's {:?}: not a CNN",
                    cnn_shape(name)
                ));
            }
            shapes.push(shape);
            params.push(Tensor::stack(&rows, 0).set_requires_grad(true));
        }
        Ok(Self {
            models: stores.len() as i64,
            params,
            shapes,
        })
    }

    /// Number of models.
    pub fn models(&self) -> i64 {
        self.models
    }

    /// The (M, numel) parameter tensors (the optimizer's variables).
    pub fn parameters(&self) -> &[Tensor] {
        &self.params
    }

    /// Copies model `m`'s parameters into the CNN built in `store`.
    pub fn write_into(&self, m: i64, store: &nn::VarStore) -> Result<(), String> {
        let vars = store.variables();
        tch::no_grad(|| {
            for (name, p) in PARAMETER_NAMES.iter().zip(&self.params) {
                let mut target = vars
                    .get(*name)
                    .ok_or_else(|| format!("the model has no parameter {name}: not a CNN"))?
                    .shallow_clone();
                target.copy_(&p.get(m).view(target.size().as_slice()));
            }
            Ok(())
        })
    }

    /// Logits (M, batch, 2) for windows x (M, batch, 6, 210); dropout when `dropout` is given.
    pub fn forward_t(&self, x: &Tensor, mut dropout: Option<StepDropout<'_>>) -> Tensor {
        let (m, b) = (self.models, x.size()[1]);
        // (M, B, 6, 210) → (B, 6, 210, M): channel m is model m's input.
        let h = x.permute([1, 2, 3, 0]).contiguous();
        let h = self.conv(0, &h).relu();
        let h = self.conv_dropout(h, &mut dropout);
        let h = self.conv(1, &h).relu();
        let h = self.conv_dropout(h, &mut dropout);
        let h = max_pool_pairs(&self.conv(2, &h).relu(), 2);
        let h = self.conv_dropout(h, &mut dropout);
        let h = self.conv(3, &h).relu();
        let h = self.conv_dropout(h, &mut dropout);
        let h = self.conv_dropout(max_pool_pairs(&h, 2), &mut dropout);
        // (B, 6, 52, M·64) → (M, B, 64 · 6 · 52): the single model's NCHW flatten order.
        let (height, width) = (h.size()[1], h.size()[2]);
        let h = h
            .view([b, height, width, m, FILTERS])
            .permute([3, 0, 4, 1, 2])
            .reshape([m, b, FILTERS * height * width]);
        let h = self.dense(4, &h).relu();
        let h = dense_dropout(h, &mut dropout);
        let h = self.dense(5, &h).relu();
        let h = dense_dropout(h, &mut dropout);
        self.dense(6, &h)
    }

    /// Conv layer `layer` (0–3) as one grouped convolution on channels-last (B, 6, W, M·c_in).
    fn conv(&self, layer: usize, x: &Tensor) -> Tensor {
        let (w, bias) = (&self.params[2 * layer], &self.params[2 * layer + 1]);
        let mut shape = self.shapes[2 * layer].clone();
        shape[0] *= self.models;
        x.permute([0, 3, 1, 2])
            .conv2d(
                &w.view(shape.as_slice()),
                Some(&bias.view([-1])),
                [1, 1],
                [0, shape[3] / 2],
                [1, 1],
                self.models,
            )
            .permute([0, 2, 3, 1])
            .contiguous()
    }

    /// Dense layer `layer` (4–6: fc1, fc2, out) over (M, B, d_in).
    fn dense(&self, layer: usize, x: &Tensor) -> Tensor {
        let (w, bias) = (&self.params[2 * layer], &self.params[2 * layer + 1]);
        let (d_out, d_in) = (self.shapes[2 * layer][0], self.shapes[2 * layer][1]);
        x.matmul(&w.view([self.models, d_out, d_in]).transpose(1, 2))
            + bias.view([self.models, 1, d_out])
    }

    /// Dropout on channels-last conv activations (B, H, W, M·64): model m's mask has the single
    /// model's layout (B, H, W, 64).
    fn conv_dropout(&self, x: Tensor, dropout: &mut Option<StepDropout<'_>>) -> Tensor {
        let Some(d) = dropout.as_mut() else {
            return x;
        };
        if x.device() != Device::Cpu {
            return x.dropout(DROPOUT, true);
        }
        let s = x.size();
        let per_model = [s[0], s[1], s[2], FILTERS];
        let masks = dropout::stacked_masks(d.streams, d.active, &per_model, DROPOUT);
        (x.view([s[0], s[1], s[2], self.models, FILTERS]) * masks.permute([1, 2, 3, 0, 4]))
            .reshape(s.as_slice())
    }
}

/// Dropout on dense activations (M, B, d): slice m is model m's (B, d).
fn dense_dropout(x: Tensor, dropout: &mut Option<StepDropout<'_>>) -> Tensor {
    let Some(d) = dropout.as_mut() else {
        return x;
    };
    if x.device() != Device::Cpu {
        return x.dropout(DROPOUT, true);
    }
    let s = x.size();
    x * dropout::stacked_masks(d.streams, d.active, &s[1..], DROPOUT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::classifiers::{build, Classifier};
    use crate::models::ClassifierKind;
    use tch::Kind;

    fn cnns(seeds: &[i64]) -> (Vec<nn::VarStore>, Vec<Box<dyn Classifier>>) {
        seeds
            .iter()
            .map(|&s| {
                tch::manual_seed(s);
                let vs = nn::VarStore::new(Device::Cpu);
                let m = build(ClassifierKind::Cnn, vs.root());
                (vs, m)
            })
            .unzip()
    }

    #[test]
    fn batched_forward_equals_each_model_alone_with_and_without_dropout() {
        let (stores, models) = cnns(&[1, 2, 3]);
        let batched = BatchedCnn::stack(&stores).unwrap();
        assert_eq!(batched.models(), 3);
        tch::manual_seed(9);
        let x = Tensor::randn([3, 4, 6, 210], (Kind::Float, Device::Cpu));
        // model 1 has 2 real rows (the rest is padding), model 2 takes no part in the step
        let active = [true, true, false];
        let mut streams = [11u64, 12, 13].map(DropoutStream::new);
        let trained = batched.forward_t(
            &x,
            Some(StepDropout {
                streams: &mut streams,
                active: &active,
            }),
        );
        let plain = batched.forward_t(&x, None);
        assert_eq!(trained.size(), [3, 4, 2]);
        assert_eq!(streams.map(|s| s.calls()), [7, 7, 0]);
        for (m, rows) in [(0usize, 4i64), (1, 2)] {
            let xm = x.get(m as i64).narrow(0, 0, rows);
            let mut own = DropoutStream::new(11 + m as u64);
            let alone = dropout::with_stream(&mut own, || models[m].forward_t(&xm, true));
            let got = trained.get(m as i64).narrow(0, 0, rows);
            let diff = (&got - &alone).abs().max().double_value(&[]);
            assert!(diff < 1e-4, "model {m} with dropout: max |Δ| = {diff}");
            let alone = models[m].forward_t(&xm, false);
            let got = plain.get(m as i64).narrow(0, 0, rows);
            let diff = (&got - &alone).abs().max().double_value(&[]);
            assert!(diff < 1e-4, "model {m} without dropout: max |Δ| = {diff}");
        }
    }

    #[test]
    fn parameters_round_trip_through_the_stores() {
        let (stores, _) = cnns(&[4, 5]);
        let batched = BatchedCnn::stack(&stores).unwrap();
        let (targets, _) = cnns(&[6, 7]);
        for (m, target) in targets.iter().enumerate() {
            batched.write_into(m as i64, target).unwrap();
            for name in PARAMETER_NAMES {
                assert!(
                    target.variables()[name].equal(&stores[m].variables()[name]),
                    "{name} of model {m}"
                );
            }
        }
        let vs = nn::VarStore::new(Device::Cpu);
        let _lstm = build(ClassifierKind::CnnLstm, vs.root());
        assert!(BatchedCnn::stack(&[vs]).unwrap_err().contains("not a CNN"));
    }
}
