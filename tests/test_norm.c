/* test_norm.c -- the training ops and helpers: batch norm (statistics, running averages,
 * evaluation mode), dropout, layer norm, GELU/ELU and penalty values, image augmentation and
 * the train/validation split. Gradients are checked in tests/grad_ops.c. */
#include "nn_test.h"

#include <stdlib.h>

NN_TEST_DEFINE_FAIL_HANDLER

NN_TEST_GRAPH_FIXTURE


/* mean and biased variance of channel c of x viewed as (outer, C, inner) */
static void channel_stats(const nn_tensor *x, int C, int inner, int c, double *mean, double *var)
{
    size_t outer = x->numel / ((size_t)C * inner), M = outer * inner;
    double s = 0, ss = 0;
    for (size_t o = 0; o < outer; o++)
        for (int i = 0; i < inner; i++) s += x->data[(o * C + c) * inner + i];
    *mean = s / M;
    for (size_t o = 0; o < outer; o++)
        for (int i = 0; i < inner; i++) {
            double d = x->data[(o * C + c) * inner + i] - *mean;
            ss += d * d;
        }
    *var = ss / M;
}

/* ---- batch norm ------------------------------------------------------------------------ */

static void test_batchnorm_train_standardises(void **state)
{
    (void)state;
    nn_params ps;
    nn_params_init(&ps);
    nn_batchnorm_layer bn;
    nn_batchnorm_init(&bn, &ps, "bn", 3);
    nn_rng rng;
    nn_rng_seed(&rng, 1);
    /* (64,3): feature c has mean 5c - 3 and std c + 0.5 */
    nn_tensor *x = nn_graph_tensor(g, 2, 64, 3);
    for (int b = 0; b < 64; b++)
        for (int c = 0; c < 3; c++)
            x->data[b * 3 + c] = (nn_real)(5 * c - 3 + (c + 0.5) * nn_rng_normal(&rng));
    nn_tensor *y = nn_batchnorm_forward(g, &bn, x);
    for (int c = 0; c < 3; c++) {
        double mean, var;
        channel_stats(y, 3, 1, c, &mean, &var);
        assert_true(fabs(mean) < 1e-5);
        assert_true(fabs(var - 1) < 1e-3);
    }
    /* (N,C,H,W) = (4,2,3,3): statistics per channel over N, H and W */
    nn_batchnorm_layer bn2;
    nn_batchnorm_init(&bn2, &ps, "bn2", 2);
    nn_tensor *x4 = nn_graph_tensor(g, 4, 4, 2, 3, 3);
    for (size_t i = 0; i < x4->numel; i++) {
        int c = (int)(i / 9) % 2;
        x4->data[i] = (nn_real)(c ? 10 + 3 * nn_rng_normal(&rng) : -1 + 0.5 * nn_rng_normal(&rng));
    }
    nn_tensor *y4 = nn_batchnorm_forward(g, &bn2, x4);
    for (int c = 0; c < 2; c++) {
        double mean, var;
        channel_stats(y4, 2, 9, c, &mean, &var);
        assert_true(fabs(mean) < 1e-5);
        assert_true(fabs(var - 1) < 1e-3);
    }
    /* gamma and beta scale and shift the standardised values */
    bn.gamma->data[1] = 2;
    bn.beta->data[1] = -3;
    y = nn_batchnorm_forward(g, &bn, x);
    double mean, var;
    channel_stats(y, 3, 1, 1, &mean, &var);
    assert_true(fabs(mean + 3) < 1e-5);
    assert_true(fabs(var - 4) < 4e-3);
    nn_batchnorm_free(&bn);
    nn_batchnorm_free(&bn2);
    nn_params_free(&ps);
}

/* x (4,2) = rows (1,10) (2,20) (3,30) (4,40):
 *   feature 0: mean 2.5, biased var 1.25, unbiased var 5/3
 *   feature 1: mean 25,  biased var 125,  unbiased var 500/3
 * one step from (mean 0, var 1) with momentum 0.1:
 *   running_mean = 0.1 * mean,  running_var = 0.9 + 0.1 * unbiased var */
