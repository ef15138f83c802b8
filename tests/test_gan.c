/* test_gan.c -- the GAN losses (lib/gan.c) on a fixed batch of logits, worked by hand, with
 * their gradients with respect to the logits; the ring of Gaussians and its mode-coverage
 * metric on points placed by hand; bad input refused with a message.
 *
 * The batch uses logits whose sigmoids are simple fractions, s(l) = 1 / (1 + e^-l):
 *     s(ln 3) = 3/4,   s(0) = 1/2,   s(-ln 3) = 1/4,   s(-ln 9) = 1/10.
 *   real logits (D's view of 2 real images):  ln 3, 0        -> D(x)    = 3/4, 1/2
 *   fake logits (D's view of 3 fakes):        -ln 3, 0, -ln 9 -> D(G(z)) = 1/4, 1/2, 1/10
 */
#include "nn_test.h"

#include <stdlib.h>

NN_TEST_DEFINE_FAIL_HANDLER

NN_TEST_GRAPH_FIXTURE

static nn_tensor *real_logits(void)
{
    nn_tensor *t = nn_graph_input(g, (nn_real[]){(nn_real)log(3.0), 0}, 2, 2, 1);
    nn_graph_require_grad(g, t);
    return t;
}

static nn_tensor *fake_logits(void)
{
    nn_tensor *t = nn_graph_input(g, (nn_real[]){(nn_real)-log(3.0), 0, (nn_real)-log(9.0)}, 2,
                                  3, 1);
    nn_graph_require_grad(g, t);
    return t;
}

