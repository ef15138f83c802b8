/* ops_matmul.c -- matrix products: matmul and the fused linear layer op, both on nn_gemm. */
#include "ops.h"

#include <string.h>

/* matmul: Y = A B with A (M,K), B (K,N), Y (M,N)
 *   dL/dA = dL/dY B^T   (M,N)(N,K)
 *   dL/dB = A^T dL/dY   (K,M)(M,N) */
nn_tensor *nn_matmul(nn_graph *g, nn_tensor *a, nn_tensor *b)
{
    char sa[64], sb[64];
    if (a->ndim != 2 || b->ndim != 2 || a->shape[1] != b->shape[0])
        nn_fail("nn_matmul: shapes %s and %s cannot be multiplied", nn_shape_str(a, sa, sizeof sa),
                nn_shape_str(b, sb, sizeof sb));
    int shape[2] = {a->shape[0], b->shape[1]};
    nn_tensor *y = nn_op_output(g, NN_OP_MATMUL, 2, shape, a, b, NULL);
    nn_op_run(y);
    return y;
}
void nn_op_matmul_forward(nn_tensor *y)
{
    const nn_tensor *a = y->src[0], *b = y->src[1];
    int M = a->shape[0], K = a->shape[1], N = b->shape[1];
    nn_gemm(0, 0, M, N, K, 1, a->data, K, b->data, N, 0, y->data, N);
}
void nn_op_matmul_backward(nn_tensor *y)
{
    nn_tensor *a = y->src[0], *b = y->src[1];
    int M = a->shape[0], K = a->shape[1], N = b->shape[1];
    if (a->grad) nn_gemm(0, 1, M, K, N, 1, y->grad, N, b->data, N, 1, a->grad, K);
    if (b->grad) nn_gemm(1, 0, K, N, M, 1, a->data, K, y->grad, N, 1, b->grad, N);
}

/* linear: Y = X W^T + b with X (B,in), W (out,in), b (out), Y (B,out)
 *   dL/dX = dL/dY W      (B,out)(out,in)
 *   dL/dW = dL/dY^T X    (out,B)(B,in)
 *   dL/db = sum over the batch of dL/dY */
nn_tensor *nn_linear_op(nn_graph *g, nn_tensor *x, nn_tensor *weight, nn_tensor *bias)
{
    char sx[64], sw[64];
    if (weight->ndim != 2 || x->ndim != 2 || x->shape[1] != weight->shape[1])
        nn_fail("nn_linear: input %s does not fit weight %s (expected (batch,%d))",
                nn_shape_str(x, sx, sizeof sx), nn_shape_str(weight, sw, sizeof sw),
                weight->ndim == 2 ? weight->shape[1] : -1);
    if (bias && bias->numel != (size_t)weight->shape[0])
        nn_fail("nn_linear: bias has %zu values, expected %d", bias->numel, weight->shape[0]);
    int shape[2] = {x->shape[0], weight->shape[0]};
    nn_tensor *y = nn_op_output(g, NN_OP_LINEAR, 2, shape, x, weight, bias);
    nn_op_run(y);
    return y;
}
void nn_op_linear_forward(nn_tensor *y)
{
    const nn_tensor *x = y->src[0], *w = y->src[1], *b = y->src[2];
    int B = x->shape[0], in = x->shape[1], out = w->shape[0];
    if (b) { /* the bias first, in every row; then the GEMM adds X W^T to it (beta = 1) */
        for (int r = 0; r < B; r++)
            memcpy(y->data + (size_t)r * out, b->data, (size_t)out * sizeof(nn_real));
        nn_gemm(0, 1, B, out, in, 1, x->data, in, w->data, in, 1, y->data, out);
    } else {
        nn_gemm(0, 1, B, out, in, 1, x->data, in, w->data, in, 0, y->data, out);
    }
}
void nn_op_linear_backward(nn_tensor *y)
{
    nn_tensor *x = y->src[0], *w = y->src[1], *b = y->src[2];
    int B = x->shape[0], in = x->shape[1], out = w->shape[0];
    if (x->grad) nn_gemm(0, 0, B, in, out, 1, y->grad, out, w->data, in, 1, x->grad, in);
    if (w->grad) nn_gemm(1, 0, out, in, B, 1, y->grad, out, x->data, in, 1, w->grad, in);
    if (b && b->grad) nn_kernel_sum_rows(b->grad, y->grad, B, out);
}
