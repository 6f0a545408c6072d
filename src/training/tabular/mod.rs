//! Training on tabular records (the Imtiaz et al. system): the records as a training tensor
//! ([`TabularTrainData`]), the privacy mechanisms applied around the BGAN ([`prepare`]), and
//! the BGAN algorithm and sampler ([`bgan`]) — one step at a time, for the generator executor.
//!
//! May depend on: tch, models::generators::bgan, features::tabular, privacy::accounting,
//! training::generator (the executor, Adam, step streams).
pub mod bgan;
pub mod prepare;

use tch::Tensor;

/// Training records scaled to [−1, 1], one row per record.
#[derive(Debug)]
pub struct TabularTrainData {
    /// (n, width) float32.
    pub records: Tensor,
    pub n: usize,
    pub width: i64,
}

impl TabularTrainData {
    /// From scaled records (all of one width, at least one).
    pub fn new(scaled: &[Vec<f32>]) -> Result<TabularTrainData, String> {
        let n = scaled.len();
        let width = scaled
            .first()
            .map(|r| r.len())
            .ok_or("no training records")?;
        if width == 0 || scaled.iter().any(|r| r.len() != width) {
            return Err("records of unequal or zero width".into());
        }
        let flat: Vec<f32> = scaled.iter().flatten().copied().collect();
        Ok(TabularTrainData {
            records: Tensor::from_slice(&flat).view([n as i64, width as i64]),
            n,
            width: width as i64,
        })
    }
}
