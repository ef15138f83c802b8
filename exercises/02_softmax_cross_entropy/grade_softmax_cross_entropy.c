/* grade_softmax_cross_entropy.c -- the grader of exercise 02 softmax_cross_entropy (10 points). */
#include "grade.h"
#include "softmax_cross_entropy.h"

#include <math.h>

/* reference loss of one problem, in double, stable */
static double ref_loss(const double *z, const int *labels, int B, int C)
{
    double total = 0;
    for (int b = 0; b < B; b++) {
        const double *r = z + (size_t)b * C;
        double m = r[0], s = 0;
        for (int j = 1; j < C; j++) m = fmax(m, r[j]);
        for (int j = 0; j < C; j++) s += exp(r[j] - m);
        total += m + log(s) - r[labels[b]];
    }
    return total / B;
}

static void ref_grad(double *d, const double *z, const int *labels, int B, int C)
{
    for (int b = 0; b < B; b++) {
        const double *r = z + (size_t)b * C;
        double m = r[0], s = 0;
        for (int j = 1; j < C; j++) m = fmax(m, r[j]);
        for (int j = 0; j < C; j++) s += exp(r[j] - m);
        for (int j = 0; j < C; j++) d[b * C + j] = (exp(r[j] - m) / s - (j == labels[b])) / B;
    }
}

typedef struct {
    int B, C, *labels;
    nn_real *z;
    double *zd;
} problem;

/* B == 0: drawn; row b is shifted by offset * (b % 3 - 1): -o, 0, +o, ... (+o for B == 1) */
static problem make(int stream, int B, double scale, double offset)
{
    nn_rng rng;
    grade_rng(&rng, stream);
    problem p;
    p.B = B ? B : grade_size(&rng, 2, 9);
    p.C = grade_size(&rng, 2, 12);
    size_t n = (size_t)p.B * p.C;
    p.z = grade_random(&rng, n, -scale, scale);
    p.labels = nn_calloc(p.B, sizeof(int));
    for (int b = 0; b < p.B; b++) {
        p.labels[b] = nn_rng_int(&rng, p.C);
        for (int j = 0; j < p.C; j++) p.z[b * p.C + j] += (nn_real)(offset * (p.B == 1 ? 1 : b % 3 - 1));
    }
    p.zd = grade_doubles(n);
    grade_to_double(p.zd, p.z, n);
    return p;
}

static void expect_forward(const char *what, const problem *p)
{
    double got = softmax_cross_entropy_forward(p->z, p->labels, p->B, p->C);
    double ref = ref_loss(p->zd, p->labels, p->B, p->C);
    char name[160];
    snprintf(name, sizeof name, "%s: loss of a (%d,%d) batch", what, p->B, p->C);
    grade_expect_value(name, got, ref, 1e-5, 1e-5);
}

static void expect_backward(const char *what, const problem *p, double atol, double rtol)
{
    size_t n = (size_t)p->B * p->C;
    nn_real *d = grade_reals(n);
    grade_fill(d, n, 7); /* must be overwritten */
    softmax_cross_entropy_backward(d, p->z, p->labels, p->B, p->C);
    double *ref = grade_doubles(n);
    ref_grad(ref, p->zd, p->labels, p->B, p->C);
    grade_expect_close(what, d, ref, p->B, p->C, atol, rtol);
}

static void check_forward_golden(void **state)
{
    /* hand-worked: rows [1,2,3] label 2 -> log(1 + e^-1 + e^-2) = 0.4076059644;
     *              [0,0,0] label 0 -> log 3 = 1.0986122887; mean 0.7531091266 */
    const nn_real z[] = {1, 2, 3, 0, 0, 0};
    const int labels[] = {2, 0};
    grade_expect_value("hand-worked loss of [[1,2,3],[0,0,0]] with labels [2,0]",
                       softmax_cross_entropy_forward(z, labels, 2, 3), 0.7531091266, 1e-6, 1e-6);
    problem p = make(1, 0, 3, 0);
    expect_forward("random logits", &p);
}

static void check_forward_stable(void **state)
{
    /* rows shifted by -1000, 0, +1000: exp(1000) overflows even a double */
    problem p = make(2, 0, 5, 1000);
    if (p.B < 3) p = make(2, 3, 5, 1000);
    double got = softmax_cross_entropy_forward(p.z, p.labels, p.B, p.C);
    if (!isfinite(got))
        fail_msg("loss with logits around +-1000 is %g: subtract each row's max before exp", got);
    expect_forward("logits around +-1000", &p);
    /* a confident, correct row: loss ~ 0, not log(0) */
    const nn_real z[] = {1000, -1000, 0};
    const int label[] = {0};
    grade_expect_value("loss of [1000,-1000,0] with label 0",
                       softmax_cross_entropy_forward(z, label, 1, 3), 0, 1e-6, 0);
    const int wrong[] = {1};
    grade_expect_value("loss of [1000,-1000,0] with label 1",
                       softmax_cross_entropy_forward(z, wrong, 1, 3), 2000, 1e-3, 1e-6);
}

static void check_backward(void **state)
{
    problem p = make(3, 0, 3, 0);
    expect_backward("dlogits", &p, 1e-6, 1e-4);
}

static void check_gradcheck(void **state)
{
    problem p = make(4, 0, 2, 0);
    size_t n = (size_t)p.B * p.C;
    nn_real *d = grade_reals(n);
    softmax_cross_entropy_backward(d, p.z, p.labels, p.B, p.C);
    double *num = grade_doubles(n), h = 1e-5;
    for (size_t i = 0; i < n; i++) {
        double keep = p.zd[i];
        p.zd[i] = keep + h;
        double lp = ref_loss(p.zd, p.labels, p.B, p.C);
        p.zd[i] = keep - h;
        double lm = ref_loss(p.zd, p.labels, p.B, p.C);
        p.zd[i] = keep;
        num[i] = (lp - lm) / (2 * h);
    }
    grade_expect_close("gradient check (central differences of the mean loss): dlogits", d, num,
                       p.B, p.C, 1e-6, 1e-3);
}

static void check_batch1_huge(void **state)
{
    problem p = make(5, 1, 5, 1000); /* one row, logits around +1000 */
    expect_forward("batch 1, logits around 1000", &p);
    expect_backward("batch 1, logits around 1000: dlogits", &p, 1e-6, 1e-4);
    problem q = make(6, 0, 5, 1000);
    if (q.B < 3) q = make(6, 3, 5, 1000);
    expect_backward("logits around +-1000: dlogits", &q, 1e-6, 1e-4);
}

static const grade_check checks[] = {
    {"forward: golden values", 2, check_forward_golden},
    {"forward: stable for logits of +-1000", 2, check_forward_stable},
    {"backward: (softmax - onehot) / B", 2, check_backward},
    {"gradient check (double central differences)", 2, check_gradcheck},
    {"batch size 1 and huge logits, forward and backward", 2, check_batch1_huge},
};

int main(int argc, char **argv)
{
    return GRADE_MAIN(argc, argv, "02", "softmax_cross_entropy", checks);
}
