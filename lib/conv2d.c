/* conv2d.c -- 2-D convolution: the direct loops, the im2col + GEMM fast path, and the layer.
 *
 * A convolution slides OC filters of shape (C, KH, KW) over the zero-padded input:
 *   out[n,o,i,j] = b[o] + sum_{c,u,v} w[o,c,u,v] * in[n, c, i*stride - pad + u, j*stride - pad + v]
 * (reads outside the input are zeros), with OH = (H + 2 pad - KH)/stride + 1 (floored), same
 * for OW. Like PyTorch (and every deep-learning library) this is really cross-correlation:
 * the filter is not flipped.
 *
 * Backward, by the chain rule on the same sum (dout = dL/dout):
 *   dL/db[o]        = sum_{n,i,j} dout[n,o,i,j]
 *   dL/dw[o,c,u,v]  = sum_{n,i,j} dout[n,o,i,j] * in[n,c, i*s-pad+u, j*s-pad+v]
 *   dL/din[n,c,y,x] = sum of dout[n,o,i,j] * w[o,c,u,v] over every (o,i,j,u,v) that read
 *                     in[n,c,y,x]  (y = i*s-pad+u, x = j*s-pad+v)
 *
 * Two ways to compute it, chosen at run time by nn_set_kernels (like nn_gemm):
 *   naive   the sums above as direct loops, readable and checkable by hand;
 *   blas    im2col: copy every receptive field into a column of a matrix
 *             cols (C*KH*KW, OH*OW),  cols[(c,u,v), (i,j)] = in[c, i*s-pad+u, j*s-pad+v]
 *           so the whole convolution of an image is ONE matrix product
 *             out (OC, OH*OW) = W (OC, C*KH*KW) @ cols
 *           and backward is two more: dW += dout @ cols^T, dcols = W^T @ dout, after which
 *           col2im adds each column back where it came from (the reverse of im2col).
 *           The copy costs memory (KH*KW times the input) but GEMM runs near peak speed.
 * Threads: the GEMMs use BLAS's threads. The copies around them (im2col, col2im) are cheap,
 * memory-bound loops and stay on one thread: between two GEMMs, BLAS's workers are still
 * spinning, and an OpenMP team started then fights them for the cores (measured: 3-6x slower
 * on 2 cores). The naive loops, with no BLAS nearby, use OpenMP. A BLAS call is never made
 * inside an OpenMP region, so the two pools never oversubscribe the cores. */
#include "nn.h"

#include <math.h>
#include <string.h>

static int out_size(int in, int k, int stride, int pad) { return (in + 2 * pad - k) / stride + 1; }

/* ---- naive: the definition, loop by loop ------------------------------------------------ */

/* out (N,OC,OH,OW); in (N,C,H,W); weight (OC,C,KH,KW); bias (OC) or NULL */
void nn_conv2d_forward_naive(nn_real *out, const nn_real *in, const nn_real *weight,
                             const nn_real *bias, int N, int C, int H, int W, int OC, int KH,
                             int KW, int stride, int pad)
{
    const int OH = out_size(H, KH, stride, pad), OW = out_size(W, KW, stride, pad);
#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < N; n++)
        for (int o = 0; o < OC; o++)
            for (int i = 0; i < OH; i++)
                for (int j = 0; j < OW; j++) {
                    double sum = bias ? bias[o] : 0;
                    for (int c = 0; c < C; c++)
                        for (int u = 0; u < KH; u++) {
                            int y = i * stride - pad + u;
                            if (y < 0 || y >= H) continue; /* a zero of the padding */
                            for (int v = 0; v < KW; v++) {
                                int x = j * stride - pad + v;
                                if (x < 0 || x >= W) continue;
                                sum += (double)weight[((size_t)(o * C + c) * KH + u) * KW + v] *
                                       in[((size_t)(n * C + c) * H + y) * W + x];
                            }
                        }
                    out[((size_t)(n * OC + o) * OH + i) * OW + j] = (nn_real)sum;
                }
}

/* Accumulates (+=) into dinput (N,C,H,W), dweight (OC,C,KH,KW), dbias (OC); any may be NULL.
 * dout (N,OC,OH,OW); in, weight as in forward. Each gradient is its own loop nest, split so
 * that every thread owns what it writes (dweight by o, dinput by n): no races, and the same
 * sums in the same order for any thread count. */
