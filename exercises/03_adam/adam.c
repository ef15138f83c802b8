/* adam.c -- exercise 03: one step of the Adam optimizer.
 *
 * Read README.md first. Write your code between TODO BEGIN and TODO END; keep the signature.
 * Grade it with `make grade EX=03`. */
#include "adam.h"

#include <math.h>

void adam_step(nn_real *w, const nn_real *g, nn_real *m, nn_real *v, size_t n, long t,
               nn_real lr, nn_real beta1, nn_real beta2, nn_real eps)
{
    /* TODO BEGIN
     * 1. the bias corrections 1 - beta1^t and 1 - beta2^t (pow from math.h; t is 1-based)
     * 2. for every i: update m[i] and v[i], correct them, and step w[i] */

    /* TODO END */
}
