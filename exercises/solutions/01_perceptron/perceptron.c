/* perceptron.c -- reference solution of exercise 01 (instructors: remove before release). */
#include "perceptron.h"

static double score(const nn_real *w, nn_real b, const nn_real *x, int dim)
{
    double s = b;
    for (int i = 0; i < dim; i++) s += (double)w[i] * x[i];
    return s;
}

int perceptron_predict(const nn_real *w, nn_real b, const nn_real *x, int dim)
{
    return score(w, b, x, dim) > 0 ? 1 : -1;
}

int perceptron_update(nn_real *w, nn_real *b, const nn_real *x, int label, int dim, nn_real lr)
{
    if (label * score(w, *b, x, dim) > 0) return 0; /* correct, with room to spare */
    for (int i = 0; i < dim; i++) w[i] += lr * label * x[i];
    *b += lr * label;
    return 1;
}
