/* ops_conv.c -- convolution and pooling as autograd ops: shape checks, then the kernels of
 * lib/conv2d.c and lib/pool.c (the equations are written there, above the loops). */
#include "ops.h"

/* ---- conv2d ------------------------------------------------------------------------------ */
/* y (N,OC,OH,OW) = conv(x (N,C,H,W), w (OC,C,KH,KW)) + b (OC);  iarg: stride, pad;
 * saved: the im2col workspace, from the graph's arena (used by forward and by backward). */

nn_tensor *nn_conv2d_op(nn_graph *g, nn_tensor *x, nn_tensor *weight, nn_tensor *bias, int stride,
                        int pad)
{
    char sx[64], sw[64], sb[64];
    if (x->ndim != 4 || weight->ndim != 4)
        nn_fail("nn_conv2d: input %s and weight %s must be (N,C,H,W) and (OC,C,KH,KW)",
                nn_shape_str(x, sx, sizeof sx), nn_shape_str(weight, sw, sizeof sw));
    const int N = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3];
    const int OC = weight->shape[0], KH = weight->shape[2], KW = weight->shape[3];
    if (weight->shape[1] != C)
        nn_fail("nn_conv2d: input %s has %d channels but weight %s expects %d",
                nn_shape_str(x, sx, sizeof sx), C, nn_shape_str(weight, sw, sizeof sw),
                weight->shape[1]);
    if (stride < 1 || pad < 0)
        nn_fail("nn_conv2d: stride must be >= 1 and pad >= 0, got stride %d pad %d", stride, pad);
    if (OC < 1 || KH < 1 || KW < 1 || H + 2 * pad < KH || W + 2 * pad < KW)
        nn_fail("nn_conv2d: kernel %dx%d of weight %s does not fit input %s padded by %d "
                "(%dx%d); expected a kernel of at most the padded size",
                KH, KW, nn_shape_str(weight, sw, sizeof sw), nn_shape_str(x, sx, sizeof sx), pad,
                H + 2 * pad, W + 2 * pad);
    if (bias && (bias->ndim != 1 || bias->shape[0] != OC))
        nn_fail("nn_conv2d: bias has shape %s, expected (%d) for weight %s",
                nn_shape_str(bias, sb, sizeof sb), OC, nn_shape_str(weight, sw, sizeof sw));
    const int shape[4] = {N, OC, (H + 2 * pad - KH) / stride + 1, (W + 2 * pad - KW) / stride + 1};
    nn_tensor *y = nn_op_output(g, NN_OP_CONV2D, 4, shape, x, weight, bias);
    y->iarg[0] = stride;
    y->iarg[1] = pad;
    if (nn_get_kernels() != NN_KERNELS_NAIVE) /* the naive loops need no workspace */
        y->saved = nn_graph_alloc_scratch( /* scratch: written before it is read */
            g, nn_size_mul(nn_conv2d_workspace_size(N, C, H, W, OC, KH, KW, stride, pad),
                           sizeof(nn_real), "nn_conv2d workspace"));
    nn_op_run(y);
    return y;
}

/* the kernel set may change between forward and backward: use the workspace if there is one */
void nn_op_conv2d_forward(nn_tensor *y)
{
    const nn_tensor *x = y->src[0], *w = y->src[1], *b = y->src[2];
    const int N = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3];
    const int OC = w->shape[0], KH = w->shape[2], KW = w->shape[3];
    if (y->saved)
        nn_conv2d_forward_im2col(y->data, x->data, w->data, b ? b->data : NULL, N, C, H, W, OC,
                                 KH, KW, y->iarg[0], y->iarg[1], y->saved);
    else
        nn_conv2d_forward_naive(y->data, x->data, w->data, b ? b->data : NULL, N, C, H, W, OC, KH,
                                KW, y->iarg[0], y->iarg[1]);
}
void nn_op_conv2d_backward(nn_tensor *y)
{
    nn_tensor *x = y->src[0], *w = y->src[1], *b = y->src[2];
    const int N = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3];
    const int OC = w->shape[0], KH = w->shape[2], KW = w->shape[3];
    nn_real *db = b ? b->grad : NULL;
    if (y->saved)
        nn_conv2d_backward_im2col(x->grad, w->grad, db, y->grad, x->data, w->data, N, C, H, W, OC,
                                  KH, KW, y->iarg[0], y->iarg[1], y->saved);
    else
        nn_conv2d_backward_naive(x->grad, w->grad, db, y->grad, x->data, w->data, N, C, H, W, OC,
                                 KH, KW, y->iarg[0], y->iarg[1]);
}

