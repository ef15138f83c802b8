/* grad_ops.c -- gradient check of every op and of Linear, BatchNorm and LayerNorm, in the
 * double build.
 *
 * Each case builds y = op(inputs) and reduces it with fixed random weights, L = sum_i r_i y_i,
 * so every output element's gradient matters (a plain sum would let a wrong softmax gradient
 * pass, since softmax rows always sum to 1). Backward is compared with central differences. */
#include "nn_test.h"

NN_TEST_DEFINE_FAIL_HANDLER

#ifndef NN_DOUBLE
#error "gradient checks need the double build (-DNN_DOUBLE)"
#endif

typedef struct gcase {
    nn_op op;
    nn_tensor *in[3];
    int nin;
    int labels[8];
    int variant;
    nn_real running_mean[4], running_var[4]; /* batch norm's state */
    int stride, pad, pool;                   /* conv2d, max/avg pool */
    nn_kernels kernels;                      /* conv2d: naive loops or im2col + GEMM */
    double eps;                              /* finite-difference step; 0: 1e-6 */
} gcase;

static nn_tensor *forward(nn_graph *g, void *ctx)
{
    gcase *c = ctx;
    nn_tensor **x = c->in, *y = NULL;
    switch (c->op) {
    case NN_OP_ADD: y = nn_add(g, x[0], x[1]); break;
    case NN_OP_SUB: y = nn_sub(g, x[0], x[1]); break;
    case NN_OP_MUL: y = nn_mul(g, x[0], x[1]); break;
    case NN_OP_SCALE: y = nn_scale(g, x[0], -1.5); break;
    case NN_OP_MATMUL: y = nn_matmul(g, x[0], x[1]); break;
    case NN_OP_LINEAR: y = nn_linear_op(g, x[0], x[1], c->nin > 2 ? x[2] : NULL); break;
    case NN_OP_SUM: y = nn_sum(g, x[0]); break;
    case NN_OP_MEAN: y = nn_mean(g, x[0]); break;
    case NN_OP_RELU: y = nn_relu(g, x[0]); break;
    case NN_OP_LEAKY_RELU: y = nn_leaky_relu(g, x[0], 0.1); break;
    case NN_OP_SIGMOID: y = nn_sigmoid(g, x[0]); break;
    case NN_OP_TANH: y = nn_tanh(g, x[0]); break;
    case NN_OP_SOFTMAX: y = nn_softmax(g, x[0]); break;
    case NN_OP_LOG_SOFTMAX: y = nn_log_softmax(g, x[0]); break;
    case NN_OP_SOFTMAX_CROSS_ENTROPY: y = nn_softmax_cross_entropy(g, x[0], c->labels); break;
    case NN_OP_MSE: y = nn_mse(g, x[0], x[1]); break;
    case NN_OP_BCE_WITH_LOGITS: y = nn_bce_with_logits(g, x[0], x[1]); break;
    case NN_OP_RESHAPE: y = nn_reshape(g, x[0], 3, 2, -1, 3); break;
    case NN_OP_TRANSPOSE: y = nn_transpose(g, x[0], 0, 2); break;
    case NN_OP_DROPOUT: {
        /* the check re-runs forward many times: re-seeding here draws the same mask each time */
        nn_rng mask_rng;
        nn_rng_seed(&mask_rng, 99);
        y = nn_dropout(g, x[0], 0.4, &mask_rng);
        if (y->op != NN_OP_DROPOUT) fail_msg("nn_dropout in training mode made no dropout op");
        break;
    }
    case NN_OP_BATCHNORM:
        g->training = c->variant != 2; /* variant 2: evaluation mode, running statistics */
        y = nn_batchnorm(g, x[0], x[1], x[2], c->running_mean, c->running_var, 0.1, 1e-5);
        g->training = 1;
        break;
    case NN_OP_LAYERNORM:
        y = nn_layernorm(g, x[0], c->nin > 1 ? x[1] : NULL, c->nin > 2 ? x[2] : NULL, 1e-5);
        break;
    case NN_OP_GELU: y = nn_gelu(g, x[0]); break;
    case NN_OP_ELU: y = nn_elu(g, x[0], 0.7); break;
    case NN_OP_L1_PENALTY: y = nn_l1_penalty(g, x[0]); break;
    case NN_OP_L2_PENALTY: y = nn_l2_penalty(g, x[0]); break;
    case NN_OP_CONV2D:
        nn_set_kernels(c->kernels ? c->kernels : NN_KERNELS_BLAS);
        y = nn_conv2d_op(g, x[0], x[1], c->nin > 2 ? x[2] : NULL, c->stride, c->pad);
        nn_set_kernels(NN_KERNELS_BLAS);
        break;
    case NN_OP_MAXPOOL2D: y = nn_maxpool2d(g, x[0], c->pool, c->stride); break;
    case NN_OP_AVGPOOL2D: y = nn_avgpool2d(g, x[0], c->pool, c->stride); break;
    case NN_OP_EMBEDDING: y = nn_embedding_op(g, x[0], c->labels, 6); break;
    case NN_OP_SLICE: y = nn_slice(g, x[0], c->variant, 1, 1); break;
    case NN_OP_VAE_SAMPLE: y = nn_vae_sample(g, x[0], x[1], x[2]); break;
    case NN_OP_VAE_KL: y = nn_vae_kl(g, x[0], x[1]); break;
    case NN_OP_ATTENTION: /* variant 0: no mask, 1 head; 1: causal, 1 head; 2: causal, 2 heads */
        y = nn_attention(g, x[0], x[1], x[2], c->variant == 2 ? 2 : 1, c->variant != 0);
        break;
    default: fail_msg("no gradient case for op %s", nn_op_name(c->op));
    }
    return nn_test_weighted_sum(g, y, 1234);
}

