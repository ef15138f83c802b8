/* Lesson 16 -- interpretability and adversarial examples: what does the network look at, and
 * how easily can it be fooled?
 *
 * Concept: a trained classifier is a differentiable function z = f(x) of its input, so the
 * same backward pass that trains it can differentiate a class score with respect to the
 * PIXELS instead of the weights. That gradient answers two questions. "Which pixels would
 * change this score most?" -- a saliency map (Simonyan, Vedaldi & Zisserman 2014), checked
 * against occlusion (Zeiler & Fergus 2014: grey out a patch, watch the probability fall).
 * "Which small change of the image raises the loss most?" -- the fast gradient sign method
 * (Goodfellow, Shlens & Szegedy 2015), x_adv = clip(x + eps sign(grad_x loss), 0, 1): a change
 * of at most eps per pixel that random noise of the same size barely notices, but that breaks
 * the network. Training on such examples (adversarial training) buys robustness at a small
 * price in clean accuracy.
 *
 * What you will see:
 *   1. an MLP 784-256-10 on Fashion-MNIST, the model every part below takes apart;
 *   2. one test image per class with its saliency |dz_c/dx|, the signed gradient and the
 *      occlusion map, and a deletion test: blacking out the 5% of pixels the gradient picks
 *      (gradient x input) lowers p(class) far more than blacking out random pixels of the item;
 *   3. FGSM: test accuracy against eps = 0..0.3, beside random +-eps noise of the same size;
 *      the adversarial images next to the originals with both predictions; a 10-step iterative
 *      attack (projected gradient descent) at eps 0.1 as the stronger yardstick;
 *   4. adversarial training (half clean, half FGSM examples at eps 0.1 in every batch) and
 *      accuracy against eps for both models; the robust model's saliency maps.
 *
 * Run:  make lesson16                   (full: 60000 train / 10000 test, 8 + 8 epochs,
 *                                        attacks on all 10000 test images; about 1 minute)
 *       make lesson16 ARGS="--quick"    (5000 / 1000 images, 2 + 2 epochs, attacks on 400;
 *                                        2-4 seconds)
 *       flags: --seed N --epochs N (each model) --out DIR --kernels naive|blas --threads N
 *
 * Expected (full mode, seed 42, measured; see docs/16_interpretability.md): test accuracy
 * 0.883; FGSM at eps 0.1 leaves 0.083 of it, PGD 0.035, random +-0.1 noise 0.860; deleting the
 * top 5% of pixels by gradient x input drops p(true class) by 0.73 on average, random item
 * pixels by 0.02. The adversarially trained model: clean 0.851, FGSM eps 0.1 0.680, PGD 0.473.
 * --quick: test accuracy 0.80, FGSM eps 0.1 0.18, adversarially trained 0.50.
 * Reference: Goodfellow, Shlens & Szegedy 2015 (ICLR), on MNIST: FGSM with eps 0.25 makes a
 * shallow softmax classifier wrong on 99.9% of the test set, and adversarial training brings a
 * maxout network's error on FGSM examples from 89.4% to 17.9%.
 * Figures and metrics.json go to out/lesson16/.
 */
#include "nn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { CLASSES = 10, SIDE = 28, DIM = SIDE * SIDE, HIDDEN = 256, BATCH = 64, EVAL_BATCH = 250 };

/* the attack budgets: L-infinity radii in pixel units (pixels are in [0, 1]) */
static const double EPS_GRID[] = {0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3};
#define NEPS ((int)(sizeof EPS_GRID / sizeof EPS_GRID[0]))
static const double EPS_TRAIN = 0.1; /* adversarial training and the PGD yardstick */
static const int PGD_STEPS = 10;     /* step eps/4: far enough to reach every corner */
static const int PATCH = 6, STRIDE = 2;
static const nn_real GREY = 0.5f;    /* the occluding patch */
static const double DELETE = 0.05;   /* the deletion test blacks out 5% of the pixels */

static const char *short_name[CLASSES] = {"T-shirt", "Trouser", "Pullover", "Dress", "Coat",
                                          "Sandal",  "Shirt",   "Sneaker",  "Bag",   "Boot"};

/* ------------------------------------------------------------------------------------------ */
/* The classifier: an MLP, written as the function x -> logits that lib/attack.c expects     */
/* ------------------------------------------------------------------------------------------ */

