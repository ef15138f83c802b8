/* gather_float.c -- a correct convolution written another way, every sum in nn_real (float):
 * the forward starts from the bias and adds one (c, u, v) tap at a time over the whole output
 * plane (the loop order of im2col), and dinput is gathered: each input pixel (y, x) finds the
 * outputs that read it, i = (y + pad - u) / stride when that divides exactly. It must score
 * full marks, which shows the tolerances are not too tight and the grader does not insist on
 * one loop order. */
#include "conv2d.h"

void conv2d_forward(nn_real *out, const nn_real *in, const nn_real *weight, const nn_real *bias,
                    int N, int C, int H, int W, int OC, int KH, int KW, int stride, int pad)
{
    const int OH = (H + 2 * pad - KH) / stride + 1, OW = (W + 2 * pad - KW) / stride + 1;
    for (int n = 0; n < N; n++)
        for (int o = 0; o < OC; o++) {
            nn_real *plane = out + (size_t)(n * OC + o) * OH * OW;
            for (int k = 0; k < OH * OW; k++) plane[k] = bias[o];
            for (int c = 0; c < C; c++)
                for (int u = 0; u < KH; u++)
                    for (int v = 0; v < KW; v++) {
                        const nn_real w = weight[((o * C + c) * KH + u) * KW + v];
                        for (int i = 0; i < OH; i++) {
                            const int y = i * stride - pad + u;
                            if (y < 0 || y >= H) continue;
                            for (int j = 0; j < OW; j++) {
                                const int x = j * stride - pad + v;
                                if (x >= 0 && x < W) plane[i * OW + j] += w * in[((n * C + c) * H + y) * W + x];
                            }
                        }
                    }
        }
}

/* the output index that tap u of the window reads at input row y, or -1 */
static int source(int y, int u, int pad, int stride, int OH)
{
    const int t = y + pad - u;
    if (t < 0 || t % stride != 0 || t / stride >= OH) return -1;
    return t / stride;
}

void conv2d_backward(nn_real *dinput, nn_real *dweight, nn_real *dbias, const nn_real *dout,
                     const nn_real *in, const nn_real *weight, int N, int C, int H, int W,
                     int OC, int KH, int KW, int stride, int pad)
{
    const int OH = (H + 2 * pad - KH) / stride + 1, OW = (W + 2 * pad - KW) / stride + 1;
#define DOUT(n, o, i, j) dout[(((n) * OC + (o)) * OH + (i)) * OW + (j)]
    for (int o = 0; o < OC; o++) {
        nn_real s = 0;
        for (int n = 0; n < N; n++)
            for (int k = 0; k < OH * OW; k++) s += dout[(size_t)(n * OC + o) * OH * OW + k];
        dbias[o] = s;
    }
    for (int o = 0; o < OC; o++)
        for (int c = 0; c < C; c++)
            for (int u = 0; u < KH; u++)
                for (int v = 0; v < KW; v++) {
                    nn_real s = 0;
                    for (int n = 0; n < N; n++)
                        for (int i = 0; i < OH; i++)
                            for (int j = 0; j < OW; j++) {
                                const int y = i * stride - pad + u, x = j * stride - pad + v;
                                if (y >= 0 && y < H && x >= 0 && x < W)
                                    s += DOUT(n, o, i, j) * in[((n * C + c) * H + y) * W + x];
                            }
                    dweight[((o * C + c) * KH + u) * KW + v] = s;
                }
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++) {
                    nn_real s = 0;
                    for (int o = 0; o < OC; o++)
                        for (int u = 0; u < KH; u++) {
                            const int i = source(y, u, pad, stride, OH);
                            if (i < 0) continue;
                            for (int v = 0; v < KW; v++) {
                                const int j = source(x, v, pad, stride, OW);
                                if (j >= 0) s += DOUT(n, o, i, j) * weight[((o * C + c) * KH + u) * KW + v];
                            }
                        }
                    dinput[((n * C + c) * H + y) * W + x] = s;
                }
#undef DOUT
}
