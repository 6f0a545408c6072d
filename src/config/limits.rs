//! The documented limits of every count a user can set, on the command line or in an
//! experiment file: one table, used by the clap value parsers of the CLI (out of range: exit 2)
//! and by the experiment validation (out of range: exit 5 with file:line:column), so that the
//! two can never disagree.
//!
//! | what | limit |
//! |---|---|
//! | replicates (`eval --replicates`, `replicates`) | 1 ..= [`MAX_REPLICATES`] |
//! | libtorch threads (`--threads`, `model.threads`) | 1 ..= [`MAX_THREADS`] |
//! | cells at once (`run -j`, `local.parallel`) | 1 ..= [`MAX_JOBS`] |
//! | epochs (`--epochs`, `model.epochs`) | 1 ..= [`MAX_EPOCHS`] |
//! | batch size (`--batch-size`, `model.batch_size`) | 1 ..= [`MAX_BATCH_SIZE`] |
//! | synthetic subjects (`--synthetic-subjects`, `synthetic_subjects`) | 1 ..= [`MAX_SYNTHETIC_SUBJECTS`] |
//! | cells of one experiment (grid points × replicates) | 1 ..= [`MAX_CELLS`] |
//! | simulated subjects of a campaign (`dataset.simulate.subjects`) | [`MIN_CAMPAIGN_SUBJECTS`] ..= the simulator's maximum |
//! | MPI ranks per cell (`slurm.ranks_per_cell`) | 1 ..= [`MAX_RANKS_PER_CELL`] |
//! | threads of a local run (cells at once × threads per cell) | at most [`MAX_TOTAL_THREADS`] |
//! | models trained as one (`eval --fold-batch`) | 1 ..= [`MAX_FOLD_BATCH`] |
//!
//! Pure: no dependencies beyond std.

use std::ops::RangeInclusive;

/// Independent repetitions of one grid point or one `eval` run.
pub const MAX_REPLICATES: usize = 10_000;
/// libtorch intra-op threads per process (more than this only adds contention and, at the
/// extreme, exhausts the thread limit of the machine).
pub const MAX_THREADS: usize = 256;
/// Cells run at once by the local executor (each is a subprocess).
pub const MAX_JOBS: usize = 1024;
/// Training epochs of a classifier (the reference's largest is 110).
pub const MAX_EPOCHS: usize = 10_000;
/// Folds' models trained as one batched model (a LOSO replicate has one fold per subject;
/// WESAD has 15).
pub const MAX_FOLD_BATCH: usize = 1024;
/// Minibatch size of a classifier.
pub const MAX_BATCH_SIZE: usize = 65_536;
/// Synthetic subjects kept from a generator's output.
pub const MAX_SYNTHETIC_SUBJECTS: usize = 100_000;
/// Cells (grid points × replicates) of one experiment; checked before the grid is expanded.
pub const MAX_CELLS: usize = 100_000;
/// A campaign evaluates leave-one-subject-out: every fold needs a test subject and at least
/// one training subject.
pub const MIN_CAMPAIGN_SUBJECTS: usize = 2;
/// Generator training steps of one run.
pub const MAX_GAN_STEPS: usize = 100_000_000;
/// MPI ranks sharing one cell's folds.
pub const MAX_RANKS_PER_CELL: usize = 1024;

/// libtorch threads of all the cells a local run executes at once (`-j` × `--threads`, or
/// `local.parallel` × `model.threads`).
pub const MAX_TOTAL_THREADS: usize = 4096;

/// Refuses `jobs` cells at once with `threads` threads each when together they exceed
/// [`MAX_TOTAL_THREADS`].
pub fn check_total_threads(jobs: usize, threads: usize) -> Result<(), String> {
    match jobs.checked_mul(threads) {
        Some(n) if n <= MAX_TOTAL_THREADS => Ok(()),
        _ => Err(format!(
            "{jobs} cells at once × {threads} threads each is more than {MAX_TOTAL_THREADS} threads; lower the parallel cells or the threads"
        )),
    }
}

/// A named, inclusive range of counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limit {
    /// What is counted, for messages (e.g. "threads").
    pub what: &'static str,
    pub range: RangeInclusive<usize>,
}

