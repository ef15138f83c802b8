/* attention.h -- exercise 11: the fixed signatures (do not change them). */
#ifndef ATTENTION_H
#define ATTENTION_H
#include "nn.h"

/* Scaled dot-product attention, one head, one sequence of T positions:
 *   S = Q K^T / sqrt(d_k)                               (T,T) scores
 *   causal: S[t,s] = -infinity for s > t                 (position t sees positions 0..t)
 *   P[t,:] = softmax(S[t,:])                             (T,T) attention weights, rows sum to 1
 *   out = P V                                            (T,d_v)
 * Shapes, row-major: q, k (T,d_k); v (T,d_v); out (T,d_v); att (T,T), att[t,s] is att[t*T + s].
 * writes (overwrites) out and att = P (a masked entry: exactly 0). */
void attention_forward(nn_real *out, nn_real *att, const nn_real *q, const nn_real *k,
                       const nn_real *v, int T, int d_k, int d_v, int causal);

/* The backward pass: given dout = dL/dout (T,d_v), the forward's q, k, v and its att (P),
 * writes (overwrites):
 *   dv = P^T dout                                        (T,d_v)
 *   dP = dout V^T                                        (T,T)
 *   dS[t,s] = P[t,s] (dP[t,s] - sum_r P[t,r] dP[t,r])    (the softmax's backward, per row)
 *   dq = dS K / sqrt(d_k)                                (T,d_k)
 *   dk = dS^T Q / sqrt(d_k)                              (T,d_k)
 * No mask argument: a masked entry has P = 0, hence dS = 0 -- the mask is a constant. */
void attention_backward(nn_real *dq, nn_real *dk, nn_real *dv, const nn_real *dout,
                        const nn_real *q, const nn_real *k, const nn_real *v,
                        const nn_real *att, int T, int d_k, int d_v);

#endif
