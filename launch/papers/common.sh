# Sourced by the paper scripts: `--quick` as the first argument, the sweep folder
# (runs/papers/NAME[-quick], or PAPER_OUT), refused if it already holds a sweep (its sweep.json is
# written before the first run ends, results.csv after). Sets here, quick, out, and ddp (DDP
# overrides it, as for launch/local.sh).
here=$(cd "$(dirname "$0")/../.." && pwd)
ddp=${DDP:-$here/.build/release/ddp}
export DDP=$ddp
quick=0
if [ "${1:-}" = --quick ]; then quick=1; shift; fi
out=${PAPER_OUT:-$here/runs/papers/$paper$([ "$quick" = 1 ] && echo -quick || true)}
if [ -e "$out/results.csv" ] || [ -e "$out/sweep.json" ]; then
  echo "launch/papers/$paper.sh: $out already holds a sweep; set PAPER_OUT, remove it, or continue it with ddp sweep --resume $out" >&2
  exit 1
fi
start=$(date +%s)
