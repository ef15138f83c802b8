/* data.c -- datasets: Fashion-MNIST from IDX files, small synthetic 2-D sets, subsets and
 * mini-batches.
 *
 * The IDX format (used by MNIST and Fashion-MNIST) is a tiny header followed by raw bytes:
 *
 *   bytes 0-3    magic, big-endian: 0x00 0x00 <type> <ndims>; type 0x08 = unsigned byte,
 *                so 0x00000803 = a 3-D array of bytes (images), 0x00000801 = 1-D (labels)
 *   then ndims   sizes, each a big-endian uint32: (count, rows, cols) or (count)
 *   then         count*rows*cols bytes of data, row-major, nothing after it
 *
 * The files ship gzip-compressed; zlib's gzread reads .gz and plain files alike, so we never
 * unpack them. A file from the internet is untrusted input: every size is checked before it
 * is used, and memory grows only as fast as real data arrives, so a header that lies about
 * its size costs nothing. */
#include "nn.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define IDX_MAGIC_IMAGES 0x00000803u
#define IDX_MAGIC_LABELS 0x00000801u
#define IDX_MAX_COUNT 10000000u /* more examples than this is a corrupt header, not data */
#define IDX_MAX_SIDE 4096u      /* likewise for image rows and cols */

void nn_data_free(nn_data *d)
{
    if (!d) return;
    free(d->x);
    free(d->y);
    memset(d, 0, sizeof *d);
}

/* ------------------------------------------------------------------------------------------ */
/* IDX files                                                                                  */
/* ------------------------------------------------------------------------------------------ */

/* Read up to `want` bytes; returns how many arrived (fewer only at the end of the file), or -1
 * on a read error (message in err). A gzip stream cut short counts as the end of the file, so
 * it is reported as "truncated" like a short plain file. */
static long long idx_read_bytes(gzFile gz, const char *path, unsigned char *buf, size_t want,
                                char *err, size_t errsize)
{
    size_t got = 0;
    while (got < want) {
        size_t chunk = want - got > (1u << 20) ? (1u << 20) : want - got;
        int r = gzread(gz, buf + got, (unsigned)chunk);
        if (r < 0) {
            int code;
            const char *msg = gzerror(gz, &code);
            if (code == Z_BUF_ERROR) break; /* "unexpected end of file": a cut gzip stream */
            snprintf(err, errsize, "%s: read error: %s", path,
                     code == Z_ERRNO ? strerror(errno) : msg);
            return -1;
        }
        if (r == 0) break;
        got += (size_t)r;
    }
    return (long long)got;
}

