/* grade_lstm_backward.c -- the grader of exercise 08 lstm_backward (12 points).
 * Self-contained: the grader runs its own LSTM forward in double (PyTorch's equations and gate
 * layout, as in lib/rnn.c), hands the student the gates it saved, and compares the student's
 * gradients with its own backward in double, or with central differences of its forward.
 * Shapes are drawn from each check's seed with I != H (a swapped W_ih / W_hh cannot pass by
 * symmetry) and, except in the gradient check, a batch of 2..4 rows (the weight gradients
 * must sum over it). */
#include "grade.h"
#include "lstm_backward.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define GARBAGE 7 /* what the outputs hold before the student's call */

enum { FROM_BOTH, FROM_C_ONLY, FROM_H_ONLY }; /* which of dh, dc is non-zero */

typedef struct {
    int B, I, H;
    nn_real *x, *h_prev, *c_prev, *w_ih, *w_hh, *b_ih, *b_hh, *gates, *dh, *dc; /* inputs */
    nn_real *dx, *dh_prev, *dc_prev, *dw_ih, *dw_hh, *db; /* the student's outputs */
    double *rdx, *rdh_prev, *rdc_prev, *rdw_ih, *rdw_hh, *rdb; /* the reference */
    char desc[96];
} problem;

static double sigmoid(double z) { return 1 / (1 + exp(-z)); }

/* the forward pass in double: z, the gates (i, f, g, o), c and h of every row.
 * gates (B,4H), c and h (B,H) may be NULL when not wanted. */
static void forward(int B, int I, int H, const double *x, const double *h_prev,
                    const double *c_prev, const double *w_ih, const double *w_hh,
                    const double *b_ih, const double *b_hh, double *gates, double *c, double *h)
{
    const int G = 4 * H;
    double z[4 * 64];
    for (int b = 0; b < B; b++) {
        for (int r = 0; r < G; r++) {
            double s = b_ih[r] + b_hh[r];
            for (int k = 0; k < I; k++) s += w_ih[r * I + k] * x[b * I + k];
            for (int k = 0; k < H; k++) s += w_hh[r * H + k] * h_prev[b * H + k];
            z[r] = s;
        }
        for (int j = 0; j < H; j++) {
            double i = sigmoid(z[j]), f = sigmoid(z[H + j]), g = tanh(z[2 * H + j]),
                   o = sigmoid(z[3 * H + j]);
            double cn = f * c_prev[b * H + j] + i * g;
            if (gates) {
                gates[b * G + j] = i, gates[b * G + H + j] = f;
                gates[b * G + 2 * H + j] = g, gates[b * G + 3 * H + j] = o;
            }
            if (c) c[b * H + j] = cn;
            if (h) h[b * H + j] = o * tanh(cn);
        }
    }
}

/* the backward pass in double, from the gates as the student gets them (nn_real) */
static void reference(problem *p)
{
    const int B = p->B, I = p->I, H = p->H, G = 4 * H;
    double dz[4 * 64];
    for (int b = 0; b < B; b++) {
        for (int j = 0; j < H; j++) {
            const nn_real *gt = p->gates + b * G;
            double i = gt[j], f = gt[H + j], g = gt[2 * H + j], o = gt[3 * H + j];
            double cp = p->c_prev[b * H + j], d_h = p->dh[b * H + j];
            double tc = tanh(f * cp + i * g);
            double dct = p->dc[b * H + j] + d_h * o * (1 - tc * tc);
            p->rdc_prev[b * H + j] = dct * f;
            dz[j] = dct * g * i * (1 - i);
            dz[H + j] = dct * cp * f * (1 - f);
            dz[2 * H + j] = dct * i * (1 - g * g);
            dz[3 * H + j] = d_h * tc * o * (1 - o);
        }
        for (int r = 0; r < G; r++) {
            p->rdb[r] += dz[r];
            for (int k = 0; k < I; k++) {
                p->rdw_ih[r * I + k] += dz[r] * p->x[b * I + k];
                p->rdx[b * I + k] += dz[r] * p->w_ih[r * I + k];
            }
            for (int k = 0; k < H; k++) {
                p->rdw_hh[r * H + k] += dz[r] * p->h_prev[b * H + k];
                p->rdh_prev[b * H + k] += dz[r] * p->w_hh[r * H + k];
            }
        }
    }
}

