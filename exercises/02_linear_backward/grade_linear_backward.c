/* grade_linear_backward.c -- the grader of exercise 02 linear_backward (10 points).
 * Each check draws its shapes and values from its seed (public or hidden set), computes the
 * answer in double with plain loops, and compares the student's float result. */
#include "grade.h"
#include "linear_backward.h"

#include <math.h>

/* a problem instance: x (B,in), w (out,in), dy (B,out) and the reference gradients */
typedef struct {
    int B, in, out;
    nn_real *x, *w, *dy, *dx, *dw, *db; /* student's outputs dx, dw, db */
    double *rdx, *rdw, *rdb;            /* reference */
} problem;

static void reference(problem *p)
{
    int B = p->B, in = p->in, out = p->out;
    for (int b = 0; b < B; b++)
        for (int i = 0; i < in; i++) {
            double s = 0;
            for (int o = 0; o < out; o++) s += (double)p->dy[b * out + o] * p->w[o * in + i];
            p->rdx[b * in + i] = s;
        }
    for (int o = 0; o < out; o++)
        for (int i = 0; i < in; i++) {
            double s = 0;
            for (int b = 0; b < B; b++) s += (double)p->dy[b * out + o] * p->x[b * in + i];
            p->rdw[o * in + i] = s;
        }
    for (int o = 0; o < out; o++) {
        double s = 0;
        for (int b = 0; b < B; b++) s += p->dy[b * out + o];
        p->rdb[o] = s;
    }
}

/* B == 0 draws the batch size too; outputs start as `fill` */
static problem make_problem(int stream, int B, nn_real fill)
{
    nn_rng rng;
    grade_rng(&rng, stream);
    problem p;
    p.B = B ? B : grade_size(&rng, 2, 9);
    p.in = grade_size(&rng, 2, 13);
    p.out = grade_size(&rng, 2, 11);
    if (p.in == p.out) p.out++; /* non-square, so a transposed answer has the wrong shape */
    p.x = grade_random(&rng, (size_t)p.B * p.in, -1, 1);
    p.w = grade_random(&rng, (size_t)p.out * p.in, -1, 1);
    p.dy = grade_random(&rng, (size_t)p.B * p.out, -1, 1);
    p.dx = grade_reals((size_t)p.B * p.in);
    p.dw = grade_reals((size_t)p.out * p.in);
    p.db = grade_reals((size_t)p.out);
    grade_fill(p.dx, (size_t)p.B * p.in, fill);
    grade_fill(p.dw, (size_t)p.out * p.in, fill);
    grade_fill(p.db, (size_t)p.out, fill);
    p.rdx = grade_doubles((size_t)p.B * p.in);
    p.rdw = grade_doubles((size_t)p.out * p.in);
    p.rdb = grade_doubles((size_t)p.out);
    reference(&p);
    linear_backward(p.dx, p.dw, p.db, p.dy, p.x, p.w, p.B, p.in, p.out);
    return p;
}

#define ATOL 1e-5
#define RTOL 1e-4

static void check_dx(void **state)
{
    problem p = make_problem(1, 0, 0);
    grade_expect_close("dX", p.dx, p.rdx, p.B, p.in, ATOL, RTOL);
}

static void check_dw(void **state)
{
    problem p = make_problem(2, 0, 0);
    grade_expect_close("dW", p.dw, p.rdw, p.out, p.in, ATOL, RTOL);
}

static void check_db(void **state)
{
    problem p = make_problem(3, 0, 0);
    grade_expect_close("db", p.db, p.rdb, p.out, 0, ATOL, RTOL);
}

static void check_batch1(void **state)
{
    problem p = make_problem(4, 1, (nn_real)7.0); /* outputs hold garbage: must be overwritten */
    grade_expect_close("batch 1: dX", p.dx, p.rdx, p.B, p.in, ATOL, RTOL);
    grade_expect_close("batch 1: dW", p.dw, p.rdw, p.out, p.in, ATOL, RTOL);
    grade_expect_close("batch 1: db", p.db, p.rdb, p.out, 0, ATOL, RTOL);
}

