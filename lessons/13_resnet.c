/* Lesson 13 -- residual networks (He, Zhang, Ren & Sun 2016): h_b = h_{b-1} + F(h_{b-1}).
 *
 * Concept: stacking more layers should never hurt -- the extra layers could learn the
 * identity and leave the shallower net's function unchanged. Yet He et al. found that a plain
 * 34-layer CNN trains *worse* than an 18-layer one, on the training set itself: not
 * overfitting but an optimization failure, the "degradation problem". Their fix is to make the
 * identity the default: a block computes h + F(h), so F only learns a correction, and the
 * gradient reaches every block through the identity path,
 *     dL/dh_{b-1} = dL/dh_b (I + dF/dh),
 * instead of through a product of 40 Jacobians whose size changes geometrically with depth.
 *
 * What you will see (MLPs of width 128 on Fashion-MNIST; a block is two Linear layers,
 * F(h) = BN(W2 relu(BN(W1 h))); plain: h = relu(F(h)), residual: h = h + F(h)):
 *   1. gradient norms at initialization, layer by layer, in four 20-block (42-layer) nets with
 *      bit-identical weights: plain with BN, residual with BN, and both without BN. Plain with
 *      BN: the gradient *explodes* toward the input, x1.5 per block, 4000x over the stack (Yang
 *      et al. 2019: batch norm itself causes this); plain without BN: it *vanishes*, x0.16 per
 *      block, 1e-16 at the bottom; residual, with or without BN: within 20x from top to bottom;
 *   2. four nets trained with the same initial weights, the same batches and the same Adam
 *      schedule: plain and residual, 20 blocks and 4 blocks. The plain 42-layer net trains far
 *      worse than the plain 10-layer one (degradation); with shortcuts the 42-layer net trains
 *      as well as the shallow ones; training loss curves, test accuracy per epoch, and the
 *      gradient norms over the first and the last 10 steps.
 *
 * Run:  make lesson13                   (full: 24000 train / 10000 test images, 3 epochs;
 *                                        about 45 s of CPU, 1-2.5 min on 2 shared cores)
 *       make lesson13 ARGS="--quick"    (2000 / 500 images, 2 epochs = 62 steps; about 2.5 s of
 *                                        CPU)
 *       flags: --seed N --epochs N --out DIR --kernels naive|blas --threads N --help
 *
 * Expected (full, seed 42, measured): test accuracy plain-20 0.685 (training loss 0.83),
 * resnet-20 0.870 (0.252), plain-4 0.869 (0.280), resnet-4 0.874 (0.241): the plain 42-layer
 * net is the only one that fails, on the training set as much as on the test set. At
 * initialization ||dL/dh_0|| / ||dL/dh_20|| is 4.1e3 in the plain BN net (x1.52 per block),
 * 17.7 with shortcuts, 1.2e-16 in the plain net without BN (x0.16 per block), 1.65 in the
 * residual one without BN; the first layer's ||dL/dW|| over the first 10 steps is 5077 in the
 * plain net and 27.4 in the residual one (ratio 185).
 * Quick: plain-20 stays at chance (test 0.09, train loss 2.31), resnet-20 0.78, plain-4 0.75,
 * resnet-4 0.82. Reference: He et al. 2016, "Deep Residual Learning for Image Recognition",
 * Fig. 1 and Fig. 4 / Table 2 (ImageNet: plain-34 has higher training error than plain-18,
 * 28.54% vs 27.94% top-1 validation error; ResNet-34 reverses it, 25.03% vs 27.88%).
 * Figures and metrics.json go to out/lesson13/.
 */
