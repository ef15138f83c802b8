/* grade_metrics.c -- the grader of exercise 12 metrics (14 points).
 * The random checks draw their sizes, class frequencies, predictions and scores from their
 * seed (public or hidden set) and compare the student's numbers with the library's
 * nn_metrics_class_prf, nn_metrics_macro and nn_metrics_auc (lib/metrics.c). The golden checks
 * use values worked out by hand in the comment above them; the AUC messages also count the
 * (positive, negative) pairs with the grader's own loops, so a failure says how many pairs
 * were won, lost and tied. Precision and recall always differ in the random problems (classes
 * are drawn with unequal frequencies, and predicted with other ones), so swapping them cannot
 * pass by symmetry; micro and macro F1 differ too. */
#include "grade.h"
#include "metrics.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define GARBAGE 7.0 /* what precision, recall and F1 hold before the student's call */

/* Counts are exact; every answer is a ratio of integers, computed in double. */
#define ATOL 1e-9
#define RTOL 1e-6

static int close_enough(double got, double ref) /* NaN never is */
{
    return fabs(got - ref) <= ATOL + RTOL * fabs(ref);
}

/* ---- classification ------------------------------------------------------------------- */

#define MAX_CLASSES 8

typedef struct {
    int n, classes;
    int *labels, *predicted;
    int *cm; /* the reference confusion matrix (classes, classes): rows truth, columns prediction */
    char desc[160];
} cls_problem;

/* the library's confusion matrix of the problem, and a description for messages */
static void finish_cls(cls_problem *p)
{
    p->cm = nn_calloc((size_t)p->classes * p->classes, sizeof *p->cm);
    nn_metrics_confusion(p->cm, p->labels, p->predicted, p->n, p->classes);
    if (!p->desc[0]) snprintf(p->desc, sizeof p->desc, "n=%d, %d classes", p->n, p->classes);
}

static int draw_weighted(nn_rng *rng, const double *w, int k)
{
    double total = 0;
    for (int c = 0; c < k; c++) total += w[c];
    double u = nn_rng_uniform(rng) * total;
    for (int c = 0; c < k; c++) {
        if (u < w[c]) return c;
        u -= w[c];
    }
    return k - 1;
}

/* A random problem: 3..6 classes with unequal frequencies (weights 1..9), predictions right
 * with probability 0.4..0.8 and otherwise drawn from other unequal weights. Every class is
 * present at least once and predicted at least once, so no 0/0 occurs here. */
static cls_problem make_cls(nn_rng *rng, int nmin, int nmax)
{
    cls_problem p;
    memset(&p, 0, sizeof p);
    p.classes = grade_size(rng, 3, 6);
    p.n = grade_size(rng, nmin, nmax); /* nmin >= 2 * 6 */
    double wl[MAX_CLASSES], wp[MAX_CLASSES];
    for (int c = 0; c < p.classes; c++) {
        wl[c] = 1 + nn_rng_int(rng, 9);
        wp[c] = 1 + nn_rng_int(rng, 9);
    }
    double right = 0.4 + 0.4 * nn_rng_uniform(rng);
    p.labels = nn_calloc((size_t)p.n, sizeof *p.labels);
    p.predicted = nn_calloc((size_t)p.n, sizeof *p.predicted);
    for (int i = 0; i < p.n; i++) {
        p.labels[i] = draw_weighted(rng, wl, p.classes);
        p.predicted[i] = nn_rng_uniform(rng) < right ? p.labels[i] : draw_weighted(rng, wp, p.classes);
    }
    for (int c = 0; c < p.classes; c++) {
        p.labels[c] = c;
        p.predicted[p.classes + c] = c;
    }
    return p;
}

/* make_cls, then class k is never predicted, class j (!= k) never present, and one more
 * class (number `classes`, the last) is neither present nor predicted */
