/* Lesson 12 -- evaluation: how good is a model, really?
 *
 * Concept: one accuracy number hides most of what matters. A confusion matrix shows which
 * classes are mistaken for which; precision, recall and F1 per class show where the model is
 * weak; ROC and precision-recall curves judge the scores before any threshold is chosen; on
 * an imbalanced task accuracy can look excellent for a model that finds nothing. Estimates of
 * performance have their own error: hold-out, k-fold cross-validation and a test set that is
 * touched once. And the error itself has two sources, bias and variance, that move in
 * opposite directions as a model's capacity grows.
 *
 * What you will see:
 *   1. an MLP 784-128-10 on Fashion-MNIST, trained with a stratified validation split and
 *      evaluated once on the test set: confusion matrix heat map, per-class precision /
 *      recall / F1 table (macro and micro averages), one-vs-rest ROC curves with AUC, and the
 *      pairs it confuses most (shirt vs T-shirt vs pullover vs coat) with example images;
 *   2. "is it a bag?" and "is it a shirt?" (10% positives each): the always-no classifier
 *      scores 0.90 accuracy and F1 0; the shirt detector's 0.94 accuracy hides an F1 of
 *      0.68; precision-recall curves, and a threshold for recall 0.9 chosen on validation
 *      (not test) data;
 *   3. 5-fold stratified cross-validation: accuracy per fold, mean +- std, compared with a
 *      single hold-out estimate and with the test set; picking the best of several models by
 *      test accuracy shows how reusing the test set inflates the number;
 *   4. bias and variance on noisy sin(pi x) with polynomials of degree 0..15: training vs
 *      validation error against capacity (the U curve), its split into bias^2 + variance +
 *      noise over 200 training sets, the degree chosen by 5-fold CV on one data set, its test
 *      MSE / RMSE / MAE / R^2, and learning curves against the training-set size.
 *
 * Run:  make lesson12                   (full: 50000 train / 10000 val / 10000 test, 15
 *                                        epochs; about 30 s on a shared 2-core machine)
 *       make lesson12 ARGS="--quick"    (5000 / 1000 / 2000, 3 epochs, 2-4 seconds)
 *       flags: --seed N --epochs N --out DIR --kernels naive|blas --threads N --help
 *
 * Expected (seed 42, measured; see docs/12_evaluation.md): test accuracy 0.883, macro F1
 * 0.882 (micro F1 = accuracy), macro one-vs-rest AUC 0.990; shirt is the worst class (F1
 * 0.68, recall 0.64; 160 shirts called T-shirt); the always-no bag detector 0.900 accuracy
 * and F1 0, the MLP's bag F1 0.97; 5-fold CV (784-64-10, 20000 images) 0.848 +- 0.007, the
 * retrained model 0.845 on test; polynomial degree 5 chosen by CV, test R^2 0.81, RMSE 0.335
 * (noise alone: 0.3). --quick: test accuracy 0.79, CV 0.70 +- 0.01.
 * References: MLPClassifier 0.871 in Xiao, Rasul & Vollgraf 2017, "Fashion-MNIST", Table 3;
 * the bias-variance trade-off as in Hastie, Tibshirani & Friedman, "The Elements of
 * Statistical Learning", 2nd ed., Sections 2.9 and 7.2-7.3 (Figure 7.1); metric definitions
 * as scikit-learn's sklearn.metrics.
 * Figures and metrics.json go to out/lesson12/.
 */
#include "nn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { CLASSES = 10, BATCH = 128, FOLDS = 5, SHIRT = 6, BAG = 8 };
static const double TARGET_RECALL = 0.9; /* part 2's operating point */

static const char *const *const class_names = nn_data_fmnist_classes;

/* ------------------------------------------------------------------------------------------ */
/* The classifier: an MLP 784-H-10, logits = W2 relu(W1 x + b1) + b2, trained with Adam.       */
/* ------------------------------------------------------------------------------------------ */

typedef struct mlp {
    nn_params ps;
    nn_linear_layer fc1, fc2;
} mlp;

static void mlp_init(mlp *m, int in, int hidden, nn_rng *rng)
{
    nn_params_init(&m->ps);
    nn_linear_init(&m->fc1, &m->ps, "fc1", in, hidden, 1, rng);
    nn_linear_init(&m->fc2, &m->ps, "fc2", hidden, CLASSES, 1, rng);
}

static nn_tensor *mlp_forward(nn_graph *g, const mlp *m, nn_tensor *x)
{
    return nn_linear(g, &m->fc2, nn_relu(g, nn_linear(g, &m->fc1, x)));
}

/* one epoch of mini-batch Adam in a fresh random order; returns the mean training loss */
static double mlp_epoch(mlp *m, nn_optim *opt, const nn_data *d, nn_graph *g, nn_rng *rng)
{
    int *order = nn_malloc((size_t)d->n * sizeof *order), yb[BATCH];
    nn_real *xb = nn_malloc((size_t)BATCH * d->dim * sizeof *xb);
    nn_rng_permutation(rng, order, d->n);
    double total = 0;
    for (int start = 0; start < d->n; start += BATCH) {
        int count = d->n - start < BATCH ? d->n - start : BATCH;
        nn_data_batch(d, order, start, count, xb, yb);
        nn_tensor *loss = nn_softmax_cross_entropy(
            g, mlp_forward(g, m, nn_graph_input(g, xb, 2, count, d->dim)), yb);
        nn_graph_check_finite(g, loss, opt->step);
        total += (double)loss->data[0] * count;
        nn_params_zero_grad(&m->ps);
        nn_backward(g, loss);
        nn_optim_step(opt);
        nn_graph_reset(g);
    }
    free(order), free(xb);
    return total / d->n;
}

/* probs (d->n, 10) = softmax(logits): the scores every metric below starts from */
static void mlp_predict(const mlp *m, const nn_data *d, nn_graph *g, nn_real *probs)
{
    g->grad = 0;
    for (int start = 0; start < d->n; start += 1000) {
        int count = d->n - start < 1000 ? d->n - start : 1000;
        nn_tensor *x = nn_graph_input(g, d->x + (size_t)start * d->dim, 2, count, d->dim);
        nn_kernel_softmax(probs + (size_t)start * CLASSES, mlp_forward(g, m, x)->data, count,
                          CLASSES);
        nn_graph_reset(g);
    }
    g->grad = 1;
}

