/* test_vae.c -- the variational autoencoder's ops on values worked out by hand: the
 * reparameterized sample, the closed-form KL (and its gradient), the KL against a Monte Carlo
 * estimate of E_q[log q(z) - log p(z)] drawn through the sample op, and bad shapes refused. */
#include "nn_test.h"

#include <stdlib.h>

NN_TEST_DEFINE_FAIL_HANDLER

NN_TEST_GRAPH_FIXTURE


/* sigma = exp(logvar/2) = (2, 1, 1/2) for logvar = (2 ln 2, 0, -2 ln 2):
 * z = mu + sigma eps = (1 + 2 * 0.5, -1 + 1 * -1, 0 + 0.5 * 2) = (2, -2, 1) */
static void test_sample_golden(void **state)
{
    (void)state;
    nn_tensor *mu = nn_graph_input(g, (nn_real[]){1, -1, 0}, 2, 1, 3);
    nn_tensor *lv = nn_graph_input(g, (nn_real[]){(nn_real)(2 * log(2.0)), 0,
                                                  (nn_real)(-2 * log(2.0))}, 2, 1, 3);
    nn_tensor *eps = nn_graph_input(g, (nn_real[]){0.5f, -1, 2}, 2, 1, 3);
    nn_tensor *z = nn_vae_sample(g, mu, lv, eps);
    CLOSE(z, 2, -2, 1);
    assert_int_equal(z->ndim, 2);
    assert_int_equal(z->shape[1], 3);
    /* eps = 0 gives back the mean */
    nn_tensor *zero = nn_graph_tensor(g, 2, 1, 3);
    CLOSE(nn_vae_sample(g, mu, lv, zero), 1, -1, 0);
    /* backward of L = sum z: dL/dmu = 1, dL/dlogvar = eps sigma / 2 = (0.5, -0.5, 0.5) */
    nn_graph_require_grad(g, mu);
    nn_graph_require_grad(g, lv);
    nn_backward(g, nn_sum(g, nn_vae_sample(g, mu, lv, eps)));
    nn_test_assert_close(mu->grad, (nn_real[]){1, 1, 1}, 3, 1e-6, 1e-6, "dL/dmu");
    nn_test_assert_close(lv->grad, (nn_real[]){0.5f, -0.5f, 0.5f}, 3, 1e-6, 1e-6, "dL/dlogvar");
    nn_graph_reset(g);
}

/* KL_b = sum_j 1/2 (mu^2 + e^v - 1 - v):
 *   mu = 0, v = 0: exactly 0 (q is the prior);
 *   row 0, mu (1, 0), v (0, 0):            1/2 (1) = 0.5
 *   row 1, mu (0, -2), v (ln 2, -ln 2):    1/2 (2 - 1 - ln 2) + 1/2 (4 + 1/2 - 1 + ln 2) = 2.25
 *   mean over the batch: (0.5 + 2.25) / 2 = 1.375 */
static void test_kl_golden(void **state)
{
    (void)state;
    nn_tensor *zeros = nn_graph_tensor(g, 2, 4, 3);
    CLOSE(nn_vae_kl(g, zeros, zeros), 0);
    const nn_real ln2 = (nn_real)log(2.0);
    nn_tensor *mu = nn_graph_input(g, (nn_real[]){1, 0, 0, -2}, 2, 2, 2);
    nn_tensor *lv = nn_graph_input(g, (nn_real[]){0, 0, ln2, -ln2}, 2, 2, 2);
    CLOSE(nn_vae_kl(g, mu, lv), 1.375f);
    /* gradients: dKL/dmu = mu / B, dKL/dv = (e^v - 1) / (2 B), B = 2 */
    nn_graph_require_grad(g, mu);
    nn_graph_require_grad(g, lv);
    nn_backward(g, nn_vae_kl(g, mu, lv));
    nn_test_assert_close(mu->grad, (nn_real[]){0.5f, 0, 0, -1}, 4, 1e-6, 1e-6, "dKL/dmu");
    nn_test_assert_close(lv->grad, (nn_real[]){0, 0, 0.25f, -0.125f}, 4, 1e-6, 1e-6, "dKL/dv");
    /* a latent variance far from 1 costs nats even at mu = 0: v = ln 4 -> 1/2 (4 - 1 - ln 4) */
    nn_tensor *v4 = nn_graph_input(g, (nn_real[]){2 * ln2}, 2, 1, 1);
    nn_tensor *m0 = nn_graph_tensor(g, 2, 1, 1);
    CLOSE(nn_vae_kl(g, m0, v4), (nn_real)(0.5 * (3 - 2 * log(2.0))));
    nn_graph_reset(g);
}

