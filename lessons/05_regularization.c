/* Lesson 05 -- regularization: overfit on purpose, then fight it.
 *
 * Concept: a network with far more parameters than training examples can memorise them --
 * 100% training accuracy -- while its accuracy on new images stalls: the difference is the
 * generalization gap. Regularisers trade a little fit on the training set for a smaller gap:
 *   L2 (weight decay)   loss + lambda/2 sum w^2      every weight shrinks by a fixed fraction
 *   L1 (lasso)          loss + lambda   sum |w|      every weight pulled by a fixed amount:
 *                                                    useless ones land on (almost) exactly 0
 *   dropout             each hidden unit silenced with probability p while training
 *   early stopping      keep the weights of the epoch with the best validation loss
 *   augmentation        train on shifted and mirrored copies: more data for free
 *
 * What you will see:
 *   1. an MLP 784-512-512-10 (670k parameters) trained on 1000 Fashion-MNIST images reaches
 *      99.6% training accuracy while validation accuracy stalls near 0.80 and the validation
 *      loss turns upwards: overfitting, in the curves;
 *   2. the same network, the same initial weights and the same batch order with each
 *      regulariser alone and with L2 + dropout + augmentation + early stopping together:
 *      a table of train / validation / test accuracy and the gap, and the curves;
 *   3. the first layer's 401,408 weights as histograms for no penalty, L2 and L1: L2 narrows
 *      the bell, L1 piles most weights up at |w| < 1e-3 (sparsity).
 *
 * Run:  make lesson05                   (full: 1000 train / 5000 validation images from the
 *                                        training file, the 10000 test images, 7 runs of 60
 *                                        epochs; about 2 minutes on 2 cores)
 *       make lesson05 ARGS="--quick"    (300 / 500 / 1000 images, 3 epochs, seconds)
 *       flags: --seed N --epochs N --out DIR --kernels naive|blas --threads N --help
 *
 * Expected (full mode, seed 42): baseline gap 0.19 (train 0.996, validation 0.802, test
 * 0.796). Every regulariser shrinks the gap; dropout gives the best validation accuracy
 * (0.817; test 0.806) and is the regularised run the lesson picks -- by validation, never by
 * test.
 * All of them together close the gap to 0.04 but over-regularise this 60-epoch budget
 * (test 0.780): the trade-off made visible. L1 leaves 94% of the weights (all three layers)
 * below 1e-3 in magnitude, L2 5%, none 2.5%. Reference: Srivastava et al. 2014 ("Dropout",
 * JMLR 15, section 7.4 on the effect of the data set size) and Goodfellow, Bengio & Courville,
 * "Deep Learning", ch. 7.
 * Figures and metrics.json go to out/lesson05/.
 */
#include "nn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HIDDEN 512
#define BATCH 50
#define EVAL_BATCH 500
#define LR 0.02          /* SGD with momentum 0.9 */
#define L2_LAMBDA 3e-3
#define L1_LAMBDA 3e-4
#define DROPOUT_P 0.5
#define PATIENCE 10      /* early stopping: epochs without a better validation loss */
#define MAX_SHIFT 1      /* augmentation: translate by up to 1 pixel each way */
#define FLIP_P 0.5       /*               and mirror half of the images */
#define ZERO_TOL 1e-3    /* "near-zero" weight: |w| < ZERO_TOL */

/* ------------------------------------------------------------------------------------------ */
/* The model: an MLP big enough to memorise a thousand images                                  */
/* ------------------------------------------------------------------------------------------ */

typedef struct mlp {
    nn_params ps;
    nn_linear_layer fc1, fc2, fc3;
} mlp;

static void mlp_init(mlp *m, nn_rng *rng)
{
    nn_params_init(&m->ps);
    nn_linear_init(&m->fc1, &m->ps, "fc1", 784, HIDDEN, 1, rng);
    nn_linear_init(&m->fc2, &m->ps, "fc2", HIDDEN, HIDDEN, 1, rng);
    nn_linear_init(&m->fc3, &m->ps, "fc3", HIDDEN, 10, 1, rng);
}

/* x (B,784) -> logits (B,10). Dropout after each hidden ReLU: while training (g->training)
 * y = h m / (1-p), m ~ Bernoulli(1-p); at evaluation it is the identity, no rescaling needed. */
