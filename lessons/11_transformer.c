/* Lesson 11 -- the Transformer: attention is all you need (Vaswani et al. 2017), as a small
 * decoder-only, GPT-style character model (Radford et al. 2018, 2019).
 *
 * Concept: instead of carrying a state from step to step like the LSTM of lesson 08, every
 * position looks at every earlier position directly. Position i asks a question (a query q_i),
 * every position j offers a label (a key k_j) and a content (a value v_j); the answer is the
 * values averaged with weights that say how well each key matches the query:
 *     Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k)) V,
 * with the future masked out (a causal mask) so that a language model cannot read the next
 * character. Several heads do this side by side on slices of the width; a Transformer block
 * adds a per-position MLP, residual connections and LayerNorm; positional encodings tell the
 * otherwise order-blind attention where each character sits.
 *
 * What you will see:
 *   1. attention computed from the formula with plain loops on a 5-token example, its
 *      attention matrix printed with and without the causal mask, and the library's op
 *      (nn_attention, one GEMM per product) agreeing with it;
 *   2. multi-head attention = single-head attention on column slices, side by side;
 *   3. a GPT of 2 blocks (d_model 64, 4 heads, context 64; 118k parameters) trained as a
 *      character model of the Debian fortunes (or --text FILE) next to the LSTM of lesson 08
 *      at a similar parameter count, on the same batches for the same number of steps:
 *      validation bits per character against steps, the attention of every head on one
 *      validation text as heat maps, the proof on the trained model that the causal mask
 *      hides the future, and generated text (samples.txt) at two temperatures and top-k.
 *
 * Run:  make lesson11                   (full: 1500 steps of each model, batch 16 x 64
 *                                        characters; 2 min measured on 2 shared cores, 4.7
 *                                        min when they were heavily loaded)
 *       make lesson11 ARGS="--quick"    (a 1-block GPT of width 32 and a 48-unit LSTM, 100
 *                                        steps each; 2-3 s)
 *       flags: --seed N --epochs N --out DIR --kernels naive|blas --threads N --help
 *              --text FILE   train on any UTF-8 text file instead of the fortunes
 *       --epochs N trains both models for N x 100 steps (default 15, quick 1).
 *
 * Expected (full, seed 42, measured): validation 2.829 bits per character for the GPT
 * (117737 parameters) and 2.828 for the LSTM (99849), unigram baseline 4.786: a tie at this
 * size and budget. The LSTM learns faster at first (3.12 against 3.41 bpc at step 400); the
 * GPT catches up and is still falling faster at the end. One head of block 1 becomes a
 * "previous character" head (it looks back 1.0 character on average), block 2's heads look
 * 10-14 characters back. Changing a character moves the trained model's earlier predictions
 * by exactly 0. Samples spell common words and keep the fortunes' layout ("%" records,
 * tab-indented "-- Author" lines). Quick (seed 42): GPT 3.99, LSTM 3.94 bpc.
 * Reference points: Vaswani et al. 2017 (the architecture; sinusoidal positions); Radford et
 * al. 2019 (GPT-2: pre-norm blocks, learned positions); Karpathy's char-level nanoGPT on
 * Shakespeare (10.7M parameters, val loss 1.47 nats = 2.1 bpc after ~5000 steps on a GPU).
 * Figures, samples.txt and metrics.json go to out/lesson11/.
 */
#include "nn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------------------------ */
/* 1-2. Attention from the formula                                                             */
/* ------------------------------------------------------------------------------------------ */

/* One head, one sequence, written exactly as the formula reads. q, k, v, out are (T, dk)
 * blocks with row stride ld (so a head's columns of a wider matrix can be passed); P (T,T)
 * receives the attention weights.
 *     S[i][j] = q_i . k_j / sqrt(dk)                      how well key j answers query i
 *     S[i][j] = -inf for j > i  (causal)                  the future is invisible
 *     P[i][j] = exp(S[i][j]) / sum_l exp(S[i][l])         each row a probability distribution
 *     out_i   = sum_j P[i][j] v_j                         a weighted mean of the values */
