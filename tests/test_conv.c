/* test_conv.c -- convolution and pooling in the float build: the im2col + GEMM path must
 * agree with the direct loops on odd shapes, hand-worked golden values, gradient routing of
 * the pools, clear refusals of bad shapes, and the same bits for any thread count. */
#include "nn_test.h"

#include <stdlib.h>

NN_TEST_DEFINE_FAIL_HANDLER

typedef struct {
    int N, C, H, W, OC, KH, KW, stride, pad;
} shape;

static int osz(int in, int k, int s, int p) { return (in + 2 * p - k) / s + 1; }

static nn_real *random_array(nn_rng *rng, size_t n)
{
    nn_real *a = malloc((n ? n : 1) * sizeof *a);
    nn_rng_fill_uniform(rng, a, n, -1, 1);
    return a;
}

/* naive vs im2col, forward and backward (all three gradients, accumulated onto the same
 * non-zero starting values), with the kernel set both ways for the GEMM inside im2col */
static void compare(shape s, int gemm_kernels)
{
    nn_set_kernels((nn_kernels)gemm_kernels);
    nn_rng rng;
    nn_rng_seed(&rng, (uint64_t)(s.N * 131 + s.C * 17 + s.H * 7 + s.KH));
    const int OH = osz(s.H, s.KH, s.stride, s.pad), OW = osz(s.W, s.KW, s.stride, s.pad);
    const size_t nin = (size_t)s.N * s.C * s.H * s.W, nw = (size_t)s.OC * s.C * s.KH * s.KW,
                 nout = (size_t)s.N * s.OC * OH * OW;
    nn_real *in = random_array(&rng, nin), *w = random_array(&rng, nw),
            *b = random_array(&rng, s.OC), *dout = random_array(&rng, nout);
    nn_real *out1 = random_array(&rng, nout), *out2 = random_array(&rng, nout);
    nn_real *din1 = random_array(&rng, nin), *dw1 = random_array(&rng, nw),
            *db1 = random_array(&rng, s.OC);
    nn_real *din2 = malloc(nin * sizeof *din2), *dw2 = malloc(nw * sizeof *dw2),
            *db2 = malloc(s.OC * sizeof *db2);
    memcpy(din2, din1, nin * sizeof *din1);
    memcpy(dw2, dw1, nw * sizeof *dw1);
    memcpy(db2, db1, s.OC * sizeof *db1);
    size_t ws = nn_conv2d_workspace_size(s.N, s.C, s.H, s.W, s.OC, s.KH, s.KW, s.stride, s.pad);
    nn_real *work = malloc(ws * sizeof *work);

    nn_conv2d_forward_naive(out1, in, w, b, s.N, s.C, s.H, s.W, s.OC, s.KH, s.KW, s.stride, s.pad);
    nn_conv2d_forward_im2col(out2, in, w, b, s.N, s.C, s.H, s.W, s.OC, s.KH, s.KW, s.stride,
                             s.pad, work);
    nn_conv2d_backward_naive(din1, dw1, db1, dout, in, w, s.N, s.C, s.H, s.W, s.OC, s.KH, s.KW,
                             s.stride, s.pad);
    nn_conv2d_backward_im2col(din2, dw2, db2, dout, in, w, s.N, s.C, s.H, s.W, s.OC, s.KH, s.KW,
                              s.stride, s.pad, work);

    /* float sums of T terms of size <= 1: rounding grows like T * 6e-8 at worst */
    char what[160];
    const int Tout = s.C * s.KH * s.KW, Tw = s.N * OH * OW, Tin = s.OC * s.KH * s.KW;
#define CHECK(got, ref, n, T, name)                                                             \
    snprintf(what, sizeof what, "%s (%d,%d,%d,%d)->%d k%dx%d s%d p%d gemm=%s", name, s.N, s.C,  \
             s.H, s.W, s.OC, s.KH, s.KW, s.stride, s.pad,                                       \
             nn_kernels_name((nn_kernels)gemm_kernels));                                        \
    nn_test_assert_close(got, ref, n, 1e-6 * (10 + (T)), 1e-5, what)
    CHECK(out2, out1, nout, Tout, "forward");
    CHECK(din2, din1, nin, Tin, "dinput");
    CHECK(dw2, dw1, nw, Tw, "dweight");
    CHECK(db2, db1, (size_t)s.OC, Tw, "dbias");
#undef CHECK
    /* the dispatcher: naive kernels -> the direct loops, blas -> im2col */
    nn_conv2d_forward(out2, in, w, b, s.N, s.C, s.H, s.W, s.OC, s.KH, s.KW, s.stride, s.pad, work);
    if (gemm_kernels == NN_KERNELS_NAIVE) assert_memory_equal(out2, out1, nout * sizeof *out1);
    free(in), free(w), free(b), free(dout), free(out1), free(out2), free(din1), free(dw1);
    free(db1), free(din2), free(dw2), free(db2), free(work);
    nn_set_kernels(NN_KERNELS_BLAS);
}

