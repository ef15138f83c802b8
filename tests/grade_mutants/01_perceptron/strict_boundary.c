/* strict_boundary.c -- a deliberately wrong perceptron: a score of exactly 0 is not counted
 * as a mistake (label * score < 0 instead of <= 0), so from w = 0, b = 0 it never learns.
 * grade-expect: FAIL no update when correct; score 0 counts as a mistake
 * grade-expect: FAIL converges on linearly separable data */
#include "perceptron.h"

int perceptron_predict(const nn_real *w, nn_real b, const nn_real *x, int dim)
{
    double s = b;
    for (int i = 0; i < dim; i++) s += (double)w[i] * x[i];
    return s > 0 ? 1 : -1;
}

int perceptron_update(nn_real *w, nn_real *b, const nn_real *x, int label, int dim, nn_real lr)
{
    double s = *b;
    for (int i = 0; i < dim; i++) s += (double)w[i] * x[i];
    if (label * s >= 0) return 0; /* wrong: the boundary is a mistake too */
    for (int i = 0; i < dim; i++) w[i] += lr * label * x[i];
    *b += lr * label;
    return 1;
}
