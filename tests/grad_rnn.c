/* grad_rnn.c -- gradient checks (double build) of the sequence ops and layers: the embedding
 * gather, the slice, and the tanh RNN, LSTM and GRU cells unrolled over several steps
 * (backpropagation through time), plus a small character language model end to end.
 *
 * As in grad_ops.c every output is reduced with fixed random weights, L = sum_i r_i y_i, and
 * backward is compared with central differences: relative error < 1e-6. */
#include "nn_test.h"

NN_TEST_DEFINE_FAIL_HANDLER

/* the seed of each weighted sum: one stream per salt, so sums of several outputs differ */
#define SALTED(salt) (4321 + 97 * (uint64_t)(salt))

#ifndef NN_DOUBLE
#error "gradient checks need the double build (-DNN_DOUBLE)"
#endif

/* ---- embedding: repeated ids must receive the sum of their rows' gradients ---- */

typedef struct {
    nn_tensor *table;
    int ids[7];
    int n;
} embed_case;

static nn_tensor *embed_loss(nn_graph *g, void *ctx)
{
    embed_case *c = ctx;
    return nn_test_weighted_sum(g, nn_embedding_op(g, c->table, c->ids, c->n), SALTED(0));
}

static void test_embedding(void **state)
{
    (void)state;
    nn_graph *leaves = nn_graph_new();
    nn_rng rng;
    nn_rng_seed(&rng, 1);
    /* id 1 three times, id 3 never: its gradient must stay exactly 0 */
    embed_case c = {.ids = {1, 4, 1, 0, 2, 1, 4}, .n = 7};
    c.table = nn_test_leaf(leaves, &rng, -1, 1, 2, (const int[]){5, 3});
    nn_test_expect_gradcheck(nn_gradcheck(embed_loss, &c, &c.table, 1, 1e-6), "embedding");
    for (int j = 0; j < 3; j++) assert_true(c.table->grad[3 * 3 + j] == 0);
    nn_graph_free(leaves);
}

/* ---- slice along each axis of a 3-D tensor, and the columns of a matrix ---- */

typedef struct {
    nn_tensor *x;
    int axis, start, len;
} slice_case;

static nn_tensor *slice_loss(nn_graph *g, void *ctx)
{
    slice_case *c = ctx;
    nn_tensor *y = nn_slice(g, c->x, c->axis, c->start, c->len);
    return nn_test_weighted_sum(g, y, SALTED(c->axis));
}

static void test_slice(void **state)
{
    (void)state;
    nn_graph *leaves = nn_graph_new();
    nn_rng rng;
    nn_rng_seed(&rng, 2);
    nn_tensor *x3 = nn_test_leaf(leaves, &rng, -2, 2, 3, (const int[]){3, 4, 5});
    nn_tensor *x2 = nn_test_leaf(leaves, &rng, -2, 2, 2, (const int[]){3, 8});
    const slice_case cases[] = {
        {x3, 0, 1, 2}, {x3, 1, 0, 3}, {x3, 2, 2, 3}, {x3, 2, 4, 1}, /* every axis, the end */
        {x2, 1, 2, 2}, {x2, 1, 0, 8}, {x2, 0, 2, 1},                 /* a gate block, all, a row */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        slice_case c = cases[k];
        char what[64];
        snprintf(what, sizeof what, "slice case %zu (axis %d, [%d,%d))", k, c.axis, c.start,
                 c.start + c.len);
        nn_test_expect_gradcheck(nn_gradcheck(slice_loss, &c, &c.x, 1, 1e-6), what);
    }
    nn_graph_free(leaves);
}

/* ---- the cells over several steps: every parameter, every input, the initial state ---- */

/* The finite-difference step for the unrolled cells and the language model. Two errors pull
 * in opposite directions: the rounding in L (a few ulps of |L| ~ 1 after hundreds of
 * operations) adds ~1e-16/eps to every central difference, and the truncation error grows as
 * eps^2/6 times the third derivative, which the tanh/sigmoid chains make large for some
 * weights. At eps = 1e-6 the noise (3e-10 measured) fails 1e-6 relative on the smallest
 * gradients here (~1e-5: weights whose every path to L crosses several saturating gates), at
 * 1e-4 the truncation fails it on the most curved ones (1.7e-8 of 0.01); 3e-5 clears both
 * with a margin of 3x or more on every case below. Backward itself is exact: at eps = 1e-4
 * the check of that -8.07e-5 gradient agrees to 6e-13. */
#define EPS_DEEP 3e-5

enum { B = 2, IN = 3, H = 4, STEPS = 5 };

typedef struct {
    nn_rnn_cell cell;
    nn_tensor *xs[STEPS], *h0, *c0;
    int only_last; /* 1: the loss reads h_T only (the adding problem's set-up) */
} cell_case;

/* L = sum_t <r_t, h_t> (+ <r_c, c_T> for the LSTM), or <r, h_T> alone */
static nn_tensor *cell_loss(nn_graph *g, void *ctx)
{
    cell_case *c = ctx;
    nn_tensor *hs[STEPS];
    nn_rnn_state s = nn_rnn_forward(g, &c->cell, c->xs, STEPS, hs, (nn_rnn_state){c->h0, c->c0});
    nn_tensor *loss = nn_test_weighted_sum(g, s.h, SALTED(STEPS));
    if (!c->only_last)
        for (int t = 0; t < STEPS - 1; t++)
            loss = nn_add(g, loss, nn_test_weighted_sum(g, hs[t], SALTED(t)));
    if (s.c) loss = nn_add(g, loss, nn_test_weighted_sum(g, s.c, SALTED(99)));
    return loss;
}

