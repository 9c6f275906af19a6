#!/usr/bin/env bash
# Runs ddp with N ranks on this host: the mpirun flags a user would otherwise have to know.
#   launch/local.sh N [ddp arguments]      e.g. launch/local.sh 2 train --epochs 5
# One BLAS thread per rank; root flags only as root; oversubscription without binding when N
# exceeds the cores (else ranks pile onto core 0); AVX-512 OpenBLAS kernels where the CPU has
# them (launch/blas-env.sh: Debian's OpenBLAS 0.3.21 would pick AVX2 on Zen 4/5).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
ranks=${1:?usage: launch/local.sh RANKS [ddp arguments]}
shift
[[ "$ranks" =~ ^[1-9][0-9]*$ ]] || { echo "launch/local.sh: RANKS must be a positive integer, not '$ranks'" >&2; exit 1; }
ddp=${DDP:-$here/.build/release/ddp}
[ -x "$ddp" ] || { echo "launch/local.sh: $ddp not built; run: swift build -c release" >&2; exit 1; }

source "$here/launch/blas-env.sh"
export SWIFT_BACKTRACE=enable=no

flags=(-np "$ranks" -x OPENBLAS_NUM_THREADS -x SWIFT_BACKTRACE)
[ -n "${OPENBLAS_CORETYPE:-}" ] && flags+=(-x OPENBLAS_CORETYPE)
[ "$(id -u)" -eq 0 ] && flags+=(--allow-run-as-root)
if [ "$ranks" -gt "$(nproc)" ]; then
  flags+=(--oversubscribe --bind-to none)
else
  flags+=(--bind-to core)
fi
# mpirun's stderr through a filter: a crashed rank is named ("mpirun noticed that process rank 1
# ... exited on signal 9"), the banners that only repeat our own error line are dropped.
# SIGTERM / SIGINT (Ctrl-C) to this script stop the ranks at a step boundary with a checkpoint
# (launch/mpirun-signals.sh says why they reach mpirun as SIGUSR1).
source "$here/launch/mpirun-signals.sh"
status=0
run_mpirun "${flags[@]}" "$ddp" "$@" || status=$?
exit "$status"