/* a leaf with values uniform in [lo,hi], kept at least `gap` away from 0 (kinks) */
static nn_tensor *leaf(nn_graph *g, nn_rng *rng, double lo, double hi, double gap, int ndim,
                       const int *shape)
{
    nn_tensor *t = nn_graph_tensor(g, ndim, shape[0], ndim > 1 ? shape[1] : 0,
                                   ndim > 2 ? shape[2] : 0, ndim > 3 ? shape[3] : 0);
    for (size_t i = 0; i < t->numel; i++) {
        double v;
        do v = lo + (hi - lo) * nn_rng_uniform(rng); while (fabs(v) < gap);
        t->data[i] = v;
    }
    nn_graph_require_grad(g, t);
    return t;
}

/* a leaf whose values are distinct multiples of 0.1 in shuffled order: max pool's argmax then
 * has no ties, and no +-eps perturbation can change which input wins */
static nn_tensor *distinct_leaf(nn_graph *g, nn_rng *rng, int ndim, const int *shape)
{
    nn_tensor *t = leaf(g, rng, -1, 1, 0, ndim, shape);
    int n = (int)t->numel, perm[512];
    if (n > 512) fail_msg("distinct_leaf: %d values, at most 512", n);
    nn_rng_permutation(rng, perm, n);
    for (int i = 0; i < n; i++) t->data[i] = 0.1 * (perm[i] - n / 2);
    return t;
}

/* conv2d cases: x (N,C,H,W), weight (OC,C,KH,KW), stride, pad, bias */
static const struct conv_case {
    int N, C, H, W, OC, KH, KW, stride, pad, bias;
} conv_cases[] = {
    {2, 1, 5, 5, 2, 3, 3, 1, 0, 1}, /* the plainest case */
    {2, 3, 5, 6, 2, 3, 3, 1, 1, 1}, /* channels, "same" padding, W != H */
    {1, 3, 7, 6, 2, 3, 3, 2, 1, 0}, /* stride 2, no bias */
    {2, 2, 4, 5, 3, 2, 3, 1, 2, 1}, /* KH != KW, pad 2 (wider than the kernel's reach) */
    {1, 1, 6, 7, 2, 5, 5, 2, 2, 1}, /* 5x5 pad 2 stride 2, as the lesson's layers */
    {2, 3, 3, 3, 2, 1, 1, 1, 0, 0}, /* 1x1 kernel */
    {2, 2, 4, 4, 2, 4, 4, 1, 0, 1}, /* kernel = input: one output per channel */
    {1, 2, 5, 5, 2, 3, 3, 3, 0, 1}, /* stride 3: some inputs are never read */
};
enum { CONV_CASES = sizeof conv_cases / sizeof conv_cases[0] };