typedef struct net {
    nn_params ps;
    nn_linear_layer fc1, fc2;
} net;

static void net_init(net *m, nn_rng *rng)
{
    nn_params_init(&m->ps);
    nn_linear_init(&m->fc1, &m->ps, "fc1", DIM, HIDDEN, 1, rng);
    nn_linear_init(&m->fc2, &m->ps, "fc2", HIDDEN, CLASSES, 1, rng);
}

/* x (B, 784) -> relu(x W1^T + b1) (B, 256) -> logits (B, 10). The signature is lib/attack.c's
 * nn_model_fn: the attack functions call it with x as a leaf that wants a gradient. */
static nn_tensor *net_forward(nn_graph *g, nn_tensor *x, void *ctx)
{
    const net *m = ctx;
    return nn_linear(g, &m->fc2, nn_relu(g, nn_linear(g, &m->fc1, x)));
}

/* predicted classes (and probabilities, if probs) of n images, forward only */
static void predict(net *m, nn_graph *g, const nn_real *x, int n, int *pred, nn_real *probs)
{
    g->grad = 0, g->training = 0;
    for (int start = 0; start < n; start += EVAL_BATCH) {
        int b = n - start < EVAL_BATCH ? n - start : EVAL_BATCH;
        nn_tensor *z = net_forward(g, nn_graph_input(g, x + (size_t)start * DIM, 2, b, DIM), m);
        nn_metrics_argmax(pred + start, z->data, b, CLASSES);
        if (probs) nn_kernel_softmax(probs + (size_t)start * CLASSES, z->data, b, CLASSES);
        nn_graph_reset(g);
    }
    g->grad = 1, g->training = 1;
}

static double accuracy(const int *pred, const int *y, int n)
{
    int right = 0;
    for (int i = 0; i < n; i++) right += pred[i] == y[i];
    return (double)right / n;
}

/* ------------------------------------------------------------------------------------------ */
/* Training, plain or adversarial                                                              */
/* ------------------------------------------------------------------------------------------ */

/* Adam, lr 1e-3. With eps_adv > 0 every batch is doubled: its B clean images plus their FGSM
 * versions made against the CURRENT weights, and the loss is the mean over all 2B,
 *     L = 1/2 CE(f(x), y) + 1/2 CE(f(x + eps sign grad_x CE), y)     (Goodfellow et al. 2015).
 * nn_attack_fgsm runs a backward pass of its own, which also adds into the weights'
 * gradients: nn_params_zero_grad comes after it, right before the training backward. */
static double train(net *m, const nn_data *d, int epochs, double eps_adv, nn_graph *g,
                    nn_rng *rng, const char *label)
{
    const int steps = d->n / BATCH, rows = eps_adv > 0 ? 2 * BATCH : BATCH;
    nn_real *x = nn_malloc((size_t)2 * BATCH * DIM * sizeof *x);
    int *y = nn_malloc(2 * BATCH * sizeof *y), *order = nn_malloc((size_t)d->n * sizeof *order);
    nn_optim opt;
    nn_optim_init(&opt, NN_OPTIM_ADAM, &m->ps, 1e-3f);
    double t0 = nn_seconds();
    printf("   %s: %d epoch%s of %d batches of %d", label, epochs, epochs > 1 ? "s" : "", steps,
           BATCH);
    if (eps_adv > 0) printf(" clean images + their FGSM versions (eps %.2f)", eps_adv);
    printf("\n");
    for (int e = 0; e < epochs; e++) {
        nn_rng_permutation(rng, order, d->n);
        nn_progress bar;
        nn_progress_start(&bar, label, steps);
        double total = 0;
        for (int s = 0; s < steps; s++) {
            nn_data_batch(d, order, s * BATCH, BATCH, x, y);
            if (eps_adv > 0) { /* rows B..2B-1: the adversarial twins, same labels */
                nn_attack_fgsm(x + (size_t)BATCH * DIM, net_forward, m, x, y, BATCH, DIM,
                               (nn_real)eps_adv);
                memcpy(y + BATCH, y, BATCH * sizeof *y);
            }
            g->grad = 1, g->training = 1;
            nn_tensor *loss = nn_softmax_cross_entropy(
                g, net_forward(g, nn_graph_input(g, x, 2, rows, DIM), m), y);
            nn_graph_check_finite(g, loss, opt.step);
            total += loss->data[0];
            nn_params_zero_grad(&m->ps);
            nn_backward(g, loss);
            nn_optim_step(&opt);
            nn_graph_reset(g);
            if ((s & 15) == 15 || s == steps - 1) nn_progress_update(&bar, s + 1, NULL);
        }
        nn_progress_finish(&bar);
        printf("   epoch %d: mean training loss %.4f\n", e + 1, total / steps);
    }
    nn_optim_free(&opt);
    free(order), free(y), free(x);
    return nn_seconds() - t0;
}