static void test_batchnorm_running_statistics(void **state)
{
    (void)state;
    nn_params ps;
    nn_params_init(&ps);
    nn_batchnorm_layer bn;
    nn_batchnorm_init(&bn, &ps, "bn", 2);
    assert_true(bn.momentum == (nn_real)0.1 && bn.eps == (nn_real)1e-5);
    assert_true(bn.running_mean[0] == 0 && bn.running_var[1] == 1);
    assert_true(bn.gamma->data[0] == 1 && bn.beta->data[0] == 0);
    nn_tensor *x = nn_graph_input(g, (nn_real[]){1, 10, 2, 20, 3, 30, 4, 40}, 2, 4, 2);
    nn_tensor *y = nn_batchnorm_forward(g, &bn, x);
    const nn_real rm1[] = {0.25f, 2.5f}, rv1[] = {0.9f + 0.1f * 5 / 3, 0.9f + 0.1f * 500 / 3};
    nn_test_assert_close(bn.running_mean, rm1, 2, 1e-6, 1e-6, "running_mean after one step");
    nn_test_assert_close(bn.running_var, rv1, 2, 1e-6, 1e-6, "running_var after one step");
    /* the output used the biased variance: (1 - 2.5) / sqrt(1.25 + 1e-5) */
    assert_true(fabs(y->data[0] - (1 - 2.5) / sqrt(1.25 + 1e-5)) < 1e-6);
    /* a second step moves another 10% of the way */
    nn_batchnorm_forward(g, &bn, x);
    const nn_real rm2[] = {0.9f * 0.25f + 0.25f, 0.9f * 2.5f + 2.5f},
                  rv2[] = {0.9f * rv1[0] + 0.1f * 5 / 3, 0.9f * rv1[1] + 0.1f * 500 / 3};
    nn_test_assert_close(bn.running_mean, rm2, 2, 1e-6, 1e-6, "running_mean after two steps");
    nn_test_assert_close(bn.running_var, rv2, 2, 1e-6, 1e-6, "running_var after two steps");
    nn_batchnorm_free(&bn);
    nn_params_free(&ps);
}

/* evaluation: running mean 1, var 4, x = 3 -> (3 - 1) / sqrt(4 + eps), statistics unchanged */
static void test_batchnorm_eval_uses_running_statistics(void **state)
{
    (void)state;
    nn_params ps;
    nn_params_init(&ps);
    nn_batchnorm_layer bn;
    nn_batchnorm_init(&bn, &ps, "bn", 1);
    bn.running_mean[0] = 1;
    bn.running_var[0] = 4;
    g->training = 0;
    nn_tensor *x = nn_graph_input(g, (nn_real[]){3}, 2, 1, 1); /* one example is fine in eval */
    nn_tensor *y = nn_batchnorm_forward(g, &bn, x);
    CLOSE(y, (nn_real)(2 / sqrt(4 + 1e-5)));
    nn_tensor *x2 = nn_graph_input(g, (nn_real[]){3, -1, 1}, 2, 3, 1);
    CLOSE(nn_batchnorm_forward(g, &bn, x2), (nn_real)(2 / sqrt(4 + 1e-5)),
          (nn_real)(-2 / sqrt(4 + 1e-5)), 0);
    assert_true(bn.running_mean[0] == 1 && bn.running_var[0] == 4);
    g->training = 1;
    nn_batchnorm_free(&bn);
    nn_params_free(&ps);
}

static void test_batchnorm_refuses_bad_input(void **state)
{
    (void)state;
    nn_params ps;
    nn_params_init(&ps);
    nn_batchnorm_layer bn;
    nn_batchnorm_init(&bn, &ps, "bn", 3);
    nn_tensor *x = nn_graph_tensor(g, 2, 4, 5);
    EXPECT_FAIL(nn_batchnorm_forward(g, &bn, x), "(4,5)");
    nn_tensor *x3 = nn_graph_tensor(g, 3, 4, 3, 2);
    EXPECT_FAIL(nn_batchnorm(g, x3, NULL, NULL, NULL, NULL, 0.1f, 1e-5f), "nn_batchnorm");
    nn_tensor *one = nn_graph_tensor(g, 2, 1, 3);
    EXPECT_FAIL(nn_batchnorm_forward(g, &bn, one), "more than one value");
    nn_tensor *x43 = nn_graph_tensor(g, 2, 4, 3);
    nn_tensor *gamma4 = nn_graph_tensor(g, 1, 4);
    EXPECT_FAIL(nn_batchnorm(g, x43, gamma4, NULL, NULL, NULL, 0.1f, 1e-5f), "gamma");
    g->training = 0;
    EXPECT_FAIL(nn_batchnorm(g, x43, NULL, NULL, NULL, NULL, 0.1f, 1e-5f), "running");
    g->training = 1;
    nn_batchnorm_free(&bn);
    nn_params_free(&ps);
}

