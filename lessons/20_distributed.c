/* Lesson 20 -- distributed data-parallel training with MPI.
 *
 * Concept: P copies of the same network (one per MPI process, a "rank") start from identical
 * weights; at every step each rank computes the gradient on its own slice of the mini-batch,
 * one all-reduce averages the P gradients, and every rank applies the same update. Because
 * the loss is a mean over examples, the average of P local means over B examples each IS the
 * mean over the global batch of P*B: synchronous data-parallel SGD with P ranks is exactly
 * single-process SGD with batch P*B, only faster -- if the all-reduce is cheap enough.
 *
 * What you will see:
 *   1. an MLP 784-256-10 trained on Fashion-MNIST by P ranks, each reading its own strided
 *      shard of every epoch's shuffled order (PyTorch's DistributedSampler), local batch 128,
 *      one MPI_Allreduce per step over the whole gradient block of the parameter store;
 *   2. the check: at a dozen steps rank 0 computes the gradient of the whole global batch by
 *      itself at the same weights -- it equals the all-reduced one to float rounding (~5e-7
 *      relative); then rank 0 replays all the steps alone with batch P*128: the loss curves
 *      coincide and the weights agree to ~3e-7 after 96 steps -- and later drift apart exactly
 *      as far as the same one-process run drifts from itself when each batch is summed in
 *      reverse order (training amplifies rounding; it is not an error);
 *   3. the time of a step split into compute and communication (MPI_Wtime around the
 *      all-reduce), and the speed-up over one process (runs with NP=1, 2, 4 accumulate);
 *   4. latency and bandwidth measured by a ping-pong between ranks 0 and 1, and with them the
 *      cost of naive, tree and ring all-reduce for many more ranks than this machine has.
 *
 * Run:  make lesson20                       (2 ranks, 60000 / 10000 images, 10 epochs)
 *       make lesson20 ARGS="--quick"        (8192 / 1000 images, 3 epochs, seconds)
 *       NP=4 make lesson20 ARGS="--quick"   (4 ranks; on 2 cores they take turns)
 *       mpirun -np 2 ./build/lesson20 --quick   (by hand; ./build/lesson20 alone is P = 1)
 *       flags: --seed N --epochs N --out DIR --kernels naive|blas --threads N (per rank,
 *       default 1) --help
 *
 * Expected (seed 42, 2 ranks, measured): all-reduced gradient = one-process gradient to 6e-7
 * (relative); weights equal to 9e-8 after 96 steps (3e-7 in --quick); after 2340 steps both
 * the distributed run and the reordered one-process run have drifted 0.15 from the first
 * one-process run; replicas identical (0); test accuracy 0.859 (one process 0.855; --quick
 * 0.781). Times (shared 2-core machine, noisy): compute 1.8-2.0 ms + all-reduce 0.25-0.45 ms
 * per step against 2.8-3.0 ms for one process with batch 256: a speed-up of ~1.4 on the
 * steps where both ranks had a core to themselves (step_time.png), but a median of 0.3-0.9
 * while other programs kept one core busy (a rank that loses its core stalls both, every
 * step: synchronous SGD runs at the pace of the slowest rank); ping-pong latency 0.15-0.4 us, bandwidth 2-7 GB/s; ring model of the all-reduce
 * within 20% of the measured time. Full run ~45 s, --quick ~4.5 s.
 * References: Goyal et al. 2017, "Accurate, Large Minibatch SGD: Training ImageNet in 1 Hour"
 * (linear scaling rule, warm-up); Patarasuk & Yuan 2009 and Thakur, Rabenseifner & Gropp 2005
 * (all-reduce algorithms and their costs); the MLP's accuracy: lesson 02 (0.886 with 784-256-
 * 128-10), MLPClassifier 0.871 in Xiao, Rasul & Vollgraf 2017. Figures, metrics.json and
 * scaling.txt go to out/lesson20/.
 */
#include "nn.h"

#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef NN_DOUBLE
#define MPI_NN_REAL MPI_DOUBLE
#else
#define MPI_NN_REAL MPI_FLOAT
#endif

enum { HIDDEN = 256, CLASSES = 10, LOCAL_BATCH = 128, MAX_MARKS = 24, MAX_P = 64 };
static const double LR_PER_256 = 0.05; /* SGD with momentum 0.9: lr 0.05 per 256 examples */

static int rank, nranks; /* who am I, how many are we: MPI_Comm_rank / MPI_Comm_size */

/* Any rank's nn_fail (bad file, NaN loss, ...) must stop every rank, or the others would wait
 * forever inside the next all-reduce: print the message and abort the whole job. */
static void abort_all_ranks(const char *message)
{
    fflush(stdout);
    fprintf(stderr, "error: rank %d of %d: %s -- stopping all ranks\n", rank, nranks, message);
    MPI_Abort(MPI_COMM_WORLD, 1);
}

/* ------------------------------------------------------------------------------------------ */
/* The model: an MLP 784-256-10 with ReLU, its parameters in one store (values, grads).       */
/* ------------------------------------------------------------------------------------------ */

typedef struct mlp {
    nn_params ps;
    nn_linear_layer fc1, fc2;
} mlp;