static double *to_double(const nn_real *x, size_t n)
{
    double *d = grade_doubles(n);
    grade_to_double(d, x, n);
    return d;
}

/* B == 0: drawn in 2..4. `from` zeroes dh or dc. Calls the student's lstm_backward. */
static problem make(int stream, int B, int from)
{
    nn_rng rng;
    grade_rng(&rng, stream);
    problem p;
    p.B = B ? B : grade_size(&rng, 2, 4);
    p.I = grade_size(&rng, 2, 6);
    p.H = grade_size(&rng, 2, 5);
    if (p.I == p.H) p.I++;
    const int G = 4 * p.H;
    const size_t nx = (size_t)p.B * p.I, nh = (size_t)p.B * p.H;
    snprintf(p.desc, sizeof p.desc, "B=%d I=%d H=%d", p.B, p.I, p.H);
    /* inputs and weights of moderate size: the gates stay away from saturation */
    p.x = grade_random(&rng, nx, -1, 1);
    p.h_prev = grade_random(&rng, nh, -0.9, 0.9);
    p.c_prev = grade_random(&rng, nh, -2, 2);
    p.w_ih = grade_random(&rng, (size_t)G * p.I, -0.6, 0.6);
    p.w_hh = grade_random(&rng, (size_t)G * p.H, -0.6, 0.6);
    p.b_ih = grade_random(&rng, (size_t)G, -0.5, 0.5);
    p.b_hh = grade_random(&rng, (size_t)G, -0.5, 0.5);
    p.dh = grade_random(&rng, nh, -1, 1);
    p.dc = grade_random(&rng, nh, -1, 1);
    if (from == FROM_C_ONLY) grade_fill(p.dh, nh, 0);
    if (from == FROM_H_ONLY) grade_fill(p.dc, nh, 0);
    double *gd = grade_doubles(nh * 4);
    forward(p.B, p.I, p.H, to_double(p.x, nx), to_double(p.h_prev, nh), to_double(p.c_prev, nh),
            to_double(p.w_ih, (size_t)G * p.I), to_double(p.w_hh, (size_t)G * p.H),
            to_double(p.b_ih, G), to_double(p.b_hh, G), gd, NULL, NULL);
    p.gates = grade_reals(nh * 4);
    for (size_t k = 0; k < nh * 4; k++) p.gates[k] = (nn_real)gd[k];

    p.dx = grade_reals(nx), p.dh_prev = grade_reals(nh), p.dc_prev = grade_reals(nh);
    p.dw_ih = grade_reals((size_t)G * p.I), p.dw_hh = grade_reals((size_t)G * p.H);
    p.db = grade_reals(G);
    grade_fill(p.dx, nx, GARBAGE), grade_fill(p.dh_prev, nh, GARBAGE);
    grade_fill(p.dc_prev, nh, GARBAGE), grade_fill(p.dw_ih, (size_t)G * p.I, GARBAGE);
    grade_fill(p.dw_hh, (size_t)G * p.H, GARBAGE), grade_fill(p.db, G, GARBAGE);
    p.rdx = grade_doubles(nx), p.rdh_prev = grade_doubles(nh), p.rdc_prev = grade_doubles(nh);
    p.rdw_ih = grade_doubles((size_t)G * p.I), p.rdw_hh = grade_doubles((size_t)G * p.H);
    p.rdb = grade_doubles(G);
    reference(&p);
    lstm_backward(p.dx, p.dh_prev, p.dc_prev, p.dw_ih, p.dw_hh, p.db, p.dh, p.dc, p.x, p.h_prev,
                  p.c_prev, p.w_ih, p.w_hh, p.gates, p.B, p.I, p.H);
    return p;
}

/* Like grade_expect_close, with the problem's shape in the message; for an array with 4H rows
 * (gate_rows) the worst row is also named by its gate and unit. cols = 0: a vector. */
