//! dpwear: privacy-preserving synthetic wearable-sensor data research at HPC scale.
//!
//! Layers (see `ARCHITECTURE.md` in the shared folder): `data` (datasets and their
//! preprocessing to 1 Hz, the HDF5 store, the simulator), `features` (windows and the
//! subwindow-FFT classifier features), `privacy` (accountants, σ calibration, the ledger). The pure layers build without libtorch
//! (`--no-default-features`).
pub mod data;
pub mod features;
pub mod privacy;
