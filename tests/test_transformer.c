/* test_transformer.c -- attention and the Transformer layers: hand-checked values of the
 * attention op (one and two heads, with and without the causal mask), the sinusoidal table,
 * the positional encodings, the proof that the causal mask hides the future (changing a token
 * changes no earlier output, bit for bit, and does change every later one; no gradient flows
 * backwards in time), and the refusal of bad shapes. */
#include "nn_test.h"

NN_TEST_DEFINE_FAIL_HANDLER

static int setup(void **state)
{
    *state = nn_graph_new();
    return 0;
}

static int teardown(void **state)
{
    nn_graph_free(*state);
    return 0;
}

/* one head, T = 2, D = 2: q = k = I, so S = I / sqrt 2 and row i puts weight
 * p = e^{1/sqrt2} / (e^{1/sqrt2} + 1) = 1 / (1 + e^{-1/sqrt2}) on value i, 1 - p on the other */
static void test_attention_by_hand(void **state)
{
    nn_graph *g = *state;
    const nn_real eye[4] = {1, 0, 0, 1}, vals[4] = {1, 2, 3, 4};
    nn_tensor *q = nn_graph_input(g, eye, 3, 1, 2, 2);
    nn_tensor *v = nn_graph_input(g, vals, 3, 1, 2, 2);
    const double p = 1 / (1 + exp(-1 / sqrt(2.0)));
    nn_tensor *y = nn_attention(g, q, q, v, 1, 0);
    nn_real want[4] = {(nn_real)(p * 1 + (1 - p) * 3), (nn_real)(p * 2 + (1 - p) * 4),
                       (nn_real)((1 - p) * 1 + p * 3), (nn_real)((1 - p) * 2 + p * 4)};
    nn_test_assert_close(y->data, want, 4, 1e-6, 1e-6, "attention, no mask");
    const nn_real *P = nn_attention_probs(y);
    nn_real want_p[4] = {(nn_real)p, (nn_real)(1 - p), (nn_real)(1 - p), (nn_real)p};
    nn_test_assert_close(P, want_p, 4, 1e-7, 1e-6, "attention probabilities");
    /* causal: position 0 sees only itself, so its output is v_0 exactly; position 1 sees both
     * and is unchanged */
    y = nn_attention(g, q, q, v, 1, 1);
    want[0] = 1, want[1] = 2;
    nn_test_assert_close(y->data, want, 4, 1e-6, 1e-6, "attention, causal");
    P = nn_attention_probs(y);
    assert_true(P[0] == 1 && P[1] == 0); /* exactly */
}

/* q = 0: every score is 0, so every visible key gets the same weight. Without the mask each
 * output is the mean of all values; with it, position i gets the running mean of v_0..v_i.
 * Two heads (D = 4): head 1 gets queries that pick key 0 hard, and must not disturb head 0. */
static void test_attention_heads_and_means(void **state)
{
    nn_graph *g = *state;
    enum { T = 4, D = 4 };
    nn_real qd[T * D] = {0}, kd[T * D] = {0}, vd[T * D];
    for (int t = 0; t < T; t++) {
        for (int j = 0; j < D; j++) vd[t * D + j] = (nn_real)(10 * t + j);
        qd[t * D + 2] = 40;            /* head 1's queries: (40, 0) */
        kd[t * D + 2] = t == 0 ? 1 : 0; /* head 1's keys: only key 0 matches, by 40/sqrt2 = 28 */
    }
    nn_tensor *q = nn_graph_input(g, qd, 3, 1, T, D), *k = nn_graph_input(g, kd, 3, 1, T, D);
    nn_tensor *v = nn_graph_input(g, vd, 3, 1, T, D);
    for (int causal = 0; causal < 2; causal++) {
        nn_tensor *y = nn_attention(g, q, k, v, 2, causal);
        const nn_real *P = nn_attention_probs(y); /* (1, 2, T, T) */
        for (int i = 0; i < T; i++) {
            int seen = causal ? i + 1 : T;
            for (int j = 0; j < 2; j++) { /* head 0: columns 0, 1 -- the mean of what it sees */
                double mean = 0;
                for (int s = 0; s < seen; s++) mean += vd[s * D + j];
                mean /= seen;
                assert_true(fabs(y->data[i * D + j] - mean) < 1e-4);
            }
            /* head 1: columns 2, 3 -- value 0 (weight 1 - ~1e-12) */
            assert_true(fabs(y->data[i * D + 2] - vd[2]) < 1e-4);
            assert_true(fabs(y->data[i * D + 3] - vd[3]) < 1e-4);
            double row0 = 0, row1 = 0;
            for (int j = 0; j < T; j++) {
                row0 += P[i * T + j], row1 += P[T * T + i * T + j];
                if (causal && j > i) assert_true(P[i * T + j] == 0 && P[T * T + i * T + j] == 0);
                if (j < seen) assert_true(fabs(P[i * T + j] - 1.0 / seen) < 1e-6);
            }
            assert_true(fabs(row0 - 1) < 1e-6 && fabs(row1 - 1) < 1e-6);
        }
    }
}