/* train for `epochs` on train; returns the seconds spent */
static double mlp_train(mlp *m, const nn_data *train, int epochs, nn_graph *g, nn_rng *rng)
{
    double t0 = nn_seconds();
    nn_optim opt;
    nn_optim_init(&opt, NN_OPTIM_ADAM, &m->ps, 1e-3f);
    for (int e = 0; e < epochs; e++) mlp_epoch(m, &opt, train, g, rng);
    nn_optim_free(&opt);
    return nn_seconds() - t0;
}

/* examples idx[0..n) of d as a new dataset (a copy, same geometry; free with nn_data_free) */
static void take(nn_data *out, const nn_data *d, const int *idx, int n)
{
    *out = *d;
    out->n = n;
    out->x = nn_malloc(nn_size_mul((size_t)n * d->dim, sizeof *out->x, "take"));
    out->y = nn_malloc((size_t)n * sizeof *out->y);
    nn_data_batch(d, idx, 0, n, out->x, out->y);
}

static double accuracy_of(const nn_real *probs, const nn_data *d)
{
    return nn_metrics_accuracy(probs, d->y, d->n, CLASSES);
}

/* ------------------------------------------------------------------------------------------ */
/* Part 1 helpers: ROC curves and the confused pairs                                           */
/* ------------------------------------------------------------------------------------------ */

/* One-vs-rest ROC of every class (scores probs[:,c], positives y == c) in one figure, with
 * the chance diagonal. auc[c] comes from nn_metrics_auc_ovr. */
static void plot_roc_ovr(const char *dir, const nn_real *probs, const nn_data *test,
                         const double *auc)
{
    int n = test->n;
    nn_real *score = nn_malloc((size_t)n * sizeof *score);
    int *positive = nn_malloc((size_t)n * sizeof *positive);
    double *fpr = nn_malloc((size_t)CLASSES * (n + 1) * sizeof *fpr);
    double *tpr = nn_malloc((size_t)CLASSES * (n + 1) * sizeof *tpr);
    char labels[CLASSES][64];
    nn_plot_series s[CLASSES + 1];
    for (int c = 0; c < CLASSES; c++) {
        for (int i = 0; i < n; i++) score[i] = probs[(size_t)i * CLASSES + c], positive[i] = test->y[i] == c;
        double *f = fpr + (size_t)c * (n + 1), *t = tpr + (size_t)c * (n + 1);
        int m = nn_metrics_roc(f, t, NULL, score, positive, n);
        snprintf(labels[c], sizeof labels[c], "%s (AUC %.3f)", class_names[c], auc[c]);
        s[c] = (nn_plot_series){labels[c], f, t, m};
    }
    static const double diag[2] = {0, 1};
    s[CLASSES] = (nn_plot_series){"chance (AUC 0.5)", diag, diag, 2};
    nn_plot_lines(dir, "roc_ovr", "One-vs-rest ROC curves on the test set", "false positive rate",
                  "true positive rate (recall)", s, CLASSES + 1, 0);
    free(score), free(positive), free(fpr), free(tpr);
}

/* The three largest off-diagonal cells of cm (true t called p), largest first */
static void top_confusions(const int *cm, int pairs[3][2])
{
    for (int k = 0; k < 3; k++) {
        int best = -1;
        for (int t = 0; t < CLASSES; t++)
            for (int p = 0; p < CLASSES; p++) {
                int taken = 0;
                for (int j = 0; j < k; j++) taken |= pairs[j][0] == t && pairs[j][1] == p;
                if (t != p && !taken && (best < 0 || cm[t * CLASSES + p] > cm[best]))
                    best = t * CLASSES + p;
            }
        pairs[k][0] = best / CLASSES, pairs[k][1] = best % CLASSES;
    }
}

/* up to 8 test images of each confused pair, one row per pair (black where there are fewer) */
static void plot_confused_examples(const char *dir, const nn_data *test, const int *pred,
                                   const int *cm, int pairs[3][2])
{
    enum { PER_ROW = 8 };
    nn_real *images = nn_calloc((size_t)3 * PER_ROW * test->dim, sizeof *images);
    char title[400];
    int at = snprintf(title, sizeof title, "Most confused pairs (true -> predicted):");
    for (int k = 0; k < 3; k++) {
        int t = pairs[k][0], p = pairs[k][1], found = 0;
        for (int i = 0; i < test->n && found < PER_ROW; i++)
            if (test->y[i] == t && pred[i] == p)
                memcpy(images + (size_t)(k * PER_ROW + found++) * test->dim,
                       test->x + (size_t)i * test->dim, (size_t)test->dim * sizeof *images);
        at += snprintf(title + at, sizeof title - at, "\nrow %d: %s -> %s (%d times)", k + 1,
                       class_names[t], class_names[p], cm[t * CLASSES + p]);
    }
    nn_plot_images(dir, "confused_examples", title, images, 3 * PER_ROW, test->height,
                   test->width, PER_ROW, 0);
    free(images);
}

/* ------------------------------------------------------------------------------------------ */
/* Part 2 helpers: one class against the rest                                                   */
/* ------------------------------------------------------------------------------------------ */

/* accuracy, precision, recall, F1 of the binary predictions `said` (1 = "it is class c") */
static void binary_row(double *row, const int *is_c, const int *said, int n)
{
    int cm[4];
    nn_metrics_confusion(cm, is_c, said, n, 2);
    nn_metrics_prf r = nn_metrics_class_prf(cm, 2, 1); /* the positive class */
    row[0] = (double)(cm[0] + cm[3]) / n;
    row[1] = r.precision, row[2] = r.recall, row[3] = r.f1;
}

/* ------------------------------------------------------------------------------------------ */
/* Part 4: polynomial regression on y = sin(pi x) + noise, x in [-1, 1]                        */
/* ------------------------------------------------------------------------------------------ */

