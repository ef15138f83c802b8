/* Lesson 10 -- generative adversarial networks (Goodfellow et al. 2014).
 *
 * Concept: a generator G turns noise z into samples; a discriminator D outputs the probability
 * D(x) that x is real. D is trained to tell real from fake, G to fool D:
 *     min_G max_D  V(D, G) = E_x[log D(x)] + E_z[log(1 - D(G(z)))].
 * Neither ever sees a likelihood: G learns the data's distribution only through D's gradients.
 * The practical recipe (Radford et al. 2016; Salimans et al. 2016), each piece explained where
 * it is used below: the non-saturating generator loss -log D(G(z)), one-sided label smoothing
 * (real target 0.9), and Adam with beta1 = 0.5.
 *
 * What you will see:
 *   1. a GAN on a ring of 8 Gaussians: snapshots of the generated points over training, and
 *      the number of modes covered -- all 8 with the recipe;
 *   2. the same GAN with a bad setting (D learning 10x slower than G): mode collapse -- every
 *      sample on one mode at a time, hopping from mode to mode;
 *   3. why the non-saturating loss: D trained alone against a fixed G; the gradient G gets
 *      from the minimax loss vanishes as D wins, the non-saturating one does not;
 *   4. an MLP GAN on Fashion-MNIST: a grid of samples from the same noise after every epoch,
 *      D's and G's losses and outputs, and the classes of the samples as judged by a softmax
 *      regression trained on the real images (the image version of "modes covered").
 *
 * Run:  make lesson10                   (full: ring 4000 steps, 60000 images x 5 epochs)
 *       make lesson10 ARGS="--quick"    (ring 1000 steps, 2560 images x 2 epochs)
 *       flags: --seed N --epochs N (Fashion-MNIST) --out DIR --kernels naive|blas
 *              --threads N --help
 *
 * Expected (seed 42, measured on a shared 2-core machine):
 *   full:  ring recipe 8 of 8 modes, 0.924 of samples within 3 std; D 10x slower: never more
 *          than 1 mode at a time, 8 different modes visited one after another; minimax /
 *          non-saturating gradient 5e-4 after 300 D steps; Fashion-MNIST samples in all 10
 *          classes (largest share 0.156), D(x) 0.50, D(G(z)) 0.36; about 80 s in all.
 *   quick: ring recipe 8 of 8 modes, 0.546 within 3 std; collapse at most 1 mode at a time;
 *          ratio 5e-4; Fashion-MNIST still blobs (2 classes); about 5 s.
 * Reference points: samples of the ring itself are within 3 std of their mode with
 * probability 1 - e^{-9/2} = 0.989 (a 2-D Gaussian's distance is Rayleigh); at the game's
 * equilibrium D cannot tell, D = 1/2 gives loss D = 2 ln 2 = 1.386 and loss G = ln 2 = 0.693.
 * The ring of 8 Gaussians is Metz et al. 2017's; the coverage metrics are those of VEEGAN
 * (Srivastava et al. 2017) and PacGAN (Lin et al. 2018): a sample is "high quality" within
 * 3 std of a mode, a mode is covered by at least 20 of 2500 samples.
 * Figures and metrics.json go to out/lesson10/.
 */
#include "nn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------------------------ */
/* The two players: small MLPs.                                                               */
/* ------------------------------------------------------------------------------------------ */

/* Generator: z -> [Linear -> (BatchNorm) -> ReLU] x 2 -> Linear (-> sigmoid for images).
 * Discriminator: x -> [Linear -> LeakyReLU(0.2)] x 2 -> Linear: one logit l, D(x) = sigmoid(l).
 * The losses take the logit, not D(x): log(sigmoid(l)) computed from l never overflows
 * (see nn_bce_with_logits). The activations are DCGAN's: LeakyReLU in D keeps a gradient for
 * every input, so the signal D passes back to G is never cut off at a dead unit. */
typedef struct mlp {
    nn_linear_layer fc1, fc2, fc3;
    nn_batchnorm_layer bn1, bn2;
    int batchnorm, sigmoid_out;
    nn_real slope; /* 0: ReLU (G); 0.2: LeakyReLU (D) */
} mlp;

static void mlp_init(mlp *net, nn_params *ps, const char *name, int in, int h1, int h2, int out,
                     nn_real slope, int batchnorm, int sigmoid_out, nn_rng *rng)
{
    memset(net, 0, sizeof *net);
    nn_linear_init(&net->fc1, ps, name, in, h1, 1, rng);
    nn_linear_init(&net->fc2, ps, name, h1, h2, 1, rng);
    nn_linear_init(&net->fc3, ps, name, h2, out, 1, rng);
    net->slope = slope, net->batchnorm = batchnorm, net->sigmoid_out = sigmoid_out;
    if (batchnorm) {
        nn_batchnorm_init(&net->bn1, ps, name, h1);
        nn_batchnorm_init(&net->bn2, ps, name, h2);
    }
}

static void mlp_free(mlp *net)
{
    if (net->batchnorm) nn_batchnorm_free(&net->bn1), nn_batchnorm_free(&net->bn2);
}

