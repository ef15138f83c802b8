/* Lesson 14 -- transfer learning: pre-train, save, load, and reuse a CNN with few labels.
 *
 * Concept: the filters and features a CNN learns on one task are partly generic (edges,
 * blobs, textures, parts), so a network pre-trained on plenty of labelled data for task A can
 * be a better starting point for a related task B than random weights, above all when B has
 * only a handful of labels. Two ways to reuse it: keep the pre-trained "backbone" frozen and
 * train only a new classifier "head" on its features (a linear probe), or fine-tune every
 * weight from the pre-trained start. How well it works depends on where the network is cut:
 * early layers are generic, the last ones specific to task A (Yosinski et al. 2014).
 *
 * What you will see:
 *   1. a small CNN (conv 5x5x16 pad 2 -> maxpool -> conv 5x5x32 pad 2 -> maxpool -> dense 128
 *      -> head) pre-trained on the five Fashion-MNIST classes 0-4 (T-shirt/top, Trouser,
 *      Pullover, Dress, Coat);
 *   2. its backbone (everything but the head) saved with nn_checkpoint_save, the file's header
 *      and tensor table read back byte by byte, and the weights loaded with nn_checkpoint_load
 *      into a fresh, randomly initialised parameter store: accuracy jumps from chance to the
 *      pre-trained one, and the loaded weights equal the saved ones bit for bit;
 *   3. the other five classes 5-9 (Sandal, Shirt, Sneaker, Bag, Ankle boot) with only 10, 50,
 *      100 or 500 labelled images per class: (a) from scratch, (b) the frozen backbone + a new
 *      head, (b') frozen conv layers only + a new head, a control with random (never trained)
 *      frozen conv layers, (c) full fine-tuning; test accuracy against the number of labels,
 *      averaged over 3 random draws of the labelled images (figure + table); how far
 *      fine-tuning moved each layer, and fine-tuning with a 3x and 10x slower backbone.
 *
 * Run:  make lesson14                   (full: pre-training on 10000 images for 2 epochs, 2000
 *                                        test images per task; 1.5-3 minutes on a shared
 *                                        2-core machine, about 85 s of CPU)
 *       make lesson14 ARGS="--quick"    (400 pre-training images, 1 epoch, 10 and 50 labels,
 *                                        1 draw, 500 test images: about 4 s of CPU)
 *       flags: --seed N --epochs N (pre-training) --out DIR --kernels naive|blas --threads N
 *
 * Expected (full mode, seed 42, measured): pre-training test accuracy 0.875 on classes 0-4.
 * Test accuracy on classes 5-9 at 10 labels per class (mean of 3 draws) / 500 (1 draw):
 * scratch 0.863 / 0.925, frozen backbone (128 dense features) 0.774 / 0.879, frozen conv
 * layers (1568 features) 0.886 / 0.957, random frozen conv layers 0.867 / 0.949, fine-tuned
 * 0.883 / 0.949. Fine-tuning beats scratch at every count by about 2 points, but the dense
 * layer's features are too specific to classes 0-4 (worse than scratch), and random conv
 * features get most of the way: pre-training adds 0.5-2 points on top of the architecture.
 * --quick (measured): pre-training 0.59, every method 0.80-0.93.
 * Reference: Yosinski, Clune, Bengio & Lipson 2014, "How transferable are features in deep
 * neural networks?" (NIPS): frozen features transfer less well the higher the layer and the
 * less similar the tasks; fine-tuning from them never hurt.
 * Figures, the checkpoint and metrics.json go to out/lesson14/.
 */
#include "nn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    SPLIT = 5,      /* task A: classes 0..4, task B: classes 5..9, both relabelled 0..4 */
    CLASSES = 5,    /* classes per task */
    CONV_OUT = 32 * 7 * 7, /* the conv layers' output, flattened: 1568 numbers */
    FEATURES = 128, /* the backbone's output: the dense layer before the head */
    BATCH = 32,     /* mini-batch of the few-label runs */
    PRE_BATCH = 64, /* mini-batch of pre-training */
    EVAL_BATCH = 250,
    MAX_COUNTS = 4, /* label counts per class compared */
    MAX_DRAWS = 3,  /* random draws of the labelled images per count */
    PROBE_STEPS = 1000, /* a head on frozen features: cheap, so trained to near convergence */
    ABLATION_COUNT = 50 /* labels per class of the backbone learning-rate comparison */
};
static const double LR = 1e-3;       /* Adam: pre-training, scratch, fine-tuning */
static const double LR_PROBE = 3e-3; /* Adam: a head on frozen features */
static const double ABLATION_LR[2] = {1e-4, 3e-4}; /* fine-tuning with a slower backbone */

/* The methods compared on task B. (b) and (b') differ only in where the network is cut:
 * after the dense layer (the whole pre-trained backbone) or after the conv layers. The
 * control is (b') with conv layers that were never trained: how much of (b') is pre-training,
 * how much is just the architecture? */
