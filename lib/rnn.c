/* rnn.c -- sequence layers: the embedding table and the three recurrent cells (tanh RNN, LSTM,
 * GRU), one step at a time or over a whole sequence.
 *
 * Every cell is written with the autograd ops (nn_linear_op, nn_slice, nn_sigmoid, nn_tanh,
 * nn_mul, nn_add, nn_sub), so a sequence of T steps leaves T copies of the cell on the tape
 * and nn_backward is backpropagation through time: no hand-written recurrent backward.
 * The equations and parameter layout are PyTorch's (torch.nn.RNN/LSTM/GRU), so weights can be
 * compared with it one to one. */
#include "nn.h"

#include <math.h>
#include <string.h>

void nn_embedding_init(nn_embedding_layer *layer, nn_params *ps, const char *name, int vocab,
                       int dim, nn_rng *rng)
{
    if (vocab < 1 || dim < 1)
        nn_fail("nn_embedding_init: %s: sizes must be positive (vocab=%d, dim=%d)", name, vocab,
                dim);
    layer->vocab = vocab;
    layer->dim = dim;
    char full[NN_NAME_MAX];
    layer->weight = nn_params_add(ps, nn_name_join(full, name, "weight"), 2,
                                  (const int[]){vocab, dim});
    nn_rng_fill_normal(rng, layer->weight->data, layer->weight->numel, 0, 1);
}

nn_tensor *nn_embedding(nn_graph *g, const nn_embedding_layer *layer, const int *ids, int n)
{
    return nn_embedding_op(g, layer->weight, ids, n);
}

const char *nn_rnn_kind_name(nn_rnn_kind kind)
{
    switch (kind) {
    case NN_RNN_TANH: return "rnn";
    case NN_RNN_LSTM: return "lstm";
    case NN_RNN_GRU: return "gru";
    }
    return "?";
}

static int blocks_of(nn_rnn_kind kind)
{
    switch (kind) {
    case NN_RNN_TANH: return 1;
    case NN_RNN_LSTM: return 4; /* i, f, g, o */
    case NN_RNN_GRU: return 3;  /* r, z, n */
    }
    nn_fail("nn_rnn_cell_init: unknown cell kind %d", (int)kind);
}

void nn_rnn_cell_init(nn_rnn_cell *cell, nn_params *ps, const char *name, nn_rnn_kind kind,
                      int input, int hidden, nn_rng *rng)
{
    if (input < 1 || hidden < 1)
        nn_fail("nn_rnn_cell_init: %s: sizes must be positive (input=%d, hidden=%d)", name,
                input, hidden);
    cell->kind = kind;
    cell->blocks = blocks_of(kind);
    cell->input = input;
    cell->hidden = hidden;
    const int rows = cell->blocks * hidden;
    char full[NN_NAME_MAX];
    const int ih[2] = {rows, input}, hh[2] = {rows, hidden};
    cell->w_ih = nn_params_add(ps, nn_name_join(full, name, "w_ih"), 2, ih);
    cell->w_hh = nn_params_add(ps, nn_name_join(full, name, "w_hh"), 2, hh);
    cell->b_ih = nn_params_add(ps, nn_name_join(full, name, "b_ih"), 1, &rows);
    cell->b_hh = nn_params_add(ps, nn_name_join(full, name, "b_hh"), 1, &rows);
    /* PyTorch: every weight and bias U(-k, k), k = 1/sqrt(hidden) */
    const double k = 1.0 / sqrt((double)hidden);
    nn_tensor *all[4] = {cell->w_ih, cell->w_hh, cell->b_ih, cell->b_hh};
    for (int i = 0; i < 4; i++) nn_rng_fill_uniform(rng, all[i]->data, all[i]->numel, -k, k);
    if (kind == NN_RNN_LSTM) {
        /* forget gate open at the start: s(1) = 0.73 of the cell is kept each step instead
         * of about half, so early gradients reach further back (Gers et al. 2000;
         * Jozefowicz et al. 2015) */
        for (int j = hidden; j < 2 * hidden; j++) cell->b_ih->data[j] = 1, cell->b_hh->data[j] = 0;
    }
}

