/* Lesson 06 -- normalization: batch norm (Ioffe & Szegedy 2015) and layer norm (Ba, Kiros &
 * Hinton 2016).
 *
 * Concept: standardise the inputs of every nonlinearity, then let the net rescale them:
 *     u = gamma (z - mean) / sqrt(var + eps) + beta,      z = W h + b (one Linear layer's output)
 * Batch norm takes mean and var of each unit over the mini-batch, so each unit's inputs keep
 * the same distribution however the weights below it move; at test time it uses running
 * averages gathered during training instead. Layer norm takes them over the units of each
 * example, so it needs no batch at all and is the same in training and evaluation.
 *
 * What you will see, on a 784-100-100-100-10 sigmoid MLP (the net of Ioffe & Szegedy's
 * Fig. 1) trained with plain SGD on Fashion-MNIST:
 *   1. the same net, the same initial weights and the same batches without normalization,
 *      with batch norm and with layer norm: the plain net sits on a plateau at chance for
 *      hundreds of steps, batch norm is at 0.77 test accuracy after a tenth of the training;
 *   2. a learning-rate sweep (0.03 ... 30): batch norm trains well over a range of rates 300x
 *      wide, the plain net at none of them within the same number of steps;
 *   3. the distribution of one sigmoid's input over training (15th/50th/85th percentile, as
 *      the paper's Fig. 1b,c) and of the whole layer: without normalization it drifts and,
 *      on the plateau, collapses; with batch norm it stays put;
 *   4. batch norm at test time: the running averages vs the true statistics of the training
 *      set; evaluation mode scores each image on its own (batch of 1 = batch of 512), while
 *      training-mode statistics make a prediction depend on the rest of its batch -- wrong
 *      for small batches (batch of 2: 0.57) and for batches of one class (0.17).
 *
 * Run:  make lesson06                   (full: 60000 train / 10000 test images, 3 epochs
 *                                        = 3000 steps for the 3 main runs, 21 sweep runs of
 *                                        1000 steps; about 30 s of CPU, 1-2.5 min on 2 shared
 *                                        cores)
 *       make lesson06 ARGS="--quick"    (6000 / 1000 images, 200 steps, sweep runs of 50
 *                                        steps; about 2.5 s of CPU)
 *       flags: --seed N --epochs N --out DIR --kernels naive|blas --threads N --help
 *
 * Expected (full mode, seed 42): test accuracy plain 0.751, batch norm 0.856, layer norm
 * 0.817; sweep: batch norm 0.81-0.84 for every rate from 0.03 to 10, plain at best 0.55;
 * evaluation mode 0.856 in any batch size. Reference: Ioffe & Szegedy 2015, "Batch
 * Normalization: Accelerating Deep Network Training by Reducing Internal Covariate Shift",
 * Fig. 1 (MNIST, the same 3x100 sigmoid net: batch norm trains faster and its sigmoid inputs
 * stay stable) and Sec. 4.2 (Inception: the same accuracy in 14x fewer steps, and learning
 * rates 5x and 30x higher). Figures and metrics.json go to out/lesson06/.
 */
#include "nn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HIDDEN 100      /* three hidden layers of 100 sigmoid units: Ioffe & Szegedy's Fig. 1 net */
#define LAYERS 3
#define PROBE 2         /* the hidden layer whose inputs we watch: the last one (0-based) */
#define BATCH 60        /* mini-batch of 60, as in the paper */
#define LR 0.5          /* plain SGD, cosine-decayed to 0; the same for the three main runs */
#define EVAL_BATCH 512  /* also the largest test batch of part 4 */
#define EPOCHS_FULL 3
#define EPOCHS_QUICK 2
#define TRAIN_QUICK 6000
#define QUICK_SWEEP_STEPS 50
#define GOOD 0.05       /* a "good" learning rate: within 0.05 of the best accuracy of the sweep */
#define POINTS 30       /* evaluations of the test set per main run */
#ifndef ACT
#define ACT nn_sigmoid
#endif

typedef enum { NORM_NONE, NORM_BATCH, NORM_LAYER } norm_kind;
static const char *norm_name[] = {"plain", "batchnorm", "layernorm"};

/* ------------------------------------------------------------------------------------------ */
/* The model: 784 -> 100 -> 100 -> 100 -> 10, normalisation between each Linear and sigmoid     */
/* ------------------------------------------------------------------------------------------ */

typedef struct mlp {
    norm_kind norm;
    nn_params ps;
    nn_linear_layer fc[LAYERS + 1];
    nn_batchnorm_layer bn[LAYERS];
    nn_layernorm_layer ln[LAYERS];
} mlp;

/* The Linear layers are drawn first from the same rng state for every kind of model, so the
 * plain, batch-norm and layer-norm nets start from the very same weights. */
