/* checkpoint.c -- save and restore a training run: parameters, optimizer state, epoch.
 *
 * The file (little-endian; every field checked on load):
 *   "DEEPCKPT"  u32 version (1)  u32 sizeof(nn_real)  u64 file size  u32 tensor count
 *   per tensor:  u32 ndim, u32 shape[ndim], u32 name length, name bytes (no terminator)
 *   u64 count, then count nn_real values (the store's values block, in order)
 *   u32 has optimizer; if 1: u32 kind, i64 step, f64 lr momentum beta1 beta2 eps weight_decay
 *       alpha, u64 state count, u32 has m, u32 has v, [m: state count reals], [v: ...]
 *   i64 epoch
 *   u32 CRC-32 of every byte before it
 * Writing goes to PATH.tmp.<pid>, is flushed to the disk (fflush + fsync) and only then renamed
 * over PATH: rename(2) is atomic, so whoever opens PATH sees the old file or the new one,
 * never a half-written mixture, even if the writer is killed midway. Reading takes the whole
 * file into memory, checks it completely, and only then copies into the store and optimizer,
 * so a refused file leaves the run exactly as it was. */
#include "nn.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "checkpoint.c stores nn_real values as they lie in memory: it needs a little-endian host"
#endif

enum { CKPT_VERSION = 1, CKPT_HEADER = 8 + 4 + 4 + 8 + 4, CKPT_NHYPER = 7 };
static const char ckpt_magic[8] = {'D', 'E', 'E', 'P', 'C', 'K', 'P', 'T'};

/* CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320, as zlib and PNG): the remainder of the
 * message, seen as a polynomial over GF(2), divided by the generator; any burst error of up to
 * 32 bits changes it. The table holds the remainder of each byte value. */
uint32_t nn_checkpoint_crc32(const void *data, size_t n)
{
    uint32_t table[256];
    for (uint32_t b = 0; b < 256; b++) {
        uint32_t c = b;
        for (int k = 0; k < 8; k++) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        table[b] = c;
    }
    const unsigned char *p = data;
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) crc = table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
    return crc ^ 0xFFFFFFFFu;
}

/* ---- writing: the file is built in memory, then written in one go ---- */

typedef struct buf {
    unsigned char *p;
    size_t n, cap;
} buf;

static void put(buf *b, const void *data, size_t len)
{
    if (b->cap - b->n < len) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap - b->n < len) cap = nn_size_mul(cap, 2, "nn_checkpoint_save");
        b->p = nn_realloc(b->p, cap);
        b->cap = cap;
    }
    memcpy(b->p + b->n, data, len);
    b->n += len;
}
static void put_u32(buf *b, uint32_t x)
{
    unsigned char s[4];
    for (int i = 0; i < 4; i++) s[i] = (unsigned char)(x >> (8 * i));
    put(b, s, 4);
}
static void put_u64(buf *b, uint64_t x)
{
    unsigned char s[8];
    for (int i = 0; i < 8; i++) s[i] = (unsigned char)(x >> (8 * i));
    put(b, s, 8);
}
static void put_f64(buf *b, double x)
{
    uint64_t u;
    memcpy(&u, &x, 8);
    put_u64(b, u);
}

/* write tmp, flush it to the disk, rename over path, then flush the directory entry */
static void write_atomic(const char *path, buf *b)
{
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= sizeof tmp) {
        free(b->p);
        nn_fail("nn_checkpoint_save: path too long: %s", path);
    }
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        int err = errno;
        free(b->p);
        nn_fail("nn_checkpoint_save: %s: cannot create %s (%s)", path, tmp, strerror(err));
    }
    int ok = fwrite(b->p, 1, b->n, f) == b->n;
    ok = fflush(f) == 0 && ok;
    ok = fsync(fileno(f)) == 0 && ok; /* the data is on the disk before the name points at it */
    int err = errno;
    ok = fclose(f) == 0 && ok;
    if (ok && rename(tmp, path) != 0) {
        err = errno;
        ok = 0;
    }
    free(b->p);
    b->p = NULL;
    if (!ok) {
        remove(tmp);
        nn_fail("nn_checkpoint_save: %s: write failed (%s)", path, strerror(err));
    }
    /* make the rename itself durable (best effort: not every file system allows it) */
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) *(slash == dir ? slash + 1 : slash) = '\0';
    else snprintf(dir, sizeof dir, ".");
    int fd = open(dir, O_RDONLY);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