static void attention_by_hand(double *out, double *P, const double *q, const double *k,
                              const double *v, int T, int dk, int ld, int causal)
{
    for (int i = 0; i < T; i++) {
        double *p = P + (size_t)i * T, smax = -INFINITY, sum = 0;
        for (int j = 0; j < T; j++) {
            double s = 0;
            for (int c = 0; c < dk; c++) s += q[i * ld + c] * k[j * ld + c];
            p[j] = causal && j > i ? -INFINITY : s / sqrt((double)dk);
            smax = fmax(smax, p[j]);
        }
        for (int j = 0; j < T; j++) sum += p[j] = exp(p[j] - smax); /* exp(-inf) = 0 */
        for (int j = 0; j < T; j++) p[j] /= sum;
        for (int c = 0; c < dk; c++) {
            double o = 0;
            for (int j = 0; j < T; j++) o += p[j] * v[j * ld + c];
            out[i * ld + c] = o;
        }
    }
}

static void print_matrix(const char *title, const double *P, int T, const char *labels)
{
    printf("   %s\n        ", title);
    for (int j = 0; j < T; j++) printf("   %c  ", labels[j]);
    printf("\n");
    for (int i = 0; i < T; i++) {
        printf("     %c ", labels[i]);
        for (int j = 0; j < T; j++) printf(" %5.3f", P[i * T + j]);
        printf("\n");
    }
}

/* The 5-token example of part 1 (one head of width 4, then two heads of width 4 in D = 8):
 * random queries, keys and values; the hand-written loops against nn_attention. Returns the
 * largest difference between the two. */
static double attention_demo(nn_rng *rng)
{
    enum { T = 5, D = 8 };
    const char *tokens = "hello";
    double q[T * D], k[T * D], v[T * D], out[T * D], P[T * T];
    for (int i = 0; i < T * D; i++) {
        q[i] = 1.5 * nn_rng_normal(rng);
        k[i] = 1.5 * nn_rng_normal(rng);
        v[i] = nn_rng_normal(rng);
    }
    nn_graph *g = nn_graph_new();
    g->grad = 0;
    nn_real qf[T * D], kf[T * D], vf[T * D];
    for (int i = 0; i < T * D; i++) qf[i] = (nn_real)q[i], kf[i] = (nn_real)k[i], vf[i] = (nn_real)v[i];
    nn_tensor *Q = nn_graph_input(g, qf, 3, 1, T, D), *K = nn_graph_input(g, kf, 3, 1, T, D);
    nn_tensor *V = nn_graph_input(g, vf, 3, 1, T, D);
    double worst = 0;
    /* 1. one head of width 4: the first 4 columns, cut out as (1, T, 4) */
    for (int causal = 0; causal < 2; causal++) {
        attention_by_hand(out, P, q, k, v, T, 4, D, causal);
        print_matrix(causal ? "attention weights P, causal mask (row i = query i)"
                            : "attention weights P = softmax(Q K^T / sqrt(4)), no mask",
                     P, T, tokens);
        nn_tensor *y = nn_attention(g, nn_slice(g, Q, 2, 0, 4), nn_slice(g, K, 2, 0, 4),
                                    nn_slice(g, V, 2, 0, 4), 1, causal);
        const nn_real *Pl = nn_attention_probs(y);
        for (int i = 0; i < T; i++)
            for (int c = 0; c < 4; c++) worst = fmax(worst, fabs(y->data[i * 4 + c] - out[i * D + c]));
        for (int i = 0; i < T * T; i++) worst = fmax(worst, fabs(Pl[i] - P[i]));
    }
    /* 2. two heads in D = 8: head h is the formula on columns [4h, 4h+4), the two results side
     * by side; the op does both in one call */
    printf("2. Multi-head: two heads of width 4 in D = 8, each on its own 4 columns\n");
    for (int h = 0; h < 2; h++) attention_by_hand(out + 4 * h, P, q + 4 * h, k + 4 * h, v + 4 * h, T, 4, D, 1);
    nn_tensor *y = nn_attention(g, Q, K, V, 2, 1);
    double worst_mh = 0;
    for (int i = 0; i < T * D; i++) worst_mh = fmax(worst_mh, fabs(y->data[i] - out[i]));
    printf("   the loops and nn_attention agree to %.1e (one head) and %.1e (two heads, causal)\n",
           worst, worst_mh);
    nn_graph_free(g);
    return fmax(worst, worst_mh);
}