enum { SCRATCH, FROZEN, FROZEN_CONV, RANDOM_CONV, FINETUNE, METHODS };
static const char *method_name[METHODS] = {"scratch", "frozen", "frozen_conv", "random_conv",
                                           "finetune"};
static const char *method_short[METHODS] = {"scratch", "frozen", "frozen conv", "random conv",
                                            "fine-tuned"}; /* heat-map rows */
static const char *method_label[METHODS] = {
    "(a) from scratch", "(b) frozen backbone + new head", "(b') frozen conv layers + new head",
    "control: random conv layers + head", "(c) fine-tuned"};

/* ------------------------------------------------------------------------------------------ */
/* The two tasks: classes 0-4 and classes 5-9 of Fashion-MNIST                                 */
/* ------------------------------------------------------------------------------------------ */

/* The first (at most) max_n examples of d whose label is in first..first+CLASSES-1, relabelled
 * 0..CLASSES-1. */
static void select_classes(nn_data *out, const nn_data *d, int first, int max_n)
{
    int n = 0;
    for (int i = 0; i < d->n && n < max_n; i++) n += d->y[i] >= first && d->y[i] < first + CLASSES;
    nn_data s = *d;
    s.n = n, s.classes = CLASSES;
    s.x = nn_malloc((size_t)n * d->dim * sizeof *s.x);
    s.y = nn_malloc((size_t)n * sizeof *s.y);
    for (int i = 0, k = 0; i < d->n && k < n; i++)
        if (d->y[i] >= first && d->y[i] < first + CLASSES) {
            memcpy(s.x + (size_t)k * d->dim, d->x + (size_t)i * d->dim, d->dim * sizeof *s.x);
            s.y[k++] = d->y[i] - first;
        }
    *out = s;
}

/* A labelled training set of `per_class` random examples of each class of pool (indices drawn
 * without replacement from rng), stored class by class. */
static void draw_labelled(nn_data *out, const nn_data *pool, int per_class, nn_rng *rng)
{
    int *idx = nn_malloc((size_t)pool->n * sizeof *idx);
    nn_data s = *pool;
    s.n = per_class * CLASSES;
    s.x = nn_malloc((size_t)s.n * pool->dim * sizeof *s.x);
    s.y = nn_malloc((size_t)s.n * sizeof *s.y);
    for (int c = 0, k = 0; c < CLASSES; c++) {
        int m = 0;
        for (int i = 0; i < pool->n; i++)
            if (pool->y[i] == c) idx[m++] = i;
        if (m < per_class)
            nn_fail("lesson14: %d labels of class %d wanted, the pool has %d", per_class, c, m);
        nn_rng_shuffle(rng, idx, m);
        for (int j = 0; j < per_class; j++, k++) {
            memcpy(s.x + (size_t)k * pool->dim, pool->x + (size_t)idx[j] * pool->dim,
                   pool->dim * sizeof *s.x);
            s.y[k] = c;
        }
    }
    free(idx);
    *out = s;
}

/* ------------------------------------------------------------------------------------------ */
/* The model: a backbone (everything but the last layer) and a head, in two parameter stores  */
/* ------------------------------------------------------------------------------------------ */

/* backbone: (B,1,28,28) -conv 5x5x16 pad 2 + ReLU-> (B,16,28,28) -maxpool 2-> (B,16,14,14)
 *           -conv 5x5x32 pad 2 + ReLU-> (B,32,14,14) -maxpool 2-> (B,32,7,7) = 1568
 *           -dense + ReLU-> (B,128) = the features
 * head:     (B,128) -dense-> (B,5) logits
 * Each part has its own parameter store. That is the whole trick of this lesson: a store is
 * what nn_checkpoint_save writes and nn_checkpoint_load fills, and what an optimizer updates,
 * so "save the backbone", "load it into a new model whose head is new", "train the head
 * only" and "give the backbone its own learning rate" are each one line.
 *
 * Freezing by store, not by zeroing gradients: one could keep a single store and zero the
 * backbone's gradients before every optimizer step. With plain SGD or Adam that does leave
 * the weights in place, but not in general: momentum keeps moving a weight for many steps
 * after its gradient is zeroed (if it was ever trained with this optimizer), AdamW's decoupled
 * weight decay shrinks every weight whatever its gradient, and the backward pass through the
 * frozen layers is computed only to be thrown away. An optimizer that is never given the
 * backbone's store cannot move it, whatever its kind. And a frozen backbone is a fixed
 * function: its features are computed once, and the head is trained on them alone. */
typedef struct backbone {
    nn_params ps;
    nn_conv2d_layer conv1, conv2;
    nn_linear_layer fc;
} backbone;

typedef struct head {
    nn_params ps;
    nn_linear_layer fc;
} head;

static void backbone_init(backbone *b, nn_rng *rng)
{
    nn_params_init(&b->ps);
    nn_conv2d_init(&b->conv1, &b->ps, "conv1", 1, 16, 5, 1, 2, rng);
    nn_conv2d_init(&b->conv2, &b->ps, "conv2", 16, 32, 5, 1, 2, rng);
    nn_linear_init(&b->fc, &b->ps, "fc", CONV_OUT, FEATURES, 1, rng);
}

