/* grade.c -- the grading harness: one forked child per check, a time limit, a report.
 * See grade.h for the contract. */
#include "grade.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define GRADE_PASS_STATUS 73    /* a child that passed exits with this; exit(0) is no pass */
#define GRADE_OUTPUT_MAX 16384  /* bytes of a check's output kept for the report */
#define GRADE_MESSAGE_MAX 1500  /* bytes of the message shown per check */

static int hidden_set;
static unsigned exercise_hash = 1;
static const grade_check *running; /* the check this child runs */

int grade_hidden(void) { return hidden_set; }

void grade_rng(nn_rng *rng, int stream)
{
    uint64_t set = hidden_set ? 0x68696464656e5345ull : 0x7075626c69635345ull;
    nn_rng_seed(rng, set ^ ((uint64_t)exercise_hash << 20) ^ ((uint64_t)stream * 0x9e3779b97f4a7c15ull));
}

int grade_size(nn_rng *rng, int lo, int hi) { return lo + nn_rng_int(rng, hi - lo + 1); }

/* ---- comparisons ------------------------------------------------------------------------ */

double grade_rel_error(double a, double b)
{
    if (a == b) return 0;
    if (!isfinite(a) || !isfinite(b)) return INFINITY; /* NaN or inf against a number */
    double scale = fmax(fabs(a), fabs(b));
    return fabs(a - b) / scale;
}

static void format_index(char *buf, size_t len, size_t i, int rows, int cols)
{
    if (cols > 0)
        snprintf(buf, len, "[%zu,%zu]", i / (size_t)cols, i % (size_t)cols);
    else
        snprintf(buf, len, "[%zu]", i);
    (void)rows;
}

void grade_expect_close(const char *what, const nn_real *got, const double *ref, int rows,
                        int cols, double atol, double rtol)
{
    size_t n = cols > 0 ? (size_t)rows * (size_t)cols : (size_t)rows;
    size_t worst = 0;
    double worst_excess = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        double g = (double)got[i], diff = fabs(g - ref[i]);
        double excess = diff - (atol + rtol * fabs(ref[i]));
        if (isnan(diff)) excess = INFINITY;
        if (excess > worst_excess) {
            worst_excess = excess;
            worst = i;
        }
    }
    if (n == 0 || worst_excess <= 0) return;
    char index[64], shape[64];
    format_index(index, sizeof index, worst, rows, cols);
    if (cols > 0)
        snprintf(shape, sizeof shape, "(%d,%d)", rows, cols);
    else
        snprintf(shape, sizeof shape, "(%d)", rows);
    fail_msg("%s %s: worst element %s = %.6g, expected %.6g, relative error %.1e "
             "(tolerance %.0e + %.0e*|expected|)",
             what, shape, index, (double)got[worst], ref[worst],
             grade_rel_error((double)got[worst], ref[worst]), atol, rtol);
}

void grade_expect_value(const char *what, double got, double ref, double atol, double rtol)
{
    double diff = fabs(got - ref);
    if (diff <= atol + rtol * fabs(ref)) return;
    fail_msg("%s = %.9g, expected %.9g, relative error %.1e (tolerance %.0e + %.0e*|expected|)",
             what, got, ref, grade_rel_error(got, ref), atol, rtol);
}

/* ---- allocation ------------------------------------------------------------------------- */

nn_real *grade_reals(size_t n) { return nn_calloc(n ? n : 1, sizeof(nn_real)); }
double *grade_doubles(size_t n) { return nn_calloc(n ? n : 1, sizeof(double)); }

nn_real *grade_random(nn_rng *rng, size_t n, double lo, double hi)
{
    nn_real *x = grade_reals(n);
    for (size_t i = 0; i < n; i++) x[i] = (nn_real)(lo + (hi - lo) * nn_rng_uniform(rng));
    return x;
}

void grade_to_double(double *out, const nn_real *x, size_t n)
{
    for (size_t i = 0; i < n; i++) out[i] = (double)x[i];
}

void grade_fill(nn_real *x, size_t n, nn_real value)
{
    for (size_t i = 0; i < n; i++) x[i] = value;
}

/* ---- running one check in a child ------------------------------------------------------- */

static void run_wrapper(void **state)
{
    /* cmocka turns SIGSEGV & co. into a test failure and carries on in a process whose
     * memory may be wrecked; the parent reports the real signal instead. */
    static const int sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGSYS};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) signal(sigs[i], SIG_DFL);
    running->run(state);
}

