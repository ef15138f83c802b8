/* Lesson 08 -- recurrent networks: the vanilla RNN, the LSTM and the GRU, trained by
 * backpropagation through time.
 *
 * Concept: a recurrent net reads a sequence one element at a time and carries a state,
 *     h_t = f(x_t, h_{t-1}),
 * with the same weights at every step. Unrolled over T steps it is a T-layer deep net with
 * shared weights, and its gradient is a product of T Jacobians dh_t/dh_{t-1}: for the tanh RNN
 * these shrink the gradient at every step (it vanishes; or, with large weights, explodes), so
 * it cannot learn what happened more than a few steps back (Bengio, Simard & Frasconi 1994).
 * The LSTM (Hochreiter & Schmidhuber 1997) and the GRU (Cho et al. 2014) add a gated, additive
 * path, c_t = f c_{t-1} + i g, along which the gradient is multiplied by the gate f ~ 1
 * instead of by W and tanh', and so reaches far back.
 *
 * What you will see:
 *   1. the adding problem (Hochreiter & Schmidhuber 1997, experiment 4, in the form of Le et
 *      al. 2015 and Arjovsky et al. 2016): a sequence of T (value in [0,1], marker) pairs,
 *      exactly two marked, one in each half; the target is the sum of the two marked values.
 *      Predicting the mean 1 gives MSE 1/6 = 0.167. The three cells, the same batches,
 *      T = 10, 25, 50, 100: the RNN solves T = 10 and stays at the baseline from T = 25 on;
 *      the LSTM and the GRU go far below it at every length;
 *   2. the gradient that reaches each time step, ||dL/dh_t|| / ||dL/dh_T||: for the RNN it
 *      falls by orders of magnitude within 10-20 steps, for the LSTM it does not; and the
 *      global gradient norm during training with and without clipping;
 *   3. a character-level LSTM language model of the Debian fortunes (or --text FILE): its
 *      validation loss in bits per character against the unigram baseline, and text sampled
 *      at temperatures 0.5 and 1.0 (saved to samples.txt).
 *
 * Run:  make lesson08                   (full: 1500 Adam steps per adding run, T = 10, 25, 50,
 *                                        100, then 2400 language-model steps; 1.5-2.5 min
 *                                        on 2 shared cores)
 *       make lesson08 ARGS="--quick"    (T = 10 and 20, 300 steps; a 64-unit language model,
 *                                        120 steps; 3.5-5 s)
 *       flags: --seed N --epochs N --out DIR --kernels naive|blas --threads N --help
 *              --text FILE   train the language model on any UTF-8 text file instead
 *       --epochs N gives every adding-problem run N x 100 steps (default 15, quick 3).
 *
 * Expected (full, seed 42, measured): test MSE after 1500 steps, against the baseline 0.167:
 *       T =    10      25      50     100
 *   rnn    0.0033  0.2118  0.1703  0.1771     (solves T = 10 only)
 *   lstm   0.0002  0.0004  0.0004  0.0020     (T = 100 only after ~1300 steps)
 *   gru    0.0001  0.0002  0.0001  0.0002
 * The gradient reaching step 1 of 50 is 4e-14 of the last step's for the initial RNN, 6e-5
 * for the initial LSTM, 2e-31 for the trained RNN and 0.1 for the trained LSTM; clipping at
 * norm 1 changes little under Adam. Language model: 2.73 bits per character on validation
 * (unigram baseline 4.79); samples spell common words and keep the fortunes' layout.
 * Quick (seed 42): GRU 0.0014 at T = 20, LSTM 0.0019 and RNN 0.088 at T = 10, 3.60 bpc.
 * Reference points: Hochreiter & Schmidhuber 1997, Sec. 5.4 (the LSTM solves its version of
 * the adding problem for T = 100, 500 and 1000); Le, Jaitly & Hinton 2015, Fig. 2 (this
 * version at T = 150-400, baseline 0.1767 for their sampling: the tanh RNN does not get below
 * it, the LSTM does); Karpathy 2015, "The unreasonable effectiveness of recurrent neural
 * networks" (character LSTMs learn spelling, punctuation and layout).
 * Figures, samples.txt and metrics.json go to out/lesson08/.
 */
#include "nn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------------------------ */
/* The adding problem                                                                          */
/* ------------------------------------------------------------------------------------------ */

#define ADD_HIDDEN 32  /* 32 units per cell: plenty for the task, cheap on 2 cores */
#define ADD_BATCH 32
#define ADD_LR 1e-2    /* Adam, the same for every cell */
#define CLIP 1.0       /* max global gradient norm (Pascanu et al. 2013) */
#define CURVE_EVERY 25 /* one point of each MSE curve = the mean of 25 steps */
#define TEST_SEQS 512  /* a fixed test set per length, shared by the three cells */
#define EVAL_BATCH 128
#define MAX_LEN 100
#define KINDS 3