#define CLOSE_VALUES(got, ...)                                                              \
    do {                                                                                    \
        const nn_real expect_[] = {__VA_ARGS__};                                            \
        nn_test_assert_close((got), expect_, sizeof expect_ / sizeof expect_[0], 1e-6,      \
                             1e-5, #got);                                                   \
    } while (0)

/* L_D = BCE(real, 1) + BCE(fake, 0)
 *   BCE(real, 1) = -(ln 3/4 + ln 1/2) / 2 = (0.2876821 + 0.6931472) / 2 = 0.4904146
 *   BCE(fake, 0) = -(ln 3/4 + ln 1/2 + ln 9/10) / 3
 *                = (0.2876821 + 0.6931472 + 0.1053605) / 3 = 1.0861898 / 3 = 0.3620633
 *   L_D = 0.8524779
 * dL_D/dreal_i = (s_i - 1) / 2: (3/4 - 1)/2 = -0.125, (1/2 - 1)/2 = -0.25
 * dL_D/dfake_j = s_j / 3:       (1/4)/3 = 1/12, (1/2)/3 = 1/6, (1/10)/3 = 1/30 */
static void test_discriminator_loss(void **state)
{
    (void)state;
    nn_tensor *r = real_logits(), *f = fake_logits();
    nn_tensor *loss = nn_gan_discriminator_loss(g, r, f, 1);
    assert_int_equal(loss->numel, 1);
    CLOSE_VALUES(loss->data, 0.8524779f);
    nn_backward(g, loss);
    CLOSE_VALUES(r->grad, -0.125f, -0.25f);
    CLOSE_VALUES(f->grad, 1.0f / 12, 1.0f / 6, 1.0f / 30);
}

/* One-sided label smoothing, r = 0.9: BCE(l, 0.9) = -(0.9 ln s + 0.1 ln(1 - s))
 *   real ln 3: 0.9 * 0.2876821 + 0.1 * 1.3862944 = 0.2589139 + 0.1386294 = 0.3975433
 *   real 0:    0.9 * ln 2 + 0.1 * ln 2 = 0.6931472
 *   BCE(real, 0.9) = (0.3975433 + 0.6931472) / 2 = 0.5453453
 *   L_D = 0.5453453 + 0.3620633 = 0.9074086   (the fakes' term does not change)
 * dL_D/dreal_i = (s_i - 0.9) / 2: -0.15/2 = -0.075, -0.4/2 = -0.2: D's push on a real image
 * stops at D(x) = 0.9 instead of 1. */
static void test_discriminator_loss_smoothed(void **state)
{
    (void)state;
    nn_tensor *r = real_logits(), *f = fake_logits();
    nn_tensor *loss = nn_gan_discriminator_loss(g, r, f, 0.9f);
    CLOSE_VALUES(loss->data, 0.9074086f);
    nn_backward(g, loss);
    CLOSE_VALUES(r->grad, -0.075f, -0.2f);
    CLOSE_VALUES(f->grad, 1.0f / 12, 1.0f / 6, 1.0f / 30);
}

/* Non-saturating: L_G = -mean ln D(G(z)) = -(ln 1/4 + ln 1/2 + ln 1/10) / 3
 *                     = (1.3862944 + 0.6931472 + 2.3025851) / 3 = 4.3820266 / 3 = 1.4606755
 * dL_G/dfake_j = (s_j - 1) / 3: -0.25, -1/6, -0.3 */
static void test_generator_loss_non_saturating(void **state)
{
    (void)state;
    nn_tensor *f = fake_logits();
    nn_tensor *loss = nn_gan_generator_loss(g, f, 1);
    CLOSE_VALUES(loss->data, 1.4606755f);
    nn_backward(g, loss);
    CLOSE_VALUES(f->grad, -0.25f, -1.0f / 6, -0.3f);
}

/* Minimax (saturating): L_G = mean ln(1 - D(G(z))) = -BCE(fake, 0) = -0.3620633
 * dL_G/dfake_j = -s_j / 3: -1/12, -1/6, -1/30.
 * The fake that D rejects most confidently (D = 1/10) gets -1/30 here and -0.3 above: nine
 * times less push exactly where G most needs it -- the saturation the docs explain. */
static void test_generator_loss_minimax(void **state)
{
    (void)state;
    nn_tensor *f = fake_logits();
    nn_tensor *loss = nn_gan_generator_loss(g, f, 0);
    CLOSE_VALUES(loss->data, -0.3620633f);
    nn_backward(g, loss);
    CLOSE_VALUES(f->grad, -1.0f / 12, -1.0f / 6, -1.0f / 30);
}

/* Huge logits stay finite (the losses inherit BCE's log-sum-exp form). */
static void test_losses_are_stable(void **state)
{
    (void)state;
    nn_tensor *r = nn_graph_input(g, (nn_real[]){200}, 1, 1);
    nn_tensor *f = nn_graph_input(g, (nn_real[]){-200}, 1, 1);
    nn_tensor *d = nn_gan_discriminator_loss(g, r, f, 1);
    assert_true(isfinite(d->data[0]) && d->data[0] < 1e-6);
    nn_tensor *ns = nn_gan_generator_loss(g, f, 1);
    assert_true(isfinite(ns->data[0]) && fabs(ns->data[0] - 200) < 1e-3);
}

/* Ring with 4 modes, radius 1, std 0.1: centres (1,0), (0,1), (-1,0), (0,-1); 3 std = 0.3.
 *   (1, 0)      mode 0, distance 0     -> high quality
 *   (1.2, 0)    mode 0, distance 0.2   -> high quality
 *   (0, 0.71)   mode 1, distance 0.29  -> high quality
 *   (0, 0)      equally far (1) from all four: not high quality
 *   (-1, 0.31)  mode 2, distance 0.31 > 0.3: not
 *   (NaN, 0)    nowhere
 * counts = {2, 1, 0, 0}, quality 3/6; covered: 2 modes with min_count 1, 1 with min_count 2 */
static void test_ring_coverage_by_hand(void **state)
{
    (void)state;
    const nn_real pts[] = {1, 0, 1.2f, 0, 0, 0.71f, 0, 0, -1, 0.31f, (nn_real)NAN, 0};
    int counts[4];
    double quality = -1;
    assert_int_equal(nn_gan_ring_coverage(pts, 6, 4, 1.0, 0.1, 1, &quality, counts), 2);
    assert_int_equal(counts[0], 2);
    assert_int_equal(counts[1], 1);
    assert_int_equal(counts[2], 0);
    assert_int_equal(counts[3], 0);
    assert_true(fabs(quality - 0.5) < 1e-12);
    assert_int_equal(nn_gan_ring_coverage(pts, 6, 4, 1.0, 0.1, 2, NULL, NULL), 1);
}

/* Samples of the ring itself: every mode covered, and the fraction within 3 std of a centre
 * is P(|N(0, I_2)| <= 3) = 1 - e^{-9/2} = 0.98889 (the distance of a 2-D Gaussian is
 * Rayleigh), up to sampling noise (sd sqrt(p(1-p)/n) = 0.0017 for n = 4000). */
static void test_ring_samples_cover_every_mode(void **state)
{
    (void)state;
    enum { N = 4000, MODES = 8 };
    nn_real *x = malloc(2 * N * sizeof *x);
    nn_rng rng;
    nn_rng_seed(&rng, 7);
    nn_gan_ring_sample(x, N, MODES, 2.0, 0.02, &rng);
    int counts[MODES];
    double quality;
    assert_int_equal(nn_gan_ring_coverage(x, N, MODES, 2.0, 0.02, 20, &quality, counts), MODES);
    assert_true(fabs(quality - (1 - exp(-4.5))) < 0.008);
    for (int k = 0; k < MODES; k++) assert_true(counts[k] > 400 && counts[k] < 590);
    /* the same seed gives the same points */
    nn_real *y = malloc(2 * N * sizeof *y);
    nn_rng_seed(&rng, 7);
    nn_gan_ring_sample(y, N, MODES, 2.0, 0.02, &rng);
    assert_memory_equal(x, y, 2 * N * sizeof *x);
    free(x);
    free(y);
}

static void test_bad_input(void **state)
{
    (void)state;
    nn_tensor *r = real_logits(), *f = fake_logits();
    EXPECT_FAIL(nn_gan_discriminator_loss(g, r, f, 1.5f), "real_label must be in [0, 1]");
    EXPECT_FAIL(nn_gan_discriminator_loss(g, r, f, (nn_real)NAN), "real_label");
    EXPECT_FAIL(nn_gan_discriminator_loss(g, NULL, f, 1), "real_logits is NULL");
    EXPECT_FAIL(nn_gan_generator_loss(g, NULL, 1), "fake_logits is NULL");
    nn_real x[4] = {0};
    nn_rng rng;
    nn_rng_seed(&rng, 1);
    EXPECT_FAIL(nn_gan_ring_sample(x, 2, 0, 2.0, 0.02, &rng), "at least 1 mode");
    EXPECT_FAIL(nn_gan_ring_sample(x, 2, 8, 2.0, 0, &rng), "std must be finite and > 0");
    EXPECT_FAIL(nn_gan_ring_coverage(x, 0, 8, 2.0, 0.02, 1, NULL, NULL), "need n >= 1");
    EXPECT_FAIL(nn_gan_ring_coverage(x, 2, 8, 2.0, 0.02, 0, NULL, NULL), "min_count");
    EXPECT_FAIL(nn_gan_ring_coverage(x, 2, 8, -1, 0.02, 1, NULL, NULL), "radius");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_discriminator_loss, setup, teardown),
        cmocka_unit_test_setup_teardown(test_discriminator_loss_smoothed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_generator_loss_non_saturating, setup, teardown),
        cmocka_unit_test_setup_teardown(test_generator_loss_minimax, setup, teardown),
        cmocka_unit_test_setup_teardown(test_losses_are_stable, setup, teardown),
        cmocka_unit_test(test_ring_coverage_by_hand),
        cmocka_unit_test(test_ring_samples_cover_every_mode),
        cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
    };
    return cmocka_run_group_tests_name("gan losses and ring coverage", tests, NULL, NULL);
}