static _Noreturn void child_main(const grade_check *check, int fd, int timeout)
{
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    close(fd);
    setvbuf(stdout, NULL, _IONBF, 0);
    setpgid(0, 0);
    alarm((unsigned)timeout + 2); /* a backstop; the parent kills it first */
    nn_set_threads(1);
    running = check;
    struct CMUnitTest tests[1];
    memset(tests, 0, sizeof tests);
    tests[0].name = check->name;
    tests[0].test_func = run_wrapper;
    int failed = _cmocka_run_group_tests("grade", tests, 1, NULL, NULL);
    fflush(stdout);
    fflush(stderr);
    _exit(failed == 0 ? GRADE_PASS_STATUS : 1);
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef enum { ST_PASS, ST_FAIL, ST_CRASH, ST_TIMEOUT } status;
static const char *status_name[] = {"PASS", "FAIL", "CRASH", "TIMEOUT"};

typedef struct {
    status st;
    char detail[128];           /* e.g. "SIGSEGV, Segmentation fault" */
    char output[GRADE_OUTPUT_MAX];
    size_t len;
} result;

static const char *signal_abbrev(int sig)
{
    switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGABRT: return "SIGABRT";
    case SIGFPE: return "SIGFPE";
    case SIGBUS: return "SIGBUS";
    case SIGILL: return "SIGILL";
    case SIGKILL: return "SIGKILL";
    case SIGTERM: return "SIGTERM";
    case SIGALRM: return "SIGALRM";
    case SIGSYS: return "SIGSYS";
    case SIGPIPE: return "SIGPIPE";
    default: return "signal";
    }
}

static void run_check(const grade_check *check, int timeout, result *r)
{
    memset(r, 0, sizeof *r);
    int fds[2];
    if (pipe(fds) != 0) {
        perror("grade: pipe");
        exit(2);
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        perror("grade: fork");
        exit(2);
    }
    if (pid == 0) {
        close(fds[0]);
        child_main(check, fds[1], timeout);
    }
    close(fds[1]);
    setpgid(pid, pid); /* also done by the child; whichever runs first */

    double deadline = now_seconds() + timeout;
    int timed_out = 0;
    char buf[4096];
    for (;;) {
        double left = deadline - now_seconds();
        if (left <= 0) {
            timed_out = 1;
            break;
        }
        struct pollfd p = {fds[0], POLLIN, 0};
        int k = poll(&p, 1, (int)(left * 1000) + 1);
        if (k < 0 && errno == EINTR) continue;
        if (k == 0) continue; /* loop re-checks the deadline */
        ssize_t got = read(fds[0], buf, sizeof buf);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break; /* EOF: the child is gone (or closed its output) */
        size_t room = sizeof r->output - 1 - r->len;
        size_t take = (size_t)got < room ? (size_t)got : room;
        memcpy(r->output + r->len, buf, take);
        r->len += take;
    }
    if (timed_out) {
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
    }
    close(fds[0]);
    int wstatus = 0;
    while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
    }
    r->output[r->len] = 0;

    if (timed_out) {
        r->st = ST_TIMEOUT;
        snprintf(r->detail, sizeof r->detail, "no answer within %d s: an endless loop?", timeout);
    } else if (WIFSIGNALED(wstatus)) {
        int sig = WTERMSIG(wstatus);
        r->st = sig == SIGALRM ? ST_TIMEOUT : ST_CRASH;
        snprintf(r->detail, sizeof r->detail, "%s, %s", signal_abbrev(sig), strsignal(sig));
    } else if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == GRADE_PASS_STATUS) {
        r->st = ST_PASS;
    } else {
        r->st = ST_FAIL;
        int code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
        /* 1 is cmocka's failure; anything else means the code under test called exit() */
        if (code != 1)
            snprintf(r->detail, sizeof r->detail, "the check exited with status %d before it finished",
                     code);
    }
}

/* does text[0..n) contain needle? */
static int strstr_n(const char *text, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (!memcmp(text + i, needle, k)) return 1;
    return 0;
}