static void mlp_init(mlp *m, nn_rng *rng)
{
    nn_params_init(&m->ps);
    nn_linear_init(&m->fc1, &m->ps, "fc1", 784, HIDDEN, 1, rng);
    nn_linear_init(&m->fc2, &m->ps, "fc2", HIDDEN, CLASSES, 1, rng);
}

static nn_tensor *mlp_forward(nn_graph *g, const mlp *m, nn_tensor *x)
{
    return nn_linear(g, &m->fc2, nn_relu(g, nn_linear(g, &m->fc1, x))); /* (B,10) logits */
}

/* ------------------------------------------------------------------------------------------ */
/* One training run. The distributed run and the one-process runs are the same loop:          */
/*                                                                                            */
/*   every process draws the same permutation `order` of the n examples each epoch (same      */
/*   seed), and shard r of S reads order[r], order[r+S], order[r+2S], ... (a strided shard);   */
/*   at step s it takes the next B of its shard:  order[(s B + j) S + r],  j = 0..B-1.        */
/*   Over all S ranks that is order[s B S .. (s+1) B S): the global batch of the one-process  */
/*   run (S = 1, batch B S) at the same step -- the same examples, split P ways.               */
/*                                                                                            */
/*   gradient of rank r:  g_r = (1/B) sum_{j in batch r} dL_j/dw      (a local mean)           */
/*   all-reduce, then /P: g = (1/P) sum_r g_r = (1/(P B)) sum_{all P B} dL_j/dw               */
/*                        = the one-process gradient on its batch of P B.                     */
/* ------------------------------------------------------------------------------------------ */

typedef struct run {
    int shards, shard;      /* read shard `shard` of `shards` (one process: shard 0 of 1) */
    int batch;              /* examples per step in this process */
    int reverse;            /* 1: each batch's examples in reverse order (same sum, new rounding) */
    int steps_per_epoch, epochs;
    int allreduce;          /* 1: average the gradients over MPI_COMM_WORLD; 0: alone */
    nn_schedule lr;         /* the learning rate of each step, the same in every run */
    uint64_t data_seed;     /* the epochs' permutations, the same in every run */
    mlp *check;             /* rank 0 of the distributed run: a second model for the check */
    int keep_marks;         /* copy the parameters after each mark step */
    /* filled by train(): per step the local loss, seconds computing and in the all-reduce */
    double *loss, *compute, *comm;
    int nmarks;
    long mark_step[MAX_MARKS];       /* the steps after which we look */
    nn_real *mark_values[MAX_MARKS]; /* the parameters then (keep_marks) */
    double grad_diff[MAX_MARKS];     /* check: max|g_allreduced - g_one| / max|g_one| */
} run;

static double max_abs_diff(const nn_real *a, const nn_real *b, size_t n)
{
    double d = 0;
    for (size_t i = 0; i < n; i++) d = fmax(d, fabs((double)a[i] - (double)b[i]));
    return d;
}

/* loss of the n examples idx[0..n), and its gradient in m's store (zeroed first) */
static double forward_backward(nn_graph *g, mlp *m, const nn_data *d, const int *idx, int n,
                               nn_real *xb, int *yb, long step)
{
    nn_data_batch(d, idx, 0, n, xb, yb);
    nn_tensor *x = nn_graph_input(g, xb, 2, n, d->dim);
    nn_tensor *loss = nn_softmax_cross_entropy(g, mlp_forward(g, m, x), yb);
    nn_graph_check_finite(g, loss, step);
    double value = loss->data[0];
    nn_params_zero_grad(&m->ps);
    nn_backward(g, loss);
    nn_graph_reset(g);
    return value;
}

