/* Lesson 19 -- the variational autoencoder (Kingma & Welling 2014; Rezende, Mohamed & Wierstra
 * 2014).
 *
 * Concept: a latent-variable model p(x) = integral p(x|z) p(z) dz with a standard-normal prior
 * p(z) and a neural decoder p(x|z), trained by maximising the evidence lower bound
 *     ELBO(x) = E_{q(z|x)}[log p(x|z)] - KL(q(z|x) || p(z))  <=  log p(x)
 * where an encoder network gives q(z|x) = N(mu(x), diag sigma^2(x)). Two tricks make it
 * trainable with backpropagation: the reparameterization z = mu + sigma * eps, eps ~ N(0, I)
 * (the noise moves outside the graph, so dz/dmu = 1 and dz/dsigma = eps), and the KL term of
 * two Gaussians in closed form. The library ops: nn_vae_sample, nn_vae_kl (lib/ops_vae.c).
 *
 * What you will see:
 *   1. why the trick: two unbiased estimators of d/dmu E_{N(mu,1)}[|z|^2] -- the
 *      reparameterization gradient (through nn_vae_sample and backward) and the score-function
 *      (REINFORCE) gradient f(z) (z - mu) / sigma^2 -- and how the latter's variance grows
 *      with the latent dimension while the former's does not;
 *   2. a VAE 784-400-(20+20) / 20-400-784 on Fashion-MNIST: the test ELBO rising epoch by
 *      epoch, split into reconstruction and KL; reconstructions; samples from the prior;
 *      interpolations between two test images in latent space (against a pixel cross-fade);
 *      an importance-sampled estimate of log p(x) above the ELBO; the active latent units;
 *   3. the same VAE with a 2-D latent: the learned manifold as a grid of decoded images (as
 *      in Kingma & Welling's learned-manifold figure) and the test codes coloured by class.
 *
 * Run:  make lesson19                   (full: 60000 train / 10000 test, 5 + 5 epochs,
 *                                        about 2.3 minutes on 2 busy shared cores, 62 s of CPU)
 *       make lesson19 ARGS="--quick"    (3000 / 500, 3 + 3 epochs, 3-8 seconds)
 *       flags: --seed N --epochs N --out DIR --kernels naive|blas --threads N --help
 *
 * Expected (seed 42, full, measured): test ELBO -246.3 nats per image (reconstruction 230.2,
 * KL 16.1), up from -549.2 untrained; importance-sampled log p(x) >= -243.8 (K = 100), 2.5
 * nats above the ELBO on the same images; 17 of 20 latent units active; the 2-D latent model
 * -267.0. The score-function estimator's variance is 474x the reparameterized one's in 20-D.
 * Pixels are grey levels used as Bernoulli means, so even a perfect decoder pays
 * sum_i H(x_i) = 189.9 nats per test image: that, not 0, is the floor. Reference point:
 * Kingma & Welling 2014, Fig. 2: the same model family on MNIST ends near -100 nats for a
 * 20-D latent (near-binary digits are far cheaper to code than grey textures).
 * Figures and metrics.json go to out/lesson19/.
 */
#include "nn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { HIDDEN = 400, BATCH = 100, EVAL_BATCH = 500, MAX_EPOCHS = 200 };

/* ------------------------------------------------------------------------------------------ */
/* Part 1: two gradient estimators of the same expectation.                                    */
/*                                                                                            */
/* Goal: d/dmu_1 E_{z ~ N(mu, I)}[f(z)] with f(z) = |z|^2 = sum_j z_j^2 (exact: 2 mu_1).        */
/*   reparameterization: z = mu + eps,  d f(mu + eps)/d mu_1 = 2 z_1          (variance 4)    */
/*   score function:     f(z) d log q(z)/d mu_1 = f(z) (z_1 - mu_1)           (no derivative  */
/*                       of f needed -- but every other coordinate's noise enters through f)  */
/* ------------------------------------------------------------------------------------------ */

typedef struct estimator_stats {
    double mean_reparam, var_reparam, mean_score, var_score;
} estimator_stats;

/* n single-sample estimates of each, mu = 1 in every one of D coordinates. The reparameterized
 * gradient is computed the way the VAE computes it: nn_vae_sample on the tape, then backward. */
