/* csv.c -- a labelled dataset from a CSV file of numbers: one example per line, its features
 * and one integer class label (the last column by default), and an optional header line.
 *
 *     sepal_length,sepal_width,petal_length,petal_width,species      <- header (optional)
 *     5.1,3.5,1.4,0.2,0
 *     7.0,3.2,4.7,1.4,1
 *
 * The format, as read here: fields are separated by commas; spaces and tabs around a field are
 * ignored; a field may be quoted ("5.1", or a header name holding a comma), with "" for a quote
 * inside; lines end in \n or \r\n; blank lines are skipped; a UTF-8 byte-order mark (as Excel
 * writes) is skipped. The first line is a header when none of its fields is a number.
 *
 * A CSV from the internet is untrusted input, so nothing is guessed: a field that is not a
 * number, a label that is not a class number, a row with more or fewer fields than the first,
 * an empty or binary file and absurd sizes are each refused with a message that names the file,
 * the line and the column -- never read as zeros. */
#include "nn.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum { FIELD_MAX = 128, NAME_MAX_SHOWN = 48 };

typedef struct csv_parser {
    const char *name;           /* the file (or buffer) name, for messages */
    const char *at, *end;       /* what is left to read */
    long line;                  /* 1-based number of the line being read */
    int columns, label_column;  /* fields per row (fixed by the first line); which is the label */
    char (*header)[NAME_MAX_SHOWN]; /* column names when there is a header, else NULL */
    nn_real *x;                 /* (rows, columns - 1) so far */
    int *y;
    size_t rows, cap;
    nn_real *row;               /* the row being read (columns - 1 features) */
    char *owned;                /* the file's bytes when nn_csv_load read them, else NULL */
} csv_parser;

/* frees everything the parser holds, then stops with "nn_csv: <message>" through nn_fail
 * (a test's or a fuzzer's handler may longjmp out, so nothing may stay allocated) */
