/* metrics.c -- how good is a model? */
#include "nn.h"

/* accuracy = (1/n) sum_i [argmax_j logits_ij == label_i]; ties go to the first maximum */
double nn_metrics_accuracy(const nn_real *logits, const int *labels, int n, int classes)
{
    if (n <= 0) return 0;
    int correct = 0;
    for (int i = 0; i < n; i++)
        correct += nn_kernel_argmax(logits + (size_t)i * classes, classes) == labels[i];
    return (double)correct / n;
}
