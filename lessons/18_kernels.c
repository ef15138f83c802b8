/* Lesson 18 -- why kernels matter: the same arithmetic, 100x apart.
 *
 * Concept: deep learning spends nearly all its time in one operation, the matrix product
 * C = A B (a dense layer is one; a convolution becomes one through im2col). Its 2 n^3 FLOPs are
 * the same in every version below; what changes is how the loops walk through memory and how
 * much of the machine they use. A modern core can do 32 or 64 float operations per cycle, but
 * only on data that is already in registers: the art of a GEMM kernel is to bring each number
 * from memory once and use it many times.
 *
 * What you will see:
 *   1. the machine's peak: threads x FLOPs/cycle x clock, with FLOPs/cycle from the SIMD width
 *      (AVX2+FMA float: 2 FMA units x 8 lanes x 2 FLOPs = 32), and which OpenBLAS kernel ran;
 *   2. GEMM in five versions, each checked against the naive result before it is timed:
 *        naive i-j-k (the textbook loop: walks B down a column, a new cache line per step),
 *        the library's naive twin nn_gemm_naive (the same loop, sums in double),
 *        reordered i-k-j (walks B along rows: contiguous, vectorised by the compiler),
 *        blocked: tiles that stay in cache, a 4x8 register block, OpenMP over row blocks,
 *        OpenBLAS through nn_gemm_blas (packing, hand-written SIMD micro-kernels, threads);
 *      GFLOP/s against n = 64 ... 2048 on one log-scale figure, and the fraction of peak;
 *   3. convolution on the layer shapes of lesson 07: direct loops (nn_conv2d_forward_naive)
 *      against im2col + GEMM (nn_conv2d_forward_im2col).
 *
 * Run:  make lesson18                   (full: n up to 2048, batch 64 convolutions; ~40 s)
 *       make lesson18 ARGS="--quick"    (n up to 256, batch 16 convolutions; 2-4 s)
 *       flags: --seed N, --epochs N (timed repetitions per measurement; the median is kept),
 *       --threads N, --kernels naive|blas (the GEMM inside im2col), --out DIR, --help
 *
 * Expected (full mode, seed 42, a 2-core AMD EPYC Zen 4 VM, OpenBLAS 0.3.21 picking its
 * Cooperlake kernel; /proc/cpuinfo says 2596 MHz, the cores measurably run at 3.64 GHz): peak
 * 233 GFLOP/s (117 per core). Measured with the machine SHARED with other jobs (load average
 * 3.5 on 2 cores), so every timing is low and moves by up to 2x from run to run: naive i-j-k
 * 2-4 GFLOP/s, falling to 0.6 at n = 512; reordered i-k-j about 9, 6.5 at n = 2048 (B no
 * longer fits in cache); blocked + OpenMP 16 at n = 2048; OpenBLAS 46-91 (39% of peak at
 * n = 2048); im2col + GEMM 11x faster than the direct convolution loops; every version
 * within 2.7e-7 of the naive result (relative to sum |a||b|). One free core, timed by CPU
 * time: i-k-j 22, blocked 29, OpenBLAS 91 GFLOP/s at n = 512 (OpenBLAS: 78% of a core's peak).
 * The full run takes about 40 s; the quick run 2-4 s.
 * Reference: Goto & van de Geijn, "Anatomy of high-performance matrix multiplication", ACM
 * TOMS 34(3), 2008: a tuned GEMM reaches 80-95% of a core's peak, two orders of magnitude above
 * the textbook loop.
 * Figures, metrics.json (errors) and timing.json (speeds) go to out/lesson18/.
 */
#include "nn.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* OpenBLAS tells which kernel it picked for this CPU. Weak, like lib/kernels.c does: linked
 * against another BLAS (BLIS, MKL) they are simply absent and the lesson says so. */
extern char *openblas_get_corename(void) __attribute__((weak));
extern char *openblas_get_config(void) __attribute__((weak));

/* ------------------------------------------------------------------------------------------ */
/* 1. The machine's peak                                                                       */
/* ------------------------------------------------------------------------------------------ */

/* peak FLOP/s = cores x FLOPs per cycle per core x cycles per second
 * FLOPs per cycle per core = SIMD units x lanes x FLOPs per lane per instruction:
 *   lanes: a 512-bit (AVX-512) register holds 16 floats, 256-bit (AVX2) 8, 128-bit (SSE) 4;
 *   FMA (fused multiply-add, a*b + c) counts as 2 FLOPs in one instruction;
 *   units: recent x86 cores have 2 FMA pipes (Intel since Haswell, AMD since Zen 2).
 * So AVX2 + FMA: 2 x 8 x 2 = 32 float FLOPs per cycle; AVX-512 on two 512-bit pipes: 64.
 * AMD before Zen 5 (cpu family < 26) runs AVX-512 on its 256-bit pipes in two halves: still
 * 32. What this cannot see: Intel parts with a single AVX-512 pipe (32, not 64), and a VM's
 * "core" that is really a hyper-thread sharing its pipes with a neighbour.
 * The clock: /proc/cpuinfo's "cpu MHz" is the current (often, in a VM, the nominal) clock, but
 * a core may run faster (turbo). So we also measure it: a chain of dependent integer adds runs
 * at exactly one add per cycle on every current CPU, so adds / CPU-seconds is the clock. CPU
 * time of this thread, not wall time, so that time spent descheduled on a busy machine does
 * not count. The peak uses the larger of the two, so that it stays an upper bound. */