static nn_tensor *mlp_forward(nn_graph *g, const mlp *m, nn_tensor *x, nn_real p, nn_rng *rng)
{
    nn_tensor *h1 = nn_dropout(g, nn_relu(g, nn_linear(g, &m->fc1, x)), p, rng);  /* (B,512) */
    nn_tensor *h2 = nn_dropout(g, nn_relu(g, nn_linear(g, &m->fc2, h1)), p, rng); /* (B,512) */
    return nn_linear(g, &m->fc3, h2);                                             /* (B,10)  */
}

/* the model for nn_evaluate, which runs it in evaluation mode, where dropout is the identity */
static nn_tensor *mlp_fn(nn_graph *g, nn_tensor *x, void *m)
{
    return mlp_forward(g, m, x, 0, NULL);
}

/* The penalty on the weight matrices (biases are left free, as usual: they do not multiply
 * inputs, so shrinking them does not make the function any smoother):
 *   R(W) = lambda2 * 1/2 sum w^2  +  lambda1 * sum |w|
 *   dR/dw = lambda2 w  +  lambda1 sign(w)
 * With SGD the L2 part is exactly weight decay: w <- w - lr (dL/dw + lambda2 w)
 *                                                  = (1 - lr lambda2) w - lr dL/dw. */
static nn_tensor *penalty(nn_graph *g, const mlp *m, double lambda2, double lambda1)
{
    const nn_linear_layer *layers[3] = {&m->fc1, &m->fc2, &m->fc3};
    nn_tensor *r = NULL;
    for (int i = 0; i < 3; i++) {
        nn_tensor *w = layers[i]->weight, *term = NULL;
        if (lambda2 > 0) term = nn_scale(g, nn_l2_penalty(g, w), (nn_real)lambda2);
        if (lambda1 > 0) {
            nn_tensor *l1 = nn_scale(g, nn_l1_penalty(g, w), (nn_real)lambda1);
            term = term ? nn_add(g, term, l1) : l1;
        }
        if (term) r = r ? nn_add(g, r, term) : term;
    }
    return r;
}

/* ------------------------------------------------------------------------------------------ */
/* A run: one recipe of regularisers, trained from the same start as every other run           */
/* ------------------------------------------------------------------------------------------ */

typedef struct recipe {
    const char *name;
    double l2, l1, dropout;
    int augment, early_stop;
} recipe;

typedef struct run {
    recipe r;
    int epochs, epochs_run, best_epoch;          /* best_epoch: 1-based, restored weights */
    double *train_acc, *val_acc, *train_loss, *val_loss; /* per epoch, evaluation mode */
    double train, val, test, gap, seconds;       /* final (restored) model */
    double zero_fraction;                        /* of all weight-matrix entries, |w| < ZERO_TOL */
    nn_real *fc1;                                /* copy of the first layer's weights */
} run;

typedef struct workspace {
    nn_graph *g;
    nn_real *x;
    int *y, *order;
} workspace;

static double zero_fraction(const mlp *m)
{
    const nn_tensor *ws[3] = {m->fc1.weight, m->fc2.weight, m->fc3.weight};
    size_t zeros = 0, total = 0;
    for (int i = 0; i < 3; i++) {
        for (size_t j = 0; j < ws[i]->numel; j++) zeros += fabs(ws[i]->data[j]) < ZERO_TOL;
        total += ws[i]->numel;
    }
    return (double)zeros / total;
}