/* block j (0-based) of a (B, blocks*H) pre-activation: columns [jH, (j+1)H) */
static nn_tensor *block(nn_graph *g, nn_tensor *z, int j, int H)
{
    return nn_slice(g, z, 1, j * H, H);
}

nn_rnn_state nn_rnn_cell_step(nn_graph *g, const nn_rnn_cell *cell, nn_tensor *x,
                              nn_rnn_state prev)
{
    char s[64];
    const int H = cell->hidden;
    if (x->ndim != 2 || x->shape[1] != cell->input)
        nn_fail("nn_rnn_cell_step: %s input %s, expected (batch,%d)", nn_rnn_kind_name(cell->kind),
                nn_shape_str(x, s, sizeof s), cell->input);
    const int B = x->shape[0];
    nn_tensor *h = prev.h ? prev.h : nn_graph_tensor(g, 2, B, H); /* zeros */
    if (h->ndim != 2 || h->shape[0] != B || h->shape[1] != H)
        nn_fail("nn_rnn_cell_step: %s state h %s, expected (%d,%d)", nn_rnn_kind_name(cell->kind),
                nn_shape_str(h, s, sizeof s), B, H);
    /* the two affine maps, every gate block at once: (B, blocks*H) each */
    nn_tensor *a = nn_linear_op(g, x, cell->w_ih, cell->b_ih);
    nn_tensor *b = nn_linear_op(g, h, cell->w_hh, cell->b_hh);
    nn_rnn_state next = {NULL, NULL};
    switch (cell->kind) {
    case NN_RNN_TANH: /* h' = tanh(W_ih x + b_ih + W_hh h + b_hh) */
        next.h = nn_tanh(g, nn_add(g, a, b));
        break;
    case NN_RNN_LSTM: {
        nn_tensor *c = prev.c ? prev.c : nn_graph_tensor(g, 2, B, H);
        if (!nn_tensor_same_shape(c, h))
            nn_fail("nn_rnn_cell_step: lstm state c %s, expected (%d,%d)",
                    nn_shape_str(c, s, sizeof s), B, H);
        nn_tensor *z = nn_add(g, a, b);
        nn_tensor *i = nn_sigmoid(g, block(g, z, 0, H)); /* input gate: how much to write */
        nn_tensor *f = nn_sigmoid(g, block(g, z, 1, H)); /* forget gate: how much to keep */
        nn_tensor *u = nn_tanh(g, block(g, z, 2, H));    /* the candidate to write */
        nn_tensor *o = nn_sigmoid(g, block(g, z, 3, H)); /* output gate: how much to show */
        /* c' = f c + i u: the cell is carried forward by a product with f, not through a
         * squashing nonlinearity, so dc'/dc = f can stay near 1 for many steps */
        next.c = nn_add(g, nn_mul(g, f, c), nn_mul(g, i, u));
        next.h = nn_mul(g, o, nn_tanh(g, next.c));
        break;
    }
    case NN_RNN_GRU: {
        nn_tensor *r = nn_sigmoid(g, nn_add(g, block(g, a, 0, H), block(g, b, 0, H))); /* reset */
        nn_tensor *z = nn_sigmoid(g, nn_add(g, block(g, a, 1, H), block(g, b, 1, H))); /* update */
        nn_tensor *n = nn_tanh(g, nn_add(g, block(g, a, 2, H), nn_mul(g, r, block(g, b, 2, H))));
        /* h' = (1 - z) n + z h = n + z (h - n): z = 1 copies the old state unchanged */
        next.h = nn_add(g, n, nn_mul(g, z, nn_sub(g, h, n)));
        break;
    }
    }
    return next;
}

nn_rnn_state nn_rnn_forward(nn_graph *g, const nn_rnn_cell *cell, nn_tensor *const *xs,
                            int steps, nn_tensor **hs, nn_rnn_state state)
{
    if (steps < 1) nn_fail("nn_rnn_forward: %d time steps (at least 1 needed)", steps);
    for (int t = 0; t < steps; t++) {
        state = nn_rnn_cell_step(g, cell, xs[t], state);
        if (hs) hs[t] = state.h;
    }
    return state;
}
