/* softmax_cross_entropy.c -- exercise 02: the classifier's loss and its gradient.
 *
 * Read README.md first. Write your code between TODO BEGIN and TODO END; keep the signatures.
 * Grade it with `make grade EX=02`. Row b of logits is logits[b * C + 0 .. b * C + C-1]. */
#include "softmax_cross_entropy.h"

#include <math.h>

nn_real softmax_cross_entropy_forward(const nn_real *logits, const int *labels, int B, int C)
{
    /* TODO BEGIN
     * For each row b: m = max_j z[j];  logsumexp = m + log(sum_j exp(z[j] - m));
     *                 loss_b = logsumexp - z[labels[b]]
     * Return the mean of loss_b over the batch. (Accumulate in double.) */
    return 0;
    /* TODO END */
}

void softmax_cross_entropy_backward(nn_real *dlogits, const nn_real *logits, const int *labels,
                                    int B, int C)
{
    /* TODO BEGIN
     * For each row b: p = softmax(z) (subtract the row max before exp);
     *                 dlogits[b,j] = (p[j] - [j == labels[b]]) / B */

    /* TODO END */
}
