#!/usr/bin/env bash
# Coverage-guided fuzzing (libFuzzer + AddressSanitizer) of every parser of outside input:
#   launch/fuzz.sh [SECONDS] [TARGET...]   each target for SECONDS (default 300), from its kept
#                                          corpus in fuzz/corpus/TARGET; inputs that add coverage
#                                          are merged back into that corpus (small: -merge=1)
#   launch/fuzz.sh --ci [SECONDS]          each for SECONDS (default 10) from a copy of the kept
#                                          corpus, which stays untouched (launch/test.sh runs this)
# A crash, a trap (Swift fatal error), a leak of the input's shape into an allocation beyond
# -rss_limit_mb, or a hang beyond -timeout fails the script; the input is kept in
# .build/fuzz/crashes/ (reproduce: .build/fuzz/bin/fuzz-TARGET FILE).
set -euo pipefail
cd "$(dirname "$0")/.."
keep=1
if [ "${1:-}" = "--ci" ]; then keep=0; shift; seconds=${1:-10}; else seconds=${1:-300}; fi
[ $# -gt 0 ] && shift
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=($(ls fuzz/targets | sed 's/\.swift$//'))

build_log=.build/fuzz-build.log
mkdir -p .build
bash fuzz/build.sh >"$build_log" 2>&1 || { cat "$build_log"; exit 1; }
# Leaks in libraries, not ours to fix: fuzz/lsan.supp names each.
export LSAN_OPTIONS="suppressions=$PWD/fuzz/lsan.supp:print_suppressions=0"
crashes=.build/fuzz/crashes
mkdir -p "$crashes"
failed=()
for target in "${targets[@]}"; do
    binary=.build/fuzz/bin/fuzz-$target kept=fuzz/corpus/$target
    work=$(mktemp -d)
    cp "$kept"/* "$work"/
    log=$(mktemp)
    # One job; inputs up to 8 KB (a small checkpoint is 1.3 KB); 2 GB of memory; 10 s per input.
    if ! "$binary" "$work" -max_total_time="$seconds" -max_len=8192 -rss_limit_mb=2048 -timeout=10 \
            -artifact_prefix="$crashes/$target-" -print_final_stats=1 >"$log" 2>&1; then
        failed+=("$target")
        grep -E "ERROR|Fatal error|==[0-9]+==|Test unit written|SUMMARY" "$log" | head -8 || true
    fi
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    coverage=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
    echo "fuzz-$target: ${runs:-?} inputs in ${seconds} s, ${coverage:-cov: ?} edges, corpus $(ls "$work" | wc -l) inputs"
    if [ "$keep" = 1 ]; then
        "$binary" -merge=1 "$kept" "$work" >/dev/null 2>&1 || true
    fi
    rm -rf "$work" "$log"
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzzing found crashes in: ${failed[*]} (inputs in $crashes)" >&2
    exit 1
fi