typedef struct machine {
    int online_cpus, threads;
    double cpuinfo_mhz;  /* 0 when /proc/cpuinfo has no "cpu MHz" */
    double measured_mhz;
    double mhz;          /* the larger: what the peak uses */
    int amd_family;      /* "cpu family" of an AMD CPU, else 0 */
    const char *isa;     /* the widest float SIMD the CPU offers */
    int lanes, fma, units;
    double flops_per_cycle, peak_gflops, core_peak_gflops;
    const char *compiled_isa; /* what this file was compiled for (its loops can use no more) */
    int compiled_lanes, compiled_fma;
} machine;

/* the largest "cpu MHz" in /proc/cpuinfo (one line per logical CPU), and "cpu family" */
static void cpuinfo_read(double *mhz, int *family)
{
    *mhz = 0, *family = 0;
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    double v;
    while (fgets(line, sizeof line, f)) {
        const char *colon = strchr(line, ':');
        if (!colon) continue;
        if (strncmp(line, "cpu MHz", 7) == 0 && sscanf(colon + 1, "%lf", &v) == 1 && v > *mhz)
            *mhz = v;
        if (strncmp(line, "cpu family", 10) == 0) sscanf(colon + 1, "%d", family);
    }
    fclose(f);
}

static double thread_cpu_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

/* Cycles per second from 8 x 2^21 dependent adds (a few ms), best of 5 tries. The empty asm
 * tells the compiler that x may have changed, so it cannot fold the adds into x += 8 inc. */
static double measure_mhz(void)
{
    double best = 0;
    for (int trial = 0; trial < 5; trial++) {
        uint64_t x = (uint64_t)trial, inc = (uint64_t)trial + 1;
        const long n = 1L << 21;
        double t0 = thread_cpu_seconds();
        for (long i = 0; i < n; i++) {
#pragma GCC unroll 8
            for (int u = 0; u < 8; u++) {
                x += inc;
                __asm__ volatile("" : "+r"(x));
            }
        }
        double t = thread_cpu_seconds() - t0;
        if (t > 0 && x != 0) best = fmax(best, 8.0 * n / t * 1e-6);
    }
    return best;
}

static machine machine_describe(void)
{
    machine m = {0};
    m.online_cpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
    m.threads = nn_get_threads(); /* --threads, or every core */
    int family;
    cpuinfo_read(&m.cpuinfo_mhz, &family);
    m.measured_mhz = measure_mhz();
    m.mhz = fmax(m.cpuinfo_mhz, m.measured_mhz);
    if (m.mhz <= 0) m.mhz = 2500; /* neither worked (no /proc/cpuinfo, no CPU clock): a guess */
    m.units = 2;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_is("amd")) m.amd_family = family;
    m.fma = __builtin_cpu_supports("fma") != 0;
    if (__builtin_cpu_supports("avx512f") && !(m.amd_family && m.amd_family < 26)) {
        m.isa = "AVX-512", m.lanes = 16;
    } else if (__builtin_cpu_supports("avx512f")) {
        m.isa = "AVX-512 on 256-bit pipes (AMD before Zen 5)", m.lanes = 8;
    } else if (__builtin_cpu_supports("avx2") || __builtin_cpu_supports("avx")) {
        m.isa = __builtin_cpu_supports("avx2") ? "AVX2" : "AVX", m.lanes = 8;
    } else {
        m.isa = "SSE", m.lanes = 4;
    }
#else
    m.isa = "not x86: 128-bit SIMD with FMA assumed", m.lanes = 4, m.fma = 1;
#endif
    m.flops_per_cycle = (double)m.units * m.lanes * (m.fma ? 2 : 1);
    m.core_peak_gflops = m.flops_per_cycle * m.mhz * 1e-3;
    m.peak_gflops = m.core_peak_gflops * m.threads;
    /* The compiler can only use the instructions it was allowed to: the Makefile's
     * -march=x86-64-v2 means SSE (4 lanes) and no FMA, whatever the CPU has. OpenBLAS chooses
     * its kernel when it starts, from cpuid, so it uses all of the CPU. */
#if defined(__AVX512F__)
    m.compiled_isa = "AVX-512", m.compiled_lanes = 16;
#elif defined(__AVX__)
    m.compiled_isa = "AVX/AVX2", m.compiled_lanes = 8;
#else
    m.compiled_isa = "SSE", m.compiled_lanes = 4;
#endif
#ifdef __FMA__
    m.compiled_fma = 1;
#endif
    return m;
}

/* ------------------------------------------------------------------------------------------ */
/* 2. GEMM, four ways by hand. C (M,N) = A (M,K) @ B (K,N), row-major, no strides or          */
/*    transposes: the bare arithmetic  C[i][j] = sum_k A[i][k] B[k][j],  2 M N K FLOPs.       */
/* ------------------------------------------------------------------------------------------ */

/* i-j-k: the definition. The innermost loop runs down column j of B: consecutive k are N
 * floats apart, so every step touches a new cache line (64 bytes = 16 floats, of which one
 * is used); once B outgrows the caches (n = 512: B is 1 MB) most of them are misses. The sum
 * is one long chain of dependent adds, which the compiler may not reorder (float addition is
 * not associative), so no SIMD either. */
static void gemm_ijk(nn_real *C, const nn_real *A, const nn_real *B, int M, int N, int K)
{
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            nn_real sum = 0;
            for (int k = 0; k < K; k++) sum += A[(size_t)i * K + k] * B[(size_t)k * N + j];
            C[(size_t)i * N + j] = sum;
        }
}

/* i-k-j: the same sums, the two inner loops swapped. Now the innermost loop reads row k of B
 * and writes row i of C, both contiguous, and its N updates C[i][j] += a B[k][j] are
 * independent of each other: the compiler turns them into SIMD instructions (4 or 8 lanes at
 * once) -- provided it knows that writing c[j] cannot change b[j+1]. `restrict` promises
 * that C, A and B do not overlap, and `#pragma omp simd` asks for SIMD outright (GCC's -O2
 * otherwise skips loops of unknown length, which need a scalar tail for the last j).
 * Every C[i][j] still adds its K terms in the order k = 0, 1, ..., K-1. */
