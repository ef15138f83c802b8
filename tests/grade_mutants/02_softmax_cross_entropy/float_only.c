/* float_only.c -- a correct softmax cross-entropy written the plain way, in nn_real (float)
 * with expf/logf: it must score full marks, which shows the tolerances are not too tight. */
#include "softmax_cross_entropy.h"

#include <math.h>

nn_real softmax_cross_entropy_forward(const nn_real *logits, const int *labels, int B, int C)
{
    nn_real total = 0;
    for (int b = 0; b < B; b++) {
        const nn_real *z = logits + b * C;
        nn_real m = z[0], s = 0;
        for (int j = 1; j < C; j++) m = fmaxf(m, z[j]);
        for (int j = 0; j < C; j++) s += expf(z[j] - m);
        total += m + logf(s) - z[labels[b]];
    }
    return total / B;
}

void softmax_cross_entropy_backward(nn_real *dlogits, const nn_real *logits, const int *labels,
                                    int B, int C)
{
    for (int b = 0; b < B; b++) {
        const nn_real *z = logits + b * C;
        nn_real m = z[0], s = 0;
        for (int j = 1; j < C; j++) m = fmaxf(m, z[j]);
        for (int j = 0; j < C; j++) s += expf(z[j] - m);
        for (int j = 0; j < C; j++)
            dlogits[b * C + j] = (expf(z[j] - m) / s - (j == labels[b])) / B;
    }
}
