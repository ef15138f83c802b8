/* ops_norm.c -- normalisation: batch norm (Ioffe & Szegedy 2015) and layer norm (Ba et al.
 * 2016). Both compute xhat = (x - mean) / sqrt(var + eps) over some group of numbers, then
 * y = gamma xhat + beta with a learnt scale and shift per feature.
 *
 * Backward through the statistics. For one group of M numbers with dxhat_i = dL/dy_i gamma,
 * mean and var depend on every x_i, so (with rstd = 1/sqrt(var + eps))
 *   dL/dx_i = rstd / M * (M dxhat_i - sum_j dxhat_j - xhat_i sum_j dxhat_j xhat_j)
 *   dL/dgamma = sum dL/dy xhat,   dL/dbeta = sum dL/dy   (summed over the group's uses)
 * When the statistics are constants (batch norm in evaluation mode), dL/dx_i = dxhat_i rstd. */
#include "ops.h"

#include <math.h>

typedef struct {
    nn_real *mean, *rstd;                /* per group, what backward needs */
    nn_real *running_mean, *running_var; /* batch norm: the caller's arrays, or NULL */
} norm_saved;

static void check_affine(const char *op, const nn_tensor *x, const nn_tensor *p,
                         const char *pname, int features)
{
    char sx[64], sp[64];
    if (p && (p->ndim != 1 || p->shape[0] != features))
        nn_fail("nn_%s: %s has shape %s but x %s needs (%d)", op, pname,
                nn_shape_str(p, sp, sizeof sp), nn_shape_str(x, sx, sizeof sx), features);
}

static nn_real gamma_at(const nn_tensor *y, int c) { return y->src[1] ? y->src[1]->data[c] : 1; }
static nn_real beta_at(const nn_tensor *y, int c) { return y->src[2] ? y->src[2]->data[c] : 0; }

/* ---- batch norm ------------------------------------------------------------------------ */
/* x is viewed as (outer, C, inner): (B,C) has inner 1, (N,C,H,W) has outer N and inner H W.
 * Channel c's group is the M = outer * inner numbers x[o, c, s]. */

nn_tensor *nn_batchnorm(nn_graph *g, nn_tensor *x, nn_tensor *gamma, nn_tensor *beta,
                        nn_real *running_mean, nn_real *running_var, nn_real momentum,
                        nn_real eps)
{
    char sx[64];
    if (x->ndim != 2 && x->ndim != 4)
        nn_fail("nn_batchnorm: x must be (batch, features) or (N, C, H, W), got %s",
                nn_shape_str(x, sx, sizeof sx));
    int C = x->shape[1];
    int inner = x->ndim == 4 ? x->shape[2] * x->shape[3] : 1;
    size_t M = x->numel / (size_t)(C ? C : 1);
    if (C < 1 || M < 1) nn_fail("nn_batchnorm: empty input %s", nn_shape_str(x, sx, sizeof sx));
    check_affine("batchnorm", x, gamma, "gamma", C);
    check_affine("batchnorm", x, beta, "beta", C);
    if (!(eps > 0)) nn_fail("nn_batchnorm: eps must be positive, got %g", (double)eps);
    if (g->training) {
        if (M < 2)
            nn_fail("nn_batchnorm: training mode needs more than one value per channel, x is %s",
                    nn_shape_str(x, sx, sizeof sx));
        if ((running_mean == NULL) != (running_var == NULL))
            nn_fail("nn_batchnorm: give both running_mean and running_var, or neither");
        if (!(momentum >= 0 && momentum <= 1))
            nn_fail("nn_batchnorm: momentum must be in [0,1], got %g", (double)momentum);
    } else if (!running_mean || !running_var) {
        nn_fail("nn_batchnorm: evaluation mode needs running_mean and running_var");
    }
    nn_tensor *y = nn_op_output(g, NN_OP_BATCHNORM, x->ndim, x->shape, x, gamma, beta);
    norm_saved *sv = nn_graph_alloc(g, sizeof *sv);
    sv->mean = nn_graph_alloc(g, (size_t)C * sizeof(nn_real));
    sv->rstd = nn_graph_alloc(g, (size_t)C * sizeof(nn_real));
    sv->running_mean = running_mean;
    sv->running_var = running_var;
    y->saved = sv;
    y->iarg[0] = g->training;
    y->iarg[1] = C;
    y->iarg[2] = inner;
    y->farg[0] = momentum;
    y->farg[1] = eps;
    nn_op_run(y);
    return y;
}

/* train: mean_c = (1/M) sum x,  var_c = (1/M) sum (x - mean_c)^2 (biased), and
 *   running_mean = (1-momentum) running_mean + momentum mean_c
 *   running_var  = (1-momentum) running_var  + momentum var_c M/(M-1)   (unbiased)
 * eval:  mean_c, var_c = running_mean, running_var
 * both:  y = gamma_c (x - mean_c) / sqrt(var_c + eps) + beta_c */