void nn_conv2d_backward_naive(nn_real *dinput, nn_real *dweight, nn_real *dbias,
                              const nn_real *dout, const nn_real *in, const nn_real *weight,
                              int N, int C, int H, int W, int OC, int KH, int KW, int stride,
                              int pad)
{
    const int OH = out_size(H, KH, stride, pad), OW = out_size(W, KW, stride, pad);
#define DOUT(n, o, i, j) dout[((size_t)((n) * OC + (o)) * OH + (i)) * OW + (j)]
    if (dbias)
        for (int o = 0; o < OC; o++) {
            double sum = 0;
            for (int n = 0; n < N; n++)
                for (int i = 0; i < OH; i++)
                    for (int j = 0; j < OW; j++) sum += DOUT(n, o, i, j);
            dbias[o] += (nn_real)sum;
        }
    if (dweight) {
#pragma omp parallel for schedule(static)
        for (int o = 0; o < OC; o++)
            for (int n = 0; n < N; n++)
                for (int i = 0; i < OH; i++)
                    for (int j = 0; j < OW; j++) {
                        const nn_real d = DOUT(n, o, i, j);
                        for (int c = 0; c < C; c++)
                            for (int u = 0; u < KH; u++) {
                                int y = i * stride - pad + u;
                                if (y < 0 || y >= H) continue;
                                for (int v = 0; v < KW; v++) {
                                    int x = j * stride - pad + v;
                                    if (x < 0 || x >= W) continue;
                                    dweight[((size_t)(o * C + c) * KH + u) * KW + v] +=
                                        d * in[((size_t)(n * C + c) * H + y) * W + x];
                                }
                            }
                    }
    }
    if (dinput) {
#pragma omp parallel for schedule(static)
        for (int n = 0; n < N; n++)
            for (int o = 0; o < OC; o++)
                for (int i = 0; i < OH; i++)
                    for (int j = 0; j < OW; j++) {
                        const nn_real d = DOUT(n, o, i, j);
                        for (int c = 0; c < C; c++)
                            for (int u = 0; u < KH; u++) {
                                int y = i * stride - pad + u;
                                if (y < 0 || y >= H) continue;
                                for (int v = 0; v < KW; v++) {
                                    int x = j * stride - pad + v;
                                    if (x < 0 || x >= W) continue;
                                    dinput[((size_t)(n * C + c) * H + y) * W + x] +=
                                        d * weight[((size_t)(o * C + c) * KH + u) * KW + v];
                                }
                            }
                    }
    }
#undef DOUT
}

/* ---- im2col + GEMM ------------------------------------------------------------------------ */

/* The output columns j whose input column x = j*stride - pad + v falls inside [0, W):
 * j in [*lo, *hi). Outside it the padding reads zeros; inside it no test is needed. */
static void valid_columns(int v, int W, int stride, int pad, int OW, int *lo, int *hi)
{
    const int first = pad - v; /* x >= 0  <=>  j*stride >= pad - v */
    int a = first <= 0 ? 0 : (first + stride - 1) / stride;
    const int last = W - 1 + pad - v; /* x <= W-1  <=>  j*stride <= W-1+pad-v */
    int b = last < 0 ? 0 : last / stride + 1;
    if (a > OW) a = OW;
    if (b > OW) b = OW;
    *lo = a;
    *hi = b > a ? b : a;
}

/* one row r = (c*KH + u)*KW + v of an image's cols: dst[i*OW + j] = in[c, i*s-pad+u, j*s-pad+v]
 * Per output row: zeros for the padding on the left and right, the valid run in between
 * (a straight copy when stride is 1). */
static void im2col_row(nn_real *restrict dst, const nn_real *restrict in, int r, int H, int W,
                       int KH, int KW, int stride, int pad, int OH, int OW)
{
    const int c = r / (KH * KW), u = r / KW % KH, v = r % KW;
    const nn_real *plane = in + (size_t)c * H * W;
    int lo, hi;
    valid_columns(v, W, stride, pad, OW, &lo, &hi);
    for (int i = 0; i < OH; i++, dst += OW) {
        const int y = i * stride - pad + u;
        if (y < 0 || y >= H || hi == lo) { /* a row of padding */
            for (int j = 0; j < OW; j++) dst[j] = 0;
            continue;
        }
        /* src[k] = in[c, y, x] for x = (lo + k)*stride - pad + v, the first valid column */
        const nn_real *restrict src = plane + (size_t)y * W + (lo * stride - pad + v);
        nn_real *restrict d = dst + lo;
        const int n = hi - lo;
        for (int j = 0; j < lo; j++) dst[j] = 0;
        if (stride == 1) {
            memcpy(d, src, (size_t)n * sizeof *d);
        } else {
            for (int k = 0; k < n; k++) d[k] = src[(size_t)k * stride];
        }
        for (int j = hi; j < OW; j++) dst[j] = 0;
    }
}

