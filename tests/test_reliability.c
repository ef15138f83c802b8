/* test_reliability.c -- the lessons end to end, as a student could break them:
 *   - bad data: each lesson that reads Fashion-MNIST, pointed (through $NN_DATA) at a directory
 *     with a missing, empty, truncated, wrong-magic, wrong-size or inconsistent file, stops with
 *     exit status 1 and a message naming the file and the problem -- never a signal;
 *   - a lesson's own data file (lesson 02 --csv FILE, lesson 08 --text FILE) that is missing,
 *     empty, binary or malformed: exit status 1 and a message naming the file (and, for a CSV,
 *     the line and the column); and a good CSV file trains lesson 02's MLP for real;
 *   - determinism: the same lesson with the same seed and thread count writes a byte-identical
 *     metrics.json twice.
 * Lesson binaries are found through $NN_BUILD (default build); $NN_WRAP prefixes each command.
 * The lessons run with --threads 1 (but for determinism, which is about threads): under valgrind
 * (make valgrind sets NN_WRAP) more threads only take turns, spinning while they wait. */
#include "nn_test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

NN_TEST_DEFINE_FAIL_HANDLER

#define WORK "build/test-out/reliability"

static const char *env_or(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return v && *v ? v : fallback;
}

/* runs a shell command, returns its wait status and its output (stdout + stderr) */
static int run(const char *cmd, char *out, size_t len)
{
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, len - 1, p);
    out[n] = 0;
    return pclose(p);
}

/* ---- a small Fashion-MNIST look-alike, written file by file so each can be broken ---- */

enum { IMAGES = 0, LABELS = 1 };
static const char *file_names[4] = {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                                    "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"};

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* an IDX file in memory: magic 0x0803 (images n x rows x cols) or 0x0801 (labels n) */
static size_t make_idx(unsigned char *buf, int kind, uint32_t magic, int n, int rows, int cols,
                       int label_value)
{
    size_t at = 0;
    put_be32(buf, magic);
    put_be32(buf + 4, (uint32_t)n);
    at = 8;
    if (kind == IMAGES) {
        put_be32(buf + 8, (uint32_t)rows);
        put_be32(buf + 12, (uint32_t)cols);
        at = 16;
        for (int i = 0; i < n * rows * cols; i++) buf[at++] = (unsigned char)(i * 7);
    } else {
        for (int i = 0; i < n; i++) buf[at++] = (unsigned char)(label_value >= 0 ? label_value : i % 10);
    }
    return at;
}

static void write_gz(const char *path, const unsigned char *data, size_t n)
{
    gzFile f = gzopen(path, "wb");
    assert_non_null(f);
    if (n) assert_int_equal(gzwrite(f, data, (unsigned)n), (int)n);
    assert_int_equal(gzclose(f), Z_OK);
}

static void write_raw(const char *path, const unsigned char *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (n) assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
}

typedef enum {
    GOOD,
    MISSING,     /* the file is not there */
    EMPTY,       /* zero bytes */
    TRUNCATED,   /* a valid gzip stream of a header that promises more images than follow */
    BAD_GZIP,    /* the gzip stream itself is cut in half */
    WRONG_MAGIC, /* 0x0802 instead of 0x0803 */
    WRONG_SIZE,  /* 32 x 32 images */
    COUNT_MISMATCH, /* 20 images, 10 labels */
    BAD_LABEL,   /* a label of 12 in a 10-class set */
    ABSURD_COUNT /* a header announcing 2^31 - 1 images of 28x28: refused before allocating */
} breakage;

typedef struct bad_case {
    const char *name;
    int file;       /* which of file_names is broken */
    breakage what;
    const char *message; /* a piece of the expected error message */
} bad_case;

static const bad_case bad_cases[] = {
    {"missing training images", 0, MISSING, "not found"},
    {"empty training images", 0, EMPTY, "train-images-idx3-ubyte.gz"},
    {"truncated training images", 0, TRUNCATED, "train-images-idx3-ubyte.gz"},
    {"corrupt gzip test labels", 3, BAD_GZIP, "t10k-labels-idx1-ubyte.gz"},
    {"wrong magic in training images", 0, WRONG_MAGIC, "magic"},
    {"32x32 test images", 2, WRONG_SIZE, "28x28"},
    {"more labels than images", 1, COUNT_MISMATCH, "train-labels-idx1-ubyte.gz"},
    {"label 12 of 10 classes", 3, BAD_LABEL, "t10k-labels-idx1-ubyte.gz"},
    {"absurd image count", 0, ABSURD_COUNT, "train-images-idx3-ubyte.gz"},
};

