/* test_ops.c -- forward values worked out by hand, shape errors named, the tape's rules
 * (accumulation, reset), the parameter store and an SGD step with known numbers. */
#include "nn_test.h"

NN_TEST_DEFINE_FAIL_HANDLER

NN_TEST_GRAPH_FIXTURE


static void test_golden_forward(void **state)
{
    (void)state;
    nn_tensor *a = nn_graph_input(g, (nn_real[]){1, -2, 3, -4, 5, -6}, 2, 2, 3);
    nn_tensor *row = nn_graph_input(g, (nn_real[]){10, 20, 30}, 1, 3);
    CLOSE(nn_add(g, a, row), 11, 18, 33, 6, 25, 24);
    CLOSE(nn_sub(g, a, row), -9, -22, -27, -14, -15, -36);
    CLOSE(nn_mul(g, a, a), 1, 4, 9, 16, 25, 36);
    CLOSE(nn_scale(g, a, 0.5f), 0.5f, -1, 1.5f, -2, 2.5f, -3);
    CLOSE(nn_relu(g, a), 1, 0, 3, 0, 5, 0);
    CLOSE(nn_leaky_relu(g, a, 0.1f), 1, -0.2f, 3, -0.4f, 5, -0.6f);
    CLOSE(nn_sum(g, a), -3);
    CLOSE(nn_mean(g, a), -0.5f);
    /* sigmoid(0) = 1/2, sigmoid(ln 3) = 3/4, sigmoid(ln 2) = 2/3; tanh(ln 2) = (2 - 1/2) / (2 + 1/2) = 3/5 */
    nn_tensor *s = nn_graph_input(g, (nn_real[]){0, (nn_real)log(3.0), (nn_real)log(2.0)}, 1, 3);
    CLOSE(nn_sigmoid(g, s), 0.5f, 0.75f, 2.0f / 3);
    CLOSE(nn_tanh(g, s), 0, 0.8f, 0.6f);
    /* softmax(0, ln 3) = (1/4, 3/4) */
    nn_tensor *z = nn_graph_input(g, (nn_real[]){0, (nn_real)log(3.0)}, 2, 1, 2);
    CLOSE(nn_softmax(g, z), 0.25f, 0.75f);
    CLOSE(nn_log_softmax(g, z), (nn_real)log(0.25), (nn_real)log(0.75));
    /* cross-entropy of label 1 is -log 3/4, of label 0 is -log 1/4 */
    CLOSE(nn_softmax_cross_entropy(g, z, (int[]){1}), (nn_real)-log(0.75));
    CLOSE(nn_softmax_cross_entropy(g, z, (int[]){0}), (nn_real)-log(0.25));
    /* matmul: [1 -2 3; -4 5 -6] [1; 1; 1] = [2; -5] */
    CLOSE(nn_matmul(g, a, nn_graph_input(g, (nn_real[]){1, 1, 1}, 2, 3, 1)), 2, -5);
    /* linear: x (1,3) W (2,3) b (2): [1 2 3] . [1 0 -1] + 1 = -1, [1 2 3] . [2 2 2] - 1 = 11 */
    nn_tensor *x = nn_graph_input(g, (nn_real[]){1, 2, 3}, 2, 1, 3);
    nn_tensor *W = nn_graph_input(g, (nn_real[]){1, 0, -1, 2, 2, 2}, 2, 2, 3);
    nn_tensor *b = nn_graph_input(g, (nn_real[]){1, -1}, 1, 2);
    CLOSE(nn_linear_op(g, x, W, b), -1, 11);
    /* mse((1,2),(3,5)) = (4 + 9) / 2 */
    nn_tensor *p = nn_graph_input(g, (nn_real[]){1, 2}, 1, 2), *t = nn_graph_input(g, (nn_real[]){3, 5}, 1, 2);
    CLOSE(nn_mse(g, p, t), 6.5f);
    /* bce with logit 0 is log 2 whatever the target; logit ln 3 (p = 3/4) target 1: -log 3/4 */
    nn_tensor *l = nn_graph_input(g, (nn_real[]){0, (nn_real)log(3.0)}, 1, 2);
    nn_tensor *y = nn_graph_input(g, (nn_real[]){0.3f, 1}, 1, 2);
    CLOSE(nn_bce_with_logits(g, l, y), (nn_real)((log(2.0) - log(0.75)) / 2));
    /* transpose (2,3) -> (3,2); reshape keeps order */
    CLOSE(nn_transpose(g, a, 0, 1), 1, -4, -2, 5, 3, -6);
    nn_tensor *r = nn_reshape(g, a, 3, 3, -1, 1);
    assert_int_equal(r->shape[1], 2);
    CLOSE(r, 1, -2, 3, -4, 5, -6);
}