void nn_checkpoint_save(const char *path, const nn_params *ps, const nn_optim *opt, long epoch)
{
    size_t total = 0;
    for (int i = 0; i < ps->ntensors; i++) total += ps->tensors[i]->numel;
    if (total != ps->count)
        nn_fail("nn_checkpoint_save: %s: the store's tensors hold %zu numbers but count is %zu",
                path, total, ps->count);
    if (opt && opt->params != ps)
        nn_fail("nn_checkpoint_save: %s: the optimizer belongs to another parameter store", path);
    if (opt && (opt->m || opt->v) && opt->state_count != ps->count)
        nn_fail("nn_checkpoint_save: %s: optimizer state holds %zu numbers, the store %zu", path,
                opt->state_count, ps->count);

    buf b = {0};
    put(&b, ckpt_magic, 8);
    put_u32(&b, CKPT_VERSION);
    put_u32(&b, (uint32_t)sizeof(nn_real));
    put_u64(&b, 0); /* the file size, filled in at the end */
    put_u32(&b, (uint32_t)ps->ntensors);
    for (int i = 0; i < ps->ntensors; i++) {
        const nn_tensor *t = ps->tensors[i];
        put_u32(&b, (uint32_t)t->ndim);
        for (int d = 0; d < t->ndim; d++) put_u32(&b, (uint32_t)t->shape[d]);
        const char *name = t->name ? t->name : "";
        put_u32(&b, (uint32_t)strlen(name));
        put(&b, name, strlen(name));
    }
    put_u64(&b, ps->count);
    put(&b, ps->values, ps->count * sizeof(nn_real));
    put_u32(&b, opt != NULL);
    if (opt) {
        put_u32(&b, (uint32_t)opt->kind);
        put_u64(&b, (uint64_t)opt->step);
        const nn_real hyper[CKPT_NHYPER] = {opt->lr,  opt->momentum,     opt->beta1, opt->beta2,
                                            opt->eps, opt->weight_decay, opt->alpha};
        for (int k = 0; k < CKPT_NHYPER; k++) put_f64(&b, hyper[k]);
        size_t state = (opt->m || opt->v) ? opt->state_count : 0;
        put_u64(&b, state);
        put_u32(&b, opt->m != NULL);
        put_u32(&b, opt->v != NULL);
        if (opt->m) put(&b, opt->m, state * sizeof(nn_real));
        if (opt->v) put(&b, opt->v, state * sizeof(nn_real));
    }
    put_u64(&b, (uint64_t)epoch);
    /* patch the size field (it counts the checksum too), then append the checksum */
    uint64_t size = b.n + 4;
    for (int i = 0; i < 8; i++) b.p[16 + i] = (unsigned char)(size >> (8 * i));
    put_u32(&b, nn_checkpoint_crc32(b.p, b.n));
    write_atomic(path, &b);
}

/* ---- reading: everything is checked against the bytes in memory before anything is used ---- */

typedef struct reader {
    const char *path;
    unsigned char *p;
    size_t n, pos;
} reader;

/* free what was read, then fail naming the file */
static _Noreturn __attribute__((format(printf, 2, 3))) void refuse(reader *r, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    free(r->p);
    r->p = NULL;
    nn_fail("nn_checkpoint_load: %s: %s", r->path, msg);
}