static void expect_close(const problem *p, const char *what, const nn_real *got,
                         const double *ref, int rows, int cols, int gate_rows, double atol,
                         double rtol)
{
    size_t n = (size_t)rows * (cols ? cols : 1), worst = 0;
    double worst_excess = -INFINITY;
    for (size_t k = 0; k < n; k++) {
        double diff = fabs((double)got[k] - ref[k]);
        double excess = isnan(diff) ? INFINITY : diff - (atol + rtol * fabs(ref[k]));
        if (excess > worst_excess) worst_excess = excess, worst = k;
    }
    if (n == 0 || worst_excess <= 0) return;
    char index[96], shape[48];
    int row = cols ? (int)(worst / (size_t)cols) : (int)worst;
    if (cols) {
        snprintf(index, sizeof index, "[%d,%d]", row, (int)(worst % (size_t)cols));
        snprintf(shape, sizeof shape, "(%d,%d)", rows, cols);
    } else {
        snprintf(index, sizeof index, "[%d]", row);
        snprintf(shape, sizeof shape, "(%d)", rows);
    }
    if (gate_rows) {
        size_t len = strlen(index);
        snprintf(index + len, sizeof index - len, " (gate %c, unit %d)", "ifgo"[row / p->H],
                 row % p->H);
    }
    fail_msg("%s %s with %s: worst element %s = %.6g, expected %.6g, relative error %.1e "
             "(tolerance %.0e + %.0e*|expected|)%s",
             what, shape, p->desc, index, (double)got[worst], ref[worst],
             grade_rel_error((double)got[worst], ref[worst]), atol, rtol,
             got[worst] == GARBAGE ? "; it still holds the value it had before your call "
                                     "(not written?)"
                                   : "");
}

#define ATOL 2e-5
#define RTOL 1e-4

static void expect_all(const problem *p, const char *prefix)
{
    char what[96];
    const int G = 4 * p->H;
    snprintf(what, sizeof what, "%sdc_prev", prefix);
    expect_close(p, what, p->dc_prev, p->rdc_prev, p->B, p->H, 0, ATOL, RTOL);
    snprintf(what, sizeof what, "%sdb", prefix);
    expect_close(p, what, p->db, p->rdb, G, 0, 1, ATOL, RTOL);
    snprintf(what, sizeof what, "%sdw_ih", prefix);
    expect_close(p, what, p->dw_ih, p->rdw_ih, G, p->I, 1, ATOL, RTOL);
    snprintf(what, sizeof what, "%sdw_hh", prefix);
    expect_close(p, what, p->dw_hh, p->rdw_hh, G, p->H, 1, ATOL, RTOL);
    snprintf(what, sizeof what, "%sdx", prefix);
    expect_close(p, what, p->dx, p->rdx, p->B, p->I, 0, ATOL, RTOL);
    snprintf(what, sizeof what, "%sdh_prev", prefix);
    expect_close(p, what, p->dh_prev, p->rdh_prev, p->B, p->H, 0, ATOL, RTOL);
}

static void check_dc_prev(void **state)
{
    problem p = make(1, 0, FROM_BOTH);
    expect_close(&p, "dc_prev", p.dc_prev, p.rdc_prev, p.B, p.H, 0, ATOL, RTOL);
}

static void check_from_c_only(void **state)
{
    problem p = make(2, 0, FROM_C_ONLY); /* dh = 0: dc_prev = dc * f, no output gate */
    expect_all(&p, "dh = 0: ");
}

static void check_from_h_only(void **state)
{
    problem p = make(3, 0, FROM_H_ONLY); /* dc = 0: every gradient goes through h = o tanh(c) */
    expect_all(&p, "dc = 0: ");
}

static void check_dx_dh_prev(void **state)
{
    problem p = make(4, 0, FROM_BOTH);
    expect_close(&p, "dx", p.dx, p.rdx, p.B, p.I, 0, ATOL, RTOL);
    expect_close(&p, "dh_prev", p.dh_prev, p.rdh_prev, p.B, p.H, 0, ATOL, RTOL);
}

static void check_dw(void **state)
{
    problem p = make(5, 0, FROM_BOTH);
    expect_close(&p, "dw_ih", p.dw_ih, p.rdw_ih, 4 * p.H, p.I, 1, ATOL, RTOL);
    expect_close(&p, "dw_hh", p.dw_hh, p.rdw_hh, 4 * p.H, p.H, 1, ATOL, RTOL);
}

static void check_db(void **state)
{
    problem p = make(6, 0, FROM_BOTH);
    expect_close(&p, "db", p.db, p.rdb, 4 * p.H, 0, 1, ATOL, RTOL);
}

