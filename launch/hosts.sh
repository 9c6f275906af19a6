#!/usr/bin/env bash
# Runs ddp with N ranks across the hosts of an OpenMPI hostfile (launch/hostfile.example).
#   launch/hosts.sh HOSTFILE N [ddp arguments]      e.g. launch/hosts.sh my-hosts 4 train --epochs 5
# Every host needs passwordless ssh from this one, what launch/setup.sh installs (OpenMPI, data),
# the Swift runtime at /opt/swift (ddp's runpath), and this clone with ddp built at the SAME path
# (DDP, default .build/release/ddp). Each rank runs launch/rank-env.sh, which picks that host's
# OpenBLAS kernels and one BLAS thread.
# Ranks fill each host's slots in hostfile order (--map-by slot), one core each (--bind-to core).
# Several "hosts" sharing one machine's cores (containers, namespaces): DDP_BIND_TO=none.
# DDP_MPI_ARGS adds mpirun flags, split at spaces: DDP_MPI_ARGS="--mca btl_tcp_if_include eth0".
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 2 ] || { echo "usage: launch/hosts.sh HOSTFILE RANKS [ddp arguments]" >&2; exit 1; }
hostfile=$1
ranks=$2
shift 2
[[ "$ranks" =~ ^[1-9][0-9]*$ ]] || { echo "launch/hosts.sh: RANKS must be a positive integer, not '$ranks'" >&2; exit 1; }
[ -f "$hostfile" ] || { echo "launch/hosts.sh: hostfile $hostfile not found (see launch/hostfile.example)" >&2; exit 1; }
ddp=${DDP:-$here/.build/release/ddp}
[ -x "$ddp" ] || { echo "launch/hosts.sh: $ddp not built; run: swift build -c release (on every host, at this path)" >&2; exit 1; }

export SWIFT_BACKTRACE=enable=no
flags=(-np "$ranks" --hostfile "$hostfile" --map-by "${DDP_MAP_BY:-slot}" --bind-to "${DDP_BIND_TO:-core}"
       -x SWIFT_BACKTRACE)
# Forced only if asked: otherwise each host's rank-env.sh decides for its own CPU.
[ -n "${DDP_OPENBLAS_CORETYPE:-}" ] && flags+=(-x DDP_OPENBLAS_CORETYPE)
[ "$(id -u)" -eq 0 ] && flags+=(--allow-run-as-root)
read -r -a extra <<< "${DDP_MPI_ARGS:-}"
flags+=("${extra[@]}")
# stderr through launch/local.sh's filter (the rank that crashed is named, banners repeating our
# own error line go); SIGTERM / SIGINT to this script stop the ranks with a checkpoint, as in local.sh.
source "$here/launch/mpirun-signals.sh"
status=0
run_mpirun "${flags[@]}" "$here/launch/rank-env.sh" "$ddp" "$@" || status=$?
exit "$status"
