/* float_only.c -- a correct LSTM backward written another way, every value in nn_real (float):
 * first the whole dz (B,4H) in a scratch array, then the gradients as three products with it
 * (dx = dz W_ih, dw_ih = dz^T x, ...), loop orders of a GEMM. It must score full marks, which
 * shows the tolerances are not too tight and the grader does not insist on one loop order. */
#include "lstm_backward.h"

#include <math.h>
#include <stdlib.h>

void lstm_backward(nn_real *dx, nn_real *dh_prev, nn_real *dc_prev, nn_real *dw_ih,
                   nn_real *dw_hh, nn_real *db, const nn_real *dh, const nn_real *dc,
                   const nn_real *x, const nn_real *h_prev, const nn_real *c_prev,
                   const nn_real *w_ih, const nn_real *w_hh, const nn_real *gates, int B, int I,
                   int H)
{
    const int G = 4 * H;
    nn_real *dz = malloc((size_t)B * G * sizeof *dz);
    if (!dz) abort();
    for (int b = 0; b < B; b++)
        for (int j = 0; j < H; j++) {
            const nn_real *gt = gates + b * G;
            nn_real i = gt[j], f = gt[H + j], g = gt[2 * H + j], o = gt[3 * H + j];
            nn_real c = f * c_prev[b * H + j] + i * g, tc = tanhf(c);
            nn_real dct = dc[b * H + j] + dh[b * H + j] * o * (1 - tc * tc);
            dc_prev[b * H + j] = dct * f;
            dz[b * G + j] = dct * g * i * (1 - i);
            dz[b * G + H + j] = dct * c_prev[b * H + j] * f * (1 - f);
            dz[b * G + 2 * H + j] = dct * i * (1 - g * g);
            dz[b * G + 3 * H + j] = dh[b * H + j] * tc * o * (1 - o);
        }
    for (int r = 0; r < G; r++) {
        nn_real s = 0;
        for (int b = 0; b < B; b++) s += dz[b * G + r];
        db[r] = s;
        for (int k = 0; k < I; k++) {
            nn_real t = 0;
            for (int b = 0; b < B; b++) t += dz[b * G + r] * x[b * I + k];
            dw_ih[r * I + k] = t;
        }
        for (int k = 0; k < H; k++) {
            nn_real t = 0;
            for (int b = 0; b < B; b++) t += dz[b * G + r] * h_prev[b * H + k];
            dw_hh[r * H + k] = t;
        }
    }
    for (int b = 0; b < B; b++) {
        for (int k = 0; k < I; k++) {
            nn_real t = 0;
            for (int r = 0; r < G; r++) t += dz[b * G + r] * w_ih[r * I + k];
            dx[b * I + k] = t;
        }
        for (int k = 0; k < H; k++) {
            nn_real t = 0;
            for (int r = 0; r < G; r++) t += dz[b * G + r] * w_hh[r * H + k];
            dh_prev[b * H + k] = t;
        }
    }
    free(dz);
}
