/* rbm.c -- the restricted Boltzmann machine with binary units, trained by contrastive
 * divergence (Smolensky 1986; Hinton 2002), and the Bernoulli sampler it draws its states with.
 *
 * Visible units v (V), hidden units h (H), all in {0,1}; weights W (H,V) -- row j is hidden
 * unit j's "filter", the layout of a Linear weight (out,in) -- visible biases b (V), hidden
 * biases c (H). The energy of a joint state and the probability it defines:
 *
 *     E(v,h) = -b.v - c.h - h.W v,        p(v,h) = exp(-E(v,h)) / Z.
 *
 * No visible-visible or hidden-hidden weights ("restricted"), so given one layer the units of
 * the other are independent and each is a logistic unit:
 *
 *     p(h_j = 1 | v) = sigmoid(c_j + W_j. v),      p(v_i = 1 | h) = sigmoid(b_i + W_.i h).
 *
 * Summing h out gives p(v) = exp(-F(v)) / Z with the free energy
 *
 *     F(v) = -b.v - sum_j softplus(c_j + W_j. v),  softplus(x) = log(1 + e^x).
 *
 * The log-likelihood gradient is  d log p(v) / dW_ji = <h_j v_i>_data - <h_j v_i>_model;  the
 * second term needs samples from the model, which CD-k replaces by a Gibbs chain of only k
 * steps started at the data (see nn_rbm_cd_step). Every matrix product is one nn_gemm over a
 * whole mini-batch (row-major, one example per row).
 */
#include "nn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- the Bernoulli sampler ---- */

/* ---- checks ---- */

static void check_rbm(const char *fn, const nn_rbm *rbm)
{
    if (!rbm || !rbm->W || rbm->visible < 1 || rbm->hidden < 1)
        nn_fail("%s: the RBM is not initialised (call nn_rbm_init first)", fn);
}

static void check_rows(const char *fn, int n)
{
    if (n < 1) nn_fail("%s: need at least one example (n >= 1), got n = %d", fn, n);
}

/* every value of a batch must be a probability: binary data, or the real-valued activities
 * of a lower RBM when RBMs are stacked */
static void check_unit_interval(const char *fn, const char *what, const nn_real *x, int n,
                                int dim)
{
    if (!x) nn_fail("%s: NULL %s", fn, what);
    size_t count = nn_size_mul((size_t)n, (size_t)dim, fn);
    for (size_t i = 0; i < count; i++)
        if (!(x[i] >= 0 && x[i] <= 1))
            nn_fail("%s: %s value %zu (example %zu, unit %zu) is %g, outside [0,1]", fn, what, i,
                    i / (size_t)dim, i % (size_t)dim, (double)x[i]);
}


/* log(1 + e^x) without overflow: max(x,0) + log(1 + e^-|x|) */
static double softplus(double x) { return (x > 0 ? x : 0) + log1p(exp(-fabs(x))); }

/* ---- life cycle ---- */

void nn_rbm_init(nn_rbm *rbm, int visible, int hidden, nn_rng *rng)
{
    if (!rbm) nn_fail("nn_rbm_init: NULL rbm");
    if (visible < 1 || hidden < 1)
        nn_fail("nn_rbm_init: need visible >= 1 and hidden >= 1 units, got %d x %d", visible,
                hidden);
    if (!rng) nn_fail("nn_rbm_init: NULL generator");
    size_t nw = nn_size_mul((size_t)visible, (size_t)hidden, "nn_rbm_init");
    memset(rbm, 0, sizeof *rbm);
    rbm->visible = visible, rbm->hidden = hidden;
    rbm->W = nn_malloc(nw * sizeof *rbm->W);
    rbm->vbias = nn_calloc((size_t)visible, sizeof *rbm->vbias);
    rbm->hbias = nn_calloc((size_t)hidden, sizeof *rbm->hbias);
    rbm->dW = nn_calloc(nw, sizeof *rbm->dW);
    rbm->dvbias = nn_calloc((size_t)visible, sizeof *rbm->dvbias);
    rbm->dhbias = nn_calloc((size_t)hidden, sizeof *rbm->dhbias);
    /* small random weights break the symmetry between hidden units without saturating them
     * (Hinton 2010, "A practical guide to training RBMs", section 8: N(0, 0.01^2)) */
    nn_rng_fill_normal(rng, rbm->W, nw, 0, 0.01);
}

void nn_rbm_free(nn_rbm *rbm)
{
    if (!rbm) return;
    free(rbm->W), free(rbm->vbias), free(rbm->hbias);
    free(rbm->dW), free(rbm->dvbias), free(rbm->dhbias);
    memset(rbm, 0, sizeof *rbm);
}