/* ------------------------------------------------------------------------------------------ */
/* Attacks: FGSM at every eps, random noise of the same size, and iterated FGSM (PGD)          */
/* ------------------------------------------------------------------------------------------ */

/* Projected gradient descent (Kurakin et al. 2017; Madry et al. 2018, without the random
 * start): PGD_STEPS small FGSM steps of eps/4, each followed by a projection back onto the
 * allowed set {x' : |x' - x|_inf <= eps, 0 <= x' <= 1}. One FGSM step trusts the gradient at
 * x for the whole way; PGD looks again after every step, so it finds the loss's bends. */
static void pgd_attack(net *m, nn_real *adv, const nn_real *x, const int *y, int n, double eps,
                       nn_real *grad)
{
    const size_t count = (size_t)n * DIM;
    memcpy(adv, x, count * sizeof *adv);
    for (int s = 0; s < PGD_STEPS; s++) {
        nn_attack_loss_grad(grad, net_forward, m, adv, y, n, DIM);
        nn_attack_sign_step(adv, adv, grad, count, (nn_real)(eps / 4), 0, 1);
        for (size_t i = 0; i < count; i++) { /* back into the eps-box around x */
            nn_real lo = x[i] - (nn_real)eps, hi = x[i] + (nn_real)eps;
            adv[i] = adv[i] < lo ? lo : adv[i] > hi ? hi : adv[i];
        }
    }
}

typedef struct robustness {
    double fgsm[NEPS], noise[NEPS]; /* accuracy under FGSM and under random +-eps noise */
    double pgd;                     /* accuracy under PGD at EPS_TRAIN */
} robustness;

/* FGSM's direction sign(grad_x CE) does not depend on eps: one backward pass per batch, then
 * one forward pass per eps. The noise gets the same size, eps per pixel, in random signs. */
static void evaluate_attacks(net *m, const nn_data *d, nn_graph *g, uint64_t seed,
                             robustness *r)
{
    nn_rng rng;
    nn_rng_seed(&rng, seed); /* its own stream: both models see the same noise */
    long fgsm_right[NEPS] = {0}, noise_right[NEPS] = {0}, pgd_right = 0;
    const size_t cap = (size_t)EVAL_BATCH * DIM;
    nn_real *grad = nn_malloc(cap * sizeof *grad), *adv = nn_malloc(cap * sizeof *adv);
    nn_real *sign = nn_malloc(cap * sizeof *sign);
    int pred[EVAL_BATCH];
    for (int start = 0; start < d->n; start += EVAL_BATCH) {
        const int b = d->n - start < EVAL_BATCH ? d->n - start : EVAL_BATCH;
        const nn_real *x = d->x + (size_t)start * DIM;
        const int *y = d->y + start;
        const size_t count = (size_t)b * DIM;
        nn_attack_loss_grad(grad, net_forward, m, x, y, b, DIM);
        for (size_t i = 0; i < count; i++) sign[i] = nn_rng_uniform(&rng) < 0.5 ? -1 : 1;
        for (int k = 0; k < NEPS; k++) {
            nn_attack_sign_step(adv, x, grad, count, (nn_real)EPS_GRID[k], 0, 1);
            predict(m, g, adv, b, pred, NULL);
            for (int i = 0; i < b; i++) fgsm_right[k] += pred[i] == y[i];
            nn_attack_sign_step(adv, x, sign, count, (nn_real)EPS_GRID[k], 0, 1);
            predict(m, g, adv, b, pred, NULL);
            for (int i = 0; i < b; i++) noise_right[k] += pred[i] == y[i];
        }
        pgd_attack(m, adv, x, y, b, EPS_TRAIN, grad);
        predict(m, g, adv, b, pred, NULL);
        for (int i = 0; i < b; i++) pgd_right += pred[i] == y[i];
    }
    for (int k = 0; k < NEPS; k++)
        r->fgsm[k] = (double)fgsm_right[k] / d->n, r->noise[k] = (double)noise_right[k] / d->n;
    r->pgd = (double)pgd_right / d->n;
    free(sign), free(adv), free(grad);
}

