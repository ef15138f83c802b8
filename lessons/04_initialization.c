/* Lesson 04 -- weight initialization: keep the signal alive through depth.
 *
 * Concept: a deep network multiplies its input by one weight matrix per layer. If a unit sums
 * n inputs of variance v with weights of variance s^2, its output has variance n s^2 v: unless
 * n s^2 (times what the activation keeps) is 1, the signal shrinks or grows geometrically with
 * depth, forward (activations) and backward (gradients) alike. Too small and nothing reaches
 * the output or comes back to the first layers (vanishing); too large and activations
 * saturate (tanh) or blow up (ReLU) (exploding). Xavier/Glorot (2010) and He/Kaiming (2015)
 * choose Var(w) so that n s^2 times the activation's factor is 1:
 *   Xavier   Var(w) = gain^2 * 2 / (fan_in + fan_out)
 *   Kaiming  Var(w) = gain^2 / fan_in,      gain = 5/3 for tanh, sqrt(2) for ReLU, 1 for sigmoid.
 * Sigmoid is the hard case: sigmoid(s) ~ 1/2 + s/4 near 0, so its output has mean 1/2 and it
 * passes on only a quarter of every change, forward (the part of the signal that depends on
 * the input) and backward (sigmoid' <= 1/4): with gain 1 both shrink ~4x per layer. Gain 4
 * would undo that near 0, but the mean 1/2 then drives the units into saturation.
 * Gradient clipping by norm, g <- g min(1, c / ||g||), caps the length of every step.
 *
 * What you will see (a 10-layer MLP, 784-256x10-10, with tanh, ReLU and sigmoid):
 *   1. one batch of Fashion-MNIST images through the freshly initialized network under seven
 *      schemes -- N(0,0.01^2), N(0,1), Xavier as published (gain 1), Xavier and Kaiming
 *      (uniform and normal) with the activation's gain (sigmoid: the normal ones only, plus
 *      Xavier with gain 4): the std of every layer's activations (over all entries, and across images
 *      only) and of every layer's weight gradients after one backward pass, as curves over
 *      depth, and histograms of the tanh activations layer by layer. Sigmoid's activations
 *      keep a std of ~0.1 under every gain-1 scheme, yet what depends on the image falls 4x
 *      per layer (to 4e-7 at layer 10) and the first layer's gradient is 4e6x smaller than
 *      the output layer's: vanishing gradients that no variance-preserving init cures;
 *   2. the tanh and ReLU networks trained briefly (SGD with momentum) from each scheme: loss
 *      curves and test accuracy. Good schemes train; the small one stalls at ln 10 = 2.30, the
 *      large one diverges (ReLU) or thrashes at chance (tanh); Xavier's gain 1 on ReLU starts
 *      late. (Sigmoid is probed only, not trained: 7 more runs would add half again to the
 *      time budget, and part 1 already shows why it cannot learn at this depth.)
 *   3. gradient clipping (nn_clip_grad_norm, c = 1) on two exploding ReLU cases: A, the N(0,1)
 *      init (||g|| ~ 1e12), and B, Kaiming init at a rate 20x too large (lr 0.2): loss and
 *      ||g|| before clipping per step, with and without. Unclipped, both overflow to inf/NaN
 *      within 10 steps; clipped, neither does, and both learn something (test accuracy 0.62
 *      for B, 0.64 for A, against 0.80 for the right init and rate) -- but A's loss stays at
 *      3e10, its logits at ~1e10: clipping bounds the steps, it does not repair the init.
 *
 * Run:  make lesson04                   (full: 12000 train / 10000 test images, 3 epochs per
 *                                        run, 17 runs; 1.5-2.5 minutes on a shared
 *                                        2-core machine)
 *       make lesson04 ARGS="--quick"    (1280 / 500 images, 1 epoch of 40 steps, 4-5 s of CPU)
 *       flags: --seed N --epochs N --out DIR --kernels naive|blas --threads N --help
 *
 * Expected (full, seed 42, measured): std of the 10th hidden layer, ReLU: Kaiming normal
 * 0.82, Xavier gain 1 0.025 (half the variance lost per layer), small 4.9e-10, large 4.9e10
 * (the std divided by 9 / multiplied by 11 per layer); tanh: Xavier and Kaiming 0.65,
 * Xavier gain 1 0.23, small 1.9e-8, large 0.97 (saturated); sigmoid: Xavier 0.11 of which
 * 4e-7 across images, std(dL/dW1) / std(dL/dW11) = 2e-7. Test accuracy after 3 epochs:
 * 0.79-0.82 for every Xavier/Kaiming variant, 0.10 (chance) for the small init; the large
 * init diverges at step 3 on ReLU and ends at 0.11 on tanh. Clipping: see part 3 above.
 * Reference: Glorot & Bengio 2010 (Figs. 6-7: activations and back-propagated gradients per
 * layer, tanh; Fig. 2: saturated sigmoid top layer); He et al. 2015 (Fig. 3: a 30-layer ReLU
 * net trains from their init and stalls from Xavier's; at 22 layers Xavier's only starts
 * later); Pascanu, Mikolov & Bengio 2013 (clipping by norm).
 * Figures and metrics.json go to out/lesson04/.
 */
#include "nn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEPTH 10          /* hidden layers */
#define WIDTH 256         /* units per hidden layer */
#define LAYERS (DEPTH + 1) /* weight matrices: DEPTH hidden + the output layer */
#define INPUTS 784
#define CLASSES 10
#define BATCH 32
#define LR 0.01           /* SGD with momentum 0.9 */
#define EVAL_BATCH 500
#define FAST_LR 0.2       /* part 3: 20x LR, the rate at which the ReLU net blows up */
#define CLIP_NORM 1.0     /* part 3: the clipping threshold c on the global gradient norm */
#define SIGMOID_GAIN4 4.0 /* the probe's extra sigmoid scheme: 1 / sigmoid'(0) */
#define HIST_BINS 51      /* tanh activation histograms over [-1, 1]; odd: a bin centred on 0 */

/* ------------------------------------------------------------------------------------------ */
/* The schemes                                                                                 */
/* ------------------------------------------------------------------------------------------ */

