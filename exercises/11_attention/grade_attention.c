/* grade_attention.c -- the grader of exercise 11 attention (13 points).
 * Self-contained: the reference is the grader's own attention, forward and backward, in double.
 * The student's backward is always handed the *reference* attention weights (rounded to
 * nn_real), so a wrong forward does not cost the backward checks too. Shapes are drawn from
 * each check's seed with d_k != d_v and d_k >= 2 (a missing 1/sqrt(d_k) shows). */
#include "grade.h"
#include "attention.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define GARBAGE 7 /* what the outputs hold before the student's call */

typedef struct {
    int T, dk, dv, causal;
    nn_real *q, *k, *v, *dout, *att_ref;      /* inputs (att_ref: for the backward) */
    nn_real *out, *att, *dq, *dkk, *dvv;      /* the student's outputs */
    double *rout, *ratt, *rdq, *rdk, *rdv;    /* the reference */
    char desc[96];
} problem;

/* attention in double: out (T,dv) and P (T,T), either may be NULL */
static void forward(int T, int dk, int dv, int causal, const double *q, const double *k,
                    const double *v, double *out, double *P)
{
    double s[64];
    for (int t = 0; t < T; t++) {
        int last = causal ? t : T - 1;
        double m = -INFINITY, sum = 0;
        for (int j = 0; j <= last; j++) {
            double dot = 0;
            for (int a = 0; a < dk; a++) dot += q[t * dk + a] * k[j * dk + a];
            s[j] = dot / sqrt((double)dk);
            m = fmax(m, s[j]);
        }
        for (int j = 0; j <= last; j++) sum += (s[j] = exp(s[j] - m));
        for (int j = 0; j < T; j++) {
            double p = j <= last ? s[j] / sum : 0;
            s[j] = p;
            if (P) P[t * T + j] = p;
        }
        if (out)
            for (int e = 0; e < dv; e++) {
                double o = 0;
                for (int j = 0; j <= last; j++) o += s[j] * v[j * dv + e];
                out[t * dv + e] = o;
            }
    }
}

/* the backward in double, from P as the student gets it (att_ref, nn_real) */
static void backward(problem *p)
{
    const int T = p->T, dk = p->dk, dv = p->dv;
    const double scale = 1 / sqrt((double)dk);
    double dP[64];
    for (int t = 0; t < T; t++) {
        const nn_real *P = p->att_ref + t * T;
        double rowdot = 0;
        for (int s = 0; s < T; s++) {
            double d = 0;
            for (int e = 0; e < dv; e++) {
                d += (double)p->dout[t * dv + e] * p->v[s * dv + e];
                p->rdv[s * dv + e] += P[s] * (double)p->dout[t * dv + e];
            }
            dP[s] = d;
            rowdot += P[s] * d;
        }
        for (int s = 0; s < T; s++) {
            double ds = P[s] * (dP[s] - rowdot) * scale;
            for (int a = 0; a < dk; a++) {
                p->rdq[t * dk + a] += ds * p->k[s * dk + a];
                p->rdk[s * dk + a] += ds * p->q[t * dk + a];
            }
        }
    }
}

static double *to_double(const nn_real *x, size_t n)
{
    double *d = grade_doubles(n);
    grade_to_double(d, x, n);
    return d;
}

/* the reference forward of p's inputs into p->rout, p->ratt */
static void reference_forward(problem *p)
{
    size_t nq = (size_t)p->T * p->dk, nv = (size_t)p->T * p->dv;
    forward(p->T, p->dk, p->dv, p->causal, to_double(p->q, nq), to_double(p->k, nq),
            to_double(p->v, nv), p->rout, p->ratt);
}

static void prepare_outputs(problem *p)
{
    size_t nq = (size_t)p->T * p->dk, nv = (size_t)p->T * p->dv, na = (size_t)p->T * p->T;
    p->out = grade_reals(nv), p->att = grade_reals(na);
    p->dq = grade_reals(nq), p->dkk = grade_reals(nq), p->dvv = grade_reals(nv);
    grade_fill(p->out, nv, GARBAGE), grade_fill(p->att, na, GARBAGE);
    grade_fill(p->dq, nq, GARBAGE), grade_fill(p->dkk, nq, GARBAGE);
    grade_fill(p->dvv, nv, GARBAGE);
    p->rout = grade_doubles(nv), p->ratt = grade_doubles(na);
    p->rdq = grade_doubles(nq), p->rdk = grade_doubles(nq), p->rdv = grade_doubles(nv);
    snprintf(p->desc, sizeof p->desc, "T=%d d_k=%d d_v=%d, %s", p->T, p->dk, p->dv,
             p->causal ? "causal mask" : "no mask");
}

