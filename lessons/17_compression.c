/* Lesson 17 -- model compression: magnitude pruning and int8 quantization.
 *
 * Concept: a trained network is bigger and more precise than it needs to be. Two classic
 * ways to shrink it after training:
 *   pruning (LeCun et al. 1990, Han et al. 2015): set the weights of smallest |w| to exactly
 *     zero -- 90% of them, say -- and fine-tune the rest briefly with the pruned ones held at
 *     zero (a mask re-applied after every optimizer step);
 *   quantization (Jacob et al. 2018): store every weight as an 8-bit integer q with one real
 *     scale s per tensor or per output row, w ~ s q, and run the layer in integer arithmetic:
 *     int8 x int8 products summed in int32, one real multiply per output to rescale.
 * Both cost surprisingly little accuracy; the lesson measures how little.
 *
 * What you will see:
 *   1. an MLP 784-256-128-10 trained on Fashion-MNIST (the float baseline);
 *   2. magnitude pruning at 0, 50, 70, 80, 90, 95 and 98% sparsity, per layer and over the
 *      whole network at once, with and without a short masked fine-tuning: accuracy against
 *      sparsity, and which input pixels keep their connections;
 *   3. post-training int8 quantization, per-tensor and per-channel weight scales, activation
 *      scales from a calibration batch, and a pure integer inference path (lib/quantize.c):
 *      model size in bytes and accuracy next to the float model;
 *   4. the int8 GEMM against the float loops and OpenBLAS on the network's own layer shapes.
 *
 * Run:  make lesson17                   (full: 60000 train / 10000 test, 10 epochs, ~80 s)
 *       make lesson17 ARGS="--quick"    (5000 / 1000, 3 epochs, 15 fine-tuning steps, ~4 s)
 *       flags: --seed N --epochs N (baseline training) --out DIR --kernels naive|blas
 *       --threads N --help
 *
 * Expected (full mode, seed 42, measured): float test accuracy 0.885; int8 through the integer
 * path 0.884 per tensor and 0.884 per channel, the predictions equal to the float model's on
 * 99.6% of the test images, in 236 352 bytes instead of 940 584. Pruning 90% of the weights
 * layer by layer drops to 0.50 (the 10-class output layer keeps 128 of its 1280 weights); one
 * ranking over the whole network drops to 0.71; one epoch of masked fine-tuning brings them
 * back to 0.867 and 0.880; at 98% global + fine-tuning still gets 0.828, layer-wise 0.55.
 * Timings (a 2-core VM shared with other jobs, load ~7, so they move by 2x between runs):
 * the int8 loop about 8.6 GOP/s, 1.6x the same loop on floats and 7x nn_gemm_naive (which
 * sums in double and is not vectorised); OpenBLAS sgemm on 2 threads about 5x faster still.
 * Reference: Han, Pool, Tran & Dally 2015 ("Learning both weights and connections", NeurIPS,
 * Table 1) prune LeNet-300-100 on MNIST to 8% of its weights with no loss of accuracy, by
 * iterating prune + retrain; Krishnamoorthi 2018 (arXiv:1806.08342): post-training int8 with
 * per-channel weight scales stays within a point or two of float on ImageNet CNNs.
 * Figures, metrics.json and timing.json go to out/lesson17/.
 */
#include "nn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { LAYERS = 3, BATCH = 128, EVAL_BATCH = 1000, LEVELS = 7 };
static const int SIZES[LAYERS + 1] = {784, 256, 128, 10}; /* in -> hidden -> hidden -> classes */
static const double SPARSITY[LEVELS] = {0, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98};
#define AT90 4 /* SPARSITY[AT90] = 0.9 */

/* ------------------------------------------------------------------------------------------ */
/* The float model and its training loop                                                      */
/* ------------------------------------------------------------------------------------------ */

typedef struct mlp {
    nn_linear_layer fc[LAYERS];
} mlp;

/* logits = fc3(relu(fc2(relu(fc1(x))))); inputs[l], if asked for, gets the input of layer l
 * (the pixels, then the two ReLU outputs): calibration needs their ranges */
static nn_tensor *mlp_forward(nn_graph *g, const mlp *net, nn_tensor *x, nn_tensor **inputs)
{
    for (int l = 0; l < LAYERS; l++) {
        if (inputs) inputs[l] = x;
        x = nn_linear(g, &net->fc[l], x);
        if (l < LAYERS - 1) x = nn_relu(g, x);
    }
    return x;
}

/* the model for nn_evaluate: logits only */
static nn_tensor *mlp_fn(nn_graph *g, nn_tensor *x, void *net)
{
    return mlp_forward(g, net, x, NULL);
}

/* `steps` mini-batch steps (a fresh shuffle every pass over the data). With masks, every
 * pruned weight is set back to zero after every step: the gradient does reach it, and the
 * optimizer does move it, but the mask wins, so the fine-tuned network keeps the sparsity. */