/* Why the numbers: a pre-activation s = sum_{i=1..n} w_i h_i with independent zero-mean w_i of
 * variance sigma^2 has Var(s) = n sigma^2 E[h^2]. Through the layer:
 *   tanh near 0 is the identity, so E[h^2] ~ Var(s): keep n sigma^2 = 1 (Glorot's forward
 *     condition; the backward pass asks fan_out sigma^2 = 1, and Xavier averages the two fans).
 *     tanh is contracting (|tanh x| < |x|), so gain 1 lets the signal fade slowly with depth;
 *     the gain 5/3 makes up for it.
 *   ReLU zeroes the negative half: E[h^2] = Var(s)/2, so n sigma^2 = 2 (He): gain sqrt(2).
 *   sigmoid(s) = 1/2 + s/4 - s^3/48 + ...: a change ds of the input becomes ds/4 (at most), and
 *     the error coming back is multiplied by sigmoid'(s) <= 1/4 as well. With n sigma^2 = 1
 *     (gain 1, torch.nn.init's value) the part of the signal that depends on the image, and
 *     the gradient, shrink ~4x per layer; n sigma^2 = 16 (gain 4) would hold them, but the
 *     mean 1/2 of every input adds n sigma^2 / 4 = 4 to Var(s): s ~ +-2, where sigmoid
 *     saturates and its slope is well below 1/4. No gain keeps both, which is why deep
 *     sigmoid nets gave way to tanh and then ReLU.
 * With sigma = 0.01 and n = 256, n sigma^2 = 0.0256: each layer divides the std by ~6 (tanh)
 * or ~9 (ReLU). With sigma = 1, n sigma^2 = 256: tanh saturates at +-1 after one layer, and a
 * ReLU net multiplies the std by sqrt(128) ~ 11 per layer.
 * U(-a, a) has variance a^2/3, so a uniform and a normal with the same variance behave the
 * same in a wide layer (each unit sums 256 terms: the central limit theorem). */
typedef enum { ACT_TANH, ACT_RELU, ACT_SIGMOID, ACTS } activation;
static const char *act_name[ACTS] = {"tanh", "relu", "sigmoid"};
#define TRAINED_ACTS 2 /* tanh and ReLU are trained in part 2; sigmoid is probed only */

typedef enum {
    INIT_SMALL,           /* N(0, 0.01^2): the "small random numbers" of old tutorials */
    INIT_LARGE,           /* N(0, 1) */
    INIT_XAVIER_GAIN1,    /* Glorot & Bengio as published: uniform, gain 1 */
    INIT_XAVIER_UNIFORM,  /* with the activation's gain (torch.nn.init's advice) */
    INIT_XAVIER_NORMAL,
    INIT_KAIMING_UNIFORM, /* He et al., fan_in mode, with the activation's gain */
    INIT_KAIMING_NORMAL,
    SCHEMES
} scheme;
static const char *scheme_name[SCHEMES] = {"small", "large", "xavier_gain1", "xavier_uniform",
                                           "xavier_normal", "kaiming_uniform",
                                           "kaiming_normal"};
/* for the figures (gnuplot's enhanced text would read '_' as a subscript) */
static const char *scheme_label[SCHEMES] = {"small (std 0.01)", "large (std 1)", "Xavier, gain 1",
                                            "Xavier uniform",   "Xavier normal", "Kaiming uniform",
                                            "Kaiming normal"};

static double act_gain(activation act)
{
    switch (act) {
    case ACT_TANH: return nn_init_gain(NN_GAIN_TANH, 0);       /* 5/3 */
    case ACT_RELU: return nn_init_gain(NN_GAIN_RELU, 0);       /* sqrt(2) */
    case ACT_SIGMOID: return nn_init_gain(NN_GAIN_SIGMOID, 0); /* 1 */
    case ACTS: break;
    }
    return 1;
}

/* The std a scheme gives a weight of shape (out, in): printed in the tables. */
static double scheme_std(scheme s, double g, int in, int out)
{
    switch (s) {
    case INIT_SMALL: return 0.01;
    case INIT_LARGE: return 1;
    case INIT_XAVIER_GAIN1: return sqrt(2.0 / (in + out));
    case INIT_XAVIER_UNIFORM:
    case INIT_XAVIER_NORMAL: return g * sqrt(2.0 / (in + out));
    case INIT_KAIMING_UNIFORM:
    case INIT_KAIMING_NORMAL: return g / sqrt((double)in);
    case SCHEMES: break;
    }
    return 0;
}

/* gain: the activation that follows this layer (1 for the output layer: its logits go
 * straight into softmax cross-entropy, no squashing to make up for) */
