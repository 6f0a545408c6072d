//! The two stages of one Slurm submission, planned without IO: the generator trainings to send
//! as generator array jobs (split under `MaxArraySize` like the cells), and, for each cell array
//! job, the generator jobs it has to wait for (`--dependency=afterok:…`, see
//! [`super::render::afterok_dependency_args`]).
//!
//! A cell array depends on every generator array of this submission that holds a generator one
//! of its cells needs, as a whole job (a cell array is one job: it cannot start before the last
//! of its cells' generators is trained anyway), and on the single tasks of earlier generator
//! arrays that are still queued or running (`<job>_<task>`: an earlier array may hold a failed
//! task too, which would make a whole-job `afterok` fail at once). Cells whose generators are
//! all trained get no dependency.
//!
//! Pure: no files, no processes.

use std::collections::BTreeSet;

use super::render::{split_into_chunks, ArrayChunk, DependencyTarget};

/// Where one generator training that a submitted cell needs stands, as `submit` sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GeneratorSlot {
    /// Trained already, or being trained by a process outside this campaign's Slurm jobs
    /// (its lock is held: the cell's `run-cell` waits for that lock): no dependency.
    Ready,
    /// Not trained and not queued: sent in this submission's generator arrays.
    Submit,
    /// Queued or running as task `task_id` of the earlier generator array `array_job_id`.
    Queued { array_job_id: u64, task_id: usize },
}

/// One dependency of a cell array job, before this submission's generator arrays have ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum GeneratorDependency {
    /// This submission's generator array number `n` (an index into
    /// [`StagePlan::generator_chunks`]).
    NewArray(usize),
    /// A task of an earlier submission's generator array.
    Queued { array_job_id: u64, task_id: usize },
}

impl GeneratorDependency {
    /// The sbatch target, given the job ids of this submission's generator arrays (in the
    /// order of [`StagePlan::generator_chunks`]).
    pub fn resolve(&self, new_array_ids: &[u64]) -> Option<DependencyTarget> {
        match *self {
            GeneratorDependency::NewArray(n) => {
                new_array_ids.get(n).map(|&id| DependencyTarget::Job(id))
            }
            GeneratorDependency::Queued {
                array_job_id,
                task_id,
            } => Some(DependencyTarget::ArrayTask {
                array_job_id,
                task_id,
            }),
        }
    }
}

/// One cell array job of the submission and what it waits for (sorted, no duplicates).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CellArrayPlan {
    pub chunk: ArrayChunk,
    pub depends_on: Vec<GeneratorDependency>,
}

/// What one submission sends: generator arrays first, then cell arrays.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StagePlan {
    /// Generator array jobs: generator index = offset + task id.
    pub generator_chunks: Vec<ArrayChunk>,
    pub cell_arrays: Vec<CellArrayPlan>,
}

impl StagePlan {
    /// The generator indices sent in this submission, ascending.
    pub fn generators(&self) -> Vec<usize> {
        self.generator_chunks
            .iter()
            .flat_map(|c| c.task_ids.iter().map(move |t| c.offset + t))
            .collect()
    }
}

/// Plans a submission of `cells` (cell indices): `generators_of(cell)` lists the generator
/// indices a cell needs (empty without a trained generator) and `slot(generator)` where each
/// stands. Generators with [`GeneratorSlot::Submit`] are sent once each, in chunks of task ids
/// below `max_array_size` (a generator keeps its chunk and task id whichever subset is sent,
/// as cells do); each cell chunk waits for the chunks and queued tasks its cells need.
pub fn plan_stages<'a>(
    cells: &[usize],
    generators_of: impl Fn(usize) -> &'a [usize],
    slot: impl Fn(usize) -> GeneratorSlot,
    max_array_size: usize,
) -> StagePlan {
    let max = max_array_size.max(1);
    let needed: BTreeSet<usize> = cells
        .iter()
        .flat_map(|&c| generators_of(c).iter().copied())
        .collect();
    let to_submit: Vec<usize> = needed
        .iter()
        .copied()
        .filter(|&g| slot(g) == GeneratorSlot::Submit)
        .collect();
    let generator_chunks = split_into_chunks(&to_submit, max);
    let chunk_of = |g: usize| {
        let offset = (g / max) * max;
        generator_chunks.iter().position(|c| c.offset == offset)
    };
    let cell_arrays = split_into_chunks(cells, max)
        .into_iter()
        .map(|chunk| {
            let mut deps = BTreeSet::new();
            for t in &chunk.task_ids {
                for &g in generators_of(chunk.offset + t) {
                    match slot(g) {
                        GeneratorSlot::Ready => {}
                        GeneratorSlot::Submit => {
                            if let Some(n) = chunk_of(g) {
                                deps.insert(GeneratorDependency::NewArray(n));
                            }
                        }
                        GeneratorSlot::Queued {
                            array_job_id,
                            task_id,
                        } => {
                            deps.insert(GeneratorDependency::Queued {
                                array_job_id,
                                task_id,
                            });
                        }
                    }
                }
            }
            CellArrayPlan {
                chunk,
                depends_on: deps.into_iter().collect(),
            }
        })
        .collect();
    StagePlan {
        generator_chunks,
        cell_arrays,
    }
}

