/* grade.h -- the grading harness every exercise's grader shares.
 *
 * A grader is a C program (exercises/NN_name/grade_name.c) linked with the student's file and
 * build/libnn.a. Its main hands a table of checks to grade_main:
 *
 *     static const grade_check checks[] = {
 *         {"dW against the reference", 3, check_dw},
 *         ...
 *     };
 *     int main(int argc, char **argv)
 *     { return GRADE_MAIN(argc, argv, "02", "linear_backward", checks); }
 *
 * A check is a cmocka test function: it draws its inputs from grade_rng (a fixed seed per
 * check and per seed set), calls the student's code, and fails through fail_msg (or the
 * grade_expect_* helpers below) with a message that says what was expected and what was found.
 *
 * Isolation: grade_main forks one child per check. The child runs that single check as a
 * one-test cmocka group and exits; the parent reads the child's output through a pipe and kills
 * it when the time limit passes. A student's segfault, abort or endless loop therefore costs
 * that check's points only, and grading carries on with the next check.
 *
 * Command line of every grader:
 *     --hidden        the second seed set (also: environment NN_GRADE_HIDDEN=1)
 *     --json FILE     also write the checks as Gradescope test objects (a JSON fragment)
 *     --list          print the checks and their points, run nothing
 *     --timeout S     seconds per check (also: NN_GRADE_TIMEOUT; default 10)
 * Output: one line per check (PASS/FAIL/CRASH/TIMEOUT, points, name, then the message),
 * `exercise NN name: P/Q points`, and a last machine-readable line `score: P/Q`.
 * The exit status is 0 whenever grading itself worked, whatever the score.
 */
#ifndef GRADE_H
#define GRADE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "nn.h"

typedef struct grade_check {
    const char *name; /* shown in the report; unique within the exercise */
    int points;
    void (*run)(void **state); /* a cmocka test function */
} grade_check;

int grade_main(int argc, char **argv, const char *number, const char *name,
               const grade_check *checks, int count);
#define GRADE_MAIN(argc, argv, number, name, checks) \
    grade_main((argc), (argv), (number), (name), (checks), (int)(sizeof(checks) / sizeof((checks)[0])))

/* 1 when grading with the second (hidden) seed set */
int grade_hidden(void);
/* Seed rng for one check: `stream` tells the checks apart; the seed set changes every stream.
 * Use it for inputs *and* shapes, so a hard-coded answer cannot pass both seed sets. */
void grade_rng(nn_rng *rng, int stream);
/* a random size in lo..hi drawn from rng */
int grade_size(nn_rng *rng, int lo, int hi);

/* Compare the student's array with the reference (computed in double by the grader):
 * every element must satisfy |got - ref| <= atol + rtol*|ref| (NaN never does). On failure,
 * fail_msg names the worst element, e.g.
 *   "dW (4,7): worst element [3,1] = 0.1234, expected 0.5678, relative error 7.8e-01"
 * rows/cols describe the shape for the message; cols = 0 means a vector of `rows` elements. */
void grade_expect_close(const char *what, const nn_real *got, const double *ref, int rows,
                        int cols, double atol, double rtol);
/* one value */
void grade_expect_value(const char *what, double got, double ref, double atol, double rtol);
/* relative error as in CS231n: |a - b| / max(|a|, |b|), 0 when both are 0 */
double grade_rel_error(double a, double b);

/* allocation helpers for checks (the child exits after one check, so nothing needs freeing) */
nn_real *grade_reals(size_t n);              /* zero-filled */
double *grade_doubles(size_t n);             /* zero-filled */
nn_real *grade_random(nn_rng *rng, size_t n, double lo, double hi); /* uniform */
void grade_to_double(double *out, const nn_real *x, size_t n);
/* fill with a value the student's code must overwrite */
void grade_fill(nn_real *x, size_t n, nn_real value);

#endif
