/* ops_vae.c -- the two ops a variational autoencoder adds (Kingma & Welling 2014): drawing a
 * latent code with the reparameterization trick, and the KL divergence of the encoder's
 * Gaussian from the standard-normal prior in closed form.
 *
 * The encoder gives, for each example, a diagonal Gaussian q(z|x) = N(mu, diag(exp(logvar))).
 * Predicting the log-variance (any real number) keeps the variance positive without a
 * constraint. The reconstruction term needs no new op: with Bernoulli pixels it is
 * nn_bce_with_logits (a mean over every pixel) times the pixels per image. */
#include "ops.h"

#include <math.h>

static void check_pair(const char *op, const char *what, const nn_tensor *mu, const nn_tensor *t)
{
    char sa[64], sb[64];
    if (!nn_tensor_same_shape(mu, t) || mu->numel == 0)
        nn_fail("%s: mu %s and %s %s must have the same (non-empty) shape", op,
                nn_shape_str(mu, sa, sizeof sa), what, nn_shape_str(t, sb, sizeof sb));
}

/* reparameterized sample: z = mu + sigma * eps, sigma = exp(logvar / 2), eps ~ N(0, I) drawn
 * by the caller (a constant: the randomness is moved out of the graph, so z is a smooth,
 * deterministic function of mu and logvar and backpropagation goes straight through it):
 *   dL/dmu     = dL/dz
 *   dL/dlogvar = dL/dz * eps * sigma / 2          (d exp(v/2)/dv = exp(v/2) / 2)
 *   dL/deps    = dL/dz * sigma                    (only if eps asks for a gradient) */
nn_tensor *nn_vae_sample(nn_graph *g, nn_tensor *mu, nn_tensor *logvar, nn_tensor *eps)
{
    check_pair("nn_vae_sample", "logvar", mu, logvar);
    check_pair("nn_vae_sample", "eps", mu, eps);
    nn_tensor *y = nn_op_output(g, NN_OP_VAE_SAMPLE, mu->ndim, mu->shape, mu, logvar, eps);
    nn_op_run(y);
    return y;
}
void nn_op_vae_sample_forward(nn_tensor *y)
{
    const nn_tensor *mu = y->src[0], *lv = y->src[1], *eps = y->src[2];
    for (size_t i = 0; i < y->numel; i++)
        y->data[i] = mu->data[i] + (nn_real)exp(0.5 * (double)lv->data[i]) * eps->data[i];
}
void nn_op_vae_sample_backward(nn_tensor *y)
{
    nn_tensor *mu = y->src[0], *lv = y->src[1], *eps = y->src[2];
    for (size_t i = 0; i < y->numel; i++) {
        nn_real dz = y->grad[i], sigma = (nn_real)exp(0.5 * (double)lv->data[i]);
        if (mu->grad) mu->grad[i] += dz;
        if (lv->grad) lv->grad[i] += dz * eps->data[i] * sigma * (nn_real)0.5;
        if (eps->grad) eps->grad[i] += dz * sigma;
    }
}

/* KL(N(mu, diag sigma^2) || N(0, I)) in closed form, averaged over the batch: mu and logvar
 * are (B, D), v = logvar, sigma^2 = e^v,
 *   KL_b = sum_j 1/2 (mu_bj^2 + e^{v_bj} - 1 - v_bj)          >= 0, = 0 iff mu = 0, v = 0
 *   L    = (1/B) sum_b KL_b
 *   dL/dmu_bj = mu_bj / B,   dL/dv_bj = (e^{v_bj} - 1) / (2B)
 * (per dimension: E_q[log q - log p] = -1/2 log(2 pi e sigma^2) + 1/2 (sigma^2 + mu^2)
 *  + 1/2 log 2 pi, which is the line above.) */
nn_tensor *nn_vae_kl(nn_graph *g, nn_tensor *mu, nn_tensor *logvar)
{
    char s[64];
    if (mu->ndim != 2)
        nn_fail("nn_vae_kl: mu must be (batch, latent), got %s", nn_shape_str(mu, s, sizeof s));
    check_pair("nn_vae_kl", "logvar", mu, logvar);
    int one = 1;
    nn_tensor *y = nn_op_output(g, NN_OP_VAE_KL, 1, &one, mu, logvar, NULL);
    nn_op_run(y);
    return y;
}
void nn_op_vae_kl_forward(nn_tensor *y)
{
    const nn_tensor *mu = y->src[0], *lv = y->src[1];
    double s = 0;
    for (size_t i = 0; i < mu->numel; i++) {
        double m = mu->data[i], v = lv->data[i];
        s += 0.5 * (m * m + exp(v) - 1 - v);
    }
    y->data[0] = (nn_real)(s / mu->shape[0]);
}
void nn_op_vae_kl_backward(nn_tensor *y)
{
    nn_tensor *mu = y->src[0], *lv = y->src[1];
    nn_real k = y->grad[0] / (nn_real)mu->shape[0];
    for (size_t i = 0; i < mu->numel; i++) {
        if (mu->grad) mu->grad[i] += k * mu->data[i];
        if (lv->grad) lv->grad[i] += k * (nn_real)0.5 * ((nn_real)exp((double)lv->data[i]) - 1);
    }
}
