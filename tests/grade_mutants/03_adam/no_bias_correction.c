/* no_bias_correction.c -- a deliberately wrong Adam: it steps with m and v themselves, not
 * their bias-corrected mhat and vhat, so the first steps are ~3x too long (1-beta1 over
 * sqrt(1-beta2)). Late in training (t = 10000) the corrections are ~1 and it is right.
 * grade-expect: FAIL step 1 moves every weight by lr*sign(g)
 * grade-expect: FAIL 10 steps with drawn hyperparameters vs the reference */
#include "adam.h"

#include <math.h>

void adam_step(nn_real *w, const nn_real *g, nn_real *m, nn_real *v, size_t n, long t,
               nn_real lr, nn_real beta1, nn_real beta2, nn_real eps)
{
    for (size_t i = 0; i < n; i++) {
        m[i] = beta1 * m[i] + (1 - beta1) * g[i];
        v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i];
        w[i] -= (nn_real)(lr * m[i] / (sqrt(v[i]) + eps));
    }
}
