// BatchNorm's passes over one plane (the `count` values of one channel of one sample), in C so
// that they run on the CPU's widest vectors (Swift's SIMD types compile to the x86-64 baseline's
// 4-wide SSE): AVX-512, AVX2 or SSE, chosen at run time as the convolution kernels are
// (ddp_conv_active_width, so forcing a width for tests applies here too). Each sum keeps one
// vector of partial sums whose lanes are added in one fixed order, so a plane's result does not
// depend on where the plane sits in a batch. The layer is memory-bound: x-hat is not stored but
// recomputed from x in backward, and the fused ReLU's mask is recomputed from x-hat by the same
// code as forward (same bits), so backward reads dy and x only. Formulas: Sources/NN/BatchNorm.swift.
#pragma once

/// One plane's normalisation: x-hat = (x - mean) inverse_std, v = scale x-hat + shift,
/// y = v, or 0 where v < 0 when relu (the fused ReLU; NaN kept).
typedef struct {
    float mean, inverse_std, scale, shift;
    int relu;
} ddp_bn_plane;

/// sum_i x[i].
float ddp_bn_sum(const float *x, int count);
/// sums[0] = sum_i (x[i] - shift), sums[1] = sum_i (x[i] - shift)^2: a plane's moments about a
/// shift near its mean, in one read of x (the group's sum of squared deviations is then
/// sum sums[1] - (sum sums[0])^2 / m, which keeps its digits when the shift is near the mean).
void ddp_bn_shifted_sums(const float *x, int count, float shift, float *sums);
/// y[i] as ddp_bn_plane says; with `addend`, v + addend[i] where the plane says v (the ReLU, if
/// any, after the sum: a residual block's y = relu(bn(x) + shortcut) in one pass).
void ddp_bn_normalize(const float *x, float *y, int count, ddp_bn_plane plane, const float *addend);
/// sums[0] = sum dy', sums[1] = sum dy' x-hat, where dy' = dy, or 0 where the fused ReLU's v <= 0.
void ddp_bn_gradient_sums(const float *dy, const float *x, int count, ddp_bn_plane plane, float *sums);
/// dx[i] += factor (scale_by dy'[i] - mean_gradient - x-hat[i] mean_product), dy' as above; with
/// `overwrite`, dx[i] = that term (what dx held is neither read nor kept).
void ddp_bn_add_input_gradient(const float *dy, const float *x, float *dx, int count, ddp_bn_plane plane,
                               float factor, float scale_by, float mean_gradient, float mean_product, int overwrite);
