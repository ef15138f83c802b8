/* ops_sequence.c -- the two ops sequence models add: an embedding lookup (gather, with a
 * scatter-add backward) and a slice along one axis (to cut a gate block out of a fused
 * pre-activation, or one time step out of a sequence). */
#include "ops.h"

#include <string.h>

/* embedding: y (n,D) with y[i,:] = W[ids[i],:] for a table W (V,D)
 *   dL/dW[v,:] = sum over every i with ids[i] = v of dL/dy[i,:]
 * Forward copies rows (a gather); backward adds each output row's gradient into the row it
 * came from (a scatter-add), so a character seen twice in a batch gets both gradients and
 * rows of characters not in the batch get nothing. The ids are data, not differentiable. */
nn_tensor *nn_embedding_op(nn_graph *g, nn_tensor *weight, const int *ids, int n)
{
    char s[64];
    if (weight->ndim != 2)
        nn_fail("nn_embedding: the table must be (vocab, dim), got %s",
                nn_shape_str(weight, s, sizeof s));
    if (n < 1) nn_fail("nn_embedding: %d ids (at least 1 needed)", n);
    const int V = weight->shape[0];
    for (int i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= V)
            nn_fail("nn_embedding: id %d at position %d is outside the table's 0..%d", ids[i], i,
                    V - 1);
    int shape[2] = {n, weight->shape[1]};
    nn_tensor *y = nn_op_output(g, NN_OP_EMBEDDING, 2, shape, weight, NULL, NULL);
    int *saved = nn_graph_alloc(g, (size_t)n * sizeof *saved);
    memcpy(saved, ids, (size_t)n * sizeof *saved);
    y->saved = saved;
    nn_op_run(y);
    return y;
}
void nn_op_embedding_forward(nn_tensor *y)
{
    const nn_tensor *w = y->src[0];
    const int *ids = y->saved, n = y->shape[0], D = y->shape[1];
    for (int i = 0; i < n; i++)
        memcpy(y->data + (size_t)i * D, w->data + (size_t)ids[i] * D, (size_t)D * sizeof(nn_real));
}
void nn_op_embedding_backward(nn_tensor *y)
{
    nn_tensor *w = y->src[0];
    if (!w->grad) return;
    const int *ids = y->saved, n = y->shape[0], D = y->shape[1];
    for (int i = 0; i < n; i++) {
        nn_real *dw = w->grad + (size_t)ids[i] * D;
        const nn_real *dy = y->grad + (size_t)i * D;
        for (int j = 0; j < D; j++) dw[j] += dy[j];
    }
}

/* slice: y = x[..., start:start+len, ...] along axis a.  dL/dx = dL/dy in those places, 0
 * elsewhere. Row-major, x is `outer` blocks of (n, inner) with outer = prod of the sizes
 * before a, n = x's size along a, inner = prod of the sizes after a; each block gives y one
 * contiguous run of len*inner numbers starting at start*inner. iarg: axis, start. */
nn_tensor *nn_slice(nn_graph *g, nn_tensor *x, int axis, int start, int len)
{
    char s[64];
    if (axis < 0 || axis >= x->ndim)
        nn_fail("nn_slice: axis %d out of range for %s", axis, nn_shape_str(x, s, sizeof s));
    if (start < 0 || len < 1 || start > x->shape[axis] - len)
        nn_fail("nn_slice: [%d, %d) along axis %d is not inside %s", start, start + len, axis,
                nn_shape_str(x, s, sizeof s));
    int shape[NN_MAX_DIMS];
    memcpy(shape, x->shape, sizeof shape);
    shape[axis] = len;
    nn_tensor *y = nn_op_output(g, NN_OP_SLICE, x->ndim, shape, x, NULL, NULL);
    y->iarg[0] = axis;
    y->iarg[1] = start;
    nn_op_run(y);
    return y;
}

/* the block geometry shared by forward and backward */
static void slice_geometry(const nn_tensor *y, size_t *outer, size_t *run, size_t *stride,
                           size_t *offset)
{
    const nn_tensor *x = y->src[0];
    const int axis = y->iarg[0];
    size_t o = 1, inner = 1;
    for (int d = 0; d < axis; d++) o *= (size_t)x->shape[d];
    for (int d = axis + 1; d < x->ndim; d++) inner *= (size_t)x->shape[d];
    *outer = o;
    *run = (size_t)y->shape[axis] * inner;       /* numbers copied per block */
    *stride = (size_t)x->shape[axis] * inner;    /* x's block size */
    *offset = (size_t)y->iarg[1] * inner;        /* where the run starts in a block */
}
void nn_op_slice_forward(nn_tensor *y)
{
    size_t outer, run, stride, offset;
    slice_geometry(y, &outer, &run, &stride, &offset);
    const nn_real *x = y->src[0]->data;
    for (size_t o = 0; o < outer; o++)
        memcpy(y->data + o * run, x + o * stride + offset, run * sizeof(nn_real));
}
void nn_op_slice_backward(nn_tensor *y)
{
    nn_tensor *x = y->src[0];
    if (!x->grad) return;
    size_t outer, run, stride, offset;
    slice_geometry(y, &outer, &run, &stride, &offset);
    for (size_t o = 0; o < outer; o++) {
        nn_real *restrict dx = x->grad + o * stride + offset;
        const nn_real *restrict dy = y->grad + o * run;
#pragma omp simd
        for (size_t i = 0; i < run; i++) dx[i] += dy[i];
    }
}