static void conv_setup(gcase *c, nn_graph *leaves, nn_rng *rng, const struct conv_case *k,
                       nn_kernels kernels)
{
    c->op = NN_OP_CONV2D;
    c->in[0] = leaf(leaves, rng, -1, 1, 0, 4, (const int[]){k->N, k->C, k->H, k->W});
    c->in[1] = leaf(leaves, rng, -1, 1, 0, 4, (const int[]){k->OC, k->C, k->KH, k->KW});
    c->in[2] = leaf(leaves, rng, -1, 1, 0, 1, (const int[]){k->OC});
    c->nin = k->bias ? 3 : 2;
    c->stride = k->stride;
    c->pad = k->pad;
    c->kernels = kernels;
    /* A conv output sums many products, so L carries more rounding (~1e-16 |L| per term) and
     * the 1e-16/eps part of the central difference's error reaches 1e-10 at eps 1e-6: too much
     * for inputs at the border whose gradient is ~1e-4. eps 1e-5 balances it against the
     * eps^2 truncation error (zero here: L is linear in each input). */
    c->eps = 1e-5;
}

static void check(gcase *c, const char *what)
{
    nn_gradcheck_result r = nn_gradcheck(forward, c, c->in, c->nin, c->eps > 0 ? c->eps : 1e-6);
    if (r.max_rel_error >= 1e-6)
        fail_msg("%s: relative error %.3g at input %d element %zu (analytic %.10g, numeric %.10g)",
                 what, r.max_rel_error, r.worst_tensor, r.worst_index, r.worst_analytic,
                 r.worst_numeric);
}

