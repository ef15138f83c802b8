/* test_quantize.c -- lib/quantize.c: int8 quantization within half a step, the int8 GEMM
 * against an exact integer reference and against the float product, requantization by hand,
 * magnitude pruning to the exact sparsity (ties included), and bad input refused. */
#include "nn_test.h"

#include <stdlib.h>

NN_TEST_DEFINE_FAIL_HANDLER

/* hand-worked values, exact in binary: max|w| = 127/64, so s = 1/64 and w / s = 32, -127,
 * 0.5 -> 1 (half away from zero), -0.5 -> -1, 64, 1.92 -> 2 */
static void test_quantize_golden(void **state)
{
    (void)state;
    const nn_real w[6] = {0.5f, -1.984375f, 0.0078125f, -0.0078125f, 1.0f, 0.03f};
    nn_real s = nn_quantize_scale(w, 6);
    assert_true(s == 0.015625f);
    int8_t q[6];
    nn_quantize(q, w, 6, s);
    const int8_t expect[6] = {32, -127, 1, -1, 64, 2};
    for (int i = 0; i < 6; i++) assert_int_equal(q[i], expect[i]);
    nn_real back[6];
    nn_quantize_dequantize(back, q, 6, s);
    assert_true(back[1] == -1.984375f && back[4] == 1.0f && back[5] == 0.03125f);
    /* values beyond the calibrated range saturate at +-127 (activations) */
    const nn_real big[3] = {5, -5, 1.99f};
    nn_quantize(q, big, 3, s);
    assert_int_equal(q[0], 127);
    assert_int_equal(q[1], -127);
    assert_int_equal(q[2], 127);
    /* all zeros: scale 1, every q 0 */
    const nn_real zeros[4] = {0, 0, 0, 0};
    assert_true(nn_quantize_scale(zeros, 4) == 1);
    /* bias in units of the int32 sums: 0.5 / (0.01 * 0.5) = 100, -0.0123 / 0.005 = -2.46 -> -2 */
    int32_t qb[2];
    nn_quantize_bias(qb, (nn_real[]){0.5f, -0.0123f}, 2, 0.01f, (nn_real[]){0.5f, 0.5f});
    assert_int_equal(qb[0], 100);
    assert_int_equal(qb[1], -2);
}

/* rows of very different sizes: row r ~ U(-1,1) 2^-r */
static void fill_rows(nn_real *w, int rows, int cols, nn_rng *rng)
{
    for (int r = 0; r < rows; r++)
        nn_rng_fill_uniform(rng, w + (size_t)r * cols, cols, -ldexp(1, -r), ldexp(1, -r));
}

/* |w - s q| <= s/2 for every weight, per tensor and per channel; per channel scales are each
 * row's max|w| / 127 and use the full range in every row */
static void test_half_step(void **state)
{
    (void)state;
    enum { ROWS = 9, COLS = 37 };
    nn_rng rng;
    nn_rng_seed(&rng, 7);
    nn_real w[ROWS * COLS], scales[ROWS], back[ROWS * COLS];
    int8_t q[ROWS * COLS];
    fill_rows(w, ROWS, COLS, &rng);
    double sq_err[2] = {0, 0};
    for (int per_channel = 0; per_channel <= 1; per_channel++) {
        nn_quantize_weights(q, scales, w, ROWS, COLS, per_channel);
        nn_quantize_dequantize_weights(back, q, scales, ROWS, COLS);
        for (int r = 0; r < ROWS; r++) {
            double s = scales[r], row_max = 0;
            int qmax = 0;
            for (int c = 0; c < COLS; c++) {
                size_t i = (size_t)r * COLS + c;
                double err = fabs((double)w[i] - s * q[i]);
                if (err > 0.5 * s * (1 + 1e-6))
                    fail_msg("per_channel=%d: w[%d,%d] = %.9g, s q = %.9g: error %.3g > s/2 = %.3g",
                             per_channel, r, c, (double)w[i], s * q[i], err, 0.5 * s);
                assert_true(fabs((double)back[i] - s * q[i]) <= 1e-6 * s * 127);
                row_max = fmax(row_max, fabs((double)w[i]));
                qmax = abs(q[i]) > qmax ? abs(q[i]) : qmax;
                sq_err[per_channel] += err * err;
            }
            if (per_channel) {
                assert_true(fabs(s - row_max / 127) <= 1e-6 * s);
                assert_int_equal(qmax, 127);
            } else {
                assert_true(s == scales[0]); /* one scale, repeated */
            }
        }
    }
    /* the per-tensor scale is set by row 0 (2^8 times row 8's): per channel must be far better */
    assert_true(sq_err[1] < 0.5 * sq_err[0]);
}

