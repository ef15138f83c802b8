/* ops.h -- internal to lib/: how an op file talks to the tape. Not part of the public API. */
#ifndef NN_OPS_H
#define NN_OPS_H

#include "nn.h"

/* Each op is a forward and a backward on the output tensor y (y->src[] are its inputs).
 * forward fills y->data; backward adds dL/dsrc into every src->grad that is not NULL. */
typedef void (*nn_op_fn)(nn_tensor *y);
typedef struct nn_op_def {
    const char *name;
    nn_op_fn forward, backward;
} nn_op_def;

/* Creates the output of `op` with the given shape and inputs (b, c may be NULL), gives it a
 * gradient buffer if any input needs one, records it on the tape. Call forward after setting
 * the op's arguments: nn_op_run(y). */
nn_tensor *nn_op_output(nn_graph *g, nn_op op, int ndim, const int *shape, nn_tensor *a,
                        nn_tensor *b, nn_tensor *c);
void nn_op_run(nn_tensor *y);
const nn_op_def *nn_op_table(void);

/* every op's pair, defined in lib/ops_*.c */
#define NN_OP_PAIR(name) void nn_op_##name##_forward(nn_tensor *y); void nn_op_##name##_backward(nn_tensor *y);
NN_OP_PAIR(add) NN_OP_PAIR(sub) NN_OP_PAIR(mul) NN_OP_PAIR(scale)
NN_OP_PAIR(matmul) NN_OP_PAIR(linear)
NN_OP_PAIR(sum) NN_OP_PAIR(mean)
NN_OP_PAIR(relu) NN_OP_PAIR(leaky_relu) NN_OP_PAIR(sigmoid) NN_OP_PAIR(tanh)
NN_OP_PAIR(softmax) NN_OP_PAIR(log_softmax)
NN_OP_PAIR(softmax_cross_entropy) NN_OP_PAIR(mse) NN_OP_PAIR(bce_with_logits)
NN_OP_PAIR(reshape) NN_OP_PAIR(transpose)
NN_OP_PAIR(dropout) NN_OP_PAIR(batchnorm) NN_OP_PAIR(layernorm)
NN_OP_PAIR(gelu) NN_OP_PAIR(elu) NN_OP_PAIR(l1_penalty) NN_OP_PAIR(l2_penalty)
NN_OP_PAIR(conv2d) NN_OP_PAIR(maxpool2d) NN_OP_PAIR(avgpool2d)
NN_OP_PAIR(embedding) NN_OP_PAIR(slice)
NN_OP_PAIR(vae_sample) NN_OP_PAIR(vae_kl)
NN_OP_PAIR(attention)
#undef NN_OP_PAIR

/* rows/cols view of a tensor: everything but the last axis, and the last axis */
static inline int nn_last_dim(const nn_tensor *t) { return t->ndim ? t->shape[t->ndim - 1] : 1; }
static inline int nn_rows(const nn_tensor *t) { return (int)(t->numel / (size_t)nn_last_dim(t)); }

#endif
