// Direct convolution kernels: no im2col matrix. A convolution is described to them by a tap table.
// Each output channel is a "grid" row of `length` floats (output pixel (oy, ox) at q = oy * Wg + ox,
// Wg >= Wo: the extra columns are computed and dropped), and input channel c's tap t is read at
// input + c * channel_stride + shifts[t] + q: one unaligned vector load for 16 (8) outputs.
// The caller lays the input out so that holds: zero-padded planes for stride 1 (`same` or
// `valid`), each channel's phase planes (even/odd rows x columns; one for a 1 x 1 kernel) for
// stride 2. Register tiles: 8 outputs x 48 pixels (AVX-512) or 4 x 24 (AVX2) forward; the weight
// gradient 8 filters x 3 taps (AVX2: 4 x 2) over the whole grid, each sum's vector lanes added in
// one fixed order, so a sample's terms do not depend on how the batch is split.
// Small planes turn the lanes (at the end of this header): dW with filters in the lanes (4 x 6
// vectors x taps; AVX2 2 x 6), forward with outputs in the lanes (24 accumulators of vectors x
// pixels; AVX2 12), both over the output pixels only.
// Packed weights: blocks of 8 output channels, (ceil(outputs / 8), inputs, taps, 8), zero past the end.
#pragma once

/// 16 with AVX-512F, 8 with AVX2 and FMA, 0 when neither: then the kernels must not be called.
int ddp_conv_vector_width(void);
/// The width in use (ddp_conv_vector_width, or less if forced).
int ddp_conv_active_width(void);
/// The vector width the kernels use, capped at `width` (8: the AVX2 kernels on an AVX-512 CPU, for
/// tests; 4: BatchNorm's SSE passes, and then the convolution kernels must not be called); 0 restores
/// the CPU's own. Not thread-safe: call before any pass.
void ddp_conv_force_vector_width(int width);

/// Each of `channels` planes (height x width, contiguous) written to padded + c * plane_stride as
/// rows of `row_width` floats: `top` zero rows, then each line after `left` zeros, zeros everywhere
/// else up to plane_stride. With `mask`, entries whose mask <= 0 are written as 0 (the gradient
/// through a fused ReLU, mask = the layer's output).
void ddp_conv_pad(const float *x, const float *mask, int channels, int height, int width,
                  int top, int left, int row_width, int plane_stride, float *padded);

/// Stride 2: each channel's first `phases` (4, or 1 for a 1 x 1 kernel) phase planes
/// p = 2a + b, x[2i + a][2j + b], at out + (phases c + p) * plane_stride, rows of row_width
/// floats, zeros elsewhere. Even height and width.
void ddp_conv_pad_phases(const float *x, int channels, int height, int width, int phases, int row_width,
                         int plane_stride, float *out);

/// packed = weights (F, C, kernel_taps) for the taps tap_index[0..taps): outputs F from inputs C,
/// or with `transpose` outputs C from inputs F (the input gradient's weights).
void ddp_conv_pack(const float *weights, int filters, int channels, int kernel_taps, const int *tap_index, int taps,
                   int transpose, float *packed);

/// grid (ceil(outputs / 8) * 8 rows of `length`, a multiple of the active width) = sum over the
/// inputs' taps of packed weight x shifted input.
void ddp_conv_grid(const float *input, int channel_stride, int inputs, const int *shifts, int taps,
                   const float *packed, int outputs, int length, float *grid);

/// weight_gradient[(f * channels + c) * taps + t] += sum over q < length of
/// gradient[f * gradient_stride + q] x input[c * channel_stride + shifts[t] + q], one sample.
void ddp_conv_weight_gradient(const float *input, int channel_stride, int channels, const int *shifts, int taps,
                              const float *gradient, int gradient_stride, int filters, int length, float *weight_gradient);

/// Small planes (7 x 7, 13 x 13: a grid row of 4-14 vectors) give the kernel above too few terms
/// per lane sum; there the weight gradient puts filters in the lanes instead, from the output
/// gradient transposed: dy_t (pixels, filter_stride) = dy (filters, pixels), 0 where mask (the
/// layer's output, or NULL) is not positive, zeros in the columns past `filters`; and, if
/// bias_gradient, bias_gradient[f] += the sum of column f over the pixels in order.
void ddp_conv_transpose_gradient(const float *dy, const float *mask, int filters, int pixels, int filter_stride, float *dy_t,
                                 float *bias_gradient);

/// dw_t[(c * taps + t) * filter_stride + f] += the sum over the output pixels p < pixels, in order,
/// of dy_t[p * filter_stride + f] x input[c * channel_stride + shifts[t] + positions[p]] (positions:
/// each pixel's q on the grid), one sample; filter_stride a multiple of the active width. Every lane
/// is one sum in one order, so both widths give the same bits.
void ddp_conv_weight_gradient_by_filters(const float *input, int channel_stride, int channels, const int *shifts, int taps,
                                         const int *positions, int pixels, const float *dy_t, int filter_stride, float *dw_t);

/// The forward pass of small planes with the outputs in the lanes: rows (C, taps, out_stride) =
/// the weights (F, C, kernel_taps) of taps tap_index[0..taps), filter f at column f, zeros past F.
void ddp_conv_pack_rows(const float *weights, int filters, int channels, int kernel_taps, const int *tap_index, int taps,
                        int out_stride, float *rows);

/// out_t (pixels, out_stride): out_t[p][f] = sum over inputs i, then taps t, of rows[i][t][f] x
/// input[i * channel_stride + shifts[t] + positions[p]] (positions: each output pixel's q on the
/// grid): ddp_conv_grid's sums in its order, so the same bits, for the output pixels only.
void ddp_conv_by_outputs(const float *input, int channel_stride, int inputs, const int *shifts, int taps, const float *rows,
                         int out_stride, const int *positions, int pixels, float *out_t);

/// y (filters, pixels) = out_t's first `filters` columns transposed, + bias (NULL: 0), then 0 where
/// negative when relu: the operations of ddp_conv_store_rows, so the same bits.
void ddp_conv_store_transposed(const float *out_t, int out_stride, int pixels, int filters, const float *bias, int relu, float *y);

/// dx += an input-gradient pass's grid: for each of `channels` grid rows (`length` apart), line i's
/// first `columns` floats (lines `row_width` apart) added to dx[c][step i + a][step j + b] (dx:
/// channels x height x width); one add per float, in vectors for steps 1 and 2. With `overwrite`
/// (step 1, or step 2 with b = 0) the floats are written instead, dx not read, and for step 2 the
/// odd columns between them of the 2 x columns from (step i + a, 0) written as 0 for the b = 1
/// pass to add onto: so the passes of every phase, (a, 0) before (a, 1), write all of dx.
void ddp_conv_add_rows(const float *grid, int length, int row_width, int channels, int rows, int columns, int step, int a, int b,
                       int height, int width, int overwrite, float *dx);

/// One output channel from its grid row: out (rows, columns) = grid's first `columns` of each of
/// `rows` lines (`row_width` apart) + bias, then 0 where negative when relu (NaN and -0 kept), the
/// fused bias and ReLU of Conv2D's storeChannel at the kernels' width.
void ddp_conv_store_rows(const float *grid, int row_width, int rows, int columns, float bias, int relu, float *out);
