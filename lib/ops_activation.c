/* ops_activation.c -- pointwise nonlinearities and the softmax family. */
#include "ops.h"

#include "simd.h"

#include <math.h>

static nn_tensor *unary(nn_graph *g, nn_op op, nn_tensor *a, nn_real arg)
{
    nn_tensor *y = nn_op_output(g, op, a->ndim, a->shape, a, NULL, NULL);
    y->farg[0] = arg;
    nn_op_run(y);
    return y;
}

nn_tensor *nn_relu(nn_graph *g, nn_tensor *a) { return unary(g, NN_OP_RELU, a, 0); }
nn_tensor *nn_leaky_relu(nn_graph *g, nn_tensor *a, nn_real slope) { return unary(g, NN_OP_LEAKY_RELU, a, slope); }
nn_tensor *nn_sigmoid(nn_graph *g, nn_tensor *a) { return unary(g, NN_OP_SIGMOID, a, 0); }
nn_tensor *nn_tanh(nn_graph *g, nn_tensor *a) { return unary(g, NN_OP_TANH, a, 0); }
nn_tensor *nn_softmax(nn_graph *g, nn_tensor *a) { return unary(g, NN_OP_SOFTMAX, a, 0); }
nn_tensor *nn_log_softmax(nn_graph *g, nn_tensor *a) { return unary(g, NN_OP_LOG_SOFTMAX, a, 0); }

/* relu: y = max(0, x);  dL/dx = dL/dy * [x > 0]
 * The loops below name their arrays through restrict pointers (input, output and gradients
 * never overlap) and ask for SIMD (`omp simd`), so each runs 4 to 16 numbers per instruction
 * (NN_SIMD_CLONES, lib/simd.h: one copy per vector width, the CPU's best is picked). */
NN_SIMD_CLONES void nn_op_relu_forward(nn_tensor *y)
{
    const nn_real *restrict x = y->src[0]->data;
    nn_real *restrict out = y->data;
    const size_t n = y->numel;
#pragma omp simd
    for (size_t i = 0; i < n; i++) out[i] = x[i] > 0 ? x[i] : 0;
}
NN_SIMD_CLONES void nn_op_relu_backward(nn_tensor *y)
{
    nn_tensor *x = y->src[0];
    if (!x->grad) return;
    const nn_real *restrict xd = x->data, *restrict dy = y->grad;
    nn_real *restrict dx = x->grad;
    const size_t n = y->numel;
#pragma omp simd
    for (size_t i = 0; i < n; i++) {
        const nn_real d = dy[i]; /* loaded whatever the sign: then the select is branch-free */
        dx[i] += xd[i] > 0 ? d : 0;
    }
}

/* leaky relu: y = x if x > 0 else s x;  dL/dx = dL/dy * (x > 0 ? 1 : s) */
void nn_op_leaky_relu_forward(nn_tensor *y)
{
    const nn_real *x = y->src[0]->data, s = y->farg[0];
    for (size_t i = 0; i < y->numel; i++) y->data[i] = x[i] > 0 ? x[i] : s * x[i];
}
void nn_op_leaky_relu_backward(nn_tensor *y)
{
    nn_tensor *x = y->src[0];
    const nn_real s = y->farg[0];
    if (!x->grad) return;
    for (size_t i = 0; i < y->numel; i++) x->grad[i] += y->grad[i] * (x->data[i] > 0 ? 1 : s);
}

/* sigmoid: y = 1 / (1 + e^-x);  dy/dx = y (1 - y), so backward needs only y */
void nn_op_sigmoid_forward(nn_tensor *y)
{
    nn_kernel_sigmoid(y->data, y->src[0]->data, y->numel); /* lib/kernels.c */
}
void nn_op_sigmoid_backward(nn_tensor *y)
{
    nn_tensor *x = y->src[0];
    if (!x->grad) return;
    const nn_real *restrict yd = y->data, *restrict dy = y->grad;
    nn_real *restrict dx = x->grad;
    const size_t n = y->numel;
#pragma omp simd
    for (size_t i = 0; i < n; i++) dx[i] += dy[i] * yd[i] * (1 - yd[i]);
}

