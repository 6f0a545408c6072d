//! The one place that reads `SLURM_*` variables: where a `dpwear run-cell` process sits in a
//! Slurm job (job, array task, rank). [`SlurmTaskEnv::from_vars`] is the pure core;
//! [`SlurmTaskEnv::from_env`] feeds it the process environment.
//!
//! Checked against the environment of srun ranks inside an array task under Slurm 22.05.8
//! (`tests/fixtures/slurm/captured/env_*.txt`): `SLURM_JOB_ID` is the task's own job id
//! (`SLURM_ARRAY_JOB_ID` the array's), and the batch step has `SLURM_PROCID=0` too.

/// Where this process runs inside a Slurm job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlurmTaskEnv {
    /// `SLURM_JOB_ID` (or the older `SLURM_JOBID`): for an array task, its own job id.
    pub job_id: u64,
    /// `SLURM_ARRAY_JOB_ID`, inside an array task.
    pub array_job_id: Option<u64>,
    /// `SLURM_ARRAY_TASK_ID`, inside an array task.
    pub array_task_id: Option<usize>,
    /// `SLURM_PROCID`: the rank of this task in its step (0 when unset).
    pub procid: u32,
    /// `SLURM_NTASKS` (or `SLURM_NPROCS`): tasks in the job (1 when unset).
    pub ntasks: u32,
}

/// A `SLURM_*` variable that is set but unusable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SlurmEnvError {
    #[error("read {name} from the environment: {value:?} is not {expected}")]
    Invalid {
        name: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error(
        "read the Slurm task environment: SLURM_PROCID={procid} is not below SLURM_NTASKS={ntasks}"
    )]
    Inconsistent { procid: u32, ntasks: u32 },
}

