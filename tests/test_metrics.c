/* test_metrics.c -- evaluation metrics against values worked out by hand (each derivation is
 * in the comment above its check) and against the examples printed in scikit-learn's
 * documentation; the splits partition the indices exactly and keep the class shares; bad
 * input is refused with a message. */
#include "nn_test.h"

#include <stdlib.h>
#include <sys/stat.h>

NN_TEST_DEFINE_FAIL_HANDLER

NN_TEST_TMPDIR_FIXTURE("metrics")

/* |got - want| <= tol, or fail naming the expression and the line */
static void near_at(double got, double want, double tol, const char *expr, int line)
{
    if (!(fabs(got - want) <= tol))
        fail_msg("line %d: %s = %.15g, expected %.15g (tolerance %.0e)", line, expr, got, want, tol);
}
#define NEAR(got, want) near_at((double)(got), (double)(want), 1e-12, #got, __LINE__)
#define NEARF(got, want) near_at((double)(got), (double)(want), 1e-6, #got, __LINE__) /* float */

/* The 3-class example, 10 examples:
 *   truth      0 0 0 0 1 1 1 2 2 2
 *   predicted  0 0 1 2 1 1 0 2 2 1
 * Confusion (rows truth, columns prediction):
 *   [2 1 1]   class 0: 2 right, one called 1, one called 2
 *   [1 2 0]   class 1: 2 right, one called 0
 *   [0 1 2]   class 2: 2 right, one called 1
 * class 0: TP 2, FP 1 (col 0 minus TP), FN 2 -> P 2/3, R 1/2, F1 2*2/(4+1+2) = 4/7
 * class 1: TP 2, FP 2,                  FN 1 -> P 1/2, R 2/3, F1 4/7
 * class 2: TP 2, FP 1,                  FN 1 -> P 2/3, R 2/3, F1 4/6 = 2/3
 * macro P = (2/3 + 1/2 + 2/3)/3 = 11/18, macro R = (1/2 + 2/3 + 2/3)/3 = 11/18,
 * macro F1 = (4/7 + 4/7 + 2/3)/3 = 38/63 (not the F1 of 11/18 and 11/18, which is 11/18);
 * micro: TP 6, FP 4, FN 4 -> 6/10 for all three = accuracy;
 * weighted (support 4, 3, 3): P = (4 2/3 + 3 1/2 + 3 2/3)/10 = 37/60,
 * R = (4 1/2 + 3 2/3 + 3 2/3)/10 = 6/10 (weighted recall is always the accuracy),
 * F1 = (4 4/7 + 3 4/7 + 3 2/3)/10 = 6/10. */
static const int truth3[10] = {0, 0, 0, 0, 1, 1, 1, 2, 2, 2};
static const int pred3[10] = {0, 0, 1, 2, 1, 1, 0, 2, 2, 1};

static void test_confusion_and_prf(void **state)
{
    (void)state;
    int cm[9];
    nn_metrics_confusion(cm, truth3, pred3, 10, 3);
    const int want[9] = {2, 1, 1, 1, 2, 0, 0, 1, 2};
    assert_memory_equal(cm, want, sizeof want);

    double p[3], r[3], f1[3];
    int support[3];
    nn_metrics_per_class(p, r, f1, support, cm, 3);
    NEAR(p[0], 2.0 / 3), NEAR(r[0], 0.5), NEAR(f1[0], 4.0 / 7);
    NEAR(p[1], 0.5), NEAR(r[1], 2.0 / 3), NEAR(f1[1], 4.0 / 7);
    NEAR(p[2], 2.0 / 3), NEAR(r[2], 2.0 / 3), NEAR(f1[2], 2.0 / 3);
    assert_int_equal(support[0], 4), assert_int_equal(support[1], 3), assert_int_equal(support[2], 3);
    /* F1 = 2PR/(P+R) agrees with 2TP/(2TP+FP+FN) */
    for (int c = 0; c < 3; c++) NEAR(f1[c], 2 * p[c] * r[c] / (p[c] + r[c]));
    nn_metrics_prf one = nn_metrics_class_prf(cm, 3, 1);
    NEAR(one.precision, 0.5), NEAR(one.recall, 2.0 / 3), NEAR(one.f1, 4.0 / 7);
    nn_metrics_per_class(NULL, NULL, f1, NULL, cm, 3); /* any output may be NULL */
    NEAR(f1[2], 2.0 / 3);

    nn_metrics_prf macro = nn_metrics_macro(cm, 3), micro = nn_metrics_micro(cm, 3),
                   weighted = nn_metrics_weighted(cm, 3);
    NEAR(macro.precision, 11.0 / 18), NEAR(macro.recall, 11.0 / 18), NEAR(macro.f1, 38.0 / 63);
    NEAR(micro.precision, 0.6), NEAR(micro.recall, 0.6), NEAR(micro.f1, 0.6);
    NEAR(weighted.precision, 37.0 / 60), NEAR(weighted.recall, 0.6), NEAR(weighted.f1, 0.6);

    /* micro F1 = accuracy: the same 6/10 from logits through nn_metrics_accuracy */
    nn_real logits[30] = {0};
    for (int i = 0; i < 10; i++) logits[i * 3 + pred3[i]] = 1;
    int argmax[10];
    nn_metrics_argmax(argmax, logits, 10, 3);
    assert_memory_equal(argmax, pred3, sizeof pred3);
    NEAR(nn_metrics_accuracy(logits, truth3, 10, 3), micro.f1);
}