static nn_tensor *mlp_forward(nn_graph *g, mlp *net, nn_tensor *x)
{
    nn_tensor *h = nn_linear(g, &net->fc1, x);
    if (net->batchnorm) h = nn_batchnorm_forward(g, &net->bn1, h);
    h = net->slope > 0 ? nn_leaky_relu(g, h, net->slope) : nn_relu(g, h);
    h = nn_linear(g, &net->fc2, h);
    if (net->batchnorm) h = nn_batchnorm_forward(g, &net->bn2, h);
    h = net->slope > 0 ? nn_leaky_relu(g, h, net->slope) : nn_relu(g, h);
    nn_tensor *y = nn_linear(g, &net->fc3, h);
    return net->sigmoid_out ? nn_sigmoid(g, y) : y;
}

/* One training step of each player, the alternating scheme of Goodfellow et al. (k = 1).
 * Returns D's loss, G's loss, mean D(x) and mean D(G(z)) through out[4] (out may be NULL).
 *
 * D step: fakes made with g->grad = 0 are constants on the tape (PyTorch's .detach()), so
 *   L_D = BCE(D(x), r) + BCE(D(G(z)), 0) moves only D.
 * G step: fresh noise, L_G through D into G; backward also fills D's gradients, which are
 *   simply zeroed before D's next step: only G's optimizer steps here. */
typedef struct gan {
    mlp G, D;
    nn_params pg, pd;
    nn_optim og, od;
    int noise, dim;
    nn_real real_label;
    int non_saturating;
} gan;

static double mean_sigmoid(const nn_tensor *logits)
{
    double s = 0;
    for (size_t i = 0; i < logits->numel; i++) s += 1 / (1 + exp(-(double)logits->data[i]));
    return s / (double)logits->numel;
}

static void gan_step(nn_graph *g, gan *m, const nn_real *real, int batch, nn_rng *rng,
                     nn_real *z, long step, double *out)
{
    /* --- discriminator --- */
    nn_rng_fill_normal(rng, z, (size_t)batch * m->noise, 0, 1);
    g->grad = 0;
    nn_tensor *fake = mlp_forward(g, &m->G, nn_graph_input(g, z, 2, batch, m->noise));
    g->grad = 1;
    nn_tensor *real_logits = mlp_forward(g, &m->D, nn_graph_input(g, real, 2, batch, m->dim));
    nn_tensor *fake_logits = mlp_forward(g, &m->D, fake);
    nn_tensor *loss_d = nn_gan_discriminator_loss(g, real_logits, fake_logits, m->real_label);
    nn_graph_check_finite(g, loss_d, step);
    if (out) out[0] = loss_d->data[0], out[2] = mean_sigmoid(real_logits);
    nn_params_zero_grad(&m->pd);
    nn_backward(g, loss_d);
    nn_optim_step(&m->od);
    nn_graph_reset(g);

    /* --- generator --- */
    nn_rng_fill_normal(rng, z, (size_t)batch * m->noise, 0, 1);
    nn_tensor *logits = mlp_forward(g, &m->D, mlp_forward(g, &m->G,
                                    nn_graph_input(g, z, 2, batch, m->noise)));
    nn_tensor *loss_g = nn_gan_generator_loss(g, logits, m->non_saturating);
    nn_graph_check_finite(g, loss_g, step);
    if (out) out[1] = loss_g->data[0], out[3] = mean_sigmoid(logits);
    nn_params_zero_grad(&m->pg);
    nn_backward(g, loss_g);
    nn_optim_step(&m->og);
    nn_graph_reset(g);
}

/* Adam with beta1 = 0.5 for both players (DCGAN). Adam's first moment averages the gradient
 * over about 1/(1 - beta1) steps: 10 steps with the default 0.9, 2 with 0.5. In a game the
 * gradient each player sees changes direction as the other moves, so a long memory keeps
 * pushing in the direction that WAS right -- the players circle around the equilibrium instead
 * of settling. beta1 = 0.5 reacts faster; beta2 (0.999) still gives per-weight step sizes. */
static void gan_optimizers(gan *m, nn_real lr_g, nn_real lr_d)
{
    nn_optim_init(&m->og, NN_OPTIM_ADAM, &m->pg, lr_g);
    nn_optim_init(&m->od, NN_OPTIM_ADAM, &m->pd, lr_d);
    m->og.beta1 = m->od.beta1 = 0.5f;
}

static void gan_free(gan *m)
{
    nn_optim_free(&m->og), nn_optim_free(&m->od);
    mlp_free(&m->G), mlp_free(&m->D);
    nn_params_free(&m->pg), nn_params_free(&m->pd);
}

/* G on fixed noise z (n, noise) in evaluation mode (batch norm on its running statistics, so
 * a sample does not depend on the others in its batch), copied into out (n, dim). */