static void test_naive_vs_im2col(void **state)
{
    (void)state;
    static const shape shapes[] = {
        {3, 3, 7, 9, 5, 3, 3, 2, 1},     /* odd everything, stride 2, pad 1 */
        {2, 4, 5, 6, 3, 1, 1, 1, 0},     /* 1x1 kernel: a per-pixel linear layer */
        {2, 3, 5, 5, 2, 1, 1, 2, 1},     /* 1x1, stride 2, padding only adds zeros */
        {2, 2, 5, 7, 3, 5, 7, 1, 0},     /* kernel = input: one output per channel */
        {2, 2, 3, 3, 2, 5, 5, 1, 1},     /* kernel = padded input */
        {1, 2, 6, 5, 4, 2, 4, 3, 2},     /* KH != KW, stride 3, pad 2 */
        {64, 1, 28, 28, 32, 5, 5, 1, 2}, /* lesson 07, first layer */
        {16, 32, 14, 14, 64, 5, 5, 1, 2}, /* lesson 07, second layer (several image groups) */
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        compare(shapes[i], NN_KERNELS_BLAS);
        if (shapes[i].N * shapes[i].C * shapes[i].H < 2000) compare(shapes[i], NN_KERNELS_NAIVE);
    }
}

/* y = conv(x, w) + b through the op, then L = sum r y with r given: returns y; grads land in
 * the tensors' grad buffers */
typedef struct {
    nn_graph *g;
    nn_tensor *x, *w, *b, *y;
} conv_run;

static conv_run run_conv(const nn_real *x, int C, int H, int W, const nn_real *w, int OC, int KH,
                         int KW, const nn_real *b, int stride, int pad, const nn_real *r)
{
    conv_run c = {.g = nn_graph_new()};
    c.x = nn_graph_input(c.g, x, 4, 1, C, H, W);
    c.w = nn_graph_input(c.g, w, 4, OC, C, KH, KW);
    nn_graph_require_grad(c.g, c.x);
    nn_graph_require_grad(c.g, c.w);
    if (b) {
        c.b = nn_graph_input(c.g, b, 1, OC);
        nn_graph_require_grad(c.g, c.b);
    }
    c.y = nn_conv2d_op(c.g, c.x, c.w, c.b, stride, pad);
    nn_tensor *rt = nn_graph_input(c.g, r, 4, c.y->shape[0], c.y->shape[1], c.y->shape[2],
                                   c.y->shape[3]);
    nn_backward(c.g, nn_sum(c.g, nn_mul(c.g, c.y, rt)));
    return c;
}

/* A 3x3 image and a 2x2 kernel, by hand.
 *   x = [1 2 3; 4 5 6; 7 8 9], w = [1 2; 3 4], b = 0.5, stride 1, pad 0 -> 2x2:
 *   y00 = 1*1 + 2*2 + 4*3 + 5*4 = 37   (+0.5)     y01 = 2*1 + 3*2 + 5*3 + 6*4 = 47 (+0.5)
 *   y10 = 4*1 + 5*2 + 7*3 + 8*4 = 67   (+0.5)     y11 = 5*1 + 6*2 + 8*3 + 9*4 = 77 (+0.5)
 * Backward with dL/dy = 1 everywhere:
 *   db = 4 (four outputs)
 *   dw[u][v] = sum of the 2x2 block of x at (u,v): dw = [1+2+4+5  2+3+5+6; 4+5+7+8  5+6+8+9]
 *            = [12 16; 24 28]
 *   dx[y][x] = sum of the kernel entries that touched x[y][x]: corners touched once, edges
 *     twice, the centre by all four: dx = [1 1+2 2; 1+3 10 2+4; 3 3+4 4] = [1 3 2; 4 10 6; 3 7 4]
 * With pad 1 and stride 2 (output 2x2, windows start at rows/cols -1 and 1):
 *   y00 = x00*w11 = 4;  y01 = x01*w10 + x02*w11 = 6 + 12 = 18;
 *   y10 = x10*w01 + x20*w11 = 8 + 28 = 36;  y11 = 5*1 + 6*2 + 8*3 + 9*4 = 77 */