/* A class that is never predicted: its precision is 0/0, counted as 0 (sklearn's
 * zero_division=0), so is its F1. truth 0 0 1 1, predicted 0 0 0 0:
 *   cm [2 0; 2 0]; class 0: TP 2, FP 2, FN 0 -> P 1/2, R 1, F1 2/3; class 1: all 0.
 * This is the "always say no" classifier: accuracy 1/2, macro F1 1/3. */
static void test_zero_division(void **state)
{
    (void)state;
    int cm[4];
    nn_metrics_confusion(cm, (int[]){0, 0, 1, 1}, (int[]){0, 0, 0, 0}, 4, 2);
    assert_memory_equal(cm, ((int[]){2, 0, 2, 0}), 4 * sizeof(int));
    nn_metrics_prf c0 = nn_metrics_class_prf(cm, 2, 0), c1 = nn_metrics_class_prf(cm, 2, 1);
    NEAR(c0.precision, 0.5), NEAR(c0.recall, 1), NEAR(c0.f1, 2.0 / 3);
    NEAR(c1.precision, 0), NEAR(c1.recall, 0), NEAR(c1.f1, 0);
    NEAR(nn_metrics_macro(cm, 2).f1, 1.0 / 3);
    NEAR(nn_metrics_micro(cm, 2).f1, 0.5);
}

/* Ties, worked by hand. scores 0.9 0.8 0.8 0.7 0.7 0.3, labels 1 1 0 1 0 0 (P = N = 3).
 * Mann-Whitney over the 9 (positive, negative) pairs, a tie counting 1/2:
 *   positive 0.9 beats 0.8, 0.7, 0.3                         -> 3
 *   positive 0.8 ties 0.8, beats 0.7 and 0.3                 -> 2.5
 *   positive 0.7 loses to 0.8, ties 0.7, beats 0.3           -> 1.5
 *   AUC = 7/9.
 * ROC, one step per distinct score: +inf (0,0); 0.9 (0,1/3); 0.8 (1/3,2/3); 0.7 (2/3,1);
 * 0.3 (1,1). Trapezoids: 0 + 1/3 (1/3+2/3)/2 + 1/3 (2/3+1)/2 + 1/3 (1+1)/2 = 14/18 = 7/9.
 * PR points: 0.9 P 1 R 1/3; 0.8 P 2/3 R 2/3; 0.7 P 3/5 R 1; 0.3 P 1/2 R 1, so
 *   AP = sum (R_k - R_{k-1}) P_k = 1/3 1 + 1/3 2/3 + 1/3 3/5 + 0 1/2 = 34/45. */
