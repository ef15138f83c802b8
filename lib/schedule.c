/* schedule.c -- learning-rate schedules: the rate as a pure function of the step.
 *
 * Large steps early cover ground; small steps late settle into a minimum. A schedule that
 * depends only on the step number needs no state, so a resumed run (the step is saved in the
 * optimizer's checkpoint) continues with exactly the rates it would have had. */
#include "nn.h"

#include <math.h>

nn_real nn_schedule_lr(const nn_schedule *s, long step)
{
    if (step < 0) nn_fail("nn_schedule_lr: step %ld must be >= 0", step);
    if (s->warmup_steps < 0) nn_fail("nn_schedule_lr: warmup_steps %ld must be >= 0", s->warmup_steps);
    /* linear warm-up: base * (step + 1) / W for the first W steps, so the first update is
     * small while Adam's moment estimates (or batch-norm statistics) are still noisy */
    if (step < s->warmup_steps) return (nn_real)(s->base_lr * (double)(step + 1) / (double)s->warmup_steps);
    const long t = step - s->warmup_steps; /* steps since the warm-up ended */
    switch (s->kind) {
    case NN_SCHEDULE_CONSTANT:
        return (nn_real)s->base_lr;
    case NN_SCHEDULE_STEP:
        /* lr = base * gamma^floor(t / step_size): divide by 1/gamma every step_size steps */
        if (s->step_size < 1) nn_fail("nn_schedule_lr: step schedule needs step_size >= 1 (got %ld)", s->step_size);
        return (nn_real)(s->base_lr * pow(s->gamma, (double)(t / s->step_size)));
    case NN_SCHEDULE_EXPONENTIAL:
        /* lr = base * gamma^t */
        return (nn_real)(s->base_lr * pow(s->gamma, (double)t));
    case NN_SCHEDULE_COSINE: {
        /* lr = min + (base - min) (1 + cos(pi t / T)) / 2, T = total - warm-up: half a cosine
         * from base down to min, flat at min after T (Loshchilov & Hutter 2017, no restarts) */
        const long T = s->total_steps - s->warmup_steps;
        if (T < 1)
            nn_fail("nn_schedule_lr: cosine schedule needs total_steps (%ld) > warmup_steps (%ld)",
                    s->total_steps, s->warmup_steps);
        const double frac = t >= T ? 1.0 : (double)t / (double)T;
        return (nn_real)(s->min_lr + (s->base_lr - s->min_lr) * 0.5 * (1 + cos(M_PI * frac)));
    }
    }
    nn_fail("nn_schedule_lr: unknown schedule kind %d", (int)s->kind);
}
