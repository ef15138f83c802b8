/* quantize.c -- model compression: magnitude pruning and symmetric int8 quantization.
 *
 * Pruning (Han et al. 2015): a trained layer has many weights close to zero; set the fraction
 * `sparsity` with the smallest |w| to exactly zero, and remember which ones with a mask so that
 * fine-tuning can keep them at zero (re-apply the mask after every optimizer step).
 *
 * Quantization (Jacob et al. 2018, with zero-point 0): store each real x as an 8-bit integer q
 * and one real scale s shared by many values,
 *     q = clamp(round(x / s), -127, 127),     x ~ s q,     s = max|x| / 127,
 * so the largest |x| maps to 127 and the rounding error is at most half a step, |x - s q| <= s/2
 * (values beyond the calibrated max|x| saturate at +-127 instead). -128 is left out so that the
 * range is symmetric and q -> -q never overflows. A layer y = x W^T + b then runs on integers:
 *     x ~ sx qx,  W[j,:] ~ sw[j] qw[j,:]   =>   y[i,j] ~ sx sw[j] (sum_k qx[i,k] qw[j,k] + qb[j])
 * with qb[j] = round(b[j] / (sx sw[j])): an int8 x int8 product accumulated in int32
 * (nn_quantize_gemm), then one real multiply per output (requantization) to bring the int32
 * sums back to int8 at the next layer's input scale sy: qy = clamp(round(acc sx sw[j] / sy)).
 * Production engines (gemmlowp, TFLite, FBGEMM) do that multiply in fixed point; here it is a
 * double, which is clearer and rounds the same way up to ties. */
#include "nn.h"

#include <math.h>
#include <stdlib.h>

#define QMAX 127

static void check_finite(const char *fn, const nn_real *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite((double)x[i]))
            nn_fail("%s: value %zu is %g; only finite values can be quantized or pruned", fn, i,
                    (double)x[i]);
}

static void check_scale(const char *fn, nn_real s)
{
    if (!(s > 0) || !isfinite((double)s))
        nn_fail("%s: the scale must be a positive finite number, got %g", fn, (double)s);
}

/* round half away from zero, then clamp to [lo, hi] (x is finite) */
static int clamp_round(double x, int lo, int hi)
{
    double r = round(x);
    return r < lo ? lo : r > hi ? hi : (int)r;
}

/* ------------------------------------------------------------------------------------------ */
/* quantize and dequantize                                                                     */
/* ------------------------------------------------------------------------------------------ */

/* s = max|x| / 127; when that is 0 (all zeros, or a max so tiny it underflows) s = 1: any
 * scale represents zeros exactly, and 1 keeps every later division finite. */
nn_real nn_quantize_scale(const nn_real *x, size_t n)
{
    if (n == 0) nn_fail("nn_quantize_scale: no values");
    check_finite("nn_quantize_scale", x, n);
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs((double)x[i]));
    nn_real s = (nn_real)(m / QMAX);
    return s > 0 ? s : 1;
}

/* q[i] = clamp(round(x[i] / scale), -127, 127) */
void nn_quantize(int8_t *q, const nn_real *x, size_t n, nn_real scale)
{
    check_scale("nn_quantize", scale);
    check_finite("nn_quantize", x, n);
    for (size_t i = 0; i < n; i++) q[i] = (int8_t)clamp_round((double)x[i] / scale, -QMAX, QMAX);
}

/* x[i] = scale q[i] */
void nn_quantize_dequantize(nn_real *x, const int8_t *q, size_t n, nn_real scale)
{
    for (size_t i = 0; i < n; i++) x[i] = scale * (nn_real)q[i];
}

/* w (rows, cols) -> q (rows, cols), scales (rows). Per channel: one scale per output row,
 * scales[r] = max_c |w[r,c]| / 127. Per tensor: one scale for the whole matrix, written into
 * every scales[r] so that the code downstream reads both the same way. */
