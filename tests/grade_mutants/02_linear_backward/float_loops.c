/* float_loops.c -- a correct linear backward with plain loops in nn_real (float), no nn_gemm:
 * it must score full marks, which shows the tolerances are not too tight. */
#include "linear_backward.h"

void linear_backward(nn_real *dx, nn_real *dw, nn_real *db, const nn_real *dy,
                     const nn_real *x, const nn_real *w, int B, int in, int out)
{
    for (int b = 0; b < B; b++)
        for (int i = 0; i < in; i++) {
            nn_real s = 0;
            for (int o = 0; o < out; o++) s += dy[b * out + o] * w[o * in + i];
            dx[b * in + i] = s;
        }
    for (int o = 0; o < out; o++) {
        for (int i = 0; i < in; i++) {
            nn_real s = 0;
            for (int b = 0; b < B; b++) s += dy[b * out + o] * x[b * in + i];
            dw[o * in + i] = s;
        }
        db[o] = 0;
        for (int b = 0; b < B; b++) db[o] += dy[b * out + o];
    }
}