/* L = 1/2 sum (x W^T + b - t)^2, computed in double */
static double loss(const double *x, const double *w, const double *b, const double *t, int B,
                   int in, int out)
{
    double L = 0;
    for (int n = 0; n < B; n++)
        for (int o = 0; o < out; o++) {
            double y = b[o];
            for (int i = 0; i < in; i++) y += x[n * in + i] * w[o * in + i];
            L += 0.5 * (y - t[n * out + o]) * (y - t[n * out + o]);
        }
    return L;
}

/* central differences of L with respect to every element of v (in double) */
static void numeric_grad(double *grad, double *v, size_t n, const double *x, const double *w,
                         const double *b, const double *t, int B, int in, int out)
{
    const double h = 1e-5;
    for (size_t i = 0; i < n; i++) {
        double keep = v[i];
        v[i] = keep + h;
        double lp = loss(x, w, b, t, B, in, out);
        v[i] = keep - h;
        double lm = loss(x, w, b, t, B, in, out);
        v[i] = keep;
        grad[i] = (lp - lm) / (2 * h);
    }
}

static void check_gradcheck(void **state)
{
    nn_rng rng;
    grade_rng(&rng, 5);
    int B = grade_size(&rng, 2, 6), in = grade_size(&rng, 2, 7), out = grade_size(&rng, 2, 5);
    size_t nx = (size_t)B * in, nw = (size_t)out * in, ny = (size_t)B * out;
    nn_real *x = grade_random(&rng, nx, -1, 1), *w = grade_random(&rng, nw, -1, 1);
    nn_real *b = grade_random(&rng, out, -1, 1), *t = grade_random(&rng, ny, -1, 1);
    double *xd = grade_doubles(nx), *wd = grade_doubles(nw), *bd = grade_doubles(out);
    double *td = grade_doubles(ny);
    grade_to_double(xd, x, nx), grade_to_double(wd, w, nw), grade_to_double(bd, b, out);
    grade_to_double(td, t, ny);
    /* dL/dy = y - t */
    nn_real *dy = grade_reals(ny);
    for (int n = 0; n < B; n++)
        for (int o = 0; o < out; o++) {
            double y = bd[o];
            for (int i = 0; i < in; i++) y += xd[n * in + i] * wd[o * in + i];
            dy[n * out + o] = (nn_real)(y - td[n * out + o]);
        }
    nn_real *dx = grade_reals(nx), *dw = grade_reals(nw), *db = grade_reals(out);
    linear_backward(dx, dw, db, dy, x, w, B, in, out);
    double *gx = grade_doubles(nx), *gw = grade_doubles(nw), *gb = grade_doubles(out);
    numeric_grad(gx, xd, nx, xd, wd, bd, td, B, in, out);
    numeric_grad(gw, wd, nw, xd, wd, bd, td, B, in, out);
    numeric_grad(gb, bd, out, xd, wd, bd, td, B, in, out);
    grade_expect_close("gradient check of 1/2 |xW^T+b-t|^2: dX", dx, gx, B, in, 1e-4, 1e-3);
    grade_expect_close("gradient check of 1/2 |xW^T+b-t|^2: dW", dw, gw, out, in, 1e-4, 1e-3);
    grade_expect_close("gradient check of 1/2 |xW^T+b-t|^2: db", db, gb, out, 0, 1e-4, 1e-3);
}

static const grade_check checks[] = {
    {"dX = dY W, odd shapes", 2, check_dx},
    {"dW = dY^T X, odd shapes", 3, check_dw},
    {"db = sum of dY over the batch", 2, check_db},
    {"batch size 1, outputs overwritten", 1, check_batch1},
    {"gradient check (double central differences) of linear + squared error", 2, check_gradcheck},
};

int main(int argc, char **argv) { return GRADE_MAIN(argc, argv, "02", "linear_backward", checks); }
