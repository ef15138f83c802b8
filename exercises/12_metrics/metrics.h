/* metrics.h -- exercise 12: the fixed signatures (do not change them). */
#ifndef METRICS_H
#define METRICS_H
#include "nn.h"

/* Precision, recall and F1 of class c, one-vs-rest, from the true labels (n) and the
 * predicted classes (n), both in 0..classes-1:
 *   TP = #{i : labels[i] = c and predicted[i] = c}
 *   FP = #{i : labels[i] != c and predicted[i] = c}     (others called c)
 *   FN = #{i : labels[i] = c and predicted[i] != c}     (c called something else)
 *   precision = TP / (TP + FP)   recall = TP / (TP + FN)   F1 = 2 TP / (2 TP + FP + FN)
 * where a 0/0 counts as 0 (scikit-learn's zero_division=0). Writes (overwrites) the three. */
void metrics_class_prf(double *precision, double *recall, double *f1, const int *labels,
                       const int *predicted, int n, int c);

/* Macro-averaged F1 over classes 0..classes-1: (1/classes) sum_c F1_c, every class counted
 * (one that is neither present nor predicted has F1 = 0/0 = 0). */
double metrics_macro_f1(const int *labels, const int *predicted, int n, int classes);

/* Area under the ROC curve of scores (n) for labels (n) in {0, 1}, 1 the positive class;
 * both classes are present (P >= 1 positives, N >= 1 negatives). It equals the Mann-Whitney
 * statistic: over the P*N (positive, negative) pairs, the fraction in which the positive
 * scores higher, a tie counting 1/2:
 *   AUC = ( #{s+ > s-} + 1/2 #{s+ = s-} ) / (P N) */
double metrics_roc_auc(const nn_real *scores, const int *labels, int n);

#endif
