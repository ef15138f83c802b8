/* Lesson 07 -- convolutional networks: LeNet-5 and a 2-conv network on Fashion-MNIST.
 *
 * Concept: a convolution slides a small filter over the image, so one set of K x K weights is
 * shared by every position (translation equivariance, few parameters); pooling then keeps the
 * strongest (max) or the mean (avg) answer of each small window, halving the resolution, so
 * the next layer's filters see a wider patch of the input (the receptive field grows). Two
 * conv/pool stages and a dense classifier on top beat every MLP of lessons 02-06.
 *
 * What you will see:
 *   1. the convolution arithmetic of both models, layer by layer: output size
 *      floor((H + 2p - k)/s) + 1, receptive field and parameter count, checked against the
 *      shapes the graph really produced;
 *   2. LeNet-5 (LeCun et al. 1998; ReLU + average pooling here) and the 2-conv network of the
 *      Fashion-MNIST benchmark (conv 5x5x32 -> maxpool -> conv 5x5x64 -> maxpool -> dense 256
 *      -> 10), trained with Adam and a cosine learning-rate decay: train loss and test accuracy;
 *   3. inside the trained 2-conv network: its 32 first-layer 5x5 filters (before and after
 *      training) and the feature maps of one test image after every conv and pool layer;
 *   4. the cost: seconds per epoch with the naive convolution loops vs im2col + BLAS GEMM.
 *
 * Run:  make lesson07                   (full: 60000 train / 10000 test, about 4-5 minutes on
 *                                        2 cores; almost all of it the 2-conv model)
 *       make lesson07 ARGS="--quick"    (2000 / 500 images, 1 epoch each, a few seconds)
 *       flags: --seed N --epochs N (both models) --out DIR --kernels naive|blas --threads N
 *       (--kernels naive trains with the direct loops: about 15x slower, about an hour in full mode)
 *
 * Expected (full mode, seed 42): 2-conv test accuracy 0.917 after 3 epochs, LeNet-5
 * 0.894 after 6, in under 5 minutes on 2 cores (4 min 47 s measured). Reference: 0.916 for the same 2-conv network (dense 1024, dropout 0.4,
 * plain SGD for many more steps) in the Fashion-MNIST README's benchmark table
 * ("2 Conv+pooling", from TensorFlow's layers tutorial; Xiao, Rasul & Vollgraf 2017).
 * Figures and metrics.json go to out/lesson07/.
 */
#include "nn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH 64
#define EVAL_BATCH 250
#define LOSS_POINTS_PER_EPOCH 10 /* the loss curve: one point per tenth of an epoch */
#define FULL_EPOCH 60000         /* seconds per epoch are quoted for the whole training set */
#define REFERENCE_ACCURACY 0.916

/* ------------------------------------------------------------------------------------------ */
/* The two models                                                                              */
/* ------------------------------------------------------------------------------------------ */

typedef enum { LENET, CONVNET } arch;

typedef struct cnn {
    arch kind;
    const char *name;
    nn_params ps;
    nn_conv2d_layer conv1, conv2;
    nn_linear_layer fc1, fc2, fc3; /* fc3: LeNet only */
    int pool;                      /* 2 x 2 windows, stride 2 */
} cnn;

/* what the forward pass saw, for the arithmetic table and the feature-map figures */
typedef struct taps {
    nn_tensor *conv1, *pool1, *conv2, *pool2;
} taps;

/* LeNet-5 (LeCun, Bottou, Bengio & Haffner 1998), with ReLU for its scaled tanh:
 *   (1,28,28) -conv 5x5x6 pad 2-> (6,28,28) -avgpool-> (6,14,14) -conv 5x5x16-> (16,10,10)
 *   -avgpool-> (16,5,5) = 400 -> 120 -> 84 -> 10.
 * (The original took 32x32 images without padding, the same thing; its "subsampling" layers
 * were average pools with a learned scale and bias, and C3 saw only some of S2's maps.)
 *
 * The 2-conv network of the Fashion-MNIST benchmark (TensorFlow's layers tutorial), "same"
 * padding, so only the pools shrink the maps:
 *   (1,28,28) -conv 5x5x32 pad 2-> (32,28,28) -maxpool-> (32,14,14) -conv 5x5x64 pad 2->
 *   (64,14,14) -maxpool-> (64,7,7) = 3136 -> 256 -> 10.   (the reference's dense layer has
 * 1024 units and dropout 0.4; 256 costs a quarter of the weights and reaches the same 0.91) */