void nn_quantize_weights(int8_t *q, nn_real *scales, const nn_real *w, int rows, int cols,
                         int per_channel)
{
    if (rows <= 0 || cols <= 0)
        nn_fail("nn_quantize_weights: a (%d,%d) matrix has no weights to quantize", rows, cols);
    size_t n = (size_t)rows * cols;
    check_finite("nn_quantize_weights", w, n);
    nn_real whole = per_channel ? 0 : nn_quantize_scale(w, n);
    for (int r = 0; r < rows; r++) {
        const nn_real *row = w + (size_t)r * cols;
        scales[r] = per_channel ? nn_quantize_scale(row, cols) : whole;
        nn_quantize(q + (size_t)r * cols, row, cols, scales[r]);
    }
}

/* w[r,c] = scales[r] q[r,c] */
void nn_quantize_dequantize_weights(nn_real *w, const int8_t *q, const nn_real *scales, int rows,
                                    int cols)
{
    for (int r = 0; r < rows; r++)
        nn_quantize_dequantize(w + (size_t)r * cols, q + (size_t)r * cols, cols, scales[r]);
}

/* qb[j] = round(b[j] / (x_scale w_scales[j])): the bias in the units of the int32 sums it is
 * added to. A bias too large for int32 at that scale is refused. */
void nn_quantize_bias(int32_t *qb, const nn_real *b, int n, nn_real x_scale,
                      const nn_real *w_scales)
{
    if (n < 0) nn_fail("nn_quantize_bias: negative size %d", n);
    check_scale("nn_quantize_bias", x_scale);
    check_finite("nn_quantize_bias", b, (size_t)n);
    for (int j = 0; j < n; j++) {
        check_scale("nn_quantize_bias", w_scales[j]);
        double v = round((double)b[j] / ((double)x_scale * (double)w_scales[j]));
        if (fabs(v) > INT32_MAX)
            nn_fail("nn_quantize_bias: bias %d = %g is %.3g steps of %g, beyond int32", j,
                    (double)b[j], v, (double)x_scale * w_scales[j]);
        qb[j] = (int32_t)v;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* the integer kernels                                                                         */
/* ------------------------------------------------------------------------------------------ */

/* C (M,N) = A (M,K) B (N,K)^T + bias (N) or NULL, every product int8 x int8 summed in int32.
 * B is stored like a Linear weight (out, in), so both operands are read along contiguous rows.
 * Each product is at most 128^2 = 16384 in size, so K of them (plus the bias) fit in int32 as
 * long as K 16384 + max|bias| <= 2^31 - 1 (K up to 131071); larger sizes are refused, since a
 * signed overflow would be silent garbage. The naive loop, kept readable on purpose; `omp simd`
 * lets the compiler split the sum over SIMD lanes (exact for integers in any order). Fast int8
 * kernels add cache blocking and instructions made for it (AVX-512 VNNI's vpdpbusd, ARM's
 * sdot: four 8-bit products summed into each 32-bit lane per instruction). */
void nn_quantize_gemm(int32_t *C, const int8_t *A, const int8_t *B, const int32_t *bias, int M,
                      int N, int K)
{
    if (M < 0 || N < 0 || K < 0)
        nn_fail("nn_quantize_gemm: negative size M=%d N=%d K=%d", M, N, K);
    int64_t max_bias = 0;
    for (int j = 0; bias && j < N; j++) {
        int64_t v = bias[j] < 0 ? -(int64_t)bias[j] : bias[j];
        if (v > max_bias) max_bias = v;
    }
    if ((int64_t)K * 128 * 128 + max_bias > INT32_MAX)
        nn_fail("nn_quantize_gemm: K=%d products of 8-bit values plus a bias of %lld could "
                "overflow the int32 sums (K at most %d)", K, (long long)max_bias,
                (int)((INT32_MAX - max_bias) / (128 * 128)));
    for (int i = 0; i < M; i++) {
        const int8_t *a = A + (size_t)i * K;
        for (int j = 0; j < N; j++) {
            const int8_t *b = B + (size_t)j * K;
            int32_t sum = 0;
#pragma omp simd reduction(+ : sum)
            for (int k = 0; k < K; k++) sum += (int32_t)a[k] * (int32_t)b[k];
            if (bias) sum += bias[j];
            C[(size_t)i * N + j] = sum;
        }
    }
}

/* int32 sums acc (M,N) -> int8 at the next layer's scale: out = clamp(round(acc multiplier[j]))
 * with multiplier[j] = sx sw[j] / sy; relu != 0 clamps below at 0 (ReLU comes for free). */
void nn_quantize_requantize(int8_t *out, const int32_t *acc, const nn_real *multiplier, int M,
                            int N, int relu)
{
    for (int j = 0; j < N; j++) check_scale("nn_quantize_requantize", multiplier[j]);
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            size_t k = (size_t)i * N + j;
            out[k] = (int8_t)clamp_round((double)acc[k] * multiplier[j], relu ? 0 : -QMAX, QMAX);
        }
}

/* int32 sums acc (M,N) -> reals: out[i,j] = scale[j] acc[i,j] (scale[j] = sx sw[j]) */
void nn_quantize_dequantize_acc(nn_real *out, const int32_t *acc, const nn_real *scale, int M,
                                int N)
{
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            size_t k = (size_t)i * N + j;
            out[k] = (nn_real)((double)scale[j] * acc[k]);
        }
}

