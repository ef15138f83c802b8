/* conv2d.c -- exercise 07: a 2-D convolution, forward and backward, as direct loops.
 *
 * Read README.md first. Write your code between TODO BEGIN and TODO END; keep the signatures.
 * Grade it with `make grade EX=07`. Row-major indexing:
 *   in[n,c,y,x]      is in[((n * C + c) * H + y) * W + x]
 *   weight[o,c,u,v]  is weight[((o * C + c) * KH + u) * KW + v]
 *   out[n,o,i,j]     is out[((n * OC + o) * OH + i) * OW + j]
 * with OH = (H + 2 * pad - KH) / stride + 1 and OW = (W + 2 * pad - KW) / stride + 1. */
#include "conv2d.h"

void conv2d_forward(nn_real *out, const nn_real *in, const nn_real *weight, const nn_real *bias,
                    int N, int C, int H, int W, int OC, int KH, int KW, int stride, int pad)
{
    /* TODO BEGIN
     * For every output element (n, o, i, j):
     *   sum = bias[o]
     *   for every c, u, v:  y = i*stride - pad + u,  x = j*stride - pad + v
     *                       skip it if y or x falls outside 0..H-1 / 0..W-1 (the zero padding)
     *                       sum += weight[o,c,u,v] * in[n,c,y,x]
     *   out[n,o,i,j] = sum */

    /* TODO END */
}

void conv2d_backward(nn_real *dinput, nn_real *dweight, nn_real *dbias, const nn_real *dout,
                     const nn_real *in, const nn_real *weight, int N, int C, int H, int W,
                     int OC, int KH, int KW, int stride, int pad)
{
    /* TODO BEGIN
     *   1. zero dinput, dweight and dbias (they may hold anything when you are called)
     *   2. run over the same loops as the forward pass; wherever the forward did
     *          sum += weight[o,c,u,v] * in[n,c,y,x]   (for out[n,o,i,j])
     *      the backward does, with d = dout[n,o,i,j],
     *          dweight[o,c,u,v] += d * in[n,c,y,x]
     *          dinput[n,c,y,x]  += d * weight[o,c,u,v]
     *      and dbias[o] += d once per output element. */

    /* TODO END */
}