static void test_sinusoids(void **state)
{
    nn_graph *g = *state;
    enum { T = 3, D = 4 };
    nn_real table[T * D];
    nn_posenc_sinusoidal(table, T, D);
    /* column pairs (sin, cos) of t / 10000^(2i/D): wavelength factor 1 and 1/100 for D = 4 */
    const nn_real want[T * D] = {0, 1, 0, 1,
                                 (nn_real)sin(1.0), (nn_real)cos(1.0), (nn_real)sin(0.01), (nn_real)cos(0.01),
                                 (nn_real)sin(2.0), (nn_real)cos(2.0), (nn_real)sin(0.02), (nn_real)cos(0.02)};
    nn_test_assert_close(table, want, T * D, 1e-7, 1e-6, "sinusoidal table");
    /* the layer adds the table to every example of the batch; the learned one adds its weight */
    nn_params ps;
    nn_params_init(&ps);
    nn_rng rng;
    nn_rng_seed(&rng, 1);
    nn_posenc_layer fixed, learned;
    nn_posenc_init(&fixed, &ps, "fixed", 8, D, 0, &rng);
    assert_null(fixed.weight);
    assert_int_equal(ps.count, 0);
    nn_posenc_init(&learned, &ps, "learned", 8, D, 1, &rng);
    assert_int_equal(ps.count, 8 * D);
    nn_real xd[2 * T * D];
    for (int i = 0; i < 2 * T * D; i++) xd[i] = (nn_real)i;
    nn_tensor *x = nn_graph_input(g, xd, 3, 2, T, D);
    nn_tensor *y = nn_posenc_forward(g, &fixed, x), *z = nn_posenc_forward(g, &learned, x);
    assert_int_equal(y->ndim, 3);
    for (int b = 0; b < 2; b++)
        for (int i = 0; i < T * D; i++) {
            assert_true(fabs(y->data[b * T * D + i] - (xd[b * T * D + i] + want[i])) < 1e-5);
            assert_true(z->data[b * T * D + i] == xd[b * T * D + i] + learned.weight->data[i]);
        }
    EXPECT_FAIL(nn_posenc_forward(g, &fixed, nn_graph_tensor(g, 3, 1, 9, D)),
                "expected (batch, time <= 8, 4)");
    EXPECT_FAIL(nn_posenc_init(&fixed, &ps, "odd", 8, 5, 0, &rng), "even width");
    EXPECT_FAIL(nn_posenc_sinusoidal(table, 2, 3), "even D");
    nn_params_free(&ps);
}

/* ---- the causal mask, proven on a small GPT ---- */

enum { V = 11, D = 16, T = 12, B = 2, HEADS = 4, LAYERS = 2 };

typedef struct gpt {
    nn_params ps;
    nn_embedding_layer embed;
    nn_posenc_layer pos;
    nn_transformer_block blocks[LAYERS];
    nn_layernorm_layer ln;
    nn_linear_layer head;
} gpt;

static void gpt_init(gpt *m, int learned_positions)
{
    nn_rng rng;
    nn_rng_seed(&rng, 5);
    nn_params_init(&m->ps);
    nn_embedding_init(&m->embed, &m->ps, "embed", V, D, &rng);
    nn_posenc_init(&m->pos, &m->ps, "pos", T, D, learned_positions, &rng);
    for (int l = 0; l < LAYERS; l++)
        nn_transformer_block_init(&m->blocks[l], &m->ps, "block", D, HEADS, 4 * D, &rng);
    nn_layernorm_init(&m->ln, &m->ps, "ln", D);
    nn_linear_init(&m->head, &m->ps, "head", D, V, 1, &rng);
}

