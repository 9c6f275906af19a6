// See include/winograd.h. Three instruction sets from one body (winograd_body.inc).
#include "winograd.h"
#include <immintrin.h>
#include <string.h>

#define BODY "winograd_body.inc"
#include "each_isa.inc"

void ddp_winograd_to_pixels(const float *planes, const float *mask, int channels, int height, int width, int top,
                            int left, int rows, int row_width, int lane_stride, float *pixels) {
    DISPATCH(winograd_to_pixels, planes, mask, channels, height, width, top, left, rows, row_width, lane_stride, pixels)
}

void ddp_winograd_add_to_planes(const float *pixels, int channels, int height, int width, int top, int left,
                                int row_width, int lane_stride, float *planes) {
    DISPATCH(winograd_add_to_planes, pixels, channels, height, width, top, left, row_width, lane_stride, planes)
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
