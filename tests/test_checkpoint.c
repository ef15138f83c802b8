/* test_checkpoint.c -- checkpoints round-trip bit for bit, a resumed run equals the run that
 * never stopped, every kind of bad file is refused with a clear message (and leaves the run
 * untouched), and the atomic write survives a writer killed midway. */
#include "nn_test.h"

#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

NN_TEST_DEFINE_FAIL_HANDLER

static char dir[64], path[128];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/deepc_ckpt_XXXXXX");
    if (!mkdtemp(dir)) return -1;
    snprintf(path, sizeof path, "%s/model.ckpt", dir);
    return 0;
}
static int teardown(void **state)
{
    (void)state;
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[512];
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        remove(p);
    }
    if (d) closedir(d);
    rmdir(dir);
    return 0;
}

/* a small model: w (3,4), b (4), random values */
static void make_model(nn_params *ps, int cols, uint64_t seed)
{
    nn_params_init(ps);
    nn_params_add(ps, "w", 2, (int[]){3, cols});
    nn_params_add(ps, "b", 1, (int[]){cols});
    nn_rng rng;
    nn_rng_seed(&rng, seed);
    nn_rng_fill_normal(&rng, ps->values, ps->count, 0, 1);
}

static unsigned char *read_all(const char *p, size_t *n)
{
    FILE *f = fopen(p, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*n ? *n : 1);
    assert_int_equal(fread(b, 1, *n, f), *n);
    fclose(f);
    return b;
}
static void write_all(const char *p, const void *b, size_t n)
{
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, n, f), n);
    fclose(f);
}

/* a few Adam steps with made-up gradients so that m and v are not zero */
static void adam_steps(nn_params *ps, nn_optim *o, int steps)
{
    for (int s = 0; s < steps; s++) {
        for (size_t i = 0; i < ps->count; i++) ps->grads[i] = (nn_real)sin(0.37 * i + s) * ps->values[i];
        nn_optim_step(o);
    }
}

static void test_round_trip_is_bit_identical(void **state)
{
    (void)state;
    nn_params a, b;
    nn_optim oa, ob;
    make_model(&a, 4, 1);
    nn_optim_init(&oa, NN_OPTIM_ADAM, &a, 0.01f);
    oa.weight_decay = 0.125f;
    adam_steps(&a, &oa, 3);
    nn_checkpoint_save(path, &a, &oa, 17);

    make_model(&b, 4, 2); /* different values, fresh optimizer with other hyper-parameters */
    nn_optim_init(&ob, NN_OPTIM_ADAM, &b, 0.5f);
    assert_int_equal(nn_checkpoint_load(path, &b, &ob), 17);
    assert_memory_equal(a.values, b.values, a.count * sizeof(nn_real));
    assert_memory_equal(oa.m, ob.m, a.count * sizeof(nn_real));
    assert_memory_equal(oa.v, ob.v, a.count * sizeof(nn_real));
    assert_int_equal(ob.step, 3);
    assert_true(ob.lr == oa.lr && ob.weight_decay == oa.weight_decay && ob.beta2 == oa.beta2 &&
                ob.eps == oa.eps);
    assert_int_equal(ob.state_count, a.count);

    /* parameters only (no optimizer), and loading such a file with no optimizer */
    nn_checkpoint_save(path, &a, NULL, -3);
    assert_int_equal(nn_checkpoint_load(path, &b, NULL), -3);
    /* an optimizer asked for, but the file has none: refused */
    EXPECT_FAIL(nn_checkpoint_load(path, &b, &ob), "no optimizer state");
    /* a file with Adam state loaded into SGD: refused, naming both */
    nn_checkpoint_save(path, &a, &oa, 1);
    nn_optim sgd;
    nn_optim_init(&sgd, NN_OPTIM_SGD, &b, 0.1f);
    EXPECT_FAIL(nn_checkpoint_load(path, &b, &sgd), "holds adam optimizer state, but the optimizer is sgd");
    /* but a file with optimizer state may be loaded for the parameters alone */
    assert_int_equal(nn_checkpoint_load(path, &b, NULL), 1);

    /* the CRC is the standard one: CRC-32("123456789") = cbf43926 */
    assert_int_equal(nn_checkpoint_crc32("123456789", 9), 0xCBF43926u);

    nn_optim_free(&sgd);
    nn_optim_free(&oa);
    nn_optim_free(&ob);
    nn_params_free(&a);
    nn_params_free(&b);
}