static void gemm_ikj(nn_real *restrict C, const nn_real *restrict A, const nn_real *restrict B,
                     int M, int N, int K)
{
    memset(C, 0, (size_t)M * N * sizeof *C);
    for (int i = 0; i < M; i++) {
        nn_real *c = C + (size_t)i * N;
        for (int k = 0; k < K; k++) {
            const nn_real a = A[(size_t)i * K + k];
            const nn_real *b = B + (size_t)k * N;
#pragma omp simd
            for (int j = 0; j < N; j++) c[j] += a * b[j];
        }
    }
}

/* Blocked. i-k-j still reads all of B (K x N) once per row of C: for n = 2048 that is 16 MB,
 * far more than the caches, so B comes from main memory 2048 times. Tiling cuts the loops
 * into blocks small enough to stay in cache while they are reused (Goto & van de Geijn 2008):
 *   a TILE_K x TILE_J tile of B (256 x 256 floats = 256 KB, a core's L2 cache holds it) is
 *   reused by every row of a row block of C;
 *   inside a tile, a 4 x 8 block of C is held in registers (acc below) for the whole k loop:
 *   each B[k][j..j+7] loaded is used by 4 rows, each A[i][k] by 8 columns, and C is read and
 *   written once per tile instead of once per k.
 * The row blocks are independent (each thread owns its rows of C), so OpenMP shares them out
 * across the threads. BLAS goes further: it copies ("packs") tiles of A and B into the exact
 * order its micro-kernel reads them, writes that micro-kernel in assembly for the CPU's widest
 * SIMD with FMA, and tunes every block size to the CPU's caches. */
enum { TILE_I = 64, TILE_K = 256, TILE_J = 256, MR = 4, NR = 8 };

/* C[0..4)[0..8) += A[0..4)[0..kc) @ B[0..kc)[0..8): the register block (row strides lda, ldb,
 * ldc). The two inner loops are unrolled completely (the pragmas), so acc is no longer an
 * array in memory but 32 named values that the compiler keeps in 8 SSE registers of 4 floats;
 * each k then costs 2 loads of B, 4 of A and 8 vector multiplies and adds. Without the
 * pragmas GCC keeps acc on the stack and loads and stores it on every k: half the speed. */
static void micro_4x8(nn_real *C, const nn_real *A, const nn_real *B, int kc, int lda, int ldb,
                      int ldc)
{
    nn_real acc[MR][NR] = {{0}};
    for (int k = 0; k < kc; k++) {
        const nn_real *b = B + (size_t)k * ldb;
#pragma GCC unroll 4
        for (int r = 0; r < MR; r++) {
            const nn_real a = A[(size_t)r * lda + k];
#pragma GCC unroll 8
            for (int j = 0; j < NR; j++) acc[r][j] += a * b[j];
        }
    }
    for (int r = 0; r < MR; r++)
        for (int j = 0; j < NR; j++) C[(size_t)r * ldc + j] += acc[r][j];
}

/* the edges of a tile that do not fill a 4 x 8 block: plain i-k-j on rows [i0,i1), columns
 * [j0,j1), terms [k0,k1) */
static void tile_ikj(nn_real *restrict C, const nn_real *restrict A, const nn_real *restrict B,
                     int N, int K, int i0, int i1, int j0, int j1, int k0, int k1)
{
    for (int i = i0; i < i1; i++)
        for (int k = k0; k < k1; k++) {
            const nn_real a = A[(size_t)i * K + k];
#pragma omp simd
            for (int j = j0; j < j1; j++) C[(size_t)i * N + j] += a * B[(size_t)k * N + j];
        }
}

static void gemm_blocked(nn_real *C, const nn_real *A, const nn_real *B, int M, int N, int K)
{
    /* One thread for a tiny product (64^3 multiply-adds or fewer), as OpenBLAS does: waking a
     * second thread costs more than it saves. Rows per block: TILE_I, or fewer when that would
     * leave threads idle (small M). */
    const int threads = (double)M * N * K <= 64.0 * 64 * 64 ? 1 : nn_get_threads();
    int rows = (M + threads - 1) / threads;
    rows = (rows + MR - 1) / MR * MR;
    if (rows > TILE_I) rows = TILE_I;
    const int blocks = (M + rows - 1) / rows;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (int bi = 0; bi < blocks; bi++) {
        const int i0 = bi * rows, i1 = i0 + rows < M ? i0 + rows : M;
        memset(C + (size_t)i0 * N, 0, (size_t)(i1 - i0) * N * sizeof *C);
        for (int k0 = 0; k0 < K; k0 += TILE_K) {
            const int k1 = k0 + TILE_K < K ? k0 + TILE_K : K;
            for (int j0 = 0; j0 < N; j0 += TILE_J) {
                const int j1 = j0 + TILE_J < N ? j0 + TILE_J : N;
                const int jfull = j0 + (j1 - j0) / NR * NR; /* columns covered by 4x8 blocks */
                int i = i0;
                for (; i + MR <= i1; i += MR) {
                    for (int j = j0; j < jfull; j += NR)
                        micro_4x8(C + (size_t)i * N + j, A + (size_t)i * K + k0,
                                  B + (size_t)k0 * N + j, k1 - k0, K, N, N);
                    tile_ikj(C, A, B, N, K, i, i + MR, jfull, j1, k0, k1); /* right edge */
                }
                tile_ikj(C, A, B, N, K, i, i1, j0, j1, k0, k1); /* bottom edge */
            }
        }
    }
}

