/* nn.h -- the one header of the deepc "nn" library.
 *
 * Layers of the house, bottom to top (each uses only the ones above it in this file):
 *   base      nn_real, errors, checked allocation, RNG            lib/base.c lib/rng.c
 *   kernels   GEMM (naive + BLAS) and the loops the ops need      lib/gemm.c lib/kernels.c
 *   tensor    nn_tensor, the graph's arena                        lib/tensor.c lib/graph.c
 *   autograd  the tape, nn_backward                               lib/graph.c
 *   ops       forward + backward side by side                     lib/ops_*.c
 *   layers    Linear, the parameter store                         lib/linear.c lib/params.c
 *   training  optimizers, gradcheck                               lib/optim.c lib/gradcheck.c
 *   tools     data, plots, npy, report, progress, CLI             lib/data.c lib/plot.c ...
 *
 * Shapes are written in comments as (rows, cols) or (N, C, H, W), PyTorch order.
 */
#ifndef NN_H
#define NN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ------------------------------------------------------------------------------------------ */
/* base                                                                                        */
/* ------------------------------------------------------------------------------------------ */

#ifdef NN_DOUBLE
typedef double nn_real;
#define NN_REAL_NAME "double"
#else
typedef float nn_real;
#define NN_REAL_NAME "float"
#endif

/* Report a user's mistake (bad shape, bad file, bad flag) and stop: prints
 * "error: <message>" (plus "[file:line]" of the library call site) and exits with status 1.
 * Tests may install a handler that longjmps instead, to check that bad input is refused. */