static void train_run(run *out, recipe r, int epochs, const nn_data *train, const nn_data *val,
                      const nn_data *test, workspace *w, uint64_t seed)
{
    memset(out, 0, sizeof *out);
    out->r = r;
    out->epochs = epochs;
    out->train_acc = nn_calloc(epochs, sizeof(double));
    out->val_acc = nn_calloc(epochs, sizeof(double));
    out->train_loss = nn_calloc(epochs, sizeof(double));
    out->val_loss = nn_calloc(epochs, sizeof(double));
    /* the same seeds for every run: the same initial weights, batch order, dropout masks and
     * augmentations, so the runs differ only by their regulariser */
    nn_rng init_rng, order_rng, dropout_rng, augment_rng;
    nn_rng_seed(&init_rng, seed);
    nn_rng_seed(&order_rng, seed + 1);
    nn_rng_seed(&dropout_rng, seed + 2);
    nn_rng_seed(&augment_rng, seed + 3);
    mlp m;
    mlp_init(&m, &init_rng);
    nn_optim opt;
    nn_optim_init(&opt, NN_OPTIM_MOMENTUM, &m.ps, LR);
    nn_earlystop stop;
    nn_earlystop_init(&stop, PATIENCE, 0, NN_EARLYSTOP_MINIMIZE);
    nn_graph *g = w->g;
    const int steps = train->n / BATCH;
    double t0 = nn_seconds();
    nn_progress bar;
    nn_progress_start(&bar, r.name, epochs);
    for (int e = 0; e < epochs; e++) {
        g->grad = 1, g->training = 1;
        nn_rng_permutation(&order_rng, w->order, train->n);
        for (int s = 0; s < steps; s++) {
            nn_data_batch(train, w->order, s * BATCH, BATCH, w->x, w->y);
            if (r.augment) { /* on the raw (B,1,28,28) pixels, before they enter the graph */
                nn_augment_shift(w->x, w->x, BATCH, 1, 28, 28, MAX_SHIFT, &augment_rng);
                nn_augment_flip(w->x, w->x, BATCH, 1, 28, 28, FLIP_P, &augment_rng);
            }
            nn_tensor *x = nn_graph_input(g, w->x, 2, BATCH, 784);
            nn_tensor *logits = mlp_forward(g, &m, x, (nn_real)r.dropout, &dropout_rng);
            nn_tensor *loss = nn_softmax_cross_entropy(g, logits, w->y);
            nn_tensor *reg = penalty(g, &m, r.l2, r.l1);
            if (reg) loss = nn_add(g, loss, reg); /* L = CE + R(W) */
            if (!isfinite(loss->data[0]))
                nn_fail("lesson05: %s: loss is %g at epoch %d, step %d", r.name,
                        loss->data[0], e + 1, s + 1);
            nn_params_zero_grad(&m.ps);
            nn_backward(g, loss);
            nn_optim_step(&opt);
            nn_graph_reset(g);
        }
        /* the curves: clean training images (no augmentation, no dropout) and validation */
        nn_evaluation on_train = nn_evaluate(g, mlp_fn, &m, train, EVAL_BATCH, NULL);
        nn_evaluation on_val = nn_evaluate(g, mlp_fn, &m, val, EVAL_BATCH, NULL);
        out->train_loss[e] = on_train.loss, out->train_acc[e] = on_train.accuracy;
        out->val_loss[e] = on_val.loss, out->val_acc[e] = on_val.accuracy;
        out->epochs_run = e + 1;
        char status[48];
        snprintf(status, sizeof status, "train %.3f val %.3f", out->train_acc[e], out->val_acc[e]);
        nn_progress_update(&bar, e + 1, status);
        /* early stopping watches the validation loss, the quantity that turns up first */
        if (r.early_stop && nn_earlystop_update(&stop, &m.ps, out->val_loss[e], e)) break;
    }
    nn_progress_finish(&bar);
    out->best_epoch = out->epochs_run;
    if (r.early_stop) { /* back to the weights of the best validation loss */
        nn_earlystop_restore(&stop, &m.ps);
        out->best_epoch = stop.best_epoch + 1;
    }
    out->seconds = nn_seconds() - t0;
    out->train = nn_evaluate(g, mlp_fn, &m, train, EVAL_BATCH, NULL).accuracy;
    out->val = nn_evaluate(g, mlp_fn, &m, val, EVAL_BATCH, NULL).accuracy;
    out->test = nn_evaluate(g, mlp_fn, &m, test, EVAL_BATCH, NULL).accuracy;
    out->gap = out->train - out->val;
    out->zero_fraction = zero_fraction(&m);
    out->fc1 = nn_malloc(m.fc1.weight->numel * sizeof(nn_real));
    memcpy(out->fc1, m.fc1.weight->data, m.fc1.weight->numel * sizeof(nn_real));
    printf("   %-14s %6d %6d %8.4f %8.4f %8.4f %8.4f %9.3f %7.1f\n", r.name, out->epochs_run,
           out->best_epoch, out->train, out->val, out->test, out->gap, out->zero_fraction,
           out->seconds);
    fflush(stdout);
    nn_earlystop_free(&stop);
    nn_optim_free(&opt);
    nn_params_free(&m.ps);
}