static void init_weight(nn_tensor *w, scheme s, double g, nn_rng *rng)
{
    switch (s) {
    case INIT_SMALL: nn_rng_fill_normal(rng, w->data, w->numel, 0, 0.01); break;
    case INIT_LARGE: nn_rng_fill_normal(rng, w->data, w->numel, 0, 1); break;
    case INIT_XAVIER_GAIN1: nn_init_xavier_uniform(w, 1, rng); break;
    case INIT_XAVIER_UNIFORM: nn_init_xavier_uniform(w, g, rng); break;
    case INIT_XAVIER_NORMAL: nn_init_xavier_normal(w, g, rng); break;
    case INIT_KAIMING_UNIFORM: nn_init_kaiming_uniform(w, g, rng); break;
    case INIT_KAIMING_NORMAL: nn_init_kaiming_normal(w, g, rng); break;
    case SCHEMES: break;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* The model: 784 -> 256 -> ... (10 hidden layers) ... -> 256 -> 10                            */
/* ------------------------------------------------------------------------------------------ */

typedef struct deep_mlp {
    nn_params ps;
    nn_linear_layer fc[LAYERS];
    activation act;
} deep_mlp;

/* Every weight matrix, the output layer's included, from the same scheme; the gain is the
 * activation's for the hidden layers and 1 for the output layer (torch.nn.init's advice: the
 * gain belongs to the nonlinearity after the layer). Biases 0, as in both papers. */
static void deep_mlp_init(deep_mlp *m, activation act, scheme s, double gain, nn_rng *rng)
{
    static char names[LAYERS][16]; /* the store keeps the pointers: static storage */
    nn_params_init(&m->ps);
    m->act = act;
    for (int l = 0; l < LAYERS; l++) {
        int in = l == 0 ? INPUTS : WIDTH, out = l == DEPTH ? CLASSES : WIDTH;
        snprintf(names[l], sizeof names[l], "fc%d", l + 1);
        nn_linear_init(&m->fc[l], &m->ps, names[l], in, out, 1, rng); /* PyTorch's default... */
        init_weight(m->fc[l].weight, s, l == DEPTH ? 1 : gain, rng); /* ...replaced */
        memset(m->fc[l].bias->data, 0, m->fc[l].bias->numel * sizeof(nn_real));
    }
}

/* x (B,784) -> logits (B,10); hidden[l] (B,256) is the output of hidden layer l+1, kept for
 * the probe (every intermediate stays in the graph's arena until nn_graph_reset). */
static nn_tensor *deep_mlp_forward(nn_graph *g, const deep_mlp *m, nn_tensor *x,
                                   nn_tensor **hidden)
{
    nn_tensor *h = x;
    for (int l = 0; l < DEPTH; l++) {
        nn_tensor *s = nn_linear(g, &m->fc[l], h); /* pre-activation s = h W^T + b */
        h = m->act == ACT_TANH ? nn_tanh(g, s) : m->act == ACT_RELU ? nn_relu(g, s)
                                                                     : nn_sigmoid(g, s);
        if (hidden) hidden[l] = h;
    }
    return nn_linear(g, &m->fc[DEPTH], h);
}

/* ------------------------------------------------------------------------------------------ */
/* Part 1: the probe -- one forward and one backward pass through a fresh network              */
/* ------------------------------------------------------------------------------------------ */

/* std over every entry (all examples, all units), two passes in double */
static double std_of(const nn_real *v, size_t n)
{
    double mean = 0, var = 0;
    for (size_t i = 0; i < n; i++) mean += v[i];
    mean /= (double)n;
    for (size_t i = 0; i < n; i++) var += (v[i] - mean) * (v[i] - mean);
    return sqrt(var / (double)n);
}

/* The std across the batch only, unit by unit (root mean square over the units): the part of
 * the activations that depends on the image. std_of above also counts how units differ from
 * one another, which for sigmoid (mean 1/2, plus a unit-specific offset) is most of it. */
static double image_std_of(const nn_real *v, int n, int units)
{
    double sum = 0;
    for (int j = 0; j < units; j++) {
        double mean = 0, var = 0;
        for (int i = 0; i < n; i++) mean += v[(size_t)i * units + j];
        mean /= n;
        for (int i = 0; i < n; i++) {
            double d = v[(size_t)i * units + j] - mean;
            var += d * d;
        }
        sum += var / n;
    }
    return sqrt(sum / units);
}

typedef struct probe {
    double act_std[DEPTH + 1];  /* [0] the input, [l] hidden layer l */
    double image_std[DEPTH + 1]; /* the same, across the batch only (image_std_of) */
    double grad_std[LAYERS];    /* std of dL/dW_l, l = 1..11 stored at [l-1] */
    double hist[DEPTH][HIST_BINS]; /* tanh: fraction of activations per bin of [-1, 1] */
    double loss;
} probe;

static void run_probe(probe *p, activation act, scheme s, double gain, const nn_real *x,
                      const int *y, int n, uint64_t seed, nn_graph *g)
{
    nn_rng rng;
    nn_rng_seed(&rng, seed); /* the same stream for every scheme: only the scale differs */
    deep_mlp m;
    deep_mlp_init(&m, act, s, gain, &rng);
    g->grad = 1, g->training = 1;
    nn_tensor *hidden[DEPTH];
    nn_tensor *xt = nn_graph_input(g, x, 2, n, INPUTS);
    nn_tensor *logits = deep_mlp_forward(g, &m, xt, hidden);
    nn_tensor *loss = nn_softmax_cross_entropy(g, logits, y);
    p->loss = loss->data[0];
    /* forward: read each layer's output straight from its tensor */
    p->act_std[0] = std_of(xt->data, xt->numel);
    p->image_std[0] = image_std_of(xt->data, n, INPUTS);
    memset(p->hist, 0, sizeof p->hist);
    for (int l = 0; l < DEPTH; l++) {
        const nn_tensor *h = hidden[l];
        p->act_std[l + 1] = std_of(h->data, h->numel);
        p->image_std[l + 1] = image_std_of(h->data, n, WIDTH);
        for (size_t i = 0; i < h->numel; i++) {
            int b = (int)floor(((double)h->data[i] + 1) / 2 * HIST_BINS); /* -> 0..BINS-1 */
            p->hist[l][b < 0 ? 0 : b >= HIST_BINS ? HIST_BINS - 1 : b] += 1.0 / h->numel;
        }
    }
    /* backward: dL/dW_l = delta_l^T h_{l-1}, where delta_l = dL/ds_l is the error signal that
     * arrived through every layer above l. Its size is what SGD moves layer l by. (The
     * intermediates' own gradients dL/dh_l are in hidden[l]->grad too: they need a gradient
     * because they depend on parameters.) */
    nn_backward(g, loss);
    for (int l = 0; l < LAYERS; l++)
        p->grad_std[l] = std_of(m.fc[l].weight->grad, m.fc[l].weight->numel);
    nn_graph_reset(g);
    nn_params_free(&m.ps);
}

/* The log-scale figures cannot show 0 (a gradient that underflowed): floor at 1e-30. */
static double floored(double v) { return v > 1e-30 ? v : 1e-30; }

/* n curves (at most MAX_CURVES): *pr[k] drawn as labels[k] */
#define MAX_CURVES (SCHEMES + 1)
static void plot_probe_curves(const char *dir, activation act, const probe *const *pr,
                              const char *const *labels, int n, int with_image_std)
{
    double act_x[DEPTH + 1], grad_x[LAYERS], ys[MAX_CURVES][DEPTH + 1], gs[MAX_CURVES][LAYERS];
    nn_plot_series a[MAX_CURVES], gr[MAX_CURVES];
    for (int l = 0; l <= DEPTH; l++) act_x[l] = l;
    for (int l = 0; l < LAYERS; l++) grad_x[l] = l + 1;
    for (int s = 0; s < n; s++) {
        for (int l = 0; l <= DEPTH; l++) ys[s][l] = floored(pr[s]->act_std[l]);
        for (int l = 0; l < LAYERS; l++) gs[s][l] = floored(pr[s]->grad_std[l]);
        a[s] = (nn_plot_series){labels[s], act_x, ys[s], DEPTH + 1};
        gr[s] = (nn_plot_series){labels[s], grad_x, gs[s], LAYERS};
    }
    char name[64], title[160];
    snprintf(name, sizeof name, "%s_activation_std", act_name[act]);
    snprintf(title, sizeof title, "%s net at initialization: std of each layer's activations",
             act_name[act]);
    nn_plot_lines(dir, name, title, "layer (0 = standardized input)", "std (log scale)", a, n,
                  1);
    snprintf(name, sizeof name, "%s_weight_grad_std", act_name[act]);
    snprintf(title, sizeof title, "%s net at initialization: std of dL/dW per layer "
             "(one backward pass)", act_name[act]);
    nn_plot_lines(dir, name, title, "layer (11 = output)", "std of dL/dW (log scale)", gr, n, 1);
    if (!with_image_std) return;
    /* the part of the activations that depends on the image (image_std_of), same axes */
    for (int s = 0; s < n; s++)
        for (int l = 0; l <= DEPTH; l++) ys[s][l] = floored(pr[s]->image_std[l]);
    snprintf(name, sizeof name, "%s_image_std", act_name[act]);
    snprintf(title, sizeof title, "%s net at initialization: std across images of each layer's "
             "activations", act_name[act]);
    nn_plot_lines(dir, name, title, "layer (0 = standardized input)",
                  "std across the batch, rms over units (log scale)", a, n, 1);
}

/* Glorot & Bengio's Fig. 6 as step curves: one curve per layer, the fraction of activations
 * in each bin of [-1, 1]. */
static void plot_tanh_histogram(const char *dir, scheme s, const probe *p)
{
    static const int layers[] = {1, 4, 7, 10};
    enum { NL = sizeof layers / sizeof layers[0] };
    double xs[NL][2 * HIST_BINS], ys[NL][2 * HIST_BINS];
    char labels[NL][16], name[64], title[160];
    nn_plot_series series[NL];
    for (int k = 0; k < NL; k++) {
        for (int b = 0; b < HIST_BINS; b++) {
            xs[k][2 * b] = -1 + 2.0 * b / HIST_BINS;
            xs[k][2 * b + 1] = -1 + 2.0 * (b + 1) / HIST_BINS;
            ys[k][2 * b] = ys[k][2 * b + 1] = p->hist[layers[k] - 1][b];
        }
        snprintf(labels[k], sizeof labels[k], "layer %d", layers[k]);
        series[k] = (nn_plot_series){labels[k], xs[k], ys[k], 2 * HIST_BINS};
    }
    snprintf(name, sizeof name, "tanh_hist_%s", scheme_name[s]);
    snprintf(title, sizeof title, "tanh activations at initialization, %s", scheme_label[s]);
    nn_plot_lines(dir, name, title, "activation tanh(s)", "fraction of activations per bin",
                  series, NL, 0);
}

/* ------------------------------------------------------------------------------------------ */
/* Part 2: train from each scheme                                                              */
/* ------------------------------------------------------------------------------------------ */

typedef struct run {
    double *loss;        /* per step, the mini-batch loss */
    double *grad_norm;   /* per step, ||dL/dw|| over every parameter, before any clipping
                            (NaN unless the run tracks it) */
    int steps_done;
    int diverged;        /* 1: the loss became inf/NaN at step steps_done + 1 */
    double test_acc, seconds;
} run;

typedef struct workspace {
    nn_graph *g;
    nn_real *x;
    int *y, *order, *identity;
} workspace;

/* deep_mlp_forward in the shape nn_evaluate asks for: (graph, input, model) -> logits */
static nn_tensor *deep_mlp_fn(nn_graph *g, nn_tensor *x, void *model)
{
    return deep_mlp_forward(g, model, x, NULL);
}

static double test_accuracy(workspace *w, deep_mlp *m, const nn_data *test)
{
    return nn_evaluate(w->g, deep_mlp_fn, m, test, EVAL_BATCH, NULL).accuracy;
}

/* Plain mini-batch SGD with momentum 0.9 (the optimizer of both papers' era): unlike Adam it
 * does not rescale each gradient, so a vanishing or exploding gradient shows in the loss.
 * clip > 0: the gradient is clipped to global norm `clip` before every step (part 3), and
 * its norm before clipping recorded; track_norm: record it without clipping (one more pass
 * over the 800k gradients per step, so only for the runs whose norm part 3 shows). */
static void train_run(run *out, activation act, scheme s, double lr, double clip,
                      int track_norm, int epochs, const nn_data *train, const nn_data *test,
                      workspace *w, uint64_t seed)
{
    nn_rng init_rng, order_rng;
    nn_rng_seed(&init_rng, seed);      /* as in the probe */
    nn_rng_seed(&order_rng, seed + 1); /* the same batches for every scheme */
    deep_mlp m;
    deep_mlp_init(&m, act, s, act_gain(act), &init_rng);
    nn_optim opt;
    nn_optim_init(&opt, NN_OPTIM_MOMENTUM, &m.ps, (nn_real)lr);
    const int steps = train->n / BATCH;
    out->loss = nn_calloc((size_t)steps * epochs, sizeof(double));
    out->grad_norm = nn_calloc((size_t)steps * epochs, sizeof(double));
    out->steps_done = 0, out->diverged = 0;
    nn_graph *g = w->g;
    double t0 = nn_seconds();
    char label[48];
    snprintf(label, sizeof label, "%s %s%s", act_name[act], scheme_name[s],
             clip > 0 ? " clipped" : "");
    nn_progress bar;
    nn_progress_start(&bar, label, (long)steps * epochs);
    for (int e = 0; e < epochs && !out->diverged; e++) {
        nn_rng_permutation(&order_rng, w->order, train->n);
        for (int k = 0; k < steps; k++) {
            g->grad = 1, g->training = 1;
            nn_data_batch(train, w->order, k * BATCH, BATCH, w->x, w->y);
            nn_tensor *x = nn_graph_input(g, w->x, 2, BATCH, INPUTS);
            nn_tensor *loss = nn_softmax_cross_entropy(g, deep_mlp_forward(g, &m, x, NULL), w->y);
            if (!isfinite(loss->data[0])) { /* the exploding case: stop, and say so */
                out->diverged = 1;
                nn_graph_reset(g);
                break;
            }
            nn_params_zero_grad(&m.ps);
            nn_backward(g, loss);
            /* g <- g min(1, clip / ||g||): the direction is kept, only the length is capped */
            double norm = clip > 0     ? nn_clip_grad_norm(&m.ps, clip)
                          : track_norm ? nn_params_grad_norm(&m.ps)
                                       : NAN;
            if (clip > 0 && !isfinite(norm)) { /* overflowed: clipping cannot shorten inf */
                out->diverged = 1;
                nn_graph_reset(g);
                break;
            }
            out->grad_norm[out->steps_done] = norm;
            out->loss[out->steps_done++] = loss->data[0];
            nn_optim_step(&opt);
            nn_graph_reset(g);
            nn_progress_update(&bar, out->steps_done, NULL);
        }
    }
    nn_progress_finish(&bar);
    out->seconds = nn_seconds() - t0;
    /* a diverged network holds inf/NaN weights: its argmax is meaningless, score it as chance */
    out->test_acc = out->diverged ? 1.0 / CLASSES : test_accuracy(w, &m, test);
    nn_optim_free(&opt);
    nn_params_free(&m.ps);
}

/* The per-step losses are noisy: draw the mean of each window of `win` steps, capped at
 * LOSS_CAP so that a diverging run (1e12, then inf) does not flatten every other curve. */
#define LOSS_CAP 30.0
static void plot_losses(const char *dir, activation act, run runs[SCHEMES], int total_steps)
{
    int win = total_steps / 60 > 1 ? total_steps / 60 : 1;
    double *xs[SCHEMES], *ys[SCHEMES];
    nn_plot_series series[SCHEMES];
    char labels[SCHEMES][48];
    for (int s = 0; s < SCHEMES; s++) {
        /* a diverged run's loss is inf from its last step on: drawn at the cap to the end */
        const run *r = &runs[s];
        int done = r->diverged ? total_steps : r->steps_done, n = (done + win - 1) / win;
        xs[s] = nn_malloc((size_t)n * sizeof(double));
        ys[s] = nn_malloc((size_t)n * sizeof(double));
        for (int i = 0; i < n; i++) { /* the last window may be short */
            int end = (i + 1) * win < done ? (i + 1) * win : done;
            double sum = 0;
            for (int k = i * win; k < end; k++) sum += k < r->steps_done ? r->loss[k] : LOSS_CAP;
            xs[s][i] = end, ys[s][i] = fmin(sum / (end - i * win), LOSS_CAP);
        }
        snprintf(labels[s], sizeof labels[s], "%s%s", scheme_label[s],
                 r->diverged ? ": diverged" : "");
        series[s] = (nn_plot_series){labels[s], xs[s], ys[s], n};
    }
    char name[64], title[160];
    snprintf(name, sizeof name, "%s_train_loss", act_name[act]);
    snprintf(title, sizeof title, "%s net, 10 hidden layers: training loss from each "
             "initialization (SGD, momentum 0.9)", act_name[act]);
    nn_plot_lines(dir, name, title, "step", "mini-batch cross-entropy (log scale, capped at 30)",
                  series, SCHEMES, 1);
    for (int s = 0; s < SCHEMES; s++) free(xs[s]), free(ys[s]);
}

/* ------------------------------------------------------------------------------------------ */
/* Part 3: gradient clipping                                                                   */
/* ------------------------------------------------------------------------------------------ */

/* Clipping by global norm (nn_clip_grad_norm, lib/clip.c): with g every parameter's gradient
 * stacked into one vector,
 *     g <- g * min(1, c / ||g||)
 * (c / (||g|| + 1e-6) in the code, as in torch.nn.utils.clip_grad_norm_). The direction is
 * kept, only the length is capped, so one step moves the weights by at most lr * c (times
 * momentum's 1 / (1 - 0.9) once every step is clipped). It is a guard against a step that
 * would throw the weights far away; it does not change where the gradient points. */

/* the final loss of a run: the mean of its last tenth of steps */
static double final_loss(const run *r)
{
    int tail = r->steps_done / 10 > 1 ? r->steps_done / 10 : 1;
    double last = 0;
    for (int k = r->steps_done - tail; k < r->steps_done; k++) last += r->loss[k];
    return last / tail;
}

static double max_finite(const double *v, int n)
{
    double m = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(v[i]) && v[i] > m) m = v[i];
    return m;
}

/* Two figures: the loss (window means, log scale, NOT capped: the large init's loss is
 * 1e12) and the gradient norm before clipping, every step, with the threshold c drawn as a
 * line. A diverged run's curves stop where it did (its loss drawn step by step). */
#define CLIP_RUNS 5
static void plot_clipping(const char *dir, const run *const runs[CLIP_RUNS],
                          char labels[CLIP_RUNS][64], int total_steps)
{
    int win = total_steps / 60 > 1 ? total_steps / 60 : 1;
    double *lx[CLIP_RUNS], *ly[CLIP_RUNS], *gx[CLIP_RUNS];
    char names[CLIP_RUNS][96];
    nn_plot_series loss[CLIP_RUNS], norm[CLIP_RUNS + 1];
    for (int k = 0; k < CLIP_RUNS; k++) {
        const run *r = runs[k];
        const int w = r->diverged ? 1 : win; /* a diverged run is short: every step */
        int n = (r->steps_done + w - 1) / w, finite = 0;
        lx[k] = nn_malloc((size_t)(n + 1) * sizeof(double));
        ly[k] = nn_malloc((size_t)(n + 1) * sizeof(double));
        gx[k] = nn_malloc((size_t)(r->steps_done + 1) * sizeof(double));
        for (int i = 0; i < n; i++) {
            int end = (i + 1) * w < r->steps_done ? (i + 1) * w : r->steps_done;
            double sum = 0;
            for (int t = i * w; t < end; t++) sum += r->loss[t];
            lx[k][i] = end, ly[k][i] = sum / (end - i * w);
        }
        while (finite < r->steps_done && isfinite(r->grad_norm[finite])) {
            gx[k][finite] = finite + 1;
            finite++;
        }
        if (r->diverged)
            snprintf(names[k], sizeof names[k], "%s (inf at step %d)", labels[k],
                     r->steps_done + 1);
        else snprintf(names[k], sizeof names[k], "%s", labels[k]);
        loss[k] = (nn_plot_series){names[k], lx[k], ly[k], n};
        norm[k] = (nn_plot_series){names[k], gx[k], r->grad_norm, finite};
    }
    double cx[2] = {1, total_steps}, cy[2] = {CLIP_NORM, CLIP_NORM};
    norm[CLIP_RUNS] = (nn_plot_series){"threshold c", cx, cy, 2};
    nn_plot_lines(dir, "clip_train_loss", "ReLU net: training loss, with and without clipping",
                  "step", "mini-batch cross-entropy (log scale)", loss, CLIP_RUNS, 1);
    nn_plot_lines(dir, "clip_grad_norm", "ReLU net: gradient norm before clipping, per step",
                  "step", "||g|| (log scale)", norm, CLIP_RUNS + 1, 1);
    for (int k = 0; k < CLIP_RUNS; k++) free(lx[k]), free(ly[k]), free(gx[k]);
}

/* ------------------------------------------------------------------------------------------ */

/* x <- (x - mean) / std with one mean and one std over every pixel of `ref`: the variance
 * argument above assumes inputs of mean 0 and variance 1; raw pixels in [0,1] have mean 0.29,
 * std 0.35. */
static void standardize(nn_data *d, double mean, double std)
{
    size_t n = (size_t)d->n * d->dim;
    for (size_t i = 0; i < n; i++) d->x[i] = (nn_real)((d->x[i] - mean) / std);
}

int main(int argc, char **argv)
{
    const char *about =
        "Lesson 04: weight initialization. A 10-layer MLP (tanh, ReLU, sigmoid) at "
        "initialization under N(0,0.01^2), N(0,1), Xavier and Kaiming: the std of activations "
        "and gradients layer by layer (vanishing / exploding made visible), then a short "
        "training run from each scheme on Fashion-MNIST (tanh, ReLU): good schemes train, bad "
        "ones stall or diverge; and gradient clipping on two exploding cases.";
    nn_cli cli;
    nn_cli_parse(&cli, 4, about, argc, argv);
    nn_report report;
    nn_report_init(&report, 4);
    const int epochs = nn_cli_epochs(&cli, 3, 1);
    const int ntrain = cli.quick ? 1280 : 12000, ntest = cli.quick ? 500 : 10000;
    const int nprobe = cli.quick ? 256 : 1000; /* images in the probe batch of part 1 */

    /* --- data ----------------------------------------------------------------------------- */
    nn_data train, test;
    nn_data_fmnist_load_first(&train, ntrain, &test, ntest);
    double mean = 0, var = 0;
    size_t npix = (size_t)train.n * train.dim;
    for (size_t i = 0; i < npix; i++) mean += train.x[i];
    mean /= (double)npix;
    for (size_t i = 0; i < npix; i++) var += (train.x[i] - mean) * (train.x[i] - mean);
    double pix_std = sqrt(var / (double)npix);
    standardize(&train, mean, pix_std);
    standardize(&test, mean, pix_std); /* with the training set's statistics */
    printf("Fashion-MNIST: %d train / %d test images, pixels standardized with mean %.3f, "
           "std %.3f\n", train.n, test.n, mean, pix_std);
    printf("Network: %d -> %d x %d hidden -> %d, biases 0\n\n", INPUTS, WIDTH, DEPTH, CLASSES);

    nn_graph *g = nn_graph_new();
    workspace w = {g, nn_malloc((size_t)EVAL_BATCH * INPUTS * sizeof(nn_real)),
                   nn_malloc(EVAL_BATCH * sizeof(int)), nn_malloc(train.n * sizeof(int)),
                   nn_malloc((train.n > test.n ? train.n : test.n) * sizeof(int))};
    for (int i = 0; i < (train.n > test.n ? train.n : test.n); i++) w.identity[i] = i;

    /* --- 1. the probe: one batch through each fresh network ------------------------------- */
    nn_real *probe_x = nn_malloc((size_t)nprobe * INPUTS * sizeof(nn_real));
    int *probe_y = nn_malloc(nprobe * sizeof(int));
    nn_data_batch(&train, w.identity, 0, nprobe, probe_x, probe_y);
    /* pr[a][scheme]; pr[ACT_SIGMOID][SCHEMES] is one more for sigmoid, Xavier uniform with
     * gain 4 (see "Why the numbers"). Sigmoid skips the uniform variants: with its gain 1,
     * Xavier uniform is the very draw of Xavier gain 1, and uniform vs normal is settled by
     * the tanh and ReLU tables. */
    probe pr[ACTS][SCHEMES + 1];
    printf("1. At initialization: one batch of %d images, one forward and one backward pass\n",
           nprobe);
    for (int a = 0; a < ACTS; a++) {
        char title[48];
        snprintf(title, sizeof title, "%s net (gain %.3f)", act_name[a], act_gain(a));
        printf("\n   %-31s std of activations         std of dL/dW             loss  across "
               "images\n", title);
        printf("   %-16s %9s %10s %10s %10s %10s %10s %10s %9s\n", "scheme", "std(W2)",
               "layer 1", "layer 5", "layer 10", "layer 1", "layer 11", "", "layer 10");
        const probe *shown[SCHEMES + 1];
        const char *labels[SCHEMES + 1];
        int n = 0;
        for (int s = 0; s <= SCHEMES; s++) {
            const int extra = s == SCHEMES; /* Xavier uniform with gain 4 */
            if (a == ACT_SIGMOID ? s == INIT_XAVIER_UNIFORM || s == INIT_KAIMING_UNIFORM : extra)
                continue;
            const double gain = extra ? SIGMOID_GAIN4 : act_gain(a);
            const scheme sch = extra ? INIT_XAVIER_UNIFORM : s;
            run_probe(&pr[a][s], a, sch, gain, probe_x, probe_y, nprobe, cli.seed, g);
            shown[n] = &pr[a][s], labels[n++] = extra ? "Xavier, gain 4" : scheme_label[s];
            const probe *p = &pr[a][s];
            printf("   %-16s %9.4f %10.3g %10.3g %10.3g %10.3g %10.3g %10.3g %9.3g\n",
                   extra ? "xavier_gain4" : scheme_name[s], scheme_std(sch, gain, WIDTH, WIDTH),
                   p->act_std[1], p->act_std[5], p->act_std[DEPTH], p->grad_std[0],
                   p->grad_std[LAYERS - 1], p->loss, p->image_std[DEPTH]);
        }
        plot_probe_curves(cli.out, a, shown, labels, n, a == ACT_SIGMOID);
    }
    plot_tanh_histogram(cli.out, INIT_SMALL, &pr[ACT_TANH][INIT_SMALL]);
    plot_tanh_histogram(cli.out, INIT_LARGE, &pr[ACT_TANH][INIT_LARGE]);
    plot_tanh_histogram(cli.out, INIT_XAVIER_GAIN1, &pr[ACT_TANH][INIT_XAVIER_GAIN1]);
    plot_tanh_histogram(cli.out, INIT_XAVIER_NORMAL, &pr[ACT_TANH][INIT_XAVIER_NORMAL]);
    fflush(stdout);

    /* --- 2. training from each scheme ----------------------------------------------------- */
    const int total_steps = train.n / BATCH * epochs;
    printf("\n2. Training: %d images, %d epoch%s of %d steps (batch %d), SGD lr %g momentum 0.9,"
           " test on %d images\n", train.n, epochs, epochs == 1 ? "" : "s", train.n / BATCH,
           BATCH, LR, test.n);
    run runs[TRAINED_ACTS][SCHEMES];
    double train_seconds = 0;
    for (int a = 0; a < TRAINED_ACTS; a++) {
        printf("\n   %s net\n   %-16s %11s %11s %9s %8s\n", act_name[a], "scheme",
               "first loss", "final loss", "test acc", "seconds");
        for (int s = 0; s < SCHEMES; s++) {
            run *r = &runs[a][s];
            const int shown_in_part3 =
                a == ACT_RELU && (s == INIT_LARGE || s == INIT_KAIMING_NORMAL);
            train_run(r, a, s, LR, 0, shown_in_part3, epochs, &train, &test, &w, cli.seed);
            train_seconds += r->seconds;
            if (r->diverged)
                printf("   %-16s %11.3g %11s %9.4f %8.1f   diverged at step %d\n",
                       scheme_name[s], r->loss[0], "inf/nan", r->test_acc, r->seconds,
                       r->steps_done + 1);
            else
                printf("   %-16s %11.3g %11.3g %9.4f %8.1f\n", scheme_name[s],
                       r->steps_done ? r->loss[0] : NAN, final_loss(r), r->test_acc, r->seconds);
            fflush(stdout);
        }
        plot_losses(cli.out, a, runs[a], total_steps);
    }

    /* --- 3. gradient clipping on two exploding cases ---------------------------------------- */
    /* A: the large init of part 2 (its unclipped run is runs[ACT_RELU][INIT_LARGE]);
     * B: the good init with a rate 20x too large. Each clipped to norm CLIP_NORM. */
    printf("\n3. Gradient clipping, ReLU net: g <- g min(1, c / ||g||) with c = %g before every "
           "step\n", CLIP_NORM);
    printf("   A: the N(0,1) init of part 2 at lr %g; B: Kaiming normal init at lr %g (%gx)\n", LR,
           FAST_LR, FAST_LR / LR);
    printf("   %-28s %11s %11s %9s %12s %10s\n", "run", "first loss", "final loss", "test acc",
           "max ||g||", "clipped");
    run clip_large, noclip_fast, clip_fast;
    train_run(&clip_large, ACT_RELU, INIT_LARGE, LR, CLIP_NORM, 1, epochs, &train, &test, &w,
              cli.seed);
    train_run(&noclip_fast, ACT_RELU, INIT_KAIMING_NORMAL, FAST_LR, 0, 1, epochs, &train, &test,
              &w, cli.seed);
    train_run(&clip_fast, ACT_RELU, INIT_KAIMING_NORMAL, FAST_LR, CLIP_NORM, 1, epochs, &train,
              &test, &w, cli.seed);
    train_seconds += clip_large.seconds + noclip_fast.seconds + clip_fast.seconds;
    const run *clip_runs[CLIP_RUNS] = {&runs[ACT_RELU][INIT_LARGE], &clip_large, &noclip_fast,
                                       &clip_fast, &runs[ACT_RELU][INIT_KAIMING_NORMAL]};
    char clip_labels[CLIP_RUNS][64];
    snprintf(clip_labels[0], sizeof clip_labels[0], "A: N(0,1) init");
    snprintf(clip_labels[1], sizeof clip_labels[1], "A: N(0,1) init, clipped");
    snprintf(clip_labels[2], sizeof clip_labels[2], "B: lr %g", FAST_LR);
    snprintf(clip_labels[3], sizeof clip_labels[3], "B: lr %g, clipped", FAST_LR);
    snprintf(clip_labels[4], sizeof clip_labels[4], "Kaiming, lr %g (part 2)", LR);
    for (int k = 0; k < CLIP_RUNS; k++) {
        const run *r = clip_runs[k];
        double mx = max_finite(r->grad_norm, r->steps_done);
        int clipped = 0;
        for (int i = 0; i < r->steps_done; i++) clipped += r->grad_norm[i] > CLIP_NORM;
        char final[24], clipped_s[24];
        if (r->diverged) snprintf(final, sizeof final, "inf/nan");
        else snprintf(final, sizeof final, "%.3g", final_loss(r));
        if (k == 1 || k == 3) snprintf(clipped_s, sizeof clipped_s, "%d/%d", clipped,
                                       r->steps_done);
        else snprintf(clipped_s, sizeof clipped_s, "-");
        printf("   %-28s %11.3g %11s %9.4f %12.3g %10s", clip_labels[k], r->loss[0], final,
               r->test_acc, mx, clipped_s);
        if (r->diverged) printf("   diverged at step %d", r->steps_done + 1);
        printf("\n");
    }
    plot_clipping(cli.out, clip_runs, clip_labels, total_steps);
    fflush(stdout);

    /* --- results ---------------------------------------------------------------------------- */
    printf("\nResults\n");
    const probe *relu_probe = pr[ACT_RELU], *tanh_probe = pr[ACT_TANH];
    printf("   %-44s %.3g (Xavier gain 1: %.3g, small: %.3g, large: %.3g)\n",
           "ReLU: std of layer 10, Kaiming normal", relu_probe[INIT_KAIMING_NORMAL].act_std[DEPTH],
           relu_probe[INIT_XAVIER_GAIN1].act_std[DEPTH], relu_probe[INIT_SMALL].act_std[DEPTH],
           relu_probe[INIT_LARGE].act_std[DEPTH]);
    printf("   %-44s %.3g (small: %.3g, large: %.3g)\n", "tanh: std of layer 10, Xavier normal",
           tanh_probe[INIT_XAVIER_NORMAL].act_std[DEPTH], tanh_probe[INIT_SMALL].act_std[DEPTH],
           tanh_probe[INIT_LARGE].act_std[DEPTH]);
    printf("   %-44s %.4f (small %.4f, large %.4f)\n", "ReLU: test accuracy, Kaiming normal",
           runs[ACT_RELU][INIT_KAIMING_NORMAL].test_acc, runs[ACT_RELU][INIT_SMALL].test_acc,
           runs[ACT_RELU][INIT_LARGE].test_acc);
    printf("   %-44s %.4f (small %.4f, large %.4f)\n", "tanh: test accuracy, Xavier normal",
           runs[ACT_TANH][INIT_XAVIER_NORMAL].test_acc, runs[ACT_TANH][INIT_SMALL].test_acc,
           runs[ACT_TANH][INIT_LARGE].test_acc);
    const probe *sig = pr[ACT_SIGMOID];
    const double sig_ratio = sig[INIT_XAVIER_GAIN1].grad_std[0] /
                             sig[INIT_XAVIER_GAIN1].grad_std[LAYERS - 1];
    printf("   %-44s %.3g (small: %.3g, large: %.3g)\n", "sigmoid: std of layer 10, Xavier gain 1",
           sig[INIT_XAVIER_GAIN1].act_std[DEPTH], sig[INIT_SMALL].act_std[DEPTH],
           sig[INIT_LARGE].act_std[DEPTH]);
    printf("   %-44s %.3g (of it across images: %.3g)\n", "", sig[INIT_XAVIER_GAIN1].act_std[DEPTH],
           sig[INIT_XAVIER_GAIN1].image_std[DEPTH]);
    printf("   %-44s %.3g (gain 4: %.3g)\n", "sigmoid: std(dL/dW1) / std(dL/dW11), Xavier",
           sig_ratio, sig[SCHEMES].grad_std[0] / sig[SCHEMES].grad_std[LAYERS - 1]);
    printf("   %-44s %.4f (unclipped: %s; A, large init clipped: %.4f)\n",
           "clipping: test accuracy, B clipped", clip_fast.test_acc,
           noclip_fast.diverged ? "diverged" : "trained", clip_large.test_acc);
    char runs_label[48];
    snprintf(runs_label, sizeof runs_label, "training time (all %d runs)",
             TRAINED_ACTS * SCHEMES + 3);
    printf("   %-44s %.1f s\n", runs_label, train_seconds);
    printf("   figures: %s/\n", cli.out);

    /* the headline: the recommended scheme for the most common net */
    nn_report_add(&report, "test_accuracy", runs[ACT_RELU][INIT_KAIMING_NORMAL].test_acc);
    /* nn_report holds NN_REPORT_MAX = 32 results: the uniform variants, which match the normal
     * ones (see the tables), are left out of the result line */
    char key[40];
    for (int a = ACT_TANH; a <= ACT_RELU; a++)
        for (int s = 0; s < SCHEMES; s++) {
            if (s == INIT_XAVIER_UNIFORM || s == INIT_KAIMING_UNIFORM) continue;
            snprintf(key, sizeof key, "%s_%s_last_layer_std", act_name[a], scheme_name[s]);
            nn_report_add(&report, key, pr[a][s].act_std[DEPTH]);
        }
    for (int a = ACT_TANH; a <= ACT_RELU; a++)
        for (int s = 0; s < SCHEMES; s++) {
            if (s == INIT_XAVIER_UNIFORM || s == INIT_KAIMING_UNIFORM) continue;
            snprintf(key, sizeof key, "%s_%s_test_accuracy", act_name[a], scheme_name[s]);
            nn_report_add(&report, key, runs[a][s].test_acc);
        }
    /* sigmoid: the std over all entries stays ~0.1, but the part that depends on the image
     * and the gradient reaching the first layer both vanish */
    nn_report_add(&report, "sigmoid_small_last_layer_std", sig[INIT_SMALL].act_std[DEPTH]);
    nn_report_add(&report, "sigmoid_xavier_last_layer_std", sig[INIT_XAVIER_GAIN1].act_std[DEPTH]);
    nn_report_add(&report, "sigmoid_xavier_last_layer_image_std",
                  sig[INIT_XAVIER_GAIN1].image_std[DEPTH]);
    nn_report_add(&report, "sigmoid_xavier_grad_ratio", sig_ratio);
    /* clipping, case B (the rate too large); and case A's clipped run */
    nn_report_add_int(&report, "noclip_diverged", noclip_fast.diverged);
    nn_report_add(&report, "clip_final_loss", clip_fast.diverged ? NAN : final_loss(&clip_fast));
    nn_report_add(&report, "clip_max_grad_norm", max_finite(clip_fast.grad_norm,
                                                            clip_fast.steps_done));
    nn_report_add(&report, "clip_test_accuracy", clip_fast.test_acc);
    nn_report_add(&report, "clip_large_init_final_loss",
                  clip_large.diverged ? NAN : final_loss(&clip_large));
    nn_report_add(&report, "clip_large_init_test_accuracy", clip_large.test_acc);
    nn_report_add_timing(&report, "train_seconds", train_seconds); /* -> timing.json */
    nn_report_finish(&report, cli.out);

    for (int a = 0; a < TRAINED_ACTS; a++)
        for (int s = 0; s < SCHEMES; s++) free(runs[a][s].loss), free(runs[a][s].grad_norm);
    run *own[3] = {&clip_large, &noclip_fast, &clip_fast};
    for (int k = 0; k < 3; k++) free(own[k]->loss), free(own[k]->grad_norm);
    free(probe_x), free(probe_y);
    free(w.x), free(w.y), free(w.order), free(w.identity);
    nn_graph_free(g);
    nn_data_free(&train), nn_data_free(&test);
    return 0;
}
