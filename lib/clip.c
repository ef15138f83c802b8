/* clip.c -- gradient clipping: a guard against the rare huge gradient (exploding RNN
 * gradients, a bad batch) that would throw the weights far away in one step. */
#include "nn.h"

#include <math.h>

/* Clipping by global norm keeps the gradient's direction and only shortens it:
 *   n = ||g||_2 over every parameter;  if n > max_norm:  g <- g * max_norm / (n + 1e-6)
 * (torch.nn.utils.clip_grad_norm_). A NaN/Inf norm is returned unchanged for the caller to
 * report; the gradients are then left alone. */
double nn_clip_grad_norm(nn_params *ps, double max_norm)
{
    if (!(max_norm > 0)) nn_fail("nn_clip_grad_norm: max_norm %g must be > 0", max_norm);
    const double norm = nn_params_grad_norm(ps);
    const double coef = max_norm / (norm + 1e-6);
    if (coef < 1) {
        for (size_t i = 0; i < ps->count; i++) ps->grads[i] = (nn_real)(ps->grads[i] * coef);
    }
    return norm;
}

/* Clipping by value clamps each component to [-limit, limit]; simpler, but it changes the
 * gradient's direction. */
void nn_clip_grad_value(nn_params *ps, double limit)
{
    if (!(limit > 0)) nn_fail("nn_clip_grad_value: limit %g must be > 0", limit);
    const nn_real hi = (nn_real)limit, lo = -hi;
    for (size_t i = 0; i < ps->count; i++) {
        if (ps->grads[i] > hi) ps->grads[i] = hi;
        else if (ps->grads[i] < lo) ps->grads[i] = lo;
    }
}
