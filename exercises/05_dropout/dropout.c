/* dropout.c -- exercise 05: inverted dropout, forward and backward.
 *
 * Read README.md first. Write your code between TODO BEGIN and TODO END; keep the signatures.
 * Grade it with `make grade EX=05`. */
#include "dropout.h"

void dropout_forward(nn_real *y, const nn_real *x, const nn_real *u, size_t n, nn_real p,
                     int training)
{
    /* TODO BEGIN
     * evaluation: y = x.  training: y[i] = u[i] >= p ? x[i] / (1 - p) : 0 */

    /* TODO END */
}

void dropout_backward(nn_real *dx, const nn_real *dy, const nn_real *u, size_t n, nn_real p,
                      int training)
{
    /* TODO BEGIN
     * the same mask as the forward pass, applied to dy */

    /* TODO END */
}
