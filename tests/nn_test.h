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
#include <string.h>

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

#endif
