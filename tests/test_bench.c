/* test_bench.c -- `bench --quick` as a correctness check: every fast path (BLAS GEMM, im2col
 * convolution, the nn_gemm wrapper, whole training steps) agrees with its naive twin, the CSV
 * and the figure are written, and a spoiled result really makes it fail. Nothing here looks
 * at a time: timing belongs to `make bench`. */
#include "nn_test.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>

NN_TEST_DEFINE_FAIL_HANDLER

#define OUT_DIR "build/test-out/bench"

static const char *build_dir(void)
{
    const char *b = getenv("NN_BUILD");
    return b && *b ? b : "build";
}

/* NN_WRAP (e.g. valgrind) prefixes the main run, as in test_lessons.c */
static const char *wrap(void)
{
    const char *w = getenv("NN_WRAP");
    return w ? w : "";
}

static int file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int)st.st_size : -1;
}

/* runs `prefix build/bench args 2>&1`, returns its exit status (-1: killed) and its output */
static int run_bench(const char *prefix, const char *args, char *out, size_t len)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s %s/bench %s 2>&1", prefix, build_dir(), args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, len - 1, p);
    out[n] = 0;
    while (fgetc(p) != EOF) {} /* drain whatever did not fit */
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static char quick_out[65536];
static int quick_status = -2;

static const char *quick_run(int *status)
{
    if (quick_status == -2)
        quick_status = run_bench(wrap(), "--quick --out " OUT_DIR, quick_out, sizeof quick_out);
    *status = quick_status;
    return quick_out;
}

static void test_quick_run_passes(void **state)
{
    (void)state;
    int status;
    const char *out = quick_run(&status);
    if (status != 0)
        fail_msg("%s/bench --quick exited with status %d; output:\n%s", build_dir(), status, out);
    if (strstr(out, "CHECK FAILED"))
        fail_msg("bench --quick printed a failed check; output:\n%s", out);
    const char *line = strstr(out, "bench: all ");
    if (!line || !strstr(line, " correctness checks passed"))
        fail_msg("bench --quick did not say that every check passed; output:\n%s", out);
    int n = atoi(line + strlen("bench: all "));
    if (n < 20) fail_msg("bench --quick ran only %d checks (expected every section's)", n);
    /* the report names the thread count and the BLAS core it measured */
    if (!strstr(out, "threads") || !strstr(out, "OpenBLAS core"))
        fail_msg("bench --quick does not report its threads and BLAS core; output:\n%s", out);
}

static void test_quick_run_writes_csv_and_figure(void **state)
{
    (void)state;
    int status;
    quick_run(&status);
    assert_int_equal(status, 0);
    FILE *f = fopen(OUT_DIR "/bench.csv", "r");
    if (!f) fail_msg("bench --quick did not write " OUT_DIR "/bench.csv");
    char line[512];
    int rows = 0, sections[5] = {0};
    const char *names[5] = {"gemm,", "conv,", "overhead,", "train,", "check,"};
    assert_non_null(fgets(line, sizeof line, f));
    assert_string_equal(line, "section,case,variant,value,unit,median_s,reps\n");
    while (fgets(line, sizeof line, f)) {
        rows++;
        for (int s = 0; s < 5; s++)
            if (strncmp(line, names[s], strlen(names[s])) == 0) sections[s]++;
        if (strncmp(line, "check,", 6) == 0 && !strstr(line, ",pass,"))
            fail_msg("bench.csv records a failed check: %s", line);
    }
    fclose(f);
    for (int s = 0; s < 5; s++)
        if (!sections[s]) fail_msg("bench.csv has no %s rows (%d rows in all)", names[s], rows);
    const char *ext[] = {"dat", "gp", "png"};
    for (int e = 0; e < (nn_plot_have_gnuplot() ? 3 : 2); e++) {
        char path[256];
        snprintf(path, sizeof path, OUT_DIR "/gemm_square.%s", ext[e]);
        if (file_size(path) <= 0) fail_msg("bench --quick did not write %s", path);
    }
}

/* a checker that cannot fail is a defect: one spoiled BLAS result must give exit status 1
 * and a message naming the comparison */
static void test_spoiled_result_fails(void **state)
{
    (void)state;
    static char out[65536];
    int status = run_bench("", "--quick --inject-fault --out " OUT_DIR "-fault", out, sizeof out);
    if (status != 1)
        fail_msg("bench --quick --inject-fault: expected exit status 1, got %d", status);
    if (!strstr(out, "CHECK FAILED: gemm blas") || !strstr(out, "correctness checks FAILED"))
        fail_msg("bench --inject-fault did not name the failed check; output:\n%s", out);
}

static void test_flags(void **state)
{
    (void)state;
    char out[8192];
    assert_int_equal(run_bench("", "--help", out, sizeof out), 0);
    if (!strstr(out, "--quick") || !strstr(out, "--threads") || !strstr(out, "--out"))
        fail_msg("bench --help does not list its flags:\n%s", out);
    const char *bad[] = {"--bogus", "--threads", "--threads x", "--threads -1", "--out"};
    for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
        char args[128];
        /* the bad flag goes last, so a flag missing its value really has none */
        snprintf(args, sizeof args, "--quick --out " OUT_DIR "-bad %s", bad[b]);
        int status = run_bench("", args, out, sizeof out);
        if (status != 2 || !strstr(out, "bench: "))
            fail_msg("bench %s: expected exit status 2 and a message, got %d (%s)", bad[b],
                     status, out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quick_run_passes),
        cmocka_unit_test(test_quick_run_writes_csv_and_figure),
        cmocka_unit_test(test_spoiled_result_fails),
        cmocka_unit_test(test_flags),
    };
    return cmocka_run_group_tests_name("bench --quick (correctness, not timing)", tests, NULL,
                                       NULL);
}