static void cnn_init(cnn *m, arch kind, int dense, nn_rng *rng)
{
    memset(m, 0, sizeof *m);
    m->kind = kind;
    m->pool = 2;
    nn_params_init(&m->ps);
    if (kind == LENET) {
        m->name = "LeNet-5";
        nn_conv2d_init(&m->conv1, &m->ps, "conv1", 1, 6, 5, 1, 2, rng);
        nn_conv2d_init(&m->conv2, &m->ps, "conv2", 6, 16, 5, 1, 0, rng);
        nn_linear_init(&m->fc1, &m->ps, "fc1", 16 * 5 * 5, 120, 1, rng);
        nn_linear_init(&m->fc2, &m->ps, "fc2", 120, 84, 1, rng);
        nn_linear_init(&m->fc3, &m->ps, "fc3", 84, 10, 1, rng);
    } else {
        m->name = "2-conv";
        nn_conv2d_init(&m->conv1, &m->ps, "conv1", 1, 32, 5, 1, 2, rng);
        nn_conv2d_init(&m->conv2, &m->ps, "conv2", 32, 64, 5, 1, 2, rng);
        nn_linear_init(&m->fc1, &m->ps, "fc1", 64 * 7 * 7, dense, 1, rng);
        nn_linear_init(&m->fc2, &m->ps, "fc2", dense, 10, 1, rng);
    }
}

/* x (B,1,28,28) -> logits (B,10); t (or NULL) receives the maps after each ReLU and pool */
static nn_tensor *cnn_forward(nn_graph *g, const cnn *m, nn_tensor *x, taps *t)
{
    nn_tensor *(*pool)(nn_graph *, nn_tensor *, int, int) =
        m->kind == LENET ? nn_avgpool2d : nn_maxpool2d;
    nn_tensor *c1 = nn_relu(g, nn_conv2d(g, &m->conv1, x));   /* (B, C1, 28, 28) */
    nn_tensor *p1 = pool(g, c1, m->pool, m->pool);            /* (B, C1, 14, 14) */
    nn_tensor *c2 = nn_relu(g, nn_conv2d(g, &m->conv2, p1));  /* (B, C2, 10 or 14, ...) */
    nn_tensor *p2 = pool(g, c2, m->pool, m->pool);            /* (B, C2, 5 or 7, ...) */
    if (t) *t = (taps){c1, p1, c2, p2};
    nn_tensor *h = nn_relu(g, nn_linear(g, &m->fc1, nn_flatten(g, p2)));
    if (m->kind == LENET) h = nn_relu(g, nn_linear(g, &m->fc2, h));
    return nn_linear(g, m->kind == LENET ? &m->fc3 : &m->fc2, h);
}

/* the model for nn_evaluate, which hands it the images as rows (B,784) */
static nn_tensor *cnn_fn(nn_graph *g, nn_tensor *x, void *m)
{
    return cnn_forward(g, m, nn_reshape(g, x, 4, -1, 1, 28, 28), NULL);
}

/* ------------------------------------------------------------------------------------------ */
/* Convolution arithmetic, by formula, checked against the shapes the graph produced            */
/* ------------------------------------------------------------------------------------------ */

/* Output size of a k x k window moved by s over H (+ p zeros each side): floor((H+2p-k)/s)+1.
 * Receptive field: a unit of layer l sees r_l input pixels across, where
 *   r_l = r_{l-1} + (k_l - 1) j_{l-1},   j_l = j_{l-1} s_l   (r_0 = 1, j_0 = 1),
 * j being the distance, in input pixels, between neighbouring units of a layer (its "jump").
 * Parameters: a conv layer has C_out (C_in k k + 1), a dense one out (in + 1), a pool none. */