#[cfg(test)]
mod tests {
    use super::super::render::afterok_dependency_args;
    use super::*;

    /// 6 cells over 3 per-fold generators: cells 0–1 use none (real data), cells 2–5 use all
    /// three (augment and TSTR, one generator per fold).
    fn gens() -> Vec<Vec<usize>> {
        vec![
            vec![],
            vec![],
            vec![0, 1, 2],
            vec![0, 1, 2],
            vec![0, 1, 2],
            vec![0, 1, 2],
        ]
    }

    #[test]
    fn fresh_submission_waits_for_the_generator_array() {
        let g = gens();
        let plan = plan_stages(
            &[0, 1, 2, 3, 4, 5],
            |c| &g[c],
            |_| GeneratorSlot::Submit,
            1001,
        );
        assert_eq!(
            plan.generator_chunks,
            vec![ArrayChunk {
                offset: 0,
                task_ids: vec![0, 1, 2]
            }]
        );
        assert_eq!(plan.generators(), vec![0, 1, 2]);
        assert_eq!(plan.cell_arrays.len(), 1);
        assert_eq!(
            plan.cell_arrays[0].depends_on,
            vec![GeneratorDependency::NewArray(0)]
        );
        let targets: Vec<DependencyTarget> = plan.cell_arrays[0]
            .depends_on
            .iter()
            .filter_map(|d| d.resolve(&[41]))
            .collect();
        assert_eq!(
            afterok_dependency_args(&targets),
            vec!["--dependency=afterok:41", "--kill-on-invalid-dep=yes"]
        );
    }

    #[test]
    fn cells_without_pending_generators_get_no_dependency() {
        let g = gens();
        // only the real-data cells
        let plan = plan_stages(&[0, 1], |c| &g[c], |_| GeneratorSlot::Submit, 1001);
        assert!(plan.generator_chunks.is_empty());
        assert!(plan.cell_arrays[0].depends_on.is_empty());
        // every generator trained
        let plan = plan_stages(&[0, 2, 5], |c| &g[c], |_| GeneratorSlot::Ready, 1001);
        assert!(plan.generator_chunks.is_empty());
        assert_eq!(plan.cell_arrays.len(), 1);
        assert!(plan.cell_arrays[0].depends_on.is_empty());
        assert!(afterok_dependency_args(&[]).is_empty());
    }

    #[test]
    fn chunks_split_under_max_array_size_and_depend_on_their_own_generators() {
        // max 2: cells in chunks {0,1} {2,3} {4,5}; generators 0,1 | 2
        let g: [Vec<usize>; 6] = [vec![0], vec![0], vec![1], vec![1], vec![2], vec![]];
        let plan = plan_stages(&[0, 1, 2, 3, 4, 5], |c| &g[c], |_| GeneratorSlot::Submit, 2);
        assert_eq!(plan.generator_chunks.len(), 2);
        assert_eq!(plan.generator_chunks[1].offset, 2);
        let deps: Vec<_> = plan
            .cell_arrays
            .iter()
            .map(|a| a.depends_on.clone())
            .collect();
        assert_eq!(
            deps,
            vec![
                vec![GeneratorDependency::NewArray(0)],
                vec![GeneratorDependency::NewArray(0)],
                vec![GeneratorDependency::NewArray(1)],
            ]
        );
    }

    #[test]
    fn resume_sends_only_missing_generators_and_waits_for_queued_tasks() {
        let g = gens();
        // generator 0 trained, 1 cancelled (to send again), 2 still queued as task 2 of job 7
        let slot = |i: usize| match i {
            0 => GeneratorSlot::Ready,
            1 => GeneratorSlot::Submit,
            _ => GeneratorSlot::Queued {
                array_job_id: 7,
                task_id: 2,
            },
        };
        let plan = plan_stages(&[3, 4], |c| &g[c], slot, 1001);
        assert_eq!(plan.generators(), vec![1]);
        assert_eq!(
            plan.generator_chunks,
            vec![ArrayChunk {
                offset: 0,
                task_ids: vec![1]
            }]
        );
        let d = &plan.cell_arrays[0].depends_on;
        assert_eq!(
            d,
            &vec![
                GeneratorDependency::NewArray(0),
                GeneratorDependency::Queued {
                    array_job_id: 7,
                    task_id: 2
                }
            ]
        );
        let targets: Vec<_> = d.iter().filter_map(|x| x.resolve(&[12])).collect();
        assert_eq!(
            afterok_dependency_args(&targets),
            vec!["--dependency=afterok:12:7_2", "--kill-on-invalid-dep=yes"]
        );
        // an unresolvable new array (no id yet) is dropped, not invented
        assert_eq!(GeneratorDependency::NewArray(3).resolve(&[12]), None);
    }
}