static const nn_rnn_kind kinds[KINDS] = {NN_RNN_TANH, NN_RNN_LSTM, NN_RNN_GRU};
static const int lengths_full[] = {10, 25, 50, 100}, lengths_quick[] = {10, 20};
#define GRAD_LEN_FULL 50 /* part 2 looks at this length */
#define GRAD_LEN_QUICK 20

/* every run draws its own numbers from a seed made of the lesson's seed and its place */
static uint64_t seed_for(uint64_t seed, int a, int b)
{
    return seed * 1000003u + (uint64_t)a * 1009u + (uint64_t)b;
}

/* B sequences of T (value, marker) pairs, time-major: x (T,B,2), y (B,1). One marker falls in
 * the first half, the other in the second (as in Arjovsky et al. 2016), so the net must carry
 * the first value for T/2 to T-1 steps, to the end of the sequence, and ignore every unmarked
 * value on the way. */
static void adding_batch(nn_real *x, nn_real *y, int T, int B, nn_rng *rng)
{
    for (int b = 0; b < B; b++) {
        int first = nn_rng_int(rng, T / 2), second = T / 2 + nn_rng_int(rng, T - T / 2);
        double sum = 0;
        for (int t = 0; t < T; t++) {
            nn_real *xt = x + ((size_t)t * B + b) * 2;
            xt[0] = (nn_real)nn_rng_uniform(rng);
            xt[1] = t == first || t == second;
            if (xt[1] != 0) sum += xt[0];
        }
        y[b] = (nn_real)sum;
    }
}

/* The model: one recurrent cell over the sequence, then a linear read-out of the last state:
 *     h_t = cell(x_t, h_{t-1}),  h_0 = 0;    yhat = w . h_T + b;    L = mean (yhat - y)^2 */
typedef struct adder {
    nn_params ps;
    nn_rnn_cell cell;
    nn_linear_layer out;
} adder;

static void adder_init(adder *m, nn_rnn_kind kind, uint64_t seed)
{
    nn_rng rng;
    nn_rng_seed(&rng, seed);
    nn_params_init(&m->ps);
    nn_rnn_cell_init(&m->cell, &m->ps, nn_rnn_kind_name(kind), kind, 2, ADD_HIDDEN, &rng);
    nn_linear_init(&m->out, &m->ps, "readout", ADD_HIDDEN, 1, 1, &rng);
}

/* the prediction (B,1) for x (T,B,2); hs[T] (or NULL) receives every h_t */
static nn_tensor *adder_forward(nn_graph *g, const adder *m, const nn_real *x, int T, int B,
                                nn_tensor **hs)
{
    nn_tensor *xs[MAX_LEN];
    for (int t = 0; t < T; t++) xs[t] = nn_graph_input(g, x + (size_t)t * B * 2, 2, B, 2);
    nn_rnn_state last = nn_rnn_forward(g, &m->cell, xs, T, hs, (nn_rnn_state){NULL, NULL});
    return nn_linear(g, &m->out, last.h);
}

/* MSE on the fixed test set, forward only */
static double adder_test(const adder *m, const nn_real *x, const nn_real *y, int T)
{
    nn_graph *g = nn_graph_new();
    g->grad = 0;
    nn_real *xb = nn_malloc((size_t)T * EVAL_BATCH * 2 * sizeof *xb);
    double se = 0;
    for (int start = 0; start < TEST_SEQS; start += EVAL_BATCH) {
        /* the test set is stored sequence by sequence, (TEST_SEQS, T, 2): gather time-major */
        for (int t = 0; t < T; t++)
            for (int b = 0; b < EVAL_BATCH; b++)
                memcpy(xb + ((size_t)t * EVAL_BATCH + b) * 2, x + ((size_t)(start + b) * T + t) * 2,
                       2 * sizeof *xb);
        nn_tensor *pred = adder_forward(g, m, xb, T, EVAL_BATCH, NULL);
        for (int b = 0; b < EVAL_BATCH; b++) {
            double d = pred->data[b] - y[start + b];
            se += d * d;
        }
        nn_graph_reset(g);
    }
    free(xb);
    nn_graph_free(g);
    return se / TEST_SEQS;
}

/* a test set of TEST_SEQS sequences, stored (TEST_SEQS, T, 2), the same for every cell */
static void adding_test_set(nn_real *x, nn_real *y, int T, uint64_t seed)
{
    nn_rng rng;
    nn_rng_seed(&rng, seed);
    nn_real *xb = nn_malloc((size_t)T * 2 * sizeof *xb);
    for (int i = 0; i < TEST_SEQS; i++) {
        adding_batch(xb, y + i, T, 1, &rng); /* batch of one: time-major = sequence order */
        memcpy(x + (size_t)i * T * 2, xb, (size_t)T * 2 * sizeof *xb);
    }
    free(xb);
}

