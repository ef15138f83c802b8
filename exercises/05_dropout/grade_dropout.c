/* grade_dropout.c -- the grader of exercise 05 dropout (10 points). */
#include "grade.h"
#include "dropout.h"

#include <math.h>

typedef struct {
    size_t n;
    nn_real p, *x, *u, *out;
    double *ref;
} problem;

/* inputs, draws with a few exact ties u == p (kept) and u == 0 (dropped), the reference */
static problem make(int stream)
{
    nn_rng rng;
    grade_rng(&rng, stream);
    problem q;
    q.n = (size_t)grade_size(&rng, 50, 300);
    q.p = (nn_real)(0.1 + 0.7 * nn_rng_uniform(&rng));
    q.x = grade_random(&rng, q.n, -2, 2);
    q.u = grade_random(&rng, q.n, 0, 1);
    for (int k = 0; k < 3; k++) q.u[nn_rng_int(&rng, (int)q.n)] = q.p;
    q.u[nn_rng_int(&rng, (int)q.n)] = 0;
    q.out = grade_reals(q.n);
    grade_fill(q.out, q.n, 7); /* must be overwritten */
    q.ref = grade_doubles(q.n);
    for (size_t i = 0; i < q.n; i++) q.ref[i] = q.u[i] >= q.p ? (double)q.x[i] / (1 - (double)q.p) : 0;
    return q;
}

static void check_forward(void **state)
{
    problem q = make(1);
    dropout_forward(q.out, q.x, q.u, q.n, q.p, 1);
    char what[96];
    snprintf(what, sizeof what, "y in training (p = %.3f)", (double)q.p);
    grade_expect_close(what, q.out, q.ref, (int)q.n, 0, 1e-6, 1e-5);
}

static void check_backward(void **state)
{
    problem q = make(2); /* x plays dy */
    dropout_backward(q.out, q.x, q.u, q.n, q.p, 1);
    char what[96];
    snprintf(what, sizeof what, "dx in training (p = %.3f)", (double)q.p);
    grade_expect_close(what, q.out, q.ref, (int)q.n, 0, 1e-6, 1e-5);
}

static void check_identity(void **state)
{
    problem q = make(3);
    double *xd = grade_doubles(q.n);
    grade_to_double(xd, q.x, q.n);
    dropout_forward(q.out, q.x, q.u, q.n, 0, 1);
    grade_expect_close("y in training with p = 0 (should be x)", q.out, xd, (int)q.n, 0, 0, 1e-7);
    grade_fill(q.out, q.n, 7);
    dropout_forward(q.out, q.x, q.u, q.n, q.p, 0);
    grade_expect_close("y in evaluation mode (should be x)", q.out, xd, (int)q.n, 0, 0, 0);
    grade_fill(q.out, q.n, 7);
    dropout_backward(q.out, q.x, q.u, q.n, q.p, 0);
    grade_expect_close("dx in evaluation mode (should be dy)", q.out, xd, (int)q.n, 0, 0, 0);
}

static void check_expectation(void **state)
{
    nn_rng rng;
    grade_rng(&rng, 4);
    size_t n = 200000;
    nn_real p = (nn_real)(0.2 + 0.25 * nn_rng_uniform(&rng));
    nn_real *x = grade_reals(n), *y = grade_reals(n), *u = grade_random(&rng, n, 0, 1);
    grade_fill(x, n, 1);
    dropout_forward(y, x, u, n, p, 1);
    double mean = 0;
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) mean += y[i], kept += y[i] != 0;
    mean /= n;
    /* the mean of 200000 draws: within 1.5% of 1 (more than 4 standard deviations) */
    if (!(fabs(mean - 1) < 0.015))
        fail_msg("mean of y over %zu ones with p = %.3f is %.5f, expected 1 +- 0.015 (kept %zu, "
                 "about %.0f expected): the kept values must be scaled by 1/(1-p)",
                 n, (double)p, mean, kept, n * (1 - (double)p));
}

static const grade_check checks[] = {
    {"forward in training: keep where u >= p, scale 1/(1-p)", 3, check_forward},
    {"backward in training: the same mask and scale", 3, check_backward},
    {"p = 0 and evaluation mode are the identity", 2, check_identity},
    {"expected value preserved: mean of y is ~1 for x = 1", 2, check_expectation},
};

int main(int argc, char **argv) { return GRADE_MAIN(argc, argv, "05", "dropout", checks); }
