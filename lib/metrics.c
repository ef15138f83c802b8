/* metrics.c -- how good is a model? Counting right answers is the start, not the end:
 *
 *   classification  accuracy, confusion matrix, precision / recall / F1 per class with macro,
 *                   micro and weighted averages, a classification report
 *   ranking         ROC curve and its area (AUC), precision-recall curve and average precision
 *   regression      MSE, RMSE, MAE, R^2
 *   splitting       stratified hold-out, k-fold and stratified k-fold index splits
 *   tables          a plain-text table printer
 *
 * Conventions follow scikit-learn (sklearn.metrics, sklearn.model_selection) so that every
 * number can be checked against it: rows of a confusion matrix are the truth, columns the
 * prediction; a 0/0 precision or recall counts as 0 (zero_division=0); curves are not
 * interpolated. Bad input (n <= 0, a label out of range, one class only where two are needed)
 * stops with a message naming the function, before anything is allocated.
 */
#include "nn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* accuracy = (1/n) sum_i [argmax_j logits_ij == label_i]; ties go to the first maximum */
double nn_metrics_accuracy(const nn_real *logits, const int *labels, int n, int classes)
{
    if (n <= 0) return 0;
    int correct = 0;
    for (int i = 0; i < n; i++)
        correct += nn_kernel_argmax(logits + (size_t)i * classes, classes) == labels[i];
    return (double)correct / n;
}

/* ------------------------------------------------------------------------------------------ */
/* input checks, shared by everything below                                                    */
/* ------------------------------------------------------------------------------------------ */

static void check_n(const char *fn, int n)
{
    if (n <= 0) nn_fail("%s: n must be positive, got %d", fn, n);
}

static void check_classes(const char *fn, int classes)
{
    if (classes < 1) nn_fail("%s: classes must be at least 1, got %d", fn, classes);
}

/* every labels[i] in 0..classes-1; `what` says which array ("label", "prediction") */
static void check_labels(const char *fn, const char *what, const int *labels, int n, int classes)
{
    for (int i = 0; i < n; i++)
        if (labels[i] < 0 || labels[i] >= classes)
            nn_fail("%s: %s %d of example %d is outside 0..%d", fn, what, labels[i], i,
                    classes - 1);
}

/* ------------------------------------------------------------------------------------------ */
/* classification: the confusion matrix and what is read off it                               */
/* ------------------------------------------------------------------------------------------ */

void nn_metrics_argmax(int *predicted, const nn_real *logits, int n, int classes)
{
    check_n("nn_metrics_argmax", n);
    check_classes("nn_metrics_argmax", classes);
    for (int i = 0; i < n; i++) predicted[i] = nn_kernel_argmax(logits + (size_t)i * classes, classes);
}

/* cm[t, p] = #{i : labels_i = t and predicted_i = p}. Row sums are the class sizes (support),
 * column sums how often each class was predicted, the trace the number of right answers. */
void nn_metrics_confusion(int *cm, const int *labels, const int *predicted, int n, int classes)
{
    check_n("nn_metrics_confusion", n);
    check_classes("nn_metrics_confusion", classes);
    check_labels("nn_metrics_confusion", "label", labels, n, classes);
    check_labels("nn_metrics_confusion", "prediction", predicted, n, classes);
    memset(cm, 0, (size_t)classes * classes * sizeof *cm);
    for (int i = 0; i < n; i++) cm[labels[i] * classes + predicted[i]]++;
}

/* the three counts of class c, one-vs-rest: TP on the diagonal, FP the rest of its column
 * (others called c), FN the rest of its row (c called something else) */
static void counts(const int *cm, int classes, int c, long *tp, long *fp, long *fn)
{
    long row = 0, col = 0;
    for (int j = 0; j < classes; j++) row += cm[c * classes + j], col += cm[j * classes + c];
    *tp = cm[c * classes + c];
    *fp = col - *tp;
    *fn = row - *tp;
}

static double ratio(double a, double b) { return b > 0 ? a / b : 0; } /* 0/0 -> 0 */

static void check_cm(const char *fn, const int *cm, int classes)
{
    check_classes(fn, classes);
    long total = 0;
    for (int i = 0; i < classes * classes; i++) {
        if (cm[i] < 0) nn_fail("%s: confusion matrix entry %d is negative (%d)", fn, i, cm[i]);
        total += cm[i];
    }
    if (total == 0) nn_fail("%s: the confusion matrix is empty (no examples)", fn);
}

