/* transposed_dw.c -- a deliberately wrong linear_backward: dW is written transposed, as an
 * (in,out) array, a classic slip. The grader must take the points of the dW checks.
 * grade-expect: FAIL dW = dY^T X, odd shapes
 * grade-expect: FAIL batch size 1, outputs overwritten
 * grade-expect: FAIL gradient check (double central differences) of linear + squared error */
#include "linear_backward.h"

void linear_backward(nn_real *dx, nn_real *dw, nn_real *db, const nn_real *dy,
                     const nn_real *x, const nn_real *w, int B, int in, int out)
{
    nn_gemm(0, 0, B, in, out, 1, dy, out, w, in, 0, dx, in);
    nn_gemm(1, 0, in, out, B, 1, x, in, dy, out, 0, dw, out); /* x^T dy: (in,out), wrong */
    for (int o = 0; o < out; o++) db[o] = 0;
    for (int b = 0; b < B; b++)
        for (int o = 0; o < out; o++) db[o] += dy[(size_t)b * out + o];
}
