/* grade_conv2d.c -- the grader of exercise 07 conv2d (12 points).
 * Each check draws its shapes and values from its seed (public or hidden set) and compares the
 * student's arrays with the library's direct loops, nn_conv2d_forward_naive and
 * nn_conv2d_backward_naive (lib/conv2d.c). The gradient check is independent of the library:
 * it recomputes the convolution in double with its own loops. Every shape is non-square
 * (H != W), and 2 <= C != OC, so a swapped index cannot pass by symmetry. */
#include "grade.h"
#include "conv2d.h"

#include <math.h>
#include <stdio.h>

#define GARBAGE 7 /* what the outputs hold before the student's call */

/* how a check draws its shape */
typedef struct {
    int kmin, kmax;     /* KH and KW, each drawn in kmin..kmax */
    int stride;         /* 0: drawn, 1 or 2 */
    int pmin, pmax;     /* pad */
    int floored;        /* make (H + 2 pad - KH) not a multiple of stride: OH is rounded down */
} spec;

typedef struct {
    int N, C, H, W, OC, KH, KW, stride, pad, OH, OW;
    size_t nin, nw, nout;
    nn_real *in, *weight, *bias, *dout;      /* inputs */
    nn_real *out, *dinput, *dweight, *dbias; /* the student's outputs */
    double *rout, *rdinput, *rdweight, *rdbias; /* the reference */
    char desc[192];                          /* the shape, for messages */
} problem;

static problem make(int stream, spec s)
{
    nn_rng rng;
    grade_rng(&rng, stream);
    problem p;
    p.N = grade_size(&rng, 1, 3);
    p.C = grade_size(&rng, 2, 4); /* C = 1 would hide a swapped (OC,C) weight index */
    p.OC = grade_size(&rng, 2, 5);
    if (p.OC == p.C) p.OC++;
    p.KH = grade_size(&rng, s.kmin, s.kmax);
    p.KW = grade_size(&rng, s.kmin, s.kmax);
    p.stride = s.stride ? s.stride : grade_size(&rng, 1, 2);
    p.pad = grade_size(&rng, s.pmin, s.pmax);
    p.H = grade_size(&rng, 5, 11);
    p.W = grade_size(&rng, 5, 11);
    if (p.W == p.H) p.W++;
    if (s.floored && (p.H + 2 * p.pad - p.KH) % p.stride == 0) p.H++;
    if (p.W == p.H) p.W++;
    p.OH = (p.H + 2 * p.pad - p.KH) / p.stride + 1;
    p.OW = (p.W + 2 * p.pad - p.KW) / p.stride + 1;
    p.nin = (size_t)p.N * p.C * p.H * p.W;
    p.nw = (size_t)p.OC * p.C * p.KH * p.KW;
    p.nout = (size_t)p.N * p.OC * p.OH * p.OW;
    snprintf(p.desc, sizeof p.desc,
             "N=%d C=%d H=%d W=%d, OC=%d KH=%d KW=%d, stride=%d pad=%d -> OH=%d OW=%d", p.N, p.C,
             p.H, p.W, p.OC, p.KH, p.KW, p.stride, p.pad, p.OH, p.OW);
    p.in = grade_random(&rng, p.nin, -1, 1);
    p.weight = grade_random(&rng, p.nw, -1, 1);
    p.bias = grade_random(&rng, (size_t)p.OC, -1, 1);
    p.dout = grade_random(&rng, p.nout, -1, 1);
    p.out = grade_reals(p.nout), p.dinput = grade_reals(p.nin);
    p.dweight = grade_reals(p.nw), p.dbias = grade_reals((size_t)p.OC);
    grade_fill(p.out, p.nout, GARBAGE), grade_fill(p.dinput, p.nin, GARBAGE);
    grade_fill(p.dweight, p.nw, GARBAGE), grade_fill(p.dbias, (size_t)p.OC, GARBAGE);
    p.rout = grade_doubles(p.nout), p.rdinput = grade_doubles(p.nin);
    p.rdweight = grade_doubles(p.nw), p.rdbias = grade_doubles((size_t)p.OC);
    /* the reference: the library's direct loops (its backward accumulates, so from zeros) */
    nn_real *o = grade_reals(p.nout), *di = grade_reals(p.nin), *dw = grade_reals(p.nw),
            *db = grade_reals((size_t)p.OC);
    nn_conv2d_forward_naive(o, p.in, p.weight, p.bias, p.N, p.C, p.H, p.W, p.OC, p.KH, p.KW,
                            p.stride, p.pad);
    nn_conv2d_backward_naive(di, dw, db, p.dout, p.in, p.weight, p.N, p.C, p.H, p.W, p.OC, p.KH,
                             p.KW, p.stride, p.pad);
    grade_to_double(p.rout, o, p.nout), grade_to_double(p.rdinput, di, p.nin);
    grade_to_double(p.rdweight, dw, p.nw), grade_to_double(p.rdbias, db, (size_t)p.OC);
    return p;
}

