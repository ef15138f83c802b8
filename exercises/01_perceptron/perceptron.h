/* perceptron.h -- exercise 01: the fixed signatures (do not change them). */
#ifndef PERCEPTRON_H
#define PERCEPTRON_H
#include "nn.h"

/* The perceptron's decision: +1 if w.x + b > 0, else -1 (a score of exactly 0 gives -1).
 * w, x: (dim) */
int perceptron_predict(const nn_real *w, nn_real b, const nn_real *x, int dim);

/* Rosenblatt's rule for one example (x, label), label -1 or +1:
 * a mistake is label * (w.x + b) <= 0 (the boundary, score 0, counts as a mistake);
 * on a mistake w += lr * label * x, b += lr * label, and return 1;
 * otherwise leave w and b untouched and return 0. */
int perceptron_update(nn_real *w, nn_real *b, const nn_real *x, int label, int dim, nn_real lr);

#endif
