#!/usr/bin/env bash
# Mutation testing: applies each plausible bug of launch/mutants.txt, one at a time, to a copy of
# the tree, builds, runs that mutant's tests, and prints which were caught (killed). Not part of
# CI: see README for how long the whole list takes. Usage: bash launch/mutants.sh [LIST] [ID...]
# (IDs: 1-based line numbers among the list's mutants, to rerun some). The copy and its build
# stay in $MUTANTS_DIR (default /tmp/ddp-mutants) between runs, so a rerun builds incrementally.
#
# First every filter of the chosen mutants runs once on the unmutated copy (each under
# BASELINE_TIMEOUT, default 1800 s): all must pass, and each one's time sets its mutants' timeout,
# 3 x the unmutated time, at least MUTANT_TIMEOUT (300 s) and at most MUTANT_TIMEOUT_MAX (1200 s).
# A mutant that splits the ranks' control flow hangs a collective (until the watchdog's 600 s): a
# test run past its timeout counts as KILLED when the unmutated run took at most a third of it,
# else as TIMEOUT (apart, not in the kill rate). A filter that runs no test (none matches, or every
# one skips) makes its mutants NO-TESTS, also apart.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
list=${1:-launch/mutants.txt}
shift || true
[ -d /opt/swift/usr/bin ] && export PATH="/opt/swift/usr/bin:$PATH"
bash launch/setup.sh >/dev/null
bash launch/python-env.sh >/dev/null  # tensorboard for TensorBoardTests (else they skip)
source launch/blas-env.sh
# The MPI tests must run the copy's (mutated) debug ddp, not an executable named from outside.
unset DDP_TEST_EXECUTABLE

work=${MUTANTS_DIR:-/tmp/ddp-mutants}
baseline_timeout=${BASELINE_TIMEOUT:-1800}
mutant_timeout=${MUTANT_TIMEOUT:-300}
mutant_timeout_max=${MUTANT_TIMEOUT_MAX:-1200}
src=$work/src
mkdir -p "$src/.build" "$work/logs"
# The working tree as it is (tracked and new files, nothing ignored). Only files that differ are
# copied (cp -p), so unchanged ones keep their inode and time and the build stays incremental;
# files gone from the tree are removed from the copy.
git ls-files -co --exclude-standard -z >"$work/files"
while IFS= read -r -d '' f; do
  [ -f "$f" ] || continue
  if ! cmp -s "$f" "$src/$f"; then mkdir -p "$src/$(dirname "$f")" && cp -p "$f" "$src/$f"; fi
done <"$work/files"
tr '\0' '\n' <"$work/files" | sort >"$work/files.txt"
(cd "$src" && find . -path ./.build -prune -o -type f -print | sed 's|^\./||' | sort) | comm -23 - "$work/files.txt" |
  while IFS= read -r f; do rm -f "$src/$f"; done
# SwiftPM's resolved packages are reused from this tree's .build when there (no network needed),
# and the tensorboard venv is linked (the tests look for .build/python under the package root).
for d in checkouts repositories workspace-state.json; do
  [ -e "$root/.build/$d" ] && [ ! -e "$src/.build/$d" ] && cp -a "$root/.build/$d" "$src/.build/"
done
if [ -e "$root/.build/python" ]; then ln -sfn "$root/.build/python" "$src/.build/python"; fi

build() { swift build --build-tests --package-path "$src" >"$1" 2>&1; }
run_tests() {  # $1 filter, $2 log, $3 timeout in seconds
  timeout "$3" swift test --skip-build --disable-swift-testing --package-path "$src" --filter "$1" >"$2" 2>&1
}
# Whether a test log shows no test that ran (none matched the filter, or every one skipped).
ran_nothing() {
  grep -q "No matching test cases were run" "$1" && return 0
  local summary executed skipped
  summary=$(grep -E "Executed [0-9]+ tests?" "$1" | tail -1)
  executed=$(sed -nE 's/.*Executed ([0-9]+) tests?.*/\1/p' <<<"$summary")
  skipped=$(sed -nE 's/.*with ([0-9]+) tests? skipped.*/\1/p' <<<"$summary")
  [ -z "$executed" ] || [ "$executed" -eq 0 ] || [ "$executed" -eq "${skipped:-0}" ]
}

# Mutants: "file @@ original @@ replacement @@ test filter @@ description"; # starts a comment.
mapfile -t lines < <(grep -v '^\s*#' "$list" | grep -v '^\s*$')
field() { awk -v n="$2" 'BEGIN { FS = " @@ " } { print $n }' <<<"$1"; }