/* the int8 GEMM against a plain int64 reference, with -128 and +127 in the inputs */
static void test_gemm_exact(void **state)
{
    (void)state;
    nn_rng rng;
    nn_rng_seed(&rng, 3);
    const int sizes[4][3] = {{1, 1, 1}, {7, 5, 33}, {16, 10, 784}, {3, 8, 1}};
    for (int t = 0; t < 4; t++) {
        int M = sizes[t][0], N = sizes[t][1], K = sizes[t][2];
        int8_t *A = nn_malloc((size_t)M * K), *B = nn_malloc((size_t)N * K);
        int32_t *C = nn_malloc(sizeof(int32_t) * M * N), *bias = nn_malloc(sizeof(int32_t) * N);
        for (int i = 0; i < M * K; i++) A[i] = (int8_t)(nn_rng_int(&rng, 256) - 128);
        for (int i = 0; i < N * K; i++) B[i] = (int8_t)(nn_rng_int(&rng, 256) - 128);
        A[0] = -128, B[0] = -128; /* the largest product, 16384 */
        for (int j = 0; j < N; j++) bias[j] = nn_rng_int(&rng, 200001) - 100000;
        for (int with_bias = 0; with_bias <= 1; with_bias++) {
            nn_quantize_gemm(C, A, B, with_bias ? bias : NULL, M, N, K);
            for (int i = 0; i < M; i++)
                for (int j = 0; j < N; j++) {
                    int64_t ref = with_bias ? bias[j] : 0;
                    for (int k = 0; k < K; k++)
                        ref += (int64_t)A[(size_t)i * K + k] * B[(size_t)j * K + k];
                    if (C[(size_t)i * N + j] != ref)
                        fail_msg("(%d,%d,%d) bias %d: C[%d,%d] = %d, expected %lld", M, N, K,
                                 with_bias, i, j, C[(size_t)i * N + j], (long long)ref);
                }
        }
        free(A), free(B), free(C), free(bias);
    }
    /* golden: [1 2 3] . [4 5 6] = 32, [1 2 3] . [-1 -1 -1] = -6, + bias (10, -10) */
    int32_t c[2];
    nn_quantize_gemm(c, (int8_t[]){1, 2, 3}, (int8_t[]){4, 5, 6, -1, -1, -1}, (int32_t[]){10, -10},
                     1, 2, 3);
    assert_int_equal(c[0], 42);
    assert_int_equal(c[1], -16);
}

/* quantize two float matrices, multiply as integers, rescale: the same as the float product of
 * the dequantized matrices (the int32 sum is exact, so only float rounding differs) */
