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
 *   Kaiming  Var(w) = gain^2 / fan_in,      gain = 5/3 for tanh, sqrt(2) for ReLU.
 *
 * What you will see (a 10-layer MLP, 784-256x10-10, with tanh and with ReLU):
 *   1. one batch of Fashion-MNIST images through the freshly initialized network under seven
 *      schemes -- N(0,0.01^2), N(0,1), Xavier as published (gain 1), Xavier and Kaiming
 *      (uniform and normal) with the activation's gain: the std of every layer's activations
 *      and of every layer's weight gradients after one backward pass, as curves over depth,
 *      and histograms of the tanh activations layer by layer;
 *   2. the same networks trained briefly (SGD with momentum) from each scheme: loss curves
 *      and test accuracy. Good schemes train; the small one stalls at ln 10 = 2.30, the large
 *      one diverges (ReLU) or thrashes at chance (tanh); Xavier's gain 1 on ReLU starts late.
 *
 * Run:  make lesson04                   (full: 12000 train / 10000 test images, 3 epochs per
 *                                        run, 14 runs; 70 s of CPU, 2-3 minutes on a busy
 *                                        2-core machine)
 *       make lesson04 ARGS="--quick"    (1280 / 500 images, 1 epoch of 40 steps, 3-5 s)
 *       flags: --seed N --epochs N --out DIR --kernels naive|blas --threads N --help
 *
 * Expected (full, seed 42, measured): std of the 10th hidden layer, ReLU: Kaiming normal
 * 0.82, Xavier gain 1 0.025 (half the variance lost per layer), small 4.9e-10, large 4.9e10
 * (the std divided by 9 / multiplied by 11 per layer); tanh: Xavier and Kaiming 0.65,
 * Xavier gain 1 0.23, small 1.9e-8, large 0.97 (saturated). Test accuracy after 3 epochs:
 * 0.79-0.82 for every Xavier/Kaiming variant, 0.10 (chance) for the small init; the large
 * init diverges at step 3 on ReLU and ends at 0.11 on tanh. Reference: Glorot & Bengio 2010
 * (Figs. 6-7: activations and back-propagated gradients per layer, tanh); He et al. 2015
 * (Fig. 3: a 30-layer ReLU net trains from their init and stalls from Xavier's; at 22
 * layers Xavier's only starts later).
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
 * With sigma = 0.01 and n = 256, n sigma^2 = 0.0256: each layer divides the std by ~6 (tanh)
 * or ~9 (ReLU). With sigma = 1, n sigma^2 = 256: tanh saturates at +-1 after one layer, and a
 * ReLU net multiplies the std by sqrt(128) ~ 11 per layer.
 * U(-a, a) has variance a^2/3, so a uniform and a normal with the same variance behave the
 * same in a wide layer (each unit sums 256 terms: the central limit theorem). */
typedef enum { ACT_TANH, ACT_RELU, ACTS } activation;
static const char *act_name[ACTS] = {"tanh", "relu"};

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
    return nn_init_gain(act == ACT_TANH ? NN_GAIN_TANH : NN_GAIN_RELU, 0);
}

