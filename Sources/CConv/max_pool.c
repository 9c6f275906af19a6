// See include/max_pool.h. Three instruction sets from one body (max_pool_body.inc).
#include "max_pool.h"
#include "conv_direct.h"
#include <stddef.h>

#define ISA avx512
#define VL 16
#define TARGET "avx512f"
#include "max_pool_body.inc"
#undef ISA
#undef VL
#undef TARGET

#define ISA avx2
#define VL 8
#define TARGET "avx2,fma"
#include "max_pool_body.inc"
#undef ISA
#undef VL
#undef TARGET

#define ISA sse
#define VL 4
#include "max_pool_body.inc"
#undef ISA
#undef VL

void ddp_pool2x2(const float *x, int planes, int height, int width, int index_base, float *y, int *argmax) {
    switch (ddp_conv_active_width()) {
    case 16: pool2x2_avx512(x, planes, height, width, index_base, y, argmax); break;
    case 8: pool2x2_avx2(x, planes, height, width, index_base, y, argmax); break;
    default: pool2x2_sse(x, planes, height, width, index_base, y, argmax);
    }
}

void ddp_pool2x2_gradient(const float *dy, const float *output, const int *argmax, int index_base, int planes,
                          int height, int width, float *target) {
    switch (ddp_conv_active_width()) {
    case 16: pool2x2_gradient_avx512(dy, output, argmax, index_base, planes, height, width, target); break;
    case 8: pool2x2_gradient_avx2(dy, output, argmax, index_base, planes, height, width, target); break;
    default: pool2x2_gradient_sse(dy, output, argmax, index_base, planes, height, width, target);
    }
}
