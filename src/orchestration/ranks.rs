//! The ranks of one cell: how the LOSO folds are split between them and how rank 0 gathers
//! the others' fold results. Without MPI (or outside `mpirun`/`srun`) the cell is one rank.
//! With the `mpi` feature and an MPI launcher in the environment, [`Ranks::from_env`] joins
//! the world; every rank trains its folds and sends their serialised outcomes to rank 0,
//! which writes the cell record.
//!
//! May depend on: mpi (feature `mpi`). Must never use tch.

/// The folds of `rank` among `size` ranks: round robin, so that folds of unequal cost spread.
pub fn folds_of_rank(n_folds: usize, rank: usize, size: usize) -> Vec<usize> {
    (0..n_folds).filter(|f| f % size.max(1) == rank).collect()
}

/// True when an MPI launcher (mpirun, srun --mpi=pmix) started this process.
pub fn launched_by_mpi() -> bool {
    ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"]
        .iter()
        .any(|v| std::env::var_os(v).is_some())
}

/// The communicator of a cell.
pub enum Ranks {
    Single,
    #[cfg(feature = "mpi")]
    Mpi {
        _universe: mpi::environment::Universe,
        world: mpi::topology::SimpleCommunicator,
    },
}

/// Why MPI could not be used.
#[derive(Debug, thiserror::Error)]
pub enum RanksError {
    #[error("this process was started by an MPI launcher with {0} ranks, but dpwear was built without the `mpi` feature")]
    NoMpiSupport(String),
    #[error("MPI initialisation failed (already initialised?)")]
    InitFailed,
}

impl Ranks {
    /// One rank, or the MPI world when launched by mpirun/srun.
    pub fn from_env() -> Result<Self, RanksError> {
        if !launched_by_mpi() {
            return Ok(Ranks::Single);
        }
        #[cfg(feature = "mpi")]
        {
            use mpi::traits::Communicator;
            let universe = mpi::initialize().ok_or(RanksError::InitFailed)?;
            let world = universe.world();
            if world.size() == 1 {
                return Ok(Ranks::Single);
            }
            Ok(Ranks::Mpi {
                _universe: universe,
                world,
            })
        }
        #[cfg(not(feature = "mpi"))]
        {
            let size = std::env::var("OMPI_COMM_WORLD_SIZE")
                .or_else(|_| std::env::var("PMI_SIZE"))
                .unwrap_or_else(|_| "?".into());
            if size == "1" {
                return Ok(Ranks::Single);
            }
            Err(RanksError::NoMpiSupport(size))
        }
    }

    pub fn rank(&self) -> usize {
        match self {
            Ranks::Single => 0,
            #[cfg(feature = "mpi")]
            Ranks::Mpi { world, .. } => {
                use mpi::traits::Communicator;
                world.rank() as usize
            }
        }
    }

    pub fn size(&self) -> usize {
        match self {
            Ranks::Single => 1,
            #[cfg(feature = "mpi")]
            Ranks::Mpi { world, .. } => {
                use mpi::traits::Communicator;
                world.size() as usize
            }
        }
    }

    /// Gathers every rank's bytes on rank 0 (in rank order); `None` on the other ranks.
    /// Collective: every rank must call it.
    pub fn gather(&self, mine: Vec<u8>) -> Option<Vec<Vec<u8>>> {
        match self {
            Ranks::Single => Some(vec![mine]),
            #[cfg(feature = "mpi")]
            Ranks::Mpi { world, .. } => gather_mpi(world, mine),
        }
    }

    /// Rank 0's flag sent to every rank (collective).
    pub fn broadcast_flag(&self, flag: bool) -> bool {
        match self {
            Ranks::Single => flag,
            #[cfg(feature = "mpi")]
            Ranks::Mpi { world, .. } => {
                use mpi::traits::{Communicator, Root};
                let mut v: u8 = flag as u8;
                world.process_at_rank(0).broadcast_into(&mut v);
                v != 0
            }
        }
    }
}

#[cfg(feature = "mpi")]
fn gather_mpi(world: &mpi::topology::SimpleCommunicator, mine: Vec<u8>) -> Option<Vec<Vec<u8>>> {
    use mpi::datatype::PartitionMut;
    use mpi::traits::{Communicator, Root};
    use mpi::Count;
    let root = world.process_at_rank(0);
    let len = mine.len() as Count;
    if world.rank() == 0 {
        let mut lens: Vec<Count> = vec![0; world.size() as usize];
        root.gather_into_root(&len, &mut lens[..]);
        let displs: Vec<Count> = lens
            .iter()
            .scan(0, |acc, &l| {
                let d = *acc;
                *acc += l;
                Some(d)
            })
            .collect();
        let total: usize = lens.iter().map(|&l| l as usize).sum();
        let mut buf = vec![0u8; total];
        {
            let mut part = PartitionMut::new(&mut buf[..], lens.clone(), &displs[..]);
            root.gather_varcount_into_root(&mine[..], &mut part);
        }
        Some(
            lens.iter()
                .zip(&displs)
                .map(|(&l, &d)| buf[d as usize..(d + l) as usize].to_vec())
                .collect(),
        )
    } else {
        root.gather_into(&len);
        root.gather_varcount_into(&mine[..]);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::folds_of_rank;

    #[test]
    fn every_fold_belongs_to_exactly_one_rank() {
        for size in 1..5 {
            let mut all: Vec<usize> = (0..size).flat_map(|r| folds_of_rank(15, r, size)).collect();
            all.sort();
            assert_eq!(all, (0..15).collect::<Vec<_>>());
        }
        assert_eq!(folds_of_rank(5, 1, 2), vec![1, 3]);
    }
}