/* precision = TP / (TP + FP): of those called c, the fraction that are c
 * recall    = TP / (TP + FN): of those that are c, the fraction found
 * F1        = 2 P R / (P + R) = 2 TP / (2 TP + FP + FN): their harmonic mean */
nn_metrics_prf nn_metrics_class_prf(const int *cm, int classes, int c)
{
    check_cm("nn_metrics_class_prf", cm, classes);
    if (c < 0 || c >= classes)
        nn_fail("nn_metrics_class_prf: class %d is outside 0..%d", c, classes - 1);
    long tp, fp, fn;
    counts(cm, classes, c, &tp, &fp, &fn);
    nn_metrics_prf r = {ratio(tp, tp + fp), ratio(tp, tp + fn), ratio(2.0 * tp, 2.0 * tp + fp + fn)};
    return r;
}

void nn_metrics_per_class(double *precision, double *recall, double *f1, int *support,
                          const int *cm, int classes)
{
    check_cm("nn_metrics_per_class", cm, classes);
    for (int c = 0; c < classes; c++) {
        long tp, fp, fn;
        counts(cm, classes, c, &tp, &fp, &fn);
        if (precision) precision[c] = ratio(tp, tp + fp);
        if (recall) recall[c] = ratio(tp, tp + fn);
        if (f1) f1[c] = ratio(2.0 * tp, 2.0 * tp + fp + fn);
        if (support) support[c] = (int)(tp + fn);
    }
}

/* macro: every class counts the same, (1/C) sum_c P_c etc. The macro F1 is the mean of the
 * per-class F1s (sklearn), not the F1 of the macro P and R. */
nn_metrics_prf nn_metrics_macro(const int *cm, int classes)
{
    check_cm("nn_metrics_macro", cm, classes);
    nn_metrics_prf m = {0, 0, 0};
    for (int c = 0; c < classes; c++) {
        nn_metrics_prf r = nn_metrics_class_prf(cm, classes, c);
        m.precision += r.precision / classes;
        m.recall += r.recall / classes;
        m.f1 += r.f1 / classes;
    }
    return m;
}

/* weighted: every class counts by its support n_c, sum_c (n_c / n) P_c etc. */
nn_metrics_prf nn_metrics_weighted(const int *cm, int classes)
{
    check_cm("nn_metrics_weighted", cm, classes);
    long total = 0;
    for (int i = 0; i < classes * classes; i++) total += cm[i];
    nn_metrics_prf m = {0, 0, 0};
    for (int c = 0; c < classes; c++) {
        long tp, fp, fn;
        counts(cm, classes, c, &tp, &fp, &fn);
        double w = (double)(tp + fn) / total;
        nn_metrics_prf r = nn_metrics_class_prf(cm, classes, c);
        m.precision += w * r.precision;
        m.recall += w * r.recall;
        m.f1 += w * r.f1;
    }
    return m;
}

/* micro: add up TP, FP and FN over the classes first, then divide. With one label per
 * example every mistake is one FP (for the predicted class) and one FN (for the true one),
 * so sum FP = sum FN = n - sum TP, and micro P = micro R = micro F1 = accuracy. */
nn_metrics_prf nn_metrics_micro(const int *cm, int classes)
{
    check_cm("nn_metrics_micro", cm, classes);
    long TP = 0, FP = 0, FN = 0;
    for (int c = 0; c < classes; c++) {
        long tp, fp, fn;
        counts(cm, classes, c, &tp, &fp, &fn);
        TP += tp, FP += fp, FN += fn;
    }
    nn_metrics_prf m = {ratio(TP, TP + FP), ratio(TP, TP + FN), ratio(2.0 * TP, 2.0 * TP + FP + FN)};
    return m;
}

/* ------------------------------------------------------------------------------------------ */
/* ranking: ROC and precision-recall curves                                                    */
/* ------------------------------------------------------------------------------------------ */

typedef struct scored {
    double score;
    int label;
} scored;

static int by_score_descending(const void *a, const void *b)
{
    double x = ((const scored *)a)->score, y = ((const scored *)b)->score;
    return (x < y) - (x > y);
}

