/* kernels.c -- the kernel switch, the thread setting, and the row-wise loops and pointwise
 * functions (sigmoid, tanh, GELU, softmax: naive through libm, fast as SIMD polynomials) that
 * the ops and the hand-written-backprop lessons share. */
#include "nn.h"
#include "simd.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static nn_kernels active_kernels; /* 0 until first use, then read from $NN_KERNELS */

static nn_kernels kernels_from_env(void)
{
    const char *env = getenv("NN_KERNELS");
    if (!env || !*env || strcmp(env, "blas") == 0) return NN_KERNELS_BLAS;
    if (strcmp(env, "naive") == 0) return NN_KERNELS_NAIVE;
    nn_fail("NN_KERNELS=%s: expected naive or blas", env);
}

void nn_set_kernels(nn_kernels which)
{
    if (which != NN_KERNELS_NAIVE && which != NN_KERNELS_BLAS)
        nn_fail("nn_set_kernels: unknown kernel set %d (expected NN_KERNELS_NAIVE or NN_KERNELS_BLAS)",
                (int)which);
    active_kernels = which;
}

nn_kernels nn_get_kernels(void)
{
    if (!active_kernels) active_kernels = kernels_from_env();
    return active_kernels;
}

const char *nn_kernels_name(nn_kernels which)
{
    return which == NN_KERNELS_NAIVE ? "naive" : which == NN_KERNELS_BLAS ? "blas" : "?";
}

/* OpenBLAS exports openblas_set_num_threads; other BLAS libraries may not, so it is weak. */
extern void openblas_set_num_threads(int n) __attribute__((weak));
static int active_threads;

void nn_set_threads(int n)
{
#ifdef _OPENMP
    if (n <= 0) n = omp_get_num_procs();
    omp_set_num_threads(n);
#else
    if (n <= 0) n = 1;
#endif
    if (openblas_set_num_threads) openblas_set_num_threads(n);
    active_threads = n;
}

int nn_get_threads(void)
{
#ifdef _OPENMP
    return active_threads ? active_threads : omp_get_max_threads();
#else
    return active_threads ? active_threads : 1;
#endif
}

/* Both are SIMD loops along a row (restrict: out never overlaps its inputs). */
void nn_kernel_add_row(nn_real *restrict out, const nn_real *restrict row, int rows, int cols)
{
    for (int r = 0; r < rows; r++) {
        nn_real *restrict o = out + (size_t)r * cols;
#pragma omp simd
        for (int c = 0; c < cols; c++) o[c] += row[c];
    }
}

NN_SIMD_CLONES void nn_kernel_sum_rows(nn_real *restrict out, const nn_real *restrict x, int rows,
                                       int cols)
{
    for (int r = 0; r < rows; r++) {
        const nn_real *restrict xr = x + (size_t)r * cols;
#pragma omp simd
        for (int c = 0; c < cols; c++) out[c] += xr[c];
    }
}

/* ---- sigmoid and tanh: the libm formula (naive) or a SIMD polynomial (fast) ---------------- */

/* naive: the textbook formulas through libm, in double */
static void sigmoid_naive(nn_real *out, const nn_real *x, size_t n)
{
    for (size_t i = 0; i < n; i++) out[i] = (nn_real)(1.0 / (1.0 + exp(-(double)x[i])));
}
static void tanh_naive(nn_real *out, const nn_real *x, size_t n)
{
    for (size_t i = 0; i < n; i++) out[i] = (nn_real)tanh((double)x[i]);
}

#ifndef NN_DOUBLE
/* The loops below are compiled once per vector width (NN_SIMD_CLONES, lib/simd.h). */
/* e^t for t <= 0, in float (Cephes' expf): write t = n ln2 + r with n = round(t / ln2), so
 * |r| <= ln2 / 2 and e^t = 2^n e^r; e^r is a degree-7 polynomial (relative error below 1e-7),
 * and 2^n goes straight into the float's exponent bits. ln2 is split in two (C1 + C2, C1 with
 * few bits) so that n * C1 is exact and r keeps its precision. Adding and subtracting
 * 1.5 * 2^23 rounds to the nearest integer (float has 23 fraction bits). Below -87, where
 * e^t < 1.7e-38 leaves float's normal numbers, the result is 0; a NaN stays NaN.
 * Only arithmetic and selects, no calls: a loop over it becomes SIMD instructions (4 floats
 * at a time with SSE); GCC needs -fno-trapping-math to compute both sides of a select (see
 * the Makefile), and without it simply leaves the loop scalar. */