static uint32_t big_endian_u32(const unsigned char *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* Read one IDX file with the given magic (ndims = magic & 0xff) into dims[] and *data
 * (dims[0]*...*dims[ndims-1] bytes, malloc'd). Returns 0, or -1 with a message in err and
 * nothing left allocated or open: the caller can clean up its own state before nn_fail. */
static int idx_read(const char *path, uint32_t magic, const char *what, uint32_t dims[3],
                    unsigned char **data, size_t *size, char *err, size_t errsize)
{
    *data = NULL;
    *size = 0;
    errno = 0;
    gzFile gz = gzopen(path, "rb");
    if (!gz) {
        snprintf(err, errsize, "%s: cannot open: %s", path,
                 errno ? strerror(errno) : "out of memory");
        return -1;
    }

    /* header: magic, then one uint32 per dimension, all big-endian; the magic is checked
     * first so that a wrong kind of file is named as such, whatever its length */
    int ndims = (int)(magic & 0xff);
    size_t header_size = 4 + 4 * (size_t)ndims;
    unsigned char header[16];
    long long got = idx_read_bytes(gz, path, header, 4, err, errsize);
    if (got == 4) {
        uint32_t found = big_endian_u32(header);
        if (found != magic) {
            snprintf(err, errsize, "%s: bad magic 0x%08x, expected 0x%08x (IDX %s)", path,
                     (unsigned)found, (unsigned)magic, what);
            goto fail;
        }
        got = idx_read_bytes(gz, path, header + 4, header_size - 4, err, errsize);
        if (got >= 0) got += 4;
    }
    if (got < 0) goto fail;
    if ((size_t)got < header_size) {
        snprintf(err, errsize, "%s: truncated header: expected %zu bytes, found %lld%s", path,
                 header_size, got, got == 0 ? " (empty file)" : "");
        goto fail;
    }

    /* sizes: refuse zero or absurd ones before allocating anything */
    static const char *dim_names[3] = {"count", "rows", "cols"};
    size_t total = 1;
    for (int i = 0; i < ndims; i++) {
        uint32_t limit = i == 0 ? IDX_MAX_COUNT : IDX_MAX_SIDE;
        dims[i] = big_endian_u32(header + 4 + 4 * i);
        if (dims[i] == 0 || dims[i] > limit) {
            snprintf(err, errsize, "%s: %s %s is %u, expected 1..%u", path, what, dim_names[i],
                     (unsigned)dims[i], (unsigned)limit);
            goto fail;
        }
        total = nn_size_mul(total, dims[i], path); /* within the limits: fits 64-bit */
    }

    /* data: grow the buffer as bytes arrive (doubling), never past what the header says */
    size_t capacity = 0;
    while (*size < total) {
        size_t next = capacity ? 2 * capacity : (1u << 16);
        if (next > total) next = total;
        *data = nn_realloc(*data, next);
        capacity = next;
        got = idx_read_bytes(gz, path, *data + *size, capacity - *size, err, errsize);
        if (got < 0) goto fail;
        *size += (size_t)got;
        if (*size < capacity) break; /* end of file */
    }
    if (*size < total) {
        snprintf(err, errsize, "%s: truncated: expected %zu bytes of %s, found %zu", path, total,
                 ndims == 3 ? "pixels" : "labels", *size);
        goto fail;
    }

    /* nothing may follow the data: extra bytes mean the header and the file disagree */
    unsigned char extra[256];
    got = idx_read_bytes(gz, path, extra, sizeof extra, err, errsize);
    if (got < 0) goto fail;
    if (got > 0) {
        snprintf(err, errsize, "%s: %s%lld trailing bytes after the %zu bytes of data", path,
                 got == (long long)sizeof extra ? "at least " : "", got, total);
        goto fail;
    }
    gzclose(gz);
    return 0;

fail:
    free(*data);
    *data = NULL;
    *size = 0;
    gzclose(gz);
    return -1;
}

void nn_data_idx_load(nn_data *d, const char *images_path, const char *labels_path)
{
    if (!d || !images_path || !labels_path) nn_fail("nn_data_idx_load: NULL argument");
    char err[1024];
    uint32_t idims[3], ldims[3];
    unsigned char *pixels, *labels;
    size_t npixels, nlabels;
    if (idx_read(images_path, IDX_MAGIC_IMAGES, "images", idims, &pixels, &npixels, err,
                 sizeof err) != 0)
        nn_fail("%s", err);
    if (idx_read(labels_path, IDX_MAGIC_LABELS, "labels", ldims, &labels, &nlabels, err,
                 sizeof err) != 0) {
        free(pixels);
        nn_fail("%s", err);
    }
    if (ldims[0] != idims[0]) {
        free(pixels);
        free(labels);
        nn_fail("%s and %s: image count %u != label count %u", images_path, labels_path,
                (unsigned)idims[0], (unsigned)ldims[0]);
    }

    memset(d, 0, sizeof *d);
    d->n = (int)idims[0];
    d->channels = 1;
    d->height = (int)idims[1];
    d->width = (int)idims[2];
    d->dim = d->height * d->width;
    d->x = nn_malloc(nn_size_mul(npixels, sizeof *d->x, "nn_data_idx_load"));
    d->y = nn_malloc(nn_size_mul(nlabels, sizeof *d->y, "nn_data_idx_load"));
    for (size_t i = 0; i < npixels; i++) d->x[i] = (nn_real)pixels[i] / (nn_real)255;
    int max_label = 0;
    for (size_t i = 0; i < nlabels; i++) {
        d->y[i] = labels[i]; /* a byte, so always 0..255 */
        if (d->y[i] > max_label) max_label = d->y[i];
    }
    d->classes = max_label + 1;
    free(pixels);
    free(labels);
}

/* ------------------------------------------------------------------------------------------ */
/* Fashion-MNIST                                                                              */
/* ------------------------------------------------------------------------------------------ */

static const char *fmnist_files[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                      "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};

static int readable(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    fclose(f);
    return 1;
}

/* Fill paths[4] with dir/<name>.gz or dir/<name> for each file; returns 1 if all exist. */
static int fmnist_find(const char *dir, char paths[4][4096])
{
    size_t len = strlen(dir);
    const char *sep = len > 0 && dir[len - 1] == '/' ? "" : "/";
    for (int i = 0; i < 4; i++) {
        int n = snprintf(paths[i], 4096, "%s%s%s.gz", dir, sep, fmnist_files[i]);
        if (n < 0 || n >= 4096) return 0;
        if (readable(paths[i])) continue;
        paths[i][n - 3] = '\0'; /* drop ".gz": an unpacked copy works too */
        if (!readable(paths[i])) return 0;
    }
    return 1;
}

void nn_data_fmnist_load(nn_data *train, nn_data *test)
{
    if (!train || !test) nn_fail("nn_data_fmnist_load: NULL argument");
    static char paths[4][4096];
    const char *env = getenv("NN_DATA");
    if (env && *env) {
        /* an explicit choice is never second-guessed by falling back elsewhere */
        if (!fmnist_find(env, paths))
            nn_fail("Fashion-MNIST not found in $NN_DATA=%s (expected %s.gz and the other three "
                    "files there); unset NN_DATA to use the installed copy, or install it with: "
                    "sudo apt-get install dataset-fashion-mnist (or run make deps)",
                    env, fmnist_files[0]);
    } else if (!fmnist_find("datasets/fashion-mnist/", paths) &&
               !fmnist_find("/usr/share/datasets/fashion-mnist/", paths)) {
        nn_fail("Fashion-MNIST not found: looked in $NN_DATA (unset), datasets/fashion-mnist/ "
                "and /usr/share/datasets/fashion-mnist/ for %s.gz and the other three files; "
                "install it with: sudo apt-get install dataset-fashion-mnist (or run make deps)",
                fmnist_files[0]);
    }
    nn_data_idx_load(train, paths[0], paths[1]);
    nn_data_idx_load(test, paths[2], paths[3]);
    const nn_data *sets[2] = {train, test};
    for (int i = 0; i < 2; i++) {
        const nn_data *s = sets[i];
        char msg[1024] = "";
        if (s->height != 28 || s->width != 28)
            snprintf(msg, sizeof msg, "%.900s: not Fashion-MNIST: images are %dx%d, expected 28x28",
                     paths[2 * i], s->height, s->width);
        else if (s->classes != 10)
            snprintf(msg, sizeof msg,
                     "%.900s: not Fashion-MNIST: labels run from 0 to %d, expected 0 to 9",
                     paths[2 * i + 1], s->classes - 1);
        if (msg[0]) {
            nn_data_free(train);
            nn_data_free(test);
            nn_fail("%s", msg);
        }
    }
}

/* keeps the first n of *d (all when n >= d->n) */
static void keep_first(nn_data *d, int n)
{
    if (n >= d->n) return;
    nn_data all = *d;
    nn_data_subset(d, &all, n);
    nn_data_free(&all);
}

void nn_data_fmnist_load_first(nn_data *train, int ntrain, nn_data *test, int ntest)
{
    if (ntrain < 1 || ntest < 1)
        nn_fail("nn_data_fmnist_load_first: expected at least one image of each set, got %d "
                "training and %d test", ntrain, ntest);
    nn_data_fmnist_load(train, test);
    keep_first(train, ntrain);
    keep_first(test, ntest);
}

const char *const nn_data_fmnist_classes[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress",
                                                 "Coat",        "Sandal",  "Shirt",    "Sneaker",
                                                 "Bag",         "Ankle boot"};

const char *nn_data_fmnist_class_name(int label)
{
    return label >= 0 && label < 10 ? nn_data_fmnist_classes[label] : "?";
}

/* ------------------------------------------------------------------------------------------ */
/* synthetic 2-D sets                                                                         */
/* ------------------------------------------------------------------------------------------ */

static const double pi = 3.14159265358979323846;

/* an empty (n, 2) dataset with `classes` classes */
static void synthetic_alloc(nn_data *d, const char *who, int n, int classes, double noise)
{
    if (!d) nn_fail("%s: NULL dataset", who);
    if (n <= 0) nn_fail("%s: n must be positive, got %d", who, n);
    if (!(noise >= 0) || isinf(noise))
        nn_fail("%s: noise must be a finite value >= 0, got %g", who, noise);
    memset(d, 0, sizeof *d);
    d->n = n;
    d->dim = 2;
    d->classes = classes;
    d->x = nn_malloc(nn_size_mul((size_t)n, 2 * sizeof *d->x, who));
    d->y = nn_malloc(nn_size_mul((size_t)n, sizeof *d->y, who));
}

/* Gaussian blobs: class k is centred at angle 2*pi*k/classes on a circle of radius 2, points
 * are centre + N(0, spread^2) per coordinate. Neighbouring centres are 4*sin(pi/classes)
 * apart, so a small spread gives linearly separable classes. Labels are balanced (counts
 * differ by at most one) and come in an rng-shuffled order. */
void nn_data_blobs(nn_data *d, int n, int classes, double spread, nn_rng *rng)
{
    if (classes < 2) nn_fail("nn_data_blobs: need at least 2 classes, got %d", classes);
    synthetic_alloc(d, "nn_data_blobs", n, classes, spread);
    for (int i = 0; i < n; i++) d->y[i] = i % classes;
    nn_rng_shuffle(rng, d->y, n);
    for (int i = 0; i < n; i++) {
        double angle = 2 * pi * d->y[i] / classes;
        d->x[2 * i] = (nn_real)(2 * cos(angle) + spread * nn_rng_normal(rng));
        d->x[2 * i + 1] = (nn_real)(2 * sin(angle) + spread * nn_rng_normal(rng));
    }
}

/* XOR: points uniform in [-1,1]^2, class = (x > 0) xor (y > 0), i.e. class 1 in the second
 * and fourth quadrants. No line separates the classes: the classic case for a hidden layer.
 * Gaussian noise (std `noise`) is added after labelling, so it blurs the quadrant borders. */
void nn_data_xor(nn_data *d, int n, double noise, nn_rng *rng)
{
    synthetic_alloc(d, "nn_data_xor", n, 2, noise);
    for (int i = 0; i < n; i++) {
        double x = 2 * nn_rng_uniform(rng) - 1, y = 2 * nn_rng_uniform(rng) - 1;
        d->y[i] = (x > 0) != (y > 0);
        d->x[2 * i] = (nn_real)(x + noise * nn_rng_normal(rng));
        d->x[2 * i + 1] = (nn_real)(y + noise * nn_rng_normal(rng));
    }
}

/* Two spirals (CS231n style): arm c holds points at radius r in (0,1) and angle
 * theta = 3*pi*r + c*pi, so each arm winds 1.5 turns and the arms interleave half a turn apart.
 * Example i belongs to arm i % 2 (classes alternate); Gaussian noise of std `noise` is added
 * to each coordinate. */
void nn_data_spirals(nn_data *d, int n, double noise, nn_rng *rng)
{
    synthetic_alloc(d, "nn_data_spirals", n, 2, noise);
    int per_arm = (n + 1) / 2;
    for (int i = 0; i < n; i++) {
        int c = i % 2, k = i / 2;
        double r = (k + 0.5) / per_arm;
        double theta = 3 * pi * r + c * pi;
        d->y[i] = c;
        d->x[2 * i] = (nn_real)(r * cos(theta) + noise * nn_rng_normal(rng));
        d->x[2 * i + 1] = (nn_real)(r * sin(theta) + noise * nn_rng_normal(rng));
    }
}

/* Two moons (as sklearn.datasets.make_moons): class 0 is the upper half circle
 * (cos t, sin t), class 1 the lower one shifted right and down, (1 - cos t, 0.5 - sin t),
 * t evenly spaced in [0, pi]. They hook into each other, so no line separates them.
 * Classes alternate (example i has class i % 2); Gaussian noise of std `noise` is added. */
void nn_data_moons(nn_data *d, int n, double noise, nn_rng *rng)
{
    synthetic_alloc(d, "nn_data_moons", n, 2, noise);
    int per_moon = (n + 1) / 2;
    for (int i = 0; i < n; i++) {
        int c = i % 2, k = i / 2;
        double t = per_moon > 1 ? pi * k / (per_moon - 1) : 0;
        double x = c == 0 ? cos(t) : 1 - cos(t), y = c == 0 ? sin(t) : 0.5 - sin(t);
        d->y[i] = c;
        d->x[2 * i] = (nn_real)(x + noise * nn_rng_normal(rng));
        d->x[2 * i + 1] = (nn_real)(y + noise * nn_rng_normal(rng));
    }
}

/* ------------------------------------------------------------------------------------------ */
/* subsets and batches                                                                        */
/* ------------------------------------------------------------------------------------------ */

void nn_data_subset(nn_data *out, const nn_data *d, int n)
{
    if (!out || !d) nn_fail("nn_data_subset: NULL dataset");
    if (n <= 0) nn_fail("nn_data_subset: n must be positive, got %d", n);
    if (out == d) nn_fail("nn_data_subset: out must be a different dataset from d");
    int m = n < d->n ? n : d->n;
    nn_data s = *d; /* same geometry and classes */
    s.n = m;
    size_t values = nn_size_mul((size_t)m, (size_t)d->dim, "nn_data_subset");
    s.x = nn_malloc(nn_size_mul(values, sizeof *s.x, "nn_data_subset"));
    s.y = nn_malloc(nn_size_mul((size_t)m, sizeof *s.y, "nn_data_subset"));
    if (values) memcpy(s.x, d->x, values * sizeof *s.x);
    if (m) memcpy(s.y, d->y, (size_t)m * sizeof *s.y);
    *out = s;
}

void nn_data_batch(const nn_data *d, const int *order, int start, int count, nn_real *x, int *y)
{
    if (!d || !order || !x || !y) nn_fail("nn_data_batch: NULL argument");
    if (start < 0 || count < 0 || (long long)start + count > d->n)
        nn_fail("nn_data_batch: examples %d..%lld requested, but the dataset has %d (0..%d)",
                start, (long long)start + count - 1, d->n, d->n - 1);
    for (int i = start; i < start + count; i++) /* check all before writing any */
        if (order[i] < 0 || order[i] >= d->n)
            nn_fail("nn_data_batch: order[%d] = %d is out of range 0..%d", i, order[i],
                    d->n - 1);
    size_t dim = (size_t)d->dim;
    for (int i = 0; i < count; i++) {
        int j = order[start + i];
        memcpy(x + (size_t)i * dim, d->x + (size_t)j * dim, dim * sizeof *x);
        y[i] = d->y[j];
    }
}
