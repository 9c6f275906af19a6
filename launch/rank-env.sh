#!/usr/bin/env bash
# Runs one rank on its own host: the OpenBLAS kernel set and threads chosen there, then exec.
#   launch/rank-env.sh DDP [ddp arguments]     (what launch/hosts.sh and launch/slurm.sbatch start)
# A hostfile can mix CPUs: the kernel set must come from the rank's host, not the launching one.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/blas-env.sh"
if [ ! -x "${1:-}" ]; then
  echo "launch/rank-env.sh: ${1:-(no program given)} is not an executable on $(hostname); build ddp at the same path on every host" >&2
  exit 127
fi
exec "$@"
