/* fuzz_npy.c -- the .npy reader on arbitrary bytes. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write("npy", data, size);
    nn_set_fail_handler(fuzz_fail_handler);
    int ndim, shape[NN_MAX_DIMS];
    if (setjmp(fuzz_jump) == 0) free(nn_io_read_npy(path, &ndim, shape));
    return 0;
}