static void gan_sample(nn_graph *g, gan *m, const nn_real *z, int n, nn_real *out)
{
    int grad = g->grad, training = g->training;
    g->grad = 0, g->training = 0;
    nn_tensor *x = mlp_forward(g, &m->G, nn_graph_input(g, z, 2, n, m->noise));
    memcpy(out, x->data, (size_t)n * m->dim * sizeof *out);
    nn_graph_reset(g);
    g->grad = grad, g->training = training;
}

/* ------------------------------------------------------------------------------------------ */
/* Part 1 and 2: the ring of 8 Gaussians                                                      */
/* ------------------------------------------------------------------------------------------ */

/* 8 modes on a circle of radius 2, std 0.05 (Metz et al. use 0.02; 0.05 trains in fewer
 * steps and keeps the same picture). Metrics as VEEGAN/PacGAN: 2500 samples from fixed
 * noise; high quality = within 3 std of a mode; covered = at least 20 of them on the mode. */
enum { MODES = 8, RING_NOISE = 8, RING_HIDDEN = 64, RING_BATCH = 128, RING_EVAL = 2500,
       RING_MIN_COUNT = 20, RING_EVALS = 40, PANELS = 6, PANEL_POINTS = 500 };
static const double RADIUS = 2.0, STD = 0.05, PANEL_GAP = 6.0;

typedef struct ring_setting {
    const char *name, *label;
    nn_real lr_g, lr_d, real_label;
    int non_saturating;
} ring_setting;

typedef struct ring_run {
    int evals;
    double step[RING_EVALS + 1], modes[RING_EVALS + 1], quality[RING_EVALS + 1];
    int final_modes, max_modes, visited; /* visited: modes covered at some evaluation */
    double final_quality;
} ring_run;

/* A snapshot panel: the points shifted to their place in a 3 x 2 grid of rings. */
static void place_panel(double *px, double *py, const nn_real *pts, int n, int panel)
{
    double dx = PANEL_GAP * (panel % 3), dy = -PANEL_GAP * (panel / 3);
    for (int i = 0; i < n; i++) px[i] = pts[2 * i] + dx, py[i] = pts[2 * i + 1] + dy;
}

static ring_run ring_train(nn_graph *g, const ring_setting *set, int steps, uint64_t seed,
                           const nn_real *z_eval, const double *data_x, const double *data_y,
                           const char *dir, double *seconds)
{
    /* the same seed for every setting: the same initial weights, the same data and noise */
    nn_rng rng;
    nn_rng_seed(&rng, seed);
    gan m = {.noise = RING_NOISE, .dim = 2, .real_label = set->real_label,
             .non_saturating = set->non_saturating};
    nn_params_init(&m.pg), nn_params_init(&m.pd);
    mlp_init(&m.G, &m.pg, "G", RING_NOISE, RING_HIDDEN, RING_HIDDEN, 2, 0, 0, 0, &rng);
    mlp_init(&m.D, &m.pd, "D", 2, RING_HIDDEN, RING_HIDDEN, 1, 0.2f, 0, 0, &rng);
    gan_optimizers(&m, set->lr_g, set->lr_d);

    ring_run run = {0};
    nn_real *real = nn_malloc(RING_BATCH * 2 * sizeof *real);
    nn_real *z = nn_malloc((size_t)RING_BATCH * RING_NOISE * sizeof *z);
    nn_real *fake = nn_malloc(RING_EVAL * 2 * sizeof *fake);
    double *snap_x = nn_malloc(PANELS * PANEL_POINTS * sizeof *snap_x);
    double *snap_y = nn_malloc(PANELS * PANEL_POINTS * sizeof *snap_y);
    int visited[MODES] = {0}, panel = 0, every = steps / RING_EVALS > 0 ? steps / RING_EVALS : 1;
    char title[256];
    snprintf(title, sizeof title, "%s: step", set->label);
    double t0 = nn_seconds();
    printf("   %-9s %5s  %13s  %12s  %s\n", set->name, "step", "modes covered", "high quality",
           "samples per mode (within 3 std)");
    for (int s = 0;; s++) {
        int snapshot = panel < PANELS && s == (long)steps * panel / (PANELS - 1);
        if (s % every == 0 || s == steps || snapshot) gan_sample(g, &m, z_eval, RING_EVAL, fake);
        if (s % every == 0 || s == steps) {
            int counts[MODES];
            double quality;
            int covered = nn_gan_ring_coverage(fake, RING_EVAL, MODES, RADIUS, STD,
                                               RING_MIN_COUNT, &quality, counts);
            if (run.evals <= RING_EVALS) {
                run.step[run.evals] = s, run.modes[run.evals] = covered;
                run.quality[run.evals++] = quality;
            }
            run.max_modes = covered > run.max_modes ? covered : run.max_modes;
            for (int k = 0; k < MODES; k++) visited[k] |= counts[k] >= RING_MIN_COUNT;
            run.final_modes = covered, run.final_quality = quality;
            if (s % (4 * every) == 0 || s == steps) {
                printf("   %-9s %5d  %13d  %12.3f ", "", s, covered, quality);
                for (int k = 0; k < MODES; k++) printf(" %4d", counts[k]);
                printf("\n");
            }
        }
        if (snapshot) { /* at 0, 1/5, ..., 5/5 of training */
            place_panel(snap_x + panel * PANEL_POINTS, snap_y + panel * PANEL_POINTS, fake,
                        PANEL_POINTS, panel);
            snprintf(title + strlen(title), sizeof title - strlen(title), "%s%d%s",
                     panel == 0 ? " " : ", ", s, panel == 2 ? " (top)" : "");
            panel++;
        }
        if (s == steps) break;
        nn_gan_ring_sample(real, RING_BATCH, MODES, RADIUS, STD, &rng);
        gan_step(g, &m, real, RING_BATCH, &rng, z, s, NULL);
    }
    *seconds += nn_seconds() - t0;
    for (int k = 0; k < MODES; k++) run.visited += visited[k];
    snprintf(title + strlen(title), sizeof title - strlen(title), " (bottom)");

    char name[64];
    snprintf(name, sizeof name, "ring_%s", set->name);
    nn_plot_series pts[2] = {{"data (8 modes)", data_x, data_y, PANELS * PANEL_POINTS},
                             {"generated", snap_x, snap_y, PANELS * PANEL_POINTS}};
    nn_plot_lines_points(dir, name, title, "x (panels side by side)", "y", NULL, 0, pts, 2);
    free(real), free(z), free(fake), free(snap_x), free(snap_y);
    gan_free(&m);
    return run;
}

