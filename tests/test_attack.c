/* test_attack.c -- saliency, loss gradients, FGSM and occlusion (lib/attack.c) on models small
 * enough to work out by hand: a linear model, whose input gradients are rows and columns of
 * W, and a tiny tanh MLP checked against central differences; hand-worked occlusion maps;
 * bad input refused with a message. */
#include "nn_test.h"

#include <stdlib.h>

NN_TEST_DEFINE_FAIL_HANDLER

/* ---- the models: constants, not parameters, so the tests own every number ---- */

enum { D = 5, H = 4, C = 3 };

typedef struct model {
    int mlp;                      /* 0: z = x W1^T + b1 with W1 (C,D); 1: tanh MLP D-H-C */
    const nn_real *W1, *b1, *W2, *b2;
    int in, classes;
} model;

static nn_tensor *forward(nn_graph *g, nn_tensor *x, void *ctx)
{
    const model *m = ctx;
    if (!m->mlp)
        return nn_linear_op(g, x, nn_graph_input(g, m->W1, 2, m->classes, m->in),
                            nn_graph_input(g, m->b1, 1, m->classes));
    nn_tensor *h = nn_tanh(g, nn_linear_op(g, x, nn_graph_input(g, m->W1, 2, H, m->in),
                                           nn_graph_input(g, m->b1, 1, H)));
    return nn_linear_op(g, h, nn_graph_input(g, m->W2, 2, m->classes, H),
                        nn_graph_input(g, m->b2, 1, m->classes));
}

/* a forward that forgets to return logits per example */
static nn_tensor *forward_scalar(nn_graph *g, nn_tensor *x, void *ctx)
{
    return nn_sum(g, forward(g, x, ctx));
}

/* the linear model: column 2 of W is zero, so no class depends on input 2 */
static const nn_real LW[C * D] = {0.5f, -1.0f, 0, 0.25f, 2.0f,
                                  -0.75f, 0.5f, 0, 1.5f, -0.5f,
                                  1.0f, 0.25f, 0, -1.25f, 0.75f};
static const nn_real LB[C] = {0.1f, -0.2f, 0.3f};
static const model linear = {0, LW, LB, NULL, NULL, D, C};

static nn_real MW1[H * D], MB1[H], MW2[C * H], MB2[C];
static const model mlp = {1, MW1, MB1, MW2, MB2, D, C};

static int setup(void **state)
{
    (void)state;
    nn_rng rng;
    nn_rng_seed(&rng, 7);
    nn_rng_fill_normal(&rng, MW1, H * D, 0, 0.8);
    nn_rng_fill_normal(&rng, MB1, H, 0, 0.3);
    nn_rng_fill_normal(&rng, MW2, C * H, 0, 0.8);
    nn_rng_fill_normal(&rng, MB2, C, 0, 0.3);
    return 0;
}

/* z (n, C) of the model by a plain forward pass */
static void logits_of(nn_real *z, const model *m, const nn_real *x, int n)
{
    nn_graph *g = nn_graph_new();
    g->grad = 0;
    nn_tensor *out = forward(g, nn_graph_input(g, x, 2, n, m->in), (void *)m);
    memcpy(z, out->data, (size_t)n * m->classes * sizeof *z);
    nn_graph_free(g);
}

static const nn_real X3[3 * D] = {0.3f, 0.6f, 0.5f, 0.45f, 0.7f,
                                  0.65f, 0.35f, 0.4f, 0.55f, 0.3f,
                                  0.5f, 0.5f, 0.6f, 0.35f, 0.4f};

/* ---- saliency ---- */

/* z_c = W[c,:] . x + b_c, so d z_c / dx = W[c,:] exactly, whatever x */
static void test_saliency_linear_is_the_weight_row(void **state)
{
    (void)state;
    const int cls[3] = {2, 0, 1};
    nn_real sal[3 * D];
    nn_attack_saliency(sal, forward, (void *)&linear, X3, cls, 3, D);
    for (int i = 0; i < 3; i++)
        nn_test_assert_close(sal + i * D, LW + cls[i] * D, D, 0, 0, "saliency row");
}

/* the tanh MLP against (z(x + h e_j) - z(x - h e_j)) / 2h in float: a loose tolerance */
static void test_saliency_matches_central_differences(void **state)
{
    (void)state;
    const int cls[3] = {1, 2, 0};
    nn_real sal[3 * D], numeric[3 * D];
    nn_attack_saliency(sal, forward, (void *)&mlp, X3, cls, 3, D);
    const nn_real h = 1e-2f;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < D; j++) {
            nn_real xp[D], xm[D], zp[C], zm[C];
            memcpy(xp, X3 + i * D, sizeof xp), memcpy(xm, X3 + i * D, sizeof xm);
            xp[j] += h, xm[j] -= h;
            logits_of(zp, &mlp, xp, 1), logits_of(zm, &mlp, xm, 1);
            numeric[i * D + j] = (zp[cls[i]] - zm[cls[i]]) / (2 * h);
        }
    nn_test_assert_close(sal, numeric, 3 * D, 2e-4, 1e-2, "saliency vs central differences");
    /* and not trivially: the gradients are far from zero */
    double norm = 0;
    for (int k = 0; k < 3 * D; k++) norm += fabs(sal[k]);
    assert_true(norm > 0.5);
}

