#!/usr/bin/env bash
# Measures what issue 12 asks for, on the release build: seconds from a stop signal to the end of
# the job (median of N), and how far a run resumed on another rank count ends from the
# uninterrupted one (relative L2 difference of the final parameters).
#   bench/preemption.sh [N]      (default 5; 0 measures the drift only; writes only temporary folders)
# DDP_OPENBLAS_CORETYPE=Haswell (launch/blas-env.sh) measures with another OpenBLAS kernel set.
# Fashion-MNIST MLP, 2 ranks x 64, Adam. Figures depend on the machine's load, not only on ddp.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-5}
ddp=$here/.build/release/ddp
[ -x "$ddp" ] || { echo "bench/preemption.sh: build first: swift build -c release" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source "$here/launch/blas-env.sh"
mpi=(mpirun --bind-to none --oversubscribe -x OPENBLAS_NUM_THREADS -x SWIFT_BACKTRACE)
[ -n "${OPENBLAS_CORETYPE:-}" ] && mpi+=(-x OPENBLAS_CORETYPE)
[ "$(id -u)" -eq 0 ] && mpi+=(--allow-run-as-root)
export SWIFT_BACKTRACE=enable=no
flags=(train --batch-per-rank 64 --optimizer adam --epochs 20 --no-progress --trace-steps none)
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), OpenBLAS kernels ${OPENBLAS_CORETYPE:-autodetected}, $(nproc) cores"

# One timed stop: WAY is local (SIGTERM to launch/local.sh), term (SIGTERM to bare mpirun) or
# usr1 (SIGUSR1 to bare mpirun). Training runs 2 s before the signal.
stop_once() {
  local way=$1 dir=$work/stop-$1-$2 pid start end
  if [ "$way" = local ]; then
    DDP=$ddp CI=true bash "$here/launch/local.sh" 2 "${flags[@]}" --run-dir "$dir" > /dev/null 2>&1 &
  else
    "${mpi[@]}" -np 2 "$ddp" "${flags[@]}" --run-dir "$dir" > /dev/null 2>&1 &
  fi
  pid=$!
  while [ ! -f "$dir/config.json" ]; do sleep 0.01; done
  sleep 2
  start=$(date +%s.%N)
  case $way in local|term) kill -TERM "$pid" ;; usr1) kill -USR1 "$pid" ;; esac
  wait "$pid" || true
  end=$(date +%s.%N)
  grep -q '"interrupted" : true' "$dir/summary.json" || { echo "  ($way: no checkpointed stop)" >&2; }
  echo "$end - $start" | bc
}
for way in local term usr1; do
  [ "$n" -gt 0 ] || break
  times=()
  for ((k = 0; k < n; k++)); do times+=("$(stop_once "$way" "$k")"); done
  median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
  echo "signal to exit, $way: median $median s of ${times[*]}"
done

# Drift: the uninterrupted 2-rank run against the same run stopped after step 700 of 1876 (a
# SIGTERM to rank 1 alone) and resumed on 1, 2 and 4 ranks.
short=(train --batch-per-rank 64 --optimizer adam --epochs 4 --no-progress --trace-steps none)
"${mpi[@]}" -np 2 "$ddp" "${short[@]}" --run-dir "$work/whole" > /dev/null
# The same global batch on 4 ranks, never stopped: what another split alone does to the numbers.
"${mpi[@]}" -np 4 "$ddp" "${short[@]}" --global-batch 128 --run-dir "$work/whole4" > /dev/null
"${mpi[@]}" -np 2 -x DDP_FAULT=term:699:1 "$ddp" "${short[@]}" --run-dir "$work/cut" > /dev/null 2>&1 || true
for ranks in 1 2 4; do
  cp -r "$work/cut" "$work/np$ranks"
  "${mpi[@]}" -np "$ranks" "$ddp" train --resume "$work/np$ranks" --no-progress > /dev/null
done
python3 - "$work" <<'PY'
import json, struct, sys
import numpy as np
def load(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    return np.concatenate([np.frombuffer(raw[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]], dtype="<f4")
                           for k, v in sorted(header.items()) if k != "__metadata__"]).astype(np.float64)
work = sys.argv[1]
whole = load(f"{work}/whole/model.safetensors")
step = json.load(open(f"{work}/np2/summary.json"))["steps"]
for ranks in (1, 2, 4):
    x = load(f"{work}/np{ranks}/model.safetensors")
    acc = json.load(open(f"{work}/np{ranks}/summary.json"))["test_acc"]
    print(f"drift after a stop at step 700 of {step}, resumed on {ranks} rank(s): relative L2 {np.linalg.norm(x - whole) / np.linalg.norm(whole):.3g}, "
          f"max |diff| {np.abs(x - whole).max():.3g}, test acc {acc:.4f}")
x = load(f"{work}/whole4/model.safetensors")
print(f"uninterrupted 4 x 32 against 2 x 64: relative L2 {np.linalg.norm(x - whole) / np.linalg.norm(whole):.3g}")
print(f"uninterrupted test acc {json.load(open(f'{work}/whole/summary.json'))['test_acc']:.4f}")
PY
