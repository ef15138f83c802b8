/* earlystop.c -- stop training when the validation metric stops improving, and go back to
 * the weights of the best epoch (a cheap, effective regulariser: the validation curve's
 * minimum is where the model generalises best). */
#include "nn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void nn_earlystop_init(nn_earlystop *e, int patience, double min_delta, nn_earlystop_mode mode)
{
    if (patience < 1) nn_fail("nn_earlystop_init: patience %d must be >= 1", patience);
    if (!(min_delta >= 0)) nn_fail("nn_earlystop_init: min_delta %g must be >= 0", min_delta);
    if (mode != NN_EARLYSTOP_MINIMIZE && mode != NN_EARLYSTOP_MAXIMIZE)
        nn_fail("nn_earlystop_init: unknown mode %d", (int)mode);
    memset(e, 0, sizeof *e);
    e->patience = patience;
    e->min_delta = min_delta;
    e->mode = mode;
    e->best = mode == NN_EARLYSTOP_MINIMIZE ? INFINITY : -INFINITY;
    e->best_epoch = -1;
}

/* An epoch improves when it beats the best by more than min_delta (a NaN never does).
 * After `patience` epochs in a row without improvement, it is time to stop. */
int nn_earlystop_update(nn_earlystop *e, nn_params *ps, double metric, int epoch)
{
    int improved = e->mode == NN_EARLYSTOP_MINIMIZE ? metric < e->best - e->min_delta
                                                    : metric > e->best + e->min_delta;
    if (e->best_epoch < 0 && isfinite(metric)) improved = 1; /* the first finite value */
    if (improved) {
        e->best = metric;
        e->best_epoch = epoch;
        e->bad_epochs = 0;
        if (e->best_values && e->count != ps->count) {
            free(e->best_values);
            e->best_values = NULL;
        }
        if (!e->best_values) e->best_values = nn_malloc(nn_size_mul(ps->count, sizeof(nn_real), "nn_earlystop"));
        e->count = ps->count;
        memcpy(e->best_values, ps->values, ps->count * sizeof(nn_real));
        return 0;
    }
    e->bad_epochs++;
    return e->bad_epochs >= e->patience;
}

void nn_earlystop_restore(const nn_earlystop *e, nn_params *ps)
{
    if (!e->best_values) nn_fail("nn_earlystop_restore: no epoch has been recorded yet");
    if (e->count != ps->count)
        nn_fail("nn_earlystop_restore: the saved weights hold %zu numbers, the store %zu",
                e->count, ps->count);
    memcpy(ps->values, e->best_values, e->count * sizeof(nn_real));
}

void nn_earlystop_free(nn_earlystop *e)
{
    free(e->best_values);
    e->best_values = NULL;
    e->count = 0;
}