static void test_roc_pr_with_ties(void **state)
{
    (void)state;
    const nn_real s[6] = {0.9f, 0.8f, 0.8f, 0.7f, 0.7f, 0.3f};
    const int y[6] = {1, 1, 0, 1, 0, 0};
    double fpr[7], tpr[7], thr[7];
    int m = nn_metrics_roc(fpr, tpr, thr, s, y, 6);
    assert_int_equal(m, 5);
    const double want_fpr[5] = {0, 0, 1.0 / 3, 2.0 / 3, 1}, want_tpr[5] = {0, 1.0 / 3, 2.0 / 3, 1, 1};
    for (int k = 0; k < 5; k++) NEAR(fpr[k], want_fpr[k]), NEAR(tpr[k], want_tpr[k]);
    assert_true(isinf(thr[0]) && thr[0] > 0);
    NEARF(thr[1], 0.9f), NEARF(thr[2], 0.8f), NEARF(thr[3], 0.7f), NEARF(thr[4], 0.3f);
    NEAR(nn_metrics_auc(s, y, 6), 7.0 / 9);

    /* the order of tied examples does not matter: swap the two 0.8s and the two 0.7s */
    const nn_real s2[6] = {0.7f, 0.8f, 0.3f, 0.9f, 0.8f, 0.7f};
    const int y2[6] = {0, 0, 0, 1, 1, 1};
    NEAR(nn_metrics_auc(s2, y2, 6), 7.0 / 9);
    NEAR(nn_metrics_average_precision(s2, y2, 6), 34.0 / 45);

    double prec[7], rec[7];
    m = nn_metrics_pr_curve(prec, rec, NULL, s, y, 6);
    assert_int_equal(m, 5);
    const double want_p[5] = {1, 1, 2.0 / 3, 0.6, 0.5}, want_r[5] = {0, 1.0 / 3, 2.0 / 3, 1, 1};
    for (int k = 0; k < 5; k++) NEAR(prec[k], want_p[k]), NEAR(rec[k], want_r[k]);
    NEAR(nn_metrics_average_precision(s, y, 6), 34.0 / 45);

    /* all scores equal: one step from (0,0) to (1,1), AUC exactly 1/2; AP = the positive rate */
    const nn_real flat[4] = {0.5f, 0.5f, 0.5f, 0.5f};
    const int yf[4] = {1, 0, 0, 0};
    assert_int_equal(nn_metrics_roc(NULL, NULL, NULL, flat, yf, 4), 2);
    NEAR(nn_metrics_auc(flat, yf, 4), 0.5);
    NEAR(nn_metrics_average_precision(flat, yf, 4), 0.25);
    /* perfect and reversed rankings */
    const nn_real r4[4] = {0.1f, 0.2f, 0.3f, 0.4f};
    NEAR(nn_metrics_auc(r4, (int[]){0, 0, 1, 1}, 4), 1);
    NEAR(nn_metrics_auc(r4, (int[]){1, 1, 0, 0}, 4), 0);
    NEAR(nn_metrics_average_precision(r4, (int[]){0, 0, 1, 1}, 4), 1);
}

/* The examples printed in scikit-learn's documentation (roc_curve, roc_auc_score,
 * precision_recall_curve, average_precision_score), y = 0 0 1 1, scores 0.1 0.4 0.35 0.8:
 *   roc_curve:  fpr [0 0 .5 .5 1], tpr [0 .5 .5 1 1], thresholds [inf .8 .4 .35 .1]
 *   roc_auc_score = 0.75
 *   precision_recall_curve (reversed there: recall decreasing):
 *               precision [.5 .667 .5 1 1], recall [1 1 .5 .5 0], thresholds [.1 .35 .4 .8]
 *   average_precision_score = 0.8333... = 1/2 1 + 0 1/2 + 1/2 2/3 */
static void test_sklearn_doc_examples(void **state)
{
    (void)state;
    const nn_real s[4] = {0.1f, 0.4f, 0.35f, 0.8f};
    const int y[4] = {0, 0, 1, 1};
    double fpr[5], tpr[5], thr[5];
    assert_int_equal(nn_metrics_roc(fpr, tpr, thr, s, y, 4), 5);
    const double wf[5] = {0, 0, 0.5, 0.5, 1}, wt[5] = {0, 0.5, 0.5, 1, 1};
    for (int k = 0; k < 5; k++) NEAR(fpr[k], wf[k]), NEAR(tpr[k], wt[k]);
    NEARF(thr[1], 0.8), NEARF(thr[2], 0.4), NEARF(thr[3], 0.35), NEARF(thr[4], 0.1);
    NEAR(nn_metrics_auc(s, y, 4), 0.75);
    double p[5], r[5];
    assert_int_equal(nn_metrics_pr_curve(p, r, thr, s, y, 4), 5);
    const double wp[5] = {1, 1, 0.5, 2.0 / 3, 0.5}, wr[5] = {0, 0.5, 0.5, 1, 1};
    for (int k = 0; k < 5; k++) NEAR(p[k], wp[k]), NEAR(r[k], wr[k]);
    NEAR(nn_metrics_average_precision(s, y, 4), 5.0 / 6);
}

