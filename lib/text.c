/* text.c -- character-level text corpora for language models: a fortune-file directory (the
 * Debian `fortunes` package) or any UTF-8 text file, a character vocabulary, a train /
 * validation split, and random windows x -> y shifted by one character.
 *
 * Every check names the file: an empty file, a binary one (NUL bytes), bytes that are not
 * UTF-8, or a text too short to learn from is refused with a message, never read as garbage. */
#include "nn.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DEFAULT_FORTUNES "/usr/share/games/fortunes"

/* a growing array of code points */
typedef struct {
    uint32_t *c;
    size_t n, cap;
} cps;

static void cps_push(cps *b, uint32_t c)
{
    if (b->n == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 4096;
        b->c = nn_realloc(b->c, nn_size_mul(b->cap, sizeof *b->c, "nn_text"));
    }
    b->c[b->n++] = c;
}

/* the whole file into *len bytes, or NULL with the reason in err (a missing, unreadable or
 * empty file); nothing stays allocated on failure, so the caller can clean up and nn_fail */
static unsigned char *read_file(const char *path, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "nn_text: cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    unsigned char *data = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? 2 * cap : 1 << 16;
            data = nn_realloc(data, cap);
        }
        size_t got = fread(data + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad || n == 0) {
        free(data);
        snprintf(err, errlen, bad ? "nn_text: error reading %s" : "nn_text: %s is empty", path);
        return NULL;
    }
    *len = n;
    return data;
}

/* UTF-8 -> code points, strictly (no overlong forms, surrogates or values past U+10FFFF), then
 * cleaned: "\r" dropped, a backspace removes the character before it (the overstrike "_\bX"
 * of old terminals becomes "X"), other control characters (C0 except tab and newline, DEL,
 * C1) dropped.
 * A NUL byte means a binary file. Returns 0, or -1 with the reason in err. */
static int decode(cps *out, const unsigned char *data, size_t len, const char *path, char *err,
                  size_t errlen)
{
    size_t start = out->n;
    for (size_t i = 0; i < len;) {
        unsigned char b = data[i];
        uint32_t c;
        int more;
        if (b == 0) {
            snprintf(err, errlen, "nn_text: %s holds a NUL byte at offset %zu: a binary file, "
                     "not text", path, i);
            return -1;
        }
        if (b < 0x80) c = b, more = 0;
        else if ((b & 0xE0) == 0xC0) c = b & 0x1F, more = 1;
        else if ((b & 0xF0) == 0xE0) c = b & 0x0F, more = 2;
        else if ((b & 0xF8) == 0xF0) c = b & 0x07, more = 3;
        else more = -1;
        int ok = more >= 0 && i + (size_t)more < len;
        for (int k = 1; ok && k <= more; k++) {
            if ((data[i + k] & 0xC0) != 0x80) ok = 0;
            else c = (c << 6) | (data[i + k] & 0x3F);
        }
        static const uint32_t least[4] = {0, 0x80, 0x800, 0x10000};
        if (ok && (c < least[more] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))) ok = 0;
        if (!ok) {
            snprintf(err, errlen, "nn_text: %s is not UTF-8 text (byte 0x%02x at offset %zu)",
                     path, b, i);
            return -1;
        }
        i += (size_t)more + 1;
        if (c == '\b') {
            if (out->n > start && out->c[out->n - 1] != '\n') out->n--;
        } else if (c == '\n' || c == '\t' || (c >= 0x20 && !(c >= 0x7F && c < 0xA0))) {
            cps_push(out, c);
        }
    }
    return 0;
}

_Noreturn static void fail_short(const char *path, size_t n)
{
    nn_fail("nn_text: %s holds %zu characters of text; at least %d are needed to train a "
            "language model", path, n, NN_TEXT_MIN_CHARS);
}

/* the vocabulary of `all` and the ids of its two parts [0, ntrain) and [ntrain, n) */
static void build(nn_text *t, const cps *all, const uint8_t *is_val)
{
    /* tables indexed by code point, only as long as the largest one that occurs (128 for
     * ASCII text rather than all 0x110000 of Unicode) */
    uint32_t top = 0;
    for (size_t i = 0; i < all->n; i++)
        if (all->c[i] > top) top = all->c[i];
    uint8_t *seen = nn_calloc((size_t)top + 1, 1);
    for (size_t i = 0; i < all->n; i++) seen[all->c[i]] = 1;
    int *id_of = nn_malloc(((size_t)top + 1) * sizeof *id_of);
    t->vocab = 0;
    for (uint32_t c = 0; c <= top; c++) t->vocab += seen[c];
    t->chars = nn_malloc((size_t)t->vocab * sizeof *t->chars);
    int v = 0;
    for (uint32_t c = 0; c <= top; c++)
        if (seen[c]) t->chars[v] = c, id_of[c] = v++;
    t->ntrain = t->nval = 0;
    for (size_t i = 0; i < all->n; i++) is_val[i] ? t->nval++ : t->ntrain++;
    t->train = nn_malloc((size_t)(t->ntrain ? t->ntrain : 1) * sizeof *t->train);
    t->val = nn_malloc((size_t)(t->nval ? t->nval : 1) * sizeof *t->val);
    long a = 0, b = 0;
    for (size_t i = 0; i < all->n; i++) {
        if (is_val[i]) t->val[b++] = id_of[all->c[i]];
        else t->train[a++] = id_of[all->c[i]];
    }
    free(id_of);
    free(seen);
}

