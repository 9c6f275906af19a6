// Winograd's minimal filtering (Lavin & Gray 2016, "Fast Algorithms for Convolutional Neural
// Networks"): a stride-1 convolution computes each m x m tile of an output plane from the
// alpha x alpha window of the input under it (alpha = m + r - 1 for an r x r kernel) as
//   Y = A^T [ U (.) V ] A,   U = G g G^T (the kernel),   V = B^T d B (the window),
// so that, summed over input channels, a tile costs alpha^2 multiply-adds per channel pair where
// the direct sum costs m^2 r^2 (for F(4 x 4, 5 x 5): 64 against 400). The channel sums become one
// matrix product per point xi of the alpha x alpha grid (sgemm, Swift side); these kernels are the
// transforms around them, with channels (or filters) in the vector lanes, so every window value
// is one contiguous vector load: a sample is first laid out pixel-major ("pixels": pixel p's
// channels at p * lane_stride, lane_stride a multiple of 16, zeros in the lanes past the channels).
// Transformed arrays are point-major: X[(xi * tile_stride + tile) * lane_stride + channel], a
// chunk of samples' tiles side by side (tile = the sample's first tile + ty * tiles_x + tx), so
// X[xi] is a (tiles x lane_stride) matrix. Matrices are row-major: at (m x alpha), bt (alpha x alpha);
// alpha <= 8. The backward passes are the transposes: dM = A dY A^T from the output gradient's
// m x m tile, and the input gradient's window B dV B^T, added into pixels (windows overlap).
#pragma once

/// pixels[((top + y) * row_width + left + x) * lane_stride + c] = planes[(c * height + y) * width + x]
/// (0 where mask, if given, is not positive: the gradient through a fused ReLU), zeros at every
/// other pixel of the rows x row_width and in the lanes c >= channels.
void ddp_winograd_to_pixels(const float *planes, const float *mask, int channels, int height, int width, int top,
                            int left, int rows, int row_width, int lane_stride, float *pixels);

/// planes[(c * height + y) * width + x] += pixels[((top + y) * row_width + left + x) * lane_stride + c],
/// or with `overwrite` = that pixel (what the planes held is neither read nor kept).
void ddp_winograd_add_to_planes(const float *pixels, int channels, int height, int width, int top, int left,
                                int row_width, int lane_stride, int overwrite, float *planes);

/// v[xi][first_tile + t] = (B^T d B)[xi], d the alpha x alpha window at pixel (ty * m, tx * m) of
/// one sample's pixels (rows of row_width pixels), for its tiles_y x tiles_x tiles.
void ddp_winograd_input(const float *pixels, int lane_stride, int row_width, int tiles_y, int tiles_x, int m, int alpha,
                        const float *bt, float *v, int tile_stride, int first_tile);

/// y[(f * out_h + ty * m + i) * out_w + tx * m + j] = (A^T M A)[i][j] (+ bias[f]; then max(0, .)
/// when relu) for f < filters and the pixels inside out_h x out_w, M[xi] = mhat[xi][first_tile + t].
void ddp_winograd_output(const float *mhat, int filters, int lane_stride, int tile_stride, int first_tile, int tiles_y,
                         int tiles_x, int m, int alpha, const float *at, const float *bias, int relu, float *y,
                         int out_h, int out_w);

/// dmhat[xi][first_tile + t] = (A dY A^T)[xi], dY the m x m tile at pixel (ty * m, tx * m) of the
/// output gradient's pixels (rows of row_width pixels, zeros past the output).
void ddp_winograd_gradient(const float *pixels, int lane_stride, int row_width, int tiles_y, int tiles_x, int m,
                           int alpha, const float *at, float *dmhat, int tile_stride, int first_tile);

/// Adds (B dV B^T) of each tile, in tile order, into the alpha x alpha window at pixel
/// (ty * m, tx * m) of the input gradient's pixels; dV[xi] = dvhat[xi][first_tile + t].
void ddp_winograd_input_gradient(const float *dvhat, int lane_stride, int tile_stride, int first_tile, int tiles_y,
                                 int tiles_x, int m, int alpha, const float *bt, float *pixels, int row_width);

/// 1 if at (m x alpha) and bt (alpha x alpha) are, bit for bit, the matrices the kernels hold as
/// constants for F(4, 3) or F(4, 5) (winograd.c), so the transforms take their unrolled form; else 0.
int ddp_winograd_builtin(int m, int alpha, const float *at, const float *bt);
