/* metrics.c -- reference solution of exercise 12 (instructors: remove before release). */
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

typedef struct {
    double score;
    int label;
} scored;

static int by_score_descending(const void *a, const void *b)
{
    double x = ((const scored *)a)->score, y = ((const scored *)b)->score;
    return (x < y) - (x > y);
}

/* Sort by score, high to low, and lower the threshold past one distinct score at a time.
 * A group with dtp positives and dfp negatives moves the ROC curve from (fp, tp) to
 * (fp + dfp, tp + dtp); its trapezoid, in units of one positive x one negative, is
 * dfp (tp + tp + dtp) / 2 = dfp tp (the pairs it loses to the positives above) +
 * dfp dtp / 2 (the tied pairs inside the group, half each). */
double metrics_roc_auc(const nn_real *scores, const int *labels, int n)
{
    scored *s = nn_malloc((size_t)n * sizeof *s);
    for (int i = 0; i < n; i++) s[i].score = scores[i], s[i].label = labels[i] != 0;
    qsort(s, (size_t)n, sizeof *s, by_score_descending);
    long tp = 0, fp = 0;
    double twice_area = 0;
    for (int i = 0; i < n;) {
        long dtp = 0, dfp = 0;
        double t = s[i].score;
        for (; i < n && s[i].score == t; i++) dtp += s[i].label, dfp += !s[i].label;
        twice_area += (double)dfp * (2 * tp + dtp);
        tp += dtp, fp += dfp;
    }
    free(s);
    return twice_area / 2 / ((double)tp * fp);
}