static void check_fraction(double val_fraction)
{
    if (!(val_fraction >= 0 && val_fraction < 1))
        nn_fail("nn_text: validation fraction %g must be in [0, 1)", val_fraction);
}

/* a plain text of len bytes (freed here when owned) named `name` in messages */
static void load_text(nn_text *t, const unsigned char *data, size_t len, const char *name,
                      double val_fraction, unsigned char *owned)
{
    char err[600];
    cps all = {0};
    int status = decode(&all, data, len, name, err, sizeof err);
    free(owned);
    if (status) {
        free(all.c);
        nn_fail("%s", err);
    }
    if (all.n < NN_TEXT_MIN_CHARS) {
        free(all.c);
        fail_short(name, all.n);
    }
    /* validation: the last val_fraction of the text (a plain file has no records) */
    uint8_t *is_val = nn_calloc(all.n, 1);
    size_t nval = (size_t)(val_fraction * (double)all.n);
    memset(is_val + (all.n - nval), 1, nval);
    build(t, &all, is_val);
    free(is_val);
    free(all.c);
    t->files = 1;
    snprintf(t->source, sizeof t->source, "%s", name);
}

void nn_text_load_file(nn_text *t, const char *path, double val_fraction)
{
    check_fraction(val_fraction);
    memset(t, 0, sizeof *t);
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        nn_fail("nn_text: %s is a directory, expected a text file", path);
    size_t len;
    char err[600];
    unsigned char *data = read_file(path, &len, err, sizeof err);
    if (!data) nn_fail("%s", err);
    load_text(t, data, len, path, val_fraction, data);
}

void nn_text_load_memory(nn_text *t, const void *data, size_t len, const char *name,
                         double val_fraction)
{
    check_fraction(val_fraction);
    if (!t || (!data && len)) nn_fail("nn_text_load_memory: NULL argument");
    memset(t, 0, sizeof *t);
    if (!name) name = "(text)";
    if (len == 0) nn_fail("nn_text: %s is empty", name);
    load_text(t, data, len, name, val_fraction, NULL);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void nn_text_load_fortunes(nn_text *t, const char *dir, double val_fraction)
{
    check_fraction(val_fraction);
    memset(t, 0, sizeof *t);
    if (!dir) dir = getenv("NN_FORTUNES");
    if (!dir || !*dir) dir = DEFAULT_FORTUNES;
    DIR *d = opendir(dir);
    if (!d)
        nn_fail("nn_text: cannot open the fortune directory %s (%s): install the fortunes "
                "package (sh datasets/setup.sh fortunes, or apt-get install fortunes), or give "
                "a text file with --text FILE", dir, strerror(errno));
    /* the fortune files: regular files whose names have no extension (fortune's index files
     * are NAME.dat, and NAME.u8 links to NAME), in name order so every machine reads the same
     * text */
    char **names = NULL;
    int count = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.' || strchr(e->d_name, '.')) continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) continue;
        names = nn_realloc(names, (size_t)(count + 1) * sizeof *names);
        names[count] = nn_malloc(strlen(e->d_name) + 1);
        strcpy(names[count++], e->d_name);
    }
    closedir(d);
    if (count == 0)
        nn_fail("nn_text: %s holds no fortune files (files without an extension): install the "
                "fortunes package (sh datasets/setup.sh fortunes)", dir);
    qsort(names, (size_t)count, sizeof *names, by_name);

    /* Records are separated by lines holding only "%". Each goes into the text followed by
     * "%\n" (so a model learns where a fortune ends); every k-th record, evenly spread over
     * the topics, goes to validation. */
    cps all = {0}, file = {0};
    uint8_t *is_val = NULL;
    size_t val_cap = 0;
    long record = 0;
    for (int k = 0; k < count; k++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[k]);
        size_t len;
        char err[600] = "";
        unsigned char *data = read_file(path, &len, err, sizeof err);
        file.n = 0;
        int status = data ? decode(&file, data, len, path, err, sizeof err) : -1;
        free(data);
        if (status && !(data == NULL && strstr(err, " is empty"))) { /* empty files: skipped */
            for (int j = 0; j < count; j++) free(names[j]);
            free(names), free(file.c), free(all.c), free(is_val);
            nn_fail("%s", err);
        }
        if (status) continue;
        t->files++;
        for (size_t i = 0; i < file.n;) {
            size_t end = i; /* the record is [i, end), up to a "%" line or the end of file */
            while (end < file.n && !(file.c[end] == '%' && (end == 0 || file.c[end - 1] == '\n') &&
                                     (end + 1 == file.n || file.c[end + 1] == '\n')))
                end++;
            size_t next = end < file.n ? end + 2 : end; /* past "%\n" */
            int blank = 1;
            for (size_t j = i; j < end; j++)
                if (file.c[j] != '\n' && file.c[j] != ' ' && file.c[j] != '\t') blank = 0;
            if (!blank) {
                int val = (long)((record + 1) * val_fraction) > (long)(record * val_fraction);
                size_t from = all.n;
                for (size_t j = i; j < end; j++) cps_push(&all, file.c[j]);
                if (all.c[all.n - 1] != '\n') cps_push(&all, '\n');
                cps_push(&all, '%');
                cps_push(&all, '\n');
                if (all.n > val_cap) {
                    val_cap = all.cap;
                    is_val = nn_realloc(is_val, val_cap);
                }
                memset(is_val + from, val, all.n - from);
                record++;
            }
            i = next;
        }
    }
    for (int k = 0; k < count; k++) free(names[k]);
    free(names);
    free(file.c);
    if (all.n < NN_TEXT_MIN_CHARS) {
        free(all.c);
        free(is_val);
        fail_short(dir, all.n);
    }
    t->records = (int)record;
    build(t, &all, is_val);
    free(is_val);
    free(all.c);
    snprintf(t->source, sizeof t->source, "%s", dir);
}