static int out_size(int h, int k, int s, int p) { return (h + 2 * p - k) / s + 1; }

static long arithmetic_row(const char *layer, int k, int s, int p, int in_channels,
                           int channels, int *h, int *r, int *j, long params,
                           const nn_tensor *real)
{
    *h = out_size(*h, k, s, p);
    *r += (k - 1) * *j;
    *j *= s;
    if (real->shape[1] != channels || real->shape[2] != *h || real->shape[3] != *h)
        nn_fail("lesson07: %s: formula says (%d,%d,%d), the graph made (%d,%d,%d)", layer,
                channels, *h, *h, real->shape[1], real->shape[2], real->shape[3]);
    /* a conv output value is one dot product of length C_in k k; a pool does no multiplies */
    const long macs = params ? (long)channels * *h * *h * in_channels * k * k : 0;
    char shape[32];
    snprintf(shape, sizeof shape, "(%d,%d,%d)", channels, *h, *h);
    printf("   %-20s %-11s k=%d s=%d p=%d %8d %9ld %10.3f\n", layer, shape, k, s, p, *r, params,
           macs / 1e6);
    return macs;
}

/* prints the table; returns the multiply-adds of one forward pass of one image */
static long print_arithmetic(nn_graph *g, const cnn *m, const nn_real *image)
{
    g->grad = 0, g->training = 0;
    taps t;
    cnn_forward(g, m, nn_graph_input(g, image, 4, 1, 1, 28, 28), &t);
    const nn_conv2d_layer *c1 = &m->conv1, *c2 = &m->conv2;
    const char *pool = m->kind == LENET ? "avgpool 2x2" : "maxpool 2x2";
    char name[40], shape[16];
    int h = 28, r = 1, j = 1;
    long macs = 0;
    printf("   %s\n   %-20s %-11s %-11s %8s %9s %10s\n", m->name, "layer", "output", "window",
           "recept.", "params", "M mult-add");
    printf("   %-20s %-11s %-11s %8d\n", "input", "(1,28,28)", "", 1);
    snprintf(name, sizeof name, "conv %dx%dx%d + ReLU", c1->kernel, c1->kernel, c1->out_channels);
    macs += arithmetic_row(name, c1->kernel, c1->stride, c1->pad, 1, c1->out_channels, &h, &r,
                           &j, (long)c1->weight->numel + (long)c1->bias->numel, t.conv1);
    arithmetic_row(pool, m->pool, m->pool, 0, 0, c1->out_channels, &h, &r, &j, 0, t.pool1);
    snprintf(name, sizeof name, "conv %dx%dx%d + ReLU", c2->kernel, c2->kernel, c2->out_channels);
    macs += arithmetic_row(name, c2->kernel, c2->stride, c2->pad, c1->out_channels,
                           c2->out_channels, &h, &r, &j,
                           (long)c2->weight->numel + (long)c2->bias->numel, t.conv2);
    arithmetic_row(pool, m->pool, m->pool, 0, 0, c2->out_channels, &h, &r, &j, 0, t.pool2);
    const nn_linear_layer *fc[3] = {&m->fc1, &m->fc2, m->kind == LENET ? &m->fc3 : NULL};
    for (int i = 0; i < 3 && fc[i]; i++) {
        snprintf(name, sizeof name, "dense %d -> %d", fc[i]->in, fc[i]->out);
        snprintf(shape, sizeof shape, "(%d)", fc[i]->out);
        macs += (long)fc[i]->in * fc[i]->out;
        printf("   %-20s %-11s %-11s %8s %9ld %10.3f\n", name, shape, "", "all",
               (long)fc[i]->in * fc[i]->out + fc[i]->out, (long)fc[i]->in * fc[i]->out / 1e6);
    }
    printf("   %-20s %-11s %-11s %8s %9zu %10.3f\n\n", "total", "", "", "", m->ps.count,
           macs / 1e6);
    nn_graph_reset(g);
    return macs;
}