/* ------------------------------------------------------------------------------------------ */
/* Part 3: why the non-saturating loss                                                        */
/* ------------------------------------------------------------------------------------------ */

/* Early in training G is bad and D can reject its samples confidently: D(G(z)) -> 0. With
 * l the logit of a fake, s = sigmoid(l) = D(G(z)):
 *   minimax        L_G = mean log(1 - s),   dL_G/dl = -s      -> 0 as s -> 0  (saturates)
 *   non-saturating L_G = -mean log s,       dL_G/dl = s - 1   -> -1 as s -> 0
 * Both have the same fixed point; only the second gives G a signal when it needs one most.
 * Experiment: freeze an untrained G, train D alone, and measure ||dL_G/dtheta_G|| for both
 * losses as D gets better (Arjovsky & Bottou 2017 run the same experiment on a DCGAN). */
enum { SAT_STEPS = 300, SAT_EVERY = 5, SAT_POINTS = SAT_STEPS / SAT_EVERY + 1 };

typedef struct saturation_result {
    double d_steps[SAT_POINTS], minimax[SAT_POINTS], non_saturating[SAT_POINTS],
        d_fake[SAT_POINTS];
} saturation_result;

static double generator_grad_norm(nn_graph *g, gan *m, const nn_real *z, int n, int non_sat)
{
    nn_tensor *logits = mlp_forward(g, &m->D, mlp_forward(g, &m->G,
                                    nn_graph_input(g, z, 2, n, m->noise)));
    nn_params_zero_grad(&m->pg);
    nn_backward(g, nn_gan_generator_loss(g, logits, non_sat));
    nn_graph_reset(g);
    return nn_params_grad_norm(&m->pg);
}

static void saturation_experiment(nn_graph *g, uint64_t seed, saturation_result *r)
{
    nn_rng rng;
    nn_rng_seed(&rng, seed);
    gan m = {.noise = RING_NOISE, .dim = 2, .real_label = 1};
    nn_params_init(&m.pg), nn_params_init(&m.pd);
    mlp_init(&m.G, &m.pg, "G", RING_NOISE, RING_HIDDEN, RING_HIDDEN, 2, 0, 0, 0, &rng);
    mlp_init(&m.D, &m.pd, "D", 2, RING_HIDDEN, RING_HIDDEN, 1, 0.2f, 0, 0, &rng);
    gan_optimizers(&m, 0, 2e-3f); /* G's learning rate 0: G never moves */
    nn_real *real = nn_malloc(RING_BATCH * 2 * sizeof *real);
    nn_real *z = nn_malloc((size_t)RING_BATCH * RING_NOISE * sizeof *z);
    nn_real *z_probe = nn_malloc((size_t)RING_BATCH * RING_NOISE * sizeof *z_probe);
    nn_rng_fill_normal(&rng, z_probe, (size_t)RING_BATCH * RING_NOISE, 0, 1);
    for (int t = 0, k = 0; t <= SAT_STEPS; t++) {
        if (t % SAT_EVERY == 0) {
            r->d_steps[k] = t;
            r->minimax[k] = generator_grad_norm(g, &m, z_probe, RING_BATCH, 0);
            r->non_saturating[k] = generator_grad_norm(g, &m, z_probe, RING_BATCH, 1);
            g->grad = 0;
            nn_tensor *logits = mlp_forward(g, &m.D, mlp_forward(g, &m.G,
                                            nn_graph_input(g, z_probe, 2, RING_BATCH, RING_NOISE)));
            r->d_fake[k++] = mean_sigmoid(logits);
            nn_graph_reset(g);
            g->grad = 1;
        }
        if (t == SAT_STEPS) break;
        nn_gan_ring_sample(real, RING_BATCH, MODES, RADIUS, STD, &rng);
        gan_step(g, &m, real, RING_BATCH, &rng, z, t, NULL); /* G's step has lr 0 */
    }
    free(real), free(z), free(z_probe);
    gan_free(&m);
}

