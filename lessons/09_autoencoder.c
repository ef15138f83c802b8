/* Lesson 09 -- autoencoders: undercomplete, denoising, a 2-D bottleneck, anomaly detection.
 *
 * Concept: an autoencoder is a network trained to output its own input, x -> z = f(x) ->
 * xhat = g(z), through a bottleneck z much smaller than x. It cannot copy, so it must keep
 * what matters most about the data: the encoder f compresses, the decoder g decompresses,
 * and no label is used anywhere. A linear autoencoder trained on squared error learns the
 * principal subspace (PCA, Baldi & Hornik 1989); ReLU layers let it bend that subspace into a
 * curved manifold. A denoising autoencoder (Vincent et al. 2008) sees corrupted inputs and
 * must output the clean ones, so it learns where the data live, not the identity. And a model
 * of "normal" data reconstructs normal inputs well and unfamiliar ones badly: the
 * reconstruction error is an anomaly score.
 *
 * What you will see:
 *   1. an MLP autoencoder 784-256-32-256-784 (ReLU, linear 32-d code, sigmoid output, binary
 *      cross-entropy against the grey values) on Fashion-MNIST: loss curves, and a grid of
 *      test images with their reconstructions next to PCA's with the same 32 numbers;
 *   2. a denoising autoencoder trained on inputs with Gaussian noise (std 0.5, clipped to
 *      [0,1]): grid clean / noisy / plain autoencoder / denoising autoencoder, and how far
 *      each output is from the clean image;
 *   3. a 2-D bottleneck (784-256-2-256-784): the test set scattered by class in the code
 *      plane, beside the first two principal components, computed here by subspace
 *      iteration on the 784x784 covariance matrix with a small Jacobi eigen-solver; how well
 *      a 5-nearest-neighbour vote on the 2 numbers recovers the class in each plane;
 *   4. anomaly detection: an autoencoder trained on nine classes, every test image scored by
 *      its reconstruction error; ROC curve and AUC for the held-out class (Bag), with
 *      PCA's reconstruction error (32 components, fitted on the same nine) as a baseline.
 *
 * Run:  make lesson09                   (full: 20000 train / 10000 test images, 5 epochs per
 *                                        autoencoder; 92 s on the shared 2-core machine)
 *       make lesson09 ARGS="--quick"    (1500 / 1000, 3 epochs; 2-6 s depending on load)
 *       flags: --seed N --epochs N --out DIR --kernels naive|blas --threads N --help
 *
 * Expected (seed 42, measured; see docs/09_autoencoder.md): test reconstruction loss falls
 * from 0.694 to 0.281 nats per pixel (BCE); test MSE per pixel 0.0122 for the 32-d
 * autoencoder against 0.0152 for PCA with 32 components, 0.0313 against 0.0461 with 2; the
 * denoising autoencoder brings noisy inputs (MSE 0.118 from the clean image) to 0.019, the
 * plain one only to 0.068; a 5-NN vote on the 2-d codes recovers the class of 0.62 of the
 * test images (PCA's plane 0.50); held-out Bag found with AUC 0.937 (PCA-32 0.895).
 * --quick: loss 0.694 -> 0.341, MSE 0.034, denoised 0.042, AUC 0.94.
 * Reference points: Hinton & Salakhutdinov 2006 (Science 313), on MNIST: a deep autoencoder
 * reconstructs better than PCA with the same code size (Fig. 2) and its 2-D codes separate
 * the classes where the first two principal components do not (Fig. 3) -- the same picture
 * here, with a much smaller network. Denoising autoencoders: Vincent, Larochelle, Bengio &
 * Manzagol, ICML 2008.
 * Figures and metrics.json go to out/lesson09/.
 */
#include "nn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    DIM = 784, SIDE = 28, CLASSES = 10,
    HIDDEN = 256,      /* the encoder's and the decoder's hidden layer */
    CODE = 32,         /* the undercomplete bottleneck: 784 -> 32 numbers, 24.5x smaller */
    BATCH = 64,
    EVAL_BATCH = 1000,
    HOLDOUT = 8,       /* part 4's anomaly: Bag */
    PCA_EXTRA = 8,     /* subspace iteration carries 8 vectors more than it keeps */
    PCA_ITERS = 40,
    KNN = 5,
    SCATTER_MAX = 3000 /* points drawn in the scatter plots */
};
static const double NOISE_STD = 0.5; /* part 2's Gaussian noise, before clipping to [0,1] */
static const nn_real LEARNING_RATE = 2e-3f; /* Adam */

/* ------------------------------------------------------------------------------------------ */
/* The autoencoder: encoder f and decoder g, two linear layers each, ReLU between.            */
/*                                                                                            */
/*   z    = f(x) = W2 relu(W1 x + b1) + b2          x (784) -> z (code), a linear code        */
/*   s    = g(z) = W4 relu(W3 z + b3) + b4          z -> logits s (784)                      */
/*   xhat = sigmoid(s)                              each pixel's grey value in (0,1)          */
/*                                                                                            */
/* The loss is binary cross-entropy per pixel, the grey value x_i in [0,1] as the target:     */
/*   L = -(1/784) sum_i [ x_i log xhat_i + (1 - x_i) log(1 - xhat_i) ]                       */
/* It is smallest at xhat_i = x_i (its minimum is not 0 for grey pixels: the entropy of x_i),  */
/* and its gradient on the logits is simply (xhat_i - x_i)/784: no vanishing sigmoid slope,   */
/* unlike squared error on sigmoid outputs. nn_bce_with_logits computes it from s directly.   */
/* ------------------------------------------------------------------------------------------ */

typedef struct autoencoder {
    nn_params ps;
    nn_linear_layer enc1, enc2, dec1, dec2;
    int code;
} autoencoder;

