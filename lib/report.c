/* report.c -- a lesson's results: the final `result:` line, metrics.json (what the seed
 * determines) and timing.json (what the clock measured). */
#include "nn.h"

#include <math.h>
#include <string.h>

void nn_report_init(nn_report *r, int lesson)
{
    memset(r, 0, sizeof *r);
    r->lesson = lesson;
}

static void add(nn_report *r, const char *key, double value, int is_int, int is_timing)
{
    if (r->n == NN_REPORT_MAX) nn_fail("nn_report: more than %d results", NN_REPORT_MAX);
    if (strlen(key) >= sizeof r->key[0]) nn_fail("nn_report: key '%s' is too long", key);
    for (const char *c = key; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_'))
            nn_fail("nn_report: key '%s' must be lower_snake_case", key);
    strcpy(r->key[r->n], key);
    r->value[r->n] = value;
    r->is_int[r->n] = is_int;
    r->is_timing[r->n] = is_timing;
    r->n++;
}

/* a time in metrics.json would make two runs of the same seed differ: refused by its name */
void nn_report_add(nn_report *r, const char *key, double value)
{
    const size_t len = strlen(key), suffix = strlen("_seconds");
    if (len >= suffix && strcmp(key + len - suffix, "_seconds") == 0)
        nn_fail("nn_report_add: '%s' is a time: add it with nn_report_add_timing (timing.json), "
                "so that metrics.json holds only what the seed determines", key);
    add(r, key, value, 0, 0);
}
void nn_report_add_int(nn_report *r, const char *key, long value) { add(r, key, (double)value, 1, 0); }
void nn_report_add_timing(nn_report *r, const char *key, double value) { add(r, key, value, 0, 1); }

/* 4 significant digits for humans; integers as integers */
static void format_value(char *buf, size_t len, double v, int is_int)
{
    if (!isfinite(v)) snprintf(buf, len, "%s", isnan(v) ? "nan" : v > 0 ? "inf" : "-inf");
    else if (is_int) snprintf(buf, len, "%ld", (long)v);
    else snprintf(buf, len, "%.4g", v);
}

/* DIR/NAME: {"lesson": "NN", key: value, ...} with the results whose is_timing is `timing` */
static void write_json(const nn_report *r, const char *dir, const char *name, int timing)
{
    char path[1024], tmp[1100], value[64];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = nn_io_open_atomic(path, tmp, sizeof tmp);
    fprintf(f, "{\n  \"lesson\": \"%02d\"", r->lesson);
    for (int i = 0; i < r->n; i++) {
        if (r->is_timing[i] != timing) continue;
        if (!isfinite(r->value[i])) snprintf(value, sizeof value, "null");
        else if (r->is_int[i]) snprintf(value, sizeof value, "%ld", (long)r->value[i]);
        else snprintf(value, sizeof value, "%.6g", r->value[i]);
        fprintf(f, ",\n  \"%s\": %s", r->key[i], value);
    }
    fprintf(f, "\n}\n");
    nn_io_commit_atomic(f, tmp, path);
}

void nn_report_finish(const nn_report *r, const char *dir)
{
    nn_io_mkdir_p(dir);
    write_json(r, dir, "metrics.json", 0);
    write_json(r, dir, "timing.json", 1);

    char value[64];
    printf("result: lesson=%02d", r->lesson);
    for (int i = 0; i < r->n; i++) {
        format_value(value, sizeof value, r->value[i], r->is_int[i]);
        printf(" %s=%s", r->key[i], value);
    }
    printf("\n");
    fflush(stdout);
}
