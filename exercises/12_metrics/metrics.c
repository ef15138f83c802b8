/* metrics.c -- exercise 12: precision, recall, F1, macro F1 and ROC AUC with ties.
 *
 * Read README.md first. Write your code between TODO BEGIN and TODO END; keep the signatures.
 * Grade it with `make grade EX=12`. Labels and predictions are class numbers 0..classes-1;
 * for the AUC, labels are 0 (negative) or 1 (positive). Count in integers, divide in double. */
#include "metrics.h"

#include <stdlib.h>

void metrics_class_prf(double *precision, double *recall, double *f1, const int *labels,
                       const int *predicted, int n, int c)
{
    /* TODO BEGIN
     *   1. count, over i = 0..n-1:
     *        TP: labels[i] == c and predicted[i] == c
     *        FP: labels[i] != c and predicted[i] == c
     *        FN: labels[i] == c and predicted[i] != c
     *   2. *precision = TP / (TP + FP), *recall = TP / (TP + FN), *f1 = 2 TP / (2 TP + FP + FN),
     *      each 0 when its denominator is 0 (a class never predicted, or never present). */

    /* TODO END */
}

double metrics_macro_f1(const int *labels, const int *predicted, int n, int classes)
{
    /* TODO BEGIN
     * The plain mean over c = 0..classes-1 of F1_c (metrics_class_prf gives it).
     * Not micro: do not add up TP, FP, FN over the classes first. */
    return 0;
    /* TODO END */
}

double metrics_roc_auc(const nn_real *scores, const int *labels, int n)
{
    /* TODO BEGIN
     * AUC = ( #{pairs with s+ > s-} + 1/2 #{pairs with s+ = s-} ) / (P N), over every pair of
     * one positive (labels = 1) and one negative (labels = 0).
     * Either count the pairs directly (two loops), or sort the examples by score (qsort from
     * <stdlib.h>) and lower the threshold past one distinct score at a time: a group of tied
     * examples is one step, and its trapezoid is the 1/2 credit for its tied pairs. */
    return 0;
    /* TODO END */
}