/* ------------------------------------------------------------------------------------------ */
/* 3. A GPT and an LSTM as character models                                                    */
/* ------------------------------------------------------------------------------------------ */

/* Both models read windows of `context` characters and predict, at every position, the next
 * character: L = mean over the batch and the positions of -log softmax(z)[next] (nats);
 * bits per character = L / ln 2. They see the same batches, in the same order, for the same
 * number of Adam steps (each at its best learning rate), with a linear warm-up (5% of the steps), a cosine decay to a tenth
 * and gradient clipping at norm 1. */
#define MAX_LAYERS 8
#define LSTM_EMBED 32
#define GPT_LR 2e-2  /* measured: 1e-3, 3e-3 < 1e-2 (500 steps) < 2e-2 (1500 steps) */
#define LSTM_LR 1e-2 /* lesson 08's */
#define CLIP 1.0

typedef struct lm_config {
    int dim, layers, heads, context, batch, steps, eval_every, eval_windows, lstm_hidden;
    int sample_chars, show_chars;
} lm_config;
static const lm_config lm_full = {64, 2, 4, 64, 16, 1500, 100, 256, 128, 600, 40};
static const lm_config lm_quick = {32, 1, 2, 32, 16, 100, 25, 32, 48, 200, 24};

/* The GPT: token embedding + learned positions -> `layers` pre-norm blocks with causal
 * attention -> a final LayerNorm -> logits over the vocabulary, at every position. */
typedef struct gpt {
    nn_params ps;
    nn_embedding_layer tok;
    nn_posenc_layer pos;
    nn_transformer_block blocks[MAX_LAYERS];
    nn_layernorm_layer ln;
    nn_linear_layer head;
    int layers, dim, heads, context;
} gpt;

static void gpt_init(gpt *m, const lm_config *c, int vocab, nn_rng *rng)
{
    nn_params_init(&m->ps);
    m->layers = c->layers, m->dim = c->dim, m->heads = c->heads, m->context = c->context;
    nn_embedding_init(&m->tok, &m->ps, "tok", vocab, c->dim, rng);
    nn_posenc_init(&m->pos, &m->ps, "pos", c->context, c->dim, 1, rng);
    for (int l = 0; l < c->layers; l++) /* the MLP is 4 times wider than the model, as in GPT */
        nn_transformer_block_init(&m->blocks[l], &m->ps, "block", c->dim, c->heads, 4 * c->dim, rng);
    nn_layernorm_init(&m->ln, &m->ps, "ln_f", c->dim);
    nn_linear_init(&m->head, &m->ps, "head", c->dim, vocab, 1, rng);
}

/* ids (B,T), batch-major (ids[b*T + t]) -> logits (B*T, V); attn[l] (when attn is not NULL)
 * gets block l's attention output, whose nn_attention_probs are its heads' weights */
static nn_tensor *gpt_forward(nn_graph *g, const gpt *m, const int *ids, int B, int T,
                              nn_tensor **attn)
{
    nn_tensor *x = nn_reshape(g, nn_embedding(g, &m->tok, ids, B * T), 3, B, T, m->dim);
    x = nn_posenc_forward(g, &m->pos, x); /* where each character sits */
    for (int l = 0; l < m->layers; l++)
        x = nn_transformer_block_forward(g, &m->blocks[l], x, 1, attn ? &attn[l] : NULL);
    x = nn_reshape(g, nn_layernorm_forward(g, &m->ln, x), 2, B * T, m->dim);
    return nn_linear(g, &m->head, x);
}

/* the sequence cross-entropy: every (example, position) is one row of a (B*T, V) softmax */
static nn_tensor *gpt_loss(nn_graph *g, const void *model, const int *x, const int *y, int B, int T)
{
    return nn_softmax_cross_entropy(g, gpt_forward(g, model, x, B, T, NULL), y);
}

/* Lesson 08's LSTM language model: embedding -> LSTM -> logits, one step at a time, each
 * window from the zero state. */
typedef struct lstm_lm {
    nn_params ps;
    nn_embedding_layer embed;
    nn_rnn_cell cell;
    nn_linear_layer out;
} lstm_lm;