static void test_gemm_matches_float(void **state)
{
    (void)state;
    enum { M = 6, N = 11, K = 300 };
    nn_rng rng;
    nn_rng_seed(&rng, 11);
    nn_real A[M * K], B[N * K], Ad[M * K], Bd[N * K], ref[M * N], got[M * N], scale[N], sb[N];
    int8_t qa[M * K], qb[N * K];
    int32_t acc[M * N];
    nn_rng_fill_normal(&rng, A, M * K, 0, 1);
    fill_rows(B, N, K, &rng);
    for (int per_channel = 0; per_channel <= 1; per_channel++) {
        nn_real sa = nn_quantize_scale(A, M * K);
        nn_quantize(qa, A, M * K, sa);
        nn_quantize_weights(qb, sb, B, N, K, per_channel);
        nn_quantize_dequantize(Ad, qa, M * K, sa);
        nn_quantize_dequantize_weights(Bd, qb, sb, N, K);
        nn_gemm_naive(0, 1, M, N, K, 1, Ad, K, Bd, K, 0, ref, N);
        nn_quantize_gemm(acc, qa, qb, NULL, M, N, K);
        for (int j = 0; j < N; j++) scale[j] = sa * sb[j];
        nn_quantize_dequantize_acc(got, acc, scale, M, N);
        /* scale of the terms: sum_k |a||b| <= K max|a| max|b| */
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) {
                double bound = 0;
                for (int k = 0; k < K; k++) bound += fabs((double)Ad[i * K + k] * Bd[j * K + k]);
                double diff = fabs((double)got[i * N + j] - ref[i * N + j]);
                if (diff > 1e-5 * bound + 1e-30)
                    fail_msg("per_channel=%d: C[%d,%d] = %.9g vs float %.9g", per_channel, i, j,
                             (double)got[i * N + j], (double)ref[i * N + j]);
            }
    }
}

/* requantization by hand: multiplier 1/64: 64 -> 1, -64 -> -1 (0 with ReLU), 160 -> 2.5 -> 3,
 * 20000 -> 312.5 -> 127 (saturated), -20000 -> -127 */
static void test_requantize_golden(void **state)
{
    (void)state;
    const int32_t acc[5] = {64, -64, 160, 20000, -20000};
    int8_t out[5];
    nn_real m[5] = {0.015625f, 0.015625f, 0.015625f, 0.015625f, 0.015625f};
    nn_quantize_requantize(out, acc, m, 1, 5, 0);
    const int8_t plain[5] = {1, -1, 3, 127, -127}, relu[5] = {1, 0, 3, 127, 0};
    for (int i = 0; i < 5; i++) assert_int_equal(out[i], plain[i]);
    nn_quantize_requantize(out, acc, m, 1, 5, 1);
    for (int i = 0; i < 5; i++) assert_int_equal(out[i], relu[i]);
    /* per column multipliers: (2,2) with columns x0.5 and x2 */
    int8_t o[4];
    nn_quantize_requantize(o, (int32_t[]){10, 10, -3, 3}, (nn_real[]){0.5f, 2}, 2, 2, 0);
    assert_int_equal(o[0], 5);
    assert_int_equal(o[1], 20);
    assert_int_equal(o[2], -2); /* -1.5 -> -2, half away from zero */
    assert_int_equal(o[3], 6);
    nn_real r[4];
    nn_quantize_dequantize_acc(r, (int32_t[]){10, 10, -3, 3}, (nn_real[]){0.5f, 2}, 2, 2);
    assert_true(r[0] == 5 && r[1] == 20 && r[2] == -1.5f && r[3] == 6);
}

static size_t count_zeros(const uint8_t *mask, size_t n)
{
    size_t z = 0;
    for (size_t i = 0; i < n; i++) z += mask[i] == 0;
    return z;
}

