#!/usr/bin/env bash
# Mutation testing: applies each plausible bug of launch/mutants.txt, one at a time, to a copy of
# the tree, builds, runs that mutant's tests, and prints which were caught (killed). Not part of
# CI: about 30-40 minutes on 2 cores. Usage: bash launch/mutants.sh [LIST] [ID...]
# (IDs: 1-based line numbers among the list's mutants, to rerun some). The copy and its build
# stay in $MUTANTS_DIR (default /tmp/ddp-mutants) between runs, so a rerun builds incrementally.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
list=${1:-launch/mutants.txt}
shift || true
[ -d /opt/swift/usr/bin ] && export PATH="/opt/swift/usr/bin:$PATH"
bash launch/setup.sh >/dev/null
source launch/blas-env.sh

work=${MUTANTS_DIR:-/tmp/ddp-mutants}
src=$work/src
mkdir -p "$src" "$work/logs"
# The working tree as it is (tracked and new files, nothing ignored); SwiftPM's resolved packages
# are reused from this tree's .build when there, so no network is needed for them.
git ls-files -co --exclude-standard -z | tar --null -T - -cf - | tar -xf - -C "$src"
for d in checkouts repositories workspace-state.json; do
  [ -e "$root/.build/$d" ] && [ ! -e "$src/.build/$d" ] && mkdir -p "$src/.build" && cp -a "$root/.build/$d" "$src/.build/"
done

build() { swift build --build-tests --package-path "$src" >"$1" 2>&1; }
run_tests() {  # $1 filter, $2 log
  # A mutant that splits the ranks' control flow hangs a collective until the watchdog's default
  # 600 s; past 300 s it counts as killed (CI would fail on it too, only later).
  timeout 300 swift test --skip-build --disable-swift-testing --package-path "$src" --filter "$1" >"$2" 2>&1
}

# Mutants: "file @@ original @@ replacement @@ test filter @@ description"; # starts a comment.
mapfile -t lines < <(grep -v '^\s*#' "$list" | grep -v '^\s*$')
field() { awk -v n="$2" 'BEGIN { FS = " @@ " } { print $n }' <<<"$1"; }

start=$(date +%s)
echo "mutants: building the unmutated copy in $src"
build "$work/logs/base-build.log" || { echo "the unmutated tree does not build: $work/logs/base-build.log"; exit 1; }
filters=$(for l in "${lines[@]}"; do field "$l" 4; done | tr '|' '\n' | sort -u | paste -sd'|')
echo "mutants: every mutant's tests on the unmutated tree first (they must pass)"
run_tests "$filters" "$work/logs/base-tests.log" || { echo "tests fail without a mutant: $work/logs/base-tests.log"; exit 1; }

ids=("$@")
[ ${#ids[@]} -eq 0 ] && ids=($(seq 1 ${#lines[@]}))
killed=0 survived=0 invalid=0 survivors=()
for id in "${ids[@]}"; do
  line=${lines[$((id - 1))]}
  file=$(field "$line" 1) original=$(field "$line" 2) replacement=$(field "$line" 3)
  filter=$(field "$line" 4) description=$(field "$line" 5)
  path=$src/$file
  t0=$(date +%s)
  content=$(<"$path")
  rest=${content//"$original"/}
  occurrences=$(( (${#content} - ${#rest}) / ${#original} ))
  if [ "$occurrences" -ne 1 ]; then
    printf '%-8s %2d  %s (original text found %d times in %s)\n' INVALID "$id" "$description" "$occurrences" "$file"
    invalid=$((invalid + 1)); continue
  fi
  cp "$path" "$work/original"
  printf '%s\n' "${content/"$original"/"$replacement"}" >"$path"
  if ! build "$work/logs/$id-build.log"; then
    verdict=INVALID; invalid=$((invalid + 1)); note="does not compile: logs/$id-build.log"
  elif run_tests "$filter" "$work/logs/$id-tests.log"; then
    verdict=SURVIVED; survived=$((survived + 1)); survivors+=("$id"); note="$filter passed"
  else
    status=$?
    verdict=KILLED; killed=$((killed + 1))
    note=$(grep -m1 -oE "error: [A-Za-z]+\.test[A-Za-z0-9_]+" "$work/logs/$id-tests.log" | sed 's/error: //' || true)
    [ -z "$note" ] && note="$filter failed"
    [ "$status" -eq 124 ] && note="$filter hung (timed out)"
  fi
  cp "$work/original" "$path"
  printf '%-8s %2d  %s  [%s, %ds]\n' "$verdict" "$id" "$description" "$note" $(( $(date +%s) - t0 ))
done
total=$((killed + survived))
echo "mutants: killed $killed of $total ($(( total ? 100 * killed / total : 0 ))%), $invalid invalid, in $(( ($(date +%s) - start) / 60 )) min"
[ ${#survivors[@]} -gt 0 ] && echo "survivors: ${survivors[*]}"
exit 0