static void ae_init(autoencoder *ae, int code, nn_rng *rng)
{
    nn_params_init(&ae->ps);
    ae->code = code;
    nn_linear_init(&ae->enc1, &ae->ps, "enc1", DIM, HIDDEN, 1, rng);
    nn_linear_init(&ae->enc2, &ae->ps, "enc2", HIDDEN, code, 1, rng);
    nn_linear_init(&ae->dec1, &ae->ps, "dec1", code, HIDDEN, 1, rng);
    nn_linear_init(&ae->dec2, &ae->ps, "dec2", HIDDEN, DIM, 1, rng);
}

static nn_tensor *ae_encode(nn_graph *g, const autoencoder *ae, nn_tensor *x)
{
    nn_tensor *h = nn_relu(g, nn_linear(g, &ae->enc1, x)); /* (B,256) */
    return nn_linear(g, &ae->enc2, h);                      /* (B,code) */
}

static nn_tensor *ae_decode(nn_graph *g, const autoencoder *ae, nn_tensor *z)
{
    nn_tensor *h = nn_relu(g, nn_linear(g, &ae->dec1, z)); /* (B,256) */
    return nn_linear(g, &ae->dec2, h);                      /* (B,784) logits */
}

/* ------------------------------------------------------------------------------------------ */
/* Corruption for the denoising autoencoder.                                                  */
/* ------------------------------------------------------------------------------------------ */

/* Gaussian: x~ = clip(x + sigma e, 0, 1), e ~ N(0,1) per pixel (level = sigma).
 * Masking (Vincent et al. 2008): each pixel set to 0 with probability level, else kept.
 * out may equal x. */
typedef enum { NOISE_NONE, NOISE_GAUSSIAN, NOISE_MASK } noise_kind;

