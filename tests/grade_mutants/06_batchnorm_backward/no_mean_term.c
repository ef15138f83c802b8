/* no_mean_term.c -- a deliberately wrong batch-norm backward: it forgets the gradient that
 * flows through the batch mean (the - mean(dxhat) term), as if mean were a constant.
 * grade-expect: FAIL dX against the reference
 * grade-expect: FAIL gradient check (double central differences) through the batch statistics
 * grade-expect: FAIL batch size 2 */
#include "batchnorm_backward.h"

void batchnorm_backward(nn_real *dx, nn_real *dgamma, nn_real *dbeta, const nn_real *dy,
                        const nn_real *x, const nn_real *gamma, const nn_real *mean,
                        const nn_real *rstd, int B, int C)
{
    for (int c = 0; c < C; c++) {
        double sum_dy = 0, sum_dy_xhat = 0;
        for (int b = 0; b < B; b++) {
            double xhat = (x[b * C + c] - mean[c]) * rstd[c];
            sum_dy += dy[b * C + c];
            sum_dy_xhat += dy[b * C + c] * xhat;
        }
        dbeta[c] = (nn_real)sum_dy;
        dgamma[c] = (nn_real)sum_dy_xhat;
        double m2 = gamma[c] * sum_dy_xhat / B;
        for (int b = 0; b < B; b++) {
            double xhat = (x[b * C + c] - mean[c]) * rstd[c];
            double dxhat = dy[b * C + c] * gamma[c];
            dx[b * C + c] = (nn_real)(rstd[c] * (dxhat - xhat * m2)); /* wrong: - mean(dxhat) */
        }
    }
}