/* Linear regression y = x w^T + b on fixed data, Adam, through the autograd graph. */
enum { NDATA = 16 };
static void regression_steps(nn_graph *g, nn_params *ps, nn_optim *o, int steps)
{
    nn_real x[NDATA * 3], y[NDATA];
    for (int i = 0; i < NDATA; i++) {
        for (int j = 0; j < 3; j++) x[i * 3 + j] = (nn_real)sin(1.0 + i * 0.7 + j * 1.3);
        y[i] = (nn_real)(2 * x[i * 3] - x[i * 3 + 1] + 0.5 * x[i * 3 + 2] + 0.3);
    }
    for (int s = 0; s < steps; s++) {
        nn_tensor *xt = nn_graph_input(g, x, 2, NDATA, 3), *yt = nn_graph_input(g, y, 2, NDATA, 1);
        nn_tensor *pred = nn_linear_op(g, xt, ps->tensors[0], ps->tensors[1]);
        nn_params_zero_grad(ps);
        nn_backward(g, nn_mse(g, pred, yt));
        o->lr = nn_schedule_lr(&(nn_schedule){.kind = NN_SCHEDULE_COSINE, .base_lr = 0.1,
                                              .total_steps = 10, .warmup_steps = 2},
                               o->step);
        nn_optim_step(o);
        nn_graph_reset(g);
    }
}
static void regression_model(nn_params *ps)
{
    nn_params_init(ps);
    nn_params_add(ps, "fc.weight", 2, (int[]){1, 3});
    nn_params_add(ps, "fc.bias", 1, (int[]){1});
    nn_rng rng;
    nn_rng_seed(&rng, 5);
    nn_rng_fill_uniform(&rng, ps->values, ps->count, -0.5, 0.5);
}

static void test_resume_reproduces_the_run(void **state)
{
    (void)state;
    nn_graph *g = nn_graph_new();
    nn_params straight, first, resumed;
    nn_optim os, of, orr;
    regression_model(&straight);
    nn_optim_init(&os, NN_OPTIM_ADAM, &straight, 0.1f);
    regression_steps(g, &straight, &os, 10);

    regression_model(&first);
    nn_optim_init(&of, NN_OPTIM_ADAM, &first, 0.1f);
    regression_steps(g, &first, &of, 5);
    nn_checkpoint_save(path, &first, &of, 5);

    regression_model(&resumed);
    nn_rng rng;
    nn_rng_seed(&rng, 99); /* a fresh run starts elsewhere; the checkpoint must override it */
    nn_rng_fill_uniform(&rng, resumed.values, resumed.count, -1, 1);
    nn_optim_init(&orr, NN_OPTIM_ADAM, &resumed, 0.1f);
    assert_int_equal(nn_checkpoint_load(path, &resumed, &orr), 5);
    regression_steps(g, &resumed, &orr, 5);

    assert_int_equal(orr.step, 10);
    assert_memory_equal(straight.values, resumed.values, straight.count * sizeof(nn_real));
    assert_memory_equal(os.m, orr.m, straight.count * sizeof(nn_real));
    assert_memory_equal(os.v, orr.v, straight.count * sizeof(nn_real));
    /* and the run did move (the comparison is not trivially true) */
    assert_true(fabs(straight.values[0] - first.values[0]) > 1e-4);

    nn_optim_free(&os);
    nn_optim_free(&of);
    nn_optim_free(&orr);
    nn_params_free(&straight);
    nn_params_free(&first);
    nn_params_free(&resumed);
    nn_graph_free(g);
}

