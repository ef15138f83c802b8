/* fuzz_text.c -- the text-corpus loader on arbitrary bytes, from memory (nn_text_load_memory
 * is what nn_text_load_file calls once it has read the file). Empty, binary, non-UTF-8 and
 * short inputs must be refused through nn_fail; an accepted text must keep its invariants:
 * increasing code points, every id inside the vocabulary, windows that stay in bounds. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nn_set_fail_handler(fuzz_fail_handler);
    nn_text t = {0};
    if (setjmp(fuzz_jump) != 0) return 0; /* refused with a message: fine */
    nn_text_load_memory(&t, data, size, "fuzz.txt", 0.1);
    if (t.vocab < 1 || t.ntrain + t.nval < NN_TEXT_MIN_CHARS) abort();
    for (int v = 1; v < t.vocab; v++)
        if (t.chars[v] <= t.chars[v - 1] || t.chars[v] > 0x10FFFF) abort();
    for (long i = 0; i < t.ntrain; i++)
        if (t.train[i] < 0 || t.train[i] >= t.vocab) abort();
    for (long i = 0; i < t.nval; i++)
        if (t.val[i] < 0 || t.val[i] >= t.vocab) abort();
    for (int v = 0; v < t.vocab; v++)
        if (nn_text_id(&t, t.chars[v]) != v) abort();
    int x[4 * 8], y[4 * 8];
    nn_rng rng;
    nn_rng_seed(&rng, size);
    nn_text_windows(&t, 0, x, y, 4, 8, &rng);
    for (int i = 0; i < 4 * 8; i++)
        if (x[i] < 0 || x[i] >= t.vocab || y[i] < 0 || y[i] >= t.vocab) abort();
    nn_text_free(&t);
    return 0;
}
