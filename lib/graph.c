/* graph.c -- the tape and its arena: define-by-run reverse-mode automatic differentiation.
 *
 * Every op called on a graph computes its output at once (eager) and appends it to the tape.
 * nn_backward walks the tape from the end: by the chain rule each op turns dL/d(output) into
 * dL/d(inputs), adding (+=) into its inputs' gradients, so a tensor used twice receives the
 * sum of both paths. Intermediates live in a bump arena; nn_graph_reset drops them all in O(1).
 */
#include "ops.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* the op table: one entry per nn_op, in enum order */
#define OP(ID, name) [NN_OP_##ID] = {#name, nn_op_##name##_forward, nn_op_##name##_backward}
static const nn_op_def op_table[] = {
    [NN_OP_NONE] = {"leaf", NULL, NULL},
    OP(ADD, add), OP(SUB, sub), OP(MUL, mul), OP(SCALE, scale),
    OP(MATMUL, matmul), OP(LINEAR, linear),
    OP(SUM, sum), OP(MEAN, mean),
    OP(RELU, relu), OP(LEAKY_RELU, leaky_relu), OP(SIGMOID, sigmoid), OP(TANH, tanh),
    OP(SOFTMAX, softmax), OP(LOG_SOFTMAX, log_softmax),
    OP(SOFTMAX_CROSS_ENTROPY, softmax_cross_entropy), OP(MSE, mse),
    OP(BCE_WITH_LOGITS, bce_with_logits),
    OP(RESHAPE, reshape), OP(TRANSPOSE, transpose),
    OP(DROPOUT, dropout), OP(BATCHNORM, batchnorm), OP(LAYERNORM, layernorm),
    OP(GELU, gelu), OP(ELU, elu), OP(L1_PENALTY, l1_penalty), OP(L2_PENALTY, l2_penalty),
    OP(CONV2D, conv2d), OP(MAXPOOL2D, maxpool2d), OP(AVGPOOL2D, avgpool2d),
    OP(EMBEDDING, embedding), OP(SLICE, slice),
    OP(VAE_SAMPLE, vae_sample), OP(VAE_KL, vae_kl),
    OP(ATTENTION, attention),
};
#undef OP
_Static_assert(sizeof op_table / sizeof op_table[0] == NN_OP_COUNT,
               "op_table needs exactly one entry per nn_op");

const nn_op_def *nn_op_table(void) { return op_table; }

const char *nn_op_name(nn_op op)
{
    return (op >= 0 && op < NN_OP_COUNT && op_table[op].name) ? op_table[op].name : "?";
}

/* ---- the arena: a list of big blocks, handed out front to back ---- */

struct nn_arena_block {
    nn_arena_block *next;
    size_t size, used;
    _Alignas(64) unsigned char mem[];
};

enum { ARENA_ALIGN = 64, ARENA_FIRST_BLOCK = 1 << 22 };

static nn_arena_block *arena_block_new(size_t size)
{
    nn_arena_block *b = nn_malloc(sizeof *b + size);
    b->next = NULL;
    b->size = size;
    b->used = 0;
    return b;
}

/* uninitialised memory; callers that need zeros use nn_graph_alloc */
static void *arena_alloc(nn_graph *g, size_t bytes)
{
    bytes = (bytes + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    nn_arena_block *b = g->current;
    while (b->size - b->used < bytes) {
        if (!b->next) {
            size_t size = b->size * 2 > bytes ? b->size * 2 : bytes;
            b->next = arena_block_new(size);
        }
        b = b->next;
        b->used = 0; /* a block is reused from its start each time the arena reaches it */
        g->current = b;
    }
    void *p = b->mem + b->used;
    b->used += bytes;
    return p;
}

void *nn_graph_alloc(nn_graph *g, size_t bytes)
{
    void *p = arena_alloc(g, bytes);
    memset(p, 0, bytes);
    return p;
}

void *nn_graph_alloc_scratch(nn_graph *g, size_t bytes) { return arena_alloc(g, bytes); }

nn_graph *nn_graph_new(void)
{
    nn_graph *g = nn_calloc(1, sizeof *g);
    g->first = g->current = arena_block_new(ARENA_FIRST_BLOCK);
    g->training = 1;
    g->grad = 1;
    return g;
}

void nn_graph_free(nn_graph *g)
{
    if (!g) return;
    for (nn_arena_block *b = g->first, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    free(g->tape);
    free(g);
}

void nn_graph_reset(nn_graph *g)
{
    g->current = g->first;
    g->first->used = 0;
    g->ntape = 0;
}

/* ---- tensors ---- */

size_t nn_shape_numel(int ndim, const int *shape)
{
    size_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0) nn_fail("tensor: negative size %d in axis %d", shape[i], i);
        n = nn_size_mul(n, (size_t)shape[i], "tensor");
    }
    return n;
}

const char *nn_shape_str(const nn_tensor *t, char *buf, size_t len)
{
    size_t at = 0;
    at += (size_t)snprintf(buf, len, "(");
    for (int i = 0; i < t->ndim && at < len; i++)
        at += (size_t)snprintf(buf + at, len - at, i ? ",%d" : "%d", t->shape[i]);
    if (at < len) snprintf(buf + at, len - at, ")");
    return buf;
}

int nn_tensor_same_shape(const nn_tensor *a, const nn_tensor *b)
{
    if (a->ndim != b->ndim) return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i]) return 0;
    return 1;
}

