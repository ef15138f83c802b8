/* test_gemm.c -- the BLAS GEMM must agree with the naive loop on every shape and flag. */
#include "nn_test.h"

#include <stdlib.h>

NN_TEST_DEFINE_FAIL_HANDLER

/* one comparison: random A, B, C; both kernels from the same C; |blas - naive| small */
static void compare(int transA, int transB, int M, int N, int K, nn_real alpha, nn_real beta,
                    int pad)
{
    nn_rng rng;
    nn_rng_seed(&rng, (uint64_t)(M * 1000003 + N * 1009 + K * 7 + transA * 2 + transB));
    int lda = (transA ? M : K) + pad, ldb = (transB ? K : N) + pad, ldc = N + pad;
    size_t asz = (size_t)(transA ? K : M) * lda, bsz = (size_t)(transB ? N : K) * ldb,
           csz = (size_t)M * ldc;
    nn_real *A = malloc((asz + 1) * sizeof *A), *B = malloc((bsz + 1) * sizeof *B);
    nn_real *C1 = malloc((csz + 1) * sizeof *C1), *C2 = malloc((csz + 1) * sizeof *C2);
    nn_rng_fill_uniform(&rng, A, asz, -1, 1);
    nn_rng_fill_uniform(&rng, B, bsz, -1, 1);
    nn_rng_fill_uniform(&rng, C1, csz, -1, 1);
    memcpy(C2, C1, csz * sizeof *C1);
    nn_gemm_naive(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C1, ldc);
    nn_gemm_blas(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C2, ldc);
    char what[128];
    snprintf(what, sizeof what, "gemm tA=%d tB=%d M=%d N=%d K=%d alpha=%g beta=%g pad=%d", transA,
             transB, M, N, K, (double)alpha, (double)beta, pad);
    /* float: each product sum of K terms of size <= 1 carries ~K * 6e-8 rounding */
    double atol = 1e-5 * (1 + K), rtol = 1e-5;
    nn_test_assert_close(C2, C1, csz, atol, rtol, what);
    free(A);
    free(B);
    free(C1);
    free(C2);
}

static void test_gemm_shapes(void **state)
{
    (void)state;
    static const int shapes[][3] = {{1, 1, 1},  {1, 7, 3},   {5, 1, 9},    {3, 4, 1},
                                    {17, 13, 11}, {64, 10, 784}, {31, 257, 63}, {128, 64, 32},
                                    {2, 300, 5}, {100, 3, 100}};
    static const nn_real ab[][2] = {{1, 0}, {0.5f, 1}, {-2, 0.25f}, {1, 1}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++)
                for (size_t k = 0; k < sizeof ab / sizeof ab[0]; k++)
                    compare(ta, tb, shapes[s][0], shapes[s][1], shapes[s][2], ab[k][0], ab[k][1],
                            (int)(k % 2) * 3);
}

/* a 2x2 product worked by hand: [1 2; 3 4] [5 6; 7 8] = [19 22; 43 50] */
static void test_gemm_golden(void **state)
{
    (void)state;
    const nn_real A[] = {1, 2, 3, 4}, B[] = {5, 6, 7, 8};
    const nn_real AB[] = {19, 22, 43, 50}, AtB[] = {26, 30, 38, 44}, ABt[] = {17, 23, 39, 53};
    for (int k = NN_KERNELS_NAIVE; k <= NN_KERNELS_BLAS; k++) {
        nn_set_kernels((nn_kernels)k);
        nn_real C[4] = {0};
        nn_gemm(0, 0, 2, 2, 2, 1, A, 2, B, 2, 0, C, 2);
        nn_test_assert_close(C, AB, 4, 0, 0, "A B");
        nn_gemm(1, 0, 2, 2, 2, 1, A, 2, B, 2, 0, C, 2);
        nn_test_assert_close(C, AtB, 4, 0, 0, "A^T B");
        nn_gemm(0, 1, 2, 2, 2, 1, A, 2, B, 2, 0, C, 2);
        nn_test_assert_close(C, ABt, 4, 0, 0, "A B^T");
        /* alpha and beta: C = 2 A B + 1 * previous C */
        nn_real D[4] = {1, 1, 1, 1}, expect[4] = {39, 45, 87, 101};
        nn_gemm(0, 0, 2, 2, 2, 2, A, 2, B, 2, 1, D, 2);
        nn_test_assert_close(D, expect, 4, 0, 0, "2 A B + C");
    }
    nn_set_kernels(NN_KERNELS_BLAS);
}

/* beta = 0 must overwrite C, even when C holds NaN */
static void test_gemm_beta_zero_ignores_nan(void **state)
{
    (void)state;
    const nn_real A[] = {1, 2}, B[] = {3, 4};
    for (int k = NN_KERNELS_NAIVE; k <= NN_KERNELS_BLAS; k++) {
        nn_set_kernels((nn_kernels)k);
        nn_real C[1] = {NAN};
        nn_gemm(0, 0, 1, 1, 2, 1, A, 2, B, 1, 0, C, 1);
        assert_true(C[0] == 11);
    }
    nn_set_kernels(NN_KERNELS_BLAS);
}

static void test_gemm_bad_sizes(void **state)
{
    (void)state;
    nn_real A[4] = {0}, B[4] = {0}, C[4] = {0};
    EXPECT_FAIL(nn_gemm(0, 0, 2, 2, 2, 1, A, 1, B, 2, 0, C, 2), "leading dimensions");
    EXPECT_FAIL(nn_gemm(0, 0, -1, 2, 2, 1, A, 2, B, 2, 0, C, 2), "negative size");
}