#define nn_fail(...) nn_fail_at(__FILE__, __LINE__, __VA_ARGS__)
_Noreturn void nn_fail_at(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
typedef void (*nn_fail_handler)(const char *message);
nn_fail_handler nn_set_fail_handler(nn_fail_handler handler); /* returns the previous one */
const char *nn_last_error(void); /* message of the most recent nn_fail */

/* Checked allocation: never returns NULL; an impossible request fails naming the caller. */
#define nn_malloc(bytes) nn_malloc_at(__FILE__, __LINE__, (bytes))
#define nn_calloc(count, size) nn_calloc_at(__FILE__, __LINE__, (count), (size))
#define nn_realloc(ptr, bytes) nn_realloc_at(__FILE__, __LINE__, (ptr), (bytes))
void *nn_malloc_at(const char *file, int line, size_t bytes);
void *nn_calloc_at(const char *file, int line, size_t count, size_t size);
void *nn_realloc_at(const char *file, int line, void *ptr, size_t bytes);
/* a * b, failing with `what` in the message if it overflows size_t */
size_t nn_size_mul(size_t a, size_t b, const char *what);
double nn_seconds(void); /* monotonic wall clock */

/* Deterministic RNG: xoshiro256** seeded through splitmix64. Same seed, same stream. */
typedef struct nn_rng {
    uint64_t s[4];
    int has_spare; /* Box-Muller makes normals in pairs */
    double spare;
} nn_rng;
void nn_rng_seed(nn_rng *rng, uint64_t seed);
uint64_t nn_rng_u64(nn_rng *rng);
double nn_rng_uniform(nn_rng *rng);                 /* [0, 1) */
double nn_rng_normal(nn_rng *rng);                  /* mean 0, std 1 */
int nn_rng_int(nn_rng *rng, int n);                 /* uniform in 0..n-1 */
void nn_rng_shuffle(nn_rng *rng, int *a, int n);    /* Fisher-Yates */
void nn_rng_permutation(nn_rng *rng, int *a, int n); /* a = shuffled 0..n-1 */
void nn_rng_fill_uniform(nn_rng *rng, nn_real *x, size_t n, double lo, double hi);
void nn_rng_fill_normal(nn_rng *rng, nn_real *x, size_t n, double mean, double std);
/* out[i] = [u_i < p[i]] with one uniform u_i from rng per value, in order: 1 with probability
 * p[i]. out may equal p; a p[i] outside [0,1] (or NaN) is refused. */
void nn_rng_fill_bernoulli(nn_rng *rng, nn_real *out, const nn_real *p, size_t n);
/* Draws i with probability softmax(logits / temperature)_i, among the top_k largest logits only
 * (top_k 0: all; ties with the k-th largest are kept). temperature < 1 sharpens, > 1 flattens. */
int nn_rng_sample_logits(nn_rng *rng, const nn_real *logits, int n, double temperature, int top_k);

/* ------------------------------------------------------------------------------------------ */
/* kernels: plain loops over nn_real arrays, outputs first, sizes last                         */
/* ------------------------------------------------------------------------------------------ */

typedef enum { NN_KERNELS_NAIVE = 1, NN_KERNELS_BLAS = 2 } nn_kernels;
void nn_set_kernels(nn_kernels which); /* also read from $NN_KERNELS=naive|blas at first use */
nn_kernels nn_get_kernels(void);
const char *nn_kernels_name(nn_kernels which);
/* threads used by BLAS and by OpenMP loops (never both at once); n <= 0 means all cores */
void nn_set_threads(int n);
int nn_get_threads(void);

/* C = alpha * op(A) @ op(B) + beta * C, row-major; op(X) = X or X^T.
 * op(A) is (M,K), op(B) is (K,N), C is (M,N). lda/ldb/ldc are row strides as stored. */
void nn_gemm(int transA, int transB, int M, int N, int K, nn_real alpha, const nn_real *A,
             int lda, const nn_real *B, int ldb, nn_real beta, nn_real *C, int ldc);
void nn_gemm_naive(int transA, int transB, int M, int N, int K, nn_real alpha,
                   const nn_real *A, int lda, const nn_real *B, int ldb, nn_real beta,
                   nn_real *C, int ldc);
void nn_gemm_blas(int transA, int transB, int M, int N, int K, nn_real alpha,
                  const nn_real *A, int lda, const nn_real *B, int ldb, nn_real beta,
                  nn_real *C, int ldc);

/* Row-wise helpers the ops and the hand-written-backprop lessons share. x, out: (rows, cols) */
void nn_kernel_add_row(nn_real *out, const nn_real *row, int rows, int cols);   /* out[r,:] += row */
void nn_kernel_sum_rows(nn_real *out, const nn_real *x, int rows, int cols);    /* out[:] += sum_r x[r,:] */
void nn_kernel_softmax(nn_real *out, const nn_real *x, int rows, int cols);     /* stable; out may be x */
void nn_kernel_log_softmax(nn_real *out, const nn_real *x, int rows, int cols);
int nn_kernel_argmax(const nn_real *x, int n);
/* out[i] = 1 / (1 + e^-x[i]), tanh x[i], gelu x[i] = x[i] Phi(x[i]) (exact GELU), i < n;
 * gelu_backward: dx[i] += dy[i] gelu'(x[i]). Naive kernels: libm in double; fast (float
 * build): SIMD polynomials within a few float ulps of them (lib/kernels.c). Sigmoid and tanh
 * may run in place (out == x). */
void nn_kernel_sigmoid(nn_real *out, const nn_real *x, size_t n);
void nn_kernel_tanh(nn_real *out, const nn_real *x, size_t n);
void nn_kernel_gelu(nn_real *out, const nn_real *x, size_t n);
void nn_kernel_gelu_backward(nn_real *dx, const nn_real *dy, const nn_real *x, size_t n);

/* ------------------------------------------------------------------------------------------ */
/* tensor + autograd                                                                          */
/* ------------------------------------------------------------------------------------------ */

#define NN_MAX_DIMS 6

/* Every op, by name. The op table in lib/graph.c is indexed by this enum and a
 * _Static_assert checks that it has one entry per op. */
typedef enum nn_op {
    NN_OP_NONE = 0, /* a leaf: input, constant or parameter */
    NN_OP_ADD,
    NN_OP_SUB,
    NN_OP_MUL,
    NN_OP_SCALE,
    NN_OP_MATMUL,
    NN_OP_LINEAR,
    NN_OP_SUM,
    NN_OP_MEAN,
    NN_OP_RELU,
    NN_OP_LEAKY_RELU,
    NN_OP_SIGMOID,
    NN_OP_TANH,
    NN_OP_SOFTMAX,
    NN_OP_LOG_SOFTMAX,
    NN_OP_SOFTMAX_CROSS_ENTROPY,
    NN_OP_MSE,
    NN_OP_BCE_WITH_LOGITS,
    NN_OP_RESHAPE,
    NN_OP_TRANSPOSE,
    NN_OP_DROPOUT,
    NN_OP_BATCHNORM,
    NN_OP_LAYERNORM,
    NN_OP_GELU,
    NN_OP_ELU,
    NN_OP_L1_PENALTY,
    NN_OP_L2_PENALTY,
    NN_OP_CONV2D,
    NN_OP_MAXPOOL2D,
    NN_OP_AVGPOOL2D,
    NN_OP_EMBEDDING,
    NN_OP_SLICE,
    NN_OP_VAE_SAMPLE,
    NN_OP_VAE_KL,
    NN_OP_ATTENTION,
    NN_OP_COUNT
} nn_op;

enum { NN_PARAM = 1, NN_REQUIRES_GRAD = 2 };

typedef struct nn_tensor {
    nn_real *data;
    nn_real *grad; /* NULL unless the tensor needs a gradient */
    int ndim;
    int shape[NN_MAX_DIMS];
    size_t numel;
    unsigned flags;            /* NN_PARAM, NN_REQUIRES_GRAD */
    nn_op op;                  /* the op that made it (NN_OP_NONE for leaves) */
    struct nn_tensor *src[3];  /* its inputs */
    int iarg[4];               /* small integer op parameters (axes, ...) */
    nn_real farg[2];           /* small real op parameters (slope, scale, ...) */
    void *saved;               /* what backward needs (labels, masks, statistics) */
    const char *name;          /* for error messages and dumps; may be NULL */
} nn_tensor;

/* The tape: every op appends its output here; the arena owns every intermediate. */
typedef struct nn_arena_block nn_arena_block;
typedef struct nn_graph {
    nn_arena_block *first, *current;
    nn_tensor **tape;
    int ntape, tape_cap;
    int training; /* 1: dropout/batch-norm in training mode (default); 0: evaluation */
    int grad;     /* 1: record for backward (default); 0: forward only */
} nn_graph;

nn_graph *nn_graph_new(void);
void nn_graph_free(nn_graph *g);
void nn_graph_reset(nn_graph *g); /* forget every intermediate, O(1); memory is reused */
void *nn_graph_alloc(nn_graph *g, size_t bytes); /* zeroed arena memory, lives until reset */
/* the same, not zeroed: for scratch that is always written before it is read */
void *nn_graph_alloc_scratch(nn_graph *g, size_t bytes);
/* New zero-filled leaf tensor in the arena: nn_graph_tensor(g, 2, rows, cols) */
nn_tensor *nn_graph_tensor(nn_graph *g, int ndim, ...);
/* New leaf holding a copy of data (numel values): nn_graph_input(g, x, 2, rows, cols) */
nn_tensor *nn_graph_input(nn_graph *g, const nn_real *data, int ndim, ...);
/* Ask for dL/dt of a leaf (e.g. the input image, for saliency maps). */
void nn_graph_require_grad(nn_graph *g, nn_tensor *t);

/* Reverse-mode: loss must be a scalar; seeds dL/dloss = 1 and walks the tape backwards.
 * Gradients accumulate (+=) into every tensor that needs one, parameters included. */
void nn_backward(nn_graph *g, nn_tensor *loss);
/* The NaN/Inf guard: when the loss is not finite, stop with a message naming the step and the
 * first tensor on the tape (in forward order) that holds a NaN or Inf, and the op that made it. */
void nn_graph_check_finite(const nn_graph *g, const nn_tensor *loss, long step);

/* tensor helpers */
size_t nn_shape_numel(int ndim, const int *shape);
const char *nn_shape_str(const nn_tensor *t, char *buf, size_t len); /* "(64,784)" */
int nn_tensor_same_shape(const nn_tensor *a, const nn_tensor *b);
const char *nn_op_name(nn_op op);

/* ------------------------------------------------------------------------------------------ */
/* ops: each returns a new tensor on g; shapes are checked and mistakes named                  */
/* ------------------------------------------------------------------------------------------ */

/* a (..., n) op b: b has a's shape, or b is a row (n) broadcast over every row of a */
nn_tensor *nn_add(nn_graph *g, nn_tensor *a, nn_tensor *b);
nn_tensor *nn_sub(nn_graph *g, nn_tensor *a, nn_tensor *b);
nn_tensor *nn_mul(nn_graph *g, nn_tensor *a, nn_tensor *b);
nn_tensor *nn_scale(nn_graph *g, nn_tensor *a, nn_real s);   /* s * a */
nn_tensor *nn_matmul(nn_graph *g, nn_tensor *a, nn_tensor *b); /* (M,K) @ (K,N) -> (M,N) */
/* x (B,in), weight (out,in), bias (out) or NULL -> (B,out) = x W^T + b */
nn_tensor *nn_linear_op(nn_graph *g, nn_tensor *x, nn_tensor *weight, nn_tensor *bias);
nn_tensor *nn_sum(nn_graph *g, nn_tensor *a);   /* scalar */
nn_tensor *nn_mean(nn_graph *g, nn_tensor *a);  /* scalar */
nn_tensor *nn_relu(nn_graph *g, nn_tensor *a);
nn_tensor *nn_leaky_relu(nn_graph *g, nn_tensor *a, nn_real slope);
nn_tensor *nn_sigmoid(nn_graph *g, nn_tensor *a);
nn_tensor *nn_tanh(nn_graph *g, nn_tensor *a);
nn_tensor *nn_softmax(nn_graph *g, nn_tensor *a);     /* over the last axis */
nn_tensor *nn_log_softmax(nn_graph *g, nn_tensor *a); /* over the last axis */
/* logits (B,C), labels[B] in 0..C-1 -> mean over the batch of -log softmax(logits)[label] */
nn_tensor *nn_softmax_cross_entropy(nn_graph *g, nn_tensor *logits, const int *labels);
nn_tensor *nn_mse(nn_graph *g, nn_tensor *pred, nn_tensor *target); /* mean (p - t)^2 */
/* mean over elements of BCE(sigmoid(logits), targets); targets in [0,1] */
nn_tensor *nn_bce_with_logits(nn_graph *g, nn_tensor *logits, nn_tensor *targets);
nn_tensor *nn_reshape(nn_graph *g, nn_tensor *a, int ndim, ...); /* one size may be -1 */
nn_tensor *nn_transpose(nn_graph *g, nn_tensor *a, int axis0, int axis1);

/* ------------------------------------------------------------------------------------------ */
/* parameters and layers                                                                       */
/* ------------------------------------------------------------------------------------------ */

/* The parameter store: every parameter's values in one contiguous block, every gradient in
 * another, in the same order, so optimizers, clipping and checkpoints are flat loops. */
typedef struct nn_params {
    nn_real *values, *grads;
    size_t count, capacity; /* numbers of nn_real in use / allocated */
    nn_tensor **tensors;    /* owned; each points into values/grads */
    int ntensors;
} nn_params;

void nn_params_init(nn_params *ps);
void nn_params_free(nn_params *ps);
/* Adds a parameter of the given shape, zero-filled; pointers stay valid as the store grows.
 * The name is copied. Layers name theirs "layer.part": "fc1.weight", "block.attn.qkv.bias". */
nn_tensor *nn_params_add(nn_params *ps, const char *name, int ndim, const int *shape);
#define NN_NAME_MAX 128
/* "layer.part" into buf (at most NN_NAME_MAX bytes, cut short beyond); returns buf */
const char *nn_name_join(char buf[NN_NAME_MAX], const char *layer, const char *part);
void nn_params_zero_grad(nn_params *ps);
double nn_params_grad_norm(const nn_params *ps); /* global L2 norm of every gradient */

/* Linear: y = x W^T + b, W (out,in), b (out); W ~ U(-1/sqrt(in), 1/sqrt(in)) like PyTorch */
typedef struct nn_linear_layer {
    nn_tensor *weight, *bias;
    int in, out;
} nn_linear_layer;
void nn_linear_init(nn_linear_layer *layer, nn_params *ps, const char *name, int in, int out,
                    int bias, nn_rng *rng);
nn_tensor *nn_linear(nn_graph *g, const nn_linear_layer *layer, nn_tensor *x);

/* ------------------------------------------------------------------------------------------ */
/* ops and layers for training: dropout, normalisation, penalties, GELU/ELU, augmentation     */
/* ------------------------------------------------------------------------------------------ */

/* Inverted dropout (lib/ops_dropout.c). In training mode (g->training) each element is kept
 * with probability 1-p, the mask drawn from rng, and the kept ones are scaled by 1/(1-p), so
 * E[y] = x and evaluation needs no rescaling: y = x m / (1-p), m_i ~ Bernoulli(1-p).
 * In evaluation mode (g->training == 0) or with p == 0 it returns x itself (no new op).
 * p must be in [0,1). */
nn_tensor *nn_dropout(nn_graph *g, nn_tensor *x, nn_real p, nn_rng *rng);

/* Batch normalisation (lib/ops_norm.c) of x (B,C) per feature, or of x (N,C,H,W) per channel
 * over N, H and W: y = gamma (x - mean) / sqrt(var + eps) + beta, gamma and beta (C) (either
 * may be NULL: 1 and 0). Training mode uses the batch's mean and biased variance and updates
 * running_mean/running_var (plain arrays of C, not parameters) in place, as PyTorch:
 *   running = (1 - momentum) running + momentum batch   (unbiased variance for running_var).
 * Evaluation mode (g->training == 0) normalises with the running statistics instead. */
nn_tensor *nn_batchnorm(nn_graph *g, nn_tensor *x, nn_tensor *gamma, nn_tensor *beta,
                        nn_real *running_mean, nn_real *running_var, nn_real momentum,
                        nn_real eps);
/* Layer normalisation over the last axis (D): y = gamma (x - mean) / sqrt(var + eps) + beta,
 * gamma and beta (D) or NULL; the same in training and evaluation. */
nn_tensor *nn_layernorm(nn_graph *g, nn_tensor *x, nn_tensor *gamma, nn_tensor *beta,
                        nn_real eps);

/* GELU, exact: y = x Phi(x) = 0.5 x (1 + erf(x / sqrt 2)); ELU: y = x if x > 0, else
 * alpha (e^x - 1)   (lib/ops_activation.c) */
nn_tensor *nn_gelu(nn_graph *g, nn_tensor *x);
nn_tensor *nn_elu(nn_graph *g, nn_tensor *x, nn_real alpha);

/* Weight penalties (lib/ops_penalty.c), scalars; add lambda * penalty to the loss.
 *   L1 = sum |t_i|         (subgradient sign(t_i), 0 at 0): pulls every weight towards 0 by a constant step
 *   L2 = 0.5 sum t_i^2     (gradient t_i, so lambda * L2 is SGD weight decay with rate lambda) */
nn_tensor *nn_l1_penalty(nn_graph *g, nn_tensor *t);
nn_tensor *nn_l2_penalty(nn_graph *g, nn_tensor *t);

/* BatchNorm layer (lib/norm.c): gamma (1s) and beta (0s) in the store, running statistics
 * (mean 0s, var 1s) owned by the layer; momentum 0.1 and eps 1e-5 as PyTorch (plain fields).
 * x is (B,features) or (N,features,H,W); g->training chooses batch or running statistics. */
typedef struct nn_batchnorm_layer {
    nn_tensor *gamma, *beta;
    nn_real *running_mean, *running_var; /* (features), owned: nn_batchnorm_free */
    int features;
    nn_real momentum, eps;
} nn_batchnorm_layer;
void nn_batchnorm_init(nn_batchnorm_layer *layer, nn_params *ps, const char *name, int features);
nn_tensor *nn_batchnorm_forward(nn_graph *g, nn_batchnorm_layer *layer, nn_tensor *x);
void nn_batchnorm_free(nn_batchnorm_layer *layer);

/* LayerNorm layer (lib/norm.c) over the last axis of size features; gamma 1s, beta 0s,
 * eps 1e-5. */
typedef struct nn_layernorm_layer {
    nn_tensor *gamma, *beta;
    int features;
    nn_real eps;
} nn_layernorm_layer;
void nn_layernorm_init(nn_layernorm_layer *layer, nn_params *ps, const char *name, int features);
nn_tensor *nn_layernorm_forward(nn_graph *g, const nn_layernorm_layer *layer, nn_tensor *x);

/* Image augmentation (lib/augment.c) on n images (channels,h,w) stored back to back; each
 * image draws its own randomness from rng, so the same seed gives the same images.
 * shift: translate by (dy, dx), each uniform in -max_shift..max_shift, filling with zeros:
 *   the same as padding by max_shift and cropping h x w at a random place.
 * flip: mirror left-right with probability p. For both, out may equal in. */
void nn_augment_shift(nn_real *out, const nn_real *in, int n, int channels, int h, int w,
                      int max_shift, nn_rng *rng);
void nn_augment_flip(nn_real *out, const nn_real *in, int n, int channels, int h, int w,
                     double p, nn_rng *rng);

/* Train/validation split (lib/data_split.c): a random val_count examples of d go to val, the
 * rest to train, both new datasets (deep copies, d's geometry; free with nn_data_free). The
 * order within each follows a permutation drawn from rng. */
struct nn_data;
void nn_data_split(const struct nn_data *d, struct nn_data *train, struct nn_data *val,
                   int val_count, nn_rng *rng);

/* ------------------------------------------------------------------------------------------ */
/* convolution and pooling                                                                     */
/* ------------------------------------------------------------------------------------------ */

/* Kernels (lib/conv2d.c). in (N,C,H,W), weight (OC,C,KH,KW), bias (OC) or NULL,
 * out (N,OC,OH,OW) with OH = (H + 2 pad - KH)/stride + 1 and OW likewise (zero padding):
 *   out[n,o,i,j] = bias[o] + sum_{c,u,v} weight[o,c,u,v] in[n,c, i*stride-pad+u, j*stride-pad+v]
 * naive: direct loops.  im2col: per group of images, cols (C*KH*KW, OH*OW per image) then one
 * nn_gemm out = W @ cols; backward dW += dout @ cols^T, dcols = W^T @ dout, col2im.
 * The im2col versions need `workspace` of nn_conv2d_workspace_size(...) reals (scratch; its
 * contents do not matter between calls). nn_conv2d_forward/backward pick by nn_get_kernels():
 * naive -> direct loops, blas -> im2col + GEMM. Backward accumulates (+=) into dinput,
 * dweight, dbias (each may be NULL). Sizes are not checked here: nn_conv2d_op checks them. */
void nn_conv2d_forward_naive(nn_real *out, const nn_real *in, const nn_real *weight,
                             const nn_real *bias, int N, int C, int H, int W, int OC, int KH,
                             int KW, int stride, int pad);
void nn_conv2d_backward_naive(nn_real *dinput, nn_real *dweight, nn_real *dbias,
                              const nn_real *dout, const nn_real *in, const nn_real *weight,
                              int N, int C, int H, int W, int OC, int KH, int KW, int stride,
                              int pad);
size_t nn_conv2d_workspace_size(int N, int C, int H, int W, int OC, int KH, int KW, int stride,
                                int pad);
void nn_conv2d_forward_im2col(nn_real *out, const nn_real *in, const nn_real *weight,
                              const nn_real *bias, int N, int C, int H, int W, int OC, int KH,
                              int KW, int stride, int pad, nn_real *workspace);
void nn_conv2d_backward_im2col(nn_real *dinput, nn_real *dweight, nn_real *dbias,
                               const nn_real *dout, const nn_real *in, const nn_real *weight,
                               int N, int C, int H, int W, int OC, int KH, int KW, int stride,
                               int pad, nn_real *workspace);
void nn_conv2d_forward(nn_real *out, const nn_real *in, const nn_real *weight,
                       const nn_real *bias, int N, int C, int H, int W, int OC, int KH, int KW,
                       int stride, int pad, nn_real *workspace);
void nn_conv2d_backward(nn_real *dinput, nn_real *dweight, nn_real *dbias, const nn_real *dout,
                        const nn_real *in, const nn_real *weight, int N, int C, int H, int W,
                        int OC, int KH, int KW, int stride, int pad, nn_real *workspace);
/* one image in (C,H,W) -> cols (C*KH*KW, OH*OW) with row stride ldc >= OH*OW:
 *   cols[(c*KH+u)*KW+v, i*OW+j] = in[c, i*stride-pad+u, j*stride-pad+v] (0 in the padding);
 * col2im adds (+=) each entry of dcols back into din (C,H,W) where im2col read it from. */
void nn_conv2d_im2col(nn_real *cols, int ldc, const nn_real *in, int C, int H, int W, int KH,
                      int KW, int stride, int pad);
void nn_conv2d_col2im(nn_real *din, const nn_real *dcols, int ldc, int C, int H, int W, int KH,
                      int KW, int stride, int pad);

/* Pooling kernels (lib/pool.c) over K x K windows moved by stride, no padding:
 * OH = (H - K)/stride + 1. in/din (N,C,H,W), out/dout/argmax (N,C,OH,OW); argmax holds the
 * winner's index y*W + x within its (H,W) plane (first maximum on ties). Backward adds (+=). */
void nn_pool_max_forward(nn_real *out, int *argmax, const nn_real *in, int N, int C, int H,
                         int W, int K, int stride);
void nn_pool_max_backward(nn_real *din, const nn_real *dout, const int *argmax, int N, int C,
                          int H, int W, int OH, int OW);
void nn_pool_avg_forward(nn_real *out, const nn_real *in, int N, int C, int H, int W, int K,
                         int stride);
void nn_pool_avg_backward(nn_real *din, const nn_real *dout, int N, int C, int H, int W, int K,
                          int stride);

/* Ops (lib/ops_conv.c). x (N,C,H,W), weight (OC,C,KH,KW), bias (OC) or NULL ->
 * (N,OC,OH,OW); a kernel larger than the padded input, a channel mismatch, stride < 1 or
 * pad < 0 is refused with the shapes named. The kernel set active when the op is called
 * (naive loops or im2col + GEMM) is used for its forward and its backward; the im2col
 * workspace comes from the graph's arena. */
nn_tensor *nn_conv2d_op(nn_graph *g, nn_tensor *x, nn_tensor *weight, nn_tensor *bias,
                        int stride, int pad);
/* k x k windows, stride 0 means stride = k (PyTorch's default), no padding -> (N,C,OH,OW).
 * Max pool routes each gradient to its window's maximum (argmax saved); avg pool spreads
 * it evenly, 1/k^2 to each input of the window. */
nn_tensor *nn_maxpool2d(nn_graph *g, nn_tensor *x, int k, int stride);
nn_tensor *nn_avgpool2d(nn_graph *g, nn_tensor *x, int k, int stride);
/* (N, d1, d2, ...) -> (N, d1*d2*...), a reshape (lib/ops_conv.c) */
nn_tensor *nn_flatten(nn_graph *g, nn_tensor *x);

/* Conv2d layer (lib/conv2d.c): square kernel, weight (out,in,k,k) and bias (out) in the
 * store, both U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = in k k, like PyTorch's default
 * (kaiming_uniform with a = sqrt(5)). */
typedef struct nn_conv2d_layer {
    nn_tensor *weight, *bias;
    int in_channels, out_channels, kernel, stride, pad;
} nn_conv2d_layer;
void nn_conv2d_init(nn_conv2d_layer *layer, nn_params *ps, const char *name, int in_channels,
                    int out_channels, int kernel, int stride, int pad, nn_rng *rng);
nn_tensor *nn_conv2d(nn_graph *g, const nn_conv2d_layer *layer, nn_tensor *x);

/* ------------------------------------------------------------------------------------------ */
/* training                                                                                    */
/* ------------------------------------------------------------------------------------------ */


/* Central-difference gradient check. `loss` rebuilds the forward pass on g and returns the
 * scalar loss; ctx is passed through. Every element of every tensor in `inputs` (which must
 * be leaves the loss reads: parameters or graph inputs) is perturbed by +-eps. */
typedef nn_tensor *(*nn_gradcheck_fn)(nn_graph *g, void *ctx);
typedef struct nn_gradcheck_result {
    double max_rel_error;  /* worst |analytic - numeric| / max(|analytic|, |numeric|, tiny) */
    double max_abs_error;
    int worst_tensor;      /* index into inputs */
    size_t worst_index;    /* element within that tensor */
    double worst_analytic, worst_numeric;
} nn_gradcheck_result;
nn_gradcheck_result nn_gradcheck(nn_gradcheck_fn loss, void *ctx, nn_tensor **inputs,
                                 int ninputs, double eps);

/* ------------------------------------------------------------------------------------------ */
/* training toolkit: optimizers, schedules, clipping, init, early stopping, checkpoints        */
/* ------------------------------------------------------------------------------------------ */

/* Optimizers over the parameter store (lib/optim.c), PyTorch's update equations so results are
 * comparable with torch.optim. Typical loop:
 *     nn_optim opt; nn_optim_init(&opt, NN_OPTIM_ADAM, &ps, 1e-3);
 *     ... nn_backward(g, loss); nn_optim_step(&opt); nn_params_zero_grad(&ps); ...
 *     nn_optim_free(&opt);
 * Create it after every parameter has been added: the state (m, v) is sized on the first step
 * and a store that grew afterwards is refused. The hyper-parameters are plain fields: set them
 * between init and the first step (or every step, e.g. opt.lr = nn_schedule_lr(&s, opt.step)). */
typedef enum {
    NN_OPTIM_SGD,      /* w -= lr g                          (momentum field 0)        */
    NN_OPTIM_MOMENTUM, /* heavy ball: b = mu b + g; w -= lr b (momentum 0.9)            */
    NN_OPTIM_NESTEROV, /* b = mu b + g; w -= lr (g + mu b)    (momentum 0.9)            */
    NN_OPTIM_ADAGRAD,  /* s += g^2; w -= lr g / (sqrt(s) + eps)          (eps 1e-10)   */
    NN_OPTIM_RMSPROP,  /* v = a v + (1-a) g^2; w -= lr g / (sqrt(v) + eps) (a 0.99)     */
    NN_OPTIM_ADAM,     /* bias-corrected moments (betas 0.9, 0.999, eps 1e-8)           */
    NN_OPTIM_ADAMW,    /* Adam with decoupled weight decay (weight_decay 0.01)          */
    NN_OPTIM_KINDS
} nn_optim_kind;

typedef struct nn_optim {
    nn_optim_kind kind;
    nn_params *params;
    nn_real lr, momentum, beta1, beta2, eps, weight_decay, alpha; /* alpha: RMSprop decay */
    nn_real *m, *v;     /* state, NULL until the first step that needs it */
    size_t state_count; /* numbers in m/v (ps->count at the first step) */
    long step;          /* steps taken so far */
} nn_optim;

void nn_optim_init(nn_optim *o, nn_optim_kind kind, nn_params *ps, nn_real lr);
void nn_optim_step(nn_optim *o); /* one update of every parameter from its gradient */
void nn_optim_free(nn_optim *o);
const char *nn_optim_name(nn_optim_kind k); /* "sgd", "momentum", ..., "adamw" */

/* Learning-rate schedules (lib/schedule.c): a pure function of the step (0-based), so a run
 * resumed from a checkpoint gets the same rates. With warmup_steps = W > 0 the rate rises
 * linearly, base * (step+1)/W for step < W, then the schedule runs on step - W.
 *   STEP         base * gamma^floor(t / step_size)               (StepLR)
 *   EXPONENTIAL  base * gamma^t                                  (ExponentialLR)
 *   COSINE       min + (base - min) (1 + cos(pi t / T)) / 2, t <= T (CosineAnnealingLR), where
 *                T = total_steps - W (total_steps counts the whole run, warm-up included)
 *   CONSTANT     base (with warm-up: warm-up only)
 * e.g. nn_schedule s = {.kind = NN_SCHEDULE_COSINE, .base_lr = 0.1, .total_steps = 1000}; */
typedef enum {
    NN_SCHEDULE_CONSTANT,
    NN_SCHEDULE_STEP,
    NN_SCHEDULE_EXPONENTIAL,
    NN_SCHEDULE_COSINE
} nn_schedule_kind;
typedef struct nn_schedule {
    nn_schedule_kind kind;
    double base_lr;
    long step_size;    /* STEP */
    double gamma;      /* STEP, EXPONENTIAL */
    long total_steps;  /* COSINE */
    double min_lr;     /* COSINE */
    long warmup_steps; /* any kind; 0 for none */
} nn_schedule;
nn_real nn_schedule_lr(const nn_schedule *s, long step);

/* Gradient clipping (lib/clip.c). By global norm: if ||g|| > max_norm every gradient is scaled
 * by max_norm / (||g|| + 1e-6), like torch.nn.utils.clip_grad_norm_; returns ||g|| before
 * clipping (log it: it shows when clipping is active). By value: each g clamped to +-limit. */
double nn_clip_grad_norm(nn_params *ps, double max_norm);
void nn_clip_grad_value(nn_params *ps, double limit);

/* Initialisers (lib/init.c), as torch.nn.init. fan_in / fan_out of a weight (out, in, k...) are
 * in * prod(k) and out * prod(k): (out,in) for Linear, (out,in,kh,kw) for Conv2d. */
typedef enum {
    NN_GAIN_LINEAR,     /* 1 (also for convolutions without activation) */
    NN_GAIN_SIGMOID,    /* 1 */
    NN_GAIN_TANH,       /* 5/3 */
    NN_GAIN_RELU,       /* sqrt(2) */
    NN_GAIN_LEAKY_RELU, /* sqrt(2 / (1 + slope^2)), slope = param */
    NN_GAIN_SELU        /* 3/4 */
} nn_gain;
double nn_init_gain(nn_gain activation, double param); /* param: leaky slope, else ignored */
void nn_init_fans(const nn_tensor *t, double *fan_in, double *fan_out);
/* Xavier/Glorot: Var(w) = gain^2 2/(fan_in + fan_out) */
void nn_init_xavier_uniform(nn_tensor *t, double gain, nn_rng *rng);
void nn_init_xavier_normal(nn_tensor *t, double gain, nn_rng *rng);
/* He/Kaiming (fan_in mode): Var(w) = gain^2 / fan_in; pass nn_init_gain(NN_GAIN_RELU, 0) */
void nn_init_kaiming_uniform(nn_tensor *t, double gain, nn_rng *rng);
void nn_init_kaiming_normal(nn_tensor *t, double gain, nn_rng *rng);

/* Early stopping (lib/earlystop.c): call once per epoch with the validation metric; it keeps
 * a copy of the parameters at the best epoch and says when `patience` epochs in a row have not
 * improved on the best by more than min_delta. */
typedef enum { NN_EARLYSTOP_MINIMIZE, NN_EARLYSTOP_MAXIMIZE } nn_earlystop_mode;
typedef struct nn_earlystop {
    int patience;
    double min_delta;
    nn_earlystop_mode mode;
    double best;        /* best metric so far */
    int best_epoch;     /* -1 before the first update */
    int bad_epochs;     /* epochs since the best */
    nn_real *best_values; /* copy of ps->values at best_epoch */
    size_t count;
} nn_earlystop;
void nn_earlystop_init(nn_earlystop *e, int patience, double min_delta, nn_earlystop_mode mode);
/* returns 1 when training should stop */
int nn_earlystop_update(nn_earlystop *e, nn_params *ps, double metric, int epoch);
void nn_earlystop_restore(const nn_earlystop *e, nn_params *ps); /* best weights back */
void nn_earlystop_free(nn_earlystop *e);

/* Checkpoints (lib/checkpoint.c): the parameter values, the optimizer's state (opt may be
 * NULL) and the epoch, in one little-endian file:
 *   "DEEPCKPT", u32 version 1, u32 sizeof(nn_real), u64 file size, u32 tensor count,
 *   per tensor: u32 ndim, u32 shape[ndim], u32 name length, name;
 *   u64 count, count values; u32 has optimizer [u32 kind, i64 step, 7 f64 hyper-parameters
 *   (lr momentum beta1 beta2 eps weight_decay alpha), u64 state count, u32 has m, u32 has v,
 *   m, v]; i64 epoch; u32 CRC-32 of every byte before it.
 * Saving writes PATH.tmp.<pid>, flushes it to disk, then renames it over PATH, so a crash
 * leaves either the old file or the new one, never half of one. Loading checks everything
 * (magic, version, real size, length, checksum, every shape against ps, optimizer kind)
 * before it changes ps or opt, and refuses a bad file through nn_fail naming the path.
 * Returns the epoch that was saved. */
void nn_checkpoint_save(const char *path, const nn_params *ps, const nn_optim *opt, long epoch);
long nn_checkpoint_load(const char *path, nn_params *ps, nn_optim *opt);
uint32_t nn_checkpoint_crc32(const void *data, size_t n); /* IEEE 802.3 CRC-32, as zlib */

/* ------------------------------------------------------------------------------------------ */
/* data                                                                                        */
/* ------------------------------------------------------------------------------------------ */

/* A labelled dataset: n examples of dim values each (images flattened row-major). */
typedef struct nn_data {
    int n, dim, classes;
    int channels, height, width; /* image geometry, or 0 for non-images */
    nn_real *x;                  /* (n, dim) */
    int *y;                      /* (n) in 0..classes-1 */
} nn_data;
void nn_data_free(nn_data *d);

/* Fashion-MNIST from the shipped IDX .gz files, pixels scaled to [0,1]. Looks in $NN_DATA,
 * datasets/fashion-mnist/, then /usr/share/datasets/fashion-mnist/. */
void nn_data_fmnist_load(nn_data *train, nn_data *test);
/* One IDX image file + its label file (each plain or .gz); every check names the file. */
void nn_data_idx_load(nn_data *d, const char *images_path, const char *labels_path);
/* The first ntrain training and ntest test images of Fashion-MNIST (all of a set when it holds
 * fewer), as nn_data_fmnist_load finds them: how a lesson's quick mode takes less. */
enum { NN_FMNIST_TRAIN_SIZE = 60000, NN_FMNIST_TEST_SIZE = 10000 };
void nn_data_fmnist_load_first(nn_data *train, int ntrain, nn_data *test, int ntest);
/* the ten class names in label order, "T-shirt/top" ... "Ankle boot"; "?" outside 0..9 */
extern const char *const nn_data_fmnist_classes[10];
const char *nn_data_fmnist_class_name(int label);

/* Synthetic 2-D sets (dim 2), deterministic for a given rng state. */
void nn_data_blobs(nn_data *d, int n, int classes, double spread, nn_rng *rng);
void nn_data_xor(nn_data *d, int n, double noise, nn_rng *rng);
void nn_data_spirals(nn_data *d, int n, double noise, nn_rng *rng); /* two arms */
void nn_data_moons(nn_data *d, int n, double noise, nn_rng *rng);
/* First n examples (or fewer) as a new dataset, e.g. a quick-mode subset. */
void nn_data_subset(nn_data *out, const nn_data *d, int n);

/* Copy examples order[start .. start+count) into x (count,dim) and y (count). */
void nn_data_batch(const nn_data *d, const int *order, int start, int count, nn_real *x,
                   int *y);

/* ------------------------------------------------------------------------------------------ */
/* metrics, figures, files, progress, command line                                            */
/* ------------------------------------------------------------------------------------------ */

/* fraction of rows of logits (n, classes) whose argmax equals the label */
double nn_metrics_accuracy(const nn_real *logits, const int *labels, int n, int classes);

/* A classifier as a function: x (n, dim) -> logits (n, classes), built on g (reshape x inside
 * when the model wants images (n, C, H, W)); ctx is passed through (the network's weights). */
typedef nn_tensor *(*nn_model_fn)(nn_graph *g, nn_tensor *x, void *ctx);
typedef struct nn_evaluation {
    double loss;     /* mean cross-entropy over the dataset */
    double accuracy; /* fraction of examples whose largest logit is the label */
} nn_evaluation;
/* The model on all of d (lib/evaluate.c), `batch` examples at a time, forward only and in
 * evaluation mode (dropout off, batch norm on running statistics); g's modes are restored and
 * g is reset. predictions (d->n) gets each example's predicted class when not NULL. */
nn_evaluation nn_evaluate(nn_graph *g, nn_model_fn model, void *ctx, const nn_data *d, int batch,
                          int *predictions);

/* Evaluation (lib/metrics.c), scikit-learn's conventions so every number can be checked
 * against sklearn.metrics. Bad input -- n <= 0, a label outside 0..classes-1, one class only
 * where a curve needs two, a non-finite score -- stops through nn_fail naming the function. */
/* predicted[i] = argmax_j logits[i,j] (first maximum on ties); logits (n, classes) */
void nn_metrics_argmax(int *predicted, const nn_real *logits, int n, int classes);
/* Confusion matrix cm (classes, classes) of counts: cm[t*classes + p] = how many examples of
 * true class t were predicted as p. Rows are the truth, columns the prediction. */
void nn_metrics_confusion(int *cm, const int *labels, const int *predicted, int n, int classes);
/* One class c against the rest, from cm: TP = cm[c,c], FP = rest of column c, FN = rest of
 * row c; precision = TP/(TP+FP), recall = TP/(TP+FN), F1 = 2PR/(P+R) = 2TP/(2TP+FP+FN);
 * a 0/0 is 0 (sklearn's zero_division=0). */
typedef struct nn_metrics_prf {
    double precision, recall, f1;
} nn_metrics_prf;
nn_metrics_prf nn_metrics_class_prf(const int *cm, int classes, int c);
/* the same for every class at once, into arrays (classes); any may be NULL; support = row sum */
void nn_metrics_per_class(double *precision, double *recall, double *f1, int *support,
                          const int *cm, int classes);
/* macro: plain mean over the classes (macro F1 = mean of the per-class F1s); weighted: mean
 * weighted by support; micro: TP, FP, FN summed over classes first -- with one label per
 * example micro precision = recall = F1 = accuracy. */
nn_metrics_prf nn_metrics_macro(const int *cm, int classes);
nn_metrics_prf nn_metrics_weighted(const int *cm, int classes);
nn_metrics_prf nn_metrics_micro(const int *cm, int classes);
/* Binary ranking: scores (n), labels (n) in {0,1}, 1 the positive class; both classes must be
 * present. The threshold is lowered past one distinct score at a time, so tied scores make
 * one step (a diagonal ROC segment). The curves get up to n+1 points in fpr/tpr/thresholds
 * (each may be NULL; returns the count): point 0 is (0,0) at threshold +inf, the last (1,1). */
int nn_metrics_roc(double *fpr, double *tpr, double *thresholds, const nn_real *scores,
                   const int *labels, int n);
/* area under that ROC curve (trapezoids) = Mann-Whitney: P(score of a random positive >
 * score of a random negative), a tie counting 1/2 */
double nn_metrics_auc(const nn_real *scores, const int *labels, int n);
/* one-vs-rest AUC of each class c (scores probs[:,c], positives labels == c) into auc
 * (classes, may be NULL); returns their macro mean. probs (n, classes). */
double nn_metrics_auc_ovr(double *auc, const nn_real *probs, const int *labels, int n,
                          int classes);
/* precision-recall curve over the same thresholds (up to n+1 points, returns the count);
 * point 0 is (recall 0, precision 1) at +inf, as sklearn's precision_recall_curve */
int nn_metrics_pr_curve(double *precision, double *recall, double *thresholds,
                        const nn_real *scores, const int *labels, int n);
/* average precision AP = sum_k (R_k - R_{k-1}) P_k over those points, no interpolation
 * (sklearn's average_precision_score) */
double nn_metrics_average_precision(const nn_real *scores, const int *labels, int n);
/* Regression, pred and target (n): MSE = mean (yhat - y)^2, RMSE = sqrt(MSE),
 * MAE = mean |yhat - y|, R^2 = 1 - sum (y - yhat)^2 / sum (y - mean y)^2 (a constant target
 * is refused: R^2 is undefined). */
double nn_metrics_mse(const nn_real *pred, const nn_real *target, int n);
double nn_metrics_rmse(const nn_real *pred, const nn_real *target, int n);
double nn_metrics_mae(const nn_real *pred, const nn_real *target, int n);
double nn_metrics_r2(const nn_real *pred, const nn_real *target, int n);
/* Index splits, deterministic from rng. Stratified hold-out: exactly test_count indices go to
 * test_idx, each class contributing its share test_count n_c / n (largest-remainder rounding),
 * the other n - test_count to train_idx; both in increasing order. */
void nn_metrics_split_stratified(int *train_idx, int *test_idx, const int *labels, int n,
                                 int classes, int test_count, nn_rng *rng);
/* k-fold: fold[i] in 0..k-1 = the fold in which example i is held out (each exactly once);
 * sizes n/k or n/k + 1. Stratified: every class is spread over the folds to within one. */
void nn_metrics_kfold(int *fold, int n, int k, nn_rng *rng);
void nn_metrics_kfold_stratified(int *fold, const int *labels, int n, int classes, int k,
                                 nn_rng *rng);
/* fold f as index lists: val_idx = {i : fold[i] == f}, train_idx = the rest (n - count),
 * increasing; returns the validation count */
int nn_metrics_fold_indices(int *train_idx, int *val_idx, const int *fold, int n, int f);
/* Plain-text tables. values (nrows, ncols); row_names/col_names may be NULL (numbers);
 * decimals per column or NULL (3 each); a NaN prints as an empty cell. */
void nn_metrics_print_table(FILE *f, const char *const *row_names, int nrows,
                            const char *const *col_names, int ncols, const double *values,
                            const int *decimals);
/* sklearn's classification_report (per class, accuracy, macro avg, weighted avg) and the
 * confusion matrix as a table; class_names may be NULL */
void nn_metrics_print_report(FILE *f, const int *cm, int classes, const char *const *class_names);
void nn_metrics_print_confusion(FILE *f, const int *cm, int classes,
                                const char *const *class_names);

/* Figures: each writes DIR/NAME.dat and DIR/NAME.gp, then runs gnuplot to make DIR/NAME.png
 * when gnuplot is installed (otherwise prints once how to render them later). */
typedef struct nn_plot_series {
    const char *label;
    const double *x, *y; /* x may be NULL: 0, 1, 2, ... */
    int n;
} nn_plot_series;
void nn_plot_lines(const char *dir, const char *name, const char *title, const char *xlabel,
                   const char *ylabel, const nn_plot_series *series, int nseries, int logy);
/* points (n,2) coloured by class; the legend names class k class_names[k] (NULL: "class k") */
void nn_plot_scatter(const char *dir, const char *name, const char *title,
                     const nn_real *points, const int *labels, int n,
                     const char *const *class_names);
/* A decision boundary: predicted class on a grid (gw x gh) over [x0,x1]x[y0,y1] as a heat
 * map, with the data points drawn on top. */
void nn_plot_boundary(const char *dir, const char *name, const char *title,
                      const int *grid_class, int gw, int gh, double x0, double x1, double y0,
                      double y1, const nn_real *points, const int *labels, int n);
/* count images of h x w grey values in [0,1] (or auto-scaled when normalize) in a grid */
void nn_plot_images(const char *dir, const char *name, const char *title,
                    const nn_real *images, int count, int h, int w, int cols, int normalize);
/* A heat map of values (rows, cols), row 0 at the top, each cell labelled with its value in
 * cell_format (a printf format for one double, e.g. "%.2f"; NULL: no labels);
 * row_names / col_names may be NULL (indices). */
void nn_plot_heatmap(const char *dir, const char *name, const char *title, const char *xlabel,
                     const char *ylabel, const double *values, int rows, int cols,
                     const char *const *row_names, const char *const *col_names,
                     const char *cell_format);
/* A confusion matrix cm (classes, classes) as a heat map: colour = fraction of the true class
 * (each row divided by its sum, so the diagonal is each class's recall), text = the count. */
void nn_plot_confusion(const char *dir, const char *name, const char *title, const int *cm,
                       int classes, const char *const *class_names);
/* nn_plot_lines plus series drawn as markers (e.g. fitted curves over the training data) */
void nn_plot_lines_points(const char *dir, const char *name, const char *title,
                          const char *xlabel, const char *ylabel, const nn_plot_series *lines,
                          int nlines, const nn_plot_series *points, int npoints);
int nn_plot_have_gnuplot(void);

/* NumPy .npy writer (little-endian <f4 or <f8 matching nn_real) */
void nn_io_write_npy(const char *path, const nn_real *data, int ndim, const int *shape);
/* Reads a .npy written by nn_io_write_npy or NumPy (C order, '<f4' or '<f8', converted to
 * nn_real); returns a new array (free it) and fills ndim/shape (at most NN_MAX_DIMS axes). */
nn_real *nn_io_read_npy(const char *path, int *ndim, int *shape);
void nn_io_mkdir_p(const char *path);
/* Write path atomically: data goes to path.tmp, then rename(2). */
FILE *nn_io_open_atomic(const char *path, char *tmp_path, size_t tmp_len);
void nn_io_commit_atomic(FILE *f, const char *tmp_path, const char *path);

/* The run report: named results, printed as the final `result:` line and saved to
 * DIR/metrics.json. Wall-clock measurements (seconds, GFLOP/s) are added with
 * nn_report_add_timing: they are printed on the result line too but saved to DIR/timing.json,
 * so that metrics.json holds only what the seed determines and two runs with the same seed and
 * thread count write byte-identical metrics.json files. */
#define NN_REPORT_MAX 32
typedef struct nn_report {
    int lesson;
    int n;
    char key[NN_REPORT_MAX][40];
    double value[NN_REPORT_MAX];
    int is_int[NN_REPORT_MAX];
    int is_timing[NN_REPORT_MAX];
} nn_report;
void nn_report_init(nn_report *r, int lesson);
void nn_report_add(nn_report *r, const char *key, double value);
void nn_report_add_int(nn_report *r, const char *key, long value);
void nn_report_add_timing(nn_report *r, const char *key, double value);
void nn_report_finish(const nn_report *r, const char *dir); /* prints the result: line */

/* Progress bar on stderr, drawn only when stderr is a terminal. */
typedef struct nn_progress {
    const char *label;
    long total, done;
    double start, last_draw;
    int tty;
} nn_progress;
void nn_progress_start(nn_progress *p, const char *label, long total);
void nn_progress_update(nn_progress *p, long done, const char *status); /* status may be NULL */
void nn_progress_finish(nn_progress *p);

/* The lesson command line, shared by every lesson. */
typedef struct nn_cli {
    int lesson;
    int quick;          /* --quick: seconds, for tests and CI */
    uint64_t seed;      /* --seed N (default 42) */
    int epochs;         /* --epochs N (0: the lesson's default) */
    int threads;        /* --threads N (0: all cores) */
    nn_kernels kernels; /* --kernels naive|blas (default blas, or $NN_KERNELS) */
    char out[512];      /* --out DIR (default out/lessonNN) */
    const char *file_flag; /* the lesson's own file option, e.g. "--text" (NULL: none) */
    char file[512];     /* its value, FILE, or "" when not given */
} nn_cli;
/* Parses argv, sets kernels and threads, creates the output directory; --help prints the
 * usage with `about` (one paragraph) and exits 0; a bad flag exits 2 with a message. */
void nn_cli_parse(nn_cli *cli, int lesson, const char *about, int argc, char **argv);
/* The same for a lesson that also reads a data file of its own: `file_flag FILE` (or
 * file_flag=FILE), e.g. "--text" or "--csv", is accepted and stored in cli->file ("" if absent). */
void nn_cli_parse_file(nn_cli *cli, int lesson, const char *about, const char *file_flag, int argc,
                       char **argv);
/* The parsing alone, without side effects: returns 0 (parsed), 1 (--help asked) or 2 (a bad
 * flag, described in err). nn_cli_parse is this plus the usage text, exits and settings. */
int nn_cli_parse_args(nn_cli *cli, int lesson, const char *file_flag, int argc, char **argv,
                      char *err, size_t errlen);
/* epochs to run: --epochs if given, else quick_default or full_default */
int nn_cli_epochs(const nn_cli *cli, int full_default, int quick_default);

/* ------------------------------------------------------------------------------------------ */
/* attributions and adversarial examples (lib/attack.c)                                       */
/* ------------------------------------------------------------------------------------------ */

/* The model under study is an nn_model_fn (see nn_evaluate). The examples must not interact: each function runs forward on its own graph in evaluation
 * mode (g->training = 0). Backward also adds (+=) into the parameters' gradients: zero them
 * (nn_params_zero_grad) before the next training step. Bad input (n or dim < 1, a class
 * outside the logits, a non-finite input, eps < 0, a patch larger than the image, forward
 * returning another shape than (n, classes)) stops through nn_fail naming the function. */
/* Saliency (Simonyan et al. 2014): sal (n, dim), sal_i = d z_{i,c_i} / d x_i, the gradient of
 * each example's class score (its logit for classes[i]) with respect to its own input; one
 * backward pass of sum_i z_{i,c_i}. */
void nn_attack_saliency(nn_real *sal, nn_model_fn forward, void *ctx, const nn_real *x,
                        const int *classes, int n, int dim);
/* grad (n, dim), grad_i = d CE(z_i, labels_i) / d x_i, each example's own loss gradient (the
 * sum, not the mean, over the batch is differentiated); returns the mean loss. */
double nn_attack_loss_grad(nn_real *grad, nn_model_fn forward, void *ctx,
                           const nn_real *x, const int *labels, int n, int dim);
/* The sign step: out = clamp(x + eps sign(grad), lo, hi) over count values, sign(0) = 0;
 * out may equal x. */
void nn_attack_sign_step(nn_real *out, const nn_real *x, const nn_real *grad, size_t count,
                         nn_real eps, nn_real lo, nn_real hi);
/* FGSM (Goodfellow, Shlens & Szegedy 2015): x_adv (n, dim) = clip(x + eps sign(grad_x CE),
 * 0, 1) for pixels in [0, 1], eps >= 0; x_adv may equal x. Returns the clean mean loss. */
double nn_attack_fgsm(nn_real *x_adv, nn_model_fn forward, void *ctx, const nn_real *x,
                      const int *labels, int n, int dim, nn_real eps);
/* Occlusion (Zeiler & Fergus 2014) of images x (n, channels, h, w): a patch x patch square of
 * `fill` (all channels) slides over each image in steps of stride (plus a last step flush
 * with the right and bottom edges); map (n, h, w) = at each pixel, the mean over the patch
 * positions covering it of p(c_i | x_i) - p(c_i | occluded x_i), p = softmax of the logits.
 * Positive: hiding the pixel hurts the class. */
void nn_attack_occlusion(nn_real *map, nn_model_fn forward, void *ctx,
                         const nn_real *x, const int *classes, int n, int channels, int h,
                         int w, int patch, int stride, nn_real fill);

/* ------------------------------------------------------------------------------------------ */
/* compression: magnitude pruning and symmetric int8 quantization (lib/quantize.c)            */
/* ------------------------------------------------------------------------------------------ */

/* Symmetric int8, zero-point 0: q = clamp(round(x / s), -127, 127), x ~ s q, s = max|x| / 127,
 * so |x - s q| <= s/2 inside the calibrated range (round half away from zero). Non-finite
 * values and scales that are not positive and finite are refused through nn_fail. */
nn_real nn_quantize_scale(const nn_real *x, size_t n); /* max|x| / 127, or 1 when that is 0 */
void nn_quantize(int8_t *q, const nn_real *x, size_t n, nn_real scale);
void nn_quantize_dequantize(nn_real *x, const int8_t *q, size_t n, nn_real scale);
/* w (rows,cols) -> q (rows,cols) and scales (rows): per_channel != 0 gives one scale per
 * output row; 0 one scale for the whole matrix, repeated in every scales[r] */
void nn_quantize_weights(int8_t *q, nn_real *scales, const nn_real *w, int rows, int cols,
                         int per_channel);
void nn_quantize_dequantize_weights(nn_real *w, const int8_t *q, const nn_real *scales, int rows,
                                    int cols);
/* qb[j] = round(b[j] / (x_scale w_scales[j])), the bias in units of the int32 sums (n) */
void nn_quantize_bias(int32_t *qb, const nn_real *b, int n, nn_real x_scale,
                      const nn_real *w_scales);
/* C (M,N) = A (M,K) B (N,K)^T + bias (N) or NULL in int32: the naive int8 GEMM. B is laid out
 * like a Linear weight (out,in). K too large for int32 sums (K 128^2 + max|bias| > 2^31-1)
 * is refused. */
void nn_quantize_gemm(int32_t *C, const int8_t *A, const int8_t *B, const int32_t *bias, int M,
                      int N, int K);
/* requantization: out (M,N) = clamp(round(acc multiplier[j]), relu ? 0 : -127, 127), with
 * multiplier[j] = sx sw[j] / sy (the next layer's input scale sy) */
void nn_quantize_requantize(int8_t *out, const int32_t *acc, const nn_real *multiplier, int M,
                            int N, int relu);
/* out (M,N) = scale[j] acc[i,j], scale[j] = sx sw[j]: the last layer's logits back in reals */
void nn_quantize_dequantize_acc(nn_real *out, const int32_t *acc, const nn_real *scale, int M,
                                int N);

/* Magnitude pruning: mask (n) gets 0 for exactly k = round(sparsity n) weights of smallest |w|
 * (ties: lower index first), 1 for the rest; returns k. sparsity outside [0,1] is refused.
 * nn_prune_apply zeroes w where mask is 0 (after every optimizer step while fine-tuning);
 * nn_prune_sparsity is the fraction of exact zeros. */
size_t nn_prune_magnitude(uint8_t *mask, const nn_real *w, size_t n, double sparsity);
void nn_prune_apply(nn_real *w, const uint8_t *mask, size_t n);
double nn_prune_sparsity(const nn_real *w, size_t n);

/* ------------------------------------------------------------------------------------------ */
/* sequences: embedding, slices, RNN/LSTM/GRU cells (lib/ops_sequence.c, lib/rnn.c), text     */
/* corpora (lib/text.c)                                                                        */
/* ------------------------------------------------------------------------------------------ */

/* Embedding lookup (a gather): weight (V,D), ids[n] in 0..V-1 -> (n,D), row i = weight[ids[i]].
 * Backward scatter-adds: dL/dweight[v] += sum over the i with ids[i] = v of dL/dy[i]. The ids
 * are copied; an id outside the table is refused naming its position. */
nn_tensor *nn_embedding_op(nn_graph *g, nn_tensor *weight, const int *ids, int n);
/* x[..., start:start+len, ...] along `axis` (e.g. one gate's columns of (B,4H), or one time
 * step's rows); backward adds the gradient back into those places. */
nn_tensor *nn_slice(nn_graph *g, nn_tensor *x, int axis, int start, int len);

/* Embedding layer (lib/rnn.c): weight (vocab, dim) in the store, N(0,1) as PyTorch. */
typedef struct nn_embedding_layer {
    nn_tensor *weight;
    int vocab, dim;
} nn_embedding_layer;
void nn_embedding_init(nn_embedding_layer *layer, nn_params *ps, const char *name, int vocab,
                       int dim, nn_rng *rng);
nn_tensor *nn_embedding(nn_graph *g, const nn_embedding_layer *layer, const int *ids, int n);

/* Recurrent cells (lib/rnn.c), PyTorch's equations and parameter layout, built from the
 * autograd ops so backpropagation through time runs on the tape (which grows with the
 * sequence: reset it every training step). x (B,input), h and c (B,hidden), s = sigmoid:
 *   TANH: h' = tanh(W_ih x + b_ih + W_hh h + b_hh)                                 (1 block)
 *   LSTM: [i f g o] = W_ih x + b_ih + W_hh h + b_hh, i f o through s, g through tanh;
 *         c' = s(f) c + s(i) tanh(g),  h' = s(o) tanh(c')                           (4 blocks)
 *   GRU:  [r z n] blocks of a = W_ih x + b_ih and b = W_hh h + b_hh;
 *         r = s(a_r + b_r), z = s(a_z + b_z), n = tanh(a_n + r * b_n),
 *         h' = (1 - z) n + z h                                                      (3 blocks)
 * Weights W_ih (blocks*hidden, input), W_hh (blocks*hidden, hidden), biases (blocks*hidden),
 * all U(-1/sqrt(hidden), 1/sqrt(hidden)) like PyTorch, except the LSTM's forget-gate bias:
 * b_ih[f] = 1, b_hh[f] = 0, so the cell starts out remembering (Gers et al. 2000). */
typedef enum { NN_RNN_TANH, NN_RNN_LSTM, NN_RNN_GRU } nn_rnn_kind;
typedef struct nn_rnn_cell {
    nn_rnn_kind kind;
    int input, hidden, blocks; /* blocks: 1, 4 or 3 gate blocks of `hidden` rows each */
    nn_tensor *w_ih, *w_hh, *b_ih, *b_hh;
} nn_rnn_cell;
/* the recurrent state: h, and the LSTM's cell c (NULL for the others); NULL fields are 0s */
typedef struct nn_rnn_state {
    nn_tensor *h, *c;
} nn_rnn_state;
const char *nn_rnn_kind_name(nn_rnn_kind kind); /* "rnn", "lstm", "gru" */
void nn_rnn_cell_init(nn_rnn_cell *cell, nn_params *ps, const char *name, nn_rnn_kind kind,
                      int input, int hidden, nn_rng *rng);
/* one time step: s_t = cell(x_t, s_{t-1}); pass (nn_rnn_state){0} for the zero state */
nn_rnn_state nn_rnn_cell_step(nn_graph *g, const nn_rnn_cell *cell, nn_tensor *x,
                              nn_rnn_state prev);
/* the layer over a sequence: xs[steps], each (B,input); hs[steps] (may be NULL) gets every
 * h_t; returns the final state. After nn_backward, hs[t]->grad holds dL/dh_t. */
nn_rnn_state nn_rnn_forward(nn_graph *g, const nn_rnn_cell *cell, nn_tensor *const *xs,
                            int steps, nn_tensor **hs, nn_rnn_state state);

/* Character-level text corpora (lib/text.c). The text is decoded from UTF-8 into characters
 * (Unicode code points); "\r" is dropped, backspace overstrikes ("_\bX") keep their last
 * character, and other control characters except tab and newline are dropped. The vocabulary
 * is every character that occurs, in code-point order; ids index it. Validation is
 * val_fraction of the text (0 <= val_fraction < 1): spread evenly over the records of a
 * fortune corpus, the tail of a plain file. Empty, binary (NUL bytes), non-UTF-8 and short
 * (fewer than NN_TEXT_MIN_CHARS characters) texts are refused naming the file. */
#define NN_TEXT_MIN_CHARS 1000
typedef struct nn_text {
    int vocab;          /* distinct characters */
    uint32_t *chars;    /* (vocab) code point of each id, increasing */
    int *train, *val;   /* the two parts as ids */
    long ntrain, nval;  /* their lengths in characters */
    int files, records; /* files read, fortunes read (0 for a plain file) */
    char source[512];   /* the file or directory read */
} nn_text;
/* Every fortune file (files without an extension) of dir, NULL meaning $NN_FORTUNES or else
 * /usr/share/games/fortunes, in name order; records are separated by lines holding only "%"
 * and are kept so, each followed by "%\n". A missing directory says to install fortunes. */
void nn_text_load_fortunes(nn_text *t, const char *dir, double val_fraction);
void nn_text_load_file(nn_text *t, const char *path, double val_fraction);
/* the same from len bytes in memory; name stands for the file in messages */
void nn_text_load_memory(nn_text *t, const void *data, size_t len, const char *name,
                         double val_fraction);
void nn_text_free(nn_text *t);
/* batch random windows of the train (val = 0) or validation (val = 1) part, time-major:
 * x[s*batch + b] = text[o_b + s], y[s*batch + b] = text[o_b + s + 1] (the next character),
 * s < len, o_b uniform in 0 .. n-len-1; so x + s*batch is the batch's ids at time step s. */
void nn_text_windows(const nn_text *t, int val, int *x, int *y, int batch, int len,
                     nn_rng *rng);
int nn_text_id(const nn_text *t, uint32_t codepoint); /* its id, or -1 */
/* The unigram baseline a language model must beat: the validation text's cross-entropy in bits
 * per character when every character is predicted by its training frequency alone (add-one
 * smoothing), ignoring all context. */
double nn_text_unigram_bpc(const nn_text *t);
/* writes the characters of ids[n] to f as UTF-8 */
void nn_text_write(FILE *f, const nn_text *t, const int *ids, long n);

/* ------------------------------------------------------------------------------------------ */
/* variational autoencoders (lib/ops_vae.c)                                                   */
/* ------------------------------------------------------------------------------------------ */

/* The reparameterization trick (Kingma & Welling 2014): z = mu + exp(logvar/2) * eps, all of
 * one shape (e.g. (B, latent)), eps ~ N(0, I) a constant the caller fills (nn_rng_fill_normal),
 * so z is differentiable in mu and logvar (and in eps, if eps asks for a gradient). */
nn_tensor *nn_vae_sample(nn_graph *g, nn_tensor *mu, nn_tensor *logvar, nn_tensor *eps);
/* KL(N(mu, diag e^logvar) || N(0, I)) in closed form, mean over the batch: mu and logvar
 * (B, D) -> scalar (1/B) sum_b sum_j 1/2 (mu^2 + e^logvar - 1 - logvar), in nats. */
nn_tensor *nn_vae_kl(nn_graph *g, nn_tensor *mu, nn_tensor *logvar);

/* ------------------------------------------------------------------------------------------ */
/* generative adversarial networks: losses and the ring of Gaussians (lib/gan.c)              */
/* ------------------------------------------------------------------------------------------ */

/* GAN losses on the discriminator's logits l (any shape; real and fake batches may differ in
 * size), D(x) = s(l) = sigmoid(l), built from nn_bce_with_logits so they are on the tape:
 *   discriminator  L_D = BCE(real_logits, r) + BCE(fake_logits, 0)
 *                      = -mean_i [r log D(x_i) + (1-r) log(1 - D(x_i))] - mean_j log(1 - D(G(z_j)))
 *                  with r = real_label: 1, or 0.9 for one-sided label smoothing; r in [0,1];
 *                  dL_D/dreal_i = (s(real_i) - r)/n_real, dL_D/dfake_j = s(fake_j)/n_fake
 *   generator      non_saturating != 0: L_G = -mean_j log D(G(z_j)) = BCE(fake_logits, 1),
 *                      dL_G/dfake_j = (s(fake_j) - 1)/n
 *                  non_saturating == 0 (the minimax term): L_G = mean_j log(1 - D(G(z_j)))
 *                      = -BCE(fake_logits, 0), dL_G/dfake_j = -s(fake_j)/n  (vanishes as s -> 0) */
nn_tensor *nn_gan_discriminator_loss(nn_graph *g, nn_tensor *real_logits, nn_tensor *fake_logits,
                                     nn_real real_label);
nn_tensor *nn_gan_generator_loss(nn_graph *g, nn_tensor *fake_logits, int non_saturating);
/* The ring of Gaussians (Metz et al. 2017): `modes` centres on a circle of `radius`, centre k
 * at angle 2 pi k / modes; each sample picks a centre uniformly and adds N(0, std^2) to each
 * coordinate. x (n, 2). */
void nn_gan_ring_sample(nn_real *x, int n, int modes, double radius, double std, nn_rng *rng);
/* Mode coverage of points x (n, 2) against that ring: each point goes to its nearest centre
 * and is "high quality" if within 3 std of it (distance <= 3 std); counts (modes, may be NULL)
 * = high-quality points per centre; *quality (may be NULL) = fraction of high-quality points
 * (non-finite points count as not). Returns the number of modes covered: counts >= min_count. */
int nn_gan_ring_coverage(const nn_real *x, int n, int modes, double radius, double std,
                         int min_count, double *quality, int *counts);

/* ------------------------------------------------------------------------------------------ */
/* attention and the Transformer (lib/ops_attention.c, lib/transformer.c)                     */
/* ------------------------------------------------------------------------------------------ */

/* Scaled dot-product attention with `heads` heads (Vaswani et al. 2017): q (B,Tq,D), k and v
 * (B,Tk,D), D = heads * dk, head h owning columns [h dk, (h+1) dk); for each example and head
 *     O = softmax(Q K^T / sqrt(dk)) V      -> y (B,Tq,D), the heads side by side again.
 * causal != 0 (needs Tq == Tk) masks the future: query i sees keys 0..i only, the others get
 * probability exactly 0. The probabilities (B,heads,Tq,Tk) are kept for backward; read them
 * with nn_attention_probs(y) (heat maps), valid until the graph is reset. */
nn_tensor *nn_attention(nn_graph *g, nn_tensor *q, nn_tensor *k, nn_tensor *v, int heads,
                        int causal);
const nn_real *nn_attention_probs(const nn_tensor *y);

/* Multi-head self-attention layer: one fused projection to queries, keys and values
 * [q k v] = x W_qkv^T + b_qkv, W_qkv (3D, D), cut apart with nn_slice; nn_attention; then the
 * output projection W_o (D, D) + b_o that mixes the heads. Linear layers as nn_linear_init. */
typedef struct nn_mha_layer {
    nn_linear_layer qkv, proj;
    int dim, heads;
} nn_mha_layer;
void nn_mha_init(nn_mha_layer *layer, nn_params *ps, const char *name, int dim, int heads,
                 nn_rng *rng);
/* x (B,T,D) -> (B,T,D); *attn (when not NULL) gets the nn_attention output, for
 * nn_attention_probs */
nn_tensor *nn_mha_forward(nn_graph *g, const nn_mha_layer *layer, nn_tensor *x, int causal,
                          nn_tensor **attn);

/* Positional encodings, added to the token embeddings x (B,T,D), T <= max_len:
 *   sinusoidal (learned = 0, no parameters): P[t,2i] = sin(t / 10000^(2i/D)),
 *                                            P[t,2i+1] = cos(t / 10000^(2i/D)), D even;
 *   learned (learned = 1): P (max_len, D) is a parameter, N(0,1) at the start (as nn_embedding).
 * nn_posenc_sinusoidal fills table (T,D) with the sinusoids. */
typedef struct nn_posenc_layer {
    nn_tensor *weight; /* (max_len, D) when learned, else NULL */
    int max_len, dim;
} nn_posenc_layer;
void nn_posenc_init(nn_posenc_layer *layer, nn_params *ps, const char *name, int max_len,
                    int dim, int learned, nn_rng *rng);
nn_tensor *nn_posenc_forward(nn_graph *g, const nn_posenc_layer *layer, nn_tensor *x);
void nn_posenc_sinusoidal(nn_real *table, int T, int D);

/* The pre-norm Transformer block (GPT-2; Xiong et al. 2020), x (B,T,D) -> (B,T,D):
 *     x = x + MHA(LN1(x))              attention: each position mixes in the others
 *     x = x + W2 GELU(W1 LN2(x) + b1) + b2   the MLP, W1 (hidden, D), W2 (D, hidden)
 * The residual path carries x through unchanged, so the gradient reaches the bottom of a deep
 * stack undiminished. */
typedef struct nn_transformer_block {
    nn_layernorm_layer ln1, ln2;
    nn_mha_layer attn;
    nn_linear_layer fc, proj;
    int dim, hidden;
} nn_transformer_block;
void nn_transformer_block_init(nn_transformer_block *block, nn_params *ps, const char *name,
                               int dim, int heads, int hidden, nn_rng *rng);
/* *attn as in nn_mha_forward */
nn_tensor *nn_transformer_block_forward(nn_graph *g, const nn_transformer_block *block,
                                        nn_tensor *x, int causal, nn_tensor **attn);

/* ------------------------------------------------------------------------------------------ */
/* restricted Boltzmann machines and the Bernoulli sampler (lib/rbm.c)                        */
/* ------------------------------------------------------------------------------------------ */


/* A binary RBM: E(v,h) = -b.v - c.h - h.W v, v in {0,1}^V, h in {0,1}^H;
 *   p(h_j=1|v) = sigmoid(c_j + W_j.v),  p(v_i=1|h) = sigmoid(b_i + sum_j h_j W_ji),
 *   free energy F(v) = -b.v - sum_j softplus(c_j + W_j.v), p(v) = exp(-F(v)) / Z.
 * W is (hidden, visible) like a Linear weight (out,in). Batches are row-major (n, units);
 * data values must lie in [0,1] (binary pixels, or a lower RBM's probabilities). The update's
 * momentum and weight_decay are plain fields, 0 after init. */
typedef struct nn_rbm {
    int visible, hidden;
    nn_real *W;                    /* (hidden, visible), N(0, 0.01^2) after init */
    nn_real *vbias, *hbias;        /* b (visible), c (hidden); 0 after init */
    nn_real *dW, *dvbias, *dhbias; /* the last update (the momentum's velocity) */
    nn_real momentum, weight_decay;
} nn_rbm;
void nn_rbm_init(nn_rbm *rbm, int visible, int hidden, nn_rng *rng);
void nn_rbm_free(nn_rbm *rbm);
/* b_i = log(p_i / (1 - p_i)), p_i = mean of data (n, visible) column i clamped to [.001,.999] */
void nn_rbm_init_visible_bias(nn_rbm *rbm, const nn_real *data, int n);
void nn_rbm_hidden_probs(const nn_rbm *rbm, nn_real *ph, const nn_real *v, int n);  /* (n,H) */
void nn_rbm_visible_probs(const nn_rbm *rbm, nn_real *pv, const nn_real *h, int n); /* (n,V) */
/* f (n) or NULL gets F(v) of each row of v (n,V); returns their mean */
double nn_rbm_free_energy(const nn_rbm *rbm, nn_real *f, const nn_real *v, int n);
/* recon (n,V) or NULL = p(v | p(h|v)), deterministic; returns mean_rows sum_i (v_i-recon_i)^2 */
double nn_rbm_reconstruct(const nn_rbm *rbm, nn_real *recon, const nn_real *v, int n);
/* `steps` rounds of block Gibbs sampling h ~ p(h|v), v ~ p(v|h) on v (n,V) in place; pv (n,V)
 * or NULL gets the last round's p(v|h) (v itself when steps is 0) */
void nn_rbm_gibbs(const nn_rbm *rbm, nn_real *v, nn_real *pv, int n, int steps, nn_rng *rng);
/* One contrastive-divergence (CD-k) update from the mini-batch v0 (n,V), k >= 1 Gibbs steps:
 *   ph0 = p(h|v0); k times: h ~ B(ph), v ~ B(p(v|h)), ph = p(h|v); ending at v_k, ph_k;
 *   dW = momentum dW + lr ((ph0^T v0 - ph_k^T v_k)/n - weight_decay W);  W += dW
 *   db = momentum db + lr mean_rows(v0 - v_k);  dc = momentum dc + lr mean_rows(ph0 - ph_k)
 * Draws from rng in the order h0, v1, h1, v2, ..., v_k (n*H or n*V uniforms each); rng NULL
 * uses the probabilities instead of samples (deterministic "mean-field" CD). Returns the
 * first step's reconstruction error, mean_rows sum_i (v0_i - p(v_i|h0))^2. */
double nn_rbm_cd_step(nn_rbm *rbm, const nn_real *v0, int n, int k, nn_real lr, nn_rng *rng);
/* layer->weight = W, layer->bias = c: the RBM's p(h|v) as a Linear layer (in visible, out
 * hidden, with bias) followed by a sigmoid; another shape is refused */
void nn_rbm_to_linear(const nn_rbm *rbm, nn_linear_layer *layer);

/* ------------------------------------------------------------------------------------------ */
/* CSV datasets (lib/csv.c)                                                                   */
/* ------------------------------------------------------------------------------------------ */

/* A labelled dataset from a CSV file of numbers: one example per line, comma-separated; one
 * column is the integer class label 0..NN_CSV_MAX_CLASSES-1 (label_column: 0-based, or
 * negative from the end, -1 = the last), the others are the features (d->dim of them, in file
 * order; d->classes = the largest label + 1, at least 2). The first line is a header when none
 * of its fields is a number. Spaces around fields, quoted fields, \r\n line ends, blank lines
 * and a UTF-8 byte-order mark are accepted. A missing, empty or binary file, a field that is
 * not a finite number, a label that is not a class number, a ragged row and sizes past the
 * limits below are refused through nn_fail, naming the file, the line and the column. */
#define NN_CSV_MAX_BYTES (1 << 30) /* 1 GiB of text */
#define NN_CSV_MAX_ROWS 10000000
#define NN_CSV_MAX_COLUMNS 100000
#define NN_CSV_MAX_CLASSES 1000
void nn_csv_load(nn_data *d, const char *path, int label_column);
/* the same from len bytes of text in memory; name stands for the file in messages */
void nn_csv_parse(nn_data *d, const char *text, size_t len, const char *name, int label_column);

#endif /* NN_H */