/* bce stays finite for huge logits (the log-sum-exp form) */
static void test_losses_are_stable(void **state)
{
    (void)state;
    nn_tensor *l = nn_graph_input(g, (nn_real[]){1000, -1000}, 1, 2);
    nn_tensor *y = nn_graph_input(g, (nn_real[]){1, 0}, 1, 2);
    nn_tensor *loss = nn_bce_with_logits(g, l, y);
    assert_true(isfinite(loss->data[0]) && loss->data[0] < 1e-6);
    nn_tensor *z = nn_graph_input(g, (nn_real[]){1000, 0, -1000}, 2, 1, 3);
    nn_tensor *ce = nn_softmax_cross_entropy(g, z, (int[]){2});
    assert_true(isfinite(ce->data[0]) && fabs(ce->data[0] - 2000) < 1e-2);
}

static void test_shape_errors_are_named(void **state)
{
    (void)state;
    nn_tensor *a = nn_graph_tensor(g, 2, 64, 3), *b = nn_graph_tensor(g, 2, 4, 5);
    EXPECT_FAIL(nn_matmul(g, a, b), "nn_matmul: shapes (64,3) and (4,5) cannot be multiplied");
    EXPECT_FAIL(nn_add(g, a, b), "nn_add: shapes (64,3) and (4,5) do not match");
    EXPECT_FAIL(nn_linear_op(g, a, b, NULL), "nn_linear: input (64,3) does not fit weight (4,5)");
    EXPECT_FAIL(nn_reshape(g, a, 2, 5, -1), "cannot infer");
    EXPECT_FAIL(nn_reshape(g, a, 2, 5, 5), "has 192 values");
    EXPECT_FAIL(nn_transpose(g, a, 0, 2), "out of range");
    EXPECT_FAIL(nn_softmax_cross_entropy(g, b, (int[]){0, 1, 5, 0}), "label 5 of example 2");
    EXPECT_FAIL(nn_mse(g, a, b), "same (non-empty) shape");
    EXPECT_FAIL(nn_graph_tensor(g, 9, 1, 1, 1, 1, 1, 1, 1, 1, 1), "at most 6");
}

static void test_backward_rules(void **state)
{
    (void)state;
    nn_params ps;
    nn_params_init(&ps);
    nn_tensor *w = nn_params_add(&ps, "w", 1, (int[]){2});
    w->data[0] = 3;
    w->data[1] = -1;
    /* L = sum(w * w) + sum(w): dL/dw = 2w + 1, from two paths through the tape */
    nn_tensor *loss = nn_add(g, nn_sum(g, nn_mul(g, w, w)), nn_sum(g, w));
    nn_backward(g, loss);
    assert_true(w->grad[0] == 7 && w->grad[1] == -1);
    /* backward accumulates: a second pass adds the same again; zeroing is explicit */
    nn_graph_reset(g);
    nn_backward(g, nn_sum(g, w));
    assert_true(w->grad[0] == 8 && w->grad[1] == 0);
    nn_params_zero_grad(&ps);
    assert_true(w->grad[0] == 0 && w->grad[1] == 0);
    /* a loss must be a scalar and must depend on something that needs a gradient */
    nn_graph_reset(g);
    EXPECT_FAIL(nn_backward(g, nn_mul(g, w, w)), "must be a scalar, got shape (2)");
    nn_tensor *c = nn_graph_input(g, (nn_real[]){1}, 1, 1);
    EXPECT_FAIL(nn_backward(g, nn_sum(g, c)), "does not depend on");
    /* forward-only graphs record nothing */
    nn_graph_reset(g);
    g->grad = 0;
    nn_tensor *y = nn_mul(g, w, w);
    assert_null(y->grad);
    assert_int_equal(g->ntape, 0);
    g->grad = 1;
    nn_graph_reset(g);
    nn_params_free(&ps);
}