/* a data directory for one case: every file good except the broken one */
static void make_data_dir(const char *dir, const bad_case *c)
{
    static unsigned char buf[20 * 32 * 32 + 64];
    char cmd[512], path[512];
    snprintf(cmd, sizeof cmd, "rm -rf %s && mkdir -p %s", dir, dir);
    assert_int_equal(system(cmd), 0);
    for (int f = 0; f < 4; f++) {
        int kind = f % 2 == 0 ? IMAGES : LABELS;
        breakage what = f == c->file ? c->what : GOOD;
        snprintf(path, sizeof path, "%s/%s", dir, file_names[f]);
        uint32_t magic = kind == IMAGES ? 0x803 : 0x801;
        int n = 20, side = 28, label = -1;
        if (what == MISSING) continue;
        if (what == EMPTY) {
            write_raw(path, buf, 0);
            continue;
        }
        if (what == WRONG_MAGIC) magic = 0x802;
        if (what == WRONG_SIZE) side = 32;
        if (what == COUNT_MISMATCH) n = 10;
        if (what == BAD_LABEL) label = 12;
        size_t len = make_idx(buf, kind, magic, n, side, side, label);
        if (what == TRUNCATED) len -= 100;
        if (what == ABSURD_COUNT) put_be32(buf + 4, 0x7fffffff);
        if (what == BAD_GZIP) {
            char tmp[600];
            snprintf(tmp, sizeof tmp, "%s.full", path);
            write_gz(tmp, buf, len);
            FILE *in = fopen(tmp, "rb");
            assert_non_null(in);
            static unsigned char gz[20 * 32 * 32 + 256];
            size_t glen = fread(gz, 1, sizeof gz, in);
            fclose(in);
            unlink(tmp);
            write_raw(path, gz, glen / 2);
            continue;
        }
        write_gz(path, buf, len);
    }
}

/* the lessons that read Fashion-MNIST */
static const char *fmnist_lessons[] = {"01", "02", "05", "07"};

/* every case against one lesson (in turn, so each lesson meets several), and the first case
 * (no data at all: the most common mistake) against every lesson */
static void test_bad_data(void **state)
{
    (void)state;
    enum { LESSONS = sizeof fmnist_lessons / sizeof fmnist_lessons[0] };
    char dir[128], cmd[1024], out[8192];
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const bad_case *c = &bad_cases[i];
        snprintf(dir, sizeof dir, WORK "/data%zu", i);
        make_data_dir(dir, c);
        for (size_t l = 0; l < LESSONS; l++) {
            if (i > 0 && l != i % LESSONS) continue;
            snprintf(cmd, sizeof cmd,
                     "NN_DATA=%s %s %s/lesson%s --quick --threads 1 --out " WORK "/out 2>&1", dir,
                     env_or("NN_WRAP", ""), env_or("NN_BUILD", "build"), fmnist_lessons[l]);
            int status = run(cmd, out, sizeof out);
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 1)
                fail_msg("%s, lesson%s: expected exit status 1, got wait status %d; output:\n%s",
                         c->name, fmnist_lessons[l], status, out);
            const char *error = strstr(out, "error: ");
            if (!error || !strstr(error, c->message))
                fail_msg("%s, lesson%s: expected an error mentioning '%s'; output:\n%s", c->name,
                         fmnist_lessons[l], c->message, out);
        }
    }
}

/* ---- a lesson's own data file: --csv FILE (lesson 02), --text FILE (lesson 08) ---- */

typedef struct bad_file {
    const char *lesson, *flag, *file; /* the file is WORK/files/<file> */
    const char *bytes;                /* NULL: the file is not there */
    size_t size;
    const char *message;              /* a piece of the expected error message */
} bad_file;

#define BYTES(s) (s), sizeof(s) - 1
static const bad_file bad_files[] = {
    {"02", "--csv", "letters.csv", BYTES("a,b,label\n1,2,0\n1,x,1\n"),
     "letters.csv, line 3, column 2 (b): expected a number, found 'x'"},
    {"02", "--csv", "ragged.csv", BYTES("1,2,0\n3,4,1\n5,6\n"),
     "ragged.csv, line 3: 2 fields, expected 3"},
    {"02", "--csv", "label.csv", BYTES("1,2,0\n3,4,one\n"), "label.csv, line 2, column 3"},
    {"02", "--csv", "empty.csv", BYTES(""), "empty.csv is empty"},
    {"02", "--csv", "binary.csv", BYTES("1,2,0\n\0\x01\x02"), "binary.csv holds a NUL byte"},
    {"02", "--csv", "missing.csv", NULL, 0, "cannot open"},
    {"08", "--text", "empty.txt", BYTES(""), "empty.txt is empty"},
    {"08", "--text", "binary.txt", BYTES("text\0\x01\x02\x03"), "binary.txt holds a NUL byte"},
    {"08", "--text", "short.txt", BYTES("too short to learn from\n"), "short.txt holds 24 characters"},
    {"08", "--text", "missing.txt", NULL, 0, "cannot open"},
};

