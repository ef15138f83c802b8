/* base.c -- errors that name where they happened, checked allocation, a clock. */
#include "nn.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char last_error[1024];
static nn_fail_handler fail_handler;

nn_fail_handler nn_set_fail_handler(nn_fail_handler handler)
{
    nn_fail_handler previous = fail_handler;
    fail_handler = handler;
    return previous;
}

const char *nn_last_error(void) { return last_error; }

_Noreturn void nn_fail_at(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    if (fail_handler) {
        fail_handler(last_error); /* a test's handler longjmps out */
    }
    fflush(stdout);
    fprintf(stderr, "error: %s  [%s:%d]\n", last_error, file, line);
    exit(1);
}

void *nn_malloc_at(const char *file, int line, size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p) nn_fail_at(file, line, "out of memory allocating %zu bytes", bytes);
    return p;
}

void *nn_calloc_at(const char *file, int line, size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) nn_fail_at(file, line, "out of memory allocating %zu x %zu bytes", count, size);
    return p;
}

void *nn_realloc_at(const char *file, int line, void *ptr, size_t bytes)
{
    void *p = realloc(ptr, bytes ? bytes : 1);
    if (!p) nn_fail_at(file, line, "out of memory reallocating to %zu bytes", bytes);
    return p;
}

size_t nn_size_mul(size_t a, size_t b, const char *what)
{
    if (a != 0 && b > SIZE_MAX / a) nn_fail("%s: size %zu x %zu overflows", what, a, b);
    return a * b;
}

double nn_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
