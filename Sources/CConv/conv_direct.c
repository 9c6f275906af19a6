// See include/conv_direct.h. Two instruction sets from one body (conv_direct_body.inc), each
// compiled for its target and chosen at run time from the CPU's features.
#include "conv_direct.h"
#include "winograd.h"
#include <immintrin.h>
#include <stddef.h>
#include <string.h>

int ddp_conv_vector_width(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return 16;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return 8;
    return 0;
}

static int forced_width = 0;

static int vector_width_cached(void) {
    static int width = -1;
    if (width < 0) width = ddp_conv_vector_width();
    return forced_width > 0 && forced_width <= width ? forced_width : width;
}

int ddp_conv_active_width(void) { return vector_width_cached(); }

void ddp_conv_force_vector_width(int width) { forced_width = width; }

void ddp_conv_transpose_gradient(const float *dy, const float *mask, int filters, int pixels, int filter_stride, float *dy_t,
                                 float *bias_gradient) {
    // The filters' planes as one row of `pixels` pixels, transposed a vector square at a time.
    ddp_winograd_to_pixels(dy, mask, filters, 1, pixels, 0, 0, 1, pixels, filter_stride, dy_t);
    if (!bias_gradient) return;
    for (int f = 0; f < filters; f++) {
        float sum = 0.0f;
        for (int p = 0; p < pixels; p++) sum += dy_t[(size_t)p * filter_stride + f];
        bias_gradient[f] += sum;
    }
}

void ddp_conv_pack_rows(const float *weights, int filters, int channels, int kernel_taps, const int *tap_index, int taps,
                        int out_stride, float *rows) {
    for (int c = 0; c < channels; c++)
        for (int t = 0; t < taps; t++) {
            float *row = rows + ((size_t)c * taps + t) * out_stride;
            for (int f = 0; f < out_stride; f++)
                row[f] = f < filters ? weights[((size_t)f * channels + c) * kernel_taps + tap_index[t]] : 0.0f;
        }
}

void ddp_conv_store_transposed(const float *out_t, int out_stride, int pixels, int filters, const float *bias, int relu, float *y) {
    for (int f = 0; f < filters; f++) {
        const float b = bias ? bias[f] : 0.0f;
        float *plane = y + (size_t)f * pixels;
        for (int p = 0; p < pixels; p++) {
            const float v = out_t[(size_t)p * out_stride + f] + b;
            plane[p] = relu && v < 0.0f ? 0.0f : v;
        }
    }
}

void ddp_conv_pack(const float *weights, int filters, int channels, int kernel_taps, const int *tap_index, int taps,
                   int transpose, float *packed) {
    const int outputs = transpose ? channels : filters, inputs = transpose ? filters : channels;
    const int blocks = (outputs + 7) / 8;
    for (int b = 0; b < blocks; b++) {
        for (int i = 0; i < inputs; i++) {
            for (int t = 0; t < taps; t++) {
                float *entry = packed + (((size_t)b * inputs + i) * taps + t) * 8;
                for (int o = 0; o < 8; o++) {
                    const int out = b * 8 + o;
                    float value = 0;
                    if (out < outputs) {
                        const int f = transpose ? i : out, c = transpose ? out : i;
                        value = weights[((size_t)f * channels + c) * kernel_taps + tap_index[t]];
                    }
                    entry[o] = value;
                }
            }
        }
    }
}

#define ISA avx512
#define VL 16
#define TARGET "avx512f,fma"
#define FORWARD_FILTERS 8
#define FORWARD_VECTORS 3
#define FORWARD_RELOAD_LAST 0
#define GRADIENT_FILTERS 8
#define GRADIENT_TAPS 3
#define FILTER_BLOCKS 4
#define FILTER_TAPS 6
#define OUTPUT_BLOCKS 4
#define OUTPUT_TILE 24
#include "conv_direct_body.inc"
#undef ISA
#undef VL
#undef TARGET
#undef FORWARD_FILTERS
#undef FORWARD_VECTORS
#undef FORWARD_RELOAD_LAST
#undef GRADIENT_FILTERS
#undef GRADIENT_TAPS
#undef FILTER_BLOCKS
#undef FILTER_TAPS
#undef OUTPUT_BLOCKS
#undef OUTPUT_TILE

