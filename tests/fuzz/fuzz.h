/* fuzz.h -- what every libFuzzer target shares: bytes to a temporary file, and nn_fail turned
 * into a return (a clean refusal is the expected outcome for garbage; a crash is a bug). */
#ifndef NN_FUZZ_H
#define NN_FUZZ_H

#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../../lib/nn.h"

static jmp_buf fuzz_jump;
static void fuzz_fail_handler(const char *message)
{
    (void)message;
    longjmp(fuzz_jump, 1);
}

/* the files this process wrote (a target uses at most 4 tags), removed when the fuzzer exits */
static char fuzz_path[4][128];
static void fuzz_remove_files(void)
{
    for (int i = 0; i < 4; i++)
        if (fuzz_path[i][0]) unlink(fuzz_path[i]);
}

/* a per-process path, so parallel fuzzing jobs never share a file */
static const char *fuzz_write(const char *tag, const uint8_t *data, size_t size)
{
    static int next;
    if (next == 0) atexit(fuzz_remove_files);
    char *p = fuzz_path[next++ % 4];
    snprintf(p, sizeof fuzz_path[0], "/tmp/deepc-fuzz-%ld-%s", (long)getpid(), tag);
    FILE *f = fopen(p, "wb");
    if (!f) abort();
    if (size && fwrite(data, 1, size, f) != size) abort();
    fclose(f);
    return p;
}

#endif
