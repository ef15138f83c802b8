/* batchnorm_backward.c -- exercise 06: backpropagate through batch normalisation.
 *
 * Read README.md first. Write your code between TODO BEGIN and TODO END; keep the signature.
 * Grade it with `make grade EX=06`. x[b,c] is x[b * C + c]. */
#include "batchnorm_backward.h"

void batchnorm_backward(nn_real *dx, nn_real *dgamma, nn_real *dbeta, const nn_real *dy,
                        const nn_real *x, const nn_real *gamma, const nn_real *mean,
                        const nn_real *rstd, int B, int C)
{
    /* TODO BEGIN
     * For each feature c:
     *   1. one pass over the batch: dbeta[c], dgamma[c] (xhat = (x - mean[c]) * rstd[c]),
     *      and the two means of dxhat = dy * gamma[c] and of dxhat * xhat
     *   2. a second pass: dx[b,c] = rstd[c] * (dxhat - mean(dxhat) - xhat * mean(dxhat*xhat)) */

    /* TODO END */
}
