#!/usr/bin/env bash
# Capture real Slurm output for the parser tests of src/orchestration/slurm/parse.rs.
#
# Usage: scripts/capture-slurm-fixtures.sh [STATE_DIR] [OUT_DIR]
#   STATE_DIR  scratch directory for the throw-away cluster (default /tmp/dpwear-slurm-capture)
#   OUT_DIR    where the captured *.txt files go (default tests/fixtures/slurm/captured)
#
# Brings up a single-node cluster with slurmdbd (scripts/slurm-test-up.sh STATE_DIR --with-dbd),
# submits a small set of jobs that exercise the states dpwear has to read, captures the
# scheduler's output at two moments (while jobs run and pend, and after everything finished),
# then stops the cluster and brings it up once more without slurmdbd to capture what sacct says
# when accounting storage is disabled. Takes about 2–3 minutes (the timeout job needs its
# 1-minute limit plus Slurm's 30 s timeout check). Root only. Job ids start at 1 on a fresh
# STATE_DIR, so rerun with an empty STATE_DIR to get the same ids.
#
# Jobs (names as in the captured files):
#   env-probe         --array=5 --ntasks=2: srun prints the SLURM_* environment of each rank
#   cells             --array=0-3%2, one task each, task 2 exits 3 (the rest exit 0)
#   timeout           --time=1 (one minute), sleeps longer: TIMEOUT
#   pending cancel    (a name with a space) cancelled while pending
#   collect-afterany  --dependency=afterany:<cells> --kill-on-invalid-dep=yes: runs after cells
#   never-afterok     --dependency=afterok:<cells> --kill-on-invalid-dep=yes: cancelled, because
#                     task 2 failed (DependencyNeverSatisfied)
#   running-cancel    cancelled while running
#   array-cancel      --array=0-5%1, whole array cancelled while task 0 runs and 1-5 pend
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE=${1:-/tmp/dpwear-slurm-capture}
OUT=${2:-$ROOT/tests/fixtures/slurm/captured}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
if [ -e "$STATE" ] && [ -n "$(ls -A "$STATE" 2>/dev/null)" ]; then
  echo "capture: $STATE is not empty; use a fresh directory (job ids must start at 1)" >&2; exit 1
fi
mkdir -p "$STATE"
STATE=$(cd "$STATE" && pwd)
WORK="$STATE/work"   # job scripts, outputs
mkdir -p "$WORK/logs"

cleanup() { "$ROOT/scripts/slurm-test-down.sh" "$STATE/cluster" || true; }
trap cleanup EXIT
eval "$("$ROOT/scripts/slurm-test-up.sh" "$STATE/cluster" --with-dbd)"
export SLURM_CONF
cd "$WORK"

SQUEUE_FORMAT='%i|%A|%F|%K|%T|%r'       # keep in sync with parse::SQUEUE_FORMAT
SACCT_FORMAT='JobID,JobIDRaw,State,ExitCode'   # keep in sync with parse::SACCT_FORMAT