/* ------------------------------------------------------------------------------------------ */
/* Part 4: Fashion-MNIST                                                                      */
/* ------------------------------------------------------------------------------------------ */

enum { FM_NOISE = 64, FM_H1 = 128, FM_H2 = 256, FM_BATCH = 64, FM_LOG_EVERY = 50,
       FM_GRID = 64, FM_TRACK = 10, FM_JUDGE_SAMPLES = 1000 };

/* A judge for the samples: softmax regression (784 -> 10) on the real training images, then
 * asked which class each generated image is. A generator that covers the data should spread
 * its samples over the ten classes about as evenly as the data does; a collapsed one piles
 * them into a few. (Inception-score-like metrics use a stronger classifier the same way.) */
static nn_linear_layer judge_train(nn_params *ps, nn_graph *g, const nn_data *train,
                                   const nn_data *test, nn_rng *rng, double *test_accuracy)
{
    nn_linear_layer judge;
    nn_linear_init(&judge, ps, "judge", train->dim, train->classes, 1, rng);
    nn_optim opt;
    nn_optim_init(&opt, NN_OPTIM_ADAM, ps, 1e-3f);
    enum { B = 128 };
    int *order = nn_malloc(train->n * sizeof *order), y[B];
    nn_real *x = nn_malloc((size_t)B * train->dim * sizeof *x);
    for (int epoch = 0; epoch < 2; epoch++) {
        nn_rng_permutation(rng, order, train->n);
        for (int start = 0; start + B <= train->n; start += B) {
            nn_data_batch(train, order, start, B, x, y);
            nn_tensor *loss = nn_softmax_cross_entropy(
                g, nn_linear(g, &judge, nn_graph_input(g, x, 2, B, train->dim)), y);
            nn_params_zero_grad(ps);
            nn_backward(g, loss);
            nn_optim_step(&opt);
            nn_graph_reset(g);
        }
    }
    g->grad = 0;
    nn_tensor *logits = nn_linear(g, &judge, nn_graph_input(g, test->x, 2, test->n, test->dim));
    *test_accuracy = nn_metrics_accuracy(logits->data, test->y, test->n, test->classes);
    nn_graph_reset(g);
    g->grad = 1;
    nn_optim_free(&opt);
    free(order), free(x);
    return judge;
}

/* class shares of images (n, dim) according to the judge */
static void judge_classes(nn_graph *g, const nn_linear_layer *judge, const nn_real *images,
                          int n, int dim, double *share)
{
    g->grad = 0;
    nn_tensor *logits = nn_linear(g, judge, nn_graph_input(g, images, 2, n, dim));
    for (int c = 0; c < judge->out; c++) share[c] = 0;
    for (int i = 0; i < n; i++) share[nn_kernel_argmax(logits->data + (size_t)i * judge->out,
                                                       judge->out)] += 1.0 / n;
    nn_graph_reset(g);
    g->grad = 1;
}