/* ------------------------------------------------------------------------------------------ */
/* magnitude pruning                                                                           */
/* ------------------------------------------------------------------------------------------ */

/* the k-th smallest of a[0..n-1] (k from 0), by quickselect (Hoare 1961): partition around
 * a pivot, keep only the side that holds position k. O(n) on average; a is reordered. */
static double select_kth(double *a, size_t n, size_t k)
{
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        double pivot = a[lo + (hi - lo) / 2];
        size_t i = lo, j = hi;
        while (i <= j) { /* afterwards a[lo..j] <= pivot <= a[i..hi] */
            while (a[i] < pivot) i++;
            while (a[j] > pivot) j--;
            if (i <= j) {
                double t = a[i];
                a[i] = a[j], a[j] = t;
                i++;
                if (j == 0) break;
                j--;
            }
        }
        if (k <= j) hi = j;
        else if (k >= i) lo = i;
        else return a[k]; /* between j and i: equal to the pivot */
    }
    return a[k];
}

/* mask (n): 0 for the k = round(sparsity n) weights of smallest |w|, 1 for the rest; returns k.
 * With t the k-th smallest |w|, every |w| < t is pruned, every |w| > t kept, and the ones equal
 * to t (ties: many equal |w|, e.g. zeros left by an earlier pruning) are pruned in index
 * order until exactly k are: every kept |w| >= every pruned |w|. */
size_t nn_prune_magnitude(uint8_t *mask, const nn_real *w, size_t n, double sparsity)
{
    if (!(sparsity >= 0 && sparsity <= 1))
        nn_fail("nn_prune_magnitude: sparsity must be in [0,1], got %g", sparsity);
    if (n == 0) nn_fail("nn_prune_magnitude: no weights");
    check_finite("nn_prune_magnitude", w, n);
    size_t k = (size_t)llround(sparsity * (double)n);
    if (k > n) k = n;
    for (size_t i = 0; i < n; i++) mask[i] = 1;
    if (k == 0) return 0;
    double *mag = nn_malloc(nn_size_mul(n, sizeof *mag, "nn_prune_magnitude"));
    for (size_t i = 0; i < n; i++) mag[i] = fabs((double)w[i]);
    double t = select_kth(mag, n, k - 1); /* the largest magnitude that is pruned */
    free(mag);
    size_t below = 0;
    for (size_t i = 0; i < n; i++) below += fabs((double)w[i]) < t;
    size_t ties = k - below; /* how many of the |w| == t go */
    for (size_t i = 0; i < n; i++) {
        double m = fabs((double)w[i]);
        if (m < t) mask[i] = 0;
        else if (m == t && ties > 0) mask[i] = 0, ties--;
    }
    return k;
}

/* w[i] = 0 where mask[i] == 0: call it after every optimizer step while fine-tuning, so the
 * pruned weights stay pruned (the optimizer's momentum would otherwise revive them) */
void nn_prune_apply(nn_real *w, const uint8_t *mask, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!mask[i]) w[i] = 0;
}

/* fraction of the n values that are exactly zero */
double nn_prune_sparsity(const nn_real *w, size_t n)
{
    if (n == 0) nn_fail("nn_prune_sparsity: no weights");
    size_t zeros = 0;
    for (size_t i = 0; i < n; i++) zeros += w[i] == 0;
    return (double)zeros / (double)n;
}