#define ISA avx2
#define VL 8
#define TARGET "avx2,fma"
#define FORWARD_FILTERS 4
#define FORWARD_VECTORS 3
#define FORWARD_RELOAD_LAST 1
#define GRADIENT_FILTERS 4
#define GRADIENT_TAPS 2
#define FILTER_BLOCKS 2
#define FILTER_TAPS 6
#define OUTPUT_BLOCKS 2
#define OUTPUT_TILE 12
#include "conv_direct_body.inc"

void ddp_conv_pad_phases(const float *x, int channels, int height, int width, int phases, int row_width,
                         int plane_stride, float *out) {
    if (vector_width_cached() == 16) pad_phases_avx512(x, channels, height, width, phases, row_width, plane_stride, out);
    else pad_phases_avx2(x, channels, height, width, phases, row_width, plane_stride, out);
}

void ddp_conv_pad(const float *x, const float *mask, int channels, int height, int width,
                  int top, int left, int row_width, int plane_stride, float *padded) {
    if (vector_width_cached() == 16) pad_avx512(x, mask, channels, height, width, top, left, row_width, plane_stride, padded);
    else pad_avx2(x, mask, channels, height, width, top, left, row_width, plane_stride, padded);
}

void ddp_conv_store_rows(const float *grid, int row_width, int rows, int columns, float bias, int relu, float *out) {
    if (vector_width_cached() == 16) store_rows_avx512(grid, row_width, rows, columns, bias, relu, out);
    else store_rows_avx2(grid, row_width, rows, columns, bias, relu, out);
}

void ddp_conv_grid(const float *input, int channel_stride, int inputs, const int *shifts, int taps,
                   const float *packed, int outputs, int length, float *grid) {
    if (vector_width_cached() == 16) grid_avx512(input, channel_stride, inputs, shifts, taps, packed, outputs, length, grid);
    else grid_avx2(input, channel_stride, inputs, shifts, taps, packed, outputs, length, grid);
}

void ddp_conv_weight_gradient(const float *input, int channel_stride, int channels, const int *shifts, int taps,
                              const float *gradient, int gradient_stride, int filters, int length, float *weight_gradient) {
    if (vector_width_cached() == 16)
        weight_gradient_avx512(input, channel_stride, channels, shifts, taps, gradient, gradient_stride, filters, length, weight_gradient);
    else
        weight_gradient_avx2(input, channel_stride, channels, shifts, taps, gradient, gradient_stride, filters, length, weight_gradient);
}

void ddp_conv_weight_gradient_by_filters(const float *input, int channel_stride, int channels, const int *shifts, int taps,
                                         const int *positions, int pixels, const float *dy_t, int filter_stride, float *dw_t) {
    if (vector_width_cached() == 16)
        weight_gradient_by_filters_avx512(input, channel_stride, channels, shifts, taps, positions, pixels, dy_t, filter_stride, dw_t);
    else
        weight_gradient_by_filters_avx2(input, channel_stride, channels, shifts, taps, positions, pixels, dy_t, filter_stride, dw_t);
}

void ddp_conv_by_outputs(const float *input, int channel_stride, int inputs, const int *shifts, int taps, const float *rows,
                         int out_stride, const int *positions, int pixels, float *out_t) {
    if (vector_width_cached() == 16)
        by_outputs_avx512(input, channel_stride, inputs, shifts, taps, rows, out_stride, positions, pixels, out_t);
    else
        by_outputs_avx2(input, channel_stride, inputs, shifts, taps, rows, out_stride, positions, pixels, out_t);
}

void ddp_conv_add_rows(const float *grid, int length, int row_width, int channels, int rows, int columns, int step, int a, int b,
                       int height, int width, int overwrite, float *dx) {
    if (vector_width_cached() == 16)
        add_rows_avx512(grid, length, row_width, channels, rows, columns, step, a, b, height, width, overwrite, dx);
    else
        add_rows_avx2(grid, length, row_width, channels, rows, columns, step, a, b, height, width, overwrite, dx);
}
