/* simd.h -- internal to lib/: compile a hot loop once per x86-64 vector width.
 *
 * A function marked NN_SIMD_CLONES is compiled three times when GCC builds for x86-64 Linux:
 * for any x86-64 CPU (SSE, 4 floats per instruction: what the Makefile's -march=x86-64-v2
 * gives), for AVX2 + FMA (x86-64-v3, 8 floats) and for AVX-512 (x86-64-v4, 16 floats); the
 * dynamic loader picks the best one this CPU runs (GCC's function multi-versioning, through
 * an ifunc). fp-contract=fast lets a * b + c become one fused multiply-add, which polynomials
 * are made of (so the last bits may differ between CPUs; one machine always gives the same).
 * Measured on this project's GELU: v3 3x, v4 5x faster than the SSE loop. Other compilers and
 * systems get the one portable loop. Loops must still be written so that they vectorize at
 * all: restrict pointers, `#pragma omp simd`, selects instead of branches. */
#ifndef NN_SIMD_H
#define NN_SIMD_H

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define NN_SIMD_CLONES                                                                         \
    __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default"),               \
                   optimize("fp-contract=fast")))
#else
#define NN_SIMD_CLONES
#endif

#endif
