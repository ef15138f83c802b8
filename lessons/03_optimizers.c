/* Lesson 03 -- optimizers and learning-rate schedules.
 *
 * Concept: every method here takes the same gradient g = dL/dw and turns it into a step.
 * Plain SGD steps along -g. Momentum (heavy ball) and Nesterov keep a running sum of past
 * gradients, so steps that agree add up and steps that zig-zag cancel. AdaGrad, RMSprop and
 * Adam divide each coordinate by the size of its recent gradients, so flat and steep
 * directions move at similar speeds. AdamW is Adam with the weight decay taken out of the
 * gradient. A learning-rate schedule changes the step size over time: a short warm-up, then
 * a decay (step, exponential or cosine) that lets the noise of the mini-batches die down.
 * The update equations are in lib/optim.c (one flat loop each), the schedules in
 * lib/schedule.c; this lesson drives them.
 *
 * What you will see:
 *   1. six optimizers (SGD, momentum, Nesterov, AdaGrad, RMSprop, Adam) on two 2-D functions
 *      whose minimum we know: a narrow quadratic bowl (condition number 100) and Rosenbrock's
 *      curved valley. Each runs at its best learning rate from the same grid; the paths are
 *      drawn over the contour lines, and f(w) per step on a log scale;
 *   2. an MLP 784-128-10 (ReLU) on Fashion-MNIST trained by each of the seven optimizers
 *      (AdamW too) from identical initial weights and the same batch order: training-loss
 *      curves, test accuracy per epoch, and a table of final test accuracy and of the epochs
 *      each needed to reach test accuracy T = 0.86 (0.75 in quick mode);
 *   3. the schedules of nn_schedule (step, exponential, cosine, linear warm-up) as lr vs step,
 *      and the same Adam training with warm-up + cosine against a constant rate.
 *
 * Run:  make lesson03                   (full: 60000 train / 10000 test, 10 epochs, 8 runs;
 *                                        about 1.5 minutes on an idle 2-core machine)
 *       make lesson03 ARGS="--quick"    (5000 / 1000 images, 2 epochs, about 2 seconds)
 *       flags: --seed N --epochs N --out DIR --kernels naive|blas --threads N --help
 *
 * Expected (full mode, seed 42, measured): on the quadratic SGD is still 1.1 from the minimum
 * after 150 steps while momentum, Nesterov and Adam are within 0.001; on Rosenbrock momentum
 * and Adam end within 1e-4 of (1,1) after 1000 steps, SGD rattles across the valley floor
 * 0.03 away and AdaGrad stalls 1.4 away. On Fashion-MNIST every optimizer, each at its tuned
 * rate, ends at test accuracy 0.85-0.89 (0.868-0.879 averaged over the last 3 epochs: the
 * ranking is within the epoch-to-epoch noise) and first reaches 0.86 after 3 (Nesterov,
 * RMSprop, Adam, AdamW), 4 (SGD, AdaGrad) or 5 epochs (momentum); warm-up + cosine lifts
 * Adam from 0.865 to 0.884. Reference: MLPClassifier 0.871 in Xiao, Rasul & Vollgraf 2017,
 * "Fashion-MNIST" (Table 3); Wilson et al. 2017 and Schmidt et al. 2021 for "tuned
 * optimizers end up close"; Loshchilov & Hutter 2017 (SGDR, cosine) and 2019 (AdamW).
 * Figures and metrics.json go to out/lesson03/.
 */
#include "nn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------------------------ */
/* Part 1: optimizers on a 2-D function                                                        */
/* ------------------------------------------------------------------------------------------ */

/* A test function: returns f(w) and writes its gradient. Computed in double from the float
 * parameters, so the only rounding that matters is the optimizer's own. */
typedef double (*fn2d)(const nn_real *w, double *grad);

/* The ill-conditioned quadratic f = (x^2 + K y^2) / 2, gradient (x, K y), minimum f = 0 at
 * the origin. Its Hessian diag(1, K) has condition number K: a step size stable across the
 * steep y direction (lr < 2/K) crawls along the flat x direction. Per step, the error of
 *   gradient descent, best lr = 2/(K+1):           shrinks by (K-1)/(K+1)          = 0.980
 *   heavy ball, mu = 0.9, any lr in [0.003, 3.9/K]: shrinks by sqrt(mu)             = 0.949
 *   heavy ball, best lr and mu (Polyak 1964):       shrinks by (sqrt K-1)/(sqrt K+1) = 0.818
 * for K = 100: momentum turns a rate that depends on K into one that depends on sqrt K. */
