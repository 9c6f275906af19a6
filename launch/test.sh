#!/usr/bin/env bash
# The whole test suite on a fresh machine: install what is missing, then swift test
# (unit tests, and the built ddp under real mpirun). README and .ci/run call this.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d /opt/swift/usr/bin ] && export PATH="/opt/swift/usr/bin:$PATH"
bash launch/setup.sh
bash launch/python-env.sh
# The kernels ddp runs with (launch/blas-env.sh), so the GEMM tests check the ones in use.
source launch/blas-env.sh
# The release ddp too: AllocationUnderMPITests counts allocations in the build users run.
swift build -c release --product ddp
# The MPI tests run that release ddp (DDPProcess.executable): about a fifth of their debug time.
DDP_TEST_EXECUTABLE="$(swift build -c release --show-bin-path)/ddp" swift test --disable-swift-testing
# Every fuzz target for 10 s from its kept corpus (fuzz/corpus): a crash or trap fails the suite.
bash launch/fuzz.sh --ci 10