# job NAME [sbatch options...] -- BODY: write $WORK/NAME.sbatch and submit it with --parsable;
# prints the job id; keeps sbatch's stdout in $WORK/NAME.parsable
job() {
  local name=$1; shift
  local opts=()
  while [ "$1" != -- ]; do opts+=("$1"); shift; done
  shift
  {
    echo '#!/bin/bash'
    echo "#SBATCH --job-name=\"$name\""
    echo "#SBATCH --output=$WORK/logs/%x_%A_%a.out"
    for o in "${opts[@]}"; do echo "#SBATCH $o"; done
    echo 'set -euo pipefail'
    echo "$@"
  } > "$WORK/$name.sbatch"
  sbatch --parsable "$WORK/$name.sbatch" | tee "$WORK/$name.parsable"
}
# states JOB: the JobState of every record of JOB (an array has one per task, plus the pending rest)
states() { scontrol -o show job "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | cut -d= -f2; }
# wait_for JOB STATE...: until some record of JOB is in one of the states (120 s at most)
wait_for() {
  local j=$1; shift
  for _ in $(seq 1200); do
    local s; s=$(states "$j")
    for want in "$@"; do grep -qx "$want" <<< "$s" && return 0; done
    sleep 0.1
  done
  echo "capture: job $j never reached $* (last: $(states "$j" | tr '\n' ' '))" >&2; return 1
}
# snapshot SUFFIX IDS...: squeue (expanded and not), scontrol and sacct for the given ids
snapshot() {
  local sfx=$1; shift
  local ids; ids=$(IFS=,; echo "$*")
  squeue -h -r -t all -o "$SQUEUE_FORMAT" -j "$ids" > "$OUT/squeue_$sfx.txt"
  squeue -h -t all -o "$SQUEUE_FORMAT" -j "$ids" > "$OUT/squeue_unexpanded_$sfx.txt"
  : > "$OUT/scontrol_show_job_$sfx.txt"
  for j in "$@"; do scontrol -o show job "$j" >> "$OUT/scontrol_show_job_$sfx.txt"; done
  sacct -X -n -P --format="$SACCT_FORMAT" -j "$ids" > "$OUT/sacct_$sfx.txt"
}

# --- 1. env-probe: the environment of srun ranks inside an array task ----------------------
ENV_JOB=$(job env-probe --array=5 --ntasks=2 --cpus-per-task=1 -- \
  "env | grep '^SLURM_' | sort > $WORK/env_batch.txt
srun --mpi=pmix --ntasks=2 bash -c 'env | grep ^SLURM_ | sort > $WORK/env_rank\$SLURM_PROCID.txt'")
wait_for "$ENV_JOB" COMPLETED FAILED

# --- 2. the main set ------------------------------------------------------------------------
CELLS=$(job cells --array=0-3%2 --ntasks=1 --cpus-per-task=1 --signal=USR1@30 -- \
  'sleep 10; if [ "$SLURM_ARRAY_TASK_ID" = 2 ]; then exit 3; fi')
TIMEOUT=$(job timeout --time=1 -- 'sleep 600')
PCANCEL=$(job "pending cancel" -- 'sleep 600')   # a name with a space
AFTERANY=$(job collect-afterany "--dependency=afterany:$CELLS" --kill-on-invalid-dep=yes -- 'echo collect')
NEVER=$(job never-afterok "--dependency=afterok:$CELLS" --kill-on-invalid-dep=yes -- 'echo never')
RCANCEL=$(job running-cancel -- 'sleep 600')
ACANCEL=$(job array-cancel --array=0-5%1 -- 'sleep 600')
ALL=("$ENV_JOB" "$CELLS" "$TIMEOUT" "$PCANCEL" "$AFTERANY" "$NEVER" "$RCANCEL" "$ACANCEL")
echo "capture: jobs ${ALL[*]}" >&2

# a job id that (federated) sbatch prints with its cluster name
sbatch --parsable -M testcluster -o /dev/null --job-name=with-cluster --wrap true > "$WORK/with-cluster.parsable"
ALL+=("$(cut -d';' -f1 "$WORK/with-cluster.parsable")")
# an sbatch that fails (its stderr, for error messages)
sbatch --parsable -p nosuchpartition --wrap true > /dev/null 2> "$OUT/sbatch_error_invalid_partition.txt" || true

# snapshot 1: cells 0,1 running, 2,3 pending (JobArrayTaskLimit), others pending
wait_for "$CELLS" RUNNING
sleep 1
snapshot running "${ALL[@]}"
scancel "$PCANCEL"

# snapshot 2: timeout and running-cancel running, array-cancel pending as one record
wait_for "$RCANCEL" RUNNING
wait_for "$TIMEOUT" RUNNING
sleep 1
snapshot midway "${ALL[@]}"
scancel "$RCANCEL"
# array-cancel: cancel the whole array while task 0 runs and tasks 1-5 pend
for _ in $(seq 300); do
  squeue -h -r -o '%i %T' -j "$ACANCEL" | grep -q "_0 RUNNING" && break; sleep 0.1
done
sleep 1
squeue -h -t all -o "$SQUEUE_FORMAT" -j "$ACANCEL" > "$OUT/squeue_unexpanded_array_cancel.txt"
scancel "$ACANCEL"

# wait for the timeout (1 min limit + up to 30 s until slurmctld notices)
wait_for "$TIMEOUT" TIMEOUT
for _ in $(seq 300); do
  [ -z "$(squeue -h -j "$(IFS=,; echo "${ALL[*]}")")" ] && break; sleep 0.2
done
sleep 3   # let slurmctld hand the last records to slurmdbd
snapshot final "${ALL[@]}"

# --- 3. configuration, sbatch outputs, environment, jobcomp ----------------------------------
scontrol show config > "$OUT/scontrol_show_config.txt"
cp "$WORK/cells.parsable" "$OUT/sbatch_parsable.txt"
cp "$WORK/with-cluster.parsable" "$OUT/sbatch_parsable_cluster.txt"
cp "$WORK/env_batch.txt" "$OUT/env_batch_step.txt"
cp "$WORK/env_rank0.txt" "$OUT/env_srun_rank0.txt"
cp "$WORK/env_rank1.txt" "$OUT/env_srun_rank1.txt"
cp "$STATE/cluster/log/jobcomp.txt" "$OUT/jobcomp.txt"
for j in "${ALL[@]}"; do printf '%s ' "$j"; done > "$WORK/ids"
{
  echo "# job ids of this capture (name=id)"
  echo "env-probe=$ENV_JOB"
  echo "cells=$CELLS"
  echo "timeout=$TIMEOUT"
  echo "pending-cancel=$PCANCEL"
  echo "collect-afterany=$AFTERANY"
  echo "never-afterok=$NEVER"
  echo "running-cancel=$RCANCEL"
  echo "array-cancel=$ACANCEL"
  echo "with-cluster=${ALL[-1]}"
  echo "# captured $(date -u +%Y-%m-%dT%H:%M:%SZ) with $(sbatch --version), $(munged --version 2>&1 | head -1)"
  echo "# $(. /etc/os-release; echo "$PRETTY_NAME"), kernel $(uname -r)"
} > "$OUT/jobs.txt"

# --- 4. sacct without slurmdbd ---------------------------------------------------------------
cleanup
trap - EXIT
STATE2="$STATE/cluster-nodbd"
trap '"$ROOT/scripts/slurm-test-down.sh" "$STATE2" || true' EXIT
eval "$("$ROOT/scripts/slurm-test-up.sh" "$STATE2")"
export SLURM_CONF
# with_status CMD...: CMD's stdout and stderr, then its exit status (which set -e must not see)
with_status() { local rc=0; "$@" 2>&1 || rc=$?; echo "[exit status $rc]"; }
with_status sacct -X -n -P --format="$SACCT_FORMAT" -j 1 > "$OUT/sacct_accounting_disabled.txt"
with_status squeue -h -r -t all -o "$SQUEUE_FORMAT" -j 424242 > "$OUT/squeue_invalid_job.txt"
with_status scontrol -o show job 424242 > "$OUT/scontrol_show_job_invalid.txt"
with_status scancel 424242 > "$OUT/scancel_invalid_job.txt"
echo "capture: wrote $(ls "$OUT" | wc -l) files to $OUT" >&2