/* T == 0: drawn in 3..8. The reference forward and backward are computed. */
static problem make(int stream, int T, int causal)
{
    nn_rng rng;
    grade_rng(&rng, stream);
    problem p;
    p.T = T ? T : grade_size(&rng, 3, 8);
    p.dk = grade_size(&rng, 2, 6);
    p.dv = grade_size(&rng, 2, 6);
    if (p.dv == p.dk) p.dv++;
    p.causal = causal;
    size_t nq = (size_t)p.T * p.dk, nv = (size_t)p.T * p.dv, na = (size_t)p.T * p.T;
    /* scores of a few units: the weights are far from uniform, and from one-hot */
    p.q = grade_random(&rng, nq, -1.5, 1.5);
    p.k = grade_random(&rng, nq, -1.5, 1.5);
    p.v = grade_random(&rng, nv, -1, 1);
    p.dout = grade_random(&rng, nv, -1, 1);
    prepare_outputs(&p);
    reference_forward(&p);
    p.att_ref = grade_reals(na);
    for (size_t i = 0; i < na; i++) p.att_ref[i] = (nn_real)p.ratt[i];
    backward(&p);
    return p;
}

static void student_forward(problem *p)
{
    attention_forward(p->out, p->att, p->q, p->k, p->v, p->T, p->dk, p->dv, p->causal);
}

static void student_backward(problem *p)
{
    attention_backward(p->dq, p->dkk, p->dvv, p->dout, p->q, p->k, p->v, p->att_ref, p->T,
                       p->dk, p->dv);
}

/* Like grade_expect_close, with the problem's shape in the message. */
static void expect_close(const problem *p, const char *what, const nn_real *got,
                         const double *ref, int rows, int cols, double atol, double rtol)
{
    size_t n = (size_t)rows * cols, worst = 0;
    double worst_excess = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        double diff = fabs((double)got[i] - ref[i]);
        double excess = isnan(diff) ? INFINITY : diff - (atol + rtol * fabs(ref[i]));
        if (excess > worst_excess) worst_excess = excess, worst = i;
    }
    if (n == 0 || worst_excess <= 0) return;
    fail_msg("%s (%d,%d) with %s: worst element [%d,%d] = %.6g, expected %.6g, relative error "
             "%.1e (tolerance %.0e + %.0e*|expected|)%s",
             what, rows, cols, p->desc, (int)(worst / (size_t)cols), (int)(worst % (size_t)cols),
             (double)got[worst], ref[worst], grade_rel_error((double)got[worst], ref[worst]),
             atol, rtol,
             got[worst] == GARBAGE ? "; it still holds the value it had before your call "
                                     "(not written?)"
                                   : "");
}

#define ATOL 2e-5
#define RTOL 1e-4

static void expect_forward(const problem *p, const char *prefix)
{
    char what[96];
    snprintf(what, sizeof what, "%satt", prefix);
    expect_close(p, what, p->att, p->ratt, p->T, p->T, ATOL, RTOL);
    snprintf(what, sizeof what, "%sout", prefix);
    expect_close(p, what, p->out, p->rout, p->T, p->dv, ATOL, RTOL);
}

/* T = 3, d_k = 4, d_v = 2, causal; worked by hand in README.md:
 *   row 0 sees itself only:          att = (1, 0, 0),               out = v0 = (1, 0)
 *   row 1: scores (0, 2/sqrt(4)) = (0, 1): att = (1, e, 0)/(1 + e), out = (1, e)/(1 + e)
 *   row 2: q2 = 0, scores all 0:     att = (1, 1, 1)/3,             out = (1+0+2, 0+1+5)/3 */
static void check_golden(void **state)
{
    problem p = {.T = 3, .dk = 4, .dv = 2, .causal = 1};
    static nn_real q[] = {0, 4, 0, 0, /**/ 1, 0, 0, 0, /**/ 0, 0, 0, 0};
    static nn_real k[] = {0, 0, 0, 0, /**/ 2, 0, 0, 0, /**/ 0, 2, 0, 0};
    static nn_real v[] = {1, 0, /**/ 0, 1, /**/ 2, 5};
    p.q = q, p.k = k, p.v = v;
    prepare_outputs(&p);
    const double e = exp(1.0);
    const double att[] = {1, 0, 0, 1 / (1 + e), e / (1 + e), 0, 1 / 3., 1 / 3., 1 / 3.};
    const double out[] = {1, 0, 1 / (1 + e), e / (1 + e), 1, 2};
    memcpy(p.ratt, att, sizeof att);
    memcpy(p.rout, out, sizeof out);
    student_forward(&p);
    expect_forward(&p, "golden (T = 3 by hand): ");
}