static void run_free(run *r)
{
    free(r->train_acc), free(r->val_acc), free(r->train_loss), free(r->val_loss), free(r->fc1);
}

/* ------------------------------------------------------------------------------------------ */
/* Figures                                                                                     */
/* ------------------------------------------------------------------------------------------ */

/* A histogram drawn as a step curve: bins of [lo, hi), values outside clamped into the end
 * bins; xs/ys receive 2 points per bin (its left and right edge at its height). */
static void step_histogram(double *xs, double *ys, int bins, double lo, double hi,
                           const double *v, size_t n, double add)
{
    double *count = nn_calloc(bins, sizeof(double)), width = (hi - lo) / bins;
    for (size_t i = 0; i < n; i++) {
        int b = (int)floor((v[i] - lo) / width);
        count[b < 0 ? 0 : b >= bins ? bins - 1 : b] += 1;
    }
    for (int b = 0; b < bins; b++) {
        xs[2 * b] = lo + b * width, xs[2 * b + 1] = lo + (b + 1) * width;
        ys[2 * b] = ys[2 * b + 1] = count[b] + add;
    }
    free(count);
}

/* fc1's weights of three runs: (a) w itself, log counts; (b) log10 |w|, linear counts */
static void plot_histograms(const char *dir, const run *none, const run *l2, const run *l1,
                            size_t n)
{
    enum { BINS = 120, MAG_BINS = 80 };
    const run *runs[3] = {none, l2, l1};
    const char *labels[3] = {"no penalty", "L2", "L1"};
    double *v = nn_malloc(n * sizeof *v);
    double xs[3][2 * BINS], ys[3][2 * BINS], mx[3][2 * MAG_BINS], my[3][2 * MAG_BINS];
    nn_plot_series hist[3], mag[3];
    for (int k = 0; k < 3; k++) {
        for (size_t i = 0; i < n; i++) v[i] = runs[k]->fc1[i];
        step_histogram(xs[k], ys[k], BINS, -0.12, 0.12, v, n, 1);
        hist[k] = (nn_plot_series){labels[k], xs[k], ys[k], 2 * BINS};
        /* log10 |w|, with exact zeros counted in the first bin */
        for (size_t i = 0; i < n; i++) v[i] = log10(fabs(runs[k]->fc1[i]) + 1e-12);
        step_histogram(mx[k], my[k], MAG_BINS, -8, 0, v, n, 0);
        for (int j = 0; j < 2 * MAG_BINS; j++) my[k][j] /= (double)n;
        mag[k] = (nn_plot_series){labels[k], mx[k], my[k], 2 * MAG_BINS};
    }
    nn_plot_lines(dir, "weight_histogram",
                  "First-layer weights (784x512) after training: L2 narrows, L1 spikes at 0",
                  "weight w", "number of weights + 1 (log scale)", hist, 3, 1);
    nn_plot_lines(dir, "weight_magnitude_histogram",
                  "First-layer weights by magnitude: L1 pushes most of them below 1e-3",
                  "log10 |w|", "fraction of weights per bin", mag, 3, 0);
    free(v);
}

/* bars drawn as closed outlines, one series (one colour) per run */
static void plot_gap_bars(const char *dir, const run *runs, int nruns)
{
    double (*bx)[5] = nn_malloc(nruns * sizeof *bx), (*by)[5] = nn_malloc(nruns * sizeof *by);
    nn_plot_series *bars = nn_malloc(nruns * sizeof *bars);
    for (int i = 0; i < nruns; i++) {
        double l = i + 0.65, r = i + 1.35, h = runs[i].gap;
        double x[5] = {l, l, r, r, l}, y[5] = {0, h, h, 0, 0};
        memcpy(bx[i], x, sizeof x), memcpy(by[i], y, sizeof y);
        bars[i] = (nn_plot_series){runs[i].r.name, bx[i], by[i], 5};
    }
    nn_plot_lines(dir, "generalization_gap",
                  "Generalization gap = train accuracy - validation accuracy, per run", "run",
                  "gap (accuracy)", bars, nruns, 0);
    free(bars), free(bx), free(by);
}