/* b_i = log(p_i / (1 - p_i)), p_i the fraction of examples with v_i on (clamped to
 * [0.001, 0.999] so that a pixel that is never on gets a large negative bias, not -inf): with
 * W = 0 the model then already reproduces every pixel's marginal (Hinton's guide, 8.1). */
void nn_rbm_init_visible_bias(nn_rbm *rbm, const nn_real *data, int n)
{
    check_rbm("nn_rbm_init_visible_bias", rbm);
    check_rows("nn_rbm_init_visible_bias", n);
    check_unit_interval("nn_rbm_init_visible_bias", "data", data, n, rbm->visible);
    const int V = rbm->visible;
    for (int i = 0; i < V; i++) {
        double on = 0;
        for (int r = 0; r < n; r++) on += data[(size_t)r * V + i];
        double p = on / n;
        p = p < 0.001 ? 0.001 : p > 0.999 ? 0.999 : p;
        rbm->vbias[i] = (nn_real)log(p / (1 - p));
    }
}

/* ---- the two conditionals ---- */

/* ph (n,H) = sigmoid(v W^T + c): v (n,V) @ W^T (V,H), then the bias row and the logistic */
void nn_rbm_hidden_probs(const nn_rbm *rbm, nn_real *ph, const nn_real *v, int n)
{
    check_rbm("nn_rbm_hidden_probs", rbm);
    check_rows("nn_rbm_hidden_probs", n);
    if (!ph || !v) nn_fail("nn_rbm_hidden_probs: NULL array");
    const int V = rbm->visible, H = rbm->hidden;
    nn_gemm(0, 1, n, H, V, 1, v, V, rbm->W, V, 0, ph, H);
    nn_kernel_add_row(ph, rbm->hbias, n, H);
    nn_kernel_sigmoid(ph, ph, (size_t)n * H);
}

/* pv (n,V) = sigmoid(h W + b): h (n,H) @ W (H,V); the same weights read the other way */
void nn_rbm_visible_probs(const nn_rbm *rbm, nn_real *pv, const nn_real *h, int n)
{
    check_rbm("nn_rbm_visible_probs", rbm);
    check_rows("nn_rbm_visible_probs", n);
    if (!pv || !h) nn_fail("nn_rbm_visible_probs: NULL array");
    const int V = rbm->visible, H = rbm->hidden;
    nn_gemm(0, 0, n, V, H, 1, h, H, rbm->W, V, 0, pv, V);
    nn_kernel_add_row(pv, rbm->vbias, n, V);
    nn_kernel_sigmoid(pv, pv, (size_t)n * V);
}

/* ---- free energy and reconstructions ---- */

/* F(v) = -b.v - sum_j softplus(c_j + W_j. v) per row; the pre-activations are one GEMM */
double nn_rbm_free_energy(const nn_rbm *rbm, nn_real *f, const nn_real *v, int n)
{
    check_rbm("nn_rbm_free_energy", rbm);
    check_rows("nn_rbm_free_energy", n);
    check_unit_interval("nn_rbm_free_energy", "v", v, n, rbm->visible);
    const int V = rbm->visible, H = rbm->hidden;
    nn_real *act = nn_malloc(nn_size_mul((size_t)n, (size_t)H, "nn_rbm_free_energy") *
                             sizeof *act);
    nn_gemm(0, 1, n, H, V, 1, v, V, rbm->W, V, 0, act, H); /* act = v W^T */
    double total = 0;
    for (int r = 0; r < n; r++) {
        double e = 0;
        for (int i = 0; i < V; i++) e -= (double)rbm->vbias[i] * v[(size_t)r * V + i];
        for (int j = 0; j < H; j++) e -= softplus((double)rbm->hbias[j] + act[(size_t)r * H + j]);
        if (f) f[r] = (nn_real)e;
        total += e;
    }
    free(act);
    return total / n;
}

/* the deterministic up-down pass recon = p(v | h = p(h|v)); returns the mean over the
 * examples of sum_i (v_i - recon_i)^2 */