/* exactly round(sparsity n) pruned; the kept ones are the largest |w|; ties by index */
static void test_prune_exact(void **state)
{
    (void)state;
    /* all magnitudes equal: 3 of 10 pruned, the first three */
    nn_real tie[10] = {1, -1, 1, -1, 1, -1, 1, -1, 1, -1};
    uint8_t mask[1000];
    assert_int_equal(nn_prune_magnitude(mask, tie, 10, 0.3), 3);
    for (int i = 0; i < 10; i++) assert_int_equal(mask[i], i >= 3);
    /* golden: |w| = 0.5 0.1 0.9 0.3 0.2 -> half of 5 rounds to 3 (2.5 half away from zero):
     * pruned 0.1, 0.2, 0.3 */
    nn_real w5[5] = {0.5f, -0.1f, 0.9f, 0.3f, -0.2f};
    assert_int_equal(nn_prune_magnitude(mask, w5, 5, 0.5), 3);
    const uint8_t expect5[5] = {1, 0, 1, 0, 0};
    for (int i = 0; i < 5; i++) assert_int_equal(mask[i], expect5[i]);

    nn_rng rng;
    nn_rng_seed(&rng, 5);
    nn_real w[1000];
    nn_rng_fill_normal(&rng, w, 1000, 0, 1);
    for (int i = 0; i < 1000; i += 7) w[i] = 0.25f; /* many exact ties */
    const double sparsity[7] = {0, 0.5, 0.7, 0.8, 0.9, 0.95, 1};
    for (int t = 0; t < 7; t++) {
        size_t k = nn_prune_magnitude(mask, w, 1000, sparsity[t]);
        assert_int_equal(k, (size_t)llround(sparsity[t] * 1000));
        assert_int_equal(count_zeros(mask, 1000), k);
        double max_pruned = 0, min_kept = INFINITY;
        for (int i = 0; i < 1000; i++) {
            if (mask[i]) min_kept = fmin(min_kept, fabs(w[i]));
            else max_pruned = fmax(max_pruned, fabs(w[i]));
        }
        if (k > 0 && k < 1000 && !(max_pruned <= min_kept))
            fail_msg("sparsity %g: a pruned |w| = %g exceeds a kept |w| = %g", sparsity[t],
                     max_pruned, min_kept);
    }
    /* prune 50%, apply, then prune the result to 80%: the zeros tie, still exactly 800, and
     * everything pruned before stays pruned */
    uint8_t first[1000];
    nn_prune_magnitude(first, w, 1000, 0.5);
    nn_prune_apply(w, first, 1000);
    assert_true(fabs(nn_prune_sparsity(w, 1000) - 0.5) < 1e-12);
    assert_int_equal(nn_prune_magnitude(mask, w, 1000, 0.8), 800);
    for (int i = 0; i < 1000; i++)
        if (!first[i]) assert_int_equal(mask[i], 0);
    nn_prune_apply(w, mask, 1000);
    assert_true(fabs(nn_prune_sparsity(w, 1000) - 0.8) < 1e-12);
}

/* reference: sort indices by (|w|, index) with a plain insertion sort, prune the first k */
static void prune_reference(uint8_t *mask, const nn_real *w, int n, size_t k)
{
    int order[64];
    for (int i = 0; i < n; i++) order[i] = i;
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && (fabs(w[order[j]]) < fabs(w[order[j - 1]]) ||
                                  (fabs(w[order[j]]) == fabs(w[order[j - 1]]) &&
                                   order[j] < order[j - 1]));
             j--) {
            int t = order[j];
            order[j] = order[j - 1], order[j - 1] = t;
        }
    for (int i = 0; i < n; i++) mask[order[i]] = (size_t)i >= k;
}

/* thousands of small arrays full of ties (magnitudes from {0, 0.5, 1, 2}, both signs), every
 * sparsity: the same mask as the sorting reference, bit for bit */
