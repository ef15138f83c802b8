/* ops_dropout.c -- inverted dropout (Srivastava et al. 2014, "Dropout").
 *
 * During training every element is kept with probability 1-p and zeroed otherwise; the kept
 * ones are scaled by 1/(1-p) so the expected output equals the input. At evaluation time the
 * network is then used as is: dropout is the identity. */
#include "ops.h"

/* y = x * m,  m_i = k_i / (1-p),  k_i ~ Bernoulli(1-p) drawn from rng;   dL/dx = dL/dy * m
 * The scaled mask m (numel values, 0 or 1/(1-p)) is kept in y->saved for backward. */
nn_tensor *nn_dropout(nn_graph *g, nn_tensor *x, nn_real p, nn_rng *rng)
{
    if (!(p >= 0 && p < 1)) nn_fail("nn_dropout: p must be in [0,1), got %g", (double)p);
    if (!g->training || p == 0) return x; /* evaluation: the identity */
    if (!rng) nn_fail("nn_dropout: training mode needs an rng for the mask");
    nn_tensor *y = nn_op_output(g, NN_OP_DROPOUT, x->ndim, x->shape, x, NULL, NULL);
    y->farg[0] = p;
    nn_real *mask = nn_graph_alloc(g, x->numel * sizeof(nn_real));
    const nn_real keep_scale = (nn_real)(1.0 / (1.0 - (double)p));
    for (size_t i = 0; i < x->numel; i++) mask[i] = nn_rng_uniform(rng) >= p ? keep_scale : 0;
    y->saved = mask;
    nn_op_run(y);
    return y;
}
void nn_op_dropout_forward(nn_tensor *y)
{
    const nn_real *x = y->src[0]->data, *mask = y->saved;
    for (size_t i = 0; i < y->numel; i++) y->data[i] = x[i] * mask[i];
}
void nn_op_dropout_backward(nn_tensor *y)
{
    nn_tensor *x = y->src[0];
    const nn_real *mask = y->saved;
    if (!x->grad) return;
    for (size_t i = 0; i < y->numel; i++) x->grad[i] += y->grad[i] * mask[i];
}
