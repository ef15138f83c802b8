/* Lesson 15 -- deep belief networks: restricted Boltzmann machines, contrastive divergence and
 * greedy layer-wise pre-training (Hinton, Osindero & Teh 2006; Hinton & Salakhutdinov 2006).
 *
 * Concept: a restricted Boltzmann machine (RBM) is a two-layer probabilistic model of binary
 * data: visible units v (the pixels), hidden units h, and an energy E(v,h) = -b.v - c.h - h.W v
 * that defines p(v,h) = exp(-E)/Z. With no connections inside a layer, each layer given the
 * other is a row of independent logistic units, so sampling alternates between two matrix
 * products. Its likelihood gradient is <v h>_data - <v h>_model; contrastive divergence (CD-k)
 * estimates the second term with only k steps of Gibbs sampling started at the data. The
 * hidden probabilities p(h|v) are features; an RBM trained on those features is a second
 * layer; the stack -- a deep belief network -- initialises a sigmoid MLP that backpropagation
 * then fine-tunes with the labels. In 2006 this was the first recipe that trained deep nets
 * reliably. The library part: nn_rbm_* (lib/rbm.c) and the sampler nn_rng_fill_bernoulli (lib/rng.c).
 *
 * What you will see:
 *   1. an RBM 784-H1 trained with CD-1 on binarized Fashion-MNIST (60000 unlabelled images):
 *      reconstruction error and free energy (training vs held-out images) per epoch, the
 *      learned filters (rows of W), reconstructions p(v | p(h|v)) after epoch 1 and at the
 *      end, and "fantasies": Gibbs chains started at test images after 1, 10, 100, 1000 steps;
 *   2. a second RBM H1-H2 trained greedily on the first one's p(h|v);
 *   3. the stack fine-tuned as a sigmoid MLP 784-H1-H2-10 and the very same network from
 *      random (PyTorch default) initialisation, with 1000 labels and with all 60000, same
 *      optimizer, batches and epochs: test accuracy per epoch and a 2 x 2 accuracy table.
 *
 * Run:  make lesson15                   (full: H1 500, H2 250, 5 RBM epochs per layer on 60000
 *                                        images, fine-tuning 60000 labels x 5 epochs and 3 draws
 *                                        of 1000 labels x 40 epochs: about 75 s of CPU, 48 s
 *                                        on an otherwise idle 2-core machine)
 *       make lesson15 ARGS="--quick"    (8000 images, H1 256, H2 128, 3 RBM epochs, one draw
 *                                        of 1000 labels x 15 epochs, 8000 x 2, 1000 test images:
 *                                        about 3 s of CPU, 4 s)
 *       flags: --seed N --epochs N (RBM epochs per layer) --out DIR --kernels naive|blas
 *              --threads N --help
 *
 * Expected (full mode, seed 42, measured): RBM-1 held-out reconstruction error (squared,
 * summed over the 784 pixels) 129.8 before training -> 22.7 after 5 epochs; free-energy gap
 * (held-out minus training) 1.5 nats, within the noise of the two samples: no overfitting.
 * Test accuracy of the fine-tuned 784-500-250-10 sigmoid MLP:
 *                     random init   DBN pre-trained
 *     1000 labels        0.712          0.759        (mean of 3 draws; gain 0.040-0.058)
 *     60000 labels       0.825          0.846        (5 epochs: random init is still behind)
 * --quick (measured): 0.607 vs 0.730 with 1000 labels, 0.643 vs 0.726 with 8000 (short runs:
 * the random-init network is far from done, so the gap is larger than in the full run).
 * Reference: Hinton, Osindero & Teh 2006: a DBN 784-500-500-2000 reaches 1.25% error on
 * MNIST; Erhan et al. 2010 ("Why does unsupervised pre-training help deep learning?", JMLR):
 * the benefit is largest with few labels and shrinks as labelled data and training grow.
 * Figures and metrics.json go to out/lesson15/.
 */
