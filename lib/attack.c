/* attack.c -- asking a trained classifier which pixels matter, and fooling it.
 *
 * Everything here treats the model as a function f: x (n, dim) -> logits z (n, classes), given
 * as a forward callback that builds its graph (nn_model_fn), and differentiates it
 * with respect to the INPUT instead of the parameters: the input becomes a leaf that asks for
 * a gradient (nn_graph_require_grad) and one ordinary backward pass fills it.
 *
 *   saliency   s_i = d z_{i,c_i} / d x_i                       (Simonyan, Vedaldi, Zisserman 2014)
 *   occlusion  how much p(c_i | x_i) drops when a patch of x_i is greyed   (Zeiler, Fergus 2014)
 *   FGSM       x_adv = clip(x + eps sign(d CE(z_i, y_i) / d x_i), 0, 1)  (Goodfellow et al. 2015)
 *
 * One backward pass serves a whole batch: the model treats the examples independently, so
 * z_{i,.} depends on x_i alone and the gradient of sum_i z_{i,c_i} with respect to x_i is
 * exactly d z_{i,c_i} / d x_i. That is why the forward runs in evaluation mode (batch-norm in
 * training mode would mix the examples of a batch).
 */
#include "nn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- shared checks ---- */

static void check_batch(const char *fn, nn_model_fn forward, const void *out,
                        const nn_real *x, int n, int dim)
{
    if (!forward) nn_fail("%s: no forward function given", fn);
    if (!out || !x) nn_fail("%s: NULL input or output array", fn);
    if (n < 1 || dim < 1) nn_fail("%s: need n >= 1 examples of dim >= 1 values, got n %d, dim %d",
                                  fn, n, dim);
    size_t count = nn_size_mul((size_t)n, (size_t)dim, fn);
    for (size_t i = 0; i < count; i++)
        if (!isfinite(x[i]))
            nn_fail("%s: input value %zu (example %zu) is %g, not a finite number", fn, i,
                    i / (size_t)dim, (double)x[i]);
}

/* Runs forward and checks that it returned logits (n, classes) with every class in range.
 * On a refusal it first frees g and the `owned` buffers (may be NULL), so that a caller that
 * catches nn_fail (the tests do) loses no memory. */
static nn_tensor *run_forward(const char *fn, nn_graph *g, nn_model_fn forward,
                              void *ctx, nn_tensor *x, const int *classes, int n, void **owned,
                              int nowned)
{
    char s[64], msg[256] = "";
    nn_tensor *z = forward(g, x, ctx);
    if (!z || z->ndim != 2 || z->shape[0] != n)
        snprintf(msg, sizeof msg, "the forward function must return logits (%d, classes), got %s",
                 n, z ? nn_shape_str(z, s, sizeof s) : "NULL");
    for (int i = 0; !msg[0] && i < n; i++)
        if (classes[i] < 0 || classes[i] >= z->shape[1])
            snprintf(msg, sizeof msg, "class %d of example %d is outside 0..%d", classes[i], i,
                     z->shape[1] - 1);
    if (msg[0]) {
        nn_graph_free(g);
        for (int k = 0; k < nowned; k++) free(owned[k]);
        nn_fail("%s: %s", fn, msg);
    }
    return z;
}

/* a graph for one call: evaluation mode, recording for backward */
static nn_graph *attack_graph(void)
{
    nn_graph *g = nn_graph_new();
    g->training = 0;
    g->grad = 1;
    return g;
}

/* ---- saliency ---- */

/* s = d S / d x with S = sum_i z_{i,c_i} = sum(z * onehot): the mask picks one logit per row,
 * so backward seeds dS/dz = onehot and carries it down to the input leaf. */
void nn_attack_saliency(nn_real *sal, nn_model_fn forward, void *ctx, const nn_real *x,
                        const int *classes, int n, int dim)
{
    check_batch("nn_attack_saliency", forward, sal, x, n, dim);
    if (!classes) nn_fail("nn_attack_saliency: NULL classes");
    nn_graph *g = attack_graph();
    nn_tensor *xt = nn_graph_input(g, x, 2, n, dim);
    xt->name = "input";
    nn_graph_require_grad(g, xt);
    nn_tensor *z = run_forward("nn_attack_saliency", g, forward, ctx, xt, classes, n, NULL, 0);
    nn_tensor *onehot = nn_graph_tensor(g, 2, n, z->shape[1]);
    for (int i = 0; i < n; i++) onehot->data[(size_t)i * z->shape[1] + classes[i]] = 1;
    nn_backward(g, nn_sum(g, nn_mul(g, z, onehot)));
    memcpy(sal, xt->grad, (size_t)n * dim * sizeof *sal);
    nn_graph_free(g);
}