/* ---- dropout ---------------------------------------------------------------------------- */

static void test_dropout(void **state)
{
    (void)state;
    nn_rng rng;
    nn_rng_seed(&rng, 42);
    enum { N = 100000 };
    nn_real *ones = malloc(N * sizeof *ones);
    for (int i = 0; i < N; i++) ones[i] = 1;
    nn_tensor *x = nn_graph_input(g, ones, 1, N);
    /* evaluation mode and p = 0: the identity, the very same tensor */
    g->training = 0;
    assert_ptr_equal(nn_dropout(g, x, 0.5f, &rng), x);
    g->training = 1;
    assert_ptr_equal(nn_dropout(g, x, 0, &rng), x);
    /* training: about p of the elements are zero, the rest 1/(1-p); the mean stays 1 */
    const nn_real p = 0.3f;
    nn_tensor *y = nn_dropout(g, x, p, &rng);
    int zeros = 0;
    double sum = 0;
    for (int i = 0; i < N; i++) {
        if (y->data[i] == 0) zeros++;
        else assert_true(fabs(y->data[i] - 1 / (1 - p)) < 1e-6);
        sum += y->data[i];
    }
    assert_true(fabs((double)zeros / N - p) < 0.01);
    assert_true(fabs(sum / N - 1) < 0.01);
    /* same seed, same mask; another seed, another mask */
    nn_rng a, b, c;
    nn_rng_seed(&a, 7);
    nn_rng_seed(&b, 7);
    nn_rng_seed(&c, 8);
    nn_tensor *ya = nn_dropout(g, x, 0.5f, &a), *yb = nn_dropout(g, x, 0.5f, &b),
              *yc = nn_dropout(g, x, 0.5f, &c);
    assert_memory_equal(ya->data, yb->data, N * sizeof(nn_real));
    assert_memory_not_equal(ya->data, yc->data, N * sizeof(nn_real));
    /* p outside [0,1) is refused */
    EXPECT_FAIL(nn_dropout(g, x, 1, &rng), "nn_dropout");
    EXPECT_FAIL(nn_dropout(g, x, -0.1f, &rng), "nn_dropout");
    free(ones);
}

/* ---- layer norm, GELU, ELU, penalties ---------------------------------------------------- */

static void test_layernorm(void **state)
{
    (void)state;
    nn_params ps;
    nn_params_init(&ps);
    nn_layernorm_layer ln;
    nn_layernorm_init(&ln, &ps, "ln", 5);
    nn_rng rng;
    nn_rng_seed(&rng, 3);
    nn_tensor *x = nn_graph_tensor(g, 3, 2, 3, 5);
    for (size_t i = 0; i < x->numel; i++) x->data[i] = (nn_real)(i % 7 + 3 * nn_rng_normal(&rng));
    nn_tensor *y = nn_layernorm_forward(g, &ln, x);
    for (int r = 0; r < 6; r++) {
        double s = 0, ss = 0;
        for (int j = 0; j < 5; j++) s += y->data[r * 5 + j];
        for (int j = 0; j < 5; j++) ss += (y->data[r * 5 + j] - s / 5) * (y->data[r * 5 + j] - s / 5);
        assert_true(fabs(s / 5) < 1e-5);
        assert_true(fabs(ss / 5 - 1) < 1e-3);
    }
    /* hand values: (1,2,3) has mean 2, var 2/3 -> (-1,0,1) / sqrt(2/3 + eps) */
    nn_tensor *h = nn_graph_input(g, (nn_real[]){1, 2, 3}, 2, 1, 3);
    nn_real k = (nn_real)(1 / sqrt(2.0 / 3 + 1e-5));
    CLOSE(nn_layernorm(g, h, NULL, NULL, 1e-5f), -k, 0, k);
    EXPECT_FAIL(nn_layernorm_forward(g, &ln, h), "(1,3)");
    nn_params_free(&ps);
}

