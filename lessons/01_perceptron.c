/* Lesson 01 -- the perceptron (Rosenblatt 1958).
 *
 * Concept: a single linear threshold unit, yhat = sign(w.x + b), trained by the mistake-driven
 * rule w <- w + lr (y - yhat) x. On linearly separable data it always stops making mistakes
 * (Novikoff 1962); on XOR it never does (Minsky & Papert 1969); with one perceptron per class
 * (one-vs-rest) it is already a respectable image classifier.
 *
 * What you will see:
 *   1. two Gaussian blobs: mistakes per epoch fall to 0; the decision line after epochs 1, 2
 *      and the last one, and the Novikoff bound (R/gamma)^2 next to the mistakes really made;
 *   2. XOR: mistakes never reach 0, the best line gets 50-75% of the points right;
 *   3. Fashion-MNIST: 10 one-vs-rest perceptrons (a 10x785 weight matrix), test accuracy per
 *      epoch for the last and the averaged weights, and the 10 learned weight templates drawn
 *      as 28x28 images after epoch 1 and at the end.
 *
 * Run:  make lesson01                   (full: 60000 train / 10000 test, 5 epochs, seconds)
 *       make lesson01 ARGS="--quick"    (5000 / 1000, 2 epochs, about two seconds)
 *       flags: --seed N --epochs N --out DIR --kernels naive|blas --threads N --help
 *
 * Expected: blobs separated within a few epochs; XOR best accuracy 0.5-0.75; Fashion-MNIST
 * test accuracy about 0.84 with the averaged weights (measured 0.841, seed 42), 0.78-0.82
 * with the last weights. Reference: Perceptron 0.782 in Xiao,
 * Rasul & Vollgraf 2017, "Fashion-MNIST", Table 3 (scikit-learn's Perceptron, best setting).
 * Figures and metrics.json go to out/lesson01/.
 */
#include "nn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------------------------ */
/* The perceptron on 2-D points: w = (w0, w1), bias b.                                        */
/* ------------------------------------------------------------------------------------------ */

/* Labels: the datasets give y in {0,1}; the perceptron works with t = 2y - 1 in {-1,+1} and
 * yhat = sign(w.x + b) in {-1,+1}. Then (t - yhat) is 0 when right and 2t when wrong, so
 *     w <- w + lr (t - yhat) x   is   w <- w + 2 lr t x   on a mistake, nothing otherwise.
 * With {0,1} labels and yhat = [w.x + b > 0] the same rule reads w <- w + lr (y - yhat) x;
 * it is the same algorithm with half the step. Starting from w = 0 the step size does not
 * matter at all: every w is lr times the w for lr = 1, and sign() ignores the scale. */
typedef struct perceptron2d {
    double w[2], b;
} perceptron2d;

static int perceptron2d_predict(const perceptron2d *p, const nn_real *x)
{
    return p->w[0] * x[0] + p->w[1] * x[1] + p->b > 0 ? +1 : -1;
}

/* One pass over the data in the given order; returns the number of mistakes (= updates). */
static int perceptron2d_epoch(perceptron2d *p, const nn_data *d, const int *order, double lr)
{
    int mistakes = 0;
    for (int k = 0; k < d->n; k++) {
        const nn_real *x = d->x + 2 * order[k];
        int t = 2 * d->y[order[k]] - 1;
        int yhat = perceptron2d_predict(p, x);
        if (yhat != t) {
            double step = lr * (t - yhat) / 2.0; /* = lr * t */
            p->w[0] += step * x[0];
            p->w[1] += step * x[1];
            p->b += step; /* the bias is a weight on a constant input 1 */
            mistakes++;
        }
    }
    return mistakes;
}

static double perceptron2d_accuracy(const perceptron2d *p, const nn_data *d)
{
    int right = 0;
    for (int i = 0; i < d->n; i++)
        right += perceptron2d_predict(p, d->x + 2 * i) == 2 * d->y[i] - 1;
    return (double)right / d->n;
}

