/* conv2d.h -- exercise 07: the fixed signatures (do not change them). */
#ifndef CONV2D_H
#define CONV2D_H
#include "nn.h"

/* A 2-D convolution (cross-correlation, as in every deep-learning library: the filter is not
 * flipped) with zero padding `pad` on all four sides and step `stride`:
 *   OH = (H + 2 pad - KH) / stride + 1   (integer division: rounded down), OW likewise
 *   out[n,o,i,j] = bias[o] + sum_{c,u,v} weight[o,c,u,v] * in[n, c, i*stride - pad + u,
 *                                                                j*stride - pad + v]
 * where a read outside the input (the padding) is 0.
 * Shapes, row-major: in (N,C,H,W), weight (OC,C,KH,KW), bias (OC), out (N,OC,OH,OW).
 * writes (overwrites) out. */
void conv2d_forward(nn_real *out, const nn_real *in, const nn_real *weight, const nn_real *bias,
                    int N, int C, int H, int W, int OC, int KH, int KW, int stride, int pad);

/* The backward pass: given dout = dL/dout (N,OC,OH,OW) and the forward's in and weight,
 * writes (overwrites):
 *   dbias[o]          = sum_{n,i,j} dout[n,o,i,j]
 *   dweight[o,c,u,v]  = sum_{n,i,j} dout[n,o,i,j] * in[n, c, i*stride - pad + u, j*stride - pad + v]
 *   dinput[n,c,y,x]   = sum of dout[n,o,i,j] * weight[o,c,u,v] over every (o,i,j,u,v) with
 *                       y = i*stride - pad + u and x = j*stride - pad + v
 * Shapes: dinput like in, dweight like weight, dbias (OC). */
void conv2d_backward(nn_real *dinput, nn_real *dweight, nn_real *dbias, const nn_real *dout,
                     const nn_real *in, const nn_real *weight, int N, int C, int H, int W,
                     int OC, int KH, int KW, int stride, int pad);

#endif
