/* test_grader.c -- the graders can fail, and they can pass: the proof, both ways.
 *
 * Builds nothing: it runs the grader binaries that exercises/grade.mk built into
 * $NN_BUILD/grade/ (default build/), each in both seed sets, and reads their report lines
 * ("  PASS   3/3  name" per check, and a last line "score: P/Q"):
 *   - every reference solution (exercises/solutions/) scores full marks;
 *   - every untouched skeleton (exercises/NN_name/name.c) scores less than full marks;
 *   - every variant under tests/grade_mutants/NN_name/ gets exactly what its comment says:
 *     "grade-expect: STATUS check name" lines name the checks it must lose and how (FAIL,
 *     CRASH, TIMEOUT); every other check must PASS. A variant with no such line is a correct
 *     alternative and must score full marks;
 *   - the two seed sets draw different inputs, and the JSON report is valid JSON.
 * Run from the repository root (make test does). */
#include "nn_test.h"

#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>

#define TIMEOUT_S "3" /* per check; the endless-loop variant costs this much per seed set */

static const char *build_dir(void)
{
    const char *b = getenv("NN_BUILD");
    return b && *b ? b : "build";
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* the exercises: exercises/NN_name/ folders that hold a grade_name.c */
static int list_exercises(char names[][64], int max)
{
    DIR *d = opendir("exercises");
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < max) {
        char path[512];
        const char *task = strchr(e->d_name, '_');
        if (strlen(e->d_name) < 4 || !task || e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        snprintf(path, sizeof path, "exercises/%s/grade_%s.c", e->d_name, task + 1);
        if (!exists(path)) continue;
        snprintf(names[n++], 64, "%.63s", e->d_name);
    }
    closedir(d);
    /* sorted, for a stable order of messages */
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            char t[64];
            memcpy(t, names[j], 64), memcpy(names[j], names[j - 1], 64), memcpy(names[j - 1], t, 64);
        }
    return n;
}

typedef struct {
    char status[16], name[256];
} check_line;

typedef struct {
    int score, max, ok, nchecks;
    check_line checks[32];
    char output[65536];
} report;

static void run(const char *binary, int hidden, const char *extra, report *r)
{
    memset(r, 0, sizeof *r);
    r->score = r->max = -1;
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "NN_GRADE_TIMEOUT=" TIMEOUT_S " NN_GRADE_HIDDEN=%d '%s' %s 2>&1",
             hidden, binary, extra ? extra : "");
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t len = fread(r->output, 1, sizeof r->output - 1, p);
    r->output[len] = 0;
    int status = pclose(p);
    if (status != 0) fail_msg("%s exited with status %d:\n%s", cmd, status, r->output);
    static char copy[sizeof r->output];
    memcpy(copy, r->output, len + 1);
    for (char *line = strtok(copy, "\n"); line; line = strtok(NULL, "\n")) {
        int a, b, used = 0;
        char st[16];
        if (sscanf(line, "score: %d/%d", &a, &b) == 2) r->score = a, r->max = b, r->ok = 1;
        else if (line[0] == ' ' && sscanf(line, " %15s %d/%d %n", st, &a, &b, &used) == 3 && used &&
                 r->nchecks < 32 &&
                 (!strcmp(st, "PASS") || !strcmp(st, "FAIL") || !strcmp(st, "CRASH") ||
                  !strcmp(st, "TIMEOUT"))) {
            check_line *c = &r->checks[r->nchecks++];
            snprintf(c->status, sizeof c->status, "%s", st);
            snprintf(c->name, sizeof c->name, "%s", line + used);
        }
    }
    if (!r->ok) fail_msg("%s printed no `score: P/Q` line", cmd);
    if (r->max <= 0) fail_msg("%s: a grader worth %d points", cmd, r->max);
}

static void binary_path(char *out, size_t len, const char *kind, const char *ex)
{
    snprintf(out, len, "%s/grade/%s/%s", build_dir(), kind, ex);
    if (!exists(out))
        fail_msg("%s is missing: make grade-bins builds it (make test does)", out);
}

static void test_solutions_score_full_marks(void **state)
{
    char ex[32][64], src[1024], bin[1024];
    int n = list_exercises(ex, 32), graded = 0;
    assert_true(n >= 6);
    static report r;
    for (int i = 0; i < n; i++) {
        snprintf(src, sizeof src, "exercises/solutions/%.63s/%.63s.c", ex[i], strchr(ex[i], '_') + 1);
        if (!exists(src)) continue; /* an instructor removed the solution */
        binary_path(bin, sizeof bin, "solution", ex[i]);
        for (int hidden = 0; hidden <= 1; hidden++) {
            run(bin, hidden, NULL, &r);
            if (r.score != r.max)
                fail_msg("solution of %s scores %d/%d in the %s seed set:\n%s", ex[i], r.score, r.max,
                         hidden ? "hidden" : "public", r.output);
        }
        graded++;
    }
    printf("  %d solutions score full marks in both seed sets\n", graded);
}