/* cols (C*KH*KW rows, OH*OW used columns, row stride ldc) from one image in (C,H,W):
 *   cols[(c*KH + u)*KW + v, i*OW + j] = in[c, i*stride - pad + u, j*stride - pad + v] or 0.
 * ldc > OH*OW lets several images sit side by side in one wide matrix. */
void nn_conv2d_im2col(nn_real *cols, int ldc, const nn_real *in, int C, int H, int W, int KH,
                      int KW, int stride, int pad)
{
    const int OH = out_size(H, KH, stride, pad), OW = out_size(W, KW, stride, pad);
    for (int r = 0; r < C * KH * KW; r++)
        im2col_row(cols + (size_t)r * ldc, in, r, H, W, KH, KW, stride, pad, OH, OW);
}

/* g images side by side, in one parallel loop: image k's columns start at column k*OH*OW */
static void im2col_group(nn_real *cols, int ldc, const nn_real *in, int g, int C, int H, int W,
                         int KH, int KW, int stride, int pad)
{
    const int OH = out_size(H, KH, stride, pad), OW = out_size(W, KW, stride, pad);
    for (int k = 0; k < g; k++)
        for (int r = 0; r < C * KH * KW; r++)
            im2col_row(cols + (size_t)r * ldc + (size_t)k * OH * OW, in + (size_t)k * C * H * W, r,
                       H, W, KH, KW, stride, pad, OH, OW);
}

/* channel c of the reverse of im2col: din plane c += dcols rows (c, u, v) put back */
static void col2im_channel(nn_real *restrict plane, const nn_real *restrict dcols, int ldc, int c,
                           int H, int W, int KH, int KW, int stride, int pad, int OH, int OW)
{
    for (int u = 0; u < KH; u++)
        for (int v = 0; v < KW; v++) {
            const nn_real *src = dcols + (size_t)((c * KH + u) * KW + v) * ldc;
            int lo, hi;
            valid_columns(v, W, stride, pad, OW, &lo, &hi);
            if (hi == lo) continue; /* this (u, v) only ever reads padding */
            for (int i = 0; i < OH; i++, src += OW) {
                const int y = i * stride - pad + u;
                if (y < 0 || y >= H) continue;
                /* dst[k] = din[c, y, x] for x = (lo + k)*stride - pad + v */
                nn_real *dst = plane + (size_t)y * W + (lo * stride - pad + v);
                const nn_real *s = src + lo;
                const int n = hi - lo;
                if (stride == 1) {
#pragma omp simd
                    for (int k = 0; k < n; k++) dst[k] += s[k];
                } else {
                    for (int k = 0; k < n; k++) dst[(size_t)k * stride] += s[k];
                }
            }
        }
}

/* The reverse of im2col: din (C,H,W) += every column entry, added where it was read from. */
void nn_conv2d_col2im(nn_real *din, const nn_real *dcols, int ldc, int C, int H, int W, int KH,
                      int KW, int stride, int pad)
{
    const int OH = out_size(H, KH, stride, pad), OW = out_size(W, KW, stride, pad);
    for (int c = 0; c < C; c++)
        col2im_channel(din + (size_t)c * H * W, dcols, ldc, c, H, W, KH, KW, stride, pad, OH, OW);
}

static void col2im_group(nn_real *din, const nn_real *dcols, int ldc, int g, int C, int H, int W,
                         int KH, int KW, int stride, int pad)
{
    const int OH = out_size(H, KH, stride, pad), OW = out_size(W, KW, stride, pad);
    for (int k = 0; k < g; k++)
        for (int c = 0; c < C; c++)
            col2im_channel(din + ((size_t)k * C + c) * H * W, dcols + (size_t)k * OH * OW, ldc, c,
                           H, W, KH, KW, stride, pad, OH, OW);
}