ids=("$@")
[ ${#ids[@]} -eq 0 ] && ids=($(seq 1 ${#lines[@]}))
for id in "${ids[@]}"; do
  [[ "$id" =~ ^[0-9]+$ ]] && [ "$id" -ge 1 ] && [ "$id" -le ${#lines[@]} ] || { echo "no mutant $id (1-${#lines[@]})"; exit 2; }
done

# Put the mutated file back however the script ends.
restore=""
trap '[ -n "$restore" ] && cp "$work/original" "$restore"' EXIT

start=$(date +%s)
echo "mutants: building the unmutated copy in $src"
# Clang's cached modules of the C targets do not notice a header added to their umbrella folder
# (a kept copy then fails with "cannot find 'ddp_...' in scope"): rebuild them every run.
find "$src/.build" -name 'C*.pcm' -delete 2>/dev/null || true
build "$work/logs/base-build.log" || { echo "the unmutated tree does not build: $work/logs/base-build.log"; exit 1; }
declare -A base_seconds no_tests
mapfile -t filters < <(for id in "${ids[@]}"; do field "${lines[$((id - 1))]}" 4; done | sort -u)
echo "mutants: the ${#filters[@]} filters of ${#ids[@]} mutants on the unmutated copy first (they must pass)"
for f in "${filters[@]}"; do
  log=$work/logs/base-$(tr -c 'A-Za-z0-9' '_' <<<"$f" | cut -c1-80).log
  t0=$(date +%s)
  if run_tests "$f" "$log" "$baseline_timeout"; then status=0; else status=$?; fi
  base_seconds[$f]=$(( $(date +%s) - t0 ))
  if [ "$status" -eq 124 ]; then echo "the unmutated $f ran past $baseline_timeout s: $log"; exit 1; fi
  [ "$status" -ne 0 ] && { echo "tests fail without a mutant ($f): $log"; exit 1; }
  if ran_nothing "$log"; then no_tests[$f]=1; note=", no test ran"; else note=""; fi
  printf '  %-70s %4d s%s\n' "$f" "${base_seconds[$f]}" "$note"
done

killed=0 survived=0 invalid=0 timedout=0 untested=0 survivors=() timeouts=()
for id in "${ids[@]}"; do
  line=${lines[$((id - 1))]}
  file=$(field "$line" 1) original=$(field "$line" 2) replacement=$(field "$line" 3)
  filter=$(field "$line" 4) description=$(field "$line" 5)
  path=$src/$file
  t0=$(date +%s)
  if [ -n "${no_tests[$filter]:-}" ]; then
    printf '%-8s %2d  %s  [%s runs no test]\n' NO-TESTS "$id" "$description" "$filter"
    untested=$((untested + 1)); continue
  fi
  content=$(<"$path")
  rest=${content//"$original"/}
  occurrences=$(( (${#content} - ${#rest}) / ${#original} ))
  if [ "$occurrences" -ne 1 ]; then
    printf '%-8s %2d  %s (original text found %d times in %s)\n' INVALID "$id" "$description" "$occurrences" "$file"
    invalid=$((invalid + 1)); continue
  fi
  cp "$path" "$work/original"
  restore=$path
  printf '%s\n' "${content/"$original"/"$replacement"}" >"$path"
  base=${base_seconds[$filter]}
  limit=$(( 3 * base > mutant_timeout ? 3 * base : mutant_timeout ))
  limit=$(( limit < mutant_timeout_max ? limit : mutant_timeout_max ))
  if ! build "$work/logs/$id-build.log"; then
    verdict=INVALID; invalid=$((invalid + 1)); note="does not compile: logs/$id-build.log"
  elif run_tests "$filter" "$work/logs/$id-tests.log" "$limit"; then
    verdict=SURVIVED; survived=$((survived + 1)); survivors+=("$id"); note="$filter passed"
  else
    status=$?
    note=$(grep -m1 -oE "error: [A-Za-z]+\.test[A-Za-z0-9_]+" "$work/logs/$id-tests.log" | sed 's/error: //' || true)
    [ -z "$note" ] && note="$filter failed"
    if [ "$status" -eq 124 ] && [ $(( 3 * base )) -gt "$limit" ]; then
      verdict=TIMEOUT; timedout=$((timedout + 1)); timeouts+=("$id")
      note="$filter ran past $limit s, the unmutated run took $base s"
    else
      verdict=KILLED; killed=$((killed + 1))
      [ "$status" -eq 124 ] && note="$filter hung (past $limit s; unmutated $base s)"
    fi
  fi
  cp "$work/original" "$path"
  restore=""
  printf '%-8s %2d  %s  [%s, %ds]\n' "$verdict" "$id" "$description" "$note" $(( $(date +%s) - t0 ))
done
total=$((killed + survived))
echo "mutants: killed $killed of $total ($(( total ? 100 * killed / total : 0 ))%), $invalid invalid, $timedout timed out, $untested without a test, in $(( ($(date +%s) - start) / 60 )) min at $(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo ' (with uncommitted changes)')"
[ ${#survivors[@]} -gt 0 ] && echo "survivors: ${survivors[*]}"
[ ${#timeouts[@]} -gt 0 ] && echo "timed out: ${timeouts[*]}"
exit 0
