# Sourced by launch/local.sh, launch/test.sh and launch/rank-env.sh (each rank of hosts.sh, slurm.sbatch):
# the OpenBLAS kernel set and threads for ranks.
# Debian's OpenBLAS 0.3.21 detects Zen 4/5 as Haswell and runs AVX2 kernels (~115 GFLOP/s per
# core for sgemm here); OPENBLAS_CORETYPE=SkylakeX runs its AVX-512 kernels (~220 GFLOP/s), with
# the same results against the naive reference (GEMM tests run under this file too). So on a CPU
# with AVX-512 F/BW/VL/DQ, SkylakeX wins even over an inherited OPENBLAS_CORETYPE; to force a set,
# give DDP_OPENBLAS_CORETYPE (e.g. Haswell to compare).
if [ -n "${DDP_OPENBLAS_CORETYPE:-}" ]; then
  export OPENBLAS_CORETYPE=$DDP_OPENBLAS_CORETYPE
elif grep -qw avx512f /proc/cpuinfo && grep -qw avx512bw /proc/cpuinfo \
     && grep -qw avx512vl /proc/cpuinfo && grep -qw avx512dq /proc/cpuinfo; then
  export OPENBLAS_CORETYPE=SkylakeX
fi
# One BLAS thread per rank: ranks fill the cores, and threaded drivers allocate on every call.
export OPENBLAS_NUM_THREADS=1