/* Checks binary labels and finite scores, counts the positives, and returns the examples
 * sorted by score, highest first (caller frees). */
static scored *sort_scores(const char *fn, const nn_real *scores, const int *labels, int n,
                           long *positives)
{
    check_n(fn, n);
    long pos = 0;
    for (int i = 0; i < n; i++) {
        if (labels[i] != 0 && labels[i] != 1)
            nn_fail("%s: label %d of example %d is not 0 or 1 (binary labels, 1 = positive)",
                    fn, labels[i], i);
        if (!isfinite((double)scores[i]))
            nn_fail("%s: score of example %d is not finite (%g)", fn, i, (double)scores[i]);
        pos += labels[i];
    }
    *positives = pos;
    if (pos == 0 || pos == n) return NULL; /* the caller says why this is an error */
    scored *s = nn_malloc(nn_size_mul((size_t)n, sizeof *s, fn));
    for (int i = 0; i < n; i++) s[i].score = scores[i], s[i].label = labels[i];
    qsort(s, (size_t)n, sizeof *s, by_score_descending);
    return s;
}

/* Lower the threshold from +inf past one distinct score at a time; after each step record
 * the running counts tp (positives at or above it) and fp (negatives at or above it).
 * Examples with equal scores cross together: a tie is one step, which on the ROC curve is a
 * diagonal segment -- exactly the 1/2 credit that Mann-Whitney gives a tied pair.
 * tp, fp, thr get count+1 entries: entry 0 is (0, 0, +inf). Returns count+1. */
static int sweep(long *tp, long *fp, double *thr, const scored *s, int n)
{
    int k = 0;
    tp[0] = fp[0] = 0;
    thr[0] = INFINITY;
    for (int i = 0; i < n;) {
        double t = s[i].score;
        long dtp = 0, dfp = 0;
        for (; i < n && s[i].score == t; i++) dtp += s[i].label, dfp += !s[i].label;
        k++;
        tp[k] = tp[k - 1] + dtp;
        fp[k] = fp[k - 1] + dfp;
        thr[k] = t;
    }
    return k + 1;
}

/* the curve's counts; NULL sorted means one class only and fails, naming `fn` */
static int curve_counts(const char *fn, const nn_real *scores, const int *labels, int n,
                        long **tp, long **fp, double **thr, long *positives)
{
    scored *s = sort_scores(fn, scores, labels, n, positives);
    if (!s)
        nn_fail("%s: the labels hold only %s (%d examples): the curve needs both classes", fn,
                *positives ? "positives" : "negatives", n);
    *tp = nn_malloc((size_t)(n + 1) * sizeof **tp);
    *fp = nn_malloc((size_t)(n + 1) * sizeof **fp);
    *thr = nn_malloc((size_t)(n + 1) * sizeof **thr);
    int m = sweep(*tp, *fp, *thr, s, n);
    free(s);
    return m;
}

/* TPR = tp / P (recall), FPR = fp / N; from (0,0) at threshold +inf to (1,1) */
int nn_metrics_roc(double *fpr, double *tpr, double *thresholds, const nn_real *scores,
                   const int *labels, int n)
{
    long *tp, *fp, P;
    double *thr;
    int m = curve_counts("nn_metrics_roc", scores, labels, n, &tp, &fp, &thr, &P);
    long N = n - P;
    for (int k = 0; k < m; k++) {
        if (fpr) fpr[k] = (double)fp[k] / N;
        if (tpr) tpr[k] = (double)tp[k] / P;
        if (thresholds) thresholds[k] = thr[k];
    }
    free(tp), free(fp), free(thr);
    return m;
}

/* AUC by the trapezoid rule over the ROC points:
 *   sum_k (FPR_k - FPR_{k-1}) (TPR_k + TPR_{k-1}) / 2,
 * which is the Mann-Whitney statistic: the probability that a random positive scores above a
 * random negative, a tie counting 1/2. Summed in integers, divided once at the end. */
double nn_metrics_auc(const nn_real *scores, const int *labels, int n)
{
    long *tp, *fp, P;
    double *thr;
    int m = curve_counts("nn_metrics_auc", scores, labels, n, &tp, &fp, &thr, &P);
    long N = n - P;
    double twice_area = 0; /* in units of one positive x one negative */
    for (int k = 1; k < m; k++) twice_area += (double)(fp[k] - fp[k - 1]) * (tp[k] + tp[k - 1]);
    free(tp), free(fp), free(thr);
    return twice_area / 2 / ((double)P * N);
}

