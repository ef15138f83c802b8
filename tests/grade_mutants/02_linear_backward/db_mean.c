/* db_mean.c -- a deliberately wrong linear_backward: db averages dY over the batch instead of
 * summing it. Invisible with a batch of 1; the db check and the gradient check must catch it.
 * grade-expect: FAIL db = sum of dY over the batch
 * grade-expect: FAIL gradient check (double central differences) of linear + squared error */
#include "linear_backward.h"

void linear_backward(nn_real *dx, nn_real *dw, nn_real *db, const nn_real *dy,
                     const nn_real *x, const nn_real *w, int B, int in, int out)
{
    nn_gemm(0, 0, B, in, out, 1, dy, out, w, in, 0, dx, in);
    nn_gemm(1, 0, out, in, B, 1, dy, out, x, in, 0, dw, in);
    for (int o = 0; o < out; o++) db[o] = 0;
    for (int b = 0; b < B; b++)
        for (int o = 0; o < out; o++) db[o] += dy[(size_t)b * out + o] / B;
}