pub const REPLICATES: Limit = Limit {
    what: "replicates",
    range: 1..=MAX_REPLICATES,
};
pub const THREADS: Limit = Limit {
    what: "threads",
    range: 1..=MAX_THREADS,
};
pub const FOLD_BATCH: Limit = Limit {
    what: "models trained as one",
    range: 1..=MAX_FOLD_BATCH,
};
/// Permutations of a quality report's MMD² test.
pub const QUALITY_PERMUTATIONS: Limit = Limit {
    what: "MMD permutations",
    range: 0..=100_000,
};

/// Windows per set in a quality report's quadratic metrics.
pub const QUALITY_PAIRWISE: Limit = Limit {
    what: "windows per set",
    range: 10..=20_000,
};

pub const JOBS: Limit = Limit {
    what: "parallel cells",
    range: 1..=MAX_JOBS,
};
pub const EPOCHS: Limit = Limit {
    what: "epochs",
    range: 1..=MAX_EPOCHS,
};
pub const BATCH_SIZE: Limit = Limit {
    what: "batch size",
    range: 1..=MAX_BATCH_SIZE,
};
pub const SYNTHETIC_SUBJECTS: Limit = Limit {
    what: "synthetic subjects",
    range: 1..=MAX_SYNTHETIC_SUBJECTS,
};
/// Windows per synthetic subject sampled by a campaign's generator stage.
pub const WINDOWS_PER_SYNTHETIC_SUBJECT: Limit = Limit {
    what: "windows per synthetic subject",
    range: 1..=10_000,
};
/// Generator training steps (`gan train --steps`) and checkpoint intervals.
pub const GAN_STEPS: Limit = Limit {
    what: "generator steps",
    range: 1..=MAX_GAN_STEPS,
};
pub const RANKS_PER_CELL: Limit = Limit {
    what: "ranks per cell",
    range: 1..=MAX_RANKS_PER_CELL,
};

impl Limit {
    /// `Ok(v)` when `v` is within the range, else a message naming the range.
    pub fn check(&self, v: i128) -> Result<usize, String> {
        let (lo, hi) = (*self.range.start(), *self.range.end());
        if v >= lo as i128 && v <= hi as i128 {
            Ok(v as usize)
        } else {
            Err(format!(
                "{} must be between {lo} and {hi}, got {v}",
                self.what
            ))
        }
    }

    /// Parses a command-line value (for clap's `value_parser`).
    pub fn parse(&self, s: &str) -> Result<usize, String> {
        let v: i128 = s
            .trim()
            .parse()
            .map_err(|_| format!("{s:?} is not a whole number"))?;
        self.check(v)
    }
}

/// clap value parsers (`#[arg(value_parser = limits::threads)]`).
pub fn replicates(s: &str) -> Result<usize, String> {
    REPLICATES.parse(s)
}
pub fn threads(s: &str) -> Result<usize, String> {
    THREADS.parse(s)
}
pub fn fold_batch(s: &str) -> Result<usize, String> {
    FOLD_BATCH.parse(s)
}
pub fn jobs(s: &str) -> Result<usize, String> {
    JOBS.parse(s)
}
pub fn epochs(s: &str) -> Result<usize, String> {
    EPOCHS.parse(s)
}
pub fn batch_size(s: &str) -> Result<usize, String> {
    BATCH_SIZE.parse(s)
}
pub fn synthetic_subjects(s: &str) -> Result<usize, String> {
    SYNTHETIC_SUBJECTS.parse(s)
}
pub fn gan_steps(s: &str) -> Result<usize, String> {
    GAN_STEPS.parse(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_inclusive_and_messages_name_the_range() {
        assert_eq!(threads("1"), Ok(1));
        assert_eq!(threads(&MAX_THREADS.to_string()), Ok(MAX_THREADS));
        let e = threads("100000").unwrap_err();
        assert!(
            e.contains("between 1 and 256") && e.contains("100000"),
            "{e}"
        );
        assert!(threads("0").is_err());
        assert!(jobs("0").is_err() && jobs("100000").is_err() && jobs("4") == Ok(4));
        assert!(replicates("4294967295").is_err());
        assert_eq!(replicates("10000"), Ok(10_000));
        assert!(epochs("-3").unwrap_err().contains("-3"));
        assert!(batch_size("x").unwrap_err().contains("whole number"));
        assert!(synthetic_subjects("99999999999999999999999999").is_err());
        assert!(check_total_threads(16, 256).is_ok());
        let e = check_total_threads(1024, 256).unwrap_err();
        assert!(e.contains("1024 cells at once × 256 threads"), "{e}");
        assert!(check_total_threads(usize::MAX, 2).is_err());
    }
}
