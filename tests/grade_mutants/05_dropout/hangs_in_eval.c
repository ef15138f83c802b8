/* hangs_in_eval.c -- correct in training, but an endless loop in evaluation mode: the harness
 * must stop that check at the time limit (TIMEOUT) and grade the others.
 * grade-expect: TIMEOUT p = 0 and evaluation mode are the identity */
#include "dropout.h"

static void apply_mask(nn_real *out, const nn_real *in, const nn_real *u, size_t n, nn_real p,
                       int training)
{
    for (volatile int spin = 1; !training && spin;) {
        /* forgot to handle evaluation mode: waits forever */
    }
    nn_real scale = 1 / (1 - p);
    for (size_t i = 0; i < n; i++) out[i] = u[i] >= p ? in[i] * scale : 0;
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