/* Random scores on 5 levels (many ties): the trapezoid AUC equals the O(n^2) pairwise count */
static void test_auc_is_mann_whitney(void **state)
{
    (void)state;
    nn_rng rng;
    nn_rng_seed(&rng, 7);
    enum { N = 301 };
    nn_real s[N];
    int y[N];
    for (int trial = 0; trial < 20; trial++) {
        for (int i = 0; i < N; i++) {
            y[i] = nn_rng_uniform(&rng) < 0.3;
            s[i] = (nn_real)(nn_rng_int(&rng, 5) + y[i] * nn_rng_int(&rng, 3)) / 8;
        }
        y[0] = 1, y[1] = 0;
        double wins = 0;
        long pairs = 0;
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++)
                if (y[i] == 1 && y[j] == 0) {
                    wins += s[i] > s[j] ? 1 : s[i] == s[j] ? 0.5 : 0;
                    pairs++;
                }
        assert_true(fabs(nn_metrics_auc(s, y, N) - wins / pairs) < 1e-12);
    }
}

/* One-vs-rest on 3 classes, 4 examples, probabilities (rows):
 *   y=0 [.6 .3 .1]   y=1 [.2 .5 .3]   y=2 [.3 .3 .4]   y=0 [.5 .1 .4]
 * class 0: positives .6 .5 vs negatives .2 .3 -> 4/4 = 1
 * class 1: positive .5 vs .3 .3 .1 -> 3/3 = 1
 * class 2: positive .4 vs .1 .3 .4 -> (1 + 1 + 1/2)/3 = 5/6;  macro (1 + 1 + 5/6)/3 = 17/18 */
static void test_auc_ovr(void **state)
{
    (void)state;
    const nn_real probs[12] = {0.6f, 0.3f, 0.1f, 0.2f, 0.5f, 0.3f,
                               0.3f, 0.3f, 0.4f, 0.5f, 0.1f, 0.4f};
    const int y[4] = {0, 1, 2, 0};
    double auc[3];
    NEAR(nn_metrics_auc_ovr(auc, probs, y, 4, 3), 17.0 / 18);
    NEAR(auc[0], 1), NEAR(auc[1], 1), NEAR(auc[2], 5.0 / 6);
}

/* scikit-learn's regression examples: y = 3 -0.5 2 7, yhat = 2.5 0 2 8.
 *   errors -0.5 0.5 0 1: MSE (0.25 + 0.25 + 0 + 1)/4 = 0.375, RMSE sqrt(0.375), MAE 2/4 = 0.5;
 *   mean y = 2.875, SS_tot = 0.125^2 + 3.375^2 + 0.875^2 + 4.125^2 = 29.1875, SS_res = 1.5,
 *   R^2 = 1 - 1.5/29.1875 = 0.9486... (sklearn: 0.948...). Predicting the mean gives R^2 0. */
static void test_regression(void **state)
{
    (void)state;
    const nn_real y[4] = {3, -0.5f, 2, 7}, yhat[4] = {2.5f, 0, 2, 8};
    NEAR(nn_metrics_mse(yhat, y, 4), 0.375);
    NEAR(nn_metrics_rmse(yhat, y, 4), sqrt(0.375));
    NEAR(nn_metrics_mae(yhat, y, 4), 0.5);
    NEAR(nn_metrics_r2(yhat, y, 4), 1 - 1.5 / 29.1875);
    const nn_real mean[4] = {2.875f, 2.875f, 2.875f, 2.875f};
    NEAR(nn_metrics_r2(mean, y, 4), 0);
    NEAR(nn_metrics_r2(y, y, 4), 1);
    NEAR(nn_metrics_mse(y, y, 4), 0);
}

