/* transposed_dk.c -- a deliberately wrong attention backward: dk = dS Q / sqrt(d_k) instead of
 * dS^T Q / sqrt(d_k) -- dS[t,s] sends q[t] to k[t] instead of k[s]. The forward, dq and dv are
 * right; with T = 1 dS is 0 and nothing shows.
 * grade-expect: FAIL dq and dk against the reference, causal mask
 * grade-expect: FAIL backward against the reference, no mask
 * grade-expect: FAIL gradient check (double central differences) of dq, dk, dv, causal mask */
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
        const int last = causal ? t : T - 1; /* the last position t may look at */
        double m = -INFINITY;
        for (int j = 0; j <= last; j++) {
            double dot = 0;
            for (int a = 0; a < d_k; a++) dot += (double)q[t * d_k + a] * k[j * d_k + a];
            s[j] = dot * scale;
            if (s[j] > m) m = s[j];
        }
        /* softmax over the visible positions; the masked ones are exp(-inf) = 0 */
        double sum = 0;
        for (int j = 0; j <= last; j++) sum += (s[j] = exp(s[j] - m));
        for (int j = 0; j < T; j++) att[t * T + j] = j <= last ? (nn_real)(s[j] / sum) : 0;
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
                dk[t * d_k + a] += (nn_real)(ds * q[s * d_k + a]); /* wrong: dS, not dS^T */
            }
        }
    }
    free(dp);
}