#include "nn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    PIXELS = 784,
    CLASSES = 10,
    RBM_BATCH = 100,  /* CD mini-batch (Hinton's guide: 10-100) */
    FT_BATCH = 50,    /* fine-tuning mini-batch */
    EVAL_BATCH = 1000,
    MONITOR = 1000,   /* images for the free-energy and reconstruction monitors */
    SHOW = 10,        /* images per row in the figures */
    MAX_EPOCHS = 200,
};

/* ------------------------------------------------------------------------------------------ */
/* Binarized Fashion-MNIST: a pixel is on when its grey value is at least 1/2.                */
/* ------------------------------------------------------------------------------------------ */

static void binarize(nn_data *d)
{
    for (size_t i = 0; i < (size_t)d->n * d->dim; i++) d->x[i] = d->x[i] >= 0.5f ? 1 : 0;
}

/* few (n examples, new arrays) = a random n of pool's labelled images */
static void pick_labelled(nn_data *few, const nn_data *pool, int n, nn_rng *rng)
{
    int *order = nn_malloc((size_t)pool->n * sizeof *order);
    nn_rng_permutation(rng, order, pool->n);
    *few = *pool; /* geometry and classes */
    few->n = n;
    few->x = nn_malloc((size_t)n * pool->dim * sizeof *few->x);
    few->y = nn_malloc((size_t)n * sizeof *few->y);
    nn_data_batch(pool, order, 0, n, few->x, few->y);
    free(order);
}

/* ------------------------------------------------------------------------------------------ */
/* Training one RBM with CD-k, watching it with what is cheap to compute.                     */
/*                                                                                            */
/* The likelihood itself needs Z, a sum over 2^784 images: intractable. Two proxies:         */
/*  - reconstruction error, sum_i (v_i - p(v_i | p(h|v)))^2: does the code h keep the image?  */
/*    (cheap and useful, but not what CD optimises: a model can reconstruct well and still    */
/*    put its probability mass in the wrong places);                                           */
/*  - free energy F(v) = -log sum_h exp(-E(v,h)), so log p(v) = -F(v) - log Z: Z is unknown,  */
/*    but it is the same for every v, so the DIFFERENCE of the mean F on held-out images and  */
/*    on training images is a log-likelihood ratio. When it grows the model is overfitting    */
/*    the training images (Hinton's guide, section 6).                                        */
/* ------------------------------------------------------------------------------------------ */

typedef struct rbm_history {
    int epochs;
    double cd_error[MAX_EPOCHS + 1];      /* mean of nn_rbm_cd_step's returns over the epoch */
    double train_recon[MAX_EPOCHS + 1];   /* deterministic, on MONITOR training rows */
    double heldout_recon[MAX_EPOCHS + 1]; /* ... on MONITOR held-out rows */
    double train_free[MAX_EPOCHS + 1], heldout_free[MAX_EPOCHS + 1];
    double seconds;
} rbm_history;

static void rbm_monitor(const nn_rbm *rbm, rbm_history *hist, int e, const nn_real *train_rows,
                        const nn_real *heldout_rows, int m)
{
    hist->train_recon[e] = nn_rbm_reconstruct(rbm, NULL, train_rows, m);
    hist->heldout_recon[e] = nn_rbm_reconstruct(rbm, NULL, heldout_rows, m);
    hist->train_free[e] = nn_rbm_free_energy(rbm, NULL, train_rows, m);
    hist->heldout_free[e] = nn_rbm_free_energy(rbm, NULL, heldout_rows, m);
}

/* CD-1 over `epochs` passes of data (n, visible) in shuffled mini-batches. Hyper-parameters
 * from Hinton's practical guide (2010): learning rate 0.1 on the batch-mean statistics,
 * momentum 0.5 for the first half of the epochs (at most 5) and 0.9 once the weights have
 * settled, weight decay 0.0002 (it keeps the weights small, so the Gibbs chain keeps mixing).
 * Entry 0 of every curve is the untrained RBM. `after_epoch1` (may be NULL) gets the first
 * SHOW held-out reconstructions after epoch 1. */