/* The closed form is the expectation E_q[log q(z) - log p(z)]; estimate that expectation with
 * n samples drawn through nn_vae_sample and compare, allowing 4 standard errors. */
static void test_kl_monte_carlo(void **state)
{
    (void)state;
    enum { N = 200000, D = 2 };
    const double mu[D] = {0.8, -0.3}, lv[D] = {-1.0, 0.6};
    nn_rng rng;
    nn_rng_seed(&rng, 11);
    nn_real *m = nn_malloc(sizeof(nn_real) * N * D), *v = nn_malloc(sizeof(nn_real) * N * D);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < D; j++) m[i * D + j] = (nn_real)mu[j], v[i * D + j] = (nn_real)lv[j];
    nn_tensor *tm = nn_graph_input(g, m, 2, N, D), *tv = nn_graph_input(g, v, 2, N, D);
    nn_tensor *eps = nn_graph_tensor(g, 2, N, D);
    nn_rng_fill_normal(&rng, eps->data, eps->numel, 0, 1);
    nn_tensor *z = nn_vae_sample(g, tm, tv, eps);
    double sum = 0, sum2 = 0;
    for (int i = 0; i < N; i++) {
        double d = 0; /* log q(z) - log p(z); the log 2 pi terms cancel */
        for (int j = 0; j < D; j++) {
            double zz = z->data[i * D + j], s2 = exp(lv[j]);
            d += -0.5 * lv[j] - 0.5 * (zz - mu[j]) * (zz - mu[j]) / s2 + 0.5 * zz * zz;
        }
        sum += d, sum2 += d * d;
    }
    double mean = sum / N, se = sqrt((sum2 / N - mean * mean) / N);
    nn_tensor *one_mu = nn_graph_input(g, m, 2, 1, D), *one_lv = nn_graph_input(g, v, 2, 1, D);
    double closed = nn_vae_kl(g, one_mu, one_lv)->data[0];
    if (fabs(mean - closed) > 4 * se)
        fail_msg("KL closed form %.5f vs Monte Carlo %.5f +- %.5f", closed, mean, se);
    free(m), free(v);
    nn_graph_reset(g);
}

static void test_bad_shapes(void **state)
{
    (void)state;
    nn_tensor *a = nn_graph_tensor(g, 2, 2, 3), *b = nn_graph_tensor(g, 2, 3, 2);
    nn_tensor *v = nn_graph_tensor(g, 1, 6);
    EXPECT_FAIL(nn_vae_sample(g, a, b, a), "nn_vae_sample: mu (2,3) and logvar (3,2)");
    EXPECT_FAIL(nn_vae_sample(g, a, a, b), "nn_vae_sample: mu (2,3) and eps (3,2)");
    EXPECT_FAIL(nn_vae_kl(g, a, b), "nn_vae_kl: mu (2,3) and logvar (3,2)");
    EXPECT_FAIL(nn_vae_kl(g, v, v), "nn_vae_kl: mu must be (batch, latent), got (6)");
    nn_graph_reset(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sample_golden),
        cmocka_unit_test(test_kl_golden),
        cmocka_unit_test(test_kl_monte_carlo),
        cmocka_unit_test(test_bad_shapes),
    };
    return cmocka_run_group_tests_name("vae ops", tests, setup, teardown);
}
