/* bench.c -- how fast is the library, and is every fast path still right?  (make bench)
 *
 * Four measurements, each fast path timed beside its naive twin in the same run, so every
 * ratio compares two numbers taken under the same load:
 *   (a) GEMM: nn_gemm_naive (the triple loop) vs nn_gemm_blas (OpenBLAS) in GFLOP/s, on
 *       square sizes and on the shapes the reference models really multiply;
 *   (b) conv2d forward and backward: direct loops vs im2col + GEMM, on LeNet-5 and 2-conv
 *       layer shapes, in GFLOP/s;
 *   (c) the price of the library's wrapper: nn_gemm (checks + dispatch, BLAS selected) vs a
 *       raw cblas_sgemm call with the same arguments, on small shapes where it would show;
 *   (d) training throughput (samples/s) of the reference models built from the library --
 *       MLP 784-256-256-10 (batch 128), LeNet-5 (batch 64), an LSTM (hidden 128, 50 steps,
 *       batch 32) and a Transformer block (d_model 64, 4 heads, 64 positions, batch 32) --
 *       forward, backward and an SGD step on random data, with the fast kernels and with the
 *       naive ones. tests/bench_pytorch.py runs the same models in PyTorch.
 * Every timed variant is first compared with its naive twin (|a-b| <= atol + rtol |ref|);
 * any disagreement is reported by name and the program exits 1. With --quick the sizes are
 * tiny and each time is taken once or twice: that run is part of `make test` as a correctness
 * check (tests/test_bench.c) and asserts nothing about time.
 *
 * A time is the median of several samples after a warm-up call; a sample repeats the call
 * until it lasts long enough to be timed. The table, bench.csv and gemm_square.png (GFLOP/s
 * against n) go to --out (default out/bench). docs/bench.md explains the numbers.
 *
 *   ./build/bench [--quick] [--threads N] [--only abcd] [--no-naive] [--models LIST]
 *                 [--out DIR]
 */
#include "nn.h"

#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* OpenBLAS reports which of its kernels it chose for this CPU (OPENBLAS_CORETYPE can force
 * one; we never set it). Weak, so another CBLAS library links too and we say "unknown". */
extern char *openblas_get_corename(void) __attribute__((weak));
extern char *openblas_get_config(void) __attribute__((weak));
extern int openblas_get_num_threads(void) __attribute__((weak));

typedef struct config {
    int quick;
    int threads;        /* --threads; 0: all cores */
    int inject_fault;   /* --inject-fault: spoil one result, so the checker must fail */
    char only[8];       /* --only SECTIONS: a subset of "abcd" (default: all four) */
    int no_naive;       /* --no-naive: (d) times the BLAS kernels only (still checks both) */
    unsigned models;    /* --models LIST: bit k set = (d) runs model k (default: all) */
    char out[512];
    int reps;           /* samples per median */
    double sample_s;    /* a sample repeats the call until it lasts at least this long */
    double case_s;      /* a slow case gets fewer samples (at least one) to stay near this */
    double overhead_sample_s;
    int overhead_pairs; /* interleaved (wrapper, raw) sample pairs */
    int train_runs;     /* timed runs per model and kernel set */
    double train_run_s; /* a run repeats training steps until it lasts this long */
} config;

static FILE *csv;
static int checks_run, checks_failed;
static char failed_names[2048];

/* ------------------------------------------------------------------------------------------ */
/* helpers: random arrays, the correctness check, timing                                       */
/* ------------------------------------------------------------------------------------------ */

static nn_real *random_array(nn_rng *rng, size_t n)
{
    nn_real *x = nn_malloc(n * sizeof *x);
    nn_rng_fill_uniform(rng, x, n, -1, 1);
    return x;
}

static void csv_row(const char *section, const char *name, const char *variant, double value,
                    const char *unit, double median_s, int reps)
{
    fprintf(csv, "%s,\"%s\",%s,%.6g,%s,%.6g,%d\n", section, name, variant, value, unit, median_s,
            reps);
}

/* got vs its naive twin ref: |got - ref| <= atol + rtol |ref| for every element.
 * Returns the largest |got - ref|; a failure is printed with its worst element and counted. */
static double check_close(const char *what, const nn_real *got, const nn_real *ref, size_t n,
                          double atol, double rtol)
{
    size_t worst = 0;
    double worst_excess = -INFINITY, max_err = 0;
    for (size_t i = 0; i < n; i++) {
        const double diff = fabs((double)got[i] - (double)ref[i]);
        double excess = diff - (atol + rtol * fabs((double)ref[i]));
        if (diff != diff) excess = INFINITY; /* NaN */
        if (diff > max_err || diff != diff) max_err = diff;
        if (excess > worst_excess) worst_excess = excess, worst = i;
    }
    checks_run++;
    if (n > 0 && worst_excess > 0) {
        checks_failed++;
        printf("CHECK FAILED: %s: element %zu is %.9g, expected %.9g from the naive version "
               "(|diff| %.3g > atol %.2g + rtol %.0e * |expected|)\n",
               what, worst, (double)got[worst], (double)ref[worst],
               fabs((double)got[worst] - (double)ref[worst]), atol, rtol);
        size_t len = strlen(failed_names);
        snprintf(failed_names + len, sizeof failed_names - len, "%s%s", len ? "; " : "", what);
    }
    csv_row("check", what, worst_excess > 0 ? "FAIL" : "pass", max_err, "max_abs_err", 0, 1);
    return max_err;
}

