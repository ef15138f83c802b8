/* test_tools.c -- the lesson tools: .npy bytes, the result line and metrics.json, accuracy,
 * figures, and the command line (good flags parsed, bad flags exit 2). */
#include "nn_test.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

NN_TEST_DEFINE_FAIL_HANDLER

NN_TEST_TMPDIR_FIXTURE("tools")

static size_t slurp(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open %s", path);
    size_t n = fread(buf, 1, len - 1, f);
    buf[n] = 0;
    fclose(f);
    return n;
}

static void test_npy_bytes(void **state)
{
    (void)state;
    char path[128], buf[4096];
    snprintf(path, sizeof path, "%s/x.npy", tmpdir);
    const nn_real x[6] = {1, 2, 3, 4, 5, 6};
    nn_io_write_npy(path, x, 2, (int[]){2, 3});
    size_t n = slurp(path, buf, sizeof buf);
    assert_memory_equal(buf, "\x93NUMPY\x01\x00", 8);
    size_t header = (unsigned char)buf[8] | (size_t)(unsigned char)buf[9] << 8;
    assert_int_equal((10 + header) % 64, 0);
    assert_int_equal(buf[10 + header - 1], '\n');
    char expect[64];
    snprintf(expect, sizeof expect, "'descr': '<f%d'", (int)sizeof(nn_real));
    assert_non_null(strstr(buf + 10, expect));
    assert_non_null(strstr(buf + 10, "'shape': (2, 3), }"));
    assert_int_equal(n, 10 + header + sizeof x);
    assert_memory_equal(buf + 10 + header, x, sizeof x);
    nn_io_write_npy(path, x, 1, (int[]){6});
    slurp(path, buf, sizeof buf);
    assert_non_null(strstr(buf + 10, "'shape': (6,), }"));
    snprintf(path, sizeof path, "%s/x.npy.tmp.%ld", tmpdir, (long)getpid());
    assert_int_equal(access(path, F_OK), -1); /* the atomic write left nothing behind */
}

static void write_bytes(const char *path, const void *bytes, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, n, f), n);
    fclose(f);
}

static void test_npy_read(void **state)
{
    (void)state;
    char path[128], buf[4096];
    snprintf(path, sizeof path, "%s/r.npy", tmpdir);
    const nn_real x[6] = {1, -2, 3.5f, 4, 5, 6};
    nn_io_write_npy(path, x, 3, (int[]){1, 2, 3});
    int ndim, shape[NN_MAX_DIMS];
    nn_real *y = nn_io_read_npy(path, &ndim, shape);
    assert_int_equal(ndim, 3);
    assert_true(shape[0] == 1 && shape[1] == 2 && shape[2] == 3);
    assert_memory_equal(y, x, sizeof x);
    free(y);
    size_t n = slurp(path, buf, sizeof buf);
    write_bytes(path, buf, n - 1);
    char expect[96];
    snprintf(expect, sizeof expect, "the shape needs %zu bytes of data, the file has %zu",
             sizeof x, sizeof x - 1);
    EXPECT_FAIL(nn_io_read_npy(path, &ndim, shape), expect);
    write_bytes(path, "\x93NUMPX\1\0", 8);
    EXPECT_FAIL(nn_io_read_npy(path, &ndim, shape), "bad magic");
    buf[6] = 3;
    write_bytes(path, buf, n);
    EXPECT_FAIL(nn_io_read_npy(path, &ndim, shape), "version 1.0");
    buf[6] = 1;
    char *descr = strstr(buf + 10, "<f");
    descr[0] = '>';
    write_bytes(path, buf, n);
    EXPECT_FAIL(nn_io_read_npy(path, &ndim, shape), "little-endian");
    snprintf(path, sizeof path, "%s/missing.npy", tmpdir);
    EXPECT_FAIL(nn_io_read_npy(path, &ndim, shape), "cannot open");
}

