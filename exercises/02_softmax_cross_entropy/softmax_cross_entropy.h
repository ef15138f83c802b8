/* softmax_cross_entropy.h -- exercise 02: the fixed signatures (do not change them). */
#ifndef SOFTMAX_CROSS_ENTROPY_H
#define SOFTMAX_CROSS_ENTROPY_H
#include "nn.h"

/* logits (B,C), labels[B] in 0..C-1.
 * Returns the mean over the batch of -log softmax(logits[b,:])[labels[b]], computed stably
 * (logits of 1000 must give a finite, correct loss). */
nn_real softmax_cross_entropy_forward(const nn_real *logits, const int *labels, int B, int C);

/* dlogits (B,C) = (softmax(logits[b,:]) - onehot(labels[b])) / B, the gradient of the mean
 * loss above. Overwrites dlogits. */
void softmax_cross_entropy_backward(nn_real *dlogits, const nn_real *logits, const int *labels,
                                    int B, int C);

#endif
