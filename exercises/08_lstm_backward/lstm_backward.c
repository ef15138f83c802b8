/* lstm_backward.c -- exercise 08: backpropagate through one step of an LSTM cell.
 *
 * Read README.md first. Write your code between TODO BEGIN and TODO END; keep the signature.
 * Grade it with `make grade EX=08`. Row-major indexing:
 *   x[b,k]        is x[b * I + k]            h_prev, c_prev, dh, dc [b,j]  is [b * H + j]
 *   gates[b,G,j]  is gates[b * 4 * H + G * H + j]    G = 0 i, 1 f, 2 g, 3 o
 *   w_ih[r,k]     is w_ih[r * I + k]         w_hh[r,j]  is w_hh[r * H + j]    r in 0..4H-1 */
#include "lstm_backward.h"

void lstm_backward(nn_real *dx, nn_real *dh_prev, nn_real *dc_prev, nn_real *dw_ih,
                   nn_real *dw_hh, nn_real *db, const nn_real *dh, const nn_real *dc,
                   const nn_real *x, const nn_real *h_prev, const nn_real *c_prev,
                   const nn_real *w_ih, const nn_real *w_hh, const nn_real *gates, int B, int I,
                   int H)
{
    /* TODO BEGIN
     *   1. zero dx, dh_prev, dw_ih, dw_hh and db (they may hold anything when you are called)
     *   2. for every row b and unit j, read i, f, g, o from gates and
     *        c   = f * c_prev + i * g                   (recompute the new cell)
     *        tc  = tanh(c)
     *        dct = dc + dh * o * (1 - tc * tc)          (both paths into c: direct, and via h)
     *        dc_prev = dct * f
     *      and the four pre-activation gradients dz (one row of 4H, blocks i, f, g, o):
     *        dz_i = dct * g  * i * (1 - i)       dz_f = dct * c_prev * f * (1 - f)
     *        dz_g = dct * i  * (1 - g * g)       dz_o = dh * tc * o * (1 - o)
     *   3. with that row dz (4H):  db += dz,  dw_ih += dz^T x[b],  dw_hh += dz^T h_prev[b],
     *      dx[b] = dz W_ih  (sum over the 4H rows r),  dh_prev[b] = dz W_hh */

    /* TODO END */
}