#define ELLIPSE_K 100.0
static double ellipse(const nn_real *w, double *grad)
{
    double x = w[0], y = w[1];
    grad[0] = x, grad[1] = ELLIPSE_K * y;
    return 0.5 * (x * x + ELLIPSE_K * y * y);
}

/* Rosenbrock's banana (1960): f = (1 - x)^2 + 100 (y - x^2)^2, minimum f = 0 at (1, 1).
 *   df/dx = -2 (1 - x) - 400 x (y - x^2),   df/dy = 200 (y - x^2)
 * The valley floor y = x^2 is easy to reach (steep walls) and slow to follow (flat, curved
 * floor): at the minimum the Hessian [[802, -400], [-400, 200]] has condition number ~2500. */
static double rosenbrock(const nn_real *w, double *grad)
{
    double x = w[0], y = w[1], r = y - x * x;
    grad[0] = -2 * (1 - x) - 400 * x * r;
    grad[1] = 200 * r;
    return (1 - x) * (1 - x) + 100 * r * r;
}

enum { NPATH = 6 };         /* the six optimizers of part 1 (AdamW = Adam without decay here) */
#define GRID_LRS 16         /* learning rates tried: 1e-5, 2e-5, 5e-5, 1e-4, ..., 1 */
#define F_FLOOR 1e-16       /* plotted f values are clamped here: float's resolution near 0 */

typedef struct problem {
    const char *name, *title;
    fn2d f;
    nn_real start[2];
    double minimum[2]; /* where f = 0 */
    int steps;
    double box[4];     /* x0 x1 y0 y1: where the contour lines are drawn */
    double level0, level_ratio; /* contour levels level0 * level_ratio^l, l = 0..7 */
} problem;

typedef struct descent {
    nn_optim_kind kind;
    double lr;
    double *x, *y, *f; /* steps + 1 points: the start and after every step */
    int n;             /* points recorded (fewer when it diverged) */
    int diverged;
} descent;

/* Minimise f from the start with one optimizer at one learning rate. The parameter store
 * holds exactly two numbers, w = (x, y); we write the gradient into ps.grads by hand (here it
 * is a formula, in part 2 it comes from nn_backward) and let nn_optim_step do the update. */
static void descend(descent *d, const problem *p, nn_optim_kind kind, double lr)
{
    nn_params ps;
    nn_params_init(&ps);
    nn_tensor *w = nn_params_add(&ps, "w", 1, (const int[]){2});
    w->data[0] = p->start[0], w->data[1] = p->start[1];
    nn_optim opt;
    nn_optim_init(&opt, kind, &ps, (nn_real)lr);
    d->kind = kind, d->lr = lr, d->n = 0, d->diverged = 0;
    double grad[2], f0 = p->f(w->data, grad);
    for (int t = 0; t <= p->steps; t++) {
        double f = p->f(w->data, grad);
        if (!isfinite(f) || f > 1e3 * f0 + 1) { /* blew up: this rate is too large */
            d->diverged = 1;
            break;
        }
        d->x[d->n] = w->data[0], d->y[d->n] = w->data[1], d->f[d->n] = f;
        d->n++;
        if (t == p->steps) break;
        ps.grads[0] = (nn_real)grad[0], ps.grads[1] = (nn_real)grad[1];
        nn_optim_step(&opt); /* w <- update(w, g, state) */
    }
    nn_optim_free(&opt);
    nn_params_free(&ps);
}

static double descent_final_f(const descent *d)
{
    return d->diverged ? INFINITY : d->f[d->n - 1];
}

static double descent_distance(const descent *d, const problem *p)
{
    if (d->diverged) return INFINITY;
    return hypot(d->x[d->n - 1] - p->minimum[0], d->y[d->n - 1] - p->minimum[1]);
}

/* Contour lines f = c by marching squares (the 2-D case of Lorensen & Cline's marching
 * cubes, 1987): sample f on a grid over the box; in each cell the level crosses an edge
 * wherever f - c changes sign between the edge's two corners, at the linearly interpolated
 * point, and the crossings of one cell (two, or four at a saddle) are joined in pairs. Each
 * little segment is written as two points and a NaN: gnuplot lifts the pen at an undefined
 * point, so one series holds every line. Works for any fn2d: add your own test function
 * and its contours come for free. */
#define CONTOUR_GRID 200
typedef struct polyline {
    double *x, *y;
    int n, cap;
} polyline;

static void polyline_add(polyline *pl, double x, double y)
{
    if (pl->n == pl->cap) {
        pl->cap = pl->cap ? 2 * pl->cap : 4096;
        pl->x = nn_realloc(pl->x, pl->cap * sizeof(double));
        pl->y = nn_realloc(pl->y, pl->cap * sizeof(double));
    }
    pl->x[pl->n] = x, pl->y[pl->n] = y, pl->n++;
}