/* a new head: a dense layer from `in` features to the 5 classes */
static void head_init(head *h, int in, nn_rng *rng)
{
    nn_params_init(&h->ps);
    nn_linear_init(&h->fc, &h->ps, "head", in, CLASSES, 1, rng);
}

/* x (B,1,28,28) -> features (B,128); *conv (if not NULL) receives the conv layers' output
 * (B,1568), where (b') cuts the network */
static nn_tensor *backbone_forward(nn_graph *g, const backbone *b, nn_tensor *x,
                                   nn_tensor **conv)
{
    nn_tensor *h = nn_maxpool2d(g, nn_relu(g, nn_conv2d(g, &b->conv1, x)), 2, 0);
    h = nn_flatten(g, nn_maxpool2d(g, nn_relu(g, nn_conv2d(g, &b->conv2, h)), 2, 0));
    if (conv) *conv = h;
    return nn_relu(g, nn_linear(g, &b->fc, h));
}

/* ------------------------------------------------------------------------------------------ */
/* Training and evaluation                                                                     */
/* ------------------------------------------------------------------------------------------ */

typedef struct scratchpad { /* batch buffers shared by every run */
    nn_real *x;
    int *y, *order;
} scratchpad;

/* `steps` steps of Adam on mini-batches of d (reshuffled every pass; a partial batch at the
 * end of a pass is skipped). One backward pass computes the gradients of both stores; the
 * backbone's optimizer steps with lr_backbone, the head's with lr_head. Returns the mean loss
 * of the last pass's worth of steps. */
static double train_network(nn_graph *g, backbone *b, head *h, double lr_backbone,
                            double lr_head, const nn_data *d, int steps, int batch,
                            scratchpad *sp, nn_rng *rng, const char *label)
{
    nn_optim opt_b, opt_h;
    nn_optim_init(&opt_b, NN_OPTIM_ADAM, &b->ps, (nn_real)lr_backbone);
    nn_optim_init(&opt_h, NN_OPTIM_ADAM, &h->ps, (nn_real)lr_head);
    const int per_pass = d->n / batch;
    double recent = 0;
    int nrecent = 0;
    nn_progress bar;
    nn_progress_start(&bar, label, steps);
    g->grad = 1, g->training = 1;
    for (int s = 0; s < steps; s++) {
        if (s % per_pass == 0) nn_rng_permutation(rng, sp->order, d->n);
        nn_data_batch(d, sp->order, (s % per_pass) * batch, batch, sp->x, sp->y);
        nn_tensor *x = nn_graph_input(g, sp->x, 4, batch, 1, 28, 28);
        nn_tensor *logits = nn_linear(g, &h->fc, backbone_forward(g, b, x, NULL));
        nn_tensor *loss = nn_softmax_cross_entropy(g, logits, sp->y);
        nn_graph_check_finite(g, loss, s);
        nn_params_zero_grad(&b->ps), nn_params_zero_grad(&h->ps);
        nn_backward(g, loss);
        nn_optim_step(&opt_b), nn_optim_step(&opt_h);
        if (s >= steps - per_pass) recent += loss->data[0], nrecent++;
        nn_graph_reset(g);
        if ((s & 15) == 15) nn_progress_update(&bar, s + 1, NULL);
    }
    nn_progress_finish(&bar);
    nn_optim_free(&opt_b), nn_optim_free(&opt_h);
    return recent / nrecent;
}

/* A frozen backbone is a fixed function, so its features are computed once (forward only, no
 * tape) and a head is trained on them alone: softmax regression on 128 (or 1568) numbers per
 * image, milliseconds per run. conv (n,1568) and fc (n,128) may each be NULL. */
static void compute_features(nn_graph *g, const backbone *b, const nn_data *d, nn_real *conv,
                             nn_real *fc)
{
    g->grad = 0, g->training = 0;
    for (int start = 0; start < d->n; start += EVAL_BATCH) {
        int n = d->n - start < EVAL_BATCH ? d->n - start : EVAL_BATCH;
        nn_tensor *x = nn_graph_input(g, d->x + (size_t)start * d->dim, 4, n, 1, 28, 28), *c;
        nn_tensor *f = backbone_forward(g, b, x, &c);
        if (conv) memcpy(conv + (size_t)start * CONV_OUT, c->data, c->numel * sizeof *conv);
        if (fc) memcpy(fc + (size_t)start * FEATURES, f->data, f->numel * sizeof *fc);
        nn_graph_reset(g);
    }
}

/* PROBE_STEPS steps of Adam on the head alone; feats (n, dim). The optimizer is given the
 * head's store and nothing else, so nothing else can move. */