/* Images are handled in groups of G at a time: the group's columns lie side by side,
 * cols (C*KH*KW, G*OH*OW), so one GEMM covers the group. Per-image GEMMs on small images are
 * small, but one GEMM over the whole batch needs a workspace of (C*KH*KW + OC) * N*OH*OW
 * numbers (677 MB for 1000 images of the lesson's second layer) and, worse, the columns are
 * written to memory by im2col and read back by the GEMM: kept small enough to stay in the
 * core's L2 cache, they are written and read at cache speed. Measured on a 2-core EPYC (1 and
 * 2 threads, LeNet-5 and 2-conv shapes, make bench section b): a budget of 64 K numbers
 * (256 KB of float: 1 to 3 images here) was 1.2-2x faster than 2 M (the whole batch). */
enum { WORKSPACE_BUDGET = 1 << 16 }; /* numbers per group */
static int batch_group(int N, int K, int OC, int P)
{
    const size_t per_image = (size_t)(K + OC) * P;
    size_t G = per_image ? WORKSPACE_BUDGET / per_image : (size_t)N;
    if (G < 1) G = 1;
    return G < (size_t)N ? (int)G : (N > 0 ? N : 1);
}

size_t nn_conv2d_workspace_size(int N, int C, int H, int W, int OC, int KH, int KW, int stride,
                                int pad)
{
    const size_t P = (size_t)out_size(H, KH, stride, pad) * out_size(W, KW, stride, pad);
    const size_t K = (size_t)C * KH * KW;
    const size_t G = (size_t)batch_group(N, (int)K, OC, (int)P);
    return nn_size_mul(G * P, K + (size_t)OC, "nn_conv2d workspace");
}

/* out (N,OC,OH,OW) = W (OC, K) @ cols (K, G*P) per group of G images, + bias.
 * workspace: nn_conv2d_workspace_size(...) reals: cols (K, G*P) then tmp (OC, G*P). */
void nn_conv2d_forward_im2col(nn_real *out, const nn_real *in, const nn_real *weight,
                              const nn_real *bias, int N, int C, int H, int W, int OC, int KH,
                              int KW, int stride, int pad, nn_real *workspace)
{
    const int OH = out_size(H, KH, stride, pad), OW = out_size(W, KW, stride, pad);
    const int P = OH * OW, K = C * KH * KW, G = batch_group(N, K, OC, P);
    nn_real *cols = workspace, *tmp = workspace + (size_t)K * G * P;
    for (int n0 = 0; n0 < N; n0 += G) {
        const int g = N - n0 < G ? N - n0 : G, ld = g * P;
        im2col_group(cols, ld, in + (size_t)n0 * C * H * W, g, C, H, W, KH, KW, stride, pad);
        nn_gemm(0, 0, OC, ld, K, 1, weight, K, cols, ld, 0, tmp, ld); /* (OC,K)(K,g*P) */
        /* tmp[o, k*P + p] -> out[n0+k, o, p], adding the bias */
        for (int k = 0; k < g; k++)
            for (int o = 0; o < OC; o++) {
                const nn_real *restrict src = tmp + (size_t)o * ld + (size_t)k * P;
                nn_real *restrict dst = out + ((size_t)(n0 + k) * OC + o) * P;
                const nn_real b = bias ? bias[o] : 0;
#pragma omp simd
                for (int p = 0; p < P; p++) dst[p] = src[p] + b;
            }
    }
}

/* Backward through out = W @ cols + b, per group (dout_g is dout rearranged to (OC, g*P)):
 *   dbias += row sums of dout_g,  dW += dout_g @ cols^T,  dcols = W^T @ dout_g, col2im.
 * cols are rebuilt from `in` (im2col again) so this kernel needs nothing from forward but
 * the same workspace size. Any of dinput, dweight, dbias may be NULL. */