static inline float exp_nonpositive(float t)
{
    const float tc = t > -87 ? t : -87; /* also for NaN: (int32_t)n below needs a number */
    const float n = (tc * 1.44269504088896341f - 12582912.0f) + 12582912.0f;
    const float r = (tc - n * 0.693359375f) + n * 2.12194440e-4f; /* t - n ln2 */
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1; /* e^r = 1 + r + r^2/2 + ... */
    union { int32_t i; float f; } two_n;
    two_n.i = ((int32_t)n + 127) << 23; /* the bits of 2^n, -126 <= n <= 0 */
    const float e = p * two_n.f;
    return t > -87 ? e : (t <= -87 ? 0 : t); /* t itself when it is NaN */
}

/* sigmoid from e = e^-|x| (at most 1, so nothing overflows): 1/(1+e) for x >= 0, and
 * e/(1+e) = 1 - sigmoid(|x|) for x < 0. */
/* out may be x: each out[i] depends on x[i] alone (so no restrict; omp simd still vectorizes) */
NN_SIMD_CLONES static void sigmoid_fast(float *out, const float *x, size_t n)
{
#pragma omp simd
    for (size_t i = 0; i < n; i++) {
        const float e = exp_nonpositive(x[i] < 0 ? x[i] : -x[i]); /* e^-|x| */
        out[i] = (x[i] < 0 ? e : 1) / (1 + e);
    }
}

/* tanh |x| = (1 - e) / (1 + e) with e = e^-2|x|, the sign put back; near 0 that difference
 * loses digits, so for |x| < 0.4 the Taylor series instead:
 *   tanh x = x - x^3/3 + 2x^5/15 - 17x^7/315 + 62x^9/2835 - 1382x^11/155925 + 21844x^13/6081075
 * (the next term is below 1e-8 of x there). Both are computed, one is kept. */
NN_SIMD_CLONES static void tanh_fast(float *out, const float *x, size_t n)
{
#pragma omp simd
    for (size_t i = 0; i < n; i++) {
        const float v = x[i];
        const float e = exp_nonpositive(v < 0 ? 2 * v : -2 * v); /* e^-2|x| */
        const float big = (1 - e) / (1 + e);
        const float v2 = v * v;
        float p = 21844.0f / 6081075;
        p = p * v2 - 1382.0f / 155925;
        p = p * v2 + 62.0f / 2835;
        p = p * v2 - 17.0f / 315;
        p = p * v2 + 2.0f / 15;
        p = p * v2 - 1.0f / 3;
        const float small = v + v * v2 * p;
        out[i] = v2 < 0.16f ? small : (v < 0 ? -big : big);
    }
}

/* Phi(x), the standard normal CDF, = erfc(-x / sqrt 2) / 2, with erfc(z) for z >= 0 from
 * Numerical Recipes' erfcc (a Chebyshev fit, relative error below 1.2e-7 everywhere):
 *   erfc(z) = t exp(-z^2 + P(t)),  t = 1 / (1 + z/2),  P a polynomial of degree 9;
 * erfc(-z) = 2 - erfc(z). Computing the small side directly keeps Phi(x) exact to float
 * precision even far out on the left, where 1 + erf(x/sqrt 2) would cancel to 0. */
static inline float normal_cdf(float x)
{
    const float z = (x < 0 ? -x : x) * 0.70710678118654752f;
    const float t = 1 / (1 + 0.5f * z);
    float p = 0.17087277f;
    p = p * t - 0.82215223f;
    p = p * t + 1.48851587f;
    p = p * t - 1.13520398f;
    p = p * t + 0.27886807f;
    p = p * t - 0.18628806f;
    p = p * t + 0.09678418f;
    p = p * t + 0.37409196f;
    p = p * t + 1.00002368f;
    p = p * t - 1.26551223f;
    const float half_erfc = 0.5f * t * exp_nonpositive(p - z * z); /* erfc(|x|/sqrt 2) / 2 */
    return x < 0 ? half_erfc : 1 - half_erfc;
}

NN_SIMD_CLONES static void gelu_fast(float *restrict out, const float *restrict x, size_t n)
{
#pragma omp simd
    for (size_t i = 0; i < n; i++) out[i] = x[i] * normal_cdf(x[i]);
}

NN_SIMD_CLONES static void gelu_backward_fast(float *restrict dx, const float *restrict dy,
                                           const float *restrict x, size_t n)
{
#pragma omp simd
    for (size_t i = 0; i < n; i++) {
        const float v = x[i];
        const float pdf = 0.39894228040143267794f * exp_nonpositive(-0.5f * v * v);
        dx[i] += dy[i] * (normal_cdf(v) + v * pdf);
    }
}
#endif

/* The fast versions agree with the naive ones to a few float ulps (GELU: 1e-6 relative; see
 * tests/test_gemm.c); the double build, which the gradient checks use, always takes libm's. */