static void mlp_init(mlp *m, norm_kind norm, nn_rng *rng)
{
    memset(m, 0, sizeof *m);
    m->norm = norm;
    nn_params_init(&m->ps);
    const char *names[] = {"fc1", "fc2", "fc3", "fc4"};
    for (int l = 0; l <= LAYERS; l++)
        nn_linear_init(&m->fc[l], &m->ps, names[l], l ? HIDDEN : 784, l < LAYERS ? HIDDEN : 10,
                       1, rng);
    for (int l = 0; l < LAYERS; l++) {
        if (norm == NORM_BATCH) nn_batchnorm_init(&m->bn[l], &m->ps, "bn", HIDDEN);
        if (norm == NORM_LAYER) nn_layernorm_init(&m->ln[l], &m->ps, "ln", HIDDEN);
    }
}

static void mlp_free(mlp *m)
{
    if (m->norm == NORM_BATCH)
        for (int l = 0; l < LAYERS; l++) nn_batchnorm_free(&m->bn[l]);
    nn_params_free(&m->ps);
}

/* What the forward pass lets us look at: the Linear outputs z (before normalisation) and the
 * sigmoid inputs u (after it; u = z for the plain net), each (B,HIDDEN). */
typedef struct probes {
    nn_tensor *z[LAYERS], *u[LAYERS];
} probes;

/* x (B,784) -> logits (B,10). Each hidden layer computes z = h W^T + b (B,100), then
 *   plain:       u = z
 *   batch norm:  u_ij = gamma_j (z_ij - mu_j) / sqrt(var_j + eps) + beta_j
 *                mu_j, var_j: mean and variance of column j over the batch   (g->training)
 *                mu_j, var_j: the running averages                           (evaluation)
 *   layer norm:  u_ij = gamma_j (z_ij - mu_i) / sqrt(var_i + eps) + beta_j
 *                mu_i, var_i: mean and variance of row i over its 100 units  (both modes)
 * and h = sigmoid(u). Each training-mode BN call also updates, per unit (momentum 0.1),
 *   running_mu = 0.9 running_mu + 0.1 mu_j,   running_var = 0.9 running_var + 0.1 var_j B/(B-1).
 * Backward through mu and var (lib/ops_norm.c), with xhat = (z - mu)/sigma, g = dL/dxhat:
 *   dL/dz = (g - mean(g) - xhat mean(g xhat)) / sigma     (means over the same group)
 * -- the gradient loses its components along 1 and along xhat, because shifting or scaling
 * z does not change u. Two consequences: with BN the bias b is redundant (mu absorbs it; its
 * gradient is exactly 0), and BN(a z) = BN(z) for any a > 0, so dL/dW shrinks as 1/|W|: a
 * step that blows the weights up slows their next steps down, and large rates stay stable. */
static nn_tensor *mlp_forward(nn_graph *g, mlp *m, nn_tensor *x, probes *p)
{
    nn_tensor *h = x;
    for (int l = 0; l < LAYERS; l++) {
        nn_tensor *z = nn_linear(g, &m->fc[l], h), *u = z; /* (B,100) */
        if (m->norm == NORM_BATCH) u = nn_batchnorm_forward(g, &m->bn[l], z);
        if (m->norm == NORM_LAYER) u = nn_layernorm_forward(g, &m->ln[l], z);
        if (p) p->z[l] = z, p->u[l] = u;
        h = ACT(g, u);
    }
    return nn_linear(g, &m->fc[LAYERS], h); /* (B,10) */
}

/* ------------------------------------------------------------------------------------------ */
/* Evaluation, in either mode                                                                  */
/* ------------------------------------------------------------------------------------------ */

typedef struct workspace {
    nn_graph *g;
    nn_real *x;
    int *y, *order, *identity;
} workspace;

/* Accuracy on d, visiting the examples in `order`
 * in batches of `batch`. training = 0: the normal evaluation, BN uses its running statistics
 * and every example is scored on its own. training = 1: BN normalises each test batch with
 * that batch's own statistics -- done here only to show why nobody should. A training-mode
 * forward pass also updates the running statistics, so they are saved and put back. If
 * logits is given, example order[i]'s logits go to logits[order[i]*10 ...]. */
