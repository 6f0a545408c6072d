//! Datasets: the raw WESAD reader (Python pickles read by a small pickle interpreter), the
//! reference implementation's preprocessed 1 Hz pickle and CSV, the simulator, and the HDF5
//! store that every later stage reads; [`values`] is the one finite-value check they share.
//!
//! May depend on: hdf5, ndarray, rustfft (resampling), sha2, csv. Must never use tch or
//! anything from orchestration.
pub mod dataset;
pub mod error;
pub mod h5util;
pub mod hash;
pub mod pickle;
pub mod reference_csv;
pub mod reference_pickle;
pub mod resample;
pub mod simulator;
pub mod store;
pub mod tabular;
pub mod values;
pub mod wesad_raw;

pub use dataset::{Dataset, LabelMap, Provenance, SourceKind, Subject, CHANNELS, N_CHANNELS};
pub use error::{DataError, ErrorClass};
pub use simulator::{simulate, SimulatorConfig};