static void contours(polyline *pl, fn2d f, const double *levels, int nlevels, const double box[4])
{
    const int G = CONTOUR_GRID;
    const double hx = (box[1] - box[0]) / G, hy = (box[3] - box[2]) / G;
    double *v = nn_malloc((size_t)(G + 1) * (G + 1) * sizeof *v), grad[2];
    for (int j = 0; j <= G; j++)
        for (int i = 0; i <= G; i++) {
            nn_real w[2] = {(nn_real)(box[0] + i * hx), (nn_real)(box[2] + j * hy)};
            v[j * (G + 1) + i] = f(w, grad);
        }
    /* the cell's corners in order around it: (i,j) (i+1,j) (i+1,j+1) (i,j+1) */
    static const int di[4] = {0, 1, 1, 0}, dj[4] = {0, 0, 1, 1};
    for (int l = 0; l < nlevels; l++)
        for (int j = 0; j < G; j++)
            for (int i = 0; i < G; i++) {
                double px[4], py[4];
                int found = 0;
                for (int e = 0; e < 4; e++) { /* edge from corner e to corner e+1 */
                    int a = e, b = (e + 1) % 4;
                    double fa = v[(j + dj[a]) * (G + 1) + i + di[a]] - levels[l];
                    double fb = v[(j + dj[b]) * (G + 1) + i + di[b]] - levels[l];
                    if ((fa < 0) == (fb < 0)) continue;
                    double s = fa / (fa - fb); /* where the straight line between them is 0 */
                    px[found] = box[0] + (i + di[a] + s * (di[b] - di[a])) * hx;
                    py[found] = box[2] + (j + dj[a] + s * (dj[b] - dj[a])) * hy;
                    found++;
                }
                for (int k = 0; k + 1 < found; k += 2) {
                    polyline_add(pl, px[k], py[k]);
                    polyline_add(pl, px[k + 1], py[k + 1]);
                    polyline_add(pl, NAN, NAN);
                }
            }
    free(v);
}

/* Part 1 for one problem: for every optimizer, try each rate of the grid, keep the one with
 * the lowest f after p->steps steps, and draw the winners' paths and f(w_t). */
