/* gradcheck.c -- is backward right? Compare it with central differences:
 *   dL/dx_i  ~  (L(x + eps e_i) - L(x - eps e_i)) / (2 eps)      error O(eps^2)
 * Run it in the double build (-DNN_DOUBLE): in float the rounding of L swamps the difference.
 * The relative error |a - n| / max(|a|, |n|) should be below 1e-6 away from kinks (relu at 0). */
#include "nn.h"

#include <math.h>
#include <string.h>

static double loss_value(nn_gradcheck_fn fn, void *ctx, nn_graph *g)
{
    nn_graph_reset(g);
    g->grad = 0; /* forward only */
    nn_tensor *loss = fn(g, ctx);
    g->grad = 1;
    if (loss->numel != 1) nn_fail("nn_gradcheck: the loss function must return a scalar");
    return (double)loss->data[0];
}

nn_gradcheck_result nn_gradcheck(nn_gradcheck_fn fn, void *ctx, nn_tensor **inputs,
                                 int ninputs, double eps)
{
    nn_gradcheck_result r = {0};
    nn_graph *g = nn_graph_new();

    /* the analytic gradient, from backward */
    for (int t = 0; t < ninputs; t++) {
        if (!inputs[t]->grad)
            nn_fail("nn_gradcheck: input %d (%s) has no gradient buffer (a parameter, or call "
                    "nn_graph_require_grad)", t, inputs[t]->name ? inputs[t]->name : "?");
        memset(inputs[t]->grad, 0, inputs[t]->numel * sizeof(nn_real));
    }
    nn_backward(g, fn(g, ctx));

    for (int t = 0; t < ninputs; t++) {
        nn_tensor *x = inputs[t];
        for (size_t i = 0; i < x->numel; i++) {
            nn_real saved = x->data[i];
            x->data[i] = (nn_real)(saved + eps);
            double plus = loss_value(fn, ctx, g);
            x->data[i] = (nn_real)(saved - eps);
            double minus = loss_value(fn, ctx, g);
            x->data[i] = saved;

            double numeric = (plus - minus) / (2 * eps), analytic = x->grad[i];
            double abs_err = fabs(analytic - numeric);
            double scale = fmax(fabs(analytic), fabs(numeric));
            double rel_err = scale > 1e-12 ? abs_err / scale : 0.0;
            if (abs_err > r.max_abs_error) r.max_abs_error = abs_err;
            if (rel_err > r.max_rel_error || (t == 0 && i == 0)) {
                r.max_rel_error = rel_err;
                r.worst_tensor = t;
                r.worst_index = i;
                r.worst_analytic = analytic;
                r.worst_numeric = numeric;
            }
        }
    }
    nn_graph_free(g);
    return r;
}