static int eps_index(double eps)
{
    for (int k = 0; k < NEPS; k++)
        if (fabs(EPS_GRID[k] - eps) < 1e-9) return k;
    nn_fail("lesson16: eps %g is not on the grid", eps);
}

/* ------------------------------------------------------------------------------------------ */
/* Saliency and occlusion figures, and the deletion test                                       */
/* ------------------------------------------------------------------------------------------ */

/* Scalings for drawing (nn_plot_images shows 0 black .. 1 white):
 *   |s| / max|s|          bright = the score is sensitive to this pixel, either way
 *   1/2 + s / (2 max|s|)  grey = 0, white = brightening the pixel raises the score, black = lowers
 *   max(drop, 0) / max    bright = hiding this pixel's neighbourhood hurts the class */
static void scale_abs(nn_real *out, const nn_real *s)
{
    nn_real mx = 1e-12f;
    for (int j = 0; j < DIM; j++) mx = fmaxf(mx, fabsf(s[j]));
    for (int j = 0; j < DIM; j++) out[j] = fabsf(s[j]) / mx;
}

static void scale_signed(nn_real *out, const nn_real *s)
{
    nn_real mx = 1e-12f;
    for (int j = 0; j < DIM; j++) mx = fmaxf(mx, fabsf(s[j]));
    for (int j = 0; j < DIM; j++) out[j] = 0.5f + 0.5f * s[j] / mx;
}

static void scale_positive(nn_real *out, const nn_real *s)
{
    nn_real mx = 1e-12f;
    for (int j = 0; j < DIM; j++) mx = fmaxf(mx, s[j]);
    for (int j = 0; j < DIM; j++) out[j] = s[j] > 0 ? s[j] / mx : 0;
}

/* Deletion test (in the spirit of Samek et al. 2017): black out k pixels of each image and
 * measure how far p(true class) falls. To first order z(x with x_j -> 0) = z(x) - s_j x_j,
 * so "gradient x input" s_j x_j names the pixels whose removal should hurt most; |s_j| alone
 * may point at background pixels that are already 0 (removing them changes nothing); the
 * baseline is k random pixels of the item itself (x_j > 0). Returns the mean drops. */
typedef struct deletion {
    double grad_input, abs_grad, random;
} deletion;

static deletion deletion_test(net *m, const nn_data *d, nn_graph *g, nn_rng *rng)
{
    const int k = (int)lround(DELETE * DIM);
    /* per batch: the saliency, and three copies of the images with k pixels blacked out */
    nn_real *sal = nn_malloc((size_t)EVAL_BATCH * DIM * sizeof *sal);
    nn_real *cut = nn_malloc((size_t)3 * EVAL_BATCH * DIM * sizeof *cut);
    nn_real *p0 = nn_malloc((size_t)EVAL_BATCH * CLASSES * sizeof *p0);
    nn_real *p1 = nn_malloc((size_t)3 * EVAL_BATCH * CLASSES * sizeof *p1);
    int pred[3 * EVAL_BATCH], idx[DIM];
    double score[DIM], drop[3] = {0, 0, 0};
    for (int start = 0; start < d->n; start += EVAL_BATCH) {
        const int b = d->n - start < EVAL_BATCH ? d->n - start : EVAL_BATCH;
        const nn_real *xb = d->x + (size_t)start * DIM;
        const int *yb = d->y + start;
        nn_attack_saliency(sal, net_forward, m, xb, yb, b, DIM);
        predict(m, g, xb, b, pred, p0);
        for (int i = 0; i < b; i++) {
            const nn_real *x = xb + (size_t)i * DIM, *s = sal + (size_t)i * DIM;
            for (int r = 0; r < 3; r++) memcpy(cut + ((size_t)r * b + i) * DIM, x, DIM * sizeof *x);
            for (int rule = 0; rule < 2; rule++) { /* top k by s x, then by |s|: selection */
                for (int j = 0; j < DIM; j++)
                    score[j] = rule == 0 ? (double)s[j] * x[j] : fabs(s[j]);
                for (int j = 0; j < DIM; j++) idx[j] = j;
                for (int t = 0; t < k; t++) {
                    int best = t;
                    for (int j = t + 1; j < DIM; j++)
                        if (score[idx[j]] > score[idx[best]]) best = j;
                    int tmp = idx[t];
                    idx[t] = idx[best], idx[best] = tmp;
                    cut[((size_t)rule * b + i) * DIM + idx[t]] = 0;
                }
            }
            int ink = 0; /* k random pixels of the item (all of them if it has fewer) */
            for (int j = 0; j < DIM; j++)
                if (x[j] > 0) idx[ink++] = j;
            nn_rng_shuffle(rng, idx, ink);
            for (int t = 0; t < k && t < ink; t++) cut[((size_t)2 * b + i) * DIM + idx[t]] = 0;
        }
        predict(m, g, cut, 3 * b, pred, p1);
        for (int r = 0; r < 3; r++)
            for (int i = 0; i < b; i++)
                drop[r] += p0[(size_t)i * CLASSES + yb[i]] -
                           p1[((size_t)r * b + i) * CLASSES + yb[i]];
    }
    free(p1), free(p0), free(cut), free(sal);
    return (deletion){drop[0] / d->n, drop[1] / d->n, drop[2] / d->n};
}

