/* float_only.c -- a correct Adam step written in nn_real (float) with powf/sqrtf: it must
 * score full marks, which shows the tolerances are not too tight. */
#include "adam.h"

#include <math.h>

void adam_step(nn_real *w, const nn_real *g, nn_real *m, nn_real *v, size_t n, long t,
               nn_real lr, nn_real beta1, nn_real beta2, nn_real eps)
{
    nn_real c1 = 1 - powf(beta1, (nn_real)t), c2 = 1 - powf(beta2, (nn_real)t);
    for (size_t i = 0; i < n; i++) {
        m[i] = beta1 * m[i] + (1 - beta1) * g[i];
        v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i];
        w[i] -= lr * (m[i] / c1) / (sqrtf(v[i] / c2) + eps);
    }
}
