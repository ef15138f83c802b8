/* pool.c -- 2-D max and average pooling kernels over (N,C,H,W), K x K windows moved by stride.
 *
 * OH = (H - K)/stride + 1, OW = (W - K)/stride + 1 (floored, no padding: a window that would
 * run off the edge is dropped, as PyTorch with padding=0, ceil_mode=False).
 *   max:  out[n,c,i,j] = max_{u,v<K} in[n,c, i*s+u, j*s+v]
 *         dL/din = dL/dout routed to the one input that won (its index saved as argmax); a tie
 *         goes to the first maximum in row-major window order.
 *   avg:  out[n,c,i,j] = (1/K^2) sum_{u,v<K} in[n,c, i*s+u, j*s+v]
 *         dL/din[y,x] += dL/dout[i,j] / K^2 for every window that contains (y,x).
 * One pass over the data, memory-bound and cheap next to the convolutions around it, so one
 * thread: an OpenMP team started right after a BLAS call fights BLAS's still-spinning workers
 * for the cores (see lib/conv2d.c). */
#include "nn.h"

/* out (N,C,OH,OW); argmax (N,C,OH,OW): index y*W + x of the winner within its (H,W) plane */
void nn_pool_max_forward(nn_real *out, int *argmax, const nn_real *in, int N, int C, int H,
                         int W, int K, int stride)
{
    const int OH = (H - K) / stride + 1, OW = (W - K) / stride + 1;
    for (int nc = 0; nc < N * C; nc++) {
        const nn_real *plane = in + (size_t)nc * H * W;
        nn_real *o = out + (size_t)nc * OH * OW;
        int *a = argmax + (size_t)nc * OH * OW;
        for (int i = 0; i < OH; i++)
            for (int j = 0; j < OW; j++) {
                int best = (i * stride) * W + j * stride;
                for (int u = 0; u < K; u++)
                    for (int v = 0; v < K; v++) {
                        const int at = (i * stride + u) * W + j * stride + v;
                        if (plane[at] > plane[best]) best = at;
                    }
                o[i * OW + j] = plane[best];
                a[i * OW + j] = best;
            }
    }
}

/* din (N,C,H,W) += dout (N,C,OH,OW) at the saved argmax positions */
void nn_pool_max_backward(nn_real *din, const nn_real *dout, const int *argmax, int N, int C,
                          int H, int W, int OH, int OW)
{
    for (int nc = 0; nc < N * C; nc++) {
        nn_real *plane = din + (size_t)nc * H * W;
        const nn_real *d = dout + (size_t)nc * OH * OW;
        const int *a = argmax + (size_t)nc * OH * OW;
        for (int p = 0; p < OH * OW; p++) plane[a[p]] += d[p];
    }
}

/* The 2x2 windows side by side of LeNet and most CNNs, written out: two input rows make one
 * output row, with no inner window loops. Same sums as the general loops below. */
static void avg2_forward(nn_real *restrict out, const nn_real *restrict in, int NC, int H, int W)
{
    const int OH = H / 2, OW = W / 2;
    for (int nc = 0; nc < NC; nc++)
        for (int i = 0; i < OH; i++) {
            const nn_real *r0 = in + ((size_t)nc * H + 2 * i) * W, *r1 = r0 + W;
            nn_real *o = out + ((size_t)nc * OH + i) * OW;
            for (int j = 0; j < OW; j++)
                o[j] = (r0[2 * j] + r0[2 * j + 1] + r1[2 * j] + r1[2 * j + 1]) * (nn_real)0.25;
        }
}
static void avg2_backward(nn_real *restrict din, const nn_real *restrict dout, int NC, int H,
                          int W)
{
    const int OH = H / 2, OW = W / 2;
    for (int nc = 0; nc < NC; nc++)
        for (int i = 0; i < OH; i++) {
            nn_real *r0 = din + ((size_t)nc * H + 2 * i) * W, *r1 = r0 + W;
            const nn_real *d = dout + ((size_t)nc * OH + i) * OW;
            for (int j = 0; j < OW; j++) {
                const nn_real share = d[j] * (nn_real)0.25;
                r0[2 * j] += share, r0[2 * j + 1] += share;
                r1[2 * j] += share, r1[2 * j + 1] += share;
            }
        }
}

/* out (N,C,OH,OW) = window means of in (N,C,H,W) */
void nn_pool_avg_forward(nn_real *out, const nn_real *in, int N, int C, int H, int W, int K,
                         int stride)
{
    if (K == 2 && stride == 2) {
        avg2_forward(out, in, N * C, H, W);
        return;
    }
    const int OH = (H - K) / stride + 1, OW = (W - K) / stride + 1;
    const double scale = 1.0 / ((double)K * K);
    for (int nc = 0; nc < N * C; nc++) {
        const nn_real *plane = in + (size_t)nc * H * W;
        nn_real *o = out + (size_t)nc * OH * OW;
        for (int i = 0; i < OH; i++)
            for (int j = 0; j < OW; j++) {
                double sum = 0;
                for (int u = 0; u < K; u++)
                    for (int v = 0; v < K; v++) sum += plane[(i * stride + u) * W + j * stride + v];
                o[i * OW + j] = (nn_real)(sum * scale);
            }
    }
}

/* din (N,C,H,W) += dout / K^2 spread over each window */
void nn_pool_avg_backward(nn_real *din, const nn_real *dout, int N, int C, int H, int W, int K,
                          int stride)
{
    if (K == 2 && stride == 2) {
        avg2_backward(din, dout, N * C, H, W);
        return;
    }
    const int OH = (H - K) / stride + 1, OW = (W - K) / stride + 1;
    const nn_real scale = (nn_real)(1.0 / ((double)K * K));
    for (int nc = 0; nc < N * C; nc++) {
        nn_real *plane = din + (size_t)nc * H * W;
        const nn_real *d = dout + (size_t)nc * OH * OW;
        for (int i = 0; i < OH; i++)
            for (int j = 0; j < OW; j++) {
                const nn_real share = d[i * OW + j] * scale;
                for (int u = 0; u < K; u++)
                    for (int v = 0; v < K; v++) plane[(i * stride + u) * W + j * stride + v] += share;
            }
    }
}
