/* ops_attention.c -- scaled dot-product attention, several heads at once, with an optional
 * causal mask: the op at the heart of the Transformer (Vaswani et al. 2017).
 *
 * For one example and one head, with queries Q (Tq,dk), keys K (Tk,dk), values V (Tk,dk):
 *     S = Q K^T / sqrt(dk)            (Tq,Tk)  how well query i matches key j
 *     P = softmax(S) row by row       (Tq,Tk)  attention weights, each row sums to 1
 *     O = P V                         (Tq,dk)  each output row a weighted mean of the values
 * The causal mask sets S[i,j] = -inf for j > i before the softmax, so P[i,j] is exactly 0 and
 * position i reads only positions 0..i: a language model cannot peek at the next character.
 *
 * Heads: q, k, v are (B,T,D) with D = heads * dk; head h owns columns [h dk, (h+1) dk) of each
 * row, so a head's Q is a (T,dk) block with row stride D and every product below is one
 * nn_gemm on strided blocks: no copies, no transposes.
 *
 * Backward (per example and head), with dO = dL/dO:
 *     dV = P^T dO                     (Tk,dk)
 *     dP = dO V^T                     (Tq,Tk)
 *     dS = P * (dP - rowsum(dP * P))  the softmax Jacobian, row by row (as in nn_softmax)
 *     dQ = dS K / sqrt(dk)            (Tq,dk)
 *     dK = dS^T Q / sqrt(dk)          (Tk,dk)
 * Masked entries have P = 0, hence dS = 0: no gradient flows to or from the future. */
#include "ops.h"

#include <math.h>
#include <string.h>

typedef struct {
    nn_real *probs;   /* (B,heads,Tq,Tk), kept for backward and for heat maps */
    nn_real *scratch; /* (Tq,Tk) of one head: the scores S in forward, dP then dS in backward */
} attention_saved;

/* iarg: heads, causal */
nn_tensor *nn_attention(nn_graph *g, nn_tensor *q, nn_tensor *k, nn_tensor *v, int heads,
                        int causal)
{
    char sq[64], sk[64], sv[64];
    if (q->ndim != 3 || k->ndim != 3 || v->ndim != 3 || !nn_tensor_same_shape(k, v) ||
        q->shape[0] != k->shape[0] || q->shape[2] != k->shape[2])
        nn_fail("nn_attention: q %s, k %s, v %s: expected q (B,Tq,D) and k, v (B,Tk,D)",
                nn_shape_str(q, sq, sizeof sq), nn_shape_str(k, sk, sizeof sk),
                nn_shape_str(v, sv, sizeof sv));
    const int B = q->shape[0], Tq = q->shape[1], Tk = k->shape[1], D = q->shape[2];
    if (heads < 1 || D % heads)
        nn_fail("nn_attention: %d heads do not divide the width D = %d", heads, D);
    if (causal && Tq != Tk)
        nn_fail("nn_attention: a causal mask needs as many queries as keys (Tq %d, Tk %d)", Tq,
                Tk);
    nn_tensor *y = nn_op_output(g, NN_OP_ATTENTION, 3, q->shape, q, k, v);
    y->iarg[0] = heads;
    y->iarg[1] = causal != 0;
    attention_saved *saved = nn_graph_alloc(g, sizeof *saved);
    saved->probs = nn_graph_alloc(
        g, nn_size_mul(nn_size_mul((size_t)B * heads, (size_t)Tq, "nn_attention"),
                       (size_t)Tk * sizeof(nn_real), "nn_attention"));
    saved->scratch = nn_graph_alloc(g, (size_t)Tq * Tk * sizeof(nn_real));
    y->saved = saved;
    nn_op_run(y);
    return y;
}

const nn_real *nn_attention_probs(const nn_tensor *y)
{
    if (!y || y->op != NN_OP_ATTENTION)
        nn_fail("nn_attention_probs: the tensor is %s, not the output of nn_attention",
                y ? nn_op_name(y->op) : "NULL");
    return ((const attention_saved *)y->saved)->probs;
}

void nn_op_attention_forward(nn_tensor *y)
{
    const nn_tensor *q = y->src[0], *k = y->src[1], *v = y->src[2];
    const attention_saved *sv = y->saved;
    const int B = q->shape[0], Tq = q->shape[1], Tk = k->shape[1], D = q->shape[2];
    const int H = y->iarg[0], causal = y->iarg[1], dk = D / H;
    const nn_real scale = (nn_real)(1.0 / sqrt((double)dk));
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++) {
            const size_t qo = (size_t)b * Tq * D + (size_t)h * dk; /* the head's first column */
            const size_t ko = (size_t)b * Tk * D + (size_t)h * dk;
            nn_real *P = sv->probs + ((size_t)b * H + h) * Tq * Tk, *S = sv->scratch;
            /* S = Q K^T / sqrt(dk) */
            nn_gemm(0, 1, Tq, Tk, dk, scale, q->data + qo, D, k->data + ko, D, 0, S, Tk);
            /* P = softmax(S) over the visible keys; the masked ones are exactly 0 */
            for (int i = 0; i < Tq; i++) {
                nn_real *row = P + (size_t)i * Tk;
                const int n = causal ? i + 1 : Tk;
                nn_kernel_softmax(row, S + (size_t)i * Tk, 1, n);
                for (int j = n; j < Tk; j++) row[j] = 0;
            }
            /* O = P V, written straight into the head's columns of y */
            nn_gemm(0, 0, Tq, dk, Tk, 1, P, Tk, v->data + ko, D, 0, y->data + qo, D);
        }
}

void nn_op_attention_backward(nn_tensor *y)
{
    nn_tensor *q = y->src[0], *k = y->src[1], *v = y->src[2];
    const attention_saved *sv = y->saved;
    const int B = q->shape[0], Tq = q->shape[1], Tk = k->shape[1], D = q->shape[2];
    const int H = y->iarg[0], dk = D / H;
    const nn_real scale = (nn_real)(1.0 / sqrt((double)dk));
    nn_real *dS = sv->scratch;
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++) {
            const size_t qo = (size_t)b * Tq * D + (size_t)h * dk;
            const size_t ko = (size_t)b * Tk * D + (size_t)h * dk;
            const nn_real *P = sv->probs + ((size_t)b * H + h) * Tq * Tk;
            const nn_real *dO = y->grad + qo;
            /* dV += P^T dO */
            if (v->grad) nn_gemm(1, 0, Tk, dk, Tq, 1, P, Tk, dO, D, 1, v->grad + ko, D);
            if (!q->grad && !k->grad) continue;
            /* dP = dO V^T, then dS = P * (dP - rowsum(dP * P)) in place */
            nn_gemm(0, 1, Tq, Tk, dk, 1, dO, D, v->data + ko, D, 0, dS, Tk);
            for (int i = 0; i < Tq; i++) {
                nn_real *d = dS + (size_t)i * Tk;
                const nn_real *p = P + (size_t)i * Tk;
                double dot = 0;
                for (int j = 0; j < Tk; j++) dot += (double)d[j] * p[j];
                for (int j = 0; j < Tk; j++) d[j] = p[j] * (d[j] - (nn_real)dot);
            }
            /* dQ += dS K / sqrt(dk);  dK += dS^T Q / sqrt(dk) */
            if (q->grad)
                nn_gemm(0, 0, Tq, dk, Tk, scale, dS, Tk, k->data + ko, D, 1, q->grad + qo, D);
            if (k->grad)
                nn_gemm(1, 0, Tk, dk, Tq, scale, dS, Tk, q->data + qo, D, 1, k->grad + ko, D);
        }
}
