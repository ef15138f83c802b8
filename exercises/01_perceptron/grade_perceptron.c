/* grade_perceptron.c -- the grader of exercise 01 perceptron (10 points). */
#include "grade.h"
#include "perceptron.h"

#include <math.h>
#include <string.h>

static double score(const nn_real *w, double b, const nn_real *x, int dim)
{
    double s = b;
    for (int i = 0; i < dim; i++) s += (double)w[i] * x[i];
    return s;
}

static void check_predict(void **state)
{
    /* hand-worked: w = (1,-1), b = 0, x = (2,2): score exactly 0 -> -1 */
    const nn_real w0[] = {1, -1}, x0[] = {2, 2}, x1[] = {2, 1};
    int got = perceptron_predict(w0, 0, x0, 2);
    if (got != -1) fail_msg("predict: w=(1,-1) b=0 x=(2,2) has score 0, expected -1, found %d", got);
    got = perceptron_predict(w0, 0, x1, 2);
    if (got != 1) fail_msg("predict: w=(1,-1) b=0 x=(2,1) has score 1, expected +1, found %d", got);
    got = perceptron_predict(w0, (nn_real)-1.5, x1, 2);
    if (got != -1) fail_msg("predict: w=(1,-1) b=-1.5 x=(2,1) has score -0.5, expected -1, found %d", got);
    nn_rng rng;
    grade_rng(&rng, 1);
    for (int k = 0; k < 40; k++) {
        int dim = grade_size(&rng, 1, 12);
        nn_real *w = grade_random(&rng, dim, -1, 1), *x = grade_random(&rng, dim, -1, 1);
        nn_real b = (nn_real)(nn_rng_uniform(&rng) - 0.5);
        double s = score(w, b, x, dim);
        if (fabs(s) < 1e-3) continue; /* too close to call in float */
        int expect = s > 0 ? 1 : -1;
        got = perceptron_predict(w, b, x, dim);
        if (got != expect)
            fail_msg("predict: example %d (dim %d) has score %.6g, expected %+d, found %d", k, dim, s,
                     expect, got);
    }
}

static void expect_update(const char *what, const nn_real *w, nn_real b, const nn_real *x,
                          int label, int dim, nn_real lr)
{
    nn_real *ws = grade_reals(dim);
    memcpy(ws, w, sizeof(nn_real) * dim);
    nn_real bs = b;
    double *ref = grade_doubles(dim);
    for (int i = 0; i < dim; i++) ref[i] = (double)w[i] + (double)lr * label * x[i];
    double rb = (double)b + (double)lr * label;
    int r = perceptron_update(ws, &bs, x, label, dim, lr);
    if (r != 1)
        fail_msg("%s: label %+d, score %.6g is a mistake: expected return 1, found %d", what, label,
                 score(w, b, x, dim), r);
    char name[256];
    snprintf(name, sizeof name, "%s: w after the update", what);
    grade_expect_close(name, ws, ref, dim, 0, 1e-6, 1e-5);
    snprintf(name, sizeof name, "%s: b after the update", what);
    grade_expect_value(name, bs, rb, 1e-6, 1e-5);
}

static void check_update_golden(void **state)
{
    /* hand-worked: w=(0.5,-1,2) b=0.25 x=(1,2,-0.5) label +1: score -2.25, a mistake;
     * lr 0.1: w -> (0.6,-0.8,1.95), b -> 0.35 */
    const nn_real w[] = {0.5f, -1, 2}, x[] = {1, 2, -0.5f};
    expect_update("hand-worked example", w, 0.25f, x, 1, 3, 0.1f);
    nn_rng rng;
    grade_rng(&rng, 2);
    for (int k = 0; k < 10; k++) {
        int dim = grade_size(&rng, 2, 17);
        nn_real *wr = grade_random(&rng, dim, -1, 1), *xr = grade_random(&rng, dim, -2, 2);
        nn_real b = (nn_real)(nn_rng_uniform(&rng) - 0.5), lr = (nn_real)(0.05 + nn_rng_uniform(&rng));
        double s = score(wr, b, xr, dim);
        if (fabs(s) < 1e-3) continue;
        char what[64];
        snprintf(what, sizeof what, "random example %d (dim %d, lr %.3g)", k, dim, (double)lr);
        expect_update(what, wr, b, xr, s > 0 ? -1 : 1, dim, lr); /* the wrong label: a mistake */
    }
}