/* the embedded input x (B,T,D) -> logits (B*T, V) */
static nn_tensor *gpt_forward(nn_graph *g, const gpt *m, nn_tensor *x, int causal)
{
    nn_tensor *h = nn_posenc_forward(g, &m->pos, x);
    for (int l = 0; l < LAYERS; l++) h = nn_transformer_block_forward(g, &m->blocks[l], h, causal, NULL);
    h = nn_reshape(g, nn_layernorm_forward(g, &m->ln, h), 2, B * T, D);
    return nn_linear(g, &m->head, h);
}

static nn_tensor *gpt_logits(nn_graph *g, const gpt *m, const int *ids, int causal)
{
    nn_tensor *x = nn_reshape(g, nn_embedding(g, &m->embed, ids, B * T), 3, B, T, D);
    return gpt_forward(g, m, x, causal);
}

/* rows (b, t) of two logits tensors: exactly equal? */
static int row_equal(const nn_tensor *a, const nn_tensor *b, int row)
{
    for (int j = 0; j < V; j++)
        if (!(a->data[(size_t)row * V + j] == b->data[(size_t)row * V + j])) return 0;
    return 1;
}

static void check_causality(nn_graph *g, nn_kernels kernels, int learned_positions)
{
    nn_set_kernels(kernels);
    gpt m;
    gpt_init(&m, learned_positions);
    int ids[B * T], changed[B * T];
    for (int i = 0; i < B * T; i++) ids[i] = (7 * i + 3) % V;
    for (int p = 0; p < T; p += 5) { /* change position p of example 0: p = 0, 5, 10 */
        memcpy(changed, ids, sizeof ids);
        changed[p] = (ids[p] + 4) % V;
        for (int causal = 1; causal >= 0; causal--) {
            nn_tensor *a = gpt_logits(g, &m, ids, causal), *b = gpt_logits(g, &m, changed, causal);
            for (int t = 0; t < T; t++) {
                int same = row_equal(a, b, t);
                if (causal && t < p && !same)
                    fail_msg("causal (%s): changing token %d changed the output at %d",
                             nn_kernels_name(kernels), p, t);
                if (t >= p && same) /* the token itself and everything after it must move */
                    fail_msg("%s (%s): changing token %d left the output at %d unchanged",
                             causal ? "causal" : "unmasked", nn_kernels_name(kernels), p, t);
                if (!causal && t < p && same) /* the control: without the mask the past moves */
                    fail_msg("unmasked: changing token %d did not reach position %d", p, t);
                assert_true(row_equal(a, b, T + t)); /* example 1 was not changed at all */
            }
            nn_graph_reset(g);
        }
    }
    /* backwards in time: the gradient of the outputs at positions < p reaches no input at
     * p or later, exactly */
    const int p = 7;
    nn_tensor *x = nn_reshape(g, nn_embedding(g, &m.embed, ids, B * T), 3, B, T, D);
    nn_tensor *leaf = nn_graph_input(g, x->data, 3, B, T, D);
    nn_graph_require_grad(g, leaf);
    nn_tensor *logits = gpt_forward(g, &m, leaf, 1);
    nn_tensor *r = nn_graph_tensor(g, 2, B * T, V);
    for (int b = 0; b < B; b++)
        for (int t = 0; t < p; t++)
            for (int j = 0; j < V; j++) r->data[(size_t)(b * T + t) * V + j] = (nn_real)(1 + j % 3);
    nn_backward(g, nn_sum(g, nn_mul(g, logits, r)));
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            double norm = 0;
            for (int j = 0; j < D; j++) norm += fabs(leaf->grad[((size_t)b * T + t) * D + j]);
            if (t >= p && norm != 0)
                fail_msg("causal: outputs before %d send gradient %g to input %d", p, norm, t);
            if (t < p && !(norm > 0)) fail_msg("no gradient at input %d", t);
        }
    nn_graph_reset(g);
    nn_params_free(&m.ps);
    nn_set_kernels(NN_KERNELS_BLAS);
}