#include "nn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WIDTH 128        /* every hidden layer: 784 -> 128 -> ... -> 128 -> 10 */
#define DEEP 20          /* blocks of the deep nets: 2 Linear layers each, 42 weight layers */
#define SHALLOW 4        /* blocks of the shallow nets: 10 weight layers */
#define INPUTS 784
#define CLASSES 10
#define BATCH 64
#define LR 1e-3          /* Adam, cosine-decayed to 0; the same for every net */
#define EPOCHS_FULL 3
#define EPOCHS_QUICK 2
#define TRAIN_FULL 24000 /* a Fashion-MNIST subset: the four trainings in about a minute */
#define TRAIN_QUICK 2000
#define TEST_QUICK 500
#define EVAL_BATCH 500
#define FIRST_STEPS 10   /* "the first steps": gradient norms averaged over steps 1..10 */
#define MAX_LAYERS (2 * DEEP + 2) /* weight layers: stem, 2 per block, head */

/* ------------------------------------------------------------------------------------------ */
/* The model: a stem, `blocks` blocks of two Linear layers, a head                             */
/* ------------------------------------------------------------------------------------------ */

/* Every block holds the same two layers, F(h) = BN(W2 relu(BN(W1 h))); the two kinds of net
 * differ only in how a block uses it:
 *     plain      h_b = relu(F(h_{b-1}))          two Linear-BN-ReLU layers in a row
 *     residual   h_b = h_{b-1} + F(h_{b-1})      F learns only the change (the "residual")
 * Both start with the stem h_0 = relu(BN(W0 x)) (784 -> 128) and end with the head
 * logits = W_out h_B + b (128 -> 10). The Linear layers before a BN have no bias: BN's mean
 * would cancel it (lesson 06). `norm` = 0 removes every BN, for the gradient probe of part 1. */
typedef struct block {
    nn_linear_layer fc1, fc2;
    nn_batchnorm_layer bn1, bn2;
} block;

typedef struct net {
    int blocks, residual, norm, layers; /* layers = 2 blocks + 2 weight matrices */
    nn_params ps;
    nn_linear_layer stem, head;
    nn_batchnorm_layer stem_bn;
    block blk[DEEP];
    nn_tensor *weight[MAX_LAYERS]; /* every weight matrix in depth order: stem, ..., head */
} net;

/* The Linear layers are drawn from one rng seeded with `seed`, stem and head first, then the
 * blocks in order, with PyTorch's default U(-1/sqrt(in), 1/sqrt(in)). BN draws nothing. So the
 * plain and the residual net of the same depth start from bit-identical weights, with or
 * without BN, and a 4-block net starts as the first 4 blocks of the 20-block one. */
static void net_init(net *m, int blocks, int residual, int norm, uint64_t seed)
{
    memset(m, 0, sizeof *m);
    m->blocks = blocks, m->residual = residual, m->norm = norm, m->layers = 2 * blocks + 2;
    nn_params_init(&m->ps);
    nn_rng rng;
    nn_rng_seed(&rng, seed);
    nn_linear_init(&m->stem, &m->ps, "stem", INPUTS, WIDTH, 0, &rng);
    nn_linear_init(&m->head, &m->ps, "head", WIDTH, CLASSES, 1, &rng);
    for (int b = 0; b < blocks; b++) {
        nn_linear_init(&m->blk[b].fc1, &m->ps, "fc1", WIDTH, WIDTH, 0, &rng);
        nn_linear_init(&m->blk[b].fc2, &m->ps, "fc2", WIDTH, WIDTH, 0, &rng);
    }
    if (norm) {
        nn_batchnorm_init(&m->stem_bn, &m->ps, "stem_bn", WIDTH);
        for (int b = 0; b < blocks; b++) {
            nn_batchnorm_init(&m->blk[b].bn1, &m->ps, "bn1", WIDTH);
            nn_batchnorm_init(&m->blk[b].bn2, &m->ps, "bn2", WIDTH);
        }
    }
    int l = 0;
    m->weight[l++] = m->stem.weight;
    for (int b = 0; b < blocks; b++) {
        m->weight[l++] = m->blk[b].fc1.weight;
        m->weight[l++] = m->blk[b].fc2.weight;
    }
    m->weight[l++] = m->head.weight;
}

static void net_free(net *m)
{
    nn_batchnorm_free(&m->stem_bn); /* free(NULL) when norm = 0 */
    for (int b = 0; b < m->blocks; b++)
        nn_batchnorm_free(&m->blk[b].bn1), nn_batchnorm_free(&m->blk[b].bn2);
    nn_params_free(&m->ps);
}