#define MAX_DEGREE 15
static const double NOISE = 0.3; /* std of the noise: no model can beat MSE 0.09 */

static double truth(double x) { return sin(M_PI * x); }

/* validation and test points: x uniform on [-1, 1] */
static void sample(double *x, double *y, int n, nn_rng *rng)
{
    for (int i = 0; i < n; i++) {
        x[i] = 2 * nn_rng_uniform(rng) - 1;
        y[i] = truth(x[i]) + NOISE * nn_rng_normal(rng);
    }
}

/* training sets: n evenly spaced x (a fixed design, like a sensor read at regular times),
 * fresh noise each time. (With random x, gaps near the ends let high degrees swing wildly.) */
static void sample_grid(double *x, double *y, int n, nn_rng *rng)
{
    for (int i = 0; i < n; i++) {
        x[i] = -1 + 2 * (i + 0.5) / n;
        y[i] = truth(x[i]) + NOISE * nn_rng_normal(rng);
    }
}

/* Legendre polynomials P_0..P_d at x: (k+1) P_{k+1} = (2k+1) x P_k - k P_{k-1}. They span
 * the same functions as 1, x, ..., x^d but are nearly orthogonal on [-1,1], so the least
 * squares problem stays well conditioned up to degree 15 (monomials would not). */
static void legendre(double *p, double x, int d)
{
    p[0] = 1;
    if (d >= 1) p[1] = x;
    for (int k = 1; k < d; k++) p[k + 1] = ((2 * k + 1) * x * p[k] - k * p[k - 1]) / (k + 1);
}

/* Least squares: w = argmin sum_i (y_i - P(x_i) w)^2 + 1e-9 |w|^2, from the normal equations
 * (A^T A + 1e-9 I) w = A^T y, solved by Gaussian elimination with partial pivoting. The tiny
 * ridge only matters when there are fewer points than coefficients. */
static void poly_fit(double *w, int d, const double *x, const double *y, int n)
{
    int m = d + 1;
    double A[MAX_DEGREE + 1][MAX_DEGREE + 2] = {{0}}, p[MAX_DEGREE + 1];
    for (int i = 0; i < n; i++) {
        legendre(p, x[i], d);
        for (int r = 0; r < m; r++) {
            for (int c = 0; c < m; c++) A[r][c] += p[r] * p[c];
            A[r][m] += p[r] * y[i];
        }
    }
    for (int r = 0; r < m; r++) A[r][r] += 1e-9;
    for (int col = 0; col < m; col++) {
        int piv = col;
        for (int r = col + 1; r < m; r++) piv = fabs(A[r][col]) > fabs(A[piv][col]) ? r : piv;
        for (int c = 0; c <= m; c++) {
            double t = A[col][c];
            A[col][c] = A[piv][c], A[piv][c] = t;
        }
        for (int r = col + 1; r < m; r++) {
            double f = A[r][col] / A[col][col];
            for (int c = col; c <= m; c++) A[r][c] -= f * A[col][c];
        }
    }
    for (int r = m - 1; r >= 0; r--) {
        double s = A[r][m];
        for (int c = r + 1; c < m; c++) s -= A[r][c] * w[c];
        w[r] = s / A[r][r];
    }
}

static void poly_predict(nn_real *out, const double *w, int d, const double *x, int n)
{
    double p[MAX_DEGREE + 1];
    for (int i = 0; i < n; i++) {
        legendre(p, x[i], d);
        double s = 0;
        for (int k = 0; k <= d; k++) s += w[k] * p[k];
        out[i] = (nn_real)s;
    }
}

/* MSE of a degree-d fit on (x, y), through the library's metric */
static double poly_mse(const double *w, int d, const double *x, const double *y, int n)
{
    nn_real *pred = nn_malloc((size_t)n * sizeof *pred), *target = nn_malloc((size_t)n * sizeof *target);
    poly_predict(pred, w, d, x, n);
    for (int i = 0; i < n; i++) target[i] = (nn_real)y[i];
    double mse = nn_metrics_mse(pred, target, n);
    free(pred), free(target);
    return mse;
}

