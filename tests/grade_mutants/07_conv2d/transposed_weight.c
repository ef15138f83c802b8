/* transposed_weight.c -- a deliberately wrong convolution: it reads and writes the weight as
 * if it were (C, OC, KH, KW), i.e. weight[c,o,u,v] = weight[((c * OC + o) * KH + u) * KW + v],
 * where the library's layout is (OC, C, KH, KW). It stays inside the array, so nothing
 * crashes: every filter just mixes the wrong weights (the grader keeps C != OC). dbias does
 * not involve the weight and is right.
 * grade-expect: FAIL forward, stride 1, no padding
 * grade-expect: FAIL forward with zero padding
 * grade-expect: FAIL forward, stride 2 and padding, output size rounded down
 * grade-expect: FAIL dweight, stride 1 and padding
 * grade-expect: FAIL dinput, stride 1 and padding
 * grade-expect: FAIL backward, stride 2 and padding, output size rounded down
 * grade-expect: FAIL 1x1 kernel, forward and backward
 * grade-expect: FAIL gradient check (double central differences) of dinput, dweight, dbias */
#include "conv2d.h"

#include <string.h>

/* wrong: (c, o) in the order of a (C, OC, KH, KW) array */
#define WIDX(o, c, u, v) ((((c) * OC + (o)) * KH + (u)) * KW + (v))

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
                            if (y < 0 || y >= H) continue;
                            for (int v = 0; v < KW; v++) {
                                const int x = j * stride - pad + v;
                                if (x < 0 || x >= W) continue;
                                sum += (double)weight[WIDX(o, c, u, v)] *
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
                                const int xi = ((n * C + c) * H + y) * W + x;
                                dweight[WIDX(o, c, u, v)] += d * in[xi];
                                dinput[xi] += d * weight[WIDX(o, c, u, v)];
                            }
                        }
                }
}