static void train(mlp *m, const nn_data *d, run *r)
{
    const int global = r->batch * r->shards;
    nn_graph *g = nn_graph_new();
    nn_optim opt;
    nn_optim_init(&opt, NN_OPTIM_MOMENTUM, &m->ps, 0); /* b = 0.9 b + g;  w -= lr b */
    nn_rng data_rng;
    nn_rng_seed(&data_rng, r->data_seed);
    int *order = nn_malloc(sizeof(int) * d->n), *idx = nn_malloc(sizeof(int) * global);
    int *yb = nn_malloc(sizeof(int) * global);
    nn_real *xb = nn_malloc(sizeof(nn_real) * global * d->dim);
    long step = 0;
    int mark = 0;
    for (int epoch = 0; epoch < r->epochs; epoch++) {
        nn_rng_permutation(&data_rng, order, d->n);
        for (int s = 0; s < r->steps_per_epoch; s++, step++) {
            const int at_mark = mark < r->nmarks && step + 1 == r->mark_step[mark];
            double t0 = MPI_Wtime();
            for (int j = 0; j < r->batch; j++) {
                int jj = r->reverse ? r->batch - 1 - j : j;
                idx[j] = order[((long)s * r->batch + jj) * r->shards + r->shard];
            }
            r->loss[step] = forward_backward(g, m, d, idx, r->batch, xb, yb, step);
            double t1 = MPI_Wtime();
            if (r->check && at_mark) {
                /* the check (rank 0, mark steps only, not timed): one process computes the
                 * gradient of the whole global batch of this step at the same weights */
                memcpy(r->check->ps.values, m->ps.values, sizeof(nn_real) * m->ps.count);
                for (int j = 0; j < global; j++) idx[j] = order[(long)s * global + j];
                forward_backward(g, r->check, d, idx, global, xb, yb, step);
            }
            double t2 = MPI_Wtime();
            if (r->allreduce) {
                /* THE communication of data parallelism: sum every rank's gradient block, in
                 * place, in one call over ps.count numbers (every layer at once) */
                MPI_Allreduce(MPI_IN_PLACE, m->ps.grads, (int)m->ps.count, MPI_NN_REAL, MPI_SUM,
                              MPI_COMM_WORLD);
            }
            double t3 = MPI_Wtime();
            const nn_real inv = (nn_real)1 / (nn_real)r->shards; /* sum -> mean */
            for (size_t i = 0; i < m->ps.count; i++) m->ps.grads[i] *= inv;
            if (r->check && at_mark) {
                double scale = 0;
                for (size_t i = 0; i < m->ps.count; i++) scale = fmax(scale, fabs((double)r->check->ps.grads[i]));
                r->grad_diff[mark] = max_abs_diff(m->ps.grads, r->check->ps.grads, m->ps.count) / scale;
            }
            opt.lr = nn_schedule_lr(&r->lr, step);
            nn_optim_step(&opt);
            r->compute[step] = (t1 - t0) + (MPI_Wtime() - t3);
            r->comm[step] = t3 - t2;
            if (at_mark) {
                if (r->keep_marks) {
                    r->mark_values[mark] = nn_malloc(sizeof(nn_real) * m->ps.count);
                    memcpy(r->mark_values[mark], m->ps.values, sizeof(nn_real) * m->ps.count);
                }
                mark++;
            }
        }
    }
    free(order);
    free(idx);
    free(yb);
    free(xb);
    nn_optim_free(&opt);
    nn_graph_free(g);
}

/* Accuracy and loss on shard `shard` of `shards` of d (examples shard, shard+S, ...); the
 * caller adds the shards' counts up. Returns the number right, adds the summed loss. */
static long evaluate(const mlp *m, const nn_data *d, int shards, int shard, double *loss_sum)
{
    enum { EVAL_BATCH = 500 };
    nn_graph *g = nn_graph_new();
    g->grad = 0;
    g->training = 0;
    int *idx = nn_malloc(sizeof(int) * EVAL_BATCH), *yb = nn_malloc(sizeof(int) * EVAL_BATCH);
    nn_real *xb = nn_malloc(sizeof(nn_real) * EVAL_BATCH * d->dim);
    long correct = 0;
    *loss_sum = 0;
    for (int i = shard; i < d->n;) {
        int count = 0;
        for (; count < EVAL_BATCH && i < d->n; i += shards) idx[count++] = i;
        nn_data_batch(d, idx, 0, count, xb, yb);
        nn_tensor *logits = mlp_forward(g, m, nn_graph_input(g, xb, 2, count, d->dim));
        *loss_sum += nn_softmax_cross_entropy(g, logits, yb)->data[0] * count;
        correct += lround(nn_metrics_accuracy(logits->data, yb, count, CLASSES) * count);
        nn_graph_reset(g);
    }
    free(idx);
    free(yb);
    free(xb);
    nn_graph_free(g);
    return correct;
}

/* The middle value of n timings. On a shared machine a step sometimes waits for another
 * program's turn on the core; the median is what a step costs when that does not happen,
 * which is what the comparisons below need (the wall-clock totals are reported too). */
static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(const double *x, long n)
{
    double *c = nn_malloc(sizeof(double) * n);
    memcpy(c, x, sizeof(double) * n);
    qsort(c, n, sizeof(double), by_value);
    double m = n % 2 ? c[n / 2] : 0.5 * (c[n / 2 - 1] + c[n / 2]);
    free(c);
    return m;
}

/* ------------------------------------------------------------------------------------------ */
/* Measuring the wires: latency alpha and bandwidth from a ping-pong between ranks 0 and 1.   */
/* A message of n bytes takes about  t(n) = alpha + n / bandwidth  one way (Hockney's model).  */
/* ------------------------------------------------------------------------------------------ */