/* ------------------------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    const char *about =
        "Lesson 10: generative adversarial networks. A GAN on a ring of 8 Gaussians covers "
        "every mode with the usual recipe (non-saturating loss, label smoothing, Adam "
        "beta1 = 0.5) and collapses to one mode at a time when D learns 10x slower than G; "
        "the minimax loss's gradient vanishes as D wins; an MLP GAN learns Fashion-MNIST.";
    nn_cli cli;
    nn_cli_parse(&cli, 10, about, argc, argv);
    nn_report report;
    nn_report_init(&report, 10);
    nn_graph *g = nn_graph_new();
    double train_seconds = 0;

    /* --- 1 and 2. The ring: the recipe, then a bad setting -------------------------------- */
    const int ring_steps = cli.quick ? 1000 : 4000;
    nn_rng rng;
    nn_rng_seed(&rng, cli.seed + 1);
    nn_real *z_eval = nn_malloc((size_t)RING_EVAL * RING_NOISE * sizeof *z_eval);
    nn_rng_fill_normal(&rng, z_eval, (size_t)RING_EVAL * RING_NOISE, 0, 1);
    nn_real *data = nn_malloc(PANEL_POINTS * 2 * sizeof *data);
    double *data_x = nn_malloc(PANELS * PANEL_POINTS * sizeof *data_x);
    double *data_y = nn_malloc(PANELS * PANEL_POINTS * sizeof *data_y);
    nn_gan_ring_sample(data, PANEL_POINTS, MODES, RADIUS, STD, &rng);
    for (int p = 0; p < PANELS; p++)
        place_panel(data_x + p * PANEL_POINTS, data_y + p * PANEL_POINTS, data, PANEL_POINTS, p);

    /* The recipe: both learning rates equal, the non-saturating loss -log D(G(z)) (why: part
     * 3), and real label 0.9 -- one-sided label smoothing (Salimans et al. 2016). With target
     * 0.9 the best D is 0.9 p_data / (p_data + p_g): D gains nothing from huge logits on real
     * data, stays less over-confident, and the gradients it hands G stay moderate. Fakes keep
     * target 0, so D still says "fake" wherever there is no data at all.
     * The bad setting: D's learning rate 10x smaller than G's. G then moves faster than D can
     * follow: against an (almost) fixed D, G's best reply is to put ALL its samples where D
     * is currently most fooled -- one point. D then learns to reject that point, and G jumps
     * to the next one: collapse, and hopping between modes (Metz et al. 2017, Fig. 1). */
    const ring_setting settings[2] = {
        {"recipe", "The recipe", 2e-3f, 2e-3f, 0.9f, 1},
        {"collapse", "D 10x slower than G", 2e-3f, 2e-4f, 0.9f, 1}};
    ring_run runs[2];
    printf("1-2. GAN on a ring of %d Gaussians (radius %.0f, std %.2f), %d steps, batch %d\n",
           MODES, RADIUS, STD, ring_steps, RING_BATCH);
    for (int k = 0; k < 2; k++)
        runs[k] = ring_train(g, &settings[k], ring_steps, cli.seed, z_eval, data_x, data_y,
                             cli.out, &train_seconds);
    nn_plot_series cov[2] = {{"recipe", runs[0].step, runs[0].modes, runs[0].evals},
                             {"D 10x slower (collapse)", runs[1].step, runs[1].modes,
                              runs[1].evals}};
    nn_plot_lines(cli.out, "ring_modes_covered", "Modes covered (>= 20 of 2500 samples within 3 std)",
                  "step", "modes covered", cov, 2, 0);
    nn_plot_series qual[2] = {{"recipe", runs[0].step, runs[0].quality, runs[0].evals},
                              {"D 10x slower (collapse)", runs[1].step, runs[1].quality,
                               runs[1].evals}};
    nn_plot_lines(cli.out, "ring_quality", "High-quality samples (within 3 std of a mode)", "step",
                  "fraction of samples", qual, 2, 0);
    printf("   recipe:   %d of %d modes covered, %.3f of samples within 3 std\n",
           runs[0].final_modes, MODES, runs[0].final_quality);
    printf("   collapse: modes covered at the end %d, never more than %d at once, "
           "%d different modes visited over training\n",
           runs[1].final_modes, runs[1].max_modes, runs[1].visited);

    /* --- 3. The saturating minimax loss vs the non-saturating one ------------------------- */
    saturation_result sat;
    saturation_experiment(g, cli.seed + 2, &sat);
    printf("\n3. D trained alone against a fixed G: G's gradient norm under each loss\n");
    printf("   D steps  mean D(G(z))  minimax  non-saturating\n");
    for (int k = 0; k < SAT_POINTS; k += SAT_POINTS / 6)
        printf("   %7.0f  %12.4f  %7.2e  %14.2e\n", sat.d_steps[k], sat.d_fake[k], sat.minimax[k],
               sat.non_saturating[k]);
    double sat_ratio = sat.minimax[SAT_POINTS - 1] / sat.non_saturating[SAT_POINTS - 1];
    printf("   after %d D steps the minimax gradient is %.2e of the non-saturating one\n",
           SAT_STEPS, sat_ratio);
    nn_plot_series sat_lines[2] = {{"minimax", sat.d_steps, sat.minimax, SAT_POINTS},
                                   {"non-saturating", sat.d_steps, sat.non_saturating, SAT_POINTS}};
    nn_plot_lines(cli.out, "saturation", "G's gradient norm as D learns to reject its samples: log(1 - D(G(z))) vs -log D(G(z))",
                  "discriminator steps (G fixed)", "||dL_G / d theta_G||", sat_lines, 2, 1);

    /* --- 4. Fashion-MNIST ------------------------------------------------------------------ */
    nn_data train, test;
    nn_data_fmnist_load_first(&train, cli.quick ? 2560 : NN_FMNIST_TRAIN_SIZE,
                              &test, cli.quick ? 1000 : NN_FMNIST_TEST_SIZE);
    const int epochs = nn_cli_epochs(&cli, 5, 2), dim = train.dim;
    nn_rng_seed(&rng, cli.seed + 3);
    gan fm = {.noise = FM_NOISE, .dim = dim, .real_label = 0.9f, .non_saturating = 1};
    nn_params_init(&fm.pg), nn_params_init(&fm.pd);
    /* G: 64 -> 128 -> 256 -> 784 with batch norm (DCGAN: it keeps every layer's activations at
     * a healthy scale, and makes it hard for G to map every z to the same image) and a sigmoid
     * output, since pixels are in [0,1]. D: 784 -> 256 -> 128 -> 1, no batch norm (it would let
     * D judge an image by the other images of its batch, which are all real or all fake). */
    mlp_init(&fm.G, &fm.pg, "G", FM_NOISE, FM_H1, FM_H2, dim, 0, 1, 1, &rng);
    mlp_init(&fm.D, &fm.pd, "D", dim, FM_H2, FM_H1, 1, 0.2f, 0, 0, &rng);
    gan_optimizers(&fm, 1e-3f, 1e-3f);
    printf("\n4. MLP GAN on Fashion-MNIST: %d images, %d epochs, batch %d, G %zu and D %zu "
           "parameters\n", train.n, epochs, FM_BATCH, fm.pg.count, fm.pd.count);
    printf("   epoch  loss D  loss G  D(x)   D(G(z))  seconds\n");

    /* fixed noise: the same z every epoch, so the grids show the same samples evolving */
    nn_real *z_grid = nn_malloc((size_t)FM_JUDGE_SAMPLES * FM_NOISE * sizeof *z_grid);
    nn_rng_fill_normal(&rng, z_grid, (size_t)FM_JUDGE_SAMPLES * FM_NOISE, 0, 1);
    nn_real *samples = nn_malloc((size_t)FM_JUDGE_SAMPLES * dim * sizeof *samples);
    nn_real *tracked = nn_malloc((size_t)(epochs + 1) * FM_TRACK * dim * sizeof *tracked);
    gan_sample(g, &fm, z_grid, FM_TRACK, tracked); /* epoch 0: the untrained G */

    int steps_per_epoch = train.n / FM_BATCH, nlog = epochs * steps_per_epoch / FM_LOG_EVERY;
    double *log_step = nn_calloc(nlog + 1, sizeof(double)), *log_d = nn_calloc(nlog + 1, sizeof(double));
    double *log_g = nn_calloc(nlog + 1, sizeof(double)), *log_dx = nn_calloc(nlog + 1, sizeof(double));
    double *log_dgz = nn_calloc(nlog + 1, sizeof(double));
    double acc[4] = {0}, epoch_acc[4] = {0}, last[4] = {0};
    int *order = nn_malloc(train.n * sizeof *order), *labels = nn_malloc(FM_BATCH * sizeof *labels);
    nn_real *xb = nn_malloc((size_t)FM_BATCH * dim * sizeof *xb);
    nn_real *z = nn_malloc((size_t)FM_BATCH * FM_NOISE * sizeof *z);
    long step = 0;
    int nlogged = 0;
    for (int epoch = 0; epoch < epochs; epoch++) {
        double t0 = nn_seconds();
        nn_rng_permutation(&rng, order, train.n);
        nn_progress bar;
        nn_progress_start(&bar, "epoch", steps_per_epoch);
        memset(epoch_acc, 0, sizeof epoch_acc);
        for (int b = 0; b < steps_per_epoch; b++, step++) {
            nn_data_batch(&train, order, b * FM_BATCH, FM_BATCH, xb, labels);
            double out[4];
            gan_step(g, &fm, xb, FM_BATCH, &rng, z, step, out);
            for (int i = 0; i < 4; i++) acc[i] += out[i], epoch_acc[i] += out[i];
            if ((step + 1) % FM_LOG_EVERY == 0 && nlogged < nlog) {
                log_step[nlogged] = step + 1;
                log_d[nlogged] = acc[0] / FM_LOG_EVERY, log_g[nlogged] = acc[1] / FM_LOG_EVERY;
                log_dx[nlogged] = acc[2] / FM_LOG_EVERY, log_dgz[nlogged++] = acc[3] / FM_LOG_EVERY;
                memset(acc, 0, sizeof acc);
            }
            nn_progress_update(&bar, b + 1, NULL);
        }
        nn_progress_finish(&bar);
        train_seconds += nn_seconds() - t0;
        for (int i = 0; i < 4; i++) last[i] = epoch_acc[i] / steps_per_epoch;
        gan_sample(g, &fm, z_grid, FM_TRACK, tracked + (size_t)(epoch + 1) * FM_TRACK * dim);
        printf("   %5d  %6.3f  %6.3f  %5.3f  %7.3f  %7.1f\n", epoch + 1, last[0], last[1], last[2],
               last[3], nn_seconds() - t0);
    }

    /* figures: the same 10 noise vectors after every epoch, a final grid, real images */
    char title[160];
    snprintf(title, sizeof title, "The same 10 noise vectors, one row per epoch (0 = untrained G) "
             "to %d", epochs);
    nn_plot_images(cli.out, "fmnist_samples_over_epochs", title, tracked, (epochs + 1) * FM_TRACK,
                   train.height, train.width, FM_TRACK, 0);
    gan_sample(g, &fm, z_grid, FM_JUDGE_SAMPLES, samples);
    snprintf(title, sizeof title, "64 samples after %d epochs (fixed noise)", epochs);
    nn_plot_images(cli.out, "fmnist_samples", title, samples, FM_GRID, train.height, train.width, 8,
                   0);
    nn_plot_images(cli.out, "fmnist_real", "64 real training images, for comparison", train.x,
                   FM_GRID, train.height, train.width, 8, 0);
    /* If D outputs 1/2 everywhere (it cannot tell), L_D = ln 2 + ln 2 and L_G = ln 2,
     * whatever the real label: BCE at logit 0 is ln 2 for any target. */
    double ref_x[2] = {0, (double)step}, ln4[2] = {2 * log(2.0), 2 * log(2.0)},
           ln2[2] = {log(2.0), log(2.0)}, half[2] = {0.5, 0.5};
    nn_plot_series losses[4] = {{"loss D", log_step, log_d, nlogged},
                                {"loss G (non-saturating)", log_step, log_g, nlogged},
                                {"D = 1/2: loss D = 2 ln 2", ref_x, ln4, 2},
                                {"D = 1/2: loss G = ln 2", ref_x, ln2, 2}};
    nn_plot_lines(cli.out, "fmnist_losses", "Fashion-MNIST GAN: losses (means over 50 steps)",
                  "step", "loss", losses, 4, 0);
    nn_plot_series outputs[3] = {{"D(x), real images", log_step, log_dx, nlogged},
                                 {"D(G(z)), generated images", log_step, log_dgz, nlogged},
                                 {"1/2", ref_x, half, 2}};
    nn_plot_lines(cli.out, "fmnist_d_outputs", "Fashion-MNIST GAN: what D says (means over 50 steps)",
                  "step", "mean D output", outputs, 3, 0);

    /* the judge: which classes do the samples look like? */
    nn_params pj;
    nn_params_init(&pj);
    double judge_accuracy, gen_share[10], real_share[10];
    nn_linear_layer judge = judge_train(&pj, g, &train, &test, &rng, &judge_accuracy);
    judge_classes(g, &judge, samples, FM_JUDGE_SAMPLES, dim, gen_share);
    judge_classes(g, &judge, test.x, test.n, dim, real_share);
    int classes_covered = 0;
    double top_share = 0;
    printf("\n   classes of %d samples by a softmax regression (test accuracy %.3f on real "
           "images)\n   %-12s  %6s  %9s\n", FM_JUDGE_SAMPLES, judge_accuracy, "class",
           "real", "generated");
    for (int c = 0; c < 10; c++) {
        printf("   %-12s  %6.3f  %9.3f\n", nn_data_fmnist_class_name(c), real_share[c],
               gen_share[c]);
        classes_covered += gen_share[c] >= 0.025; /* at least a quarter of a fair share */
        top_share = fmax(top_share, gen_share[c]);
    }
    double class_axis[10];
    for (int c = 0; c < 10; c++) class_axis[c] = c;
    nn_plot_series shares[2] = {{"real test images", class_axis, real_share, 10},
                                {"generated samples", class_axis, gen_share, 10}};
    nn_plot_lines_points(cli.out, "fmnist_classes",
                         "Classes as judged by softmax regression (0 T-shirt ... 9 Ankle boot)",
                         "class", "share of images", NULL, 0, shares, 2);

    /* --- Results ----------------------------------------------------------------------------- */
    printf("\nResults\n");
    printf("   %-44s %d of %d (quality %.3f)\n", "ring, recipe: modes covered", runs[0].final_modes,
           MODES, runs[0].final_quality);
    printf("   %-44s %d (at most %d at once, %d visited)\n", "ring, D 10x slower: modes covered",
           runs[1].final_modes, runs[1].max_modes, runs[1].visited);
    printf("   %-44s %.2e\n", "minimax / non-saturating gradient", sat_ratio);
    printf("   %-44s %.3f / %.3f\n", "Fashion-MNIST last epoch: loss D / loss G", last[0], last[1]);
    printf("   %-44s %.3f / %.3f\n", "Fashion-MNIST last epoch: D(x) / D(G(z))", last[2], last[3]);
    printf("   %-44s %d of 10 (largest share %.3f)\n", "Fashion-MNIST classes covered",
           classes_covered, top_share);
    printf("   %-44s %.1f s\n", "training time", train_seconds);
    printf("   figures: %s/\n", cli.out);

    nn_report_add_int(&report, "ring_modes_covered", runs[0].final_modes);
    nn_report_add(&report, "ring_quality", runs[0].final_quality);
    nn_report_add_int(&report, "collapse_modes_covered", runs[1].final_modes);
    nn_report_add_int(&report, "collapse_max_modes", runs[1].max_modes);
    nn_report_add_int(&report, "collapse_modes_visited", runs[1].visited);
    nn_report_add(&report, "sat_grad_ratio", sat_ratio);
    nn_report_add(&report, "fmnist_d_loss", last[0]);
    nn_report_add(&report, "fmnist_g_loss", last[1]);
    nn_report_add(&report, "fmnist_d_real", last[2]);
    nn_report_add(&report, "fmnist_d_fake", last[3]);
    nn_report_add_int(&report, "fmnist_classes_covered", classes_covered);
    nn_report_add_timing(&report, "train_seconds", train_seconds);
    nn_report_finish(&report, cli.out);

    nn_params_free(&pj);
    gan_free(&fm);
    free(z_eval), free(data), free(data_x), free(data_y), free(z_grid), free(samples);
    free(tracked), free(log_step), free(log_d), free(log_g), free(log_dx), free(log_dgz);
    free(order), free(labels), free(xb), free(z);
    nn_data_free(&train), nn_data_free(&test);
    nn_graph_free(g);
    return 0;
}