/* one backward pass for the batch gives each example the gradient it has on its own */
static void test_saliency_batch_equals_one_at_a_time(void **state)
{
    (void)state;
    const int cls[3] = {0, 0, 2};
    nn_real batch[3 * D], one[D];
    nn_attack_saliency(batch, forward, (void *)&mlp, X3, cls, 3, D);
    for (int i = 0; i < 3; i++) {
        nn_attack_saliency(one, forward, (void *)&mlp, X3 + i * D, cls + i, 1, D);
        nn_test_assert_close(batch + i * D, one, D, 1e-6, 1e-6, "batch vs single");
    }
}

/* ---- loss gradient and FGSM ---- */

/* CE_i = -log softmax(z_i)[y_i]:  d CE_i / d x_i = W^T (softmax(z_i) - e_{y_i}) */
static void analytic_loss_grad(double *grad, const nn_real *x, const int *y, int n)
{
    for (int i = 0; i < n; i++) {
        double z[C], zmax = -1e30, sum = 0;
        for (int c = 0; c < C; c++) {
            z[c] = LB[c];
            for (int j = 0; j < D; j++) z[c] += (double)LW[c * D + j] * x[i * D + j];
            zmax = fmax(zmax, z[c]);
        }
        for (int c = 0; c < C; c++) sum += exp(z[c] - zmax);
        for (int j = 0; j < D; j++) {
            grad[i * D + j] = 0;
            for (int c = 0; c < C; c++)
                grad[i * D + j] += LW[c * D + j] * (exp(z[c] - zmax) / sum - (c == y[i]));
        }
    }
}

static double mean_loss(const model *m, const nn_real *x, const int *y, int n)
{
    nn_real z[3 * C];
    logits_of(z, m, x, n);
    double total = 0;
    for (int i = 0; i < n; i++) {
        double zmax = -1e30, sum = 0;
        for (int c = 0; c < C; c++) zmax = fmax(zmax, z[i * C + c]);
        for (int c = 0; c < C; c++) sum += exp(z[i * C + c] - zmax);
        total += log(sum) + zmax - z[i * C + y[i]];
    }
    return total / n;
}

static void test_loss_grad_linear(void **state)
{
    (void)state;
    const int y[3] = {1, 2, 0};
    nn_real grad[3 * D], expect[3 * D];
    double ref[3 * D];
    double loss = nn_attack_loss_grad(grad, forward, (void *)&linear, X3, y, 3, D);
    analytic_loss_grad(ref, X3, y, 3);
    for (int k = 0; k < 3 * D; k++) expect[k] = (nn_real)ref[k];
    /* per example, not divided by the batch size */
    nn_test_assert_close(grad, expect, 3 * D, 1e-6, 1e-5, "d CE_i / d x_i");
    assert_true(fabs(loss - mean_loss(&linear, X3, y, 3)) < 1e-5);
}

/* away from the edges every input moves by exactly eps, in the direction of its gradient's
 * sign, and an input the loss ignores (zero gradient) stays */
static void test_fgsm_moves_by_eps_in_the_sign(void **state)
{
    (void)state;
    const int y[3] = {1, 2, 0};
    const nn_real eps = 0.1f;
    nn_real adv[3 * D];
    double ref[3 * D];
    analytic_loss_grad(ref, X3, y, 3);
    nn_attack_fgsm(adv, forward, (void *)&linear, X3, y, 3, D, eps);
    for (int k = 0; k < 3 * D; k++) {
        double moved = (double)adv[k] - X3[k];
        if (k % D == 2) { /* the zero column of W */
            assert_true(ref[k] == 0 && adv[k] == X3[k]);
            continue;
        }
        double sign = ref[k] > 0 ? 1 : -1;
        if (fabs(moved - sign * eps) > 1e-6)
            fail_msg("input %d moved by %.9g, expected %.9g", k, moved, sign * eps);
    }
    /* the loss is convex in x here, so a step along the gradient's sign must raise it */
    assert_true(mean_loss(&linear, adv, y, 3) > mean_loss(&linear, X3, y, 3) + 0.05);
    /* eps = 0 changes nothing; in place (x_adv == x) gives the same as out of place */
    nn_real same[3 * D], inplace[3 * D];
    nn_attack_fgsm(same, forward, (void *)&linear, X3, y, 3, D, 0);
    nn_test_assert_close(same, X3, 3 * D, 0, 0, "eps 0");
    memcpy(inplace, X3, sizeof inplace);
    nn_attack_fgsm(inplace, forward, (void *)&linear, inplace, y, 3, D, eps);
    nn_test_assert_close(inplace, adv, 3 * D, 0, 0, "in place");
}