static double pingpong_one_way(nn_real *buf, int count, int reps)
{
    double *t = nn_calloc(reps, sizeof(double)), one_way;
    MPI_Barrier(MPI_COMM_WORLD);
    for (int i = 0; i < reps && rank < 2; i++) {
        double t0 = MPI_Wtime();
        if (rank == 0) {
            MPI_Send(buf, count, MPI_NN_REAL, 1, 0, MPI_COMM_WORLD);
            MPI_Recv(buf, count, MPI_NN_REAL, 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        } else {
            MPI_Recv(buf, count, MPI_NN_REAL, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            MPI_Send(buf, count, MPI_NN_REAL, 0, 0, MPI_COMM_WORLD);
        }
        t[i] = (MPI_Wtime() - t0) / 2; /* there and back: two messages */
    }
    one_way = median(t, reps);
    MPI_Bcast(&one_way, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD); /* rank 0's measurement */
    free(t);
    return one_way;
}

static double allreduce_seconds(nn_real *buf, int count, int reps)
{
    double *t = nn_calloc(reps, sizeof(double)), typical;
    MPI_Barrier(MPI_COMM_WORLD);
    for (int i = 0; i < reps; i++) {
        double t0 = MPI_Wtime();
        MPI_Allreduce(MPI_IN_PLACE, buf, count, MPI_NN_REAL, MPI_SUM, MPI_COMM_WORLD);
        t[i] = MPI_Wtime() - t0;
    }
    typical = median(t, reps);
    MPI_Bcast(&typical, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    free(t);
    return typical;
}

/* All-reduce of n bytes over P ranks, latency a, bandwidth bw (the reduction's arithmetic
 * is left out; it is ~n/P additions per step, small next to moving the bytes):
 *   naive: everyone sends to rank 0, which adds and sends the sum back   2(P-1)(a + n/bw)
 *   tree:  reduce up a binary tree, broadcast down it               2 log2(P) (a + n/bw)
 *   ring:  reduce-scatter + all-gather in P-1 steps each of n/P bytes
 *                                                     2(P-1) a + 2 (P-1)/P n/bw           */
static double cost_naive(int P, double n, double a, double bw) { return 2.0 * (P - 1) * (a + n / bw); }
static double cost_tree(int P, double n, double a, double bw) { return 2.0 * ceil(log2(P)) * (a + n / bw); }
static double cost_ring(int P, double n, double a, double bw)
{
    return 2.0 * (P - 1) * a + 2.0 * (P - 1) / P * n / bw;
}

/* out/lesson20/scaling.txt keeps one line per P run so far: P, global batch, ms per step of
 * the one-process run and of the distributed run, speed-up. This run replaces the line of its
 * own P, so NP=1, 2, 4 runs with the same --out build up the speed-up figure together.
 * Fills P[] and speedup[] sorted by P; returns how many runs there are. */
typedef struct scaling_row {
    int p, global_batch;
    double ms_single, ms_dist, speedup;
} scaling_row;

static int by_p(const void *a, const void *b)
{
    return ((const scaling_row *)a)->p - ((const scaling_row *)b)->p;
}

static int update_scaling_file(const char *dir, double *P, double *speedup, scaling_row now)
{
    char path[1024], line[256];
    snprintf(path, sizeof path, "%s/scaling.txt", dir);
    scaling_row rows[MAX_P + 1];
    int n = 0;
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof line, f) && n < MAX_P) {
        scaling_row r;
        if (sscanf(line, "%d %d %lf %lf %lf", &r.p, &r.global_batch, &r.ms_single, &r.ms_dist,
                   &r.speedup) == 5 && r.p != now.p)
            rows[n++] = r;
    }
    if (f) fclose(f);
    rows[n++] = now;
    qsort(rows, n, sizeof rows[0], by_p);
    f = fopen(path, "w");
    if (!f) nn_fail("cannot write %s", path);
    fprintf(f, "# P global_batch step_ms_single step_ms_distributed speedup\n");
    for (int i = 0; i < n; i++) {
        fprintf(f, "%d %d %.4f %.4f %.4f\n", rows[i].p, rows[i].global_batch, rows[i].ms_single,
                rows[i].ms_dist, rows[i].speedup);
        P[i] = rows[i].p;
        speedup[i] = rows[i].speedup;
    }
    fclose(f);
    return n;
}

/* Ranks other than 0 wait while rank 0 replays the run alone: a non-blocking barrier polled
 * every millisecond, so that a waiting rank sleeps instead of spinning on a core that the
 * timed one-process run needs. */
static void wait_politely(void)
{
    MPI_Request req;
    int done = 0;
    MPI_Ibarrier(MPI_COMM_WORLD, &req);
    while (!done) {
        MPI_Test(&req, &done, MPI_STATUS_IGNORE);
        if (rank != 0 && !done) nanosleep(&(struct timespec){0, 1000000}, NULL);
    }
}

int main(int argc, char **argv)
{
    /* the flags first, before MPI starts: --help and bad flags exit at once (only rank 0 of
     * an mpirun job speaks; the others, told apart by the rank that OpenMPI's or MPICH's
     * launcher puts in the environment, leave quietly with the same status) */
    nn_cli cli;
    char err[256];
    const char *about = "Lesson 20: data-parallel training on MPI -- P ranks, one all-reduce "
                        "per step, checked against one process with batch P*128. "
                        "Run with mpirun -np P ./build/lesson20 (or make lesson20 NP=P).";
    const char *env_rank = getenv("OMPI_COMM_WORLD_RANK");
    if (!env_rank) env_rank = getenv("PMI_RANK");
    int parsed = nn_cli_parse_args(&cli, 20, NULL, argc, argv, err, sizeof err);
    if (parsed != 0 && env_rank && atoi(env_rank) != 0) return parsed == 1 ? 0 : 2;
    nn_cli_parse(&cli, 20, about, argc, argv);
    if (cli.threads == 0) nn_set_threads(1); /* one rank = one worker = one core by default */

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    nn_set_fail_handler(abort_all_ranks);
    const int P = nranks, B = LOCAL_BATCH, root = rank == 0;
    double start_time = MPI_Wtime();

    /* ---- 1. data: every rank loads the set and reads only its shard of each epoch ---- */
    nn_data train_set, test_set;
    nn_data_fmnist_load_first(&train_set, cli.quick ? 8192 : NN_FMNIST_TRAIN_SIZE,
                              &test_set, cli.quick ? 1000 : NN_FMNIST_TEST_SIZE);
    int epochs = nn_cli_epochs(&cli, 10, 3);
    int steps_per_epoch = train_set.n / (P * B); /* the last incomplete global batch is dropped */
    if (steps_per_epoch < 1)
        nn_fail("%d ranks x batch %d is more than the %d training examples", P, B, train_set.n);
    long steps = (long)steps_per_epoch * epochs;

    /* ---- 2. model: each rank initialises with its own seed, as independent programs would;
     *      the broadcast of rank 0's values is what makes the P replicas identical ---- */
    nn_rng rng;
    nn_rng_seed(&rng, cli.seed + (uint64_t)rank);
    mlp net, one; /* one: rank 0's one-process model (the check, then the replays) */
    mlp_init(&net, &rng);
    MPI_Bcast(net.ps.values, (int)net.ps.count, MPI_NN_REAL, 0, MPI_COMM_WORLD);
    nn_real *initial = nn_malloc(sizeof(nn_real) * net.ps.count);
    memcpy(initial, net.ps.values, sizeof(nn_real) * net.ps.count);
    if (root) mlp_init(&one, &rng);

    /* learning rate: the linear scaling rule, LR_PER_256 for every 256 examples of global
     * batch (Goyal et al. use 0.1 per 256 for ResNet-50), reached by a linear warm-up over the
     * first 10% of the steps */
    nn_schedule lr = {.kind = NN_SCHEDULE_CONSTANT, .base_lr = LR_PER_256 * (P * B) / 256.0,
                      .warmup_steps = steps / 10};
    if (root) {
        printf("Data-parallel SGD on %d rank%s: MLP 784-%d-%d (%zu parameters, %.2f MB of "
               "gradient per all-reduce)\n", P, P > 1 ? "s" : "", HIDDEN, CLASSES, net.ps.count,
               net.ps.count * sizeof(nn_real) / 1e6);
        printf("Fashion-MNIST %d train / %d test; local batch %d, global batch %d; %d epochs of "
               "%d steps; lr %.3f (%.2f x %d/256), warm-up %ld steps; %d thread(s) per rank\n\n",
               train_set.n, test_set.n, B, P * B, epochs, steps_per_epoch, lr.base_lr,
               LR_PER_256, P * B, lr.warmup_steps, nn_get_threads());
    }

    /* ---- 3. the distributed run; rank 0 checks the all-reduced gradient at the marks ---- */
    run dist = {.shards = P, .shard = rank, .batch = B, .steps_per_epoch = steps_per_epoch,
                .epochs = epochs, .allreduce = 1, .lr = lr, .data_seed = cli.seed + 1000,
                .check = root ? &one : NULL, .keep_marks = root};
    for (long s = 1; s <= steps && dist.nmarks < MAX_MARKS - 1; s = s < 3 ? s + 1 : 2 * s)
        dist.mark_step[dist.nmarks++] = s; /* steps 1, 2, 3, 6, 12, 24, 48, 96, ... */
    if (dist.mark_step[dist.nmarks - 1] != steps) dist.mark_step[dist.nmarks++] = steps;
    dist.loss = nn_calloc(steps, sizeof(double));
    dist.compute = nn_calloc(steps, sizeof(double));
    dist.comm = nn_calloc(steps, sizeof(double));
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    train(&net, &train_set, &dist);
    double dist_seconds = MPI_Wtime() - t0;

    /* the global loss of each step is the mean of the P local ones: one reduction at the end,
     * not one per step (the one collective per step stays the gradient all-reduce) */
    double *global_loss = nn_calloc(steps, sizeof(double));
    MPI_Reduce(dist.loss, global_loss, (int)steps, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
    for (long s = 0; s < steps; s++) global_loss[s] /= P;

    /* are the replicas still identical? every rank compares itself with rank 0's values */
    nn_real *values0 = nn_malloc(sizeof(nn_real) * net.ps.count);
    memcpy(values0, net.ps.values, sizeof(nn_real) * net.ps.count);
    MPI_Bcast(values0, (int)net.ps.count, MPI_NN_REAL, 0, MPI_COMM_WORLD);
    double replica_diff = max_abs_diff(net.ps.values, values0, net.ps.count), replica_max;
    MPI_Reduce(&replica_diff, &replica_max, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);

    /* evaluation is data-parallel too: each rank scores its shard, the counts are added */
    double loss_part, test_loss;
    long correct_part = evaluate(&net, &test_set, P, rank, &loss_part), correct = 0;
    MPI_Reduce(&correct_part, &correct, 1, MPI_LONG, MPI_SUM, 0, MPI_COMM_WORLD);
    MPI_Reduce(&loss_part, &test_loss, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
    double test_acc = (double)correct / test_set.n;
    test_loss /= test_set.n;

    /* a typical (median) step: compute and all-reduce of the slowest rank; whole step, rank 0 */
    double my_times[2] = {median(dist.compute, steps), median(dist.comm, steps)}, times[2];
    MPI_Reduce(my_times, times, 2, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
    double *step_total = nn_malloc(sizeof(double) * steps);
    for (long s = 0; s < steps; s++) step_total[s] = dist.compute[s] + dist.comm[s];
    double step_dist = median(step_total, steps);

    /* ---- 4. the wires: ping-pong latency and bandwidth, and the all-reduce alone ---- */
    double bytes = (double)net.ps.count * sizeof(nn_real), latency = 0, bandwidth = 0, t_allreduce = 0;
    if (P >= 2) {
        nn_real *buf = nn_calloc(net.ps.count, sizeof(nn_real));
        latency = pingpong_one_way(buf, 1, 2000);                    /* alpha */
        double t_big = pingpong_one_way(buf, (int)net.ps.count, 50); /* alpha + n/bw */
        bandwidth = bytes / fmax(t_big - latency, 1e-9);
        t_allreduce = allreduce_seconds(buf, (int)net.ps.count, 50);
        free(buf);
    }

    /* ---- 5. rank 0 replays the run alone, batch P*B, from the same start: once with each
     *      global batch in order, once with its examples reversed (the same sums, added in
     *      another order: a control for how far rounding alone moves a run) ---- */
    run single = dist, reversed;
    single.shards = 1, single.shard = 0, single.batch = P * B, single.allreduce = 0;
    single.check = NULL, single.keep_marks = 1;
    double single_seconds = 0, single_acc = 0, single_loss = 0, dummy;
    if (root) {
        single.loss = nn_calloc(steps, sizeof(double));
        single.compute = nn_calloc(steps, sizeof(double));
        single.comm = nn_calloc(steps, sizeof(double));
        memcpy(one.ps.values, initial, sizeof(nn_real) * one.ps.count);
        t0 = MPI_Wtime();
        train(&one, &train_set, &single);
        single_seconds = MPI_Wtime() - t0;
        single_acc = (double)evaluate(&one, &test_set, 1, 0, &single_loss) / test_set.n;
        single_loss /= test_set.n;

        reversed = single;
        reversed.reverse = 1;
        reversed.loss = nn_calloc(steps, sizeof(double));
        reversed.compute = nn_calloc(steps, sizeof(double));
        reversed.comm = nn_calloc(steps, sizeof(double));
        memcpy(one.ps.values, initial, sizeof(nn_real) * one.ps.count);
        train(&one, &train_set, &reversed);
        (void)evaluate(&one, &test_set, 1, 0, &dummy);
    }
    wait_politely(); /* the other ranks sleep here until rank 0 is done */

    if (root) {
        /* ---- 6. the comparison ---- */
        double diff_dist[MAX_MARKS], diff_reversed[MAX_MARKS], mark_x[MAX_MARKS], grad_max = 0;
        int early = 0; /* the last mark within the first 96 steps */
        printf("distributed (%d x %d) vs one process (1 x %d), same start, same examples:\n", P, B, P * B);
        printf("  %10s  %24s  %22s  %22s\n", "after step", "gradient, same weights", "max |w_P - w_1|",
               "max |w_1 - w_1,reversed|");
        printf("  %10s  %24s\n", "", "max|g_P-g_1| / max|g_1|");
        for (int k = 0; k < dist.nmarks; k++) {
            mark_x[k] = (double)dist.mark_step[k];
            diff_dist[k] = max_abs_diff(dist.mark_values[k], single.mark_values[k], net.ps.count);
            diff_reversed[k] = max_abs_diff(reversed.mark_values[k], single.mark_values[k], net.ps.count);
            grad_max = fmax(grad_max, dist.grad_diff[k]);
            if (dist.mark_step[k] <= 96) early = k;
            printf("  %10ld  %24.2e  %22.3e  %22.3e\n", dist.mark_step[k], dist.grad_diff[k], diff_dist[k],
                   diff_reversed[k]);
        }
        printf("  every step computes the same update (the gradient column: float rounding); the runs\n"
               "  then drift apart only as far as one process drifts from itself when each batch is\n"
               "  summed in reverse order (the last column): training amplifies rounding\n");
        printf("  replicas after training: max |w_rank - w_rank0| = %.3g over %d ranks\n\n", replica_max, P);

        double step_single = median(single.compute, steps), speedup = step_single / step_dist;
        printf("  %-40s %12s %12s\n", "", "distributed", "one process");
        printf("  %-40s %12.4f %12.4f\n", "test accuracy", test_acc, single_acc);
        printf("  %-40s %12.4f %12.4f\n", "test loss", test_loss, single_loss);
        printf("  %-40s %12.4f %12.4f\n", "last training loss (global batch)", global_loss[steps - 1],
               single.loss[steps - 1]);
        printf("  %-40s %12.2f %12.2f\n", "training, wall clock (s)", dist_seconds, single_seconds);
        printf("  %-40s %12.3f %12.3f\n", "time per step, median (ms)", step_dist * 1e3, step_single * 1e3);
        printf("  %-40s %12.3f\n", "  compute, slowest rank (ms)", times[0] * 1e3);
        printf("  %-40s %12.3f\n", "  all-reduce, slowest rank (ms)", times[1] * 1e3);
        printf("  %-40s %12.2f\n\n", "speed-up (median step times)", speedup);

        /* figures: both loss curves; the differences; compute vs communication per step */
        char title[160];
        nn_plot_series losses[2] = {{"distributed: P ranks x local batch", NULL, global_loss, (int)steps},
                                    {"one process: batch P x local batch", NULL, single.loss, (int)steps}};
        snprintf(title, sizeof title, "Training loss per step: %d ranks x %d and 1 process x %d (the curves coincide)",
                 P, B, P * B);
        nn_plot_lines(cli.out, "loss_curves", title, "step", "cross-entropy", losses, 2, 0);
        double plot_diff[3][MAX_MARKS]; /* a log axis has no 0: draw 0 as 1e-12 */
        for (int k = 0; k < dist.nmarks; k++) {
            plot_diff[0][k] = fmax(dist.grad_diff[k], 1e-12);
            plot_diff[1][k] = fmax(diff_dist[k], 1e-12);
            plot_diff[2][k] = fmax(diff_reversed[k], 1e-12);
        }
        nn_plot_series diffs[3] = {{"gradient at the same weights (relative)", mark_x, plot_diff[0], dist.nmarks},
                                   {"weights: distributed vs one process", mark_x, plot_diff[1], dist.nmarks},
                                   {"weights: one process vs itself, sums reordered", mark_x, plot_diff[2],
                                    dist.nmarks}};
        nn_plot_lines(cli.out, "param_diff", "Distributed vs one process: largest difference after each step",
                      "step", "max abs difference", diffs, 3, 1);
        /* rank 0's step times sorted: x% of the steps took at most y ms (the median at 50%;
         * the tail is the steps that waited for the other rank or for another program) */
        double *pct = nn_malloc(sizeof(double) * steps);
        for (long s = 0; s < steps; s++) {
            pct[s] = 100.0 * (s + 0.5) / steps;
            dist.compute[s] *= 1e3, dist.comm[s] *= 1e3, step_total[s] *= 1e3;
        }
        qsort(dist.compute, steps, sizeof(double), by_value);
        qsort(dist.comm, steps, sizeof(double), by_value);
        qsort(step_total, steps, sizeof(double), by_value);
        nn_plot_series split[3] = {{"whole step", pct, step_total, (int)steps},
                                   {"compute (forward, backward, update)", pct, dist.compute, (int)steps},
                                   {"communication (the all-reduce, waiting included)", pct, dist.comm, (int)steps}};
        nn_plot_lines(cli.out, "step_time", "Rank 0: time per step, steps sorted by time",
                      "% of the steps taking at most this long", "milliseconds", split, 3, 1);
        free(pct);

        /* speed-up: this run and the earlier runs with other P in the same --out directory */
        double Ps[MAX_P + 1], S[MAX_P + 1];
        scaling_row now = {P, P * B, step_single * 1e3, step_dist * 1e3, speedup};
        int nruns = update_scaling_file(cli.out, Ps, S, now);
        printf("speed-up (one-process step / distributed step, medians), runs so far in %s:\n", cli.out);
        for (int i = 0; i < nruns; i++) printf("  P = %2g  speed-up %.2f\n", Ps[i], S[i]);

        if (P >= 2) {
            /* the cost model, with alpha and bandwidth from the ping-pong */
            printf("\nwires (ping-pong rank 0 <-> 1): latency %.2f us, bandwidth %.2f GB/s\n",
                   latency * 1e6, bandwidth / 1e9);
            printf("all-reduce of %.2f MB on %d ranks: measured %.3f ms; models: naive %.3f, tree %.3f, "
                   "ring %.3f ms\n", bytes / 1e6, P, t_allreduce * 1e3,
                   cost_naive(P, bytes, latency, bandwidth) * 1e3,
                   cost_tree(P, bytes, latency, bandwidth) * 1e3,
                   cost_ring(P, bytes, latency, bandwidth) * 1e3);
            enum { NP_MODEL = 64 };
            double px[NP_MODEL], naive[NP_MODEL], tree[NP_MODEL], ring[NP_MODEL], ideal[NP_MODEL],
                sp_ring[NP_MODEL], sp_tree[NP_MODEL];
            double tc = times[0]; /* compute of one local batch: the same however many ranks */
            for (int i = 0; i < NP_MODEL; i++) {
                int p = i + 1;
                px[i] = p;
                naive[i] = cost_naive(p, bytes, latency, bandwidth) * 1e3;
                tree[i] = cost_tree(p, bytes, latency, bandwidth) * 1e3;
                ring[i] = cost_ring(p, bytes, latency, bandwidth) * 1e3;
                ideal[i] = p;
                /* P local batches in the time of one plus an all-reduce */
                sp_ring[i] = p * tc / (tc + ring[i] / 1e3);
                sp_tree[i] = p * tc / (tc + tree[i] / 1e3);
            }
            printf("model, local batch fixed, one core per rank: speed-up on 8 / 16 / 64 ranks = "
                   "ring %.1f / %.1f / %.1f, tree %.1f / %.1f / %.1f\n", sp_ring[7], sp_ring[15],
                   sp_ring[63], sp_tree[7], sp_tree[15], sp_tree[63]);
            nn_plot_series costs[3] = {{"naive: 2(P-1)(a + n/bw)", px + 1, naive + 1, NP_MODEL - 1},
                                       {"tree: 2 log2(P) (a + n/bw)", px + 1, tree + 1, NP_MODEL - 1},
                                       {"ring: 2(P-1) a + 2(P-1)/P n/bw", px + 1, ring + 1, NP_MODEL - 1}};
            double mp = P, mt = t_allreduce * 1e3;
            nn_plot_series measured = {"measured all-reduce", &mp, &mt, 1};
            snprintf(title, sizeof title, "All-reduce of %.2f MB, latency a = %.2f us, bandwidth bw = %.2f GB/s",
                     bytes / 1e6, latency * 1e6, bandwidth / 1e9);
            nn_plot_lines_points(cli.out, "allreduce_model", title, "ranks P", "milliseconds", costs, 3,
                                 &measured, 1);
            nn_plot_series sp_lines[3] = {{"ideal", px, ideal, 16}, {"model: ring all-reduce", px, sp_ring, 16},
                                          {"model: tree all-reduce", px, sp_tree, 16}};
            nn_plot_series sp_points = {"measured (scaling.txt)", Ps, S, nruns};
            nn_plot_lines_points(cli.out, "speedup", "Speed-up of data-parallel SGD (this machine's wires)",
                                 "ranks P", "speed-up", sp_lines, 3, &sp_points, 1);
        } else {
            printf("(one rank: nothing to all-reduce; run with mpirun -np 2 or more for the wires "
                   "and the cost model)\n");
        }
        printf("\nwhole lesson %.1f s\n", MPI_Wtime() - start_time);

        nn_report report;
        nn_report_init(&report, 20);
        nn_report_add(&report, "test_accuracy", test_acc);
        nn_report_add(&report, "single_test_accuracy", single_acc);
        nn_report_add(&report, "grad_max_rel_diff", grad_max);
        nn_report_add(&report, "max_param_diff", diff_dist[early]);
        nn_report_add_int(&report, "param_diff_steps", dist.mark_step[early]);
        nn_report_add(&report, "final_param_diff", diff_dist[dist.nmarks - 1]);
        nn_report_add(&report, "reordered_final_diff", diff_reversed[dist.nmarks - 1]);
        nn_report_add(&report, "replicas_max_diff", replica_max);
        nn_report_add_int(&report, "ranks", P);
        nn_report_add_int(&report, "global_batch", P * B);
        nn_report_add_int(&report, "steps", steps);
        nn_report_add_timing(&report, "train_seconds", dist_seconds);
        nn_report_add_timing(&report, "step_ms", step_dist * 1e3);
        nn_report_add_timing(&report, "compute_ms", times[0] * 1e3);
        nn_report_add_timing(&report, "comm_ms", times[1] * 1e3);
        nn_report_add_timing(&report, "single_step_ms", step_single * 1e3);
        nn_report_add_timing(&report, "speedup", speedup);
        if (P >= 2) {
            nn_report_add_timing(&report, "latency_us", latency * 1e6);
            nn_report_add_timing(&report, "bandwidth_gbs", bandwidth / 1e9);
            nn_report_add_timing(&report, "allreduce_ms", t_allreduce * 1e3);
            nn_report_add_timing(&report, "ring_model_ms", cost_ring(P, bytes, latency, bandwidth) * 1e3);
        }
        nn_report_finish(&report, cli.out);

        for (int k = 0; k < dist.nmarks; k++) {
            free(dist.mark_values[k]);
            free(single.mark_values[k]);
            free(reversed.mark_values[k]);
        }
        free(single.loss);
        free(single.compute);
        free(single.comm);
        free(reversed.loss);
        free(reversed.compute);
        free(reversed.comm);
        nn_params_free(&one.ps);
    }

    free(dist.loss);
    free(dist.compute);
    free(dist.comm);
    free(step_total);
    free(global_loss);
    free(values0);
    free(initial);
    nn_params_free(&net.ps);
    nn_data_free(&train_set);
    nn_data_free(&test_set);
    MPI_Finalize();
    return 0;
}

/* Under AddressSanitizer (make sanitize) OpenMPI's start-up allocations, which it never
 * frees, would be reported as leaks of this program. These two hooks, read only by a
 * sanitizer build, let LeakSanitizer see whole call stacks and ignore what MPI_Init made. */
const char *__asan_default_options(void);
const char *__lsan_default_suppressions(void);
const char *__asan_default_options(void) { return "fast_unwind_on_malloc=0"; }
const char *__lsan_default_suppressions(void)
{
    return "leak:PMPI_Init\nleak:ompi_mpi_init\nleak:orte_init\nleak:libmpi.so\n"
           "leak:libopen-pal.so\nleak:libopen-rte.so\nleak:libpmix.so\nleak:libevent\nleak:_dl_init\n";
}
