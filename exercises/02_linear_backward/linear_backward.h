/* linear_backward.h -- exercise 02: the fixed signature (do not change it). */
#ifndef LINEAR_BACKWARD_H
#define LINEAR_BACKWARD_H
#include "nn.h"

/* Backward pass of y = x W^T + b.
 *   x  (B,in)   the layer's input          w  (out,in)  the weights
 *   dy (B,out)  dL/dy, from the layer above
 * writes (overwrites, never +=):
 *   dx (B,in) = dy W        dw (out,in) = dy^T x        db (out) = sum over the batch of dy */
void linear_backward(nn_real *dx, nn_real *dw, nn_real *db, const nn_real *dy,
                     const nn_real *x, const nn_real *w, int B, int in, int out);

#endif