void nn_kernel_sigmoid(nn_real *out, const nn_real *x, size_t n)
{
#ifndef NN_DOUBLE
    if (nn_get_kernels() != NN_KERNELS_NAIVE) {
        sigmoid_fast(out, x, n);
        return;
    }
#endif
    sigmoid_naive(out, x, n);
}

void nn_kernel_tanh(nn_real *out, const nn_real *x, size_t n)
{
#ifndef NN_DOUBLE
    if (nn_get_kernels() != NN_KERNELS_NAIVE) {
        tanh_fast(out, x, n);
        return;
    }
#endif
    tanh_naive(out, x, n);
}

/* GELU, exact: y = x Phi(x) = 0.5 x (1 + erf(x / sqrt 2));
 *   dy/dx = Phi(x) + x phi(x),   phi(x) = e^{-x^2/2} / sqrt(2 pi)   (product rule) */
void nn_kernel_gelu(nn_real *out, const nn_real *x, size_t n)
{
#ifndef NN_DOUBLE
    if (nn_get_kernels() != NN_KERNELS_NAIVE) {
        gelu_fast(out, x, n);
        return;
    }
#endif
    for (size_t i = 0; i < n; i++) {
        double v = x[i];
        out[i] = (nn_real)(0.5 * v * (1.0 + erf(v * M_SQRT1_2)));
    }
}

void nn_kernel_gelu_backward(nn_real *dx, const nn_real *dy, const nn_real *x, size_t n)
{
#ifndef NN_DOUBLE
    if (nn_get_kernels() != NN_KERNELS_NAIVE) {
        gelu_backward_fast(dx, dy, x, n);
        return;
    }
#endif
    const double inv_sqrt_2pi = 0.39894228040143267794;
    for (size_t i = 0; i < n; i++) {
        double v = x[i];
        double cdf = 0.5 * (1.0 + erf(v * M_SQRT1_2)), pdf = inv_sqrt_2pi * exp(-0.5 * v * v);
        dx[i] += dy[i] * (nn_real)(cdf + v * pdf);
    }
}

/* softmax(x)_j = exp(x_j - m) / sum_k exp(x_k - m), with m = max_k x_k so exp never overflows */
#ifndef NN_DOUBLE
/* the same in SIMD (float, fast kernels): x - m <= 0 is what exp_nonpositive takes.
 * out may equal x (attention normalises its scores in place): every loop reads element c
 * before it writes element c, so that is safe without restrict. */
NN_SIMD_CLONES static void softmax_fast(float *out, const float *x, int rows, int cols)
{
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * cols;
        float *yr = out + (size_t)r * cols;
        float m = xr[0]; /* a plain loop: clang does not take a select as a max reduction */
        for (int c = 1; c < cols; c++) m = xr[c] > m ? xr[c] : m;
        float sum = 0;
#pragma omp simd reduction(+ : sum)
        for (int c = 0; c < cols; c++) {
            yr[c] = exp_nonpositive(xr[c] - m);
            sum += yr[c];
        }
        const float inv = 1 / sum;
#pragma omp simd
        for (int c = 0; c < cols; c++) yr[c] *= inv;
    }
}
#endif

void nn_kernel_softmax(nn_real *out, const nn_real *x, int rows, int cols)
{
#ifndef NN_DOUBLE
    if (nn_get_kernels() != NN_KERNELS_NAIVE) {
        softmax_fast(out, x, rows, cols);
        return;
    }
#endif
    for (int r = 0; r < rows; r++) {
        const nn_real *xr = x + (size_t)r * cols;
        nn_real *yr = out + (size_t)r * cols;
        nn_real m = xr[0];
        for (int c = 1; c < cols; c++) m = xr[c] > m ? xr[c] : m;
        double sum = 0;
        for (int c = 0; c < cols; c++) {
            yr[c] = (nn_real)exp((double)(xr[c] - m));
            sum += yr[c];
        }
        for (int c = 0; c < cols; c++) yr[c] = (nn_real)(yr[c] / sum);
    }
}

/* log softmax(x)_j = x_j - m - log sum_k exp(x_k - m) */
void nn_kernel_log_softmax(nn_real *out, const nn_real *x, int rows, int cols)
{
    for (int r = 0; r < rows; r++) {
        const nn_real *xr = x + (size_t)r * cols;
        nn_real *yr = out + (size_t)r * cols;
        nn_real m = xr[0];
        for (int c = 1; c < cols; c++) m = xr[c] > m ? xr[c] : m;
        double sum = 0;
        for (int c = 0; c < cols; c++) sum += exp((double)(xr[c] - m));
        nn_real log_sum = (nn_real)log(sum); /* subtract m first: exact for huge logits */
        for (int c = 0; c < cols; c++) yr[c] = (xr[c] - m) - log_sum;
    }
}

int nn_kernel_argmax(const nn_real *x, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}
