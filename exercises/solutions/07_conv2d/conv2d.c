/* conv2d.c -- reference solution of exercise 07 (instructors: remove before release). */
#include "conv2d.h"

#include <string.h>

void conv2d_forward(nn_real *out, const nn_real *in, const nn_real *weight, const nn_real *bias,
                    int N, int C, int H, int W, int OC, int KH, int KW, int stride, int pad)
{
    const int OH = (H + 2 * pad - KH) / stride + 1, OW = (W + 2 * pad - KW) / stride + 1;
    for (int n = 0; n < N; n++)
        for (int o = 0; o < OC; o++)
            for (int i = 0; i < OH; i++)
                for (int j = 0; j < OW; j++) {
                    double sum = bias[o];
                    for (int c = 0; c < C; c++)
                        for (int u = 0; u < KH; u++) {
                            const int y = i * stride - pad + u;
                            if (y < 0 || y >= H) continue; /* a row of the zero padding */
                            for (int v = 0; v < KW; v++) {
                                const int x = j * stride - pad + v;
                                if (x < 0 || x >= W) continue;
                                sum += (double)weight[((o * C + c) * KH + u) * KW + v] *
                                       in[((n * C + c) * H + y) * W + x];
                            }
                        }
                    out[((n * OC + o) * OH + i) * OW + j] = (nn_real)sum;
                }
}

void conv2d_backward(nn_real *dinput, nn_real *dweight, nn_real *dbias, const nn_real *dout,
                     const nn_real *in, const nn_real *weight, int N, int C, int H, int W,
                     int OC, int KH, int KW, int stride, int pad)
{
    const int OH = (H + 2 * pad - KH) / stride + 1, OW = (W + 2 * pad - KW) / stride + 1;
    memset(dinput, 0, (size_t)N * C * H * W * sizeof *dinput);
    memset(dweight, 0, (size_t)OC * C * KH * KW * sizeof *dweight);
    memset(dbias, 0, (size_t)OC * sizeof *dbias);
    /* the forward's loops; each product weight * in sends d to both of its factors */
    for (int n = 0; n < N; n++)
        for (int o = 0; o < OC; o++)
            for (int i = 0; i < OH; i++)
                for (int j = 0; j < OW; j++) {
                    const nn_real d = dout[((n * OC + o) * OH + i) * OW + j];
                    dbias[o] += d;
                    for (int c = 0; c < C; c++)
                        for (int u = 0; u < KH; u++) {
                            const int y = i * stride - pad + u;
                            if (y < 0 || y >= H) continue;
                            for (int v = 0; v < KW; v++) {
                                const int x = j * stride - pad + v;
                                if (x < 0 || x >= W) continue;
                                const int wi = ((o * C + c) * KH + u) * KW + v;
                                const int xi = ((n * C + c) * H + y) * W + x;
                                dweight[wi] += d * in[xi];
                                dinput[xi] += d * weight[wi];
                            }
                        }
                }
}
