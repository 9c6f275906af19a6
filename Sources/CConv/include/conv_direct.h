// Direct convolution kernels for the stride-1 `same` convolutions (odd kernel K) of the residual
// networks: no im2col matrix. Each sample's planes are zero-padded to (H + K - 1) x (W + K - 1)
// (Wp = W + K - 1 wide) once; output pixel (oy, ox) then sits at grid index q = oy * Wp + ox, and
// kernel tap (ki, kj) reads the padded plane at q + ki * Wp + kj: a constant shift, so a run of
// 16 outputs is one unaligned vector load per tap. The Wp - W grid columns past each line's end
// are computed and dropped. Register tiles: 8 filters x 48 pixels (AVX-512) or 4 x 24 (AVX2), the
// weight gradient 8 filters x 3 taps over the whole plane. Sums per sample run in a fixed order,
// so a sample's terms do not depend on how the batch is split into ranks or chunks.
// Layouts: x (C, H, W) one sample; weights (F, C, K, K); packed weights: blocks of 8 output
// channels, (ceil(F / 8), C, K, K, 8), zero beyond F.
#pragma once
#include <stddef.h>

/// 16 with AVX-512F, 8 with AVX2 and FMA, 0 when neither: then the kernels must not be called.
int ddp_conv_vector_width(void);
/// The width in use (ddp_conv_vector_width, or less if forced).
int ddp_conv_active_width(void);

/// Floats between two padded planes (the plane plus zeroed slack that the vector tails read).
int ddp_conv_plane_stride(int height, int width, int kernel);
/// Grid length of one output channel: H * Wp rounded up to the vector width.
int ddp_conv_grid_length(int height, int width, int kernel);

/// padded (C planes of plane_stride) = x zero-padded; with `mask`, entries whose mask <= 0 are 0
/// (the gradient through a fused ReLU, mask = the layer's output).
void ddp_conv_pad(const float *x, const float *mask, int channels, int height, int width, int kernel, float *padded);

/// packed = weights (F, C, K, K) as blocks of 8 filters; with `flip`, the weights of the input
/// gradient instead: C outputs from F inputs, taps rotated by 180 degrees.
void ddp_conv_pack(const float *weights, int filters, int channels, int kernel, int flip, float *packed);

/// grid (ceil(F / 8) * 8 rows of grid_length) = the convolution of the padded input's C planes.
void ddp_conv_grid_forward(const float *padded, const float *packed, int channels, int filters,
                           int height, int width, int kernel, float *grid);

/// weight_gradient (F, C, K, K) += the product of the padded output gradient (F planes) with the
/// padded input (C planes), one sample: each entry gets one sum, its vector lanes added in a fixed
/// order, so a batch's dW is its samples' added one after another.
void ddp_conv_weight_gradient(const float *padded_input, const float *padded_gradient, int channels, int filters,
                              int height, int width, int kernel, float *weight_gradient);

/// The vector width the kernels use, capped at `width` (8: the AVX2 kernels on an AVX-512 CPU, for
/// tests); 0 restores the CPU's own. Not thread-safe: call before any pass.
void ddp_conv_force_vector_width(int width);