static void test_conv_golden_3x3(void **state)
{
    (void)state;
    const nn_real x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, w[4] = {1, 2, 3, 4}, b[1] = {0.5f},
                  ones[4] = {1, 1, 1, 1};
    const nn_real y[4] = {37.5f, 47.5f, 67.5f, 77.5f}, dw[4] = {12, 16, 24, 28}, db[1] = {4};
    const nn_real dx[9] = {1, 3, 2, 4, 10, 6, 3, 7, 4}, y_strided[4] = {4, 18, 36, 77};
    for (int k = NN_KERNELS_NAIVE; k <= NN_KERNELS_BLAS; k++) {
        nn_set_kernels((nn_kernels)k);
        conv_run c = run_conv(x, 1, 3, 3, w, 1, 2, 2, b, 1, 0, ones);
        assert_int_equal(c.y->shape[2], 2);
        assert_int_equal(c.y->shape[3], 2);
        nn_test_assert_close(c.y->data, y, 4, 0, 0, "golden forward");
        nn_test_assert_close(c.w->grad, dw, 4, 0, 0, "golden dweight");
        nn_test_assert_close(c.b->grad, db, 1, 0, 0, "golden dbias");
        nn_test_assert_close(c.x->grad, dx, 9, 0, 0, "golden dinput");
        nn_graph_free(c.g);
        c = run_conv(x, 1, 3, 3, w, 1, 2, 2, NULL, 2, 1, ones);
        nn_test_assert_close(c.y->data, y_strided, 4, 0, 0, "golden forward, pad 1 stride 2");
        nn_graph_free(c.g);
    }
    nn_set_kernels(NN_KERNELS_BLAS);
}

/* x (1,1,4,4), 2x2 windows, default stride 2:
 *   [1 5 | 2 0]     max: 5 (index 1), 8 (index 6)     avg: 13/4 = 3.25, 16/4 = 4
 *   [3 4 | 8 6]
 *   [7 2 | 1 1]          9 (index 13), 4 (index 15)        18/4 = 4.5,  9/4 = 2.25
 *   [0 9 | 3 4]
 * With dL/dy = r = [1 2 3 4]: max pool sends each r to its window's winner only; avg pool
 * gives r/4 to each of the window's four inputs. */
static void test_pool_golden(void **state)
{
    (void)state;
    const nn_real x[16] = {1, 5, 2, 0, 3, 4, 8, 6, 7, 2, 1, 1, 0, 9, 3, 4}, r[4] = {1, 2, 3, 4};
    const nn_real ymax[4] = {5, 8, 9, 4}, yavg[4] = {3.25f, 4, 4.5f, 2.25f};
    const nn_real dmax[16] = {0, 1, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 3, 0, 4};
    const nn_real davg[16] = {0.25f, 0.25f, 0.5f, 0.5f, 0.25f, 0.25f, 0.5f, 0.5f,
                              0.75f, 0.75f, 1,    1,    0.75f, 0.75f, 1,    1};
    const int argmax[4] = {1, 6, 13, 15};
    for (int kind = 0; kind < 2; kind++) {
        nn_graph *g = nn_graph_new();
        nn_tensor *xt = nn_graph_input(g, x, 4, 1, 1, 4, 4);
        nn_graph_require_grad(g, xt);
        nn_tensor *y = kind == 0 ? nn_maxpool2d(g, xt, 2, 0) : nn_avgpool2d(g, xt, 2, 0);
        assert_int_equal(y->ndim, 4);
        assert_int_equal(y->shape[2], 2);
        assert_int_equal(y->shape[3], 2);
        nn_tensor *rt = nn_graph_input(g, r, 4, 1, 1, 2, 2);
        nn_backward(g, nn_sum(g, nn_mul(g, y, rt)));
        nn_test_assert_close(y->data, kind == 0 ? ymax : yavg, 4, 0, 0, "pool forward");
        nn_test_assert_close(xt->grad, kind == 0 ? dmax : davg, 16, 0, 0, "pool backward");
        if (kind == 0) assert_memory_equal(y->saved, argmax, sizeof argmax);
        nn_graph_free(g);
    }
    /* a tie goes to the first maximum in the window (row-major), and stride 1 overlaps */
    const nn_real t[9] = {2, 2, 0, 2, 1, 0, 0, 0, 3};
    nn_real out[4];
    int am[4];
    nn_pool_max_forward(out, am, t, 1, 1, 3, 3, 2, 1);
    const nn_real tout[4] = {2, 2, 2, 3};
    const int tam[4] = {0, 1, 3, 8};
    nn_test_assert_close(out, tout, 4, 0, 0, "max pool with ties");
    assert_memory_equal(am, tam, sizeof tam);
}