static void test_every_op(void **state)
{
    (void)state;
    nn_graph *leaves = nn_graph_new();
    nn_rng rng;
    nn_rng_seed(&rng, 7);
    const int s34[] = {3, 4}, s4[] = {4}, s1[] = {1}, s45[] = {4, 5}, s234[] = {2, 3, 4},
              s54[] = {5, 4}, s5[] = {5}, s6[] = {6};
    int covered[NN_OP_COUNT] = {0};
    for (nn_op op = NN_OP_NONE + 1; op < NN_OP_COUNT; op++) {
        /* each op on a few shapes / broadcast modes */
        for (int variant = 0; variant < 3; variant++) {
            gcase c = {.op = op, .variant = variant};
            nn_tensor **x = c.in;
            switch (op) {
            case NN_OP_ADD: case NN_OP_SUB: case NN_OP_MUL:
                x[0] = leaf(leaves, &rng, -2, 2, 0, 2, s34);
                x[1] = leaf(leaves, &rng, -2, 2, 0, variant == 0 ? 2 : 1,
                            variant == 0 ? s34 : variant == 1 ? s4 : s1);
                c.nin = 2;
                break;
            case NN_OP_MATMUL:
                x[0] = leaf(leaves, &rng, -1, 1, 0, 2, s34);
                x[1] = leaf(leaves, &rng, -1, 1, 0, 2, s45);
                c.nin = 2;
                break;
            case NN_OP_LINEAR:
                x[0] = leaf(leaves, &rng, -1, 1, 0, 2, s34);
                x[1] = leaf(leaves, &rng, -1, 1, 0, 2, s54); /* W (out 5, in 4) */
                x[2] = leaf(leaves, &rng, -1, 1, 0, 1, s5);
                c.nin = variant == 0 ? 2 : 3;
                break;
            case NN_OP_SOFTMAX_CROSS_ENTROPY:
                x[0] = leaf(leaves, &rng, -3, 3, 0, 2, s34);
                for (int b = 0; b < 3; b++) c.labels[b] = (b * 3 + variant) % 4;
                c.nin = 1;
                break;
            case NN_OP_MSE:
                x[0] = leaf(leaves, &rng, -2, 2, 0, 2, s34);
                x[1] = leaf(leaves, &rng, -2, 2, 0, 2, s34);
                c.nin = 2;
                break;
            case NN_OP_BCE_WITH_LOGITS:
                x[0] = leaf(leaves, &rng, -4, 4, 0, 2, s34);
                x[1] = leaf(leaves, &rng, 0.05, 0.95, 0, 2, s34);
                c.nin = 2;
                break;
            case NN_OP_RESHAPE: case NN_OP_TRANSPOSE:
                x[0] = leaf(leaves, &rng, -2, 2, 0, 3, s234);
                c.nin = 1;
                break;
            case NN_OP_BATCHNORM: {
                /* (B,C) train, (N,C,H,W) train, (B,C) eval; x, gamma and beta all checked */
                const int s53[] = {5, 3}, s3232[] = {3, 2, 2, 2}, s2[] = {2}, s3[] = {3};
                int C = variant == 1 ? 2 : 3;
                x[0] = leaf(leaves, &rng, -2, 2, 0, variant == 1 ? 4 : 2, variant == 1 ? s3232 : s53);
                x[1] = leaf(leaves, &rng, 0.5, 1.5, 0, 1, C == 2 ? s2 : s3);
                x[2] = leaf(leaves, &rng, -1, 1, 0, 1, C == 2 ? s2 : s3);
                for (int ch = 0; ch < C; ch++) {
                    c.running_mean[ch] = 0.3 * ch - 0.2;
                    c.running_var[ch] = 0.5 + ch;
                }
                c.nin = 3;
                break;
            }
            case NN_OP_LAYERNORM:
                x[0] = leaf(leaves, &rng, -2, 2, 0, variant == 1 ? 3 : 2, variant == 1 ? s234 : s34);
                x[1] = leaf(leaves, &rng, 0.5, 1.5, 0, 1, s4);
                x[2] = leaf(leaves, &rng, -1, 1, 0, 1, s4);
                c.nin = variant == 2 ? 1 : 3; /* variant 2: no affine */
                break;
            case NN_OP_RELU: case NN_OP_LEAKY_RELU: case NN_OP_ELU: case NN_OP_L1_PENALTY:
                x[0] = leaf(leaves, &rng, -2, 2, 0.05, variant == 2 ? 1 : 2, variant == 2 ? s6 : s34);
                c.nin = 1;
                break;
            case NN_OP_CONV2D: /* more cases, under both kernel sets, in test_conv2d_cases */
                conv_setup(&c, leaves, &rng, &conv_cases[variant], NN_KERNELS_BLAS);
                break;
            case NN_OP_MAXPOOL2D: case NN_OP_AVGPOOL2D: {
                /* 2x2 stride 2 on (2,2,4,4); 3x3 stride 1 on (1,2,5,5); 3x3 stride 2 on
                 * (2,1,5,6) (overlapping windows; the last column is never read) */
                static const int shapes[3][4] = {{2, 2, 4, 4}, {1, 2, 5, 5}, {2, 1, 5, 6}};
                static const int pool[3] = {2, 3, 3}, stride[3] = {0, 1, 2};
                x[0] = op == NN_OP_MAXPOOL2D ? distinct_leaf(leaves, &rng, 4, shapes[variant])
                                             : leaf(leaves, &rng, -2, 2, 0, 4, shapes[variant]);
                c.pool = pool[variant];
                c.stride = stride[variant];
                c.nin = 1;
                break;
            }
            case NN_OP_EMBEDDING: /* a (4,5) table, 6 ids with repeats (more in grad_rnn.c) */
                x[0] = leaf(leaves, &rng, -1, 1, 0, 2, s45);
                for (int i = 0; i < 6; i++) c.labels[i] = (i * (variant + 1)) % 4;
                c.nin = 1;
                break;
            case NN_OP_SLICE: /* [1,2) along axis `variant` of (2,3,4) */
                x[0] = leaf(leaves, &rng, -2, 2, 0, 3, s234);
                c.nin = 1;
                break;
            case NN_OP_VAE_SAMPLE: case NN_OP_VAE_KL: /* mu, logvar (and eps) on (3,4) */
                x[0] = leaf(leaves, &rng, -2, 2, 0, 2, s34);
                x[1] = leaf(leaves, &rng, -3, 2, 0, 2, s34);
                x[2] = leaf(leaves, &rng, -2, 2, 0, 2, s34);
                c.nin = op == NN_OP_VAE_SAMPLE ? 3 : 2;
                break;
            case NN_OP_ATTENTION: /* q, k, v of (2,3,4); more cases in grad_attention.c */
                for (int i = 0; i < 3; i++) x[i] = leaf(leaves, &rng, -1, 1, 0, 3, s234);
                c.nin = 3;
                break;
            default: /* unary ops on (3,4), a 3-D tensor, and a vector */
                x[0] = leaf(leaves, &rng, -3, 3, 0, variant == 0 ? 2 : variant == 1 ? 3 : 1,
                            variant == 0 ? s34 : variant == 1 ? s234 : s6);
                c.nin = 1;
                break;
            }
            char what[96];
            snprintf(what, sizeof what, "%s (variant %d)", nn_op_name(op), variant);
            check(&c, what);
            covered[op] = 1;
        }
    }
    for (nn_op op = NN_OP_NONE + 1; op < NN_OP_COUNT; op++)
        if (!covered[op]) fail_msg("op %s has no gradient check", nn_op_name(op));
    nn_graph_free(leaves);
}