/* ------------------------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    const char *about =
        "Lesson 05: regularization. An MLP 784-512-512-10 overfits 1000 Fashion-MNIST images "
        "(train vs validation curves); then L2, L1, dropout, early stopping and augmentation, "
        "each alone and together: a table of the generalization gap, the curves, and "
        "histograms of the weights under L1 vs L2.";
    nn_cli cli;
    nn_cli_parse(&cli, 5, about, argc, argv);
    nn_report report;
    nn_report_init(&report, 5);
    const int epochs = nn_cli_epochs(&cli, 60, 3);
    const int ntrain = cli.quick ? 300 : 1000, nval = cli.quick ? 500 : 5000;

    /* --- data: a small training subset, a validation set from the training file, the test set */
    nn_data train_file, test_file, rest, val, train, test;
    nn_data_fmnist_load(&train_file, &test_file);
    nn_rng split_rng;
    nn_rng_seed(&split_rng, cli.seed);
    nn_data_split(&train_file, &rest, &val, nval, &split_rng); /* both in shuffled order */
    nn_data_subset(&train, &rest, ntrain);
    nn_data_subset(&test, &test_file, cli.quick ? 1000 : test_file.n);
    nn_data_free(&train_file), nn_data_free(&test_file), nn_data_free(&rest);
    printf("Fashion-MNIST: %d training images (a small subset, on purpose), %d validation "
           "(held out from the training file), %d test\n", train.n, val.n, test.n);
    printf("MLP 784-%d-%d-10, SGD lr %g momentum 0.9, batch %d, %d epochs, seed %llu\n\n",
           HIDDEN, HIDDEN, LR, BATCH, epochs, (unsigned long long)cli.seed);

    workspace w = {nn_graph_new(), nn_malloc(BATCH * 784 * sizeof(nn_real)),
                   nn_malloc(BATCH * sizeof(int)), nn_malloc(train.n * sizeof(int))};

    /* --- the runs ------------------------------------------------------------------------- */
    const recipe recipes[] = {
        {"baseline", 0, 0, 0, 0, 0},
        {"L2", L2_LAMBDA, 0, 0, 0, 0},
        {"L1", 0, L1_LAMBDA, 0, 0, 0},
        {"dropout", 0, 0, DROPOUT_P, 0, 0},
        {"early stop", 0, 0, 0, 0, 1},
        {"augmentation", 0, 0, 0, 1, 0},
        {"all together", L2_LAMBDA, 0, DROPOUT_P, 1, 1},
    };
    enum { BASELINE, L2, L1, DROPOUT, EARLY, AUGMENT, ALL, NRUNS };
    run runs[NRUNS];
    printf("   L2 lambda %g, L1 lambda %g, dropout p %g, early stopping patience %d on the "
           "validation loss,\n   augmentation: shifts up to %d pixels and left-right flips "
           "with p %g; 'all' = L2 + dropout + augmentation + early stopping\n\n",
           L2_LAMBDA, L1_LAMBDA, DROPOUT_P, PATIENCE, MAX_SHIFT, FLIP_P);
    printf("   %-14s %6s %6s %8s %8s %8s %8s %9s %7s\n", "run", "epochs", "kept", "train",
           "val", "test", "gap", "|w|<1e-3", "seconds");
    double seconds = 0;
    for (int i = 0; i < NRUNS; i++) {
        train_run(&runs[i], recipes[i], epochs, &train, &val, &test, &w, cli.seed);
        seconds += runs[i].seconds;
    }
    printf("   (kept: the epoch whose weights are evaluated; gap = train - val accuracy)\n");

    /* --- figures -------------------------------------------------------------------------- */
    double *epoch_axis = nn_malloc(epochs * sizeof *epoch_axis);
    for (int e = 0; e < epochs; e++) epoch_axis[e] = e + 1;
    const run *b = &runs[BASELINE], *a = &runs[ALL];
    nn_plot_series acc[4] = {{"baseline, train", epoch_axis, b->train_acc, b->epochs_run},
                             {"baseline, validation", epoch_axis, b->val_acc, b->epochs_run},
                             {"all together, train", epoch_axis, a->train_acc, a->epochs_run},
                             {"all together, validation", epoch_axis, a->val_acc, a->epochs_run}};
    nn_plot_lines(cli.out, "curves_accuracy",
                  "Overfitting 1000 images: train vs validation accuracy", "epoch", "accuracy",
                  acc, 4, 0);
    nn_plot_series loss[4] = {{"baseline, train", epoch_axis, b->train_loss, b->epochs_run},
                              {"baseline, validation", epoch_axis, b->val_loss, b->epochs_run},
                              {"all together, train", epoch_axis, a->train_loss, a->epochs_run},
                              {"all together, validation", epoch_axis, a->val_loss, a->epochs_run}};
    nn_plot_lines(cli.out, "curves_loss",
                  "Train vs validation loss: the baseline's validation loss turns upwards",
                  "epoch", "cross-entropy (log scale)", loss, 4, 1);
    nn_plot_series val_curves[NRUNS];
    for (int i = 0; i < NRUNS; i++)
        val_curves[i] = (nn_plot_series){runs[i].r.name, epoch_axis, runs[i].val_acc,
                                         runs[i].epochs_run};
    nn_plot_lines(cli.out, "validation_accuracy", "Validation accuracy of every run",
                  "epoch", "validation accuracy", val_curves, NRUNS, 0);
    plot_gap_bars(cli.out, runs, NRUNS);
    plot_histograms(cli.out, &runs[BASELINE], &runs[L2], &runs[L1], 784 * HIDDEN);

    /* --- results -------------------------------------------------------------------------- */
    int best = L2; /* the regularised run with the smallest gap */
    for (int i = L2; i < NRUNS; i++) best = runs[i].gap < runs[best].gap ? i : best;
    /* the run we would ship: the best on the validation set -- never choose by the test set */
    int chosen = L2;
    for (int i = L2; i < NRUNS; i++) chosen = runs[i].val > runs[chosen].val ? i : chosen;
    printf("\nResults\n");
    printf("   baseline:      train %.3f  val %.3f  test %.4f  gap %.3f\n", b->train, b->val,
           b->test, b->gap);
    printf("   smallest gap:  %s, %.3f (test %.4f)\n", runs[best].r.name, runs[best].gap,
           runs[best].test);
    printf("   all together:  train %.3f  val %.3f  test %.4f  gap %.3f\n", a->train, a->val,
           a->test, a->gap);
    printf("   chosen by validation accuracy: %s, val %.3f, test %.4f\n", runs[chosen].r.name,
           runs[chosen].val, runs[chosen].test);
    printf("   weights |w| < %g: none %.3f, L2 %.3f, L1 %.3f\n", ZERO_TOL,
           runs[BASELINE].zero_fraction, runs[L2].zero_fraction, runs[L1].zero_fraction);
    printf("   training time, all runs (per-epoch evaluation included): %.1f s\n", seconds);
    printf("   figures: %s/\n", cli.out);

    nn_report_add(&report, "baseline_gap", b->gap);
    nn_report_add(&report, "best_gap", runs[best].gap);
    nn_report_add(&report, "test_accuracy", runs[chosen].test);
    nn_report_add_int(&report, "chosen_run", chosen);
    nn_report_add(&report, "all_test_accuracy", a->test);
    nn_report_add(&report, "baseline_test_accuracy", b->test);
    nn_report_add(&report, "all_gap", a->gap);
    nn_report_add(&report, "l1_zero_fraction", runs[L1].zero_fraction);
    nn_report_add(&report, "l2_zero_fraction", runs[L2].zero_fraction);
    nn_report_add(&report, "baseline_zero_fraction", runs[BASELINE].zero_fraction);
    nn_report_add_timing(&report, "train_seconds", seconds);
    nn_report_finish(&report, cli.out);

    free(epoch_axis);
    for (int i = 0; i < NRUNS; i++) run_free(&runs[i]);
    nn_graph_free(w.g);
    free(w.x), free(w.y), free(w.order);
    nn_data_free(&train), nn_data_free(&val), nn_data_free(&test);
    return 0;
}
