/* dc_prev_without_f.c -- a deliberately wrong LSTM backward: it passes the cell's gradient
 * back unchanged, dc_prev = dct, forgetting that c = f * c_prev + i * g scales c_prev by the
 * forget gate. The gradients of the weights, x and h_prev are right.
 * grade-expect: FAIL dc_prev, the cell path through the forget gate
 * grade-expect: FAIL dh = 0 (gradient through c only): every output
 * grade-expect: FAIL dc = 0 (gradient through h only): the output gate and tanh'(c)
 * grade-expect: FAIL gradient check (double central differences) of every gradient, batch size 1 */
#include "lstm_backward.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void lstm_backward(nn_real *dx, nn_real *dh_prev, nn_real *dc_prev, nn_real *dw_ih,
                   nn_real *dw_hh, nn_real *db, const nn_real *dh, const nn_real *dc,
                   const nn_real *x, const nn_real *h_prev, const nn_real *c_prev,
                   const nn_real *w_ih, const nn_real *w_hh, const nn_real *gates, int B, int I,
                   int H)
{
    const int G = 4 * H;
    memset(dx, 0, (size_t)B * I * sizeof *dx);
    memset(dh_prev, 0, (size_t)B * H * sizeof *dh_prev);
    memset(dw_ih, 0, (size_t)G * I * sizeof *dw_ih);
    memset(dw_hh, 0, (size_t)G * H * sizeof *dw_hh);
    memset(db, 0, (size_t)G * sizeof *db);
    double *dz = malloc((size_t)G * sizeof *dz); /* one row of dL/dz: blocks i, f, g, o */
    if (!dz) abort();
    for (int b = 0; b < B; b++) {
        const nn_real *gt = gates + (size_t)b * G;
        for (int j = 0; j < H; j++) {
            const double i = gt[j], f = gt[H + j], g = gt[2 * H + j], o = gt[3 * H + j];
            const double cp = c_prev[b * H + j], d_h = dh[b * H + j];
            const double tc = tanh(f * cp + i * g); /* tanh of the new cell */
            /* c reaches the loss directly (dc) and through h = o tanh(c) */
            const double dct = dc[b * H + j] + d_h * o * (1 - tc * tc);
            dc_prev[b * H + j] = (nn_real)dct; /* wrong: times f missing */
            dz[j] = dct * g * i * (1 - i);              /* sigmoid' = s (1 - s) */
            dz[H + j] = dct * cp * f * (1 - f);
            dz[2 * H + j] = dct * i * (1 - g * g);      /* tanh' = 1 - tanh^2 */
            dz[3 * H + j] = d_h * tc * o * (1 - o);
        }
        /* z = x W_ih^T + h_prev W_hh^T + b: the linear layer's backward, twice */
        for (int r = 0; r < G; r++) {
            db[r] += (nn_real)dz[r];
            for (int k = 0; k < I; k++) {
                dw_ih[r * I + k] += (nn_real)(dz[r] * x[b * I + k]);
                dx[b * I + k] += (nn_real)(dz[r] * w_ih[r * I + k]);
            }
            for (int k = 0; k < H; k++) {
                dw_hh[r * H + k] += (nn_real)(dz[r] * h_prev[b * H + k]);
                dh_prev[b * H + k] += (nn_real)(dz[r] * w_hh[r * H + k]);
            }
        }
    }
    free(dz);
}
