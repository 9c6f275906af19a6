#!/usr/bin/env bash
# The whole test suite (unit tests, and the built ddp under a real mpirun) under ThreadSanitizer
# and AddressSanitizer, each in its own build folder:
#   launch/sanitize.sh [thread|address ...] [-- swift-test-arguments, e.g. --filter ResumeTests]
# A sanitizer report in the test process fails its test case; one in a ddp rank makes that rank
# exit 66 (TSan) or 1 (ASan), which the executable tests see as a failure. The full reports are in
# .build/sanitize-NAME.log. Leak detection is off: Foundation and OpenMPI keep memory until exit.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d /opt/swift/usr/bin ] && export PATH="/opt/swift/usr/bin:$PATH"
sanitizers=() extra=()
while [ $# -gt 0 ]; do
    if [ "$1" = "--" ]; then shift; extra=("$@"); break; fi
    sanitizers+=("$1")
    shift
done
[ ${#sanitizers[@]} -eq 0 ] && sanitizers=(thread address)
bash launch/setup.sh
source launch/blas-env.sh
export TSAN_OPTIONS="halt_on_error=0 exitcode=66 second_deadlock_stack=1"
export ASAN_OPTIONS="detect_leaks=0 abort_on_error=0"
status=0
for sanitizer in "${sanitizers[@]}"; do
    log=.build/sanitize-$sanitizer.log
    mkdir -p .build
    echo "== $sanitizer sanitizer (log: $log)"
    if swift test --disable-swift-testing --sanitize="$sanitizer" --scratch-path ".build/sanitize-$sanitizer" "${extra[@]}" >"$log" 2>&1; then
        echo "passed: $(grep -c "' passed (" "$log") test cases"
    else
        status=1
        grep -E "' failed \(|error: " "$log" | head -20
    fi
    echo "sanitizer reports: $(grep -c -E "WARNING: ThreadSanitizer|ERROR: AddressSanitizer" "$log" || true)"
done
exit $status