static void student_forward(problem *p)
{
    conv2d_forward(p->out, p->in, p->weight, p->bias, p->N, p->C, p->H, p->W, p->OC, p->KH,
                   p->KW, p->stride, p->pad);
}

static void student_backward(problem *p)
{
    conv2d_backward(p->dinput, p->dweight, p->dbias, p->dout, p->in, p->weight, p->N, p->C,
                    p->H, p->W, p->OC, p->KH, p->KW, p->stride, p->pad);
}

/* Like grade_expect_close, for a 4-D (or 1-D: d1 = d2 = d3 = 1) array: the worst element is
 * named by its 4-D index, and the message carries the problem's shape. */
static void expect_close(const problem *p, const char *what, const nn_real *got,
                         const double *ref, int d0, int d1, int d2, int d3, double atol,
                         double rtol)
{
    size_t n = (size_t)d0 * d1 * d2 * d3, worst = 0;
    double worst_excess = -INFINITY;
    for (size_t k = 0; k < n; k++) {
        double diff = fabs((double)got[k] - ref[k]);
        double excess = isnan(diff) ? INFINITY : diff - (atol + rtol * fabs(ref[k]));
        if (excess > worst_excess) worst_excess = excess, worst = k;
    }
    if (n == 0 || worst_excess <= 0) return;
    char index[96], shape[96];
    if (d1 == 1 && d2 == 1 && d3 == 1) {
        snprintf(index, sizeof index, "[%zu]", worst);
        snprintf(shape, sizeof shape, "(%d)", d0);
    } else {
        size_t k = worst;
        int a3 = (int)(k % (size_t)d3), a2 = (int)(k / (size_t)d3 % (size_t)d2);
        int a1 = (int)(k / ((size_t)d3 * d2) % (size_t)d1), a0 = (int)(k / ((size_t)d3 * d2 * d1));
        snprintf(index, sizeof index, "[%d,%d,%d,%d]", a0, a1, a2, a3);
        snprintf(shape, sizeof shape, "(%d,%d,%d,%d)", d0, d1, d2, d3);
    }
    fail_msg("%s %s with %s: worst element %s = %.6g, expected %.6g, relative error %.1e "
             "(tolerance %.0e + %.0e*|expected|)%s",
             what, shape, p->desc, index, (double)got[worst], ref[worst],
             grade_rel_error((double)got[worst], ref[worst]), atol, rtol,
             got[worst] == GARBAGE ? "; it still holds the value it had before your call "
                                     "(not written?)"
                                   : "");
}

/* float sums of up to a few hundred terms on both sides */
#define ATOL 5e-5
#define RTOL 1e-4

static void expect_out(const problem *p, const char *what)
{
    expect_close(p, what, p->out, p->rout, p->N, p->OC, p->OH, p->OW, ATOL, RTOL);
}
static void expect_dinput(const problem *p, const char *what)
{
    expect_close(p, what, p->dinput, p->rdinput, p->N, p->C, p->H, p->W, ATOL, RTOL);
}
static void expect_dweight(const problem *p, const char *what)
{
    expect_close(p, what, p->dweight, p->rdweight, p->OC, p->C, p->KH, p->KW, ATOL, RTOL);
}
static void expect_dbias(const problem *p, const char *what)
{
    expect_close(p, what, p->dbias, p->rdbias, p->OC, 1, 1, 1, ATOL, RTOL);
}

static void check_forward_plain(void **state)
{
    problem p = make(1, (spec){2, 5, 1, 0, 0, 0});
    student_forward(&p);
    expect_out(&p, "out");
}

static void check_forward_pad(void **state)
{
    problem p = make(2, (spec){2, 5, 1, 1, 2, 0});
    student_forward(&p);
    expect_out(&p, "out");
}

static void check_forward_stride(void **state)
{
    problem p = make(3, (spec){2, 4, 2, 1, 2, 1});
    student_forward(&p);
    expect_out(&p, "out");
}

static void check_dbias(void **state)
{
    problem p = make(4, (spec){2, 4, 1, 1, 1, 0});
    student_backward(&p);
    expect_dbias(&p, "dbias");
}

static void check_dweight(void **state)
{
    problem p = make(5, (spec){2, 5, 1, 1, 2, 0});
    student_backward(&p);
    expect_dweight(&p, "dweight");
}

