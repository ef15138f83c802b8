/* Lesson 02 -- the multilayer perceptron and backpropagation.
 *
 * Concept: stack linear layers with a nonlinearity between them and the network can bend its
 * decision boundary around any shape; train it by gradient descent, with the gradient of the
 * loss with respect to every weight computed by the chain rule, layer by layer, backwards
 * (backpropagation; Rumelhart, Hinton & Williams 1986).
 *
 * What you will see:
 *   1. two interleaved spirals that no line separates (lesson 01's perceptron fails here);
 *   2. a 2-64-2 tanh network whose backward pass is written by hand on the raw kernels
 *      (nn_gemm, row sums, the tanh derivative), then the same network built with autograd:
 *      both gradients agree to float rounding -- autograd is the same chain rule, automated;
 *   3. the network trained until its decision boundary wraps around the spirals;
 *   4. an MLP 784-256-128-10 on Fashion-MNIST: train and test loss and accuracy per epoch --
 *      or, with --csv FILE, the same MLP (D-256-128-K) on your own table of numbers.
 *
 * Run:  make lesson02                   (full: 60000 train / 10000 test, 15 epochs, ~1 minute)
 *       make lesson02 ARGS="--quick"    (6000 / 1000, 3 epochs, about 2 seconds)
 *       make lesson02 ARGS="--csv FILE" (part 4 on a CSV file instead of Fashion-MNIST)
 *       flags: --seed N --epochs N --out DIR --kernels naive|blas --threads N --csv FILE --help
 *
 * --csv FILE: one example per line, the features then an integer class label 0..K-1 in the
 * last column, an optional header line (lib/csv.c; a bad file is refused naming the line and
 * the column). A stratified 20% of the rows is held out as the test set, and every feature is
 * standardized with the mean and standard deviation of the training part only.
 *
 * Expected (seed 42): gradients agree to ~4e-7 relative (float rounding); spirals training
 * accuracy about 0.94 (the arms overlap near the centre, where the noise blurs them);
 * Fashion-MNIST test accuracy about 0.89 (0.81 in --quick). Reference: MLPClassifier 0.871
 * in Xiao, Rasul & Vollgraf 2017, "Fashion-MNIST" (Table 3, best setting). Figures and metrics.json go to out/lesson02/.
 * With --csv on the tables scikit-learn ships (docs/02_mlp.md says how to get them): iris 0.967,
 * wine 1.000, breast cancer 0.956, digits 0.975 test accuracy.
 */
#include "nn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { IN = 2, HIDDEN = 64, CLASSES = 2 };

/* ------------------------------------------------------------------------------------------ */
/* Part 1: a two-layer network with its backward pass written by hand.                         */
/*                                                                                            */
/*   forward:   A = X W1^T + b1      (B,H)        X (B,2), W1 (H,2), b1 (H)                    */
/*              Hd = tanh(A)         (B,H)                                                    */
/*              Z = Hd W2^T + b2     (B,2)        W2 (2,H), b2 (2)                             */
/*              P = softmax(Z)       (B,2)                                                    */
/*              L = -(1/B) sum_b log P[b, y_b]                                                */
/*   backward (the chain rule, from the loss back to the input):                              */
/*              dZ  = (P - Y) / B            Y the one-hot labels                             */
/*              dW2 = dZ^T Hd        (2,H)    db2 = sum over the batch of dZ                  */
/*              dHd = dZ W2          (B,H)                                                    */
/*              dA  = dHd * (1 - Hd^2)       tanh'(a) = 1 - tanh(a)^2                         */
/*              dW1 = dA^T X         (H,2)    db1 = sum over the batch of dA                  */
/* ------------------------------------------------------------------------------------------ */

typedef struct hand_net {
    nn_real W1[HIDDEN * IN], b1[HIDDEN], W2[CLASSES * HIDDEN], b2[CLASSES];
} hand_net;