/* ---- the loss gradient and FGSM ---- */

/* grad_i = d CE(z_i, y_i) / d x_i: nn_softmax_cross_entropy is the MEAN over the batch, so it
 * is scaled by n first -- the sum of the per-example losses, each example's own gradient.
 * `owned` (or NULL) is freed if the forward function's output is refused. */
static double loss_grad(const char *fn, nn_real *grad, nn_model_fn forward, void *ctx,
                        const nn_real *x, const int *labels, int n, int dim, void *owned)
{
    nn_graph *g = attack_graph();
    nn_tensor *xt = nn_graph_input(g, x, 2, n, dim);
    xt->name = "input";
    nn_graph_require_grad(g, xt);
    nn_tensor *z = run_forward(fn, g, forward, ctx, xt, labels, n, &owned, owned != NULL);
    nn_tensor *loss = nn_softmax_cross_entropy(g, z, labels);
    double mean_loss = loss->data[0];
    nn_backward(g, nn_scale(g, loss, (nn_real)n));
    memcpy(grad, xt->grad, (size_t)n * dim * sizeof *grad);
    nn_graph_free(g);
    return mean_loss;
}

double nn_attack_loss_grad(nn_real *grad, nn_model_fn forward, void *ctx,
                           const nn_real *x, const int *labels, int n, int dim)
{
    check_batch("nn_attack_loss_grad", forward, grad, x, n, dim);
    if (!labels) nn_fail("nn_attack_loss_grad: NULL labels");
    return loss_grad("nn_attack_loss_grad", grad, forward, ctx, x, labels, n, dim, NULL);
}

/* out = clamp(x + eps sign(grad), lo, hi); sign(0) = 0, so a pixel the loss ignores stays */
void nn_attack_sign_step(nn_real *out, const nn_real *x, const nn_real *grad, size_t count,
                         nn_real eps, nn_real lo, nn_real hi)
{
    if (!out || !x || !grad) nn_fail("nn_attack_sign_step: NULL array");
    if (!(lo <= hi)) nn_fail("nn_attack_sign_step: bounds [%g, %g] are empty", (double)lo,
                             (double)hi);
    for (size_t i = 0; i < count; i++) {
        nn_real sign = grad[i] > 0 ? 1 : grad[i] < 0 ? -1 : 0;
        nn_real v = x[i] + eps * sign;
        out[i] = v < lo ? lo : v > hi ? hi : v;
    }
}

/* One step of size eps in the direction that raises the loss fastest under an L-infinity
 * budget: to first order CE(x + d) = CE(x) + grad . d, and over ||d||_inf <= eps the dot
 * product is largest at d = eps sign(grad), where it is eps ||grad||_1. */
double nn_attack_fgsm(nn_real *x_adv, nn_model_fn forward, void *ctx, const nn_real *x,
                      const int *labels, int n, int dim, nn_real eps)
{
    if (!isfinite(eps) || eps < 0)
        nn_fail("nn_attack_fgsm: eps must be a finite number >= 0, got %g", (double)eps);
    check_batch("nn_attack_fgsm", forward, x_adv, x, n, dim);
    if (!labels) nn_fail("nn_attack_fgsm: NULL labels");
    size_t count = (size_t)n * dim;
    nn_real *grad = nn_malloc(count * sizeof *grad);
    double loss = loss_grad("nn_attack_fgsm", grad, forward, ctx, x, labels, n, dim, grad);
    nn_attack_sign_step(x_adv, x, grad, count, eps, 0, 1); /* x_adv may be x: grad is done */
    free(grad);
    return loss;
}

/* ---- occlusion ---- */

/* start positions 0, stride, 2 stride, ... of a window of `patch` in `size`, plus size - patch
 * if the stride skips it, so that every pixel is covered; returns how many */
static int window_starts(int *starts, int size, int patch, int stride)
{
    int k = 0;
    for (int s = 0; s <= size - patch; s += stride) starts[k++] = s;
    if (starts[k - 1] != size - patch) starts[k++] = size - patch;
    return k;
}

enum { OCCLUSION_CHUNK = 128 }; /* occluded copies per forward pass */

