/* batchnorm_backward.h -- exercise 06: the fixed signature (do not change it). */
#ifndef BATCHNORM_BACKWARD_H
#define BATCHNORM_BACKWARD_H
#include "nn.h"

/* Backward pass of batch normalisation in training mode, per feature c over the batch:
 *   forward (done for you): mean[c] = 1/B sum_b x[b,c],  var[c] = 1/B sum_b (x[b,c]-mean[c])^2,
 *   rstd[c] = 1/sqrt(var[c] + eps),  xhat = (x - mean) * rstd,  y = gamma * xhat + beta
 *   x, dy (B,C); gamma, mean, rstd (C) as saved by the forward pass.
 * writes (overwrites):
 *   dbeta[c]  = sum_b dy[b,c]
 *   dgamma[c] = sum_b dy[b,c] * xhat[b,c]
 *   dx (B,C)  = rstd * (dxhat - mean_b(dxhat) - xhat * mean_b(dxhat * xhat)),  dxhat = dy * gamma */
void batchnorm_backward(nn_real *dx, nn_real *dgamma, nn_real *dbeta, const nn_real *dy,
                        const nn_real *x, const nn_real *gamma, const nn_real *mean,
                        const nn_real *rstd, int B, int C);

#endif