static void train_head(nn_graph *g, head *h, const nn_real *feats, int dim, const int *labels,
                       int n, scratchpad *sp, nn_rng *rng)
{
    nn_optim opt;
    nn_optim_init(&opt, NN_OPTIM_ADAM, &h->ps, (nn_real)LR_PROBE);
    const int batch = n < BATCH ? n : BATCH, per_pass = n / batch;
    g->grad = 1, g->training = 1;
    for (int s = 0; s < PROBE_STEPS; s++) {
        if (s % per_pass == 0) nn_rng_permutation(rng, sp->order, n);
        for (int i = 0; i < batch; i++) {
            int j = sp->order[(s % per_pass) * batch + i];
            memcpy(sp->x + (size_t)i * dim, feats + (size_t)j * dim, dim * sizeof *sp->x);
            sp->y[i] = labels[j];
        }
        nn_tensor *f = nn_graph_input(g, sp->x, 2, batch, dim);
        nn_tensor *loss = nn_softmax_cross_entropy(g, nn_linear(g, &h->fc, f), sp->y);
        nn_graph_check_finite(g, loss, s);
        nn_params_zero_grad(&h->ps);
        nn_backward(g, loss);
        nn_optim_step(&opt);
        nn_graph_reset(g);
    }
    nn_optim_free(&opt);
}

/* accuracy of head(feats) against labels; feats (n, dim) */
static double head_accuracy(nn_graph *g, const head *h, const nn_real *feats, int dim,
                            const int *labels, int n)
{
    g->grad = 0, g->training = 0;
    nn_tensor *f = nn_graph_input(g, feats, 2, n, dim);
    double acc = nn_metrics_accuracy(nn_linear(g, &h->fc, f)->data, labels, n, CLASSES);
    nn_graph_reset(g);
    return acc;
}

/* the whole model, head(backbone(x)), for nn_evaluate, which hands it the images as rows */
typedef struct model {
    const backbone *b;
    const head *h;
} model;

static nn_tensor *model_fn(nn_graph *g, nn_tensor *x, void *ctx)
{
    const model *m = ctx;
    nn_tensor *images = nn_reshape(g, x, 4, -1, 1, 28, 28);
    return nn_linear(g, &m->h->fc, backbone_forward(g, m->b, images, NULL));
}

/* accuracy of head(backbone(x)) on d */
static double accuracy(nn_graph *g, const backbone *b, const head *h, const nn_data *d)
{
    model m = {b, h};
    return nn_evaluate(g, model_fn, &m, d, EVAL_BATCH, NULL).accuracy;
}

/* a new head on frozen features: train on (train_feats, labels), test on test_feats */
static double probe(nn_graph *g, int dim, const nn_real *train_feats, const int *labels, int n,
                    const nn_real *test_feats, const nn_data *test, scratchpad *sp,
                    nn_rng init_rng, nn_rng order_rng)
{
    head h;
    head_init(&h, dim, &init_rng);
    train_head(g, &h, train_feats, dim, labels, n, sp, &order_rng);
    double acc = head_accuracy(g, &h, test_feats, dim, test->y, test->n);
    nn_params_free(&h.ps);
    return acc;
}

/* ||w - w_pre|| / ||w_pre||: how far fine-tuning moved a weight tensor */
static double relative_change(const nn_tensor *now, const nn_tensor *was)
{
    double d = 0, s = 0;
    for (size_t i = 0; i < now->numel; i++) {
        double diff = (double)now->data[i] - was->data[i];
        d += diff * diff, s += (double)was->data[i] * was->data[i];
    }
    return sqrt(d / s);
}

/* (c): a model whose backbone comes from the checkpoint and whose head is new, trained with
 * the backbone's optimizer at lr_backbone and the head's at LR; returns the test accuracy,
 * and in change[3] (if not NULL) how far conv1, conv2 and fc moved from their pre-trained
 * values. */
static double finetune(nn_graph *g, const char *ckpt, const backbone *pre, double lr_backbone,
                       const nn_data *labelled, int steps, const nn_data *test, scratchpad *sp,
                       nn_rng init_rng, nn_rng order_rng, double *change)
{
    backbone b;
    head h;
    backbone_init(&b, &init_rng); /* random weights of the right shapes ... */
    nn_checkpoint_load(ckpt, &b.ps, NULL); /* ... replaced by the pre-trained ones */
    head_init(&h, FEATURES, &init_rng);
    const int batch = labelled->n < BATCH ? labelled->n : BATCH;
    train_network(g, &b, &h, lr_backbone, LR, labelled, steps, batch, sp, &order_rng,
                  "finetune");
    double acc = accuracy(g, &b, &h, test);
    if (change) {
        change[0] = relative_change(b.conv1.weight, pre->conv1.weight);
        change[1] = relative_change(b.conv2.weight, pre->conv2.weight);
        change[2] = relative_change(b.fc.weight, pre->fc.weight);
    }
    nn_params_free(&b.ps), nn_params_free(&h.ps);
    return acc;
}

/* How many steps a scratch or fine-tuning run gets: about 10 passes over its data, but at
 * least 100 steps (the 50-image sets are seen 64 times) and at most 400 (5 passes over 2500
 * images); --quick: 20 to 30. */
