/* optim.c -- optimizers: flat loops over the parameter store. */
#include "nn.h"
#include "simd.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef NN_DOUBLE
#define SQRT sqrt
#else
#define SQRT sqrtf
#endif

/* ---------------------------------------------------------------------------------------- */
/* The general optimizer: one flat loop per method over the parameter store.                 */
/* Each loop follows the update written in the torch.optim documentation, so a run here and  */
/* a run in PyTorch from the same start give the same numbers (up to float rounding).        */
/* Notation: w value, g gradient, t the step count (1 at the first step), lr the rate.       */
/* ---------------------------------------------------------------------------------------- */

static const char *const optim_names[NN_OPTIM_KINDS] = {
    [NN_OPTIM_SGD] = "sgd",         [NN_OPTIM_MOMENTUM] = "momentum",
    [NN_OPTIM_NESTEROV] = "nesterov", [NN_OPTIM_ADAGRAD] = "adagrad",
    [NN_OPTIM_RMSPROP] = "rmsprop", [NN_OPTIM_ADAM] = "adam",
    [NN_OPTIM_ADAMW] = "adamw",
};

const char *nn_optim_name(nn_optim_kind k)
{
    return (k >= 0 && k < NN_OPTIM_KINDS) ? optim_names[k] : "?";
}

/* PyTorch's defaults for each method */
void nn_optim_init(nn_optim *o, nn_optim_kind kind, nn_params *ps, nn_real lr)
{
    if (kind < 0 || kind >= NN_OPTIM_KINDS) nn_fail("nn_optim_init: unknown optimizer kind %d", (int)kind);
    if (!ps) nn_fail("nn_optim_init: %s: no parameter store", optim_names[kind]);
    if (!(lr >= 0)) nn_fail("nn_optim_init: %s: learning rate %g must be >= 0", optim_names[kind], (double)lr);
    memset(o, 0, sizeof *o);
    o->kind = kind;
    o->params = ps;
    o->lr = lr;
    o->momentum = (kind == NN_OPTIM_MOMENTUM || kind == NN_OPTIM_NESTEROV) ? (nn_real)0.9 : 0;
    o->beta1 = (nn_real)0.9;
    o->beta2 = (nn_real)0.999;
    o->eps = kind == NN_OPTIM_ADAGRAD ? (nn_real)1e-10 : (nn_real)1e-8;
    o->alpha = (nn_real)0.99;
    o->weight_decay = kind == NN_OPTIM_ADAMW ? (nn_real)0.01 : 0;
}

void nn_optim_free(nn_optim *o)
{
    free(o->m);
    free(o->v);
    o->m = o->v = NULL;
    o->state_count = 0;
}

/* which state buffers a method keeps: m (momentum / first moment), v (squares) */
static int needs_m(const nn_optim *o)
{
    switch (o->kind) {
    case NN_OPTIM_SGD: case NN_OPTIM_MOMENTUM: case NN_OPTIM_NESTEROV: case NN_OPTIM_RMSPROP:
        return o->momentum != 0;
    case NN_OPTIM_ADAM: case NN_OPTIM_ADAMW: return 1;
    default: return 0;
    }
}
static int needs_v(const nn_optim *o)
{
    return o->kind == NN_OPTIM_ADAGRAD || o->kind == NN_OPTIM_RMSPROP || o->kind == NN_OPTIM_ADAM ||
           o->kind == NN_OPTIM_ADAMW;
}

/* State is zero-initialised and sized to the store on first use; a store that grew since
 * then would leave new parameters without state, so it is refused. */
static void ensure_state(nn_optim *o)
{
    nn_params *ps = o->params;
    const char *name = nn_optim_name(o->kind);
    if ((o->m || o->v) && o->state_count != ps->count)
        nn_fail("nn_optim_step: %s: the parameter store has %zu numbers but the optimizer state "
                "was made for %zu; create the optimizer after adding every parameter",
                name, ps->count, o->state_count);
    if (!o->m && !o->v) o->state_count = ps->count;
    if (needs_m(o) && !o->m) o->m = nn_calloc(o->state_count ? o->state_count : 1, sizeof(nn_real));
    if (needs_v(o) && !o->v) o->v = nn_calloc(o->state_count ? o->state_count : 1, sizeof(nn_real));
}