/* Novikoff's quantities, with the constant input 1 appended to x: the largest ||(x, 1)||,
 * and the smallest signed distance t_i (w.x_i + b) / ||(w, b)|| (> 0 iff (w, b) separates). */
static double radius2d(const nn_data *d)
{
    double r2 = 0;
    for (int i = 0; i < d->n; i++)
        r2 = fmax(r2, d->x[2 * i] * d->x[2 * i] + d->x[2 * i + 1] * d->x[2 * i + 1] + 1.0);
    return sqrt(r2);
}

static double margin2d(const perceptron2d *p, const nn_data *d)
{
    double norm = sqrt(p->w[0] * p->w[0] + p->w[1] * p->w[1] + p->b * p->b), gamma = INFINITY;
    for (int i = 0; i < d->n; i++) {
        const nn_real *x = d->x + 2 * i;
        gamma = fmin(gamma, (2 * d->y[i] - 1) * (p->w[0] * x[0] + p->w[1] * x[1] + p->b) / norm);
    }
    return gamma;
}

#define GRID 160          /* boundary figures: GRID x GRID predictions */
#define MAX_EPOCHS_2D 1000 /* the blobs converge long before; XOR never does */
#define MAX_CLASSES 64     /* one-vs-rest scores live on the stack */

/* The predicted class (0/1) on a GRID x GRID grid over the data's bounding box, drawn with
 * the points: the boundary is the line w.x + b = 0 between the two colours. */
static void plot_perceptron2d(const char *dir, const char *name, const char *title,
                              const perceptron2d *p, const nn_data *d)
{
    double x0 = 1e30, x1 = -1e30, y0 = 1e30, y1 = -1e30;
    for (int i = 0; i < d->n; i++) {
        x0 = fmin(x0, d->x[2 * i]), x1 = fmax(x1, d->x[2 * i]);
        y0 = fmin(y0, d->x[2 * i + 1]), y1 = fmax(y1, d->x[2 * i + 1]);
    }
    /* a square box with equal scales, so angles and distances look as they are */
    double half = 0.6 * fmax(x1 - x0, y1 - y0), cx = (x0 + x1) / 2, cy = (y0 + y1) / 2;
    x0 = cx - half, x1 = cx + half, y0 = cy - half, y1 = cy + half;
    int *grid = nn_malloc(GRID * GRID * sizeof *grid);
    for (int r = 0; r < GRID; r++)
        for (int c = 0; c < GRID; c++) {
            nn_real pt[2] = {(nn_real)(x0 + (x1 - x0) * (c + 0.5) / GRID), /* cell centres */
                             (nn_real)(y0 + (y1 - y0) * (r + 0.5) / GRID)};
            grid[r * GRID + c] = perceptron2d_predict(p, pt) > 0;
        }
    nn_plot_boundary(dir, name, title, grid, GRID, GRID, x0, x1, y0, y1, d->x, d->y, d->n);
    free(grid);
}

/* ------------------------------------------------------------------------------------------ */
/* One-vs-rest perceptrons for C classes on D inputs: W (C, D+1), the last column the bias.    */
/* ------------------------------------------------------------------------------------------ */

/* Perceptron c answers "is this class c?" with target t_c = +1 for its class, -1 otherwise,
 * and is trained by the rule above on its own: if t_c (w_c.x + b_c) <= 0, w_c += t_c x.
 * The ten are independent; only prediction couples them: class = argmax_c (w_c.x + b_c).
 *
 * Averaging (Freund & Schapire 1999): the last w of a perceptron on non-separable data jumps
 * around with every mistake, so we predict with the average of w over every step instead.
 * Kept cheaply with the counter trick (Daume): with step counter s and U += s t x on each
 * update, the average of w after s steps is W - U / s. */
typedef struct ovr_perceptron {
    int classes, dim, stride; /* stride = dim + 1 */
    nn_real *W;               /* (classes, dim+1) current weights */
    double *U;                /* (classes, dim+1) sum of s * update; double: it grows
                                 to ~1e10, where float would keep only ~7 digits */
    nn_real *avg;             /* (classes, dim+1) W - U/s, filled by ovr_average */
    long steps;
} ovr_perceptron;