static int run_steps(int n, int quick)
{
    int batch = n < BATCH ? n : BATCH, steps = 10 * (n / batch);
    int lo = quick ? 20 : 100, hi = quick ? 30 : 400;
    return steps < lo ? lo : steps > hi ? hi : steps;
}

/* ------------------------------------------------------------------------------------------ */
/* The checkpoint file, read back by hand                                                      */
/* ------------------------------------------------------------------------------------------ */

static uint32_t u32_at(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Prints the fixed header and the tensor table of a checkpoint (see nn.h for the layout). */
static long describe_checkpoint(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) nn_fail("lesson14: cannot open %s", path);
    unsigned char buf[1024];
    size_t got = fread(buf, 1, sizeof buf, f);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    if (got < 28) nn_fail("lesson14: %s is too short for a checkpoint", path);
    uint64_t declared = u32_at(buf + 16) | (uint64_t)u32_at(buf + 20) << 32;
    printf("   bytes 0-7    magic          \"%.8s\"\n", (const char *)buf);
    printf("   bytes 8-11   version        %u\n", u32_at(buf + 8));
    printf("   bytes 12-15  sizeof(real)   %u (%s)\n", u32_at(buf + 12), NN_REAL_NAME);
    printf("   bytes 16-23  file size      %llu (the file has %ld)\n",
           (unsigned long long)declared, size);
    uint32_t ntensors = u32_at(buf + 24);
    printf("   bytes 24-27  tensors        %u\n", ntensors);
    size_t at = 28, values = 0;
    for (uint32_t t = 0; t < ntensors && at + 4 <= got; t++) {
        uint32_t ndim = u32_at(buf + at), numel = 1;
        char shape[64] = "";
        size_t k = 0;
        at += 4;
        for (uint32_t d = 0; d < ndim && at + 4 <= got; d++, at += 4) {
            numel *= u32_at(buf + at);
            k += (size_t)snprintf(shape + k, sizeof shape - k, d ? ",%u" : "(%u", u32_at(buf + at));
        }
        snprintf(shape + k, sizeof shape - k, ")");
        uint32_t len = u32_at(buf + at);
        at += 4;
        printf("   tensor %u     %-6.*s %-14s %7u numbers\n", t, (int)len, (const char *)buf + at,
               shape, numel);
        at += len, values += numel;
    }
    printf("   then: u64 count (%zu), the values (%zu bytes), u32 has-optimizer (0 here),\n"
           "         i64 epoch, u32 CRC-32 of everything before it\n", values,
           values * sizeof(nn_real));
    return size;
}