static double evaluate(workspace *w, mlp *m, const nn_data *d, const int *order, int batch,
                       int training, nn_real *logits)
{
    nn_graph *g = w->g;
    g->grad = 0, g->training = training;
    nn_real *saved = NULL;
    if (training && m->norm == NORM_BATCH) {
        saved = nn_malloc(2 * LAYERS * HIDDEN * sizeof *saved);
        for (int l = 0; l < LAYERS; l++) {
            memcpy(saved + (2 * l) * HIDDEN, m->bn[l].running_mean, HIDDEN * sizeof *saved);
            memcpy(saved + (2 * l + 1) * HIDDEN, m->bn[l].running_var, HIDDEN * sizeof *saved);
        }
    }
    double right = 0;
    for (int start = 0; start < d->n; start += batch) {
        int b = d->n - start < batch ? d->n - start : batch;
        nn_data_batch(d, order, start, b, w->x, w->y);
        nn_tensor *out = mlp_forward(g, m, nn_graph_input(g, w->x, 2, b, 784), NULL);
        right += nn_metrics_accuracy(out->data, w->y, b, 10) * b;
        if (logits)
            for (int i = 0; i < b; i++)
                memcpy(logits + (size_t)order[start + i] * 10, out->data + (size_t)i * 10,
                       10 * sizeof *logits);
        nn_graph_reset(g);
    }
    if (saved) {
        for (int l = 0; l < LAYERS; l++) {
            memcpy(m->bn[l].running_mean, saved + (2 * l) * HIDDEN, HIDDEN * sizeof *saved);
            memcpy(m->bn[l].running_var, saved + (2 * l + 1) * HIDDEN, HIDDEN * sizeof *saved);
        }
        free(saved);
    }
    g->training = 1, g->grad = 1;
    return right / d->n;
}

/* ------------------------------------------------------------------------------------------ */
/* A training run                                                                              */
/* ------------------------------------------------------------------------------------------ */

typedef struct run {
    norm_kind norm;
    double lr;
    int steps, npoints, diverged; /* diverged: the loss became NaN/Inf at step `steps` */
    double *at, *train_loss, *test_acc; /* at each evaluation point: step, mean loss, acc */
    /* the sigmoid inputs u of layer PROBE on every training batch: unit 0's 15th, 50th and
     * 85th percentiles over the batch, and mean and std over the whole (B,100) batch */
    double *p15, *p50, *p85, *umean, *ustd;
    double test_accuracy, seconds;
} run;

static int cmp_real(const void *a, const void *b)
{
    nn_real x = *(const nn_real *)a, y = *(const nn_real *)b;
    return (x > y) - (x < y);
}

static void record_probe(run *r, int s, const nn_tensor *u)
{
    nn_real col[BATCH];
    double sum = 0, sq = 0;
    for (int i = 0; i < BATCH; i++) col[i] = u->data[(size_t)i * HIDDEN]; /* unit 0 */
    qsort(col, BATCH, sizeof col[0], cmp_real);
    r->p15[s] = col[(int)lround(0.15 * (BATCH - 1))];
    r->p50[s] = col[(int)lround(0.50 * (BATCH - 1))];
    r->p85[s] = col[(int)lround(0.85 * (BATCH - 1))];
    for (size_t i = 0; i < u->numel; i++) sum += u->data[i], sq += (double)u->data[i] * u->data[i];
    r->umean[s] = sum / u->numel;
    r->ustd[s] = sqrt(fmax(sq / u->numel - r->umean[s] * r->umean[s], 0));
}

/* Trains a fresh model of kind `norm` with SGD at rate lr for `steps` mini-batches; the test
 * set is scored `points` times along the way (0: only at the end). The model is returned in
 * *keep if keep is not NULL (the caller frees it), else freed. */
