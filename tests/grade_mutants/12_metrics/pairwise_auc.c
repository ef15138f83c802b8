/* pairwise_auc.c -- a correct solution written another way: F1 as the harmonic mean
 * 2 P R / (P + R) (0 when P + R = 0) rather than 2 TP / (2 TP + FP + FN), the macro F1 from
 * a confusion matrix built once, and the AUC by counting all P*N (positive, negative) pairs,
 * O(n^2), no sorting. It must score full marks: the grader accepts either formula and does not
 * insist on an O(n log n) AUC. */
#include "metrics.h"

#include <stdlib.h>

void metrics_class_prf(double *precision, double *recall, double *f1, const int *labels,
                       const int *predicted, int n, int c)
{
    int tp = 0, called = 0, present = 0;
    for (int i = 0; i < n; i++) {
        called += predicted[i] == c;
        present += labels[i] == c;
        tp += labels[i] == c && predicted[i] == c;
    }
    double p = called ? (double)tp / called : 0, r = present ? (double)tp / present : 0;
    *precision = p;
    *recall = r;
    *f1 = p + r > 0 ? 2 * p * r / (p + r) : 0;
}

double metrics_macro_f1(const int *labels, const int *predicted, int n, int classes)
{
    int *cm = calloc((size_t)classes * classes, sizeof *cm);
    for (int i = 0; i < n; i++) cm[labels[i] * classes + predicted[i]]++;
    double sum = 0;
    for (int c = 0; c < classes; c++) {
        int row = 0, col = 0;
        for (int j = 0; j < classes; j++) row += cm[c * classes + j], col += cm[j * classes + c];
        int tp = cm[c * classes + c];
        if (row + col > 0) sum += 2.0 * tp / (row + col); /* 2TP / (2TP + FP + FN) */
    }
    free(cm);
    return sum / classes;
}

double metrics_roc_auc(const nn_real *scores, const int *labels, int n)
{
    double u = 0;
    long P = 0, N = 0;
    for (int i = 0; i < n; i++) {
        if (labels[i] == 1) P++;
        else N++;
        if (labels[i] != 1) continue;
        for (int j = 0; j < n; j++)
            if (labels[j] == 0) u += scores[i] > scores[j] ? 1 : scores[i] == scores[j] ? 0.5 : 0;
    }
    return u / ((double)P * N);
}
