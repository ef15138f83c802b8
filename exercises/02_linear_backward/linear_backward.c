/* linear_backward.c -- exercise 02: backpropagate through a linear layer.
 *
 * Read README.md first. Write your code between TODO BEGIN and TODO END; keep the signature.
 * Grade it with `make grade EX=02`. You may call library kernels such as nn_gemm (lib/nn.h).
 * All arrays are row-major: element [r,c] of a (rows,cols) array is a[r * cols + c]. */
#include "linear_backward.h"

void linear_backward(nn_real *dx, nn_real *dw, nn_real *db, const nn_real *dy,
                     const nn_real *x, const nn_real *w, int B, int in, int out)
{
    /* TODO BEGIN
     * dx (B,in)   = dy (B,out) @ w (out,in)
     * dw (out,in) = dy^T (out,B) @ x (B,in)
     * db (out)    = sum over b of dy[b,:]
     * Overwrite the outputs: they may hold anything when you are called. */

    /* TODO END */
}
