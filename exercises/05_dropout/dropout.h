/* dropout.h -- exercise 05: the fixed signatures (do not change them). */
#ifndef DROPOUT_H
#define DROPOUT_H
#include "nn.h"

/* Inverted dropout over n elements, with the random draws given: u (n) uniform in [0,1).
 * Training (training != 0): element i is kept when u[i] >= p and then scaled by 1/(1-p),
 * dropped (0) when u[i] < p. Evaluation (training == 0): the identity. 0 <= p < 1.
 *   forward:  y  = x  * mask      backward: dx = dy * mask
 * where mask[i] = [u[i] >= p] / (1-p) in training and 1 in evaluation. Outputs are
 * overwritten. */
void dropout_forward(nn_real *y, const nn_real *x, const nn_real *u, size_t n, nn_real p,
                     int training);
void dropout_backward(nn_real *dx, const nn_real *dy, const nn_real *u, size_t n, nn_real p,
                      int training);

#endif