static nn_tensor *maybe_bn(nn_graph *g, const net *m, nn_batchnorm_layer *bn, nn_tensor *z)
{
    return m->norm ? nn_batchnorm_forward(g, bn, z) : z;
}

/* x (B,784) -> logits (B,10); stream[b] = h_b (B,128) for b = 0..blocks if stream != NULL.
 *
 * Backward through a residual block: with J_b = dF/dh the Jacobian of one block,
 *     dL/dh_{b-1} = dL/dh_b (I + J_b),   so   dL/dh_0 = dL/dh_B (I + J_B) ... (I + J_1).
 * Expanded, the product is I + sum_b J_b + (products of two J's) + ...: the gradient reaches
 * every block directly through the identity, however small or large the J's. In the plain net
 * it is D_B J_B ... D_1 J_1 (D_b: the last ReLU's 0/1 mask) with no I: its size is roughly the
 * product of the blocks' gains,
 * so it shrinks or grows geometrically with depth (see part 1). nn_add's backward is exactly
 * that identity: it passes dL/dh_b unchanged to both of its inputs. */
static nn_tensor *net_forward(nn_graph *g, net *m, nn_tensor *x, nn_tensor **stream)
{
    nn_tensor *h = nn_relu(g, maybe_bn(g, m, &m->stem_bn, nn_linear(g, &m->stem, x)));
    if (stream) stream[0] = h;
    for (int b = 0; b < m->blocks; b++) {
        block *k = &m->blk[b];
        nn_tensor *f = nn_relu(g, maybe_bn(g, m, &k->bn1, nn_linear(g, &k->fc1, h)));
        f = maybe_bn(g, m, &k->bn2, nn_linear(g, &k->fc2, f)); /* F(h), (B,128) */
        h = m->residual ? nn_add(g, h, f) : nn_relu(g, f);
        if (stream) stream[b + 1] = h;
    }
    return nn_linear(g, &m->head, h);
}

/* the net for nn_evaluate, which runs it in evaluation mode: BN on its running statistics */
static nn_tensor *net_fn(nn_graph *g, nn_tensor *x, void *m)
{
    return net_forward(g, m, x, NULL);
}

/* ------------------------------------------------------------------------------------------ */
/* Gradient norms through depth                                                                */
/* ------------------------------------------------------------------------------------------ */

typedef struct grad_profile {
    double weight[MAX_LAYERS]; /* ||dL/dW_l||, l = 0 (stem) .. layers-1 (head) */
    double signal[DEEP + 1];   /* ||dL/dh_b||, b = 0 (stem output) .. blocks (head input) */
} grad_profile;

static double norm2(const nn_real *v, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)v[i] * v[i];
    return sqrt(s);
}

/* adds scale * the norms of the gradients that nn_backward left in m and in stream */
static void profile_add(grad_profile *p, const net *m, nn_tensor **stream, double scale)
{
    for (int l = 0; l < m->layers; l++)
        p->weight[l] += scale * norm2(m->weight[l]->grad, m->weight[l]->numel);
    if (stream)
        for (int b = 0; b <= m->blocks; b++)
            p->signal[b] += scale * norm2(stream[b]->grad, stream[b]->numel);
}

/* ||dL/dh_0|| / ||dL/dh_B||: how much larger the gradient is at the bottom of the stack than
 * at its top. 1 when it passes through every block unchanged; in a plain stack it is roughly
 * the product of the blocks' gains, so it grows or shrinks geometrically with depth. */
static double signal_ratio(const grad_profile *p, int blocks)
{
    return p->signal[0] / p->signal[blocks];
}

/* ------------------------------------------------------------------------------------------ */
/* Training and evaluation                                                                     */
/* ------------------------------------------------------------------------------------------ */

typedef struct workspace {
    nn_graph *g;
    nn_real *x;
    int *y, *order;
} workspace;