static estimator_stats compare_estimators(int D, int n, nn_rng *rng, double *running_r,
                                          double *running_s)
{
    nn_graph *g = nn_graph_new();
    nn_tensor *mu = nn_graph_tensor(g, 2, n, D), *logvar = nn_graph_tensor(g, 2, n, D);
    for (size_t i = 0; i < mu->numel; i++) mu->data[i] = 1; /* logvar 0: sigma = 1 */
    nn_graph_require_grad(g, mu);
    nn_tensor *eps = nn_graph_tensor(g, 2, n, D);
    nn_rng_fill_normal(rng, eps->data, eps->numel, 0, 1);
    nn_tensor *z = nn_vae_sample(g, mu, logvar, eps);
    nn_backward(g, nn_sum(g, nn_mul(g, z, z))); /* row r of mu->grad = d f(z_r) / d mu */
    double sr = 0, sr2 = 0, ss = 0, ss2 = 0;
    for (int r = 0; r < n; r++) {
        const nn_real *zr = z->data + (size_t)r * D;
        double f = 0;
        for (int j = 0; j < D; j++) f += (double)zr[j] * zr[j];
        double gr = mu->grad[(size_t)r * D];  /* 2 z_1 */
        double gs = f * (zr[0] - 1.0);        /* f(z) (z_1 - mu_1) / sigma^2 */
        sr += gr, sr2 += gr * gr, ss += gs, ss2 += gs * gs;
        if (running_r) running_r[r] = sr / (r + 1), running_s[r] = ss / (r + 1);
    }
    nn_graph_free(g);
    estimator_stats st = {sr / n, sr2 / n - (sr / n) * (sr / n), ss / n,
                          ss2 / n - (ss / n) * (ss / n)};
    return st;
}

/* ------------------------------------------------------------------------------------------ */
/* Part 2: the VAE.                                                                            */
/*   encoder  h = relu(x W1^T + b1)            (B,400)                                          */
/*            mu = h Wm^T + bm, logvar = h Wv^T + bv      (B,L) each                            */
/*   sample   z = mu + exp(logvar/2) eps, eps ~ N(0,I)    nn_vae_sample                         */
/*   decoder  logits = relu(z W2^T + b2) Wo^T + bo        (B,784): p(x_i = 1 | z) = sigmoid     */
/*   loss     -ELBO = sum_i BCE(logits_i, x_i) + KL(N(mu, e^logvar) || N(0, I))  per image,     */
/*            averaged over the batch.                                                          */
/* ------------------------------------------------------------------------------------------ */

typedef struct vae {
    int latent, pixels;
    nn_linear_layer enc, enc_mu, enc_logvar, dec, dec_out;
} vae;

static void vae_init(vae *v, nn_params *ps, int pixels, int latent, nn_rng *rng)
{
    v->latent = latent, v->pixels = pixels;
    nn_linear_init(&v->enc, ps, "enc", pixels, HIDDEN, 1, rng);
    nn_linear_init(&v->enc_mu, ps, "enc_mu", HIDDEN, latent, 1, rng);
    nn_linear_init(&v->enc_logvar, ps, "enc_logvar", HIDDEN, latent, 1, rng);
    nn_linear_init(&v->dec, ps, "dec", latent, HIDDEN, 1, rng);
    nn_linear_init(&v->dec_out, ps, "dec_out", HIDDEN, pixels, 1, rng);
}

static void vae_encode(nn_graph *g, const vae *v, nn_tensor *x, nn_tensor **mu,
                       nn_tensor **logvar)
{
    nn_tensor *h = nn_relu(g, nn_linear(g, &v->enc, x));
    *mu = nn_linear(g, &v->enc_mu, h);
    *logvar = nn_linear(g, &v->enc_logvar, h);
}

static nn_tensor *vae_decode(nn_graph *g, const vae *v, nn_tensor *z) /* -> logits */
{
    return nn_linear(g, &v->dec_out, nn_relu(g, nn_linear(g, &v->dec, z)));
}

/* the two terms of the negative ELBO of a batch x (B, pixels), nats per image */
typedef struct elbo_terms {
    nn_tensor *loss, *recon, *kl, *mu, *logvar, *logits;
} elbo_terms;

