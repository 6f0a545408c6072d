#!/usr/bin/env bash
# One-time, idempotent set-up for dpwear on Debian 12 / Ubuntu (called by `make demo` and `make test`).
#  1. system packages through apt when missing (as root; otherwise prints the exact command);
#  2. a project-local .venv with libtorch from the PyPI torch==2.11.0 wheel (matching tch 0.24)
#     and numpy (only for the fixture generators under scripts/);
#  3. .env.build with LIBTORCH / LD_LIBRARY_PATH / OpenMPI settings for cargo.
# Environment knobs:
#   TORCH_FLAVOR=cpu (default, ≈1.3 GB: --no-deps torch + the CUDA runtime and CUPTI wheels that
#                libtorch_cpu links against) | full (≈4.6 GB, every CUDA wheel, for GPU nodes)
#   WITH_SLURM=1 (default) also installs munge + slurmctld + slurmd + slurm-client for the Slurm tests.
#   WITH_BROWSER=1 (default) also installs chromium + chromium-driver + fonts-dejavu-core for the
#                browser test of `dpwear serve` (tests/browser.rs; it skips without them).
set -euo pipefail
PROJ=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${VENV:-$PROJ/.venv}
TORCH_FLAVOR=${TORCH_FLAVOR:-cpu}
TORCH_VERSION=2.11.0
export DEBIAN_FRONTEND=noninteractive

pkgs=(pkg-config cmake libclang-dev libopenmpi-dev openmpi-bin libhdf5-dev hdf5-tools python3-venv)
[ "${WITH_SLURM:-1}" = 1 ] && pkgs+=(munge slurmctld slurmd slurm-client)
# The browser is installed without its recommended packages (Mesa, LLVM, desktop helpers):
# headless Chromium needs none of them.
browser=()
[ "${WITH_BROWSER:-1}" = 1 ] && browser=(chromium chromium-driver fonts-dejavu-core)
missing=()
missing_browser=()
for p in "${pkgs[@]}"; do
  # python3-venv is only needed when python3 cannot make a venv by itself (Debian's own python).
  if [ "$p" = python3-venv ] && python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then continue; fi
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
for p in "${browser[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing_browser+=("$p")
done
# apt_install WHAT OPTIONS PACKAGE…: installs the packages as root (apt's index updated once
# per run; the install retried once, since a concurrent /tmp clean-up can break dpkg), or
# prints the command for a non-root user and stops. Nothing to do without packages.
apt_updated=
apt_install() {
  local what=$1 opts=$2
  shift 2
  [ $# -gt 0 ] || return 0
  if [ "$(id -u)" != 0 ]; then
    echo "bootstrap: missing $what; run as root:" >&2
    echo "  sudo apt-get install -y $opts $*" >&2
    exit 1
  fi
  echo "bootstrap: installing $* ($what)" >&2
  [ -n "$apt_updated" ] || { apt-get update -qq; apt_updated=1; }
  for attempt in 1 2; do
    # shellcheck disable=SC2086  # OPTIONS is empty or one flag
    apt-get install -y -qq $opts "$@" >/dev/null && return 0
    [ "$attempt" = 2 ] && { echo "bootstrap: apt-get install of the $what failed" >&2; exit 1; }
  done
}
apt_install "browser packages for tests/browser.rs" --no-install-recommends "${missing_browser[@]}"
apt_install "system packages" "" "${missing[@]}"

[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
SITE=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
if [ ! -f "$SITE/torch/lib/libtorch_cpu.so" ]; then
  echo "bootstrap: installing torch==$TORCH_VERSION ($TORCH_FLAVOR) into $VENV" >&2
  if [ "$TORCH_FLAVOR" = full ]; then
    "$VENV/bin/pip" install -q "torch==$TORCH_VERSION"
  else
    "$VENV/bin/pip" install -q --no-deps "torch==$TORCH_VERSION" \
      nvidia-cuda-runtime==13.0.96 nvidia-cuda-cupti==13.0.85
  fi
fi
"$VENV/bin/python" -c 'import numpy' >/dev/null 2>&1 || "$VENV/bin/pip" install -q numpy

cat > "$PROJ/.env.build" <<ENV
# written by scripts/bootstrap.sh; sourced by the Makefile
export LIBTORCH=$SITE/torch
export LD_LIBRARY_PATH=$SITE/torch/lib\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}
export DPWEAR_PYTHON=$VENV/bin/python
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
ENV
