// See include/max_pool.h. Three instruction sets from one body (max_pool_body.inc).
#include "max_pool.h"
#include <stddef.h>

#define BODY "max_pool_body.inc"
#include "each_isa.inc"

void ddp_pool2x2(const float *x, int planes, int height, int width, int row_stride, int plane_stride, const float *bias,
                 int relu, int index_base, float *y, int *argmax) {
    DISPATCH(pool2x2, x, planes, height, width, row_stride, plane_stride, bias, relu, index_base, y, argmax)
}

void ddp_pool2x2_gradient(const float *dy, const float *output, const int *argmax, int index_base, int planes,
                          int height, int width, int row_stride, int plane_stride, float *target) {
    DISPATCH(pool2x2_gradient, dy, output, argmax, index_base, planes, height, width, row_stride, plane_stride, target)
}

void ddp_pool3x3s2(const float *x, int planes, int height, int width, int out_h, int out_w, int index_base, float *y,
                   int *argmax) {
    DISPATCH(pool3x3s2, x, planes, height, width, out_h, out_w, index_base, y, argmax)
}
