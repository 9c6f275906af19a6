// See include/batch_norm.h. Three instruction sets from one body (batch_norm_body.inc).
#include "batch_norm.h"

#define BODY "batch_norm_body.inc"
#include "each_isa.inc"

float ddp_bn_sum(const float *x, int count) { DISPATCH(bn_sum, x, count) }

void ddp_bn_shifted_sums(const float *x, int count, float shift, float *sums) { DISPATCH(bn_shifted_sums, x, count, shift, sums) }

void ddp_bn_normalize(const float *x, float *y, int count, ddp_bn_plane plane, const float *addend) {
    DISPATCH(bn_normalize, x, y, count, plane, addend)
}

void ddp_bn_gradient_sums(const float *dy, const float *x, int count, ddp_bn_plane plane, float *sums) {
    DISPATCH(bn_gradient_sums, dy, x, count, plane, sums)
}

void ddp_bn_add_input_gradient(const float *dy, const float *x, float *dx, int count, ddp_bn_plane plane,
                               float factor, float scale_by, float mean_gradient, float mean_product, int overwrite) {
    DISPATCH(bn_add_input_gradient, dy, x, dx, count, plane, factor, scale_by, mean_gradient, mean_product, overwrite)
}