/* ------------------------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    const char *about =
        "Lesson 14: transfer learning. A small CNN pre-trained on Fashion-MNIST classes 0-4 is "
        "saved and loaded with nn_checkpoint_save/load, then reused on classes 5-9 with 10-500 "
        "labels per class: from scratch vs frozen backbone + new head vs full fine-tuning "
        "(Yosinski et al. 2014).";
    nn_cli cli;
    nn_cli_parse(&cli, 14, about, argc, argv);
    nn_rng rng;
    nn_rng_seed(&rng, cli.seed);
    nn_report report;
    nn_report_init(&report, 14);
    const int pre_epochs = nn_cli_epochs(&cli, 2, 1);
    const int counts_full[MAX_COUNTS] = {10, 50, 100, 500}, counts_quick[2] = {10, 50};
    const int *counts = cli.quick ? counts_quick : counts_full;
    const int ncounts = cli.quick ? 2 : MAX_COUNTS;
    const double t_start = nn_seconds();

    /* --- data: task A = classes 0-4, task B = classes 5-9 --------------------------------- */
    nn_data train_all, test_all, pre_train, pre_test, pool, test_b;
    nn_data_fmnist_load(&train_all, &test_all);
    select_classes(&pre_train, &train_all, 0, cli.quick ? 400 : 10000);
    select_classes(&pre_test, &test_all, 0, cli.quick ? 500 : 2000);
    select_classes(&pool, &train_all, SPLIT, train_all.n); /* B's labelled images come from here */
    select_classes(&test_b, &test_all, SPLIT, cli.quick ? 500 : 2000);
    nn_data_free(&train_all), nn_data_free(&test_all);
    const char *const *names = nn_data_fmnist_classes;
    printf("Task A (pre-training): classes 0-4 = %s, %s, %s, %s, %s\n", names[0], names[1],
           names[2], names[3], names[4]);
    printf("Task B (transfer):     classes 5-9 = %s, %s, %s, %s, %s\n", names[5], names[6],
           names[7], names[8], names[9]);
    printf("%d A training / %d A test images; %d B images to draw labels from, %d B test images\n"
           "kernels %s, seed %llu\n\n", pre_train.n, pre_test.n, pool.n, test_b.n,
           nn_kernels_name(nn_get_kernels()), (unsigned long long)cli.seed);
    const int nmax = pre_train.n > pool.n ? pre_train.n : pool.n;
    scratchpad sp = {nn_malloc((size_t)EVAL_BATCH * 784 * sizeof(nn_real)),
                     nn_malloc(EVAL_BATCH * sizeof(int)), nn_malloc((size_t)nmax * sizeof(int))};
    nn_graph *g = nn_graph_new();

    /* --- 1. pre-training on task A -------------------------------------------------------- */
    backbone pre;
    head head_a;
    backbone_init(&pre, &rng);
    head_init(&head_a, FEATURES, &rng);
    const int pre_steps = pre_epochs * (pre_train.n / PRE_BATCH);
    printf("1. Pre-training on task A: %zu backbone + %zu head parameters, Adam lr %g,\n"
           "   %d epoch%s of %d batches of %d\n", pre.ps.count, head_a.ps.count, LR, pre_epochs,
           pre_epochs > 1 ? "s" : "", pre_train.n / PRE_BATCH, PRE_BATCH);
    double t0 = nn_seconds();
    const double pre_loss = train_network(g, &pre, &head_a, LR, LR, &pre_train, pre_steps,
                                          PRE_BATCH, &sp, &rng, "pre-train");
    const double pre_seconds = nn_seconds() - t0;
    const double pre_acc = accuracy(g, &pre, &head_a, &pre_test);
    printf("   train loss (last epoch) %.4f, test accuracy on classes 0-4: %.4f  (%.1f s)\n\n",
           pre_loss, pre_acc, pre_seconds);

    /* --- 2. checkpoint: save the backbone, load it into a fresh store --------------------- */
    char ckpt[600];
    snprintf(ckpt, sizeof ckpt, "%s/backbone.ckpt", cli.out);
    nn_checkpoint_save(ckpt, &pre.ps, NULL, pre_epochs); /* no optimizer state: opt = NULL */
    printf("2. Checkpoint: nn_checkpoint_save(\"%s\", &backbone.ps, NULL, %d)\n", ckpt,
           pre_epochs);
    const long ckpt_bytes = describe_checkpoint(ckpt);
    backbone fresh;
    backbone_init(&fresh, &rng); /* new random weights, same shapes */
    const double fresh_acc = accuracy(g, &fresh, &head_a, &pre_test);
    const long epoch_read = nn_checkpoint_load(ckpt, &fresh.ps, NULL);
    double max_diff = 0;
    for (size_t i = 0; i < pre.ps.count; i++)
        max_diff = fmax(max_diff, fabs((double)fresh.ps.values[i] - pre.ps.values[i]));
    const double loaded_acc = accuracy(g, &fresh, &head_a, &pre_test);
    printf("   a fresh backbone (random weights) + the task-A head: test accuracy %.4f (chance 0.2)\n"
           "   after nn_checkpoint_load (epoch %ld read back):         test accuracy %.4f\n"
           "   max |loaded - saved| over all %zu weights = %g\n\n",
           fresh_acc, epoch_read, loaded_acc, pre.ps.count, max_diff);
    nn_params_free(&fresh.ps);
    const uint32_t crc_before = nn_checkpoint_crc32(pre.ps.values, pre.ps.count * sizeof(nn_real));

    /* Frozen backbones never change, so the B test set's features are computed once: through
     * the pre-trained backbone (after the conv layers and after the dense layer) and through
     * a random, never trained one (the control). */
    backbone rnd;
    backbone_init(&rnd, &rng);
    nn_real *test_fc = nn_malloc((size_t)test_b.n * FEATURES * sizeof *test_fc);
    nn_real *test_conv = nn_malloc((size_t)test_b.n * CONV_OUT * sizeof *test_conv);
    nn_real *test_rnd = nn_malloc((size_t)test_b.n * CONV_OUT * sizeof *test_rnd);
    compute_features(g, &pre, &test_b, test_conv, test_fc);
    compute_features(g, &rnd, &test_b, test_rnd, NULL);

    /* --- 3. task B with few labels -------------------------------------------------------- */
    printf("3. Task B with few labels per class (%s):\n"
           "   (a)  scratch: random backbone + head, Adam lr %g on everything\n"
           "   (b)  frozen: the loaded backbone, fixed; a new head on its 128 features\n"
           "   (b') frozen conv layers: a new head on their 1568 outputs\n"
           "        control: the same on conv layers that were never trained\n"
           "        (heads on frozen features: Adam lr %g, %d steps)\n"
           "   (c)  fine-tuned: the loaded backbone + a new head, Adam lr %g on everything\n\n",
           cli.quick ? "1 draw of the labelled images"
                     : "3 draws of the labelled images up to 100 per class, 1 at 500",
           LR, LR_PROBE, PROBE_STEPS, LR);
    double acc[METHODS][MAX_COUNTS][MAX_DRAWS];
    int draws[MAX_COUNTS];
    double change[3] = {0, 0, 0}, ablation[2] = {0, 0};
    int ablation_ci = -1; /* the count index where the ablation ran */
    double run_seconds = 0;
    printf("   labels/class  draw  steps  scratch  frozen  fr.conv  rnd.conv  finetune  seconds\n");
    for (int ci = 0; ci < ncounts; ci++) {
        draws[ci] = cli.quick || counts[ci] >= 500 ? 1 : MAX_DRAWS;
        for (int r = 0; r < draws[ci]; r++) {
            /* one rng per (count, draw): every method sees the same labelled images; (a) and
             * (c) visit them in the same order and start from the same new head */
            nn_rng run_rng;
            nn_rng_seed(&run_rng, cli.seed * 1000003ull + (uint64_t)counts[ci] * 31 + r);
            nn_data labelled;
            draw_labelled(&labelled, &pool, counts[ci], &run_rng);
            if (ci == 0 && r == 0) { /* all the labels the smallest runs get */
                char title[160];
                snprintf(title, sizeof title, "All %d labelled images per class of the smallest "
                         "run (rows: Sandal, Shirt, Sneaker, Bag, Ankle boot)", counts[ci]);
                nn_plot_images(cli.out, "few_labels", title, labelled.x, labelled.n, 28, 28,
                               counts[ci], 0);
            }
            const int steps = run_steps(labelled.n, cli.quick);
            const int batch = labelled.n < BATCH ? labelled.n : BATCH;
            nn_rng init_rng = run_rng, order_rng = run_rng;
            nn_rng_u64(&order_rng); /* a different stream for the batch order */
            t0 = nn_seconds();

            /* (a) from scratch: everything random, everything trained */
            {
                backbone b;
                head h;
                nn_rng ir = init_rng, orr = order_rng;
                backbone_init(&b, &ir);
                head_init(&h, FEATURES, &ir);
                train_network(g, &b, &h, LR, LR, &labelled, steps, batch, &sp, &orr, "scratch");
                acc[SCRATCH][ci][r] = accuracy(g, &b, &h, &test_b);
                nn_params_free(&b.ps), nn_params_free(&h.ps);
            }

            /* (b), (b'), control: new heads on frozen features */
            nn_real *fc = nn_malloc((size_t)labelled.n * FEATURES * sizeof *fc);
            nn_real *conv = nn_malloc((size_t)labelled.n * CONV_OUT * sizeof *conv);
            nn_real *conv_rnd = nn_malloc((size_t)labelled.n * CONV_OUT * sizeof *conv_rnd);
            compute_features(g, &pre, &labelled, conv, fc);
            compute_features(g, &rnd, &labelled, conv_rnd, NULL);
            acc[FROZEN][ci][r] = probe(g, FEATURES, fc, labelled.y, labelled.n, test_fc, &test_b,
                                       &sp, init_rng, order_rng);
            acc[FROZEN_CONV][ci][r] = probe(g, CONV_OUT, conv, labelled.y, labelled.n,
                                            test_conv, &test_b, &sp, init_rng, order_rng);
            acc[RANDOM_CONV][ci][r] = probe(g, CONV_OUT, conv_rnd, labelled.y, labelled.n,
                                            test_rnd, &test_b, &sp, init_rng, order_rng);
            free(fc), free(conv), free(conv_rnd);

            /* (c) fine-tuned; at the largest count, also how far each layer moved */
            acc[FINETUNE][ci][r] =
                finetune(g, ckpt, &pre, LR, &labelled, steps, &test_b, &sp, init_rng, order_rng,
                         ci == ncounts - 1 && r == 0 ? change : NULL);
            const double secs = nn_seconds() - t0;
            run_seconds += secs;
            printf("   %12d  %4d  %5d  %7.4f  %6.4f  %7.4f  %8.4f  %8.4f  %7.1f\n", counts[ci],
                   r + 1, steps, acc[SCRATCH][ci][r], acc[FROZEN][ci][r],
                   acc[FROZEN_CONV][ci][r], acc[RANDOM_CONV][ci][r], acc[FINETUNE][ci][r],
                   secs);
            fflush(stdout);

            /* a slower backbone: the same fine-tuning run with the backbone's optimizer at
             * 1e-4 and 3e-4 (the head's stays at 1e-3) */
            if (counts[ci] == ABLATION_COUNT && r == 0 && !cli.quick) {
                t0 = nn_seconds();
                for (int k = 0; k < 2; k++)
                    ablation[k] = finetune(g, ckpt, &pre, ABLATION_LR[k], &labelled, steps,
                                           &test_b, &sp, init_rng, order_rng, NULL);
                run_seconds += nn_seconds() - t0;
                ablation_ci = ci;
            }
            nn_data_free(&labelled);
        }
    }
    const uint32_t crc_after = nn_checkpoint_crc32(pre.ps.values, pre.ps.count * sizeof(nn_real));

    /* --- results: mean (and spread) over the draws ---------------------------------------- */
    double mean[METHODS][MAX_COUNTS], sd[METHODS][MAX_COUNTS], logx[MAX_COUNTS];
    double px[METHODS][MAX_COUNTS * MAX_DRAWS], py[METHODS][MAX_COUNTS * MAX_DRAWS];
    int npoints = 0;
    for (int ci = 0; ci < ncounts; ci++) {
        logx[ci] = log10(counts[ci]);
        for (int m = 0; m < METHODS; m++) {
            double s = 0, s2 = 0;
            for (int r = 0; r < draws[ci]; r++) {
                s += acc[m][ci][r], s2 += acc[m][ci][r] * acc[m][ci][r];
                px[m][npoints + r] = logx[ci], py[m][npoints + r] = acc[m][ci][r];
            }
            mean[m][ci] = s / draws[ci];
            sd[m][ci] = draws[ci] > 1
                            ? sqrt(fmax(0, (s2 - s * s / draws[ci]) / (draws[ci] - 1)))
                            : NAN;
        }
        npoints += draws[ci];
    }
    printf("\nResults: test accuracy on classes 5-9 (%d test images), mean +- std over the draws\n",
           test_b.n);
    printf("   %-36s", "labels per class");
    for (int ci = 0; ci < ncounts; ci++) printf(" %15d", counts[ci]);
    printf("\n");
    for (int m = 0; m < METHODS; m++) {
        printf("   %-36s", method_label[m]);
        for (int ci = 0; ci < ncounts; ci++) {
            if (isnan(sd[m][ci])) printf("  %.3f (1 draw)", mean[m][ci]);
            else printf("   %.3f +- %.3f", mean[m][ci], sd[m][ci]);
        }
        printf("\n");
    }
    if (ablation_ci >= 0)
        printf("   fine-tuning at %d labels/class, draw 1, backbone lr 1e-4 / 3e-4 / 1e-3 "
               "(head 1e-3): %.3f / %.3f / %.3f\n", ABLATION_COUNT, ablation[0], ablation[1],
               acc[FINETUNE][ablation_ci][0]);
    printf("   fine-tuning at %d labels/class moved conv1 by %.0f%%, conv2 by %.0f%%, fc by %.0f%% "
           "of their norm\n", counts[ncounts - 1], 100 * change[0], 100 * change[1],
           100 * change[2]);
    printf("   the pre-trained backbone after every run: CRC-32 %08x (before %08x): %s\n",
           crc_after, crc_before, crc_after == crc_before ? "unchanged" : "CHANGED");
    printf("   pre-training: test accuracy %.4f on classes 0-4 (%.1f s); checkpoint %ld bytes\n",
           pre_acc, pre_seconds, ckpt_bytes);
    printf("   task B runs %.1f s; whole lesson %.1f s\n", run_seconds, nn_seconds() - t_start);

    nn_plot_series lines[METHODS], points[METHODS];
    for (int m = 0; m < METHODS; m++) {
        lines[m] = (nn_plot_series){method_label[m], logx, mean[m], ncounts};
        points[m] = (nn_plot_series){NULL, px[m], py[m], npoints};
    }
    nn_plot_lines_points(cli.out, "accuracy_vs_labels",
                         "Classes 5-9 with few labels: lines = mean over draws, dots = each draw",
                         "log10(labelled images per class)   (1 = 10, 2 = 100)",
                         "test accuracy", lines, METHODS, points, METHODS);
    double table[METHODS * MAX_COUNTS];
    char count_names[MAX_COUNTS][16];
    const char *col_names[MAX_COUNTS];
    for (int ci = 0; ci < ncounts; ci++) {
        snprintf(count_names[ci], sizeof count_names[ci], "%d", counts[ci]);
        col_names[ci] = count_names[ci];
        for (int m = 0; m < METHODS; m++) table[m * ncounts + ci] = mean[m][ci];
    }
    nn_plot_heatmap(cli.out, "accuracy_table", "Test accuracy on classes 5-9 (mean over draws)",
                    "labelled images per class", "", table, METHODS, ncounts, method_short,
                    col_names, "%.3f");
    printf("   figures: %s/\n", cli.out);

    char key[40];
    for (int ci = 0; ci < ncounts; ci++)
        for (int m = 0; m < METHODS; m++) {
            snprintf(key, sizeof key, "%s_acc_%d", method_name[m], counts[ci]);
            nn_report_add(&report, key, mean[m][ci]);
        }
    if (ablation_ci >= 0) {
        /* lrb_0001: the backbone at lr 0.0001, lrb_0003: at 0.0003 */
        nn_report_add(&report, "finetune_lrb_0001_acc_50", ablation[0]);
        nn_report_add(&report, "finetune_lrb_0003_acc_50", ablation[1]);
    }
    nn_report_add(&report, "pretrain_test_accuracy", pre_acc);
    nn_report_add(&report, "test_accuracy", mean[FINETUNE][ncounts - 1]);
    nn_report_add(&report, "checkpoint_max_abs_diff", max_diff);
    nn_report_add_timing(&report, "train_seconds", pre_seconds + run_seconds);
    nn_report_finish(&report, cli.out);

    free(test_fc), free(test_conv), free(test_rnd);
    nn_params_free(&pre.ps), nn_params_free(&head_a.ps), nn_params_free(&rnd.ps);
    nn_graph_free(g);
    free(sp.x), free(sp.y), free(sp.order);
    nn_data_free(&pre_train), nn_data_free(&pre_test), nn_data_free(&pool),
        nn_data_free(&test_b);
    return 0;
}