static void test_skeletons_score_less(void **state)
{
    char ex[32][64], bin[1024];
    int n = list_exercises(ex, 32);
    static report r;
    for (int i = 0; i < n; i++) {
        binary_path(bin, sizeof bin, "student", ex[i]);
        for (int hidden = 0; hidden <= 1; hidden++) {
            run(bin, hidden, NULL, &r);
            if (r.score >= r.max)
                fail_msg("the untouched skeleton of %s scores %d/%d (%s seed set): a grader that "
                         "cannot fail", ex[i], r.score, r.max, hidden ? "hidden" : "public");
            printf("  skeleton %-28s %s: %d/%d\n", ex[i], hidden ? "hidden" : "public", r.score, r.max);
        }
    }
}

/* the "grade-expect: STATUS check name" lines of a variant's source */
static int read_expectations(const char *src, check_line *want, int max)
{
    FILE *f = fopen(src, "r");
    assert_non_null(f);
    char line[512];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        char *at = strstr(line, "grade-expect:");
        if (!at || n >= max) continue;
        int used = 0;
        if (sscanf(at, "grade-expect: %15s %n", want[n].status, &used) != 1) continue;
        snprintf(want[n].name, sizeof want[n].name, "%s", at + used);
        char *nm = want[n].name;
        nm[strcspn(nm, "\r\n")] = 0;
        char *close = strstr(nm, "*/"); /* the comment may end on this line */
        if (close) *close = 0;
        for (size_t k = strlen(nm); k > 0 && nm[k - 1] == ' '; k--) nm[k - 1] = 0;
        n++;
    }
    fclose(f);
    return n;
}

static void test_mutants_lose_their_checks(void **state)
{
    char ex[32][64], dir[512], src[1024], bin[2048];
    int n = list_exercises(ex, 32), variants = 0, wrong = 0;
    static report r;
    for (int i = 0; i < n; i++) {
        snprintf(dir, sizeof dir, "tests/grade_mutants/%.63s", ex[i]);
        DIR *d = opendir(dir);
        if (!d) continue;
        struct dirent *e;
        while ((e = readdir(d))) {
            size_t len = strlen(e->d_name);
            if (len < 3 || strcmp(e->d_name + len - 2, ".c") != 0) continue;
            snprintf(src, sizeof src, "%.511s/%.255s", dir, e->d_name);
            snprintf(bin, sizeof bin, "%.512s/grade/mutant/%.63s/%.*s", build_dir(), ex[i], (int)len - 2,
                     e->d_name);
            if (!exists(bin)) fail_msg("%s is missing: make grade-bins builds it", bin);
            check_line want[16];
            int nwant = read_expectations(src, want, 16);
            for (int hidden = 0; hidden <= 1; hidden++) {
                run(bin, hidden, NULL, &r);
                const char *set = hidden ? "hidden" : "public";
                for (int k = 0; k < nwant; k++) {
                    int found = 0;
                    for (int c = 0; c < r.nchecks; c++)
                        if (!strcmp(r.checks[c].name, want[k].name)) found = 1;
                    if (!found)
                        fail_msg("%s expects check \"%s\", which the grader does not have:\n%s", src,
                                 want[k].name, r.output);
                }
                for (int c = 0; c < r.nchecks; c++) {
                    const char *expect = "PASS";
                    for (int k = 0; k < nwant; k++)
                        if (!strcmp(r.checks[c].name, want[k].name)) expect = want[k].status;
                    if (strcmp(r.checks[c].status, expect) != 0)
                        fail_msg("%s (%s seed set): check \"%s\" is %s, expected %s:\n%s", bin, set,
                                 r.checks[c].name, r.checks[c].status, expect, r.output);
                }
                if (nwant > 0 && r.score >= r.max)
                    fail_msg("%s scores full marks (%s seed set)", bin, set);
                if (nwant == 0 && r.score != r.max)
                    fail_msg("%s, a correct variant, scores %d/%d (%s seed set)", bin, r.score,
                             r.max, set);
                printf("  %-28s %-20s %s: %d/%d\n", ex[i], e->d_name, set, r.score, r.max);
            }
            variants++;
            wrong += nwant > 0;
        }
        closedir(d);
    }
    assert_true(wrong >= 6); /* at least one wrong variant per exercise */
    printf("  %d variants (%d wrong, %d correct) graded as expected\n", variants, wrong,
           variants - wrong);
}

