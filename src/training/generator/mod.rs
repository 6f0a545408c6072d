//! Generator training: the data ([`data`]), the per-step randomness ([`rng`]), a checkpointable
//! Adam ([`adam`]), what an algorithm implements ([`algorithm`]), the four families
//! ([`kinds`]: cGAN, DoppelGANger, TimeGAN, DP-MERF) behind one registry ([`registry`]).
//!
//! May depend on: tch, models, privacy, data, features::windows. Must never use orchestration,
//! clap or indicatif (progress reaches the CLI through an observer callback).
pub mod adam;
pub mod algorithm;
pub mod checkpoint;
pub mod data;
pub mod executor;
pub mod kinds;
pub mod privacy;
pub mod registry;
pub mod rng;
pub mod synthesize;

pub use algorithm::{
    DpSettings, Family, GanAlgorithm, Overrides, PrivateUse, ReferenceSigma, Sampled, StepReport,
    WindowSampler,
};
pub use data::{GenData, N_FEATURES, SEQ_LEN};
