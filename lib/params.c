/* params.c -- the parameter store: all values in one block, all gradients in another.
 *
 * Because the blocks are contiguous, an optimizer step, a gradient norm, clipping or a
 * checkpoint is one flat loop over `count` numbers, whatever the model looks like. */
#include "nn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void nn_params_init(nn_params *ps) { memset(ps, 0, sizeof *ps); }

void nn_params_free(nn_params *ps)
{
    for (int i = 0; i < ps->ntensors; i++) free(ps->tensors[i]);
    free(ps->tensors);
    free(ps->values);
    free(ps->grads);
    memset(ps, 0, sizeof *ps);
}

/* Growing the blocks moves them, so every tensor is pointed at its new home. */
static void grow(nn_params *ps, size_t needed)
{
    if (needed <= ps->capacity) return;
    size_t cap = ps->capacity ? ps->capacity : 1024;
    while (cap < needed) cap = nn_size_mul(cap, 2, "nn_params");
    ps->values = nn_realloc(ps->values, nn_size_mul(cap, sizeof(nn_real), "nn_params"));
    ps->grads = nn_realloc(ps->grads, nn_size_mul(cap, sizeof(nn_real), "nn_params"));
    ps->capacity = cap;
    size_t at = 0;
    for (int i = 0; i < ps->ntensors; i++) {
        ps->tensors[i]->data = ps->values + at;
        ps->tensors[i]->grad = ps->grads + at;
        at += ps->tensors[i]->numel;
    }
}

nn_tensor *nn_params_add(nn_params *ps, const char *name, int ndim, const int *shape)
{
    if (ndim < 1 || ndim > NN_MAX_DIMS)
        nn_fail("nn_params_add: %s: %d dimensions (1..%d supported)", name, ndim, NN_MAX_DIMS);
    size_t numel = nn_shape_numel(ndim, shape);
    grow(ps, ps->count + numel);
    const size_t name_len = name ? strlen(name) : 0;
    nn_tensor *t = nn_calloc(1, sizeof *t + name_len + 1); /* the name's copy follows it */
    t->ndim = ndim;
    memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
    t->numel = numel;
    t->flags = NN_PARAM | NN_REQUIRES_GRAD;
    t->name = memcpy((char *)(t + 1), name ? name : "", name_len + 1);
    t->data = ps->values + ps->count;
    t->grad = ps->grads + ps->count;
    memset(t->data, 0, numel * sizeof(nn_real));
    memset(t->grad, 0, numel * sizeof(nn_real));
    ps->tensors = nn_realloc(ps->tensors, (size_t)(ps->ntensors + 1) * sizeof *ps->tensors);
    ps->tensors[ps->ntensors++] = t;
    ps->count += numel;
    return t;
}

const char *nn_name_join(char buf[NN_NAME_MAX], const char *layer, const char *part)
{
    snprintf(buf, NN_NAME_MAX, "%s.%s", layer, part);
    return buf;
}

void nn_params_zero_grad(nn_params *ps) { memset(ps->grads, 0, ps->count * sizeof(nn_real)); }

/* ||g||_2 over every parameter, accumulated in double */
double nn_params_grad_norm(const nn_params *ps)
{
    double s = 0;
    for (size_t i = 0; i < ps->count; i++) s += (double)ps->grads[i] * ps->grads[i];
    return sqrt(s);
}