static cls_problem make_cls_edge(nn_rng *rng, int *k, int *j)
{
    cls_problem p = make_cls(rng, 20, 200);
    int C = p.classes;
    *k = nn_rng_int(rng, C);
    *j = (*k + 1 + nn_rng_int(rng, C - 1)) % C;
    for (int i = 0; i < p.n; i++) {
        if (p.predicted[i] == *k) p.predicted[i] = (*k + 1) % C;
        if (p.labels[i] == *j) p.labels[i] = (*j + 1) % C;
    }
    p.classes = C + 1;
    snprintf(p.desc, sizeof p.desc,
             "n=%d, %d classes: class %d never predicted, class %d never present, class %d "
             "neither",
             p.n, p.classes, *k, *j, C);
    finish_cls(&p);
    return p;
}

/* the three counts of class c, counted by the grader */
static void count(const cls_problem *p, int c, long *tp, long *fp, long *fn)
{
    *tp = *fp = *fn = 0;
    for (int i = 0; i < p->n; i++) {
        *tp += p->labels[i] == c && p->predicted[i] == c;
        *fp += p->labels[i] != c && p->predicted[i] == c;
        *fn += p->labels[i] == c && p->predicted[i] != c;
    }
}

/* The student's precision, recall and F1 of class c against ref[3]; the message names the
 * value, the class, its counts and a likely cause. */
static void expect_prf(const cls_problem *p, int c, const double ref[3])
{
    double got[3] = {GARBAGE, GARBAGE, GARBAGE};
    metrics_class_prf(&got[0], &got[1], &got[2], p->labels, p->predicted, p->n, c);
    static const char *name[3] = {"precision", "recall", "F1"};
    static const char *formula[3] = {"TP/(TP+FP)", "TP/(TP+FN)", "2TP/(2TP+FP+FN)"};
    long tp, fp, fn;
    count(p, c, &tp, &fp, &fn);
    for (int v = 0; v < 3; v++) {
        if (close_enough(got[v], ref[v])) continue;
        const char *hint = "";
        if (got[v] == GARBAGE)
            hint = "; it still holds the value it had before your call (not written?)";
        else if (isnan(got[v]))
            hint = "; NaN: a 0/0 must count as 0";
        else if (v == 0 && close_enough(got[v], ref[1]))
            hint = "; that is the recall TP/(TP+FN): precision and recall swapped?";
        else if (v == 1 && close_enough(got[v], ref[0]))
            hint = "; that is the precision TP/(TP+FP): precision and recall swapped?";
        fail_msg("class %d of %s (TP=%ld, FP=%ld, FN=%ld): %s = %.9g, expected %s = %.9g%s", c,
                 p->desc, tp, fp, fn, name[v], got[v], formula[v], ref[v], hint);
    }
}

/* against the library's nn_metrics_class_prf */
static void expect_prf_library(const cls_problem *p, int c)
{
    nn_metrics_prf r = nn_metrics_class_prf(p->cm, p->classes, c);
    const double ref[3] = {r.precision, r.recall, r.f1};
    expect_prf(p, c, ref);
}

/* The student's macro F1 against ref; names the micro F1 and the F1 of the macro precision
 * and recall when the answer is one of those. */
static void expect_macro(const cls_problem *p, double ref)
{
    double got = metrics_macro_f1(p->labels, p->predicted, p->n, p->classes);
    if (close_enough(got, ref)) return;
    nn_metrics_prf micro = nn_metrics_micro(p->cm, p->classes);
    nn_metrics_prf macro = nn_metrics_macro(p->cm, p->classes);
    double f1_of_means = macro.precision + macro.recall > 0
                             ? 2 * macro.precision * macro.recall / (macro.precision + macro.recall)
                             : 0;
    const char *hint = "";
    if (isnan(got))
        hint = "; NaN: a class with a 0/0 has F1 = 0";
    else if (close_enough(got, micro.f1))
        hint = "; that is the micro F1 (= accuracy, TP, FP, FN summed over the classes first)";
    else if (close_enough(got, f1_of_means))
        hint = "; that is the F1 of the macro precision and the macro recall, not the mean of "
               "the per-class F1s";
    fail_msg("macro F1 of %s = %.9g, expected %.9g (the mean of the %d per-class F1s)%s", p->desc,
             got, ref, p->classes, hint);
}

