/* fuzz_cli.c -- the lesson command line: the bytes, split at NUL, are argv[1..]. */
#include "fuzz.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size + 1), *argv[64] = {"lesson99"};
    memcpy(copy, data, size);
    copy[size] = 0;
    int argc = 1;
    for (size_t at = 0; at < size && argc < 64; at += strlen(copy + at) + 1) argv[argc++] = copy + at;
    nn_cli cli;
    char err[256];
    int status = nn_cli_parse_args(&cli, 99, "--text", argc, argv, err, sizeof err);
    if (status < 0 || status > 2) abort();
    if (status == 0 && (cli.epochs < 0 || cli.threads < 0 || strlen(cli.out) == 0)) abort();
    free(copy);
    return 0;
}