void nn_op_batchnorm_forward(nn_tensor *y)
{
    const nn_tensor *x = y->src[0];
    norm_saved *sv = y->saved;
    const int training = y->iarg[0], C = y->iarg[1], inner = y->iarg[2];
    const size_t outer = x->numel / ((size_t)C * inner), M = outer * inner;
    const nn_real momentum = y->farg[0], eps = y->farg[1];
    for (int c = 0; c < C; c++) {
        double mean, var;
        if (training) {
            double s = 0, ss = 0;
            for (size_t o = 0; o < outer; o++) {
                const nn_real *xc = x->data + (o * C + c) * inner;
                for (int i = 0; i < inner; i++) s += xc[i];
            }
            mean = s / (double)M;
            for (size_t o = 0; o < outer; o++) {
                const nn_real *xc = x->data + (o * C + c) * inner;
                for (int i = 0; i < inner; i++) ss += (xc[i] - mean) * (xc[i] - mean);
            }
            var = ss / (double)M;
            if (sv->running_mean) {
                sv->running_mean[c] = (nn_real)((1 - momentum) * sv->running_mean[c] + momentum * mean);
                sv->running_var[c] = (nn_real)((1 - momentum) * sv->running_var[c] +
                                               momentum * var * (double)M / (double)(M - 1));
            }
        } else {
            mean = sv->running_mean[c];
            var = sv->running_var[c];
        }
        sv->mean[c] = (nn_real)mean;
        sv->rstd[c] = (nn_real)(1.0 / sqrt(var + eps));
        const nn_real m = sv->mean[c], r = sv->rstd[c], ga = gamma_at(y, c), be = beta_at(y, c);
        for (size_t o = 0; o < outer; o++) {
            const nn_real *xc = x->data + (o * C + c) * inner;
            nn_real *yc = y->data + (o * C + c) * inner;
            for (int i = 0; i < inner; i++) yc[i] = ga * (xc[i] - m) * r + be;
        }
    }
}
void nn_op_batchnorm_backward(nn_tensor *y)
{
    nn_tensor *x = y->src[0], *gamma = y->src[1], *beta = y->src[2];
    const norm_saved *sv = y->saved;
    const int training = y->iarg[0], C = y->iarg[1], inner = y->iarg[2];
    const size_t outer = x->numel / ((size_t)C * inner), M = outer * inner;
    for (int c = 0; c < C; c++) {
        const nn_real m = sv->mean[c], r = sv->rstd[c], ga = gamma_at(y, c);
        double sum_dy = 0, sum_dy_xhat = 0; /* dL/dbeta_c and dL/dgamma_c */
        for (size_t o = 0; o < outer; o++) {
            const nn_real *xc = x->data + (o * C + c) * inner, *gc = y->grad + (o * C + c) * inner;
            for (int i = 0; i < inner; i++) {
                sum_dy += gc[i];
                sum_dy_xhat += (double)gc[i] * (xc[i] - m) * r;
            }
        }
        if (gamma && gamma->grad) gamma->grad[c] += (nn_real)sum_dy_xhat;
        if (beta && beta->grad) beta->grad[c] += (nn_real)sum_dy;
        if (!x->grad) continue;
        /* sum_j dxhat_j = gamma sum dy,  sum_j dxhat_j xhat_j = gamma sum dy xhat */
        const nn_real a = training ? (nn_real)(ga * sum_dy / (double)M) : 0;
        const nn_real b = training ? (nn_real)(ga * sum_dy_xhat / (double)M) : 0;
        for (size_t o = 0; o < outer; o++) {
            const nn_real *xc = x->data + (o * C + c) * inner, *gc = y->grad + (o * C + c) * inner;
            nn_real *dx = x->grad + (o * C + c) * inner;
            for (int i = 0; i < inner; i++) {
                nn_real xhat = (xc[i] - m) * r;
                dx[i] += r * (ga * gc[i] - a - xhat * b);
            }
        }
    }
}

/* ---- layer norm ------------------------------------------------------------------------ */
/* every row (all axes but the last) is one group of D = last-axis numbers; gamma, beta (D) */

nn_tensor *nn_layernorm(nn_graph *g, nn_tensor *x, nn_tensor *gamma, nn_tensor *beta,
                        nn_real eps)
{
    char sx[64];
    if (x->ndim < 1 || x->numel == 0)
        nn_fail("nn_layernorm: x must be a non-empty tensor, got %s", nn_shape_str(x, sx, sizeof sx));
    int D = nn_last_dim(x);
    check_affine("layernorm", x, gamma, "gamma", D);
    check_affine("layernorm", x, beta, "beta", D);
    if (!(eps > 0)) nn_fail("nn_layernorm: eps must be positive, got %g", (double)eps);
    nn_tensor *y = nn_op_output(g, NN_OP_LAYERNORM, x->ndim, x->shape, x, gamma, beta);
    norm_saved *sv = nn_graph_alloc(g, sizeof *sv);
    sv->mean = nn_graph_alloc(g, (size_t)nn_rows(x) * sizeof(nn_real));
    sv->rstd = nn_graph_alloc(g, (size_t)nn_rows(x) * sizeof(nn_real));
    y->saved = sv;
    y->farg[1] = eps;
    nn_op_run(y);
    return y;
}