/* The hand-worked example (README):
 *   labels    0 0 0 1 1 1 1 2 2 2
 *   predicted 0 1 1 1 1 0 2 2 1 2
 * Confusion matrix (rows truth):  [1 2 0]   column sums 2, 5, 3
 *                                 [1 2 1]
 *                                 [0 1 2]
 *   class 0: TP 1, FP 1, FN 2 -> P 1/2, R 1/3, F1 2/(2+1+2) = 2/5
 *   class 1: TP 2, FP 3, FN 2 -> P 2/5, R 1/2, F1 4/(4+3+2) = 4/9
 *   class 2: TP 2, FP 1, FN 1 -> P 2/3, R 2/3, F1 4/6 = 2/3
 *   macro F1 = (2/5 + 4/9 + 2/3) / 3 = (18 + 20 + 30) / 135 = 68/135 = 0.5037...
 *   micro F1 = accuracy = 5/10; F1 of macro P (47/90) and macro R (1/2) = 47/92 */
static int hand_labels[10] = {0, 0, 0, 1, 1, 1, 1, 2, 2, 2};
static int hand_predicted[10] = {0, 1, 1, 1, 1, 0, 2, 2, 1, 2};

static cls_problem hand_problem(void)
{
    cls_problem p;
    memset(&p, 0, sizeof p);
    p.n = 10, p.classes = 3, p.labels = hand_labels, p.predicted = hand_predicted;
    snprintf(p.desc, sizeof p.desc, "the README's hand-worked example (n=10, 3 classes)");
    finish_cls(&p);
    return p;
}

/* The hand-worked edge case: 5 classes,
 *   labels    0 1 2 0 1 2
 *   predicted 0 1 0 3 1 1
 *   class 0: TP 1, FP 1, FN 1 -> F1 1/2        class 1: TP 2, FP 1, FN 0 -> F1 4/5
 *   class 2 (present, never predicted): TP 0, FP 0, FN 2 -> P 0/0 = 0, R 0, F1 0
 *   class 3 (predicted, never present): TP 0, FP 1, FN 0 -> P 0, R 0/0 = 0, F1 0
 *   class 4 (neither):                  TP 0, FP 0, FN 0 -> P, R, F1 all 0/0 = 0
 *   macro F1 = (1/2 + 4/5 + 0 + 0 + 0) / 5 = 13/50; micro F1 = accuracy = 3/6 */
static int edge_labels[6] = {0, 1, 2, 0, 1, 2};
static int edge_predicted[6] = {0, 1, 0, 3, 1, 1};

static cls_problem edge_problem(void)
{
    cls_problem p;
    memset(&p, 0, sizeof p);
    p.n = 6, p.classes = 5, p.labels = edge_labels, p.predicted = edge_predicted;
    snprintf(p.desc, sizeof p.desc,
             "the hand-worked edge case (labels 0 1 2 0 1 2, predicted 0 1 0 3 1 1, 5 classes)");
    finish_cls(&p);
    return p;
}

static void check_prf_hand(void **state)
{
    cls_problem p = hand_problem();
    expect_prf(&p, 0, (const double[3]){1.0 / 2, 1.0 / 3, 2.0 / 5});
    expect_prf(&p, 1, (const double[3]){2.0 / 5, 1.0 / 2, 4.0 / 9});
    expect_prf(&p, 2, (const double[3]){2.0 / 3, 2.0 / 3, 2.0 / 3});
}

static void check_prf_random(void **state)
{
    for (int t = 0; t < 3; t++) {
        nn_rng rng;
        grade_rng(&rng, 2 + 100 * t);
        cls_problem p = make_cls(&rng, t == 0 ? 12 : 40, t == 0 ? 30 : 300);
        finish_cls(&p);
        for (int c = 0; c < p.classes; c++) expect_prf_library(&p, c);
    }
}

