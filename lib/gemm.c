/* gemm.c -- C = alpha * op(A) @ op(B) + beta * C, the one kernel deep learning runs on.
 *
 * Two versions of the same arithmetic: a naive triple loop a student can check by hand, and
 * OpenBLAS through the standard CBLAS interface (so BLIS or MKL can be linked instead).
 * nn_gemm picks one at run time (nn_set_kernels, $NN_KERNELS, a lesson's --kernels). */
#include "nn.h"

#include <cblas.h>

/* element (i,j) of op(X) where X is stored row-major with row stride ld */
#define OP_AT(X, trans, i, j, ld) ((trans) ? (X)[(size_t)(j) * (ld) + (i)] : (X)[(size_t)(i) * (ld) + (j)])

/* C[i][j] = alpha * sum_k op(A)[i][k] * op(B)[k][j] + beta * C[i][j]
 * The sum is accumulated in double so the reference is as exact as it can be. beta == 0
 * overwrites C (even NaN in C), as BLAS does. */
void nn_gemm_naive(int transA, int transB, int M, int N, int K, nn_real alpha,
                   const nn_real *A, int lda, const nn_real *B, int ldb, nn_real beta,
                   nn_real *C, int ldc)
{
    for (int i = 0; i < M; i++) {
        for (int j = 0; j < N; j++) {
            double sum = 0.0;
            for (int k = 0; k < K; k++)
                sum += (double)OP_AT(A, transA, i, k, lda) * (double)OP_AT(B, transB, k, j, ldb);
            nn_real *c = &C[(size_t)i * ldc + j];
            *c = (nn_real)(alpha * sum + (beta == 0 ? 0.0 : (double)beta * *c));
        }
    }
}

void nn_gemm_blas(int transA, int transB, int M, int N, int K, nn_real alpha,
                  const nn_real *A, int lda, const nn_real *B, int ldb, nn_real beta,
                  nn_real *C, int ldc)
{
    if (M == 0 || N == 0) return;
#ifdef NN_DOUBLE
    cblas_dgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans,
                transB ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#else
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans,
                transB ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#endif
}

void nn_gemm(int transA, int transB, int M, int N, int K, nn_real alpha, const nn_real *A,
             int lda, const nn_real *B, int ldb, nn_real beta, nn_real *C, int ldc)
{
    if (M < 0 || N < 0 || K < 0)
        nn_fail("nn_gemm: negative size M=%d N=%d K=%d", M, N, K);
    if (lda < (transA ? M : K) || ldb < (transB ? K : N) || ldc < N || lda < 1 || ldb < 1 || ldc < 1)
        nn_fail("nn_gemm: leading dimensions lda=%d ldb=%d ldc=%d too small for M=%d N=%d K=%d "
                "(transA=%d transB=%d)", lda, ldb, ldc, M, N, K, transA, transB);
    if (nn_get_kernels() == NN_KERNELS_NAIVE)
        nn_gemm_naive(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    else
        nn_gemm_blas(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