/* ------------------------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    nn_cli cli;
    nn_cli_parse(&cli, 12, "Lesson 12: evaluation -- confusion matrix, precision/recall/F1, ROC "
                           "and PR curves, imbalanced classes, hold-out vs k-fold "
                           "cross-validation, and the bias-variance trade-off.", argc, argv);
    nn_rng rng;
    nn_rng_seed(&rng, cli.seed);
    nn_report report;
    nn_report_init(&report, 12);
    nn_graph *g = nn_graph_new();

    /* ---- 1. data: a stratified validation split, and a test set kept aside ----------------- */
    nn_data all, full_test, pool, train, val, test;
    nn_data_fmnist_load(&all, &full_test);
    nn_data_subset(&pool, &all, cli.quick ? 6000 : all.n);
    nn_data_subset(&test, &full_test, cli.quick ? 2000 : full_test.n);
    nn_data_free(&all), nn_data_free(&full_test);
    /* The validation set tunes (here: picks the epoch and a threshold); the test set is
     * looked at once, at the end. Stratified: each class keeps its 10% share in both parts. */
    int val_count = pool.n / 6;
    int *train_idx = nn_malloc((size_t)pool.n * sizeof *train_idx);
    int *val_idx = nn_malloc((size_t)val_count * sizeof *val_idx);
    nn_metrics_split_stratified(train_idx, val_idx, pool.y, pool.n, CLASSES, val_count, &rng);
    take(&train, &pool, train_idx, pool.n - val_count);
    take(&val, &pool, val_idx, val_count);
    free(train_idx), free(val_idx);
    nn_data_free(&pool);
    int epochs = nn_cli_epochs(&cli, 15, 3);
    printf("1. MLP 784-128-10 on Fashion-MNIST: %d train / %d validation / %d test, %d epochs\n",
           train.n, val.n, test.n, epochs);

    mlp net;
    mlp_init(&net, train.dim, 128, &rng);
    nn_optim opt;
    nn_optim_init(&opt, NN_OPTIM_ADAM, &net.ps, 1e-3f);
    nn_earlystop best; /* keeps the weights of the epoch with the best validation accuracy */
    nn_earlystop_init(&best, epochs, 0, NN_EARLYSTOP_MAXIMIZE);
    nn_real *val_probs = nn_malloc((size_t)val.n * CLASSES * sizeof *val_probs);
    nn_real *probs = nn_malloc((size_t)test.n * CLASSES * sizeof *probs);
    double *loss_curve = nn_malloc(epochs * sizeof *loss_curve);
    double *val_curve = nn_malloc(epochs * sizeof *val_curve);
    double train_seconds = 0;
    printf("   epoch  train loss  val accuracy\n");
    for (int e = 0; e < epochs; e++) {
        double t0 = nn_seconds();
        loss_curve[e] = mlp_epoch(&net, &opt, &train, g, &rng);
        train_seconds += nn_seconds() - t0;
        mlp_predict(&net, &val, g, val_probs);
        val_curve[e] = accuracy_of(val_probs, &val);
        nn_earlystop_update(&best, &net.ps, val_curve[e], e);
        printf("   %5d  %10.4f  %12.4f\n", e + 1, loss_curve[e], val_curve[e]);
    }
    nn_earlystop_restore(&best, &net.ps);
    printf("   best validation accuracy %.4f at epoch %d: those weights are the model\n",
           best.best, best.best_epoch + 1);
    nn_plot_series curves[2] = {{"training loss", NULL, loss_curve, epochs},
                                {"validation accuracy", NULL, val_curve, epochs}};
    nn_plot_lines(cli.out, "training", "MLP on Fashion-MNIST: training loss and validation accuracy",
                  "epoch - 1", "loss / accuracy", curves, 2, 0);

    /* The one look at the test set. Everything below is computed from these probabilities. */
    mlp_predict(&net, &test, g, probs);
    mlp_predict(&net, &val, g, val_probs); /* the chosen model on validation, for part 2 */
    int *pred = nn_malloc((size_t)test.n * sizeof *pred), cm[CLASSES * CLASSES];
    nn_metrics_argmax(pred, probs, test.n, CLASSES);
    nn_metrics_confusion(cm, test.y, pred, test.n, CLASSES);
    double test_accuracy = accuracy_of(probs, &test);
    nn_metrics_prf macro = nn_metrics_macro(cm, CLASSES), micro = nn_metrics_micro(cm, CLASSES);
    double auc[CLASSES];
    double auc_macro = nn_metrics_auc_ovr(auc, probs, test.y, test.n, CLASSES);

    printf("\n   test set, confusion matrix (rows: true class, columns: predicted):\n");
    nn_metrics_print_confusion(stdout, cm, CLASSES, class_names);
    printf("\n   test set, per class:\n");
    nn_metrics_print_report(stdout, cm, CLASSES, class_names);
    printf("   micro F1 %.4f = accuracy %.4f (one label per image: every mistake is one FP and "
           "one FN)\n", micro.f1, test_accuracy);
    printf("   one-vs-rest ROC AUC per class:");
    for (int c = 0; c < CLASSES; c++) printf("%s %.3f", c % 5 ? "" : "\n     ", auc[c]);
    printf("\n   macro AUC %.4f\n", auc_macro);
    nn_plot_confusion(cli.out, "confusion_matrix", "Fashion-MNIST test set: confusion matrix "
                      "(colour: fraction of the row)", cm, CLASSES, class_names);
    plot_roc_ovr(cli.out, probs, &test, auc);
    int pairs[3][2];
    top_confusions(cm, pairs);
    printf("   most confused: ");
    for (int k = 0; k < 3; k++)
        printf("%s -> %s (%d)%s", class_names[pairs[k][0]], class_names[pairs[k][1]],
               cm[pairs[k][0] * CLASSES + pairs[k][1]], k < 2 ? ", " : "\n");
    plot_confused_examples(cli.out, &test, pred, cm, pairs);

    /* ---- 2. imbalanced: one class (10% of the images) against the rest -------------------- */
    printf("\n2. One class against the rest: 10%% positives, where accuracy misleads\n");
    int n = test.n, *is_c = nn_malloc((size_t)n * sizeof *is_c), *said = nn_malloc((size_t)n * sizeof *said);
    int *val_is_c = nn_malloc((size_t)val.n * sizeof *val_is_c);
    nn_real *score = nn_malloc((size_t)n * sizeof *score), *constant = nn_malloc((size_t)n * sizeof *constant);
    nn_real *val_score = nn_malloc((size_t)val.n * sizeof *val_score);
    double *pr_p = nn_malloc((size_t)2 * (n + 1) * sizeof *pr_p), *pr_r = nn_malloc((size_t)2 * (n + 1) * sizeof *pr_r);
    double *vp = nn_malloc((size_t)(val.n + 1) * sizeof *vp), *vr = nn_malloc((size_t)(val.n + 1) * sizeof *vr);
    double *vt = nn_malloc((size_t)(val.n + 1) * sizeof *vt);
    const char *rows[5] = {"bag: always no", "bag: MLP argmax", "shirt: always no", "shirt: MLP argmax",
                           "shirt: recall-0.9 threshold"};
    double table[5][6], positive_rate[2], shirt_threshold = 0.5;
    char pr_labels[2][64];
    nn_plot_series pr_series[3];
    for (int which = 0; which < 2; which++) {
        int c = which == 0 ? BAG : SHIRT;
        double *row_no = table[which == 0 ? 0 : 2], *row_mlp = table[which == 0 ? 1 : 3];
        int positives = 0;
        for (int i = 0; i < n; i++) {
            is_c[i] = test.y[i] == c, positives += is_c[i];
            score[i] = probs[(size_t)i * CLASSES + c]; /* P(class c | image) */
        }
        positive_rate[which] = (double)positives / n;
        /* the always-no classifier: a constant score (every pair of a positive and a negative
         * is a tie: AUC 1/2; AP = the positive rate), every answer "no" */
        for (int i = 0; i < n; i++) said[i] = 0, constant[i] = 0;
        binary_row(row_no, is_c, said, n);
        row_no[4] = nn_metrics_auc(constant, is_c, n);
        row_no[5] = nn_metrics_average_precision(constant, is_c, n);
        /* the MLP: "yes" when class c wins the argmax */
        for (int i = 0; i < n; i++) said[i] = pred[i] == c;
        binary_row(row_mlp, is_c, said, n);
        row_mlp[4] = nn_metrics_auc(score, is_c, n);
        row_mlp[5] = nn_metrics_average_precision(score, is_c, n);
        double *p = pr_p + (size_t)which * (n + 1), *r = pr_r + (size_t)which * (n + 1);
        int m = nn_metrics_pr_curve(p, r, NULL, score, is_c, n);
        snprintf(pr_labels[which], sizeof pr_labels[which], "%s (AP %.3f)", class_names[c], row_mlp[5]);
        pr_series[which] = (nn_plot_series){pr_labels[which], r, p, m};
    }
    /* Choosing an operating point. Say a shop must find at least 90% of the shirts (recall
     * 0.9) and accepts the false alarms that costs. Every point of the PR curve is a
     * threshold: on the VALIDATION set take the highest threshold whose recall reaches 0.9,
     * then apply it to the test set. (Choosing it on the test set would make the test numbers
     * optimistic: the test set would have been used for tuning.) */
    for (int i = 0; i < val.n; i++)
        val_is_c[i] = val.y[i] == SHIRT, val_score[i] = val_probs[(size_t)i * CLASSES + SHIRT];
    int vm = nn_metrics_pr_curve(vp, vr, vt, val_score, val_is_c, val.n);
    int op = 1;
    while (op < vm - 1 && vr[op] < TARGET_RECALL) op++; /* recall grows as the threshold falls */
    shirt_threshold = vt[op];
    for (int i = 0; i < n; i++) {
        is_c[i] = test.y[i] == SHIRT;
        said[i] = probs[(size_t)i * CLASSES + SHIRT] >= shirt_threshold;
    }
    binary_row(table[4], is_c, said, n);
    table[4][4] = table[3][4], table[4][5] = table[3][5]; /* same scores, same curves */
    const char *cols[6] = {"accuracy", "precision", "recall", "f1", "roc_auc", "avg_prec"};
    nn_metrics_print_table(stdout, rows, 5, cols, 6, &table[0][0], NULL);
    printf("   shirt threshold for recall %.2f, chosen on validation: P(shirt) >= %.3f "
           "(validation precision %.3f, recall %.3f)\n", TARGET_RECALL, shirt_threshold, vp[op], vr[op]);
    static const double chance_x[2] = {0, 1};
    double chance_bag[2] = {positive_rate[0], positive_rate[0]};
    pr_series[2] = (nn_plot_series){"chance (positive rate)", chance_x, chance_bag, 2};
    double op_r = table[4][2], op_p = table[4][1];
    nn_plot_series op_point = {"shirt, recall-0.9 threshold", &op_r, &op_p, 1};
    nn_plot_lines_points(cli.out, "pr_bag_shirt", "Precision-recall on the test set: bag vs shirt",
                         "recall", "precision", pr_series, 3, &op_point, 1);

    /* ---- 3. hold-out vs k-fold cross-validation ------------------------------------------ */
    /* A smaller problem so that training 5 + 1 models stays cheap: the first cv_n training
     * images, an MLP 784-64-10. Each fold trains on 4/5 and validates on the other 1/5. */
    int cv_n = cli.quick ? 2000 : 20000, cv_epochs = cli.quick ? 3 : 8;
    nn_data cv;
    nn_data_subset(&cv, &train, cv_n);
    printf("\n3. %d-fold stratified cross-validation: MLP 784-64-10 on %d training images, %d "
           "epochs\n", FOLDS, cv.n, cv_epochs);
    int *fold = nn_malloc((size_t)cv.n * sizeof *fold);
    int *tr = nn_malloc((size_t)cv.n * sizeof *tr), *va = nn_malloc((size_t)cv.n * sizeof *va);
    nn_metrics_kfold_stratified(fold, cv.y, cv.n, CLASSES, FOLDS, &rng);
    double fold_acc[FOLDS], fold_test[FOLDS], fold_x[FOLDS], cv_table[FOLDS + 2][2];
    nn_real *cv_probs = nn_malloc((size_t)cv.n * CLASSES * sizeof *cv_probs);
    nn_real *cv_test_probs = nn_malloc((size_t)test.n * CLASSES * sizeof *cv_test_probs);
    double mean = 0, sd = 0, cv_seconds = 0;
    for (int f = 0; f < FOLDS; f++) {
        int nv = nn_metrics_fold_indices(tr, va, fold, cv.n, f);
        nn_data ftrain, fval;
        take(&ftrain, &cv, tr, cv.n - nv);
        take(&fval, &cv, va, nv);
        mlp m;
        mlp_init(&m, cv.dim, 64, &rng);
        cv_seconds += mlp_train(&m, &ftrain, cv_epochs, g, &rng);
        mlp_predict(&m, &fval, g, cv_probs);
        fold_acc[f] = accuracy_of(cv_probs, &fval);
        int fcm[CLASSES * CLASSES], *fpred = nn_malloc((size_t)nv * sizeof *fpred);
        nn_metrics_argmax(fpred, cv_probs, nv, CLASSES);
        nn_metrics_confusion(fcm, fval.y, fpred, nv, CLASSES);
        cv_table[f][0] = fold_acc[f], cv_table[f][1] = nn_metrics_macro(fcm, CLASSES).f1;
        /* for the cautionary tale below only: this fold's model on the test set */
        mlp_predict(&m, &test, g, cv_test_probs);
        fold_test[f] = accuracy_of(cv_test_probs, &test);
        fold_x[f] = f + 1;
        mean += fold_acc[f] / FOLDS;
        free(fpred);
        nn_params_free(&m.ps);
        nn_data_free(&ftrain), nn_data_free(&fval);
    }
    /* the spread of the fold estimates: sample standard deviation (divide by k - 1) */
    for (int f = 0; f < FOLDS; f++) sd += (fold_acc[f] - mean) * (fold_acc[f] - mean) / (FOLDS - 1);
    sd = sqrt(sd);
    cv_table[FOLDS][0] = mean, cv_table[FOLDS][1] = NAN;
    cv_table[FOLDS + 1][0] = sd, cv_table[FOLDS + 1][1] = NAN;
    const char *cv_rows[FOLDS + 2] = {"fold 1", "fold 2", "fold 3", "fold 4", "fold 5", "mean", "std"};
    const char *cv_cols[2] = {"val_accuracy", "val_macro_f1"};
    nn_metrics_print_table(stdout, cv_rows, FOLDS + 2, cv_cols, 2, &cv_table[0][0], NULL);
    printf("   a single hold-out (fold 1 alone) says %.4f; 5-fold says %.4f +- %.4f "
           "(standard error of the mean %.4f)\n", fold_acc[0], mean, sd, sd / sqrt(FOLDS));
    /* The model we would ship: retrain on all cv_n images, then ONE test evaluation. */
    mlp final;
    mlp_init(&final, cv.dim, 64, &rng);
    cv_seconds += mlp_train(&final, &cv, cv_epochs, g, &rng);
    mlp_predict(&final, &test, g, cv_test_probs);
    double cv_final_test = accuracy_of(cv_test_probs, &test);
    double test_mean = 0, test_max = 0;
    for (int f = 0; f < FOLDS; f++) test_mean += fold_test[f] / FOLDS, test_max = fmax(test_max, fold_test[f]);
    printf("   retrained on all %d images: test accuracy %.4f (touched once)\n", cv.n, cv_final_test);
    printf("   the 5 fold models on the test set: mean %.4f, best %.4f -- choosing the best of "
           "several models BY TEST accuracy reports the luckiest one, +%.4f\n",
           test_mean, test_max, test_max - test_mean);
    double mean_line[2] = {mean, mean}, test_line[2] = {cv_final_test, cv_final_test}, fx[2] = {1, FOLDS};
    nn_plot_series kf_lines[2] = {{"5-fold mean", fx, mean_line, 2}, {"test (retrained on all)", fx, test_line, 2}};
    nn_plot_series kf_points[2] = {{"validation accuracy of each fold", fold_x, fold_acc, FOLDS},
                                   {"that fold's model on the test set", fold_x, fold_test, FOLDS}};
    nn_plot_lines_points(cli.out, "kfold", "5-fold cross-validation: one estimate per fold",
                         "fold", "accuracy", kf_lines, 2, kf_points, 2);

    /* ---- 4. bias and variance: polynomials of growing degree on noisy sin(pi x) ----------- */
    enum { N_TRAIN = 30, N_VAL = 1000, N_TEST = 1000, REPEATS = 200, GRID = 201 };
    printf("\n4. Bias and variance: y = sin(pi x) + N(0, %.1f^2), %d training points, degree "
           "0..%d\n", NOISE, N_TRAIN, MAX_DEGREE);
    nn_rng prng; /* its own stream, so parts 1-3 and --quick do not change part 4 */
    nn_rng_seed(&prng, cli.seed + 12);
    double xv[N_VAL], yv[N_VAL], xt[N_TEST], yt[N_TEST], xs[N_TRAIN], ys[N_TRAIN], w[MAX_DEGREE + 1];
    double grid[GRID], f_true[GRID];
    sample(xv, yv, N_VAL, &prng);
    sample(xt, yt, N_TEST, &prng);
    /* "the" data set of 4b and its folds, drawn first so that --quick keeps them */
    int pfold[N_TRAIN], ptr[N_TRAIN], pva[N_TRAIN], best_degree = 0;
    sample_grid(xs, ys, N_TRAIN, &prng);
    nn_metrics_kfold(pfold, N_TRAIN, FOLDS, &prng);
    for (int i = 0; i < GRID; i++) grid[i] = -1 + 2.0 * i / (GRID - 1), f_true[i] = truth(grid[i]);

    /* 4a. The expected errors: average over REPEATS training sets of N_TRAIN points. At each
     * grid point x, with fbar(x) the mean fit over the training sets,
     *   E[(y - f(x))^2] = (fbar(x) - sin(pi x))^2 + E[(f(x) - fbar(x))^2] + sigma^2
     *                   =        bias^2          +       variance        + noise          */
    double degrees[MAX_DEGREE + 1], tr_mse[MAX_DEGREE + 1], va_mse[MAX_DEGREE + 1];
    double bias2[MAX_DEGREE + 1], variance[MAX_DEGREE + 1], total[MAX_DEGREE + 1], noise[MAX_DEGREE + 1];
    int repeats = cli.quick ? 50 : REPEATS;
    nn_real *fits = nn_malloc((size_t)repeats * GRID * sizeof *fits);
    for (int d = 0; d <= MAX_DEGREE; d++) {
        degrees[d] = d, tr_mse[d] = va_mse[d] = bias2[d] = variance[d] = 0;
        for (int r = 0; r < repeats; r++) {
            double rx[N_TRAIN], ry[N_TRAIN];
            sample_grid(rx, ry, N_TRAIN, &prng);
            poly_fit(w, d, rx, ry, N_TRAIN);
            tr_mse[d] += poly_mse(w, d, rx, ry, N_TRAIN) / repeats;
            va_mse[d] += poly_mse(w, d, xv, yv, N_VAL) / repeats;
            poly_predict(fits + (size_t)r * GRID, w, d, grid, GRID);
        }
        for (int i = 0; i < GRID; i++) {
            double fbar = 0, v = 0;
            for (int r = 0; r < repeats; r++) fbar += fits[(size_t)r * GRID + i] / repeats;
            for (int r = 0; r < repeats; r++) {
                double e = fits[(size_t)r * GRID + i] - fbar;
                v += e * e / repeats;
            }
            bias2[d] += (fbar - f_true[i]) * (fbar - f_true[i]) / GRID;
            variance[d] += v / GRID;
        }
        total[d] = bias2[d] + variance[d] + NOISE * NOISE;
        noise[d] = NOISE * NOISE;
    }
    /* 4b. What one can do with ONE data set: choose the degree by 5-fold CV on it, refit on
     * all of it, and report the test errors once. */
    double cv_mse[MAX_DEGREE + 1];
    for (int d = 0; d <= MAX_DEGREE; d++) {
        cv_mse[d] = 0;
        for (int f = 0; f < FOLDS; f++) {
            int nv = nn_metrics_fold_indices(ptr, pva, pfold, N_TRAIN, f), nt = N_TRAIN - nv;
            double ax[N_TRAIN], ay[N_TRAIN], bx[N_TRAIN], by[N_TRAIN]; /* fit on a, score on b */
            for (int i = 0; i < nt; i++) ax[i] = xs[ptr[i]], ay[i] = ys[ptr[i]];
            for (int i = 0; i < nv; i++) bx[i] = xs[pva[i]], by[i] = ys[pva[i]];
            poly_fit(w, d, ax, ay, nt);
            cv_mse[d] += poly_mse(w, d, bx, by, nv) * nv / N_TRAIN; /* pooled over the folds */
        }
        if (cv_mse[d] < cv_mse[best_degree]) best_degree = d;
    }
    printf("   train_mse .. b^2+var+noise: averaged over %d training sets; cv_mse: 5-fold CV on "
           "one data set\n", repeats);
    double bv_table[MAX_DEGREE + 1][6];
    const char *bv_rows[MAX_DEGREE + 1];
    char bv_names[MAX_DEGREE + 1][16];
    for (int d = 0; d <= MAX_DEGREE; d++) {
        snprintf(bv_names[d], sizeof bv_names[d], "degree %d", d);
        bv_rows[d] = bv_names[d];
        bv_table[d][0] = tr_mse[d], bv_table[d][1] = va_mse[d], bv_table[d][2] = bias2[d];
        bv_table[d][3] = variance[d], bv_table[d][4] = total[d], bv_table[d][5] = cv_mse[d];
    }
    const char *bv_cols[6] = {"train_mse", "val_mse", "bias^2", "variance", "b^2+var+noise", "cv_mse"};
    nn_metrics_print_table(stdout, bv_rows, MAX_DEGREE + 1, bv_cols, 6, &bv_table[0][0],
                           (const int[]){4, 4, 4, 4, 4, 4});
    nn_plot_series cap[4] = {{"training MSE (mean of many sets)", degrees, tr_mse, MAX_DEGREE + 1},
                             {"validation MSE (mean of many sets)", degrees, va_mse, MAX_DEGREE + 1},
                             {"5-fold CV MSE (one data set)", degrees, cv_mse, MAX_DEGREE + 1},
                             {"noise floor sigma^2", degrees, noise, MAX_DEGREE + 1}};
    nn_plot_lines(cli.out, "capacity_curve", "Error against capacity: training falls, validation "
                  "is U-shaped", "polynomial degree", "mean squared error", cap, 4, 1);
    nn_plot_series bv[4] = {{"bias^2", degrees, bias2, MAX_DEGREE + 1},
                            {"variance", degrees, variance, MAX_DEGREE + 1},
                            {"bias^2 + variance + noise", degrees, total, MAX_DEGREE + 1},
                            {"validation MSE", degrees, va_mse, MAX_DEGREE + 1}};
    nn_plot_lines(cli.out, "bias_variance", "Bias-variance decomposition of the expected error",
                  "polynomial degree", "squared error", bv, 4, 1);

    poly_fit(w, best_degree, xs, ys, N_TRAIN);
    nn_real pt[N_TEST], yt_r[N_TEST];
    poly_predict(pt, w, best_degree, xt, N_TEST);
    for (int i = 0; i < N_TEST; i++) yt_r[i] = (nn_real)yt[i];
    double poly_test_mse = nn_metrics_mse(pt, yt_r, N_TEST), poly_rmse = nn_metrics_rmse(pt, yt_r, N_TEST);
    double poly_mae = nn_metrics_mae(pt, yt_r, N_TEST), poly_r2 = nn_metrics_r2(pt, yt_r, N_TEST);
    printf("   one data set of %d points, 5-fold CV MSE: degree 1 %.3f, %d %.3f (best), %d %.3f\n",
           N_TRAIN, cv_mse[1], best_degree, cv_mse[best_degree], MAX_DEGREE, cv_mse[MAX_DEGREE]);
    printf("   degree %d refit on all %d points, test set of %d: MSE %.4f  RMSE %.4f  MAE %.4f  "
           "R^2 %.4f  (noise alone: MSE %.2f)\n", best_degree, N_TRAIN, N_TEST, poly_test_mse,
           poly_rmse, poly_mae, poly_r2, NOISE * NOISE);
    /* the fits of degree 1, the chosen degree and 15 over the data */
    double curves_y[3][GRID];
    int show[3] = {1, best_degree, MAX_DEGREE};
    char fit_labels[3][48];
    nn_plot_series fit_lines[4];
    for (int k = 0; k < 3; k++) {
        nn_real tmp[GRID];
        poly_fit(w, show[k], xs, ys, N_TRAIN);
        poly_predict(tmp, w, show[k], grid, GRID);
        for (int i = 0; i < GRID; i++) curves_y[k][i] = fmax(-2.5, fmin(2.5, tmp[i])); /* clip wild ends */
        snprintf(fit_labels[k], sizeof fit_labels[k], "degree %d%s", show[k],
                 k == 0 ? " (underfits)" : k == 1 ? " (chosen by CV)" : " (overfits)");
        fit_lines[k] = (nn_plot_series){fit_labels[k], grid, curves_y[k], GRID};
    }
    fit_lines[3] = (nn_plot_series){"sin(pi x), the truth", grid, f_true, GRID};
    char points_label[48], fits_title[64];
    snprintf(points_label, sizeof points_label, "the %d training points", N_TRAIN);
    snprintf(fits_title, sizeof fits_title, "Polynomial fits to %d noisy points", N_TRAIN);
    nn_plot_series data_points = {points_label, xs, ys, N_TRAIN};
    nn_plot_lines_points(cli.out, "poly_fits", fits_title, "x", "y", fit_lines, 4, &data_points, 1);

    /* 4c. Learning curves: errors against the training-set size, for an underfitting model
     * (degree 1: both errors meet high, more data cannot fix bias), the chosen degree, and a
     * flexible one (degree 12: a wide gap that closes slowly -- variance, which data cures). */
    enum { SIZES = 10 };
    const int sizes[SIZES] = {16, 20, 25, 32, 45, 64, 90, 128, 180, 256};
    int lc_degree[3] = {1, best_degree, 12};
    double lc_x[SIZES], lc[6][SIZES], lx[256], ly[256];
    char lc_labels[6][48];
    nn_plot_series lcs[7];
    for (int s = 0; s < SIZES; s++) lc_x[s] = sizes[s];
    for (int k = 0; k < 3; k++) {
        for (int s = 0; s < SIZES; s++) {
            lc[2 * k][s] = lc[2 * k + 1][s] = 0;
            int reps = cli.quick ? 20 : 100;
            for (int r = 0; r < reps; r++) {
                sample_grid(lx, ly, sizes[s], &prng);
                poly_fit(w, lc_degree[k], lx, ly, sizes[s]);
                lc[2 * k][s] += poly_mse(w, lc_degree[k], lx, ly, sizes[s]) / reps;
                lc[2 * k + 1][s] += poly_mse(w, lc_degree[k], xv, yv, N_VAL) / reps;
            }
        }
        snprintf(lc_labels[2 * k], sizeof lc_labels[0], "degree %d, training", lc_degree[k]);
        snprintf(lc_labels[2 * k + 1], sizeof lc_labels[0], "degree %d, validation", lc_degree[k]);
        lcs[2 * k] = (nn_plot_series){lc_labels[2 * k], lc_x, lc[2 * k], SIZES};
        lcs[2 * k + 1] = (nn_plot_series){lc_labels[2 * k + 1], lc_x, lc[2 * k + 1], SIZES};
    }
    double floor_y[SIZES];
    for (int s = 0; s < SIZES; s++) floor_y[s] = NOISE * NOISE;
    lcs[6] = (nn_plot_series){"noise floor sigma^2", lc_x, floor_y, SIZES};
    nn_plot_lines(cli.out, "learning_curve", "Learning curves: MSE against training-set size",
                  "training points", "mean squared error", lcs, 7, 1);
    printf("   learning curves at 256 points: degree 1 train %.3f / val %.3f, degree %d %.3f / "
           "%.3f, degree 12 %.3f / %.3f\n", lc[0][SIZES - 1], lc[1][SIZES - 1], best_degree,
           lc[2][SIZES - 1], lc[3][SIZES - 1], lc[4][SIZES - 1], lc[5][SIZES - 1]);

    /* ---- results ------------------------------------------------------------------------ */
    printf("\nResults\n");
    printf("   %-44s %.4f (reference MLP 0.871)\n", "Fashion-MNIST test accuracy", test_accuracy);
    printf("   %-44s %.4f / %.4f\n", "macro F1 / micro F1 (= accuracy)", macro.f1, micro.f1);
    printf("   %-44s %.4f\n", "macro one-vs-rest ROC AUC", auc_macro);
    printf("   %-44s acc %.3f  F1 %.3f\n", "bag: always no", table[0][0], table[0][3]);
    printf("   %-44s acc %.3f  F1 %.3f\n", "bag: MLP", table[1][0], table[1][3]);
    printf("   %-44s acc %.3f  F1 %.3f\n", "shirt: MLP", table[3][0], table[3][3]);
    printf("   %-44s precision %.3f  recall %.3f\n", "shirt: recall-0.9 threshold (from val)",
           table[4][1], table[4][2]);
    printf("   %-44s %.4f +- %.4f\n", "5-fold CV accuracy (784-64-10)", mean, sd);
    printf("   %-44s %.4f\n", "the same model retrained, test accuracy", cv_final_test);
    printf("   %-44s %d (test R^2 %.3f, RMSE %.3f)\n", "polynomial degree chosen by 5-fold CV",
           best_degree, poly_r2, poly_rmse);
    printf("   %-44s %.1f s + %.1f s\n", "training time (part 1 + part 3)", train_seconds, cv_seconds);
    printf("   figures: %s/\n", cli.out);

    nn_report_add(&report, "test_accuracy", test_accuracy);
    nn_report_add(&report, "macro_f1", macro.f1);
    nn_report_add(&report, "micro_f1", micro.f1);
    nn_report_add(&report, "auc_macro", auc_macro);
    nn_report_add(&report, "bag_always_no_accuracy", table[0][0]);
    nn_report_add(&report, "bag_always_no_f1", table[0][3]);
    nn_report_add(&report, "bag_f1", table[1][3]);
    nn_report_add(&report, "shirt_accuracy", table[3][0]);
    nn_report_add(&report, "shirt_f1", table[3][3]);
    nn_report_add(&report, "shirt_tuned_precision", table[4][1]);
    nn_report_add(&report, "shirt_tuned_recall", table[4][2]);
    nn_report_add(&report, "kfold_mean_accuracy", mean);
    nn_report_add(&report, "kfold_std_accuracy", sd);
    nn_report_add(&report, "kfold_retrained_test_accuracy", cv_final_test);
    nn_report_add_int(&report, "best_degree", best_degree);
    nn_report_add(&report, "poly_test_mse", poly_test_mse);
    nn_report_add(&report, "poly_test_r2", poly_r2);
    nn_report_add_timing(&report, "train_seconds", train_seconds + cv_seconds);
    nn_report_finish(&report, cli.out);

    free(fits), free(cv_probs), free(cv_test_probs), free(fold), free(tr), free(va);
    free(is_c), free(said), free(val_is_c), free(score), free(constant), free(val_score);
    free(pr_p), free(pr_r), free(vp), free(vr), free(vt);
    free(pred), free(probs), free(val_probs), free(loss_curve), free(val_curve);
    nn_params_free(&final.ps);
    nn_earlystop_free(&best);
    nn_optim_free(&opt);
    nn_params_free(&net.ps);
    nn_graph_free(g);
    nn_data_free(&cv), nn_data_free(&train), nn_data_free(&val), nn_data_free(&test);
    return 0;
}