/* L = sum dh * h + sum dc * c, everything in double, the grader's own forward */
typedef struct {
    const problem *p;
    double *x, *h_prev, *c_prev, *w_ih, *w_hh, *b_ih, *b_hh, *c, *h;
} point;

static double loss(const point *q)
{
    const problem *p = q->p;
    forward(p->B, p->I, p->H, q->x, q->h_prev, q->c_prev, q->w_ih, q->w_hh, q->b_ih, q->b_hh,
            NULL, q->c, q->h);
    double L = 0;
    for (int k = 0; k < p->B * p->H; k++) L += p->dh[k] * q->h[k] + p->dc[k] * q->c[k];
    return L;
}

/* central differences of loss() with respect to each of the n elements of v */
static double *numeric(double *v, size_t n, const point *q)
{
    const double h = 1e-5;
    double *num = grade_doubles(n);
    for (size_t k = 0; k < n; k++) {
        double keep = v[k];
        v[k] = keep + h;
        double lp = loss(q);
        v[k] = keep - h;
        double lm = loss(q);
        v[k] = keep;
        num[k] = (lp - lm) / (2 * h);
    }
    return num;
}

static void check_gradcheck(void **state)
{
    problem p = make(7, 1, FROM_BOTH); /* batch size 1 */
    const int G = 4 * p.H;
    point q = {&p,
               to_double(p.x, p.I),
               to_double(p.h_prev, p.H),
               to_double(p.c_prev, p.H),
               to_double(p.w_ih, (size_t)G * p.I),
               to_double(p.w_hh, (size_t)G * p.H),
               to_double(p.b_ih, G),
               to_double(p.b_hh, G),
               grade_doubles(p.H),
               grade_doubles(p.H)};
    const char *pre = "gradient check (central differences of sum dh * h + dc * c): ";
    char what[160];
    double *num_c = numeric(q.c_prev, p.H, &q);
    snprintf(what, sizeof what, "%sdc_prev", pre);
    expect_close(&p, what, p.dc_prev, num_c, 1, p.H, 0, 1e-4, 1e-3);
    double *num_x = numeric(q.x, p.I, &q);
    snprintf(what, sizeof what, "%sdx", pre);
    expect_close(&p, what, p.dx, num_x, 1, p.I, 0, 1e-4, 1e-3);
    double *num_h = numeric(q.h_prev, p.H, &q);
    snprintf(what, sizeof what, "%sdh_prev", pre);
    expect_close(&p, what, p.dh_prev, num_h, 1, p.H, 0, 1e-4, 1e-3);
    double *num_wih = numeric(q.w_ih, (size_t)G * p.I, &q);
    snprintf(what, sizeof what, "%sdw_ih", pre);
    expect_close(&p, what, p.dw_ih, num_wih, G, p.I, 1, 1e-4, 1e-3);
    double *num_whh = numeric(q.w_hh, (size_t)G * p.H, &q);
    snprintf(what, sizeof what, "%sdw_hh", pre);
    expect_close(&p, what, p.dw_hh, num_whh, G, p.H, 1, 1e-4, 1e-3);
    double *num_bih = numeric(q.b_ih, G, &q), *num_bhh = numeric(q.b_hh, G, &q);
    snprintf(what, sizeof what, "%sdb (as the gradient of b_ih)", pre);
    expect_close(&p, what, p.db, num_bih, G, 0, 1, 1e-4, 1e-3);
    snprintf(what, sizeof what, "%sdb (as the gradient of b_hh)", pre);
    expect_close(&p, what, p.db, num_bhh, G, 0, 1, 1e-4, 1e-3);
}

static const grade_check checks[] = {
    {"dc_prev, the cell path through the forget gate", 2, check_dc_prev},
    {"dh = 0 (gradient through c only): every output", 1, check_from_c_only},
    {"dc = 0 (gradient through h only): the output gate and tanh'(c)", 1, check_from_h_only},
    {"dx and dh_prev against the reference", 2, check_dx_dh_prev},
    {"dw_ih and dw_hh, summed over the batch", 2, check_dw},
    {"db, summed over the batch", 1, check_db},
    {"gradient check (double central differences) of every gradient, batch size 1", 3,
     check_gradcheck},
};

int main(int argc, char **argv)
{
    return GRADE_MAIN(argc, argv, "08", "lstm_backward", checks);
}