static void ovr_init(ovr_perceptron *p, int classes, int dim)
{
    if (classes > MAX_CLASSES) nn_fail("ovr_init: at most %d classes, got %d", MAX_CLASSES,
                                       classes);
    p->classes = classes, p->dim = dim, p->stride = dim + 1, p->steps = 0;
    size_t n = (size_t)classes * p->stride;
    p->W = nn_calloc(n, sizeof *p->W);
    p->U = nn_calloc(n, sizeof *p->U);
    p->avg = nn_calloc(n, sizeof *p->avg);
}

static void ovr_free(ovr_perceptron *p)
{
    free(p->W), free(p->U), free(p->avg);
}

/* One epoch over d in the given order; returns how many examples were misclassified by the
 * argmax at the moment they were seen (the online training error). */
static long ovr_epoch(ovr_perceptron *p, const nn_data *d, const int *order, nn_progress *bar)
{
    long wrong = 0;
    nn_real score[MAX_CLASSES];
    for (int k = 0; k < d->n; k++) {
        const nn_real *x = d->x + (size_t)order[k] * p->dim;
        int y = d->y[order[k]];
        p->steps++;
        /* score_c = w_c.x + b_c for every c at once: (1, C) = x (1, D) @ W[:, :D]^T */
        for (int c = 0; c < p->classes; c++) score[c] = p->W[(size_t)c * p->stride + p->dim];
        nn_gemm(0, 1, 1, p->classes, p->dim, 1, x, p->dim, p->W, p->stride, 1, score,
                p->classes);
        wrong += nn_kernel_argmax(score, p->classes) != y;
        for (int c = 0; c < p->classes; c++) {
            nn_real t = c == y ? 1 : -1;
            if (t * score[c] > 0) continue; /* right side of its line: no update */
            nn_real *w = p->W + (size_t)c * p->stride;
            double *u = p->U + (size_t)c * p->stride, st = t * (double)p->steps;
            for (int j = 0; j < p->dim; j++) w[j] += t * x[j], u[j] += st * x[j];
            w[p->dim] += t, u[p->dim] += st;
        }
        if ((k & 1023) == 1023) nn_progress_update(bar, k + 1, NULL);
    }
    return wrong;
}

static void ovr_average(ovr_perceptron *p)
{
    size_t n = (size_t)p->classes * p->stride;
    for (size_t i = 0; i < n; i++) p->avg[i] = (nn_real)(p->W[i] - p->U[i] / p->steps);
}

/* Test accuracy of weights Wb (classes, dim+1) on d, all scores at once with one GEMM:
 *     scores (n, C) = X (n, D) @ W[:, :D]^T (D, C)  +  bias row W[:, D]
 * W's rows are dim+1 long, so the GEMM reads it with row stride ldb = dim+1 and simply stops
 * before the bias column: strides let a kernel see a sub-matrix without copying it. */
static double ovr_accuracy(const ovr_perceptron *p, const nn_real *Wb, const nn_data *d,
                           nn_real *scores)
{
    nn_real bias[MAX_CLASSES];
    for (int c = 0; c < p->classes; c++) bias[c] = Wb[(size_t)c * p->stride + p->dim];
    nn_gemm(0, 1, d->n, p->classes, p->dim, 1, d->x, p->dim, Wb, p->stride, 0, scores,
            p->classes);
    nn_kernel_add_row(scores, bias, d->n, p->classes);
    return nn_metrics_accuracy(scores, d->y, d->n, p->classes);
}

/* The learned templates: row c of the averaged W (without its bias) as an h x w image, one
 * per class in label order (T-shirt/top, Trouser, Pullover, Dress, Coat / Sandal, Shirt,
 * Sneaker, Bag, Ankle boot). Bright pixels vote for the class, dark ones against it. */
