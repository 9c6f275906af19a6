// Matrix products too small for sgemm's packing: Winograd's per-point products (WinogradConvolution),
// c (m x n) = a (m x k) b (k x n) with k and n at most a few hundred and m any height. On a CPU
// whose OpenBLAS has no small-matrix kernels (Zen's set) sgemm packs both operands and, for
// beta = 0, first clears c in a pass of its own (sgemm_beta); these do neither: each c row tile
// is a register tile (6 rows x 2 vectors) summed over k straight from a and b.
#pragma once

/// c[i * ldc + j] = sum over p = 0 ... k-1, in that order, of a[i * a_row + p * a_depth] x
/// b[p * ldb + j] (a fused multiply-add chain from zero; the SSE baseline multiplies, then adds), for i < m and j < n; with `accumulate`
/// that sum is then added to c[i * ldc + j]. Nothing of c past column n is written and nothing of b
/// past column n is read. a_row = lda, a_depth = 1 is a; a_row = 1, a_depth = lda is a's transpose.
/// Every c[i][j] is the same sum whatever m is, so rows split over calls give the same bits.
void ddp_small_product(int m, int n, int k, const float *a, int a_row, int a_depth, const float *b, int ldb,
                       int accumulate, float *c, int ldc);