fn parse_var<T: std::str::FromStr>(
    get: &impl Fn(&str) -> Option<String>,
    names: &[&'static str],
    expected: &'static str,
) -> Result<Option<T>, SlurmEnvError> {
    for &name in names {
        if let Some(value) = get(name) {
            let v = value.trim();
            if v.is_empty() {
                continue;
            }
            return v
                .parse::<T>()
                .map(Some)
                .map_err(|_| SlurmEnvError::Invalid {
                    name,
                    value: value.clone(),
                    expected,
                });
        }
    }
    Ok(None)
}

impl SlurmTaskEnv {
    /// Reads the process environment; `Ok(None)` outside a Slurm job (no `SLURM_JOB_ID`).
    pub fn from_env() -> Result<Option<Self>, SlurmEnvError> {
        Self::from_vars(|name| std::env::var_os(name).map(|v| v.to_string_lossy().into_owned()))
    }

    /// Like [`SlurmTaskEnv::from_env`], with the variables from `get` (empty values count as
    /// unset). A set but malformed variable, or a rank not below the task count, is an error.
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Result<Option<Self>, SlurmEnvError> {
        let Some(job_id) = parse_var::<u64>(&get, &["SLURM_JOB_ID", "SLURM_JOBID"], "a job id")?
        else {
            return Ok(None);
        };
        let array_job_id = parse_var::<u64>(&get, &["SLURM_ARRAY_JOB_ID"], "a job id")?;
        let array_task_id = parse_var::<usize>(&get, &["SLURM_ARRAY_TASK_ID"], "an array task id")?;
        let procid = parse_var::<u32>(&get, &["SLURM_PROCID"], "a rank")?.unwrap_or(0);
        let ntasks = parse_var::<u32>(
            &get,
            &["SLURM_NTASKS", "SLURM_NPROCS"],
            "a positive task count",
        )?
        .unwrap_or(1);
        if ntasks == 0 {
            return Err(SlurmEnvError::Invalid {
                name: "SLURM_NTASKS",
                value: "0".into(),
                expected: "a positive task count",
            });
        }
        if procid >= ntasks {
            return Err(SlurmEnvError::Inconsistent { procid, ntasks });
        }
        Ok(Some(SlurmTaskEnv {
            job_id,
            array_job_id,
            array_task_id,
            procid,
            ntasks,
        }))
    }

    /// Whether this is rank 0 (the rank that writes the cell record).
    pub fn is_rank_zero(&self) -> bool {
        self.procid == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    /// `KEY=VALUE` lines of a captured `env | grep ^SLURM_ | sort`.
    fn captured(name: &str) -> impl Fn(&str) -> Option<String> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/slurm/captured")
            .join(name);
        let text = std::fs::read_to_string(&path).unwrap();
        let m: HashMap<String, String> = text
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn outside_slurm() {
        assert_eq!(SlurmTaskEnv::from_vars(vars(&[])), Ok(None));
        assert_eq!(
            SlurmTaskEnv::from_vars(vars(&[("SLURM_JOB_ID", "")])),
            Ok(None)
        );
        assert_eq!(
            SlurmTaskEnv::from_vars(vars(&[("SLURM_PROCID", "3")])),
            Ok(None)
        );
    }

    #[test]
    fn plain_job_defaults() {
        let e = SlurmTaskEnv::from_vars(vars(&[("SLURM_JOBID", "77")]))
            .unwrap()
            .unwrap();
        assert_eq!(
            e,
            SlurmTaskEnv {
                job_id: 77,
                array_job_id: None,
                array_task_id: None,
                procid: 0,
                ntasks: 1
            }
        );
        assert!(e.is_rank_zero());
        let e = SlurmTaskEnv::from_vars(vars(&[
            ("SLURM_JOB_ID", "5"),
            ("SLURM_NPROCS", "4"),
            ("SLURM_PROCID", "3"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!((e.procid, e.ntasks), (3, 4));
    }

    #[test]
    fn malformed() {
        let err = SlurmTaskEnv::from_vars(vars(&[("SLURM_JOB_ID", "12x")])).unwrap_err();
        assert_eq!(
            err,
            SlurmEnvError::Invalid {
                name: "SLURM_JOB_ID",
                value: "12x".into(),
                expected: "a job id"
            }
        );
        assert!(err
            .to_string()
            .starts_with("read SLURM_JOB_ID from the environment"));
        let err = SlurmTaskEnv::from_vars(vars(&[
            ("SLURM_JOB_ID", "1"),
            ("SLURM_ARRAY_TASK_ID", "-1"),
        ]))
        .unwrap_err();
        assert!(matches!(
            err,
            SlurmEnvError::Invalid {
                name: "SLURM_ARRAY_TASK_ID",
                ..
            }
        ));
        let err = SlurmTaskEnv::from_vars(vars(&[("SLURM_JOB_ID", "1"), ("SLURM_NTASKS", "0")]))
            .unwrap_err();
        assert!(matches!(
            err,
            SlurmEnvError::Invalid {
                name: "SLURM_NTASKS",
                ..
            }
        ));
        let err = SlurmTaskEnv::from_vars(vars(&[
            ("SLURM_JOB_ID", "1"),
            ("SLURM_NTASKS", "2"),
            ("SLURM_PROCID", "2"),
        ]))
        .unwrap_err();
        assert_eq!(
            err,
            SlurmEnvError::Inconsistent {
                procid: 2,
                ntasks: 2
            }
        );
    }

    #[test]
    fn captured_srun_ranks() {
        // env-probe: --array=5 --ntasks=2, the only task reuses the array job id 1
        for (file, rank) in [("env_srun_rank0.txt", 0), ("env_srun_rank1.txt", 1)] {
            let e = SlurmTaskEnv::from_vars(captured(file)).unwrap().unwrap();
            assert_eq!(
                e,
                SlurmTaskEnv {
                    job_id: 1,
                    array_job_id: Some(1),
                    array_task_id: Some(5),
                    procid: rank,
                    ntasks: 2
                },
                "{file}"
            );
        }
        let batch = SlurmTaskEnv::from_vars(captured("env_batch_step.txt"))
            .unwrap()
            .unwrap();
        assert_eq!(
            (batch.procid, batch.ntasks, batch.array_task_id),
            (0, 2, Some(5))
        );
    }
}