static elbo_terms vae_negative_elbo(nn_graph *g, const vae *v, nn_tensor *x, nn_rng *rng)
{
    elbo_terms t;
    int B = x->shape[0];
    vae_encode(g, v, x, &t.mu, &t.logvar);
    nn_tensor *eps = nn_graph_tensor(g, 2, B, v->latent); /* a constant: no gradient */
    nn_rng_fill_normal(rng, eps->data, eps->numel, 0, 1);
    nn_tensor *z = nn_vae_sample(g, t.mu, t.logvar, eps);
    t.logits = vae_decode(g, v, z);
    /* -log p(x|z) = sum over the pixels of BCE; nn_bce_with_logits is the mean over all B*784
     * numbers, so times 784 it is the per-image sum averaged over the batch */
    t.recon = nn_scale(g, nn_bce_with_logits(g, t.logits, x), (nn_real)v->pixels);
    t.kl = nn_vae_kl(g, t.mu, t.logvar);
    t.loss = nn_add(g, t.recon, t.kl);
    return t;
}

typedef struct elbo_eval {
    double elbo, recon, kl; /* per image: elbo = -(recon + kl) */
} elbo_eval;

/* The ELBO on a whole dataset, one sample of z per image, forward only. The noise comes from
 * a fixed seed, so every evaluation (every epoch) uses the same eps and the curves compare
 * like with like. mu_out (n, latent) gets the encoder means when not NULL. */
static elbo_eval vae_evaluate(nn_graph *g, const vae *v, const nn_data *d, uint64_t seed,
                              nn_real *mu_out)
{
    nn_rng rng;
    nn_rng_seed(&rng, seed);
    g->grad = 0;
    double recon = 0, kl = 0;
    for (int start = 0; start < d->n; start += EVAL_BATCH) {
        int count = d->n - start < EVAL_BATCH ? d->n - start : EVAL_BATCH;
        nn_tensor *x = nn_graph_input(g, d->x + (size_t)start * d->dim, 2, count, d->dim);
        elbo_terms t = vae_negative_elbo(g, v, x, &rng);
        recon += (double)t.recon->data[0] * count, kl += (double)t.kl->data[0] * count;
        if (mu_out)
            memcpy(mu_out + (size_t)start * v->latent, t.mu->data,
                   (size_t)count * v->latent * sizeof(nn_real));
        nn_graph_reset(g);
    }
    g->grad = 1;
    elbo_eval e = {-(recon + kl) / d->n, recon / d->n, kl / d->n};
    return e;
}

/* log p(x|z) for one image: -sum_i BCE(logit_i, x_i), in the overflow-free form */
static double log_bernoulli(const nn_real *logits, const nn_real *x, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++) {
        double l = logits[i];
        s -= (l > 0 ? l : 0) - l * x[i] + log1p(exp(-fabs(l)));
    }
    return s;
}

/* Importance sampling (Burda, Grosse & Salakhutdinov 2016): with z_k ~ q(z|x),
 *     log p(x) ~ log (1/K) sum_k p(x|z_k) p(z_k) / q(z_k|x)
 * is still a lower bound, tighter as K grows (K = 1 is the ELBO). With z = mu + sigma eps:
 *     log p(z) - log q(z|x) = sum_j [ -z_j^2/2 + eps_j^2/2 + logvar_j/2 ]   (2 pi cancels).
 * Averaged over the first n images of d. */
