// Max pooling over 2 x 2 windows with stride 2, the seed CNN's pool, in vectors of the CPU's
// widest width (as batch_norm.h chooses it): half a vector of outputs at a time from a vector of
// each of two input rows, split into even and odd columns. The same values, winners and ties as
// MaxPool's general loop (Sources/NN/MaxPool.swift): the first largest pixel in row order.
#pragma once

/// y (planes, height / 2, width / 2) from x: planes of height x width pixels, `plane_stride`
/// floats apart, rows `row_stride` floats apart (a dense input: width and height x width; a
/// convolution's grid: its row width and length). With a bias, each pixel is first taken as
/// x + bias[plane], then through the ReLU if `relu`, as the convolution stores its output (so the
/// pool reads the grid and the output is never written); NULL: x as it is. argmax[o] = index_base
/// + the index of output o's winner in the dense input (plane, row, column). A last odd row or
/// column is not read (no window covers it).
void ddp_pool2x2(const float *x, int planes, int height, int width, int row_stride, int plane_stride, const float *bias,
                 int relu, int index_base, float *y, int *argmax);

/// The input gradient of the same pool, written (not added) into target's planes (`plane_stride`
/// floats apart, rows `row_stride` apart, as ddp_pool2x2's input): each window's winner gets 0 + dy,
/// its other pixels 0, and so does a window whose output is not positive when `output` (the pool's
/// y) is given (the ReLU before the pool cut its winner); every other float of a plane's stride
/// (pixels no window covers, the rows' and plane's padding) gets 0. argmax as ddp_pool2x2 wrote it
/// with the same index_base.
void ddp_pool2x2_gradient(const float *dy, const float *output, const int *argmax, int index_base, int planes,
                          int height, int width, int row_stride, int plane_stride, float *target);

/// y (planes, out_h, out_w) from dense planes (height x width) by 3 x 3 windows with stride 2 (Keskar
/// et al.'s C1; out_h = (height - 3) / 2 + 1, out_w likewise): the values, winners and ties of
/// MaxPool's general loop (the first largest pixel in row order; a NaN never wins unless first).
/// argmax[o] = index_base + the index of output o's winner in the planes.
void ddp_pool3x3s2(const float *x, int planes, int height, int width, int out_h, int out_w, int index_base, float *y,
                   int *argmax);
