/* grade_adam.c -- the grader of exercise 03 adam (10 points). The reference runs the same
 * steps in double next to the student's code. */
#include "grade.h"
#include "adam.h"

#include <math.h>
#include <string.h>

typedef struct {
    double lr, beta1, beta2, eps;
} hyper;

static void ref_step(double *w, const nn_real *g, double *m, double *v, size_t n, long t, hyper h)
{
    double c1 = 1 - pow(h.beta1, (double)t), c2 = 1 - pow(h.beta2, (double)t);
    for (size_t i = 0; i < n; i++) {
        m[i] = h.beta1 * m[i] + (1 - h.beta1) * g[i];
        v[i] = h.beta2 * v[i] + (1 - h.beta2) * (double)g[i] * g[i];
        w[i] -= h.lr * (m[i] / c1) / (sqrt(v[i] / c2) + h.eps);
    }
}

/* nonzero gradients: |g| in [0.05, 2], either sign */
static nn_real *gradients(nn_rng *rng, size_t n)
{
    nn_real *g = grade_reals(n);
    for (size_t i = 0; i < n; i++)
        g[i] = (nn_real)((0.05 + 1.95 * nn_rng_uniform(rng)) * (nn_rng_uniform(rng) < 0.5 ? -1 : 1));
    return g;
}

typedef struct {
    size_t n;
    nn_real *w, *m, *v;
    double *rw, *rm, *rv;
} state_pair;

static state_pair make_state(nn_rng *rng, size_t n)
{
    state_pair s;
    s.n = n;
    s.w = grade_random(rng, n, -1, 1);
    s.m = grade_reals(n);
    s.v = grade_reals(n);
    s.rw = grade_doubles(n);
    s.rm = grade_doubles(n);
    s.rv = grade_doubles(n);
    grade_to_double(s.rw, s.w, n);
    return s;
}

static void run_steps(state_pair *s, nn_rng *rng, long t0, int steps, hyper h)
{
    for (long t = t0; t < t0 + steps; t++) {
        nn_real *g = gradients(rng, s->n);
        adam_step(s->w, g, s->m, s->v, s->n, t, (nn_real)h.lr, (nn_real)h.beta1, (nn_real)h.beta2,
                  (nn_real)h.eps);
        ref_step(s->rw, g, s->rm, s->rv, s->n, t, h);
    }
}

/* hyperparameters as floats see them, so the reference uses the very same values */
static hyper drawn_hyper(nn_rng *rng)
{
    hyper h = {(nn_real)(1e-3 + 0.05 * nn_rng_uniform(rng)), (nn_real)(0.8 + 0.15 * nn_rng_uniform(rng)),
               (nn_real)(0.99 + 0.009 * nn_rng_uniform(rng)), (nn_real)1e-8};
    return h;
}

static void check_first_step(void **state)
{
    nn_rng rng;
    grade_rng(&rng, 1);
    size_t n = (size_t)grade_size(&rng, 5, 40);
    hyper h = {(nn_real)0.01, (nn_real)0.9, (nn_real)0.999, (nn_real)1e-8};
    h.lr = (nn_real)(0.001 * grade_size(&rng, 1, 20));
    state_pair s = make_state(&rng, n);
    nn_real *g = gradients(&rng, n);
    adam_step(s.w, g, s.m, s.v, n, 1, (nn_real)h.lr, (nn_real)h.beta1, (nn_real)h.beta2,
              (nn_real)h.eps);
    /* with bias correction, mhat = g and vhat = g^2: the step is lr * g/|g| */
    for (size_t i = 0; i < n; i++) s.rw[i] -= h.lr * (g[i] > 0 ? 1 : -1);
    char what[96];
    snprintf(what, sizeof what, "w after step 1 (lr %g, expected move lr*sign(g))", h.lr);
    grade_expect_close(what, s.w, s.rw, (int)n, 0, 1e-6, 1e-5);
}

static void check_moments(void **state)
{
    nn_rng rng;
    grade_rng(&rng, 2);
    state_pair s = make_state(&rng, (size_t)grade_size(&rng, 5, 40));
    hyper h = drawn_hyper(&rng);
    run_steps(&s, &rng, 1, 3, h);
    char what[128];
    snprintf(what, sizeof what, "m after 3 steps (beta1 %.4g)", h.beta1);
    grade_expect_close(what, s.m, s.rm, (int)s.n, 0, 1e-6, 1e-5);
    snprintf(what, sizeof what, "v after 3 steps (beta2 %.4g)", h.beta2);
    grade_expect_close(what, s.v, s.rv, (int)s.n, 0, 1e-7, 1e-5);
}

static void check_ten_steps(void **state)
{
    nn_rng rng;
    grade_rng(&rng, 3);
    state_pair s = make_state(&rng, (size_t)grade_size(&rng, 5, 40));
    hyper h = drawn_hyper(&rng);
    run_steps(&s, &rng, 1, 10, h);
    char what[160];
    snprintf(what, sizeof what, "w after 10 steps (lr %.4g, beta1 %.4g, beta2 %.4g)", h.lr,
             h.beta1, h.beta2);
    grade_expect_close(what, s.w, s.rw, (int)s.n, 0, 2e-6, 1e-5);
}

static void check_edges(void **state)
{
    nn_rng rng;
    grade_rng(&rng, 4);
    /* a zero gradient at step 1: m = v = 0, and the step 0 / (0 + eps) must be exactly 0 */
    size_t n = (size_t)grade_size(&rng, 3, 12);
    state_pair s = make_state(&rng, n);
    nn_real *g = grade_reals(n);
    adam_step(s.w, g, s.m, s.v, n, 1, (nn_real)0.01, (nn_real)0.9, (nn_real)0.999, (nn_real)1e-8);
    grade_expect_close("w after a zero gradient", s.w, s.rw, (int)n, 0, 0, 0);
    /* a single parameter, resumed late (t = 10000) from stored moments */
    state_pair r = make_state(&rng, 1);
    r.m[0] = (nn_real)(nn_rng_uniform(&rng) - 0.5), r.rm[0] = r.m[0];
    r.v[0] = (nn_real)(0.1 + nn_rng_uniform(&rng)), r.rv[0] = r.v[0];
    hyper h = drawn_hyper(&rng);
    run_steps(&r, &rng, 10000, 1, h);
    grade_expect_close("n = 1 at step 10000: w", r.w, r.rw, 1, 0, 1e-6, 1e-5);
    grade_expect_close("n = 1 at step 10000: m", r.m, r.rm, 1, 0, 1e-6, 1e-5);
    grade_expect_close("n = 1 at step 10000: v", r.v, r.rv, 1, 0, 1e-6, 1e-5);
}

static const grade_check checks[] = {
    {"step 1 moves every weight by lr*sign(g)", 3, check_first_step},
    {"moments m and v after 3 steps", 2, check_moments},
    {"10 steps with drawn hyperparameters vs the reference", 3, check_ten_steps},
    {"zero gradient; one parameter resumed at t = 10000", 2, check_edges},
};

int main(int argc, char **argv) { return GRADE_MAIN(argc, argv, "03", "adam", checks); }
