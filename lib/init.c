/* init.c -- weight initialisers that keep signals at a steady size through depth.
 *
 * If a unit sums fan_in inputs of variance 1 with weights of variance s^2, its output has
 * variance fan_in s^2. Too large and activations (and gradients) grow layer after layer; too
 * small and they vanish. The initialisers choose s^2 to keep the variance constant:
 *   Glorot & Bengio (2010), "Understanding the difficulty of training deep feedforward neural
 *   networks": for a linear (or tanh near 0) unit, keep the forward variance (fan_in s^2 = 1)
 *   and the backward variance (fan_out s^2 = 1) both, compromising on
 *       Var(w) = 2 / (fan_in + fan_out).
 *   He, Zhang, Ren & Sun (2015), "Delving deep into rectifiers": ReLU zeroes half of its
 *   inputs, halving the variance, so twice as much is needed:
 *       Var(w) = 2 / fan_in.
 * Both are written as Var(w) = gain^2 * (base variance), with the activation's gain as in
 * torch.nn.init.calculate_gain. U(-a, a) has variance a^2/3, so the uniform bound is
 * a = sqrt(3) * std. */
#include "nn.h"

#include <math.h>

/* the factor that restores unit variance after the activation */
double nn_init_gain(nn_gain activation, double param)
{
    switch (activation) {
    case NN_GAIN_LINEAR: return 1;
    case NN_GAIN_SIGMOID: return 1;
    case NN_GAIN_TANH: return 5.0 / 3;
    case NN_GAIN_RELU: return sqrt(2.0);
    case NN_GAIN_LEAKY_RELU: return sqrt(2.0 / (1 + param * param));
    case NN_GAIN_SELU: return 3.0 / 4;
    }
    nn_fail("nn_init_gain: unknown activation %d", (int)activation);
}

/* weight (out, in, k1, k2, ...): fan_in = in * k1 * k2 ..., fan_out = out * k1 * k2 ...
 * (torch.nn.init._calculate_fan_in_and_fan_out) */
void nn_init_fans(const nn_tensor *t, double *fan_in, double *fan_out)
{
    if (t->ndim < 2) {
        char buf[64];
        nn_fail("nn_init: %s: fan in and fan out need at least 2 dimensions, shape is %s",
                t->name ? t->name : "tensor", nn_shape_str(t, buf, sizeof buf));
    }
    double receptive = 1;
    for (int d = 2; d < t->ndim; d++) receptive *= t->shape[d];
    *fan_in = t->shape[1] * receptive;
    *fan_out = t->shape[0] * receptive;
    if (*fan_in == 0 || *fan_out == 0) nn_fail("nn_init: %s: empty weight", t->name ? t->name : "tensor");
}

/* Xavier uniform: a = gain sqrt(6 / (fan_in + fan_out)), w ~ U(-a, a) */
void nn_init_xavier_uniform(nn_tensor *t, double gain, nn_rng *rng)
{
    double fi, fo;
    nn_init_fans(t, &fi, &fo);
    double a = gain * sqrt(6.0 / (fi + fo));
    nn_rng_fill_uniform(rng, t->data, t->numel, -a, a);
}

/* Xavier normal: std = gain sqrt(2 / (fan_in + fan_out)) */
void nn_init_xavier_normal(nn_tensor *t, double gain, nn_rng *rng)
{
    double fi, fo;
    nn_init_fans(t, &fi, &fo);
    nn_rng_fill_normal(rng, t->data, t->numel, 0, gain * sqrt(2.0 / (fi + fo)));
}

/* Kaiming uniform (fan_in mode): a = gain sqrt(3 / fan_in), w ~ U(-a, a) */
void nn_init_kaiming_uniform(nn_tensor *t, double gain, nn_rng *rng)
{
    double fi, fo;
    nn_init_fans(t, &fi, &fo);
    double a = gain * sqrt(3.0 / fi);
    nn_rng_fill_uniform(rng, t->data, t->numel, -a, a);
}

/* Kaiming normal (fan_in mode): std = gain / sqrt(fan_in) */
void nn_init_kaiming_normal(nn_tensor *t, double gain, nn_rng *rng)
{
    double fi, fo;
    nn_init_fans(t, &fi, &fo);
    nn_rng_fill_normal(rng, t->data, t->numel, 0, gain / sqrt(fi));
}