/* the library's two GEMMs, in the same shape as ours */
static void gemm_lib_naive(nn_real *C, const nn_real *A, const nn_real *B, int M, int N, int K)
{
    nn_gemm_naive(0, 0, M, N, K, 1, A, K, B, N, 0, C, N);
}

static void gemm_lib_blas(nn_real *C, const nn_real *A, const nn_real *B, int M, int N, int K)
{
    nn_gemm_blas(0, 0, M, N, K, 1, A, K, B, N, 0, C, N);
}

typedef void (*gemm_fn)(nn_real *C, const nn_real *A, const nn_real *B, int M, int N, int K);

typedef struct version {
    const char *key;    /* result keys: KEY_gflops_N */
    const char *label;  /* table */
    const char *legend; /* figure (gnuplot's enhanced text: \\_ is a literal underscore) */
    gemm_fn fn;
    int max_n;          /* full mode skips larger sizes: they would take minutes */
    int pool;           /* its threads: ONE_THREAD, OPENMP or OPENBLAS (see let_threads_sleep) */
} version;

enum { ONE_THREAD, OPENMP, OPENBLAS };

#define NSIZES 6
static const int SIZES[NSIZES] = {64, 128, 256, 512, 1024, 2048};
enum { NAIVE, LIB_NAIVE, REORDERED, BLOCKED, BLAS, NVERSIONS }; /* rows of VERSIONS */
static const version VERSIONS[NVERSIONS] = {
    {"naive", "naive i-j-k", "naive i-j-k", gemm_ijk, 512, ONE_THREAD},
    {"lib_naive", "nn_gemm_naive", "nn\\_gemm\\_naive (sums in double)", gemm_lib_naive, 512,
     ONE_THREAD},
    {"reordered", "reordered i-k-j", "reordered i-k-j", gemm_ikj, 2048, ONE_THREAD},
    {"blocked", "blocked + OpenMP", "blocked tiles + OpenMP", gemm_blocked, 2048, OPENMP},
    {"blas", "OpenBLAS (nn_gemm_blas)", "OpenBLAS (nn\\_gemm\\_blas)", gemm_lib_blas, 2048,
     OPENBLAS},
};

/* ------------------------------------------------------------------------------------------ */
/* Checking before timing                                                                      */
/* ------------------------------------------------------------------------------------------ */

/* A fast kernel that is wrong is worth nothing, so each result is compared with the naive one
 * (nn_gemm_naive, whose sums are in double) before it is timed. The error of a float dot
 * product is bounded relative to the sum of the absolute values of its terms, not to the
 * result (which can be near 0 by cancellation): |fl(c) - c| <= gamma_K sum_k |a_k||b_k|,
 * gamma_K ~ K u, u = 2^-24 (Higham, "Accuracy and Stability of Numerical Algorithms", 3.1),
 * for ANY order of summation -- which is why blocked and BLAS, adding in other orders, agree
 * to rounding and not to the last bit. So
 *     rel_error = max_ij |C_ij - ref_ij| / (|A||B|)_ij     and we fail if it exceeds K eps.
 * A kernel that drops or doubles one term of K = 2048 is off by ~1/K = 5e-4 > 2048 eps = 2.4e-4.
 * For n > 256 the reference is computed for 32 rows spread over C (rows are independent;
 * the whole naive product at n = 2048 would take minutes). */
typedef struct reference {
    int n, nrows;
    int *rows;          /* which rows of C are checked */
    nn_real *ref, *mag; /* (nrows, n): naive C rows and (|A||B|) rows */
} reference;

static void reference_build(reference *r, const nn_real *A, const nn_real *B, nn_real *absA,
                            nn_real *absB, int n)
{
    r->n = n;
    r->nrows = n <= 256 ? n : 32;
    r->rows = nn_malloc((size_t)r->nrows * sizeof *r->rows);
    r->ref = nn_malloc((size_t)r->nrows * n * sizeof *r->ref);
    r->mag = nn_malloc((size_t)r->nrows * n * sizeof *r->mag);
    for (size_t i = 0; i < (size_t)n * n; i++) absA[i] = fabsf(A[i]), absB[i] = fabsf(B[i]);
    for (int t = 0; t < r->nrows; t++) {
        int i = r->nrows == n ? t : (int)((long)t * (n - 1) / (r->nrows - 1)); /* first..last */
        r->rows[t] = i;
        nn_gemm_naive(0, 0, 1, n, n, 1, A + (size_t)i * n, n, B, n, 0, r->ref + (size_t)t * n, n);
        nn_gemm_naive(0, 0, 1, n, n, 1, absA + (size_t)i * n, n, absB, n, 0,
                      r->mag + (size_t)t * n, n);
    }
}

static void reference_free(reference *r) { free(r->rows), free(r->ref), free(r->mag); }

/* max_i |out_i - ref_i| / max(mag_i, tiny) over n values */
static double max_rel_error(const nn_real *out, const nn_real *ref, const nn_real *mag, size_t n,
                            size_t *worst)
{
    double e = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)out[i] - ref[i]) / fmax(mag[i], FLT_MIN);
        if (!(d <= e)) e = d, *worst = i; /* a NaN is the worst error of all */
    }
    return e;
}

static double check_gemm(const version *v, const reference *r, const nn_real *C)
{
    double e = 0;
    for (int t = 0; t < r->nrows; t++) {
        size_t w = 0;
        double et = max_rel_error(C + (size_t)r->rows[t] * r->n, r->ref + (size_t)t * r->n,
                                  r->mag + (size_t)t * r->n, r->n, &w);
        const double tol = r->n * FLT_EPSILON;
        if (!(et <= tol))
            nn_fail("%s disagrees with the naive GEMM at n=%d: C[%d][%zu] = %.7g, naive %.7g "
                    "(relative error %.3g > tolerance %.3g)", v->label, r->n, r->rows[t], w,
                    (double)C[(size_t)r->rows[t] * r->n + w], (double)r->ref[(size_t)t * r->n + w],
                    et, tol);
        e = fmax(e, et);
    }
    return e;
}