/* returns the loss; fills the gradients (same layout as the weights) */
static double hand_forward_backward(const hand_net *net, hand_net *grad, const nn_real *X,
                                    const int *y, int B)
{
    nn_real *A = nn_malloc(sizeof(nn_real) * B * HIDDEN);
    nn_real *Hd = nn_malloc(sizeof(nn_real) * B * HIDDEN);
    nn_real *Z = nn_malloc(sizeof(nn_real) * B * CLASSES);
    nn_real *P = nn_malloc(sizeof(nn_real) * B * CLASSES);

    /* forward */
    nn_gemm(0, 1, B, HIDDEN, IN, 1, X, IN, net->W1, IN, 0, A, HIDDEN);            /* X W1^T */
    nn_kernel_add_row(A, net->b1, B, HIDDEN);                                      /* + b1   */
    for (int i = 0; i < B * HIDDEN; i++) Hd[i] = (nn_real)tanh((double)A[i]);
    nn_gemm(0, 1, B, CLASSES, HIDDEN, 1, Hd, HIDDEN, net->W2, HIDDEN, 0, Z, CLASSES);
    nn_kernel_add_row(Z, net->b2, B, CLASSES);
    nn_kernel_softmax(P, Z, B, CLASSES);
    double loss = 0;
    for (int b = 0; b < B; b++) loss -= log((double)P[b * CLASSES + y[b]]);
    loss /= B;

    /* backward: P becomes dZ in place, A becomes dA */
    for (int b = 0; b < B; b++)
        for (int c = 0; c < CLASSES; c++)
            P[b * CLASSES + c] = (P[b * CLASSES + c] - (c == y[b])) / (nn_real)B;
    memset(grad, 0, sizeof *grad);
    nn_gemm(1, 0, CLASSES, HIDDEN, B, 1, P, CLASSES, Hd, HIDDEN, 0, grad->W2, HIDDEN); /* dZ^T Hd */
    nn_kernel_sum_rows(grad->b2, P, B, CLASSES);
    nn_gemm(0, 0, B, HIDDEN, CLASSES, 1, P, CLASSES, net->W2, HIDDEN, 0, A, HIDDEN); /* dZ W2 */
    for (int i = 0; i < B * HIDDEN; i++) A[i] *= 1 - Hd[i] * Hd[i];
    nn_gemm(1, 0, HIDDEN, IN, B, 1, A, HIDDEN, X, IN, 0, grad->W1, IN); /* dA^T X */
    nn_kernel_sum_rows(grad->b1, A, B, HIDDEN);
    free(A);
    free(Hd);
    free(Z);
    free(P);
    return loss;
}

/* ------------------------------------------------------------------------------------------ */
/* Part 2: the same network with autograd: the layers record themselves on the tape and       */
/* nn_backward runs the same equations in reverse.                                            */
/* ------------------------------------------------------------------------------------------ */

typedef struct mlp {
    nn_linear_layer fc1, fc2, fc3; /* fc3 unused (NULL weight) in the 2-layer spiral net */
} mlp;

static nn_tensor *spiral_net(nn_graph *g, const mlp *net, nn_tensor *x)
{
    nn_tensor *h = nn_tanh(g, nn_linear(g, &net->fc1, x)); /* (B,64) */
    return nn_linear(g, &net->fc2, h);                      /* (B,2) logits */
}

static nn_tensor *fmnist_net(nn_graph *g, const mlp *net, nn_tensor *x)
{
    nn_tensor *h1 = nn_relu(g, nn_linear(g, &net->fc1, x));  /* (B,256) */
    nn_tensor *h2 = nn_relu(g, nn_linear(g, &net->fc2, h1)); /* (B,128) */
    return nn_linear(g, &net->fc3, h2);                      /* (B,10), or (B,K) for a CSV */
}

/* the same net in the shape nn_evaluate asks for: (graph, input, weights) -> logits */
static nn_tensor *fmnist_net_fn(nn_graph *g, nn_tensor *x, void *net)
{
    return fmnist_net(g, net, x);
}

/* max |a - b| / max |b| over one tensor: a relative error that ignores tiny entries */
static double relative_difference(const nn_real *a, const nn_real *b, size_t n)
{
    double diff = 0, scale = 1e-30;
    for (size_t i = 0; i < n; i++) {
        diff = fmax(diff, fabs((double)a[i] - (double)b[i]));
        scale = fmax(scale, fabs((double)b[i]));
    }
    return diff / scale;
}