static void test_kernel_switch(void **state)
{
    (void)state;
    nn_set_kernels(NN_KERNELS_NAIVE);
    assert_int_equal(nn_get_kernels(), NN_KERNELS_NAIVE);
    assert_string_equal(nn_kernels_name(nn_get_kernels()), "naive");
    nn_set_kernels(NN_KERNELS_BLAS);
    assert_string_equal(nn_kernels_name(nn_get_kernels()), "blas");
    EXPECT_FAIL(nn_set_kernels((nn_kernels)7), "unknown kernel set");
}

/* softmax rows sum to 1, survive huge logits, and log_softmax = log(softmax) */
static void test_softmax_kernels(void **state)
{
    (void)state;
    const nn_real x[6] = {1, 2, 3, 1000, 1001, 1002};
    nn_real p[6], lp[6];
    nn_kernel_softmax(p, x, 2, 3);
    nn_kernel_log_softmax(lp, x, 2, 3);
    /* softmax(1,2,3) = e^(k-3) / (e^-2 + e^-1 + 1) */
    double z = exp(-2.0) + exp(-1.0) + 1.0;
    const nn_real expect[6] = {(nn_real)(exp(-2.0) / z), (nn_real)(exp(-1.0) / z), (nn_real)(1 / z),
                               (nn_real)(exp(-2.0) / z), (nn_real)(exp(-1.0) / z), (nn_real)(1 / z)};
    nn_test_assert_close(p, expect, 6, 1e-7, 1e-6, "softmax");
    for (int i = 0; i < 6; i++) assert_true(fabs(exp((double)lp[i]) - (double)expect[i]) < 1e-6);
    assert_int_equal(nn_kernel_argmax(x, 3), 2);
    const nn_real tie[3] = {5, 5, 1};
    assert_int_equal(nn_kernel_argmax(tie, 3), 0); /* the first of equal maxima */
}

/* The fast (SIMD polynomial) activations against the naive ones (libm in double) over a fine
 * grid wide enough to reach both ends of every function, plus infinities, NaN and signed
 * zeros: relative error a few float ulps (GELU: 1e-6), or absolute where the value is tiny. */
static void test_activation_kernels(void **state)
{
    (void)state;
    enum { N = 40001 + 6 };
    nn_real *x = nn_malloc(N * sizeof *x), *naive = nn_malloc(N * sizeof *x),
            *fast = nn_malloc(N * sizeof *x), *g0 = nn_malloc(N * sizeof *x),
            *g1 = nn_malloc(N * sizeof *x), *dy = nn_malloc(N * sizeof *x);
    for (int i = 0; i < N - 6; i++) x[i] = (nn_real)(-100 + 200.0 * i / (N - 7));
    const nn_real special[6] = {INFINITY, -INFINITY, 0, -0.0f, 1e-30f, -1e-30f};
    memcpy(x + N - 6, special, sizeof special);
    for (int i = 0; i < N; i++) dy[i] = (nn_real)(1 + (i % 7) * 0.25);
    void (*fn[3])(nn_real *, const nn_real *, size_t) = {nn_kernel_sigmoid, nn_kernel_tanh,
                                                         nn_kernel_gelu};
    const char *names[3] = {"sigmoid", "tanh", "gelu"};
    for (int f = 0; f < 3; f++) {
        nn_set_kernels(NN_KERNELS_NAIVE);
        fn[f](naive, x, N);
        nn_set_kernels(NN_KERNELS_BLAS);
        fn[f](fast, x, N);
        char what[64];
        snprintf(what, sizeof what, "%s fast vs naive", names[f]);
        /* gelu(-inf) = -inf * 0 is NaN in both: the specials are for sigmoid and tanh. GELU's
         * left tail e^{-x^2/2} carries float's rounding of x^2/2: 1e-8 absolute there */
        if (f < 2) nn_test_assert_close(fast, naive, N, 1e-37, 4e-7, what);
        else nn_test_assert_close(fast, naive, N - 6, 1e-8, 1e-6, what);
        if (f < 2) { /* sigmoid and tanh may run in place: the same numbers */
            memcpy(g0, x, N * sizeof *x);
            fn[f](g0, g0, N);
            snprintf(what, sizeof what, "%s in place vs out of place", names[f]);
            nn_test_assert_close(g0, fast, N, 0, 0, what);
        }
        const nn_real nan = NAN;
        fn[f](fast, &nan, 1);
        if (!isnan(fast[0])) fail_msg("%s(NaN) = %g, expected NaN", names[f], (double)fast[0]);
    }
    /* GELU's derivative; the naive one loses its digits far left (1 + erf cancels), so the
     * comparison is absolute there */
    memset(g0, 0, N * sizeof *g0), memset(g1, 0, N * sizeof *g1);
    nn_set_kernels(NN_KERNELS_NAIVE);
    nn_kernel_gelu_backward(g0, dy, x, N - 6);
    nn_set_kernels(NN_KERNELS_BLAS);
    nn_kernel_gelu_backward(g1, dy, x, N - 6);
    nn_test_assert_close(g1, g0, N - 6, 1e-6, 1e-6, "gelu backward fast vs naive");
    free(x), free(naive), free(fast), free(g0), free(g1), free(dy);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gemm_shapes),     cmocka_unit_test(test_gemm_golden),
        cmocka_unit_test(test_gemm_beta_zero_ignores_nan), cmocka_unit_test(test_gemm_bad_sizes),
        cmocka_unit_test(test_kernel_switch),   cmocka_unit_test(test_softmax_kernels),
        cmocka_unit_test(test_activation_kernels),
    };
    return cmocka_run_group_tests_name("gemm and kernels", tests, NULL, NULL);
}