/* ------------------------------------------------------------------------------------------ */
/* Training and evaluation                                                                     */
/* ------------------------------------------------------------------------------------------ */

typedef struct history {
    int epochs;
    double *loss_x, *loss_y; /* the train loss every 1/LOSS_POINTS_PER_EPOCH epoch */
    int nloss;
    double *train_loss, *test_acc, *epoch_seconds; /* per epoch */
    double seconds; /* training only, evaluation excluded */
} history;

/* Adam, lr 2e-3 decayed along a cosine to 0 over the run: the big steps find the basin, the
 * small last ones settle in it -- worth about half a point of accuracy in a 3-epoch budget. */
static void train(cnn *m, history *h, int epochs, const nn_data *train_set,
                  const nn_data *test_set, nn_graph *g, nn_real *x, int *y, int *order,
                  nn_rng *rng)
{
    const int steps = train_set->n / BATCH; /* the last partial batch is dropped */
    const int log_every = (steps + LOSS_POINTS_PER_EPOCH - 1) / LOSS_POINTS_PER_EPOCH;
    nn_optim opt;
    nn_optim_init(&opt, NN_OPTIM_ADAM, &m->ps, 2e-3);
    nn_schedule sched = {.kind = NN_SCHEDULE_COSINE, .base_lr = 2e-3,
                         .total_steps = (long)epochs * steps};
    h->epochs = epochs;
    h->loss_x = nn_malloc(((size_t)epochs * steps + 1) * sizeof *h->loss_x);
    h->loss_y = nn_malloc(((size_t)epochs * steps + 1) * sizeof *h->loss_y);
    h->train_loss = nn_malloc(epochs * sizeof *h->train_loss);
    h->test_acc = nn_malloc(epochs * sizeof *h->test_acc);
    h->epoch_seconds = nn_malloc(epochs * sizeof *h->epoch_seconds);
    h->nloss = 0, h->seconds = 0;
    printf("   %s: %d epochs of %d batches of %d, Adam lr 2e-3 with cosine decay\n", m->name,
           epochs, steps, BATCH);
    printf("   epoch  train loss  test acc  seconds\n");
    for (int e = 0; e < epochs; e++) {
        double t0 = nn_seconds(), epoch_loss = 0, chunk_loss = 0;
        int chunk = 0;
        g->grad = 1, g->training = 1;
        nn_rng_permutation(rng, order, train_set->n);
        nn_progress bar;
        nn_progress_start(&bar, m->name, steps);
        for (int s = 0; s < steps; s++) {
            opt.lr = nn_schedule_lr(&sched, opt.step);
            nn_data_batch(train_set, order, s * BATCH, BATCH, x, y);
            nn_tensor *input = nn_graph_input(g, x, 4, BATCH, 1, 28, 28);
            nn_tensor *loss = nn_softmax_cross_entropy(g, cnn_forward(g, m, input, NULL), y);
            double l = loss->data[0];
            if (!isfinite(l))
                nn_fail("lesson07: %s: loss is %g at epoch %d, step %d", m->name, l, e + 1, s + 1);
            nn_params_zero_grad(&m->ps);
            nn_backward(g, loss);
            nn_optim_step(&opt);
            nn_graph_reset(g);
            epoch_loss += l, chunk_loss += l, chunk++;
            if (chunk == log_every || s == steps - 1) {
                h->loss_x[h->nloss] = e + (double)(s + 1) / steps;
                h->loss_y[h->nloss++] = chunk_loss / chunk;
                chunk_loss = 0, chunk = 0;
                char status[32];
                snprintf(status, sizeof status, "loss %.3f", h->loss_y[h->nloss - 1]);
                nn_progress_update(&bar, s + 1, status);
            }
        }
        nn_progress_finish(&bar);
        h->epoch_seconds[e] = nn_seconds() - t0;
        h->seconds += h->epoch_seconds[e];
        h->train_loss[e] = epoch_loss / steps;
        h->test_acc[e] = nn_evaluate(g, cnn_fn, m, test_set, EVAL_BATCH, NULL).accuracy;
        printf("   %5d  %10.4f  %8.4f  %7.1f\n", e + 1, h->train_loss[e], h->test_acc[e],
               h->epoch_seconds[e]);
        fflush(stdout);
    }
    nn_optim_free(&opt);
}