static void race_2d(descent best[NPATH], const problem *p, const char *dir)
{
    static const nn_optim_kind kinds[NPATH] = {NN_OPTIM_SGD,     NN_OPTIM_MOMENTUM,
                                               NN_OPTIM_NESTEROV, NN_OPTIM_ADAGRAD,
                                               NN_OPTIM_RMSPROP, NN_OPTIM_ADAM};
    descent trial;
    trial.x = nn_malloc((p->steps + 1) * sizeof(double));
    trial.y = nn_malloc((p->steps + 1) * sizeof(double));
    trial.f = nn_malloc((p->steps + 1) * sizeof(double));
    printf("   %-9s %8s %12s %12s\n", "optimizer", "best lr", "final f", "distance");
    for (int k = 0; k < NPATH; k++) {
        best[k].x = nn_malloc((p->steps + 1) * sizeof(double));
        best[k].y = nn_malloc((p->steps + 1) * sizeof(double));
        best[k].f = nn_malloc((p->steps + 1) * sizeof(double));
        double best_f = INFINITY;
        for (int i = 0; i < GRID_LRS; i++) {
            static const double mantissa[3] = {1, 2, 5};
            double lr = mantissa[i % 3] * pow(10, -5 + i / 3); /* 1e-5 ... 1 */
            descend(&trial, p, kinds[k], lr);
            double f = descent_final_f(&trial);
            if (f < best_f || i == 0) { /* ties keep the smaller rate */
                best_f = f;
                descent keep = best[k];
                best[k] = trial;
                trial.x = keep.x, trial.y = keep.y, trial.f = keep.f; /* swap the buffers */
            }
        }
        printf("   %-9s %8g %12.3g %12.3g\n", nn_optim_name(kinds[k]), best[k].lr, best_f,
               descent_distance(&best[k], p));
    }
    free(trial.x), free(trial.y), free(trial.f);

    /* the paths over the contour lines; nn_plot_lines colours a series by its position (the
     * strong[] colours in lib/plot.c), so the minimum's cross goes in slot 6 (pink) and every
     * contour line in slot 7 (grey) */
    enum { NLEVELS = 8 };
    double levels[NLEVELS];
    for (int l = 0; l < NLEVELS; l++) levels[l] = p->level0 * pow(p->level_ratio, l);
    polyline contour = {0};
    contours(&contour, p->f, levels, NLEVELS, p->box);
    double s = 0.03 * (p->box[1] - p->box[0]), mx = p->minimum[0], my = p->minimum[1];
    double markx[5] = {mx - s, mx + s, NAN, mx, mx}, marky[5] = {my, my, NAN, my - s, my + s};
    double startx = p->start[0], starty = p->start[1];
    char labels[NPATH][48], name[64], title[160];
    nn_plot_series series[8];
    for (int k = 0; k < NPATH; k++)
        snprintf(labels[k], sizeof labels[k], "%s (lr %g)", nn_optim_name(best[k].kind),
                 best[k].lr);
    /* two figures, three paths each: the momentum family and the adaptive family */
    for (int fam = 0; fam < 2; fam++) {
        for (int k = 0; k < 3; k++) {
            const descent *d = &best[3 * fam + k];
            series[k] = (nn_plot_series){labels[3 * fam + k], d->x, d->y, d->n};
        }
        for (int k = 3; k < 6; k++) /* unused colours: one point, no line, no key entry */
            series[k] = (nn_plot_series){"", &startx, &starty, 1};
        series[6] = (nn_plot_series){"minimum", markx, marky, 5};
        series[7] = (nn_plot_series){"contours of f", contour.x, contour.y, contour.n};
        snprintf(name, sizeof name, "%s_paths_%s", p->name, fam ? "adaptive" : "momentum");
        snprintf(title, sizeof title, "%s: %d steps from (%g, %g), best lr of each",
                 p->title, p->steps, startx, starty);
        nn_plot_lines(dir, name, title, "x", "y", series, 8, 0);
    }

    /* f(w_t) on a log scale: a straight line is linear convergence, its slope the rate */
    for (int k = 0; k < NPATH; k++) {
        for (int t = 0; t < best[k].n; t++) best[k].f[t] = fmax(best[k].f[t], F_FLOOR);
        series[k] = (nn_plot_series){labels[k], NULL, best[k].f, best[k].n};
    }
    snprintf(name, sizeof name, "%s_loss", p->name);
    snprintf(title, sizeof title, "%s: f(w) per step (clamped at %g)", p->title, F_FLOOR);
    nn_plot_lines(dir, name, title, "step", "f(w)", series, NPATH, 1);
    free(contour.x), free(contour.y);
}

/* ------------------------------------------------------------------------------------------ */
/* Part 2: the same MLP trained by every optimizer                                             */
/* ------------------------------------------------------------------------------------------ */

#define HIDDEN 128
#define BATCH 64
#define EVAL_BATCH 1000
#define CURVE_POINTS 5 /* points per epoch on the loss curves, each the mean of its steps */
#define TARGET_FULL 0.86  /* test accuracy for the "epochs to reach" column, full mode */
#define TARGET_QUICK 0.75 /* ... and in quick mode */
#define LAST_EPOCHS 3 /* test accuracy is also averaged over the last 3 epochs: with a
                         constant rate it jumps by a percent from one epoch to the next */

typedef struct mlp {
    nn_params ps;
    nn_linear_layer fc1, fc2;
} mlp;

/* x (B,784) -> logits (B,10) */
static nn_tensor *mlp_forward(nn_graph *g, const mlp *m, nn_tensor *x)
{
    nn_tensor *h = nn_relu(g, nn_linear(g, &m->fc1, x)); /* (B,128) */
    return nn_linear(g, &m->fc2, h);                     /* (B,10)  */
}

/* One recipe: an optimizer, its learning rate and (optionally) a schedule. */
typedef struct recipe {
    const char *label;
    nn_optim_kind kind;
    double lr;
    const nn_schedule *schedule; /* NULL: constant lr */
} recipe;

typedef struct run {
    recipe r;
    double *curve_x, *curve_y; /* mean training loss of each log_every steps, x in epochs */
    int ncurve;
    double *test_acc; /* after each epoch */
    double train_loss, test, test_mean, seconds; /* test_mean: of the last LAST_EPOCHS epochs */
    int diverged;
} run;

typedef struct workspace {
    nn_graph *g;
    nn_real *x;
    int *y, *order, *identity;
    int log_every; /* steps per point of the loss curves */
} workspace;

/* mlp_forward in the shape nn_evaluate asks for: (graph, input, model) -> logits */
static nn_tensor *mlp_fn(nn_graph *g, nn_tensor *x, void *model) { return mlp_forward(g, model, x); }

static double test_accuracy(workspace *w, mlp *m, const nn_data *test)
{
    return nn_evaluate(w->g, mlp_fn, m, test, EVAL_BATCH, NULL).accuracy;
}