/* every index 0..n-1 exactly once in a ++ b, each list increasing */
static void assert_partition(const int *a, int na, const int *b, int nb, int n)
{
    assert_int_equal(na + nb, n);
    int *seen = calloc((size_t)n, sizeof *seen);
    for (int i = 0; i < na; i++) {
        assert_true(a[i] >= 0 && a[i] < n);
        if (i) assert_true(a[i] > a[i - 1]);
        seen[a[i]]++;
    }
    for (int i = 0; i < nb; i++) {
        assert_true(b[i] >= 0 && b[i] < n);
        if (i) assert_true(b[i] > b[i - 1]);
        seen[b[i]]++;
    }
    for (int i = 0; i < n; i++) assert_int_equal(seen[i], 1);
    free(seen);
}

/* 100 examples, classes of 50, 30, 20 interleaved; 25 to the test part.
 * shares 25 50/100 = 12.5, 7.5, 5 -> floors 12, 7, 5 (24); the one left goes to the largest
 * remainder, a tie of 0.5 between classes 0 and 1, the lower class: 13, 7, 5. */
static void test_stratified_split(void **state)
{
    (void)state;
    enum { N = 100 };
    int labels[N], train[N], test[N], train2[N], test2[N];
    for (int i = 0; i < N; i++) labels[i] = i % 10 < 5 ? 0 : i % 10 < 8 ? 1 : 2;
    nn_rng rng;
    nn_rng_seed(&rng, 1);
    nn_metrics_split_stratified(train, test, labels, N, 3, 25, &rng);
    assert_partition(train, N - 25, test, 25, N);
    int per_class[3] = {0, 0, 0};
    for (int i = 0; i < 25; i++) per_class[labels[test[i]]]++;
    assert_int_equal(per_class[0], 13), assert_int_equal(per_class[1], 7), assert_int_equal(per_class[2], 5);
    /* the same seed gives the same split, another seed another one */
    nn_rng_seed(&rng, 1);
    nn_metrics_split_stratified(train2, test2, labels, N, 3, 25, &rng);
    assert_memory_equal(test, test2, sizeof(int) * 25);
    nn_rng_seed(&rng, 2);
    nn_metrics_split_stratified(train2, test2, labels, N, 3, 25, &rng);
    assert_true(memcmp(test, test2, sizeof(int) * 25) != 0);
    /* the extremes */
    nn_metrics_split_stratified(train, test, labels, N, 3, 0, &rng);
    assert_partition(train, N, test, 0, N);
    nn_metrics_split_stratified(train, test, labels, N, 3, N, &rng);
    assert_partition(train, 0, test, N, N);
}

static void test_kfold(void **state)
{
    (void)state;
    enum { N = 103, K = 5 };
    int fold[N], labels[N], train[N], val[N];
    nn_rng rng;
    nn_rng_seed(&rng, 3);
    /* plain: sizes 21 21 21 20 20 (the first 103 mod 5 = 3 folds one longer) */
    nn_metrics_kfold(fold, N, K, &rng);
    int size[K] = {0};
    for (int i = 0; i < N; i++) assert_true(fold[i] >= 0 && fold[i] < K), size[fold[i]]++;
    const int want[K] = {21, 21, 21, 20, 20};
    assert_memory_equal(size, want, sizeof want);
    for (int f = 0; f < K; f++) {
        int nv = nn_metrics_fold_indices(train, val, fold, N, f);
        assert_int_equal(nv, want[f]);
        assert_partition(train, N - nv, val, nv, N);
        for (int j = 0; j < nv; j++) assert_int_equal(fold[val[j]], f);
    }
    /* stratified, unbalanced classes 70 / 23 / 10: every class within one of n_c / K in each
     * fold, fold sizes within one of each other */
    for (int i = 0; i < N; i++) labels[i] = i < 70 ? 0 : i < 93 ? 1 : 2;
    nn_rng_shuffle(&rng, labels, N);
    nn_metrics_kfold_stratified(fold, labels, N, 3, K, &rng);
    int count[K][3] = {{0}};
    for (int i = 0; i < N; i++) assert_true(fold[i] >= 0 && fold[i] < K), count[fold[i]][labels[i]]++;
    const int class_size[3] = {70, 23, 10};
    int lo = N, hi = 0;
    for (int f = 0; f < K; f++) {
        int total = 0;
        for (int c = 0; c < 3; c++) {
            assert_true(count[f][c] == class_size[c] / K || count[f][c] == class_size[c] / K + 1);
            total += count[f][c];
        }
        lo = total < lo ? total : lo, hi = total > hi ? total : hi;
        int nv = nn_metrics_fold_indices(train, val, fold, N, f);
        assert_partition(train, N - nv, val, nv, N);
    }
    assert_true(hi - lo <= 1);
    /* deterministic from the seed */
    int again[N];
    nn_rng_seed(&rng, 9);
    nn_metrics_kfold_stratified(fold, labels, N, 3, K, &rng);
    nn_rng_seed(&rng, 9);
    nn_metrics_kfold_stratified(again, labels, N, 3, K, &rng);
    assert_memory_equal(fold, again, sizeof fold);
}