static void history_free(history *h)
{
    free(h->loss_x), free(h->loss_y), free(h->train_loss), free(h->test_acc);
    free(h->epoch_seconds);
}

/* ------------------------------------------------------------------------------------------ */
/* Cost: naive loops vs im2col + GEMM, on a few training steps of a fresh model                */
/* ------------------------------------------------------------------------------------------ */

/* Times `batches` training steps (forward, backward, Adam) with the given kernels, after
 * `warmup` untimed ones; per[i] = seconds of step i scaled to a FULL_EPOCH-image epoch. */
static void time_steps(arch kind, int dense, nn_kernels kernels, int warmup, int batches,
                       double *per, nn_graph *g, const nn_data *d, nn_real *x, int *y,
                       const int *identity, uint64_t seed)
{
    nn_rng rng;
    nn_rng_seed(&rng, seed);
    cnn m;
    cnn_init(&m, kind, dense, &rng);
    nn_optim opt;
    nn_optim_init(&opt, NN_OPTIM_ADAM, &m.ps, 1e-3);
    const nn_kernels before = nn_get_kernels();
    nn_set_kernels(kernels);
    g->grad = 1, g->training = 1;
    for (int i = 0; i < warmup + batches; i++) {
        nn_data_batch(d, identity, (i * BATCH) % (d->n - BATCH + 1), BATCH, x, y);
        double t0 = nn_seconds();
        nn_tensor *input = nn_graph_input(g, x, 4, BATCH, 1, 28, 28);
        nn_tensor *loss = nn_softmax_cross_entropy(g, cnn_forward(g, &m, input, NULL), y);
        nn_params_zero_grad(&m.ps);
        nn_backward(g, loss);
        nn_optim_step(&opt);
        nn_graph_reset(g);
        if (i >= warmup) per[i - warmup] = (nn_seconds() - t0) * FULL_EPOCH / BATCH;
    }
    nn_set_kernels(before);
    nn_optim_free(&opt);
    nn_params_free(&m.ps);
}

static double mean(const double *v, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++) s += v[i];
    return s / n;
}

/* ------------------------------------------------------------------------------------------ */
/* Figures of what the network computes                                                        */
/* ------------------------------------------------------------------------------------------ */

/* count maps of h x h, each blown up by nearest neighbour to at least min_size pixels across,
 * so every layer's grid is drawn at the same size: the coarser the layer, the blockier its pixels. Each map is
 * scaled to its own min..max (normalize = 1): dark = weak, light = strong; a map that is all
 * zeros (a ReLU that never fired on this image) stays black. */
static void plot_maps(const char *dir, const char *name, const char *title, const nn_real *maps,
                      int count, int h, int cols, int min_size)
{
    const int f = (min_size + h - 1) / h, H = h * f;
    nn_real *big = nn_malloc((size_t)count * H * H * sizeof *big);
    for (int k = 0; k < count; k++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < H; x++)
                big[((size_t)k * H + y) * H + x] = maps[((size_t)k * h + y / f) * h + x / f];
    nn_plot_images(dir, name, title, big, count, H, H, cols, 1);
    free(big);
}

