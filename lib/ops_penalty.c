/* ops_penalty.c -- weight penalties: scalars a lesson adds to the loss as lambda * penalty. */
#include "ops.h"

#include <math.h>

static nn_tensor *penalty(nn_graph *g, nn_op op, nn_tensor *t)
{
    char s[64];
    if (t->numel == 0) nn_fail("nn_%s: empty tensor %s", nn_op_name(op), nn_shape_str(t, s, sizeof s));
    int one = 1;
    nn_tensor *y = nn_op_output(g, op, 1, &one, t, NULL, NULL);
    nn_op_run(y);
    return y;
}

nn_tensor *nn_l1_penalty(nn_graph *g, nn_tensor *t) { return penalty(g, NN_OP_L1_PENALTY, t); }
nn_tensor *nn_l2_penalty(nn_graph *g, nn_tensor *t) { return penalty(g, NN_OP_L2_PENALTY, t); }

/* L1 (lasso): P = sum_i |t_i|;  dP/dt_i = sign(t_i), taking 0 at t_i = 0 (a subgradient).
 * The constant-size pull towards zero is what makes L1 sparse: with this plain subgradient the
 * useless weights end up jittering within a step of 0 (a proximal step would land them on 0). */
void nn_op_l1_penalty_forward(nn_tensor *y)
{
    const nn_tensor *t = y->src[0];
    double s = 0;
    for (size_t i = 0; i < t->numel; i++) s += fabs((double)t->data[i]);
    y->data[0] = (nn_real)s;
}
void nn_op_l1_penalty_backward(nn_tensor *y)
{
    nn_tensor *t = y->src[0];
    if (!t->grad) return;
    const nn_real d = y->grad[0];
    for (size_t i = 0; i < t->numel; i++)
        t->grad[i] += t->data[i] > 0 ? d : t->data[i] < 0 ? -d : 0;
}

/* L2 (ridge, weight decay): P = 1/2 sum_i t_i^2;  dP/dt_i = t_i.
 * The 1/2 makes lambda * P add exactly lambda * w to each gradient: SGD's weight decay. */
void nn_op_l2_penalty_forward(nn_tensor *y)
{
    const nn_tensor *t = y->src[0];
    double s = 0;
    for (size_t i = 0; i < t->numel; i++) s += (double)t->data[i] * t->data[i];
    y->data[0] = (nn_real)(0.5 * s);
}
void nn_op_l2_penalty_backward(nn_tensor *y)
{
    nn_tensor *t = y->src[0];
    if (!t->grad) return;
    const nn_real d = y->grad[0];
    for (size_t i = 0; i < t->numel; i++) t->grad[i] += d * t->data[i];
}