static void check_cell(nn_rnn_kind kind, int only_last, int zero_state)
{
    nn_params ps;
    nn_params_init(&ps);
    nn_rng rng;
    nn_rng_seed(&rng, 10 + (uint64_t)kind);
    cell_case c = {.only_last = only_last};
    nn_rnn_cell_init(&c.cell, &ps, nn_rnn_kind_name(kind), kind, IN, H, &rng);
    /* weights larger than the default so that every gate is away from 1/2 and the products
     * through time are not trivially small */
    for (size_t i = 0; i < ps.count; i++) ps.values[i] *= 2;
    nn_graph *leaves = nn_graph_new();
    for (int t = 0; t < STEPS; t++)
        c.xs[t] = nn_test_leaf(leaves, &rng, -1, 1, 2, (const int[]){B, IN});
    if (!zero_state) {
        c.h0 = nn_test_leaf(leaves, &rng, -0.8, 0.8, 2, (const int[]){B, H});
        if (kind == NN_RNN_LSTM) c.c0 = nn_test_leaf(leaves, &rng, -1, 1, 2, (const int[]){B, H});
    }
    nn_tensor *inputs[4 + STEPS + 2];
    int n = 0;
    inputs[n++] = c.cell.w_ih, inputs[n++] = c.cell.w_hh;
    inputs[n++] = c.cell.b_ih, inputs[n++] = c.cell.b_hh;
    for (int t = 0; t < STEPS; t++) inputs[n++] = c.xs[t];
    if (c.h0) inputs[n++] = c.h0;
    if (c.c0) inputs[n++] = c.c0;
    char what[96];
    snprintf(what, sizeof what, "%s over %d steps (%s, %s state)", nn_rnn_kind_name(kind), STEPS,
             only_last ? "loss on h_T" : "loss on every h_t", zero_state ? "zero" : "given");
    nn_test_expect_gradcheck(nn_gradcheck(cell_loss, &c, inputs, n, EPS_DEEP), what);
    nn_graph_free(leaves);
    nn_params_free(&ps);
}

static void test_rnn_cell(void **state)
{
    (void)state;
    check_cell(NN_RNN_TANH, 0, 0);
    check_cell(NN_RNN_TANH, 1, 1);
}

static void test_lstm_cell(void **state)
{
    (void)state;
    check_cell(NN_RNN_LSTM, 0, 0);
    check_cell(NN_RNN_LSTM, 1, 1);
}

static void test_gru_cell(void **state)
{
    (void)state;
    check_cell(NN_RNN_GRU, 0, 0);
    check_cell(NN_RNN_GRU, 1, 1);
}

/* ---- a character language model: embedding -> LSTM -> linear -> cross-entropy each step ---- */

enum { V = 6, E = 3, LH = 4, LB = 2, LT = 4 };

typedef struct {
    nn_embedding_layer embed;
    nn_rnn_cell cell;
    nn_linear_layer out;
    int x[LT * LB], y[LT * LB]; /* time-major */
} lm_case;

static nn_tensor *lm_loss(nn_graph *g, void *ctx)
{
    lm_case *m = ctx;
    nn_rnn_state s = {NULL, NULL};
    nn_tensor *total = NULL;
    for (int t = 0; t < LT; t++) {
        s = nn_rnn_cell_step(g, &m->cell, nn_embedding(g, &m->embed, m->x + t * LB, LB), s);
        nn_tensor *l = nn_softmax_cross_entropy(g, nn_linear(g, &m->out, s.h), m->y + t * LB);
        total = total ? nn_add(g, total, l) : l;
    }
    return nn_scale(g, total, 1.0 / LT);
}

static void test_char_lm(void **state)
{
    (void)state;
    nn_params ps;
    nn_params_init(&ps);
    nn_rng rng;
    nn_rng_seed(&rng, 33);
    lm_case m = {.x = {0, 5, 2, 2, 3, 1, 5, 0}, .y = {2, 2, 3, 1, 5, 0, 4, 4}};
    nn_embedding_init(&m.embed, &ps, "embed", V, E, &rng);
    nn_rnn_cell_init(&m.cell, &ps, "lstm", NN_RNN_LSTM, E, LH, &rng);
    nn_linear_init(&m.out, &ps, "out", LH, V, 1, &rng);
    nn_tensor *inputs[] = {m.embed.weight, m.cell.w_ih, m.cell.w_hh, m.cell.b_ih, m.cell.b_hh,
                           m.out.weight, m.out.bias};
    nn_test_expect_gradcheck(nn_gradcheck(lm_loss, &m, inputs, 7, EPS_DEEP), "char LM");
    nn_params_free(&ps);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_embedding), cmocka_unit_test(test_slice),
        cmocka_unit_test(test_rnn_cell),  cmocka_unit_test(test_lstm_cell),
        cmocka_unit_test(test_gru_cell),  cmocka_unit_test(test_char_lm),
    };
    return cmocka_run_group_tests_name("sequence gradient checks (double)", tests, NULL, NULL);
}
