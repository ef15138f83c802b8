/* grade_batchnorm_backward.c -- the grader of exercise 06 batchnorm_backward (10 points). */
#include "grade.h"
#include "batchnorm_backward.h"

#include <math.h>

#define EPS 1e-5

typedef struct {
    int B, C;
    nn_real *x, *dy, *gamma, *mean, *rstd, *dx, *dgamma, *dbeta;
    double *rdx, *rdgamma, *rdbeta;
} problem;

/* mean and rstd of each feature, in double, stored as the forward pass would (nn_real) */
static void statistics(problem *p)
{
    for (int c = 0; c < p->C; c++) {
        double m = 0, v = 0;
        for (int b = 0; b < p->B; b++) m += p->x[b * p->C + c];
        m /= p->B;
        for (int b = 0; b < p->B; b++) v += (p->x[b * p->C + c] - m) * (p->x[b * p->C + c] - m);
        v /= p->B;
        p->mean[c] = (nn_real)m;
        p->rstd[c] = (nn_real)(1 / sqrt(v + EPS));
    }
}

static void reference(problem *p)
{
    int B = p->B, C = p->C;
    for (int c = 0; c < C; c++) {
        double sdy = 0, sdyx = 0, rstd = p->rstd[c], mean = p->mean[c], gamma = p->gamma[c];
        for (int b = 0; b < B; b++) {
            double xhat = (p->x[b * C + c] - mean) * rstd;
            sdy += p->dy[b * C + c];
            sdyx += p->dy[b * C + c] * xhat;
        }
        p->rdbeta[c] = sdy;
        p->rdgamma[c] = sdyx;
        for (int b = 0; b < B; b++) {
            double xhat = (p->x[b * C + c] - mean) * rstd;
            p->rdx[b * C + c] = rstd * (gamma * p->dy[b * C + c] - gamma * sdy / B - xhat * gamma * sdyx / B);
        }
    }
}

/* B == 0: drawn. Each feature gets its own offset and spread, so mean and rstd matter. */
static problem make(int stream, int B)
{
    nn_rng rng;
    grade_rng(&rng, stream);
    problem p;
    p.B = B ? B : grade_size(&rng, 3, 12);
    p.C = grade_size(&rng, 2, 9);
    size_t n = (size_t)p.B * p.C;
    p.x = grade_reals(n);
    for (int c = 0; c < p.C; c++) {
        double offset = 4 * nn_rng_uniform(&rng) - 2, spread = 0.5 + 2 * nn_rng_uniform(&rng);
        for (int b = 0; b < p.B; b++) p.x[b * p.C + c] = (nn_real)(offset + spread * nn_rng_normal(&rng));
        if (p.B == 2) /* two samples at least 0.5 apart, so rstd stays moderate */
            p.x[p.C + c] = (nn_real)(p.x[c] + (0.5 + spread * nn_rng_uniform(&rng)) * (nn_rng_uniform(&rng) < 0.5 ? -1 : 1));
    }
    p.dy = grade_random(&rng, n, -1, 1);
    p.gamma = grade_random(&rng, p.C, 0.5, 1.5);
    p.mean = grade_reals(p.C);
    p.rstd = grade_reals(p.C);
    statistics(&p);
    p.dx = grade_reals(n), p.dgamma = grade_reals(p.C), p.dbeta = grade_reals(p.C);
    grade_fill(p.dx, n, 7), grade_fill(p.dgamma, p.C, 7), grade_fill(p.dbeta, p.C, 7);
    p.rdx = grade_doubles(n), p.rdgamma = grade_doubles(p.C), p.rdbeta = grade_doubles(p.C);
    reference(&p);
    batchnorm_backward(p.dx, p.dgamma, p.dbeta, p.dy, p.x, p.gamma, p.mean, p.rstd, p.B, p.C);
    return p;
}

#define ATOL 2e-5
#define RTOL 1e-4

static void check_dbeta(void **state)
{
    problem p = make(1, 0);
    grade_expect_close("dbeta", p.dbeta, p.rdbeta, p.C, 0, ATOL, RTOL);
}

static void check_dgamma(void **state)
{
    problem p = make(2, 0);
    grade_expect_close("dgamma", p.dgamma, p.rdgamma, p.C, 0, ATOL, RTOL);
}

static void check_dx(void **state)
{
    problem p = make(3, 0);
    grade_expect_close("dX", p.dx, p.rdx, p.B, p.C, ATOL, RTOL);
}

/* L = sum dy * BN(x), the statistics recomputed from x, everything in double */
static double loss(const double *x, const problem *p)
{
    int B = p->B, C = p->C;
    double L = 0;
    for (int c = 0; c < C; c++) {
        double m = 0, v = 0;
        for (int b = 0; b < B; b++) m += x[b * C + c];
        m /= B;
        for (int b = 0; b < B; b++) v += (x[b * C + c] - m) * (x[b * C + c] - m);
        v /= B;
        double rstd = 1 / sqrt(v + EPS);
        for (int b = 0; b < B; b++)
            L += p->dy[b * C + c] * (p->gamma[c] * (x[b * C + c] - m) * rstd);
    }
    return L;
}

static void check_gradcheck(void **state)
{
    problem p = make(4, 0);
    size_t n = (size_t)p.B * p.C;
    double *xd = grade_doubles(n), *num = grade_doubles(n), h = 1e-5;
    grade_to_double(xd, p.x, n);
    for (size_t i = 0; i < n; i++) {
        double keep = xd[i];
        xd[i] = keep + h;
        double lp = loss(xd, &p);
        xd[i] = keep - h;
        double lm = loss(xd, &p);
        xd[i] = keep;
        num[i] = (lp - lm) / (2 * h);
    }
    grade_expect_close("gradient check (central differences of sum dY * BN(x)): dX", p.dx, num,
                       p.B, p.C, 1e-4, 1e-3);
}

static void check_batch2(void **state)
{
    problem p = make(5, 2); /* xhat is about +-1 in every feature, and dX about 0 */
    grade_expect_close("batch 2: dbeta", p.dbeta, p.rdbeta, p.C, 0, ATOL, RTOL);
    grade_expect_close("batch 2: dgamma", p.dgamma, p.rdgamma, p.C, 0, ATOL, RTOL);
    grade_expect_close("batch 2: dX", p.dx, p.rdx, p.B, p.C, 1e-4, RTOL);
}

static const grade_check checks[] = {
    {"dbeta = sum of dY over the batch", 2, check_dbeta},
    {"dgamma = sum of dY * xhat", 2, check_dgamma},
    {"dX against the reference", 2, check_dx},
    {"gradient check (double central differences) through the batch statistics", 2, check_gradcheck},
    {"batch size 2", 2, check_batch2},
};

int main(int argc, char **argv)
{
    return GRADE_MAIN(argc, argv, "06", "batchnorm_backward", checks);
}