static void check_forward_causal(void **state)
{
    problem p = make(1, 0, 1);
    student_forward(&p);
    expect_forward(&p, "");
}

static void check_forward_nomask(void **state)
{
    problem p = make(2, 0, 0);
    student_forward(&p);
    expect_forward(&p, "");
}

/* the outputs of rows 0..T-2 must not move when position T-1 (q, k and v) changes */
static void check_causal_property(void **state)
{
    problem p = make(3, 0, 1);
    const int T = p.T;
    student_forward(&p);
    size_t nv = (size_t)T * p.dv, na = (size_t)T * T;
    nn_real *out1 = grade_reals(nv), *att1 = grade_reals(na);
    memcpy(out1, p.out, nv * sizeof *out1);
    memcpy(att1, p.att, na * sizeof *att1);
    for (size_t i = 0; i < nv; i++)
        if (!isfinite(out1[i]) || out1[i] == GARBAGE)
            fail_msg("out[%zu] = %g after the first call with %s: not written?", i,
                     (double)out1[i], p.desc);
    nn_rng rng;
    grade_rng(&rng, 103);
    for (int a = 0; a < p.dk; a++) {
        p.q[(T - 1) * p.dk + a] = (nn_real)(3 * nn_rng_uniform(&rng) - 1.5);
        p.k[(T - 1) * p.dk + a] = (nn_real)(3 * nn_rng_uniform(&rng) - 1.5);
    }
    for (int e = 0; e < p.dv; e++) { /* a new value, at least 0.5 away from the old one */
        nn_real *ve = &p.v[(T - 1) * p.dv + e];
        *ve += (nn_real)((0.5 + nn_rng_uniform(&rng)) * (*ve > 0 ? -1 : 1));
    }
    grade_fill(p.out, nv, GARBAGE), grade_fill(p.att, na, GARBAGE);
    student_forward(&p);
    /* rows 0..T-2 as in the first call (the same arithmetic: equal up to rounding) */
    double *before = grade_doubles(nv), *abefore = grade_doubles(na);
    grade_to_double(before, out1, nv);
    grade_to_double(abefore, att1, na);
    expect_close(&p, "causal: after changing q, k and v at the last position, att (rows 0..T-2)",
                 p.att, abefore, T - 1, T, 1e-6, 1e-5);
    expect_close(&p, "causal: after changing q, k and v at the last position, out (rows 0..T-2)",
                 p.out, before, T - 1, p.dv, 1e-6, 1e-5);
    double moved = 0;
    for (int e = 0; e < p.dv; e++)
        moved = fmax(moved, fabs((double)p.out[(T - 1) * p.dv + e] - out1[(T - 1) * p.dv + e]));
    if (!(moved > 1e-3))
        fail_msg("causal: out's last row did not change (by %.2g) when q, k and v at that position "
                 "did, with %s", moved, p.desc);
}

static void check_row0(void **state)
{
    problem p = make(4, 0, 1);
    student_forward(&p);
    double *one_hot = grade_doubles((size_t)p.T), *v0 = grade_doubles((size_t)p.dv);
    one_hot[0] = 1;
    grade_to_double(v0, p.v, (size_t)p.dv);
    expect_close(&p, "row 0 attends only to itself: att row 0", p.att, one_hot, 1, p.T, 1e-6, 1e-6);
    expect_close(&p, "row 0 attends only to itself: out row 0 (= v row 0)", p.out, v0, 1, p.dv,
                 1e-6, 1e-6);
}

static void check_dv(void **state)
{
    problem p = make(5, 0, 1);
    student_backward(&p);
    expect_close(&p, "dv", p.dvv, p.rdv, p.T, p.dv, ATOL, RTOL);
}

static void check_dq_dk(void **state)
{
    problem p = make(6, 0, 1);
    student_backward(&p);
    expect_close(&p, "dq", p.dq, p.rdq, p.T, p.dk, ATOL, RTOL);
    expect_close(&p, "dk", p.dkk, p.rdk, p.T, p.dk, ATOL, RTOL);
}