/* the next len bytes, or a refusal naming the field that runs past the end */
static const unsigned char *take(reader *r, size_t len, const char *what)
{
    if (r->n - r->pos < len)
        refuse(r, "corrupt file: %s (%zu bytes) runs past the end at offset %zu", what, len, r->pos);
    const unsigned char *q = r->p + r->pos;
    r->pos += len;
    return q;
}
static uint32_t get_u32(reader *r, const char *what)
{
    const unsigned char *q = take(r, 4, what);
    return (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 | (uint32_t)q[3] << 24;
}
static uint64_t get_u64(reader *r, const char *what)
{
    const unsigned char *q = take(r, 8, what);
    uint64_t x = 0;
    for (int i = 7; i >= 0; i--) x = x << 8 | q[i];
    return x;
}
/* count reals; the count is checked against the bytes left before it is multiplied */
static const unsigned char *take_reals(reader *r, uint64_t count, const char *what)
{
    if (count > (r->n - r->pos) / sizeof(nn_real))
        refuse(r, "corrupt file: %s claims %llu values, more than the file holds", what,
               (unsigned long long)count);
    return take(r, (size_t)count * sizeof(nn_real), what);
}

static void shape_str(char *out, size_t len, int ndim, const uint32_t *shape)
{
    size_t k = (size_t)snprintf(out, len, "(");
    for (int d = 0; d < ndim && k < len; d++)
        k += (size_t)snprintf(out + k, len - k, d ? ",%u" : "%u", shape[d]);
    if (k < len) snprintf(out + k, len - k, ")");
}

long nn_checkpoint_load(const char *path, nn_params *ps, nn_optim *opt)
{
    if (opt && opt->params != ps)
        nn_fail("nn_checkpoint_load: %s: the optimizer belongs to another parameter store", path);
    reader r = {path, NULL, 0, 0};
    FILE *f = fopen(path, "rb");
    if (!f) nn_fail("nn_checkpoint_load: %s: cannot open (%s)", path, strerror(errno));
    long len = -1;
    if (fseek(f, 0, SEEK_END) == 0) len = ftell(f);
    if (len < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        nn_fail("nn_checkpoint_load: %s: cannot read (not a regular file?)", path);
    }
    r.n = (size_t)len;
    r.p = nn_malloc(r.n);
    size_t got = fread(r.p, 1, r.n, f);
    fclose(f);
    if (got != r.n) refuse(&r, "read error after %zu of %zu bytes", got, r.n);

    /* header: what the file is, and how long it should be */
    if (memcmp(r.p, ckpt_magic, r.n < 8 ? r.n : 8) != 0)
        refuse(&r, "not a deepc checkpoint (bad magic)");
    if (r.n < CKPT_HEADER) refuse(&r, "truncated: %zu bytes, shorter than the header", r.n);
    r.pos = 8;
    uint32_t version = get_u32(&r, "version");
    if (version != CKPT_VERSION)
        refuse(&r, "unsupported checkpoint version %u (this build reads version %d)", version, CKPT_VERSION);
    uint32_t real_size = get_u32(&r, "real size");
    if (real_size != sizeof(nn_real))
        refuse(&r, "written with %u-byte reals, this build uses %zu-byte " NN_REAL_NAME, real_size,
               sizeof(nn_real));
    uint64_t size = get_u64(&r, "file size");
    if (r.n < size)
        refuse(&r, "truncated: %zu of %llu bytes", r.n, (unsigned long long)size);
    if (r.n > size)
        refuse(&r, "%llu trailing bytes after the checkpoint's %llu", (unsigned long long)(r.n - size),
               (unsigned long long)size);
    uint32_t stored_crc = (uint32_t)r.p[r.n - 4] | (uint32_t)r.p[r.n - 3] << 8 |
                          (uint32_t)r.p[r.n - 2] << 16 | (uint32_t)r.p[r.n - 1] << 24;
    uint32_t crc = nn_checkpoint_crc32(r.p, r.n - 4);
    if (crc != stored_crc)
        refuse(&r, "checksum mismatch (file says %08x, contents give %08x): the file is corrupt",
               stored_crc, crc);
    r.n -= 4; /* the rest is parsed up to the checksum */

    /* tensors: same count, same shapes, in the same order as the store */
    uint32_t ntensors = get_u32(&r, "tensor count");
    if (ntensors != (uint32_t)ps->ntensors)
        refuse(&r, "holds %u tensors, the model has %d", ntensors, ps->ntensors);
    for (int i = 0; i < ps->ntensors; i++) {
        const nn_tensor *t = ps->tensors[i];
        uint32_t ndim = get_u32(&r, "ndim");
        if (ndim < 1 || ndim > NN_MAX_DIMS) refuse(&r, "corrupt file: tensor %d has %u dimensions", i, ndim);
        uint32_t shape[NN_MAX_DIMS];
        int same = (int)ndim == t->ndim;
        for (uint32_t d = 0; d < ndim; d++) {
            shape[d] = get_u32(&r, "shape");
            same = same && shape[d] == (uint32_t)t->shape[d];
        }
        uint32_t name_len = get_u32(&r, "name length");
        const char *name = (const char *)take(&r, name_len, "tensor name");
        if (!same) {
            char want[96], found[96], tmp[64];
            shape_str(found, sizeof found, (int)ndim, shape);
            snprintf(want, sizeof want, "%s", nn_shape_str(t, tmp, sizeof tmp));
            refuse(&r, "tensor %d '%s' has shape %s in the file but %s in the model", i,
                   t->name ? t->name : "", found, want);
        }
        (void)name; /* names are for people; the order and shapes identify a tensor */
    }
    uint64_t count = get_u64(&r, "value count");
    if (count != ps->count)
        refuse(&r, "holds %llu values, the model has %zu", (unsigned long long)count, ps->count);
    const unsigned char *values = take_reals(&r, count, "values");

    /* optimizer state */
    uint32_t has_opt = get_u32(&r, "optimizer flag");
    if (has_opt > 1) refuse(&r, "corrupt file: optimizer flag %u", has_opt);
    uint32_t kind = 0, has_m = 0, has_v = 0;
    uint64_t step = 0, state = 0;
    double hyper[CKPT_NHYPER] = {0};
    const unsigned char *m = NULL, *v = NULL;
    if (has_opt) {
        kind = get_u32(&r, "optimizer kind");
        if (kind >= NN_OPTIM_KINDS) refuse(&r, "corrupt file: optimizer kind %u", kind);
        step = get_u64(&r, "optimizer step");
        if (step > (uint64_t)LONG_MAX) refuse(&r, "corrupt file: optimizer step %llu", (unsigned long long)step);
        for (int k = 0; k < CKPT_NHYPER; k++) {
            uint64_t u = get_u64(&r, "optimizer hyper-parameter");
            memcpy(&hyper[k], &u, 8);
        }
        state = get_u64(&r, "optimizer state count");
        has_m = get_u32(&r, "optimizer m flag");
        has_v = get_u32(&r, "optimizer v flag");
        if (has_m > 1 || has_v > 1) refuse(&r, "corrupt file: optimizer state flags %u %u", has_m, has_v);
        if ((has_m || has_v) && state != ps->count)
            refuse(&r, "optimizer state holds %llu numbers, the model has %zu",
                   (unsigned long long)state, ps->count);
        if (has_m) m = take_reals(&r, state, "optimizer m");
        if (has_v) v = take_reals(&r, state, "optimizer v");
    }
    if (opt && !has_opt) refuse(&r, "holds no optimizer state (it was saved without one)");
    if (opt && kind != (uint32_t)opt->kind)
        refuse(&r, "holds %s optimizer state, but the optimizer is %s",
               nn_optim_name((nn_optim_kind)kind), nn_optim_name(opt->kind));
    long epoch = (long)(int64_t)get_u64(&r, "epoch");
    if (r.pos != r.n) refuse(&r, "corrupt file: %zu unexplained bytes before the checksum", r.n - r.pos);

    /* the whole file is valid: now, and only now, change the run */
    if (opt) {
        nn_real *new_m = has_m ? nn_malloc(nn_size_mul(state, sizeof(nn_real), "checkpoint")) : NULL;
        nn_real *new_v = has_v ? nn_malloc(nn_size_mul(state, sizeof(nn_real), "checkpoint")) : NULL;
        if (has_m) memcpy(new_m, m, state * sizeof(nn_real));
        if (has_v) memcpy(new_v, v, state * sizeof(nn_real));
        free(opt->m);
        free(opt->v);
        opt->m = new_m;
        opt->v = new_v;
        opt->state_count = (has_m || has_v) ? state : 0;
        opt->step = (long)step;
        nn_real *fields[CKPT_NHYPER] = {&opt->lr,  &opt->momentum,     &opt->beta1, &opt->beta2,
                                        &opt->eps, &opt->weight_decay, &opt->alpha};
        for (int k = 0; k < CKPT_NHYPER; k++) *fields[k] = (nn_real)hyper[k];
    }
    memcpy(ps->values, values, count * sizeof(nn_real));
    free(r.p);
    return epoch;
}
