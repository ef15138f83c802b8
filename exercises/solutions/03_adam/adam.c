/* adam.c -- reference solution of exercise 03 (instructors: remove before release). */
#include "adam.h"

#include <math.h>

void adam_step(nn_real *w, const nn_real *g, nn_real *m, nn_real *v, size_t n, long t,
               nn_real lr, nn_real beta1, nn_real beta2, nn_real eps)
{
    double c1 = 1 - pow(beta1, (double)t), c2 = 1 - pow(beta2, (double)t);
    for (size_t i = 0; i < n; i++) {
        m[i] = beta1 * m[i] + (1 - beta1) * g[i];
        v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i];
        double mhat = m[i] / c1, vhat = v[i] / c2;
        w[i] -= (nn_real)(lr * mhat / (sqrt(vhat) + eps));
    }
}
