/* gan.c -- the losses of a generative adversarial network, and the ring of Gaussians that
 * shows whether a generator covers every mode of its data.
 *
 * A GAN (Goodfellow et al. 2014) is a game between a discriminator D, which outputs the
 * probability D(x) = sigmoid(logit(x)) that x is real, and a generator G, which turns noise z
 * into samples G(z). Their value function is
 *     V(D, G) = E_x[log D(x)] + E_z[log(1 - D(G(z)))],      min_G max_D V.
 * Both players' losses are binary cross-entropies on D's logits, so they are built here from
 * nn_bce_with_logits (stable for any logit, and already on the tape):
 *     BCE(l, t) = -mean_i [t log s(l_i) + (1 - t) log(1 - s(l_i))],   s = sigmoid,
 *     d BCE / d l_i = (s(l_i) - t) / n.
 */
#include "nn.h"

#include <math.h>
#include <stdlib.h>

/* a target tensor of n copies of t, the shape of nothing in particular: nn_bce_with_logits
 * compares element counts, not shapes */
static nn_tensor *constant_like(nn_graph *g, const nn_tensor *like, nn_real t)
{
    nn_tensor *c = nn_graph_tensor(g, 1, (int)like->numel);
    for (size_t i = 0; i < c->numel; i++) c->data[i] = t;
    return c;
}

static void check_logits(const char *fn, const char *which, const nn_tensor *t)
{
    if (!t) nn_fail("%s: %s is NULL", fn, which);
    if (t->numel == 0) nn_fail("%s: %s is empty", fn, which);
}

/* The discriminator maximises V, i.e. minimises
 *     L_D = -mean_i log D(x_i) - mean_j log(1 - D(G(z_j)))
 *         = BCE(real_logits, 1) + BCE(fake_logits, 0).
 * One-sided label smoothing (Salimans et al. 2016) replaces the real target 1 by r = 0.9:
 * D is then never rewarded for pushing D(x) past 0.9, which keeps its logits (and the
 * gradients it hands G) moderate. Fakes keep target 0 -- smoothing them too would pull D
 * toward fakes where there is no data.
 * Gradients: dL_D / d real_i = (s(real_i) - r) / n_real,  dL_D / d fake_j = s(fake_j) / n_fake. */
nn_tensor *nn_gan_discriminator_loss(nn_graph *g, nn_tensor *real_logits, nn_tensor *fake_logits,
                                     nn_real real_label)
{
    const char *fn = "nn_gan_discriminator_loss";
    check_logits(fn, "real_logits", real_logits);
    check_logits(fn, "fake_logits", fake_logits);
    if (!(real_label >= 0 && real_label <= 1))
        nn_fail("%s: real_label must be in [0, 1] (1, or 0.9 for label smoothing), got %g", fn,
                (double)real_label);
    nn_tensor *on_real = nn_bce_with_logits(g, real_logits, constant_like(g, real_logits, real_label));
    nn_tensor *on_fake = nn_bce_with_logits(g, fake_logits, constant_like(g, fake_logits, 0));
    return nn_add(g, on_real, on_fake);
}

/* The generator's loss on D's logits for a batch of fakes.
 *   minimax (non_saturating = 0):  L_G = mean_j log(1 - D(G(z_j))) = -BCE(fake_logits, 0),
 *       dL_G / d fake_j = -s(fake_j) / n: it vanishes when D rejects the fakes confidently
 *       (s -> 0), which is exactly the start of training -- G gets no signal.
 *   non-saturating (1):            L_G = -mean_j log D(G(z_j)) = BCE(fake_logits, 1),
 *       dL_G / d fake_j = (s(fake_j) - 1) / n -> -1/n there: the strongest push when G is
 *       worst. Same fixed point (D(G(z)) = 1/2 at the optimum), very different gradients. */
nn_tensor *nn_gan_generator_loss(nn_graph *g, nn_tensor *fake_logits, int non_saturating)
{
    check_logits("nn_gan_generator_loss", "fake_logits", fake_logits);
    if (non_saturating)
        return nn_bce_with_logits(g, fake_logits, constant_like(g, fake_logits, 1));
    return nn_scale(g, nn_bce_with_logits(g, fake_logits, constant_like(g, fake_logits, 0)), -1);
}

/* ---- the ring of Gaussians: a data set whose modes can be counted ---- */

static void check_ring(const char *fn, int modes, double radius, double std)
{
    if (modes < 1) nn_fail("%s: need at least 1 mode, got %d", fn, modes);
    if (!(radius >= 0 && isfinite(radius)))
        nn_fail("%s: radius must be finite and >= 0, got %g", fn, radius);
    if (!(std > 0 && isfinite(std))) nn_fail("%s: std must be finite and > 0, got %g", fn, std);
}

static void ring_centre(int k, int modes, double radius, double *cx, double *cy)
{
    double angle = 2 * M_PI * k / modes;
    *cx = radius * cos(angle);
    *cy = radius * sin(angle);
}

void nn_gan_ring_sample(nn_real *x, int n, int modes, double radius, double std, nn_rng *rng)
{
    check_ring("nn_gan_ring_sample", modes, radius, std);
    if (n < 0 || (n > 0 && !x)) nn_fail("nn_gan_ring_sample: bad output (n %d)", n);
    for (int i = 0; i < n; i++) {
        double cx, cy;
        ring_centre(nn_rng_int(rng, modes), modes, radius, &cx, &cy);
        x[2 * i] = (nn_real)(cx + std * nn_rng_normal(rng));
        x[2 * i + 1] = (nn_real)(cy + std * nn_rng_normal(rng));
    }
}

/* Each point goes to its nearest centre; it is "high quality" when it lies within 3 std of
 * it (Euclidean distance), as in VEEGAN (Srivastava et al. 2017) and PacGAN (Lin et al. 2018).
 * A mode is covered when at least min_count high-quality points went to it. */
int nn_gan_ring_coverage(const nn_real *x, int n, int modes, double radius, double std,
                         int min_count, double *quality, int *counts)
{
    const char *fn = "nn_gan_ring_coverage";
    check_ring(fn, modes, radius, std);
    if (n < 1 || !x) nn_fail("%s: need n >= 1 points, got %d", fn, n);
    if (min_count < 1) nn_fail("%s: min_count must be >= 1, got %d", fn, min_count);
    int *count = counts ? counts : nn_calloc((size_t)modes, sizeof *count);
    for (int k = 0; k < modes; k++) count[k] = 0;
    int good = 0;
    for (int i = 0; i < n; i++) {
        if (!isfinite(x[2 * i]) || !isfinite(x[2 * i + 1]))
            continue; /* a NaN sample is nowhere near any mode */
        int best = 0;
        double best_d2 = INFINITY;
        for (int k = 0; k < modes; k++) {
            double cx, cy;
            ring_centre(k, modes, radius, &cx, &cy);
            double dx = x[2 * i] - cx, dy = x[2 * i + 1] - cy, d2 = dx * dx + dy * dy;
            if (d2 < best_d2) best_d2 = d2, best = k;
        }
        if (best_d2 <= 9 * std * std) count[best]++, good++;
    }
    int covered = 0;
    for (int k = 0; k < modes; k++) covered += count[k] >= min_count;
    if (quality) *quality = (double)good / n;
    if (!counts) free(count);
    return covered;
}
