/* no_scale.c -- a deliberately wrong dropout: the kept values are not scaled by 1/(1-p), so
 * the expected value shrinks by (1-p) in training.
 * grade-expect: FAIL forward in training: keep where u >= p, scale 1/(1-p)
 * grade-expect: FAIL backward in training: the same mask and scale
 * grade-expect: FAIL expected value preserved: mean of y is ~1 for x = 1 */
#include "dropout.h"

void dropout_forward(nn_real *y, const nn_real *x, const nn_real *u, size_t n, nn_real p,
                     int training)
{
    for (size_t i = 0; i < n; i++) y[i] = !training || u[i] >= p ? x[i] : 0;
}

void dropout_backward(nn_real *dx, const nn_real *dy, const nn_real *u, size_t n, nn_real p,
                      int training)
{
    for (size_t i = 0; i < n; i++) dx[i] = !training || u[i] >= p ? dy[i] : 0;
}
