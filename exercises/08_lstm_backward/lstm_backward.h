/* lstm_backward.h -- exercise 08: the fixed signature (do not change it). */
#ifndef LSTM_BACKWARD_H
#define LSTM_BACKWARD_H
#include "nn.h"

/* Backward pass of one step of an LSTM cell, PyTorch's layout (lib/rnn.c, docs/08_rnn.md).
 * The forward pass (done for you):
 *   z = x W_ih^T + b_ih + h_prev W_hh^T + b_hh          (B,4H), four blocks [i | f | g | o]
 *   i = sigmoid(z_i)  f = sigmoid(z_f)  g = tanh(z_g)  o = sigmoid(z_o)
 *   c = f * c_prev + i * g        h = o * tanh(c)        (B,H), * elementwise
 * Inputs, row-major:
 *   dh, dc (B,H)      dL/dh and dL/dc arriving from above (the output layer, the next step)
 *   x (B,I), h_prev (B,H), c_prev (B,H)        the step's inputs
 *   w_ih (4H,I), w_hh (4H,H)                    the weights, gate blocks one below the other
 *   gates (B,4H)      i, f, g, o after their nonlinearities, as the forward saved them:
 *                     gate k (0 i, 1 f, 2 g, 3 o) of row b, unit j is gates[b*4H + k*H + j]
 * writes (overwrites):
 *   dx (B,I), dh_prev (B,H), dc_prev (B,H)
 *   dw_ih (4H,I), dw_hh (4H,H)  summed over the batch
 *   db (4H)           the gradient of b_ih and of b_hh (they are the same: z adds both) */
void lstm_backward(nn_real *dx, nn_real *dh_prev, nn_real *dc_prev, nn_real *dw_ih,
                   nn_real *dw_hh, nn_real *db, const nn_real *dh, const nn_real *dc,
                   const nn_real *x, const nn_real *h_prev, const nn_real *c_prev,
                   const nn_real *w_ih, const nn_real *w_hh, const nn_real *gates, int B, int I,
                   int H);

#endif
