/* io.c -- files: directories, atomic writes, and .npy so any tensor opens in NumPy. */
#include "nn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void nn_io_mkdir_p(const char *path)
{
    char buf[1024];
    if (strlen(path) >= sizeof buf) nn_fail("%s: path too long", path);
    strcpy(buf, path);
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == 0) {
            char saved = *p;
            *p = 0;
            if (mkdir(buf, 0777) != 0 && errno != EEXIST)
                nn_fail("%s: cannot create directory: %s", buf, strerror(errno));
            struct stat st;
            if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
                nn_fail("%s: exists and is not a directory", buf);
            *p = saved;
            if (!saved) break;
        }
    }
}

/* Write to "path.tmp.PID", then rename over path: a reader (or a crash) never sees half a file. */
FILE *nn_io_open_atomic(const char *path, char *tmp_path, size_t tmp_len)
{
    int n = snprintf(tmp_path, tmp_len, "%s.tmp.%ld", path, (long)getpid());
    if (n < 0 || (size_t)n >= tmp_len) nn_fail("%s: path too long", path);
    FILE *f = fopen(tmp_path, "wb");
    if (!f) nn_fail("%s: cannot write: %s", tmp_path, strerror(errno));
    return f;
}

void nn_io_commit_atomic(FILE *f, const char *tmp_path, const char *path)
{
    int bad = ferror(f) || fflush(f) != 0 || fsync(fileno(f)) != 0;
    int err = errno;
    if (fclose(f) != 0 && !bad) {
        bad = 1;
        err = errno;
    }
    if (bad || rename(tmp_path, path) != 0) {
        if (!bad) err = errno;
        remove(tmp_path);
        nn_fail("%s: write failed: %s", path, strerror(err));
    }
}

/* NPY v1.0: "\x93NUMPY" 1 0, a little-endian uint16 header length, a Python dict literal
 * padded with spaces to a multiple of 64 bytes ending in '\n', then the raw values. */
void nn_io_write_npy(const char *path, const nn_real *data, int ndim, const int *shape)
{
    char shape_str[256] = "";
    size_t at = 0;
    for (int i = 0; i < ndim; i++)
        at += (size_t)snprintf(shape_str + at, sizeof shape_str - at, "%d,%s", shape[i],
                               (i + 1 < ndim) ? " " : "");
    if (ndim > 1) shape_str[at - 1] = 0; /* (a, b) not (a, b,); a 1-D shape keeps "(n,)" */
    char header[512];
    int len = snprintf(header, sizeof header, "{'descr': '<f%d', 'fortran_order': False, 'shape': (%s), }",
                       (int)sizeof(nn_real), shape_str);
    int total = 10 + len + 1;
    int padded = (total + 63) / 64 * 64;
    memset(header + len, ' ', (size_t)(padded - total));
    header[len + padded - total] = '\n';
    int header_len = len + padded - total + 1;
    char tmp[1100];
    FILE *f = nn_io_open_atomic(path, tmp, sizeof tmp);
    unsigned char preamble[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                                  (unsigned char)(header_len & 0xff), (unsigned char)(header_len >> 8)};
    fwrite(preamble, 1, 10, f);
    fwrite(header, 1, (size_t)header_len, f);
    fwrite(data, sizeof(nn_real), nn_shape_numel(ndim, shape), f); /* x86/ARM are little-endian */
    nn_io_commit_atomic(f, tmp, path);
}

/* The reader trusts nothing: magic, version, header length, the dict's keys, the shape's
 * product against the bytes present. Every refusal names the file. */
static int npy_fail(char *msg, size_t len, const char *path, const char *what)
{
    snprintf(msg, len, "%s: not a readable .npy file: %s", path, what);
    return -1;
}

