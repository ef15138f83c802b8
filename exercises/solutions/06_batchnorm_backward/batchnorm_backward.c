/* batchnorm_backward.c -- reference solution of exercise 06 (instructors: remove before
 * release). */
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
        /* mean(dxhat) = gamma * sum_dy / B, mean(dxhat * xhat) = gamma * sum_dy_xhat / B */
        double m1 = gamma[c] * sum_dy / B, m2 = gamma[c] * sum_dy_xhat / B;
        for (int b = 0; b < B; b++) {
            double xhat = (x[b * C + c] - mean[c]) * rstd[c];
            double dxhat = dy[b * C + c] * gamma[c];
            dx[b * C + c] = (nn_real)(rstd[c] * (dxhat - m1 - xhat * m2));
        }
    }
}