static void train_rbm(nn_rbm *rbm, rbm_history *hist, const nn_real *data, int n, int epochs,
                      const nn_real *heldout_rows, int m, nn_real *after_epoch1, nn_rng *rng)
{
    const int V = rbm->visible;
    int *order = nn_malloc((size_t)n * sizeof *order);
    nn_real *batch = nn_malloc((size_t)RBM_BATCH * V * sizeof *batch);
    nn_real *train_rows = nn_malloc((size_t)m * V * sizeof *train_rows);
    memcpy(train_rows, data, (size_t)m * V * sizeof *train_rows); /* the first m rows */
    rbm->weight_decay = 0.0002f;
    hist->epochs = epochs;
    rbm_monitor(rbm, hist, 0, train_rows, heldout_rows, m);
    hist->cd_error[0] = NAN; /* no CD step yet */
    double t0 = nn_seconds();
    for (int e = 1; e <= epochs; e++) {
        rbm->momentum = e <= (epochs + 1) / 2 && e <= 5 ? 0.5f : 0.9f;
        nn_rng_permutation(rng, order, n);
        nn_progress bar;
        nn_progress_start(&bar, "CD-1", (n + RBM_BATCH - 1) / RBM_BATCH);
        double err = 0;
        for (int start = 0, b = 0; start < n; start += RBM_BATCH, b++) {
            int count = n - start < RBM_BATCH ? n - start : RBM_BATCH;
            for (int r = 0; r < count; r++)
                memcpy(batch + (size_t)r * V, data + (size_t)order[start + r] * V,
                       V * sizeof *batch);
            err += nn_rbm_cd_step(rbm, batch, count, 1, 0.1f, rng) * count;
            nn_progress_update(&bar, b + 1, NULL);
        }
        nn_progress_finish(&bar);
        hist->cd_error[e] = err / n;
        rbm_monitor(rbm, hist, e, train_rows, heldout_rows, m);
        if (e == 1 && after_epoch1) nn_rbm_reconstruct(rbm, after_epoch1, heldout_rows, SHOW);
        printf("   %5d  %10.2f  %13.2f  %15.2f  %11.2f  %13.2f\n", e, hist->cd_error[e],
               hist->train_recon[e], hist->heldout_recon[e], hist->train_free[e],
               hist->heldout_free[e]);
    }
    hist->seconds = nn_seconds() - t0;
    free(order), free(batch), free(train_rows);
}

static void print_rbm_header(void)
{
    printf("   epoch  CD-1 error  recon (train)  recon (held-out)  F (train)  F (held-out)\n");
}

/* ------------------------------------------------------------------------------------------ */
/* The deep belief net as a classifier: 784 -> H1 -> H2 -> 10, sigmoid hidden units, so that  */
/* each hidden layer computes exactly its RBM's p(h|v) when initialised from it.              */
/* ------------------------------------------------------------------------------------------ */

typedef struct dbn {
    nn_params ps;
    nn_linear_layer fc1, fc2, head;
} dbn;

static nn_tensor *dbn_forward(nn_graph *g, nn_tensor *x, void *ctx)
{
    const dbn *net = ctx;
    nn_tensor *h1 = nn_sigmoid(g, nn_linear(g, &net->fc1, x));  /* (B,H1) = p(h1|v)  */
    nn_tensor *h2 = nn_sigmoid(g, nn_linear(g, &net->fc2, h1)); /* (B,H2) = p(h2|h1) */
    return nn_linear(g, &net->head, h2);                        /* (B,10) logits     */
}

/* The same seed gives both networks the same head and the same random fc1/fc2; r1/r2 (NULL
 * for the random-init network) then overwrite fc1/fc2 with the RBMs' recognition weights. */