static void lstm_init(lstm_lm *m, int hidden, int vocab, nn_rng *rng)
{
    nn_params_init(&m->ps);
    nn_embedding_init(&m->embed, &m->ps, "embed", vocab, LSTM_EMBED, rng);
    nn_rnn_cell_init(&m->cell, &m->ps, "lstm", NN_RNN_LSTM, LSTM_EMBED, hidden, rng);
    nn_linear_init(&m->out, &m->ps, "logits", hidden, vocab, 1, rng);
}

/* the same loss on the same batch-major windows: the mean over the steps of each step's mean */
static nn_tensor *lstm_loss(nn_graph *g, const void *model, const int *x, const int *y, int B, int T)
{
    const lstm_lm *m = model;
    int *xt = nn_graph_alloc(g, (size_t)B * sizeof *xt), *yt = nn_graph_alloc(g, (size_t)B * sizeof *yt);
    nn_rnn_state s = {NULL, NULL};
    nn_tensor *total = NULL;
    for (int t = 0; t < T; t++) {
        for (int b = 0; b < B; b++) xt[b] = x[b * T + t], yt[b] = y[b * T + t];
        s = nn_rnn_cell_step(g, &m->cell, nn_embedding(g, &m->embed, xt, B), s);
        nn_tensor *l = nn_softmax_cross_entropy(g, nn_linear(g, &m->out, s.h), yt);
        total = total ? nn_add(g, total, l) : l;
    }
    return nn_scale(g, total, (nn_real)(1.0 / T));
}

typedef nn_tensor *(*loss_fn)(nn_graph *g, const void *model, const int *x, const int *y, int B,
                              int T);

/* B random training windows, batch-major: x[b*T + t] = text[o_b + t], y = the next character */
static void windows(const nn_text *text, int *x, int *y, int B, int T, nn_rng *rng, int *tmp)
{
    nn_text_windows(text, 0, tmp, tmp + B * T, B, T, rng); /* time-major */
    for (int t = 0; t < T; t++)
        for (int b = 0; b < B; b++) x[b * T + t] = tmp[t * B + b], y[b * T + t] = tmp[B * T + t * B + b];
}

/* The validation set: n windows of T characters at evenly spaced places of the validation
 * text, batch-major; both models are scored on exactly these, each window on its own (no
 * context from before it: the same conditions as in training). */
static void eval_windows(const nn_text *text, int *x, int *y, int n, int T)
{
    if (text->nval < T + 2) nn_fail("lesson11: the validation text of %s is too short", text->source);
    for (int w = 0; w < n; w++) {
        long o = n > 1 ? (long)((double)w * (text->nval - T - 1) / (n - 1)) : 0;
        for (int t = 0; t < T; t++) x[w * T + t] = text->val[o + t], y[w * T + t] = text->val[o + t + 1];
    }
}

static double val_bpc(loss_fn loss, const void *model, const int *x, const int *y, int n, int B, int T)
{
    nn_graph *g = nn_graph_new();
    g->grad = 0;
    double nats = 0;
    for (int w = 0; w < n; w += B) {
        int nb = n - w < B ? n - w : B;
        nats += loss(g, model, x + (size_t)w * T, y + (size_t)w * T, nb, T)->data[0] * nb;
        nn_graph_reset(g);
    }
    nn_graph_free(g);
    return nats / n / log(2.0);
}

/* one training run: train and validation bpc every eval_every steps */
typedef struct curve {
    double *step, *train, *val;
    int points;
    double seconds;
} curve;

