/* evaluate.c -- a classifier on a whole dataset: forward only, in evaluation mode, in batches.
 *
 * Every lesson that trains a classifier asks the same question after each epoch: what are the
 * mean cross-entropy and the accuracy on the validation or test set? The model is passed as a
 * function so that any network can be asked. */
#include "nn.h"

nn_evaluation nn_evaluate(nn_graph *g, nn_model_fn model, void *ctx, const nn_data *d, int batch,
                          int *predictions)
{
    if (d->n < 1 || d->dim < 1 || d->classes < 1)
        nn_fail("nn_evaluate: the dataset is empty (n=%d, dim=%d, classes=%d)", d->n, d->dim,
                d->classes);
    if (batch < 1) nn_fail("nn_evaluate: batch must be at least 1, got %d", batch);
    const int was_training = g->training, had_grad = g->grad;
    g->training = 0; /* dropout off, batch norm on its running statistics */
    g->grad = 0;     /* nothing to record for backward */
    double loss_sum = 0;
    long right = 0;
    for (int start = 0; start < d->n; start += batch) {
        int count = d->n - start < batch ? d->n - start : batch;
        nn_graph_reset(g);
        nn_tensor *x = nn_graph_input(g, d->x + (size_t)start * d->dim, 2, count, d->dim);
        nn_tensor *logits = model(g, x, ctx);
        if (logits->ndim != 2 || logits->shape[0] != count || logits->shape[1] != d->classes) {
            char got[64];
            nn_fail("nn_evaluate: the model returned %s, expected (%d,%d) logits",
                    nn_shape_str(logits, got, sizeof got), count, d->classes);
        }
        /* the loss of a batch is its mean, so weight it by the batch size */
        loss_sum += (double)nn_softmax_cross_entropy(g, logits, d->y + start)->data[0] * count;
        for (int i = 0; i < count; i++) {
            int p = nn_kernel_argmax(logits->data + (size_t)i * d->classes, d->classes);
            right += p == d->y[start + i];
            if (predictions) predictions[start + i] = p;
        }
    }
    nn_graph_reset(g);
    g->training = was_training;
    g->grad = had_grad;
    return (nn_evaluation){loss_sum / d->n, (double)right / d->n};
}