/* conv2d: every case, with the naive loops and with im2col + GEMM (col2im in backward) */
static void test_conv2d_cases(void **state)
{
    (void)state;
    nn_graph *leaves = nn_graph_new();
    nn_rng rng;
    nn_rng_seed(&rng, 17);
    for (int k = 0; k < CONV_CASES; k++)
        for (int ks = NN_KERNELS_NAIVE; ks <= NN_KERNELS_BLAS; ks++) {
            gcase c = {0};
            conv_setup(&c, leaves, &rng, &conv_cases[k], (nn_kernels)ks);
            char what[96];
            snprintf(what, sizeof what, "conv2d case %d (%s)", k, nn_kernels_name((nn_kernels)ks));
            check(&c, what);
        }
    nn_graph_free(leaves);
}

/* A small CNN through the layer API: conv (pad 1) -> relu -> max pool -> conv (stride 2) ->
 * avg pool -> flatten -> linear -> cross-entropy; every parameter and the input checked. */
typedef struct {
    nn_conv2d_layer c1, c2;
    nn_linear_layer fc;
    nn_tensor *x;
    int labels[2];
} cnn_case;

static nn_tensor *cnn_loss(nn_graph *g, void *ctx)
{
    cnn_case *m = ctx;
    nn_tensor *h = nn_maxpool2d(g, nn_tanh(g, nn_conv2d(g, &m->c1, m->x)), 2, 0); /* (2,3,4,4) */
    h = nn_avgpool2d(g, nn_conv2d(g, &m->c2, h), 2, 1);                            /* (2,4,1,1) */
    return nn_softmax_cross_entropy(g, nn_linear(g, &m->fc, nn_flatten(g, h)), m->labels);
}

static void test_cnn_layers_in_a_network(void **state)
{
    (void)state;
    for (int ks = NN_KERNELS_NAIVE; ks <= NN_KERNELS_BLAS; ks++) {
        nn_set_kernels((nn_kernels)ks);
        nn_params ps;
        nn_params_init(&ps);
        nn_rng rng;
        nn_rng_seed(&rng, 23);
        cnn_case m = {.labels = {1, 2}};
        nn_conv2d_init(&m.c1, &ps, "conv1", 2, 3, 3, 1, 1, &rng);
        nn_conv2d_init(&m.c2, &ps, "conv2", 3, 4, 3, 2, 1, &rng);
        nn_linear_init(&m.fc, &ps, "fc", 4, 3, 1, &rng);
        nn_graph *leaves = nn_graph_new();
        m.x = leaf(leaves, &rng, -1, 1, 0, 4, (const int[]){2, 2, 8, 8});
        nn_tensor *inputs[] = {m.c1.weight, m.c1.bias, m.c2.weight, m.c2.bias,
                               m.fc.weight, m.fc.bias};
        nn_gradcheck_result r = nn_gradcheck(cnn_loss, &m, inputs, 6, 1e-5); /* see conv_setup */
        if (r.max_rel_error >= 1e-6)
            fail_msg("cnn (%s): relative error %.3g at parameter %d element %zu (analytic %.10g, "
                     "numeric %.10g)", nn_kernels_name((nn_kernels)ks), r.max_rel_error,
                     r.worst_tensor, r.worst_index, r.worst_analytic, r.worst_numeric);
        /* The input's gradient, through two convolutions and two poolings: some pixels reach
         * the loss through one or two small paths (max pool drops 3 of 4), so their gradient
         * is ~1e-6 and central differences cannot resolve it to 1e-6 of itself. They are
         * checked relative to the largest input gradient instead; every op's input gradient
         * is checked element by element in the cases above. */
        nn_gradcheck_result rx = nn_gradcheck(cnn_loss, &m, &m.x, 1, 1e-5);
        double largest = 0;
        for (size_t i = 0; i < m.x->numel; i++) largest = fmax(largest, fabs(m.x->grad[i]));
        if (!(largest > 0) || rx.max_abs_error >= 1e-6 * largest)
            fail_msg("cnn (%s): input gradient error %.3g, more than 1e-6 of the largest (%.3g)",
                     nn_kernels_name((nn_kernels)ks), rx.max_abs_error, largest);
        nn_graph_free(leaves);
        nn_params_free(&ps);
    }
    nn_set_kernels(NN_KERNELS_BLAS);
}