/* the load must be refused with `message` (a function of its own, so that the loops below keep
 * their counters through EXPECT_FAIL's longjmp) */
static void expect_refused(const char *p, nn_params *ps, nn_optim *o, const char *message)
{
    EXPECT_FAIL(nn_checkpoint_load(p, ps, o), message);
}

/* a refused load must leave the store exactly as it was */
static void expect_untouched(const nn_params *ps, const nn_real *before)
{
    assert_memory_equal(ps->values, before, ps->count * sizeof(nn_real));
}

static void test_bad_files_are_refused(void **state)
{
    (void)state;
    nn_params a, b;
    nn_optim oa, ob;
    make_model(&a, 4, 1);
    nn_optim_init(&oa, NN_OPTIM_ADAM, &a, 0.01f);
    adam_steps(&a, &oa, 2);
    nn_checkpoint_save(path, &a, &oa, 2);
    size_t n;
    unsigned char *good = read_all(path, &n);
    unsigned char *bad = malloc(n + 8);
    char bad_path[160];
    snprintf(bad_path, sizeof bad_path, "%s/bad.ckpt", dir);

    make_model(&b, 4, 3);
    nn_optim_init(&ob, NN_OPTIM_ADAM, &b, 0.01f);
    nn_real before[16];
    memcpy(before, b.values, b.count * sizeof(nn_real));

    /* truncated anywhere: inside the magic, the header, the shapes, the values, the checksum */
    const size_t cuts[] = {0, 5, 20, 30, 50, n / 2, n - 5, n - 1};
    for (size_t k = 0; k < sizeof cuts / sizeof cuts[0]; k++) {
        write_all(bad_path, good, cuts[k]);
        expect_refused(bad_path, &b, &ob, "truncated");
        expect_untouched(&b, before);
        assert_null(ob.m);
    }
    /* the message names the file */
    expect_refused(bad_path, &b, &ob, bad_path);
    /* a flipped bit anywhere after the header: checksum mismatch */
    const size_t flips[] = {40, n / 2, n - 10, n - 2};
    for (size_t k = 0; k < sizeof flips / sizeof flips[0]; k++) {
        memcpy(bad, good, n);
        bad[flips[k]] ^= 0x10;
        write_all(bad_path, bad, n);
        expect_refused(bad_path, &b, &ob, "checksum mismatch");
        expect_untouched(&b, before);
    }
    /* trailing bytes */
    memcpy(bad, good, n);
    bad[n] = 0;
    write_all(bad_path, bad, n + 1);
    expect_refused(bad_path, &b, &ob, "trailing bytes");
    /* wrong magic, wrong version, wrong real size */
    memcpy(bad, good, n);
    bad[0] = 'X';
    write_all(bad_path, bad, n);
    expect_refused(bad_path, &b, &ob, "not a deepc checkpoint (bad magic)");
    write_all(bad_path, "hello", 5);
    expect_refused(bad_path, &b, &ob, "bad magic");
    memcpy(bad, good, n);
    bad[8] = 2;
    write_all(bad_path, bad, n);
    expect_refused(bad_path, &b, &ob, "unsupported checkpoint version 2");
    memcpy(bad, good, n);
    bad[12] = sizeof(nn_real) == 4 ? 8 : 4;
    write_all(bad_path, bad, n);
    expect_refused(bad_path, &b, &ob, "-byte reals");
    /* a corrupt field behind a valid checksum (a hand-made file): the name length of tensor 0
     * (at 28 + 4 + 8) says 4 GB; refused before anything is allocated for it */
    memcpy(bad, good, n);
    bad[40] = bad[41] = bad[42] = bad[43] = 0xFF;
    uint32_t crc = nn_checkpoint_crc32(bad, n - 4);
    for (int i = 0; i < 4; i++) bad[n - 4 + i] = (unsigned char)(crc >> (8 * i));
    write_all(bad_path, bad, n);
    expect_refused(bad_path, &b, &ob, "runs past the end");
    expect_untouched(&b, before);
    assert_null(ob.m);
    /* missing file */
    char missing[160];
    snprintf(missing, sizeof missing, "%s/nothing.ckpt", dir);
    expect_refused(missing, &b, &ob, "cannot open");

    /* a model of another shape: the message names the tensor and both shapes */
    nn_params c;
    make_model(&c, 5, 1);
    expect_refused(path, &c, NULL, "tensor 0 'w' has shape (3,4) in the file but (3,5) in the model");
    nn_params_free(&c);
    nn_params_init(&c);
    nn_params_add(&c, "w", 2, (int[]){3, 4});
    expect_refused(path, &c, NULL, "holds 2 tensors, the model has 1");
    nn_params_free(&c);
    /* an optimizer of another store */
    expect_refused(path, &b, &oa, "another parameter store");

    /* after all that, the good file still loads */
    assert_int_equal(nn_checkpoint_load(path, &b, &ob), 2);
    assert_memory_equal(a.values, b.values, a.count * sizeof(nn_real));

    free(good);
    free(bad);
    nn_optim_free(&oa);
    nn_optim_free(&ob);
    nn_params_free(&a);
    nn_params_free(&b);
}

