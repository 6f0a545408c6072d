#!/usr/bin/env bash
# Stop the daemons that scripts/slurm-test-up.sh started under DIR, by the PIDs it recorded in
# DIR/pids, in reverse order (slurmd, slurmctld, slurmdbd, mariadbd, munged), after cancelling
# the jobs that are still queued or running. A PID is only
# signalled while /proc/PID/comm still names the recorded daemon, so a stale file never hits an
# unrelated process. State and logs stay in DIR for inspection; delete DIR yourself.
#
# Usage: scripts/slurm-test-down.sh DIR   (default ${TMPDIR:-/tmp}/slurm-test)
set -uo pipefail
D=${1:-${TMPDIR:-/tmp}/slurm-test}
[ -f "$D/pids" ] || { echo "slurm-test-down: no $D/pids; nothing to stop" >&2; exit 0; }
# Cancel what still runs first: slurmstepd and the job's processes outlive slurmd otherwise.
if [ -f "$D/slurm.conf" ] && grep -q '^slurmctld ' "$D/pids"; then
  export SLURM_CONF="$D/slurm.conf"
  jobs=$(timeout 10 squeue -h -o %A 2>/dev/null | sort -u)
  if [ -n "$jobs" ]; then
    echo "slurm-test-down: cancelling jobs $(echo $jobs)" >&2
    echo "$jobs" | xargs timeout 10 scancel 2>/dev/null
    for _ in $(seq 100); do
      [ -z "$(timeout 5 squeue -h -t running,completing -o %A 2>/dev/null)" ] && break; sleep 0.1
    done
  fi
fi
# alive PID: exists and is not a zombie (PID 1 may reap a stopped daemon late)
alive() { [ -r "/proc/$1/stat" ] && ! awk '{exit !($3 == "Z")}' "/proc/$1/stat" 2>/dev/null; }
status=0
while read -r name pid; do
  [ -n "${name:-}" ] && [ -n "${pid:-}" ] || continue
  comm=$(cat "/proc/$pid/comm" 2>/dev/null || true)
  if [ "$comm" != "$name" ]; then
    echo "slurm-test-down: $name ($pid) is not running" >&2
    continue
  fi
  kill "$pid" 2>/dev/null || continue
  # slurmctld needs several seconds to save its state
  for _ in $(seq 150); do alive "$pid" || break; sleep 0.1; done
  if alive "$pid" && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ]; then
    kill -9 "$pid" 2>/dev/null && echo "slurm-test-down: killed $name ($pid) with SIGKILL" >&2
    sleep 0.5
    alive "$pid" && { echo "slurm-test-down: $name ($pid) is still running" >&2; status=1; }
  fi
  echo "slurm-test-down: stopped $name ($pid)" >&2
done < <(tac "$D/pids")
[ "$status" = 0 ] && rm -f "$D/pids"
exit "$status"