static void train_steps(mlp *net, nn_params *ps, nn_optim *opt, const nn_data *d, long steps,
                        uint8_t *const *masks, nn_rng *rng, nn_graph *g, const char *label)
{
    int *order = nn_malloc(sizeof(int) * d->n), yb[BATCH];
    nn_real *xb = nn_malloc(sizeof(nn_real) * BATCH * d->dim);
    nn_progress bar;
    nn_progress_start(&bar, label, steps);
    int start = d->n;
    for (long step = 0; step < steps; step++) {
        if (start + BATCH > d->n) { /* a new pass; the last partial batch is dropped */
            nn_rng_permutation(rng, order, d->n);
            start = 0;
        }
        nn_data_batch(d, order, start, BATCH, xb, yb);
        start += BATCH;
        nn_tensor *x = nn_graph_input(g, xb, 2, BATCH, d->dim);
        nn_tensor *loss = nn_softmax_cross_entropy(g, mlp_forward(g, net, x, NULL), yb);
        nn_graph_check_finite(g, loss, opt->step);
        nn_params_zero_grad(ps);
        nn_backward(g, loss);
        nn_optim_step(opt);
        nn_graph_reset(g);
        for (int l = 0; masks && l < LAYERS; l++)
            nn_prune_apply(net->fc[l].weight->data, masks[l], net->fc[l].weight->numel);
        nn_progress_update(&bar, step + 1, NULL);
    }
    nn_progress_finish(&bar);
    free(order), free(xb);
}

/* ------------------------------------------------------------------------------------------ */
/* Pruning                                                                                     */
/* ------------------------------------------------------------------------------------------ */

/* Layer-wise: every weight matrix loses the same fraction, its own smallest |w|.
 * Global: one ranking over all 234 752 weights, so a layer whose weights are small overall
 * (fc1: 784 inputs, each weight carries little) gives up more than the others.
 * Biases are never pruned (394 numbers, 0.2% of the model). */
static void prune_masks(uint8_t **masks, const mlp *net, double sparsity, int global)
{
    if (!global) {
        for (int l = 0; l < LAYERS; l++)
            nn_prune_magnitude(masks[l], net->fc[l].weight->data, net->fc[l].weight->numel,
                               sparsity);
        return;
    }
    size_t total = 0;
    for (int l = 0; l < LAYERS; l++) total += net->fc[l].weight->numel;
    nn_real *all = nn_malloc(total * sizeof *all);
    uint8_t *mask = nn_malloc(total);
    for (size_t l = 0, off = 0; l < LAYERS; off += net->fc[l].weight->numel, l++)
        memcpy(all + off, net->fc[l].weight->data, net->fc[l].weight->numel * sizeof *all);
    nn_prune_magnitude(mask, all, total, sparsity);
    for (size_t l = 0, off = 0; l < LAYERS; off += net->fc[l].weight->numel, l++)
        memcpy(masks[l], mask + off, net->fc[l].weight->numel);
    free(all), free(mask);
}

static void apply_masks(mlp *net, uint8_t *const *masks)
{
    for (int l = 0; l < LAYERS; l++)
        nn_prune_apply(net->fc[l].weight->data, masks[l], net->fc[l].weight->numel);
}

/* fraction of all the weights (not biases) that are exactly zero */
static double weight_sparsity(const mlp *net)
{
    double zeros = 0, n = 0;
    for (int l = 0; l < LAYERS; l++) {
        const nn_tensor *w = net->fc[l].weight;
        zeros += nn_prune_sparsity(w->data, w->numel) * w->numel, n += w->numel;
    }
    return zeros / n;
}

/* One point of the curves: from the trained weights, prune to `sparsity` (layer-wise or
 * global) and measure, then fine-tune with the mask held and measure again. Every call sees
 * the same mini-batches (its own rng, seeded alike), so the points differ only in the mask.
 * Leaves the fine-tuned weights in net and the masks in masks; returns the seconds spent
 * fine-tuning. */
static double prune_experiment(double *acc_pruned, double *acc_finetuned, uint8_t **masks,
                               mlp *net, nn_params *ps, const nn_real *trained, double sparsity,
                               int global, long finetune_steps, const nn_data *train,
                               const nn_data *test, nn_graph *g, uint64_t seed)
{
    memcpy(ps->values, trained, ps->count * sizeof *trained);
    prune_masks(masks, net, sparsity, global);
    apply_masks(net, masks);
    *acc_pruned = nn_evaluate(g, mlp_fn, net, test, EVAL_BATCH, NULL).accuracy;
    nn_optim opt;
    nn_optim_init(&opt, NN_OPTIM_MOMENTUM, ps, 0.005f); /* a tenth of the training rate */
    nn_rng rng;
    nn_rng_seed(&rng, seed + 17);
    double t0 = nn_seconds();
    train_steps(net, ps, &opt, train, finetune_steps, masks, &rng, g, "fine-tune");
    double seconds = nn_seconds() - t0;
    nn_optim_free(&opt);
    *acc_finetuned = nn_evaluate(g, mlp_fn, net, test, EVAL_BATCH, NULL).accuracy;
    return seconds;
}