typedef struct run {
    const char *name;
    int blocks, residual, steps, npoints, epochs;
    size_t params;               /* numbers in the parameter store */
    double *at, *loss;           /* mean training loss of each window of steps, at its end */
    double *epoch_acc;           /* test accuracy after each epoch */
    grad_profile first, last;    /* means over the first and the last FIRST_STEPS steps */
    double test_accuracy, train_accuracy, train_loss, seconds;
} run;

/* Trains a fresh net with Adam. Every run gets the same initial weights (seed) and the same
 * sequence of batches (seed + 1): the nets differ only in their architecture. */
static void train_run(run *r, const char *name, int blocks, int residual, int epochs,
                      int window, const nn_data *train, const nn_data *test, workspace *w,
                      uint64_t seed)
{
    const int per_epoch = train->n / BATCH, steps = epochs * per_epoch;
    memset(r, 0, sizeof *r);
    r->name = name, r->blocks = blocks, r->residual = residual, r->steps = steps;
    r->epochs = epochs;
    r->at = nn_calloc(steps / window + 1, sizeof(double));
    r->loss = nn_calloc(steps / window + 1, sizeof(double));
    r->epoch_acc = nn_calloc(epochs, sizeof(double));
    net m;
    net_init(&m, blocks, residual, 1, seed);
    r->params = m.ps.count;
    nn_rng order_rng;
    nn_rng_seed(&order_rng, seed + 1);
    nn_optim opt;
    nn_optim_init(&opt, NN_OPTIM_ADAM, &m.ps, (nn_real)LR);
    nn_schedule sched = {.kind = NN_SCHEDULE_COSINE, .base_lr = LR, .total_steps = steps};
    nn_graph *g = w->g;
    double since = 0, t0 = nn_seconds();
    nn_progress bar;
    nn_progress_start(&bar, name, steps);
    for (int s = 0; s < steps; s++) {
        if (s % per_epoch == 0) nn_rng_permutation(&order_rng, w->order, train->n);
        nn_data_batch(train, w->order, (s % per_epoch) * BATCH, BATCH, w->x, w->y);
        nn_tensor *stream[DEEP + 1];
        nn_tensor *x = nn_graph_input(g, w->x, 2, BATCH, INPUTS);
        nn_tensor *loss = nn_softmax_cross_entropy(g, net_forward(g, &m, x, stream), w->y);
        nn_graph_check_finite(g, loss, s);
        nn_params_zero_grad(&m.ps);
        nn_backward(g, loss);
        if (s < FIRST_STEPS) profile_add(&r->first, &m, stream, 1.0 / FIRST_STEPS);
        if (s >= steps - FIRST_STEPS) profile_add(&r->last, &m, stream, 1.0 / FIRST_STEPS);
        since += loss->data[0];
        opt.lr = nn_schedule_lr(&sched, s);
        nn_optim_step(&opt);
        nn_graph_reset(g);
        if ((s + 1) % window == 0) {
            r->at[r->npoints] = s + 1;
            r->loss[r->npoints++] = since / window;
            since = 0;
        }
        if ((s + 1) % per_epoch == 0) {
            double t1 = nn_seconds(); /* evaluation is not training time */
            r->epoch_acc[(s + 1) / per_epoch - 1] =
                nn_evaluate(g, net_fn, &m, test, EVAL_BATCH, NULL).accuracy;
            t0 += nn_seconds() - t1;
        }
        if ((s & 15) == 15) nn_progress_update(&bar, s + 1, NULL);
    }
    nn_progress_finish(&bar);
    r->seconds = nn_seconds() - t0;
    r->test_accuracy = r->epoch_acc[epochs - 1];
    nn_evaluation on_train = nn_evaluate(g, net_fn, &m, train, EVAL_BATCH, NULL);
    r->train_accuracy = on_train.accuracy, r->train_loss = on_train.loss;
    nn_optim_free(&opt);
    net_free(&m);
}

static void run_free(run *r)
{
    free(r->at), free(r->loss), free(r->epoch_acc);
}

/* One forward and backward pass of a freshly initialised net on the batch (x, y): the
 * gradient norms before any training. */
