/* attention.c -- exercise 11: scaled dot-product attention with a causal mask, forward and
 * backward, as naive loops.
 *
 * Read README.md first. Write your code between TODO BEGIN and TODO END; keep the signatures.
 * Grade it with `make grade EX=11`. Row-major indexing:
 *   q[t,a] is q[t * d_k + a]    k[s,a] is k[s * d_k + a]    v[s,e] is v[s * d_v + e]
 *   out[t,e] is out[t * d_v + e]    att[t,s] is att[t * T + s] */
#include "attention.h"

void attention_forward(nn_real *out, nn_real *att, const nn_real *q, const nn_real *k,
                       const nn_real *v, int T, int d_k, int d_v, int causal)
{
    /* TODO BEGIN
     * For every query position t:
     *   1. the scores S[t,s] = (q[t] . k[s]) / sqrt(d_k) for the positions s it may see
     *      (s <= t when causal, every s otherwise), and their maximum m
     *   2. att[t,s] = exp(S[t,s] - m) / sum of those exps   (subtracting m avoids overflow)
     *      and att[t,s] = 0 for the masked positions s > t
     *   3. out[t,e] = sum_s att[t,s] * v[s,e] */

    /* TODO END */
}

void attention_backward(nn_real *dq, nn_real *dk, nn_real *dv, const nn_real *dout,
                        const nn_real *q, const nn_real *k, const nn_real *v,
                        const nn_real *att, int T, int d_k, int d_v)
{
    /* TODO BEGIN
     *   1. zero dq, dk and dv (they may hold anything when you are called)
     *   2. for every t:
     *        dP[t,s] = dout[t] . v[s]   and   dv[s,e] += att[t,s] * dout[t,e]   for every s
     *        rowdot  = sum_s att[t,s] * dP[t,s]
     *        dS[t,s] = att[t,s] * (dP[t,s] - rowdot)
     *        dq[t,a] += dS[t,s] * k[s,a] / sqrt(d_k)
     *        dk[s,a] += dS[t,s] * q[t,a] / sqrt(d_k)
     *      (masked entries have att = 0, so dS = 0 there: nothing to do for the mask) */

    /* TODO END */
}
