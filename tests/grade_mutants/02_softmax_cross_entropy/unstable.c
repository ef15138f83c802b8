/* unstable.c -- a deliberately fragile softmax: exp(z) without subtracting the row max.
 * Right for small logits; inf/NaN for logits of 1000.
 * grade-expect: FAIL forward: stable for logits of +-1000
 * grade-expect: FAIL batch size 1 and huge logits, forward and backward */
#include "softmax_cross_entropy.h"

#include <math.h>

nn_real softmax_cross_entropy_forward(const nn_real *logits, const int *labels, int B, int C)
{
    double total = 0;
    for (int b = 0; b < B; b++) {
        const nn_real *z = logits + (size_t)b * C;
        double s = 0;
        for (int j = 0; j < C; j++) s += exp(z[j]);
        total += log(s) - z[labels[b]];
    }
    return (nn_real)(total / B);
}

void softmax_cross_entropy_backward(nn_real *dlogits, const nn_real *logits, const int *labels,
                                    int B, int C)
{
    for (int b = 0; b < B; b++) {
        const nn_real *z = logits + (size_t)b * C;
        double s = 0;
        for (int j = 0; j < C; j++) s += exp(z[j]);
        for (int j = 0; j < C; j++)
            dlogits[b * C + j] = (nn_real)((exp(z[j]) / s - (j == labels[b])) / B);
    }
}