static void check_prf_zero_division(void **state)
{
    cls_problem e = edge_problem();
    expect_prf(&e, 2, (const double[3]){0, 0, 0});
    expect_prf(&e, 3, (const double[3]){0, 0, 0});
    expect_prf(&e, 4, (const double[3]){0, 0, 0});
    nn_rng rng;
    grade_rng(&rng, 3);
    int k, j;
    cls_problem p = make_cls_edge(&rng, &k, &j);
    expect_prf_library(&p, k);
    expect_prf_library(&p, j);
    expect_prf_library(&p, p.classes - 1);
}

static void check_macro_hand(void **state)
{
    cls_problem p = hand_problem();
    expect_macro(&p, 68.0 / 135);
}

static void check_macro_random(void **state)
{
    for (int t = 0; t < 3; t++) {
        nn_rng rng;
        grade_rng(&rng, 5 + 100 * t);
        cls_problem p = make_cls(&rng, t == 0 ? 12 : 40, t == 0 ? 30 : 300);
        finish_cls(&p);
        expect_macro(&p, nn_metrics_macro(p.cm, p.classes).f1);
    }
}

static void check_macro_zero_division(void **state)
{
    cls_problem e = edge_problem();
    expect_macro(&e, 13.0 / 50);
    nn_rng rng;
    grade_rng(&rng, 6);
    int k, j;
    cls_problem p = make_cls_edge(&rng, &k, &j);
    expect_macro(&p, nn_metrics_macro(p.cm, p.classes).f1);
}

/* ---- ranking: ROC AUC ------------------------------------------------------------------ */

typedef struct {
    int n;
    nn_real *scores;
    int *labels;
    char desc[192];
} rank_problem;

static rank_problem new_rank(int n)
{
    rank_problem p;
    memset(&p, 0, sizeof p);
    p.n = n;
    p.scores = grade_reals((size_t)n);
    p.labels = nn_calloc((size_t)n, sizeof *p.labels);
    return p;
}

/* labels with a positive rate drawn in 0.25..0.75, both classes present, in random order */
static void draw_binary(nn_rng *rng, int *labels, int n)
{
    double q = 0.25 + 0.5 * nn_rng_uniform(rng);
    for (int i = 0; i < n; i++) labels[i] = nn_rng_uniform(rng) < q;
    labels[0] = 1, labels[1] = 0;
    nn_rng_shuffle(rng, labels, n);
}

/* the (positive, negative) pairs, counted by the grader: won, tied, lost; P and N */
typedef struct {
    long P, N, won, tied, lost;
    int distinct;
} pairs;

static pairs count_pairs(const rank_problem *p)
{
    pairs r = {0, 0, 0, 0, 0, 0};
    for (int i = 0; i < p->n; i++) {
        r.P += p->labels[i] == 1;
        int seen = 0;
        for (int j = 0; j < i && !seen; j++) seen = p->scores[j] == p->scores[i];
        r.distinct += !seen;
        if (p->labels[i] != 1) continue;
        for (int j = 0; j < p->n; j++) {
            if (p->labels[j] != 0) continue;
            if (p->scores[i] > p->scores[j]) r.won++;
            else if (p->scores[i] == p->scores[j]) r.tied++;
            else r.lost++;
        }
    }
    r.N = p->n - r.P;
    return r;
}

/* The student's AUC against ref; the message gives the pair counts and names the answer of
 * a tie counted as 1 or as 0. `what` says which case of the check this is. */
