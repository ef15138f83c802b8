/* fuzz_idx.c -- the IDX loader (plain and gzip) on arbitrary bytes. The first two bytes give
 * the length of the images part; the rest is the labels file. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    size_t split = ((size_t)data[0] << 8 | data[1]) % (size - 1);
    const char *images = fuzz_write("images", data + 2, split);
    const char *labels = fuzz_write("labels", data + 2 + split, size - 2 - split);
    nn_set_fail_handler(fuzz_fail_handler);
    nn_data d = {0};
    if (setjmp(fuzz_jump) == 0) {
        nn_data_idx_load(&d, images, labels);
        nn_data_free(&d);
    }
    return 0;
}