void nn_conv2d_backward_im2col(nn_real *dinput, nn_real *dweight, nn_real *dbias,
                               const nn_real *dout, const nn_real *in, const nn_real *weight,
                               int N, int C, int H, int W, int OC, int KH, int KW, int stride,
                               int pad, nn_real *workspace)
{
    const int OH = out_size(H, KH, stride, pad), OW = out_size(W, KW, stride, pad);
    const int P = OH * OW, K = C * KH * KW, G = batch_group(N, K, OC, P);
    nn_real *cols = workspace, *dout_g = workspace + (size_t)K * G * P;
    if (dbias)
        for (int o = 0; o < OC; o++) {
            double sum = 0; /* over the images in double, within one plane in SIMD lanes */
            for (int n = 0; n < N; n++) {
                const nn_real *d = dout + ((size_t)n * OC + o) * P;
                nn_real plane = 0;
#pragma omp simd reduction(+ : plane)
                for (int p = 0; p < P; p++) plane += d[p];
                sum += plane;
            }
            dbias[o] += (nn_real)sum;
        }
    if (!dweight && !dinput) return;
    for (int n0 = 0; n0 < N; n0 += G) {
        const int g = N - n0 < G ? N - n0 : G, ld = g * P;
        for (int k = 0; k < g; k++)
            for (int o = 0; o < OC; o++)
                memcpy(dout_g + (size_t)o * ld + (size_t)k * P,
                       dout + ((size_t)(n0 + k) * OC + o) * P, (size_t)P * sizeof(nn_real));
        if (dweight) {
            im2col_group(cols, ld, in + (size_t)n0 * C * H * W, g, C, H, W, KH, KW, stride, pad);
            nn_gemm(0, 1, OC, K, ld, 1, dout_g, ld, cols, ld, 1, dweight, K); /* (OC,gP)(gP,K) */
        }
        if (dinput) {
            nn_gemm(1, 0, K, ld, OC, 1, weight, K, dout_g, ld, 0, cols, ld); /* (K,OC)(OC,gP) */
            col2im_group(dinput + (size_t)n0 * C * H * W, cols, ld, g, C, H, W, KH, KW, stride,
                         pad);
        }
    }
}

/* ---- the dispatchers: naive loops or im2col + GEMM, by nn_get_kernels() ------------------ */

void nn_conv2d_forward(nn_real *out, const nn_real *in, const nn_real *weight,
                       const nn_real *bias, int N, int C, int H, int W, int OC, int KH, int KW,
                       int stride, int pad, nn_real *workspace)
{
    if (nn_get_kernels() == NN_KERNELS_NAIVE)
        nn_conv2d_forward_naive(out, in, weight, bias, N, C, H, W, OC, KH, KW, stride, pad);
    else
        nn_conv2d_forward_im2col(out, in, weight, bias, N, C, H, W, OC, KH, KW, stride, pad,
                                 workspace);
}

void nn_conv2d_backward(nn_real *dinput, nn_real *dweight, nn_real *dbias, const nn_real *dout,
                        const nn_real *in, const nn_real *weight, int N, int C, int H, int W,
                        int OC, int KH, int KW, int stride, int pad, nn_real *workspace)
{
    if (nn_get_kernels() == NN_KERNELS_NAIVE)
        nn_conv2d_backward_naive(dinput, dweight, dbias, dout, in, weight, N, C, H, W, OC, KH, KW,
                                 stride, pad);
    else
        nn_conv2d_backward_im2col(dinput, dweight, dbias, dout, in, weight, N, C, H, W, OC, KH,
                                  KW, stride, pad, workspace);
}

/* ---- the layer ---------------------------------------------------------------------------- */

/* PyTorch's default for Conv2d: kaiming_uniform with a = sqrt(5), i.e. gain sqrt(2/(1+5)) and
 * bound gain sqrt(3/fan_in) = 1/sqrt(fan_in), fan_in = in_c*k*k; the bias uses the same bound. */
void nn_conv2d_init(nn_conv2d_layer *layer, nn_params *ps, const char *name, int in_channels,
                    int out_channels, int kernel, int stride, int pad, nn_rng *rng)
{
    if (in_channels < 1 || out_channels < 1 || kernel < 1 || stride < 1 || pad < 0)
        nn_fail("nn_conv2d_init: %s: expected in_channels, out_channels, kernel, stride >= 1 and "
                "pad >= 0, got %d, %d, %d, %d, %d", name, in_channels, out_channels, kernel,
                stride, pad);
    layer->in_channels = in_channels;
    layer->out_channels = out_channels;
    layer->kernel = kernel;
    layer->stride = stride;
    layer->pad = pad;
    const int wshape[4] = {out_channels, in_channels, kernel, kernel};
    char full[NN_NAME_MAX];
    layer->weight = nn_params_add(ps, nn_name_join(full, name, "weight"), 4, wshape);
    layer->bias = nn_params_add(ps, nn_name_join(full, name, "bias"), 1, &out_channels);
    const double bound = 1.0 / sqrt((double)in_channels * kernel * kernel);
    nn_rng_fill_uniform(rng, layer->weight->data, layer->weight->numel, -bound, bound);
    nn_rng_fill_uniform(rng, layer->bias->data, layer->bias->numel, -bound, bound);
}

nn_tensor *nn_conv2d(nn_graph *g, const nn_conv2d_layer *layer, nn_tensor *x)
{
    return nn_conv2d_op(g, x, layer->weight, layer->bias, layer->stride, layer->pad);
}