static void train_run(run *r, norm_kind norm, double lr, int steps, int points,
                      const nn_data *train, const nn_data *test, workspace *w, uint64_t seed,
                      mlp *keep)
{
    memset(r, 0, sizeof *r);
    r->norm = norm, r->lr = lr;
    r->at = nn_calloc(points + 1, sizeof(double));
    r->train_loss = nn_calloc(points + 1, sizeof(double));
    r->test_acc = nn_calloc(points + 1, sizeof(double));
    double **series[] = {&r->p15, &r->p50, &r->p85, &r->umean, &r->ustd};
    for (int k = 0; k < 5; k++) *series[k] = nn_calloc(steps, sizeof(double));
    /* the same seeds for every run: the same initial weights and the same batches */
    nn_rng init_rng, order_rng;
    nn_rng_seed(&init_rng, seed);
    nn_rng_seed(&order_rng, seed + 1);
    mlp m;
    mlp_init(&m, norm, &init_rng);
    nn_optim opt;
    nn_optim_init(&opt, NN_OPTIM_SGD, &m.ps, (nn_real)lr);
    /* cosine decay from lr to 0 (lesson 03): the last steps are small, so the final weights
     * -- and batch norm's running averages of them -- settle instead of jittering */
    nn_schedule sched = {.kind = NN_SCHEDULE_COSINE, .base_lr = lr, .total_steps = steps};
    nn_graph *g = w->g;
    const int per_epoch = train->n / BATCH;
    double since = 0, t0 = nn_seconds();
    int since_n = 0;
    char label[48];
    snprintf(label, sizeof label, "%s lr %g", norm_name[norm], lr);
    nn_progress bar;
    nn_progress_start(&bar, label, steps);
    for (int s = 0; s < steps; s++) {
        if (s % per_epoch == 0) nn_rng_permutation(&order_rng, w->order, train->n);
        nn_data_batch(train, w->order, (s % per_epoch) * BATCH, BATCH, w->x, w->y);
        probes p;
        nn_tensor *logits = mlp_forward(g, &m, nn_graph_input(g, w->x, 2, BATCH, 784), &p);
        nn_tensor *loss = nn_softmax_cross_entropy(g, logits, w->y);
        if (!isfinite(loss->data[0])) { /* too high a rate: the weights blew up */
            r->diverged = 1;
            nn_graph_reset(g);
            break;
        }
        record_probe(r, s, p.u[PROBE]);
        since += loss->data[0], since_n++;
        nn_params_zero_grad(&m.ps);
        nn_backward(g, loss);
        opt.lr = nn_schedule_lr(&sched, s);
        nn_optim_step(&opt);
        nn_graph_reset(g);
        r->steps = s + 1;
        if (points > 0 && (long)(s + 1) * points % steps < (long)points) { /* evenly spaced */
            r->at[r->npoints] = s + 1;
            r->train_loss[r->npoints] = since / since_n;
            r->test_acc[r->npoints] = evaluate(w, &m, test, w->identity, EVAL_BATCH, 0, NULL);
            r->npoints++;
            since = 0, since_n = 0;
        }
        if ((s & 63) == 63) nn_progress_update(&bar, s + 1, NULL);
    }
    nn_progress_finish(&bar);
    r->seconds = nn_seconds() - t0;
    /* a diverged net predicts garbage (NaN logits): count it at chance level */
    r->test_accuracy = r->diverged ? 0.1
                       : r->npoints ? r->test_acc[r->npoints - 1]
                       : evaluate(w, &m, test, w->identity, EVAL_BATCH, 0, NULL);
    nn_optim_free(&opt);
    if (keep) *keep = m;
    else mlp_free(&m);
}

static void run_free(run *r)
{
    free(r->at), free(r->train_loss), free(r->test_acc);
    free(r->p15), free(r->p50), free(r->p85), free(r->umean), free(r->ustd);
}


/* ------------------------------------------------------------------------------------------ */
/* Batch norm's running statistics, checked against the truth                                  */
/* ------------------------------------------------------------------------------------------ */

/* What the running averages estimate: the mean and (unbiased) variance of each unit of
 * z = W h + b (the input of BN) at `layer`, over the whole training set, with the trained
 * network in evaluation mode. */
static void population_stats(workspace *w, mlp *m, const nn_data *d, int layer, double *mean,
                             double *var)
{
    nn_graph *g = w->g;
    g->grad = 0, g->training = 0;
    double *s = nn_calloc(HIDDEN, sizeof *s), *ss = nn_calloc(HIDDEN, sizeof *ss);
    for (int start = 0; start < d->n; start += EVAL_BATCH) {
        int b = d->n - start < EVAL_BATCH ? d->n - start : EVAL_BATCH;
        nn_data_batch(d, w->identity, start, b, w->x, w->y);
        probes p;
        mlp_forward(g, m, nn_graph_input(g, w->x, 2, b, 784), &p);
        for (int i = 0; i < b; i++)
            for (int j = 0; j < HIDDEN; j++) {
                double z = p.z[layer]->data[(size_t)i * HIDDEN + j];
                s[j] += z, ss[j] += z * z;
            }
        nn_graph_reset(g);
    }
    for (int j = 0; j < HIDDEN; j++) {
        mean[j] = s[j] / d->n;
        var[j] = (ss[j] - d->n * mean[j] * mean[j]) / (d->n - 1);
    }
    free(s), free(ss);
    g->training = 1, g->grad = 1;
}

/* max |a - b| over n numbers, and how many of the n/10 rows change their argmax */
static double max_abs_diff(const nn_real *a, const nn_real *b, size_t n, int *changed)
{
    double worst = 0;
    *changed = 0;
    for (size_t i = 0; i < n; i++) worst = fmax(worst, fabs((double)a[i] - b[i]));
    for (size_t r = 0; r < n / 10; r++)
        *changed += nn_kernel_argmax(a + r * 10, 10) != nn_kernel_argmax(b + r * 10, 10);
    return worst;
}

/* ------------------------------------------------------------------------------------------ */
/* Figures                                                                                     */
/* ------------------------------------------------------------------------------------------ */

/* every k-th value of v[0..n) with its step number (1-based), so a curve has <= 600 points */
static int thin(double *xs, double *ys, const double *v, int n)
{
    int k = n / 600 + 1, out = 0;
    for (int i = 0; i < n; i += k) xs[out] = i + 1, ys[out++] = v[i];
    return out;
}