/* memory-bound flat loops: wider vectors still save instructions (NN_SIMD_CLONES, lib/simd.h) */
NN_SIMD_CLONES void nn_optim_step(nn_optim *o)
{
    nn_params *ps = o->params;
    if (!ps) nn_fail("nn_optim_step: optimizer was not initialised (nn_optim_init)");
    if (o->kind < 0 || o->kind >= NN_OPTIM_KINDS) nn_fail("nn_optim_step: unknown optimizer kind %d", (int)o->kind);
    ensure_state(o);
    o->step++;
    const size_t n = ps->count;
    /* four separate blocks (values, gradients, two state buffers): restrict lets the loops
     * below run as SIMD */
    nn_real *restrict w = ps->values, *restrict m = o->m, *restrict v = o->v;
    const nn_real *restrict gr = ps->grads;
    const nn_real lr = o->lr, mu = o->momentum, wd = o->weight_decay, eps = o->eps;

    switch (o->kind) {
    case NN_OPTIM_SGD:
    case NN_OPTIM_MOMENTUM:
    case NN_OPTIM_NESTEROV: {
        /* g <- g + wd w                    (L2 penalty wd/2 |w|^2)
         * b <- mu b + g                    (b starts at 0, so b_1 = g_1; no dampening)
         * g <- g + mu b  (Nesterov)  or  g <- b  (heavy ball)
         * w <- w - lr g */
        const int nesterov = o->kind == NN_OPTIM_NESTEROV;
        if (!m) { /* plain SGD: one SIMD loop */
#pragma omp simd
            for (size_t i = 0; i < n; i++) w[i] -= lr * (gr[i] + wd * w[i]);
        } else if (nesterov) {
#pragma omp simd
            for (size_t i = 0; i < n; i++) {
                const nn_real g = gr[i] + wd * w[i];
                m[i] = mu * m[i] + g;
                w[i] -= lr * (g + mu * m[i]);
            }
        } else {
#pragma omp simd
            for (size_t i = 0; i < n; i++) {
                const nn_real g = gr[i] + wd * w[i];
                m[i] = mu * m[i] + g;
                w[i] -= lr * m[i];
            }
        }
        break;
    }
    case NN_OPTIM_ADAGRAD:
        /* g <- g + wd w
         * s <- s + g^2                     (every square ever seen: rates only shrink)
         * w <- w - lr g / (sqrt(s) + eps) */
#pragma omp simd
        for (size_t i = 0; i < n; i++) {
            nn_real g = gr[i] + wd * w[i];
            v[i] += g * g;
            w[i] -= lr * g / (SQRT(v[i]) + eps);
        }
        break;
    case NN_OPTIM_RMSPROP: {
        /* g <- g + wd w
         * v <- alpha v + (1 - alpha) g^2   (a moving average of squares forgets the past)
         * with momentum: b <- mu b + g / (sqrt(v) + eps);  w <- w - lr b
         * without:       w <- w - lr g / (sqrt(v) + eps) */
        const nn_real a = o->alpha;
        if (m) {
#pragma omp simd
            for (size_t i = 0; i < n; i++) {
                nn_real g = gr[i] + wd * w[i];
                v[i] = a * v[i] + (1 - a) * g * g;
                m[i] = mu * m[i] + g / (SQRT(v[i]) + eps);
                w[i] -= lr * m[i];
            }
        } else {
#pragma omp simd
            for (size_t i = 0; i < n; i++) {
                nn_real g = gr[i] + wd * w[i];
                v[i] = a * v[i] + (1 - a) * g * g;
                w[i] -= lr * (g / (SQRT(v[i]) + eps));
            }
        }
        break;
    }
    case NN_OPTIM_ADAM:
    case NN_OPTIM_ADAMW: {
        /* AdamW first decays the weights, decoupled from the gradient:  w <- w - lr wd w
         * Adam instead adds the L2 term to the gradient:                g <- g + wd w
         * m <- b1 m + (1 - b1) g           v <- b2 v + (1 - b2) g^2
         * m_hat = m / (1 - b1^t)           v_hat = v / (1 - b2^t)   (m, v start at 0: unbias)
         * w <- w - lr m_hat / (sqrt(v_hat) + eps)
         * At t = 1, m_hat = g and v_hat = g^2, so the first step is lr g / (|g| + eps). */
        const nn_real b1 = o->beta1, b2 = o->beta2;
        const nn_real c1 = (nn_real)(1 - pow((double)b1, (double)o->step));
        const nn_real c2 = (nn_real)(1 - pow((double)b2, (double)o->step));
        const int decoupled = o->kind == NN_OPTIM_ADAMW;
        /* one loop for both: the decay lr wd w is 0 for Adam, the L2 term wd w 0 for AdamW */
        const nn_real decay = decoupled ? lr * wd : 0, l2 = decoupled ? 0 : wd;
#pragma omp simd
        for (size_t i = 0; i < n; i++) {
            w[i] -= decay * w[i];
            const nn_real g = gr[i] + l2 * w[i];
            m[i] = b1 * m[i] + (1 - b1) * g;
            v[i] = b2 * v[i] + (1 - b2) * g * g;
            nn_real m_hat = m[i] / c1, v_hat = v[i] / c2;
            w[i] -= lr * m_hat / (SQRT(v_hat) + eps);
        }
        break;
    }
    default: break;
    }
}