/* For the pixel figure: the fraction of fc1's 256 units still connected to each input pixel. */
static void pixel_connections(nn_real *image, const uint8_t *fc1_mask)
{
    for (int p = 0; p < SIZES[0]; p++) {
        int kept = 0;
        for (int r = 0; r < SIZES[1]; r++) kept += fc1_mask[(size_t)r * SIZES[0] + p];
        image[p] = (nn_real)kept / SIZES[1];
    }
}

/* Sparse storage (CSR) of a pruned model: each kept weight as a float value plus a 16-bit
 * column index (784 < 65536), one 32-bit row pointer per row (+1), biases as floats. */
static long csr_bytes(const mlp *net)
{
    long bytes = 0;
    for (int l = 0; l < LAYERS; l++) {
        const nn_tensor *w = net->fc[l].weight;
        long nnz = (long)llround((1 - nn_prune_sparsity(w->data, w->numel)) * w->numel);
        bytes += nnz * (4 + 2) + 4L * (SIZES[l + 1] + 1) + 4L * SIZES[l + 1];
    }
    return bytes;
}

/* ------------------------------------------------------------------------------------------ */
/* The int8 model                                                                             */
/* ------------------------------------------------------------------------------------------ */

/* One layer in integers. Its input arrives as int8 at scale x_scale (x ~ x_scale qx), its
 * weights are int8 with one scale per output row (the same scale in every row when per
 * tensor), its bias is int32 in units of x_scale w_scale[j]:
 *     acc[i,j] = sum_k qx[i,k] qw[j,k] + qb[j]              (int32, nn_quantize_gemm)
 *     y[i,j]  ~ x_scale w_scale[j] acc[i,j]
 * A hidden layer hands on int8 at the next layer's scale s': qy = clamp(round(acc mult[j]))
 * with mult[j] = x_scale w_scale[j] / s', ReLU fused as a clamp at 0; the last layer turns
 * acc into real logits with mult[j] = x_scale w_scale[j]. */
typedef struct int8_layer {
    int in, out;
    int8_t *w;        /* (out, in) */
    nn_real *w_scale; /* (out) */
    int32_t *bias;    /* (out) */
    nn_real x_scale;
    nn_real *mult;    /* (out) */
} int8_layer;

typedef struct int8_mlp {
    int8_layer layer[LAYERS];
    int per_channel;
} int8_mlp;

/* act_scale[l] = the scale of layer l's input, from the calibration batch */
static void int8_mlp_init(int8_mlp *q, const mlp *net, const nn_real *act_scale, int per_channel)
{
    q->per_channel = per_channel;
    for (int l = 0; l < LAYERS; l++) {
        int8_layer *L = &q->layer[l];
        L->in = SIZES[l], L->out = SIZES[l + 1], L->x_scale = act_scale[l];
        L->w = nn_malloc((size_t)L->in * L->out);
        L->w_scale = nn_malloc(sizeof(nn_real) * L->out);
        L->bias = nn_malloc(sizeof(int32_t) * L->out);
        L->mult = nn_malloc(sizeof(nn_real) * L->out);
        nn_quantize_weights(L->w, L->w_scale, net->fc[l].weight->data, L->out, L->in,
                            per_channel);
        nn_quantize_bias(L->bias, net->fc[l].bias->data, L->out, L->x_scale, L->w_scale);
        for (int j = 0; j < L->out; j++)
            L->mult[j] = L->x_scale * L->w_scale[j] / (l + 1 < LAYERS ? act_scale[l + 1] : 1);
    }
}

static void int8_mlp_free(int8_mlp *q)
{
    for (int l = 0; l < LAYERS; l++)
        free(q->layer[l].w), free(q->layer[l].w_scale), free(q->layer[l].bias),
            free(q->layer[l].mult);
}

/* what it takes to store: int8 weights, int32 biases, float scales (weights: 1 per layer or
 * 1 per row; activations: 1 per layer); the requantization multipliers follow from these */
static long int8_mlp_bytes(const int8_mlp *q)
{
    long bytes = 0;
    for (int l = 0; l < LAYERS; l++) {
        const int8_layer *L = &q->layer[l];
        bytes += (long)L->in * L->out + 4L * L->out + 4L * (q->per_channel ? L->out : 1) + 4;
    }
    return bytes;
}

/* Test accuracy of the integer path: only the first quantization of the pixels and the last
 * rescaling of the logits touch reals. pred (d->n) gets the predicted classes. */
