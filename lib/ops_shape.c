/* ops_shape.c -- reshape and transpose: they move numbers, so backward moves gradients back. */
#include "ops.h"

#include <stdarg.h>
#include <string.h>

/* reshape: the same numbers in the same order under a new shape; dL/dx = dL/dy reshaped */
nn_tensor *nn_reshape(nn_graph *g, nn_tensor *a, int ndim, ...)
{
    char s[64];
    if (ndim < 1 || ndim > NN_MAX_DIMS)
        nn_fail("nn_reshape: %d dimensions requested (1..%d supported)", ndim, NN_MAX_DIMS);
    int shape[NN_MAX_DIMS], infer = -1;
    size_t known = 1;
    va_list ap;
    va_start(ap, ndim);
    for (int i = 0; i < ndim; i++) {
        shape[i] = va_arg(ap, int);
        if (shape[i] == -1 && infer < 0) infer = i;
        else if (shape[i] < 0) {
            va_end(ap);
            nn_fail("nn_reshape: bad size %d in axis %d", shape[i], i);
        } else known *= (size_t)shape[i];
    }
    va_end(ap);
    if (infer >= 0) {
        if (known == 0 || a->numel % known)
            nn_fail("nn_reshape: cannot infer axis %d: %zu values do not divide into %zu",
                    infer, a->numel, known);
        shape[infer] = (int)(a->numel / known);
        known *= (size_t)shape[infer];
    }
    if (known != a->numel)
        nn_fail("nn_reshape: %s has %zu values, the new shape holds %zu",
                nn_shape_str(a, s, sizeof s), a->numel, known);
    nn_tensor *y = nn_op_output(g, NN_OP_RESHAPE, ndim, shape, a, NULL, NULL);
    nn_op_run(y);
    return y;
}
void nn_op_reshape_forward(nn_tensor *y)
{
    memcpy(y->data, y->src[0]->data, y->numel * sizeof(nn_real));
}
void nn_op_reshape_backward(nn_tensor *y)
{
    nn_tensor *x = y->src[0];
    if (!x->grad) return;
    const nn_real *restrict dy = y->grad;
    nn_real *restrict dx = x->grad;
    const size_t n = y->numel;
#pragma omp simd
    for (size_t i = 0; i < n; i++) dx[i] += dy[i];
}

/* transpose: swap two axes. y[..i..j..] = x[..j..i..]; backward swaps them back.
 * iarg[0], iarg[1] are the axes. For each output element we find its input element. */
nn_tensor *nn_transpose(nn_graph *g, nn_tensor *a, int axis0, int axis1)
{
    char s[64];
    if (axis0 < 0 || axis1 < 0 || axis0 >= a->ndim || axis1 >= a->ndim)
        nn_fail("nn_transpose: axes %d and %d out of range for %s", axis0, axis1,
                nn_shape_str(a, s, sizeof s));
    int shape[NN_MAX_DIMS];
    memcpy(shape, a->shape, sizeof shape);
    shape[axis0] = a->shape[axis1];
    shape[axis1] = a->shape[axis0];
    nn_tensor *y = nn_op_output(g, NN_OP_TRANSPOSE, a->ndim, shape, a, NULL, NULL);
    y->iarg[0] = axis0;
    y->iarg[1] = axis1;
    nn_op_run(y);
    return y;
}

/* index in x of y's element i */
static size_t transposed_index(const nn_tensor *y, size_t i)
{
    const nn_tensor *x = y->src[0];
    int idx[NN_MAX_DIMS];
    for (int d = y->ndim - 1; d >= 0; d--) {
        idx[d] = (int)(i % (size_t)y->shape[d]);
        i /= (size_t)y->shape[d];
    }
    int t = idx[y->iarg[0]];
    idx[y->iarg[0]] = idx[y->iarg[1]];
    idx[y->iarg[1]] = t;
    size_t j = 0;
    for (int d = 0; d < x->ndim; d++) j = j * (size_t)x->shape[d] + (size_t)idx[d];
    return j;
}
void nn_op_transpose_forward(nn_tensor *y)
{
    for (size_t i = 0; i < y->numel; i++) y->data[i] = y->src[0]->data[transposed_index(y, i)];
}
void nn_op_transpose_backward(nn_tensor *y)
{
    nn_tensor *x = y->src[0];
    if (!x->grad) return;
    for (size_t i = 0; i < y->numel; i++) x->grad[transposed_index(y, i)] += y->grad[i];
}