static curve train(loss_fn loss, const void *model, nn_params *ps, double lr, const lm_config *c,
                   const nn_text *text, const int *ex, const int *ey, uint64_t data_seed,
                   const char *label)
{
    curve r = {0};
    int npts = c->steps / c->eval_every;
    r.step = nn_calloc((size_t)npts, sizeof *r.step);
    r.train = nn_calloc((size_t)npts, sizeof *r.train);
    r.val = nn_calloc((size_t)npts, sizeof *r.val);
    nn_rng rng; /* the data stream: the same windows for both models */
    nn_rng_seed(&rng, data_seed);
    nn_optim opt;
    nn_optim_init(&opt, NN_OPTIM_ADAM, ps, (nn_real)lr);
    nn_schedule sched = {.kind = NN_SCHEDULE_COSINE, .base_lr = lr, .min_lr = lr / 10,
                         .total_steps = c->steps, .warmup_steps = c->steps / 20};
    const int B = c->batch, T = c->context;
    int *x = nn_malloc((size_t)B * T * sizeof *x), *y = nn_malloc((size_t)B * T * sizeof *y);
    int *tmp = nn_malloc((size_t)2 * B * T * sizeof *tmp);
    nn_graph *g = nn_graph_new();
    nn_progress bar;
    nn_progress_start(&bar, label, c->steps);
    printf("   %-6s %6s %12s %12s\n", label, "step", "train bpc", "val bpc");
    for (int s = 0; s < c->steps; s++) {
        double t0 = nn_seconds();
        windows(text, x, y, B, T, &rng, tmp);
        opt.lr = nn_schedule_lr(&sched, s);
        nn_tensor *l = loss(g, model, x, y, B, T);
        nn_graph_check_finite(g, l, s);
        nn_params_zero_grad(ps);
        nn_backward(g, l);
        nn_clip_grad_norm(ps, CLIP);
        nn_optim_step(&opt);
        if (s / c->eval_every < npts) r.train[s / c->eval_every] += l->data[0] / log(2.0) / c->eval_every;
        nn_graph_reset(g);
        r.seconds += nn_seconds() - t0;
        nn_progress_update(&bar, s + 1, NULL);
        if ((s + 1) % c->eval_every == 0 && s / c->eval_every < npts) {
            int p = s / c->eval_every;
            r.step[p] = s + 1;
            r.val[p] = val_bpc(loss, model, ex, ey, c->eval_windows, B, T);
            r.points = p + 1;
            if (p == 0 || (p + 1) % 4 == 0 || p == npts - 1)
                printf("   %-6s %6d %12.3f %12.3f\n", "", s + 1, r.train[p], r.val[p]);
        }
    }
    nn_progress_finish(&bar);
    free(x), free(y), free(tmp);
    nn_graph_free(g);
    nn_optim_free(&opt);
    return r;
}

static void curve_free(curve *r) { free(r->step), free(r->train), free(r->val); }

/* Sampling: start from "%\n" (a fortune begins there), then repeatedly run the model on the
 * last `context` characters, take the logits z at the last position and draw the next
 * character from softmax(z / temperature), restricted to the top_k largest logits when
 * top_k > 0 (nn_rng_sample_logits). */
static void gpt_sample(const gpt *m, const nn_text *text, double temperature, int top_k, int n,
                       nn_rng *rng, int *out)
{
    const int V = m->head.out;
    int *seq = nn_malloc((size_t)(n + 2) * sizeof *seq), len = 0;
    int pct = nn_text_id(text, '%'), nl = nn_text_id(text, '\n');
    if (pct >= 0 && nl >= 0) seq[len++] = pct, seq[len++] = nl;
    else seq[len++] = text->train[0];
    const int start = len;
    nn_graph *g = nn_graph_new();
    g->grad = 0;
    while (len < start + n) {
        int T = len < m->context ? len : m->context;
        nn_tensor *z = gpt_forward(g, m, seq + len - T, 1, T, NULL);
        seq[len++] = nn_rng_sample_logits(rng, z->data + (size_t)(T - 1) * V, V, temperature, top_k);
        nn_graph_reset(g);
    }
    memcpy(out, seq + start, (size_t)n * sizeof *out);
    free(seq);
    nn_graph_free(g);
}

/* a character as a figure label: visible marks for blanks, gnuplot's markup escaped */
static void char_label(char *buf, size_t len, const nn_text *text, int id)
{
    uint32_t c = text->chars[id];
    if (c == ' ') snprintf(buf, len, "\xe2\x90\xa3");      /* U+2423 open box */
    else if (c == '\n') snprintf(buf, len, "\xe2\x8f\x8e"); /* U+23CE return symbol */
    else if (c == '\t') snprintf(buf, len, "\xe2\x86\x92"); /* U+2192 arrow */
    else {
        char *s = NULL;
        size_t n = 0;
        FILE *f = open_memstream(&s, &n);
        nn_text_write(f, text, &id, 1);
        fclose(f);
        snprintf(buf, len, "%s%s", c < 128 && strchr("^_@&~{}", (int)c) ? "\\" : "", s);
        free(s);
    }
}