static nn_tensor *tensor_new(nn_graph *g, int ndim, const int *shape, int zero)
{
    if (ndim < 0 || ndim > NN_MAX_DIMS)
        nn_fail("tensor: %d dimensions requested, at most %d supported", ndim, NN_MAX_DIMS);
    nn_tensor *t = nn_graph_alloc(g, sizeof *t);
    t->ndim = ndim;
    memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
    t->numel = nn_shape_numel(ndim, shape);
    size_t bytes = nn_size_mul(t->numel, sizeof(nn_real), "tensor");
    t->data = zero ? nn_graph_alloc(g, bytes) : arena_alloc(g, bytes);
    return t;
}

static void read_shape(int ndim, va_list ap, int *shape)
{
    if (ndim < 0 || ndim > NN_MAX_DIMS)
        nn_fail("tensor: %d dimensions requested, at most %d supported", ndim, NN_MAX_DIMS);
    for (int i = 0; i < ndim; i++) shape[i] = va_arg(ap, int);
}

nn_tensor *nn_graph_tensor(nn_graph *g, int ndim, ...)
{
    int shape[NN_MAX_DIMS];
    va_list ap;
    va_start(ap, ndim);
    read_shape(ndim, ap, shape);
    va_end(ap);
    return tensor_new(g, ndim, shape, 1);
}

nn_tensor *nn_graph_input(nn_graph *g, const nn_real *data, int ndim, ...)
{
    int shape[NN_MAX_DIMS];
    va_list ap;
    va_start(ap, ndim);
    read_shape(ndim, ap, shape);
    va_end(ap);
    nn_tensor *t = tensor_new(g, ndim, shape, 0);
    memcpy(t->data, data, t->numel * sizeof(nn_real));
    return t;
}

void nn_graph_require_grad(nn_graph *g, nn_tensor *t)
{
    if (t->op != NN_OP_NONE)
        nn_fail("nn_graph_require_grad: %s is the output of %s, not a leaf",
                t->name ? t->name : "tensor", nn_op_name(t->op));
    if (!t->grad) t->grad = nn_graph_alloc(g, t->numel * sizeof(nn_real));
    t->flags |= NN_REQUIRES_GRAD;
}

/* ---- the tape ---- */

nn_tensor *nn_op_output(nn_graph *g, nn_op op, int ndim, const int *shape, nn_tensor *a,
                        nn_tensor *b, nn_tensor *c)
{
    nn_tensor *y = tensor_new(g, ndim, shape, 0);
    y->op = op;
    y->src[0] = a;
    y->src[1] = b;
    y->src[2] = c;
    y->name = op_table[op].name;
    int needs_grad = 0;
    for (int i = 0; i < 3; i++)
        if (y->src[i] && (y->src[i]->flags & NN_REQUIRES_GRAD)) needs_grad = 1;
    if (needs_grad && g->grad) {
        y->flags |= NN_REQUIRES_GRAD;
        y->grad = nn_graph_alloc(g, y->numel * sizeof(nn_real));
        if (g->ntape == g->tape_cap) {
            g->tape_cap = g->tape_cap ? 2 * g->tape_cap : 256;
            g->tape = nn_realloc(g->tape, (size_t)g->tape_cap * sizeof *g->tape);
        }
        g->tape[g->ntape++] = y;
    }
    return y;
}

void nn_op_run(nn_tensor *y) { op_table[y->op].forward(y); }

void nn_backward(nn_graph *g, nn_tensor *loss)
{
    char s[64];
    if (loss->numel != 1)
        nn_fail("nn_backward: the loss must be a scalar, got shape %s", nn_shape_str(loss, s, sizeof s));
    if (!loss->grad)
        nn_fail("nn_backward: the loss does not depend on any parameter or tensor that needs a "
                "gradient (or the graph was built with g->grad = 0)");
    loss->grad[0] = 1; /* dL/dL */
    for (int i = g->ntape - 1; i >= 0; i--) op_table[g->tape[i]->op].backward(g->tape[i]);
}

static long first_non_finite(const nn_tensor *t)
{
    for (size_t i = 0; i < t->numel; i++)
        if (!isfinite(t->data[i])) return (long)i;
    return -1;
}

void nn_graph_check_finite(const nn_graph *g, const nn_tensor *loss, long step)
{
    if (isfinite(loss->data[0])) return;
    char s[64];
    for (int i = 0; i < g->ntape; i++) {
        const nn_tensor *t = g->tape[i];
        for (int k = 0; k < 3; k++) { /* an input that was already bad: a parameter, the data */
            const nn_tensor *src = t->src[k];
            long at = src && src->op == NN_OP_NONE ? first_non_finite(src) : -1;
            if (at >= 0)
                nn_fail("step %ld: the loss is %g; input %s %s of op %s holds %g at element %ld "
                        "(try a smaller learning rate)", step, (double)loss->data[0],
                        src->name ? src->name : "tensor", nn_shape_str(src, s, sizeof s),
                        nn_op_name(t->op), (double)src->data[at], at);
        }
        long at = first_non_finite(t);
        if (at >= 0)
            nn_fail("step %ld: the loss is %g; the first non-finite tensor is the output %s of op "
                    "%s (tape entry %d), %g at element %ld (try a smaller learning rate)", step,
                    (double)loss->data[0], nn_shape_str(t, s, sizeof s), nn_op_name(t->op), i,
                    (double)t->data[at], at);
    }
    nn_fail("step %ld: the loss is %g (no tensor on the tape holds a NaN or Inf before it)", step,
            (double)loss->data[0]);
}
