/* segfault_batch1.c -- correct, except that it dies with a segmentation fault on a batch of
 * one: the harness must report CRASH for that check only and grade the others.
 * grade-expect: CRASH batch size 1, outputs overwritten */
#include "linear_backward.h"

#include <signal.h>

void linear_backward(nn_real *dx, nn_real *dw, nn_real *db, const nn_real *dy,
                     const nn_real *x, const nn_real *w, int B, int in, int out)
{
    if (B == 1) raise(SIGSEGV); /* what a wild pointer would do, without undefined behaviour */
    nn_gemm(0, 0, B, in, out, 1, dy, out, w, in, 0, dx, in);
    nn_gemm(1, 0, out, in, B, 1, dy, out, x, in, 0, dw, in);
    for (int o = 0; o < out; o++) db[o] = 0;
    for (int b = 0; b < B; b++)
        for (int o = 0; o < out; o++) db[o] += dy[(size_t)b * out + o];
}