static void test_fgsm_clips_to_the_unit_interval(void **state)
{
    (void)state;
    const nn_real x[2 * D] = {0.02f, 0.97f, 0.5f, 0.0f, 1.0f, 0.98f, 0.03f, 0.5f, 1.0f, 0.0f};
    const int y[2] = {0, 1};
    double ref[2 * D];
    analytic_loss_grad(ref, x, y, 2);
    for (int e = 0; e < 2; e++) {
        const nn_real eps = e ? 10.0f : 0.1f;
        nn_real adv[2 * D];
        nn_attack_fgsm(adv, forward, (void *)&linear, x, y, 2, D, eps);
        for (int k = 0; k < 2 * D; k++) {
            assert_true(adv[k] >= 0 && adv[k] <= 1);
            double sign = ref[k] > 0 ? 1 : ref[k] < 0 ? -1 : 0;
            double expect = fmin(1, fmax(0, x[k] + sign * eps));
            if (fabs(adv[k] - expect) > 1e-6)
                fail_msg("eps %g: input %d is %.9g, expected clip(%.9g) = %.9g", (double)eps, k,
                         (double)adv[k], x[k] + sign * eps, expect);
        }
    }
}

/* hand-worked sign steps, with and without bounds */
static void test_sign_step_golden(void **state)
{
    (void)state;
    const nn_real x[5] = {0.5f, 0.5f, 0.5f, 0.95f, 0.05f};
    const nn_real grad[5] = {2, -3, 0, 1e-20f, -1};
    nn_real out[5];
    nn_attack_sign_step(out, x, grad, 5, 0.1f, 0, 1);
    nn_test_assert_close(out, (nn_real[]){0.6f, 0.4f, 0.5f, 1, 0}, 5, 1e-7, 0, "clipped");
    nn_attack_sign_step(out, x, grad, 5, 0.1f, -INFINITY, INFINITY);
    nn_test_assert_close(out, (nn_real[]){0.6f, 0.4f, 0.5f, 1.05f, -0.05f}, 5, 1e-7, 0,
                         "unbounded");
}

/* ---- occlusion ---- */

/* A 4x4 image of ones and a model that only looks at the top-left 2x2 block:
 * z0 = 0.5 * (sum of that block), z1 = 0, so p0 = sigmoid(z0) and the clean p0 = sigmoid(2). */