static void expect_auc(const rank_problem *p, const char *what, double ref)
{
    double got = metrics_roc_auc(p->scores, p->labels, p->n);
    if (close_enough(got, ref)) return;
    pairs c = count_pairs(p);
    double pn = (double)c.P * c.N;
    const char *hint = "";
    if (isnan(got) || isinf(got))
        hint = "; not a number: divided by 0?";
    else if (c.tied && close_enough(got, (c.won + c.tied) / pn))
        hint = "; that is what counting a tie as 1 gives";
    else if (c.tied && close_enough(got, c.won / pn))
        hint = "; that is what counting a tie as 0 gives";
    else if (ref > 0 && ref < 1 && ref != 0.5 && close_enough(got, 1 - ref))
        hint = "; that is 1 - AUC: the ranking upside down?";
    fail_msg("%s: AUC of n=%d scores (P=%ld, N=%ld, %d distinct value%s) = %.9g, expected "
             "%.9g: of the P*N = %ld (positive, negative) pairs the positive wins %ld, ties %ld "
             "and loses %ld, (won + tied/2) / (P N) = %.9g%s",
             what, p->n, c.P, c.N, c.distinct, c.distinct == 1 ? "" : "s", got, ref, (long)pn,
             c.won, c.tied, c.lost, (c.won + 0.5 * c.tied) / pn, hint);
}

/* Ties, worked by hand (the library's test_metrics.c has the same example):
 * scores 0.9 0.8 0.8 0.7 0.7 0.3, labels 1 1 0 1 0 0 (P = N = 3). Over the 9 pairs:
 *   positive 0.9 beats 0.8, 0.7, 0.3                 -> 3
 *   positive 0.8 ties 0.8, beats 0.7 and 0.3         -> 2.5
 *   positive 0.7 loses to 0.8, ties 0.7, beats 0.3   -> 1.5
 *   AUC = 7/9 (a tie counted as 1 would give 8/9, as 0 would give 6/9).
 * The same examples in another order must give the same. */
static void check_auc_hand(void **state)
{
    rank_problem p = new_rank(6);
    const nn_real s[6] = {0.9f, 0.8f, 0.8f, 0.7f, 0.7f, 0.3f};
    const int y[6] = {1, 1, 0, 1, 0, 0};
    memcpy(p.scores, s, sizeof s), memcpy(p.labels, y, sizeof y);
    expect_auc(&p, "scores 0.9 0.8 0.8 0.7 0.7 0.3, labels 1 1 0 1 0 0", 7.0 / 9);
    const nn_real s2[6] = {0.7f, 0.8f, 0.3f, 0.9f, 0.8f, 0.7f};
    const int y2[6] = {0, 0, 0, 1, 1, 1};
    memcpy(p.scores, s2, sizeof s2), memcpy(p.labels, y2, sizeof y2);
    expect_auc(&p, "the same, reordered: scores 0.7 0.8 0.3 0.9 0.8 0.7, labels 0 0 0 1 1 1",
               7.0 / 9);
}

/* distinct scores: raw = label + normal noise, replaced by its rank, spaced by 0.25 */
static void check_auc_distinct(void **state)
{
    nn_rng rng;
    grade_rng(&rng, 8);
    rank_problem p = new_rank(grade_size(&rng, 30, 300));
    draw_binary(&rng, p.labels, p.n);
    double *raw = grade_doubles((size_t)p.n);
    for (int i = 0; i < p.n; i++) raw[i] = p.labels[i] + nn_rng_normal(&rng);
    for (int i = 0; i < p.n; i++) {
        int rank = 0;
        for (int j = 0; j < p.n; j++) rank += raw[j] < raw[i] || (raw[j] == raw[i] && j < i);
        p.scores[i] = (nn_real)(0.25 * (rank - p.n / 2));
    }
    expect_auc(&p, "distinct scores", nn_metrics_auc(p.scores, p.labels, p.n));
}

/* scores on a coarse grid 0.1 k - 0.3: positives drawn a little higher, many ties between a
 * positive and a negative */
static void fill_tied(nn_rng *rng, rank_problem *p, int levels)
{
    draw_binary(rng, p->labels, p->n);
    for (int i = 0; i < p->n; i++) {
        int k = nn_rng_int(rng, levels) + (p->labels[i] ? nn_rng_int(rng, 3) : 0);
        p->scores[i] = (nn_real)(0.1 * k - 0.3);
    }
}