static void test_tables(void **state)
{
    (void)state;
    int cm[9];
    nn_metrics_confusion(cm, truth3, pred3, 10, 3);
    FILE *f = tmpfile();
    assert_non_null(f);
    const char *names[3] = {"cat", "dog", "bird"};
    nn_metrics_print_report(f, cm, 3, names);
    nn_metrics_print_confusion(f, cm, 3, names);
    const char *rows[2] = {"fold 1", "fold 2"}, *cols[2] = {"accuracy", "n"};
    nn_metrics_print_table(f, rows, 2, cols, 2, (const double[]){0.91234, 100, NAN, 7}, (const int[]){2, 0});
    char buf[4096];
    rewind(f);
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    buf[len] = 0;
    fclose(f);
    /* class 0 "cat": P 2/3, R 1/2, F1 4/7 = 0.571, support 4; macro F1 38/63 = 0.603 */
    assert_non_null(strstr(buf, "precision"));
    assert_non_null(strstr(buf, "cat               0.667      0.500      0.571          4"));
    assert_non_null(strstr(buf, "macro avg"));
    assert_non_null(strstr(buf, "macro avg         0.611      0.611      0.603"));
    assert_non_null(strstr(buf, "accuracy                                0.600         10"));
    assert_non_null(strstr(buf, "fold 1       0.91        100\n  fold 2                     7\n"));
    assert_non_null(strstr(buf, "true\\pred      cat   dog  bird\n  cat              2     1     1\n"));
}

static int exists(const char *name, const char *ext)
{
    char path[256];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s.%s", tmpdir, name, ext);
    return stat(path, &st) == 0 && st.st_size > 0;
}