static void test_gelu_elu_golden(void **state)
{
    (void)state;
    nn_tensor *x = nn_graph_input(g, (nn_real[]){1, -1, 0, 2}, 1, 4);
    /* gelu(x) = x Phi(x): Phi(1) = 0.8413447, Phi(-1) = 0.1586553, Phi(2) = 0.9772499 */
    CLOSE(nn_gelu(g, x), 0.8413447f, -0.1586553f, 0, 2 * 0.9772499f);
    CLOSE(nn_elu(g, x, 1), 1, (nn_real)(exp(-1.0) - 1), 0, 2);
    CLOSE(nn_elu(g, x, 0.5f), 1, (nn_real)(0.5 * (exp(-1.0) - 1)), 0, 2);
}

static void test_penalties(void **state)
{
    (void)state;
    nn_tensor *t = nn_graph_input(g, (nn_real[]){1, -2, 3, -0.5f, 0}, 1, 5);
    nn_graph_require_grad(g, t);
    nn_tensor *l1 = nn_l1_penalty(g, t), *l2 = nn_l2_penalty(g, t);
    CLOSE(l1, 6.5f);                          /* 1 + 2 + 3 + 0.5 */
    CLOSE(l2, 0.5f * (1 + 4 + 9 + 0.25f));    /* 7.125 */
    nn_backward(g, l1);
    const nn_real sign[] = {1, -1, 1, -1, 0};
    nn_test_assert_close(t->grad, sign, 5, 0, 0, "dL1/dt = sign(t), 0 at 0");
    /* a fresh tape, so the L1 op above is not walked again */
    nn_graph_reset(g);
    t = nn_graph_input(g, (nn_real[]){1, -2, 3, -0.5f, 0}, 1, 5);
    nn_graph_require_grad(g, t);
    nn_backward(g, nn_l2_penalty(g, t));
    nn_test_assert_close(t->grad, t->data, 5, 0, 0, "dL2/dt = t");
}

/* ---- augmentation ----------------------------------------------------------------------- */

/* reference shift: out[c,i,j] = in[c,i-dy,j-dx], 0 outside */
static void ref_shift(nn_real *out, const nn_real *in, int C, int h, int w, int dy, int dx)
{
    for (int c = 0; c < C; c++)
        for (int i = 0; i < h; i++)
            for (int j = 0; j < w; j++) {
                int si = i - dy, sj = j - dx;
                out[(c * h + i) * w + j] =
                    si >= 0 && si < h && sj >= 0 && sj < w ? in[(c * h + si) * w + sj] : 0;
            }
}