static void plot_feature_maps(const char *dir, nn_graph *g, const cnn *m, const nn_data *test,
                              int index)
{
    const nn_real *image = test->x + (size_t)index * test->dim;
    g->grad = 0, g->training = 0;
    taps t;
    nn_tensor *logits = cnn_forward(g, m, nn_graph_input(g, image, 4, 1, 1, 28, 28), &t);
    const char *truth = nn_data_fmnist_class_name(test->y[index]);
    const char *guess = nn_data_fmnist_class_name(nn_kernel_argmax(logits->data, 10));
    char title[200];
    snprintf(title, sizeof title, "Test image %d: %s", index, truth);
    plot_maps(dir, "feature_maps_input", title, image, 1, 28, 1, 84);
    const struct { const char *name, *what; nn_tensor *t; } layer[4] = {
        {"feature_maps_conv1", "conv1 + ReLU", t.conv1}, {"feature_maps_pool1", "maxpool 1", t.pool1},
        {"feature_maps_conv2", "conv2 + ReLU", t.conv2}, {"feature_maps_pool2", "maxpool 2", t.pool2}};
    for (int i = 0; i < 4; i++) {
        const nn_tensor *a = layer[i].t;
        snprintf(title, sizeof title, "%s of the %s: %d maps of %dx%d (%s, predicted %s)",
                 layer[i].what, truth, a->shape[1], a->shape[2], a->shape[3],
                 m->name, guess);
        plot_maps(dir, layer[i].name, title, a->data, a->shape[1], a->shape[2], 8, 28);
    }
    nn_graph_reset(g);
}

