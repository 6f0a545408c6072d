//! The Slurm backend (being built).