/* ------------------------------------------------------------------------------------------ */
/* Timing                                                                                      */
/* ------------------------------------------------------------------------------------------ */

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Seconds per call: the median of `reps` repetitions, each of `calls` calls in a row (enough
 * calls that a repetition lasts about min_seconds: a 64 x 64 GEMM takes microseconds, below
 * what one clock reading resolves reliably). The median, not the mean, because on a shared
 * machine a repetition now and then is slowed by someone else's job. */
typedef void (*timed_fn)(void *ctx);
static double time_median(timed_fn fn, void *ctx, double one_call_seconds, int reps,
                          double min_seconds)
{
    double want = ceil(min_seconds / fmax(one_call_seconds, 1e-7));
    int calls = want > 100000 ? 100000 : want < 1 ? 1 : (int)want;
    double t[64];
    if (reps > 64) reps = 64;
    for (int r = 0; r < reps; r++) {
        double t0 = nn_seconds();
        for (int c = 0; c < calls; c++) fn(ctx);
        t[r] = (nn_seconds() - t0) / calls;
    }
    qsort(t, reps, sizeof *t, compare_double);
    return reps % 2 ? t[reps / 2] : 0.5 * (t[reps / 2 - 1] + t[reps / 2]);
}

typedef struct gemm_call {
    gemm_fn fn;
    nn_real *C;
    const nn_real *A, *B;
    int n;
} gemm_call;

static void run_gemm(void *ctx)
{
    gemm_call *g = ctx;
    g->fn(g->C, g->A, g->B, g->n, g->n, g->n);
}

/* OpenMP's threads (blocked GEMM, direct convolution) and OpenBLAS's (nn_gemm_blas, im2col)
 * are two separate pools. After a call, each pool's workers keep spinning for a while, waiting
 * for more work (OpenBLAS: 2^28 clock ticks by default, about 0.1 s; OPENBLAS_THREAD_TIMEOUT);
 * if the other pool starts then, the two fight for the same cores and both slow down
 * severalfold. The lesson never calls one inside the other,
 * times them in separate phases, and pauses between phases so the spinning workers go to
 * sleep. Real code keeps to one pool at a time for the same reason. */
static void let_threads_sleep(void)
{
    struct timespec pause = {0, 200 * 1000 * 1000};
    nanosleep(&pause, NULL);
}

/* ------------------------------------------------------------------------------------------ */
/* 3. Convolution: direct loops vs im2col + GEMM                                               */
/* ------------------------------------------------------------------------------------------ */

typedef struct conv_shape {
    const char *name;
    int N, C, H, W, OC, K, pad;
} conv_shape;

typedef struct conv_call {
    const conv_shape *s;
    nn_real *out, *workspace;
    const nn_real *in, *weight, *bias;
    int im2col;
} conv_call;

static void run_conv(void *ctx)
{
    conv_call *c = ctx;
    const conv_shape *s = c->s;
    if (c->im2col)
        nn_conv2d_forward_im2col(c->out, c->in, c->weight, c->bias, s->N, s->C, s->H, s->W, s->OC,
                                 s->K, s->K, 1, s->pad, c->workspace);
    else
        nn_conv2d_forward_naive(c->out, c->in, c->weight, c->bias, s->N, s->C, s->H, s->W,
                                s->OC, s->K, s->K, 1, s->pad);
}