static void corrupt(nn_real *out, const nn_real *x, size_t n, noise_kind kind, double level,
                    nn_rng *rng)
{
    for (size_t i = 0; i < n; i++) {
        double v = x[i];
        if (kind == NOISE_GAUSSIAN) v = fmin(1, fmax(0, v + level * nn_rng_normal(rng)));
        if (kind == NOISE_MASK && nn_rng_uniform(rng) < level) v = 0;
        out[i] = (nn_real)v;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Training and evaluation.                                                                   */
/* ------------------------------------------------------------------------------------------ */

/* The autoencoder on n inputs xin (n,784), forward only, EVAL_BATCH at a time, compared with
 * target (n,784) (xin itself, or the clean images when xin is noisy). Returns the mean BCE
 * per pixel; *mse gets the mean squared error per pixel of xhat = sigmoid(s); recon (n,784)
 * gets xhat and err (n) each image's own mean squared error, when not NULL. The per-pixel
 * BCE from a logit s and target t, in the form that never overflows:
 *   l = max(s,0) - s t + log(1 + e^{-|s|}) */
static double ae_evaluate(nn_graph *g, const autoencoder *ae, const nn_real *xin,
                          const nn_real *target, int n, nn_real *recon, nn_real *err,
                          double *mse)
{
    double bce = 0, se = 0;
    g->grad = 0;
    for (int start = 0; start < n; start += EVAL_BATCH) {
        int count = n - start < EVAL_BATCH ? n - start : EVAL_BATCH;
        nn_tensor *x = nn_graph_input(g, xin + (size_t)start * DIM, 2, count, DIM);
        nn_tensor *s = ae_decode(g, ae, ae_encode(g, ae, x));
        for (int i = 0; i < count; i++) {
            const nn_real *si = s->data + (size_t)i * DIM;
            const nn_real *ti = target + (size_t)(start + i) * DIM;
            double image_se = 0;
            for (int j = 0; j < DIM; j++) {
                double z = si[j], t = ti[j], p = 1 / (1 + exp(-z));
                bce += (z > 0 ? z : 0) - z * t + log1p(exp(-fabs(z)));
                image_se += (p - t) * (p - t);
                if (recon) recon[(size_t)(start + i) * DIM + j] = (nn_real)p;
            }
            se += image_se;
            if (err) err[start + i] = (nn_real)(image_se / DIM);
        }
        nn_graph_reset(g);
    }
    g->grad = 1;
    if (mse) *mse = se / ((double)n * DIM);
    return bce / ((double)n * DIM);
}

/* the codes z = f(x) of n images (n,784) -> codes (n, ae->code) */
static void ae_codes(nn_graph *g, const autoencoder *ae, const nn_real *x, int n, nn_real *codes)
{
    g->grad = 0;
    for (int start = 0; start < n; start += EVAL_BATCH) {
        int count = n - start < EVAL_BATCH ? n - start : EVAL_BATCH;
        nn_tensor *z = ae_encode(g, ae, nn_graph_input(g, x + (size_t)start * DIM, 2, count, DIM));
        memcpy(codes + (size_t)start * ae->code, z->data, z->numel * sizeof *codes);
        nn_graph_reset(g);
    }
    g->grad = 1;
}

/* Train with Adam (LEARNING_RATE) on mini-batches of `train`: the input is the image,
 * corrupted by `noise` when asked (fresh noise every time an image is seen), the target
 * always the clean image. curve_train[e] (e = 1..epochs) gets the mean training loss of
 * epoch e; curve_test[e] (e = 0..epochs) the loss on test_in against test_target after e
 * epochs (0: untrained). Returns the seconds spent training. */
static double ae_train(autoencoder *ae, nn_graph *g, const nn_data *train, int epochs,
                       noise_kind noise, double level, const nn_real *test_in,
                       const nn_real *test_target, int ntest, double *curve_train,
                       double *curve_test, const char *label, nn_rng *rng)
{
    nn_optim opt;
    nn_optim_init(&opt, NN_OPTIM_ADAM, &ae->ps, LEARNING_RATE);
    int *order = nn_malloc((size_t)train->n * sizeof *order);
    nn_real *clean = nn_malloc((size_t)BATCH * DIM * sizeof *clean);
    nn_real *input = nn_malloc((size_t)BATCH * DIM * sizeof *input);
    int *labels = nn_malloc(BATCH * sizeof *labels); /* nn_data_batch's; unused */
    double seconds = 0;
    long step = 0;
    curve_train[0] = NAN;
    curve_test[0] = ae_evaluate(g, ae, test_in, test_target, ntest, NULL, NULL, NULL);
    printf("   %-26s epoch  train_loss  test_loss\n", label);
    printf("   %-26s %5d  %10s  %9.4f\n", "", 0, "", curve_test[0]);
    for (int e = 1; e <= epochs; e++) {
        double t0 = nn_seconds(), sum = 0;
        int batches = 0;
        nn_rng_permutation(rng, order, train->n);
        nn_progress bar;
        nn_progress_start(&bar, label, (train->n + BATCH - 1) / BATCH);
        for (int start = 0; start < train->n; start += BATCH, batches++) {
            int count = train->n - start < BATCH ? train->n - start : BATCH;
            nn_data_batch(train, order, start, count, clean, labels);
            corrupt(input, clean, (size_t)count * DIM, noise, level, rng);
            nn_tensor *x = nn_graph_input(g, input, 2, count, DIM);
            nn_tensor *target = nn_graph_input(g, clean, 2, count, DIM);
            nn_tensor *loss = nn_bce_with_logits(g, ae_decode(g, ae, ae_encode(g, ae, x)), target);
            nn_graph_check_finite(g, loss, step++);
            sum += loss->data[0];
            nn_params_zero_grad(&ae->ps);
            nn_backward(g, loss);
            nn_optim_step(&opt);
            nn_graph_reset(g);
            nn_progress_update(&bar, batches + 1, NULL);
        }
        nn_progress_finish(&bar);
        seconds += nn_seconds() - t0;
        curve_train[e] = sum / batches;
        curve_test[e] = ae_evaluate(g, ae, test_in, test_target, ntest, NULL, NULL, NULL);
        printf("   %-26s %5d  %10.4f  %9.4f\n", "", e, curve_train[e], curve_test[e]);
    }
    free(labels), free(input), free(clean), free(order);
    nn_optim_free(&opt);
    return seconds;
}

/* ------------------------------------------------------------------------------------------ */
/* PCA, the linear baseline: the top-k eigenvectors of the covariance matrix.                  */
/*                                                                                            */
/*   mu = mean of the images,  C = (1/(n-1)) sum_i (x_i - mu)(x_i - mu)^T   (784 x 784)        */
/*   C u_j = lambda_j u_j, lambda_1 >= lambda_2 >= ...: u_1 is the direction of largest        */
/*   variance, u_2 the largest orthogonal to it, ...                                          */
/*   code z = U (x - mu) (k numbers),  reconstruction xhat = mu + U^T z                       */
/* Among all rank-k linear maps this xhat has the smallest squared error (Eckart-Young); its   */
/* mean squared error per image is the variance left over, sum_{j>k} lambda_j.                */
/*                                                                                            */
/* Subspace (orthogonal) iteration finds U without a full 784x784 eigen-decomposition: keep   */
/* p = k + 8 orthonormal rows Q, repeat Q <- orthonormalise(Q C). Each product stretches every */
/* direction by its lambda, so the top ones win, at the rate (lambda_{p+1}/lambda_j)^iter.    */
/* At the end a Rayleigh-Ritz step diagonalises the small p x p matrix T = Q C Q^T with       */
/* Jacobi rotations and turns Q into the eigenvectors it spans, sorted by eigenvalue.          */
/* ------------------------------------------------------------------------------------------ */

typedef struct pca {
    int k;
    nn_real mean[DIM];
    nn_real *U;        /* (k,784), orthonormal rows */
    double *lambda;    /* (k) eigenvalues, decreasing */
    double total;      /* trace(C): the total variance */
    double residual;   /* ||C u_1 - lambda_1 u_1|| / lambda_1, a convergence check */
} pca;

/* Cyclic Jacobi for a symmetric n x n matrix A (destroyed): each rotation in the (p,q) plane
 * zeroes A[p,q]; sweeps repeat until the off-diagonal part is negligible. On return the
 * diagonal of A holds the eigenvalues and column j of V (n,n) the eigenvector of A[j,j].
 * The angle: theta = (A_qq - A_pp) / (2 A_pq), t = tan(phi) = sign(theta) / (|theta| +
 * sqrt(theta^2 + 1)) (the smaller root), c = cos(phi), s = sin(phi); A <- J^T A J, V <- V J. */
static void jacobi_eigen(double *A, double *V, int n)
{
    for (int i = 0; i < n * n; i++) V[i] = i % (n + 1) == 0;
    for (int sweep = 0; sweep < 100; sweep++) {
        double off = 0, diag = 0;
        for (int p = 0; p < n; p++) {
            diag += A[p * n + p] * A[p * n + p];
            for (int q = p + 1; q < n; q++) off += A[p * n + q] * A[p * n + q];
        }
        if (off <= 1e-24 * diag) break;
        for (int p = 0; p < n; p++)
            for (int q = p + 1; q < n; q++) {
                double apq = A[p * n + q];
                if (apq == 0) continue;
                double theta = (A[q * n + q] - A[p * n + p]) / (2 * apq);
                double t = (theta >= 0 ? 1 : -1) / (fabs(theta) + sqrt(theta * theta + 1));
                double c = 1 / sqrt(t * t + 1), s = t * c;
                for (int r = 0; r < n; r++) { /* columns p and q: A J */
                    double arp = A[r * n + p], arq = A[r * n + q];
                    A[r * n + p] = c * arp - s * arq, A[r * n + q] = s * arp + c * arq;
                }
                for (int r = 0; r < n; r++) { /* rows p and q: J^T (A J) */
                    double apr = A[p * n + r], aqr = A[q * n + r];
                    A[p * n + r] = c * apr - s * aqr, A[q * n + r] = s * apr + c * aqr;
                }
                for (int r = 0; r < n; r++) {
                    double vrp = V[r * n + p], vrq = V[r * n + q];
                    V[r * n + p] = c * vrp - s * vrq, V[r * n + q] = s * vrp + c * vrq;
                }
            }
    }
}

/* Modified Gram-Schmidt on the p rows of Q (p,784): each row loses its components along the
 * rows before it and is scaled to length 1. */
static void orthonormalise_rows(nn_real *Q, int p)
{
    for (int i = 0; i < p; i++) {
        nn_real *qi = Q + (size_t)i * DIM;
        for (int j = 0; j < i; j++) {
            const nn_real *qj = Q + (size_t)j * DIM;
            double dot = 0;
            for (int d = 0; d < DIM; d++) dot += (double)qi[d] * qj[d];
            for (int d = 0; d < DIM; d++) qi[d] -= (nn_real)(dot * qj[d]);
        }
        double norm = 0;
        for (int d = 0; d < DIM; d++) norm += (double)qi[d] * qi[d];
        norm = sqrt(norm);
        for (int d = 0; d < DIM; d++) qi[d] = (nn_real)(qi[d] / norm);
    }
}

static void pca_fit(pca *pc, const nn_real *x, int n, int k, nn_rng *rng)
{
    int p = k + PCA_EXTRA;
    pc->k = k;
    /* the mean image, then C = (1/(n-1)) X_c^T X_c, 1000 centred rows at a time (one GEMM each) */
    double mean[DIM] = {0};
    for (int i = 0; i < n; i++)
        for (int d = 0; d < DIM; d++) mean[d] += x[(size_t)i * DIM + d];
    for (int d = 0; d < DIM; d++) pc->mean[d] = (nn_real)(mean[d] / n);
    nn_real *C = nn_calloc((size_t)DIM * DIM, sizeof *C);
    nn_real *block = nn_malloc((size_t)EVAL_BATCH * DIM * sizeof *block);
    for (int start = 0; start < n; start += EVAL_BATCH) {
        int count = n - start < EVAL_BATCH ? n - start : EVAL_BATCH;
        for (int i = 0; i < count; i++)
            for (int d = 0; d < DIM; d++)
                block[(size_t)i * DIM + d] = x[(size_t)(start + i) * DIM + d] - pc->mean[d];
        nn_gemm(1, 0, DIM, DIM, count, (nn_real)(1.0 / (n - 1)), block, DIM, block, DIM, 1, C, DIM);
    }
    pc->total = 0;
    for (int d = 0; d < DIM; d++) pc->total += C[d * DIM + d];

    /* subspace iteration: Q (p,784) <- orthonormalise(Q C); C is symmetric, so Q C = (C Q^T)^T */
    nn_real *Q = nn_malloc((size_t)p * DIM * sizeof *Q);
    nn_real *Z = nn_malloc((size_t)p * DIM * sizeof *Z);
    nn_rng_fill_normal(rng, Q, (size_t)p * DIM, 0, 1);
    orthonormalise_rows(Q, p);
    for (int it = 0; it < PCA_ITERS; it++) {
        nn_gemm(0, 0, p, DIM, DIM, 1, Q, DIM, C, DIM, 0, Z, DIM);
        orthonormalise_rows(Z, p);
        nn_real *swap = Q;
        Q = Z, Z = swap;
    }
    /* Rayleigh-Ritz: T = Q C Q^T (p,p) = V diag(lambda) V^T; the eigenvectors are the rows
     * of V^T Q, i.e. row j = sum_r V[r,j] Q[r,:] */
    nn_gemm(0, 0, p, DIM, DIM, 1, Q, DIM, C, DIM, 0, Z, DIM); /* Z = Q C */
    double *T = nn_malloc((size_t)p * p * sizeof *T), *V = nn_malloc((size_t)p * p * sizeof *V);
    for (int i = 0; i < p; i++)
        for (int j = 0; j < p; j++) {
            double dot = 0;
            for (int d = 0; d < DIM; d++)
                dot += (double)Z[(size_t)i * DIM + d] * Q[(size_t)j * DIM + d];
            T[i * p + j] = dot;
        }
    for (int i = 0; i < p; i++) /* symmetrise away the float rounding */
        for (int j = 0; j < i; j++) T[i * p + j] = T[j * p + i] = (T[i * p + j] + T[j * p + i]) / 2;
    jacobi_eigen(T, V, p);
    int *rank = nn_malloc(p * sizeof *rank); /* eigenvalue order, largest first */
    for (int i = 0; i < p; i++) rank[i] = i;
    for (int i = 1; i < p; i++) /* insertion sort on T's diagonal */
        for (int j = i; j > 0 && T[rank[j] * p + rank[j]] > T[rank[j - 1] * p + rank[j - 1]]; j--) {
            int r = rank[j];
            rank[j] = rank[j - 1], rank[j - 1] = r;
        }
    pc->U = nn_calloc((size_t)k * DIM, sizeof *pc->U);
    pc->lambda = nn_malloc(k * sizeof *pc->lambda);
    for (int j = 0; j < k; j++) {
        int col = rank[j];
        pc->lambda[j] = T[col * p + col];
        for (int r = 0; r < p; r++)
            for (int d = 0; d < DIM; d++)
                pc->U[(size_t)j * DIM + d] += (nn_real)(V[r * p + col] * Q[(size_t)r * DIM + d]);
    }
    /* the check: how far is u_1 from being an eigenvector of C? */
    nn_gemm(0, 0, 1, DIM, DIM, 1, pc->U, DIM, C, DIM, 0, Z, DIM); /* Z[0] = u_1 C = (C u_1)^T */
    double res = 0;
    for (int d = 0; d < DIM; d++) {
        double r = Z[d] - pc->lambda[0] * pc->U[d];
        res += r * r;
    }
    pc->residual = sqrt(res) / pc->lambda[0];
    free(rank), free(V), free(T), free(Z), free(Q), free(block), free(C);
}

static void pca_free(pca *pc)
{
    free(pc->U), free(pc->lambda);
}

/* codes (n,k) = (x - mu) U^T = x U^T - (mu U^T), one GEMM; recon (n,784) = mu + codes U when
 * not NULL; err (n) each image's mean squared error when not NULL; returns the mean MSE. */
static double pca_project(const pca *pc, const nn_real *x, int n, nn_real *codes, nn_real *recon,
                          nn_real *err)
{
    nn_real shift[CODE]; /* mu U^T, k <= CODE values */
    nn_gemm(0, 1, 1, pc->k, DIM, 1, pc->mean, DIM, pc->U, DIM, 0, shift, pc->k);
    nn_gemm(0, 1, n, pc->k, DIM, 1, x, DIM, pc->U, DIM, 0, codes, pc->k);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < pc->k; j++) codes[(size_t)i * pc->k + j] -= shift[j];
    nn_real *xhat = recon ? recon : nn_malloc((size_t)n * DIM * sizeof *xhat);
    nn_gemm(0, 0, n, DIM, pc->k, 1, codes, pc->k, pc->U, DIM, 0, xhat, DIM);
    nn_kernel_add_row(xhat, pc->mean, n, DIM);
    double total = 0;
    for (int i = 0; i < n; i++) {
        double se = 0;
        for (int d = 0; d < DIM; d++) {
            double r = xhat[(size_t)i * DIM + d] - x[(size_t)i * DIM + d];
            se += r * r;
        }
        total += se;
        if (err) err[i] = (nn_real)(se / DIM);
    }
    if (!recon) free(xhat);
    return total / ((double)n * DIM);
}

/* ------------------------------------------------------------------------------------------ */
/* Small helpers: k-nearest neighbours in a 2-D plane, figures.                                */
/* ------------------------------------------------------------------------------------------ */

/* Accuracy of a KNN-vote on 2-D points: each query (nq,2) takes the majority class of its KNN
 * nearest reference points (nr,2) (a tie goes to the class with the nearest member). A
 * measure of how well the classes are separated in the plane -- no labels were used to make
 * the plane. */
static double knn_accuracy(const nn_real *ref, const int *ref_y, int nr, const nn_real *query,
                           const int *query_y, int nq)
{
    int right = 0;
    for (int q = 0; q < nq; q++) {
        double best_d[KNN];
        int best_c[KNN], found = 0;
        for (int r = 0; r < nr; r++) {
            double dx = ref[2 * r] - query[2 * q], dy = ref[2 * r + 1] - query[2 * q + 1];
            double d = dx * dx + dy * dy;
            if (found == KNN && d >= best_d[KNN - 1]) continue;
            int at = found < KNN ? found++ : KNN - 1; /* insert, keeping best_d increasing */
            for (; at > 0 && best_d[at - 1] > d; at--)
                best_d[at] = best_d[at - 1], best_c[at] = best_c[at - 1];
            best_d[at] = d, best_c[at] = ref_y[r];
        }
        int votes[CLASSES] = {0}, vote = -1;
        for (int j = 0; j < found; j++) votes[best_c[j]]++;
        for (int j = 0; j < found; j++) /* nearest first: ties go to the nearer class */
            if (vote < 0 || votes[best_c[j]] > votes[vote]) vote = best_c[j];
        right += vote == query_y[q];
    }
    return (double)right / nq;
}

/* one test image of each class: the first of its class in the test set (-1 if none) */
static void first_of_each_class(int *pick, const nn_data *d)
{
    for (int c = 0; c < CLASSES; c++) pick[c] = -1;
    for (int i = 0; i < d->n; i++)
        if (pick[d->y[i]] < 0) pick[d->y[i]] = i;
}

/* copy image `index` of src (or a black image when index < 0) into row `row`, column `col`
 * of a grid of 10-image rows */
static void grid_put(nn_real *grid, int row, int col, const nn_real *src, int index)
{
    nn_real *dst = grid + ((size_t)row * CLASSES + col) * DIM;
    if (index < 0) memset(dst, 0, DIM * sizeof *dst);
    else memcpy(dst, src + (size_t)index * DIM, DIM * sizeof *dst);
}

/* a histogram of log10(score) for the two groups (labels 0/1), as fractions of each group */
static void plot_score_histogram(const char *dir, const nn_real *score, const int *is_anomaly,
                                 int n, const char *anomaly_name)
{
    enum { BINS = 40 };
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < n; i++) {
        double v = log10(fmax(score[i], 1e-12));
        lo = fmin(lo, v), hi = fmax(hi, v);
    }
    double centre[BINS], frac[2][BINS] = {{0}}, count[2] = {0, 0};
    double width = (hi - lo) / BINS + 1e-12;
    for (int b = 0; b < BINS; b++) centre[b] = lo + (b + 0.5) * width;
    for (int i = 0; i < n; i++) {
        int b = (int)((log10(fmax(score[i], 1e-12)) - lo) / width);
        frac[is_anomaly[i]][b < BINS ? b : BINS - 1]++;
        count[is_anomaly[i]]++;
    }
    for (int c = 0; c < 2; c++)
        for (int b = 0; b < BINS; b++) frac[c][b] /= fmax(count[c], 1);
    char label[96];
    snprintf(label, sizeof label, "%s (held out, anomalies)", anomaly_name);
    nn_plot_series s[2] = {{"the nine training classes", centre, frac[0], BINS},
                           {label, centre, frac[1], BINS}};
    nn_plot_lines(dir, "anomaly_scores", "Reconstruction error of the test images, autoencoder "
                  "trained on nine classes", "log10(reconstruction MSE per pixel)",
                  "fraction of the group", s, 2, 0);
}