static void test_heatmap_figures(void **state)
{
    (void)state;
    int cm[9];
    nn_metrics_confusion(cm, truth3, pred3, 10, 3);
    const char *names[3] = {"cat", "dog \"the\" hound", "bird"};
    nn_plot_confusion(tmpdir, "confusion", "a confusion matrix", cm, 3, names);
    const double v[6] = {0.1, -2, 3, 4.5, 5, 6};
    nn_plot_heatmap(tmpdir, "heat", "a heat map", "x", "y", v, 2, 3, NULL, NULL, "%.1f");
    const char *figs[2] = {"confusion", "heat"};
    for (int i = 0; i < 2; i++) {
        assert_true(exists(figs[i], "dat"));
        assert_true(exists(figs[i], "gp"));
        if (nn_plot_have_gnuplot() && !exists(figs[i], "png"))
            fail_msg("gnuplot is installed but %s/%s.png was not rendered", tmpdir, figs[i]);
    }
    /* the .dat of the confusion matrix: colour = row fraction, text = count; row 0 is 2 1 1 */
    char path[256], buf[2048];
    snprintf(path, sizeof path, "%s/confusion.dat", tmpdir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    buf[len] = 0;
    fclose(f);
    assert_non_null(strstr(buf, "0 0 0.5 2\n1 0 0.25 1\n2 0 0.25 1\n"));
    EXPECT_FAIL(nn_plot_heatmap(tmpdir, "bad", "t", "x", "y", v, 0, 3, NULL, NULL, NULL), "needs at least one cell");
}

static void test_bad_input_is_refused(void **state)
{
    (void)state;
    int cm[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1}, out[4], fold[4];
    const nn_real s[4] = {0.1f, 0.2f, 0.3f, 0.4f};
    nn_rng rng;
    nn_rng_seed(&rng, 1);
    EXPECT_FAIL(nn_metrics_confusion(cm, truth3, pred3, 0, 3), "nn_metrics_confusion: n must be positive, got 0");
    EXPECT_FAIL(nn_metrics_confusion(cm, (int[]){0, 3}, (int[]){0, 1}, 2, 3), "label 3 of example 1 is outside 0..2");
    EXPECT_FAIL(nn_metrics_confusion(cm, (int[]){0, 1}, (int[]){-1, 1}, 2, 3), "prediction -1 of example 0 is outside 0..2");
    EXPECT_FAIL(nn_metrics_macro((int[]){0, 0, 0, 0}, 2), "the confusion matrix is empty");
    EXPECT_FAIL(nn_metrics_class_prf(cm, 3, 3), "class 3 is outside 0..2");
    EXPECT_FAIL(nn_metrics_auc(s, (int[]){1, 1, 1, 1}, 4), "nn_metrics_auc: the labels hold only positives");
    EXPECT_FAIL(nn_metrics_roc(NULL, NULL, NULL, s, (int[]){0, 0, 0, 0}, 4), "only negatives");
    EXPECT_FAIL(nn_metrics_average_precision(s, (int[]){0, 0, 0, 0}, 4), "needs both classes");
    EXPECT_FAIL(nn_metrics_auc(s, (int[]){0, 2, 1, 0}, 4), "label 2 of example 1 is not 0 or 1");
    EXPECT_FAIL(nn_metrics_auc(s, (int[]){0, 1}, 0), "n must be positive");
    EXPECT_FAIL(nn_metrics_pr_curve(NULL, NULL, NULL, (nn_real[]){0.1f, NAN}, (int[]){0, 1}, 2), "score of example 1 is not finite");
    EXPECT_FAIL(nn_metrics_auc_ovr(NULL, (nn_real[]){1, 0, 0, 1}, (int[]){0, 0}, 2, 2), "class 1 has no examples");
    EXPECT_FAIL(nn_metrics_r2(s, (nn_real[]){2, 2, 2, 2}, 4), "targets are all equal");
    EXPECT_FAIL(nn_metrics_mse(s, s, -1), "nn_metrics_mse: n must be positive, got -1");
    EXPECT_FAIL(nn_metrics_split_stratified(out, out, (int[]){0, 1, 0, 1}, 4, 2, 5, &rng), "test_count 5 is outside 0..4");
    EXPECT_FAIL(nn_metrics_split_stratified(out, out, (int[]){0, 1, 0, 2}, 4, 2, 1, &rng), "label 2 of example 3");
    EXPECT_FAIL(nn_metrics_kfold(fold, 4, 5, &rng), "k = 5 folds needs 2 <= k <= n = 4");
    EXPECT_FAIL(nn_metrics_kfold(fold, 4, 1, &rng), "k = 1 folds");
    EXPECT_FAIL(nn_metrics_kfold_stratified(fold, (int[]){0, 1, 0, 1}, 4, 2, 0, &rng), "k = 0 folds");
    EXPECT_FAIL(nn_metrics_fold_indices(out, out, (int[]){0, 1, 0, 1}, 4, 2), "no example is in fold 2");
    EXPECT_FAIL(nn_plot_confusion(tmpdir, "bad", "t", (int[]){1, -1, 0, 0}, 2, NULL), "entry 1 is negative");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_confusion_and_prf),  cmocka_unit_test(test_zero_division),
        cmocka_unit_test(test_roc_pr_with_ties),   cmocka_unit_test(test_sklearn_doc_examples),
        cmocka_unit_test(test_auc_is_mann_whitney), cmocka_unit_test(test_auc_ovr),
        cmocka_unit_test(test_regression),         cmocka_unit_test(test_stratified_split),
        cmocka_unit_test(test_kfold),              cmocka_unit_test(test_tables),
        cmocka_unit_test(test_heatmap_figures),    cmocka_unit_test(test_bad_input_is_refused),
    };
    return cmocka_run_group_tests_name("evaluation metrics", tests, make_tmpdir, remove_tmpdir);
}