/* Linear layer through the parameter store, input gradient included, on a 2-layer net */
typedef struct {
    nn_linear_layer fc1, fc2;
    nn_tensor *x;
    int labels[5];
} mlp_case;

static nn_tensor *mlp_loss(nn_graph *g, void *ctx)
{
    mlp_case *m = ctx;
    nn_tensor *h = nn_tanh(g, nn_linear(g, &m->fc1, m->x));
    return nn_softmax_cross_entropy(g, nn_linear(g, &m->fc2, h), m->labels);
}

static void test_linear_layer_in_a_network(void **state)
{
    (void)state;
    nn_params ps;
    nn_params_init(&ps);
    nn_rng rng;
    nn_rng_seed(&rng, 3);
    mlp_case m = {.labels = {0, 2, 1, 2, 0}};
    nn_linear_init(&m.fc1, &ps, "fc1", 4, 6, 1, &rng);
    nn_linear_init(&m.fc2, &ps, "fc2", 6, 3, 1, &rng);
    nn_graph *leaves = nn_graph_new();
    m.x = leaf(leaves, &rng, -1, 1, 0, 2, (const int[]){5, 4});
    nn_tensor *inputs[] = {m.fc1.weight, m.fc1.bias, m.fc2.weight, m.fc2.bias, m.x};
    nn_gradcheck_result r = nn_gradcheck(mlp_loss, &m, inputs, 5, 1e-6);
    if (r.max_rel_error >= 1e-6)
        fail_msg("linear mlp: relative error %.3g at input %d element %zu", r.max_rel_error,
                 r.worst_tensor, r.worst_index);
    /* the store's gradient block is where the layer's gradients landed */
    assert_ptr_equal(m.fc1.weight->grad, ps.grads);
    nn_graph_free(leaves);
    nn_params_free(&ps);
}

/* BatchNorm and LayerNorm layers in a network with GELU, ELU, dropout and both penalties:
 * x (6,4) -> fc1 -> batchnorm -> gelu -> dropout -> layernorm -> elu -> fc2 -> cross-entropy
 * + 0.01 L2(fc1.W) + 0.01 L1(fc2.W) */
typedef struct {
    nn_linear_layer fc1, fc2;
    nn_batchnorm_layer bn;
    nn_layernorm_layer ln;
    nn_tensor *x;
    int labels[6];
} norm_net;

static nn_tensor *norm_net_loss(nn_graph *g, void *ctx)
{
    norm_net *m = ctx;
    nn_rng mask_rng;
    nn_rng_seed(&mask_rng, 5); /* the same dropout mask every forward */
    nn_tensor *h = nn_gelu(g, nn_batchnorm_forward(g, &m->bn, nn_linear(g, &m->fc1, m->x)));
    h = nn_elu(g, nn_layernorm_forward(g, &m->ln, nn_dropout(g, h, 0.25, &mask_rng)), 1.0);
    nn_tensor *loss = nn_softmax_cross_entropy(g, nn_linear(g, &m->fc2, h), m->labels);
    loss = nn_add(g, loss, nn_scale(g, nn_l2_penalty(g, m->fc1.weight), 0.01));
    return nn_add(g, loss, nn_scale(g, nn_l1_penalty(g, m->fc2.weight), 0.01));
}