static double max_abs(const nn_real *x, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fabs((double)x[i]) > m ? fabs((double)x[i]) : m;
    return m;
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

typedef void (*bench_fn)(void *ctx);
typedef struct timing {
    double seconds; /* median seconds per call */
    int reps;       /* samples behind the median */
} timing;

/* One warm-up call, then cfg->reps samples of `inner` calls each (inner chosen so a sample
 * lasts sample_s); a slow case gets fewer samples so it costs about case_s, and a call that
 * alone takes more than half of case_s is timed once: its warm-up is its sample. */
static timing time_call(const config *cfg, bench_fn fn, void *ctx)
{
    double t0 = nn_seconds();
    fn(ctx);
    const double first = fmax(nn_seconds() - t0, 1e-9);
    if (first > cfg->case_s / 2) return (timing){first, 1};
    const int inner = first >= cfg->sample_s ? 1 : (int)ceil(cfg->sample_s / first);
    int reps = cfg->reps;
    if (first * inner * reps > cfg->case_s) reps = (int)(cfg->case_s / (first * inner));
    if (reps < 1) reps = 1;
    double samples[64];
    if (reps > 64) reps = 64;
    for (int r = 0; r < reps; r++) {
        t0 = nn_seconds();
        for (int i = 0; i < inner; i++) fn(ctx);
        samples[r] = (nn_seconds() - t0) / inner;
    }
    return (timing){median(samples, reps), reps};
}

/* ------------------------------------------------------------------------------------------ */
/* (a) GEMM: naive vs BLAS                                                                     */
/* ------------------------------------------------------------------------------------------ */

typedef struct gemm_case {
    const char *label; /* where the shape comes from ("" for square sizes) */
    int tA, tB, M, N, K;
} gemm_case;

typedef struct gemm_ctx {
    const gemm_case *c;
    const nn_real *A, *B;
    nn_real *C;
    void (*gemm)(int, int, int, int, int, nn_real, const nn_real *, int, const nn_real *, int,
                 nn_real, nn_real *, int);
} gemm_ctx;

static void gemm_call(void *p)
{
    const gemm_ctx *x = p;
    const gemm_case *c = x->c;
    x->gemm(c->tA, c->tB, c->M, c->N, c->K, 1, x->A, c->tA ? c->M : c->K, x->B,
            c->tB ? c->K : c->N, 0, x->C, c->N);
}

/* float rounding of a K-term sum of products of size <= 1: a few K * 1e-7 at worst */
static double gemm_atol(int K) { return 5e-6 * (1 + K); }

static void bench_gemm(const config *cfg, nn_rng *rng)
{
    static const gemm_case full[] = {
        {"", 0, 0, 64, 64, 64},
        {"", 0, 0, 128, 128, 128},
        {"", 0, 0, 256, 256, 256},
        {"", 0, 0, 512, 512, 512},
        {"", 0, 0, 1024, 1024, 1024},
        {"MLP fc1 fwd x W^T", 0, 1, 128, 256, 784},
        {"MLP fc1 dW = dy^T x", 1, 0, 256, 784, 128},
        {"LeNet conv2 W @ cols", 0, 0, 16, 6400, 150},
    };
    static const gemm_case quick[] = {
        {"", 0, 0, 16, 16, 16},
        {"", 0, 0, 33, 33, 33},
        {"", 0, 0, 64, 64, 64},
        {"MLP fc1 fwd x W^T", 0, 1, 16, 32, 784},
        {"MLP fc1 dW = dy^T x", 1, 0, 32, 784, 16},
        {"LeNet conv2 W @ cols", 0, 0, 16, 200, 150},
    };
    const gemm_case *cases = cfg->quick ? quick : full;
    const int ncases = cfg->quick ? (int)(sizeof quick / sizeof *quick)
                                  : (int)(sizeof full / sizeof *full);
    double sq_n[8], sq_naive[8], sq_blas[8];
    int nsq = 0;

    printf("\n(a) GEMM C = op(A) @ op(B), M x K times K x N: naive triple loop (one thread) vs "
           "OpenBLAS\n");
    printf("   %-44s %10s %10s %9s %7s %11s\n", "shape (M x K @ K x N)", "naive", "blas",
           "blas/nai", "samples", "max |diff|");
    printf("   %-44s %10s %10s %9s %7s %11s\n", "", "GFLOP/s", "GFLOP/s", "", "", "");
    for (int i = 0; i < ncases; i++) {
        const gemm_case *c = &cases[i];
        const size_t na = (size_t)c->M * c->K, nb = (size_t)c->K * c->N, nc = (size_t)c->M * c->N;
        nn_real *A = random_array(rng, na), *B = random_array(rng, nb);
        nn_real *Cn = nn_calloc(nc, sizeof *Cn), *Cb = nn_calloc(nc, sizeof *Cb);
        gemm_ctx naive = {c, A, B, Cn, nn_gemm_naive}, blas = {c, A, B, Cb, nn_gemm_blas};
        char name[96];
        snprintf(name, sizeof name, "%dx%d%s @ %dx%d%s", c->M, c->K, c->tA ? "(A^T)" : "", c->K,
                 c->N, c->tB ? "(B^T)" : "");

        /* correctness first: the same product both ways */
        gemm_call(&naive);
        gemm_call(&blas);
        if (cfg->inject_fault && i == 0) Cb[nc / 2] += 1; /* the check must catch this */
        char what[160];
        snprintf(what, sizeof what, "gemm blas %s vs naive", name);
        const double err = check_close(what, Cb, Cn, nc, gemm_atol(c->K), 1e-5);

        const timing tn = time_call(cfg, gemm_call, &naive), tb = time_call(cfg, gemm_call, &blas);
        const double flops = 2.0 * c->M * c->N * c->K;
        const double gn = flops / tn.seconds / 1e9, gb = flops / tb.seconds / 1e9;
        char row[160];
        snprintf(row, sizeof row, "%s%s%s", name, *c->label ? "  " : "", c->label);
        char reps[16];
        snprintf(reps, sizeof reps, "%d/%d", tn.reps, tb.reps);
        printf("   %-44s %10.2f %10.2f %8.1fx %7s %11.2g\n", row, gn, gb, tn.seconds / tb.seconds,
               reps, err);
        csv_row("gemm", name, "naive", gn, "GFLOP/s", tn.seconds, tn.reps);
        csv_row("gemm", name, "blas", gb, "GFLOP/s", tb.seconds, tb.reps);
        csv_row("gemm", name, "blas/naive", tn.seconds / tb.seconds, "x", 0, 0);
        if (!*c->label && !c->tA && !c->tB && c->M == c->N && c->N == c->K && nsq < 8) {
            sq_n[nsq] = c->M, sq_naive[nsq] = gn, sq_blas[nsq] = gb;
            nsq++;
        }
        free(A), free(B), free(Cn), free(Cb);
    }
    nn_plot_series s[2] = {{"naive (triple loop)", sq_n, sq_naive, nsq},
                           {"BLAS (OpenBLAS sgemm)", sq_n, sq_blas, nsq}};
    char title[160];
    snprintf(title, sizeof title,
             "GEMM (n x n) times (n x n), %d threads: GFLOP/s, higher is better", nn_get_threads());
    nn_plot_lines(cfg->out, "gemm_square", title, "n", "GFLOP/s", s, 2, 1);
}

/* ------------------------------------------------------------------------------------------ */
/* (b) conv2d: direct loops vs im2col + GEMM                                                   */
/* ------------------------------------------------------------------------------------------ */

typedef struct conv_case {
    const char *label;
    int N, C, H, W, OC, K, stride, pad;
} conv_case;

typedef struct conv_ctx {
    const conv_case *c;
    const nn_real *in, *weight, *bias, *dout;
    nn_real *out, *din, *dweight, *dbias, *work;
} conv_ctx;

static void conv_fwd_naive(void *p)
{
    const conv_ctx *x = p;
    const conv_case *c = x->c;
    nn_conv2d_forward_naive(x->out, x->in, x->weight, x->bias, c->N, c->C, c->H, c->W, c->OC,
                            c->K, c->K, c->stride, c->pad);
}
static void conv_fwd_im2col(void *p)
{
    const conv_ctx *x = p;
    const conv_case *c = x->c;
    nn_conv2d_forward_im2col(x->out, x->in, x->weight, x->bias, c->N, c->C, c->H, c->W, c->OC,
                             c->K, c->K, c->stride, c->pad, x->work);
}
static void conv_bwd_naive(void *p)
{
    const conv_ctx *x = p;
    const conv_case *c = x->c;
    nn_conv2d_backward_naive(x->din, x->dweight, x->dbias, x->dout, x->in, x->weight, c->N, c->C,
                             c->H, c->W, c->OC, c->K, c->K, c->stride, c->pad);
}
static void conv_bwd_im2col(void *p)
{
    const conv_ctx *x = p;
    const conv_case *c = x->c;
    nn_conv2d_backward_im2col(x->din, x->dweight, x->dbias, x->dout, x->in, x->weight, c->N,
                              c->C, c->H, c->W, c->OC, c->K, c->K, c->stride, c->pad, x->work);
}

static void bench_conv(const config *cfg, nn_rng *rng)
{
    static const conv_case full[] = {
        {"LeNet conv1", 64, 1, 28, 28, 6, 5, 1, 2},
        {"LeNet conv2", 64, 6, 14, 14, 16, 5, 1, 0},
        {"2-conv conv1", 64, 1, 28, 28, 32, 5, 1, 2},
        {"2-conv conv2", 16, 32, 14, 14, 64, 5, 1, 2},
    };
    static const conv_case quick[] = {
        {"LeNet conv1", 2, 1, 28, 28, 6, 5, 1, 2},
        {"LeNet conv2", 2, 6, 14, 14, 16, 5, 1, 0},
        {"2-conv conv2", 1, 32, 14, 14, 64, 5, 1, 2},
        {"strided", 2, 3, 11, 9, 4, 3, 2, 1},
    };
    const conv_case *cases = cfg->quick ? quick : full;
    const int ncases = cfg->quick ? (int)(sizeof quick / sizeof *quick)
                                  : (int)(sizeof full / sizeof *full);

    printf("\n(b) conv2d: direct loops (OpenMP) vs im2col + BLAS GEMM; backward = dinput + "
           "dweight + dbias\n");
    printf("   %-42s %-4s %10s %10s %9s %7s %11s\n", "layer (N,C,H,W) -> OC k s p", "pass",
           "naive", "im2col", "speedup", "samples", "max |diff|");
    printf("   %-42s %-4s %10s %10s %9s %7s %11s\n", "", "", "GFLOP/s", "GFLOP/s", "", "", "");
    for (int i = 0; i < ncases; i++) {
        const conv_case *c = &cases[i];
        const int OH = (c->H + 2 * c->pad - c->K) / c->stride + 1;
        const int OW = (c->W + 2 * c->pad - c->K) / c->stride + 1;
        const size_t nin = (size_t)c->N * c->C * c->H * c->W;
        const size_t nw = (size_t)c->OC * c->C * c->K * c->K;
        const size_t nout = (size_t)c->N * c->OC * OH * OW;
        nn_real *in = random_array(rng, nin), *weight = random_array(rng, nw);
        nn_real *bias = random_array(rng, (size_t)c->OC), *dout = random_array(rng, nout);
        nn_real *work = nn_malloc(nn_conv2d_workspace_size(c->N, c->C, c->H, c->W, c->OC, c->K,
                                                           c->K, c->stride, c->pad) * sizeof *work);
        conv_ctx ctx[2]; /* 0: naive, 1: im2col */
        for (int v = 0; v < 2; v++)
            ctx[v] = (conv_ctx){c,
                                in,
                                weight,
                                bias,
                                dout,
                                nn_calloc(nout, sizeof(nn_real)),
                                nn_calloc(nin, sizeof(nn_real)),
                                nn_calloc(nw, sizeof(nn_real)),
                                nn_calloc((size_t)c->OC, sizeof(nn_real)),
                                work};
        char name[128], what[200];
        snprintf(name, sizeof name, "%s (%d,%d,%d,%d) -> %d k%d s%d p%d", c->label, c->N, c->C,
                 c->H, c->W, c->OC, c->K, c->stride, c->pad);

        /* correctness: forward, then one backward from zeroed gradients. The tolerance grows
         * with the length of each sum: C k k terms (out, and din by OC k k), N OH OW (dweight) */
        conv_fwd_naive(&ctx[0]);
        conv_fwd_im2col(&ctx[1]);
        conv_bwd_naive(&ctx[0]);
        conv_bwd_im2col(&ctx[1]);
        double err[2];
        snprintf(what, sizeof what, "conv2d im2col forward %s vs naive", name);
        err[0] = check_close(what, ctx[1].out, ctx[0].out, nout, gemm_atol(c->C * c->K * c->K),
                             1e-5);
        snprintf(what, sizeof what, "conv2d im2col dinput %s vs naive", name);
        err[1] = check_close(what, ctx[1].din, ctx[0].din, nin, gemm_atol(c->OC * c->K * c->K),
                             1e-5);
        snprintf(what, sizeof what, "conv2d im2col dweight %s vs naive", name);
        err[1] = fmax(err[1], check_close(what, ctx[1].dweight, ctx[0].dweight, nw,
                                          gemm_atol(c->N * OH * OW), 1e-5));
        snprintf(what, sizeof what, "conv2d im2col dbias %s vs naive", name);
        err[1] = fmax(err[1], check_close(what, ctx[1].dbias, ctx[0].dbias, (size_t)c->OC,
                                          gemm_atol(c->N * OH * OW), 1e-5));

        /* one output value is a dot product of length C k k: 2 C k k flops; backward does it
         * twice (dinput and dweight) */
        const double fwd_flops = 2.0 * nout * c->C * c->K * c->K;
        const struct { const char *pass; bench_fn naive, fast; double flops; } pass[2] = {
            {"fwd", conv_fwd_naive, conv_fwd_im2col, fwd_flops},
            {"bwd", conv_bwd_naive, conv_bwd_im2col, 2 * fwd_flops}};
        for (int p = 0; p < 2; p++) {
            const timing tn = time_call(cfg, pass[p].naive, &ctx[0]);
            const timing tf = time_call(cfg, pass[p].fast, &ctx[1]);
            const double gn = pass[p].flops / tn.seconds / 1e9;
            const double gf = pass[p].flops / tf.seconds / 1e9;
            char reps[16];
            snprintf(reps, sizeof reps, "%d/%d", tn.reps, tf.reps);
            printf("   %-42s %-4s %10.2f %10.2f %8.1fx %7s %11.2g\n", p ? "" : name, pass[p].pass,
                   gn, gf, tn.seconds / tf.seconds, reps, err[p]);
            char row[160];
            snprintf(row, sizeof row, "%s %s", name, pass[p].pass);
            csv_row("conv", row, "naive", gn, "GFLOP/s", tn.seconds, tn.reps);
            csv_row("conv", row, "im2col", gf, "GFLOP/s", tf.seconds, tf.reps);
            csv_row("conv", row, "im2col/naive", tn.seconds / tf.seconds, "x", 0, 0);
        }
        for (int v = 0; v < 2; v++)
            free(ctx[v].out), free(ctx[v].din), free(ctx[v].dweight), free(ctx[v].dbias);
        free(in), free(weight), free(bias), free(dout), free(work);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* (c) the wrapper's overhead: nn_gemm (BLAS selected) vs a raw cblas_sgemm                    */
/* ------------------------------------------------------------------------------------------ */

static void raw_cblas(int tA, int tB, int M, int N, int K, nn_real alpha, const nn_real *A,
                      int lda, const nn_real *B, int ldb, nn_real beta, nn_real *C, int ldc)
{
#ifdef NN_DOUBLE
    cblas_dgemm(CblasRowMajor, tA ? CblasTrans : CblasNoTrans, tB ? CblasTrans : CblasNoTrans, M,
                N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#else
    cblas_sgemm(CblasRowMajor, tA ? CblasTrans : CblasNoTrans, tB ? CblasTrans : CblasNoTrans, M,
                N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#endif
}

typedef struct loop_ctx {
    gemm_ctx g;
    int inner;
} loop_ctx;

static double time_loop(loop_ctx *x)
{
    const double t0 = nn_seconds();
    for (int i = 0; i < x->inner; i++) gemm_call(&x->g);
    return (nn_seconds() - t0) / x->inner;
}

static void bench_overhead(const config *cfg, nn_rng *rng)
{
    static const gemm_case cases[] = {
        {"the fixed cost alone", 0, 0, 4, 4, 4},
        {"", 0, 0, 16, 16, 16},
        {"", 0, 0, 64, 64, 64},
        {"LeNet fc3 fwd", 0, 1, 64, 10, 84},
        {"LeNet fc2 fwd", 0, 1, 64, 84, 120},
        {"MLP fc2 fwd", 0, 1, 128, 256, 256},
    };
    const int ncases = (int)(sizeof cases / sizeof *cases) - (cfg->quick ? 2 : 0);
    nn_set_kernels(NN_KERNELS_BLAS);
    printf("\n(c) wrapper overhead: nn_gemm (argument checks + kernel switch, BLAS selected) vs a "
           "raw cblas_sgemm\n");
    printf("   %-44s %10s %10s %9s %9s %6s %11s\n", "shape (M x K @ K x N)", "nn_gemm", "cblas",
           "extra", "overhead", "< 5%", "max |diff|");
    printf("   %-44s %10s %10s %9s %9s %6s %11s\n", "", "us/call", "us/call", "ns/call", "", "",
           "");
    for (int i = 0; i < ncases; i++) {
        const gemm_case *c = &cases[i];
        const size_t na = (size_t)c->M * c->K, nb = (size_t)c->K * c->N, nc = (size_t)c->M * c->N;
        nn_real *A = random_array(rng, na), *B = random_array(rng, nb);
        nn_real *Cn = nn_calloc(nc, sizeof *Cn), *Cw = nn_calloc(nc, sizeof *Cw),
                *Cr = nn_calloc(nc, sizeof *Cr);
        char name[96], what[160], row[160];
        snprintf(name, sizeof name, "%dx%d @ %dx%d%s", c->M, c->K, c->K, c->N,
                 c->tB ? "(B^T)" : "");
        gemm_ctx naive = {c, A, B, Cn, nn_gemm_naive};
        loop_ctx wrap = {{c, A, B, Cw, nn_gemm}, 1}, raw = {{c, A, B, Cr, raw_cblas}, 1};
        gemm_call(&naive);
        gemm_call(&wrap.g);
        gemm_call(&raw.g);
        snprintf(what, sizeof what, "nn_gemm (blas) %s vs naive", name);
        double err = check_close(what, Cw, Cn, nc, gemm_atol(c->K), 1e-5);
        snprintf(what, sizeof what, "raw cblas_sgemm %s vs naive", name);
        err = fmax(err, check_close(what, Cr, Cn, nc, gemm_atol(c->K), 1e-5));

        /* The difference is a few comparisons and two calls, far below the noise of one
         * sample; so samples alternate wrapper, raw, raw, wrapper, ... (a drift in the
         * machine's load hits both alike) and the overhead is the median of the per-pair
         * ratios (and of the per-pair differences, in ns per call). */
        double one = time_loop(&raw);
        for (int w = 0; w < 3; w++) one = fmin(one, time_loop(&raw)); /* warm-up */
        wrap.inner = raw.inner = (int)fmax(1, ceil(cfg->overhead_sample_s / fmax(one, 1e-9)));
        const int pairs = cfg->overhead_pairs;
        double *tw = nn_malloc(4 * (size_t)pairs * sizeof *tw), *tr = tw + pairs;
        double *ratio = tr + pairs, *diff = ratio + pairs;
        for (int p = 0; p < pairs; p++) {
            if (p % 2) {
                tr[p] = time_loop(&raw);
                tw[p] = time_loop(&wrap);
            } else {
                tw[p] = time_loop(&wrap);
                tr[p] = time_loop(&raw);
            }
            ratio[p] = tw[p] / tr[p];
            diff[p] = tw[p] - tr[p];
        }
        const double over = 100 * (median(ratio, pairs) - 1), extra_ns = 1e9 * median(diff, pairs);
        const double mw = median(tw, pairs), mr = median(tr, pairs);
        snprintf(row, sizeof row, "%s%s%s", name, *c->label ? "  " : "", c->label);
        printf("   %-44s %10.3f %10.3f %9.1f %8.1f%% %6s %11.2g\n", row, mw * 1e6, mr * 1e6,
               extra_ns, over, over < 5 ? "yes" : "NO", err);
        csv_row("overhead", name, "nn_gemm", mw * 1e6, "us/call", mw, pairs);
        csv_row("overhead", name, "cblas_sgemm", mr * 1e6, "us/call", mr, pairs);
        csv_row("overhead", name, "extra", extra_ns, "ns/call", 0, pairs);
        csv_row("overhead", name, "overhead", over, "%", 0, pairs);
        free(tw), free(A), free(B), free(Cn), free(Cw), free(Cr);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* (d) training throughput of the reference models                                             */
/* ------------------------------------------------------------------------------------------ */

enum { MODEL_MLP, MODEL_LENET, MODEL_LSTM, MODEL_TRANSFORMER, MODELS };
static const char *const model_keys[MODELS] = {"mlp", "lenet", "lstm", "transformer"};

typedef struct model {
    const char *name;
    int kind, batch;
    int steps, features; /* LSTM: time steps and input features; Transformer: T and d_model */
    nn_params ps;
    nn_linear_layer fc1, fc2, fc3;
    nn_conv2d_layer conv1, conv2;
    nn_rnn_cell lstm;
    nn_transformer_block block;
    nn_optim opt;
    nn_real *x; /* random inputs in [0,1): images (batch, 784), or sequences */
    int *y;     /* random labels in 0..9: one per example, or one per position (Transformer) */
    int nx, ny; /* their counts */
} model;

/* MLP 784-256-256-10 (lesson 02 trains 784-256-128-10), or LeNet-5 as in lesson 07:
 *   (1,28,28) -conv 5x5x6 pad 2-> (6,28,28) -avgpool 2-> (6,14,14) -conv 5x5x16-> (16,10,10)
 *   -avgpool 2-> (16,5,5) = 400 -> 120 -> 84 -> 10, ReLU after every layer but the last;
 * or an LSTM (lesson 08's cell): 32 features -> hidden 128 over 50 steps (time-major input
 * (T,B,32)), its last h -> Linear 10; or one pre-norm Transformer block (lesson 11's):
 * d_model 64, 4 heads, MLP 256, non-causal, over 64 positions (input (B,T,64)), then a Linear
 * 64 -> 10 at every position with a label per position. Quick mode shrinks the sequences. */
static void model_init(model *m, int kind, int quick, nn_rng *rng)
{
    memset(m, 0, sizeof *m);
    m->kind = kind;
    nn_params_init(&m->ps);
    switch (kind) {
    case MODEL_MLP:
        m->name = "MLP 784-256-256-10";
        m->batch = quick ? 16 : 128;
        m->nx = m->batch * 784, m->ny = m->batch;
        nn_linear_init(&m->fc1, &m->ps, "fc1", 784, 256, 1, rng);
        nn_linear_init(&m->fc2, &m->ps, "fc2", 256, 256, 1, rng);
        nn_linear_init(&m->fc3, &m->ps, "fc3", 256, 10, 1, rng);
        break;
    case MODEL_LENET:
        m->name = "LeNet-5";
        m->batch = quick ? 8 : 64;
        m->nx = m->batch * 784, m->ny = m->batch;
        nn_conv2d_init(&m->conv1, &m->ps, "conv1", 1, 6, 5, 1, 2, rng);
        nn_conv2d_init(&m->conv2, &m->ps, "conv2", 6, 16, 5, 1, 0, rng);
        nn_linear_init(&m->fc1, &m->ps, "fc1", 400, 120, 1, rng);
        nn_linear_init(&m->fc2, &m->ps, "fc2", 120, 84, 1, rng);
        nn_linear_init(&m->fc3, &m->ps, "fc3", 84, 10, 1, rng);
        break;
    case MODEL_LSTM:
        m->name = "LSTM 32-128 seq 50";
        m->batch = quick ? 4 : 32, m->steps = quick ? 5 : 50, m->features = 32;
        m->nx = m->steps * m->batch * m->features, m->ny = m->batch;
        nn_rnn_cell_init(&m->lstm, &m->ps, "lstm", NN_RNN_LSTM, m->features, 128, rng);
        nn_linear_init(&m->fc1, &m->ps, "head", 128, 10, 1, rng);
        break;
    default:
        m->name = "Transformer d64 h4 ff256 seq 64";
        m->batch = quick ? 2 : 32, m->steps = quick ? 8 : 64, m->features = 64;
        m->nx = m->batch * m->steps * m->features, m->ny = m->batch * m->steps;
        nn_transformer_block_init(&m->block, &m->ps, "block", m->features, 4, 256, rng);
        nn_linear_init(&m->fc1, &m->ps, "head", m->features, 10, 1, rng);
        break;
    }
    nn_optim_init(&m->opt, NN_OPTIM_SGD, &m->ps, 0.01f);
    m->x = nn_malloc((size_t)m->nx * sizeof *m->x);
    nn_rng_fill_uniform(rng, m->x, (size_t)m->nx, 0, 1);
    m->y = nn_malloc((size_t)m->ny * sizeof *m->y);
    for (int i = 0; i < m->ny; i++) m->y[i] = nn_rng_int(rng, 10);
}

static void model_free(model *m)
{
    nn_optim_free(&m->opt);
    nn_params_free(&m->ps);
    free(m->x), free(m->y);
}

/* the forward pass to the mean cross-entropy over the batch (and positions) */
static nn_tensor *model_loss(nn_graph *g, const model *m)
{
    const int B = m->batch;
    nn_tensor *h;
    switch (m->kind) {
    case MODEL_MLP:
        h = nn_relu(g, nn_linear(g, &m->fc1, nn_graph_input(g, m->x, 2, B, 784))); /* (B,256) */
        h = nn_relu(g, nn_linear(g, &m->fc2, h));                                 /* (B,256) */
        return nn_softmax_cross_entropy(g, nn_linear(g, &m->fc3, h), m->y);
    case MODEL_LENET: {
        nn_tensor *x = nn_graph_input(g, m->x, 4, B, 1, 28, 28);
        h = nn_avgpool2d(g, nn_relu(g, nn_conv2d(g, &m->conv1, x)), 2, 2); /* (B,6,14,14) */
        h = nn_avgpool2d(g, nn_relu(g, nn_conv2d(g, &m->conv2, h)), 2, 2); /* (B,16,5,5) */
        h = nn_relu(g, nn_linear(g, &m->fc1, nn_flatten(g, h)));          /* (B,120) */
        h = nn_relu(g, nn_linear(g, &m->fc2, h));                          /* (B,84) */
        return nn_softmax_cross_entropy(g, nn_linear(g, &m->fc3, h), m->y);
    }
    case MODEL_LSTM: {
        nn_tensor *xs[64];
        for (int t = 0; t < m->steps; t++) /* step t: (B,32) */
            xs[t] = nn_graph_input(g, m->x + (size_t)t * B * m->features, 2, B, m->features);
        nn_rnn_state last = nn_rnn_forward(g, &m->lstm, xs, m->steps, NULL, (nn_rnn_state){0});
        return nn_softmax_cross_entropy(g, nn_linear(g, &m->fc1, last.h), m->y);
    }
    default: {
        const int T = m->steps, D = m->features;
        nn_tensor *x = nn_graph_input(g, m->x, 3, B, T, D);
        h = nn_transformer_block_forward(g, &m->block, x, 0, NULL); /* (B,T,D) */
        h = nn_linear(g, &m->fc1, nn_reshape(g, h, 2, B * T, D));   /* (B*T,10) */
        return nn_softmax_cross_entropy(g, h, m->y);
    }
    }
}

/* one training step: zero the gradients, forward, backward, SGD update, free the step */
static void model_step(nn_graph *g, model *m)
{
    nn_params_zero_grad(&m->ps);
    nn_backward(g, model_loss(g, m));
    nn_optim_step(&m->opt);
    nn_graph_reset(g);
}

/* the gradients of one batch with the BLAS kernels vs the naive ones, same weights */
static void model_check(nn_graph *g, model *m)
{
    nn_real *ref = nn_malloc(m->ps.count * sizeof *ref);
    nn_real loss[2];
    for (int k = 0; k < 2; k++) {
        nn_set_kernels(k == 0 ? NN_KERNELS_NAIVE : NN_KERNELS_BLAS);
        nn_params_zero_grad(&m->ps);
        nn_tensor *l = model_loss(g, m);
        nn_backward(g, l);
        loss[k] = l->data[0];
        if (k == 0) memcpy(ref, m->ps.grads, m->ps.count * sizeof *ref);
        nn_graph_reset(g);
    }
    char what[160];
    snprintf(what, sizeof what, "%s batch %d: loss with BLAS kernels vs naive", m->name, m->batch);
    check_close(what, &loss[1], &loss[0], 1, 1e-5, 1e-5);
    /* every gradient is a sum over the batch and a layer's width: compare against the
     * gradients' own scale */
    snprintf(what, sizeof what, "%s batch %d: every gradient with BLAS kernels vs naive", m->name,
             m->batch);
    check_close(what, m->ps.grads, ref, m->ps.count, 1e-4 * max_abs(ref, m->ps.count), 1e-4);
    nn_params_zero_grad(&m->ps);
    free(ref);
}

/* samples/s: warm-up steps, then cfg->train_runs runs of `steps` steps each; the median run */
static timing model_throughput(const config *cfg, nn_graph *g, model *m, nn_kernels k)
{
    nn_set_kernels(k);
    double t0 = nn_seconds();
    model_step(g, m); /* warm-up: the arena grows to its size, BLAS starts its threads */
    const double first = fmax(nn_seconds() - t0, 1e-9);
    if (!cfg->quick && first < 0.2) model_step(g, m), model_step(g, m);
    const int steps = first >= cfg->train_run_s ? 1 : (int)ceil(cfg->train_run_s / first);
    double runs[64];
    const int nruns = cfg->train_runs < 64 ? cfg->train_runs : 64;
    for (int r = 0; r < nruns; r++) {
        t0 = nn_seconds();
        for (int s = 0; s < steps; s++) model_step(g, m);
        runs[r] = (nn_seconds() - t0) / steps;
    }
    nn_set_kernels(NN_KERNELS_BLAS);
    return (timing){median(runs, nruns), nruns};
}

static void bench_training(const config *cfg, nn_rng *rng)
{
    printf("\n(d) training throughput: forward + backward + SGD step on random data, samples/s "
           "(median of runs)\n");
    printf("   %-34s %6s %12s %12s %9s %6s\n", "model", "batch", "naive", "blas", "blas/nai",
           "runs");
    nn_graph *g = nn_graph_new();
    for (int kind = 0; kind < MODELS; kind++) {
        if (!(cfg->models & (1u << kind))) continue;
        model m;
        model_init(&m, kind, cfg->quick, rng);
        const int batch = m.batch;
        model_check(g, &m);
        char name[96];
        snprintf(name, sizeof name, "%s batch %d", m.name, batch);
        const timing tb = model_throughput(cfg, g, &m, NN_KERNELS_BLAS);
        const double sb = batch / tb.seconds;
        if (cfg->no_naive) {
            printf("   %-34s %6d %12s %12.0f %9s %6d\n", m.name, batch, "-", sb, "-", tb.reps);
        } else {
            const timing tn = model_throughput(cfg, g, &m, NN_KERNELS_NAIVE);
            const double sn = batch / tn.seconds;
            printf("   %-34s %6d %12.0f %12.0f %8.1fx %6d\n", m.name, batch, sn, sb,
                   tn.seconds / tb.seconds, tb.reps);
            csv_row("train", name, "naive", sn, "samples/s", tn.seconds, tn.reps);
            csv_row("train", name, "blas/naive", tn.seconds / tb.seconds, "x", 0, 0);
        }
        csv_row("train", name, "blas", sb, "samples/s", tb.seconds, tb.reps);
        model_free(&m);
    }
    nn_graph_free(g);
}

/* ------------------------------------------------------------------------------------------ */

static void usage(void)
{
    printf("usage: bench [--quick] [--threads N] [--only abcd] [--no-naive] [--models LIST]\n"
           "             [--out DIR]\n\n"
           "Naive vs BLAS: (a) GEMM GFLOP/s, (b) conv2d direct loops vs im2col + GEMM,\n"
           "(c) nn_gemm's overhead over a raw cblas_sgemm, (d) training samples/s of the MLP\n"
           "784-256-256-10 (batch 128), LeNet-5 (batch 64), an LSTM (hidden 128, 50 steps,\n"
           "batch 32) and a Transformer block (d 64, 4 heads, 64 positions, batch 32). Every\n"
           "fast path is first compared with its naive twin; a disagreement is named and the\n"
           "exit status is 1. Writes bench.csv and gemm_square.png (+ .dat/.gp) to the output\n"
           "directory.\n\n"
           "options:\n"
           "  --quick          tiny sizes, one or two repetitions: a correctness check in seconds\n"
           "  --threads N      threads for BLAS and the OpenMP loops (default: all cores)\n"
           "  --only SECTIONS  run only these of a b c d (e.g. --only d: training throughput)\n"
           "  --no-naive       in (d), time only the BLAS kernels (both are still checked)\n"
           "  --models LIST    in (d), only these of mlp,lenet,lstm,transformer\n"
           "  --out DIR        where bench.csv and the figure go (default out/bench)\n"
           "  --inject-fault   spoil one BLAS result on purpose (the checker must then fail)\n"
           "  --help           this text\n");
}

static void parse_args(config *cfg, int argc, char **argv)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->models = (1u << MODELS) - 1;
    snprintf(cfg->out, sizeof cfg->out, "out/bench");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage();
            exit(0);
        } else if (strcmp(a, "--quick") == 0) {
            cfg->quick = 1;
        } else if (strcmp(a, "--inject-fault") == 0) {
            cfg->inject_fault = 1;
        } else if (strcmp(a, "--models") == 0) {
            char list[128];
            snprintf(list, sizeof list, "%s", i + 1 < argc ? argv[++i] : "");
            cfg->models = 0;
            for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
                int k = 0;
                while (k < MODELS && strcmp(tok, model_keys[k]) != 0) k++;
                if (k == MODELS) {
                    fprintf(stderr, "bench: --models: unknown model \"%s\" (expected a list of "
                            "mlp, lenet, lstm, transformer)\n", tok);
                    exit(2);
                }
                cfg->models |= 1u << k;
            }
            if (!cfg->models) {
                fprintf(stderr, "bench: --models: expected a list such as mlp,lstm\n");
                exit(2);
            }
        } else if (strcmp(a, "--no-naive") == 0) {
            cfg->no_naive = 1;
        } else if (strcmp(a, "--only") == 0) {
            const char *v = i + 1 < argc ? argv[++i] : "";
            if (!*v || strlen(v) > 4 || strspn(v, "abcd") != strlen(v)) {
                fprintf(stderr, "bench: --only: expected some of the sections a, b, c, d (e.g. "
                        "--only d), got \"%s\"\n", v);
                exit(2);
            }
            snprintf(cfg->only, sizeof cfg->only, "%s", v);
        } else if (strcmp(a, "--threads") == 0 || strcmp(a, "--out") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "bench: %s needs a value (see --help)\n", a);
                exit(2);
            }
            const char *v = argv[++i];
            if (a[2] == 'o') {
                if (!*v || strlen(v) >= sizeof cfg->out) {
                    fprintf(stderr, "bench: --out: expected a directory, got \"%s\"\n", v);
                    exit(2);
                }
                snprintf(cfg->out, sizeof cfg->out, "%s", v);
            } else {
                char *end;
                errno = 0;
                long n = strtol(v, &end, 10);
                if (errno || end == v || *end || n < 0 || n > 1024) {
                    fprintf(stderr, "bench: --threads: expected a number 0..1024, got \"%s\"\n", v);
                    exit(2);
                }
                cfg->threads = (int)n;
            }
        } else {
            fprintf(stderr, "bench: unknown option \"%s\" (see --help)\n", a);
            exit(2);
        }
    }
    if (cfg->quick) {
        cfg->reps = 2, cfg->sample_s = 0, cfg->case_s = 0.2;
        cfg->overhead_sample_s = 2e-4, cfg->overhead_pairs = 3;
        cfg->train_runs = 2, cfg->train_run_s = 0;
    } else {
        cfg->reps = 7, cfg->sample_s = 0.05, cfg->case_s = 3;
        cfg->overhead_sample_s = 0.01, cfg->overhead_pairs = 41;
        cfg->train_runs = 7, cfg->train_run_s = 0.25;
    }
}

int main(int argc, char **argv)
{
    config cfg;
    parse_args(&cfg, argc, argv);
    nn_set_threads(cfg.threads);
    nn_set_kernels(NN_KERNELS_BLAS);
    nn_io_mkdir_p(cfg.out);
    char path[600], tmp[700];
    snprintf(path, sizeof path, "%s/bench.csv", cfg.out);
    csv = nn_io_open_atomic(path, tmp, sizeof tmp);
    fprintf(csv, "section,case,variant,value,unit,median_s,reps\n");

    const double start = nn_seconds();
    const char *core = openblas_get_corename ? openblas_get_corename() : "unknown (not OpenBLAS)";
    const char *blas_config = openblas_get_config ? openblas_get_config() : "unknown";
    printf("deepc bench (%s mode): nn_real = %s, %d threads (BLAS reports %d), OpenBLAS core %s\n",
           cfg.quick ? "quick" : "full", NN_REAL_NAME, nn_get_threads(),
           openblas_get_num_threads ? openblas_get_num_threads() : -1, core);
    printf("BLAS config: %s\n", blas_config);
    fprintf(csv, "info,threads,nn_get_threads,%d,threads,0,0\n", nn_get_threads());
    fprintf(csv, "info,openblas_core,\"%s\",0,,0,0\n", core);
    fprintf(csv, "info,mode,%s,0,,0,0\n", cfg.quick ? "quick" : "full");
    printf("times: median of up to %d samples after a warm-up; every ratio is from this run\n",
           cfg.reps);

    nn_rng rng;
    nn_rng_seed(&rng, 42);
    const char *only = *cfg.only ? cfg.only : "abcd";
    if (strchr(only, 'a')) bench_gemm(&cfg, &rng);
    if (strchr(only, 'b')) bench_conv(&cfg, &rng);
    if (strchr(only, 'c')) bench_overhead(&cfg, &rng);
    if (strchr(only, 'd')) bench_training(&cfg, &rng);

    nn_io_commit_atomic(csv, tmp, path);
    if (strchr(only, 'a'))
        printf("\nwrote %s and %s/gemm_square.png (%.1f s)\n", path, cfg.out, nn_seconds() - start);
    else
        printf("\nwrote %s (%.1f s)\n", path, nn_seconds() - start);
    if (checks_failed) {
        printf("bench: %d of %d correctness checks FAILED: %s\n", checks_failed, checks_run,
               failed_names);
        return 1;
    }
    printf("bench: all %d correctness checks passed\n", checks_run);
    return 0;
}
