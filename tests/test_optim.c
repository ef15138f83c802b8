/* test_optim.c -- the training toolkit against values worked out by hand from the published
 * equations: every optimizer's first steps, schedules, clipping, initialiser statistics and
 * gains, early stopping. */
#include "nn_test.h"

NN_TEST_DEFINE_FAIL_HANDLER

#define NEAR(got, want, tol)                                                                \
    do {                                                                                    \
        double got_ = (got), want_ = (want);                                                \
        if (!(fabs(got_ - want_) <= (tol)))                                                 \
            fail_msg("%s is %.9g, expected %.9g (tol %.1e)", #got, got_, want_, (double)(tol)); \
    } while (0)

/* one scalar parameter w = 1 */
static nn_params ps;
static nn_tensor *w;
static int setup(void **state)
{
    (void)state;
    nn_params_init(&ps);
    w = nn_params_add(&ps, "w", 1, (int[]){1});
    w->data[0] = 1;
    return 0;
}
static int teardown(void **state)
{
    (void)state;
    nn_params_free(&ps);
    return 0;
}

/* Run 3 steps on L = w^2 / 2 (g = w) from w = 1 and compare with the expected values. */
static void run3(nn_optim *o, const double expect[3], double tol, const char *what)
{
    for (int k = 0; k < 3; k++) {
        w->grad[0] = w->data[0];
        nn_optim_step(o);
        if (!(fabs(w->data[0] - expect[k]) <= tol))
            fail_msg("%s step %d: w = %.9g, expected %.9g", what, k + 1, (double)w->data[0], expect[k]);
    }
    assert_int_equal(o->step, 3);
}

/* lr 0.1, g = w:
 * SGD        w <- 0.9 w:                                   0.9, 0.81, 0.729
 * momentum   b1 = 1, w = 0.9; b2 = 0.9 + 0.9 = 1.8, w = 0.72; b3 = 1.62 + 0.72 = 2.34, w = 0.486
 * Nesterov   b1 = 1, w = 1 - 0.1 (1 + 0.9) = 0.81;
 *            b2 = 0.9 + 0.81 = 1.71, w = 0.81 - 0.1 (0.81 + 1.539) = 0.5751;
 *            b3 = 1.539 + 0.5751 = 2.1141, w = 0.5751 - 0.1 (0.5751 + 1.90269) = 0.327321 */
static void test_sgd_momentum_nesterov(void **state)
{
    (void)state;
    nn_optim o;
    nn_optim_init(&o, NN_OPTIM_SGD, &ps, 0.1f);
    assert_true(o.momentum == 0);
    run3(&o, (double[]){0.9, 0.81, 0.729}, 1e-6, "sgd");
    assert_null(o.m); /* plain SGD keeps no state */
    nn_optim_free(&o);

    w->data[0] = 1;
    nn_optim_init(&o, NN_OPTIM_MOMENTUM, &ps, 0.1f);
    assert_true(fabs(o.momentum - 0.9) < 1e-7);
    run3(&o, (double[]){0.9, 0.72, 0.486}, 1e-6, "momentum");
    nn_optim_free(&o);

    w->data[0] = 1;
    nn_optim_init(&o, NN_OPTIM_NESTEROV, &ps, 0.1f);
    run3(&o, (double[]){0.81, 0.5751, 0.327321}, 1e-6, "nesterov");
    nn_optim_free(&o);

    /* L2 weight decay adds wd w to g: constant g = 1, wd 0.5: w = 1 - 0.1 (1 + 0.5) = 0.85 */
    w->data[0] = 1;
    nn_optim_init(&o, NN_OPTIM_SGD, &ps, 0.1f);
    o.weight_decay = 0.5f;
    w->grad[0] = 1;
    nn_optim_step(&o);
    NEAR(w->data[0], 0.85, 1e-6);
    nn_optim_free(&o);
}

/* AdaGrad, lr 0.1, g = w: s1 = 1, w1 = 1 - 0.1 = 0.9;
 *   s2 = 1 + 0.81 = 1.81, w2 = 0.9 - 0.09 / sqrt(1.81) = 0.8331035;
 *   s3 = 1.81 + 0.8331035^2 = 2.504061, w3 = 0.8331035 - 0.08331035 / sqrt(2.504061) = 0.7804562
 * RMSprop, lr 0.01, alpha 0.99, g = w: v1 = 0.01, w1 = 1 - 0.01 / 0.1 = 0.9;
 *   v2 = 0.0099 + 0.0081 = 0.018, w2 = 0.9 - 0.009 / sqrt(0.018) = 0.8329180;
 *   w3 = 0.7799823 */
static void test_adagrad_rmsprop(void **state)
{
    (void)state;
    nn_optim o;
    nn_optim_init(&o, NN_OPTIM_ADAGRAD, &ps, 0.1f);
    assert_true(fabs(o.eps - 1e-10) < 1e-16);
    run3(&o, (double[]){0.9, 0.8331035, 0.7804562}, 2e-6, "adagrad");
    NEAR(o.v[0], 2.504061, 1e-5);
    nn_optim_free(&o);

    w->data[0] = 1;
    nn_optim_init(&o, NN_OPTIM_RMSPROP, &ps, 0.01f);
    assert_true(fabs(o.alpha - 0.99) < 1e-7 && o.momentum == 0);
    run3(&o, (double[]){0.9, 0.8329180, 0.7799823}, 2e-6, "rmsprop");
    nn_optim_free(&o);

    /* RMSprop with momentum 0.9, constant g = 1: u1 = 1 / 0.1 = 10, b1 = 10, w1 = 0.9;
     * v2 = 0.0199, u2 = 1/sqrt(0.0199) = 7.088812, b2 = 9 + 7.088812, w2 = 0.9 - 0.1608881 */
    w->data[0] = 1;
    nn_optim_init(&o, NN_OPTIM_RMSPROP, &ps, 0.01f);
    o.momentum = 0.9f;
    for (int k = 0; k < 2; k++) {
        w->grad[0] = 1;
        nn_optim_step(&o);
    }
    NEAR(w->data[0], 0.7391119, 2e-6);
    nn_optim_free(&o);
}

/* Adam, lr 0.1, g = w. Step 1: m = 0.1, v = 0.001, m_hat = 1, v_hat = 1: w = 0.9.
 * Step 2: m = 0.09 + 0.09 = 0.18, v = 0.000999 + 0.00081 = 0.001809,
 *   m_hat = 0.18 / 0.19 = 0.9473684, v_hat = 0.001809 / 0.001999 = 0.9049525,
 *   w = 0.9 - 0.1 * 0.9473684 / 0.9512899 = 0.8004122; step 3: 0.7015863 */
static void test_adam(void **state)
{
    (void)state;
    nn_optim o;
    nn_optim_init(&o, NN_OPTIM_ADAM, &ps, 0.1f);
    assert_true(fabs(o.beta1 - 0.9) < 1e-7 && fabs(o.beta2 - 0.999) < 1e-7 && o.weight_decay == 0);
    run3(&o, (double[]){0.9, 0.8004122, 0.7015863}, 2e-6, "adam");
    nn_optim_free(&o);

    /* bias correction makes the first step exactly lr * sign(g), whatever |g| */
    const double gs[] = {1e-3, -50, 7};
    for (int k = 0; k < 3; k++) {
        w->data[0] = 1;
        nn_optim_init(&o, NN_OPTIM_ADAM, &ps, 0.01f);
        w->grad[0] = (nn_real)gs[k];
        nn_optim_step(&o);
        NEAR(w->data[0], 1 - 0.01 * (gs[k] > 0 ? 1 : -1), 1e-6);
        nn_optim_free(&o);
    }
}

/* AdamW decays the weight outside the adaptive step; Adam's L2 term goes through it.
 * With g = 0, wd 0.1, lr 0.1: AdamW w <- w (1 - 0.01) and the Adam part is 0: 0.99, 0.9801.
 * Adam + L2 sees g = 0.1 w, which the first step normalises to lr: w = 0.9.
 * With g = w: AdamW 0.89, 0.7815719; Adam + L2 (g = 1.1 w) is scale-free so it matches plain
 * Adam: 0.9, 0.8004122 -- the L2 penalty has been normalised away. */
static void test_adamw_vs_adam_l2(void **state)
{
    (void)state;
    nn_optim o;
    nn_optim_init(&o, NN_OPTIM_ADAMW, &ps, 0.1f);
    assert_true(fabs(o.weight_decay - 0.01) < 1e-8);
    o.weight_decay = 0.1f;
    for (int k = 0; k < 2; k++) {
        w->grad[0] = 0;
        nn_optim_step(&o);
    }
    NEAR(w->data[0], 0.9801, 1e-6);
    nn_optim_free(&o);

    w->data[0] = 1;
    nn_optim_init(&o, NN_OPTIM_ADAM, &ps, 0.1f);
    o.weight_decay = 0.1f;
    w->grad[0] = 0;
    nn_optim_step(&o);
    NEAR(w->data[0], 0.9, 1e-6);
    nn_optim_free(&o);

    double got[2][2];
    for (int kind = 0; kind < 2; kind++) {
        w->data[0] = 1;
        nn_optim_init(&o, kind ? NN_OPTIM_ADAM : NN_OPTIM_ADAMW, &ps, 0.1f);
        o.weight_decay = 0.1f;
        for (int k = 0; k < 2; k++) {
            w->grad[0] = w->data[0];
            nn_optim_step(&o);
            got[kind][k] = w->data[0];
        }
        nn_optim_free(&o);
    }
    NEAR(got[0][0], 0.89, 1e-6);
    NEAR(got[0][1], 0.7815719, 2e-6);
    NEAR(got[1][0], 0.9, 1e-6);
    NEAR(got[1][1], 0.8004122, 2e-6);
}

/* (its own function, so the caller's loop counter survives EXPECT_FAIL's longjmp) */
static void expect_step_refused(nn_optim *o)
{
    EXPECT_FAIL(nn_optim_step(o), "create the optimizer after adding every parameter");
}

/* every method reduces a small quadratic; names; a store that grew is refused */
static void test_every_optimizer_descends(void **state)
{
    (void)state;
    const char *names[NN_OPTIM_KINDS] = {"sgd", "momentum", "nesterov", "adagrad",
                                         "rmsprop", "adam", "adamw"};
    for (int k = 0; k < NN_OPTIM_KINDS; k++) {
        assert_string_equal(nn_optim_name((nn_optim_kind)k), names[k]);
        nn_params p;
        nn_params_init(&p);
        nn_tensor *x = nn_params_add(&p, "x", 1, (int[]){4});
        for (int i = 0; i < 4; i++) x->data[i] = (nn_real)(i - 1.5);
        nn_optim o;
        nn_optim_init(&o, (nn_optim_kind)k, &p, 0.05f);
        double before = 0, after = 0;
        for (int i = 0; i < 4; i++) before += x->data[i] * x->data[i];
        for (int s = 0; s < 50; s++) {
            for (int i = 0; i < 4; i++) x->grad[i] = x->data[i];
            nn_optim_step(&o);
        }
        for (int i = 0; i < 4; i++) after += x->data[i] * x->data[i];
        if (!(after < 0.5 * before)) fail_msg("%s: |x|^2 went from %g to %g", names[k], before, after);
        if (k != NN_OPTIM_SGD) {
            nn_params_add(&p, "late", 1, (int[]){3});
            expect_step_refused(&o);
        }
        nn_optim_free(&o);
        nn_params_free(&p);
    }
    assert_string_equal(nn_optim_name(NN_OPTIM_KINDS), "?");
}

/* schedules at chosen steps */
static void test_schedules(void **state)
{
    (void)state;
    /* step: 0.1 * 0.5^floor(t/10): t=0 0.1, 9 0.1, 10 0.05, 25 0.025 */
    nn_schedule s = {.kind = NN_SCHEDULE_STEP, .base_lr = 0.1, .step_size = 10, .gamma = 0.5};
    NEAR(nn_schedule_lr(&s, 0), 0.1, 1e-8);
    NEAR(nn_schedule_lr(&s, 9), 0.1, 1e-8);
    NEAR(nn_schedule_lr(&s, 10), 0.05, 1e-8);
    NEAR(nn_schedule_lr(&s, 25), 0.025, 1e-8);
    /* exponential: 1 * 0.9^t: t=2 0.81, t=3 0.729 */
    s = (nn_schedule){.kind = NN_SCHEDULE_EXPONENTIAL, .base_lr = 1, .gamma = 0.9};
    NEAR(nn_schedule_lr(&s, 0), 1, 1e-7);
    NEAR(nn_schedule_lr(&s, 2), 0.81, 1e-7);
    NEAR(nn_schedule_lr(&s, 3), 0.729, 1e-7);
    /* cosine from 1 to 0.1 over 100 steps: t=0 1, t=50 0.55 (cos = 0), t=100 0.1, after: 0.1;
     * t=25: 0.1 + 0.9 (1 + cos(pi/4)) / 2 = 0.1 + 0.45 (1 + 0.7071068) = 0.8681981 */
    s = (nn_schedule){.kind = NN_SCHEDULE_COSINE, .base_lr = 1, .min_lr = 0.1, .total_steps = 100};
    NEAR(nn_schedule_lr(&s, 0), 1, 1e-7);
    NEAR(nn_schedule_lr(&s, 25), 0.8681981, 1e-6);
    NEAR(nn_schedule_lr(&s, 50), 0.55, 1e-6);
    NEAR(nn_schedule_lr(&s, 100), 0.1, 1e-7);
    NEAR(nn_schedule_lr(&s, 150), 0.1, 1e-7);
    /* warm-up over 4 steps: 0.25, 0.5, 0.75, 1, then cosine over the remaining 100 - 4 = 96:
     * step 4 is t=0 (1), step 52 is t=48 (halfway, 0.55), step 100 the end (0.1) */
    s.warmup_steps = 4;
    NEAR(nn_schedule_lr(&s, 0), 0.25, 1e-7);
    NEAR(nn_schedule_lr(&s, 2), 0.75, 1e-7);
    NEAR(nn_schedule_lr(&s, 3), 1, 1e-7);
    NEAR(nn_schedule_lr(&s, 4), 1, 1e-7);
    NEAR(nn_schedule_lr(&s, 52), 0.55, 1e-6);
    NEAR(nn_schedule_lr(&s, 100), 0.1, 1e-7);
    /* warm-up then a constant rate */
    s = (nn_schedule){.kind = NN_SCHEDULE_CONSTANT, .base_lr = 0.2, .warmup_steps = 2};
    NEAR(nn_schedule_lr(&s, 0), 0.1, 1e-7);
    NEAR(nn_schedule_lr(&s, 1), 0.2, 1e-7);
    NEAR(nn_schedule_lr(&s, 1000), 0.2, 1e-7);
    s = (nn_schedule){.kind = NN_SCHEDULE_STEP, .base_lr = 0.1};
    EXPECT_FAIL(nn_schedule_lr(&s, 3), "step_size");
    s = (nn_schedule){.kind = NN_SCHEDULE_COSINE, .base_lr = 0.1, .total_steps = 5, .warmup_steps = 5};
    EXPECT_FAIL(nn_schedule_lr(&s, 6), "total_steps");
}

static void test_clipping(void **state)
{
    (void)state;
    nn_params p;
    nn_params_init(&p);
    nn_tensor *a = nn_params_add(&p, "a", 1, (int[]){1});
    nn_tensor *b = nn_params_add(&p, "b", 1, (int[]){1});
    /* (3, 4) has norm 5; clipped to 1 it is (0.6, 0.8) (to within the 1e-6 guard) */
    a->grad[0] = 3;
    b->grad[0] = 4;
    NEAR(nn_clip_grad_norm(&p, 1), 5, 1e-9);
    NEAR(a->grad[0], 0.6, 1e-6);
    NEAR(b->grad[0], 0.8, 1e-6);
    NEAR(nn_params_grad_norm(&p), 1, 1e-6);
    /* a norm under the limit is left exactly alone */
    a->grad[0] = 3;
    b->grad[0] = 4;
    NEAR(nn_clip_grad_norm(&p, 10), 5, 1e-9);
    assert_true(a->grad[0] == 3 && b->grad[0] == 4);
    /* by value: each component clamped */
    a->grad[0] = -7;
    b->grad[0] = 0.25f;
    nn_clip_grad_value(&p, 0.5);
    assert_true(a->grad[0] == -0.5f && b->grad[0] == 0.25f);
    EXPECT_FAIL(nn_clip_grad_norm(&p, 0), "max_norm");
    EXPECT_FAIL(nn_clip_grad_value(&p, -1), "limit");
    nn_params_free(&p);
}

/* mean, std and max |x| of a tensor */
static void stats(const nn_tensor *t, double *mean, double *std, double *maxabs)
{
    double s = 0, s2 = 0, mx = 0;
    for (size_t i = 0; i < t->numel; i++) {
        s += t->data[i];
        s2 += (double)t->data[i] * t->data[i];
        if (fabs(t->data[i]) > mx) mx = fabs(t->data[i]);
    }
    *mean = s / t->numel;
    *std = sqrt(s2 / t->numel - *mean * *mean);
    *maxabs = mx;
}

static void test_init(void **state)
{
    (void)state;
    NEAR(nn_init_gain(NN_GAIN_LINEAR, 0), 1, 0);
    NEAR(nn_init_gain(NN_GAIN_SIGMOID, 0), 1, 0);
    NEAR(nn_init_gain(NN_GAIN_TANH, 0), 5.0 / 3, 1e-15);
    NEAR(nn_init_gain(NN_GAIN_RELU, 0), 1.4142135623730951, 1e-15);
    NEAR(nn_init_gain(NN_GAIN_LEAKY_RELU, 0.01), 1.4141428569978354, 1e-15); /* PyTorch's */
    NEAR(nn_init_gain(NN_GAIN_LEAKY_RELU, 1), 1, 1e-15); /* slope 1 is linear */
    NEAR(nn_init_gain(NN_GAIN_SELU, 0), 0.75, 0);

    nn_params p;
    nn_params_init(&p);
    /* weight (out 256, in 512): fan_in 512, fan_out 256 */
    nn_tensor *W = nn_params_add(&p, "W", 2, (int[]){256, 512});
    nn_tensor *C = nn_params_add(&p, "conv", 4, (int[]){16, 8, 3, 3});
    double fi, fo, mean, std, mx;
    nn_init_fans(W, &fi, &fo);
    assert_true(fi == 512 && fo == 256);
    nn_init_fans(C, &fi, &fo);
    assert_true(fi == 72 && fo == 144); /* 8*3*3, 16*3*3 */
    nn_tensor *bias = nn_params_add(&p, "b", 1, (int[]){4});
    EXPECT_FAIL(nn_init_fans(bias, &fi, &fo), "at least 2 dimensions");

    nn_rng rng;
    nn_rng_seed(&rng, 7);
    /* Xavier uniform, tanh gain: a = 5/3 sqrt(6 / 768) = 0.1473139, std a / sqrt 3 */
    double a = 5.0 / 3 * sqrt(6.0 / 768);
    nn_init_xavier_uniform(W, 5.0 / 3, &rng);
    stats(W, &mean, &std, &mx);
    assert_true(mx <= a && mx > 0.999 * a);
    NEAR(std, a / sqrt(3.0), 0.02 * a / sqrt(3.0));
    NEAR(mean, 0, 0.01 * a);
    /* Xavier normal, gain 1: std sqrt(2 / 768) = 0.0510310 */
    nn_init_xavier_normal(W, 1, &rng);
    stats(W, &mean, &std, &mx);
    NEAR(std, sqrt(2.0 / 768), 0.02 * sqrt(2.0 / 768));
    /* Kaiming uniform, relu gain: bound sqrt(2) sqrt(3 / 512) = sqrt(6/512) = 0.1082532 */
    a = sqrt(6.0 / 512);
    nn_init_kaiming_uniform(W, nn_init_gain(NN_GAIN_RELU, 0), &rng);
    stats(W, &mean, &std, &mx);
    assert_true(mx <= a * (1 + 1e-6) && mx > 0.999 * a);
    NEAR(std, sqrt(2.0 / 512), 0.02 * sqrt(2.0 / 512));
    /* Kaiming normal, relu gain: std sqrt(2 / 512) = 0.0625 */
    nn_init_kaiming_normal(W, nn_init_gain(NN_GAIN_RELU, 0), &rng);
    stats(W, &mean, &std, &mx);
    NEAR(std, 0.0625, 0.02 * 0.0625);
    NEAR(mean, 0, 0.002);
    /* a conv weight uses fan_in 72: std sqrt(2/72) = 1/6 (1296 samples: 5%) */
    nn_init_kaiming_normal(C, nn_init_gain(NN_GAIN_RELU, 0), &rng);
    stats(C, &mean, &std, &mx);
    NEAR(std, 1.0 / 6, 0.05 / 6);
    nn_params_free(&p);
}

/* scripted validation losses; patience 2, min_delta 0.01:
 * epoch 0 1.00 best; 1 0.80 best; 2 0.795 (not by more than 0.01: bad 1); 3 0.70 best;
 * 4 0.75 bad 1; 5 0.71 bad 2 -> stop at epoch 5, best epoch 3 */
static void test_early_stopping(void **state)
{
    (void)state;
    const double losses[] = {1.0, 0.8, 0.795, 0.7, 0.75, 0.71, 0.5, 0.4};
    nn_earlystop e;
    nn_earlystop_init(&e, 2, 0.01, NN_EARLYSTOP_MINIMIZE);
    EXPECT_FAIL(nn_earlystop_restore(&e, &ps), "no epoch");
    int stopped = -1;
    for (int epoch = 0; epoch < 8; epoch++) {
        w->data[0] = (nn_real)(100 + epoch); /* "training" changes the weights */
        if (nn_earlystop_update(&e, &ps, losses[epoch], epoch)) {
            stopped = epoch;
            break;
        }
    }
    assert_int_equal(stopped, 5);
    assert_int_equal(e.best_epoch, 3);
    NEAR(e.best, 0.7, 0);
    nn_earlystop_restore(&e, &ps);
    assert_true(w->data[0] == 103);
    nn_earlystop_free(&e);

    /* maximising accuracy, patience 1: 0.5, 0.6, 0.6 (no gain) -> stop at epoch 2 */
    nn_earlystop_init(&e, 1, 0, NN_EARLYSTOP_MAXIMIZE);
    assert_int_equal(nn_earlystop_update(&e, &ps, 0.5, 0), 0);
    assert_int_equal(nn_earlystop_update(&e, &ps, 0.6, 1), 0);
    assert_int_equal(nn_earlystop_update(&e, &ps, 0.6, 2), 1);
    assert_int_equal(e.best_epoch, 1);
    /* a NaN never counts as an improvement */
    nn_earlystop_free(&e);
    nn_earlystop_init(&e, 3, 0, NN_EARLYSTOP_MINIMIZE);
    assert_int_equal(nn_earlystop_update(&e, &ps, NAN, 0), 0);
    assert_int_equal(e.best_epoch, -1);
    assert_int_equal(nn_earlystop_update(&e, &ps, 2.0, 1), 0);
    assert_int_equal(nn_earlystop_update(&e, &ps, NAN, 2), 0);
    assert_int_equal(e.best_epoch, 1);
    nn_earlystop_free(&e);
    EXPECT_FAIL(nn_earlystop_init(&e, 0, 0, NN_EARLYSTOP_MINIMIZE), "patience");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sgd_momentum_nesterov, setup, teardown),
        cmocka_unit_test_setup_teardown(test_adagrad_rmsprop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_adam, setup, teardown),
        cmocka_unit_test_setup_teardown(test_adamw_vs_adam_l2, setup, teardown),
        cmocka_unit_test(test_every_optimizer_descends),
        cmocka_unit_test(test_schedules),
        cmocka_unit_test(test_clipping),
        cmocka_unit_test(test_init),
        cmocka_unit_test_setup_teardown(test_early_stopping, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