static void test_augment_shift(void **state)
{
    (void)state;
    enum { N = 60, C = 2, H = 7, W = 6, S = 2, IMG = C * H * W };
    nn_real *in = calloc(N * IMG, sizeof *in), *out = calloc(N * IMG, sizeof *out);
    nn_real ref[IMG];
    /* one bright pixel at (c 1, row 3, col 2): it must land at (3 + dy, 2 + dx) */
    for (int k = 0; k < N; k++) in[k * IMG + (1 * H + 3) * W + 2] = 1;
    nn_rng rng;
    nn_rng_seed(&rng, 5);
    nn_augment_shift(out, in, N, C, H, W, S, &rng);
    int seen[2 * S + 1][2 * S + 1] = {{0}};
    for (int k = 0; k < N; k++) {
        int found = 0;
        for (int dy = -S; dy <= S && !found; dy++)
            for (int dx = -S; dx <= S && !found; dx++) {
                nn_real expect[IMG] = {0};
                expect[(1 * H + 3 + dy) * W + 2 + dx] = 1;
                if (memcmp(expect, out + k * IMG, sizeof expect) == 0) {
                    found = 1;
                    seen[dy + S][dx + S]++;
                }
            }
        if (!found) fail_msg("image %d is not the bright pixel moved by any shift within %d", k, S);
    }
    int distinct = 0;
    for (int i = 0; i < 2 * S + 1; i++)
        for (int j = 0; j < 2 * S + 1; j++) distinct += seen[i][j] > 0;
    assert_true(distinct >= 10); /* 60 draws over 25 shifts */

    /* a random image: each output is the reference shift for some (dy,dx) -- zero padding */
    nn_rng_fill_uniform(&rng, in, N * IMG, 0.1, 1);
    nn_augment_shift(out, in, N, C, H, W, S, &rng);
    for (int k = 0; k < N; k++) {
        int found = 0;
        for (int dy = -S; dy <= S && !found; dy++)
            for (int dx = -S; dx <= S && !found; dx++) {
                ref_shift(ref, in + k * IMG, C, H, W, dy, dx);
                found = memcmp(ref, out + k * IMG, sizeof ref) == 0;
            }
        if (!found) fail_msg("random image %d is no shift within %d of its input", k, S);
    }
    /* determinism (also in place), and max_shift 0 is the identity */
    nn_real *again = malloc(N * IMG * sizeof *again);
    nn_rng_seed(&rng, 9);
    nn_augment_shift(out, in, N, C, H, W, S, &rng);
    memcpy(again, in, N * IMG * sizeof *again);
    nn_rng_seed(&rng, 9);
    nn_augment_shift(again, again, N, C, H, W, S, &rng);
    assert_memory_equal(out, again, N * IMG * sizeof *out);
    nn_augment_shift(out, in, N, C, H, W, 0, &rng);
    assert_memory_equal(out, in, N * IMG * sizeof *out);
    EXPECT_FAIL(nn_augment_shift(out, in, N, C, H, W, -1, &rng), "max_shift");
    free(in);
    free(out);
    free(again);
}

static void test_augment_flip(void **state)
{
    (void)state;
    /* golden: p = 1 mirrors every row, odd and even widths */
    nn_rng rng;
    nn_rng_seed(&rng, 1);
    nn_real img[] = {1, 2, 3, 4, 5, 6}, out[6];
    nn_augment_flip(out, img, 1, 2, 1, 3, 1, &rng); /* 2 channels of 1x3 */
    const nn_real mirrored3[] = {3, 2, 1, 6, 5, 4};
    assert_memory_equal(out, mirrored3, sizeof out);
    nn_augment_flip(out, img, 1, 1, 3, 2, 1, &rng); /* 3 rows of 2 */
    const nn_real mirrored2[] = {2, 1, 4, 3, 6, 5};
    assert_memory_equal(out, mirrored2, sizeof out);

    enum { N = 400, C = 3, H = 5, W = 4, IMG = C * H * W };
    nn_real *in = malloc(N * IMG * sizeof *in), *a = malloc(N * IMG * sizeof *a),
            *b = malloc(N * IMG * sizeof *b);
    nn_rng_fill_uniform(&rng, in, N * IMG, -1, 1);
    /* p = 0.5: each image is unchanged or mirrored, about half of them mirrored */
    nn_rng_seed(&rng, 77);
    nn_augment_flip(a, in, N, C, H, W, 0.5, &rng);
    int flipped = 0;
    for (int k = 0; k < N; k++) {
        const nn_real *x = in + k * IMG, *y = a + k * IMG;
        int same = memcmp(x, y, IMG * sizeof *x) == 0, mirror = 1;
        for (int r = 0; r < C * H; r++)
            for (int j = 0; j < W; j++) mirror &= y[r * W + j] == x[r * W + W - 1 - j];
        assert_true(same || mirror);
        flipped += mirror;
    }
    assert_true(flipped > N / 2 - 60 && flipped < N / 2 + 60);
    /* the same seed again, in place, flips the same images back: twice = identity */
    memcpy(b, a, N * IMG * sizeof *b);
    nn_rng_seed(&rng, 77);
    nn_augment_flip(b, b, N, C, H, W, 0.5, &rng);
    assert_memory_equal(b, in, N * IMG * sizeof *b);
    /* p = 1 twice is the identity too */
    nn_augment_flip(b, in, N, C, H, W, 1, &rng);
    nn_augment_flip(b, b, N, C, H, W, 1, &rng);
    assert_memory_equal(b, in, N * IMG * sizeof *b);
    EXPECT_FAIL(nn_augment_flip(b, in, N, C, H, W, 1.5, &rng), "nn_augment_flip");
    free(in);
    free(a);
    free(b);
}

