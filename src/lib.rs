//! dpwear: privacy-preserving synthetic wearable-sensor data research at HPC scale.
//!
//! Layers (see `ARCHITECTURE.md` in the shared folder): `data` (datasets and their
//! preprocessing to 1 Hz, the HDF5 store, the simulator), `features` (windows and the
//! subwindow-FFT classifier features), `evaluation` (metrics with an explicit positive class
//! and averaging, the reference's micro "F1", aggregation over subjects and replicates). The
//! pure layers build without libtorch (`--no-default-features`).
pub mod data;
pub mod evaluation;
pub mod features;