/* The gradient that reaches each step: r_t = ||dL/dh_t|| / ||dL/dh_T|| over a batch of test
 * sequences (the Frobenius norm of the (B,H) gradient). nn_backward leaves dL/dh_t in
 * hs[t]->grad: it is the sum over every path from h_t to the loss, i.e. through h_{t+1},
 * h_{t+2}, ..., h_T, each step multiplying by the Jacobian dh_{s+1}/dh_s. */
static void grad_reach(adder *m, const nn_real *x, const nn_real *y, int T, double *reach)
{
    nn_graph *g = nn_graph_new();
    nn_real *xb = nn_malloc((size_t)T * EVAL_BATCH * 2 * sizeof *xb);
    for (int t = 0; t < T; t++)
        for (int b = 0; b < EVAL_BATCH; b++)
            memcpy(xb + ((size_t)t * EVAL_BATCH + b) * 2, x + ((size_t)b * T + t) * 2,
                   2 * sizeof *xb);
    nn_tensor *hs[MAX_LEN];
    nn_tensor *pred = adder_forward(g, m, xb, T, EVAL_BATCH, hs);
    nn_backward(g, nn_mse(g, pred, nn_graph_input(g, y, 2, EVAL_BATCH, 1)));
    double last = 0;
    for (int t = T - 1; t >= 0; t--) {
        double s = 0;
        for (size_t i = 0; i < hs[t]->numel; i++) s += (double)hs[t]->grad[i] * hs[t]->grad[i];
        if (t == T - 1) last = sqrt(s);
        reach[t] = last > 0 ? sqrt(s) / last : 0;
    }
    nn_params_zero_grad(&m->ps); /* the parameters' gradients of this probe are not for training */
    free(xb);
    nn_graph_free(g);
}

/* One training run: the MSE curve (the mean of each CURVE_EVERY steps) and the global gradient
 * norm before clipping (likewise), the steps that clipping shortened and the seconds taken.
 * clip <= 0: no clipping. */
typedef struct run {
    double *mse, *gnorm; /* (steps / CURVE_EVERY) */
    int points;
    long clipped;
    double test_mse, seconds;
} run;

static run adder_train(adder *m, int T, int steps, double clip, uint64_t data_seed,
                       const char *label)
{
    run r = {0};
    r.points = steps / CURVE_EVERY;
    r.mse = nn_calloc((size_t)r.points, sizeof *r.mse);
    r.gnorm = nn_calloc((size_t)r.points, sizeof *r.gnorm);
    nn_rng rng; /* the data stream: the same batches for every cell at this length */
    nn_rng_seed(&rng, data_seed);
    nn_optim opt;
    nn_optim_init(&opt, NN_OPTIM_ADAM, &m->ps, ADD_LR);
    nn_graph *g = nn_graph_new();
    nn_real *x = nn_malloc((size_t)T * ADD_BATCH * 2 * sizeof *x), y[ADD_BATCH];
    nn_progress bar;
    nn_progress_start(&bar, label, steps);
    double t0 = nn_seconds();
    for (int s = 0; s < steps; s++) {
        adding_batch(x, y, T, ADD_BATCH, &rng); /* fresh data every step: no overfitting */
        nn_tensor *pred = adder_forward(g, m, x, T, ADD_BATCH, NULL);
        nn_tensor *loss = nn_mse(g, pred, nn_graph_input(g, y, 2, ADD_BATCH, 1));
        nn_graph_check_finite(g, loss, s);
        nn_params_zero_grad(&m->ps);
        nn_backward(g, loss); /* backpropagation through time: the tape holds all T steps */
        double norm = clip > 0 ? nn_clip_grad_norm(&m->ps, clip) : nn_params_grad_norm(&m->ps);
        r.clipped += clip > 0 && norm > clip;
        nn_optim_step(&opt);
        if (s / CURVE_EVERY < r.points) {
            r.mse[s / CURVE_EVERY] += loss->data[0] / CURVE_EVERY;
            r.gnorm[s / CURVE_EVERY] += norm / CURVE_EVERY;
        }
        nn_graph_reset(g); /* the whole unrolled sequence is forgotten at once */
        if ((s & 31) == 31) nn_progress_update(&bar, s + 1, NULL);
    }
    nn_progress_finish(&bar);
    r.seconds = nn_seconds() - t0;
    free(x);
    nn_graph_free(g);
    nn_optim_free(&opt);
    return r;
}

static void run_free(run *r) { free(r->mse), free(r->gnorm); }

/* ------------------------------------------------------------------------------------------ */
/* A character-level language model                                                           */
/* ------------------------------------------------------------------------------------------ */

