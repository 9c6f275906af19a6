// See include/small_product.h. Three instruction sets from one body (small_product_body.inc).
#include "small_product.h"

#define BODY "small_product_body.inc"
#include "each_isa.inc"

void ddp_small_product(int m, int n, int k, const float *a, int a_row, int a_depth, const float *b, int ldb,
                       int accumulate, float *c, int ldc) {
    DISPATCH(small_product, m, n, k, a, a_row, a_depth, b, ldb, accumulate, c, ldc)
}