static void test_flatten_and_layer(void **state)
{
    (void)state;
    nn_params ps;
    nn_params_init(&ps);
    nn_rng rng;
    nn_rng_seed(&rng, 5);
    nn_conv2d_layer conv;
    nn_conv2d_init(&conv, &ps, "conv", 3, 4, 3, 1, 1, &rng);
    assert_int_equal(conv.weight->ndim, 4);
    assert_int_equal(conv.weight->shape[0], 4);
    assert_int_equal(conv.weight->shape[1], 3);
    assert_int_equal(conv.bias->numel, 4);
    const double bound = 1 / sqrt(27.0);
    double lo = 1, hi = -1;
    for (size_t i = 0; i < conv.weight->numel; i++) {
        assert_true(fabs(conv.weight->data[i]) <= bound);
        lo = fmin(lo, conv.weight->data[i]);
        hi = fmax(hi, conv.weight->data[i]);
    }
    assert_true(hi - lo > bound); /* spread over the range, not all zero */
    for (int i = 0; i < 4; i++) assert_true(fabs(conv.bias->data[i]) <= bound);
    nn_graph *g = nn_graph_new();
    nn_tensor *x = nn_graph_tensor(g, 4, 2, 3, 5, 5);
    nn_rng_fill_uniform(&rng, x->data, x->numel, -1, 1);
    nn_tensor *y = nn_conv2d(g, &conv, x);
    assert_int_equal(y->shape[0], 2);
    assert_int_equal(y->shape[1], 4);
    assert_int_equal(y->shape[2], 5);
    assert_int_equal(y->shape[3], 5);
    nn_tensor *f = nn_flatten(g, y);
    assert_int_equal(f->ndim, 2);
    assert_int_equal(f->shape[0], 2);
    assert_int_equal(f->shape[1], 100);
    assert_memory_equal(f->data, y->data, y->numel * sizeof(nn_real));
    nn_graph_free(g);
    nn_params_free(&ps);
}

static void test_bad_shapes_fail_clearly(void **state)
{
    (void)state;
    nn_graph *g = nn_graph_new();
    nn_tensor *x = nn_graph_tensor(g, 4, 1, 2, 3, 3);
    nn_tensor *w5 = nn_graph_tensor(g, 4, 1, 2, 5, 5), *w3 = nn_graph_tensor(g, 4, 4, 3, 3, 3);
    nn_tensor *w2 = nn_graph_tensor(g, 4, 4, 2, 2, 2), *b3 = nn_graph_tensor(g, 1, 3);
    nn_tensor *flat = nn_graph_tensor(g, 2, 1, 18);
    EXPECT_FAIL(nn_conv2d_op(g, x, w5, NULL, 1, 0), "does not fit input (1,2,3,3)");
    nn_conv2d_op(g, x, w5, NULL, 1, 1); /* 5x5 fits the input padded to 5x5 */
    EXPECT_FAIL(nn_conv2d_op(g, x, w3, NULL, 1, 1), "has 2 channels but weight (4,3,3,3) expects 3");
    EXPECT_FAIL(nn_conv2d_op(g, x, w2, NULL, 0, 0), "stride must be >= 1");
    EXPECT_FAIL(nn_conv2d_op(g, x, w2, NULL, 1, -1), "pad >= 0");
    EXPECT_FAIL(nn_conv2d_op(g, x, w2, b3, 1, 0), "bias has shape (3), expected (4)");
    EXPECT_FAIL(nn_conv2d_op(g, flat, w2, NULL, 1, 0), "must be (N,C,H,W)");
    EXPECT_FAIL(nn_maxpool2d(g, x, 4, 0), "window 4x4 does not fit input (1,2,3,3)");
    EXPECT_FAIL(nn_avgpool2d(g, x, 2, -1), "stride >= 1");
    EXPECT_FAIL(nn_maxpool2d(g, flat, 2, 2), "must be (N,C,H,W)");
    nn_params ps;
    nn_params_init(&ps);
    nn_rng rng;
    nn_rng_seed(&rng, 1);
    nn_conv2d_layer layer;
    EXPECT_FAIL(nn_conv2d_init(&layer, &ps, "conv", 3, 4, 3, 0, 1, &rng), "conv");
    nn_params_free(&ps);
    nn_graph_free(g);
}