double nn_rbm_reconstruct(const nn_rbm *rbm, nn_real *recon, const nn_real *v, int n)
{
    check_rbm("nn_rbm_reconstruct", rbm);
    check_rows("nn_rbm_reconstruct", n);
    check_unit_interval("nn_rbm_reconstruct", "v", v, n, rbm->visible);
    const int V = rbm->visible, H = rbm->hidden;
    nn_real *ph = nn_malloc(nn_size_mul((size_t)n, (size_t)H, "nn_rbm_reconstruct") * sizeof *ph);
    nn_real *pv = recon ? recon
                        : nn_malloc(nn_size_mul((size_t)n, (size_t)V, "nn_rbm_reconstruct") *
                                    sizeof *pv);
    nn_rbm_hidden_probs(rbm, ph, v, n);
    nn_rbm_visible_probs(rbm, pv, ph, n);
    double err = 0;
    for (size_t i = 0; i < (size_t)n * V; i++) err += ((double)v[i] - pv[i]) * ((double)v[i] - pv[i]);
    free(ph);
    if (!recon) free(pv);
    return err / n;
}

/* ---- sampling from the model ---- */

/* Block Gibbs sampling: v (n,V) binary states, updated in place by `steps` rounds of
 * h ~ p(h|v), v ~ p(v|h); pv (n,V) or NULL gets the last round's p(v|h), a less noisy picture
 * of where the chain is. Draws n*H then n*V uniforms per round. */
void nn_rbm_gibbs(const nn_rbm *rbm, nn_real *v, nn_real *pv, int n, int steps, nn_rng *rng)
{
    check_rbm("nn_rbm_gibbs", rbm);
    check_rows("nn_rbm_gibbs", n);
    if (steps < 0) nn_fail("nn_rbm_gibbs: steps must be >= 0, got %d", steps);
    if (!rng) nn_fail("nn_rbm_gibbs: NULL generator");
    check_unit_interval("nn_rbm_gibbs", "v", v, n, rbm->visible);
    const int V = rbm->visible, H = rbm->hidden;
    nn_real *h = nn_malloc(nn_size_mul((size_t)n, (size_t)H, "nn_rbm_gibbs") * sizeof *h);
    nn_real *p = nn_malloc(nn_size_mul((size_t)n, (size_t)V, "nn_rbm_gibbs") * sizeof *p);
    for (int s = 0; s < steps; s++) {
        nn_rbm_hidden_probs(rbm, h, v, n);
        nn_rng_fill_bernoulli(rng, h, h, (size_t)n * H);
        nn_rbm_visible_probs(rbm, p, h, n);
        nn_rng_fill_bernoulli(rng, v, p, (size_t)n * V);
    }
    if (pv && steps > 0) memcpy(pv, p, (size_t)n * V * sizeof *pv);
    else if (pv) memcpy(pv, v, (size_t)n * V * sizeof *pv);
    free(h), free(p);
}

/* ---- contrastive divergence ---- */

/* One CD-k update from the mini-batch v0 (n,V):
 *
 *   positive phase   ph0 = p(h|v0)                               the data's statistics
 *   k Gibbs steps    h ~ Bernoulli(ph), pv = p(v|h), v ~ Bernoulli(pv), ph = p(h|v)
 *                    (starting from ph0; after the last step v = v_k, ph = ph_k)
 *   update           dW = momentum dW + lr ( (ph0^T v0 - ph_k^T v_k) / n - weight_decay W )
 *                    db = momentum db + lr  sum_rows(v0 - v_k) / n
 *                    dc = momentum dc + lr  sum_rows(ph0 - ph_k) / n
 *                    W += dW,  b += db,  c += dc
 *
 * The statistics use the hidden probabilities, not samples (the same expectation, less
 * noise); the chain itself samples. Random draws, in this order: n*H for h0, then per step
 * n*V for v_t and, before every step but the first, n*H for h_{t-1}: k (n*H + n*V) in all.
 * With rng == NULL nothing is sampled: every state is replaced by its probability
 * ("mean-field" CD, deterministic). Returns the reconstruction error of the first step,
 * the mean over the examples of sum_i (v0_i - pv1_i)^2, pv1 = p(v | h0). */