static int npy_parse_header(const char *h, int *ndim, int *shape, int *word, char *msg,
                            size_t mlen, const char *path)
{
    const char *d = strstr(h, "'descr':");
    if (!d) return npy_fail(msg, mlen, path, "no 'descr' in the header");
    d += 8;
    while (*d == ' ') d++;
    if (!strncmp(d, "'<f4'", 5)) *word = 4;
    else if (!strncmp(d, "'<f8'", 5)) *word = 8;
    else return npy_fail(msg, mlen, path, "only little-endian float32 ('<f4') or float64 ('<f8') data is supported");
    const char *fo = strstr(h, "'fortran_order':");
    if (!fo) return npy_fail(msg, mlen, path, "no 'fortran_order' in the header");
    fo += 16;
    while (*fo == ' ') fo++;
    if (strncmp(fo, "False", 5)) return npy_fail(msg, mlen, path, "Fortran-order arrays are not supported");
    const char *sh = strstr(h, "'shape':");
    if (!sh) return npy_fail(msg, mlen, path, "no 'shape' in the header");
    sh += 8;
    while (*sh == ' ') sh++;
    if (*sh++ != '(') return npy_fail(msg, mlen, path, "bad 'shape'");
    *ndim = 0;
    for (;;) {
        while (*sh == ' ' || *sh == ',') sh++;
        if (*sh == ')') break;
        if (*sh < '0' || *sh > '9') return npy_fail(msg, mlen, path, "bad 'shape'");
        if (*ndim == NN_MAX_DIMS) return npy_fail(msg, mlen, path, "too many dimensions");
        long v = 0;
        while (*sh >= '0' && *sh <= '9') {
            v = v * 10 + (*sh++ - '0');
            if (v > 1000000000L) return npy_fail(msg, mlen, path, "a dimension is absurdly large");
        }
        shape[(*ndim)++] = (int)v;
    }
    return 0;
}

nn_real *nn_io_read_npy(const char *path, int *ndim, int *shape)
{
    char msg[512], header[4097];
    unsigned char pre[10];
    FILE *f = fopen(path, "rb");
    if (!f) nn_fail("%s: cannot open: %s", path, strerror(errno));
    int word = 0, bad = 0;
    size_t header_len = 0;
    if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0)
        bad = npy_fail(msg, sizeof msg, path, "bad magic (expected \\x93NUMPY)");
    else if (pre[6] != 1 || pre[7] != 0)
        bad = npy_fail(msg, sizeof msg, path, "only format version 1.0 is supported");
    else if ((header_len = (size_t)pre[8] | (size_t)pre[9] << 8) >= sizeof header)
        bad = npy_fail(msg, sizeof msg, path, "header too long");
    else if (fread(header, 1, header_len, f) != header_len)
        bad = npy_fail(msg, sizeof msg, path, "truncated header");
    else {
        header[header_len] = 0;
        bad = npy_parse_header(header, ndim, shape, &word, msg, sizeof msg, path);
    }
    if (bad) {
        fclose(f);
        nn_fail("%s", msg);
    }
    size_t n = 1;
    for (int i = 0; i < *ndim; i++) {
        if (shape[i] && n > ((size_t)1 << 40) / (size_t)shape[i]) {
            fclose(f);
            nn_fail("%s: not a readable .npy file: the shape is absurdly large", path);
        }
        n *= (size_t)shape[i];
    }
    /* compare with the bytes actually present before allocating */
    long here = ftell(f);
    fseek(f, 0, SEEK_END);
    long end = ftell(f);
    fseek(f, here, SEEK_SET);
    if (here < 0 || end < 0 || (size_t)(end - here) != n * (size_t)word) {
        fclose(f);
        nn_fail("%s: not a readable .npy file: the shape needs %zu bytes of data, the file has %ld",
                path, n * (size_t)word, end - here);
    }
    nn_real *out = nn_malloc(n * sizeof(nn_real) + 1);
    for (size_t i = 0; i < n; i++) {
        double v;
        float fl;
        size_t got = word == 4 ? fread(&fl, 4, 1, f) : fread(&v, 8, 1, f);
        if (got != 1) {
            free(out);
            fclose(f);
            nn_fail("%s: not a readable .npy file: read error", path);
        }
        out[i] = (nn_real)(word == 4 ? fl : v);
    }
    fclose(f);
    return out;
}
