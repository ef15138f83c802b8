/* grad_attention.c -- gradient checks (double build) of scaled dot-product attention with and
 * without the causal mask, one head and several, queries and keys of different lengths, the
 * self-attention case q = k = v (one tensor, three gradients summed), the multi-head attention
 * layer (fused QKV), the learned positional encoding, the pre-norm Transformer block, and a
 * small GPT end to end (embedding, positions, two blocks, LayerNorm, logits, cross-entropy).
 *
 * As in grad_ops.c every output is reduced with fixed random weights, L = sum_i r_i y_i, and
 * backward is compared with central differences: relative error < 1e-6. */
#include "nn_test.h"

NN_TEST_DEFINE_FAIL_HANDLER

#ifndef NN_DOUBLE
#error "gradient checks need the double build (-DNN_DOUBLE)"
#endif

static nn_tensor *leaf3(nn_graph *g, nn_rng *rng, int a, int b, int c)
{
    nn_tensor *t = nn_graph_tensor(g, 3, a, b, c);
    nn_rng_fill_uniform(rng, t->data, t->numel, -1.5, 1.5); /* scores of a few units: peaked rows */
    nn_graph_require_grad(g, t);
    return t;
}

/* ---- the op ---- */

typedef struct {
    nn_tensor *q, *k, *v;
    int heads, causal;
} attn_case;

static nn_tensor *attn_loss(nn_graph *g, void *ctx)
{
    attn_case *c = ctx;
    return nn_test_weighted_sum(g, nn_attention(g, c->q, c->k, c->v, c->heads, c->causal), 8765);
}

static void check_attention(int B, int Tq, int Tk, int D, int heads, int causal, int shared,
                            uint64_t seed)
{
    nn_graph *leaves = nn_graph_new();
    nn_rng rng;
    nn_rng_seed(&rng, seed);
    attn_case c = {.heads = heads, .causal = causal};
    c.q = leaf3(leaves, &rng, B, Tq, D);
    c.k = shared ? c.q : leaf3(leaves, &rng, B, Tk, D);
    c.v = shared ? c.q : leaf3(leaves, &rng, B, Tk, D);
    nn_tensor *inputs[3] = {c.q, c.k, c.v};
    char what[128];
    snprintf(what, sizeof what, "attention B=%d Tq=%d Tk=%d D=%d heads=%d%s%s", B, Tq, Tk, D,
             heads, causal ? " causal" : "", shared ? " q=k=v" : "");
    nn_test_expect_gradcheck(nn_gradcheck(attn_loss, &c, inputs, shared ? 1 : 3, 1e-5), what);
    nn_graph_free(leaves);
}

static void test_attention_unmasked(void **state)
{
    (void)state;
    check_attention(2, 3, 3, 4, 1, 0, 0, 1);  /* one head */
    check_attention(2, 4, 4, 6, 3, 0, 0, 2);  /* three heads of width 2 */
    check_attention(1, 2, 5, 4, 2, 0, 0, 3);  /* more keys than queries */
    check_attention(2, 3, 3, 4, 2, 0, 1, 4);  /* self-attention on one tensor */
}

static void test_attention_causal(void **state)
{
    (void)state;
    check_attention(2, 4, 4, 4, 1, 1, 0, 5);
    check_attention(2, 5, 5, 6, 2, 1, 0, 6);
    check_attention(1, 4, 4, 4, 2, 1, 1, 7);  /* causal self-attention on one tensor */
}

/* ---- the layers ---- */

enum { LB = 2, LT = 4, LD = 8, LHEADS = 2, LHID = 12 };

typedef struct {
    nn_mha_layer mha;
    nn_transformer_block block;
    nn_posenc_layer pos;
    nn_tensor *x;
    int which, causal; /* 0: MHA, 1: block, 2: learned positions then block */
} layer_case;

static nn_tensor *layer_loss(nn_graph *g, void *ctx)
{
    layer_case *c = ctx;
    nn_tensor *y;
    if (c->which == 0) y = nn_mha_forward(g, &c->mha, c->x, c->causal, NULL);
    else if (c->which == 1) y = nn_transformer_block_forward(g, &c->block, c->x, c->causal, NULL);
    else y = nn_transformer_block_forward(g, &c->block, nn_posenc_forward(g, &c->pos, c->x),
                                          c->causal, NULL);
    return nn_test_weighted_sum(g, y, 8765);
}

