/* float_only.c -- a correct attention written another way, every value in nn_real (float): the
 * whole score matrix first, with -INFINITY in the masked entries, a row-wise softmax over all
 * T entries (exp(-inf) = 0 does the masking), then matrix products (P V, dout V^T, dS K,
 * dS^T Q) as separate loops. It must score full marks, which shows the tolerances are not too
 * tight and the grader does not insist on one loop order. */
#include "attention.h"

#include <math.h>
#include <stdlib.h>

void attention_forward(nn_real *out, nn_real *att, const nn_real *q, const nn_real *k,
                       const nn_real *v, int T, int d_k, int d_v, int causal)
{
    const nn_real scale = 1 / sqrtf((nn_real)d_k);
    for (int t = 0; t < T; t++)
        for (int s = 0; s < T; s++) {
            nn_real dot = 0;
            for (int a = 0; a < d_k; a++) dot += q[t * d_k + a] * k[s * d_k + a];
            att[t * T + s] = causal && s > t ? -INFINITY : dot * scale;
        }
    for (int t = 0; t < T; t++) {
        nn_real *row = att + t * T, m = row[0], sum = 0;
        for (int s = 1; s < T; s++) m = fmaxf(m, row[s]);
        for (int s = 0; s < T; s++) sum += row[s] = expf(row[s] - m);
        for (int s = 0; s < T; s++) row[s] /= sum;
    }
    for (int t = 0; t < T; t++)
        for (int e = 0; e < d_v; e++) {
            nn_real o = 0;
            for (int s = 0; s < T; s++) o += att[t * T + s] * v[s * d_v + e];
            out[t * d_v + e] = o;
        }
}

void attention_backward(nn_real *dq, nn_real *dk, nn_real *dv, const nn_real *dout,
                        const nn_real *q, const nn_real *k, const nn_real *v,
                        const nn_real *att, int T, int d_k, int d_v)
{
    const nn_real scale = 1 / sqrtf((nn_real)d_k);
    nn_real *ds = malloc((size_t)T * T * sizeof *ds);
    if (!ds) abort();
    for (int s = 0; s < T; s++) /* dv = P^T dout */
        for (int e = 0; e < d_v; e++) {
            nn_real acc = 0;
            for (int t = 0; t < T; t++) acc += att[t * T + s] * dout[t * d_v + e];
            dv[s * d_v + e] = acc;
        }
    for (int t = 0; t < T; t++) { /* dP = dout V^T, then dS row by row */
        nn_real rowdot = 0;
        for (int s = 0; s < T; s++) {
            nn_real d = 0;
            for (int e = 0; e < d_v; e++) d += dout[t * d_v + e] * v[s * d_v + e];
            ds[t * T + s] = d;
            rowdot += att[t * T + s] * d;
        }
        for (int s = 0; s < T; s++)
            ds[t * T + s] = att[t * T + s] * (ds[t * T + s] - rowdot) * scale;
    }
    for (int t = 0; t < T; t++) /* dq = dS K */
        for (int a = 0; a < d_k; a++) {
            nn_real acc = 0;
            for (int s = 0; s < T; s++) acc += ds[t * T + s] * k[s * d_k + a];
            dq[t * d_k + a] = acc;
        }
    for (int s = 0; s < T; s++) /* dk = dS^T Q */
        for (int a = 0; a < d_k; a++) {
            nn_real acc = 0;
            for (int t = 0; t < T; t++) acc += ds[t * T + s] * q[t * d_k + a];
            dk[s * d_k + a] = acc;
        }
    free(ds);
}
