// See include/winograd.h. Three instruction sets from one body (winograd_body.inc).
#include "winograd.h"
#include <immintrin.h>
#include <string.h>

// WinogradMatrices' A^T and B^T (Swift builds them, the one construction) for F(4, 3) and F(4, 5),
// bit for bit (each literal rounds to the float Swift computed), as compile-time constants for the
// unrolled transforms (WG_SIZES in winograd_body.inc). Matrices that differ from these run as
// given; ddp_winograd_builtin says whether they match, and WinogradTests asserts that they do.
static const float wg_bt_4_3[36] = {
      0.8f,   0.0f,  -1.0f,   0.0f,   0.2f,   0.0f,
      0.0f,   1.0f,   1.0f, -0.25f, -0.25f,   0.0f,
      0.0f,  -1.0f,   1.0f,  0.25f, -0.25f,   0.0f,
      0.0f,  -1.0f,  -0.5f,   1.0f,   0.5f,   0.0f,
      0.0f,   1.0f,  -0.5f,  -1.0f,   0.5f,   0.0f,
      0.0f,   0.8f,   0.0f,  -1.0f,  -0.0f,   0.2f
};
static const float wg_at_4_3[24] = {
     1.0f,  1.0f,  1.0f,  1.0f,  1.0f,  0.0f,
     0.0f,  1.0f, -1.0f,  2.0f, -2.0f,  0.0f,
     0.0f,  1.0f,  1.0f,  4.0f,  4.0f,  0.0f,
     0.0f,  1.0f, -1.0f,  8.0f, -8.0f,  1.0f
};
static const float wg_bt_4_5[64] = {
      0.1904762f,         0.0f,        -1.0f,         0.0f,         1.0f,         0.0f,  -0.1904762f,         0.0f,
            0.0f, -0.23529412f, -0.23529412f,         1.0f,         1.0f, -0.23529412f, -0.23529412f,         0.0f,
            0.0f,  0.23529412f, -0.23529412f,        -1.0f,         1.0f,  0.23529412f, -0.23529412f,         0.0f,
            0.0f,         0.2f,         0.1f,        -1.0f,        -0.5f,         0.8f,         0.4f,         0.0f,
            0.0f,        -0.2f,         0.1f,         1.0f,        -0.5f,        -0.8f,         0.4f,         0.0f,
            0.0f,         0.4f,         0.8f,        -0.5f,        -1.0f,         0.1f,         0.2f,         0.0f,
            0.0f,        -0.4f,         0.8f,         0.5f,        -1.0f,        -0.1f,         0.2f,         0.0f,
            0.0f,  -0.1904762f,         0.0f,         1.0f,        -0.0f,        -1.0f,         0.0f,   0.1904762f
};
static const float wg_at_4_5[32] = {
       1.0f,    1.0f,    1.0f,    1.0f,    1.0f,    1.0f,    1.0f,    0.0f,
       0.0f,    1.0f,   -1.0f,    2.0f,   -2.0f,    0.5f,   -0.5f,    0.0f,
       0.0f,    1.0f,    1.0f,    4.0f,    4.0f,   0.25f,   0.25f,    0.0f,
       0.0f,    1.0f,   -1.0f,    8.0f,   -8.0f,  0.125f, -0.125f,    1.0f
};

static inline int wg_builtin(const float *coef, const float *table, size_t bytes) {
    return memcmp(coef, table, bytes) == 0;
}

#define BODY "winograd_body.inc"
#include "each_isa.inc"

void ddp_winograd_to_pixels(const float *planes, const float *mask, int channels, int height, int width, int top,
                            int left, int rows, int row_width, int lane_stride, float *pixels) {
    DISPATCH(winograd_to_pixels, planes, mask, channels, height, width, top, left, rows, row_width, lane_stride, pixels)
}

void ddp_winograd_add_to_planes(const float *pixels, int channels, int height, int width, int top, int left,
                                int row_width, int lane_stride, int overwrite, float *planes) {
    DISPATCH(winograd_add_to_planes, pixels, channels, height, width, top, left, row_width, lane_stride, overwrite, planes)
}

void ddp_winograd_input(const float *pixels, int lane_stride, int row_width, int tiles_y, int tiles_x, int m, int alpha,
                        const float *bt, float *v, int tile_stride, int first_tile) {
    DISPATCH(winograd_input, pixels, lane_stride, row_width, tiles_y, tiles_x, m, alpha, bt, v, tile_stride, first_tile)
}

void ddp_winograd_output(const float *mhat, int filters, int lane_stride, int tile_stride, int first_tile, int tiles_y,
                         int tiles_x, int m, int alpha, const float *at, const float *bias, int relu, float *y,
                         int out_h, int out_w) {
    DISPATCH(winograd_output, mhat, filters, lane_stride, tile_stride, first_tile, tiles_y, tiles_x, m, alpha, at, bias,
             relu, y, out_h, out_w)
}

void ddp_winograd_gradient(const float *pixels, int lane_stride, int row_width, int tiles_y, int tiles_x, int m,
                           int alpha, const float *at, float *dmhat, int tile_stride, int first_tile) {
    DISPATCH(winograd_gradient, pixels, lane_stride, row_width, tiles_y, tiles_x, m, alpha, at, dmhat, tile_stride,
             first_tile)
}

void ddp_winograd_input_gradient(const float *dvhat, int lane_stride, int tile_stride, int first_tile, int tiles_y,
                                 int tiles_x, int m, int alpha, const float *bt, float *pixels, int row_width) {
    DISPATCH(winograd_input_gradient, dvhat, lane_stride, tile_stride, first_tile, tiles_y, tiles_x, m, alpha, bt,
             pixels, row_width)
}

int ddp_winograd_builtin(int m, int alpha, const float *at, const float *bt) {
    if (m == 4 && alpha == 6) return wg_builtin(at, wg_at_4_3, sizeof wg_at_4_3) && wg_builtin(bt, wg_bt_4_3, sizeof wg_bt_4_3);
    if (m == 4 && alpha == 8) return wg_builtin(at, wg_at_4_5, sizeof wg_at_4_5) && wg_builtin(bt, wg_bt_4_5, sizeof wg_bt_4_5);
    return 0;
}