/* forward + backward of conv -> max pool -> avg pool; returns a copy of every number */
static nn_real *threaded_run(int threads, nn_kernels kernels, size_t *count)
{
    nn_set_threads(threads);
    nn_set_kernels(kernels);
    nn_rng rng;
    nn_rng_seed(&rng, 77);
    nn_graph *g = nn_graph_new();
    nn_tensor *x = nn_graph_tensor(g, 4, 24, 3, 12, 12), *w = nn_graph_tensor(g, 4, 8, 3, 5, 5);
    nn_tensor *b = nn_graph_tensor(g, 1, 8);
    nn_tensor *leaves[] = {x, w, b};
    for (int i = 0; i < 3; i++) {
        nn_rng_fill_uniform(&rng, leaves[i]->data, leaves[i]->numel, -1, 1);
        nn_graph_require_grad(g, leaves[i]);
    }
    nn_tensor *y = nn_avgpool2d(g, nn_maxpool2d(g, nn_conv2d_op(g, x, w, b, 1, 2), 2, 2), 3, 1);
    nn_tensor *r = nn_graph_tensor(g, 4, y->shape[0], y->shape[1], y->shape[2], y->shape[3]);
    nn_rng_fill_uniform(&rng, r->data, r->numel, -1, 1);
    nn_backward(g, nn_sum(g, nn_mul(g, y, r)));
    *count = y->numel + x->numel + w->numel + b->numel;
    nn_real *all = malloc(*count * sizeof *all), *at = all;
    memcpy(at, y->data, y->numel * sizeof *at), at += y->numel;
    for (int i = 0; i < 3; i++) memcpy(at, leaves[i]->grad, leaves[i]->numel * sizeof *at), at += leaves[i]->numel;
    nn_graph_free(g);
    return all;
}

/* Our own loops (the naive kernels, im2col/col2im, pooling) give every thread its own outputs
 * and sum in a fixed order: the same bits for any thread count. BLAS may split a GEMM's sums
 * differently for another thread count, so the fast path is bit-identical for the same thread
 * count (DESIGN: same seed + same threads = same bits) and within float rounding across. */
static void test_threads_same_bits(void **state)
{
    (void)state;
    for (int k = NN_KERNELS_NAIVE; k <= NN_KERNELS_BLAS; k++) {
        size_t n1, n2, n3;
        nn_real *one = threaded_run(1, (nn_kernels)k, &n1), *two = threaded_run(2, (nn_kernels)k, &n2);
        nn_real *again = threaded_run(2, (nn_kernels)k, &n3);
        assert_int_equal(n1, n2);
        assert_int_equal(n1, n3);
        nn_test_assert_close(again, two, n1, 0, 0, "the same thread count twice");
        if (k == NN_KERNELS_NAIVE)
            nn_test_assert_close(two, one, n1, 0, 0, "naive kernels, 1 vs 2 threads");
        else
            nn_test_assert_close(two, one, n1, 1e-5, 1e-5, "im2col + BLAS, 1 vs 2 threads");
        free(one);
        free(two);
        free(again);
    }
    nn_set_threads(0);
    nn_set_kernels(NN_KERNELS_BLAS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_naive_vs_im2col),   cmocka_unit_test(test_conv_golden_3x3),
        cmocka_unit_test(test_pool_golden),       cmocka_unit_test(test_flatten_and_layer),
        cmocka_unit_test(test_bad_shapes_fail_clearly), cmocka_unit_test(test_threads_same_bits),
    };
    return cmocka_run_group_tests_name("convolution and pooling", tests, NULL, NULL);
}
