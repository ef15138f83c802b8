/* forgets_bias.c -- a deliberately wrong perceptron: it updates w but never b.
 * grade-expect: FAIL update on a mistake: w += lr*y*x, b += lr*y, returns 1
 * grade-expect: FAIL no update when correct; score 0 counts as a mistake */
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
    if (label * s > 0) return 0;
    for (int i = 0; i < dim; i++) w[i] += lr * label * x[i];
    return 1; /* wrong: b += lr * label is missing */
}
