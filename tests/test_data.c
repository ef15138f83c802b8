/* test_data.c -- the data loaders: real Fashion-MNIST loads with the right counts, malformed
 * IDX files are refused with clear messages (not crashes), synthetic sets are deterministic
 * and shaped as documented, batches copy the right rows. */
#include "nn_test.h"

#include <stdlib.h>
#include <unistd.h>
#include <zlib.h>

NN_TEST_DEFINE_FAIL_HANDLER

/* ------------------------------------------------------------------------------------------ */
/* temporary files                                                                            */
/* ------------------------------------------------------------------------------------------ */

static char tmpdir[64];
static char made[64][256]; /* every file written, removed at teardown */
static int nmade;

static int make_tmpdir(void **state)
{
    (void)state;
    strcpy(tmpdir, "/tmp/deepc_test_data_XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
    (void)state;
    for (int i = 0; i < nmade; i++) unlink(made[i]);
    nmade = 0;
    return rmdir(tmpdir);
}

/* full path of a file in the temporary directory (static buffer per slot) */
static const char *tmp_path(const char *name)
{
    assert_true(nmade < 64);
    snprintf(made[nmade], sizeof made[nmade], "%s/%s", tmpdir, name);
    return made[nmade++];
}

static void write_bytes(const char *path, const void *bytes, size_t size, int gzip)
{
    if (gzip) {
        gzFile gz = gzopen(path, "wb");
        assert_non_null(gz);
        if (size) assert_int_equal(gzwrite(gz, bytes, (unsigned)size), (int)size);
        assert_int_equal(gzclose(gz), Z_OK);
    } else {
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        if (size) assert_int_equal(fwrite(bytes, 1, size, f), size);
        assert_int_equal(fclose(f), 0);
    }
}

static size_t put_u32(unsigned char *b, uint32_t v)
{
    b[0] = (unsigned char)(v >> 24);
    b[1] = (unsigned char)(v >> 16);
    b[2] = (unsigned char)(v >> 8);
    b[3] = (unsigned char)v;
    return 4;
}

/* An IDX file: magic, ndims sizes, then `size` data bytes (which need not match the sizes,
 * so the tests can lie). Returns its path. */
static const char *write_idx(const char *name, uint32_t magic, int ndims, const uint32_t *dims,
                             const unsigned char *data, size_t size, int gzip)
{
    unsigned char *buf = malloc(16 + size);
    assert_non_null(buf);
    size_t at = put_u32(buf, magic);
    for (int i = 0; i < ndims; i++) at += put_u32(buf + at, dims[i]);
    if (size) memcpy(buf + at, data, size);
    const char *path = tmp_path(name);
    write_bytes(path, buf, at + size, gzip);
    free(buf);
    return path;
}

/* a small valid pair: 3 images of 2x3 pixels, labels 0, 2, 1 */
static const unsigned char small_pixels[18] = {0,   255, 51,  102, 153, 204, 1,  2,  3,
                                               4,   5,   6,   7,   8,   9,   10, 11, 12};
static const unsigned char small_labels[3] = {0, 2, 1};
static const uint32_t small_idims[3] = {3, 2, 3}, small_ldims[1] = {3};

static const char *small_images(const char *name, int gzip)
{
    return write_idx(name, 0x803, 3, small_idims, small_pixels, sizeof small_pixels, gzip);
}

static const char *small_labels_file(const char *name, int gzip)
{
    return write_idx(name, 0x801, 1, small_ldims, small_labels, sizeof small_labels, gzip);
}

/* ------------------------------------------------------------------------------------------ */
/* real Fashion-MNIST                                                                         */
/* ------------------------------------------------------------------------------------------ */

static void check_fmnist_set(const nn_data *d, int n, const char *which)
{
    assert_int_equal(d->n, n);
    assert_int_equal(d->channels, 1);
    assert_int_equal(d->height, 28);
    assert_int_equal(d->width, 28);
    assert_int_equal(d->dim, 784);
    assert_int_equal(d->classes, 10);
    int count[10] = {0};
    for (int i = 0; i < d->n; i++) {
        if (d->y[i] < 0 || d->y[i] > 9) fail_msg("%s: label %d is %d", which, i, d->y[i]);
        count[d->y[i]]++;
    }
    for (int c = 0; c < 10; c++)
        if (count[c] != n / 10)
            fail_msg("%s: class %d (%s) has %d examples, expected %d", which, c,
                     nn_data_fmnist_class_name(c), count[c], n / 10);
    nn_real lo = 1, hi = 0;
    for (size_t i = 0; i < (size_t)d->n * 784; i++) {
        if (!(d->x[i] >= 0 && d->x[i] <= 1))
            fail_msg("%s: pixel %zu is %g, outside [0,1]", which, i, (double)d->x[i]);
        if (d->x[i] < lo) lo = d->x[i];
        if (d->x[i] > hi) hi = d->x[i];
    }
    assert_true(lo == 0 && hi == 1); /* bytes 0 and 255 both occur */
}

static void test_fmnist_real(void **state)
{
    (void)state;
    nn_data train = {0}, test = {0};
    nn_fail_handler previous = nn_set_fail_handler(nn_test_fail_handler);
    nn_test_armed = 1;
    if (setjmp(nn_test_jump) != 0) {
        nn_test_armed = 0;
        nn_set_fail_handler(previous);
        if (strstr(nn_last_error(), "not found")) {
            printf("skipping: %s\n", nn_last_error());
            skip();
        }
        fail_msg("Fashion-MNIST failed to load: %s", nn_last_error());
    }
    nn_data_fmnist_load(&train, &test);
    nn_test_armed = 0;
    nn_set_fail_handler(previous);

    check_fmnist_set(&train, 60000, "train");
    check_fmnist_set(&test, 10000, "test");
    /* the standard files start with an ankle boot in both sets (label bytes read by hand:
     * train-labels starts 09 00 00 03, t10k-labels starts 09 02 01 01) */
    assert_int_equal(train.y[0], 9);
    assert_int_equal(train.y[1], 0);
    assert_int_equal(train.y[3], 3);
    assert_int_equal(test.y[0], 9);
    assert_int_equal(test.y[1], 2);
    assert_string_equal(nn_data_fmnist_class_name(train.y[0]), "Ankle boot");
    /* the first image is black at the top-left corner (a centred item on a black ground) */
    assert_true(train.x[0] == 0);

    /* the first n of each set: the same images and labels; more than a set holds: all of it */
    nn_data few, all_test;
    nn_data_fmnist_load_first(&few, 100, &all_test, NN_FMNIST_TEST_SIZE + 1);
    assert_int_equal(few.n, 100);
    assert_int_equal(all_test.n, 10000);
    assert_memory_equal(few.x, train.x, 100 * 784 * sizeof *few.x);
    assert_memory_equal(few.y, train.y, 100 * sizeof *few.y);
    assert_memory_equal(all_test.y, test.y, 10000 * sizeof *test.y);
    nn_data_free(&few), nn_data_free(&all_test);
    EXPECT_FAIL(nn_data_fmnist_load_first(&few, 0, &all_test, 10), "at least one image");

    nn_data_free(&train);
    nn_data_free(&test);
    assert_null(train.x);
    assert_int_equal(train.n, 0);
}

static void test_fmnist_class_names(void **state)
{
    (void)state;
    assert_string_equal(nn_data_fmnist_class_name(0), "T-shirt/top");
    assert_string_equal(nn_data_fmnist_class_name(1), "Trouser");
    assert_string_equal(nn_data_fmnist_class_name(6), "Shirt");
    assert_string_equal(nn_data_fmnist_class_name(9), "Ankle boot");
    assert_string_equal(nn_data_fmnist_class_name(-1), "?");
    assert_string_equal(nn_data_fmnist_class_name(10), "?");
}

/* $NN_DATA is honoured: a directory without the files is refused (no silent fallback), one
 * with files that are not 28x28 is refused, and the un-gzipped names are accepted. */
static void fmnist_nn_data_env(void)
{
    nn_data train = {0}, test = {0};

    setenv("NN_DATA", "/nonexistent/deepc", 1);
    EXPECT_FAIL(nn_data_fmnist_load(&train, &test), "not found in $NN_DATA=/nonexistent/deepc");
    EXPECT_FAIL(nn_data_fmnist_load(&train, &test), "apt-get install dataset-fashion-mnist");

    /* 2x3 images under the Fashion-MNIST names, plain (no .gz) */
    small_images("train-images-idx3-ubyte", 0);
    small_labels_file("train-labels-idx1-ubyte", 0);
    small_images("t10k-images-idx3-ubyte", 1); /* gzip content under a plain name is fine */
    small_labels_file("t10k-labels-idx1-ubyte", 0);
    setenv("NN_DATA", tmpdir, 1);
    EXPECT_FAIL(nn_data_fmnist_load(&train, &test), "images are 2x3, expected 28x28");
    assert_null(train.x); /* freed before failing */
    assert_null(test.x);

    /* 28x28 images with labels 0..9 load */
    enum { N = 10 };
    static unsigned char pixels[N * 784], labels[N];
    for (int i = 0; i < N * 784; i++) pixels[i] = (unsigned char)(i * 7);
    for (int i = 0; i < N; i++) labels[i] = (unsigned char)(9 - i);
    uint32_t idims[3] = {N, 28, 28}, ldims[1] = {N};
    write_idx("train-images-idx3-ubyte.gz", 0x803, 3, idims, pixels, sizeof pixels, 1);
    write_idx("train-labels-idx1-ubyte.gz", 0x801, 1, ldims, labels, sizeof labels, 1);
    write_idx("t10k-images-idx3-ubyte.gz", 0x803, 3, idims, pixels, sizeof pixels, 1);
    write_idx("t10k-labels-idx1-ubyte.gz", 0x801, 1, ldims, labels, sizeof labels, 1);
    nn_data_fmnist_load(&train, &test);
    assert_int_equal(train.n, N);
    assert_int_equal(test.classes, 10);
    assert_int_equal(train.y[0], 9);
    assert_true(train.x[1] == (nn_real)7 / 255);
    nn_data_free(&train);
    nn_data_free(&test);
}

static void test_fmnist_nn_data_env(void **state)
{
    (void)state;
    const char *old = getenv("NN_DATA");
    char *saved = old ? strdup(old) : NULL;
    fmnist_nn_data_env();
    if (saved) {
        setenv("NN_DATA", saved, 1);
        free(saved);
    } else {
        unsetenv("NN_DATA");
    }
}

/* ------------------------------------------------------------------------------------------ */
/* IDX: good and bad files                                                                    */
/* ------------------------------------------------------------------------------------------ */

static void test_idx_small_roundtrip(void **state)
{
    (void)state;
    for (int gzip = 0; gzip <= 1; gzip++) {
        const char *images = small_images(gzip ? "ok-images.gz" : "ok-images", gzip);
        const char *labels = small_labels_file(gzip ? "ok-labels.gz" : "ok-labels", gzip);
        nn_data d;
        nn_data_idx_load(&d, images, labels);
        assert_int_equal(d.n, 3);
        assert_int_equal(d.channels, 1);
        assert_int_equal(d.height, 2);
        assert_int_equal(d.width, 3);
        assert_int_equal(d.dim, 6);
        assert_int_equal(d.classes, 3); /* max label + 1 */
        for (int i = 0; i < 18; i++) assert_true(d.x[i] == (nn_real)small_pixels[i] / 255);
        assert_true(d.x[0] == 0 && d.x[1] == 1);
        for (int i = 0; i < 3; i++) assert_int_equal(d.y[i], small_labels[i]);
        nn_data_free(&d);
    }
}

static void test_idx_bad_files(void **state)
{
    (void)state;
    nn_data d = {0};
    const char *labels = small_labels_file("labels", 0);
    const char *images = small_images("images", 0);

    /* missing file: the path and the system's reason */
    const char *missing = tmp_path("no-such-file.gz");
    EXPECT_FAIL(nn_data_idx_load(&d, missing, labels), "no-such-file.gz: cannot open");
    EXPECT_FAIL(nn_data_idx_load(&d, missing, labels), "No such file or directory");
    EXPECT_FAIL(nn_data_idx_load(&d, images, missing), "no-such-file.gz: cannot open");

    /* empty file, truncated header */
    const char *empty = tmp_path("empty");
    write_bytes(empty, "", 0, 0);
    EXPECT_FAIL(nn_data_idx_load(&d, empty, labels), "empty: truncated header");
    EXPECT_FAIL(nn_data_idx_load(&d, empty, labels), "found 0 (empty file)");
    unsigned char half[10] = {0, 0, 8, 3, 0, 0, 0, 3, 0, 0};
    const char *short_header = tmp_path("short-header");
    write_bytes(short_header, half, sizeof half, 0);
    EXPECT_FAIL(nn_data_idx_load(&d, short_header, labels),
                "short-header: truncated header: expected 16 bytes, found 10");

    /* wrong magic: labels given as images and the other way round */
    EXPECT_FAIL(nn_data_idx_load(&d, labels, labels),
                "labels: bad magic 0x00000801, expected 0x00000803 (IDX images)");
    EXPECT_FAIL(nn_data_idx_load(&d, images, images),
                "images: bad magic 0x00000803, expected 0x00000801 (IDX labels)");
    const char *text = tmp_path("text.gz");
    write_bytes(text, "hello, this is not an IDX file", 30, 1);
    EXPECT_FAIL(nn_data_idx_load(&d, text, labels), "text.gz: bad magic 0x68656c6c");

    /* truncated pixel data, plain and gzip */
    const char *cut = write_idx("cut", 0x803, 3, small_idims, small_pixels, 17, 0);
    EXPECT_FAIL(nn_data_idx_load(&d, cut, labels),
                "cut: truncated: expected 18 bytes of pixels, found 17");
    const char *cut_gz = write_idx("cut.gz", 0x803, 3, small_idims, small_pixels, 5, 1);
    EXPECT_FAIL(nn_data_idx_load(&d, cut_gz, labels),
                "cut.gz: truncated: expected 18 bytes of pixels, found 5");
    const char *cut_labels = write_idx("cut-labels", 0x801, 1, small_ldims, small_labels, 2, 0);
    EXPECT_FAIL(nn_data_idx_load(&d, images, cut_labels),
                "cut-labels: truncated: expected 3 bytes of labels, found 2");

    /* a gzip stream cut in the middle (the download stopped): also "truncated" */
    enum { BIG = 200000 };
    unsigned char *noise = malloc(BIG);
    assert_non_null(noise);
    nn_rng rng;
    nn_rng_seed(&rng, 1);
    for (int i = 0; i < BIG; i++) noise[i] = (unsigned char)nn_rng_u64(&rng); /* incompressible */
    uint32_t big_dims[3] = {BIG / 100, 10, 10};
    const char *broken = write_idx("broken.gz", 0x803, 3, big_dims, noise, BIG, 1);
    free(noise);
    FILE *f = fopen(broken, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    assert_int_equal(truncate(broken, size / 2), 0);
    EXPECT_FAIL(nn_data_idx_load(&d, broken, labels), "broken.gz: truncated: expected 200000");

    /* trailing garbage after the data, plain and inside the gzip stream */
    unsigned char more[20];
    memcpy(more, small_pixels, 18);
    more[18] = more[19] = 0xff;
    const char *tail = write_idx("tail", 0x803, 3, small_idims, more, 20, 0);
    EXPECT_FAIL(nn_data_idx_load(&d, tail, labels), "tail: 2 trailing bytes");
    const char *tail_gz = write_idx("tail.gz", 0x803, 3, small_idims, more, 20, 1);
    EXPECT_FAIL(nn_data_idx_load(&d, tail_gz, labels), "tail.gz: 2 trailing bytes");

    /* image count != label count */
    uint32_t two[1] = {2};
    const char *two_labels = write_idx("two-labels", 0x801, 1, two, small_labels, 2, 0);
    EXPECT_FAIL(nn_data_idx_load(&d, images, two_labels), "image count 3 != label count 2");

    /* zero and absurd sizes are refused from the header alone (before allocating: the file
     * holds only 18 bytes, and 2^31 images of 2x3 would need 12 GiB) */
    uint32_t zero[3] = {0, 2, 3}, huge[3] = {1u << 31, 2, 3}, wide[3] = {3, 2, 5000};
    const char *zero_f = write_idx("zero", 0x803, 3, zero, small_pixels, 18, 0);
    EXPECT_FAIL(nn_data_idx_load(&d, zero_f, labels), "zero: images count is 0, expected 1..");
    const char *huge_f = write_idx("huge", 0x803, 3, huge, small_pixels, 18, 0);
    EXPECT_FAIL(nn_data_idx_load(&d, huge_f, labels),
                "huge: images count is 2147483648, expected 1..10000000");
    const char *wide_f = write_idx("wide", 0x803, 3, wide, small_pixels, 18, 0);
    EXPECT_FAIL(nn_data_idx_load(&d, wide_f, labels), "wide: images cols is 5000, expected 1..4096");
    uint32_t many[1] = {4000000000u};
    const char *many_f = write_idx("many", 0x801, 1, many, small_labels, 3, 0);
    EXPECT_FAIL(nn_data_idx_load(&d, images, many_f), "many: labels count is 4000000000");

    /* a header that claims 10^7 images of 4096x4096 with no data behind it: within the
     * limits, so it is refused as truncated without ever allocating the claimed 168 TB */
    uint32_t claim[3] = {10000000, 4096, 4096};
    const char *claim_f = write_idx("claim", 0x803, 3, claim, small_pixels, 18, 0);
    EXPECT_FAIL(nn_data_idx_load(&d, claim_f, labels), "claim: truncated: expected");

    /* a directory is not a file */
    EXPECT_FAIL(nn_data_idx_load(&d, tmpdir, labels), tmpdir);
    assert_null(d.x);
}

/* ------------------------------------------------------------------------------------------ */
/* synthetic sets                                                                             */
/* ------------------------------------------------------------------------------------------ */

typedef void (*two_class_fn)(nn_data *, int, double, nn_rng *);

static int same_data(const nn_data *a, const nn_data *b)
{
    return a->n == b->n && a->dim == b->dim &&
           memcmp(a->x, b->x, (size_t)a->n * a->dim * sizeof *a->x) == 0 &&
           memcmp(a->y, b->y, (size_t)a->n * sizeof *a->y) == 0;
}

static void check_two_class(two_class_fn make, const char *what, int balanced)
{
    nn_rng r1, r2, r3;
    nn_rng_seed(&r1, 42);
    nn_rng_seed(&r2, 42);
    nn_rng_seed(&r3, 43);
    nn_data a, b, c;
    make(&a, 501, 0.1, &r1);
    make(&b, 501, 0.1, &r2);
    make(&c, 501, 0.1, &r3);
    assert_int_equal(a.n, 501);
    assert_int_equal(a.dim, 2);
    assert_int_equal(a.classes, 2);
    assert_int_equal(a.channels + a.height + a.width, 0);
    if (!same_data(&a, &b)) fail_msg("%s: same seed gave different data", what);
    if (same_data(&a, &c)) fail_msg("%s: different seeds gave the same data", what);
    int count[2] = {0, 0};
    for (int i = 0; i < a.n; i++) {
        assert_true(a.y[i] == 0 || a.y[i] == 1);
        count[a.y[i]]++;
        assert_true(isfinite(a.x[2 * i]) && isfinite(a.x[2 * i + 1]));
        assert_true(fabs(a.x[2 * i]) < 5 && fabs(a.x[2 * i + 1]) < 5);
    }
    if (balanced && (count[0] != 251 || count[1] != 250))
        fail_msg("%s: classes %d/%d, expected 251/250", what, count[0], count[1]);
    if (!balanced && (count[0] < 200 || count[1] < 200))
        fail_msg("%s: classes %d/%d, far from balanced", what, count[0], count[1]);
    nn_data_free(&a);
    nn_data_free(&b);
    nn_data_free(&c);
}

static void test_synthetic_two_class(void **state)
{
    (void)state;
    check_two_class(nn_data_xor, "xor", 0);
    check_two_class(nn_data_spirals, "spirals", 1);
    check_two_class(nn_data_moons, "moons", 1);
}

static void test_xor_labels(void **state)
{
    (void)state;
    nn_rng rng;
    nn_rng_seed(&rng, 7);
    nn_data d;
    nn_data_xor(&d, 1000, 0, &rng); /* no noise: the label is exactly the quadrant rule */
    for (int i = 0; i < d.n; i++) {
        nn_real x = d.x[2 * i], y = d.x[2 * i + 1];
        assert_true(x >= -1 && x <= 1 && y >= -1 && y <= 1);
        assert_int_equal(d.y[i], (x > 0) != (y > 0));
    }
    nn_data_free(&d);
}

static void test_moons_spirals_shape(void **state)
{
    (void)state;
    nn_rng rng;
    nn_rng_seed(&rng, 3);
    nn_data m, s;
    nn_data_moons(&m, 100, 0, &rng);
    nn_data_spirals(&s, 100, 0, &rng);
    for (int i = 0; i < 100; i++) {
        double x = m.x[2 * i], y = m.x[2 * i + 1];
        /* class 0 on the unit circle's upper half, class 1 on the circle around (1, 0.5) */
        double cx = m.y[i] ? 1 : 0, cy = m.y[i] ? 0.5 : 0;
        assert_true(fabs(hypot(x - cx, y - cy) - 1) < 1e-5);
        assert_true(m.y[i] ? y <= 0.5 + 1e-6 : y >= -1e-6);
        double r = hypot(s.x[2 * i], s.x[2 * i + 1]);
        assert_true(r > 0 && r < 1);
        assert_int_equal(s.y[i], i % 2);
    }
    /* the two arms are point reflections of each other: example 2k+1 = -(example 2k) */
    for (int k = 0; k < 50; k++) {
        assert_true(fabs(s.x[4 * k] + s.x[4 * k + 2]) < 1e-5);
        assert_true(fabs(s.x[4 * k + 1] + s.x[4 * k + 3]) < 1e-5);
    }
    nn_data_free(&m);
    nn_data_free(&s);
}

static void test_blobs(void **state)
{
    (void)state;
    for (int classes = 2; classes <= 5; classes++) {
        nn_rng rng, rng2;
        nn_rng_seed(&rng, 11);
        nn_rng_seed(&rng2, 11);
        nn_data d, e;
        nn_data_blobs(&d, 503, classes, 0.2, &rng);
        nn_data_blobs(&e, 503, classes, 0.2, &rng2);
        assert_true(same_data(&d, &e));
        assert_int_equal(d.classes, classes);
        assert_int_equal(d.dim, 2);
        int count[5] = {0};
        for (int i = 0; i < d.n; i++) count[d.y[i]]++;
        for (int c = 0; c < classes; c++) assert_true(abs(count[c] - 503 / classes) <= 1);
        /* the order is shuffled, not 0,1,2,0,1,2,... */
        int runs = 0;
        for (int i = 0; i < d.n; i++) runs += d.y[i] == i % classes;
        assert_true(runs < d.n * 0.6);
        /* small spread: every point is nearest its own class's mean (separable) */
        double mean[5][2] = {{0}};
        for (int i = 0; i < d.n; i++) {
            mean[d.y[i]][0] += d.x[2 * i] / count[d.y[i]];
            mean[d.y[i]][1] += d.x[2 * i + 1] / count[d.y[i]];
        }
        for (int i = 0; i < d.n; i++) {
            int best = 0;
            double best_dist = INFINITY;
            for (int c = 0; c < classes; c++) {
                double dist = hypot(d.x[2 * i] - mean[c][0], d.x[2 * i + 1] - mean[c][1]);
                if (dist < best_dist) best_dist = dist, best = c;
            }
            if (best != d.y[i])
                fail_msg("blobs(%d classes): point %d of class %d is nearest class %d", classes,
                         i, d.y[i], best);
        }
        nn_data_free(&d);
        nn_data_free(&e);
    }
}

static void test_synthetic_bad_arguments(void **state)
{
    (void)state;
    nn_rng rng;
    nn_rng_seed(&rng, 1);
    nn_data d = {0};
    EXPECT_FAIL(nn_data_blobs(&d, 100, 1, 0.1, &rng), "at least 2 classes");
    EXPECT_FAIL(nn_data_blobs(&d, 0, 3, 0.1, &rng), "n must be positive");
    EXPECT_FAIL(nn_data_moons(&d, 100, -1, &rng), "noise must be");
    EXPECT_FAIL(nn_data_spirals(&d, -5, 0.1, &rng), "nn_data_spirals: n must be positive");
    EXPECT_FAIL(nn_data_xor(&d, 10, NAN, &rng), "nn_data_xor: noise must be");
    assert_null(d.x);
}

/* ------------------------------------------------------------------------------------------ */
/* subsets and batches                                                                        */
/* ------------------------------------------------------------------------------------------ */

static void test_subset(void **state)
{
    (void)state;
    nn_data d, s;
    nn_data_idx_load(&d, small_images("sub-images", 0), small_labels_file("sub-labels", 0));
    nn_data_subset(&s, &d, 2);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.dim, 6);
    assert_int_equal(s.height, 2);
    assert_int_equal(s.width, 3);
    assert_int_equal(s.channels, 1);
    assert_int_equal(s.classes, 3);
    assert_true(s.x != d.x && s.y != d.y); /* a deep copy */
    assert_memory_equal(s.x, d.x, 12 * sizeof *s.x);
    assert_memory_equal(s.y, d.y, 2 * sizeof *s.y);
    nn_data_free(&s);
    nn_data_subset(&s, &d, 1000); /* more than there are: all of them */
    assert_int_equal(s.n, 3);
    assert_memory_equal(s.x, d.x, 18 * sizeof *s.x);
    nn_data_free(&s);
    EXPECT_FAIL(nn_data_subset(&s, &d, 0), "n must be positive");
    nn_data_free(&d);
}

static void test_batch(void **state)
{
    (void)state;
    nn_data d;
    nn_rng rng;
    nn_rng_seed(&rng, 5);
    nn_data_blobs(&d, 10, 3, 0.5, &rng);
    int order[10] = {9, 3, 0, 7, 1, 2, 4, 5, 6, 8};
    nn_real x[4 * 2];
    int y[4];
    nn_data_batch(&d, order, 1, 4, x, y); /* examples 3, 0, 7, 1 */
    int want[4] = {3, 0, 7, 1};
    for (int i = 0; i < 4; i++) {
        assert_true(x[2 * i] == d.x[2 * want[i]]);
        assert_true(x[2 * i + 1] == d.x[2 * want[i] + 1]);
        assert_int_equal(y[i], d.y[want[i]]);
    }
    nn_data_batch(&d, order, 6, 4, x, y); /* the last four: fits exactly */
    assert_int_equal(y[3], d.y[8]);
    EXPECT_FAIL(nn_data_batch(&d, order, 7, 4, x, y),
                "examples 7..10 requested, but the dataset has 10");
    EXPECT_FAIL(nn_data_batch(&d, order, -1, 2, x, y), "requested");
    int bad[3] = {0, 10, 1};
    EXPECT_FAIL(nn_data_batch(&d, bad, 0, 3, x, y), "order[1] = 10 is out of range 0..9");
    bad[1] = -2;
    EXPECT_FAIL(nn_data_batch(&d, bad, 0, 3, x, y), "order[1] = -2 is out of range");
    nn_data_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fmnist_real),
        cmocka_unit_test(test_fmnist_class_names),
        cmocka_unit_test(test_fmnist_nn_data_env),
        cmocka_unit_test(test_idx_small_roundtrip),
        cmocka_unit_test(test_idx_bad_files),
        cmocka_unit_test(test_synthetic_two_class),
        cmocka_unit_test(test_xor_labels),
        cmocka_unit_test(test_moons_spirals_shape),
        cmocka_unit_test(test_blobs),
        cmocka_unit_test(test_synthetic_bad_arguments),
        cmocka_unit_test(test_subset),
        cmocka_unit_test(test_batch),
    };
    return cmocka_run_group_tests_name("data", tests, make_tmpdir, remove_tmpdir);
}
