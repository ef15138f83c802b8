/* linear.c -- the fully connected layer y = x W^T + b. */
#include "nn.h"

#include <math.h>

/* W and b start uniform in +-1/sqrt(in), PyTorch's default, so every unit starts with
 * inputs of about unit variance when x does. Lesson 04 studies better choices. */
void nn_linear_init(nn_linear_layer *layer, nn_params *ps, const char *name, int in, int out,
                    int bias, nn_rng *rng)
{
    if (in < 1 || out < 1) nn_fail("nn_linear_init: %s: sizes must be positive (in=%d, out=%d)", name, in, out);
    layer->in = in;
    layer->out = out;
    int wshape[2] = {out, in};
    char full[NN_NAME_MAX];
    layer->weight = nn_params_add(ps, nn_name_join(full, name, "weight"), 2, wshape);
    double bound = 1.0 / sqrt((double)in);
    nn_rng_fill_uniform(rng, layer->weight->data, layer->weight->numel, -bound, bound);
    layer->bias = NULL;
    if (bias) {
        layer->bias = nn_params_add(ps, nn_name_join(full, name, "bias"), 1, &out);
        nn_rng_fill_uniform(rng, layer->bias->data, layer->bias->numel, -bound, bound);
    }
}

nn_tensor *nn_linear(nn_graph *g, const nn_linear_layer *layer, nn_tensor *x)
{
    return nn_linear_op(g, x, layer->weight, layer->bias);
}