static void probe_init(grad_profile *p, int residual, int norm, const nn_real *x, const int *y,
                       workspace *w, uint64_t seed)
{
    net m;
    net_init(&m, DEEP, residual, norm, seed);
    nn_graph *g = w->g;
    nn_tensor *stream[DEEP + 1];
    nn_tensor *input = nn_graph_input(g, x, 2, BATCH, INPUTS);
    nn_tensor *loss = nn_softmax_cross_entropy(g, net_forward(g, &m, input, stream), y);
    nn_backward(g, loss);
    memset(p, 0, sizeof *p);
    profile_add(p, &m, stream, 1.0);
    nn_graph_reset(g);
    net_free(&m);
}

/* ------------------------------------------------------------------------------------------ */
/* Figures                                                                                     */
/* ------------------------------------------------------------------------------------------ */

static void plot_profiles(const char *dir, const char *name, const char *title, int signal,
                          const grad_profile *const *p, const char *const *labels, int n)
{
    double axis[MAX_LAYERS];
    nn_plot_series s[4];
    int count = signal ? DEEP + 1 : MAX_LAYERS;
    for (int i = 0; i < count; i++) axis[i] = signal ? i : i + 1;
    for (int k = 0; k < n; k++)
        s[k] = (nn_plot_series){labels[k], axis, signal ? p[k]->signal : p[k]->weight, count};
    nn_plot_lines(dir, name, title,
                  signal ? "block b (0 = stem output, 20 = input of the head)"
                         : "weight layer (1 = stem, 2-41 = blocks, 42 = head)",
                  signal ? "||dL/dh_b|| (log scale)" : "||dL/dW|| (log scale)", s, n, 1);
}

