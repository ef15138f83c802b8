/* transformer.c -- the layers of a Transformer (Vaswani et al. 2017) in the decoder-only, pre-norm
 * form of GPT-2 (Radford et al. 2019): multi-head self-attention with a fused QKV projection,
 * positional encodings (fixed sinusoids or learned), and the block
 *     x = x + MHA(LN(x)),   x = x + MLP(LN(x)).
 * Everything is written with autograd ops (nn_linear_op, nn_slice, nn_reshape, nn_attention,
 * nn_layernorm, nn_gelu, nn_add), so there is no hand-written backward here. Sequences are
 * (B,T,D), batch-major: row b*T + t of the (B*T, D) view is position t of example b. */
#include "nn.h"

#include <math.h>

/* ---- multi-head self-attention ---- */

void nn_mha_init(nn_mha_layer *layer, nn_params *ps, const char *name, int dim, int heads,
                 nn_rng *rng)
{
    if (dim < 1 || heads < 1 || dim % heads)
        nn_fail("nn_mha_init: %s: %d heads must divide the width %d", name, heads, dim);
    layer->dim = dim;
    layer->heads = heads;
    char sub[NN_NAME_MAX];
    nn_linear_init(&layer->qkv, ps, nn_name_join(sub, name, "qkv"), dim, 3 * dim, 1, rng);
    nn_linear_init(&layer->proj, ps, nn_name_join(sub, name, "proj"), dim, dim, 1, rng);
}

/* The (B*T, 3D) projection holds q, k and v side by side: columns [0,D), [D,2D), [2D,3D).
 * One GEMM instead of three; the slices' backward puts their gradients back side by side. */
nn_tensor *nn_mha_forward(nn_graph *g, const nn_mha_layer *layer, nn_tensor *x, int causal,
                          nn_tensor **attn)
{
    char s[64];
    const int D = layer->dim;
    if (x->ndim != 3 || x->shape[2] != D)
        nn_fail("nn_mha_forward: x %s, expected (batch,time,%d)", nn_shape_str(x, s, sizeof s), D);
    const int B = x->shape[0], T = x->shape[1];
    nn_tensor *qkv = nn_linear(g, &layer->qkv, nn_reshape(g, x, 2, B * T, D)); /* (B*T,3D) */
    nn_tensor *q = nn_reshape(g, nn_slice(g, qkv, 1, 0, D), 3, B, T, D);
    nn_tensor *k = nn_reshape(g, nn_slice(g, qkv, 1, D, D), 3, B, T, D);
    nn_tensor *v = nn_reshape(g, nn_slice(g, qkv, 1, 2 * D, D), 3, B, T, D);
    nn_tensor *a = nn_attention(g, q, k, v, layer->heads, causal); /* (B,T,D) */
    if (attn) *attn = a;
    nn_tensor *y = nn_linear(g, &layer->proj, nn_reshape(g, a, 2, B * T, D));
    return nn_reshape(g, y, 3, B, T, D);
}

/* ---- positional encodings ---- */

/* Wavelengths from 2 pi to 10000 2 pi in a geometric progression, one per pair of columns:
 * any fixed offset k turns P[t] into P[t+k] by a rotation of each (sin, cos) pair, so
 * relative positions are easy for a linear map to read (Vaswani et al. 2017, Sec. 3.5). */
void nn_posenc_sinusoidal(nn_real *table, int T, int D)
{
    if (T < 1 || D < 2 || D % 2)
        nn_fail("nn_posenc_sinusoidal: needs T >= 1 and an even D >= 2, got T=%d D=%d", T, D);
    for (int t = 0; t < T; t++)
        for (int i = 0; i < D / 2; i++) {
            double angle = t / pow(10000.0, 2.0 * i / D);
            table[(size_t)t * D + 2 * i] = (nn_real)sin(angle);
            table[(size_t)t * D + 2 * i + 1] = (nn_real)cos(angle);
        }
}

