/* test_evaluate.c -- nn_evaluate: a classifier's loss and accuracy on a whole dataset, checked
 * on a model whose logits are worked out by hand, for every batch size. */
#include "nn_test.h"

#include <math.h>
#include <stdlib.h>

NN_TEST_DEFINE_FAIL_HANDLER

/* logits = x W^T with W = [[1,0],[0,1],[1,1]]: for x = (a,b) the logits are (a, b, a+b) */
typedef struct fixed_model {
    nn_real w[6];
    int calls, saw_training, saw_grad;
} fixed_model;

static nn_tensor *fixed_forward(nn_graph *g, nn_tensor *x, void *ctx)
{
    fixed_model *m = ctx;
    m->calls++;
    m->saw_training |= g->training;
    m->saw_grad |= g->grad;
    return nn_linear_op(g, x, nn_graph_input(g, m->w, 2, 3, 2), NULL);
}

static nn_tensor *wrong_shape_forward(nn_graph *g, nn_tensor *x, void *ctx)
{
    (void)ctx;
    return x; /* (n, 2) where (n, 3) logits are expected */
}

/* five points: logits (a, b, a+b) */
static const nn_real points[10] = {2, 0, 0, 2, -1, -1, 1, 1, 3, -4};
static const int labels[5] = {0, 1, 2, 2, 1};
/* predicted: (2,0,2) -> 0 (first of the tie 2,2); (0,2,2) -> 1; (-1,-1,-2) -> 0;
 * (1,1,2) -> 2; (3,-4,-1) -> 0.  Right: examples 0, 1, 3 -> accuracy 3/5. */
static const int expected_pred[5] = {0, 1, 0, 2, 0};

static double expected_loss(void)
{
    double total = 0;
    for (int i = 0; i < 5; i++) {
        double a = points[2 * i], b = points[2 * i + 1], z[3] = {a, b, a + b};
        double lse = log(exp(z[0]) + exp(z[1]) + exp(z[2]));
        total += lse - z[labels[i]]; /* -log softmax(z)[label] */
    }
    return total / 5;
}

static void test_every_batch_size_agrees(void **state)
{
    (void)state;
    nn_data d = {.n = 5, .dim = 2, .classes = 3, .x = (nn_real *)points, .y = (int *)labels};
    nn_graph *g = nn_graph_new();
    for (int batch = 1; batch <= 7; batch++) {
        fixed_model m = {.w = {1, 0, 0, 1, 1, 1}};
        int pred[5] = {-1, -1, -1, -1, -1};
        g->training = 1, g->grad = 1;
        nn_evaluation e = nn_evaluate(g, fixed_forward, &m, &d, batch, pred);
        assert_true(fabs(e.accuracy - 0.6) < 1e-12);
        assert_true(fabs(e.loss - expected_loss()) < 1e-5);
        assert_memory_equal(pred, expected_pred, sizeof pred);
        assert_int_equal(m.calls, (5 + batch - 1) / batch);
        assert_int_equal(m.saw_training, 0); /* evaluation mode inside */
        assert_int_equal(m.saw_grad, 0);
        assert_int_equal(g->training, 1); /* and the modes restored afterwards */
        assert_int_equal(g->grad, 1);
        assert_int_equal(g->ntape, 0); /* the graph is reset */
    }
    nn_graph_free(g);
}

static void test_bad_input_is_refused(void **state)
{
    (void)state;
    nn_data d = {.n = 5, .dim = 2, .classes = 3, .x = (nn_real *)points, .y = (int *)labels};
    nn_graph *g = nn_graph_new();
    fixed_model m = {.w = {1, 0, 0, 1, 1, 1}};
    EXPECT_FAIL(nn_evaluate(g, fixed_forward, &m, &d, 0, NULL), "batch must be at least 1");
    EXPECT_FAIL(nn_evaluate(g, wrong_shape_forward, NULL, &d, 2, NULL),
                "returned (2,2), expected (2,3) logits");
    nn_data empty = {.n = 0, .dim = 2, .classes = 3};
    EXPECT_FAIL(nn_evaluate(g, fixed_forward, &m, &empty, 2, NULL), "the dataset is empty");
    nn_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_batch_size_agrees),
        cmocka_unit_test(test_bad_input_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
