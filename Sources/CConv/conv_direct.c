// See include/conv_direct.h. Two instruction sets from one body (conv_direct_body.inc), each
// compiled for its target and chosen at run time from the CPU's features.
#include "conv_direct.h"
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

int ddp_conv_plane_stride(int height, int width, int kernel) {
    int planeFloats = (height + kernel - 1) * (width + kernel - 1);
    // The largest read past a plane: a forward tile of 48 outputs starting below H * Wp, shifted by
    // (K - 1) * (Wp + 1); 64 zeros plus the kernel cover it.
    return (planeFloats + 64 + kernel + 15) & ~15;
}

int ddp_conv_grid_length(int height, int width, int kernel) {
    int v = vector_width_cached() > 0 ? vector_width_cached() : 16;
    int n = height * (width + kernel - 1);
    return (n + v - 1) / v * v;
}

void ddp_conv_pad(const float *x, const float *mask, int channels, int height, int width, int kernel, float *padded) {
    const int p = (kernel - 1) / 2, wp = width + kernel - 1, stride = ddp_conv_plane_stride(height, width, kernel);
    for (int c = 0; c < channels; c++) {
        float *plane = padded + (size_t)c * stride;
        const float *source = x + (size_t)c * height * width;
        const float *gate = mask ? mask + (size_t)c * height * width : NULL;
        memset(plane, 0, sizeof(float) * (size_t)(p * wp + p));
        for (int y = 0; y < height; y++) {
            float *line = plane + (size_t)(y + p) * wp + p;
            if (gate) {
                for (int i = 0; i < width; i++) line[i] = gate[y * width + i] > 0 ? source[y * width + i] : 0;
            } else {
                memcpy(line, source + (size_t)y * width, sizeof(float) * width);
            }
            memset(line + width, 0, sizeof(float) * (size_t)(wp - width));  // right pad, then next line's left
        }
        float *rest = plane + (size_t)(height + p) * wp + p;
        memset(rest, 0, sizeof(float) * (size_t)(stride - ((height + p) * wp + p)));
    }
}

void ddp_conv_pack(const float *weights, int filters, int channels, int kernel, int flip, float *packed) {
    const int taps = kernel * kernel;
    const int outputs = flip ? channels : filters, inputs = flip ? filters : channels;
    const int blocks = (outputs + 7) / 8;
    for (int b = 0; b < blocks; b++) {
        for (int i = 0; i < inputs; i++) {
            for (int t = 0; t < taps; t++) {
                float *entry = packed + (((size_t)b * inputs + i) * taps + t) * 8;
                for (int o = 0; o < 8; o++) {
                    int out = b * 8 + o;
                    float value = 0;
                    if (out < outputs) {
                        // flip: output channel c of dx reads filter f's tap rotated by 180 degrees.
                        value = flip ? weights[((size_t)i * channels + out) * taps + (taps - 1 - t)]
                                     : weights[((size_t)out * channels + i) * taps + t];
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
#define GRADIENT_FILTERS 8
#define GRADIENT_TAPS 3
#include "conv_direct_body.inc"
#undef ISA
#undef VL
#undef TARGET
#undef FORWARD_FILTERS
#undef GRADIENT_FILTERS
#undef GRADIENT_TAPS

#define ISA avx2
#define VL 8
#define TARGET "avx2,fma"
#define FORWARD_FILTERS 4
#define GRADIENT_FILTERS 4
#define GRADIENT_TAPS 2
#include "conv_direct_body.inc"

void ddp_conv_grid_forward(const float *padded, const float *packed, int channels, int filters,
                           int height, int width, int kernel, float *grid) {
    if (vector_width_cached() == 16) grid_forward_avx512(padded, packed, channels, filters, height, width, kernel, grid);
    else grid_forward_avx2(padded, packed, channels, filters, height, width, kernel, grid);
}

void ddp_conv_weight_gradient(const float *padded_input, const float *padded_gradient, int channels, int filters,
                              int height, int width, int kernel, float *weight_gradient) {
    if (vector_width_cached() == 16)
        weight_gradient_avx512(padded_input, padded_gradient, channels, filters, height, width, kernel, weight_gradient);
    else
        weight_gradient_avx2(padded_input, padded_gradient, channels, filters, height, width, kernel, weight_gradient);
}

void ddp_conv_force_vector_width(int width) { forced_width = width; }