/* reset is O(1) and the arena is reused: many steps allocate no new blocks */
static void test_reset_reuses_memory(void **state)
{
    (void)state;
    nn_graph_reset(g);
    nn_tensor *first = nn_graph_tensor(g, 2, 100, 100);
    for (int step = 0; step < 50; step++) {
        nn_graph_reset(g);
        nn_tensor *t = nn_graph_tensor(g, 2, 100, 100);
        assert_ptr_equal(t, first);
        for (int i = 0; i < 10; i++) nn_relu(g, t);
    }
    /* a tensor bigger than the first block still works */
    nn_tensor *big = nn_graph_tensor(g, 2, 2000, 1000);
    big->data[big->numel - 1] = 1;
    nn_graph_reset(g);
}

/* parameters keep their tensors valid while the store grows and moves */
static void test_params_store(void **state)
{
    (void)state;
    nn_params ps;
    nn_params_init(&ps);
    nn_tensor *first = nn_params_add(&ps, "first", 2, (int[]){3, 4});
    first->data[11] = 42;
    for (int i = 0; i < 20; i++) nn_params_add(&ps, "more", 2, (int[]){30, 40});
    assert_true(first->data == ps.values && first->data[11] == 42);
    assert_int_equal(ps.count, 12 + 20 * 1200);
    nn_tensor *last = ps.tensors[ps.ntensors - 1];
    assert_ptr_equal(last->data, ps.values + ps.count - 1200);
    assert_ptr_equal(last->grad, ps.grads + ps.count - 1200);
    ps.grads[0] = 3;
    ps.grads[ps.count - 1] = 4;
    assert_true(fabs(nn_params_grad_norm(&ps) - 5) < 1e-9);
    nn_params_free(&ps);
}

/* every parameter is named "layer.part", nested layers by their path; names are copies */
static void test_params_names(void **state)
{
    (void)state;
    nn_params ps;
    nn_params_init(&ps);
    nn_rng rng;
    nn_rng_seed(&rng, 1);
    char name[NN_NAME_MAX] = "fc1";
    nn_linear_layer fc;
    nn_linear_init(&fc, &ps, name, 3, 2, 1, &rng);
    strcpy(name, "overwritten");
    nn_transformer_block block;
    nn_transformer_block_init(&block, &ps, "block", 4, 2, 8, &rng);
    nn_rnn_cell cell;
    nn_rnn_cell_init(&cell, &ps, "lstm", NN_RNN_LSTM, 2, 3, &rng);
    const char *want[] = {"fc1.weight", "fc1.bias", "block.ln1.gamma", "block.ln1.beta",
                          "block.attn.qkv.weight", "block.attn.qkv.bias",
                          "block.attn.proj.weight", "block.attn.proj.bias", "block.ln2.gamma",
                          "block.ln2.beta", "block.fc.weight", "block.fc.bias",
                          "block.proj.weight", "block.proj.bias", "lstm.w_ih", "lstm.w_hh",
                          "lstm.b_ih", "lstm.b_hh"};
    const int n = (int)(sizeof want / sizeof *want);
    assert_int_equal(ps.ntensors, n);
    for (int i = 0; i < n; i++) assert_string_equal(ps.tensors[i]->name, want[i]);
    nn_params_free(&ps);
}

/* SGD by hand: lr 0.1, momentum 0.9, constant gradient 1 on w = 1:
 *   v1 = 1,    w1 = 1 - 0.1         = 0.9
 *   v2 = 1.9,  w2 = 0.9 - 0.19      = 0.71
 *   v3 = 2.71, w3 = 0.71 - 0.271    = 0.439
 * and plain SGD (no momentum) with weight decay 0.5: w <- w - 0.1 (1 + 0.5 w) from 1: 0.85 */
