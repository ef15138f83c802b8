/* ties_count_one.c -- a deliberately wrong AUC: it counts the (positive, negative) pairs, but
 * with `>=` where `>` belongs, so a tied pair counts as a win (1) instead of 1/2. Without ties,
 * and for perfect or inverted rankings whose ties are inside one class, it is right.
 * Precision, recall, F1 and macro F1 are right.
 * grade-expect: FAIL AUC: the hand-worked example with ties (7/9)
 * grade-expect: FAIL AUC against the library, many tied scores
 * grade-expect: FAIL AUC: every score tied gives 1/2
 * grade-expect: FAIL AUC: n = 2, in either order and tied */
#include "metrics.h"

#include <stdlib.h>

static double ratio(double a, double b) { return b > 0 ? a / b : 0; } /* 0/0 -> 0 */

void metrics_class_prf(double *precision, double *recall, double *f1, const int *labels,
                       const int *predicted, int n, int c)
{
    long tp = 0, fp = 0, fn = 0;
    for (int i = 0; i < n; i++) {
        tp += labels[i] == c && predicted[i] == c;
        fp += labels[i] != c && predicted[i] == c;
        fn += labels[i] == c && predicted[i] != c;
    }
    *precision = ratio(tp, tp + fp);
    *recall = ratio(tp, tp + fn);
    *f1 = ratio(2.0 * tp, 2.0 * tp + fp + fn);
}

double metrics_macro_f1(const int *labels, const int *predicted, int n, int classes)
{
    double sum = 0;
    for (int c = 0; c < classes; c++) {
        double p, r, f;
        metrics_class_prf(&p, &r, &f, labels, predicted, n, c);
        sum += f;
    }
    return sum / classes;
}

double metrics_roc_auc(const nn_real *scores, const int *labels, int n)
{
    long wins = 0, P = 0, N = 0;
    for (int i = 0; i < n; i++) P += labels[i] == 1, N += labels[i] == 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            if (labels[i] == 1 && labels[j] == 0 && scores[i] >= scores[j]) wins++; /* wrong */
    return (double)wins / ((double)P * N);
}
