/* test_csv.c -- the CSV loader (lib/csv.c): a small file parsed to known values (header,
 * quotes, spaces, \r\n, blank lines, a byte-order mark, any label column), and every kind of
 * bad input refused through nn_fail with a message naming the file, the line and the column.
 * Also the text loader's in-memory entry point (what the fuzzer calls) against the file one,
 * and the inputs the fuzzers found, kept as regressions. */
#include "nn_test.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

NN_TEST_DEFINE_FAIL_HANDLER

NN_TEST_TMPDIR_FIXTURE("csv")

/* tmpdir/name (one of 8 rotating static buffers) */
static const char *path_of(const char *name)
{
    static char paths[8][256];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, sizeof paths[0], "%s/%s", tmpdir, name);
    return p;
}

static const char *write_file(const char *name, const char *bytes, size_t size)
{
    const char *path = path_of(name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (size) assert_int_equal(fwrite(bytes, 1, size, f), size);
    assert_int_equal(fclose(f), 0);
    return path;
}

/* a string's bytes, without its terminating NUL */
#define TEXT(s) (s), sizeof(s) - 1

/* ------------------------------------------------------------------------------------------ */
/* golden parses                                                                              */
/* ------------------------------------------------------------------------------------------ */

/* header with a quoted name holding a comma, spaces around fields, \r\n, a blank line, a
 * quoted number, an exponent, a label written 1.0, and no newline at the very end */
static const char golden[] = "\xEF\xBB\xBF"
                             "x1, \"x, 2\" ,label\r\n"
                             "1.5,-2,0\r\n"
                             "\r\n"
                             " 3e2 ,\t0.25 ,2\n"
                             "\"4\",5,1.0";

static void test_golden_file(void **state)
{
    (void)state;
    nn_data d;
    nn_csv_load(&d, write_file("golden.csv", TEXT(golden)), -1);
    assert_int_equal(d.n, 3);
    assert_int_equal(d.dim, 2);
    assert_int_equal(d.classes, 3);
    assert_int_equal(d.channels, 0);
    assert_int_equal(d.height, 0);
    const nn_real x[6] = {1.5f, -2, 300, 0.25f, 4, 5};
    nn_test_assert_close(d.x, x, 6, 0, 0, "features");
    assert_int_equal(d.y[0], 0);
    assert_int_equal(d.y[1], 2);
    assert_int_equal(d.y[2], 1);
    nn_data_free(&d);
}

/* no header; the label first (column 0) or in the middle (-2); the same from memory */
static void test_label_columns(void **state)
{
    (void)state;
    static const char text[] = "1,10,100\n0,20,200\n2,30,300\n";
    nn_data d;
    nn_csv_parse(&d, TEXT(text), "first.csv", 0);
    assert_int_equal(d.n, 3);
    assert_int_equal(d.dim, 2);
    assert_int_equal(d.classes, 3);
    const nn_real x0[6] = {10, 100, 20, 200, 30, 300};
    nn_test_assert_close(d.x, x0, 6, 0, 0, "features, label first");
    assert_int_equal(d.y[0], 1);
    assert_int_equal(d.y[1], 0);
    assert_int_equal(d.y[2], 2);
    nn_data_free(&d);

    static const char middle[] = "0.5,1,-7\n0.25,0,8\n";
    nn_csv_parse(&d, TEXT(middle), "middle.csv", -2);
    assert_int_equal(d.n, 2);
    assert_int_equal(d.classes, 2);
    const nn_real x1[4] = {0.5f, -7, 0.25f, 8};
    nn_test_assert_close(d.x, x1, 4, 0, 0, "features, label in the middle");
    assert_int_equal(d.y[0], 1);
    assert_int_equal(d.y[1], 0);
    nn_data_free(&d);
}

/* more rows than the first allocation (256), so the growth path is exercised */
static void test_many_rows(void **state)
{
    (void)state;
    enum { ROWS = 1000 };
    char *text = malloc(ROWS * 32);
    size_t len = 0;
    len += (size_t)sprintf(text + len, "a,b,c\n");
    for (int i = 0; i < ROWS; i++) len += (size_t)sprintf(text + len, "%d,-%d.5,%d\n", i, i, i % 4);
    nn_data d;
    nn_csv_parse(&d, text, len, "rows.csv", -1);
    free(text);
    assert_int_equal(d.n, ROWS);
    assert_int_equal(d.classes, 4);
    for (int i = 0; i < ROWS; i++) {
        assert_true(d.x[2 * i] == (nn_real)i);
        assert_true(d.x[2 * i + 1] == (nn_real)(-(i + 0.5)));
        assert_int_equal(d.y[i], i % 4);
    }
    nn_data_free(&d);
}

/* ------------------------------------------------------------------------------------------ */
/* bad input: each refused with the file, the line and the column                            */
/* ------------------------------------------------------------------------------------------ */

static void test_bad_files(void **state)
{
    (void)state;
    nn_data d;
    EXPECT_FAIL(nn_csv_load(&d, path_of("missing.csv"), -1), "cannot open");
    EXPECT_FAIL(nn_csv_load(&d, path_of("missing.csv"), -1), "missing.csv");
    EXPECT_FAIL(nn_csv_load(&d, write_file("empty.csv", "", 0), -1), "empty.csv is empty");
    EXPECT_FAIL(nn_csv_load(&d, tmpdir, -1), "is a directory");
    EXPECT_FAIL(nn_csv_load(&d, write_file("blank.csv", TEXT(" \n\r\n\t\n")), -1),
                "blank.csv is empty");
    EXPECT_FAIL(nn_csv_load(&d, write_file("binary.csv", TEXT("1,2,0\n3,\0,1\n")), -1),
                "binary.csv holds a NUL byte at offset 8: a binary file");
    EXPECT_FAIL(nn_csv_load(&d, write_file("header.csv", TEXT("a,b,label\n")), -1),
                "header.csv holds a header line but no data rows");

    /* a file over the size limit is refused from its size, before a byte is read (a sparse
     * file: no disk space is used) */
    const char *big = path_of("big.csv");
    FILE *f = fopen(big, "wb");
    assert_non_null(f);
    assert_int_equal(ftruncate(fileno(f), (off_t)NN_CSV_MAX_BYTES + 1), 0);
    fclose(f);
    EXPECT_FAIL(nn_csv_load(&d, big, -1), "more than the 1024 MiB");
    unlink(big);
    /* and in memory the length alone is checked before the bytes are looked at */
    EXPECT_FAIL(nn_csv_parse(&d, "1,0\n", (size_t)NN_CSV_MAX_BYTES + 1, "huge", -1),
                "huge holds 1073741825 bytes");
}

typedef struct bad_text {
    const char *text;
    int label_column;
    const char *message;
} bad_text;

static const bad_text bad_texts[] = {
    /* non-numeric fields, named by the header when there is one */
    {"a,b,label\n1,2,0\n1,abc,1\n", -1, "t.csv, line 3, column 2 (b): expected a number, found 'abc'"},
    {"1,2,0\n1,2x,1\n", -1, "t.csv, line 2, column 2: expected a number, found '2x'"},
    {"1,2,0\n1,,1\n", -1, "t.csv, line 2, column 2: empty field, expected a number"},
    {"1,2,0\n1,2,\n", -1, "line 2, column 3: empty field"},
    {"1,2,0\n1,nan,1\n", -1, "line 2, column 2: nan is not a finite " NN_REAL_NAME},
    {"1,2,0\n1,-inf,1\n", -1, "line 2, column 2: -inf is not a finite"},
    {"1,1e999,0\n1,2,1\n", -1, "line 1, column 2: 1e999 is not a finite"},
#ifndef NN_DOUBLE
    {"1,1e39,0\n1,2,1\n", -1, "line 1, column 2: 1e39 is not a finite float"},
#endif
    /* a header must be all names: a mixed first line is data with a bad field */
    {"x,2,label\n1,2,0\n", -1, "line 1, column 1: expected a number, found 'x'"},
    /* ragged rows */
    {"1,2,0\n1,2\n", -1, "t.csv, line 2: 2 fields, expected 3 like the first line (a ragged row)"},
    {"1,2,0\n\n1,2,3,1\n", -1, "t.csv, line 3: 4 fields, expected 3"},
    {"a,b,c\n1,2,0\n1,2,0,5,6,7\n", -1, "line 3: 6 fields, expected 3"},
    /* labels */
    {"1,2,0\n1,2,1.5\n", -1, "line 2, column 3: the label must be a class number 0..999, found '1.5'"},
    {"1,2,0\n1,2,-1\n", -1, "the label must be a class number"},
    {"1,2,0\n1,2,1000\n", -1, "found '1000'"},
    {"1,2,0\n1,2,0\n", -1, "every row has the label 0; a classifier needs at least two classes"},
    {"1,2,0\n3,4,1\n", 3, "label column 3 asked for, but the file has 3 columns"},
    {"1,2,0\n3,4,1\n", -4, "label column -4 asked for"},
    /* shape */
    {"1\n2\n", -1, "t.csv, line 1: 1 column; expected at least 2"},
    {"", -1, "t.csv is empty"},
    {"\n\n  \n", -1, "t.csv is empty"},
    /* quotes */
    {"\"1,2,0\n", -1, "line 1, column 1: a quote opened but not closed on this line"},
    {"1,\"2\"x,0\n", -1, "line 1, column 2: 'x' after a closing quote, expected a comma"},
    /* a long field is shown cut, never overflowing a buffer */
    {"1,2,0\n1,2222222222222222222222222222222222222222222222222222222222222222222222222222222"
     "22222222222222222222222222222222222222222222222222222222222222222222222222222222222z,1\n",
     -1, "found '2222222222222222222222222222222222222222...'"},
};

static void test_bad_texts(void **state)
{
    (void)state;
    nn_data d;
    for (size_t i = 0; i < sizeof bad_texts / sizeof bad_texts[0]; i++) {
        const bad_text *b = &bad_texts[i];
        EXPECT_FAIL(nn_csv_parse(&d, b->text, strlen(b->text), "t.csv", b->label_column),
                    b->message);
        /* and through a file: the same message with the file's path */
        const char *path = write_file("t.csv", b->text, strlen(b->text));
        EXPECT_FAIL(nn_csv_load(&d, path, b->label_column), b->message);
    }
}

/* a header of more columns than the limit is refused while counting, before allocating */
static void test_too_many_columns(void **state)
{
    (void)state;
    size_t len = 2 * (size_t)NN_CSV_MAX_COLUMNS + 8;
    char *text = malloc(len);
    for (size_t i = 0; i < len; i += 2) text[i] = '1', text[i + 1] = ',';
    nn_data d;
    EXPECT_FAIL(nn_csv_parse(&d, text, len, "wide.csv", -1), "wide.csv, line 1: more than 100000 columns");
    free(text);
}

/* ------------------------------------------------------------------------------------------ */
/* the text loader from memory (the fuzz entry point) is the file loader                      */
/* ------------------------------------------------------------------------------------------ */

static void test_text_memory(void **state)
{
    (void)state;
    enum { N = 1500 };
    char *text = malloc(N);
    for (int i = 0; i < N; i++) text[i] = i % 61 == 60 ? '\n' : (char)('a' + (i * 7) % 26);
    nn_text a, b;
    nn_text_load_file(&a, write_file("t.txt", text, N), 0.1);
    nn_text_load_memory(&b, text, N, "memory", 0.1);
    assert_int_equal(a.vocab, b.vocab);
    assert_int_equal(a.ntrain, b.ntrain);
    assert_int_equal(a.nval, b.nval);
    assert_memory_equal(a.chars, b.chars, (size_t)a.vocab * sizeof *a.chars);
    assert_memory_equal(a.train, b.train, (size_t)a.ntrain * sizeof *a.train);
    assert_memory_equal(a.val, b.val, (size_t)a.nval * sizeof *a.val);
    assert_string_equal(b.source, "memory");
    nn_text_free(&a);
    nn_text_free(&b);

    EXPECT_FAIL(nn_text_load_memory(&b, "", 0, "nothing", 0.1), "nothing is empty");
    EXPECT_FAIL(nn_text_load_memory(&b, "ab\0cd", 5, "bin", 0.1), "bin holds a NUL byte at offset 2");
    EXPECT_FAIL(nn_text_load_memory(&b, "short text", 10, "tiny", 0.1), "tiny holds 10 characters");
    EXPECT_FAIL(nn_text_load_memory(&b, "\xC3\x28", 2, "latin", 0.1), "latin is not UTF-8");
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_file),   cmocka_unit_test(test_label_columns),
        cmocka_unit_test(test_many_rows),     cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_bad_texts),     cmocka_unit_test(test_too_many_columns),
        cmocka_unit_test(test_text_memory),
    };
    return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