static void test_norm_layers_in_a_network(void **state)
{
    (void)state;
    nn_params ps;
    nn_params_init(&ps);
    nn_rng rng;
    nn_rng_seed(&rng, 21);
    norm_net m = {.labels = {0, 2, 1, 2, 0, 1}};
    nn_linear_init(&m.fc1, &ps, "fc1", 4, 5, 1, &rng);
    nn_batchnorm_init(&m.bn, &ps, "bn", 5);
    nn_layernorm_init(&m.ln, &ps, "ln", 5);
    nn_linear_init(&m.fc2, &ps, "fc2", 5, 3, 1, &rng);
    /* non-trivial affine parameters */
    nn_rng_fill_uniform(&rng, m.bn.gamma->data, 5, 0.5, 1.5);
    nn_rng_fill_uniform(&rng, m.bn.beta->data, 5, -0.5, 0.5);
    nn_rng_fill_uniform(&rng, m.ln.gamma->data, 5, 0.5, 1.5);
    nn_rng_fill_uniform(&rng, m.ln.beta->data, 5, -0.5, 0.5);
    nn_graph *leaves = nn_graph_new();
    m.x = leaf(leaves, &rng, -1, 1, 0, 2, (const int[]){6, 4});
    nn_tensor *inputs[] = {m.fc1.weight, m.fc1.bias, m.bn.gamma, m.bn.beta,
                           m.ln.gamma,   m.ln.beta,  m.fc2.weight, m.fc2.bias, m.x};
    nn_gradcheck_result r = nn_gradcheck(norm_net_loss, &m, inputs, 9, 1e-6);
    if (r.max_rel_error >= 1e-6)
        fail_msg("norm net: relative error %.3g at input %d element %zu (analytic %.10g, "
                 "numeric %.10g)", r.max_rel_error, r.worst_tensor, r.worst_index,
                 r.worst_analytic, r.worst_numeric);
    nn_batchnorm_free(&m.bn);
    nn_graph_free(leaves);
    nn_params_free(&ps);
}

/* The checker itself must catch a wrong gradient. This loss computes sum(x * c) where c is a
 * copy of x made outside the tape: the numbers are x^2, so the true gradient is 2x, but autograd
 * only sees c as a constant and reports x. The check must report a relative error of 1/2. */
static nn_tensor *hidden_square(nn_graph *g, void *ctx)
{
    nn_tensor *x = ctx;
    nn_tensor *c = nn_graph_input(g, x->data, 1, (int)x->numel);
    return nn_sum(g, nn_mul(g, x, c));
}
static nn_tensor *square(nn_graph *g, void *ctx)
{
    nn_tensor *x = ctx;
    return nn_sum(g, nn_mul(g, x, x)); /* x used twice: both paths accumulate into dL/dx = 2x */
}

static void test_gradcheck_catches_errors(void **state)
{
    (void)state;
    nn_graph *leaves = nn_graph_new();
    nn_rng rng;
    nn_rng_seed(&rng, 11);
    nn_tensor *x = leaf(leaves, &rng, -1, 1, 0.1, 1, (const int[]){4});
    nn_tensor *in[] = {x};
    nn_gradcheck_result good = nn_gradcheck(square, x, in, 1, 1e-6);
    assert_true(good.max_rel_error < 1e-8);
    for (int i = 0; i < 4; i++) assert_true(fabs(x->grad[i] - 2 * x->data[i]) < 1e-12);
    nn_gradcheck_result bad = nn_gradcheck(hidden_square, x, in, 1, 1e-6);
    assert_true(fabs(bad.max_rel_error - 0.5) < 1e-6);
    assert_true(fabs(bad.worst_numeric - 2 * bad.worst_analytic) < 1e-6);
    nn_graph_free(leaves);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_op),
        cmocka_unit_test(test_linear_layer_in_a_network),
        cmocka_unit_test(test_norm_layers_in_a_network),
        cmocka_unit_test(test_gradcheck_catches_errors),
        cmocka_unit_test(test_conv2d_cases),
        cmocka_unit_test(test_cnn_layers_in_a_network),
    };
    return cmocka_run_group_tests_name("gradient checks (double)", tests, NULL, NULL);
}