/* predicted class of the spiral net on a grid over the plane, for the boundary figure */
static void spiral_boundary(const mlp *net, const nn_data *d, const char *dir)
{
    enum { G = 150 };
    const double lo = -1.3, hi = 1.3;
    static int grid[G * G];
    nn_real *pts = nn_malloc(sizeof(nn_real) * G * G * 2);
    for (int j = 0; j < G; j++)
        for (int i = 0; i < G; i++) {
            pts[2 * (j * G + i)] = (nn_real)(lo + (hi - lo) * (i + 0.5) / G);
            pts[2 * (j * G + i) + 1] = (nn_real)(lo + (hi - lo) * (j + 0.5) / G);
        }
    nn_graph *g = nn_graph_new();
    g->grad = 0;
    nn_tensor *logits = spiral_net(g, net, nn_graph_input(g, pts, 2, G * G, 2));
    for (int k = 0; k < G * G; k++) grid[k] = nn_kernel_argmax(logits->data + 2 * k, 2);
    nn_plot_boundary(dir, "spirals_boundary", "2-64-2 tanh network on two spirals", grid, G, G,
                     lo, hi, lo, hi, d->x, d->y, d->n);
    nn_graph_free(g);
    free(pts);
}

/* ------------------------------------------------------------------------------------------ */
/* Part 4 on your own data (--csv FILE): a held-out test set and standardized features.       */
/* ------------------------------------------------------------------------------------------ */

/* the rows idx[count] of d as a new dataset */
static void take_rows(nn_data *out, const nn_data *d, const int *idx, int count)
{
    *out = *d;
    out->n = count;
    out->x = nn_malloc(sizeof(nn_real) * (size_t)count * d->dim);
    out->y = nn_malloc(sizeof(int) * (size_t)count);
    nn_data_batch(d, idx, 0, count, out->x, out->y);
}

/* Hold out a stratified 20% as the test set (each class keeps its share; at most max_train
 * and max_test rows of each part are kept, a random sample), then standardize every feature,
 * x' = (x - mean) / std, with the training part's statistics: the test set stands for data
 * not seen yet, so nothing may be learned from it, not even its mean. */
static void csv_split(nn_data *train, nn_data *test, const nn_data *all, int max_train,
                      int max_test, nn_rng *rng)
{
    if (all->n < 10)
        nn_fail("lesson02: %d rows in the CSV file; at least 10 are needed to hold some out "
                "for testing", all->n);
    int ntest = all->n / 5;
    int *train_idx = nn_malloc(sizeof(int) * (size_t)(all->n - ntest));
    int *test_idx = nn_malloc(sizeof(int) * (size_t)ntest);
    nn_metrics_split_stratified(train_idx, test_idx, all->y, all->n, all->classes, ntest, rng);
    nn_rng_shuffle(rng, train_idx, all->n - ntest); /* the split lists rows in file order */
    nn_rng_shuffle(rng, test_idx, ntest);
    take_rows(train, all, train_idx, all->n - ntest < max_train ? all->n - ntest : max_train);
    take_rows(test, all, test_idx, ntest < max_test ? ntest : max_test);
    free(train_idx);
    free(test_idx);
    for (int j = 0; j < all->dim; j++) {
        double sum = 0, sq = 0;
        for (int i = 0; i < train->n; i++) sum += train->x[(size_t)i * train->dim + j];
        double mean = sum / train->n;
        for (int i = 0; i < train->n; i++) {
            double dev = train->x[(size_t)i * train->dim + j] - mean;
            sq += dev * dev;
        }
        double std = sqrt(sq / train->n);
        if (std == 0) std = 1; /* a constant feature: centred, nothing to scale */
        nn_data *parts[2] = {train, test};
        for (int p = 0; p < 2; p++)
            for (int i = 0; i < parts[p]->n; i++) {
                nn_real *v = &parts[p]->x[(size_t)i * parts[p]->dim + j];
                *v = (nn_real)((*v - mean) / std);
            }
    }
}

