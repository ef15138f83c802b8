/* ops_loss.c -- losses, each a scalar mean over the batch. */
#include "ops.h"

#include <math.h>
#include <string.h>

#ifdef NN_DOUBLE
#define EXP exp
#else
#define EXP expf /* the float build: float's exp, exact enough and twice as fast */
#endif

/* softmax cross-entropy, fused: for logits z (B,C) and labels t,
 *   L = -(1/B) sum_b log softmax(z_b)[t_b]
 *   dL/dz_bj = (softmax(z_b)_j - [j == t_b]) / B
 * Fusing the two keeps it exact (log-sum-exp) and the gradient a single subtraction. */
typedef struct {
    int *labels;
    nn_real *probs; /* (B,C), kept for backward */
} sce_saved;

nn_tensor *nn_softmax_cross_entropy(nn_graph *g, nn_tensor *logits, const int *labels)
{
    char s[64];
    if (logits->ndim != 2)
        nn_fail("nn_softmax_cross_entropy: logits must be (batch, classes), got %s",
                nn_shape_str(logits, s, sizeof s));
    int B = logits->shape[0], C = logits->shape[1];
    for (int b = 0; b < B; b++)
        if (labels[b] < 0 || labels[b] >= C)
            nn_fail("nn_softmax_cross_entropy: label %d of example %d is outside 0..%d", labels[b],
                    b, C - 1);
    int one = 1;
    nn_tensor *y = nn_op_output(g, NN_OP_SOFTMAX_CROSS_ENTROPY, 1, &one, logits, NULL, NULL);
    sce_saved *sv = nn_graph_alloc(g, sizeof *sv);
    sv->labels = nn_graph_alloc(g, (size_t)B * sizeof(int));
    memcpy(sv->labels, labels, (size_t)B * sizeof(int));
    sv->probs = nn_graph_alloc(g, logits->numel * sizeof(nn_real));
    y->saved = sv;
    nn_op_run(y);
    return y;
}
/* one pass per row: e_j = exp(z_j - m) (m = max_j z_j, so nothing overflows), s = sum_j e_j;
 * then probs_j = e_j / s and -log softmax(z)[t] = log s - (z_t - m) */
void nn_op_softmax_cross_entropy_forward(nn_tensor *y)
{
    const nn_tensor *z = y->src[0];
    sce_saved *sv = y->saved;
    const int B = z->shape[0], C = z->shape[1];
    double loss = 0;
    for (int b = 0; b < B; b++) {
        const nn_real *zr = z->data + (size_t)b * C;
        nn_real *p = sv->probs + (size_t)b * C;
        nn_real m = zr[0];
        for (int j = 1; j < C; j++) m = zr[j] > m ? zr[j] : m;
        double sum = 0;
        for (int j = 0; j < C; j++) {
            p[j] = EXP(zr[j] - m);
            sum += p[j];
        }
        const nn_real inv = (nn_real)(1.0 / sum);
        for (int j = 0; j < C; j++) p[j] *= inv;
        loss += log(sum) - (double)(zr[sv->labels[b]] - m);
    }
    y->data[0] = (nn_real)(loss / B);
}
void nn_op_softmax_cross_entropy_backward(nn_tensor *y)
{
    nn_tensor *z = y->src[0];
    const sce_saved *sv = y->saved;
    if (!z->grad) return;
    int B = z->shape[0], C = z->shape[1];
    const nn_real scale = y->grad[0] / (nn_real)B;
    for (int b = 0; b < B; b++) {
        nn_real *restrict dz = z->grad + (size_t)b * C;
        const nn_real *restrict p = sv->probs + (size_t)b * C;
#pragma omp simd
        for (int j = 0; j < C; j++) dz[j] += scale * p[j];
        dz[sv->labels[b]] -= scale;
    }
}

static void check_same(const char *op, const nn_tensor *a, const nn_tensor *b)
{
    char sa[64], sb[64];
    if (a->numel != b->numel || a->numel == 0)
        nn_fail("nn_%s: prediction %s and target %s must have the same (non-empty) shape", op,
                nn_shape_str(a, sa, sizeof sa), nn_shape_str(b, sb, sizeof sb));
}

/* mean squared error: L = (1/n) sum_i (p_i - t_i)^2;  dL/dp_i = 2 (p_i - t_i) / n = -dL/dt_i */
nn_tensor *nn_mse(nn_graph *g, nn_tensor *pred, nn_tensor *target)
{
    check_same("mse", pred, target);
    int one = 1;
    nn_tensor *y = nn_op_output(g, NN_OP_MSE, 1, &one, pred, target, NULL);
    nn_op_run(y);
    return y;
}
void nn_op_mse_forward(nn_tensor *y)
{
    const nn_tensor *p = y->src[0], *t = y->src[1];
    double s = 0;
    for (size_t i = 0; i < p->numel; i++) {
        double d = (double)p->data[i] - (double)t->data[i];
        s += d * d;
    }
    y->data[0] = (nn_real)(s / (double)p->numel);
}
void nn_op_mse_backward(nn_tensor *y)
{
    nn_tensor *p = y->src[0], *t = y->src[1];
    nn_real k = 2 * y->grad[0] / (nn_real)p->numel;
    for (size_t i = 0; i < p->numel; i++) {
        nn_real d = k * (p->data[i] - t->data[i]);
        if (p->grad) p->grad[i] += d;
        if (t->grad) t->grad[i] -= d;
    }
}

/* binary cross-entropy on logits x with targets t in [0,1], p = sigmoid(x):
 *   l = -t log p - (1-t) log(1-p) = max(x,0) - x t + log(1 + e^{-|x|})   (never overflows)
 *   L = mean l;  dL/dx = (p - t) / n;  dL/dt = -x / n */
nn_tensor *nn_bce_with_logits(nn_graph *g, nn_tensor *logits, nn_tensor *targets)
{
    check_same("bce_with_logits", logits, targets);
    int one = 1;
    nn_tensor *y = nn_op_output(g, NN_OP_BCE_WITH_LOGITS, 1, &one, logits, targets, NULL);
    nn_op_run(y);
    return y;
}
void nn_op_bce_with_logits_forward(nn_tensor *y)
{
    const nn_tensor *x = y->src[0], *t = y->src[1];
    double s = 0;
    for (size_t i = 0; i < x->numel; i++) {
        double xi = x->data[i];
        s += (xi > 0 ? xi : 0) - xi * t->data[i] + log1p(exp(-fabs(xi)));
    }
    y->data[0] = (nn_real)(s / (double)x->numel);
}
void nn_op_bce_with_logits_backward(nn_tensor *y)
{
    nn_tensor *x = y->src[0], *t = y->src[1];
    nn_real k = y->grad[0] / (nn_real)x->numel;
    for (size_t i = 0; i < x->numel; i++) {
        nn_real p = (nn_real)(1.0 / (1.0 + exp(-(double)x->data[i])));
        if (x->grad) x->grad[i] += k * (p - t->data[i]);
        if (t->grad) t->grad[i] -= k * x->data[i];
    }
}