static void check_no_update(void **state)
{
    nn_rng rng;
    grade_rng(&rng, 3);
    for (int k = 0; k < 10; k++) {
        int dim = grade_size(&rng, 2, 17);
        nn_real *w = grade_random(&rng, dim, -1, 1), *x = grade_random(&rng, dim, -2, 2);
        nn_real b = (nn_real)(nn_rng_uniform(&rng) - 0.5), b0 = b;
        double s = score(w, b, x, dim);
        if (fabs(s) < 1e-3) continue;
        nn_real *w0 = grade_reals(dim);
        memcpy(w0, w, sizeof(nn_real) * dim);
        int label = s > 0 ? 1 : -1;
        int r = perceptron_update(w, &b, x, label, dim, 0.5f);
        if (r != 0)
            fail_msg("correct example %d: label %+d and score %.6g agree: expected return 0, found %d",
                     k, label, s, r);
        if (memcmp(w, w0, sizeof(nn_real) * dim) != 0 || b != b0)
            fail_msg("correct example %d: label %+d and score %.6g agree, but w or b changed", k,
                     label, s);
    }
    /* the boundary: w = 0, b = 0 gives score 0, which counts as a mistake for either label */
    for (int label = -1; label <= 1; label += 2) {
        int dim = grade_size(&rng, 2, 9);
        nn_real *w = grade_reals(dim), *x = grade_random(&rng, dim, -2, 2);
        char what[96];
        snprintf(what, sizeof what, "boundary (w = 0, b = 0, score 0, label %+d)", label);
        expect_update(what, w, 0, x, label, dim, 0.25f);
    }
}

static void check_converges(void **state)
{
    nn_rng rng;
    grade_rng(&rng, 4);
    int dim = grade_size(&rng, 2, 5), n = grade_size(&rng, 40, 80);
    /* a true separator (unit w*, bias b*) and points at least 0.1 away from it */
    double ws[8], norm = 0, bs = 0.6 * (nn_rng_uniform(&rng) - 0.5);
    for (int i = 0; i < dim; i++) ws[i] = nn_rng_normal(&rng), norm += ws[i] * ws[i];
    for (int i = 0; i < dim; i++) ws[i] /= sqrt(norm);
    nn_real *X = grade_reals((size_t)n * dim);
    int *y = nn_calloc(n, sizeof(int));
    for (int k = 0; k < n;) {
        double s = bs;
        for (int i = 0; i < dim; i++) {
            X[k * dim + i] = (nn_real)(2 * nn_rng_uniform(&rng) - 1);
            s += ws[i] * X[k * dim + i];
        }
        if (fabs(s) < 0.1) continue;
        y[k++] = s > 0 ? 1 : -1;
    }
    nn_real *w = grade_reals(dim), b = 0;
    int epoch, mistakes = -1, max_epochs = 2000;
    for (epoch = 1; epoch <= max_epochs && mistakes != 0; epoch++) {
        mistakes = 0;
        for (int k = 0; k < n; k++) mistakes += perceptron_update(w, &b, X + k * dim, y[k], dim, 1);
    }
    if (mistakes != 0)
        fail_msg("%d separable points in %d-D (margin 0.1): still %d mistakes after %d epochs",
                 n, dim, mistakes, max_epochs);
    for (int k = 0; k < n; k++) {
        double s = score(w, b, X + k * dim, dim);
        if (y[k] * s <= 0)
            fail_msg("an epoch returned 0 mistakes, but point %d (label %+d) has score %.6g with the "
                     "learned w and b", k, y[k], s);
    }
    int wrong = 0;
    for (int k = 0; k < n; k++) wrong += perceptron_predict(w, b, X + k * dim, dim) != y[k];
    if (wrong) fail_msg("after training, perceptron_predict gets %d of %d training points wrong", wrong, n);
}

static const grade_check checks[] = {
    {"predict: the sign of w.x + b, score 0 gives -1", 2, check_predict},
    {"update on a mistake: w += lr*y*x, b += lr*y, returns 1", 3, check_update_golden},
    {"no update when correct; score 0 counts as a mistake", 2, check_no_update},
    {"converges on linearly separable data", 3, check_converges},
};

int main(int argc, char **argv) { return GRADE_MAIN(argc, argv, "01", "perceptron", checks); }