/* ------------------------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    const char *about =
        "Lesson 16: interpretability and adversarial examples. Saliency maps (the gradient of "
        "a class score with respect to the pixels) and occlusion maps of a small MLP on "
        "Fashion-MNIST, a deletion test, the fast gradient sign method (accuracy against eps, "
        "against random noise, against 10-step PGD) and adversarial training.";
    nn_cli cli;
    nn_cli_parse(&cli, 16, about, argc, argv);
    nn_rng rng;
    nn_rng_seed(&rng, cli.seed);
    nn_report report;
    nn_report_init(&report, 16);
    const int epochs = nn_cli_epochs(&cli, 8, 2);

    /* --- data ----------------------------------------------------------------------------- */
    nn_data train_all, test_all, train_set, test_set, attack_set;
    nn_data_fmnist_load(&train_all, &test_all);
    nn_data_subset(&train_set, &train_all, cli.quick ? 5000 : train_all.n);
    nn_data_subset(&test_set, &test_all, cli.quick ? 1000 : test_all.n);
    nn_data_subset(&attack_set, &test_all, cli.quick ? 400 : test_all.n); /* attacks cost more */
    nn_data_free(&train_all), nn_data_free(&test_all);
    if (train_set.dim != DIM)
        nn_fail("lesson16: expected 28x28 images, got %d values each", train_set.dim);
    printf("Fashion-MNIST: %d train, %d test images (attacks on the first %d); seed %llu\n\n",
           train_set.n, test_set.n, attack_set.n, (unsigned long long)cli.seed);
    int *pred = nn_malloc((size_t)test_set.n * sizeof *pred);
    nn_graph *g = nn_graph_new();

    /* --- 1. a classifier to study --------------------------------------------------------- */
    printf("1. An MLP 784-%d-10 (ReLU), Adam\n", HIDDEN);
    net model;
    net_init(&model, &rng);
    net robust; /* part 4's model starts from the same weights */
    net_init(&robust, &rng);
    memcpy(robust.ps.values, model.ps.values, model.ps.count * sizeof *model.ps.values);
    const double train_seconds = train(&model, &train_set, epochs, 0, g, &rng, "standard");
    predict(&model, g, test_set.x, test_set.n, pred, NULL);
    const double test_accuracy = accuracy(pred, test_set.y, test_set.n);
    printf("   test accuracy %.4f (%zu parameters, %.1f s)\n\n", test_accuracy, model.ps.count,
           train_seconds);

    /* --- 2. saliency and occlusion -------------------------------------------------------- */
    /* the first test image of each class */
    int show[CLASSES], found = 0;
    for (int c = 0; c < CLASSES; c++) show[c] = -1;
    for (int i = 0; i < test_set.n && found < CLASSES; i++)
        if (show[test_set.y[i]] < 0) show[test_set.y[i]] = i, found++;
    if (found < CLASSES) nn_fail("lesson16: the test subset lacks a class");
    nn_real xs[CLASSES * DIM], sal[CLASSES * DIM], occ[CLASSES * DIM];
    int ys[CLASSES];
    for (int c = 0; c < CLASSES; c++) {
        memcpy(xs + c * DIM, test_set.x + (size_t)show[c] * DIM, DIM * sizeof *xs);
        ys[c] = c;
    }
    printf("2. Saliency s = dz_c/dx and occlusion (%dx%d grey patch, stride %d) for one test "
           "image per class\n", PATCH, PATCH, STRIDE);
    nn_attack_saliency(sal, net_forward, &model, xs, ys, CLASSES, DIM);
    nn_attack_occlusion(occ, net_forward, &model, xs, ys, CLASSES, 1, SIDE, SIDE, PATCH, STRIDE,
                        GREY);
    {
        nn_real *grid = nn_malloc((size_t)4 * CLASSES * DIM * sizeof *grid);
        for (int c = 0; c < CLASSES; c++) {
            memcpy(grid + c * DIM, xs + c * DIM, DIM * sizeof *grid);
            scale_abs(grid + (size_t)(CLASSES + c) * DIM, sal + c * DIM);
            scale_signed(grid + (size_t)(2 * CLASSES + c) * DIM, sal + c * DIM);
            scale_positive(grid + (size_t)(3 * CLASSES + c) * DIM, occ + c * DIM);
        }
        nn_plot_images(cli.out, "saliency",
                       "Rows: image | saliency |dz_c/dx| | signed dz_c/dx (grey 0, white +) | "
                       "occlusion: drop of p(c) when a grey 6x6 patch covers the pixel",
                       grid, 4 * CLASSES, SIDE, SIDE, CLASSES, 0);
        free(grid);
    }
    nn_real probs[CLASSES * CLASSES];
    int show_pred[CLASSES];
    predict(&model, g, xs, CLASSES, show_pred, probs);
    printf("   %-9s %6s %10s %14s %16s\n", "class", "p(c)", "max|s|", "max occl. drop",
           "mean occl. drop");
    for (int c = 0; c < CLASSES; c++) {
        nn_real smax = 0, omax = -1;
        double omean = 0;
        for (int j = 0; j < DIM; j++) {
            smax = fmaxf(smax, fabsf(sal[c * DIM + j]));
            omax = fmaxf(omax, occ[c * DIM + j]);
            omean += occ[c * DIM + j] / DIM;
        }
        printf("   %-9s %6.3f %10.3f %14.3f %16.4f\n", short_name[c], probs[c * CLASSES + c],
               smax, omax, omean);
    }
    const deletion del = deletion_test(&model, &attack_set, g, &rng);
    printf("   deletion test on %d images, %d pixels (%.0f%%) set to 0 each: mean drop of "
           "p(true class)\n", attack_set.n, (int)lround(DELETE * DIM), 100 * DELETE);
    printf("      top gradient x input %.3f   top |gradient| %.3f   random item pixels %.3f\n\n",
           del.grad_input, del.abs_grad, del.random);

    /* --- 3. FGSM -------------------------------------------------------------------------- */
    printf("3. FGSM x_adv = clip(x + eps sign(grad_x CE), 0, 1) on %d test images\n",
           attack_set.n);
    robustness r_std, r_adv;
    evaluate_attacks(&model, &attack_set, g, cli.seed + 1, &r_std);
    const int k10 = eps_index(0.1), k05 = eps_index(0.05), k20 = eps_index(0.2),
              k30 = eps_index(0.3);
    printf("   %6s %10s %14s\n", "eps", "FGSM acc", "+-eps noise acc");
    for (int k = 0; k < NEPS; k++)
        printf("   %6.2f %10.3f %14.3f\n", EPS_GRID[k], r_std.fgsm[k], r_std.noise[k]);
    printf("   PGD (%d steps of eps/4) at eps %.2f: %.3f\n", PGD_STEPS, EPS_TRAIN, r_std.pgd);
    {
        nn_plot_series curves[2] = {{"FGSM", EPS_GRID, r_std.fgsm, NEPS},
                                    {"random +-eps noise", EPS_GRID, r_std.noise, NEPS}};
        nn_plot_lines(cli.out, "fgsm_accuracy",
                      "Standard MLP: accuracy under FGSM and under random noise of the same size",
                      "eps (max change per pixel, pixels in [0,1])", "test accuracy", curves, 2,
                      0);
    }
    /* the same ten images at eps 0.1: originals, the perturbation, the adversarial images */
    {
        const nn_real eps = (nn_real)EPS_TRAIN;
        nn_real adv[CLASSES * DIM], grid[3 * CLASSES * DIM];
        int adv_pred[CLASSES];
        nn_attack_fgsm(adv, net_forward, &model, xs, ys, CLASSES, DIM, eps);
        predict(&model, g, adv, CLASSES, adv_pred, probs);
        memcpy(grid, xs, sizeof xs);
        for (int j = 0; j < CLASSES * DIM; j++) /* (x_adv - x) / (2 eps) + 1/2: grey = 0 */
            grid[CLASSES * DIM + j] = 0.5f + (adv[j] - xs[j]) / (2 * eps);
        memcpy(grid + 2 * CLASSES * DIM, adv, sizeof adv);
        char title[600], top[200] = "", bottom[200] = "";
        int fooled = 0;
        printf("   eps %.2f on the ten images (fgsm_examples.png):\n   %-9s %-9s %-9s %s\n",
               EPS_TRAIN, "true", "clean", "FGSM", "p(FGSM prediction)");
        for (int c = 0; c < CLASSES; c++) {
            const size_t lt = strlen(top), lb = strlen(bottom);
            snprintf(top + lt, sizeof top - lt, "%s%s", c ? " | " : "", short_name[show_pred[c]]);
            snprintf(bottom + lb, sizeof bottom - lb, "%s%s", c ? " | " : "",
                     short_name[adv_pred[c]]);
            fooled += show_pred[c] == c && adv_pred[c] != c;
            printf("   %-9s %-9s %-9s %.3f\n", short_name[c], short_name[show_pred[c]],
                   short_name[adv_pred[c]], probs[c * CLASSES + adv_pred[c]]);
        }
        snprintf(title, sizeof title,
                 "FGSM, eps %.2f. Top: originals, predicted %s\nMiddle: eps sign(grad) (grey 0)."
                 " Bottom: adversarial, predicted %s", EPS_TRAIN, top, bottom);
        nn_plot_images(cli.out, "fgsm_examples", title, grid, 3 * CLASSES, SIDE, SIDE, CLASSES,
                       0);
        printf("   %d of the ten flipped from right to wrong\n\n", fooled);
    }

    /* --- 4. adversarial training ---------------------------------------------------------- */
    printf("4. Adversarial training: the same MLP from the same start, every batch half clean, "
           "half FGSM (eps %.2f)\n", EPS_TRAIN);
    const double adv_seconds = train(&robust, &train_set, epochs, EPS_TRAIN, g, &rng,
                                     "adversarial");
    predict(&robust, g, test_set.x, test_set.n, pred, NULL);
    const double adv_accuracy = accuracy(pred, test_set.y, test_set.n);
    printf("   test accuracy %.4f (%.1f s)\n", adv_accuracy, adv_seconds);
    evaluate_attacks(&robust, &attack_set, g, cli.seed + 1, &r_adv);
    printf("   %6s %16s %16s\n", "eps", "standard FGSM", "adv.-trained FGSM");
    for (int k = 0; k < NEPS; k++)
        printf("   %6.2f %16.3f %16.3f\n", EPS_GRID[k], r_std.fgsm[k], r_adv.fgsm[k]);
    printf("   %6s %16.3f %16.3f   (PGD, eps %.2f)\n", "PGD", r_std.pgd, r_adv.pgd, EPS_TRAIN);
    {
        double px[1] = {EPS_TRAIN}, ps[1] = {r_std.pgd}, pa[1] = {r_adv.pgd};
        nn_plot_series curves[3] = {{"standard, FGSM", EPS_GRID, r_std.fgsm, NEPS},
                                    {"adversarially trained, FGSM", EPS_GRID, r_adv.fgsm, NEPS},
                                    {"adversarially trained, random noise", EPS_GRID,
                                     r_adv.noise, NEPS}};
        nn_plot_series points[2] = {{"standard, PGD", px, ps, 1},
                                    {"adversarially trained, PGD", px, pa, 1}};
        nn_plot_lines_points(cli.out, "adv_training",
                             "Accuracy against eps: standard vs adversarially trained MLP",
                             "eps (max change per pixel)", "test accuracy", curves, 3, points,
                             2);
    }
    /* the robust model's saliency next to the standard one's */
    {
        nn_real sal_r[CLASSES * DIM], grid[3 * CLASSES * DIM];
        nn_attack_saliency(sal_r, net_forward, &robust, xs, ys, CLASSES, DIM);
        memcpy(grid, xs, sizeof xs);
        for (int c = 0; c < CLASSES; c++) {
            scale_abs(grid + (size_t)(CLASSES + c) * DIM, sal + c * DIM);
            scale_abs(grid + (size_t)(2 * CLASSES + c) * DIM, sal_r + c * DIM);
        }
        nn_plot_images(cli.out, "saliency_robust",
                       "Rows: image | |dz_c/dx| of the standard MLP | |dz_c/dx| of the "
                       "adversarially trained MLP",
                       grid, 3 * CLASSES, SIDE, SIDE, CLASSES, 0);
    }
    const deletion del_r = deletion_test(&robust, &attack_set, g, &rng);
    printf("   deletion test, adversarially trained: gradient x input %.3f, |gradient| %.3f, "
           "random %.3f\n", del_r.grad_input, del_r.abs_grad, del_r.random);

    /* --- results -------------------------------------------------------------------------- */
    printf("\nResults (attacks on %d test images)\n", attack_set.n);
    printf("   %-24s %8s %8s %8s %8s %8s %8s\n", "model", "clean", "FGSM.05", "FGSM.10",
           "FGSM.20", "PGD.10", "noise.10");
    printf("   %-24s %8.3f %8.3f %8.3f %8.3f %8.3f %8.3f\n", "standard", test_accuracy,
           r_std.fgsm[k05], r_std.fgsm[k10], r_std.fgsm[k20], r_std.pgd, r_std.noise[k10]);
    printf("   %-24s %8.3f %8.3f %8.3f %8.3f %8.3f %8.3f\n", "adversarially trained",
           adv_accuracy, r_adv.fgsm[k05], r_adv.fgsm[k10], r_adv.fgsm[k20], r_adv.pgd,
           r_adv.noise[k10]);
    printf("   training: %.1f s standard, %.1f s adversarial\n", train_seconds, adv_seconds);
    printf("   figures: %s/\n", cli.out);

    nn_report_add(&report, "test_accuracy", test_accuracy);
    nn_report_add(&report, "fgsm_accuracy_eps05", r_std.fgsm[k05]);
    nn_report_add(&report, "fgsm_accuracy_eps10", r_std.fgsm[k10]);
    nn_report_add(&report, "fgsm_accuracy_eps20", r_std.fgsm[k20]);
    nn_report_add(&report, "fgsm_accuracy_eps30", r_std.fgsm[k30]);
    nn_report_add(&report, "noise_accuracy_eps10", r_std.noise[k10]);
    nn_report_add(&report, "pgd_accuracy_eps10", r_std.pgd);
    nn_report_add(&report, "adv_trained_test_accuracy", adv_accuracy);
    nn_report_add(&report, "adv_trained_fgsm_accuracy_eps05", r_adv.fgsm[k05]);
    nn_report_add(&report, "adv_trained_fgsm_accuracy_eps10", r_adv.fgsm[k10]);
    nn_report_add(&report, "adv_trained_fgsm_accuracy_eps20", r_adv.fgsm[k20]);
    nn_report_add(&report, "adv_trained_fgsm_accuracy_eps30", r_adv.fgsm[k30]);
    nn_report_add(&report, "adv_trained_pgd_accuracy_eps10", r_adv.pgd);
    nn_report_add(&report, "saliency_deletion_drop", del.grad_input);
    nn_report_add(&report, "abs_saliency_deletion_drop", del.abs_grad);
    nn_report_add(&report, "random_deletion_drop", del.random);
    nn_report_add_timing(&report, "train_seconds", train_seconds);
    nn_report_add_timing(&report, "adv_train_seconds", adv_seconds);
    nn_report_finish(&report, cli.out);

    nn_params_free(&robust.ps), nn_params_free(&model.ps);
    nn_graph_free(g);
    free(pred);
    nn_data_free(&attack_set), nn_data_free(&test_set), nn_data_free(&train_set);
    return 0;
}
