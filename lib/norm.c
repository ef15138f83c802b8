/* norm.c -- the BatchNorm and LayerNorm layers: parameters and state around the ops in
 * lib/ops_norm.c. */
#include "nn.h"

#include <stdlib.h>

/* gamma 1 and beta 0 start as the identity map, so the layer at first only standardises;
 * running statistics start at mean 0, var 1 (the identity in evaluation mode), like PyTorch. */
void nn_batchnorm_init(nn_batchnorm_layer *layer, nn_params *ps, const char *name, int features)
{
    if (features < 1) nn_fail("nn_batchnorm_init: %s: features must be positive, got %d", name, features);
    layer->features = features;
    layer->momentum = (nn_real)0.1;
    layer->eps = (nn_real)1e-5;
    char full[NN_NAME_MAX];
    layer->gamma = nn_params_add(ps, nn_name_join(full, name, "gamma"), 1, &features);
    layer->beta = nn_params_add(ps, nn_name_join(full, name, "beta"), 1, &features);
    layer->running_mean = nn_malloc((size_t)features * sizeof(nn_real));
    layer->running_var = nn_malloc((size_t)features * sizeof(nn_real));
    for (int c = 0; c < features; c++) {
        layer->gamma->data[c] = 1;
        layer->beta->data[c] = 0;
        layer->running_mean[c] = 0;
        layer->running_var[c] = 1;
    }
}

/* g->training selects batch statistics (and updates the running ones) or running statistics */
nn_tensor *nn_batchnorm_forward(nn_graph *g, nn_batchnorm_layer *layer, nn_tensor *x)
{
    char s[64];
    if ((x->ndim != 2 && x->ndim != 4) || x->shape[1] != layer->features)
        nn_fail("nn_batchnorm_forward: layer has %d features, so x must be (B,%d) or "
                "(N,%d,H,W), got %s", layer->features, layer->features, layer->features,
                nn_shape_str(x, s, sizeof s));
    return nn_batchnorm(g, x, layer->gamma, layer->beta, layer->running_mean,
                        layer->running_var, layer->momentum, layer->eps);
}

void nn_batchnorm_free(nn_batchnorm_layer *layer)
{
    if (!layer) return;
    free(layer->running_mean);
    free(layer->running_var);
    layer->running_mean = layer->running_var = NULL;
}

void nn_layernorm_init(nn_layernorm_layer *layer, nn_params *ps, const char *name, int features)
{
    if (features < 1) nn_fail("nn_layernorm_init: %s: features must be positive, got %d", name, features);
    layer->features = features;
    layer->eps = (nn_real)1e-5;
    char full[NN_NAME_MAX];
    layer->gamma = nn_params_add(ps, nn_name_join(full, name, "gamma"), 1, &features);
    layer->beta = nn_params_add(ps, nn_name_join(full, name, "beta"), 1, &features);
    for (int j = 0; j < features; j++) layer->gamma->data[j] = 1; /* beta stays 0 */
}

nn_tensor *nn_layernorm_forward(nn_graph *g, const nn_layernorm_layer *layer, nn_tensor *x)
{
    char s[64];
    if (x->ndim < 1 || x->shape[x->ndim - 1] != layer->features)
        nn_fail("nn_layernorm_forward: layer has %d features, so x must be (...,%d), got %s",
                layer->features, layer->features, nn_shape_str(x, s, sizeof s));
    return nn_layernorm(g, x, layer->gamma, layer->beta, layer->eps);
}