void nn_attack_occlusion(nn_real *map, nn_model_fn forward, void *ctx,
                         const nn_real *x, const int *classes, int n, int channels, int h,
                         int w, int patch, int stride, nn_real fill)
{
    const char *fn = "nn_attack_occlusion";
    if (channels < 1 || h < 1 || w < 1)
        nn_fail("%s: image size (%d,%d,%d) must be positive", fn, channels, h, w);
    const int dim = channels * h * w, plane = h * w;
    check_batch(fn, forward, map, x, n, dim);
    if (!classes) nn_fail("%s: NULL classes", fn);
    if (patch < 1 || patch > h || patch > w)
        nn_fail("%s: patch %d does not fit the %dx%d image", fn, patch, h, w);
    if (stride < 1) nn_fail("%s: stride must be >= 1, got %d", fn, stride);
    if (!isfinite(fill)) nn_fail("%s: fill value %g is not finite", fn, (double)fill);

    nn_graph *g = attack_graph();
    g->grad = 0; /* forward passes only */
    /* p(c_i | x_i) for the clean images, all in one pass (this also checks forward and the
     * classes before anything else is allocated) */
    nn_tensor *z = run_forward(fn, g, forward, ctx, nn_graph_input(g, x, 2, n, dim), classes, n,
                               NULL, 0);
    const int C = z->shape[1];
    double *clean = nn_malloc((size_t)n * sizeof *clean);
    nn_real *p = nn_malloc(nn_size_mul((size_t)n > OCCLUSION_CHUNK ? (size_t)n : OCCLUSION_CHUNK,
                                       (size_t)C * sizeof *p, fn));
    nn_kernel_softmax(p, z->data, n, C);
    for (int i = 0; i < n; i++) clean[i] = p[(size_t)i * C + classes[i]];
    nn_graph_reset(g);

    int *ys = nn_malloc(((size_t)h + 1) * sizeof *ys);
    int *xs = nn_malloc(((size_t)w + 1) * sizeof *xs);
    const int ny = window_starts(ys, h, patch, stride), nx = window_starts(xs, w, patch, stride);
    const int positions = ny * nx;
    nn_real *batch = nn_malloc((size_t)OCCLUSION_CHUNK * dim * sizeof *batch);
    int *cover = nn_malloc((size_t)plane * sizeof *cover);
    int *cls = nn_malloc((size_t)OCCLUSION_CHUNK * sizeof *cls);
    void *owned[7] = {clean, p, ys, xs, batch, cover, cls};

    for (int i = 0; i < n; i++) {
        const nn_real *xi = x + (size_t)i * dim;
        nn_real *mi = map + (size_t)i * plane;
        memset(mi, 0, (size_t)plane * sizeof *mi);
        memset(cover, 0, (size_t)plane * sizeof *cover);
        for (int k = 0; k < OCCLUSION_CHUNK; k++) cls[k] = classes[i];
        /* every position of the patch, OCCLUSION_CHUNK occluded copies per forward pass */
        for (int start = 0; start < positions; start += OCCLUSION_CHUNK) {
            const int count = positions - start < OCCLUSION_CHUNK ? positions - start
                                                                  : OCCLUSION_CHUNK;
            for (int k = 0; k < count; k++) {
                nn_real *b = batch + (size_t)k * dim;
                memcpy(b, xi, (size_t)dim * sizeof *b);
                const int y0 = ys[(start + k) / nx], x0 = xs[(start + k) % nx];
                for (int c = 0; c < channels; c++)
                    for (int yy = y0; yy < y0 + patch; yy++)
                        for (int xx = x0; xx < x0 + patch; xx++)
                            b[(size_t)c * plane + yy * w + xx] = fill;
            }
            z = run_forward(fn, g, forward, ctx, nn_graph_input(g, batch, 2, count, dim), cls,
                            count, owned, 7);
            nn_kernel_softmax(p, z->data, count, C);
            for (int k = 0; k < count; k++) {
                /* the drop of the class probability, credited to every pixel under the patch */
                const nn_real drop = (nn_real)(clean[i] - p[(size_t)k * C + classes[i]]);
                const int y0 = ys[(start + k) / nx], x0 = xs[(start + k) % nx];
                for (int yy = y0; yy < y0 + patch; yy++)
                    for (int xx = x0; xx < x0 + patch; xx++) {
                        mi[yy * w + xx] += drop;
                        cover[yy * w + xx]++;
                    }
            }
            nn_graph_reset(g);
        }
        for (int j = 0; j < plane; j++) mi[j] /= (nn_real)cover[j]; /* >= 1: starts cover all */
    }
    nn_graph_free(g);
    for (int k = 0; k < 7; k++) free(owned[k]);
}
