/* nn_test.h -- what every cmocka suite shares: expecting a clean refusal, comparing arrays. */
#ifndef NN_TEST_H
#define NN_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/nn.h"

/* EXPECT_FAIL(call, "substring"): the call must stop through nn_fail with a message that
 * contains the substring (so bad input is refused clearly, not by a crash). */
extern jmp_buf nn_test_jump;
extern int nn_test_armed;
void nn_test_fail_handler(const char *message);
#define EXPECT_FAIL(call, substring)                                                       \
    do {                                                                                   \
        nn_fail_handler previous_ = nn_set_fail_handler(nn_test_fail_handler);             \
        nn_test_armed = 1;                                                                 \
        if (setjmp(nn_test_jump) == 0) {                                                   \
            call;                                                                          \
            nn_test_armed = 0;                                                             \
            nn_set_fail_handler(previous_);                                                \
            fail_msg("expected `%s` to fail with \"%s\", but it succeeded", #call,         \
                     substring);                                                           \
        }                                                                                  \
        nn_test_armed = 0;                                                                 \
        nn_set_fail_handler(previous_);                                                    \
        if (!strstr(nn_last_error(), substring))                                           \
            fail_msg("`%s` failed with \"%s\"; expected a message containing \"%s\"", #call, \
                     nn_last_error(), substring);                                          \
    } while (0)

#define NN_TEST_DEFINE_FAIL_HANDLER                                                        \
    jmp_buf nn_test_jump;                                                                  \
    int nn_test_armed;                                                                     \
    void nn_test_fail_handler(const char *message)                                         \
    {                                                                                      \
        (void)message;                                                                     \
        if (nn_test_armed) longjmp(nn_test_jump, 1);                                       \
    }

/* NN_TEST_GRAPH_FIXTURE: the suite's graph `g`, made by setup and freed by teardown, for
 * cmocka_unit_test_setup_teardown(test, setup, teardown) */
#define NN_TEST_GRAPH_FIXTURE                                                              \
    static nn_graph *g;                                                                    \
    static int setup(void **state)                                                         \
    {                                                                                      \
        (void)state;                                                                       \
        g = nn_graph_new();                                                                \
        return 0;                                                                          \
    }                                                                                      \
    static int teardown(void **state)                                                      \
    {                                                                                      \
        (void)state;                                                                       \
        nn_graph_free(g);                                                                  \
        return 0;                                                                          \
    }

/* NN_TEST_TMPDIR_FIXTURE("name"): a fresh directory /tmp/deepc-name-XXXXXX in `tmpdir`, made
 * by make_tmpdir and removed with everything in it by remove_tmpdir (cmocka setup/teardown) */
#define NN_TEST_TMPDIR_FIXTURE(name)                                                       \
    static char tmpdir[64];                                                                \
    static int make_tmpdir(void **state)                                                   \
    {                                                                                      \
        (void)state;                                                                       \
        snprintf(tmpdir, sizeof tmpdir, "/tmp/deepc-%s-XXXXXX", name);                     \
        return mkdtemp(tmpdir) ? 0 : -1;                                                   \
    }                                                                                      \
    static int remove_tmpdir(void **state)                                                 \
    {                                                                                      \
        (void)state;                                                                       \
        char cmd_[128];                                                                    \
        snprintf(cmd_, sizeof cmd_, "rm -rf '%s'", tmpdir);                                \
        return system(cmd_) == 0 ? 0 : -1;                                                 \
    }

/* |a - b| <= atol + rtol * |ref| elementwise; on failure names the worst element */
static inline void nn_test_assert_close(const nn_real *got, const nn_real *ref, size_t n,
                                        double atol, double rtol, const char *what)
{
    size_t worst = 0;
    double worst_excess = -1;
    for (size_t i = 0; i < n; i++) {
        double diff = fabs((double)got[i] - (double)ref[i]);
        double excess = diff - (atol + rtol * fabs((double)ref[i]));
        if (!(diff == diff)) excess = INFINITY; /* NaN */
        if (excess > worst_excess) {
            worst_excess = excess;
            worst = i;
        }
    }
    if (n > 0 && worst_excess > 0)
        fail_msg("%s: element %zu is %.9g, expected %.9g (atol %.1e, rtol %.1e)", what, worst,
                 (double)got[worst], (double)ref[worst], atol, rtol);
}

/* ---- gradient checks (the double build) ---- */

/* A scalar loss that weighs every output differently: L = sum_i r_i y_i, r uniform in [-1, 1]
 * drawn from `seed` and y's size, so every element's gradient is exercised and repeatable. */
static inline nn_tensor *nn_test_weighted_sum(nn_graph *g, nn_tensor *y, uint64_t seed)
{
    nn_rng rng;
    nn_rng_seed(&rng, seed + (uint64_t)y->numel);
    nn_tensor *r = nn_graph_tensor(g, y->ndim, y->shape[0], y->shape[1], y->shape[2], y->shape[3],
                                   y->shape[4], y->shape[5]);
    nn_rng_fill_uniform(&rng, r->data, r->numel, -1, 1);
    return nn_sum(g, nn_mul(g, y, r));
}

/* An input of the given shape (ndim <= 4), uniform in [lo, hi], that wants a gradient */
static inline nn_tensor *nn_test_leaf(nn_graph *g, nn_rng *rng, double lo, double hi, int ndim,
                                      const int *shape)
{
    nn_tensor *t = nn_graph_tensor(g, ndim, shape[0], ndim > 1 ? shape[1] : 0,
                                   ndim > 2 ? shape[2] : 0, ndim > 3 ? shape[3] : 0);
    nn_rng_fill_uniform(rng, t->data, t->numel, lo, hi);
    nn_graph_require_grad(g, t);
    return t;
}

/* The project's bar for a gradient check: relative error below 1e-6 */
static inline void nn_test_expect_gradcheck(nn_gradcheck_result r, const char *what)
{
    if (r.max_rel_error >= 1e-6)
        fail_msg("%s: relative error %.3g at input %d element %zu (analytic %.10g, numeric %.10g)",
                 what, r.max_rel_error, r.worst_tensor, r.worst_index, r.worst_analytic,
                 r.worst_numeric);
}

/* CLOSE(t, v0, v1, ...): tensor t holds exactly these values, to 1e-6 (CLOSE_RTOL: to a
 * relative tolerance of the caller's choosing, still 1e-6 absolute) */
#define CLOSE_RTOL(t, rtol, ...)                                                           \
    do {                                                                                   \
        const nn_real expect_[] = {__VA_ARGS__};                                           \
        assert_int_equal((t)->numel, sizeof expect_ / sizeof expect_[0]);                  \
        nn_test_assert_close((t)->data, expect_, (t)->numel, 1e-6, rtol, #t);              \
    } while (0)
#define CLOSE(t, ...) CLOSE_RTOL(t, 1e-6, __VA_ARGS__)

#endif