static double int8_mlp_evaluate(const int8_mlp *q, const nn_data *d, int *pred)
{
    int8_t *a = nn_malloc((size_t)EVAL_BATCH * SIZES[0]), *b = nn_malloc((size_t)EVAL_BATCH * SIZES[0]);
    int32_t *acc = nn_malloc(sizeof(int32_t) * EVAL_BATCH * SIZES[1]);
    nn_real *logits = nn_malloc(sizeof(nn_real) * EVAL_BATCH * SIZES[LAYERS]);
    long right = 0;
    for (int start = 0; start < d->n; start += EVAL_BATCH) {
        int count = d->n - start < EVAL_BATCH ? d->n - start : EVAL_BATCH;
        nn_quantize(a, d->x + (size_t)start * d->dim, (size_t)count * d->dim, q->layer[0].x_scale);
        for (int l = 0; l < LAYERS; l++) {
            const int8_layer *L = &q->layer[l];
            nn_quantize_gemm(acc, a, L->w, L->bias, count, L->out, L->in);
            if (l + 1 < LAYERS) {
                nn_quantize_requantize(b, acc, L->mult, count, L->out, 1); /* + ReLU */
                int8_t *t = a;
                a = b, b = t;
            } else {
                nn_quantize_dequantize_acc(logits, acc, L->mult, count, L->out);
            }
        }
        for (int i = 0; i < count; i++) {
            int p = nn_kernel_argmax(logits + (size_t)i * d->classes, d->classes);
            right += p == d->y[start + i];
            pred[start + i] = p;
        }
    }
    free(a), free(b), free(acc), free(logits);
    return (double)right / d->n;
}

/* relative quantization error of each row of a weight matrix, ||w_r - s_r q_r|| / ||w_r|| */
static void row_errors(double *err, const nn_real *w, int rows, int cols, int per_channel)
{
    int8_t *q = nn_malloc((size_t)rows * cols);
    nn_real *scales = nn_malloc(sizeof(nn_real) * rows);
    nn_quantize_weights(q, scales, w, rows, cols, per_channel);
    for (int r = 0; r < rows; r++) {
        double e2 = 0, w2 = 0;
        for (int c = 0; c < cols; c++) {
            double v = w[(size_t)r * cols + c];
            e2 += (v - (double)scales[r] * q[(size_t)r * cols + c]) * (v - (double)scales[r] * q[(size_t)r * cols + c]);
            w2 += v * v;
        }
        err[r] = sqrt(e2 / fmax(w2, 1e-300));
    }
    free(q), free(scales);
}

/* ------------------------------------------------------------------------------------------ */
/* Timing the GEMMs                                                                            */
/* ------------------------------------------------------------------------------------------ */

/* The int8 kernel's loop, written for floats: the same memory walk with 4x the bytes, and the
 * same `omp simd` permission to split the sum over SIMD lanes (for floats that changes the
 * rounding a little; for integers nothing). What differs is the data: a 16-byte load brings 16
 * int8 values against 4 floats, and one SSE multiply does 8 int16 products (the int8 values
 * sign-extended) against 4 float ones. Hardware made for it does far more: AVX-512 VNNI's
 * vpdpbusd multiplies 64 8-bit pairs and adds them into 16 int32 sums in one instruction. */
static void float_gemm_loop(nn_real *C, const nn_real *A, const nn_real *B, int M, int N, int K)
{
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            const nn_real *a = A + (size_t)i * K, *b = B + (size_t)j * K;
            nn_real sum = 0;
#pragma omp simd reduction(+ : sum)
            for (int k = 0; k < K; k++) sum += a[k] * b[k];
            C[(size_t)i * N + j] = sum;
        }
}

enum { KERNEL_INT8, KERNEL_FLOAT_LOOP, KERNEL_NAIVE, KERNEL_BLAS, KERNELS };
/* nn_quantize_gemm, float_gemm_loop, nn_gemm_naive, nn_gemm_blas (no underscores in the
 * names: gnuplot would read them as subscripts) */
static const char *KERNEL_NAMES[KERNELS] = {"int8 loop, int32 sums", "float loop, same code",
                                            "float naive, double sums", "float OpenBLAS sgemm"};

typedef struct gemm_case {
    int kernel, M, N, K;
    const int8_t *qa, *qb;
    const nn_real *fa, *fb;
    int32_t *qc;
    nn_real *fc;
} gemm_case;