_Noreturn static void csv_fail(csv_parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
_Noreturn static void csv_fail(csv_parser *p, const char *fmt, ...)
{
    char msg[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    free(p->header), free(p->x), free(p->y), free(p->row), free(p->owned);
    p->header = NULL, p->x = NULL, p->y = NULL, p->row = NULL, p->owned = NULL;
    nn_fail("nn_csv: %s", msg);
}

/* "column 3 (petal_length)" or "column 3" */
static const char *column_name(const csv_parser *p, int c, char *buf, size_t len)
{
    if (p->header && p->header[c][0]) snprintf(buf, len, "column %d (%s)", c + 1, p->header[c]);
    else snprintf(buf, len, "column %d", c + 1);
    return buf;
}

/* The next field of the current line into buf (NUL-terminated, at most FIELD_MAX - 1 chars,
 * longer ones are cut and *cut set), the whitespace around it and its quotes removed. The
 * line is [*s, eol). Returns 1 if a comma followed (more fields on this line), 0 at the end of
 * the line; *s moves past the field and its comma. */
static int next_field(csv_parser *p, const char **s, const char *eol, int column, char *buf,
                      int *cut)
{
    const char *c = *s;
    size_t n = 0;
    *cut = 0;
    while (c < eol && (*c == ' ' || *c == '\t')) c++;
    if (c < eol && *c == '"') { /* quoted: up to the closing quote, "" is one quote */
        for (c++;; c++) {
            if (c == eol)
                csv_fail(p, "%s, line %ld, column %d: a quote opened but not closed on this line",
                         p->name, p->line, column + 1);
            if (*c == '"') {
                if (c + 1 < eol && c[1] == '"') c++;
                else break;
            }
            if (n < FIELD_MAX - 1) buf[n++] = *c;
            else *cut = 1;
        }
        c++; /* past the closing quote */
        while (c < eol && (*c == ' ' || *c == '\t')) c++;
        if (c < eol && *c != ',')
            csv_fail(p, "%s, line %ld, column %d: '%c' after a closing quote, expected a comma",
                     p->name, p->line, column + 1, *c >= 0x20 && *c < 0x7f ? *c : '?');
    } else {
        for (; c < eol && *c != ','; c++) {
            if (n < FIELD_MAX - 1) buf[n++] = *c;
            else *cut = 1;
        }
        while (n > 0 && (buf[n - 1] == ' ' || buf[n - 1] == '\t')) n--;
    }
    buf[n] = 0;
    *s = c < eol ? c + 1 : c;
    return c < eol; /* stopped at a comma */
}

/* the whole field is a number in strtod's syntax (which takes "nan" and "inf" too: the
 * caller refuses those) */
static int is_number(const char *field, double *value)
{
    if (!*field) return 0;
    char *end;
    errno = 0;
    *value = strtod(field, &end);
    return *end == 0;
}

/* a printable copy of a field for a message: at most 40 characters, other bytes as '?' */
static const char *shown(const char *field, int cut, char *buf)
{
    size_t n = 0;
    for (; field[n] && n < 40; n++) buf[n] = field[n] >= 0x20 && field[n] < 0x7f ? field[n] : '?';
    if (field[n] || cut) buf[n++] = '.', buf[n++] = '.', buf[n++] = '.';
    buf[n] = 0;
    return buf;
}

/* counts the fields of the line [s, eol) without storing them */
static int count_fields(csv_parser *p, const char *s, const char *eol)
{
    char buf[FIELD_MAX];
    int cut, count = 0;
    for (int more = 1; more; count++) {
        if (count >= NN_CSV_MAX_COLUMNS)
            csv_fail(p, "%s, line %ld: more than %d columns: not a dataset this loader can hold",
                     p->name, p->line, NN_CSV_MAX_COLUMNS);
        more = next_field(p, &s, eol, count, buf, &cut);
    }
    return count;
}

/* one data line into row (the features) and *label */
static void read_row(csv_parser *p, const char *s, const char *eol, int *label)
{
    char buf[FIELD_MAX], col[NAME_MAX_SHOWN + 32], show[48];
    int cut, f = 0, more = 1;
    for (int c = 0; more; c++) {
        if (c == p->columns) { /* a field too many: count them all for the message */
            csv_fail(p, "%s, line %ld: %d fields, expected %d like the first line (a ragged row)",
                     p->name, p->line, count_fields(p, s, eol) + c, p->columns);
        }
        more = next_field(p, &s, eol, c, buf, &cut);
        double v;
        if (!buf[0])
            csv_fail(p, "%s, line %ld, %s: empty field, expected a number", p->name, p->line,
                     column_name(p, c, col, sizeof col));
        if (cut || !is_number(buf, &v))
            csv_fail(p, "%s, line %ld, %s: expected a number, found '%s'", p->name, p->line,
                     column_name(p, c, col, sizeof col), shown(buf, cut, show));
        if (!isfinite(v) || (c != p->label_column && !isfinite((nn_real)v)))
            csv_fail(p, "%s, line %ld, %s: %s is not a finite " NN_REAL_NAME, p->name, p->line,
                     column_name(p, c, col, sizeof col), shown(buf, cut, show));
        if (c == p->label_column) {
            if (v != floor(v) || v < 0 || v >= NN_CSV_MAX_CLASSES)
                csv_fail(p, "%s, line %ld, %s: the label must be a class number 0..%d, found '%s'",
                         p->name, p->line, column_name(p, c, col, sizeof col),
                         NN_CSV_MAX_CLASSES - 1, shown(buf, cut, show));
            *label = (int)v;
        } else {
            p->row[f++] = (nn_real)v;
        }
        if (!more && c + 1 < p->columns)
            csv_fail(p, "%s, line %ld: %d fields, expected %d like the first line (a ragged row)",
                     p->name, p->line, c + 1, p->columns);
    }
}

/* the first line as a header: every field is a name, none a number */
static int read_header(csv_parser *p, const char *s, const char *eol)
{
    char buf[FIELD_MAX];
    int cut, c = 0, names = 0, more = 1;
    p->header = nn_calloc((size_t)p->columns, sizeof *p->header);
    for (; more; c++) {
        more = next_field(p, &s, eol, c, buf, &cut);
        double v;
        if (!is_number(buf, &v) || cut) names++;
        size_t k = 0; /* a printable copy for messages (UTF-8 names stay as they are) */
        for (; buf[k] && k + 1 < sizeof p->header[c]; k++)
            p->header[c][k] = (unsigned char)buf[k] < 0x20 || buf[k] == 0x7f ? '?' : buf[k];
        p->header[c][k] = 0;
    }
    if (names == p->columns) return 1;
    free(p->header);
    p->header = NULL;
    return 0;
}

/* text [len] -> d; owned (may be NULL) is freed on every path */
static void csv_parse(nn_data *d, const char *text, size_t len, const char *name,
                      int label_column, char *owned)
{
    csv_parser p = {.name = name, .at = text, .end = text + len, .owned = owned};
    if (len > NN_CSV_MAX_BYTES)
        csv_fail(&p, "%s holds %zu bytes, more than the %d MiB this loader reads", name, len,
                 NN_CSV_MAX_BYTES >> 20);
    const char *nul = len ? memchr(text, 0, len) : NULL;
    if (nul)
        csv_fail(&p, "%s holds a NUL byte at offset %zu: a binary file, not CSV text", name,
                 (size_t)(nul - text));
    if (len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3)) p.at += 3; /* UTF-8 byte-order mark */

    int first = 1;
    for (p.line = 1; p.at < p.end; p.line++) {
        const char *eol = memchr(p.at, '\n', (size_t)(p.end - p.at)), *s = p.at;
        if (!eol) eol = p.end;
        p.at = eol < p.end ? eol + 1 : eol;
        if (eol > s && eol[-1] == '\r') eol--;
        const char *t = s;
        while (t < eol && (*t == ' ' || *t == '\t' || *t == '\r')) t++;
        if (t == eol) continue; /* a blank line */

        if (first) { /* the first line fixes the columns and may be the header */
            first = 0;
            p.columns = count_fields(&p, s, eol);
            if (p.columns < 2)
                csv_fail(&p, "%s, line %ld: 1 column; expected at least 2 (features, then the "
                         "class label)", name, p.line);
            p.label_column = label_column < 0 ? p.columns + label_column : label_column;
            if (p.label_column < 0 || p.label_column >= p.columns)
                csv_fail(&p, "%s: label column %d asked for, but the file has %d columns", name,
                         label_column, p.columns);
            p.row = nn_malloc((size_t)(p.columns - 1) * sizeof *p.row);
            if (read_header(&p, s, eol)) continue;
        }
        if (p.rows == NN_CSV_MAX_ROWS)
            csv_fail(&p, "%s: more than %d rows: not a dataset this loader can hold", name,
                     NN_CSV_MAX_ROWS);
        int label = 0;
        read_row(&p, s, eol, &label);
        if (p.rows == p.cap) { /* grow by doubling; sizes stay far below overflow (limits) */
            p.cap = p.cap ? 2 * p.cap : 256;
            if (p.cap > SIZE_MAX / sizeof *p.x / (size_t)(p.columns - 1))
                csv_fail(&p, "%s: %zu rows of %d features overflow the address space", name,
                         p.cap, p.columns - 1);
            size_t values = p.cap * (size_t)(p.columns - 1);
            nn_real *x = realloc(p.x, values * sizeof *p.x);
            if (x) p.x = x;
            int *y = x ? realloc(p.y, p.cap * sizeof *p.y) : NULL;
            if (y) p.y = y;
            if (!x || !y) csv_fail(&p, "%s: out of memory at line %ld", name, p.line);
        }
        memcpy(p.x + p.rows * (size_t)(p.columns - 1), p.row,
               (size_t)(p.columns - 1) * sizeof *p.row);
        p.y[p.rows++] = label;
    }
    if (first) csv_fail(&p, "%s is empty: no rows", name);
    if (p.rows == 0) csv_fail(&p, "%s holds a header line but no data rows", name);
    int classes = 0;
    for (size_t i = 0; i < p.rows; i++)
        if (p.y[i] + 1 > classes) classes = p.y[i] + 1;
    if (classes < 2)
        csv_fail(&p, "%s: every row has the label 0; a classifier needs at least two classes",
                 name);

    memset(d, 0, sizeof *d);
    d->n = (int)p.rows;
    d->dim = p.columns - 1;
    d->classes = classes;
    d->x = p.x;
    d->y = p.y;
    free(p.header);
    free(p.row);
    free(p.owned);
}

void nn_csv_parse(nn_data *d, const char *text, size_t len, const char *name, int label_column)
{
    if (!d || (!text && len)) nn_fail("nn_csv_parse: NULL argument");
    csv_parse(d, text ? text : "", len, name ? name : "(CSV text)", label_column, NULL);
}

void nn_csv_load(nn_data *d, const char *path, int label_column)
{
    if (!d || !path) nn_fail("nn_csv_load: NULL argument");
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        nn_fail("nn_csv: %s is a directory, expected a CSV file", path);
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && (uintmax_t)st.st_size > NN_CSV_MAX_BYTES)
        nn_fail("nn_csv: %s holds %jd bytes, more than the %d MiB this loader reads", path,
                (intmax_t)st.st_size, NN_CSV_MAX_BYTES >> 20);
    FILE *f = fopen(path, "rb");
    if (!f) nn_fail("nn_csv: cannot open %s: %s", path, strerror(errno));
    /* the whole file, growing as bytes arrive, never past one byte over the size limit (a
     * pipe or a growing file has no size to check first) */
    char *text = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            if (cap > NN_CSV_MAX_BYTES) break;
            cap = cap ? 2 * cap : 1 << 16;
            if (cap > (size_t)NN_CSV_MAX_BYTES + 1) cap = (size_t)NN_CSV_MAX_BYTES + 1;
            char *grown = realloc(text, cap);
            if (!grown) {
                free(text);
                fclose(f);
                nn_fail("nn_csv: out of memory reading %s (%zu bytes so far)", path, n);
            }
            text = grown;
        }
        size_t got = fread(text + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(text);
        nn_fail("nn_csv: error reading %s", path);
    }
    if (n == 0) {
        free(text);
        nn_fail("nn_csv: %s is empty (0 bytes)", path);
    }
    csv_parse(d, text, n, path, label_column, text);
}