/* ------------------------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    nn_cli cli;
    nn_cli_parse(&cli, 9, "Lesson 09: autoencoders on Fashion-MNIST -- undercomplete (784-256-32), "
                          "denoising, a 2-D bottleneck against PCA, and anomaly detection by "
                          "reconstruction error (ROC/AUC for a held-out class).", argc, argv);
    nn_rng rng;
    nn_rng_seed(&rng, cli.seed);
    nn_report report;
    nn_report_init(&report, 9);
    double start_time = nn_seconds(), train_seconds = 0;
    const int epochs = nn_cli_epochs(&cli, 5, 3);

    nn_data train, test;
    nn_data_fmnist_load_first(&train, cli.quick ? 1500 : 20000,
                              &test, cli.quick ? 1000 : NN_FMNIST_TEST_SIZE);
    const char *const *names = nn_data_fmnist_classes;
    printf("Fashion-MNIST: %d train / %d test images, %d epochs per autoencoder\n", train.n,
           test.n, epochs);

    nn_graph *g = nn_graph_new();
    double *axis = nn_malloc((size_t)(epochs + 1) * sizeof *axis); /* 0, 1, ..., epochs */
    for (int e = 0; e <= epochs; e++) axis[e] = e;
    double *curves[8]; /* train/test curves of the four autoencoders */
    for (int i = 0; i < 8; i++) curves[i] = nn_malloc((size_t)(epochs + 1) * sizeof *curves[i]);
    size_t test_values = (size_t)test.n * DIM;
    nn_real *recon = nn_malloc(test_values * sizeof *recon);
    int pick[CLASSES];
    first_of_each_class(pick, &test);

    /* ---- 1. the undercomplete autoencoder: 784 -> 32 -> 784 ---- */
    printf("\n1. Undercomplete autoencoder 784-%d-%d-%d-784, BCE on the pixels, Adam\n", HIDDEN,
           CODE, HIDDEN);
    autoencoder ae;
    ae_init(&ae, CODE, &rng);
    train_seconds += ae_train(&ae, g, &train, epochs, NOISE_NONE, 0, test.x, test.x, test.n,
                              curves[0], curves[1], "autoencoder (32-d code)", &rng);
    double ae_mse, ae_bce = ae_evaluate(g, &ae, test.x, test.x, test.n, recon, NULL, &ae_mse);

    /* the linear rival with the same 32 numbers per image */
    pca pc;
    pca_fit(&pc, train.x, train.n, CODE, &rng);
    nn_real *pca_codes = nn_malloc((size_t)test.n * CODE * sizeof *pca_codes);
    nn_real *pca_recon = nn_malloc(test_values * sizeof *pca_recon);
    double pca32_mse = pca_project(&pc, test.x, test.n, pca_codes, pca_recon, NULL);
    double var2 = (pc.lambda[0] + pc.lambda[1]) / pc.total, var32 = 0;
    for (int j = 0; j < CODE; j++) var32 += pc.lambda[j] / pc.total;
    printf("   PCA by subspace iteration (%d iterations, %d vectors): variance explained by 2 "
           "components %.3f, by 32 %.3f; ||C u1 - l1 u1|| / l1 = %.1e\n", PCA_ITERS,
           CODE + PCA_EXTRA, var2, var32, pc.residual);
    printf("   test reconstruction MSE per pixel: autoencoder %.4f, PCA-32 %.4f (BCE %.4f nats)\n",
           ae_mse, pca32_mse, ae_bce);

    /* ---- 2. the denoising autoencoder ---- */
    printf("\n2. Denoising autoencoder: input + N(0, %.1f^2) noise clipped to [0,1], target the "
           "clean image\n", NOISE_STD);
    nn_real *noisy_test = nn_malloc(test_values * sizeof *noisy_test); /* one fixed draw */
    corrupt(noisy_test, test.x, test_values, NOISE_GAUSSIAN, NOISE_STD, &rng);
    autoencoder dae;
    ae_init(&dae, CODE, &rng);
    train_seconds += ae_train(&dae, g, &train, epochs, NOISE_GAUSSIAN, NOISE_STD, noisy_test,
                              test.x, test.n, curves[2], curves[3], "denoising autoencoder", &rng);
    nn_real *ae_on_noisy = nn_malloc(test_values * sizeof *ae_on_noisy);
    nn_real *dae_on_noisy = nn_malloc(test_values * sizeof *dae_on_noisy);
    double noisy_mse = nn_metrics_mse(noisy_test, test.x, (int)test_values), ae_noisy_mse,
           dae_noisy_mse, dae_clean_mse;
    ae_evaluate(g, &ae, noisy_test, test.x, test.n, ae_on_noisy, NULL, &ae_noisy_mse);
    ae_evaluate(g, &dae, noisy_test, test.x, test.n, dae_on_noisy, NULL, &dae_noisy_mse);
    ae_evaluate(g, &dae, test.x, test.x, test.n, NULL, NULL, &dae_clean_mse);
    printf("   MSE per pixel against the clean test images: noisy input %.4f, plain autoencoder "
           "%.4f, denoising autoencoder %.4f\n", noisy_mse, ae_noisy_mse, dae_noisy_mse);
    printf("   the denoising autoencoder on clean inputs: MSE %.4f (plain autoencoder %.4f)\n",
           dae_clean_mse, ae_mse);

    /* ---- 3. a 2-D bottleneck against the first two principal components ---- */
    printf("\n3. A 2-D bottleneck: autoencoder 784-%d-2-%d-784 against PCA's first two "
           "components\n", HIDDEN, HIDDEN);
    autoencoder ae2;
    ae_init(&ae2, 2, &rng);
    train_seconds += ae_train(&ae2, g, &train, epochs, NOISE_NONE, 0, test.x, test.x, test.n,
                              curves[4], curves[5], "autoencoder (2-d code)", &rng);
    nn_real *ae2_recon = nn_malloc(test_values * sizeof *ae2_recon);
    double ae2_mse;
    ae_evaluate(g, &ae2, test.x, test.x, test.n, ae2_recon, NULL, &ae2_mse);
    pca pc2 = pc; /* the first two of the 32 components: a prefix of U and lambda */
    pc2.k = 2;
    nn_real *pca2_test = nn_malloc((size_t)test.n * 2 * sizeof *pca2_test);
    nn_real *pca2_train = nn_malloc((size_t)train.n * 2 * sizeof *pca2_train);
    nn_real *pca2_recon = nn_malloc(test_values * sizeof *pca2_recon);
    double pca2_mse = pca_project(&pc2, test.x, test.n, pca2_test, pca2_recon, NULL);
    pca_project(&pc2, train.x, train.n, pca2_train, NULL, NULL);
    nn_real *ae2_test = nn_malloc((size_t)test.n * 2 * sizeof *ae2_test);
    nn_real *ae2_train = nn_malloc((size_t)train.n * 2 * sizeof *ae2_train);
    ae_codes(g, &ae2, test.x, test.n, ae2_test);
    ae_codes(g, &ae2, train.x, train.n, ae2_train);
    double knn_ae2 = knn_accuracy(ae2_train, train.y, train.n, ae2_test, test.y, test.n);
    double knn_pca2 = knn_accuracy(pca2_train, train.y, train.n, pca2_test, test.y, test.n);
    printf("   test MSE per pixel: autoencoder-2 %.4f, PCA-2 %.4f\n", ae2_mse, pca2_mse);
    printf("   %d-NN accuracy of the test codes (train codes as reference): autoencoder-2 %.3f, "
           "PCA-2 %.3f\n", KNN, knn_ae2, knn_pca2);
    int nscatter = test.n < SCATTER_MAX ? test.n : SCATTER_MAX;
    char full_title[600];
    snprintf(full_title, sizeof full_title, "Autoencoder, 2-d codes of %d test images", nscatter);
    nn_plot_scatter(cli.out, "codes_autoencoder", full_title, ae2_test, test.y, nscatter, names);
    snprintf(full_title, sizeof full_title, "PCA, first two components of %d test images",
             nscatter);
    nn_plot_scatter(cli.out, "codes_pca", full_title, pca2_test, test.y, nscatter, names);

    /* the reconstruction grid: one test image per class, then what each model makes of it */
    nn_real *grid = nn_malloc((size_t)5 * CLASSES * DIM * sizeof *grid);
    for (int c = 0; c < CLASSES; c++) {
        grid_put(grid, 0, c, test.x, pick[c]);
        grid_put(grid, 1, c, recon, pick[c]);
        grid_put(grid, 2, c, pca_recon, pick[c]);
        grid_put(grid, 3, c, ae2_recon, pick[c]);
        grid_put(grid, 4, c, pca2_recon, pick[c]);
    }
    nn_plot_images(cli.out, "reconstructions", "Rows: test input; autoencoder (32-d code); "
                   "PCA 32 components; autoencoder (2-d code); PCA 2 components",
                   grid, 5 * CLASSES, SIDE, SIDE, CLASSES, 0);
    for (int c = 0; c < CLASSES; c++) {
        grid_put(grid, 0, c, test.x, pick[c]);
        grid_put(grid, 1, c, noisy_test, pick[c]);
        grid_put(grid, 2, c, ae_on_noisy, pick[c]);
        grid_put(grid, 3, c, dae_on_noisy, pick[c]);
    }
    nn_plot_images(cli.out, "denoising", "Rows: clean input; noisy input (sigma 0.5, clipped); "
                   "plain autoencoder's output; denoising autoencoder's output",
                   grid, 4 * CLASSES, SIDE, SIDE, CLASSES, 0);

    /* ---- 4. anomaly detection: train on nine classes, score the tenth ---- */
    printf("\n4. Anomaly detection: autoencoder trained without class %d (%s), scored by "
           "reconstruction error\n", HOLDOUT, names[HOLDOUT]);
    nn_data nine = train; /* the training images of the other nine classes */
    nine.x = nn_malloc((size_t)train.n * DIM * sizeof *nine.x);
    nine.y = nn_malloc((size_t)train.n * sizeof *nine.y);
    nine.n = 0;
    for (int i = 0; i < train.n; i++)
        if (train.y[i] != HOLDOUT) {
            memcpy(nine.x + (size_t)nine.n * DIM, train.x + (size_t)i * DIM, DIM * sizeof *nine.x);
            nine.y[nine.n++] = train.y[i];
        }
    autoencoder ae9;
    ae_init(&ae9, CODE, &rng);
    train_seconds += ae_train(&ae9, g, &nine, epochs, NOISE_NONE, 0, test.x, test.x, test.n,
                              curves[6], curves[7], "autoencoder on nine classes", &rng);
    nn_real *score = nn_malloc((size_t)test.n * sizeof *score);
    nn_real *pca_score = nn_malloc((size_t)test.n * sizeof *pca_score);
    int *is_anomaly = nn_malloc((size_t)test.n * sizeof *is_anomaly);
    ae_evaluate(g, &ae9, test.x, test.x, test.n, recon, score, NULL);
    pca pc9;
    pca_fit(&pc9, nine.x, nine.n, CODE, &rng);
    pca_project(&pc9, test.x, test.n, pca_codes, NULL, pca_score);
    double mean_err[2] = {0, 0};
    int count[2] = {0, 0};
    for (int i = 0; i < test.n; i++) {
        is_anomaly[i] = test.y[i] == HOLDOUT;
        mean_err[is_anomaly[i]] += score[i], count[is_anomaly[i]]++;
    }
    double auc = nn_metrics_auc(score, is_anomaly, test.n);
    double pca_auc = nn_metrics_auc(pca_score, is_anomaly, test.n);
    printf("   mean reconstruction MSE: nine training classes %.4f, %s %.4f\n",
           mean_err[0] / count[0], names[HOLDOUT], mean_err[1] / count[1]);
    printf("   AUC of the reconstruction error for %s vs the rest: autoencoder %.3f, PCA-32 "
           "%.3f\n", names[HOLDOUT], auc, pca_auc);
    double *fpr = nn_malloc((size_t)(test.n + 1) * 2 * sizeof *fpr);
    double *tpr = nn_malloc((size_t)(test.n + 1) * 2 * sizeof *tpr);
    int m_ae = nn_metrics_roc(fpr, tpr, NULL, score, is_anomaly, test.n);
    int m_pca = nn_metrics_roc(fpr + test.n + 1, tpr + test.n + 1, NULL, pca_score, is_anomaly,
                               test.n);
    char roc_labels[2][64];
    snprintf(roc_labels[0], sizeof roc_labels[0], "autoencoder (AUC %.3f)", auc);
    snprintf(roc_labels[1], sizeof roc_labels[1], "PCA, 32 components (AUC %.3f)", pca_auc);
    static const double diag[2] = {0, 1};
    nn_plot_series roc[3] = {{roc_labels[0], fpr, tpr, m_ae},
                             {roc_labels[1], fpr + test.n + 1, tpr + test.n + 1, m_pca},
                             {"chance (AUC 0.5)", diag, diag, 2}};
    snprintf(full_title, sizeof full_title, "ROC: is it a %s? (scored by reconstruction error, "
             "trained without it)", names[HOLDOUT]);
    nn_plot_lines(cli.out, "anomaly_roc", full_title, "false positive rate",
                  "true positive rate", roc, 3, 0);
    plot_score_histogram(cli.out, score, is_anomaly, test.n, names[HOLDOUT]);
    /* the held-out class and nine normal images, each above its reconstruction */
    int an = 0, no = 0;
    for (int i = 0; i < test.n && (an < CLASSES || no < CLASSES); i++) {
        if (is_anomaly[i] && an < CLASSES)
            grid_put(grid, 0, an, test.x, i), grid_put(grid, 1, an++, recon, i);
        else if (!is_anomaly[i] && no < CLASSES)
            grid_put(grid, 2, no, test.x, i), grid_put(grid, 3, no++, recon, i);
    }
    for (; an < CLASSES; an++) grid_put(grid, 0, an, NULL, -1), grid_put(grid, 1, an, NULL, -1);
    snprintf(full_title, sizeof full_title, "Autoencoder trained without %s. Rows: %s (held "
             "out); its reconstruction; other test images; their reconstruction",
             names[HOLDOUT], names[HOLDOUT]);
    nn_plot_images(cli.out, "anomaly_examples", full_title, grid, 4 * CLASSES, SIDE, SIDE,
                   CLASSES, 0);

    /* ---- loss curves of all four ---- */
    nn_plot_series loss_curves[5] = {
        {"32-d code, train", axis + 1, curves[0] + 1, epochs},
        {"32-d code, test", axis, curves[1], epochs + 1},
        {"denoising, test (noisy in, clean out)", axis, curves[3], epochs + 1},
        {"2-d code, test", axis, curves[5], epochs + 1},
        {"nine classes, test (all ten)", axis, curves[7], epochs + 1}};
    nn_plot_lines(cli.out, "loss_curves", "Reconstruction loss (BCE per pixel, nats) per epoch",
                  "epoch", "binary cross-entropy per pixel", loss_curves, 5, 0);

    /* ---- results ---- */
    printf("\nResults (test set, MSE per pixel)\n");
    printf("   %-46s %.4f -> %.4f\n", "autoencoder-32 BCE, untrained -> trained", curves[1][0],
           ae_bce);
    printf("   %-46s %.4f (PCA-32 %.4f)\n", "autoencoder-32 MSE", ae_mse, pca32_mse);
    printf("   %-46s %.4f (PCA-2 %.4f)\n", "autoencoder-2 MSE", ae2_mse, pca2_mse);
    printf("   %-46s %.4f / %.4f / %.4f\n", "noisy input / autoencoder / denoising AE", noisy_mse,
           ae_noisy_mse, dae_noisy_mse);
    printf("   %-46s %.3f (PCA-2 %.3f)\n", "5-NN accuracy in the 2-d code plane", knn_ae2,
           knn_pca2);
    snprintf(full_title, sizeof full_title, "anomaly AUC, held-out %s", names[HOLDOUT]);
    printf("   %-46s %.3f (PCA-32 %.3f)\n", full_title, auc, pca_auc);
    printf("   %-46s %.1f s (whole lesson %.1f s)\n", "training time, four autoencoders",
           train_seconds, nn_seconds() - start_time);
    printf("   figures: %s/\n", cli.out);

    nn_report_add(&report, "test_bce", ae_bce);
    nn_report_add(&report, "initial_test_bce", curves[1][0]);
    nn_report_add(&report, "test_mse", ae_mse);
    nn_report_add(&report, "pca32_mse", pca32_mse);
    nn_report_add(&report, "ae2_mse", ae2_mse);
    nn_report_add(&report, "pca2_mse", pca2_mse);
    nn_report_add(&report, "noisy_mse", noisy_mse);
    nn_report_add(&report, "ae_denoise_mse", ae_noisy_mse);
    nn_report_add(&report, "dae_denoise_mse", dae_noisy_mse);
    nn_report_add(&report, "knn_ae2", knn_ae2);
    nn_report_add(&report, "knn_pca2", knn_pca2);
    nn_report_add(&report, "auc", auc);
    nn_report_add(&report, "pca_auc", pca_auc);
    nn_report_add(&report, "pca_residual", pc.residual);
    nn_report_add_timing(&report, "train_seconds", train_seconds);
    nn_report_finish(&report, cli.out);

    free(fpr), free(tpr), free(is_anomaly), free(pca_score), free(score), free(grid);
    free(ae2_train), free(ae2_test), free(pca2_recon), free(pca2_train), free(pca2_test);
    free(ae2_recon), free(dae_on_noisy), free(ae_on_noisy), free(noisy_test), free(pca_recon);
    free(pca_codes), free(recon), free(axis);
    for (int i = 0; i < 8; i++) free(curves[i]);
    pca_free(&pc9), pca_free(&pc);
    nn_params_free(&ae9.ps), nn_params_free(&ae2.ps), nn_params_free(&dae.ps);
    nn_params_free(&ae.ps);
    nn_graph_free(g);
    nn_data_free(&nine), nn_data_free(&train), nn_data_free(&test);
    return 0;
}