static void test_sgd_golden_steps(void **state)
{
    (void)state;
    nn_params ps;
    nn_params_init(&ps);
    nn_tensor *w = nn_params_add(&ps, "w", 1, (int[]){1});
    w->data[0] = 1;
    nn_optim opt;
    nn_optim_init(&opt, NN_OPTIM_MOMENTUM, &ps, 0.1f);
    opt.momentum = 0.9f;
    const double expect[] = {0.9, 0.71, 0.439};
    for (int k = 0; k < 3; k++) {
        w->grad[0] = 1;
        nn_optim_step(&opt);
        assert_true(fabs(w->data[0] - expect[k]) < 1e-6);
    }
    nn_optim_free(&opt);
    w->data[0] = 1;
    w->grad[0] = 1;
    nn_optim_init(&opt, NN_OPTIM_SGD, &ps, 0.1f);
    opt.weight_decay = 0.5f;
    nn_optim_step(&opt);
    assert_true(fabs(w->data[0] - 0.85) < 1e-6);
    nn_optim_free(&opt);
    nn_params_free(&ps);
}

static void test_rng_is_deterministic(void **state)
{
    (void)state;
    nn_rng a, b;
    nn_rng_seed(&a, 5);
    nn_rng_seed(&b, 5);
    for (int i = 0; i < 100; i++) assert_true(nn_rng_u64(&a) == nn_rng_u64(&b));
    /* moments of 100k normals and uniforms */
    double s = 0, s2 = 0, u = 0;
    for (int i = 0; i < 100000; i++) {
        double x = nn_rng_normal(&a);
        s += x;
        s2 += x * x;
        u += nn_rng_uniform(&a);
    }
    assert_true(fabs(s / 1e5) < 0.02 && fabs(s2 / 1e5 - 1) < 0.02 && fabs(u / 1e5 - 0.5) < 0.01);
    int perm[50], seen[50] = {0};
    nn_rng_permutation(&a, perm, 50);
    for (int i = 0; i < 50; i++) seen[perm[i]]++;
    for (int i = 0; i < 50; i++) assert_int_equal(seen[i], 1);
    for (int i = 0; i < 1000; i++) {
        int k = nn_rng_int(&a, 7);
        assert_true(k >= 0 && k < 7);
    }
}

/* a diverging step is stopped with the step and the first bad tensor named */
static void test_non_finite_guard(void **state)
{
    (void)state;
    nn_params ps;
    nn_params_init(&ps);
    nn_tensor *w = nn_params_add(&ps, "w", 1, (int[]){3});
    nn_graph_reset(g);
    nn_tensor *x = nn_graph_input(g, (nn_real[]){1, 2, 3}, 1, 3);
    nn_tensor *loss = nn_sum(g, nn_mul(g, w, x));
    nn_graph_check_finite(g, loss, 1); /* finite: nothing happens */
    w->data[1] = INFINITY;
    nn_graph_reset(g);
    loss = nn_sum(g, nn_mul(g, w, x));
    EXPECT_FAIL(nn_graph_check_finite(g, loss, 17), "step 17: the loss is inf; input w (3) of op mul");
    w->data[1] = 1e30f;
    nn_graph_reset(g);
    nn_tensor *big = nn_mul(g, nn_mul(g, w, w), x);
    loss = nn_sum(g, big);
    EXPECT_FAIL(nn_graph_check_finite(g, loss, 5), "the first non-finite tensor is the output (3) of op mul (tape entry 0)");
    nn_graph_reset(g);
    nn_params_free(&ps);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_forward),       cmocka_unit_test(test_losses_are_stable),
        cmocka_unit_test(test_shape_errors_are_named), cmocka_unit_test(test_backward_rules),
        cmocka_unit_test(test_reset_reuses_memory),  cmocka_unit_test(test_params_store),
        cmocka_unit_test(test_params_names),
        cmocka_unit_test(test_sgd_golden_steps),     cmocka_unit_test(test_rng_is_deterministic), cmocka_unit_test(test_non_finite_guard),
    };
    return cmocka_run_group_tests_name("ops, tape and parameters", tests, setup, teardown);
}