/* Ioffe & Szegedy's Fig. 1(b,c): the 15th, 50th and 85th percentile over each training batch
 * of one sigmoid input (unit 0 of the last hidden layer), plain vs batch norm; and the mean
 * and std of the whole layer's sigmoid inputs for all three nets. */
static void plot_distributions(const char *dir, const run *runs)
{
    enum { CAP = 601 };
    double *xs = nn_malloc(9 * CAP * sizeof *xs), *ys = nn_malloc(9 * CAP * sizeof *ys);
    nn_plot_series s[9];
    const char *pct_label[6] = {"plain 15%", "plain median", "plain 85%", "BN 15%",
                                "BN median", "BN 85%"};
    for (int k = 0; k < 2; k++) {
        const double *v[3] = {runs[k].p15, runs[k].p50, runs[k].p85};
        for (int q = 0; q < 3; q++) {
            int i = 3 * k + q, n = thin(xs + i * CAP, ys + i * CAP, v[q], runs[k].steps);
            s[i] = (nn_plot_series){pct_label[i], xs + i * CAP, ys + i * CAP, n};
        }
    }
    nn_plot_lines(dir, "preact_percentiles",
                  "Input of one sigmoid (layer 3, unit 0) over training: 15/50/85th percentile "
                  "of each batch", "training step", "sigmoid input u", s, 6, 0);
    const char *stat_label[6] = {"plain mean", "BN mean", "LN mean", "plain std", "BN std",
                                 "LN std"};
    for (int k = 0; k < 3; k++)
        for (int q = 0; q < 2; q++) {
            int i = 3 * q + k, n = thin(xs + i * CAP, ys + i * CAP,
                                        q ? runs[k].ustd : runs[k].umean, runs[k].steps);
            s[i] = (nn_plot_series){stat_label[i], xs + i * CAP, ys + i * CAP, n};
        }
    nn_plot_lines(dir, "preact_mean_std",
                  "Sigmoid inputs of layer 3 (all 100 units, each batch): mean and std",
                  "training step", "mean / std of u", s, 6, 0);
    free(xs), free(ys);
}

/* running vs population statistics, one point per unit, sorted by the population value: on
 * the diagonal when the running averages are right */
static void plot_running_stats(const char *dir, const double *pop_mean, const double *pop_var,
                               const nn_real *run_mean, const nn_real *run_var)
{
    double x[2][HIDDEN], y[2][HIDDEN], diag[2] = {1e30, -1e30};
    int idx[HIDDEN];
    for (int q = 0; q < 2; q++) {
        const double *pop = q ? pop_var : pop_mean;
        const nn_real *est = q ? run_var : run_mean;
        for (int j = 0; j < HIDDEN; j++) idx[j] = j;
        for (int a = 1; a < HIDDEN; a++) /* insertion sort by population value */
            for (int b = a; b > 0 && pop[idx[b]] < pop[idx[b - 1]]; b--) {
                int t = idx[b];
                idx[b] = idx[b - 1], idx[b - 1] = t;
            }
        for (int j = 0; j < HIDDEN; j++) {
            x[q][j] = pop[idx[j]], y[q][j] = est[idx[j]];
            diag[0] = fmin(diag[0], x[q][j]), diag[1] = fmax(diag[1], x[q][j]);
        }
    }
    nn_plot_series s[3] = {{"means", x[0], y[0], HIDDEN},
                           {"variances", x[1], y[1], HIDDEN},
                           {"y = x", diag, diag, 2}};
    nn_plot_lines(dir, "running_stats",
                  "Batch norm, layer 3: running averages vs statistics over the training set",
                  "population value (whole training set, eval mode)",
                  "running average (kept during training)", s, 3, 0);
}