/* Train a fresh MLP with recipe r. Every run seeds its own generators with the same seed,
 * so every run starts from the same weights and sees the same batches in the same order:
 * the optimizer (and schedule) is the only difference between two runs. */
static void train_run(run *out, recipe r, int epochs, const nn_data *train, const nn_data *test,
                      workspace *w, uint64_t seed)
{
    memset(out, 0, sizeof *out);
    out->r = r;
    const int steps = train->n / BATCH, total = epochs * steps;
    out->curve_x = nn_calloc(total / w->log_every + 1, sizeof(double));
    out->curve_y = nn_calloc(total / w->log_every + 1, sizeof(double));
    out->test_acc = nn_calloc(epochs, sizeof(double));
    nn_rng init_rng, order_rng;
    nn_rng_seed(&init_rng, seed);
    nn_rng_seed(&order_rng, seed + 1);
    mlp m;
    nn_params_init(&m.ps);
    nn_linear_init(&m.fc1, &m.ps, "fc1", train->dim, HIDDEN, 1, &init_rng);
    nn_linear_init(&m.fc2, &m.ps, "fc2", HIDDEN, train->classes, 1, &init_rng);
    nn_optim opt;
    nn_optim_init(&opt, r.kind, &m.ps, (nn_real)r.lr); /* PyTorch's defaults for the rest */
    nn_graph *g = w->g;
    double window = 0, last_window = NAN, t0 = nn_seconds();
    nn_progress bar;
    nn_progress_start(&bar, r.label, total);
    for (int e = 0; e < epochs && !out->diverged; e++) {
        nn_rng_permutation(&order_rng, w->order, train->n);
        for (int s = 0; s < steps; s++) {
            if (r.schedule) opt.lr = nn_schedule_lr(r.schedule, opt.step); /* before the step */
            nn_data_batch(train, w->order, s * BATCH, BATCH, w->x, w->y);
            nn_tensor *x = nn_graph_input(g, w->x, 2, BATCH, train->dim);
            nn_tensor *loss = nn_softmax_cross_entropy(g, mlp_forward(g, &m, x), w->y);
            if (!isfinite(loss->data[0])) { /* a rate too large: record it, do not crash */
                printf("   %s: loss is %g at epoch %d, step %d: diverged\n", r.label,
                       (double)loss->data[0], e + 1, s + 1);
                out->diverged = 1;
                nn_graph_reset(g);
                break;
            }
            window += loss->data[0];
            nn_params_zero_grad(&m.ps);
            nn_backward(g, loss);
            nn_optim_step(&opt); /* the only line that differs between the optimizers */
            nn_graph_reset(g);
            if (opt.step % w->log_every == 0) {
                last_window = window / w->log_every;
                out->curve_x[out->ncurve] = (double)opt.step / steps;
                out->curve_y[out->ncurve++] = last_window;
                window = 0;
            }
            if ((s & 63) == 63) nn_progress_update(&bar, opt.step, NULL);
        }
        if (!out->diverged) out->test_acc[e] = test_accuracy(w, &m, test);
    }
    nn_progress_finish(&bar);
    out->seconds = nn_seconds() - t0;
    out->train_loss = last_window;
    out->test = out->diverged ? test_accuracy(w, &m, test) : out->test_acc[epochs - 1];
    int last = epochs < LAST_EPOCHS ? epochs : LAST_EPOCHS;
    for (int e = epochs - last; e < epochs; e++) out->test_mean += out->test_acc[e] / last;
    printf("   %-18s %9g %10.4f %9.4f %9.4f %8.1f%s\n", r.label, r.lr, out->train_loss,
           out->test, out->test_mean, out->seconds, out->diverged ? "  (diverged)" : "");
    fflush(stdout);
    nn_optim_free(&opt);
    nn_params_free(&m.ps);
}

/* Epochs to a target: the first epoch (counting from 1) after which the test accuracy is
 * >= target; 0 if it never got there (printed as "-"). A measure of speed, where the final
 * accuracy is a measure of where a run ends. */
static int epochs_to_reach(const run *r, int epochs, double target)
{
    for (int e = 0; e < epochs; e++)
        if (r->test_acc[e] >= target) return e + 1;
    return 0;
}

static void run_free(run *r)
{
    free(r->curve_x), free(r->curve_y), free(r->test_acc);
}