/* The message of a check: its output without cmocka's own "[ RUN ]" status lines. */
static void extract_message(const result *r, char *out, size_t len)
{
    size_t o = 0;
    const char *line = r->output;
    while (*line && o + 1 < len) {
        const char *end = strchr(line, '\n');
        size_t n = end ? (size_t)(end - line) : strlen(line);
        const char *text = line;
        size_t tn = n;
        if (tn >= 7 && !strncmp(text, "ERROR: ", 7)) text += 7, tn -= 7; /* cmocka's prefix */
        int cmocka_line = tn == 0 || text[0] == '[' || strstr_n(text, tn, "FAILED TEST(S)");
        if (!cmocka_line) {
            if (o > 0 && o + 1 < len) out[o++] = '\n';
            for (size_t i = 0; i < tn && o + 1 < len; i++) out[o++] = text[i];
        }
        line += n + (end ? 1 : 0);
    }
    while (o > 0 && (out[o - 1] == '\n' || out[o - 1] == ' ' || out[o - 1] == '\r')) o--;
    if (o + 1 >= len && len > 4) memcpy(out + len - 5, "...", 4), o = len - 2;
    out[o] = 0;
    if (r->len >= GRADE_OUTPUT_MAX - 1 && o + 40 < len)
        o += (size_t)snprintf(out + o, len - o, "\n(output truncated)");
}

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\t': fputs("\\t", f); break;
        case '\r': fputs("\\r", f); break;
        default:
            if (*p < 0x20 || *p == 0x7f)
                fprintf(f, "\\u%04x", *p);
            else
                fputc(*p >= 0x80 ? '?' : *p, f); /* keep the file plain ASCII, valid UTF-8 */
        }
    }
    fputc('"', f);
}

static void usage(const char *prog)
{
    fprintf(stderr, "usage: %s [--hidden] [--json FILE] [--list] [--timeout SECONDS]\n", prog);
    exit(2);
}

int grade_main(int argc, char **argv, const char *number, const char *name,
               const grade_check *checks, int count)
{
    const char *json_path = NULL, *env;
    int list = 0, timeout = 10;
    if ((env = getenv("NN_GRADE_HIDDEN")) && *env && strcmp(env, "0") != 0) hidden_set = 1;
    if ((env = getenv("NN_GRADE_TIMEOUT")) && atoi(env) > 0) timeout = atoi(env);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--hidden")) hidden_set = 1;
        else if (!strcmp(argv[i], "--list")) list = 1;
        else if (!strcmp(argv[i], "--json") && i + 1 < argc) json_path = argv[++i];
        else if (!strcmp(argv[i], "--timeout") && i + 1 < argc && atoi(argv[i + 1]) > 0)
            timeout = atoi(argv[++i]);
        else usage(argv[0]);
    }
    for (const char *p = number; *p; p++) exercise_hash = exercise_hash * 31u + (unsigned char)*p;
    for (const char *p = name; *p; p++) exercise_hash = exercise_hash * 31u + (unsigned char)*p;

    int total = 0, score = 0;
    for (int i = 0; i < count; i++) total += checks[i].points;
    if (list) {
        for (int i = 0; i < count; i++) printf("%d  %s\n", checks[i].points, checks[i].name);
        printf("score: 0/%d\n", total);
        return 0;
    }

    FILE *json = NULL;
    if (json_path && !(json = fopen(json_path, "w"))) {
        fprintf(stderr, "grade: cannot write %s: %s\n", json_path, strerror(errno));
        return 2;
    }
    printf("exercise %s %s (%s seed set, %d s per check)\n", number, name,
           hidden_set ? "hidden" : "public", timeout);
    static result r;
    static char message[GRADE_MESSAGE_MAX + 256];
    for (int i = 0; i < count; i++) {
        run_check(&checks[i], timeout, &r);
        int got = r.st == ST_PASS ? checks[i].points : 0;
        score += got;
        extract_message(&r, message, GRADE_MESSAGE_MAX);
        printf("  %-8s %2d/%-2d  %s\n", status_name[r.st], got, checks[i].points, checks[i].name);
        if (r.detail[0]) printf("           (%s)\n", r.detail);
        if (r.st != ST_PASS && message[0]) {
            /* indent every line of the message under the check */
            printf("           ");
            for (const char *p = message; *p; p++) {
                putchar(*p);
                if (*p == '\n') printf("           ");
            }
            putchar('\n');
        }
        if (json) {
            char title[512];
            snprintf(title, sizeof title, "%s %s: %s", number, name, checks[i].name);
            fprintf(json, "%s    {\"name\": ", i ? ",\n" : "");
            json_string(json, title);
            fprintf(json, ", \"score\": %d, \"max_score\": %d, \"output\": ", got,
                    checks[i].points);
            static char text[GRADE_MESSAGE_MAX + 512];
            snprintf(text, sizeof text, "%s%s%s%s%s", status_name[r.st],
                     r.detail[0] ? " (" : "", r.detail, r.detail[0] ? ")" : "",
                     message[0] && r.st != ST_PASS ? "\n" : "");
            if (r.st != ST_PASS)
                strncat(text, message, sizeof text - strlen(text) - 1);
            json_string(json, text);
            fputs("}", json);
        }
    }
    if (json) {
        fputc('\n', json);
        fclose(json);
    }
    printf("exercise %s %s: %d/%d points\n", number, name, score, total);
    printf("score: %d/%d\n", score, total);
    return 0;
}
