/* dropout.c -- reference solution of exercise 05 (instructors: remove before release). */
#include "dropout.h"

/* y = x * mask: mask = [u >= p] / (1-p) in training, 1 in evaluation */
static void apply_mask(nn_real *out, const nn_real *in, const nn_real *u, size_t n, nn_real p,
                       int training)
{
    nn_real scale = training ? 1 / (1 - p) : 1;
    for (size_t i = 0; i < n; i++)
        out[i] = !training || u[i] >= p ? in[i] * scale : 0;
}

void dropout_forward(nn_real *y, const nn_real *x, const nn_real *u, size_t n, nn_real p,
                     int training)
{
    apply_mask(y, x, u, n, p, training);
}

void dropout_backward(nn_real *dx, const nn_real *dy, const nn_real *u, size_t n, nn_real p,
                      int training)
{
    apply_mask(dx, dy, u, n, p, training);
}