/* C (M,N) = A (M,K) B (N,K)^T, as the layer computes x W^T */
static void run_gemm(const gemm_case *c)
{
    switch (c->kernel) {
    case KERNEL_INT8: nn_quantize_gemm(c->qc, c->qa, c->qb, NULL, c->M, c->N, c->K); break;
    case KERNEL_FLOAT_LOOP: float_gemm_loop(c->fc, c->fa, c->fb, c->M, c->N, c->K); break;
    case KERNEL_NAIVE: nn_gemm_naive(0, 1, c->M, c->N, c->K, 1, c->fa, c->K, c->fb, c->K, 0, c->fc, c->N); break;
    default: nn_gemm_blas(0, 1, c->M, c->N, c->K, 1, c->fa, c->K, c->fb, c->K, 0, c->fc, c->N);
    }
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* seconds per call: the median of `reps` repetitions, each enough calls in a row to last about
 * min_seconds (the small layer takes microseconds); the median because on a shared machine a
 * repetition now and then is slowed by someone else's job */
static double time_gemm(const gemm_case *c, int reps, double min_seconds)
{
    double t0 = nn_seconds();
    run_gemm(c); /* warm-up, and a first estimate */
    double one = fmax(nn_seconds() - t0, 1e-7), t[32];
    int calls = (int)fmin(10000, fmax(1, ceil(min_seconds / one)));
    if (reps > 32) reps = 32;
    for (int r = 0; r < reps; r++) {
        t0 = nn_seconds();
        for (int k = 0; k < calls; k++) run_gemm(c);
        t[r] = (nn_seconds() - t0) / calls;
    }
    qsort(t, reps, sizeof *t, compare_double);
    return reps % 2 ? t[reps / 2] : 0.5 * (t[reps / 2 - 1] + t[reps / 2]);
}

/* ------------------------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    const char *about =
        "Lesson 17: model compression. Magnitude pruning (with and without masked fine-tuning) "
        "and post-training int8 quantization (per tensor and per channel, integer inference) "
        "of a Fashion-MNIST MLP, and the int8 GEMM timed against float GEMMs.";
    nn_cli cli;
    nn_cli_parse(&cli, 17, about, argc, argv);
    const double start_time = nn_seconds();
    nn_rng rng;
    nn_rng_seed(&rng, cli.seed);
    nn_report report;
    nn_report_init(&report, 17);

    /* --- 1. The float baseline --------------------------------------------------------------- */
    nn_data train, test;
    nn_data_fmnist_load_first(&train, cli.quick ? 5000 : NN_FMNIST_TRAIN_SIZE,
                              &test, cli.quick ? 1000 : NN_FMNIST_TEST_SIZE);
    const int epochs = nn_cli_epochs(&cli, 10, 3);
    const long steps_per_epoch = train.n / BATCH;
    /* fine-tuning after pruning: one epoch (quick: 15 steps), a tenth of the training rate */
    const long finetune_steps = cli.quick ? 15 : steps_per_epoch;

    nn_params ps;
    nn_params_init(&ps);
    mlp net;
    for (int l = 0; l < LAYERS; l++) {
        char name[8];
        snprintf(name, sizeof name, "fc%d", l + 1);
        nn_linear_init(&net.fc[l], &ps, name, SIZES[l], SIZES[l + 1], 1, &rng);
    }
    size_t nweights = 0;
    for (int l = 0; l < LAYERS; l++) nweights += net.fc[l].weight->numel;
    nn_graph *g = nn_graph_new();
    nn_optim opt;
    nn_optim_init(&opt, NN_OPTIM_MOMENTUM, &ps, 0.05f);
    printf("1. MLP 784-256-128-10 on Fashion-MNIST (%d train, %d test): %zu parameters, %zu of "
           "them weights\n   epoch  test acc\n", train.n, test.n, ps.count, nweights);
    double t0 = nn_seconds();
    for (int e = 0; e < epochs; e++) {
        train_steps(&net, &ps, &opt, &train, steps_per_epoch, NULL, &rng, g, "train");
        printf("   %5d  %8.4f\n", e + 1,
               nn_evaluate(g, mlp_fn, &net, &test, EVAL_BATCH, NULL).accuracy);
    }
    const double train_seconds = nn_seconds() - t0;
    nn_optim_free(&opt);
    int *float_pred = nn_malloc(sizeof(int) * test.n), *pred = nn_malloc(sizeof(int) * test.n);
    const double test_accuracy =
        nn_evaluate(g, mlp_fn, &net, &test, EVAL_BATCH, float_pred).accuracy;
    nn_real *trained = nn_malloc(ps.count * sizeof *trained); /* restored before each experiment */
    memcpy(trained, ps.values, ps.count * sizeof *trained);

    /* --- 2. Magnitude pruning ---------------------------------------------------------------- */
    uint8_t *masks[LAYERS];
    for (int l = 0; l < LAYERS; l++) masks[l] = nn_malloc(net.fc[l].weight->numel);
    /* acc[method][before/after fine-tuning][level], method 0 layer-wise, 1 global */
    double acc[2][2][LEVELS], sparsity_pct[LEVELS];
    nn_real pixels[3 * 784]; /* the mean image; fc1's connections at 90%: layer-wise, global */
    double global90_layer_sparsity[LAYERS] = {0};
    long pruned90_csr_bytes = 0;
    double finetune_seconds = 0;
    printf("\n2. Magnitude pruning of the weights (biases kept); fine-tuning: %ld steps of SGD "
           "with momentum, lr 0.005, the mask re-applied after each\n", finetune_steps);
    printf("   sparsity  layer-wise  + fine-tuned  global  + fine-tuned  zeros after\n");
    for (int s = 0; s < LEVELS; s++) {
        sparsity_pct[s] = 100 * SPARSITY[s];
        double zeros = 1;
        for (int global = 0; global <= 1; global++) {
            if (s == 0 && global) { /* nothing pruned: the same experiment twice */
                acc[1][0][0] = acc[0][0][0], acc[1][1][0] = acc[0][1][0];
                continue;
            }
            finetune_seconds += prune_experiment(acc[global][0] + s, acc[global][1] + s, masks,
                                                 &net, &ps, trained, SPARSITY[s], global,
                                                 finetune_steps, &train, &test, g, cli.seed);
            zeros = fmin(zeros, weight_sparsity(&net));
            if (s != AT90) continue;
            pixel_connections(pixels + (1 + global) * 784, masks[0]);
            if (!global) pruned90_csr_bytes = csr_bytes(&net);
            for (int l = 0; global && l < LAYERS; l++)
                global90_layer_sparsity[l] =
                    nn_prune_sparsity(net.fc[l].weight->data, net.fc[l].weight->numel);
        }
        printf("   %7.0f%%  %10.4f  %12.4f  %6.4f  %12.4f  %11.4f\n", sparsity_pct[s],
               acc[0][0][s], acc[0][1][s], acc[1][0][s], acc[1][1][s], s ? zeros : 0);
    }
    printf("   global pruning at 90%% leaves the three layers %.1f%%, %.1f%%, %.1f%% sparse\n",
           100 * global90_layer_sparsity[0], 100 * global90_layer_sparsity[1],
           100 * global90_layer_sparsity[2]);
    memcpy(ps.values, trained, ps.count * sizeof *trained);

    double baseline[2] = {test_accuracy, test_accuracy}, base_x[2] = {0, 100 * SPARSITY[LEVELS - 1]};
    nn_plot_series prune_curves[5] = {
        {"layer-wise, pruned only", sparsity_pct, acc[0][0], LEVELS},
        {"layer-wise + masked fine-tuning", sparsity_pct, acc[0][1], LEVELS},
        {"global, pruned only", sparsity_pct, acc[1][0], LEVELS},
        {"global + masked fine-tuning", sparsity_pct, acc[1][1], LEVELS},
        {"float model", base_x, baseline, 2}};
    nn_plot_lines(cli.out, "pruning_accuracy", "Magnitude pruning of a 784-256-128-10 MLP",
                  "sparsity of the weights (%)", "test accuracy", prune_curves, 5, 0);
    for (int p = 0; p < 784; p++) {
        double sum = 0;
        for (int i = 0; i < train.n; i++) sum += train.x[(size_t)i * 784 + p];
        pixels[p] = (nn_real)(sum / train.n);
    }
    nn_plot_images(cli.out, "pruned_fc1_pixels", "mean image; fc1 links kept at 90%: layer, global",
                   pixels, 3, 28, 28, 3, 1);

    /* --- 3. int8 quantization ---------------------------------------------------------------- */
    /* Calibration: the largest |activation| at each layer's input over a batch of training
     * images sets that layer's activation scale. Anything larger at test time saturates. */
    const int calib_n = cli.quick ? 500 : 1000;
    nn_real act_scale[LAYERS];
    nn_tensor *inputs[LAYERS];
    g->grad = 0;
    mlp_forward(g, &net, nn_graph_input(g, train.x, 2, calib_n, train.dim), inputs);
    for (int l = 0; l < LAYERS; l++) act_scale[l] = nn_quantize_scale(inputs[l]->data, inputs[l]->numel);
    nn_graph_reset(g);
    g->grad = 1;
    printf("\n3. int8 quantization; activation scales from %d training images: %.3g (pixels: "
           "1/127), %.3g, %.3g\n", calib_n, (double)act_scale[0], (double)act_scale[1],
           (double)act_scale[2]);

    /* weights only: the float network run with dequantized weights, to separate the weight
     * error from the activation error */
    double acc_weights_only[2], acc_int8[2], agreement[2];
    long bytes_int8[2];
    for (int pc = 0; pc <= 1; pc++) {
        for (int l = 0; l < LAYERS; l++) {
            nn_tensor *w = net.fc[l].weight;
            int8_t *q = nn_malloc(w->numel);
            nn_real *scales = nn_malloc(sizeof(nn_real) * SIZES[l + 1]);
            nn_quantize_weights(q, scales, w->data, SIZES[l + 1], SIZES[l], pc);
            nn_quantize_dequantize_weights(w->data, q, scales, SIZES[l + 1], SIZES[l]);
            free(q), free(scales);
        }
        acc_weights_only[pc] = nn_evaluate(g, mlp_fn, &net, &test, EVAL_BATCH, NULL).accuracy;
        memcpy(ps.values, trained, ps.count * sizeof *trained);

        int8_mlp q;
        int8_mlp_init(&q, &net, act_scale, pc);
        acc_int8[pc] = int8_mlp_evaluate(&q, &test, pred);
        bytes_int8[pc] = int8_mlp_bytes(&q);
        long same = 0;
        for (int i = 0; i < test.n; i++) same += pred[i] == float_pred[i];
        agreement[pc] = (double)same / test.n;
        int8_mlp_free(&q);
    }
    const long float_bytes = 4L * (long)ps.count;
    printf("   %-34s %10s  %9s  %s\n", "model", "bytes", "test acc", "agrees with float");
    printf("   %-34s %10ld  %9.4f\n", "float32", float_bytes, test_accuracy);
    printf("   %-34s %10ld  %9.4f  %.4f\n", "int8 per tensor (integer path)", bytes_int8[0],
           acc_int8[0], agreement[0]);
    printf("   %-34s %10ld  %9.4f  %.4f\n", "int8 per channel (integer path)", bytes_int8[1],
           acc_int8[1], agreement[1]);
    printf("   %-34s %10s  %9.4f\n", "int8 weights only, per tensor", "", acc_weights_only[0]);
    printf("   %-34s %10s  %9.4f\n", "int8 weights only, per channel", "", acc_weights_only[1]);
    printf("   %-34s %10ld  %9.4f\n", "90% pruned + fine-tuned, CSR", pruned90_csr_bytes,
           acc[0][1][AT90]);

    /* Why per channel: fc1's rows differ in size, and a per-tensor step is set by the largest.
     * Rows sorted by their error per tensor, largest first. */
    double *err_tensor = nn_malloc(sizeof(double) * SIZES[1]), *err_channel = nn_malloc(sizeof(double) * SIZES[1]);
    row_errors(err_tensor, net.fc[0].weight->data, SIZES[1], SIZES[0], 0);
    row_errors(err_channel, net.fc[0].weight->data, SIZES[1], SIZES[0], 1);
    int *rank = nn_malloc(sizeof(int) * SIZES[1]);
    for (int r = 0; r < SIZES[1]; r++) rank[r] = r;
    for (int i = 1; i < SIZES[1]; i++) /* insertion sort by err_tensor, descending */
        for (int j = i; j > 0 && err_tensor[rank[j]] > err_tensor[rank[j - 1]]; j--) {
            int t = rank[j];
            rank[j] = rank[j - 1], rank[j - 1] = t;
        }
    double *sorted_t = nn_malloc(sizeof(double) * SIZES[1]), *sorted_c = nn_malloc(sizeof(double) * SIZES[1]);
    for (int r = 0; r < SIZES[1]; r++) sorted_t[r] = err_tensor[rank[r]], sorted_c[r] = err_channel[rank[r]];
    nn_plot_series err_curves[2] = {{"per tensor", NULL, sorted_t, SIZES[1]},
                                    {"per channel (row)", NULL, sorted_c, SIZES[1]}};
    nn_plot_lines(cli.out, "quant_error_rows",
                  "int8 error of fc1's 256 rows, ||w - s q|| / ||w|| (sorted)",
                  "row (by error per tensor)", "relative error", err_curves, 2, 1);

    /* --- 4. The GEMMs, timed on the layer shapes ---------------------------------------------- */
    /* x W^T for a batch of `rows` test images (a training batch; quick: 32) with the trained
     * weights; the int8 kernel gets them quantized per tensor */
    const int rows = cli.quick ? 32 : BATCH, reps = cli.quick ? 3 : 9;
    const double min_seconds = cli.quick ? 0.003 : 0.05;
    double gops[KERNELS][LAYERS], total_ms[KERNELS] = {0};
    int8_mlp q;
    int8_mlp_init(&q, &net, act_scale, 0);
    nn_real *fa = nn_malloc(sizeof(nn_real) * rows * SIZES[0]), *fc = nn_malloc(sizeof(nn_real) * rows * SIZES[1]);
    int8_t *qa = nn_malloc((size_t)rows * SIZES[0]);
    int32_t *qc = nn_malloc(sizeof(int32_t) * rows * SIZES[1]);
    memcpy(fa, test.x, sizeof(nn_real) * rows * SIZES[0]);
    nn_quantize(qa, fa, (size_t)rows * SIZES[0], act_scale[0]);
    printf("\n4. GEMM x W^T with x (%d, in), W (out, in); median of %d repetitions; GOP/s = "
           "2 M N K / seconds (BLAS on %d threads, the loops on 1)\n", rows, reps,
           nn_get_threads());
    printf("   %-30s", "kernel");
    for (int l = 0; l < LAYERS; l++) printf("  fc%d %dx%dx%d", l + 1, rows, SIZES[l + 1], SIZES[l]);
    printf("  total ms\n");
    for (int k = 0; k < KERNELS; k++) {
        printf("   %-30s", KERNEL_NAMES[k]);
        for (int l = 0; l < LAYERS; l++) {
            gemm_case c = {k, rows, SIZES[l + 1], SIZES[l], qa, q.layer[l].w, fa,
                           net.fc[l].weight->data, qc, fc};
            double sec = time_gemm(&c, reps, min_seconds);
            gops[k][l] = 2.0 * rows * SIZES[l + 1] * SIZES[l] / sec / 1e9;
            total_ms[k] += 1e3 * sec;
            printf("  %8.2f GOP/s", gops[k][l]);
        }
        printf("  %8.3f\n", total_ms[k]);
    }
    int8_mlp_free(&q);
    double speedup_naive = total_ms[KERNEL_NAIVE] / total_ms[KERNEL_INT8];
    double speedup_loop = total_ms[KERNEL_FLOAT_LOOP] / total_ms[KERNEL_INT8];
    double blas_ratio = total_ms[KERNEL_INT8] / total_ms[KERNEL_BLAS];
    printf("   int8 loop vs float loop: %.2fx faster; vs nn_gemm_naive: %.2fx faster; "
           "OpenBLAS sgemm is %.1fx faster than the int8 loop\n", speedup_loop, speedup_naive,
           blas_ratio);
    double heat[KERNELS * LAYERS];
    for (int k = 0; k < KERNELS; k++)
        for (int l = 0; l < LAYERS; l++) heat[k * LAYERS + l] = gops[k][l];
    const char *layer_names[LAYERS] = {"fc1 784->256", "fc2 256->128", "fc3 128->10"};
    char heat_title[96];
    snprintf(heat_title, sizeof heat_title, "GEMM speed, batch %d (GOP/s)", rows);
    nn_plot_heatmap(cli.out, "gemm_speed", heat_title,
                    "layer", "kernel", heat, KERNELS, LAYERS, KERNEL_NAMES, layer_names, "%.2f");

    /* --- Results --------------------------------------------------------------------------- */
    printf("\nResults\n");
    printf("   %-44s %.4f\n", "float test accuracy", test_accuracy);
    printf("   %-44s %.4f / %.4f\n", "int8 per tensor / per channel", acc_int8[0], acc_int8[1]);
    printf("   %-44s %ld -> %ld bytes (%.2fx smaller)\n", "model size float32 -> int8",
           float_bytes, bytes_int8[0], (double)float_bytes / bytes_int8[0]);
    printf("   %-44s %.4f -> %.4f\n", "90% pruned layer-wise, -> fine-tuned",
           acc[0][0][AT90], acc[0][1][AT90]);
    printf("   %-44s %.4f -> %.4f\n", "90% pruned globally, -> fine-tuned", acc[1][0][AT90],
           acc[1][1][AT90]);
    printf("   %-44s %.4f -> %.4f\n", "98% pruned globally, -> fine-tuned",
           acc[1][0][LEVELS - 1], acc[1][1][LEVELS - 1]);
    printf("   %-44s %.1f s + %.1f s\n", "training + fine-tuning time", train_seconds,
           finetune_seconds);
    printf("   figures: %s/\n", cli.out);

    nn_report_add(&report, "test_accuracy", test_accuracy);
    nn_report_add(&report, "int8_test_accuracy", acc_int8[0]);
    nn_report_add(&report, "int8_per_channel_test_accuracy", acc_int8[1]);
    nn_report_add(&report, "int8_agreement", agreement[0]);
    nn_report_add(&report, "pruned90_test_accuracy", acc[0][0][AT90]);
    nn_report_add(&report, "pruned90_finetuned_test_accuracy", acc[0][1][AT90]);
    nn_report_add(&report, "pruned90_global_test_accuracy", acc[1][0][AT90]);
    nn_report_add(&report, "pruned90_global_finetuned_test_accuracy", acc[1][1][AT90]);
    nn_report_add(&report, "pruned98_global_finetuned_test_accuracy", acc[1][1][LEVELS - 1]);
    nn_report_add_int(&report, "float_bytes", float_bytes);
    nn_report_add_int(&report, "int8_bytes", bytes_int8[0]);
    nn_report_add_int(&report, "int8_per_channel_bytes", bytes_int8[1]);
    nn_report_add_int(&report, "pruned90_csr_bytes", pruned90_csr_bytes);
    nn_report_add_timing(&report, "int8_gemm_ms", total_ms[KERNEL_INT8]);
    nn_report_add_timing(&report, "float_loop_gemm_ms", total_ms[KERNEL_FLOAT_LOOP]);
    nn_report_add_timing(&report, "naive_gemm_ms", total_ms[KERNEL_NAIVE]);
    nn_report_add_timing(&report, "blas_gemm_ms", total_ms[KERNEL_BLAS]);
    nn_report_add_timing(&report, "train_seconds", train_seconds);
    nn_report_add_timing(&report, "total_seconds", nn_seconds() - start_time);
    nn_report_finish(&report, cli.out);

    free(err_tensor), free(err_channel), free(rank), free(sorted_t), free(sorted_c);
    free(fa), free(fc), free(qa), free(qc);
    for (int l = 0; l < LAYERS; l++) free(masks[l]);
    free(trained), free(float_pred), free(pred);
    nn_graph_free(g);
    nn_params_free(&ps);
    nn_data_free(&train), nn_data_free(&test);
    return 0;
}
