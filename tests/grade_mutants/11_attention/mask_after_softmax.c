/* mask_after_softmax.c -- a deliberately wrong attention forward: the softmax runs over every
 * position, and the future ones are zeroed afterwards, so the rows no longer sum to 1 and each
 * row still depends on the future through the softmax's denominator. Without the mask it is
 * right, and so is the backward (the grader hands it the right attention weights).
 * grade-expect: FAIL forward golden values: T = 3 worked by hand, causal
 * grade-expect: FAIL forward against the reference, causal mask
 * grade-expect: FAIL causal: changing the last position leaves earlier outputs unchanged
 * grade-expect: FAIL causal: row 0 attends only to itself */
#include "attention.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void attention_forward(nn_real *out, nn_real *att, const nn_real *q, const nn_real *k,
                       const nn_real *v, int T, int d_k, int d_v, int causal)
{
    const double scale = 1 / sqrt((double)d_k);
    double *s = malloc((size_t)T * sizeof *s); /* one row of scores */
    if (!s) abort();
    for (int t = 0; t < T; t++) {
        const int last = T - 1; /* wrong: the softmax sees every position */
        double m = -INFINITY;
        for (int j = 0; j <= last; j++) {
            double dot = 0;
            for (int a = 0; a < d_k; a++) dot += (double)q[t * d_k + a] * k[j * d_k + a];
            s[j] = dot * scale;
            if (s[j] > m) m = s[j];
        }
        /* softmax over all T positions */
        double sum = 0;
        for (int j = 0; j <= last; j++) sum += (s[j] = exp(s[j] - m));
        for (int j = 0; j <= last; j++)
            if (causal && j > t) s[j] = 0; /* wrong: the mask after the softmax */
        for (int j = 0; j < T; j++) att[t * T + j] = (nn_real)(s[j] / sum);
        for (int e = 0; e < d_v; e++) {
            double o = 0;
            for (int j = 0; j <= last; j++) o += s[j] / sum * v[j * d_v + e];
            out[t * d_v + e] = (nn_real)o;
        }
    }
    free(s);
}

void attention_backward(nn_real *dq, nn_real *dk, nn_real *dv, const nn_real *dout,
                        const nn_real *q, const nn_real *k, const nn_real *v,
                        const nn_real *att, int T, int d_k, int d_v)
{
    const double scale = 1 / sqrt((double)d_k);
    memset(dq, 0, (size_t)T * d_k * sizeof *dq);
    memset(dk, 0, (size_t)T * d_k * sizeof *dk);
    memset(dv, 0, (size_t)T * d_v * sizeof *dv);
    double *dp = malloc((size_t)T * sizeof *dp); /* one row of dL/dP */
    if (!dp) abort();
    for (int t = 0; t < T; t++) {
        const nn_real *p = att + (size_t)t * T;
        /* out[t] = sum_s P[t,s] v[s]: the gradient goes to P[t,s] and to v[s] */
        double rowdot = 0;
        for (int s = 0; s < T; s++) {
            double d = 0;
            for (int e = 0; e < d_v; e++) {
                d += (double)dout[t * d_v + e] * v[s * d_v + e];
                dv[s * d_v + e] += p[s] * dout[t * d_v + e];
            }
            dp[s] = d;
            rowdot += p[s] * d;
        }
        /* softmax backward, then S[t,s] = q[t] . k[s] * scale into both factors */
        for (int s = 0; s < T; s++) {
            const double ds = p[s] * (dp[s] - rowdot) * scale;
            if (ds == 0) continue; /* a masked entry (P = 0) */
            for (int a = 0; a < d_k; a++) {
                dq[t * d_k + a] += (nn_real)(ds * k[s * d_k + a]);
                dk[s * d_k + a] += (nn_real)(ds * q[t * d_k + a]);
            }
        }
    }
    free(dp);
}
