/* ops_reduce.c -- reductions to a scalar: sum and mean. */
#include "ops.h"

static nn_tensor *reduce(nn_graph *g, nn_op op, nn_tensor *a)
{
    if (a->numel == 0) nn_fail("nn_%s: the tensor is empty", nn_op_name(op));
    int one = 1;
    nn_tensor *y = nn_op_output(g, op, 1, &one, a, NULL, NULL);
    nn_op_run(y);
    return y;
}

nn_tensor *nn_sum(nn_graph *g, nn_tensor *a) { return reduce(g, NN_OP_SUM, a); }
nn_tensor *nn_mean(nn_graph *g, nn_tensor *a) { return reduce(g, NN_OP_MEAN, a); }

/* sum: y = sum_i x_i;  dL/dx_i = dL/dy */
void nn_op_sum_forward(nn_tensor *y)
{
    const nn_tensor *x = y->src[0];
    double s = 0;
    for (size_t i = 0; i < x->numel; i++) s += x->data[i];
    y->data[0] = (nn_real)s;
}
void nn_op_sum_backward(nn_tensor *y)
{
    nn_tensor *x = y->src[0];
    if (!x->grad) return;
    for (size_t i = 0; i < x->numel; i++) x->grad[i] += y->grad[0];
}

/* mean: y = (1/n) sum_i x_i;  dL/dx_i = dL/dy / n */
void nn_op_mean_forward(nn_tensor *y)
{
    const nn_tensor *x = y->src[0];
    double s = 0;
    for (size_t i = 0; i < x->numel; i++) s += x->data[i];
    y->data[0] = (nn_real)(s / (double)x->numel);
}
void nn_op_mean_backward(nn_tensor *y)
{
    nn_tensor *x = y->src[0];
    if (!x->grad) return;
    nn_real g = y->grad[0] / (nn_real)x->numel;
    for (size_t i = 0; i < x->numel; i++) x->grad[i] += g;
}