static void test_report(void **state)
{
    (void)state;
    char out_path[128], json_path[128], buf[2048];
    snprintf(out_path, sizeof out_path, "%s/stdout.txt", tmpdir);
    snprintf(json_path, sizeof json_path, "%s/metrics.json", tmpdir);
    pid_t pid = fork();
    if (pid == 0) { /* capture the child's stdout in a file */
        if (!freopen(out_path, "w", stdout)) _exit(3);
        nn_report r;
        nn_report_init(&r, 7);
        nn_report_add(&r, "test_accuracy", 0.91234);
        nn_report_add_int(&r, "epochs", 12);
        nn_report_add_timing(&r, "train_seconds", 95.14);
        nn_report_add(&r, "diverged", NAN);
        nn_report_finish(&r, tmpdir);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    slurp(out_path, buf, sizeof buf);
    assert_string_equal(buf, "result: lesson=07 test_accuracy=0.9123 epochs=12 train_seconds=95.14 diverged=nan\n");
    slurp(json_path, buf, sizeof buf);
    /* metrics.json: what the seed determines; timing.json: what the clock measured */
    assert_string_equal(buf, "{\n  \"lesson\": \"07\",\n  \"test_accuracy\": 0.91234,\n  \"epochs\": 12,\n"
                             "  \"diverged\": null\n}\n");
    snprintf(json_path, sizeof json_path, "%s/timing.json", tmpdir);
    slurp(json_path, buf, sizeof buf);
    assert_string_equal(buf, "{\n  \"lesson\": \"07\",\n  \"train_seconds\": 95.14\n}\n");
    nn_report r;
    nn_report_init(&r, 1);
    EXPECT_FAIL(nn_report_add(&r, "Bad Key", 1), "lower_snake_case");
    EXPECT_FAIL(nn_report_add(&r, "train_seconds", 1), "nn_report_add_timing");
}

/* logits of 4 examples, 3 classes; example 3 ties between classes 0 and 2: the first wins */
static void test_accuracy_golden(void **state)
{
    (void)state;
    const nn_real logits[] = {0.1f, 0.7f, 0.2f, 2, 1, 0, 0, 0, 5, 3, 1, 3};
    assert_true(nn_metrics_accuracy(logits, (int[]){1, 0, 2, 0}, 4, 3) == 1.0);
    assert_true(nn_metrics_accuracy(logits, (int[]){1, 0, 2, 2}, 4, 3) == 0.75);
    assert_true(nn_metrics_accuracy(logits, (int[]){0, 1, 0, 1}, 4, 3) == 0.0);
}

static int exists(const char *d, const char *name, const char *ext)
{
    char path[256];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s.%s", d, name, ext);
    return stat(path, &st) == 0 && st.st_size > 0;
}

static void test_figures(void **state)
{
    (void)state;
    double y[5] = {5, 3, 2, 1.5, 1.2};
    nn_plot_series s = {"loss", NULL, y, 5};
    nn_plot_lines(tmpdir, "curve", "a \"quoted\" title", "epoch", "loss", &s, 1, 1);
    const nn_real pts[8] = {0, 0, 1, 1, -1, 0.5f, 0.3f, -0.2f};
    const int labels[4] = {0, 1, 1, 0}, grid[4] = {0, 1, 1, 0};
    nn_plot_scatter(tmpdir, "points", "points", pts, labels, 4, NULL);
    nn_plot_boundary(tmpdir, "boundary", "boundary", grid, 2, 2, -1, 1, -1, 1, pts, labels, 4);
    nn_real img[2 * 9] = {0, 0.5f, 1, 0.2f, 0.2f, 0.2f, 1, 0, 1};
    nn_plot_images(tmpdir, "images", "images", img, 2, 3, 3, 2, 1);
    const char *names[] = {"curve", "points", "boundary", "images"};
    for (int i = 0; i < 4; i++) {
        assert_true(exists(tmpdir, names[i], "dat"));
        assert_true(exists(tmpdir, names[i], "gp"));
        if (nn_plot_have_gnuplot()) {
            char path[256], magic[8] = {0};
            snprintf(path, sizeof path, "%s/%s.png", tmpdir, names[i]);
            FILE *f = fopen(path, "rb");
            if (!f) fail_msg("gnuplot is installed but %s was not rendered", path);
            assert_int_equal(fread(magic, 1, 8, f), 8);
            fclose(f);
            assert_memory_equal(magic, "\x89PNG\r\n\x1a\n", 8);
        }
    }
    char buf[4096];
    char path[256];
    snprintf(path, sizeof path, "%s/curve.gp", tmpdir);
    slurp(path, buf, sizeof buf);
    assert_non_null(strstr(buf, "set title \"a \\\"quoted\\\" title\""));
    assert_non_null(strstr(buf, "set logscale y"));

    /* the scatter legend: "class k" by default, or the names given (quoted for gnuplot) */
    snprintf(path, sizeof path, "%s/points.gp", tmpdir);
    slurp(path, buf, sizeof buf);
    assert_non_null(strstr(buf, "title \"class 1\""));
    const char *const kinds[] = {"T-shirt/top", "a \"Trouser\""};
    nn_plot_scatter(tmpdir, "named", "named", pts, labels, 4, kinds);
    snprintf(path, sizeof path, "%s/named.gp", tmpdir);
    slurp(path, buf, sizeof buf);
    assert_non_null(strstr(buf, "title \"T-shirt/top\""));
    assert_non_null(strstr(buf, "title \"a \\\"Trouser\\\"\""));
    assert_null(strstr(buf, "class 0"));

    /* an empty series keeps its own gnuplot index, so later series keep their legend entries */
    nn_plot_series three[3] = {{"a", NULL, y, 5}, {"diverged", NULL, NULL, 0}, {"c", NULL, y, 2}};
    nn_plot_lines(tmpdir, "gaps", "three series, one empty", "x", "y", three, 3, 0);
    snprintf(path, sizeof path, "%s/gaps.dat", tmpdir);
    slurp(path, buf, sizeof buf);
    assert_non_null(strstr(buf, "# series 1: diverged\n# x y\nNaN NaN\n\n\n# series 2: c"));
}

static void test_cli_good_flags(void **state)
{
    (void)state;
    char out[128];
    snprintf(out, sizeof out, "--out=%s/a/b", tmpdir);
    char *argv[] = {"lesson07", "--quick", "--seed", "123", "--epochs=4", "--kernels", "naive",
                    "--threads", "1", out};
    nn_cli cli;
    nn_cli_parse(&cli, 7, "about", 10, argv);
    assert_int_equal(cli.quick, 1);
    assert_true(cli.seed == 123);
    assert_int_equal(cli.epochs, 4);
    assert_int_equal(cli.kernels, NN_KERNELS_NAIVE);
    assert_int_equal(nn_get_kernels(), NN_KERNELS_NAIVE);
    assert_int_equal(cli.threads, 1);
    assert_int_equal(nn_cli_epochs(&cli, 20, 2), 4);
    char sub[160];
    snprintf(sub, sizeof sub, "%s/a/b", tmpdir);
    struct stat st;
    assert_true(stat(sub, &st) == 0 && S_ISDIR(st.st_mode));
    char *plain[] = {"lesson07"};
    nn_cli_parse(&cli, 7, "about", 1, plain);
    assert_true(cli.seed == 42 && cli.quick == 0 && nn_cli_epochs(&cli, 20, 2) == 20);
    assert_string_equal(cli.out, "out/lesson07");
    rmdir("out/lesson07");
    nn_set_kernels(NN_KERNELS_BLAS);
}

/* a lesson's own file flag: both spellings, absent, refused without a name or where not declared */
static void test_cli_file_flag(void **state)
{
    (void)state;
    char err[256];
    nn_cli cli;
    char *spaced[] = {"lesson08", "--text", "a.txt", "--quick"};
    assert_int_equal(nn_cli_parse_args(&cli, 8, "--text", 4, spaced, err, sizeof err), 0);
    assert_string_equal(cli.file, "a.txt");
    assert_int_equal(cli.quick, 1);
    char *joined[] = {"lesson08", "--text=b.txt"};
    assert_int_equal(nn_cli_parse_args(&cli, 8, "--text", 2, joined, err, sizeof err), 0);
    assert_string_equal(cli.file, "b.txt");
    char *none[] = {"lesson08"};
    assert_int_equal(nn_cli_parse_args(&cli, 8, "--text", 1, none, err, sizeof err), 0);
    assert_string_equal(cli.file, "");
    char *flag_as_file[] = {"lesson08", "--text", "--quick"};
    assert_int_equal(nn_cli_parse_args(&cli, 8, "--text", 3, flag_as_file, err, sizeof err), 2);
    assert_non_null(strstr(err, "--text needs a value"));
    char *empty[] = {"lesson08", "--text="};
    assert_int_equal(nn_cli_parse_args(&cli, 8, "--text", 2, empty, err, sizeof err), 2);
    assert_non_null(strstr(err, "expected a file name"));
    assert_int_equal(nn_cli_parse_args(&cli, 7, NULL, 4, spaced, err, sizeof err), 2);
    assert_non_null(strstr(err, "unknown option '--text'"));
}

/* sampling from logits: golden cases and frequencies from a fixed seed */
static void test_sample_logits(void **state)
{
    (void)state;
    nn_rng rng;
    nn_rng_seed(&rng, 5);
    const nn_real z[4] = {0.0f, (nn_real)log(2.0), (nn_real)log(3.0), -50.0f};
    /* a tiny temperature is the argmax; top_k = 1 is the argmax at any temperature */
    for (int i = 0; i < 20; i++) {
        assert_int_equal(nn_rng_sample_logits(&rng, z, 4, 1e-3, 0), 2);
        assert_int_equal(nn_rng_sample_logits(&rng, z, 4, 10.0, 1), 2);
    }
    /* temperature 1: p = (1, 2, 3, ~0) / 6; top_k = 2: p = (0, 2, 3, 0) / 5 */
    int all[4] = {0}, top2[4] = {0};
    const int n = 60000;
    for (int i = 0; i < n; i++) {
        all[nn_rng_sample_logits(&rng, z, 4, 1.0, 0)]++;
        top2[nn_rng_sample_logits(&rng, z, 4, 1.0, 2)]++;
    }
    /* binomial standard deviation at n = 60000 is below 0.0021: allow 4 of them */
    assert_float_equal(all[0] / (double)n, 1 / 6.0, 0.0085);
    assert_float_equal(all[1] / (double)n, 2 / 6.0, 0.0085);
    assert_float_equal(all[2] / (double)n, 3 / 6.0, 0.0085);
    assert_int_equal(all[3], 0);
    assert_int_equal(top2[0] + top2[3], 0);
    assert_float_equal(top2[1] / (double)n, 2 / 5.0, 0.0085);
    /* temperature 2 flattens: p proportional to sqrt(1, 2, 3) */
    int warm[4] = {0};
    for (int i = 0; i < n; i++) warm[nn_rng_sample_logits(&rng, z, 4, 2.0, 0)]++;
    double norm = 1 + sqrt(2.0) + sqrt(3.0);
    assert_float_equal(warm[0] / (double)n, 1 / norm, 0.0085);
    assert_float_equal(warm[2] / (double)n, sqrt(3.0) / norm, 0.0085);
    EXPECT_FAIL(nn_rng_sample_logits(&rng, z, 4, 0.0, 0), "temperature must be positive");
    EXPECT_FAIL(nn_rng_sample_logits(&rng, z, 4, 1.0, 5), "top_k must be in 0..4");
    EXPECT_FAIL(nn_rng_sample_logits(&rng, z, 0, 1.0, 0), "n must be positive");
    const nn_real bad[2] = {0.0f, NAN};
    EXPECT_FAIL(nn_rng_sample_logits(&rng, bad, 2, 1.0, 0), "logit 1 is not finite");
}

/* each bad command line: the child must exit with status 2 (not a signal, not 0) */
static void test_cli_bad_flags_exit_2(void **state)
{
    (void)state;
    static char *bad[][3] = {{"--bogus", NULL}, {"--epochs", "0"}, {"--epochs", "12x"},
                             {"--kernels", "fast"}, {"--seed", "-1"}, {"--threads", NULL},
                             {"--quick=1", NULL}, {"--out", ""}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            if (!freopen("/dev/null", "w", stderr)) _exit(3);
            char *argv[4] = {"lesson99", bad[i][0], bad[i][1], NULL};
            nn_cli cli;
            nn_cli_parse(&cli, 99, "about", bad[i][1] ? 3 : 2, argv);
            _exit(0);
        }
        int status;
        waitpid(pid, &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 2)
            fail_msg("%s %s: expected exit status 2, got raw status %d", bad[i][0],
                     bad[i][1] ? bad[i][1] : "", status);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_npy_bytes), cmocka_unit_test(test_npy_read),     cmocka_unit_test(test_report),
        cmocka_unit_test(test_accuracy_golden), cmocka_unit_test(test_figures),
        cmocka_unit_test(test_cli_good_flags), cmocka_unit_test(test_cli_bad_flags_exit_2),
        cmocka_unit_test(test_cli_file_flag), cmocka_unit_test(test_sample_logits),
    };
    return cmocka_run_group_tests_name("lesson tools", tests, make_tmpdir, remove_tmpdir);
}