static void test_prune_matches_sorting(void **state)
{
    (void)state;
    const nn_real values[7] = {0, 0.5f, -0.5f, 1, -1, 2, -2};
    nn_rng rng;
    nn_rng_seed(&rng, 9);
    for (int trial = 0; trial < 3000; trial++) {
        int n = 1 + nn_rng_int(&rng, 64);
        nn_real w[64];
        int distinct = 1 + nn_rng_int(&rng, 7);
        for (int i = 0; i < n; i++)
            w[i] = trial % 3 == 0 ? (nn_real)nn_rng_normal(&rng) : values[nn_rng_int(&rng, distinct)];
        double sparsity = nn_rng_int(&rng, 4) == 0 ? (double)nn_rng_int(&rng, n + 1) / n
                                                    : nn_rng_uniform(&rng);
        uint8_t got[64], want[64];
        size_t k = nn_prune_magnitude(got, w, n, sparsity);
        assert_int_equal(k, (size_t)llround(sparsity * n));
        prune_reference(want, w, n, k);
        for (int i = 0; i < n; i++)
            if (got[i] != want[i])
                fail_msg("trial %d (n %d, sparsity %g): mask[%d] = %d, expected %d", trial, n,
                         sparsity, i, got[i], want[i]);
    }
}

static void test_bad_input(void **state)
{
    (void)state;
    nn_real w[4] = {1, 2, 3, 4}, s[2];
    uint8_t mask[4];
    int8_t q[4];
    int32_t c[4];
    EXPECT_FAIL(nn_prune_magnitude(mask, w, 4, -0.1), "sparsity must be in [0,1], got -0.1");
    EXPECT_FAIL(nn_prune_magnitude(mask, w, 4, 1.5), "sparsity must be in [0,1]");
    EXPECT_FAIL(nn_prune_magnitude(mask, w, 4, NAN), "sparsity must be in [0,1]");
    EXPECT_FAIL(nn_prune_magnitude(mask, w, 0, 0.5), "no weights");
    EXPECT_FAIL(nn_prune_sparsity(w, 0), "no weights");
    EXPECT_FAIL(nn_quantize(q, w, 4, 0), "scale must be a positive finite number, got 0");
    EXPECT_FAIL(nn_quantize(q, w, 4, -1), "scale must be a positive finite number");
    EXPECT_FAIL(nn_quantize(q, w, 4, NAN), "scale must be a positive finite number");
    EXPECT_FAIL(nn_quantize_scale(w, 0), "nn_quantize_scale: no values");
    EXPECT_FAIL(nn_quantize_weights(q, s, w, 0, 4, 1), "(0,4) matrix has no weights");
    EXPECT_FAIL(nn_quantize_requantize(q, c, (nn_real[]){0}, 1, 1, 0), "scale must be a positive");
    EXPECT_FAIL(nn_quantize_bias(c, (nn_real[]){1e9f}, 1, 1e-3f, (nn_real[]){1e-3f}), "beyond int32");
    EXPECT_FAIL(nn_quantize_gemm(c, NULL, NULL, NULL, 0, 0, 200000), "could overflow the int32 sums");
    EXPECT_FAIL(nn_quantize_gemm(c, NULL, NULL, NULL, -1, 2, 3), "negative size");
    /* 131071 products of at most 16384 fit in int32 with 16383 to spare: a bias may use those */
    nn_quantize_gemm(c, NULL, NULL, (int32_t[]){-16383}, 0, 1, 131071);
    EXPECT_FAIL(nn_quantize_gemm(c, NULL, NULL, (int32_t[]){-16384}, 0, 1, 131071), "plus a bias of 16384");
    w[2] = NAN;
    EXPECT_FAIL(nn_prune_magnitude(mask, w, 4, 0.5), "value 2 is nan");
    EXPECT_FAIL(nn_quantize_scale(w, 4), "value 2 is nan");
    w[2] = INFINITY;
    EXPECT_FAIL(nn_quantize_weights(q, s, w, 2, 2, 0), "value 2 is inf");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quantize_golden),   cmocka_unit_test(test_half_step),
        cmocka_unit_test(test_gemm_exact),        cmocka_unit_test(test_gemm_matches_float),
        cmocka_unit_test(test_requantize_golden), cmocka_unit_test(test_prune_exact),
        cmocka_unit_test(test_prune_matches_sorting),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests_name("quantization and pruning", tests, NULL, NULL);
}
