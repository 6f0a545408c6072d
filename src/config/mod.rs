//! Experiment configuration: the TOML schema (`experiment`), its validation and grid
//! expansion (`grid`), cells and their stable content-hash ids (`cell`), and seed derivation
//! (`seeds`).
//!
//! May depend on: serde, toml, sha2 (a stable hash), and the pure value types of `models`
//! (classifier kinds, head modes) and `features` (feature modes, window schemes). Must never
//! use tch, mpi, processes or filesystem walking (`grid::load` reads the one file it is given).
pub mod cell;
pub mod error;
pub mod experiment;
pub mod generators;
pub mod grid;
pub mod limits;
pub mod seeds;
pub mod tabular_domains;

pub use cell::{cell_id, expand, CellConfig, CellGeneration, GeneratorPrivacy};
pub use error::ConfigError;
pub use grid::{
    load, parse, Epsilon, Experiment, Generator, GeneratorTraining, GridPoint, Strategy,
};
