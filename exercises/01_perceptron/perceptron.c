/* perceptron.c -- exercise 01: the perceptron's prediction and its learning rule.
 *
 * Read README.md first. Write your code between TODO BEGIN and TODO END; keep the signatures.
 * Grade it with `make grade EX=01`. */
#include "perceptron.h"

int perceptron_predict(const nn_real *w, nn_real b, const nn_real *x, int dim)
{
    /* TODO BEGIN
     * score = w . x + b  (a loop over dim); return +1 if score > 0, else -1. */
    return 0;
    /* TODO END */
}

int perceptron_update(nn_real *w, nn_real *b, const nn_real *x, int label, int dim, nn_real lr)
{
    /* TODO BEGIN
     * 1. score = w . x + b
     * 2. if label * score <= 0 (a mistake, the boundary included):
     *        w[i] += lr * label * x[i] for every i,  *b += lr * label,  return 1
     * 3. otherwise return 0 and change nothing. */
    return 0;
    /* TODO END */
}