/* ------------------------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    const char *about =
        "Lesson 13: residual networks. A plain 42-layer MLP (20 blocks of two "
        "Linear-BN-ReLU layers) against the same net with identity shortcuts, "
        "h + F(h), and both against 10-layer versions, on Fashion-MNIST: gradient norms "
        "through depth, training loss and test accuracy (He et al. 2016's degradation "
        "problem).";
    nn_cli cli;
    nn_cli_parse(&cli, 13, about, argc, argv);
    nn_report report;
    nn_report_init(&report, 13);
    const int epochs = nn_cli_epochs(&cli, EPOCHS_FULL, EPOCHS_QUICK);
    const int ntrain = cli.quick ? TRAIN_QUICK : TRAIN_FULL;
    const int ntest = cli.quick ? TEST_QUICK : 10000;
    const int window = cli.quick ? 4 : 20; /* training loss: mean over windows of steps */

    nn_data train, test;
    nn_data_fmnist_load_first(&train, ntrain, &test, ntest);
    workspace w = {nn_graph_new(), nn_malloc(BATCH * INPUTS * sizeof(nn_real)),
                   nn_malloc(BATCH * sizeof(int)), nn_malloc(train.n * sizeof(int))};
    printf("Fashion-MNIST: %d training images, %d test; MLPs of width %d, %d and %d blocks; "
           "Adam from lr %g\nwith cosine decay, batch %d, %d epochs, seed %llu\n\n", train.n,
           test.n, WIDTH, DEEP, SHALLOW, LR, BATCH, epochs, (unsigned long long)cli.seed);

    /* --- 1. gradients at initialization ------------------------------------------------------ */
    /* The first 64 training images, through four fresh 20-block nets with the same weights. */
    grad_profile init[4]; /* plain BN, residual BN, plain no BN, residual no BN */
    for (int k = 0; k < 4; k++) probe_init(&init[k], k % 2, k < 2, train.x, train.y, &w, cli.seed);
    const char *init_label[4] = {"plain, BN", "residual, BN", "plain, no BN", "residual, no BN"};
    printf("1. Gradient norms at initialization, %d blocks (%d weight layers), one batch of %d\n",
           DEEP, 2 * DEEP + 2, BATCH);
    printf("   %-16s %12s %12s %12s %12s %12s %10s\n", "net", "||dL/dW_1||", "||dL/dW_42||",
           "||dL/dh_0||", "||dL/dh_20||", "h_0 / h_20", "per block");
    for (int k = 0; k < 4; k++) {
        double ratio = signal_ratio(&init[k], DEEP);
        printf("   %-16s %12.3g %12.3g %12.3g %12.3g %12.3g %10.3g\n", init_label[k],
               init[k].weight[0], init[k].weight[2 * DEEP + 1], init[k].signal[0],
               init[k].signal[DEEP], ratio, pow(ratio, 1.0 / DEEP));
    }
    printf("   (W_1 = stem, W_42 = head; h_b = output of block b, h_0 = stem output; per block:"
           " (h_0 / h_20)^(1/20))\n");

    /* --- 2. training: deep and shallow, plain and residual ------------------------------------ */
    printf("\n2. Training: the same initial weights and the same batches for every net\n");
    printf("   %-12s %7s %11s %12s %12s %12s %9s\n", "net", "layers", "parameters",
           "train loss", "train acc", "test acc", "seconds");
    run runs[4];
    const char *run_name[4] = {"plain-20", "resnet-20", "plain-4", "resnet-4"};
    double train_seconds = 0;
    for (int k = 0; k < 4; k++) {
        int blocks = k < 2 ? DEEP : SHALLOW;
        train_run(&runs[k], run_name[k], blocks, k % 2, epochs, window, &train, &test, &w,
                  cli.seed);
        const run *r = &runs[k];
        train_seconds += r->seconds;
        printf("   %-12s %7d %11zu %12.4f %12.4f %12.4f %9.1f\n", r->name, 2 * blocks + 2,
               r->params, r->train_loss, r->train_accuracy, r->test_accuracy, r->seconds);
        fflush(stdout);
    }
    printf("   (train loss and accuracy: the whole training set after training, evaluation "
           "mode)\n");
    const run *plain = &runs[0], *resnet = &runs[1];
    printf("\n   Gradient norms during training, %d blocks (mean over %d steps):\n", DEEP,
           FIRST_STEPS);
    printf("   %-16s %12s %12s %12s %12s\n", "net", "steps", "||dL/dW_1||", "||dL/dW_42||",
           "h_0 / h_20");
    for (int k = 0; k < 2; k++)
        for (int t = 0; t < 2; t++) {
            const grad_profile *p = t ? &runs[k].last : &runs[k].first;
            char steps[32];
            snprintf(steps, sizeof steps, t ? "last %d" : "first %d", FIRST_STEPS);
            printf("   %-16s %12s %12.3g %12.3g %12.3g\n", runs[k].name, steps, p->weight[0],
                   p->weight[2 * DEEP + 1], signal_ratio(p, DEEP));
        }

    /* --- figures ------------------------------------------------------------------------------ */
    const grad_profile *ip[4] = {&init[0], &init[1], &init[2], &init[3]};
    plot_profiles(cli.out, "grad_norm_depth",
                  "Gradient of each weight matrix at initialization, 20 blocks (one batch)", 0,
                  ip, init_label, 4);
    plot_profiles(cli.out, "grad_signal_depth",
                  "Gradient reaching each block's output at initialization, 20 blocks", 1, ip,
                  init_label, 4);
    const grad_profile *tp[4] = {&plain->first, &resnet->first, &plain->last, &resnet->last};
    const char *tp_label[4] = {"plain, first 10 steps", "residual, first 10 steps",
                               "plain, last 10 steps", "residual, last 10 steps"};
    plot_profiles(cli.out, "grad_norm_training",
                  "Gradient of each weight matrix during training, 20 blocks (Adam)", 0, tp,
                  tp_label, 4);
    nn_plot_series loss[4], acc[4];
    double *epoch_axis = nn_malloc(epochs * sizeof *epoch_axis);
    for (int e = 0; e < epochs; e++) epoch_axis[e] = e + 1;
    for (int k = 0; k < 4; k++) {
        loss[k] = (nn_plot_series){run_name[k], runs[k].at, runs[k].loss, runs[k].npoints};
        acc[k] = (nn_plot_series){run_name[k], epoch_axis, runs[k].epoch_acc, epochs};
    }
    char title[160];
    snprintf(title, sizeof title, "Training loss (mean over %d steps): plain vs residual, "
             "42 vs 10 layers", window);
    nn_plot_lines(cli.out, "train_loss", title, "training step", "cross-entropy (log scale)",
                  loss, 4, 1);
    nn_plot_lines(cli.out, "test_accuracy", "Test accuracy after each epoch", "epoch",
                  "test accuracy", acc, 4, 0);

    /* --- results ------------------------------------------------------------------------------ */
    double ratio = plain->first.weight[0] / resnet->first.weight[0];
    printf("\nResults\n");
    printf("   %-50s %.4f / %.4f\n", "test accuracy, plain-20 / resnet-20", plain->test_accuracy,
           resnet->test_accuracy);
    printf("   %-50s %.4f / %.4f\n", "test accuracy, plain-4 / resnet-4", runs[2].test_accuracy,
           runs[3].test_accuracy);
    printf("   %-50s %.4f / %.4f / %.4f / %.4f\n", "train loss, plain-20 / resnet-20 / plain-4 "
           "/ resnet-4", plain->train_loss, resnet->train_loss, runs[2].train_loss,
           runs[3].train_loss);
    printf("   %-50s %.3g / %.3g (ratio %.3g)\n", "first-layer ||dL/dW||, first 10 steps, plain "
           "/ resnet", plain->first.weight[0], resnet->first.weight[0], ratio);
    printf("   %-50s %.3g / %.3g\n", "||dL/dh_0|| / ||dL/dh_20|| at init, plain / resnet",
           signal_ratio(&init[0], DEEP), signal_ratio(&init[1], DEEP));
    printf("   %-50s %.3g / %.3g\n", "the same without BN, plain / resnet",
           signal_ratio(&init[2], DEEP), signal_ratio(&init[3], DEEP));
    printf("   %-50s %.1f s (a shared machine: timings are noisy)\n", "training time, 4 runs",
           train_seconds);
    printf("   figures: %s/\n", cli.out);

    nn_report_add(&report, "test_accuracy", resnet->test_accuracy);
    nn_report_add(&report, "plain_test_accuracy", plain->test_accuracy);
    nn_report_add(&report, "resnet_test_accuracy", resnet->test_accuracy);
    nn_report_add(&report, "shallow_plain_test_accuracy", runs[2].test_accuracy);
    nn_report_add(&report, "shallow_resnet_test_accuracy", runs[3].test_accuracy);
    nn_report_add(&report, "plain_train_loss", plain->train_loss);
    nn_report_add(&report, "resnet_train_loss", resnet->train_loss);
    nn_report_add(&report, "shallow_plain_train_loss", runs[2].train_loss);
    nn_report_add(&report, "shallow_resnet_train_loss", runs[3].train_loss);
    nn_report_add(&report, "plain_first_layer_grad_norm", plain->first.weight[0]);
    nn_report_add(&report, "resnet_first_layer_grad_norm", resnet->first.weight[0]);
    nn_report_add(&report, "first_layer_grad_ratio", ratio);
    nn_report_add(&report, "plain_signal_ratio", signal_ratio(&init[0], DEEP));
    nn_report_add(&report, "resnet_signal_ratio", signal_ratio(&init[1], DEEP));
    nn_report_add(&report, "nobn_plain_signal_ratio", signal_ratio(&init[2], DEEP));
    nn_report_add(&report, "nobn_resnet_signal_ratio", signal_ratio(&init[3], DEEP));
    nn_report_add_timing(&report, "train_seconds", train_seconds);
    nn_report_finish(&report, cli.out);

    for (int k = 0; k < 4; k++) run_free(&runs[k]);
    free(epoch_axis);
    free(w.x), free(w.y), free(w.order);
    nn_graph_free(w.g);
    nn_data_free(&train), nn_data_free(&test);
    return 0;
}