static int count_tmp_files(void)
{
    int count = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while ((e = readdir(d)))
        if (strstr(e->d_name, ".tmp")) count++;
    closedir(d);
    return count;
}

static void test_atomic_write_leaves_no_tmp(void **state)
{
    (void)state;
    nn_params a;
    make_model(&a, 4, 1);
    nn_checkpoint_save(path, &a, NULL, 0);
    nn_checkpoint_save(path, &a, NULL, 1); /* over an existing file */
    assert_int_equal(count_tmp_files(), 0);
    char nodir[200];
    snprintf(nodir, sizeof nodir, "%s/no/such/dir/x.ckpt", dir);
    EXPECT_FAIL(nn_checkpoint_save(nodir, &a, NULL, 0), "cannot create");
    nn_params_free(&a);
}

/* A child saves a big store again and again, each time filled with its iteration number; the
 * parent kills it mid-write. What is at PATH must still be a whole, valid checkpoint. */
static void test_killed_writer_leaves_a_valid_file(void **state)
{
    (void)state;
    nn_params big;
    nn_params_init(&big);
    nn_params_add(&big, "big", 2, (int[]){1024, 1024}); /* 4 or 8 MB */
    for (size_t i = 0; i < big.count; i++) big.values[i] = -1;
    nn_checkpoint_save(path, &big, NULL, -1);

    for (int trial = 0; trial < 20; trial++) {
        fflush(NULL);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            for (long it = 0;; it++) {
                for (size_t i = 0; i < big.count; i++) big.values[i] = (nn_real)it;
                nn_checkpoint_save(path, &big, NULL, it);
            }
        }
        struct timespec ts = {0, (2 + 3 * trial) * 1000000L}; /* 2 .. 59 ms */
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int status;
        waitpid(pid, &status, 0);
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

        nn_params check;
        nn_params_init(&check);
        nn_params_add(&check, "big", 2, (int[]){1024, 1024});
        long epoch = nn_checkpoint_load(path, &check, NULL);
        for (size_t i = 0; i < check.count; i++)
            if (check.values[i] != (nn_real)epoch)
                fail_msg("trial %d: value %zu is %g in a checkpoint of epoch %ld", trial, i,
                         (double)check.values[i], epoch);
        nn_params_free(&check);
        /* the killed writer may leave its PATH.tmp.<pid> behind, never a half PATH */
        char tmp[200];
        snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)pid);
        remove(tmp);
    }
    nn_params_free(&big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip_is_bit_identical, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resume_reproduces_the_run, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_files_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_atomic_write_leaves_no_tmp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_killed_writer_leaves_a_valid_file, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