/* one-vs-rest: class c against all the others, scored by column c of probs (n, classes) */
double nn_metrics_auc_ovr(double *auc, const nn_real *probs, const int *labels, int n,
                          int classes)
{
    check_n("nn_metrics_auc_ovr", n);
    if (classes < 2) nn_fail("nn_metrics_auc_ovr: needs at least 2 classes, got %d", classes);
    check_labels("nn_metrics_auc_ovr", "label", labels, n, classes);
    int *present = nn_calloc((size_t)classes, sizeof *present);
    for (int i = 0; i < n; i++) present[labels[i]] = 1;
    for (int c = 0; c < classes; c++)
        if (!present[c]) {
            free(present);
            nn_fail("nn_metrics_auc_ovr: class %d has no examples: its ROC curve is undefined", c);
        }
    free(present);
    for (size_t i = 0; i < (size_t)n * classes; i++)
        if (!isfinite((double)probs[i]))
            nn_fail("nn_metrics_auc_ovr: score %zu (example %zu, class %zu) is not finite", i,
                    i / classes, i % classes);
    int *is_c = nn_malloc((size_t)n * sizeof *is_c);
    nn_real *col = nn_malloc((size_t)n * sizeof *col);
    double mean = 0;
    for (int c = 0; c < classes; c++) {
        for (int i = 0; i < n; i++) is_c[i] = labels[i] == c, col[i] = probs[(size_t)i * classes + c];
        double a = nn_metrics_auc(col, is_c, n);
        if (auc) auc[c] = a;
        mean += a / classes;
    }
    free(is_c), free(col);
    return mean;
}

/* precision = tp / (tp + fp), recall = tp / P at every threshold; point 0 is the convention
 * (recall 0, precision 1) at +inf, as in sklearn's precision_recall_curve */
int nn_metrics_pr_curve(double *precision, double *recall, double *thresholds,
                        const nn_real *scores, const int *labels, int n)
{
    long *tp, *fp, P;
    double *thr;
    int m = curve_counts("nn_metrics_pr_curve", scores, labels, n, &tp, &fp, &thr, &P);
    for (int k = 0; k < m; k++) {
        if (precision) precision[k] = k ? (double)tp[k] / (tp[k] + fp[k]) : 1;
        if (recall) recall[k] = (double)tp[k] / P;
        if (thresholds) thresholds[k] = thr[k];
    }
    free(tp), free(fp), free(thr);
    return m;
}

/* AP = sum_k (R_k - R_{k-1}) P_k: each new bit of recall weighted by the precision at which
 * it was bought; no interpolation (sklearn's average_precision_score). Only thresholds that
 * admit a positive add anything. */
double nn_metrics_average_precision(const nn_real *scores, const int *labels, int n)
{
    long *tp, *fp, P;
    double *thr;
    int m = curve_counts("nn_metrics_average_precision", scores, labels, n, &tp, &fp, &thr, &P);
    double ap = 0;
    for (int k = 1; k < m; k++)
        ap += (double)(tp[k] - tp[k - 1]) / P * ((double)tp[k] / (tp[k] + fp[k]));
    free(tp), free(fp), free(thr);
    return ap;
}

/* ------------------------------------------------------------------------------------------ */
/* regression                                                                                  */
/* ------------------------------------------------------------------------------------------ */

static void check_regression(const char *fn, const nn_real *pred, const nn_real *target, int n)
{
    check_n(fn, n);
    for (int i = 0; i < n; i++)
        if (!isfinite((double)pred[i]) || !isfinite((double)target[i]))
            nn_fail("%s: example %d is not finite (prediction %g, target %g)", fn, i,
                    (double)pred[i], (double)target[i]);
}

/* MSE = (1/n) sum (yhat - y)^2, in the target's units squared */
double nn_metrics_mse(const nn_real *pred, const nn_real *target, int n)
{
    check_regression("nn_metrics_mse", pred, target, n);
    double s = 0;
    for (int i = 0; i < n; i++) {
        double d = (double)pred[i] - target[i];
        s += d * d;
    }
    return s / n;
}

