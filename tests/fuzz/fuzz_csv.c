/* fuzz_csv.c -- the CSV loader on arbitrary bytes, from memory (nn_csv_parse is what
 * nn_csv_load calls once it has read the file), with the label last and first. A refusal
 * through nn_fail is the expected outcome for garbage; a crash, a leak or a dataset that
 * breaks its own invariants is a bug. */
#include "fuzz.h"

#include <math.h>

static void parse(const uint8_t *data, size_t size, int label_column)
{
    nn_data d = {0};
    if (setjmp(fuzz_jump) != 0) return; /* refused with a message: fine */
    nn_csv_parse(&d, (const char *)data, size, "fuzz.csv", label_column);
    if (d.n < 1 || d.dim < 1 || d.classes < 2 || d.classes > NN_CSV_MAX_CLASSES) abort();
    for (size_t i = 0; i < (size_t)d.n * (size_t)d.dim; i++)
        if (!isfinite(d.x[i])) abort();
    for (int i = 0; i < d.n; i++)
        if (d.y[i] < 0 || d.y[i] >= d.classes) abort();
    nn_data_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nn_set_fail_handler(fuzz_fail_handler);
    parse(data, size, -1);
    parse(data, size, 0);
    return 0;
}