/* every parameter of the store and the input x */
static void check_layer(int which, int causal)
{
    nn_params ps;
    nn_params_init(&ps);
    nn_rng rng;
    nn_rng_seed(&rng, 20 + 2 * (uint64_t)which + (uint64_t)causal);
    layer_case c = {.which = which, .causal = causal};
    if (which == 0) nn_mha_init(&c.mha, &ps, "mha", LD, LHEADS, &rng);
    else nn_transformer_block_init(&c.block, &ps, "block", LD, LHEADS, LHID, &rng);
    if (which == 2) nn_posenc_init(&c.pos, &ps, "pos", LT + 2, LD, 1, &rng);
    /* LayerNorm's gamma and beta start at 1 and 0: move them so their gradients are generic */
    for (size_t i = 0; i < ps.count; i++) ps.values[i] += (nn_real)(0.3 * nn_rng_normal(&rng));
    nn_graph *leaves = nn_graph_new();
    c.x = leaf3(leaves, &rng, LB, LT, LD);
    /* The keys' bias has a gradient of exactly 0: it adds q_i . b_k to every score of row i,
     * and softmax ignores a constant added to a whole row. Its central differences are pure
     * rounding noise (~1e-11), which a relative test cannot accept, so the bias of the fused
     * projection is checked apart: its k third must be 0 to rounding, the whole absolutely. */
    nn_tensor *qkv_bias = which == 0 ? c.mha.qkv.bias : c.block.attn.qkv.bias;
    nn_tensor *inputs[32];
    int n = 0;
    for (int i = 0; i < ps.ntensors; i++)
        if (ps.tensors[i] != qkv_bias) inputs[n++] = ps.tensors[i];
    inputs[n++] = c.x;
    static const char *names[3] = {"multi-head attention", "Transformer block",
                                   "learned positions + block"};
    char what[96];
    snprintf(what, sizeof what, "%s%s", names[which], causal ? " (causal)" : "");
    nn_test_expect_gradcheck(nn_gradcheck(layer_loss, &c, inputs, n, 1e-5), what);
    nn_gradcheck_result r = nn_gradcheck(layer_loss, &c, &qkv_bias, 1, 1e-5);
    if (r.max_abs_error > 1e-9)
        fail_msg("%s, QKV bias: error %.3g at element %zu (analytic %.10g, numeric %.10g)", what,
                 r.max_abs_error, r.worst_index, r.worst_analytic, r.worst_numeric);
    for (int j = LD; j < 2 * LD; j++)
        if (fabs(qkv_bias->grad[j]) > 1e-12)
            fail_msg("%s: the keys' bias has gradient %.3g at %d, expected 0", what,
                     (double)qkv_bias->grad[j], j - LD);
    nn_graph_free(leaves);
    nn_params_free(&ps);
}

static void test_mha(void **state)
{
    (void)state;
    check_layer(0, 0);
    check_layer(0, 1);
}

static void test_block(void **state)
{
    (void)state;
    check_layer(1, 0);
    check_layer(1, 1);
    check_layer(2, 1);
}

/* ---- a tiny GPT: tokens -> embedding + sinusoids -> 2 causal blocks -> LN -> logits -> CE ---- */

enum { GV = 7, GD = 8, GT = 5, GB = 2 };

typedef struct {
    nn_embedding_layer embed;
    nn_posenc_layer pos;
    nn_transformer_block blocks[2];
    nn_layernorm_layer ln;
    nn_linear_layer head;
    int x[GB * GT], y[GB * GT]; /* batch-major: row b*T + t */
} gpt_case;

static nn_tensor *gpt_loss(nn_graph *g, void *ctx)
{
    gpt_case *m = ctx;
    nn_tensor *h = nn_reshape(g, nn_embedding(g, &m->embed, m->x, GB * GT), 3, GB, GT, GD);
    h = nn_posenc_forward(g, &m->pos, h);
    for (int l = 0; l < 2; l++) h = nn_transformer_block_forward(g, &m->blocks[l], h, 1, NULL);
    h = nn_reshape(g, nn_layernorm_forward(g, &m->ln, h), 2, GB * GT, GD);
    return nn_softmax_cross_entropy(g, nn_linear(g, &m->head, h), m->y);
}

static void test_gpt(void **state)
{
    (void)state;
    nn_params ps;
    nn_params_init(&ps);
    nn_rng rng;
    nn_rng_seed(&rng, 44);
    gpt_case m = {.x = {0, 3, 6, 3, 1, 5, 2, 2, 4, 0}, .y = {3, 6, 3, 1, 5, 2, 2, 4, 0, 6}};
    nn_embedding_init(&m.embed, &ps, "embed", GV, GD, &rng);
    nn_posenc_init(&m.pos, &ps, "pos", GT, GD, 0, &rng);
    for (int l = 0; l < 2; l++) nn_transformer_block_init(&m.blocks[l], &ps, "block", GD, 2, 16, &rng);
    nn_layernorm_init(&m.ln, &ps, "ln", GD);
    nn_linear_init(&m.head, &ps, "head", GD, GV, 1, &rng);
    /* The step as in grad_rnn.c (EPS_DEEP): through two blocks some gradients are ~3e-5, and
     * at eps 1e-5 the rounding noise of L (~1e-16/eps) is 1e-6 of them; at 3e-5 the worst
     * case is 3e-7, with truncation (eps^2) still far below. */
    nn_test_expect_gradcheck(nn_gradcheck(gpt_loss, &m, ps.tensors, ps.ntensors, 3e-5), "tiny GPT");
    nn_params_free(&ps);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_attention_unmasked), cmocka_unit_test(test_attention_causal),
        cmocka_unit_test(test_mha), cmocka_unit_test(test_block), cmocka_unit_test(test_gpt),
    };
    return cmocka_run_group_tests_name("attention gradient checks (double)", tests, NULL, NULL);
}