double nn_rbm_cd_step(nn_rbm *rbm, const nn_real *v0, int n, int k, nn_real lr, nn_rng *rng)
{
    check_rbm("nn_rbm_cd_step", rbm);
    check_rows("nn_rbm_cd_step", n);
    if (k < 1) nn_fail("nn_rbm_cd_step: k (Gibbs steps) must be >= 1, got %d", k);
    if (!(lr >= 0) || !isfinite(lr))
        nn_fail("nn_rbm_cd_step: lr must be a finite number >= 0, got %g", (double)lr);
    if (!(rbm->momentum >= 0 && rbm->momentum < 1) || !(rbm->weight_decay >= 0))
        nn_fail("nn_rbm_cd_step: need 0 <= momentum < 1 and weight_decay >= 0, got %g and %g",
                (double)rbm->momentum, (double)rbm->weight_decay);
    check_unit_interval("nn_rbm_cd_step", "v0", v0, n, rbm->visible);
    const int V = rbm->visible, H = rbm->hidden;
    const size_t nh = (size_t)n * H, nv = nn_size_mul((size_t)n, (size_t)V, "nn_rbm_cd_step");
    nn_real *ph0 = nn_malloc(nh * sizeof *ph0), *h = nn_malloc(nh * sizeof *h);
    nn_real *phk = nn_malloc(nh * sizeof *phk);
    nn_real *pv = nn_malloc(nv * sizeof *pv), *vk = nn_malloc(nv * sizeof *vk);

    nn_rbm_hidden_probs(rbm, ph0, v0, n);
    double recon_error = 0;
    const nn_real *ph = ph0;
    for (int t = 1; t <= k; t++) {
        if (rng) nn_rng_fill_bernoulli(rng, h, ph, nh);                 /* h_{t-1} */
        else memcpy(h, ph, nh * sizeof *h);
        nn_rbm_visible_probs(rbm, pv, h, n);                          /* p(v | h_{t-1}) */
        if (t == 1)
            for (size_t i = 0; i < nv; i++)
                recon_error += ((double)v0[i] - pv[i]) * ((double)v0[i] - pv[i]);
        if (rng) nn_rng_fill_bernoulli(rng, vk, pv, nv);                /* v_t */
        else memcpy(vk, pv, nv * sizeof *vk);
        nn_rbm_hidden_probs(rbm, phk, vk, n);                         /* p(h | v_t) */
        ph = phk;
    }

    /* dW = momentum dW + (lr/n) ph0^T v0 - (lr/n) phk^T vk - lr wd W: two GEMMs into the
     * velocity, the first one scaling the old velocity by momentum through beta */
    const nn_real a = lr / (nn_real)n;
    nn_gemm(1, 0, H, V, n, a, ph0, H, v0, V, rbm->momentum, rbm->dW, V);
    nn_gemm(1, 0, H, V, n, -a, phk, H, vk, V, 1, rbm->dW, V);
    const size_t nw = (size_t)H * V;
    if (rbm->weight_decay > 0)
        for (size_t i = 0; i < nw; i++) rbm->dW[i] -= lr * rbm->weight_decay * rbm->W[i];
    for (size_t i = 0; i < nw; i++) rbm->W[i] += rbm->dW[i];
    for (int i = 0; i < V; i++) {
        double s = 0;
        for (int r = 0; r < n; r++) s += (double)v0[(size_t)r * V + i] - vk[(size_t)r * V + i];
        rbm->dvbias[i] = rbm->momentum * rbm->dvbias[i] + (nn_real)(a * s);
        rbm->vbias[i] += rbm->dvbias[i];
    }
    for (int j = 0; j < H; j++) {
        double s = 0;
        for (int r = 0; r < n; r++) s += (double)ph0[(size_t)r * H + j] - phk[(size_t)r * H + j];
        rbm->dhbias[j] = rbm->momentum * rbm->dhbias[j] + (nn_real)(a * s);
        rbm->hbias[j] += rbm->dhbias[j];
    }
    free(ph0), free(h), free(phk), free(pv), free(vk);
    return recon_error / n;
}

/* ---- into a feed-forward network ---- */

/* The RBM's recognition direction, p(h|v) = sigmoid(v W^T + c), is exactly a Linear layer
 * (weight (H,V), bias (H)) followed by a sigmoid: copy W into layer->weight and c into
 * layer->bias. The layer must be in = visible, out = hidden, with a bias. */
void nn_rbm_to_linear(const nn_rbm *rbm, nn_linear_layer *layer)
{
    check_rbm("nn_rbm_to_linear", rbm);
    if (!layer || !layer->weight) nn_fail("nn_rbm_to_linear: the Linear layer is not initialised");
    if (layer->in != rbm->visible || layer->out != rbm->hidden || !layer->bias)
        nn_fail("nn_rbm_to_linear: an RBM with %d visible and %d hidden units needs a Linear "
                "layer in %d -> out %d with a bias, got in %d -> out %d%s",
                rbm->visible, rbm->hidden, rbm->visible, rbm->hidden, layer->in, layer->out,
                layer->bias ? "" : " without a bias");
    memcpy(layer->weight->data, rbm->W, (size_t)rbm->hidden * rbm->visible * sizeof *rbm->W);
    memcpy(layer->bias->data, rbm->hbias, (size_t)rbm->hidden * sizeof *rbm->hbias);
}
