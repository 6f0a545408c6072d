//! Adam with its state in plain named tensors, so that a checkpoint holds the whole optimiser
//! (first and second moments, step count) and a resumed training continues bit for bit.
//! tch's own optimisers keep their state inside libtorch, out of reach of a checkpoint.
//!
//! The update is PyTorch's `torch.optim.Adam` (no weight decay, no AMSGrad):
//! m ← β1 m + (1 − β1) g; v ← β2 v + (1 − β2) g²;
//! p ← p − lr · (m / (1 − β1ᵗ)) / (√(v / (1 − β2ᵗ)) + ε).
//!
//! May depend on: tch.

use tch::Tensor;

/// Adam hyper-parameters.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AdamConfig {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
}

impl AdamConfig {
    pub fn new(lr: f64, beta1: f64) -> Self {
        Self {
            lr,
            beta1,
            beta2: 0.999,
            eps: 1e-8,
        }
    }
}

/// Adam over a fixed, ordered list of parameters.
#[derive(Debug)]
pub struct Adam {
    pub config: AdamConfig,
    params: Vec<Tensor>,
    m: Vec<Tensor>,
    v: Vec<Tensor>,
    t: u64,
}

impl Adam {
    /// An optimiser for `params` (their order is the state's order).
    pub fn new(params: Vec<Tensor>, config: AdamConfig) -> Self {
        let m = params.iter().map(|p| p.zeros_like().detach()).collect();
        let v = params.iter().map(|p| p.zeros_like().detach()).collect();
        Self {
            config,
            params,
            m,
            v,
            t: 0,
        }
    }

    /// The parameters, in order.
    pub fn params(&self) -> &[Tensor] {
        &self.params
    }

    /// Steps taken.
    pub fn steps(&self) -> u64 {
        self.t
    }

    /// Clears the parameters' gradients.
    pub fn zero_grad(&mut self) {
        for p in &mut self.params {
            let mut g = p.grad();
            if g.defined() {
                let _ = g.detach_().zero_();
            }
        }
    }

    /// One update from the parameters' `.grad()` (an undefined gradient counts as zero).
    pub fn step(&mut self) {
        self.t += 1;
        let c = self.config;
        let bc1 = 1.0 - c.beta1.powi(self.t as i32);
        let bc2 = 1.0 - c.beta2.powi(self.t as i32);
        tch::no_grad(|| {
            for ((p, m), v) in self.params.iter_mut().zip(&mut self.m).zip(&mut self.v) {
                let g = p.grad();
                let g = if g.defined() { g } else { p.zeros_like() };
                let _ = m.g_mul_scalar_(c.beta1).g_add_(&(&g * (1.0 - c.beta1)));
                let _ = v
                    .g_mul_scalar_(c.beta2)
                    .g_add_(&(&g * &g * (1.0 - c.beta2)));
                let denom = (&*v / bc2).sqrt() + c.eps;
                let upd = (&*m / bc1) / denom * c.lr;
                let _ = p.g_sub_(&upd);
            }
        });
    }

    /// The optimiser state under `prefix`: `prefix.m.<i>`, `prefix.v.<i>`, `prefix.t`.
    pub fn state(&self, prefix: &str) -> Vec<(String, Tensor)> {
        let mut out = Vec::with_capacity(2 * self.m.len() + 1);
        for (i, (m, v)) in self.m.iter().zip(&self.v).enumerate() {
            out.push((format!("{prefix}.m.{i}"), m.shallow_clone()));
            out.push((format!("{prefix}.v.{i}"), v.shallow_clone()));
        }
        out.push((format!("{prefix}.t"), Tensor::from_slice(&[self.t as i64])));
        out
    }

    /// Restores [`Adam::state`] from named tensors.
    pub fn load_state(&mut self, prefix: &str, named: &[(String, Tensor)]) -> Result<(), String> {
        let find = |name: &str| {
            named
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, t)| t)
                .ok_or_else(|| format!("optimiser state `{name}` missing"))
        };
        for i in 0..self.m.len() {
            for (which, dst) in [("m", &mut self.m[i]), ("v", &mut self.v[i])] {
                let src = find(&format!("{prefix}.{which}.{i}"))?;
                if src.size() != dst.size() {
                    return Err(format!(
                        "optimiser state `{prefix}.{which}.{i}` has shape {:?}, expected {:?}",
                        src.size(),
                        dst.size()
                    ));
                }
                tch::no_grad(|| dst.copy_(src));
            }
        }
        let t = find(&format!("{prefix}.t"))?;
        self.t = t.int64_value(&[0]).max(0) as u64;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{nn, nn::OptimizerConfig, Device, Kind};

    #[test]
    fn matches_torch_adam() {
        tch::manual_seed(3);
        let vs = nn::VarStore::new(Device::Cpu);
        let w = vs.root().randn("w", &[5, 3], 0.0, 1.0);
        let w2 = w.detach().copy().set_requires_grad(true);
        let mut ours = Adam::new(vec![w2.shallow_clone()], AdamConfig::new(1e-2, 0.5));
        let mut theirs = nn::Adam {
            beta1: 0.5,
            beta2: 0.999,
            wd: 0.0,
            eps: 1e-8,
            amsgrad: false,
        }
        .build(&vs, 1e-2)
        .unwrap();
        let x = Tensor::randn([7, 5], (Kind::Float, Device::Cpu));
        for _ in 0..20 {
            theirs.zero_grad();
            let loss = x.matmul(&w).tanh().sum(Kind::Float);
            loss.backward();
            theirs.step();
            ours.zero_grad();
            let loss = x.matmul(&w2).tanh().sum(Kind::Float);
            loss.backward();
            ours.step();
        }
        let diff = (&w - &w2).abs().max().double_value(&[]);
        assert!(diff < 1e-5, "{diff}");
    }

    #[test]
    fn state_round_trip_resumes_exactly() {
        let p = Tensor::from_slice(&[1.0f32, -2.0, 3.0]).set_requires_grad(true);
        let mut a = Adam::new(vec![p.shallow_clone()], AdamConfig::new(0.1, 0.9));
        for _ in 0..3 {
            a.zero_grad();
            (&p * &p).sum(Kind::Float).backward();
            a.step();
        }
        let state: Vec<(String, Tensor)> = a
            .state("d")
            .into_iter()
            .map(|(n, t)| (n, t.copy()))
            .collect();
        let q = p.detach().copy().set_requires_grad(true);
        let mut b = Adam::new(vec![q.shallow_clone()], AdamConfig::new(0.1, 0.9));
        b.load_state("d", &state).unwrap();
        for (opt, x) in [(&mut a, &p), (&mut b, &q)] {
            opt.zero_grad();
            (x * x).sum(Kind::Float).backward();
            opt.step();
        }
        assert!(p.equal(&q));
        assert_eq!(b.steps(), 4);
    }
}
