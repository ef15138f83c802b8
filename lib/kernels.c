/* kernels.c -- the kernel switch, the thread setting, and the row-wise loops that the ops and
 * the hand-written-backprop lessons share. */
#include "nn.h"

#include <math.h>
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

void nn_kernel_add_row(nn_real *out, const nn_real *row, int rows, int cols)
{
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) out[(size_t)r * cols + c] += row[c];
}

void nn_kernel_sum_rows(nn_real *out, const nn_real *x, int rows, int cols)
{
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) out[c] += x[(size_t)r * cols + c];
}

/* softmax(x)_j = exp(x_j - m) / sum_k exp(x_k - m), with m = max_k x_k so exp never overflows */
void nn_kernel_softmax(nn_real *out, const nn_real *x, int rows, int cols)
{
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