static void check_dinput(void **state)
{
    problem p = make(6, (spec){2, 5, 1, 1, 2, 0});
    student_backward(&p);
    expect_dinput(&p, "dinput");
}

static void check_backward_stride(void **state)
{
    problem p = make(7, (spec){2, 4, 2, 1, 2, 1});
    student_backward(&p);
    expect_dbias(&p, "stride 2: dbias");
    expect_dweight(&p, "stride 2: dweight");
    expect_dinput(&p, "stride 2: dinput");
}

static void check_1x1(void **state)
{
    problem p = make(8, (spec){1, 1, 0, 0, 0, 0});
    student_forward(&p);
    expect_out(&p, "1x1 kernel: out");
    student_backward(&p);
    expect_dbias(&p, "1x1 kernel: dbias");
    expect_dweight(&p, "1x1 kernel: dweight");
    expect_dinput(&p, "1x1 kernel: dinput");
}

/* L = sum dout * conv(in, weight, bias), everything in double, with the grader's own loops */
static double loss(const problem *p, const double *in, const double *w, const double *b)
{
    double L = 0;
    for (int n = 0; n < p->N; n++)
        for (int o = 0; o < p->OC; o++)
            for (int i = 0; i < p->OH; i++)
                for (int j = 0; j < p->OW; j++) {
                    double s = b[o];
                    for (int c = 0; c < p->C; c++)
                        for (int u = 0; u < p->KH; u++)
                            for (int v = 0; v < p->KW; v++) {
                                int y = i * p->stride - p->pad + u, x = j * p->stride - p->pad + v;
                                if (y < 0 || y >= p->H || x < 0 || x >= p->W) continue;
                                s += w[((o * p->C + c) * p->KH + u) * p->KW + v] *
                                     in[((n * p->C + c) * p->H + y) * p->W + x];
                            }
                    L += p->dout[((n * p->OC + o) * p->OH + i) * p->OW + j] * s;
                }
    return L;
}

/* central differences of loss() with respect to each element of x (n of them) */
static void numeric(double *num, double *x, size_t n, const problem *p, const double *in,
                    const double *w, const double *b)
{
    const double h = 1e-4;
    for (size_t k = 0; k < n; k++) {
        double keep = x[k];
        x[k] = keep + h;
        double lp = loss(p, in, w, b);
        x[k] = keep - h;
        double lm = loss(p, in, w, b);
        x[k] = keep;
        num[k] = (lp - lm) / (2 * h);
    }
}

static void check_gradcheck(void **state)
{
    problem p = make(9, (spec){2, 4, 2, 1, 1, 1}); /* stride 2, pad 1, OH rounded down */
    student_backward(&p);
    double *in = grade_doubles(p.nin), *w = grade_doubles(p.nw), *b = grade_doubles((size_t)p.OC);
    grade_to_double(in, p.in, p.nin), grade_to_double(w, p.weight, p.nw);
    grade_to_double(b, p.bias, (size_t)p.OC);
    double *num_in = grade_doubles(p.nin), *num_w = grade_doubles(p.nw),
           *num_b = grade_doubles((size_t)p.OC);
    numeric(num_b, b, (size_t)p.OC, &p, in, w, b);
    numeric(num_w, w, p.nw, &p, in, w, b);
    numeric(num_in, in, p.nin, &p, in, w, b);
    expect_close(&p, "gradient check (central differences of sum dout * conv): dbias", p.dbias,
                 num_b, p.OC, 1, 1, 1, 1e-4, 1e-3);
    expect_close(&p, "gradient check (central differences of sum dout * conv): dweight",
                 p.dweight, num_w, p.OC, p.C, p.KH, p.KW, 1e-4, 1e-3);
    expect_close(&p, "gradient check (central differences of sum dout * conv): dinput",
                 p.dinput, num_in, p.N, p.C, p.H, p.W, 1e-4, 1e-3);
}

static const grade_check checks[] = {
    {"forward, stride 1, no padding", 1, check_forward_plain},
    {"forward with zero padding", 1, check_forward_pad},
    {"forward, stride 2 and padding, output size rounded down", 1, check_forward_stride},
    {"dbias = sum of dout over n, i, j", 1, check_dbias},
    {"dweight, stride 1 and padding", 2, check_dweight},
    {"dinput, stride 1 and padding", 2, check_dinput},
    {"backward, stride 2 and padding, output size rounded down", 2, check_backward_stride},
    {"1x1 kernel, forward and backward", 1, check_1x1},
    {"gradient check (double central differences) of dinput, dweight, dbias", 1,
     check_gradcheck},
};

int main(int argc, char **argv)
{
    return GRADE_MAIN(argc, argv, "07", "conv2d", checks);
}