/* ------------------------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    const char *about =
        "Lesson 06: batch normalization and layer normalization. A 784-100-100-100-10 sigmoid "
        "MLP on Fashion-MNIST without normalization, with BatchNorm and with LayerNorm: "
        "learning curves, a learning-rate sweep, the drift of a hidden layer's inputs, and "
        "BatchNorm's train vs eval mode (running statistics).";
    nn_cli cli;
    nn_cli_parse(&cli, 6, about, argc, argv);
    nn_report report;
    nn_report_init(&report, 6);
    const int epochs = nn_cli_epochs(&cli, EPOCHS_FULL, EPOCHS_QUICK);
    const int ntrain = cli.quick ? TRAIN_QUICK : 60000, ntest = cli.quick ? 1000 : 10000;

    nn_data train, test;
    nn_data_fmnist_load_first(&train, ntrain, &test, ntest);
    const int steps = epochs * (train.n / BATCH);
    /* the sweep: 21 runs, each a third as long as a main run */
    const int sweep_steps = cli.quick ? QUICK_SWEEP_STEPS : steps / 3;
    workspace w = {nn_graph_new(), nn_malloc(EVAL_BATCH * 784 * sizeof(nn_real)),
                   nn_malloc(EVAL_BATCH * sizeof(int)), nn_malloc(train.n * sizeof(int)),
                   nn_malloc(train.n * sizeof(int))};
    for (int i = 0; i < train.n; i++) w.identity[i] = i;
    printf("Fashion-MNIST: %d training images, %d test; MLP 784-%d-%d-%d-10 with sigmoids, "
           "plain SGD with\ncosine decay, batch %d, %d epochs = %d steps, seed %llu\n\n",
           train.n, test.n, HIDDEN, HIDDEN, HIDDEN, BATCH, epochs, steps,
           (unsigned long long)cli.seed);

    /* --- 1. three nets: the same start, the same batches, the same learning rate ------------ */
    printf("1. Plain vs batch norm vs layer norm, SGD from lr %g, test set scored %d times\n", LR,
           POINTS);
    printf("   %-10s %12s %14s %14s %8s\n", "model", "train loss", "acc @ 10%", "test acc",
           "seconds");
    run runs[3];
    mlp models[3];
    double train_seconds = 0;
    for (int k = 0; k < 3; k++) {
        train_run(&runs[k], (norm_kind)k, LR, steps, POINTS, &train, &test, &w, cli.seed,
                  &models[k]);
        const run *r = &runs[k];
        train_seconds += r->seconds;
        int early = (r->npoints + 9) / 10 - 1, last = r->npoints - 1; /* -1: none (diverged) */
        printf("   %-10s %12.4f %14.4f %14.4f %8.1f\n", norm_name[k],
               last >= 0 ? r->train_loss[last] : NAN, early >= 0 ? r->test_acc[early] : NAN,
               r->test_accuracy, r->seconds);
        fflush(stdout);
    }
    printf("   (train loss: mean over the last %d steps; acc @ 10%%: test accuracy after the "
           "first tenth of training)\n", steps / POINTS);

    /* --- 2. the learning-rate sweep --------------------------------------------------------- */
    const double lrs[] = {0.03, 0.1, 0.3, 1, 3, 10, 30};
    enum { NLR = sizeof lrs / sizeof lrs[0] };
    double sweep[3][NLR], lr_axis[NLR];
    int best[3] = {0, 0, 0}, good[3] = {0, 0, 0};
    printf("\n2. Learning-rate sweep: test accuracy after %d steps of SGD from lr "
           "(nan: diverged)\n", sweep_steps);
    printf("   %-10s", "lr");
    for (int i = 0; i < NLR; i++) printf(" %7g", lrs[i]);
    printf("\n");
    for (int k = 0; k < 3; k++) {
        printf("   %-10s", norm_name[k]);
        for (int i = 0; i < NLR; i++) {
            run r;
            train_run(&r, (norm_kind)k, lrs[i], sweep_steps, 0, &train, &test, &w, cli.seed,
                      NULL);
            sweep[k][i] = r.test_accuracy;
            lr_axis[i] = log10(lrs[i]);
            train_seconds += r.seconds;
            if (r.diverged) printf(" %7s", "nan");
            else printf(" %7.4f", r.test_accuracy);
            fflush(stdout);
            if (sweep[k][i] > sweep[k][best[k]]) best[k] = i;
            run_free(&r);
        }
        printf("\n");
    }
    /* "good": within GOOD of the best accuracy that any model reached in the sweep */
    double top = fmax(sweep[0][best[0]], fmax(sweep[1][best[1]], sweep[2][best[2]]));
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < NLR; i++) good[k] += sweep[k][i] >= top - GOOD;
    printf("   best lr: plain %g (%.4f), batch norm %g (%.4f), layer norm %g (%.4f); good rates "
           "(within %.2f of %.4f): %d, %d, %d of %d\n", lrs[best[0]], sweep[0][best[0]],
           lrs[best[1]], sweep[1][best[1]], lrs[best[2]], sweep[2][best[2]], GOOD, top, good[0],
           good[1], good[2], NLR);

    /* --- 3. how the sigmoid inputs move during training ------------------------------------- */
    printf("\n3. Sigmoid inputs of layer 3 over training (unit 0: median and 15-85%% spread; "
           "whole layer: mean, std)\n");
    printf("   %-10s %26s %26s\n", "model", "first step", "last step");
    for (int k = 0; k < 3; k++) {
        const run *r = &runs[k];
        int a = 0, b = r->steps - 1;
        if (b < 0) continue; /* diverged at the first step */
        printf("   %-10s  %5.2f [%5.2f] %5.2f %5.2f  %5.2f [%5.2f] %5.2f %5.2f\n", norm_name[k],
               r->p50[a], r->p85[a] - r->p15[a], r->umean[a], r->ustd[a], r->p50[b],
               r->p85[b] - r->p15[b], r->umean[b], r->ustd[b]);
    }

    /* --- 4. batch norm: training mode vs evaluation mode ------------------------------------ */
    mlp *bn = &models[NORM_BATCH], *ln = &models[NORM_LAYER];
    printf("\n4. Batch norm at test time\n");
    double pop_mean[HIDDEN], pop_var[HIDDEN], mean_err = 0, var_err = 0;
    population_stats(&w, bn, &train, PROBE, pop_mean, pop_var);
    for (int j = 0; j < HIDDEN; j++) {
        mean_err += fabs(bn->bn[PROBE].running_mean[j] - pop_mean[j]) / sqrt(pop_var[j]);
        var_err += fabs(bn->bn[PROBE].running_var[j] / pop_var[j] - 1);
    }
    mean_err /= HIDDEN, var_err /= HIDDEN;
    printf("   running statistics of layer 3 vs the whole training set (first 4 of %d units):\n",
           HIDDEN);
    printf("   %6s %14s %14s %14s %14s\n", "unit", "running mean", "population", "running var",
           "population");
    for (int j = 0; j < 4; j++)
        printf("   %6d %14.4f %14.4f %14.4f %14.4f\n", j, bn->bn[PROBE].running_mean[j],
               pop_mean[j], bn->bn[PROBE].running_var[j], pop_var[j]);
    printf("   mean over units: |mean error| = %.3f std, |var ratio - 1| = %.3f\n", mean_err,
           var_err);

    /* Score the test set with different batch sizes, in both modes. */
    nn_real *ref = nn_malloc((size_t)test.n * 10 * sizeof *ref);
    nn_real *one = nn_malloc((size_t)test.n * 10 * sizeof *one);
    int changed, changed_ln;
    double eval_acc = evaluate(&w, bn, &test, w.identity, EVAL_BATCH, 0, ref);
    double eval1_acc = evaluate(&w, bn, &test, w.identity, 1, 0, one);
    double diff = max_abs_diff(ref, one, (size_t)test.n * 10, &changed);
    evaluate(&w, ln, &test, w.identity, EVAL_BATCH, 0, ref);
    evaluate(&w, ln, &test, w.identity, 1, 0, one);
    double diff_ln = max_abs_diff(ref, one, (size_t)test.n * 10, &changed_ln);
    printf("   evaluation mode (running statistics): accuracy %.4f in batches of %d, %.4f one "
           "image at a time;\n   the logits differ by at most %.2g, %d predictions change "
           "(layer norm: %.2g, %d)\n", eval_acc, EVAL_BATCH, eval1_acc, diff, changed, diff_ln,
           changed_ln);

    const int sizes[] = {2, 4, 8, 16, 32, 64, 128, 256, 512};
    enum { NSIZES = sizeof sizes / sizeof sizes[0] };
    double size_axis[NSIZES + 1], train_mode[NSIZES], eval_mode[NSIZES + 1];
    /* a random order, so that each batch is a random sample of the test set */
    int *shuffled = nn_malloc(test.n * sizeof *shuffled);
    nn_rng perm_rng;
    nn_rng_seed(&perm_rng, cli.seed + 2);
    nn_rng_permutation(&perm_rng, shuffled, test.n);
    printf("   training mode (each test batch normalised with its own statistics):\n");
    printf("   %-22s", "batch size");
    for (int i = 0; i < NSIZES; i++) printf(" %6d", sizes[i]);
    printf("\n   %-22s", "accuracy");
    size_axis[0] = 0, eval_mode[0] = eval1_acc; /* batch 1 = 2^0 */
    for (int i = 0; i < NSIZES; i++) {
        train_mode[i] = evaluate(&w, bn, &test, shuffled, sizes[i], 1, NULL);
        eval_mode[i + 1] = evaluate(&w, bn, &test, shuffled, sizes[i], 0, NULL);
        size_axis[i + 1] = log2(sizes[i]);
        printf(" %6.3f", train_mode[i]);
    }
    printf("\n");
    /* batches that are all (or nearly all) one class: sort the test set by label */
    int *by_label = nn_malloc(test.n * sizeof *by_label), at = 0;
    for (int c = 0; c < 10; c++)
        for (int i = 0; i < test.n; i++)
            if (test.y[i] == c) by_label[at++] = i;
    double sorted_train = evaluate(&w, bn, &test, by_label, 100, 1, NULL);
    double sorted_eval = evaluate(&w, bn, &test, by_label, 100, 0, NULL);
    printf("   batches of 100 sorted by label (one class each): training mode %.4f, evaluation "
           "mode %.4f\n", sorted_train, sorted_eval);
    printf("   batch of 1 in training mode: refused by nn_batchnorm -- each unit's batch mean "
           "is the value itself,\n   so x - mean = 0 and every image would give the same output\n");

    /* --- figures ---------------------------------------------------------------------------- */
    nn_plot_series acc[3], loss[3], sw[3];
    const char *label[3] = {"plain", "batch norm", "layer norm"};
    for (int k = 0; k < 3; k++) {
        acc[k] = (nn_plot_series){label[k], runs[k].at, runs[k].test_acc, runs[k].npoints};
        loss[k] = (nn_plot_series){label[k], runs[k].at, runs[k].train_loss, runs[k].npoints};
        sw[k] = (nn_plot_series){label[k], lr_axis, sweep[k], NLR};
    }
    char title[160];
    snprintf(title, sizeof title, "Sigmoid MLP 784-100-100-100-10, SGD from lr %g: test "
             "accuracy", LR);
    nn_plot_lines(cli.out, "curves_test_accuracy", title, "training step", "test accuracy", acc,
                  3, 0);
    snprintf(title, sizeof title, "Sigmoid MLP, SGD from lr %g: training loss (mean between "
             "evaluations)", LR);
    nn_plot_lines(cli.out, "curves_loss", title, "training step", "cross-entropy (log scale)",
                  loss, 3, 1);
    snprintf(title, sizeof title, "Test accuracy after %d SGD steps vs initial learning rate "
             "(diverged = 0.1)", sweep_steps);
    nn_plot_lines(cli.out, "lr_sweep", title, "log10 learning rate", "test accuracy", sw, 3, 0);
    plot_distributions(cli.out, runs);
    plot_running_stats(cli.out, pop_mean, pop_var, bn->bn[PROBE].running_mean,
                       bn->bn[PROBE].running_var);
    nn_plot_series modes[2] = {{"train mode", size_axis + 1, train_mode, NSIZES},
                               {"eval mode", size_axis, eval_mode, NSIZES + 1}};
    nn_plot_lines(cli.out, "bn_batch_size",
                  "Batch norm net on test batches: batch statistics (train mode) vs running "
                  "statistics (eval mode)", "log2 batch size",
                  "test accuracy", modes, 2, 0);

    /* --- results ---------------------------------------------------------------------------- */
    printf("\nResults\n");
    printf("   %-44s %.4f / %.4f / %.4f\n", "test accuracy, plain / batch norm / layer norm",
           runs[0].test_accuracy, runs[1].test_accuracy, runs[2].test_accuracy);
    printf("   %-44s %g / %g / %g\n", "best learning rate of the sweep", lrs[best[0]],
           lrs[best[1]], lrs[best[2]]);
    printf("   %-44s %.4f vs %.4f (batch of 2: %.4f)\n", "BN test acc, eval vs training mode",
           eval_acc, train_mode[NSIZES - 1], train_mode[0]);
    printf("   %-44s %.1f s (a shared machine: timings are noisy)\n", "training time, all runs",
           train_seconds);
    printf("   figures: %s/\n", cli.out);

    nn_report_add(&report, "test_accuracy", runs[NORM_BATCH].test_accuracy);
    nn_report_add(&report, "plain_test_accuracy", runs[NORM_NONE].test_accuracy);
    nn_report_add(&report, "batchnorm_test_accuracy", runs[NORM_BATCH].test_accuracy);
    nn_report_add(&report, "layernorm_test_accuracy", runs[NORM_LAYER].test_accuracy);
    nn_report_add(&report, "plain_best_lr", lrs[best[0]]);
    nn_report_add(&report, "batchnorm_best_lr", lrs[best[1]]);
    nn_report_add(&report, "layernorm_best_lr", lrs[best[2]]);
    nn_report_add(&report, "plain_best_sweep_accuracy", sweep[0][best[0]]);
    nn_report_add(&report, "batchnorm_best_sweep_accuracy", sweep[1][best[1]]);
    nn_report_add(&report, "layernorm_best_sweep_accuracy", sweep[2][best[2]]);
    nn_report_add_int(&report, "plain_good_lrs", good[0]);
    nn_report_add_int(&report, "batchnorm_good_lrs", good[1]);
    nn_report_add_int(&report, "layernorm_good_lrs", good[2]);
    nn_report_add(&report, "bn_eval_batch1_max_logit_diff", diff);
    nn_report_add(&report, "bn_train_mode_batch2_accuracy", train_mode[0]);
    nn_report_add(&report, "bn_sorted_batches_accuracy", sorted_train);
    nn_report_add(&report, "running_mean_error", mean_err);
    nn_report_add_timing(&report, "train_seconds", train_seconds);
    nn_report_finish(&report, cli.out);

    for (int k = 0; k < 3; k++) run_free(&runs[k]), mlp_free(&models[k]);
    free(by_label), free(shuffled), free(ref), free(one);
    free(w.x), free(w.y), free(w.order), free(w.identity);
    nn_graph_free(w.g);
    nn_data_free(&train), nn_data_free(&test);
    return 0;
}
