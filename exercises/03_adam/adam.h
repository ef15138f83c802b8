/* adam.h -- exercise 03: the fixed signature (do not change it). */
#ifndef ADAM_H
#define ADAM_H
#include "nn.h"

/* One Adam step (Kingma & Ba 2015, Algorithm 1) over n parameters, in place.
 *   w (n) parameters, g (n) their gradients, m (n) and v (n) the moment estimates (zero before
 *   step 1), t the step number: 1 on the first call, 2 on the second, ...
 *   m = beta1 m + (1-beta1) g          v = beta2 v + (1-beta2) g^2
 *   mhat = m / (1 - beta1^t)           vhat = v / (1 - beta2^t)
 *   w -= lr * mhat / (sqrt(vhat) + eps) */
void adam_step(nn_real *w, const nn_real *g, nn_real *m, nn_real *v, size_t n, long t,
               nn_real lr, nn_real beta1, nn_real beta2, nn_real eps);

#endif
