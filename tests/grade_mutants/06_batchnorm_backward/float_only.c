/* float_only.c -- a correct batch-norm backward written the plain way, every sum in nn_real
 * (float): it must score full marks, which shows the tolerances are not too tight. */
#include "batchnorm_backward.h"

void batchnorm_backward(nn_real *dx, nn_real *dgamma, nn_real *dbeta, const nn_real *dy,
                        const nn_real *x, const nn_real *gamma, const nn_real *mean,
                        const nn_real *rstd, int B, int C)
{
    for (int c = 0; c < C; c++) {
        nn_real mean_dxhat = 0, mean_dxhat_xhat = 0;
        dbeta[c] = 0;
        dgamma[c] = 0;
        for (int b = 0; b < B; b++) {
            nn_real xhat = (x[b * C + c] - mean[c]) * rstd[c], d = dy[b * C + c];
            dbeta[c] += d;
            dgamma[c] += d * xhat;
            mean_dxhat += d * gamma[c] / B;
            mean_dxhat_xhat += d * gamma[c] * xhat / B;
        }
        for (int b = 0; b < B; b++) {
            nn_real xhat = (x[b * C + c] - mean[c]) * rstd[c];
            dx[b * C + c] = rstd[c] * (dy[b * C + c] * gamma[c] - mean_dxhat - xhat * mean_dxhat_xhat);
        }
    }
}