void nn_text_free(nn_text *t)
{
    free(t->chars);
    free(t->train);
    free(t->val);
    memset(t, 0, sizeof *t);
}

void nn_text_windows(const nn_text *t, int val, int *x, int *y, int batch, int len,
                     nn_rng *rng)
{
    const int *text = val ? t->val : t->train;
    const long n = val ? t->nval : t->ntrain;
    if (batch < 1 || len < 1)
        nn_fail("nn_text_windows: batch %d and window length %d must be positive", batch, len);
    if (n < (long)len + 1)
        nn_fail("nn_text_windows: the %s part of %s holds %ld characters, too few for a window "
                "of %d (+1 for the targets)", val ? "validation" : "training", t->source, n, len);
    for (int b = 0; b < batch; b++) {
        long o = (long)(nn_rng_uniform(rng) * (double)(n - len)); /* 0 .. n-len-1 */
        for (int s = 0; s < len; s++) {
            x[(size_t)s * batch + b] = text[o + s];
            y[(size_t)s * batch + b] = text[o + s + 1];
        }
    }
}

int nn_text_id(const nn_text *t, uint32_t codepoint)
{
    int lo = 0, hi = t->vocab - 1; /* chars are increasing: binary search */
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (t->chars[mid] == codepoint) return mid;
        if (t->chars[mid] < codepoint) lo = mid + 1;
        else hi = mid - 1;
    }
    return -1;
}

void nn_text_write(FILE *f, const nn_text *t, const int *ids, long n)
{
    for (long i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= t->vocab)
            nn_fail("nn_text_write: id %d at position %ld is outside the vocabulary 0..%d", ids[i],
                    i, t->vocab - 1);
        uint32_t c = t->chars[ids[i]];
        if (c < 0x80) {
            fputc((int)c, f);
        } else if (c < 0x800) {
            fputc(0xC0 | (int)(c >> 6), f), fputc(0x80 | (int)(c & 0x3F), f);
        } else if (c < 0x10000) {
            fputc(0xE0 | (int)(c >> 12), f), fputc(0x80 | (int)((c >> 6) & 0x3F), f);
            fputc(0x80 | (int)(c & 0x3F), f);
        } else {
            fputc(0xF0 | (int)(c >> 18), f), fputc(0x80 | (int)((c >> 12) & 0x3F), f);
            fputc(0x80 | (int)((c >> 6) & 0x3F), f), fputc(0x80 | (int)(c & 0x3F), f);
        }
    }
}

double nn_text_unigram_bpc(const nn_text *t)
{
    if (t->vocab < 1 || t->ntrain < 1 || t->nval < 1)
        nn_fail("nn_text_unigram_bpc: %s has no training or no validation text", t->source);
    double *count = nn_calloc((size_t)t->vocab, sizeof *count), bits = 0;
    for (long i = 0; i < t->ntrain; i++) count[t->train[i]]++;
    /* add-one smoothing: p(c) = (count(c) + 1) / (ntrain + vocab), never 0 */
    for (long i = 0; i < t->nval; i++)
        bits -= log2((count[t->val[i]] + 1) / ((double)t->ntrain + t->vocab));
    free(count);
    return bits / (double)t->nval;
}
