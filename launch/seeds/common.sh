# Shared by the seed scripts: run one configuration and print its result line.
#   run NAME RANKS [ddp train arguments]   -> runs/seeds/NAME, then "NAME  test_acc ... wall ..."
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=${SEEDS_OUT:-$here/runs/seeds}
mkdir -p "$out"

run() {
  local name=$1 ranks=$2
  shift 2
  local dir="$out/$name"
  if [ -e "$dir/summary.json" ]; then
    echo "$name: $dir already holds a finished run (remove it to run again)"
  else
    rm -rf "$dir"
    "$here/launch/local.sh" "$ranks" train --no-progress --run-dir "$dir" "$@" > "$dir.log" 2>&1 \
      || { echo "$name failed; see $dir.log" >&2; tail -3 "$dir.log" >&2; return 1; }
  fi
  python3 - "$dir/summary.json" "$name" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
print(f"{sys.argv[2]:<28} global batch {s['global_batch']:>6}  steps {s['steps']:>7}  train acc {s['train_acc']:.4f}  "
      f"test acc {s['test_acc']:.4f}  gap {s['gap']:+.4f}  train {s['train_seconds']:.2f} s  wall {s['wall_seconds']:.2f} s")
PY
}