/* RMSE = sqrt(MSE), back in the target's units */
double nn_metrics_rmse(const nn_real *pred, const nn_real *target, int n)
{
    check_regression("nn_metrics_rmse", pred, target, n);
    return sqrt(nn_metrics_mse(pred, target, n));
}

/* MAE = (1/n) sum |yhat - y|: less swayed by a few large errors than MSE */
double nn_metrics_mae(const nn_real *pred, const nn_real *target, int n)
{
    check_regression("nn_metrics_mae", pred, target, n);
    double s = 0;
    for (int i = 0; i < n; i++) s += fabs((double)pred[i] - target[i]);
    return s / n;
}

/* R^2 = 1 - SS_res / SS_tot, SS_res = sum (y - yhat)^2, SS_tot = sum (y - mean y)^2: the
 * fraction of the target's variance explained. 1 is perfect, 0 is no better than predicting
 * the mean, below 0 is worse than that. Undefined (refused) when the target is constant. */
double nn_metrics_r2(const nn_real *pred, const nn_real *target, int n)
{
    check_regression("nn_metrics_r2", pred, target, n);
    double mean = 0, res = 0, tot = 0;
    for (int i = 0; i < n; i++) mean += target[i];
    mean /= n;
    for (int i = 0; i < n; i++) {
        double d = (double)target[i] - pred[i], e = (double)target[i] - mean;
        res += d * d;
        tot += e * e;
    }
    if (!(tot > 0))
        nn_fail("nn_metrics_r2: the %d targets are all equal (%g), so R^2 = 1 - SS_res/SS_tot "
                "is undefined", n, (double)target[0]);
    return 1 - res / tot;
}

/* ------------------------------------------------------------------------------------------ */
/* splitting: hold-out and k-fold, stratified or not, deterministic from the rng               */
/* ------------------------------------------------------------------------------------------ */

/* Stratified hold-out: class c (n_c examples) gives q_c of its examples to the test part,
 * q_c = test_count n_c / n rounded by largest remainder (floors first, then the leftover
 * places to the largest fractional parts, lower class first on a tie), so the q_c add up to
 * test_count exactly and every class keeps its share to within one example. Which examples
 * of a class go is drawn from rng. Both outputs come out in increasing index order. */
void nn_metrics_split_stratified(int *train_idx, int *test_idx, const int *labels, int n,
                                 int classes, int test_count, nn_rng *rng)
{
    const char *fn = "nn_metrics_split_stratified";
    check_n(fn, n);
    check_classes(fn, classes);
    check_labels(fn, "label", labels, n, classes);
    if (test_count < 0 || test_count > n)
        nn_fail("%s: test_count %d is outside 0..%d", fn, test_count, n);
    int *size = nn_calloc((size_t)classes, sizeof *size);
    int *quota = nn_calloc((size_t)classes, sizeof *quota);
    int *extra = nn_calloc((size_t)classes, sizeof *extra);
    for (int i = 0; i < n; i++) size[labels[i]]++;
    int given = 0;
    for (int c = 0; c < classes; c++) {
        quota[c] = (int)((long)test_count * size[c] / n);
        given += quota[c];
    }
    /* the leftover places, one each to the classes with the largest remainders
     * test_count n_c mod n; the remainders add up to (test_count - given) n and each is
     * below n, so enough classes have one, and a class with one has room (q_c < n_c) */
    for (; given < test_count; given++) {
        int best = -1;
        long best_rem = 0;
        for (int c = 0; c < classes; c++) {
            long rem = (long)test_count * size[c] % n;
            if (!extra[c] && rem > best_rem) best = c, best_rem = rem;
        }
        quota[best]++;
        extra[best] = 1;
    }
    int *members = nn_malloc((size_t)n * sizeof *members), *is_test = nn_calloc((size_t)n, sizeof *is_test);
    for (int c = 0; c < classes; c++) {
        int m = 0;
        for (int i = 0; i < n; i++)
            if (labels[i] == c) members[m++] = i;
        nn_rng_shuffle(rng, members, m);
        for (int j = 0; j < quota[c]; j++) is_test[members[j]] = 1;
    }
    for (int i = 0, a = 0, b = 0; i < n; i++) {
        if (is_test[i]) test_idx[b++] = i;
        else train_idx[a++] = i;
    }
    free(size), free(quota), free(extra), free(members), free(is_test);
}