/* ---- train/validation split ------------------------------------------------------------- */

static void test_data_split(void **state)
{
    (void)state;
    enum { N = 50, DIM = 4 };
    nn_data d = {.n = N, .dim = DIM, .classes = 3, .channels = 1, .height = 2, .width = 2};
    d.x = malloc(N * DIM * sizeof *d.x);
    d.y = malloc(N * sizeof *d.y);
    for (int i = 0; i < N; i++) {
        for (int k = 0; k < DIM; k++) d.x[i * DIM + k] = (nn_real)(i * 10 + k);
        d.y[i] = i % 3;
    }
    nn_rng rng;
    nn_rng_seed(&rng, 4);
    nn_data train, val;
    nn_data_split(&d, &train, &val, 12, &rng);
    assert_int_equal(val.n, 12);
    assert_int_equal(train.n, 38);
    const nn_data *parts[2] = {&train, &val};
    int count[N] = {0}, in_order = 1;
    for (int p = 0; p < 2; p++) {
        const nn_data *s = parts[p];
        assert_int_equal(s->dim, DIM);
        assert_int_equal(s->classes, 3);
        assert_int_equal(s->channels, 1);
        assert_int_equal(s->height, 2);
        assert_int_equal(s->width, 2);
        assert_true(s->x != d.x && s->y != d.y);
        for (int i = 0; i < s->n; i++) {
            int id = (int)(s->x[i * DIM] / 10);
            assert_true(id >= 0 && id < N);
            for (int k = 0; k < DIM; k++) assert_true(s->x[i * DIM + k] == (nn_real)(id * 10 + k));
            assert_int_equal(s->y[i], id % 3);
            count[id]++;
            if (p == 0 && i > 0 && id < (int)(s->x[(i - 1) * DIM] / 10)) in_order = 0;
        }
    }
    for (int i = 0; i < N; i++)
        if (count[i] != 1) fail_msg("example %d appears %d times across train and val", i, count[i]);
    assert_false(in_order); /* shuffled */
    /* the same seed gives the same split */
    nn_data train2, val2;
    nn_rng_seed(&rng, 4);
    nn_data_split(&d, &train2, &val2, 12, &rng);
    assert_memory_equal(val.x, val2.x, 12 * DIM * sizeof *val.x);
    assert_memory_equal(train.y, train2.y, 38 * sizeof *train.y);
    nn_data_free(&train2);
    nn_data_free(&val2);
    /* edges: nothing held out, everything held out; bad counts refused */
    nn_data_split(&d, &train2, &val2, 0, &rng);
    assert_int_equal(train2.n, N);
    assert_int_equal(val2.n, 0);
    nn_data_free(&train2);
    nn_data_free(&val2);
    nn_data_split(&d, &train2, &val2, N, &rng);
    assert_int_equal(train2.n, 0);
    assert_int_equal(val2.n, N);
    nn_data_free(&train2);
    nn_data_free(&val2);
    EXPECT_FAIL(nn_data_split(&d, &train2, &val2, N + 1, &rng), "val_count");
    EXPECT_FAIL(nn_data_split(&d, &train2, &val2, -1, &rng), "val_count");
    nn_data_free(&train);
    nn_data_free(&val);
    nn_data_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_batchnorm_train_standardises, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batchnorm_running_statistics, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batchnorm_eval_uses_running_statistics, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batchnorm_refuses_bad_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dropout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_layernorm, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gelu_elu_golden, setup, teardown),
        cmocka_unit_test_setup_teardown(test_penalties, setup, teardown),
        cmocka_unit_test_setup_teardown(test_augment_shift, setup, teardown),
        cmocka_unit_test_setup_teardown(test_augment_flip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_data_split, setup, teardown),
    };
    return cmocka_run_group_tests_name("training ops: norm, dropout, penalties, augment, split",
                                       tests, NULL, NULL);
}
