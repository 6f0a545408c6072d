//! dpwear: privacy-preserving synthetic wearable-sensor data research at HPC scale.
//!
//! Layers (see `ARCHITECTURE.md` in the shared folder): `data` (datasets and their
//! preprocessing to 1 Hz, the HDF5 store, the simulator), `features` (windows and the
//! subwindow-FFT classifier features), `reporting` (progress, records, tables). The pure layers
//! build without libtorch (`--no-default-features`).
pub mod cli;
pub mod config;
pub mod data;
pub mod features;
pub mod models;
pub mod reporting;