static void test_bad_files(void **state)
{
    (void)state;
    char cmd[1024], path[256], out[8192];
    assert_int_equal(system("mkdir -p " WORK "/files"), 0);
    for (size_t i = 0; i < sizeof bad_files / sizeof bad_files[0]; i++) {
        const bad_file *c = &bad_files[i];
        snprintf(path, sizeof path, WORK "/files/%s", c->file);
        unlink(path);
        if (c->bytes) write_raw(path, (const unsigned char *)c->bytes, c->size);
        snprintf(cmd, sizeof cmd, "%s %s/lesson%s --quick --threads 1 %s %s --out " WORK "/out 2>&1",
                 env_or("NN_WRAP", ""), env_or("NN_BUILD", "build"), c->lesson, c->flag, path);
        int status = run(cmd, out, sizeof out);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 1)
            fail_msg("lesson%s %s %s: expected exit status 1, got wait status %d; output:\n%s",
                     c->lesson, c->flag, c->file, status, out);
        const char *error = strstr(out, "error: ");
        if (!error || !strstr(error, c->message) || !strstr(error, c->file))
            fail_msg("lesson%s %s %s: expected an error naming the file and mentioning '%s'; "
                     "output:\n%s", c->lesson, c->flag, c->file, c->message, out);
    }
}

/* value of key in out's result: line, or NAN */
static double result_value(const char *out, const char *key)
{
    const char *line = strstr(out, "\nresult: ");
    char pattern[64];
    snprintf(pattern, sizeof pattern, " %s=", key);
    const char *at = line ? strstr(line, pattern) : NULL;
    return at ? strtod(at + strlen(pattern), NULL) : NAN;
}

/* a good CSV file (three classes of points in 4-D, a header, one feature on a scale 1000 times
 * the others, so that only standardized inputs train well) trains lesson 02's MLP for real */
static void test_csv_trains(void **state)
{
    (void)state;
    const char *path = WORK "/files/three-classes.csv";
    assert_int_equal(system("mkdir -p " WORK "/files"), 0);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "a,b,big,c,class\n");
    nn_rng rng;
    nn_rng_seed(&rng, 5);
    for (int i = 0; i < 300; i++) {
        int k = i % 3;
        fprintf(f, "%.4f,%.4f,%.1f,%.4f,%d\n", k + 0.5 * nn_rng_normal(&rng),
                (k == 1) + 0.5 * nn_rng_normal(&rng), 1000 * (k == 2) + 500 * nn_rng_normal(&rng),
                nn_rng_normal(&rng), k);
    }
    fclose(f);
    static char out[65536];
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s %s/lesson02 --quick --threads 1 --csv %s --out " WORK "/csv-out 2>&1",
             env_or("NN_WRAP", ""), env_or("NN_BUILD", "build"), path);
    int status = run(cmd, out, sizeof out);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("lesson02 --csv: expected exit status 0, got wait status %d; output:\n%s", status,
                 out);
    double accuracy = result_value(out, "test_accuracy"), majority = result_value(out, "majority_accuracy");
    if (result_value(out, "csv_features") != 4 || result_value(out, "csv_classes") != 3)
        fail_msg("lesson02 --csv: expected csv_features=4 csv_classes=3; output:\n%s", out);
    if (!(accuracy >= 0.6 && majority < 0.4))
        fail_msg("lesson02 --csv: test_accuracy %g (majority class %g), expected >= 0.6; "
                 "output:\n%s", accuracy, majority, out);
    struct stat st;
    if (stat(WORK "/csv-out/csv_curves.dat", &st) != 0)
        fail_msg("lesson02 --csv wrote no csv_curves.dat");
}

/* ---- determinism ---- */

static size_t slurp(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot read %s", path);
    size_t n = fread(buf, 1, len - 1, f);
    buf[n] = 0;
    fclose(f);
    return n;
}

static const char *deterministic_lessons[] = {"01", "02", "05"};

static void test_same_seed_same_metrics(void **state)
{
    (void)state;
    if (*env_or("NN_WRAP", "")) { /* valgrind changes no number, only the time: 6 runs */
        printf("skipped under NN_WRAP (determinism is checked by make test and make sanitize)\n");
        skip();
    }
    static char first[8192], second[8192], out[65536];
    for (size_t l = 0; l < sizeof deterministic_lessons / sizeof deterministic_lessons[0]; l++) {
        const char *lesson = deterministic_lessons[l];
        char cmd[1024], path[2][256];
        for (int run_index = 0; run_index < 2; run_index++) {
            snprintf(path[run_index], sizeof path[run_index], WORK "/same-seed-%s-%d", lesson,
                     run_index);
            snprintf(cmd, sizeof cmd, "%s %s/lesson%s --quick --seed 7 --threads 2 --out %s 2>&1",
                     env_or("NN_WRAP", ""), env_or("NN_BUILD", "build"), lesson, path[run_index]);
            int status = run(cmd, out, sizeof out);
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                fail_msg("lesson%s --seed 7 failed (status %d):\n%s", lesson, status, out);
            strncat(path[run_index], "/metrics.json", sizeof path[run_index] - strlen(path[run_index]) - 1);
        }
        size_t n1 = slurp(path[0], first, sizeof first), n2 = slurp(path[1], second, sizeof second);
        if (n1 != n2 || memcmp(first, second, n1) != 0)
            fail_msg("lesson%s: two runs with seed 7 differ:\n%s\n---\n%s", lesson, first, second);
        if (!strstr(first, "accuracy"))
            fail_msg("lesson%s: metrics.json holds no accuracy:\n%s", lesson, first);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_data),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_csv_trains),
        cmocka_unit_test(test_same_seed_same_metrics),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