/* k-fold: shuffle 0..n-1 and deal the shuffled list out in k consecutive blocks, the first
 * n mod k blocks one longer (sklearn's KFold(shuffle=True) sizes). fold[i] = the fold in which
 * example i is held out; every example is held out exactly once. */
void nn_metrics_kfold(int *fold, int n, int k, nn_rng *rng)
{
    check_n("nn_metrics_kfold", n);
    if (k < 2 || k > n) nn_fail("nn_metrics_kfold: k = %d folds needs 2 <= k <= n = %d", k, n);
    int *order = nn_malloc((size_t)n * sizeof *order);
    nn_rng_permutation(rng, order, n);
    for (int f = 0, at = 0; f < k; f++) {
        int size = n / k + (f < n % k);
        for (int j = 0; j < size; j++) fold[order[at++]] = f;
    }
    free(order);
}

/* stratified k-fold: list the examples class by class, each class in a random order, and deal
 * that list round-robin, position j -> fold j mod k (the idea of sklearn's StratifiedKFold).
 * Each class is then spread over the folds to within one example, and so are the fold sizes. */
void nn_metrics_kfold_stratified(int *fold, const int *labels, int n, int classes, int k,
                                 nn_rng *rng)
{
    const char *fn = "nn_metrics_kfold_stratified";
    check_n(fn, n);
    check_classes(fn, classes);
    check_labels(fn, "label", labels, n, classes);
    if (k < 2 || k > n) nn_fail("%s: k = %d folds needs 2 <= k <= n = %d", fn, k, n);
    int *members = nn_malloc((size_t)n * sizeof *members);
    for (int c = 0, j = 0; c < classes; c++) {
        int m = 0;
        for (int i = 0; i < n; i++)
            if (labels[i] == c) members[m++] = i;
        nn_rng_shuffle(rng, members, m);
        for (int t = 0; t < m; t++, j++) fold[members[t]] = j % k;
    }
    free(members);
}

/* the indices of fold f: val_idx = {i : fold[i] == f}, train_idx = the others, both in
 * increasing order; returns the validation count (train count = n - it) */
int nn_metrics_fold_indices(int *train_idx, int *val_idx, const int *fold, int n, int f)
{
    check_n("nn_metrics_fold_indices", n);
    int in_val = 0;
    for (int i = 0; i < n; i++) {
        if (fold[i] < 0) nn_fail("nn_metrics_fold_indices: fold[%d] = %d is negative", i, fold[i]);
        in_val += fold[i] == f;
    }
    if (in_val == 0) nn_fail("nn_metrics_fold_indices: no example is in fold %d", f);
    for (int i = 0, a = 0, b = 0; i < n; i++) {
        if (fold[i] == f) val_idx[b++] = i;
        else train_idx[a++] = i;
    }
    return in_val;
}

/* ------------------------------------------------------------------------------------------ */
/* plain-text tables                                                                           */
/* ------------------------------------------------------------------------------------------ */

/*                 precision   recall       f1
 *   T-shirt/top       0.812    0.850    0.831
 * Columns are as wide as their names (at least 9); a NaN prints as an empty cell. */
void nn_metrics_print_table(FILE *f, const char *const *row_names, int nrows,
                            const char *const *col_names, int ncols, const double *values,
                            const int *decimals)
{
    if (nrows < 1 || ncols < 1)
        nn_fail("nn_metrics_print_table: needs rows and columns, got %d x %d", nrows, ncols);
    int first = 4;
    char buf[32];
    for (int r = 0; r < nrows; r++) {
        int len = row_names ? (int)strlen(row_names[r]) : snprintf(buf, sizeof buf, "%d", r);
        first = len > first ? len : first;
    }
    fprintf(f, "  %-*s", first, "");
    for (int c = 0; c < ncols; c++) {
        const char *name = col_names ? col_names[c] : (snprintf(buf, sizeof buf, "%d", c), buf);
        int w = (int)strlen(name) > 9 ? (int)strlen(name) : 9;
        fprintf(f, "  %*s", w, name);
    }
    fprintf(f, "\n");
    for (int r = 0; r < nrows; r++) {
        if (row_names) fprintf(f, "  %-*s", first, row_names[r]);
        else fprintf(f, "  %-*d", first, r);
        for (int c = 0; c < ncols; c++) {
            const char *name = col_names ? col_names[c] : (snprintf(buf, sizeof buf, "%d", c), buf);
            int w = (int)strlen(name) > 9 ? (int)strlen(name) : 9;
            double v = values[(size_t)r * ncols + c];
            if (isnan(v)) fprintf(f, "  %*s", w, "");
            else fprintf(f, "  %*.*f", w, decimals ? decimals[c] : 3, v);
        }
        fprintf(f, "\n");
    }
}

