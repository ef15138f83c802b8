/* grad_vae.c -- gradient checks (double build) of the variational autoencoder's ops: the
 * reparameterized sample with fixed noise, the closed-form KL term, and a whole tiny VAE's
 * negative ELBO (encoder -> sample -> decoder -> summed Bernoulli cross-entropy + KL).
 *
 * As in grad_ops.c every non-scalar output is reduced with fixed random weights,
 * L = sum_i r_i y_i, and backward is compared with central differences: relative error < 1e-6. */
#include "nn_test.h"

NN_TEST_DEFINE_FAIL_HANDLER

#ifndef NN_DOUBLE
#error "gradient checks need the double build (-DNN_DOUBLE)"
#endif

/* ---- the reparameterized sample z = mu + exp(logvar/2) eps, eps fixed ---- */

typedef struct {
    nn_tensor *mu, *logvar, *eps;
} sample_case;

static nn_tensor *sample_loss(nn_graph *g, void *ctx)
{
    sample_case *c = ctx;
    return nn_test_weighted_sum(g, nn_vae_sample(g, c->mu, c->logvar, c->eps), 5150);
}

static void test_sample(void **state)
{
    (void)state;
    nn_graph *leaves = nn_graph_new();
    nn_rng rng;
    nn_rng_seed(&rng, 3);
    static const int shapes[3][3] = {{3, 4, 0}, {1, 6, 0}, {2, 3, 2}};
    for (int k = 0; k < 3; k++) {
        int ndim = shapes[k][2] ? 3 : 2;
        sample_case c;
        c.mu = nn_test_leaf(leaves, &rng, -2, 2, ndim, shapes[k]);
        c.logvar = nn_test_leaf(leaves, &rng, -3, 2, ndim, shapes[k]);
        /* eps: a constant N(0,1) draw, as in training ... */
        c.eps = nn_graph_tensor(leaves, ndim, shapes[k][0], shapes[k][1], shapes[k][2]);
        nn_rng_fill_normal(&rng, c.eps->data, c.eps->numel, 0, 1);
        char what[64];
        snprintf(what, sizeof what, "vae_sample, fixed eps (case %d)", k);
        nn_tensor *mu_logvar[] = {c.mu, c.logvar}, *all[] = {c.mu, c.logvar, c.eps};
        nn_test_expect_gradcheck(nn_gradcheck(sample_loss, &c, mu_logvar, 2, 1e-6), what);
        /* ... and as an input that asks for a gradient too (dz/deps = sigma) */
        nn_graph_require_grad(leaves, c.eps);
        snprintf(what, sizeof what, "vae_sample, eps checked too (case %d)", k);
        nn_test_expect_gradcheck(nn_gradcheck(sample_loss, &c, all, 3, 1e-6), what);
    }
    nn_graph_free(leaves);
}

/* ---- KL(N(mu, e^logvar) || N(0, I)), mean over the batch ---- */

typedef struct {
    nn_tensor *mu, *logvar;
    int weighted; /* 1: the KL times a weight (so dL/dKL != 1 is exercised) */
} kl_case;

static nn_tensor *kl_loss(nn_graph *g, void *ctx)
{
    kl_case *c = ctx;
    nn_tensor *kl = nn_vae_kl(g, c->mu, c->logvar);
    return c->weighted ? nn_scale(g, kl, -0.7) : kl;
}

static void test_kl(void **state)
{
    (void)state;
    nn_graph *leaves = nn_graph_new();
    nn_rng rng;
    nn_rng_seed(&rng, 4);
    static const int shapes[3][2] = {{3, 4}, {1, 5}, {6, 2}};
    for (int k = 0; k < 3; k++) {
        kl_case c = {.weighted = k != 1};
        c.mu = nn_test_leaf(leaves, &rng, -2, 2, 2, shapes[k]);
        c.logvar = nn_test_leaf(leaves, &rng, -4, 2, 2, shapes[k]);
        char what[64];
        snprintf(what, sizeof what, "vae_kl (case %d)", k);
        nn_tensor *inputs[] = {c.mu, c.logvar};
        nn_test_expect_gradcheck(nn_gradcheck(kl_loss, &c, inputs, 2, 1e-6), what);
    }
    nn_graph_free(leaves);
}

/* ---- a whole tiny VAE: the negative ELBO of the lesson, every parameter checked ----
 *   h = tanh(x We^T + be), mu = h Wm^T + bm, logvar = h Wv^T + bv      (encoder)
 *   z = mu + exp(logvar/2) eps                                          (eps fixed)
 *   logits = tanh(z Wd^T + bd) Wo^T + bo                                (decoder)
 *   -ELBO = P * mean BCE(logits, x) + KL(mu, logvar)   (P pixels: the sum over pixels) */
enum { B = 3, P = 6, H = 4, Z = 2 };
typedef struct {
    nn_tensor *x, *eps;
    nn_tensor *p[10]; /* We be Wm bm Wv bv Wd bd Wo bo */
} vae_case;

static nn_tensor *vae_loss(nn_graph *g, void *ctx)
{
    vae_case *c = ctx;
    nn_tensor **p = c->p;
    nn_tensor *h = nn_tanh(g, nn_linear_op(g, c->x, p[0], p[1]));
    nn_tensor *mu = nn_linear_op(g, h, p[2], p[3]);
    nn_tensor *logvar = nn_linear_op(g, h, p[4], p[5]);
    nn_tensor *z = nn_vae_sample(g, mu, logvar, c->eps);
    nn_tensor *hd = nn_tanh(g, nn_linear_op(g, z, p[6], p[7]));
    nn_tensor *logits = nn_linear_op(g, hd, p[8], p[9]);
    nn_tensor *recon = nn_scale(g, nn_bce_with_logits(g, logits, c->x), P);
    return nn_add(g, recon, nn_vae_kl(g, mu, logvar));
}

static void test_whole_vae(void **state)
{
    (void)state;
    nn_graph *leaves = nn_graph_new();
    nn_rng rng;
    nn_rng_seed(&rng, 5);
    vae_case c;
    c.x = nn_graph_tensor(leaves, 2, B, P);
    nn_rng_fill_uniform(&rng, c.x->data, c.x->numel, 0, 1); /* grey pixels in [0,1] */
    c.eps = nn_graph_tensor(leaves, 2, B, Z);
    nn_rng_fill_normal(&rng, c.eps->data, c.eps->numel, 0, 1);
    const int shapes[10][2] = {{H, P}, {H, 0}, {Z, H}, {Z, 0}, {Z, H},
                               {Z, 0}, {H, Z}, {H, 0}, {P, H}, {P, 0}};
    for (int i = 0; i < 10; i++)
        c.p[i] = nn_test_leaf(leaves, &rng, -1, 1, shapes[i][1] ? 2 : 1, shapes[i]);
    nn_test_expect_gradcheck(nn_gradcheck(vae_loss, &c, c.p, 10, 1e-6), "tiny VAE negative ELBO");
    nn_graph_free(leaves);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sample),
        cmocka_unit_test(test_kl),
        cmocka_unit_test(test_whole_vae),
    };
    return cmocka_run_group_tests_name("vae gradient checks (double)", tests, NULL, NULL);
}