/* every run draws its own numbers from a seed made of the lesson's seed and its place */
static uint64_t seed_for(uint64_t seed, int a) { return seed * 1000003u + (uint64_t)a * 1009u; }

int main(int argc, char **argv)
{
    const char *about =
        "Lesson 11: the Transformer. Scaled dot-product attention from its formula, with and "
        "without the causal mask; multi-head attention; a small GPT (pre-norm blocks, learned "
        "positions) trained as a character model of the Debian fortunes next to an LSTM of the "
        "same size, attention heat maps of every head, and sampled text (temperature, top-k). "
        "--text FILE trains on any UTF-8 text file instead of the fortunes.";
    nn_cli cli;
    nn_cli_parse_file(&cli, 11, about, "--text", argc, argv);
    nn_report report;
    nn_report_init(&report, 11);
    lm_config c = cli.quick ? lm_quick : lm_full;
    c.steps = 100 * nn_cli_epochs(&cli, lm_full.steps / 100, lm_quick.steps / 100);
    if (c.eval_every > c.steps) c.eval_every = c.steps;

    /* the text first: a missing corpus should stop the lesson at once */
    nn_text text;
    if (cli.file[0]) nn_text_load_file(&text, cli.file, 0.1);
    else nn_text_load_fortunes(&text, NULL, 0.1);

    /* --- 1-2. Attention from the formula, one head and two ---------------------------------- */
    printf("1. Attention from the formula: 5 tokens, random q, k, v of width 4\n");
    nn_rng rng;
    nn_rng_seed(&rng, seed_for(cli.seed, 1));
    double attention_diff = attention_demo(&rng);

    /* --- 3. Character models ------------------------------------------------------------------ */
    printf("\n3. Character models of %s\n   ", text.source);
    if (text.records) printf("%d files, %d fortunes; ", text.files, text.records);
    printf("%d distinct characters; %ld training, %ld validation characters\n", text.vocab,
           text.ntrain, text.nval);
    const int B = c.batch, T = c.context, D = c.dim, V = text.vocab, H = c.lstm_hidden;
    int *ex = nn_malloc((size_t)c.eval_windows * T * sizeof *ex);
    int *ey = nn_malloc((size_t)c.eval_windows * T * sizeof *ey);
    eval_windows(&text, ex, ey, c.eval_windows, T);
    gpt m;
    nn_rng_seed(&rng, seed_for(cli.seed, 2));
    gpt_init(&m, &c, V, &rng);
    lstm_lm lm;
    nn_rng_seed(&rng, seed_for(cli.seed, 3));
    lstm_init(&lm, H, V, &rng);
    /* Cost of one token, forward, in floating-point operations (a multiply-add = 2), counting
     * the matrix products only. GPT per block: QKV 2*3D^2, output projection 2D^2, MLP
     * 2*2*4D^2, i.e. 24 D^2, plus the attention products QK^T and PV, 2*2*T*D (computed for
     * the whole T x T square; the mask throws half away); then the logits 2DV. LSTM: the four
     * gates 2*4H(E + H), the logits 2HV. Training (forward + backward) costs about 3 times
     * the forward pass. */
    double gpt_flops = c.layers * (24.0 * D * D + 4.0 * T * D) + 2.0 * D * V;
    double lstm_flops = 8.0 * H * (LSTM_EMBED + H) + 2.0 * H * V;
    printf("   GPT: %d blocks, d_model %d, %d heads of %d, MLP %d, context %d: %zu parameters, "
           "%.2f MFLOP per token\n", c.layers, D, c.heads, D / c.heads, 4 * D, T, m.ps.count,
           gpt_flops / 1e6);
    printf("   LSTM: embedding %d, %d units: %zu parameters, %.2f MFLOP per token\n", LSTM_EMBED,
           H, lm.ps.count, lstm_flops / 1e6);
    printf("   both: %d steps of %d windows x %d characters, Adam (lr %g GPT, %g LSTM) with "
           "warm-up + cosine, clip %g\n", c.steps, B, T, GPT_LR, LSTM_LR, CLIP);
    const uint64_t data_seed = seed_for(cli.seed, 4);
    curve cg = train(gpt_loss, &m, &m.ps, GPT_LR, &c, &text, ex, ey, data_seed, "gpt");
    curve cl = train(lstm_loss, &lm, &lm.ps, LSTM_LR, &c, &text, ex, ey, data_seed, "lstm");
    const double uni = nn_text_unigram_bpc(&text), gpt_bpc = cg.val[cg.points - 1],
                 lstm_bpc = cl.val[cl.points - 1];
    const double tokens = (double)c.steps * B * T;
    printf("   %-5s %10s %10s %12s %10s %10s\n", "model", "params", "val bpc", "train GFLOP",
           "seconds", "GFLOP/s");
    printf("   %-5s %10zu %10.3f %12.1f %10.1f %10.2f\n", "gpt", m.ps.count, gpt_bpc,
           3 * gpt_flops * tokens / 1e9, cg.seconds, 3 * gpt_flops * tokens / 1e9 / cg.seconds);
    printf("   %-5s %10zu %10.3f %12.1f %10.1f %10.2f\n", "lstm", lm.ps.count, lstm_bpc,
           3 * lstm_flops * tokens / 1e9, cl.seconds, 3 * lstm_flops * tokens / 1e9 / cl.seconds);
    printf("   unigram baseline (character frequencies only): %.3f bits per character\n", uni);
    {
        double uy[2] = {uni, uni}, ux[2] = {cg.step[0], cg.step[cg.points - 1]};
        char lg[64], ll[64];
        snprintf(lg, sizeof lg, "GPT, %zu parameters (validation)", m.ps.count);
        snprintf(ll, sizeof ll, "LSTM, %zu parameters (validation)", lm.ps.count);
        nn_plot_series s[5] = {{lg, cg.step, cg.val, cg.points},
                               {ll, cl.step, cl.val, cl.points},
                               {"GPT (training, mean since the last point)", cg.step, cg.train, cg.points},
                               {"LSTM (training)", cl.step, cl.train, cl.points},
                               {"unigram baseline", ux, uy, 2}};
        nn_plot_lines(cli.out, "val_bpc", "Character models: bits per character", "training step",
                      "bits per character", s, 5, 0);
    }

    /* --- what the heads look at ----------------------------------------------------------- */
    /* one fortune from the validation text: the first that starts after its middle */
    const int S = c.show_chars;
    long at = text.nval / 2;
    const int pct = nn_text_id(&text, '%'), nl = nn_text_id(&text, '\n');
    while (at + 2 + S < text.nval && !(text.val[at] == pct && text.val[at + 1] == nl)) at++;
    if (at + 2 + S >= text.nval) at = 0; else at += 2;
    const int *shown = text.val + at;
    char(*names)[16] = nn_malloc((size_t)S * sizeof *names);
    const char **labels = nn_malloc((size_t)S * sizeof *labels);
    for (int i = 0; i < S; i++) char_label(names[i], sizeof names[i], &text, shown[i]), labels[i] = names[i];
    printf("\n   attention of every head on \"");
    nn_text_write(stdout, &text, shown, S);
    printf("\"\n   %-8s %s\n", "head", "mean distance looked back (characters); weight on itself");
    nn_graph *g = nn_graph_new();
    g->grad = 0;
    nn_tensor *attn[MAX_LAYERS];
    gpt_forward(g, &m, shown, 1, S, attn);
    double *cells = nn_malloc((size_t)S * S * sizeof *cells);
    for (int l = 0; l < c.layers; l++)
        for (int h = 0; h < c.heads; h++) {
            const nn_real *P = nn_attention_probs(attn[l]) + (size_t)h * S * S; /* (1,heads,S,S) */
            double dist = 0, self = 0;
            for (int i = 0; i < S * S; i++) cells[i] = P[i];
            for (int i = 0; i < S; i++) {
                for (int j = 0; j <= i; j++) dist += P[i * S + j] * (i - j) / S;
                self += P[i * S + i] / S;
            }
            printf("   %d.%-6d %6.2f %6.2f\n", l + 1, h + 1, dist, self);
            char name[32], title[96];
            snprintf(name, sizeof name, "attention_l%d_h%d", l + 1, h + 1);
            snprintf(title, sizeof title, "Block %d, head %d: attention weights (row = query)", l + 1, h + 1);
            nn_plot_heatmap(cli.out, name, title, "key: the character looked at",
                            "query: the character reading", cells, S, S, labels, labels, NULL);
        }
    nn_graph_reset(g);

    /* --- the mask, proven on the trained model --------------------------------------------- */
    /* Change the character at position T/2 of a validation window: the predictions at every
     * earlier position must not move at all (exact equality), and the later ones must. */
    const int p = T / 2;
    int *edited = nn_malloc((size_t)T * sizeof *edited);
    memcpy(edited, ex, (size_t)T * sizeof *edited);
    edited[p] = (edited[p] + 1) % V;
    nn_tensor *za = gpt_forward(g, &m, ex, 1, T, NULL), *zb = gpt_forward(g, &m, edited, 1, T, NULL);
    double leak = 0, later = INFINITY;
    for (int t = 0; t < T; t++) {
        double d = 0;
        for (int j = 0; j < V; j++) d = fmax(d, fabs(za->data[t * V + j] - zb->data[t * V + j]));
        if (t < p) leak = fmax(leak, d);
        else later = fmin(later, d);
    }
    printf("\n   causal mask: changing character %d of a window moves the logits before it by %g "
           "(exactly 0 expected), each later position's by at least %.3g\n", p, leak, later);
    nn_graph_free(g);

    /* --- samples ------------------------------------------------------------------------------ */
    char path[600];
    snprintf(path, sizeof path, "%s/samples.txt", cli.out);
    FILE *f = fopen(path, "w");
    if (!f) nn_fail("lesson11: cannot write %s", path);
    int *sample = nn_malloc((size_t)c.sample_chars * sizeof *sample);
    const double temps[2] = {1.0, 0.7};
    const int topk[2] = {0, 10};
    nn_rng_seed(&rng, seed_for(cli.seed, 5));
    for (int i = 0; i < 2; i++) {
        gpt_sample(&m, &text, temps[i], topk[i], c.sample_chars, &rng, sample);
        char head[160];
        snprintf(head, sizeof head, "--- GPT sample, temperature %.1f, %s, after %d steps (val %.3f bpc) ---",
                 temps[i], topk[i] ? "top-10" : "all characters", c.steps, gpt_bpc);
        printf("\n   %s\n", head);
        nn_text_write(stdout, &text, sample, c.sample_chars);
        fprintf(f, "%s\n", head);
        nn_text_write(f, &text, sample, c.sample_chars);
        fprintf(f, "\n\n");
    }
    printf("\n");
    if (ferror(f) | fclose(f)) nn_fail("lesson11: write to %s failed", path);

    /* --- Results ------------------------------------------------------------------------------ */
    printf("\nResults\n");
    printf("   attention: the formula's loops and nn_attention agree to %.1e\n", attention_diff);
    printf("   validation bits per character after %d steps: GPT %.3f (%zu parameters), LSTM %.3f "
           "(%zu), unigram %.3f\n", c.steps, gpt_bpc, m.ps.count, lstm_bpc, lm.ps.count, uni);
    printf("   training time: GPT %.1f s, LSTM %.1f s; figures and samples.txt: %s/\n", cg.seconds,
           cl.seconds, cli.out);

    nn_report_add(&report, "attention_max_diff", attention_diff);
    nn_report_add(&report, "causal_leak", leak);
    nn_report_add(&report, "causal_later_change", later);
    nn_report_add_int(&report, "gpt_params", (long)m.ps.count);
    nn_report_add_int(&report, "lstm_params", (long)lm.ps.count);
    nn_report_add(&report, "unigram_bpc", uni);
    nn_report_add(&report, "lstm_val_bpc", lstm_bpc);
    nn_report_add(&report, "val_bpc", gpt_bpc);
    nn_report_add_timing(&report, "train_seconds", cg.seconds + cl.seconds);
    nn_report_finish(&report, cli.out);

    curve_free(&cg), curve_free(&cl);
    free(ex), free(ey), free(names), free(labels), free(cells), free(edited), free(sample);
    nn_params_free(&m.ps);
    nn_params_free(&lm.ps);
    nn_text_free(&text);
    return 0;
}