/* x_t (a character id) -> e_t = E[x_t] (an embedding) -> LSTM -> logits z_t = W h_t + b,
 * trained to predict x_{t+1}: L = mean over t and the batch of -log softmax(z_t)[x_{t+1}]
 * (nats); bits per character = L / ln 2. */
#define LM_EMBED 32
#define LM_LR 1e-2
#define LM_EVAL_STREAMS 32

/* Small batches of short windows: on 2 cores the time goes into the elementwise gate math as
 * much as into the matrix products, so many cheap updates learn fastest in a fixed time
 * (measured: batch 16 reaches a given loss sooner than 32 or 8, and window 64 learns no
 * faster than 32 in this budget). */
typedef struct lm_config {
    int hidden, window, batch, steps, eval_every, eval_chars, sample_chars;
} lm_config;
static const lm_config lm_full = {128, 32, 16, 2400, 200, 16384, 600};
static const lm_config lm_quick = {64, 32, 16, 120, 40, 2048, 200};

typedef struct charlm {
    nn_params ps;
    nn_embedding_layer embed;
    nn_rnn_cell cell;
    nn_linear_layer out;
} charlm;

/* mean cross-entropy (nats) of predicting y from x over a window, x and y (T,B) time-major;
 * state: in, the state to start from; out, the state after the window */
static nn_tensor *lm_loss(nn_graph *g, const charlm *m, const int *x, const int *y, int T,
                          int B, nn_rnn_state *state)
{
    nn_tensor *total = NULL;
    for (int t = 0; t < T; t++) {
        nn_tensor *e = nn_embedding(g, &m->embed, x + (size_t)t * B, B); /* (B,E) */
        *state = nn_rnn_cell_step(g, &m->cell, e, *state);                /* (B,H) */
        nn_tensor *logits = nn_linear(g, &m->out, state->h);              /* (B,V) */
        nn_tensor *l = nn_softmax_cross_entropy(g, logits, y + (size_t)t * B);
        total = total ? nn_add(g, total, l) : l;
    }
    return nn_scale(g, total, (nn_real)(1.0 / T));
}

/* Validation bits per character over `chars` characters of the validation text, read as
 * LM_EVAL_STREAMS streams side by side that start at evenly spaced places (so they sample the
 * whole text, not only its first file), window after window, each window starting from the
 * state the last one ended in: every character is predicted with all the context before it
 * in its stream. Forward only. */
static double lm_val_bpc(const charlm *m, const nn_text *text, int chars, int window)
{
    const int B = LM_EVAL_STREAMS, H = m->cell.hidden;
    const long spacing = (text->nval - 1) / B; /* stream b reads from b * spacing on */
    long per_stream = (long)chars / B;
    if (per_stream > spacing) per_stream = spacing;
    if (per_stream < 1) nn_fail("lesson08: the validation text of %s is too short", text->source);
    nn_graph *g = nn_graph_new();
    g->grad = 0;
    int *x = nn_malloc((size_t)window * B * sizeof *x), *y = nn_malloc((size_t)window * B * sizeof *y);
    nn_real *hbuf = nn_calloc((size_t)B * H, sizeof *hbuf), *cbuf = nn_calloc((size_t)B * H, sizeof *cbuf);
    double nats = 0;
    long count = 0;
    for (long at = 0; at < per_stream; at += window) {
        int T = (int)(per_stream - at < window ? per_stream - at : window);
        for (int t = 0; t < T; t++)
            for (int b = 0; b < B; b++) {
                long i = (long)b * spacing + at + t;
                x[(size_t)t * B + b] = text->val[i];
                y[(size_t)t * B + b] = text->val[i + 1];
            }
        /* carry the state over the window boundary: copy it out of the arena, then reset */
        nn_rnn_state s = {nn_graph_input(g, hbuf, 2, B, H), nn_graph_input(g, cbuf, 2, B, H)};
        nn_tensor *loss = lm_loss(g, m, x, y, T, B, &s);
        nats += loss->data[0] * T * B;
        count += (long)T * B;
        memcpy(hbuf, s.h->data, (size_t)B * H * sizeof *hbuf);
        memcpy(cbuf, s.c->data, (size_t)B * H * sizeof *cbuf);
        nn_graph_reset(g);
    }
    free(x), free(y), free(hbuf), free(cbuf);
    nn_graph_free(g);
    return nats / count / log(2.0);
}

/* Sampling: feed the prime, then repeatedly draw the next character from
 *     p_i = exp(z_i / tau) / sum_j exp(z_j / tau)
 * and feed it back. tau < 1 sharpens the distribution (safer, more repetitive text), tau = 1
 * samples the model as it is, tau > 1 flattens it (more surprising, more misspelt). */
