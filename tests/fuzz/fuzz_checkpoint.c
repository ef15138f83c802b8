/* fuzz_checkpoint.c -- the checkpoint reader on arbitrary bytes, against a model with two
 * tensors and an Adam optimizer (the shapes of the seed files). */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write("ckpt", data, size);
    static nn_params ps;
    static nn_optim opt;
    static int ready;
    if (!ready) {
        nn_params_init(&ps);
        nn_params_add(&ps, "w", 2, (int[]){3, 4});
        nn_params_add(&ps, "b", 1, (int[]){4});
        nn_optim_init(&opt, NN_OPTIM_ADAM, &ps, 0.01f);
        ready = 1;
    }
    nn_set_fail_handler(fuzz_fail_handler);
    if (setjmp(fuzz_jump) == 0) nn_checkpoint_load(path, &ps, &opt);
    return 0;
}