void nn_posenc_init(nn_posenc_layer *layer, nn_params *ps, const char *name, int max_len,
                    int dim, int learned, nn_rng *rng)
{
    if (max_len < 1 || dim < 1)
        nn_fail("nn_posenc_init: %s: sizes must be positive (max_len=%d, dim=%d)", name, max_len,
                dim);
    if (!learned && dim % 2)
        nn_fail("nn_posenc_init: %s: sinusoidal encodings need an even width, got %d", name, dim);
    layer->max_len = max_len;
    layer->dim = dim;
    layer->weight = NULL;
    if (learned) { /* an embedding of the position ids: N(0,1) like the token embedding, so
                    * neither drowns the other in their sum */
        char full[NN_NAME_MAX];
        layer->weight = nn_params_add(ps, nn_name_join(full, name, "weight"), 2,
                                      (const int[]){max_len, dim});
        nn_rng_fill_normal(rng, layer->weight->data, layer->weight->numel, 0, 1);
    }
}

/* x + P[0:T], P broadcast over the batch: (B,T,D) is viewed as (B, T*D) and P[0:T] as one row
 * of T*D numbers, which nn_add adds to every row (and whose gradient it sums over the batch). */
nn_tensor *nn_posenc_forward(nn_graph *g, const nn_posenc_layer *layer, nn_tensor *x)
{
    char s[64];
    if (x->ndim != 3 || x->shape[2] != layer->dim || x->shape[1] > layer->max_len)
        nn_fail("nn_posenc_forward: x %s, expected (batch, time <= %d, %d)",
                nn_shape_str(x, s, sizeof s), layer->max_len, layer->dim);
    const int B = x->shape[0], T = x->shape[1], D = layer->dim;
    nn_tensor *p;
    if (layer->weight) {
        p = nn_reshape(g, nn_slice(g, layer->weight, 0, 0, T), 1, T * D);
    } else {
        p = nn_graph_tensor(g, 1, T * D); /* a constant: no gradient */
        nn_posenc_sinusoidal(p->data, T, D);
    }
    return nn_reshape(g, nn_add(g, nn_reshape(g, x, 2, B, T * D), p), 3, B, T, D);
}

/* ---- the pre-norm block ---- */

void nn_transformer_block_init(nn_transformer_block *block, nn_params *ps, const char *name,
                               int dim, int heads, int hidden, nn_rng *rng)
{
    if (hidden < 1) nn_fail("nn_transformer_block_init: %s: hidden must be positive, got %d", name, hidden);
    block->dim = dim;
    block->hidden = hidden;
    char sub[NN_NAME_MAX];
    nn_layernorm_init(&block->ln1, ps, nn_name_join(sub, name, "ln1"), dim);
    nn_mha_init(&block->attn, ps, nn_name_join(sub, name, "attn"), dim, heads, rng);
    nn_layernorm_init(&block->ln2, ps, nn_name_join(sub, name, "ln2"), dim);
    nn_linear_init(&block->fc, ps, nn_name_join(sub, name, "fc"), dim, hidden, 1, rng);
    nn_linear_init(&block->proj, ps, nn_name_join(sub, name, "proj"), hidden, dim, 1, rng);
}

nn_tensor *nn_transformer_block_forward(nn_graph *g, const nn_transformer_block *block,
                                        nn_tensor *x, int causal, nn_tensor **attn)
{
    char s[64];
    const int D = block->dim;
    if (x->ndim != 3 || x->shape[2] != D)
        nn_fail("nn_transformer_block_forward: x %s, expected (batch,time,%d)",
                nn_shape_str(x, s, sizeof s), D);
    const int B = x->shape[0], T = x->shape[1];
    /* x + MHA(LN1(x)): the attention sub-layer reads a normalised copy, adds to the original */
    x = nn_add(g, x, nn_mha_forward(g, &block->attn, nn_layernorm_forward(g, &block->ln1, x),
                                    causal, attn));
    /* x + MLP(LN2(x)): the same two-layer MLP applied to every position on its own */
    nn_tensor *h = nn_reshape(g, nn_layernorm_forward(g, &block->ln2, x), 2, B * T, D);
    h = nn_linear(g, &block->proj, nn_gelu(g, nn_linear(g, &block->fc, h)));
    return nn_add(g, x, nn_reshape(g, h, 3, B, T, D));
}