static void lm_sample(const charlm *m, const nn_text *text, double tau, int n, nn_rng *rng,
                      int *out)
{
    nn_graph *g = nn_graph_new();
    g->grad = 0; /* B = 1 and nothing recorded: n steps fit in the arena without a reset */
    int prime[2] = {nn_text_id(text, '%'), nn_text_id(text, '\n')}, np = 0, cur = 0;
    if (prime[0] >= 0 && prime[1] >= 0) np = 2; /* a fortune starts after "%\n" */
    else if (prime[1] >= 0) prime[0] = prime[1], np = 1;
    else prime[0] = text->train[0], np = 1;
    nn_rnn_state s = {NULL, NULL};
    for (int i = 0; i < np + n - 1; i++) {
        cur = i < np ? prime[i] : out[i - np];
        s = nn_rnn_cell_step(g, &m->cell, nn_embedding(g, &m->embed, &cur, 1), s);
        if (i < np - 1) continue;
        nn_tensor *z = nn_linear(g, &m->out, s.h);
        out[i - np + 1] = nn_rng_sample_logits(rng, z->data, text->vocab, tau, 0);
    }
    nn_graph_free(g);
}

/* ------------------------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    const char *about =
        "Lesson 08: recurrent networks. The tanh RNN, the LSTM and the GRU on the adding "
        "problem (the RNN stays at the 0.167 baseline once the sequences are long, the gated "
        "cells do not); the gradient reaching each time step; a character-level LSTM language "
        "model of the Debian fortunes with samples. --text FILE trains the language model on "
        "any UTF-8 text file instead of the fortunes.";
    nn_cli cli;
    nn_cli_parse_file(&cli, 8, about, "--text", argc, argv);
    nn_report report;
    nn_report_init(&report, 8);
    const int steps = 100 * nn_cli_epochs(&cli, 15, 3);
    const int *lengths = cli.quick ? lengths_quick : lengths_full;
    const int nlen = cli.quick ? 2 : 4, grad_len = cli.quick ? GRAD_LEN_QUICK : GRAD_LEN_FULL;
    const lm_config lmc = cli.quick ? lm_quick : lm_full;
    double train_seconds = 0;

    /* the language model's text first: a missing corpus should stop the lesson at once */
    nn_text text;
    if (cli.file[0]) nn_text_load_file(&text, cli.file, 0.1);
    else nn_text_load_fortunes(&text, NULL, 0.1);

    /* --- 1. The adding problem --------------------------------------------------------------- */
    printf("1. The adding problem: %d steps of Adam (lr %g, batch %d, clip %g), %d hidden units\n",
           steps, ADD_LR, ADD_BATCH, CLIP, ADD_HIDDEN);
    double *axis = nn_malloc((size_t)(steps / CURVE_EVERY) * sizeof *axis);
    for (int i = 0; i < steps / CURVE_EVERY; i++) axis[i] = (i + 1) * CURVE_EVERY;
    nn_real *test_x = nn_malloc((size_t)TEST_SEQS * MAX_LEN * 2 * sizeof *test_x);
    nn_real *test_y = nn_malloc(TEST_SEQS * sizeof *test_y);
    double test_mse[KINDS][4], baseline_mse = 0, len_axis[4];
    run grad_runs[2] = {{0}};      /* part 2 reuses the clipped RNN and LSTM runs at grad_len */
    adder grad_models[2];
    double reach_init[2][MAX_LEN]; /* the gradient reaching each step before training */
    printf("   %6s  %-5s %10s %9s %8s\n", "length", "cell", "test MSE", "clipped", "seconds");
    for (int l = 0; l < nlen; l++) {
        const int T = lengths[l];
        len_axis[l] = T;
        adding_test_set(test_x, test_y, T, seed_for(cli.seed, 98, T));
        /* the trivial predictor: always the mean of the sum, E[u1 + u2] = 1; its MSE is
         * Var(u1 + u2) = 2/12 = 1/6 */
        double base = 0;
        for (int i = 0; i < TEST_SEQS; i++) base += (test_y[i] - 1.0) * (test_y[i] - 1.0);
        base /= TEST_SEQS;
        if (T == grad_len) baseline_mse = base;
        nn_plot_series curves[KINDS + 1];
        char labels[KINDS][48];
        run runs[KINDS];
        for (int k = 0; k < KINDS; k++) {
            adder m;
            adder_init(&m, kinds[k], seed_for(cli.seed, k, T));
            int keep = T == grad_len && kinds[k] != NN_RNN_GRU; /* RNN and LSTM for part 2 */
            int which = kinds[k] == NN_RNN_LSTM;
            if (keep) grad_reach(&m, test_x, test_y, T, reach_init[which]);
            char label[32];
            snprintf(label, sizeof label, "%s T=%d", nn_rnn_kind_name(kinds[k]), T);
            runs[k] = adder_train(&m, T, steps, CLIP, seed_for(cli.seed, 99, T), label);
            test_mse[k][l] = adder_test(&m, test_x, test_y, T);
            train_seconds += runs[k].seconds;
            printf("   %6d  %-5s %10.4f %9ld %8.1f\n", T, nn_rnn_kind_name(kinds[k]),
                   test_mse[k][l], runs[k].clipped, runs[k].seconds);
            snprintf(labels[k], sizeof labels[k], "%s (test %.2g)", nn_rnn_kind_name(kinds[k]),
                     test_mse[k][l]);
            curves[k] = (nn_plot_series){labels[k], axis, runs[k].mse, runs[k].points};
            if (keep) grad_runs[which] = runs[k], grad_models[which] = m;
            else nn_params_free(&m.ps);
        }
        double base_y[2] = {1.0 / 6, 1.0 / 6}, base_x[2] = {axis[0], axis[steps / CURVE_EVERY - 1]};
        curves[KINDS] = (nn_plot_series){"predict 1: MSE 1/6", base_x, base_y, 2};
        char name[32], title[128];
        snprintf(name, sizeof name, "adding_mse_len%d", T);
        snprintf(title, sizeof title, "The adding problem, T = %d: training MSE (mean of %d steps)",
                 T, CURVE_EVERY);
        nn_plot_lines(cli.out, name, title, "training step", "MSE (log scale)", curves, KINDS + 1, 1);
        for (int k = 0; k < KINDS; k++)
            if (!(T == grad_len && kinds[k] != NN_RNN_GRU)) run_free(&runs[k]);
    }
    printf("   predicting the mean 1 (the trivial baseline): test MSE %.4f (1/6 = 0.1667)\n",
           baseline_mse);
    {
        nn_plot_series s[KINDS + 1];
        double base_y[2] = {1.0 / 6, 1.0 / 6}, base_x[2] = {len_axis[0], len_axis[nlen - 1]};
        for (int k = 0; k < KINDS; k++)
            s[k] = (nn_plot_series){nn_rnn_kind_name(kinds[k]), len_axis, test_mse[k], nlen};
        s[KINDS] = (nn_plot_series){"predict 1: MSE 1/6", base_x, base_y, 2};
        nn_plot_lines(cli.out, "adding_mse_vs_length",
                      "The adding problem: test MSE after training, by sequence length",
                      "sequence length T", "test MSE (log scale)", s, KINDS + 1, 1);
    }

    /* --- 2. The gradient through time, with and without clipping ------------------------------ */
    /* The same RNN and LSTM at length grad_len, from the same initial weights and on the same
     * batches as in part 1, trained once more without clipping. */
    printf("\n2. The gradient reaching each time step, T = %d\n", grad_len);
    int grad_index = 0; /* where grad_len is among the lengths of part 1 */
    while (lengths[grad_index] != grad_len) grad_index++;
    adding_test_set(test_x, test_y, grad_len, seed_for(cli.seed, 98, grad_len));
    double reach[4][MAX_LEN], noclip_mse[2];
    run noclip[2];
    for (int w = 0; w < 2; w++) { /* 0: RNN, 1: LSTM */
        nn_rnn_kind kind = w ? NN_RNN_LSTM : NN_RNN_TANH;
        int k = w; /* kinds[0] = RNN, kinds[1] = LSTM */
        grad_reach(&grad_models[w], test_x, test_y, grad_len, reach[2 * w]);
        adder m;
        adder_init(&m, kind, seed_for(cli.seed, k, grad_len));
        char label[32];
        snprintf(label, sizeof label, "%s no clip", nn_rnn_kind_name(kind));
        noclip[w] = adder_train(&m, grad_len, steps, 0, seed_for(cli.seed, 99, grad_len), label);
        train_seconds += noclip[w].seconds;
        noclip_mse[w] = adder_test(&m, test_x, test_y, grad_len);
        grad_reach(&m, test_x, test_y, grad_len, reach[2 * w + 1]);
        nn_params_free(&m.ps);
        nn_params_free(&grad_models[w].ps);
    }
    double steps_back[MAX_LEN]; /* x axis: t = 1 .. T */
    for (int t = 0; t < grad_len; t++) steps_back[t] = t + 1;
    printf("   ||dL/dh_t|| / ||dL/dh_T||   at t = 1     t = T/2    (T = %d)\n", grad_len);
    const char *names[6] = {"rnn, initial", "rnn, trained (clip)", "rnn, trained (no clip)",
                            "lstm, initial", "lstm, trained (clip)", "lstm, trained (no clip)"};
    const double *profiles[6] = {reach_init[0], reach[0], reach[1], reach_init[1], reach[2], reach[3]};
    nn_plot_series rs[6];
    for (int i = 0; i < 6; i++) {
        printf("   %-25s %10.2e %10.2e\n", names[i], profiles[i][0], profiles[i][grad_len / 2]);
        rs[i] = (nn_plot_series){names[i], steps_back, profiles[i], grad_len};
    }
    char title[160];
    snprintf(title, sizeof title, "Gradient reaching step t, ||dL/dh_t|| / ||dL/dh_T||, T = %d",
             grad_len);
    nn_plot_lines(cli.out, "grad_reach", title, "time step t", "relative gradient norm (log scale)",
                  rs, 6, 1);
    printf("   %-8s %14s %14s %16s %14s\n", "cell", "MSE clip", "MSE no clip", "steps clipped",
           "max ||g||");
    nn_plot_series gs[5];
    char glabels[4][48];
    for (int w = 0; w < 2; w++) {
        double gmax = 0;
        for (int i = 0; i < noclip[w].points; i++) gmax = fmax(gmax, noclip[w].gnorm[i]);
        for (int i = 0; i < grad_runs[w].points; i++) gmax = fmax(gmax, grad_runs[w].gnorm[i]);
        printf("   %-8s %14.4f %14.4f %10ld/%-5d %14.3g\n", w ? "lstm" : "rnn",
               test_mse[w][grad_index], noclip_mse[w], grad_runs[w].clipped, steps, gmax);
        snprintf(glabels[2 * w], sizeof glabels[0], "%s, clipped at %g", w ? "lstm" : "rnn", CLIP);
        snprintf(glabels[2 * w + 1], sizeof glabels[0], "%s, no clipping", w ? "lstm" : "rnn");
        gs[2 * w] = (nn_plot_series){glabels[2 * w], axis, grad_runs[w].gnorm, grad_runs[w].points};
        gs[2 * w + 1] = (nn_plot_series){glabels[2 * w + 1], axis, noclip[w].gnorm, noclip[w].points};
    }
    double clip_y[2] = {CLIP, CLIP}, clip_x[2] = {axis[0], axis[steps / CURVE_EVERY - 1]};
    gs[4] = (nn_plot_series){"clipping threshold", clip_x, clip_y, 2};
    snprintf(title, sizeof title, "Global gradient norm before clipping (mean of %d steps), T = %d",
             CURVE_EVERY, grad_len);
    nn_plot_lines(cli.out, "grad_norm", title, "training step", "||g|| (log scale)", gs, 5, 1);

    /* --- 3. A character-level language model ------------------------------------------------- */
    printf("\n3. Character-level LSTM language model of %s\n", text.source);
    if (text.records)
        printf("   %d files, %d fortunes; ", text.files, text.records);
    else
        printf("   ");
    printf("%d distinct characters; %ld training, %ld validation characters\n", text.vocab,
           text.ntrain, text.nval);
    charlm lm;
    nn_rng rng;
    nn_rng_seed(&rng, seed_for(cli.seed, 7, 0));
    nn_params_init(&lm.ps);
    nn_embedding_init(&lm.embed, &lm.ps, "embed", text.vocab, LM_EMBED, &rng);
    nn_rnn_cell_init(&lm.cell, &lm.ps, "lstm", NN_RNN_LSTM, LM_EMBED, lmc.hidden, &rng);
    nn_linear_init(&lm.out, &lm.ps, "logits", lmc.hidden, text.vocab, 1, &rng);
    double uni = nn_text_unigram_bpc(&text);
    printf("   embedding %d, LSTM %d, window %d, batch %d, Adam lr %g, %d steps; %zu parameters\n",
           LM_EMBED, lmc.hidden, lmc.window, lmc.batch, LM_LR, lmc.steps, lm.ps.count);
    printf("   %6s %12s %12s\n", "step", "train bpc", "val bpc");
    nn_optim opt;
    nn_optim_init(&opt, NN_OPTIM_ADAM, &lm.ps, LM_LR);
    nn_graph *g = nn_graph_new();
    int *x = nn_malloc((size_t)lmc.window * lmc.batch * sizeof *x);
    int *y = nn_malloc((size_t)lmc.window * lmc.batch * sizeof *y);
    int npts = lmc.steps / lmc.eval_every;
    double *lm_axis = nn_malloc((size_t)npts * sizeof *lm_axis);
    double *train_bpc = nn_calloc((size_t)npts, sizeof *train_bpc);
    double *val_bpc = nn_malloc((size_t)npts * sizeof *val_bpc);
    nn_progress bar;
    nn_progress_start(&bar, "language model", lmc.steps);
    double lm_seconds = 0;
    for (int s = 0; s < lmc.steps; s++) {
        double t0 = nn_seconds();
        nn_text_windows(&text, 0, x, y, lmc.batch, lmc.window, &rng);
        nn_rnn_state state = {NULL, NULL}; /* each random window starts from the zero state */
        nn_tensor *loss = lm_loss(g, &lm, x, y, lmc.window, lmc.batch, &state);
        nn_graph_check_finite(g, loss, s);
        nn_params_zero_grad(&lm.ps);
        nn_backward(g, loss);
        nn_clip_grad_norm(&lm.ps, CLIP);
        nn_optim_step(&opt);
        train_bpc[s / lmc.eval_every] += loss->data[0] / log(2.0) / lmc.eval_every;
        nn_graph_reset(g);
        lm_seconds += nn_seconds() - t0;
        nn_progress_update(&bar, s + 1, NULL);
        if ((s + 1) % lmc.eval_every == 0) {
            int p = s / lmc.eval_every;
            lm_axis[p] = s + 1;
            val_bpc[p] = lm_val_bpc(&lm, &text, lmc.eval_chars, lmc.window);
            if (p == 0 || (p + 1) % 2 == 0 || p == npts - 1)
                printf("   %6d %12.3f %12.3f\n", s + 1, train_bpc[p], val_bpc[p]);
        }
    }
    nn_progress_finish(&bar);
    train_seconds += lm_seconds;
    double final_bpc = val_bpc[npts - 1];
    printf("   unigram baseline (character frequencies only): %.3f bits per character\n", uni);
    {
        double uy[2] = {uni, uni}, ux[2] = {lm_axis[0], lm_axis[npts - 1]};
        nn_plot_series s[3] = {{"train (mean since the last point)", lm_axis, train_bpc, npts},
                               {"validation", lm_axis, val_bpc, npts},
                               {"unigram baseline", ux, uy, 2}};
        nn_plot_lines(cli.out, "lm_bpc", "Character-level LSTM: bits per character", "training step",
                      "bits per character", s, 3, 0);
    }

    /* samples at two temperatures, printed and saved */
    char path[600];
    snprintf(path, sizeof path, "%s/samples.txt", cli.out);
    FILE *f = fopen(path, "w");
    if (!f) nn_fail("lesson08: cannot write %s", path);
    int *sample = nn_malloc((size_t)lmc.sample_chars * sizeof *sample);
    const double taus[2] = {0.5, 1.0};
    for (int i = 0; i < 2; i++) {
        lm_sample(&lm, &text, taus[i], lmc.sample_chars, &rng, sample);
        printf("\n   --- sample, temperature %.1f ---\n", taus[i]);
        nn_text_write(stdout, &text, sample, lmc.sample_chars);
        fprintf(f, "--- sample, temperature %.1f, after %d steps (val %.3f bpc) ---\n", taus[i],
                lmc.steps, final_bpc);
        nn_text_write(f, &text, sample, lmc.sample_chars);
        fprintf(f, "\n\n");
    }
    printf("\n");
    if (ferror(f) | fclose(f)) nn_fail("lesson08: write to %s failed", path);

    /* --- Results --------------------------------------------------------------------------- */
    printf("\nResults\n");
    for (int l = 0; l < nlen; l++)
        printf("   adding T=%-4d test MSE   rnn %.4f   lstm %.4f   gru %.4f   (baseline 0.167)\n",
               lengths[l], test_mse[0][l], test_mse[1][l], test_mse[2][l]);
    printf("   gradient reaching t=1 of %d (initial): rnn %.2e, lstm %.2e\n", grad_len,
           reach_init[0][0], reach_init[1][0]);
    printf("   language model: validation %.3f bits/char (unigram %.3f)\n", final_bpc, uni);
    printf("   training time %.1f s; figures and samples.txt: %s/\n", train_seconds, cli.out);

    nn_report_add(&report, "baseline_mse", baseline_mse);
    for (int l = 0; l < nlen; l++)
        for (int k = 0; k < KINDS; k++) {
            char key[40];
            snprintf(key, sizeof key, "%s_mse_len%d", nn_rnn_kind_name(kinds[k]), lengths[l]);
            nn_report_add(&report, key, test_mse[k][l]);
        }
    char key[40];
    snprintf(key, sizeof key, "rnn_noclip_mse_len%d", grad_len);
    nn_report_add(&report, key, noclip_mse[0]);
    snprintf(key, sizeof key, "lstm_noclip_mse_len%d", grad_len);
    nn_report_add(&report, key, noclip_mse[1]);
    nn_report_add(&report, "rnn_grad_reach_t1", reach_init[0][0]);
    nn_report_add(&report, "lstm_grad_reach_t1", reach_init[1][0]);
    nn_report_add(&report, "unigram_bpc", uni);
    nn_report_add(&report, "val_bpc", final_bpc);
    nn_report_add_timing(&report, "train_seconds", train_seconds);
    nn_report_finish(&report, cli.out);

    for (int w = 0; w < 2; w++) run_free(&grad_runs[w]), run_free(&noclip[w]);
    free(sample), free(x), free(y), free(lm_axis), free(train_bpc), free(val_bpc);
    nn_graph_free(g);
    nn_optim_free(&opt);
    nn_params_free(&lm.ps);
    free(test_x), free(test_y), free(axis);
    nn_text_free(&text);
    return 0;
}