static void plot_templates(const char *dir, const char *name, const char *when,
                           const ovr_perceptron *p, int h, int w)
{
    char title[160];
    snprintf(title, sizeof title,
             "Class weights %s (top: T-shirt ... Coat, bottom: Sandal ... Boot)",
             when);
    nn_real *images = nn_malloc((size_t)p->classes * p->dim * sizeof *images);
    for (int c = 0; c < p->classes; c++)
        memcpy(images + (size_t)c * p->dim, p->avg + (size_t)c * p->stride,
               p->dim * sizeof *images);
    nn_plot_images(dir, name, title, images, p->classes, h, w, 5, 1);
    free(images);
}

/* ------------------------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    const char *about =
        "Lesson 01: Rosenblatt's perceptron. Converges on separable blobs (Novikoff's bound), "
        "fails on XOR (Minsky & Papert), and as 10 one-vs-rest perceptrons classifies "
        "Fashion-MNIST (reference 0.782, Xiao et al. 2017, Table 3).";
    nn_cli cli;
    nn_cli_parse(&cli, 1, about, argc, argv);
    nn_rng rng;
    nn_rng_seed(&rng, cli.seed);
    nn_report report;
    nn_report_init(&report, 1);
    const int epochs = nn_cli_epochs(&cli, 5, 2); /* Fashion-MNIST */
    int axis_len = epochs > MAX_EPOCHS_2D ? epochs : MAX_EPOCHS_2D;
    double *epoch_axis = nn_malloc(axis_len * sizeof *epoch_axis); /* 1, 2, 3, ...: x axes */
    for (int e = 0; e < axis_len; e++) epoch_axis[e] = e + 1;

    /* --- 1. Separable blobs: the perceptron convergence theorem in action ------------------ */
    nn_data blobs;
    /* Centres (2,0) and (-2,0), spread 0.5: the gap is 8 standard deviations, so the two
     * clouds are separable for any seed. Centred at the origin they are too easy (the line
     * x0 = 0 needs no bias). Moved to (4,3) the line must also learn its offset b; the
     * inputs grow (R in Novikoff's bound) and the perceptron needs several epochs. */
    nn_data_blobs(&blobs, 200, 2, 0.5, &rng);
    for (int i = 0; i < blobs.n; i++) blobs.x[2 * i] += 4, blobs.x[2 * i + 1] += 3;
    int *order = nn_malloc(blobs.n * sizeof *order);
    perceptron2d p = {{0, 0}, 0};
    double blob_mistakes[MAX_EPOCHS_2D];
    int blob_epochs = 0, total_mistakes = 0;
    printf("1. Perceptron on two separable blobs (%d points)\n", blobs.n);
    printf("   epoch  mistakes\n");
    while (blob_epochs < MAX_EPOCHS_2D) {
        nn_rng_permutation(&rng, order, blobs.n); /* a fresh order every epoch */
        int m = perceptron2d_epoch(&p, &blobs, order, 1.0);
        blob_mistakes[blob_epochs++] = m;
        total_mistakes += m;
        if (blob_epochs <= 5 || blob_epochs % 10 == 0 || m == 0)
            printf("   %5d  %8d\n", blob_epochs, m);
        if (blob_epochs <= 2) { /* where the line stands after the first epochs */
            char name[32], title[96];
            int wrong_now = (int)lround((1 - perceptron2d_accuracy(&p, &blobs)) * blobs.n);
            snprintf(name, sizeof name, "blobs_boundary_epoch%d", blob_epochs);
            snprintf(title, sizeof title, "Perceptron after epoch %d: %d updates, %d points now"
                     " wrong", blob_epochs, m, wrong_now);
            plot_perceptron2d(cli.out, name, title, &p, &blobs);
        }
        if (m == 0) break; /* a clean pass: every point is on its side, w will never change */
    }
    int blobs_converged = blob_mistakes[blob_epochs - 1] == 0;
    plot_perceptron2d(cli.out, "blobs_boundary_final",
                      "Perceptron on separable blobs: final boundary", &p, &blobs);

    /* Novikoff (1962): if some unit vector u separates the data with margin gamma,
     * t_i u.x_i >= gamma for every i, and every ||x_i|| <= R, the perceptron makes at most
     * (R/gamma)^2 mistakes in total, however long it runs and in whatever order it sees the
     * data. (The bias is a weight on a constant input, so x = (x0, x1, 1) here.) The best
     * gamma needs an SVM to find, but ANY separating u gives a valid, looser bound; we try
     * two: the perceptron's own final w, and the line halfway between the class means. */
    if (blobs_converged) {
        double mean[2][2] = {{0, 0}, {0, 0}};
        int count[2] = {0, 0};
        for (int i = 0; i < blobs.n; i++) {
            mean[blobs.y[i]][0] += blobs.x[2 * i], mean[blobs.y[i]][1] += blobs.x[2 * i + 1];
            count[blobs.y[i]]++;
        }
        for (int c = 0; c < 2; c++) mean[c][0] /= count[c], mean[c][1] /= count[c];
        perceptron2d means = {{mean[1][0] - mean[0][0], mean[1][1] - mean[0][1]}, 0};
        means.b = -(means.w[0] * (mean[0][0] + mean[1][0]) +
                    means.w[1] * (mean[0][1] + mean[1][1])) / 2; /* through the midpoint */
        double R = radius2d(&blobs), gamma = fmax(margin2d(&p, &blobs), margin2d(&means, &blobs));
        printf("   converged after %d epochs and %d mistakes in total\n", blob_epochs,
               total_mistakes);
        printf("   Novikoff: R = %.2f, gamma >= %.4f (final w %.4f, mean line %.4f)\n"
               "   so mistakes <= (R/gamma)^2 = %.0f\n",
               R, gamma, margin2d(&p, &blobs), margin2d(&means, &blobs), R * R / (gamma * gamma));
    } else {
        printf("   did not converge in %d epochs\n", MAX_EPOCHS_2D);
    }

    /* --- 2. XOR: no line separates it, so the mistakes never stop ------------------------- */
    nn_data xor;
    nn_data_xor(&xor, 200, 0.0, &rng);
    const int xor_epochs = 50;
    perceptron2d q = {{0, 0}, 0}, best = q;
    double xor_mistakes[50], xor_best = 0;
    int *xor_order = nn_malloc(xor.n * sizeof *xor_order);
    for (int e = 0; e < xor_epochs; e++) {
        nn_rng_permutation(&rng, xor_order, xor.n);
        xor_mistakes[e] = perceptron2d_epoch(&q, &xor, xor_order, 1.0);
        /* "pocket" the best weights seen at the end of an epoch (Gallant 1990) */
        double acc = perceptron2d_accuracy(&q, &xor);
        if (acc > xor_best) xor_best = acc, best = q;
    }
    double xor_min = xor_mistakes[0];
    for (int e = 1; e < xor_epochs; e++) xor_min = fmin(xor_min, xor_mistakes[e]);
    printf("\n2. Perceptron on XOR (%d points, %d epochs)\n", xor.n, xor_epochs);
    printf("   mistakes per epoch: first %.0f, last %.0f, fewest %.0f (never 0)\n",
           xor_mistakes[0], xor_mistakes[xor_epochs - 1], xor_min);
    printf("   best accuracy of any epoch's line: %.3f\n", xor_best);
    plot_perceptron2d(cli.out, "xor_boundary",
                      "XOR: the best line still misclassifies a quadrant or more", &best, &xor);

    nn_plot_series curves[2] = {{"blobs (separable)", epoch_axis, blob_mistakes, blob_epochs},
                                {"XOR (not separable)", epoch_axis, xor_mistakes, xor_epochs}};
    nn_plot_lines(cli.out, "mistakes_per_epoch", "Perceptron mistakes per epoch", "epoch",
                  "mistakes", curves, 2, 0);

    /* --- 3. Fashion-MNIST: ten one-vs-rest perceptrons ------------------------------------- */
    nn_data train, test;
    nn_data_fmnist_load_first(&train, cli.quick ? 5000 : NN_FMNIST_TRAIN_SIZE,
                              &test, cli.quick ? 1000 : NN_FMNIST_TEST_SIZE);
    printf("\n3. One-vs-rest perceptrons on Fashion-MNIST (%d train, %d test, %d epochs)\n",
           train.n, test.n, epochs);

    ovr_perceptron ovr;
    ovr_init(&ovr, train.classes, train.dim);
    int *fm_order = nn_malloc(train.n * sizeof *fm_order);
    nn_real *scores = nn_malloc((size_t)test.n * ovr.classes * sizeof *scores);
    double *acc_last = nn_malloc(epochs * sizeof *acc_last);
    double *acc_avg = nn_malloc(epochs * sizeof *acc_avg);
    double train_seconds = 0;
    printf("   epoch  train err  test acc (last w)  test acc (averaged w)\n");
    for (int e = 0; e < epochs; e++) {
        double t0 = nn_seconds();
        nn_rng_permutation(&rng, fm_order, train.n);
        nn_progress bar;
        nn_progress_start(&bar, "epoch", train.n);
        long wrong = ovr_epoch(&ovr, &train, fm_order, &bar);
        nn_progress_finish(&bar);
        ovr_average(&ovr);
        train_seconds += nn_seconds() - t0;
        acc_last[e] = ovr_accuracy(&ovr, ovr.W, &test, scores);
        acc_avg[e] = ovr_accuracy(&ovr, ovr.avg, &test, scores);
        printf("   %5d  %9.3f  %17.3f  %21.3f\n", e + 1, (double)wrong / train.n, acc_last[e],
               acc_avg[e]);
        if (e == 0)
            plot_templates(cli.out, "fmnist_templates_epoch1", "after epoch 1", &ovr,
                           train.height, train.width);
    }
    double test_accuracy = acc_avg[epochs - 1];

    double reference[2] = {0.782, 0.782}, ref_x[2] = {1, epochs};
    nn_plot_series acc_curves[3] = {{"last w", epoch_axis, acc_last, epochs},
                                    {"averaged w", epoch_axis, acc_avg, epochs},
                                    {"Xiao et al. 2017", ref_x, reference, 2}};
    nn_plot_lines(cli.out, "fmnist_accuracy", "One-vs-rest perceptrons on Fashion-MNIST", "epoch",
                  "test accuracy", acc_curves, 3, 0);

    plot_templates(cli.out, "fmnist_templates", "after the last epoch", &ovr, train.height,
                   train.width);

    /* --- Results ------------------------------------------------------------------------- */
    printf("\nResults\n");
    if (blobs_converged)
        printf("   %-40s %d (%d mistakes in total)\n", "blobs: epochs to converge", blob_epochs,
               total_mistakes);
    else
        printf("   %-40s did not converge\n", "blobs: epochs to converge");
    printf("   %-40s %.3f\n", "XOR: best accuracy", xor_best);
    printf("   %-40s %.3f (last w %.3f)\n", "Fashion-MNIST: test accuracy (averaged)",
           test_accuracy, acc_last[epochs - 1]);
    printf("   %-40s %.3f\n", "Fashion-MNIST reference (Xiao 2017)", 0.782);
    printf("   %-40s %.2f s\n", "Fashion-MNIST training time", train_seconds);
    printf("   figures: %s/\n", cli.out);

    nn_report_add(&report, "test_accuracy", test_accuracy);
    nn_report_add_int(&report, "blobs_epochs_to_converge", blobs_converged ? blob_epochs : -1);
    nn_report_add(&report, "xor_best_accuracy", xor_best);
    nn_report_add_timing(&report, "train_seconds", train_seconds);
    nn_report_finish(&report, cli.out);

    free(acc_avg), free(acc_last), free(scores), free(fm_order);
    free(xor_order), free(order), free(epoch_axis);
    ovr_free(&ovr);
    nn_data_free(&train), nn_data_free(&test), nn_data_free(&xor), nn_data_free(&blobs);
    return 0;
}