static void test_causal_mask_hides_the_future(void **state)
{
    nn_graph *g = *state;
    check_causality(g, NN_KERNELS_BLAS, 0);
    check_causality(g, NN_KERNELS_NAIVE, 1);
}

static void test_layers_shapes_and_probs(void **state)
{
    nn_graph *g = *state;
    nn_params ps;
    nn_params_init(&ps);
    nn_rng rng;
    nn_rng_seed(&rng, 2);
    nn_mha_layer mha;
    nn_mha_init(&mha, &ps, "mha", 8, 2, &rng);
    /* fused QKV (3D x D + 3D) and the output projection (D x D + D) */
    assert_int_equal(ps.count, 3 * 8 * 8 + 3 * 8 + 8 * 8 + 8);
    nn_tensor *x = nn_graph_tensor(g, 3, 3, 5, 8), *attn = NULL;
    nn_rng_fill_normal(&rng, x->data, x->numel, 0, 1);
    nn_tensor *y = nn_mha_forward(g, &mha, x, 1, &attn);
    assert_int_equal(y->ndim, 3);
    assert_int_equal(y->shape[0], 3), assert_int_equal(y->shape[1], 5), assert_int_equal(y->shape[2], 8);
    assert_non_null(attn);
    const nn_real *P = nn_attention_probs(attn); /* (3, 2, 5, 5) */
    for (int r = 0; r < 3 * 2 * 5; r++) {
        double sum = 0;
        for (int j = 0; j < 5; j++) sum += P[r * 5 + j];
        assert_true(fabs(sum - 1) < 1e-5);
        assert_true(P[r * 5 + 4] == 0 || r % 5 == 4); /* only the last query sees key 4 */
    }
    /* the block: LN, MHA, LN, MLP -- parameter count 2 (2D) + MHA + (h D + h) + (D h + D) */
    nn_params bps;
    nn_params_init(&bps);
    nn_transformer_block blk;
    nn_transformer_block_init(&blk, &bps, "block", 8, 2, 32, &rng);
    assert_int_equal(bps.count, 4 * 8 + ps.count + 32 * 8 + 32 + 8 * 32 + 8);
    y = nn_transformer_block_forward(g, &blk, x, 1, NULL);
    assert_true(nn_tensor_same_shape(x, y));
    nn_params_free(&bps);

    /* bad input is named */
    nn_tensor *q = nn_graph_tensor(g, 3, 2, 4, 6), *k5 = nn_graph_tensor(g, 3, 2, 5, 6);
    EXPECT_FAIL(nn_attention(g, q, q, nn_graph_tensor(g, 3, 2, 4, 5), 2, 0),
                "expected q (B,Tq,D) and k, v (B,Tk,D)");
    EXPECT_FAIL(nn_attention(g, nn_graph_tensor(g, 2, 4, 6), q, q, 1, 0), "nn_attention: q (4,6)");
    EXPECT_FAIL(nn_attention(g, q, q, q, 4, 0), "4 heads do not divide the width D = 6");
    EXPECT_FAIL(nn_attention(g, q, k5, k5, 2, 1), "causal mask needs as many queries as keys");
    EXPECT_FAIL(nn_attention_probs(q), "not the output of nn_attention");
    EXPECT_FAIL(nn_mha_init(&mha, &ps, "bad", 8, 3, &rng), "3 heads must divide the width 8");
    EXPECT_FAIL(nn_mha_forward(g, &mha, q, 0, NULL), "expected (batch,time,8)");
    EXPECT_FAIL(nn_transformer_block_forward(g, &blk, q, 0, NULL), "expected (batch,time,8)");
    /* keys of another length: fine without the mask */
    y = nn_attention(g, q, k5, k5, 2, 0);
    assert_int_equal(y->shape[1], 4);
    nn_params_free(&ps);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_attention_by_hand, setup, teardown),
        cmocka_unit_test_setup_teardown(test_attention_heads_and_means, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sinusoids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_causal_mask_hides_the_future, setup, teardown),
        cmocka_unit_test_setup_teardown(test_layers_shapes_and_probs, setup, teardown),
    };
    return cmocka_run_group_tests_name("attention and Transformer layers", tests, NULL, NULL);
}
