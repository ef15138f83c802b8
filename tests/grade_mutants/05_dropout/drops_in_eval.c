/* drops_in_eval.c -- a deliberately wrong dropout: it drops units in evaluation mode too.
 * grade-expect: FAIL p = 0 and evaluation mode are the identity */
#include "dropout.h"

void dropout_forward(nn_real *y, const nn_real *x, const nn_real *u, size_t n, nn_real p,
                     int training)
{
    for (size_t i = 0; i < n; i++) y[i] = u[i] >= p ? x[i] / (1 - p) : 0;
}

void dropout_backward(nn_real *dx, const nn_real *dy, const nn_real *u, size_t n, nn_real p,
                      int training)
{
    for (size_t i = 0; i < n; i++) dx[i] = u[i] >= p ? dy[i] / (1 - p) : 0;
}