static double vae_log_likelihood(nn_graph *g, const vae *v, const nn_data *d, int n, int K,
                                 uint64_t seed)
{
    nn_rng rng;
    nn_rng_seed(&rng, seed);
    g->grad = 0;
    const int L = v->latent, P = v->pixels;
    double *logw = nn_malloc((size_t)K * EVAL_BATCH * sizeof *logw), total = 0;
    for (int start = 0; start < n; start += EVAL_BATCH) {
        int count = n - start < EVAL_BATCH ? n - start : EVAL_BATCH;
        const nn_real *xb = d->x + (size_t)start * P;
        nn_tensor *mu, *logvar;
        vae_encode(g, v, nn_graph_input(g, xb, 2, count, P), &mu, &logvar);
        for (int k = 0; k < K; k++) {
            nn_tensor *eps = nn_graph_tensor(g, 2, count, L);
            nn_rng_fill_normal(&rng, eps->data, eps->numel, 0, 1);
            nn_tensor *z = nn_vae_sample(g, mu, logvar, eps);
            nn_tensor *logits = vae_decode(g, v, z);
            for (int b = 0; b < count; b++) {
                double w = log_bernoulli(logits->data + (size_t)b * P, xb + (size_t)b * P, P);
                for (int j = 0; j < L; j++) {
                    size_t i = (size_t)b * L + j;
                    w += 0.5 * (eps->data[i] * eps->data[i] - z->data[i] * z->data[i] +
                                logvar->data[i]);
                }
                logw[(size_t)b * K + k] = w;
            }
        }
        for (int b = 0; b < count; b++) { /* log-mean-exp over the K samples, stably */
            const double *w = logw + (size_t)b * K;
            double m = w[0], s = 0;
            for (int k = 1; k < K; k++) m = fmax(m, w[k]);
            for (int k = 0; k < K; k++) s += exp(w[k] - m);
            total += m + log(s / K);
        }
        nn_graph_reset(g);
    }
    g->grad = 1;
    free(logw);
    return total / n;
}

/* decode latent codes z (n, latent) to pixel probabilities sigmoid(logits) (n, pixels) */
static void vae_decode_probs(nn_graph *g, const vae *v, const nn_real *z, int n, nn_real *out)
{
    g->grad = 0;
    nn_tensor *p = nn_sigmoid(g, vae_decode(g, v, nn_graph_input(g, z, 2, n, v->latent)));
    memcpy(out, p->data, (size_t)n * v->pixels * sizeof(nn_real));
    nn_graph_reset(g);
    g->grad = 1;
}

/* encoder means of n images (n, pixels) -> (n, latent) */
static void vae_encode_means(nn_graph *g, const vae *v, const nn_real *x, int n, nn_real *out)
{
    g->grad = 0;
    nn_tensor *mu, *logvar;
    vae_encode(g, v, nn_graph_input(g, x, 2, n, v->pixels), &mu, &logvar);
    memcpy(out, mu->data, (size_t)n * v->latent * sizeof(nn_real));
    nn_graph_reset(g);
    g->grad = 1;
}

typedef struct curves {
    double train[MAX_EPOCHS + 1], test[MAX_EPOCHS + 1], recon[MAX_EPOCHS + 1],
        kl[MAX_EPOCHS + 1], epoch[MAX_EPOCHS + 1], mid[MAX_EPOCHS + 1];
} curves;

/* Adam on the negative ELBO, one fresh eps per image per step. c->test[e] etc. after e epochs
 * (e = 0: the untrained model); c->train[e] = the mean training ELBO during epoch e, plotted
 * at c->mid[e] = e - 1/2 since the model improved while it was measured. */
static double vae_train(vae *v, nn_params *ps, nn_graph *g, const nn_data *train,
                        const nn_data *test, int epochs, nn_rng *rng, uint64_t eval_seed,
                        curves *c, const char *label)
{
    nn_optim opt;
    nn_optim_init(&opt, NN_OPTIM_ADAM, ps, 1e-3f);
    int *order = nn_malloc(train->n * sizeof *order), *yb = nn_malloc(BATCH * sizeof *yb);
    nn_real *xb = nn_malloc((size_t)BATCH * train->dim * sizeof *xb);
    double seconds = 0;
    long step = 0;
    elbo_eval e0 = vae_evaluate(g, v, test, eval_seed, NULL);
    c->epoch[0] = 0, c->test[0] = e0.elbo, c->recon[0] = e0.recon, c->kl[0] = e0.kl;
    c->train[0] = NAN;
    printf("  %s: %d train images, latent %d, %zu parameters, %d epochs\n", label, train->n,
           v->latent, ps->count, epochs);
    printf("  epoch  train ELBO  test ELBO  test recon  test KL  seconds\n");
    printf("  %5d  %10s  %9.2f  %10.2f  %7.2f\n", 0, "", e0.elbo, e0.recon, e0.kl);
    for (int epoch = 1; epoch <= epochs; epoch++) {
        double t0 = nn_seconds(), sum = 0;
        nn_rng_permutation(rng, order, train->n);
        nn_progress bar;
        nn_progress_start(&bar, label, (train->n + BATCH - 1) / BATCH);
        for (int start = 0, b = 0; start < train->n; start += BATCH, b++) {
            int count = train->n - start < BATCH ? train->n - start : BATCH;
            nn_data_batch(train, order, start, count, xb, yb);
            nn_tensor *x = nn_graph_input(g, xb, 2, count, train->dim);
            elbo_terms t = vae_negative_elbo(g, v, x, rng);
            nn_graph_check_finite(g, t.loss, step++);
            sum -= (double)t.loss->data[0] * count;
            nn_params_zero_grad(ps);
            nn_backward(g, t.loss);
            nn_optim_step(&opt);
            nn_graph_reset(g);
            nn_progress_update(&bar, b + 1, NULL);
        }
        nn_progress_finish(&bar);
        seconds += nn_seconds() - t0;
        elbo_eval e = vae_evaluate(g, v, test, eval_seed, NULL);
        c->epoch[epoch] = epoch, c->mid[epoch] = epoch - 0.5, c->train[epoch] = sum / train->n;
        c->test[epoch] = e.elbo, c->recon[epoch] = e.recon, c->kl[epoch] = e.kl;
        printf("  %5d  %10.2f  %9.2f  %10.2f  %7.2f  %7.1f\n", epoch, c->train[epoch], e.elbo,
               e.recon, e.kl, nn_seconds() - t0);
    }
    free(order), free(yb), free(xb);
    nn_optim_free(&opt);
    return seconds;
}

