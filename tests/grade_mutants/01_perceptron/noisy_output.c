/* noisy_output.c -- a correct perceptron that prints quotes, backslashes, tabs, control and
 * non-ASCII characters while it works: it must still score full marks (output never decides a
 * check), and the grader's JSON must stay valid (tests/test_grader.c parses it). */
#include "perceptron.h"

#include <stdio.h>

static double score(const nn_real *w, nn_real b, const nn_real *x, int dim)
{
    double s = b;
    for (int i = 0; i < dim; i++) s += (double)w[i] * x[i];
    return s;
}

int perceptron_predict(const nn_real *w, nn_real b, const nn_real *x, int dim)
{
    printf("debug: \"score\" \\ %g\t\x01\x7f caf\xc3\xa9 \xff\n", score(w, b, x, dim));
    return score(w, b, x, dim) > 0 ? 1 : -1;
}

int perceptron_update(nn_real *w, nn_real *b, const nn_real *x, int label, int dim, nn_real lr)
{
    fprintf(stderr, "update \"%d\"\r\n", label);
    if (label * score(w, *b, x, dim) > 0) return 0;
    for (int i = 0; i < dim; i++) w[i] += lr * label * x[i];
    *b += lr * label;
    return 1;
}