static void check_auc_ties(void **state)
{
    nn_rng rng;
    grade_rng(&rng, 9);
    rank_problem small = new_rank(grade_size(&rng, 8, 20));
    fill_tied(&rng, &small, 3);
    expect_auc(&small, "small, tied scores", nn_metrics_auc(small.scores, small.labels, small.n));
    rank_problem big = new_rank(grade_size(&rng, 100, 300));
    fill_tied(&rng, &big, 6);
    expect_auc(&big, "tied scores", nn_metrics_auc(big.scores, big.labels, big.n));
}

static void check_auc_all_tied(void **state)
{
    nn_rng rng;
    grade_rng(&rng, 10);
    rank_problem p = new_rank(grade_size(&rng, 5, 60));
    draw_binary(&rng, p.labels, p.n);
    nn_real s = (nn_real)(2 * nn_rng_uniform(&rng) - 1);
    for (int i = 0; i < p.n; i++) p.scores[i] = s;
    char what[96];
    snprintf(what, sizeof what, "every score = %.6g (one diagonal step)", (double)s);
    expect_auc(&p, what, 0.5);
}

/* positives in 0.6..0.9, negatives in 0..0.4, ties inside each class only: AUC 1; negated,
 * every negative above every positive: AUC 0 */
static void check_auc_perfect(void **state)
{
    nn_rng rng;
    grade_rng(&rng, 11);
    rank_problem p = new_rank(grade_size(&rng, 10, 100));
    draw_binary(&rng, p.labels, p.n);
    for (int i = 0; i < p.n; i++)
        p.scores[i] = (nn_real)(p.labels[i] ? 0.6 + 0.1 * nn_rng_int(&rng, 4) : 0.1 * nn_rng_int(&rng, 5));
    expect_auc(&p, "perfect ranking (every positive above every negative)", 1.0);
    for (int i = 0; i < p.n; i++) p.scores[i] = -p.scores[i];
    expect_auc(&p, "inverted ranking (every negative above every positive)", 0.0);
}

static void check_auc_two(void **state)
{
    nn_rng rng;
    grade_rng(&rng, 12);
    nn_real lo = (nn_real)(0.1 + 0.4 * nn_rng_uniform(&rng)), hi = lo + (nn_real)0.25;
    rank_problem p = new_rank(2);
    char what[128];
    struct {
        int y0, y1;
        nn_real s0, s1;
        double auc;
    } cases[4] = {{1, 0, hi, lo, 1}, {1, 0, lo, hi, 0}, {0, 1, lo, hi, 1}, {0, 1, lo, lo, 0.5}};
    for (int k = 0; k < 4; k++) {
        p.labels[0] = cases[k].y0, p.labels[1] = cases[k].y1;
        p.scores[0] = cases[k].s0, p.scores[1] = cases[k].s1;
        snprintf(what, sizeof what, "n = 2, labels %d %d, scores %.6g %.6g", cases[k].y0,
                 cases[k].y1, (double)cases[k].s0, (double)cases[k].s1);
        expect_auc(&p, what, cases[k].auc);
    }
}

static const grade_check checks[] = {
    {"precision, recall, F1: the hand-worked example", 1, check_prf_hand},
    {"precision, recall, F1 of every class against the library, random predictions", 2,
     check_prf_random},
    {"0/0 counts as 0: a class never predicted, one never present, one neither", 1,
     check_prf_zero_division},
    {"macro F1: the hand-worked example", 1, check_macro_hand},
    {"macro F1 against the library, random imbalanced classes", 1, check_macro_random},
    {"macro F1 with a class never predicted, one never present, one neither", 1,
     check_macro_zero_division},
    {"AUC: the hand-worked example with ties (7/9)", 1, check_auc_hand},
    {"AUC against the library, distinct scores", 1, check_auc_distinct},
    {"AUC against the library, many tied scores", 2, check_auc_ties},
    {"AUC: every score tied gives 1/2", 1, check_auc_all_tied},
    {"AUC: perfect ranking 1, inverted ranking 0", 1, check_auc_perfect},
    {"AUC: n = 2, in either order and tied", 1, check_auc_two},
};

int main(int argc, char **argv)
{
    return GRADE_MAIN(argc, argv, "12", "metrics", checks);
}