/* ------------------------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    const char *about =
        "Lesson 18: why kernels matter. GEMM written four ways (naive i-j-k, reordered i-k-j, "
        "cache-blocked + OpenMP, OpenBLAS) and timed in GFLOP/s against the machine's peak; "
        "convolution as direct loops vs im2col + GEMM on lesson 07's layers. Every version is "
        "checked against the naive result before it is timed. --epochs sets the timed "
        "repetitions per measurement (the median is reported).";
    nn_cli cli;
    nn_cli_parse(&cli, 18, about, argc, argv);
    nn_rng rng;
    nn_rng_seed(&rng, cli.seed);
    nn_report report;
    nn_report_init(&report, 18);
    const double start = nn_seconds();
    const int reps = nn_cli_epochs(&cli, 5, 3);
    const double min_rep_seconds = cli.quick ? 0.01 : 0.03;
    const int nsizes = cli.quick ? 3 : NSIZES; /* quick: 64, 128, 256 */

    /* --- 1. The machine ------------------------------------------------------------------- */
    machine m = machine_describe();
    const char *coretype = getenv("OPENBLAS_CORETYPE");
    printf("1. The machine\n");
    printf("   cores online %d, threads used %d (--threads)\n", m.online_cpus, m.threads);
    if (m.cpuinfo_mhz > 0)
        printf("   clock: /proc/cpuinfo says %.0f MHz, a chain of dependent adds measures %.0f "
               "MHz%s\n", m.cpuinfo_mhz, m.measured_mhz,
               m.measured_mhz > 1.05 * m.cpuinfo_mhz ? " (turbo)" : "");
    else
        printf("   clock: no \"cpu MHz\" in /proc/cpuinfo; a chain of dependent adds measures "
               "%.0f MHz\n", m.measured_mhz);
    printf("   SIMD: %s, %d float lanes per FMA unit, FMA %s, %d units per core\n", m.isa, m.lanes,
           m.fma ? "yes" : "no", m.units);
    printf("   FLOPs/cycle/core = %d units x %d lanes x %d = %.0f\n", m.units, m.lanes,
           m.fma ? 2 : 1, m.flops_per_cycle);
    printf("   peak = %d threads x %.0f FLOPs/cycle x %.2f GHz = %.1f GFLOP/s (%.1f per core)\n",
           m.threads, m.flops_per_cycle, m.mhz * 1e-3, m.peak_gflops, m.core_peak_gflops);
    printf("   this lesson was compiled for %s%s: its own loops can use %d lanes at most\n",
           m.compiled_isa, m.compiled_fma ? " + FMA" : " without FMA", m.compiled_lanes);
    /* Debian's OpenBLAS is a DYNAMIC_ARCH build: it holds kernels for many CPUs and picks one
     * from cpuid when it starts. The environment variable OPENBLAS_CORETYPE (Haswell, SkylakeX,
     * Zen, Sandybridge, Prescott, ...) overrides that choice; the lesson only reports it. */
    if (openblas_get_corename)
        printf("   OpenBLAS kernel: %s  (config: %s)\n", openblas_get_corename(),
               openblas_get_config ? openblas_get_config() : "?");
    else
        printf("   BLAS: not OpenBLAS (no openblas_get_corename): kernel unknown\n");
    printf("   OPENBLAS_CORETYPE %s%s%s\n", coretype ? "= " : "is not set: OpenBLAS chose its "
           "kernel from cpuid", coretype ? coretype : "", coretype ? " (forced by you)" : "");
    /* Everything below is wall-clock time. Other programs running at the same time take cores
     * away, and a threaded kernel waits for its slowest thread, so it suffers most. Worse,
     * OpenMP's threads spin (busy-wait) at the end of each parallel loop: on a full machine the
     * spinning thread holds a core that the thread it waits for needs, and a 100-microsecond
     * product takes a whole scheduler time slice, ~8 ms (measured here with 2 threads at
     * n = 128). OMP_WAIT_POLICY=passive makes waiting threads sleep instead. */
    double load = -1;
    if (getloadavg(&load, 1) == 1 && load > 0.5 * m.online_cpus)
        printf("   warning: the machine is busy (load average %.1f on %d cores): timings will be "
               "low and noisy, the\n   threaded ones most; compare with --threads 1 or "
               "OMP_WAIT_POLICY=passive, or rerun when it is quiet\n", load, m.online_cpus);

    /* --- 2. GEMM -------------------------------------------------------------------------- */
    /* one pair of inputs per size, drawn once, and its naive reference (single-threaded) */
    nn_real *A[NSIZES], *B[NSIZES];
    reference refs[NSIZES];
    const size_t nn_max = (size_t)SIZES[nsizes - 1] * SIZES[nsizes - 1];
    nn_real *C = nn_malloc(nn_max * sizeof *C);
    nn_real *absA = nn_malloc(nn_max * sizeof *absA), *absB = nn_malloc(nn_max * sizeof *absB);
    for (int s = 0; s < nsizes; s++) {
        const size_t nn = (size_t)SIZES[s] * SIZES[s];
        A[s] = nn_malloc(nn * sizeof *A[s]), B[s] = nn_malloc(nn * sizeof *B[s]);
        nn_rng_fill_uniform(&rng, A[s], nn, -1, 1);
        nn_rng_fill_uniform(&rng, B[s], nn, -1, 1);
        reference_build(&refs[s], A[s], B[s], absA, absB, SIZES[s]);
    }
    free(absA), free(absB);

    printf("\n2. GEMM C = A B, square n x n, A and B uniform in [-1,1); median of %d timed "
           "repetitions\n", reps);
    printf("   every result is first checked against nn_gemm_naive (all rows for n <= 256, 32 "
           "rows above)\n");
    if (!cli.quick)
        printf("   skipped to keep the run short: naive i-j-k and nn_gemm_naive above n = 512 "
               "(n = 2048 would take minutes each)\n");
    printf("   %-30s %7s %8s %11s %10s %9s %9s\n", "version", "n", "threads", "seconds",
           "GFLOP/s", "of peak", "rel err");
    double gflops[NVERSIONS][NSIZES], worst_error = 0;
    int last_pool = ONE_THREAD; /* the last thread pool that ran */
    for (int v = 0; v < NVERSIONS; v++) {
        const version *ver = &VERSIONS[v];
        if (ver->pool != ONE_THREAD) {
            if (last_pool != ONE_THREAD && ver->pool != last_pool) let_threads_sleep();
            last_pool = ver->pool;
        }
        for (int s = 0; s < nsizes; s++) {
            const int n = SIZES[s];
            gflops[v][s] = NAN;
            if (!cli.quick && n > ver->max_n) continue;
            gemm_call call = {ver->fn, C, A[s], B[s], n};
            double t0 = nn_seconds();
            run_gemm(&call); /* the first call: checked, and it warms caches and threads */
            double first = nn_seconds() - t0;
            double err = check_gemm(ver, &refs[s], C);
            worst_error = fmax(worst_error, err);
            double sec = time_median(run_gemm, &call, first, reps, min_rep_seconds);
            gflops[v][s] = 2.0 * n * n * n / sec * 1e-9;
            int threads = ver->pool == ONE_THREAD ? 1 : m.threads;
            printf("   %-30s %7d %8d %11.3g %10.2f %8.1f%% %9.1e\n", ver->label, n, threads, sec,
                   gflops[v][s], 100 * gflops[v][s] / m.peak_gflops, err);
        }
    }

    /* The figure: GFLOP/s against n for every version, log scale (they span 100x), with the
     * peak of all threads and of one core as flat lines. x is log2 n so the sizes are evenly
     * spaced (nn_plot_lines has a log y axis but no log x). */
    double log2n[NSIZES], xs[NVERSIONS][NSIZES], ys[NVERSIONS][NSIZES];
    nn_plot_series series[NVERSIONS + 2];
    int nseries = 0;
    for (int s = 0; s < nsizes; s++) log2n[s] = log2(SIZES[s]);
    for (int v = 0; v < NVERSIONS; v++) {
        int k = 0;
        for (int s = 0; s < nsizes; s++)
            if (!isnan(gflops[v][s])) xs[v][k] = log2n[s], ys[v][k] = gflops[v][s], k++;
        series[nseries++] = (nn_plot_series){VERSIONS[v].legend, xs[v], ys[v], k};
    }
    double peak_x[2] = {log2n[0], log2n[nsizes - 1]};
    double peak_all[2] = {m.peak_gflops, m.peak_gflops};
    double peak_one[2] = {m.core_peak_gflops, m.core_peak_gflops};
    char peak_label[2][64];
    snprintf(peak_label[0], sizeof peak_label[0], "peak, %d threads", m.threads);
    snprintf(peak_label[1], sizeof peak_label[1], "peak, one core");
    series[nseries++] = (nn_plot_series){peak_label[0], peak_x, peak_all, 2};
    if (m.threads > 1) series[nseries++] = (nn_plot_series){peak_label[1], peak_x, peak_one, 2};
    nn_plot_lines(cli.out, "gemm_gflops", "GEMM speed: the same 2n^3 FLOPs, five kernels",
                  "log_2 n   (n = 64, 128, ..., square matrices)", "GFLOP/s (log scale)", series,
                  nseries, 1);

    /* --- 3. Convolution --------------------------------------------------------------------- */
    /* Lesson 07's 2-conv network: conv 1->32 5x5 pad 2 on 28x28 images, then (after a 2x2 max
     * pool) conv 32->64 5x5 pad 2 on 14x14, on a batch of 64 (16 in quick mode). FLOPs counted
     * as im2col computes them, padding included: 2 N OC OH OW C K K. */
    const int batch = cli.quick ? 16 : 64;
    conv_shape shapes[2] = {{"conv1 1->32 5x5 on 28x28", batch, 1, 28, 28, 32, 5, 2},
                            {"conv2 32->64 5x5 on 14x14", batch, 32, 14, 14, 64, 5, 2}};
    double conv_sec[2][2], conv_gflops[2][2], conv_error = 0; /* [layer][0 direct, 1 im2col] */
    printf("\n3. Convolution forward, lesson 07's layers, batch %d: direct loops (OpenMP, threads: "
           "%d)\n   vs im2col + GEMM (nn_gemm: %s kernels); median of %d repetitions\n",
           batch, m.threads, nn_kernels_name(nn_get_kernels()), reps);
    printf("   %-28s %-8s %11s %10s %9s\n", "layer", "method", "seconds", "GFLOP/s", "rel err");
    for (int l = 0; l < 2; l++) {
        const conv_shape *sh = &shapes[l];
        const size_t in_n = (size_t)sh->N * sh->C * sh->H * sh->W;
        const size_t w_n = (size_t)sh->OC * sh->C * sh->K * sh->K;
        const size_t out_n = (size_t)sh->N * sh->OC * sh->H * sh->W; /* "same" padding */
        nn_real *in = nn_malloc(in_n * sizeof *in), *w = nn_malloc(w_n * sizeof *w);
        nn_real *bias = nn_malloc((size_t)sh->OC * sizeof *bias);
        nn_real *ref = nn_malloc(out_n * sizeof *ref), *mag = nn_malloc(out_n * sizeof *mag);
        nn_real *out = nn_malloc(out_n * sizeof *out);
        nn_real *ws = nn_malloc(nn_conv2d_workspace_size(sh->N, sh->C, sh->H, sh->W, sh->OC, sh->K,
                                                         sh->K, 1, sh->pad) * sizeof *ws);
        nn_rng_fill_uniform(&rng, in, in_n, 0, 1); /* like pixels and post-ReLU activations */
        nn_rng_fill_uniform(&rng, w, w_n, -1, 1);
        nn_rng_fill_uniform(&rng, bias, (size_t)sh->OC, -1, 1);
        const double flops = 2.0 * sh->N * sh->OC * sh->H * sh->W * sh->C * sh->K * sh->K;
        for (int method = 0; method < 2; method++) {
            const int pool = method ? OPENBLAS : OPENMP;
            if (last_pool != ONE_THREAD && pool != last_pool) let_threads_sleep();
            last_pool = pool;
            conv_call call = {sh, method ? out : ref, ws, in, w, bias, method};
            double t0 = nn_seconds();
            run_conv(&call);
            double first = nn_seconds() - t0, err = 0;
            if (method == 0) {
                /* the size of each output's terms, for the relative error: the same
                 * convolution of |in| with |w| and |bias| (the direct loops are the reference) */
                nn_real *abs_in = nn_malloc(in_n * sizeof *abs_in);
                nn_real *abs_w = nn_malloc(w_n * sizeof *abs_w);
                nn_real *abs_b = nn_malloc((size_t)sh->OC * sizeof *abs_b);
                for (size_t i = 0; i < in_n; i++) abs_in[i] = fabsf(in[i]);
                for (size_t i = 0; i < w_n; i++) abs_w[i] = fabsf(w[i]);
                for (int o = 0; o < sh->OC; o++) abs_b[o] = fabsf(bias[o]);
                nn_conv2d_forward_naive(mag, abs_in, abs_w, abs_b, sh->N, sh->C, sh->H, sh->W,
                                        sh->OC, sh->K, sh->K, 1, sh->pad);
                free(abs_in), free(abs_w), free(abs_b);
            } else {
                size_t worst = 0;
                err = max_rel_error(out, ref, mag, out_n, &worst);
                const double tol = (double)sh->C * sh->K * sh->K * FLT_EPSILON;
                if (!(err <= tol))
                    nn_fail("im2col + GEMM disagrees with the direct convolution (%s) at output "
                            "%zu: %.7g vs %.7g (relative error %.3g > tolerance %.3g)", sh->name,
                            worst, (double)out[worst], (double)ref[worst], err, tol);
                conv_error = fmax(conv_error, err);
            }
            conv_sec[l][method] = time_median(run_conv, &call, first, reps, min_rep_seconds);
            conv_gflops[l][method] = flops / conv_sec[l][method] * 1e-9;
            char err_text[16] = "reference";
            if (method) snprintf(err_text, sizeof err_text, "%.1e", err);
            printf("   %-28s %-8s %11.4f %10.2f %9s\n", sh->name, method ? "im2col" : "direct",
                   conv_sec[l][method], conv_gflops[l][method], err_text);
        }
        free(in), free(w), free(bias), free(ref), free(mag), free(out), free(ws);
    }
    worst_error = fmax(worst_error, conv_error);
    const double conv_direct = conv_sec[0][0] + conv_sec[1][0];
    const double conv_im2col = conv_sec[0][1] + conv_sec[1][1];
    const double conv_speedup = conv_direct / conv_im2col;

    /* --- Results ------------------------------------------------------------------------- */
    printf("\nResults: fraction of the %.0f GFLOP/s peak (threads: %d) reached\n   %-26s",
           m.peak_gflops, m.threads, "version \\ n");
    for (int s = 0; s < nsizes; s++) printf(" %7d", SIZES[s]);
    printf("\n");
    for (int v = 0; v < NVERSIONS; v++) {
        printf("   %-26s", VERSIONS[v].label);
        for (int s = 0; s < nsizes; s++)
            if (isnan(gflops[v][s])) printf(" %7s", "-");
            else printf(" %6.1f%%", 100 * gflops[v][s] / m.peak_gflops);
        printf("\n");
    }
    const int s256 = 2, slast = nsizes - 1; /* SIZES[2] = 256, in both modes */
    const double blas_fraction = gflops[BLAS][slast] / m.peak_gflops;
    const double blocked_fraction = gflops[BLOCKED][slast] / m.peak_gflops;
    printf("   at n = %d OpenBLAS is %.0fx faster than naive i-j-k; at n = %d it reaches %.0f%% "
           "of peak, blocked %.0f%%\n", SIZES[s256], gflops[BLAS][s256] / gflops[NAIVE][s256],
           SIZES[slast], 100 * blas_fraction, 100 * blocked_fraction);
    printf("   convolution: direct %.3f s, im2col + GEMM %.3f s per batch of %d: speedup %.1fx\n",
           conv_direct, conv_im2col, batch, conv_speedup);
    printf("   largest relative error of any version: %.2e (float epsilon %.2e)\n", worst_error,
           (double)FLT_EPSILON);
    printf("   figures: %s/\n", cli.out);

    /* fraction of peak against n: the same data, on a linear 0..1 scale */
    double fr[NVERSIONS][NSIZES];
    for (int v = 0; v < NVERSIONS; v++)
        for (int k = 0; k < series[v].n; k++) fr[v][k] = ys[v][k] / m.peak_gflops;
    nn_plot_series frac_series[NVERSIONS];
    for (int v = 0; v < NVERSIONS; v++)
        frac_series[v] = (nn_plot_series){VERSIONS[v].legend, xs[v], fr[v], series[v].n};
    char frac_title[96];
    snprintf(frac_title, sizeof frac_title, "Fraction of the %.0f GFLOP/s peak (threads: %d)",
             m.peak_gflops, m.threads);
    nn_plot_lines(cli.out, "gemm_fraction_of_peak", frac_title,
                  "log_2 n   (n = 64, 128, ..., square matrices)", "GFLOP/s / peak", frac_series,
                  NVERSIONS, 0);

    /* metrics.json gets what the seed determines (the errors, the machine's peak); the clock's
     * measurements go to timing.json (nn_report_add_timing): they differ from run to run */
    nn_report_add(&report, "max_rel_error", worst_error);
    nn_report_add_int(&report, "threads", m.threads);
    nn_report_add_int(&report, "flops_per_cycle", (long)m.flops_per_cycle);
    nn_report_add_timing(&report, "clock_mhz", m.mhz);
    nn_report_add_timing(&report, "peak_gflops", m.peak_gflops);
    char key[40];
    for (int s = 0; s < nsizes; s++) {
        if (SIZES[s] != 256 && SIZES[s] != 512 && SIZES[s] != 2048) continue;
        for (int v = 0; v < NVERSIONS; v++) {
            if (isnan(gflops[v][s])) continue;
            snprintf(key, sizeof key, "%s_gflops_%d", VERSIONS[v].key, SIZES[s]);
            nn_report_add_timing(&report, key, gflops[v][s]);
        }
    }
    nn_report_add_timing(&report, "blas_fraction_of_peak", blas_fraction);
    nn_report_add_timing(&report, "blocked_fraction_of_peak", blocked_fraction);
    nn_report_add_timing(&report, "blas_speedup_256", gflops[BLAS][s256] / gflops[NAIVE][s256]);
    nn_report_add_timing(&report, "conv_direct_seconds", conv_direct);
    nn_report_add_timing(&report, "conv_im2col_seconds", conv_im2col);
    nn_report_add_timing(&report, "conv_speedup", conv_speedup);
    nn_report_add_timing(&report, "total_seconds", nn_seconds() - start);
    nn_report_finish(&report, cli.out);

    for (int s = 0; s < nsizes; s++) free(A[s]), free(B[s]), reference_free(&refs[s]);
    free(C);
    return 0;
}