/* The std a scheme gives a weight of shape (out, in): printed in the tables. */
static double scheme_std(scheme s, activation act, int in, int out)
{
    double g = act_gain(act);
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
static void deep_mlp_init(deep_mlp *m, activation act, scheme s, nn_rng *rng)
{
    static char names[LAYERS][16]; /* the store keeps the pointers: static storage */
    nn_params_init(&m->ps);
    m->act = act;
    for (int l = 0; l < LAYERS; l++) {
        int in = l == 0 ? INPUTS : WIDTH, out = l == DEPTH ? CLASSES : WIDTH;
        snprintf(names[l], sizeof names[l], "fc%d", l + 1);
        nn_linear_init(&m->fc[l], &m->ps, names[l], in, out, 1, rng); /* PyTorch's default... */
        init_weight(m->fc[l].weight, s, l == DEPTH ? 1 : act_gain(act), rng); /* ...replaced */
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
        h = m->act == ACT_TANH ? nn_tanh(g, s) : nn_relu(g, s);
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

typedef struct probe {
    double act_std[DEPTH + 1];  /* [0] the input, [l] hidden layer l */
    double grad_std[LAYERS];    /* std of dL/dW_l, l = 1..11 stored at [l-1] */
    double hist[DEPTH][HIST_BINS]; /* tanh: fraction of activations per bin of [-1, 1] */
    double loss;
} probe;

static void run_probe(probe *p, activation act, scheme s, const nn_real *x, const int *y,
                      int n, uint64_t seed, nn_graph *g)
{
    nn_rng rng;
    nn_rng_seed(&rng, seed); /* the same stream for every scheme: only the scale differs */
    deep_mlp m;
    deep_mlp_init(&m, act, s, &rng);
    g->grad = 1, g->training = 1;
    nn_tensor *hidden[DEPTH];
    nn_tensor *xt = nn_graph_input(g, x, 2, n, INPUTS);
    nn_tensor *logits = deep_mlp_forward(g, &m, xt, hidden);
    nn_tensor *loss = nn_softmax_cross_entropy(g, logits, y);
    p->loss = loss->data[0];
    /* forward: read each layer's output straight from its tensor */
    p->act_std[0] = std_of(xt->data, xt->numel);
    memset(p->hist, 0, sizeof p->hist);
    for (int l = 0; l < DEPTH; l++) {
        const nn_tensor *h = hidden[l];
        p->act_std[l + 1] = std_of(h->data, h->numel);
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

static void plot_probe_curves(const char *dir, activation act, probe pr[SCHEMES])
{
    double act_x[DEPTH + 1], grad_x[LAYERS], ys[SCHEMES][DEPTH + 1], gs[SCHEMES][LAYERS];
    nn_plot_series a[SCHEMES], gr[SCHEMES];
    for (int l = 0; l <= DEPTH; l++) act_x[l] = l;
    for (int l = 0; l < LAYERS; l++) grad_x[l] = l + 1;
    for (int s = 0; s < SCHEMES; s++) {
        for (int l = 0; l <= DEPTH; l++) ys[s][l] = floored(pr[s].act_std[l]);
        for (int l = 0; l < LAYERS; l++) gs[s][l] = floored(pr[s].grad_std[l]);
        a[s] = (nn_plot_series){scheme_label[s], act_x, ys[s], DEPTH + 1};
        gr[s] = (nn_plot_series){scheme_label[s], grad_x, gs[s], LAYERS};
    }
    char name[64], title[160];
    snprintf(name, sizeof name, "%s_activation_std", act_name[act]);
    snprintf(title, sizeof title, "%s net at initialization: std of each layer's activations",
             act_name[act]);
    nn_plot_lines(dir, name, title, "layer (0 = standardized input)", "std (log scale)", a,
                  SCHEMES, 1);
    snprintf(name, sizeof name, "%s_weight_grad_std", act_name[act]);
    snprintf(title, sizeof title, "%s net at initialization: std of dL/dW per layer "
             "(one backward pass)", act_name[act]);
    nn_plot_lines(dir, name, title, "layer (11 = output)", "std of dL/dW (log scale)", gr,
                  SCHEMES, 1);
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
    int steps_done;
    int diverged;        /* 1: the loss became inf/NaN at step steps_done + 1 */
    double test_acc, seconds;
} run;

typedef struct workspace {
    nn_graph *g;
    nn_real *x;
    int *y, *order, *identity;
} workspace;

static double test_accuracy(workspace *w, const deep_mlp *m, const nn_data *d)
{
    nn_graph *g = w->g;
    g->grad = 0, g->training = 0;
    double right = 0;
    for (int start = 0; start < d->n; start += EVAL_BATCH) {
        int b = d->n - start < EVAL_BATCH ? d->n - start : EVAL_BATCH;
        nn_data_batch(d, w->identity, start, b, w->x, w->y);
        nn_tensor *logits = deep_mlp_forward(g, m, nn_graph_input(g, w->x, 2, b, INPUTS), NULL);
        right += nn_metrics_accuracy(logits->data, w->y, b, CLASSES) * b;
        nn_graph_reset(g);
    }
    return right / d->n;
}

/* Plain mini-batch SGD with momentum 0.9 (the optimizer of both papers' era): unlike Adam it
 * does not rescale each gradient, so a vanishing or exploding gradient shows in the loss. */
static void train_run(run *out, activation act, scheme s, int epochs, const nn_data *train,
                      const nn_data *test, workspace *w, uint64_t seed)
{
    nn_rng init_rng, order_rng;
    nn_rng_seed(&init_rng, seed);      /* as in the probe */
    nn_rng_seed(&order_rng, seed + 1); /* the same batches for every scheme */
    deep_mlp m;
    deep_mlp_init(&m, act, s, &init_rng);
    nn_optim opt;
    nn_optim_init(&opt, NN_OPTIM_MOMENTUM, &m.ps, LR);
    const int steps = train->n / BATCH;
    out->loss = nn_calloc((size_t)steps * epochs, sizeof(double));
    out->steps_done = 0, out->diverged = 0;
    nn_graph *g = w->g;
    double t0 = nn_seconds();
    char label[48];
    snprintf(label, sizeof label, "%s %s", act_name[act], scheme_name[s]);
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
            out->loss[out->steps_done++] = loss->data[0];
            nn_params_zero_grad(&m.ps);
            nn_backward(g, loss);
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
        "Lesson 04: weight initialization. A 10-layer MLP (tanh and ReLU) at initialization "
        "under N(0,0.01^2), N(0,1), Xavier and Kaiming: the std of activations and gradients "
        "layer by layer (vanishing / exploding made visible), then a short training run from "
        "each scheme on Fashion-MNIST: good schemes train, bad ones stall or diverge.";
    nn_cli cli;
    nn_cli_parse(&cli, 4, about, argc, argv);
    nn_report report;
    nn_report_init(&report, 4);
    const int epochs = nn_cli_epochs(&cli, 3, 1);
    const int ntrain = cli.quick ? 1280 : 12000, ntest = cli.quick ? 500 : 10000;
    const int nprobe = cli.quick ? 256 : 1000; /* images in the probe batch of part 1 */

    /* --- data ----------------------------------------------------------------------------- */
    nn_data train_file, test_file, train, test;
    nn_data_fmnist_load(&train_file, &test_file);
    nn_data_subset(&train, &train_file, ntrain);
    nn_data_subset(&test, &test_file, ntest);
    nn_data_free(&train_file), nn_data_free(&test_file);
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
    probe pr[ACTS][SCHEMES];
    printf("1. At initialization: one batch of %d images, one forward and one backward pass\n",
           nprobe);
    for (int a = 0; a < ACTS; a++) {
        printf("\n   %s net (gain %.3f)           std of activations         std of dL/dW"
               "             loss\n", act_name[a], act_gain(a));
        printf("   %-16s %9s %10s %10s %10s %10s %10s\n", "scheme", "std(W2)", "layer 1",
               "layer 5", "layer 10", "layer 1", "layer 11");
        for (int s = 0; s < SCHEMES; s++) {
            run_probe(&pr[a][s], a, s, probe_x, probe_y, nprobe, cli.seed, g);
            const probe *p = &pr[a][s];
            printf("   %-16s %9.4f %10.3g %10.3g %10.3g %10.3g %10.3g %10.3g\n", scheme_name[s],
                   scheme_std(s, a, WIDTH, WIDTH), p->act_std[1], p->act_std[5],
                   p->act_std[DEPTH], p->grad_std[0], p->grad_std[LAYERS - 1], p->loss);
        }
        plot_probe_curves(cli.out, a, pr[a]);
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
    run runs[ACTS][SCHEMES];
    double train_seconds = 0;
    for (int a = 0; a < ACTS; a++) {
        printf("\n   %s net\n   %-16s %11s %11s %9s %8s\n", act_name[a], "scheme",
               "first loss", "final loss", "test acc", "seconds");
        for (int s = 0; s < SCHEMES; s++) {
            run *r = &runs[a][s];
            train_run(r, a, s, epochs, &train, &test, &w, cli.seed);
            train_seconds += r->seconds;
            /* the final loss: mean of the last tenth of the steps */
            int tail = r->steps_done / 10 > 1 ? r->steps_done / 10 : 1;
            double last = 0;
            for (int k = r->steps_done - tail; k < r->steps_done; k++) last += r->loss[k];
            if (r->diverged)
                printf("   %-16s %11.3g %11s %9.4f %8.1f   diverged at step %d\n",
                       scheme_name[s], r->loss[0], "inf/nan", r->test_acc, r->seconds,
                       r->steps_done + 1);
            else
                printf("   %-16s %11.3g %11.3g %9.4f %8.1f\n", scheme_name[s],
                       r->steps_done ? r->loss[0] : NAN, last / tail, r->test_acc, r->seconds);
            fflush(stdout);
        }
        plot_losses(cli.out, a, runs[a], total_steps);
    }

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
    printf("   %-44s %.1f s\n", "training time (all 14 runs)", train_seconds);
    printf("   figures: %s/\n", cli.out);

    /* the headline: the recommended scheme for the most common net */
    nn_report_add(&report, "test_accuracy", runs[ACT_RELU][INIT_KAIMING_NORMAL].test_acc);
    char key[40];
    for (int a = 0; a < ACTS; a++)
        for (int s = 0; s < SCHEMES; s++) {
            snprintf(key, sizeof key, "%s_%s_last_layer_std", act_name[a], scheme_name[s]);
            nn_report_add(&report, key, pr[a][s].act_std[DEPTH]);
        }
    for (int a = 0; a < ACTS; a++)
        for (int s = 0; s < SCHEMES; s++) {
            snprintf(key, sizeof key, "%s_%s_test_accuracy", act_name[a], scheme_name[s]);
            nn_report_add(&report, key, runs[a][s].test_acc);
        }
    nn_report_add_timing(&report, "train_seconds", train_seconds); /* -> timing.json */
    nn_report_finish(&report, cli.out);

    for (int a = 0; a < ACTS; a++)
        for (int s = 0; s < SCHEMES; s++) free(runs[a][s].loss);
    free(probe_x), free(probe_y);
    free(w.x), free(w.y), free(w.order), free(w.identity);
    nn_graph_free(g);
    nn_data_free(&train), nn_data_free(&test);
    return 0;
}