static void test_seed_sets_differ(void **state)
{
    char ex[32][64], bin[1024];
    int n = list_exercises(ex, 32);
    static report a, b;
    for (int i = 0; i < n; i++) {
        binary_path(bin, sizeof bin, "student", ex[i]);
        run(bin, 0, NULL, &a);
        run(bin, 1, NULL, &b);
        /* skip the first line, which names the seed set; the messages show drawn values */
        const char *ra = strchr(a.output, '\n'), *rb = strchr(b.output, '\n');
        assert_non_null(ra);
        assert_non_null(rb);
        if (!strcmp(ra, rb))
            fail_msg("%s reports the same inputs in both seed sets:\n%s", ex[i], ra);
    }
}

/* ---- a small JSON validator: value := object | array | string | number | literal ---------- */

static const char *json_value(const char *p, int depth);

static const char *json_ws(const char *p)
{
    while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r') p++;
    return p;
}

static const char *json_string(const char *p)
{
    if (*p++ != '"') return NULL;
    while (*p != '"') {
        unsigned char c = (unsigned char)*p;
        if (c < 0x20 || c >= 0x80) return NULL; /* raw control (or non-ASCII) character */
        if (c == '\\') {
            p++;
            if (*p == 'u') {
                for (int k = 1; k <= 4; k++)
                    if (!strchr("0123456789abcdefABCDEF", p[k]) || !p[k]) return NULL;
                p += 4;
            } else if (!*p || !strchr("\"\\/bfnrt", *p)) return NULL;
        }
        p++;
    }
    return p + 1;
}

static const char *json_value(const char *p, int depth)
{
    p = json_ws(p);
    if (depth > 20) return NULL;
    if (*p == '"') return json_string(p);
    if (*p == '{' || *p == '[') {
        char close = *p == '{' ? '}' : ']';
        p = json_ws(p + 1);
        if (*p == close) return p + 1;
        for (;;) {
            if (close == '}') {
                if (!(p = json_string(json_ws(p)))) return NULL;
                p = json_ws(p);
                if (*p++ != ':') return NULL;
            }
            if (!(p = json_value(p, depth + 1))) return NULL;
            p = json_ws(p);
            if (*p == ',') p++;
            else if (*p == close) return p + 1;
            else return NULL;
        }
    }
    if (!strncmp(p, "true", 4) || !strncmp(p, "null", 4)) return p + 4;
    if (!strncmp(p, "false", 5)) return p + 5;
    char *end;
    strtod(p, &end);
    return end > p ? end : NULL;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot read %s", path);
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

static void expect_json(const char *text, const char *what)
{
    const char *end = json_value(text, 0);
    if (!end || *json_ws(end))
        fail_msg("%s is not valid JSON near byte %ld:\n%s", what, end ? (long)(end - text) : -1L, text);
}

static void test_json_report(void **state)
{
    char bin[1024], tmp[] = "/tmp/nn_grade_json_XXXXXX", path[1100], extra[1200];
    (void)state;
    assert_non_null(mkdtemp(tmp));
    static report r;
    /* a grader's fragment, from a variant whose output is full of characters to escape */
    snprintf(bin, sizeof bin, "%s/grade/mutant/01_perceptron/noisy_output", build_dir());
    snprintf(path, sizeof path, "%s/fragment.json", tmp);
    snprintf(extra, sizeof extra, "--json '%s'", path);
    if (!exists(bin)) fail_msg("%s is missing", bin);
    run(bin, 0, extra, &r);
    static char wrapped[1 << 20];
    snprintf(wrapped, sizeof wrapped, "[%s]", slurp(path));
    expect_json(wrapped, "the --json fragment of noisy_output");
    /* the whole results.json of make grade, for the student files of 02 (two exercises) */
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "NN_GRADE_TIMEOUT=" TIMEOUT_S " sh exercises/grade.sh '%s' '%s' 02_linear_backward "
             "02_softmax_cross_entropy > '%s/log.txt' 2>&1",
             build_dir(), tmp, tmp);
    assert_int_equal(system(cmd), 0);
    snprintf(path, sizeof path, "%s/results.json", tmp);
    const char *json = slurp(path);
    expect_json(json, "results.json");
    if (!strstr(json, "\"score\": ") || !strstr(json, "\"tests\": [") ||
        !strstr(json, "\"extra_data\": {\"max_score\": 20}") || !strstr(json, "02 softmax_cross_entropy: "))
        fail_msg("results.json lacks the Gradescope fields:\n%s", json);
    snprintf(path, sizeof path, "%s/log.txt", tmp);
    const char *log = slurp(path);
    if (!strstr(log, "exercise 02 linear_backward: ") || !strstr(log, "total: "))
        fail_msg("grade.sh printed no per-exercise line or total:\n%s", log);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_solutions_score_full_marks),
        cmocka_unit_test(test_skeletons_score_less),
        cmocka_unit_test(test_mutants_lose_their_checks),
        cmocka_unit_test(test_seed_sets_differ),
        cmocka_unit_test(test_json_report),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
