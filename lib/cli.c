/* cli.c -- the command line every lesson shares. */
#include "nn.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static void usage(const nn_cli *cli, const char *about)
{
    printf("usage: lesson%02d [options]\n\n%s\n\n", cli->lesson, about ? about : "");
    printf("options:\n"
           "  --quick            a few seconds on a small subset (for tests and CI)\n"
           "  --seed N           random seed (default 42); same seed, same numbers\n"
           "  --epochs N         training epochs (default: the lesson's choice)\n"
           "  --kernels K        naive or blas (default blas, or $NN_KERNELS)\n"
           "  --threads N        threads for BLAS and OpenMP loops (default: all cores)\n"
           "  --out DIR          where figures and metrics.json go (default out/lesson%02d)\n"
           "  --help             this text\n",
           cli->lesson);
    if (cli->file_flag) {
        char option[64];
        snprintf(option, sizeof option, "%s FILE", cli->file_flag);
        printf("  %-18s the lesson's own data file (see above)\n", option);
    }
}

static int bad(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(char *err, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
    return 2;
}

/* strict: the whole string is a number within [lo, hi] */
static int parse_long(const char *value, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(value, &end, 10);
    if (errno || end == value || *end || v < lo || v > hi) return 0;
    *out = v;
    return 1;
}

int nn_cli_parse_args(nn_cli *cli, int lesson, const char *file_flag, int argc, char **argv,
                      char *err, size_t errlen)
{
    memset(cli, 0, sizeof *cli);
    cli->lesson = lesson;
    cli->file_flag = file_flag;
    cli->seed = 42;
    snprintf(cli->out, sizeof cli->out, "out/lesson%02d", lesson);
    const char *env = getenv("NN_KERNELS");
    if (env && *env && strcmp(env, "naive") && strcmp(env, "blas"))
        return bad(err, errlen, "NN_KERNELS=%s: expected naive or blas", env);
    cli->kernels = env && !strcmp(env, "naive") ? NN_KERNELS_NAIVE : NN_KERNELS_BLAS;

    for (int i = 1; i < argc; i++) {
        char flag[64];
        const char *arg = argv[i], *value = NULL, *eq = strchr(arg, '=');
        if (strncmp(arg, "--", 2) == 0 && eq) { /* --flag=value */
            if ((size_t)(eq - arg) >= sizeof flag) return bad(err, errlen, "unknown option '%.80s'", arg);
            memcpy(flag, arg, (size_t)(eq - arg));
            flag[eq - arg] = 0;
            value = eq + 1;
        } else {
            snprintf(flag, sizeof flag, "%s", arg);
        }
        int takes_value = !strcmp(flag, "--seed") || !strcmp(flag, "--epochs") ||
                          !strcmp(flag, "--kernels") || !strcmp(flag, "--threads") ||
                          !strcmp(flag, "--out") || (file_flag && !strcmp(flag, file_flag));
        if (takes_value && !value) {
            if (i + 1 >= argc || !strncmp(argv[i + 1], "--", 2))
                return bad(err, errlen, "%s needs a value", flag);
            value = argv[++i];
        } else if (!takes_value && value) {
            return bad(err, errlen, "%s takes no value (got '%.80s')", flag, value);
        }
        long v;
        if (!strcmp(flag, "--help") || !strcmp(flag, "-h")) {
            return 1;
        } else if (!strcmp(flag, "--quick")) {
            cli->quick = 1;
        } else if (!strcmp(flag, "--seed")) {
            char *end;
            errno = 0;
            unsigned long long s = strtoull(value, &end, 10);
            if (errno || end == value || *end || value[0] < '0' || value[0] > '9')
                return bad(err, errlen, "--seed '%.80s': expected a non-negative integer", value);
            cli->seed = (uint64_t)s;
        } else if (!strcmp(flag, "--epochs")) {
            if (!parse_long(value, 1, 100000, &v))
                return bad(err, errlen, "--epochs '%.80s': expected an integer in 1..100000", value);
            cli->epochs = (int)v;
        } else if (!strcmp(flag, "--threads")) {
            if (!parse_long(value, 1, 1024, &v))
                return bad(err, errlen, "--threads '%.80s': expected an integer in 1..1024", value);
            cli->threads = (int)v;
        } else if (!strcmp(flag, "--kernels")) {
            if (!strcmp(value, "naive")) cli->kernels = NN_KERNELS_NAIVE;
            else if (!strcmp(value, "blas")) cli->kernels = NN_KERNELS_BLAS;
            else return bad(err, errlen, "--kernels '%.80s': expected naive or blas", value);
        } else if (!strcmp(flag, "--out")) {
            if (!*value || strlen(value) >= sizeof cli->out)
                return bad(err, errlen, "--out '%.80s': expected a directory name", value);
            snprintf(cli->out, sizeof cli->out, "%s", value);
        } else if (file_flag && !strcmp(flag, file_flag)) {
            if (!*value || strlen(value) >= sizeof cli->file)
                return bad(err, errlen, "%s '%.80s': expected a file name", flag, value);
            snprintf(cli->file, sizeof cli->file, "%s", value);
        } else {
            return bad(err, errlen, "unknown option '%.80s'", arg);
        }
    }
    return 0;
}

void nn_cli_parse_file(nn_cli *cli, int lesson, const char *about, const char *file_flag, int argc,
                       char **argv)
{
    char err[256];
    int status = nn_cli_parse_args(cli, lesson, file_flag, argc, argv, err, sizeof err);
    if (status == 1) {
        usage(cli, about);
        exit(0);
    }
    if (status == 2) {
        fprintf(stderr, "lesson%02d: %s\ntry: lesson%02d --help\n", lesson, err, lesson);
        exit(2);
    }
    nn_set_kernels(cli->kernels);
    nn_set_threads(cli->threads);
    nn_io_mkdir_p(cli->out);
}

int nn_cli_epochs(const nn_cli *cli, int full_default, int quick_default)
{
    return cli->epochs > 0 ? cli->epochs : cli->quick ? quick_default : full_default;
}

void nn_cli_parse(nn_cli *cli, int lesson, const char *about, int argc, char **argv)
{
    nn_cli_parse_file(cli, lesson, about, NULL, argc, argv);
}