static void dbn_init(dbn *net, int h1, int h2, const nn_rbm *r1, const nn_rbm *r2,
                     uint64_t seed)
{
    nn_rng rng;
    nn_rng_seed(&rng, seed);
    nn_params_init(&net->ps);
    nn_linear_init(&net->fc1, &net->ps, "fc1", PIXELS, h1, 1, &rng);
    nn_linear_init(&net->fc2, &net->ps, "fc2", h1, h2, 1, &rng);
    nn_linear_init(&net->head, &net->ps, "head", h2, CLASSES, 1, &rng);
    if (r1) nn_rbm_to_linear(r1, &net->fc1);
    if (r2) nn_rbm_to_linear(r2, &net->fc2);
}

/* Supervised fine-tuning of every layer by backpropagation: softmax cross-entropy, SGD with
 * momentum 0.9 and a cosine learning rate from 0.1 down to 0 (the steps shrink as the run
 * ends, so the last epoch's accuracy is not a lucky or unlucky draw), the batch order drawn
 * from `seed`: both initialisations see the same batches in the same order. acc gets the test
 * accuracy before training and after every `every` epochs (epochs/every + 1 values); returns
 * the last epoch's mean training loss. */
static double finetune(dbn *net, const nn_data *train, const nn_data *test, int epochs,
                       int every, uint64_t seed, double *acc, nn_graph *g)
{
    nn_rng rng;
    nn_rng_seed(&rng, seed);
    nn_optim opt;
    nn_optim_init(&opt, NN_OPTIM_MOMENTUM, &net->ps, 0.1f);
    const int per_epoch = train->n / FT_BATCH;
    nn_schedule lr = {.kind = NN_SCHEDULE_COSINE, .base_lr = 0.1,
                      .total_steps = (long)epochs * per_epoch};
    int *order = nn_malloc((size_t)train->n * sizeof *order), yb[FT_BATCH];
    nn_real *xb = nn_malloc((size_t)FT_BATCH * PIXELS * sizeof *xb);
    acc[0] = nn_evaluate(g, dbn_forward, net, test, EVAL_BATCH, NULL).accuracy;
    double loss = 0;
    for (int e = 1; e <= epochs; e++) {
        nn_rng_permutation(&rng, order, train->n);
        loss = 0;
        for (int b = 0; b < per_epoch; b++) { /* a last partial batch is left out */
            nn_data_batch(train, order, b * FT_BATCH, FT_BATCH, xb, yb);
            nn_tensor *x = nn_graph_input(g, xb, 2, FT_BATCH, PIXELS);
            nn_tensor *l = nn_softmax_cross_entropy(g, dbn_forward(g, x, net), yb);
            nn_graph_check_finite(g, l, opt.step);
            loss += l->data[0];
            nn_params_zero_grad(&net->ps);
            nn_backward(g, l);
            opt.lr = nn_schedule_lr(&lr, opt.step);
            nn_optim_step(&opt);
            nn_graph_reset(g);
        }
        loss /= per_epoch;
        if (e % every == 0)
            acc[e / every] = nn_evaluate(g, dbn_forward, net, test, EVAL_BATCH, NULL).accuracy;
    }
    nn_optim_free(&opt);
    free(order), free(xb);
    return loss;
}

/* W2 W1 (H2, 784): each second-layer unit as the weighted sum of first-layer filters that
 * drives it -- a linear look through the sigmoid, good enough to see what it prefers */
static void plot_layer2_filters(const char *dir, const nn_rbm *r1, const nn_rbm *r2, int count)
{
    nn_real *proj = nn_malloc((size_t)count * PIXELS * sizeof *proj);
    nn_gemm(0, 0, count, PIXELS, r1->hidden, 1, r2->W, r2->visible, r1->W, PIXELS, 0, proj,
            PIXELS);
    nn_plot_images(dir, "rbm2_filters", "RBM-2 units seen through RBM-1: rows of W2 W1",
                   proj, count, 28, 28, SHOW, 1);
    free(proj);
}

