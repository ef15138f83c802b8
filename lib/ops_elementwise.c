/* ops_elementwise.c -- add, sub, mul (with a row or scalar broadcast for b), scale.
 *
 * Broadcasting, kept small: b has a's shape, or b is a row whose length is a's last axis
 * (a bias added to every row), or b is a single number. In backward, a broadcast input
 * receives the sum of the gradients of every place it was copied to. */
#include "ops.h"

enum { SAME = 0, ROW = 1, SCALAR = 2 };

static nn_tensor *binary(nn_graph *g, nn_op op, nn_tensor *a, nn_tensor *b)
{
    int mode;
    if (nn_tensor_same_shape(a, b)) mode = SAME;
    else if (b->numel == 1) mode = SCALAR;
    else if (b->numel == (size_t)nn_last_dim(a) && (b->ndim == 1 || nn_rows(b) == 1)) mode = ROW;
    else {
        char sa[64], sb[64];
        nn_fail("nn_%s: shapes %s and %s do not match (b must have a's shape, be a row of "
                "length %d, or be a scalar)", nn_op_name(op), nn_shape_str(a, sa, sizeof sa),
                nn_shape_str(b, sb, sizeof sb), nn_last_dim(a));
    }
    nn_tensor *y = nn_op_output(g, op, a->ndim, a->shape, a, b, NULL);
    y->iarg[0] = mode;
    nn_op_run(y);
    return y;
}

/* index of b's element that pairs with a's element i */
static inline size_t b_index(const nn_tensor *y, size_t i)
{
    return y->iarg[0] == SAME ? i : y->iarg[0] == ROW ? i % (size_t)nn_last_dim(y) : 0;
}

nn_tensor *nn_add(nn_graph *g, nn_tensor *a, nn_tensor *b) { return binary(g, NN_OP_ADD, a, b); }
nn_tensor *nn_sub(nn_graph *g, nn_tensor *a, nn_tensor *b) { return binary(g, NN_OP_SUB, a, b); }
nn_tensor *nn_mul(nn_graph *g, nn_tensor *a, nn_tensor *b) { return binary(g, NN_OP_MUL, a, b); }

/* The same-shape case (every op of a recurrent cell) is by far the most common: it gets a
 * plain loop over restrict pointers that the compiler turns into SIMD instructions; the
 * broadcast cases go through b_index. */
#define SAME_LOOP(expr)                                                                         \
    do {                                                                                        \
        const size_t n_ = y->numel;                                                             \
        _Pragma("omp simd") for (size_t i = 0; i < n_; i++) expr;                              \
    } while (0)

/* add: y = a + b;  dL/da = dL/dy,  dL/db = dL/dy (summed over broadcast copies) */
void nn_op_add_forward(nn_tensor *y)
{
    const nn_tensor *a = y->src[0], *b = y->src[1];
    if (y->iarg[0] == SAME) {
        const nn_real *restrict ad = a->data, *restrict bd = b->data;
        nn_real *restrict yd = y->data;
        SAME_LOOP(yd[i] = ad[i] + bd[i]);
        return;
    }
    for (size_t i = 0; i < y->numel; i++) y->data[i] = a->data[i] + b->data[b_index(y, i)];
}
void nn_op_add_backward(nn_tensor *y)
{
    nn_tensor *a = y->src[0], *b = y->src[1];
    if (y->iarg[0] == SAME && a != b) {
        const nn_real *restrict dy = y->grad;
        nn_real *restrict da = a->grad, *restrict db = b->grad;
        if (da && db) SAME_LOOP((da[i] += dy[i], db[i] += dy[i])); /* one pass over dy */
        else if (da) SAME_LOOP(da[i] += dy[i]);
        else if (db) SAME_LOOP(db[i] += dy[i]);
        return;
    }
    for (size_t i = 0; i < y->numel; i++) {
        if (a->grad) a->grad[i] += y->grad[i];
        if (b->grad) b->grad[b_index(y, i)] += y->grad[i];
    }
}

/* sub: y = a - b;  dL/da = dL/dy,  dL/db = -dL/dy */
void nn_op_sub_forward(nn_tensor *y)
{
    const nn_tensor *a = y->src[0], *b = y->src[1];
    if (y->iarg[0] == SAME) {
        const nn_real *restrict ad = a->data, *restrict bd = b->data;
        nn_real *restrict yd = y->data;
        SAME_LOOP(yd[i] = ad[i] - bd[i]);
        return;
    }
    for (size_t i = 0; i < y->numel; i++) y->data[i] = a->data[i] - b->data[b_index(y, i)];
}
void nn_op_sub_backward(nn_tensor *y)
{
    nn_tensor *a = y->src[0], *b = y->src[1];
    if (y->iarg[0] == SAME && a != b) {
        const nn_real *restrict dy = y->grad;
        nn_real *restrict da = a->grad, *restrict db = b->grad;
        if (da && db) SAME_LOOP((da[i] += dy[i], db[i] -= dy[i]));
        else if (da) SAME_LOOP(da[i] += dy[i]);
        else if (db) SAME_LOOP(db[i] -= dy[i]);
        return;
    }
    for (size_t i = 0; i < y->numel; i++) {
        if (a->grad) a->grad[i] += y->grad[i];
        if (b->grad) b->grad[b_index(y, i)] -= y->grad[i];
    }
}

/* mul: y = a * b (elementwise);  dL/da = dL/dy * b,  dL/db = dL/dy * a */
void nn_op_mul_forward(nn_tensor *y)
{
    const nn_tensor *a = y->src[0], *b = y->src[1];
    if (y->iarg[0] == SAME) {
        const nn_real *restrict ad = a->data, *restrict bd = b->data;
        nn_real *restrict yd = y->data;
        SAME_LOOP(yd[i] = ad[i] * bd[i]);
        return;
    }
    for (size_t i = 0; i < y->numel; i++) y->data[i] = a->data[i] * b->data[b_index(y, i)];
}
void nn_op_mul_backward(nn_tensor *y)
{
    nn_tensor *a = y->src[0], *b = y->src[1];
    if (y->iarg[0] == SAME && a != b) {
        const nn_real *restrict dy = y->grad, *restrict ad = a->data, *restrict bd = b->data;
        nn_real *restrict da = a->grad, *restrict db = b->grad;
        if (da && db) SAME_LOOP((da[i] += dy[i] * bd[i], db[i] += dy[i] * ad[i]));
        else if (da) SAME_LOOP(da[i] += dy[i] * bd[i]);
        else if (db) SAME_LOOP(db[i] += dy[i] * ad[i]);
        return;
    }
    for (size_t i = 0; i < y->numel; i++) {
        size_t j = b_index(y, i);
        if (a->grad) a->grad[i] += y->grad[i] * b->data[j];
        if (b->grad) b->grad[j] += y->grad[i] * a->data[i];
    }
}

/* scale: y = s a;  dL/da = s dL/dy */
nn_tensor *nn_scale(nn_graph *g, nn_tensor *a, nn_real s)
{
    nn_tensor *y = nn_op_output(g, NN_OP_SCALE, a->ndim, a->shape, a, NULL, NULL);
    y->farg[0] = s;
    nn_op_run(y);
    return y;
}
void nn_op_scale_forward(nn_tensor *y)
{
    for (size_t i = 0; i < y->numel; i++) y->data[i] = y->farg[0] * y->src[0]->data[i];
}
void nn_op_scale_backward(nn_tensor *y)
{
    nn_tensor *a = y->src[0];
    if (a->grad)
        for (size_t i = 0; i < y->numel; i++) a->grad[i] += y->farg[0] * y->grad[i];
}
