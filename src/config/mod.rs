//! Experiment configuration: seed derivation (and, with the orchestrator, the TOML schema,
//! validation, grid expansion and stable cell ids).
//!
//! May depend on: serde, toml, sha2 (a stable hash). Must never use tch, mpi, processes or
//! filesystem walking.
pub mod seeds;
