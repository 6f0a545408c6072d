//! Generator networks (tch), layer by layer as the reference builds them (spec §3), with
//! tested parameter counts. Training steps live in `training::generator::kinds`.
//!
//! May depend on: tch, `models::layers`, `privacy::dpsgd` (the recording tape). Never
//! orchestration, clap or indicatif.
pub mod bgan;
pub mod cgan;
pub mod dgan;
pub mod dp_merf;
pub mod timegan;