/* sklearn's classification_report: one row per class, then accuracy (the micro average),
 * the macro average and the support-weighted average */
void nn_metrics_print_report(FILE *f, const int *cm, int classes, const char *const *class_names)
{
    check_cm("nn_metrics_print_report", cm, classes);
    int rows = classes + 3;
    double *v = nn_malloc((size_t)rows * 4 * sizeof *v);
    const char **names = nn_malloc((size_t)rows * sizeof *names);
    char(*numbers)[16] = nn_malloc((size_t)classes * sizeof *numbers);
    double *p = nn_malloc((size_t)classes * 3 * sizeof *p), *r = p + classes, *f1 = r + classes;
    int *support = nn_malloc((size_t)classes * sizeof *support);
    nn_metrics_per_class(p, r, f1, support, cm, classes);
    long total = 0;
    for (int c = 0; c < classes; c++) {
        v[c * 4 + 0] = p[c], v[c * 4 + 1] = r[c], v[c * 4 + 2] = f1[c], v[c * 4 + 3] = support[c];
        total += support[c];
        snprintf(numbers[c], sizeof numbers[c], "%d", c);
        names[c] = class_names ? class_names[c] : numbers[c];
    }
    nn_metrics_prf micro = nn_metrics_micro(cm, classes), macro = nn_metrics_macro(cm, classes),
                   weighted = nn_metrics_weighted(cm, classes);
    double *a = v + classes * 4;
    a[0] = NAN, a[1] = NAN, a[2] = micro.f1, a[3] = (double)total;
    a[4] = macro.precision, a[5] = macro.recall, a[6] = macro.f1, a[7] = (double)total;
    a[8] = weighted.precision, a[9] = weighted.recall, a[10] = weighted.f1, a[11] = (double)total;
    names[classes] = "accuracy", names[classes + 1] = "macro avg", names[classes + 2] = "weighted avg";
    const char *cols[4] = {"precision", "recall", "f1", "support"};
    nn_metrics_print_table(f, names, rows, cols, 4, v, (const int[]){3, 3, 3, 0});
    free(v), free(names), free(numbers), free(p), free(support);
}

/* the counts, truth down the side, prediction across the top (names cut to 8 characters) */
void nn_metrics_print_confusion(FILE *f, const int *cm, int classes,
                                const char *const *class_names)
{
    check_cm("nn_metrics_print_confusion", cm, classes);
    int w = 5;
    for (int i = 0; i < classes * classes; i++) {
        char buf[16];
        int len = snprintf(buf, sizeof buf, "%d", cm[i]);
        w = len + 1 > w ? len + 1 : w;
    }
    int first = 12;
    fprintf(f, "  %-*s", first, "true\\pred");
    for (int c = 0; c < classes; c++) {
        char name[16];
        if (class_names) snprintf(name, sizeof name, "%.8s", class_names[c]);
        else snprintf(name, sizeof name, "%d", c);
        fprintf(f, " %*s", w > (int)strlen(name) ? w : (int)strlen(name), name);
    }
    fprintf(f, "\n");
    for (int t = 0; t < classes; t++) {
        char name[16];
        if (class_names) snprintf(name, sizeof name, "%.12s", class_names[t]);
        else snprintf(name, sizeof name, "%d", t);
        fprintf(f, "  %-*s", first, name);
        for (int c = 0; c < classes; c++) {
            char col[16];
            if (class_names) snprintf(col, sizeof col, "%.8s", class_names[c]);
            else snprintf(col, sizeof col, "%d", c);
            fprintf(f, " %*d", w > (int)strlen(col) ? w : (int)strlen(col), cm[t * classes + c]);
        }
        fprintf(f, "\n");
    }
}