/* ------------------------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    const char *about =
        "Lesson 07: convolutional networks. LeNet-5 and the Fashion-MNIST benchmark's 2-conv "
        "network (conv 5x5x32, pool, conv 5x5x64, pool, dense) trained on Fashion-MNIST "
        "(reference 0.916), their convolution arithmetic, learned filters, feature maps, and "
        "seconds per epoch with naive loops vs im2col + BLAS.";
    nn_cli cli;
    nn_cli_parse(&cli, 7, about, argc, argv);
    nn_rng rng;
    nn_rng_seed(&rng, cli.seed);
    nn_report report;
    nn_report_init(&report, 7);
    const int lenet_epochs = nn_cli_epochs(&cli, 6, 1), conv_epochs = nn_cli_epochs(&cli, 3, 1);
    const int dense = 256;

    /* --- data ----------------------------------------------------------------------------- */
    nn_data train_set, test_set;
    nn_data_fmnist_load_first(&train_set, cli.quick ? 2000 : NN_FMNIST_TRAIN_SIZE,
                              &test_set, cli.quick ? 500 : NN_FMNIST_TEST_SIZE);
    if (train_set.height != 28 || train_set.width != 28 || train_set.channels != 1)
        nn_fail("lesson07: expected 28x28 grey images, got %dx%dx%d", train_set.channels,
                train_set.height, train_set.width);
    printf("Fashion-MNIST: %d train, %d test images of 1x28x28; kernels %s, seed %llu\n\n",
           train_set.n, test_set.n, nn_kernels_name(nn_get_kernels()),
           (unsigned long long)cli.seed);
    nn_real *x = nn_malloc((size_t)BATCH * 784 * sizeof *x);
    int *y = nn_malloc(BATCH * sizeof *y), *order = nn_malloc(train_set.n * sizeof *order);
    int *identity = nn_malloc(train_set.n * sizeof *identity);
    for (int i = 0; i < train_set.n; i++) identity[i] = i;
    nn_graph *g = nn_graph_new();

    /* --- 1. the models and their arithmetic ----------------------------------------------- */
    cnn lenet, convnet;
    cnn_init(&lenet, LENET, dense, &rng);
    cnn_init(&convnet, CONVNET, dense, &rng);
    nn_real filters_init[32 * 25];
    memcpy(filters_init, convnet.conv1.weight->data, sizeof filters_init);
    printf("1. Convolution arithmetic: out = floor((H + 2p - k)/s) + 1, receptive field\n"
           "   r += (k-1) j, j *= s; checked against the shapes the graph produced\n\n");
    const double lenet_mmacs = print_arithmetic(g, &lenet, test_set.x) / 1e6;
    const double conv_mmacs = print_arithmetic(g, &convnet, test_set.x) / 1e6;

    /* --- 2. training ---------------------------------------------------------------------- */
    printf("2. Training\n");
    history hl, hc;
    train(&lenet, &hl, lenet_epochs, &train_set, &test_set, g, x, y, order, &rng);
    printf("\n");
    train(&convnet, &hc, conv_epochs, &train_set, &test_set, g, x, y, order, &rng);
    const double lenet_acc = hl.test_acc[lenet_epochs - 1];
    const double conv_acc = hc.test_acc[conv_epochs - 1];

    nn_plot_series loss_curves[2] = {{"LeNet-5", hl.loss_x, hl.loss_y, hl.nloss},
                                     {"2-conv", hc.loss_x, hc.loss_y, hc.nloss}};
    nn_plot_lines(cli.out, "loss_curves",
                  "Training loss (mean over each tenth of an epoch), Fashion-MNIST", "epoch",
                  "cross-entropy", loss_curves, 2, 0);
    const int emax = lenet_epochs > conv_epochs ? lenet_epochs : conv_epochs;
    double *epoch_axis = nn_malloc(emax * sizeof *epoch_axis);
    for (int e = 0; e < emax; e++) epoch_axis[e] = e + 1;
    double ref_x[2] = {1, emax}, ref_y[2] = {REFERENCE_ACCURACY, REFERENCE_ACCURACY};
    nn_plot_series acc_curves[3] = {
        {"LeNet-5", epoch_axis, hl.test_acc, lenet_epochs},
        {"2-conv", epoch_axis, hc.test_acc, conv_epochs},
        {"2-conv reference (Fashion-MNIST benchmark)", ref_x, ref_y, 2}};
    nn_plot_lines(cli.out, "accuracy_curves", "Test accuracy after each epoch, Fashion-MNIST",
                  "epoch", "test accuracy", acc_curves, 3, 0);

    /* --- 3. inside the trained 2-conv network --------------------------------------------- */
    printf("\n3. Inside the trained 2-conv network: filters_init/filters_trained.png (conv1's "
           "32 filters),\n   feature_maps_{input,conv1,pool1,conv2,pool2}.png (test image 0)\n");
    plot_maps(cli.out, "filters_init", "2-conv, conv1: the 32 5x5 filters at initialisation",
              filters_init, 32, 5, 8, 28);
    plot_maps(cli.out, "filters_trained",
              "2-conv, conv1: the 32 5x5 filters after training (each scaled to its range)",
              convnet.conv1.weight->data, 32, 5, 8, 28);
    /* 3 epochs move each weight by about as much as its random start: the change shows what
     * training added -- smooth oriented edges and blobs */
    for (int i = 0; i < 32 * 25; i++) filters_init[i] = convnet.conv1.weight->data[i] - filters_init[i];
    plot_maps(cli.out, "filters_change",
              "2-conv, conv1: what training added (trained - initial filters)", filters_init, 32,
              5, 8, 28);
    plot_feature_maps(cli.out, g, &convnet, &test_set, 0);

    /* --- 4. the cost: naive loops vs im2col + GEMM ---------------------------------------- */
    const int naive_batches = cli.quick ? 1 : 3, blas_batches = cli.quick ? 3 : 10;
    double conv_naive[3], conv_blas[10], lenet_naive[3], lenet_blas[10];
    printf("\n4. Seconds per epoch of %d images, from timed training steps of %d images\n",
           FULL_EPOCH, BATCH);
    time_steps(CONVNET, dense, NN_KERNELS_BLAS, 1, blas_batches, conv_blas, g, &train_set, x, y,
               identity, cli.seed);
    time_steps(CONVNET, dense, NN_KERNELS_NAIVE, 0, naive_batches, conv_naive, g, &train_set, x,
               y, identity, cli.seed);
    time_steps(LENET, dense, NN_KERNELS_BLAS, 1, blas_batches, lenet_blas, g, &train_set, x, y,
               identity, cli.seed);
    time_steps(LENET, dense, NN_KERNELS_NAIVE, 0, naive_batches, lenet_naive, g, &train_set, x,
               y, identity, cli.seed);
    /* BLAS: the epochs really trained, scaled to FULL_EPOCH images (unless they ran naive) */
    const double conv_blas_epoch = nn_get_kernels() == NN_KERNELS_BLAS
                                       ? hc.seconds / conv_epochs * FULL_EPOCH /
                                             (train_set.n / BATCH * BATCH)
                                       : mean(conv_blas, blas_batches);
    const double conv_naive_epoch = mean(conv_naive, naive_batches);
    /* cost against work: one line per kernel set through the two models */
    const double lenet_naive_epoch = mean(lenet_naive, naive_batches);
    double work[2] = {lenet_mmacs, conv_mmacs};
    double naive_cost[2] = {lenet_naive_epoch, conv_naive_epoch};
    double blas_cost[2] = {mean(lenet_blas, blas_batches), mean(conv_blas, blas_batches)};
    char naive_label[80], blas_label[80], title[160];
    snprintf(naive_label, sizeof naive_label, "naive loops (extrapolated from %d batch%s)",
             naive_batches, naive_batches > 1 ? "es" : "");
    snprintf(blas_label, sizeof blas_label, "im2col + BLAS (%d batches)", blas_batches);
    snprintf(title, sizeof title, "Seconds per epoch: LeNet-5 (left), 2-conv (right), %d threads",
             nn_get_threads());
    nn_plot_series speed[2] = {{naive_label, work, naive_cost, 2}, {blas_label, work, blas_cost, 2}};
    nn_plot_lines(cli.out, "kernels_speed", title, "forward multiply-adds per image (millions)",
                  "seconds per 60000-image epoch", speed, 2, 1);
    printf("   %-8s %14s %14s %9s\n", "model", "naive (s)", "BLAS (s)", "speed-up");
    printf("   %-8s %14.1f %14.1f %8.1fx   (naive: %d batch%s extrapolated)\n", "2-conv",
           conv_naive_epoch, blas_cost[1], conv_naive_epoch / blas_cost[1], naive_batches,
           naive_batches > 1 ? "es" : "");
    printf("   %-8s %14.1f %14.1f %8.1fx\n", "LeNet-5", lenet_naive_epoch, blas_cost[0],
           lenet_naive_epoch / blas_cost[0]);

    /* --- results -------------------------------------------------------------------------- */
    printf("\nResults\n");
    printf("   %-9s %10s %7s %12s %10s\n", "model", "params", "epochs", "s/epoch", "test acc");
    printf("   %-9s %10zu %7d %12.1f %10.4f\n", lenet.name, lenet.ps.count, lenet_epochs,
           hl.seconds / lenet_epochs, lenet_acc);
    printf("   %-9s %10zu %7d %12.1f %10.4f\n", convnet.name, convnet.ps.count, conv_epochs,
           hc.seconds / conv_epochs, conv_acc);
    printf("   %-9s %10s %7s %12s %10.3f  (dense 1024, Fashion-MNIST benchmark)\n", "reference",
           "3274634", "", "", REFERENCE_ACCURACY);
    printf("   2-conv seconds per %d-image epoch: %.1f BLAS (measured), %.0f naive "
           "(extrapolated from %d batch%s)\n", FULL_EPOCH, conv_blas_epoch, conv_naive_epoch,
           naive_batches, naive_batches > 1 ? "es" : "");
    printf("   training time, both models: %.1f s\n", hl.seconds + hc.seconds);
    printf("   figures: %s/\n", cli.out);

    nn_report_add(&report, "test_accuracy", conv_acc);
    nn_report_add(&report, "lenet_test_accuracy", lenet_acc);
    nn_report_add_timing(&report, "seconds_per_epoch_blas", conv_blas_epoch);
    nn_report_add_timing(&report, "seconds_per_epoch_naive", conv_naive_epoch);
    nn_report_add_timing(&report, "train_seconds", hl.seconds + hc.seconds);
    nn_report_add_int(&report, "params", (long)convnet.ps.count);
    nn_report_add_int(&report, "lenet_params", (long)lenet.ps.count);
    nn_report_finish(&report, cli.out);

    free(epoch_axis);
    history_free(&hl), history_free(&hc);
    nn_params_free(&lenet.ps), nn_params_free(&convnet.ps);
    nn_graph_free(g);
    free(identity), free(order), free(y), free(x);
    nn_data_free(&train_set), nn_data_free(&test_set);
    return 0;
}
