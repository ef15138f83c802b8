/* data_split.c -- hold out a validation set: tune on it, report on the test set only once. */
#include "nn.h"

#include <stdlib.h>
#include <string.h>

static void copy_examples(nn_data *out, const nn_data *d, const int *order, int count)
{
    *out = *d; /* geometry and classes */
    out->n = count;
    size_t values = nn_size_mul((size_t)count, (size_t)d->dim, "nn_data_split");
    out->x = nn_malloc(nn_size_mul(values, sizeof *out->x, "nn_data_split"));
    out->y = nn_malloc(nn_size_mul((size_t)count, sizeof *out->y, "nn_data_split"));
    for (int i = 0; i < count; i++) {
        memcpy(out->x + (size_t)i * d->dim, d->x + (size_t)order[i] * d->dim,
               (size_t)d->dim * sizeof *out->x);
        out->y[i] = d->y[order[i]];
    }
}

/* Shuffle the indices 0..n-1; the first val_count go to val, the others to train. */
void nn_data_split(const nn_data *d, nn_data *train, nn_data *val, int val_count, nn_rng *rng)
{
    if (!d || !train || !val) nn_fail("nn_data_split: NULL dataset");
    if (train == val || train == d || val == d)
        nn_fail("nn_data_split: d, train and val must be three different datasets");
    if (val_count < 0 || val_count > d->n)
        nn_fail("nn_data_split: val_count %d is outside 0..%d (the dataset's size)", val_count, d->n);
    int *order = nn_malloc((size_t)(d->n ? d->n : 1) * sizeof *order);
    nn_rng_permutation(rng, order, d->n);
    nn_data v, t;
    copy_examples(&v, d, order, val_count);
    copy_examples(&t, d, order + val_count, d->n - val_count);
    free(order);
    *val = v;
    *train = t;
}