int main(int argc, char **argv)
{
    const char *about =
        "Lesson 15: deep belief networks. An RBM trained with contrastive divergence on "
        "binarized Fashion-MNIST (filters, reconstructions, free energy, Gibbs samples), a "
        "second RBM stacked greedily on its features, and the stack fine-tuned as a sigmoid "
        "MLP against the same network from random initialisation, with 1000 and with all "
        "labels. --epochs sets the RBM epochs per layer.";
    nn_cli cli;
    nn_cli_parse(&cli, 15, about, argc, argv);
    nn_rng rng;
    nn_rng_seed(&rng, cli.seed);
    nn_report report;
    nn_report_init(&report, 15);
    double t_start = nn_seconds();

    const int rbm_epochs = nn_cli_epochs(&cli, 5, 3);
    if (rbm_epochs > MAX_EPOCHS) nn_fail("lesson 15: at most %d RBM epochs", MAX_EPOCHS);
    const int H1 = cli.quick ? 256 : 500, H2 = cli.quick ? 128 : 250;
    const int pool_n = cli.quick ? 8000 : 60000, test_n = cli.quick ? 1000 : 10000;
    const int few_n = 1000;
    const int all_epochs = cli.quick ? 2 : 5, few_epochs = cli.quick ? 15 : 40;
    const int gibbs_max = cli.quick ? 100 : 1000;

    /* ---- data: binarized images; the pre-training pool is used without its labels ---- */
    nn_data train_all, test_all, pool, test;
    nn_data_fmnist_load(&train_all, &test_all);
    nn_data_subset(&pool, &train_all, pool_n);
    nn_data_subset(&test, &test_all, test_n);
    nn_data_free(&train_all), nn_data_free(&test_all);
    binarize(&pool), binarize(&test);
    const int monitor = MONITOR < test.n ? MONITOR : test.n;
    double on = 0;
    for (size_t i = 0; i < (size_t)pool.n * PIXELS; i++) on += pool.x[i];
    printf("Binarized Fashion-MNIST: %d unlabelled images for pre-training, %d test; "
           "%.1f%% of the pixels are on\n", pool.n, test.n, 100 * on / ((double)pool.n * PIXELS));

    /* ---- 1. RBM-1: 784 visible pixels, H1 hidden units, CD-1 ---- */
    nn_rbm r1, r2;
    nn_rbm_init(&r1, PIXELS, H1, &rng);
    /* b = log-odds of each pixel: the untrained RBM already knows which pixels are usually on */
    nn_rbm_init_visible_bias(&r1, pool.x, pool.n);
    printf("\n1. RBM-1 %d-%d, CD-1, %d epochs of %d images (batch %d)\n", PIXELS, H1, rbm_epochs,
           pool.n, RBM_BATCH);
    print_rbm_header();
    nn_real *recon_show = nn_malloc((size_t)3 * SHOW * PIXELS * sizeof *recon_show);
    memcpy(recon_show, test.x, (size_t)SHOW * PIXELS * sizeof *recon_show); /* row 1: data */
    static rbm_history hist1, hist2;
    train_rbm(&r1, &hist1, pool.x, pool.n, rbm_epochs, test.x, monitor,
              recon_show + SHOW * PIXELS, &rng);
    nn_rbm_reconstruct(&r1, recon_show + 2 * SHOW * PIXELS, test.x, SHOW); /* row 3: final */
    printf("   %.1f s; free-energy gap F(held-out) - F(train) = %.2f nats\n", hist1.seconds,
           hist1.heldout_free[rbm_epochs] - hist1.train_free[rbm_epochs]);

    /* the figures of part 1 */
    double epoch_axis[MAX_EPOCHS + 1];
    for (int e = 0; e <= MAX_EPOCHS; e++) epoch_axis[e] = e;
    nn_plot_series recon_curves[3] = {
        {"CD-1 steps (sampled h)", epoch_axis + 1, hist1.cd_error + 1, rbm_epochs},
        {"training, mean-field", epoch_axis, hist1.train_recon, rbm_epochs + 1},
        {"held-out, mean-field", epoch_axis, hist1.heldout_recon, rbm_epochs + 1}};
    nn_plot_lines(cli.out, "rbm_recon_error",
                  "RBM-1: reconstruction error (squared, summed over 784 pixels)", "epoch",
                  "error per image", recon_curves, 3, 0);
    nn_plot_series free_curves[2] = {
        {"training images", epoch_axis, hist1.train_free, rbm_epochs + 1},
        {"held-out images", epoch_axis, hist1.heldout_free, rbm_epochs + 1}};
    nn_plot_lines(cli.out, "rbm_free_energy",
                  "RBM-1: mean free energy F(v) (lower = more probable)", "epoch",
                  "F(v) (nats, up to log Z)", free_curves, 2, 0);
    int nfilters = H1 < 100 ? H1 : 100;
    nn_plot_images(cli.out, "rbm_filters", "RBM-1 filters: rows of W (each scaled to its range)",
                   r1.W, nfilters, 28, 28, SHOW, 1);
    nn_plot_images(cli.out, "rbm_reconstructions",
                   "Held-out images (top), p(v|p(h|v)) after epoch 1 (middle) and at the end",
                   recon_show, 3 * SHOW, 28, 28, SHOW, 0);

    /* Fantasies: what the model believes images look like. Gibbs chains started at test
     * images (the ones shown above), photographed after 0, 1, 10, 100, ... steps. */
    nn_real *chain = nn_malloc((size_t)SHOW * PIXELS * sizeof *chain);
    int snaps = 0;
    for (int s = 1; s <= gibbs_max; s *= 10) snaps++;
    nn_real *gallery = nn_malloc((size_t)(snaps + 1) * SHOW * PIXELS * sizeof *gallery);
    memcpy(chain, test.x, (size_t)SHOW * PIXELS * sizeof *chain);
    memcpy(gallery, chain, (size_t)SHOW * PIXELS * sizeof *gallery);
    char gibbs_title[160];
    int done = 0;
    for (int k = 1, s = 1; s <= gibbs_max; s *= 10, k++) {
        nn_rbm_gibbs(&r1, chain, gallery + (size_t)k * SHOW * PIXELS, SHOW, s - done, &rng);
        done = s;
    }
    snprintf(gibbs_title, sizeof gibbs_title,
             "Gibbs chains from held-out images: p(v|h) after 0, 1, 10 ... %d steps (rows)",
             gibbs_max);
    nn_plot_images(cli.out, "gibbs_samples", gibbs_title, gallery, (snaps + 1) * SHOW, 28, 28,
                   SHOW, 0);

    /* ---- 2. RBM-2, greedy: its data are RBM-1's hidden probabilities, RBM-1 frozen ---- */
    nn_real *h1_pool = nn_malloc((size_t)pool.n * H1 * sizeof *h1_pool);
    nn_real *h1_test = nn_malloc((size_t)monitor * H1 * sizeof *h1_test);
    nn_rbm_hidden_probs(&r1, h1_pool, pool.x, pool.n);
    nn_rbm_hidden_probs(&r1, h1_test, test.x, monitor);
    nn_rbm_init(&r2, H1, H2, &rng);
    nn_rbm_init_visible_bias(&r2, h1_pool, pool.n);
    printf("\n2. RBM-2 %d-%d on RBM-1's p(h|v), CD-1, %d epochs\n", H1, H2, rbm_epochs);
    print_rbm_header();
    train_rbm(&r2, &hist2, h1_pool, pool.n, rbm_epochs, h1_test, monitor, NULL, &rng);
    printf("   %.1f s; free-energy gap F(held-out) - F(train) = %.2f nats\n", hist2.seconds,
           hist2.heldout_free[rbm_epochs] - hist2.train_free[rbm_epochs]);
    plot_layer2_filters(cli.out, &r1, &r2, H2 < 50 ? H2 : 50);
    nn_plot_series recon2[2] = {
        {"training features", epoch_axis, hist2.train_recon, rbm_epochs + 1},
        {"held-out features", epoch_axis, hist2.heldout_recon, rbm_epochs + 1}};
    nn_plot_lines(cli.out, "rbm2_recon_error",
                  "RBM-2 on RBM-1's features: reconstruction error per example", "epoch",
                  "error per example", recon2, 2, 0);
    free(h1_pool), free(h1_test);
    /* F itself drifts as log Z changes from epoch to epoch; the gap between two sets of
     * images at the same epoch is a log-likelihood ratio, log p(train) - log p(held-out) */
    double gap[2][MAX_EPOCHS + 1];
    for (int e = 0; e <= rbm_epochs; e++) {
        gap[0][e] = hist1.heldout_free[e] - hist1.train_free[e];
        gap[1][e] = hist2.heldout_free[e] - hist2.train_free[e];
    }
    nn_plot_series gap_curves[2] = {{"RBM-1 (images)", epoch_axis, gap[0], rbm_epochs + 1},
                                    {"RBM-2 (RBM-1 features)", epoch_axis, gap[1],
                                     rbm_epochs + 1}};
    nn_plot_lines(cli.out, "rbm_free_energy_gap",
                  "Overfitting monitor: mean F(held-out) - mean F(training)", "epoch",
                  "nats per example", gap_curves, 2, 0);

    /* ---- 3. fine-tuning: pre-trained stack vs the same network from random weights ----
     * Few labels: `draws` random sets of 1000 labelled images from the pool (the RBMs saw
     * every pool image, without labels: semi-supervised learning), the accuracies averaged.
     * All labels: the whole pool with its labels. */
    printf("\n3. Fine-tuning the sigmoid MLP %d-%d-%d-%d (SGD momentum 0.9, lr 0.1 cosine to 0, "
           "batch %d)\n", PIXELS, H1, H2, CLASSES, FT_BATCH);
    nn_graph *g = nn_graph_new();
    const int draws = cli.quick ? 1 : 3;
    const int epochs_of[2] = {few_epochs, all_epochs}, every[2] = {5, 1};
    const char *set_name[2] = {"few", "all"};
    /* acc[s][init][k]: test accuracy (mean over the draws) at epoch k * every[s] */
    double acc[2][2][MAX_EPOCHS + 1] = {{{0}}}, final_acc[2][2] = {{0}}, ft_seconds = 0;
    double draw_acc[2][8];
    nn_rng draw_rng;
    nn_rng_seed(&draw_rng, cli.seed + 3);
    for (int s = 0; s < 2; s++) {
        const int runs = s == 0 ? draws : 1, points = epochs_of[s] / every[s] + 1;
        for (int d = 0; d < runs; d++) {
            nn_data labelled;
            if (s == 0) pick_labelled(&labelled, &pool, few_n, &draw_rng);
            const nn_data *train = s == 0 ? &labelled : &pool;
            for (int init = 0; init < 2; init++) { /* 0: random, 1: pre-trained */
                dbn net;
                double curve[MAX_EPOCHS + 1], t0 = nn_seconds();
                dbn_init(&net, H1, H2, init ? &r1 : NULL, init ? &r2 : NULL, cli.seed + 1 + d);
                double loss = finetune(&net, train, &test, epochs_of[s], every[s],
                                       cli.seed + 100 + d, curve, g);
                ft_seconds += nn_seconds() - t0;
                for (int k = 0; k < points; k++) acc[s][init][k] += curve[k] / runs;
                draw_acc[init][d] = curve[points - 1];
                char what[32] = "";
                if (s == 0) snprintf(what, sizeof what, " (draw %d)", d + 1);
                printf("   %5d labels%s, %-11s init: test accuracy %.4f (before fine-tuning "
                       "%.4f), last epoch's train loss %.4f, %.1f s\n", train->n, what,
                       init ? "pre-trained" : "random", curve[points - 1], curve[0], loss,
                       nn_seconds() - t0);
                nn_params_free(&net.ps);
            }
            if (s == 0) nn_data_free(&labelled);
        }
        for (int init = 0; init < 2; init++) final_acc[s][init] = acc[s][init][points - 1];
        if (s == 0 && draws > 1) {
            double lo = 1, hi = -1; /* the gain of pre-training, draw by draw */
            for (int d = 0; d < draws; d++) {
                lo = fmin(lo, draw_acc[1][d] - draw_acc[0][d]);
                hi = fmax(hi, draw_acc[1][d] - draw_acc[0][d]);
            }
            printf("   %d labels: gain of pre-training %.4f on average, %.4f to %.4f over the "
                   "%d draws\n", few_n, final_acc[0][1] - final_acc[0][0], lo, hi, draws);
        }
    }
    for (int s = 0; s < 2; s++) {
        char name[64], title[160];
        int points = epochs_of[s] / every[s] + 1;
        double x[MAX_EPOCHS + 1];
        for (int k = 0; k < points; k++) x[k] = k * every[s];
        snprintf(name, sizeof name, "finetune_%s_labels", set_name[s]);
        if (s == 0 && draws > 1)
            snprintf(title, sizeof title, "Fine-tuning with %d labels: test accuracy (mean of %d "
                     "draws)", few_n, draws);
        else
            snprintf(title, sizeof title, "Fine-tuning with %d labels: test accuracy",
                     s == 0 ? few_n : pool.n);
        nn_plot_series curves[2] = {{"random init", x, acc[s][0], points},
                                    {"DBN pre-trained", x, acc[s][1], points}};
        nn_plot_lines(cli.out, name, title, "epoch", "test accuracy", curves, 2, 0);
    }
    double table[4] = {final_acc[0][0], final_acc[0][1], final_acc[1][0], final_acc[1][1]};
    char row0[32], row1[32];
    snprintf(row0, sizeof row0, "%d labels", few_n);
    snprintf(row1, sizeof row1, "%d labels", pool.n);
    const char *rows[2] = {row0, row1}, *cols[2] = {"random init", "pre-trained"};
    nn_plot_heatmap(cli.out, "accuracy_table", "Test accuracy of the sigmoid MLP after fine-tuning",
                    "initialisation", "", table, 2, 2, rows, cols, "%.3f");

    /* ---- results ---- */
    printf("\nResults (test accuracy on %d test images%s)\n", test.n,
           draws > 1 ? "; few labels: mean of the draws" : "");
    nn_metrics_print_table(stdout, rows, 2, cols, 2, table, (int[]){4, 4});
    printf("   %-44s %.2f -> %.2f\n", "RBM-1 held-out reconstruction error",
           hist1.heldout_recon[0], hist1.heldout_recon[rbm_epochs]);
    printf("   %-44s %.1f s + %.1f s\n", "pre-training (RBM-1 + RBM-2)", hist1.seconds,
           hist2.seconds);
    printf("   %-44s %.1f s\n", "fine-tuning (all runs)", ft_seconds);
    printf("   %-44s %.1f s\n", "whole lesson", nn_seconds() - t_start);
    printf("   figures: %s/\n", cli.out);

    nn_report_add(&report, "test_accuracy", final_acc[1][1]);
    nn_report_add(&report, "random_test_accuracy", final_acc[1][0]);
    nn_report_add(&report, "few_pretrained_accuracy", final_acc[0][1]);
    nn_report_add(&report, "few_random_accuracy", final_acc[0][0]);
    nn_report_add(&report, "few_gain", final_acc[0][1] - final_acc[0][0]);
    nn_report_add(&report, "rbm_recon_initial", hist1.heldout_recon[0]);
    nn_report_add(&report, "rbm_recon_final", hist1.heldout_recon[rbm_epochs]);
    nn_report_add(&report, "free_energy_gap",
                  hist1.heldout_free[rbm_epochs] - hist1.train_free[rbm_epochs]);
    nn_report_add(&report, "rbm2_recon_final", hist2.heldout_recon[rbm_epochs]);
    nn_report_add_timing(&report, "train_seconds", hist1.seconds + hist2.seconds + ft_seconds);
    nn_report_finish(&report, cli.out);

    free(chain), free(gallery), free(recon_show);
    nn_graph_free(g);
    nn_rbm_free(&r1), nn_rbm_free(&r2);
    nn_data_free(&pool), nn_data_free(&test);
    return 0;
}
