/* aborts_on_zero_grad.c -- correct, except that it calls abort() on a gradient of exactly 0:
 * the harness must report CRASH (SIGABRT) for that check only and grade the others.
 * grade-expect: CRASH zero gradient; one parameter resumed at t = 10000 */
#include "adam.h"

#include <math.h>
#include <stdlib.h>

void adam_step(nn_real *w, const nn_real *g, nn_real *m, nn_real *v, size_t n, long t,
               nn_real lr, nn_real beta1, nn_real beta2, nn_real eps)
{
    double c1 = 1 - pow(beta1, (double)t), c2 = 1 - pow(beta2, (double)t);
    for (size_t i = 0; i < n; i++) {
        if (g[i] == 0) abort();
        m[i] = beta1 * m[i] + (1 - beta1) * g[i];
        v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i];
        w[i] -= (nn_real)(lr * (m[i] / c1) / (sqrt(v[i] / c2) + eps));
    }
}