static void check_backward_nomask(void **state)
{
    problem p = make(7, 0, 0);
    student_backward(&p);
    expect_close(&p, "dq", p.dq, p.rdq, p.T, p.dk, ATOL, RTOL);
    expect_close(&p, "dk", p.dkk, p.rdk, p.T, p.dk, ATOL, RTOL);
    expect_close(&p, "dv", p.dvv, p.rdv, p.T, p.dv, ATOL, RTOL);
}

/* L = sum dout * attention(q, k, v), in double, the grader's own forward */
static double loss(const problem *p, const double *q, const double *k, const double *v,
                   double *out)
{
    forward(p->T, p->dk, p->dv, p->causal, q, k, v, out, NULL);
    double L = 0;
    for (int i = 0; i < p->T * p->dv; i++) L += p->dout[i] * out[i];
    return L;
}

/* central differences of loss() with respect to each of the n elements of x */
static double *numeric(double *x, size_t n, const problem *p, const double *q, const double *k,
                       const double *v)
{
    const double h = 1e-5;
    double *num = grade_doubles(n), *out = grade_doubles((size_t)p->T * p->dv);
    for (size_t i = 0; i < n; i++) {
        double keep = x[i];
        x[i] = keep + h;
        double lp = loss(p, q, k, v, out);
        x[i] = keep - h;
        double lm = loss(p, q, k, v, out);
        x[i] = keep;
        num[i] = (lp - lm) / (2 * h);
    }
    return num;
}

static void check_gradcheck(void **state)
{
    problem p = make(8, 0, 1);
    student_backward(&p);
    size_t nq = (size_t)p.T * p.dk, nv = (size_t)p.T * p.dv;
    double *q = to_double(p.q, nq), *k = to_double(p.k, nq), *v = to_double(p.v, nv);
    double *nq_ = numeric(q, nq, &p, q, k, v), *nk = numeric(k, nq, &p, q, k, v),
           *nvv = numeric(v, nv, &p, q, k, v);
    const char *pre = "gradient check (central differences of sum dout * attention): ";
    char what[128];
    snprintf(what, sizeof what, "%sdq", pre);
    expect_close(&p, what, p.dq, nq_, p.T, p.dk, 1e-4, 1e-3);
    snprintf(what, sizeof what, "%sdk", pre);
    expect_close(&p, what, p.dkk, nk, p.T, p.dk, 1e-4, 1e-3);
    snprintf(what, sizeof what, "%sdv", pre);
    expect_close(&p, what, p.dvv, nvv, p.T, p.dv, 1e-4, 1e-3);
}

/* one position: it attends to itself with weight 1 whatever the scores, so out = v, and
 * nothing flows into q and k (softmax of a single score is constant) */
static void check_t1(void **state)
{
    for (int causal = 0; causal <= 1; causal++) {
        problem p = make(9 + causal, 1, causal);
        student_forward(&p);
        expect_forward(&p, "T = 1: ");
        student_backward(&p);
        expect_close(&p, "T = 1: dq (all 0)", p.dq, p.rdq, 1, p.dk, ATOL, RTOL);
        expect_close(&p, "T = 1: dk (all 0)", p.dkk, p.rdk, 1, p.dk, ATOL, RTOL);
        expect_close(&p, "T = 1: dv (= dout)", p.dvv, p.rdv, 1, p.dv, ATOL, RTOL);
    }
}

static const grade_check checks[] = {
    {"forward golden values: T = 3 worked by hand, causal", 2, check_golden},
    {"forward against the reference, causal mask", 1, check_forward_causal},
    {"forward against the reference, no mask", 1, check_forward_nomask},
    {"causal: changing the last position leaves earlier outputs unchanged", 1,
     check_causal_property},
    {"causal: row 0 attends only to itself", 1, check_row0},
    {"dv = P^T dout, causal mask", 1, check_dv},
    {"dq and dk against the reference, causal mask", 2, check_dq_dk},
    {"backward against the reference, no mask", 1, check_backward_nomask},
    {"gradient check (double central differences) of dq, dk, dv, causal mask", 2,
     check_gradcheck},
    {"T = 1: out = v, dq = dk = 0, dv = dout", 1, check_t1},
};

int main(int argc, char **argv)
{
    return GRADE_MAIN(argc, argv, "11", "attention", checks);
}