/* tanh: y = tanh x;  dy/dx = 1 - y^2 */
void nn_op_tanh_forward(nn_tensor *y)
{
    nn_kernel_tanh(y->data, y->src[0]->data, y->numel); /* lib/kernels.c */
}
void nn_op_tanh_backward(nn_tensor *y)
{
    nn_tensor *x = y->src[0];
    if (!x->grad) return;
    const nn_real *restrict yd = y->data, *restrict dy = y->grad;
    nn_real *restrict dx = x->grad;
    const size_t n = y->numel;
#pragma omp simd
    for (size_t i = 0; i < n; i++) dx[i] += dy[i] * (1 - yd[i] * yd[i]);
}

/* softmax over the last axis: y_j = e^{x_j} / sum_k e^{x_k}
 *   dL/dx_j = y_j (dL/dy_j - sum_k dL/dy_k y_k)      (the Jacobian diag(y) - y y^T applied) */
void nn_op_softmax_forward(nn_tensor *y)
{
    nn_kernel_softmax(y->data, y->src[0]->data, nn_rows(y), nn_last_dim(y));
}
void nn_op_softmax_backward(nn_tensor *y)
{
    nn_tensor *x = y->src[0];
    if (!x->grad) return;
    int rows = nn_rows(y), cols = nn_last_dim(y);
    for (int r = 0; r < rows; r++) {
        const nn_real *yr = y->data + (size_t)r * cols, *gr = y->grad + (size_t)r * cols;
        nn_real *xr = x->grad + (size_t)r * cols;
        double dot = 0;
        for (int c = 0; c < cols; c++) dot += (double)gr[c] * yr[c];
        for (int c = 0; c < cols; c++) xr[c] += yr[c] * (nn_real)(gr[c] - dot);
    }
}

/* log softmax: y_j = x_j - log sum_k e^{x_k}
 *   dL/dx_j = dL/dy_j - softmax(x)_j sum_k dL/dy_k,   with softmax(x)_j = e^{y_j} */
void nn_op_log_softmax_forward(nn_tensor *y)
{
    nn_kernel_log_softmax(y->data, y->src[0]->data, nn_rows(y), nn_last_dim(y));
}
void nn_op_log_softmax_backward(nn_tensor *y)
{
    nn_tensor *x = y->src[0];
    if (!x->grad) return;
    int rows = nn_rows(y), cols = nn_last_dim(y);
    for (int r = 0; r < rows; r++) {
        const nn_real *yr = y->data + (size_t)r * cols, *gr = y->grad + (size_t)r * cols;
        nn_real *xr = x->grad + (size_t)r * cols;
        double total = 0;
        for (int c = 0; c < cols; c++) total += gr[c];
        for (int c = 0; c < cols; c++) xr[c] += gr[c] - (nn_real)(exp((double)yr[c]) * total);
    }
}

nn_tensor *nn_gelu(nn_graph *g, nn_tensor *a) { return unary(g, NN_OP_GELU, a, 0); }
nn_tensor *nn_elu(nn_graph *g, nn_tensor *a, nn_real alpha) { return unary(g, NN_OP_ELU, a, alpha); }

/* GELU, the exact form: y = x Phi(x) = 0.5 x (1 + erf(x / sqrt 2)), Phi the normal CDF.
 *   dy/dx = Phi(x) + x phi(x),   phi(x) = e^{-x^2/2} / sqrt(2 pi)   (product rule)
 * Both loops are kernels of lib/kernels.c (libm, or a SIMD polynomial). */
void nn_op_gelu_forward(nn_tensor *y)
{
    nn_kernel_gelu(y->data, y->src[0]->data, y->numel);
}
void nn_op_gelu_backward(nn_tensor *y)
{
    nn_tensor *x = y->src[0];
    if (!x->grad) return;
    nn_kernel_gelu_backward(x->grad, y->grad, x->data, y->numel);
}

/* ELU: y = x if x > 0, else alpha (e^x - 1);
 *   dy/dx = 1 if x > 0, else alpha e^x = y + alpha   (so backward reuses y) */
void nn_op_elu_forward(nn_tensor *y)
{
    const nn_real *x = y->src[0]->data, alpha = y->farg[0];
    for (size_t i = 0; i < y->numel; i++)
        y->data[i] = x[i] > 0 ? x[i] : alpha * (nn_real)expm1((double)x[i]);
}
void nn_op_elu_backward(nn_tensor *y)
{
    nn_tensor *x = y->src[0];
    const nn_real alpha = y->farg[0];
    if (!x->grad) return;
    for (size_t i = 0; i < y->numel; i++)
        x->grad[i] += y->grad[i] * (x->data[i] > 0 ? 1 : y->data[i] + alpha);
}