/* ------------------------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    const char *about =
        "Lesson 03: optimizers and learning-rate schedules. SGD, momentum, Nesterov, AdaGrad, "
        "RMSprop and Adam on an ill-conditioned quadratic and Rosenbrock's valley; all seven "
        "(with AdamW) training the same MLP on Fashion-MNIST from the same start; step, "
        "exponential, cosine and warm-up schedules.";
    nn_cli cli;
    nn_cli_parse(&cli, 3, about, argc, argv);
    nn_report report;
    nn_report_init(&report, 3);
    const int epochs = nn_cli_epochs(&cli, 10, 2);
    /* the bar for "epochs to reach": most optimizers clear it within 10 full epochs; the quick
     * run (5000 images, 2 epochs) ends near 0.78, so it gets a lower one */
    const double target = cli.quick ? TARGET_QUICK : TARGET_FULL;

    /* --- 1. Paths on 2-D functions (the same in quick and full mode: they take milliseconds) */
    const problem ell = {"ellipse", "Quadratic (x^2 + 100 y^2)/2", ellipse, {-5, 0.5}, {0, 0},
                         150, {-5.5, 1.5, -1, 1}, 0.02, 3};
    const problem ros = {"rosenbrock", "Rosenbrock (1-x)^2 + 100 (y-x^2)^2", rosenbrock,
                         {-1.5, 2}, {1, 1}, 1000, {-2, 2, -1, 3}, 0.25, 4};
    descent ell_best[NPATH], ros_best[NPATH];
    printf("1. Six optimizers on 2-D functions, each at its best lr of %d (1e-5 ... 1)\n",
           GRID_LRS);
    printf("\n   %s, %d steps from (%g, %g); minimum 0 at (0, 0)\n", ell.title, ell.steps,
           (double)ell.start[0], (double)ell.start[1]);
    race_2d(ell_best, &ell, cli.out);
    printf("\n   %s, %d steps from (%g, %g); minimum 0 at (1, 1)\n", ros.title, ros.steps,
           (double)ros.start[0], (double)ros.start[1]);
    race_2d(ros_best, &ros, cli.out);

    /* --- 2. The optimizer race on Fashion-MNIST -------------------------------------------- */
    nn_data train, test;
    nn_data_fmnist_load_first(&train, cli.quick ? 5000 : NN_FMNIST_TRAIN_SIZE,
                              &test, cli.quick ? 1000 : NN_FMNIST_TEST_SIZE);
    workspace w = {nn_graph_new(), nn_malloc((size_t)EVAL_BATCH * train.dim * sizeof(nn_real)),
                   nn_malloc(EVAL_BATCH * sizeof(int)), nn_malloc(train.n * sizeof(int)),
                   nn_malloc(test.n * sizeof(int)), train.n / BATCH / CURVE_POINTS + 1};
    for (int i = 0; i < test.n; i++) w.identity[i] = i;

    /* Each optimizer at the rate that did best for it in a sweep over {1, 2, 5} x 10^k
     * (training on 50000 of the training images for 10 epochs, validating on the other
     * 10000; docs/03_optimizers.md has the numbers). The SGD family steps lr g, and momentum
     * 0.9 sums the past gradients into an effective rate lr / (1 - 0.9) = 10 lr: the sweep
     * found the same effective rate, 0.2, for all three. The adaptive methods divide by
     * sqrt(v) ~ |g|, so their lr is a step length per coordinate: about 1e-3. AdamW shares
     * Adam's rate, so the two rows differ only by the decoupled weight decay (0.01). */
    enum { NRACE = NN_OPTIM_KINDS };
    const recipe race[NRACE] = {
        {"sgd", NN_OPTIM_SGD, 0.2, NULL},
        {"momentum", NN_OPTIM_MOMENTUM, 0.02, NULL},
        {"nesterov", NN_OPTIM_NESTEROV, 0.02, NULL},
        {"adagrad", NN_OPTIM_ADAGRAD, 0.05, NULL},
        {"rmsprop", NN_OPTIM_RMSPROP, 1e-3, NULL},
        {"adam", NN_OPTIM_ADAM, 1e-3, NULL},
        {"adamw", NN_OPTIM_ADAMW, 1e-3, NULL},
    };
    printf("\n2. MLP 784-%d-10 on Fashion-MNIST (%d train, %d test, %d epochs, batch %d),\n"
           "   the same initial weights and batch order for every optimizer\n",
           HIDDEN, train.n, test.n, epochs, BATCH);
    printf("   %-18s %9s %10s %9s %9s %8s\n", "optimizer", "lr", "train loss", "test acc",
           "mean last", "seconds");
    run runs[NRACE];
    double train_seconds = 0;
    int best = 0;
    for (int k = 0; k < NRACE; k++) {
        train_run(&runs[k], race[k], epochs, &train, &test, &w, cli.seed);
        train_seconds += runs[k].seconds;
        if (runs[k].test > runs[best].test) best = k;
    }
    printf("   best: %s, test accuracy %.4f (train loss: mean of the last %d steps;\n"
           "   mean last: test accuracy averaged over the last %d epochs)\n", race[best].label,
           runs[best].test, w.log_every, epochs < LAST_EPOCHS ? epochs : LAST_EPOCHS);

    nn_plot_series series[NRACE];
    for (int k = 0; k < NRACE; k++)
        series[k] = (nn_plot_series){race[k].label, runs[k].curve_x, runs[k].curve_y,
                                     runs[k].ncurve};
    char title[160];
    snprintf(title, sizeof title, "MLP on Fashion-MNIST: training loss (mean of %d steps)",
             w.log_every);
    nn_plot_lines(cli.out, "race_loss", title, "epoch", "cross-entropy", series, NRACE, 1);
    double *epoch_axis = nn_malloc(epochs * sizeof *epoch_axis);
    for (int e = 0; e < epochs; e++) epoch_axis[e] = e + 1;
    for (int k = 0; k < NRACE; k++)
        series[k] = (nn_plot_series){race[k].label, epoch_axis, runs[k].test_acc, epochs};
    nn_plot_lines(cli.out, "race_test_accuracy", "MLP on Fashion-MNIST: test accuracy per epoch",
                  "epoch", "test accuracy", series, NRACE, 0);

    /* --- 3. Learning-rate schedules ------------------------------------------------------- */
    /* Every schedule over the T steps of the training run below, from Adam's rate. */
    const long T = (long)epochs * (train.n / BATCH), W = T / 20; /* warm-up: 5% of the run */
    const double base = race[NN_OPTIM_ADAM].lr;
    enum { NSCHED = 5 };
    const nn_schedule sched[NSCHED] = {
        {.kind = NN_SCHEDULE_CONSTANT, .base_lr = base},
        {.kind = NN_SCHEDULE_STEP, .base_lr = base, .step_size = T / 3, .gamma = 0.3},
        {.kind = NN_SCHEDULE_EXPONENTIAL, .base_lr = base, .gamma = pow(0.01, 1.0 / T)},
        {.kind = NN_SCHEDULE_COSINE, .base_lr = base, .total_steps = T},
        {.kind = NN_SCHEDULE_COSINE, .base_lr = base, .total_steps = T, .warmup_steps = W},
    };
    const char *sched_names[NSCHED] = {"constant", "step (x0.3 every T/3)",
                                       "exponential (to 1% at T)", "cosine",
                                       "warm-up 5% + cosine"};
    double *lr_y[NSCHED];
    for (int k = 0; k < NSCHED; k++) {
        lr_y[k] = nn_malloc(T * sizeof(double));
        for (long t = 0; t < T; t++) lr_y[k][t] = nn_schedule_lr(&sched[k], t);
        series[k] = (nn_plot_series){sched_names[k], NULL, lr_y[k], (int)T};
    }
    snprintf(title, sizeof title, "Learning-rate schedules over T = %ld steps (base lr %g)", T,
             base);
    nn_plot_lines(cli.out, "lr_schedules", title, "step", "learning rate", series, NSCHED, 0);

    /* Adam with warm-up + cosine against the constant-rate Adam run of part 2: the same start,
     * the same batches, the same peak rate; only the schedule differs. */
    printf("\n3. Adam at lr %g: constant vs linear warm-up (%ld steps) + cosine decay to 0 "
           "(%ld steps)\n", base, W, T);
    printf("   %-18s %9s %10s %9s %9s %8s\n", "schedule", "peak lr", "train loss", "test acc",
           "mean last", "seconds");
    const run *constant = &runs[NN_OPTIM_ADAM];
    printf("   %-18s %9g %10.4f %9.4f %9.4f %8s\n", "constant", base, constant->train_loss,
           constant->test, constant->test_mean, "(above)");
    run cosine;
    const recipe cos_recipe = {"warm-up + cosine", NN_OPTIM_ADAM, base, &sched[4]};
    train_run(&cosine, cos_recipe, epochs, &train, &test, &w, cli.seed);
    train_seconds += cosine.seconds;
    series[0] = (nn_plot_series){"constant lr", constant->curve_x, constant->curve_y,
                                 constant->ncurve};
    series[1] = (nn_plot_series){"warm-up + cosine", cosine.curve_x, cosine.curve_y,
                                 cosine.ncurve};
    nn_plot_lines(cli.out, "schedule_loss",
                  "Adam on Fashion-MNIST: constant lr vs warm-up + cosine", "epoch",
                  "training cross-entropy", series, 2, 1);
    series[0] = (nn_plot_series){"constant lr", epoch_axis, constant->test_acc, epochs};
    series[1] = (nn_plot_series){"warm-up + cosine", epoch_axis, cosine.test_acc, epochs};
    nn_plot_lines(cli.out, "schedule_test_accuracy",
                  "Adam on Fashion-MNIST: test accuracy per epoch", "epoch", "test accuracy",
                  series, 2, 0);

    /* --- Results ------------------------------------------------------------------------- */
    printf("\nResults\n");
    printf("   %-24s %9s %11s %9s %9s %10s\n", "optimizer", "ellipse", "Rosenbrock", "F-MNIST",
           "F-MNIST", "epochs to");
    printf("   %-24s %9s %11s %9s %9s %10s\n", "", "distance", "distance", "test acc",
           "mean last", "acc >= T");
    int fastest = 0; /* fewest epochs to the target; 0: nobody reached it */
    for (int k = 0; k < NRACE; k++) {
        char a[16] = "-", b[16] = "-", c[16] = "-";
        if (k < NPATH) {
            snprintf(a, sizeof a, "%.2g", descent_distance(&ell_best[k], &ell));
            snprintf(b, sizeof b, "%.2g", descent_distance(&ros_best[k], &ros));
        }
        int reach = epochs_to_reach(&runs[k], epochs, target);
        if (reach) snprintf(c, sizeof c, "%d", reach);
        if (reach && (!fastest || reach < fastest)) fastest = reach;
        printf("   %-24s %9s %11s %9.4f %9.4f %10s\n", race[k].label, a, b, runs[k].test,
               runs[k].test_mean, c);
    }
    {
        char c[16] = "-";
        int reach = epochs_to_reach(&cosine, epochs, target);
        if (reach) snprintf(c, sizeof c, "%d", reach);
        printf("   %-24s %9s %11s %9.4f %9.4f %10s\n", "adam, warm-up + cosine", "", "",
               cosine.test, cosine.test_mean, c);
    }
    printf("   T = %.2f", target);
    if (cli.quick) printf(" (quick mode; the full run asks for %.2f)", TARGET_FULL);
    printf("; \"-\": never reached in %d epochs\n", epochs);
    printf("   best optimizer on Fashion-MNIST: %s; training time (%d runs): %.1f s\n",
           race[best].label, NRACE + 1, train_seconds);
    printf("   figures: %s/\n", cli.out);

    char key[40];
    for (int k = 0; k < NPATH; k++) {
        snprintf(key, sizeof key, "ellipse_dist_%s", nn_optim_name(ell_best[k].kind));
        nn_report_add(&report, key, descent_distance(&ell_best[k], &ell));
    }
    for (int k = 0; k < NPATH; k++) {
        snprintf(key, sizeof key, "rosenbrock_dist_%s", nn_optim_name(ros_best[k].kind));
        nn_report_add(&report, key, descent_distance(&ros_best[k], &ros));
    }
    for (int k = 0; k < NRACE; k++) {
        snprintf(key, sizeof key, "%s_test_accuracy", race[k].label);
        nn_report_add(&report, key, runs[k].test);
    }
    nn_report_add(&report, "cosine_test_accuracy", cosine.test);
    nn_report_add(&report, "test_accuracy", runs[best].test); /* the best optimizer's */
    nn_report_add_int(&report, "best_optimizer", (long)race[best].kind); /* 0 sgd ... 6 adamw */
    /* epochs the best optimizer (by final test accuracy) needed to reach the target, and the
     * fewest any optimizer needed; 0 = never */
    nn_report_add(&report, "target_accuracy", target);
    nn_report_add_int(&report, "epochs_to_target", epochs_to_reach(&runs[best], epochs, target));
    nn_report_add_int(&report, "fastest_epochs_to_target", fastest);
    nn_report_add_timing(&report, "train_seconds", train_seconds);
    nn_report_finish(&report, cli.out);

    for (int k = 0; k < NSCHED; k++) free(lr_y[k]);
    for (int k = 0; k < NRACE; k++) run_free(&runs[k]);
    run_free(&cosine);
    for (int k = 0; k < NPATH; k++) {
        free(ell_best[k].x), free(ell_best[k].y), free(ell_best[k].f);
        free(ros_best[k].x), free(ros_best[k].y), free(ros_best[k].f);
    }
    free(epoch_axis), free(w.x), free(w.y), free(w.order), free(w.identity);
    nn_graph_free(w.g);
    nn_data_free(&train), nn_data_free(&test);
    return 0;
}