int main(int argc, char **argv)
{
    nn_cli cli;
    nn_cli_parse_file(&cli, 2, "Lesson 02: the MLP and backpropagation -- by hand, then with "
                               "autograd, on two spirals and on Fashion-MNIST (or, with --csv "
                               "FILE, on a CSV file: features, then an integer class label in the "
                               "last column; an optional header line).", "--csv", argc, argv);
    /* part 4's data is read first, so that a missing or bad file stops the lesson at once */
    const int use_csv = cli.file[0] != 0;
    nn_data csv = {0}, full_train = {0}, full_test = {0};
    if (use_csv) nn_csv_load(&csv, cli.file, -1);
    else nn_data_fmnist_load(&full_train, &full_test);
    nn_rng rng;
    nn_rng_seed(&rng, cli.seed);
    nn_report report;
    nn_report_init(&report, 2);
    double start_time = nn_seconds();

    /* ---- 1. the data: two spirals, 300 points each ---- */
    nn_data spirals;
    nn_data_spirals(&spirals, 600, 0.08, &rng);
    nn_plot_scatter(cli.out, "spirals_data", "Two spirals: no straight line separates them",
                    spirals.x, spirals.y, spirals.n, NULL);

    /* ---- 2. one batch, two ways: backprop by hand and autograd ---- */
    nn_params ps;
    nn_params_init(&ps);
    mlp net = {0};
    nn_linear_init(&net.fc1, &ps, "fc1", IN, HIDDEN, 1, &rng);
    nn_linear_init(&net.fc2, &ps, "fc2", HIDDEN, CLASSES, 1, &rng);
    hand_net hand, hand_grad;
    memcpy(hand.W1, net.fc1.weight->data, sizeof hand.W1); /* the very same starting weights */
    memcpy(hand.b1, net.fc1.bias->data, sizeof hand.b1);
    memcpy(hand.W2, net.fc2.weight->data, sizeof hand.W2);
    memcpy(hand.b2, net.fc2.bias->data, sizeof hand.b2);

    double hand_loss = hand_forward_backward(&hand, &hand_grad, spirals.x, spirals.y, spirals.n);

    nn_graph *g = nn_graph_new();
    nn_tensor *x = nn_graph_input(g, spirals.x, 2, spirals.n, IN);
    nn_tensor *loss = nn_softmax_cross_entropy(g, spiral_net(g, &net, x), spirals.y);
    nn_params_zero_grad(&ps);
    nn_backward(g, loss);

    const nn_real *hand_grads[4] = {hand_grad.W1, hand_grad.b1, hand_grad.W2, hand_grad.b2};
    const nn_tensor *auto_grads[4] = {net.fc1.weight, net.fc1.bias, net.fc2.weight, net.fc2.bias};
    const char *names[4] = {"dW1", "db1", "dW2", "db2"};
    double worst = 0;
    printf("backprop by hand vs autograd on the same batch (loss %.6f vs %.6f):\n", hand_loss,
           (double)loss->data[0]);
    for (int t = 0; t < 4; t++) {
        double rel = relative_difference(auto_grads[t]->grad, hand_grads[t], auto_grads[t]->numel);
        printf("  %-4s max |autograd - hand| / max |hand| = %.2e\n", names[t], rel);
        worst = fmax(worst, rel);
    }
    nn_graph_reset(g);

    /* ---- 3. train the spiral net: full-batch gradient descent with momentum ---- */
    int spiral_steps = cli.quick ? 2000 : 6000;
    nn_optim opt;
    nn_optim_init(&opt, NN_OPTIM_MOMENTUM, &ps, 0.5f); /* w -= 0.5 b, b = 0.9 b + dL/dw */
    double *spiral_loss = nn_malloc(sizeof(double) * spiral_steps);
    for (int step = 0; step < spiral_steps; step++) {
        nn_tensor *xb = nn_graph_input(g, spirals.x, 2, spirals.n, IN);
        nn_tensor *l = nn_softmax_cross_entropy(g, spiral_net(g, &net, xb), spirals.y);
        nn_graph_check_finite(g, l, step);
        spiral_loss[step] = l->data[0];
        nn_params_zero_grad(&ps);
        nn_backward(g, l);
        nn_optim_step(&opt);
        nn_graph_reset(g);
    }
    g->grad = 0;
    nn_tensor *logits = spiral_net(g, &net, nn_graph_input(g, spirals.x, 2, spirals.n, IN));
    double spirals_acc = nn_metrics_accuracy(logits->data, spirals.y, spirals.n, CLASSES);
    nn_graph_reset(g);
    g->grad = 1;
    printf("spirals: %d steps, final loss %.4f, accuracy %.3f\n", spiral_steps,
           spiral_loss[spiral_steps - 1], spirals_acc);
    nn_plot_series curve = {"training loss", NULL, spiral_loss, spiral_steps};
    nn_plot_lines(cli.out, "spirals_loss", "Spirals: cross-entropy during training", "step",
                  "loss", &curve, 1, 1);
    spiral_boundary(&net, &spirals, cli.out);
    nn_optim_free(&opt);
    nn_params_free(&ps);
    free(spiral_loss);

    /* ---- 4. an MLP on Fashion-MNIST: 784-256-128-10, ReLU, SGD with momentum ---- */
    /*      (or on the --csv file: D-256-128-K, the same code) */
    nn_data train, test;
    int epochs, batch = 128, eval_batch = 1000;
    const char *data_name = use_csv ? cli.file : "Fashion-MNIST";
    const char *tag = use_csv ? "csv" : "fmnist"; /* figure names */
    if (use_csv) {
        csv_split(&train, &test, &csv, cli.quick ? 6000 : csv.n, cli.quick ? 1000 : csv.n, &rng);
        nn_data_free(&csv);
        /* a small table gives few steps per epoch: 32 per batch, and at least 1500 steps
         * (300 in --quick) unless --epochs says otherwise */
        batch = 32;
        int per_epoch = (train.n + batch - 1) / batch;
        int full = (1500 + per_epoch - 1) / per_epoch, quick = (300 + per_epoch - 1) / per_epoch;
        epochs = nn_cli_epochs(&cli, full > 15 ? full : 15, quick > 3 ? quick : 3);
    } else {
        nn_data_subset(&train, &full_train, cli.quick ? 6000 : full_train.n);
        nn_data_subset(&test, &full_test, cli.quick ? 1000 : full_test.n);
        nn_data_free(&full_train);
        nn_data_free(&full_test);
        epochs = nn_cli_epochs(&cli, 15, 3);
    }

    nn_params_init(&ps);
    nn_linear_init(&net.fc1, &ps, "fc1", train.dim, 256, 1, &rng);
    nn_linear_init(&net.fc2, &ps, "fc2", 256, 128, 1, &rng);
    nn_linear_init(&net.fc3, &ps, "fc3", 128, train.classes, 1, &rng);
    nn_optim_init(&opt, NN_OPTIM_MOMENTUM, &ps, 0.05f);
    printf("\n%s: %d train / %d test, MLP %d-256-128-%d (%zu parameters), %d epochs\n",
           data_name, train.n, test.n, train.dim, train.classes, ps.count, epochs);
    double majority = 0; /* the baseline to beat: always answer the commonest training class */
    if (use_csv) {
        int *count = nn_calloc((size_t)train.classes, sizeof *count), top = 0;
        for (int i = 0; i < train.n; i++) count[train.y[i]]++;
        for (int c = 1; c < train.classes; c++)
            if (count[c] > count[top]) top = c;
        for (int i = 0; i < test.n; i++) majority += test.y[i] == top;
        majority /= test.n;
        free(count);
        printf("  (%d classes, a stratified 20%% held out; features standardized with the training "
               "part's mean and std; always answering class %d scores %.3f)\n", train.classes,
               top, majority);
    }
    printf("  epoch  train_loss  train_acc  test_loss  test_acc  seconds\n");

    int *order = nn_malloc(sizeof(int) * train.n), *yb = nn_malloc(sizeof(int) * batch);
    nn_real *xb = nn_malloc(sizeof(nn_real) * batch * train.dim);
    double *train_loss = nn_malloc(sizeof(double) * epochs);
    double *test_loss = nn_malloc(sizeof(double) * epochs);
    double *train_acc = nn_malloc(sizeof(double) * epochs);
    double *test_acc = nn_malloc(sizeof(double) * epochs);
    double train_seconds = 0;
    long step = 0;
    for (int epoch = 0; epoch < epochs; epoch++) {
        double t0 = nn_seconds();
        nn_rng_permutation(&rng, order, train.n);
        nn_progress bar;
        nn_progress_start(&bar, "train", (train.n + batch - 1) / batch);
        for (int start = 0, b = 0; start < train.n; start += batch, b++) {
            int count = train.n - start < batch ? train.n - start : batch;
            nn_data_batch(&train, order, start, count, xb, yb);
            nn_tensor *xt = nn_graph_input(g, xb, 2, count, train.dim);
            nn_tensor *l = nn_softmax_cross_entropy(g, fmnist_net(g, &net, xt), yb);
            nn_graph_check_finite(g, l, step++);
            nn_params_zero_grad(&ps);
            nn_backward(g, l);
            nn_optim_step(&opt);
            nn_graph_reset(g);
            nn_progress_update(&bar, b + 1, NULL);
        }
        nn_progress_finish(&bar);
        train_seconds += nn_seconds() - t0;
        nn_evaluation on_train = nn_evaluate(g, fmnist_net_fn, &net, &train, eval_batch, NULL);
        nn_evaluation on_test = nn_evaluate(g, fmnist_net_fn, &net, &test, eval_batch, NULL);
        train_loss[epoch] = on_train.loss, train_acc[epoch] = on_train.accuracy;
        test_loss[epoch] = on_test.loss, test_acc[epoch] = on_test.accuracy;
        /* every epoch, or about ten rows for a long run */
        if (epochs <= 20 || epoch == 0 || epoch + 1 == epochs || (epoch + 1) % (epochs / 10) == 0)
            printf("  %5d  %10.4f  %9.4f  %9.4f  %8.4f  %7.1f\n", epoch + 1, train_loss[epoch],
                   train_acc[epoch], test_loss[epoch], test_acc[epoch], nn_seconds() - t0);
    }

    nn_plot_series losses[2] = {{"train", NULL, train_loss, epochs}, {"test", NULL, test_loss, epochs}};
    char name[64], title[600];
    snprintf(name, sizeof name, "%s_curves", tag);
    snprintf(title, sizeof title, "%.500s MLP: cross-entropy per epoch", data_name);
    nn_plot_lines(cli.out, name, title, "epoch - 1", "loss", losses, 2, 0);
    nn_plot_series accs[2] = {{"train", NULL, train_acc, epochs}, {"test", NULL, test_acc, epochs}};
    snprintf(name, sizeof name, "%s_accuracy", tag);
    snprintf(title, sizeof title, "%.500s MLP: accuracy per epoch", data_name);
    nn_plot_lines(cli.out, name, title, "epoch - 1", "accuracy", accs, 2, 0);

    printf("\n  %-34s %s\n", "result", "value");
    printf("  %-34s %.2e\n", "hand vs autograd gradient", worst);
    printf("  %-34s %.3f\n", "spirals training accuracy", spirals_acc);
    if (use_csv) {
        printf("  %-34s %.4f\n", "CSV test accuracy", test_acc[epochs - 1]);
        printf("  %-34s %.4f\n", "  always the commonest class", majority);
        printf("  %-34s %.1f s\n", "CSV training time", train_seconds);
    } else {
        printf("  %-34s %.4f (reference MLP 0.871)\n", "Fashion-MNIST test accuracy", test_acc[epochs - 1]);
        printf("  %-34s %.1f s\n", "Fashion-MNIST training time", train_seconds);
    }
    printf("  %-34s %.1f s\n", "whole lesson", nn_seconds() - start_time);

    nn_report_add(&report, "test_accuracy", test_acc[epochs - 1]);
    nn_report_add(&report, "spirals_accuracy", spirals_acc);
    nn_report_add(&report, "grad_max_rel_diff", worst);
    if (use_csv) {
        nn_report_add(&report, "majority_accuracy", majority);
        nn_report_add_int(&report, "csv_features", train.dim);
        nn_report_add_int(&report, "csv_classes", train.classes);
    }
    nn_report_add_timing(&report, "train_seconds", train_seconds);
    nn_report_finish(&report, cli.out);

    free(order);
    free(yb);
    free(xb);
    free(train_loss);
    free(test_loss);
    free(train_acc);
    free(test_acc);
    nn_optim_free(&opt);
    nn_params_free(&ps);
    nn_graph_free(g);
    nn_data_free(&train);
    nn_data_free(&test);
    nn_data_free(&spirals);
    return 0;
}