/* per row: mean = (1/D) sum x,  var = (1/D) sum (x - mean)^2,
 *          y_j = gamma_j (x_j - mean) / sqrt(var + eps) + beta_j */
void nn_op_layernorm_forward(nn_tensor *y)
{
    const nn_tensor *x = y->src[0];
    norm_saved *sv = y->saved;
    const int rows = nn_rows(x), D = nn_last_dim(x);
    const nn_real eps = y->farg[1];
    /* the loops run along a row in SIMD lanes (omp simd; the sums stay in double) */
    const nn_real *restrict ga = y->src[1] ? y->src[1]->data : NULL;
    const nn_real *restrict be = y->src[2] ? y->src[2]->data : NULL;
    for (int r = 0; r < rows; r++) {
        const nn_real *restrict xr = x->data + (size_t)r * D;
        nn_real *restrict yr = y->data + (size_t)r * D;
        double s = 0, ss = 0;
#pragma omp simd reduction(+ : s)
        for (int j = 0; j < D; j++) s += xr[j];
        const double mean = s / D;
#pragma omp simd reduction(+ : ss)
        for (int j = 0; j < D; j++) ss += (xr[j] - mean) * (xr[j] - mean);
        const nn_real m = sv->mean[r] = (nn_real)mean;
        const nn_real rs = sv->rstd[r] = (nn_real)(1.0 / sqrt(ss / D + eps));
        if (ga && be) {
#pragma omp simd
            for (int j = 0; j < D; j++) yr[j] = ga[j] * (xr[j] - m) * rs + be[j];
        } else {
            for (int j = 0; j < D; j++) yr[j] = gamma_at(y, j) * (xr[j] - m) * rs + beta_at(y, j);
        }
    }
}
void nn_op_layernorm_backward(nn_tensor *y)
{
    nn_tensor *x = y->src[0], *gamma = y->src[1], *beta = y->src[2];
    const norm_saved *sv = y->saved;
    const int rows = nn_rows(x), D = nn_last_dim(x);
    /* the common case, gamma and beta both learned, in SIMD lanes; the general loop below */
    const int fast = gamma && beta && gamma->grad && beta->grad;
    for (int r = 0; r < rows; r++) {
        const nn_real *xr = x->data + (size_t)r * D, *gr = y->grad + (size_t)r * D;
        const nn_real m = sv->mean[r], rs = sv->rstd[r];
        double sum_dxhat = 0, sum_dxhat_xhat = 0;
        if (fast) {
            const nn_real *restrict xv = xr, *restrict dy = gr, *restrict ga = gamma->data;
            nn_real *restrict dga = gamma->grad, *restrict dbe = beta->grad;
#pragma omp simd reduction(+ : sum_dxhat, sum_dxhat_xhat)
            for (int j = 0; j < D; j++) {
                const nn_real xhat = (xv[j] - m) * rs, dxhat = dy[j] * ga[j];
                sum_dxhat += dxhat;
                sum_dxhat_xhat += (double)dxhat * xhat;
                dga[j] += dy[j] * xhat;
                dbe[j] += dy[j];
            }
        } else {
            for (int j = 0; j < D; j++) {
                nn_real xhat = (xr[j] - m) * rs, dxhat = gr[j] * gamma_at(y, j);
                sum_dxhat += dxhat;
                sum_dxhat_xhat += (double)dxhat * xhat;
                if (gamma && gamma->grad) gamma->grad[j] += gr[j] * xhat;
                if (beta && beta->grad) beta->grad[j] += gr[j];
            }
        }
        if (!x->grad) continue;
        const nn_real a = (nn_real)(sum_dxhat / D), b = (nn_real)(sum_dxhat_xhat / D);
        nn_real *restrict dx = x->grad + (size_t)r * D;
        if (fast) {
            const nn_real *restrict xv = xr, *restrict dy = gr, *restrict ga = gamma->data;
#pragma omp simd
            for (int j = 0; j < D; j++) dx[j] += rs * (dy[j] * ga[j] - a - (xv[j] - m) * rs * b);
            continue;
        }
        for (int j = 0; j < D; j++) {
            nn_real xhat = (xr[j] - m) * rs;
            dx[j] += rs * (gr[j] * gamma_at(y, j) - a - xhat * b);
        }
    }
}