static const nn_real OW[2 * 16] = {0.5f, 0.5f, 0, 0, 0.5f, 0.5f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
static const nn_real OB[2] = {0, 0};
static const model corner = {0, OW, OB, NULL, NULL, 16, 2};

static double sigmoid(double t) { return 1 / (1 + exp(-t)); }

static void test_occlusion_golden(void **state)
{
    (void)state;
    nn_real ones[16], map[16], expect[16];
    for (int i = 0; i < 16; i++) ones[i] = 1;
    const int cls[1] = {0};
    /* patch 2, stride 2: four disjoint positions; only the top-left one hides the block
     * (z0 -> 0, p0 -> 1/2), so its four pixels get sigmoid(2) - 1/2 and the rest 0 */
    nn_attack_occlusion(map, forward, (void *)&corner, ones, cls, 1, 1, 4, 4, 2, 2, 0);
    for (int i = 0; i < 16; i++)
        expect[i] = (nn_real)((i / 4 < 2 && i % 4 < 2) ? sigmoid(2) - 0.5 : 0);
    nn_test_assert_close(map, expect, 16, 1e-6, 0, "disjoint patches");

    /* patch 3, stride 2: starts {0, 1} on each axis (0, then the edge-flush 1); a patch at
     * (0,0) hides 4 block pixels (drop d4), at (0,1) or (1,0) hides 2 (d2), at (1,1) 1 (d1) */
    nn_attack_occlusion(map, forward, (void *)&corner, ones, cls, 1, 1, 4, 4, 3, 2, 0);
    const double p = sigmoid(2), d4 = p - 0.5, d2 = p - sigmoid(1), d1 = p - sigmoid(1.5);
    assert_true(fabs(map[0] - d4) < 1e-6);                       /* only (0,0) covers it */
    assert_true(fabs(map[3] - d2) < 1e-6);                       /* only (0,1) */
    assert_true(fabs(map[12] - d2) < 1e-6);                      /* only (1,0) */
    assert_true(fabs(map[15] - d1) < 1e-6);                      /* only (1,1) */
    assert_true(fabs(map[5] - (d4 + 2 * d2 + d1) / 4) < 1e-6);   /* all four */
    assert_true(fabs(map[1] - (d4 + d2) / 2) < 1e-6);            /* (0,0) and (0,1) */
}

/* the patch covers every channel of a pixel */
static void test_occlusion_channels(void **state)
{
    (void)state;
    /* 2 channels of 2x2; the model reads channel 1's pixel (0,0) only: z0 = 2 x, z1 = 0 */
    nn_real W[2 * 8] = {0, 0, 0, 0, 2, 0, 0, 0};
    const model m = {0, W, OB, NULL, NULL, 8, 2};
    nn_real x[8] = {1, 1, 1, 1, 1, 1, 1, 1}, map[4];
    nn_attack_occlusion(map, forward, (void *)&m, x, (int[]){0}, 1, 2, 2, 2, 1, 1, 0);
    nn_test_assert_close(map, (nn_real[]){(nn_real)(sigmoid(2) - 0.5), 0, 0, 0}, 4, 1e-6, 0,
                         "two channels");
}

/* ---- bad input ---- */

static void test_bad_input_is_refused(void **state)
{
    (void)state;
    nn_real out[3 * D], big[16];
    const int y[3] = {0, 1, 2};
    void *lin = (void *)&linear;
    EXPECT_FAIL(nn_attack_saliency(out, forward, lin, X3, y, 0, D), "n >= 1");
    EXPECT_FAIL(nn_attack_saliency(out, forward, lin, X3, (int[]){0, 3, 1}, 3, D),
                "class 3 of example 1 is outside 0..2");
    EXPECT_FAIL(nn_attack_saliency(out, NULL, lin, X3, y, 3, D), "no forward function");
    EXPECT_FAIL(nn_attack_saliency(out, forward_scalar, lin, X3, y, 3, D),
                "must return logits (3, classes), got (1)");
    nn_real bad[D] = {0.5f, NAN, 0.5f, 0.5f, 0.5f};
    EXPECT_FAIL(nn_attack_loss_grad(out, forward, lin, bad, y, 1, D), "not a finite number");
    EXPECT_FAIL(nn_attack_loss_grad(out, forward, lin, X3, (int[]){0, -1, 0}, 3, D),
                "class -1 of example 1");
    EXPECT_FAIL(nn_attack_fgsm(out, forward, lin, X3, y, 3, D, -0.1f), "eps must be");
    EXPECT_FAIL(nn_attack_fgsm(out, forward, lin, X3, y, 3, D, NAN), "eps must be");
    EXPECT_FAIL(nn_attack_fgsm(out, forward, lin, X3, NULL, 3, D, 0.1f), "NULL labels");
    EXPECT_FAIL(nn_attack_fgsm(out, forward_scalar, lin, X3, y, 3, D, 0.1f),
                "nn_attack_fgsm: the forward function must return logits");
    EXPECT_FAIL(nn_attack_sign_step(out, X3, X3, 3, 0.1f, 1, 0), "bounds [1, 0] are empty");
    for (int i = 0; i < 16; i++) big[i] = 0.5f;
    void *cor = (void *)&corner;
    EXPECT_FAIL(nn_attack_occlusion(out, forward, cor, big, y, 1, 1, 4, 4, 5, 1, 0),
                "patch 5 does not fit the 4x4 image");
    EXPECT_FAIL(nn_attack_occlusion(out, forward, cor, big, y, 1, 1, 4, 4, 2, 0, 0),
                "stride must be >= 1");
    EXPECT_FAIL(nn_attack_occlusion(out, forward, cor, big, (int[]){2}, 1, 1, 4, 4, 2, 2, 0),
                "class 2 of example 0 is outside 0..1");
    EXPECT_FAIL(nn_attack_occlusion(out, forward, cor, big, y, 1, 0, 4, 4, 2, 2, 0),
                "must be positive");
    EXPECT_FAIL(nn_attack_occlusion(out, forward_scalar, cor, big, y, 1, 1, 4, 4, 2, 2, 0),
                "must return logits (1, classes)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_saliency_linear_is_the_weight_row),
        cmocka_unit_test(test_saliency_matches_central_differences),
        cmocka_unit_test(test_saliency_batch_equals_one_at_a_time),
        cmocka_unit_test(test_loss_grad_linear),
        cmocka_unit_test(test_fgsm_moves_by_eps_in_the_sign),
        cmocka_unit_test(test_fgsm_clips_to_the_unit_interval),
        cmocka_unit_test(test_sign_step_golden),
        cmocka_unit_test(test_occlusion_golden),
        cmocka_unit_test(test_occlusion_channels),
        cmocka_unit_test(test_bad_input_is_refused),
    };
    return cmocka_run_group_tests_name("attacks: saliency, FGSM, occlusion", tests, setup, NULL);
}