/* ---- pooling ------------------------------------------------------------------------------ */
/* y (N,C,OH,OW), OH = (H - k)/stride + 1;  iarg: k, stride;  max pool saves argmax (int) */

static void pool_shape(const char *op, const nn_tensor *x, int k, int *stride, int shape[4])
{
    char sx[64];
    if (x->ndim != 4)
        nn_fail("nn_%s: input %s must be (N,C,H,W)", op, nn_shape_str(x, sx, sizeof sx));
    if (*stride == 0) *stride = k; /* the default: windows side by side */
    if (k < 1 || *stride < 1)
        nn_fail("nn_%s: kernel must be >= 1 and stride >= 1 (or 0 for stride = kernel), got "
                "kernel %d stride %d", op, k, *stride);
    if (k > x->shape[2] || k > x->shape[3])
        nn_fail("nn_%s: window %dx%d does not fit input %s (no padding); expected at most %dx%d",
                op, k, k, nn_shape_str(x, sx, sizeof sx), x->shape[2], x->shape[3]);
    shape[0] = x->shape[0];
    shape[1] = x->shape[1];
    shape[2] = (x->shape[2] - k) / *stride + 1;
    shape[3] = (x->shape[3] - k) / *stride + 1;
}

nn_tensor *nn_maxpool2d(nn_graph *g, nn_tensor *x, int k, int stride)
{
    int shape[4];
    pool_shape("maxpool2d", x, k, &stride, shape);
    nn_tensor *y = nn_op_output(g, NN_OP_MAXPOOL2D, 4, shape, x, NULL, NULL);
    y->iarg[0] = k;
    y->iarg[1] = stride;
    y->saved = nn_graph_alloc(g, nn_size_mul(y->numel, sizeof(int), "nn_maxpool2d argmax"));
    nn_op_run(y);
    return y;
}
void nn_op_maxpool2d_forward(nn_tensor *y)
{
    const nn_tensor *x = y->src[0];
    nn_pool_max_forward(y->data, y->saved, x->data, x->shape[0], x->shape[1], x->shape[2],
                        x->shape[3], y->iarg[0], y->iarg[1]);
}
void nn_op_maxpool2d_backward(nn_tensor *y)
{
    nn_tensor *x = y->src[0];
    if (!x->grad) return;
    nn_pool_max_backward(x->grad, y->grad, y->saved, x->shape[0], x->shape[1], x->shape[2],
                         x->shape[3], y->shape[2], y->shape[3]);
}

nn_tensor *nn_avgpool2d(nn_graph *g, nn_tensor *x, int k, int stride)
{
    int shape[4];
    pool_shape("avgpool2d", x, k, &stride, shape);
    nn_tensor *y = nn_op_output(g, NN_OP_AVGPOOL2D, 4, shape, x, NULL, NULL);
    y->iarg[0] = k;
    y->iarg[1] = stride;
    nn_op_run(y);
    return y;
}
void nn_op_avgpool2d_forward(nn_tensor *y)
{
    const nn_tensor *x = y->src[0];
    nn_pool_avg_forward(y->data, x->data, x->shape[0], x->shape[1], x->shape[2], x->shape[3],
                        y->iarg[0], y->iarg[1]);
}
void nn_op_avgpool2d_backward(nn_tensor *y)
{
    nn_tensor *x = y->src[0];
    if (!x->grad) return;
    nn_pool_avg_backward(x->grad, y->grad, x->shape[0], x->shape[1], x->shape[2], x->shape[3],
                         y->iarg[0], y->iarg[1]);
}

/* ---- flatten: (N, C, H, W) -> (N, C*H*W), a reshape (same numbers, same order) ---------- */
nn_tensor *nn_flatten(nn_graph *g, nn_tensor *x)
{
    char sx[64];
    if (x->ndim < 1 || x->shape[0] < 1)
        nn_fail("nn_flatten: input %s needs a batch axis", nn_shape_str(x, sx, sizeof sx));
    return nn_reshape(g, x, 2, x->shape[0], (int)(x->numel / (size_t)x->shape[0]));
}
