//! The Slurm backend: campaigns as sbatch array jobs in two stages — a generator array (one
//! task per generator training the submitted cells need and that is not trained yet), then the
//! cell arrays (one task per cell), which wait for it (`--dependency=afterok:…`) — plus a
//! collect job that runs after all of them (`--dependency=afterany:…`).
//!
//! Layout, from pure to impure:
//! - [`render`]: sbatch scripts, dependency options, array specs and chunks under the site's
//!   `MaxArraySize` — pure functions, snapshot-tested;
//! - [`stages`]: which generators a submission sends and what each cell array waits for —
//!   pure;
//! - [`parse`]: parsers of sbatch, squeue, scontrol, sacct and jobcomp output into
//!   [`TaskState`]s, and their merge — pure, tested on output captured from a real Slurm
//!   22.05.8 (`tests/fixtures/slurm/captured/`, `scripts/capture-slurm-fixtures.sh`);
//! - [`commands`]: the one file that runs Slurm commands ([`SlurmClient`]);
//! - [`env`]: the one file that reads `SLURM_*` variables ([`SlurmTaskEnv`]).
//!
//! May depend on: std, serde, thiserror, tracing. Must never use tch, mpi or models: cells run
//! as `dpwear run-cell` subprocesses under `srun`.
//!
//! A throw-away single-node cluster for trying this out: `scripts/slurm-test-up.sh DIR
//! [--with-dbd]` and `scripts/slurm-test-down.sh DIR`.

pub mod commands;
pub mod env;
pub mod parse;
pub mod render;
pub mod stages;

pub use commands::{SlurmClient, SlurmError, DEFAULT_MAX_ARRAY_SIZE};
pub use env::{SlurmEnvError, SlurmTaskEnv};
pub use parse::{
    merge_task_states, parse_jobcomp, parse_jobcomp_location, parse_max_array_size, parse_sacct,
    parse_sbatch_parsable, parse_scontrol_config, parse_scontrol_jobs, parse_squeue, JobState,
    ParseError, Parsed, SkippedLine, TaskKey, TaskState, SACCT_FORMAT, SQUEUE_FORMAT,
};
pub use render::{
    afterok_dependency_args, dependency_args, format_array_spec, generator_threads,
    render_array_script, render_collect_script, render_generator_array_script, sbatch_quote,
    shell_quote, split_into_chunks, ArrayChunk, ArrayScript, CollectScript, DependencyTarget,
    GeneratorArrayScript, RenderError, SbatchProfile,
};
pub use stages::{plan_stages, CellArrayPlan, GeneratorDependency, GeneratorSlot, StagePlan};
