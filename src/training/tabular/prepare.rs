//! The privacy mechanisms around the BGAN (Imtiaz et al. 2021) and what each guarantees:
//!
//! - [`Mechanism::None`]: no differential privacy;
//! - [`Mechanism::NoisyInput`] ("learning from a noisy distribution"): every training value is
//!   released once by the Laplace mechanism on its public domain (ε by column class) before
//!   training; the record then is (Σ ε)-DP and a user with at most K records K·Σ ε-DP
//!   ([`crate::privacy::accounting::laplace::compose_record`]), and everything trained on the
//!   noisy records inherits it (post-processing);
//! - [`Mechanism::NoisyOutput`] ("noising the learned distribution"): Laplace noise on the
//!   generated records only. The generator has seen the clean records, so this gives **no**
//!   guarantee for anyone in the training data; it is offered to reproduce the paper and is
//!   stated that way.
//!
//! Before any mechanism, by public rules only: each user's first K records kept, values
//! clipped into the public domains. The Laplace noise comes from a stream keyed by the
//! training's secret key, never from the public seed (a seed-derived noise could be
//! subtracted by anyone who knows the seed).
//!
//! May depend on: features::tabular, config::tabular_domains, privacy::accounting::laplace.

use rand_chacha::ChaCha20Rng;
use serde::{Deserialize, Serialize};

use super::TabularTrainData;
use crate::config::tabular_domains::{ColumnDomain, Domains};
use crate::data::tabular::TabularData;
use crate::features::tabular::{bound_contributions, scale_records};
use crate::privacy::accounting::laplace::{compose_record, release, RecordGuarantee};

/// Which Laplace mechanism protects the records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mechanism {
    None,
    NoisyInput,
    NoisyOutput,
}

/// What a noisy-output release states.
pub const NOISY_OUTPUT_STATEMENT: &str = "no differential privacy for the training records: the generator was trained on the clean records and Laplace noise was added to the generated records only (noising the learned distribution), which protects nobody in the training data";

/// The training records after the public rules and the input mechanism.
#[derive(Debug)]
pub struct Prepared {
    pub train: TabularTrainData,
    /// The domains in the data's column order.
    pub domains: Vec<ColumnDomain>,
    /// Records kept and dropped by the per-user bound.
    pub records: usize,
    pub dropped: usize,
    /// The guarantee of the noisy input (None otherwise).
    pub guarantee: Option<RecordGuarantee>,
    /// One line: what protects the training records.
    pub statement: String,
}

/// The Laplace ε of each column.
pub fn column_epsilons(domains: &Domains, cols: &[ColumnDomain]) -> Vec<f64> {
    cols.iter().map(|c| domains.epsilon(c.class)).collect()
}

/// Applies the public rules and, for [`Mechanism::NoisyInput`], the Laplace mechanism (noise
/// from `noise`, a stream keyed by the training's secret key).
pub fn prepare(
    data: &TabularData,
    domains: &Domains,
    mechanism: Mechanism,
    noise: &mut ChaCha20Rng,
) -> Result<Prepared, String> {
    let cols = domains.for_columns(&data.columns)?;
    let (kept, dropped) = bound_contributions(data, domains.max_records_per_user);
    let eps = column_epsilons(domains, &cols);
    // Clipping into the domains happens in `release` and in the scaling.
    let mut values = kept.values;
    let (guarantee, statement) = match mechanism {
        Mechanism::None => (None, "no differential privacy".to_string()),
        Mechanism::NoisyOutput => (None, NOISY_OUTPUT_STATEMENT.to_string()),
        Mechanism::NoisyInput => {
            for r in values.iter_mut() {
                for ((v, d), e) in r.iter_mut().zip(&cols).zip(&eps) {
                    *v = release(noise, *v, d.min, d.max, *e)?;
                }
            }
            let g = compose_record(&eps, domains.max_records_per_user)?;
            let s = g.statement.clone();
            (Some(g), s)
        }
    };
    let train = TabularTrainData::new(&scale_records(&values, &cols))?;
    Ok(Prepared {
        train,
        domains: cols,
        records: values.len(),
        dropped,
        guarantee,
        statement,
    })
}

/// Laplace noise on generated records (already mapped back into the domains), each value on
/// its column's domain with its class ε: the noisy-output mechanism.
pub fn noisy_output(
    records: &mut [Vec<f64>],
    domains: &Domains,
    cols: &[ColumnDomain],
    noise: &mut ChaCha20Rng,
) -> Result<(), String> {
    let eps = column_epsilons(domains, cols);
    for r in records.iter_mut() {
        for ((v, d), e) in r.iter_mut().zip(cols).zip(&eps) {
            *v = d.clip(release(noise, *v, d.min, d.max, *e)?);
        }
    }
    Ok(())
}