/* the standard normal's inverse CDF by bisection on Phi(z) = erfc(-z/sqrt 2)/2 (exact enough
 * for a picture, and obviously right) */
static double normal_quantile(double p)
{
    double lo = -10, hi = 10;
    for (int i = 0; i < 100; i++) {
        double mid = 0.5 * (lo + hi);
        if (0.5 * erfc(-mid / sqrt(2.0)) < p) lo = mid; else hi = mid;
    }
    return 0.5 * (lo + hi);
}

/* sum over the pixels of the Bernoulli entropy H(x_i) = -x log x - (1-x) log(1-x): the
 * reconstruction cost of a PERFECT decoder (p = x) on grey pixels, averaged over images */
static double entropy_floor(const nn_data *d)
{
    double s = 0;
    for (size_t i = 0; i < (size_t)d->n * d->dim; i++) {
        double x = d->x[i];
        if (x > 0 && x < 1) s -= x * log(x) + (1 - x) * log(1 - x);
    }
    return s / d->n;
}

/* first test image of a class */
static int first_of_class(const nn_data *d, int c)
{
    for (int i = 0; i < d->n; i++)
        if (d->y[i] == c) return i;
    return 0;
}

int main(int argc, char **argv)
{
    nn_cli cli;
    nn_cli_parse(&cli, 19, "Lesson 19: the variational autoencoder -- reparameterization trick, "
                           "closed-form KL, ELBO; prior samples, a 2-D latent manifold and "
                           "latent interpolations on Fashion-MNIST.", argc, argv);
    nn_rng rng;
    nn_rng_seed(&rng, cli.seed);
    nn_report report;
    nn_report_init(&report, 19);
    double start_time = nn_seconds();
    const uint64_t eval_seed = cli.seed + 1000; /* the evaluation noise, fixed for the run */

    /* ---- 1. reparameterization vs score function ---- */
    enum { NEST = 20000, NRUN = 2000 };
    const int dims[4] = {1, 2, 5, 20};
    double dim_axis[4], var_r[4], var_s[4];
    double *run_r = nn_malloc(NEST * sizeof *run_r), *run_s = nn_malloc(NEST * sizeof *run_s);
    printf("1. Two unbiased estimators of d/dmu_1 E[|z|^2], z ~ N(mu, I), mu = 1 (truth: 2),\n"
           "   %d single-sample estimates each\n", NEST);
    printf("   latent dim  reparam mean  reparam var  score mean  score var  var ratio\n");
    for (int k = 0; k < 4; k++) {
        estimator_stats s = compare_estimators(dims[k], NEST, &rng, k == 3 ? run_r : NULL,
                                               run_s);
        dim_axis[k] = dims[k], var_r[k] = s.var_reparam, var_s[k] = s.var_score;
        printf("   %10d  %12.3f  %11.2f  %10.3f  %9.1f  %9.1f\n", dims[k], s.mean_reparam,
               s.var_reparam, s.mean_score, s.var_score, s.var_score / s.var_reparam);
    }
    nn_plot_series vs[2] = {{"reparameterization", dim_axis, var_r, 4},
                            {"score function (REINFORCE)", dim_axis, var_s, 4}};
    nn_plot_lines(cli.out, "estimator_variance",
                  "Variance of one-sample gradient estimates vs latent dimension",
                  "latent dimension",
                  "variance of d/dmu_1 estimate", vs, 2, 1);
    double truth[2] = {2, 2}, truth_x[2] = {1, NRUN}, *axis = nn_malloc(NRUN * sizeof *axis);
    for (int i = 0; i < NRUN; i++) axis[i] = i + 1;
    nn_plot_series rs[3] = {{"reparameterization", axis, run_r, NRUN},
                            {"score function", axis, run_s, NRUN},
                            {"exact 2 mu_1", truth_x, truth, 2}};
    nn_plot_lines(cli.out, "estimator_running_mean",
                  "Running mean of the two estimators, latent dimension 20", "samples",
                  "estimate of d/dmu_1 E|z|^2", rs, 3, 0);

    /* ---- 2. the VAE on Fashion-MNIST, 20-D latent ---- */
    nn_data train, test;
    nn_data_fmnist_load_first(&train, cli.quick ? 3000 : NN_FMNIST_TRAIN_SIZE,
                              &test, cli.quick ? 500 : NN_FMNIST_TEST_SIZE);
    const int epochs = nn_cli_epochs(&cli, 5, 3), P = train.dim, H = train.height,
              W = train.width;
    if (epochs > MAX_EPOCHS) nn_fail("lesson 19: at most %d epochs", MAX_EPOCHS);
    double floor_nats = entropy_floor(&test);
    printf("\n2. VAE on Fashion-MNIST (%d train / %d test); a perfect decoder would still pay "
           "%.1f nats/image\n", train.n, test.n, floor_nats);

    nn_graph *g = nn_graph_new();
    nn_params ps;
    nn_params_init(&ps);
    vae model;
    vae_init(&model, &ps, P, 20, &rng);
    static curves c20, c2;
    double seconds20 = vae_train(&model, &ps, g, &train, &test, epochs, &rng, eval_seed, &c20,
                                 "latent 20");
    elbo_eval final = {c20.test[epochs], c20.recon[epochs], c20.kl[epochs]};

    /* active units (Burda et al. 2016): latent dimension j is in use if its encoder mean moves
     * with the input, Var_x[mu_j(x)] > 0.01; the others stay at the prior (KL ~ 0) */
    nn_real *mu_test = nn_malloc((size_t)test.n * 20 * sizeof *mu_test);
    vae_evaluate(g, &model, &test, eval_seed, mu_test);
    int active = 0;
    for (int j = 0; j < 20; j++) {
        double m = 0, m2 = 0;
        for (int i = 0; i < test.n; i++) m += mu_test[(size_t)i * 20 + j];
        m /= test.n;
        for (int i = 0; i < test.n; i++) {
            double dlt = mu_test[(size_t)i * 20 + j] - m;
            m2 += dlt * dlt;
        }
        active += m2 / test.n > 0.01;
    }
    int ll_n = cli.quick ? 100 : 2000, ll_k = cli.quick ? 10 : 100;
    double log_px = vae_log_likelihood(g, &model, &test, ll_n, ll_k, eval_seed + 1);
    elbo_eval sub = {0};
    { /* the ELBO of the same images, to compare like with like */
        nn_data part;
        nn_data_subset(&part, &test, ll_n);
        sub = vae_evaluate(g, &model, &part, eval_seed, NULL);
        nn_data_free(&part);
    }
    printf("  active latent units: %d of 20; on the first %d test images ELBO %.2f, "
           "log p(x) >= %.2f (K = %d importance samples)\n", active, ll_n, sub.elbo, log_px, ll_k);

    /* figures: reconstructions, prior samples, interpolations */
    enum { NREC = 10, NPRIOR = 64, STEPS = 10, PAIRS = 3 };
    nn_real *img = nn_malloc((size_t)(2 * NREC + NPRIOR + 2 * PAIRS * STEPS) * P * sizeof *img);
    nn_real *zbuf = nn_malloc((size_t)225 * 20 * sizeof *zbuf); /* codes for the grids below */
    memcpy(img, test.x, (size_t)NREC * P * sizeof *img);        /* row 1: test images */
    vae_encode_means(g, &model, test.x, NREC, zbuf);             /* row 2: decoded at z = mu */
    vae_decode_probs(g, &model, zbuf, NREC, img + (size_t)NREC * P);
    nn_plot_images(cli.out, "reconstructions",
                   "Test images (top) and their reconstructions from z = mu (bottom)", img,
                   2 * NREC, H, W, NREC, 0);

    nn_rng_fill_normal(&rng, zbuf, (size_t)NPRIOR * 20, 0, 1); /* z ~ p(z) = N(0, I) */
    vae_decode_probs(g, &model, zbuf, NPRIOR, img);
    nn_plot_images(cli.out, "prior_samples",
                   "Samples from the prior: sigmoid(decoder(z)), z drawn from N(0, I)", img,
                   NPRIOR, H, W, 8, 0);

    /* each pair: row 1 decodes z(t) = (1-t) mu_a + t mu_b between the two real images at the
     * ends; row 2 cross-fades the pixels, (1-t) x_a + t x_b, for comparison */
    const int pair_class[PAIRS][2] = {{0, 1}, {7, 9}, {2, 8}}; /* T-shirt/trouser, sneaker/boot,
                                                                  pullover/bag */
    for (int p = 0; p < PAIRS; p++) {
        const nn_real *xa = test.x + (size_t)first_of_class(&test, pair_class[p][0]) * P;
        const nn_real *xb = test.x + (size_t)first_of_class(&test, pair_class[p][1]) * P;
        nn_real za[20], zb[20];
        vae_encode_means(g, &model, xa, 1, za);
        vae_encode_means(g, &model, xb, 1, zb);
        for (int s = 0; s < STEPS - 2; s++) {
            double t = (double)s / (STEPS - 3);
            for (int j = 0; j < 20; j++) zbuf[s * 20 + j] = (nn_real)((1 - t) * za[j] + t * zb[j]);
        }
        nn_real *latent_row = img + (size_t)(2 * p) * STEPS * P;
        nn_real *pixel_row = latent_row + (size_t)STEPS * P;
        memcpy(latent_row, xa, P * sizeof *img);
        vae_decode_probs(g, &model, zbuf, STEPS - 2, latent_row + P);
        memcpy(latent_row + (size_t)(STEPS - 1) * P, xb, P * sizeof *img);
        for (int s = 0; s < STEPS; s++) {
            double t = (double)s / (STEPS - 1);
            for (int i = 0; i < P; i++)
                pixel_row[(size_t)s * P + i] = (nn_real)((1 - t) * xa[i] + t * xb[i]);
        }
    }
    nn_plot_images(cli.out, "interpolations",
                   "Two test images: latent path (odd rows) vs pixel cross-fade (even rows)",
                   img, 2 * PAIRS * STEPS, H, W, STEPS, 0);

    /* ---- 3. a 2-D latent: the whole manifold on one page ---- */
    printf("\n3. The same VAE with a 2-D latent\n");
    nn_params ps2;
    nn_params_init(&ps2);
    vae model2;
    vae_init(&model2, &ps2, P, 2, &rng);
    double seconds2 = vae_train(&model2, &ps2, g, &train, &test, epochs, &rng, eval_seed, &c2,
                                "latent 2");
    /* Kingma & Welling's manifold figure: a GRID x GRID square of codes z = Phi^-1(u), u evenly
     * spaced in (0,1)^2, so the grid covers the prior's mass evenly (z1 left to right, z2 top
     * to bottom from high to low) */
    enum { GRID = 15 };
    for (int r = 0; r < GRID; r++)
        for (int q = 0; q < GRID; q++) {
            zbuf[2 * (r * GRID + q)] = (nn_real)normal_quantile((q + 0.5) / GRID);
            zbuf[2 * (r * GRID + q) + 1] = (nn_real)normal_quantile(1 - (r + 0.5) / GRID);
        }
    nn_real *grid_img = nn_malloc((size_t)GRID * GRID * P * sizeof *grid_img);
    vae_decode_probs(g, &model2, zbuf, GRID * GRID, grid_img);
    nn_plot_images(cli.out, "manifold_2d",
                   "The learned 2-D manifold: decoder(Phi^{-1}(u)), u on an even grid", grid_img,
                   GRID * GRID, H, W, GRID, 0);
    nn_real *mu2 = nn_malloc((size_t)test.n * 2 * sizeof *mu2);
    vae_evaluate(g, &model2, &test, eval_seed, mu2);
    int nscatter = test.n < 5000 ? test.n : 5000;
    nn_plot_scatter(cli.out, "latent_2d",
                    "Encoder means of test images, 2-D latent", mu2, test.y, nscatter,
                    nn_data_fmnist_classes);

    /* curves */
    int n1 = epochs + 1;
    nn_plot_series ec[4] = {{"20-D train (epoch mean)", c20.mid + 1, c20.train + 1, epochs},
                            {"20-D test", c20.epoch, c20.test, n1},
                            {"2-D train (epoch mean)", c2.mid + 1, c2.train + 1, epochs},
                            {"2-D test", c2.epoch, c2.test, n1}};
    nn_plot_lines(cli.out, "elbo_curves", "ELBO per image (nats): it rises as training goes",
                  "epoch", "ELBO (nats per image)", ec, 4, 0);
    double floor_line[2] = {floor_nats, floor_nats}, floor_x[2] = {0, epochs};
    nn_plot_series tc[5] = {{"20-D reconstruction", c20.epoch, c20.recon, n1},
                            {"20-D KL", c20.epoch, c20.kl, n1},
                            {"2-D reconstruction", c2.epoch, c2.recon, n1},
                            {"2-D KL", c2.epoch, c2.kl, n1},
                            {"perfect decoder", floor_x, floor_line, 2}};
    nn_plot_lines(cli.out, "elbo_terms", "The two terms of -ELBO on the test set (nats per image)",
                  "epoch", "nats per image", tc, 5, 1);

    /* ---- results ---- */
    elbo_eval final2 = {c2.test[epochs], c2.recon[epochs], c2.kl[epochs]};
    printf("\n  %-44s %s\n", "result", "value");
    printf("  %-44s %.2f\n", "latent 20: test ELBO (nats/image)", final.elbo);
    printf("  %-44s %.2f + %.2f\n", "  = -(reconstruction + KL)", final.recon, final.kl);
    printf("  %-44s %.2f\n", "  untrained model", c20.test[0]);
    printf("  %-44s %.2f (K = %d, %d images; ELBO %.2f)\n", "  log p(x) importance-sampled", log_px,
           ll_k, ll_n, sub.elbo);
    printf("  %-44s %d of 20\n", "  active latent units", active);
    printf("  %-44s %.2f (recon %.2f, KL %.2f)\n", "latent 2: test ELBO", final2.elbo,
           final2.recon, final2.kl);
    printf("  %-44s %.2f\n", "perfect-decoder floor (sum of H(x_i))", floor_nats);
    printf("  %-44s %.1f s + %.1f s\n", "training time (latent 20 + latent 2)", seconds20,
           seconds2);
    printf("  %-44s %.1f s\n", "whole lesson", nn_seconds() - start_time);

    nn_report_add(&report, "test_elbo", final.elbo);
    nn_report_add(&report, "test_recon", final.recon);
    nn_report_add(&report, "test_kl", final.kl);
    nn_report_add(&report, "elbo_rise", final.elbo - c20.test[0]);
    nn_report_add(&report, "log_px_iw", log_px);
    nn_report_add(&report, "iw_gap", log_px - sub.elbo);
    nn_report_add_int(&report, "active_units", active);
    nn_report_add(&report, "test_elbo_2d", final2.elbo);
    nn_report_add(&report, "recon_floor", floor_nats);
    nn_report_add(&report, "score_var_ratio_d20", var_s[3] / var_r[3]);
    nn_report_add_timing(&report, "train_seconds", seconds20 + seconds2);
    nn_report_finish(&report, cli.out);

    free(run_r), free(run_s), free(axis), free(mu_test), free(img), free(zbuf), free(grid_img);
    free(mu2);
    nn_params_free(&ps), nn_params_free(&ps2);
    nn_graph_free(g);
    nn_data_free(&train), nn_data_free(&test);
    return 0;
}
