/* test_rbm.c -- the restricted Boltzmann machine of lib/rbm.c: one CD-1 update of a 3x2 RBM
 * worked out by hand (sampled, with the generator's draws written out, and mean-field), the
 * conditionals and the free energy against hand values and against brute-force sums over
 * every hidden state, momentum and weight decay, the number of random draws of CD-k, a tiny
 * RBM whose exact likelihood CD-1 training raises, the Bernoulli sampler, the copy into a
 * Linear layer, and bad input refused with a message. */
#include "nn_test.h"

#include <stdlib.h>

NN_TEST_DEFINE_FAIL_HANDLER

/* ---- the hand-worked RBM: 3 visible, 2 hidden units ----
 *
 * With a = ln 3 every logistic below is a simple fraction: sigmoid(a) = 3/4,
 * sigmoid(-a) = 1/4, sigmoid(0) = 1/2, sigmoid(2a) = 9/10.
 *
 *   W = [ a  0   0 ]     b (visible) = (0, a, -a)     c (hidden) = (0, a)
 *       [ 0  a  -a ]
 */
#define LN3 1.0986122886681098
static const nn_real HW[6] = {(nn_real)LN3, 0, 0, 0, (nn_real)LN3, (nn_real)-LN3};
static const nn_real HB[3] = {0, (nn_real)LN3, (nn_real)-LN3};
static const nn_real HC[2] = {0, (nn_real)LN3};

static void hand_rbm(nn_rbm *rbm)
{
    nn_rng rng;
    nn_rng_seed(&rng, 1);
    nn_rbm_init(rbm, 3, 2, &rng);
    memcpy(rbm->W, HW, sizeof HW);
    memcpy(rbm->vbias, HB, sizeof HB);
    memcpy(rbm->hbias, HC, sizeof HC);
}

/* p(h|v) and p(v|h) of the hand RBM:
 *   v = (1,0,1): c + W v = (a, a + 0 - a) = (a, 0)        -> p(h|v) = (3/4, 1/2)
 *   v = (0,1,0): c + W v = (0, a + a)     = (0, 2a)       -> (1/2, 9/10)
 *   h = (1,0):   b + W^T h = (0 + a, a + 0, -a + 0)       -> p(v|h) = (3/4, 3/4, 1/4)
 *   h = (1,1):   b + W^T h = (a, a + a, -a - a)           -> (3/4, 9/10, 1/10) */
static void test_conditionals_by_hand(void **state)
{
    (void)state;
    nn_rbm rbm;
    hand_rbm(&rbm);
    const nn_real v[6] = {1, 0, 1, 0, 1, 0}, h[4] = {1, 0, 1, 1};
    nn_real ph[4], pv[6];
    nn_rbm_hidden_probs(&rbm, ph, v, 2);
    nn_rbm_visible_probs(&rbm, pv, h, 2);
    const nn_real want_ph[4] = {0.75f, 0.5f, 0.5f, 0.9f};
    const nn_real want_pv[6] = {0.75f, 0.75f, 0.25f, 0.75f, 0.9f, 0.1f};
    nn_test_assert_close(ph, want_ph, 4, 1e-6, 0, "p(h|v)");
    nn_test_assert_close(pv, want_pv, 6, 1e-6, 0, "p(v|h)");
    nn_rbm_free(&rbm);
}

/* F(v) = -b.v - sum_j softplus(c_j + W_j.v), softplus(x) = ln(1 + e^x):
 *   v = (1,0,1): -b.v = -(0 + 0 - a) = a;  c + W v = (a, 0):
 *                F = a - ln(1 + 3) - ln(1 + 1) = ln 3 - ln 8 = ln(3/8) = -0.980829
 *   v = (0,0,0): -b.v = 0;  c + W v = c = (0, a):
 *                F = -ln 2 - ln 4 = -ln 8 = -2.079442
 *   v = (0,1,0): -b.v = -a;  c + W v = (0, 2a):
 *                F = -a - ln 2 - ln(1 + 9) = -ln 60 = -4.094345
 * mean of the three: -(ln(8/3) + ln 8 + ln 60) / 3 = -2.384872 */
static void test_free_energy_by_hand(void **state)
{
    (void)state;
    nn_rbm rbm;
    hand_rbm(&rbm);
    const nn_real v[9] = {1, 0, 1, 0, 0, 0, 0, 1, 0};
    nn_real f[3];
    double mean = nn_rbm_free_energy(&rbm, f, v, 3);
    const nn_real want[3] = {(nn_real)log(3.0 / 8), (nn_real)-log(8.0), (nn_real)-log(60.0)};
    nn_test_assert_close(f, want, 3, 1e-5, 0, "free energy");
    assert_true(fabs(mean - (log(3.0 / 8) - log(8.0) - log(60.0)) / 3) < 1e-5);
    assert_true(fabs(nn_rbm_free_energy(&rbm, NULL, v, 3) - mean) < 1e-12);
    nn_rbm_free(&rbm);
}

/* One sampled CD-1 step on v0 = (1,0,1), lr = 0.1, no momentum, the generator seeded with 3.
 * Its first five uniforms are 0.690638 0.640581 0.218262 0.533962 0.424596 (checked below),
 * and CD-1 draws h0 (2 values), then v1 (3 values), each on when u < p:
 *   ph0 = p(h|v0) = (3/4, 1/2)                    (see the conditionals above)
 *   h0  = [0.690638 < 0.75, 0.640581 < 0.5] = (1, 0)
 *   pv1 = p(v|h0) = (3/4, 3/4, 1/4)
 *   v1  = [0.218262 < .75, 0.533962 < .75, 0.424596 < .25] = (1, 1, 0)
 *   ph1 = p(h|v1): c + W v1 = (a, a + a - 0) = (a, 2a) -> (3/4, 9/10)
 * The update, lr/n = 0.1:
 *   ph0^T v0 = [.75 0 .75; .5 0 .5],  ph1^T v1 = [.75 .75 0; .9 .9 0]
 *   dW = 0.1 [0 -.75 .75; -.4 -.9 .5] = [0 -.075 .075; -.04 -.09 .05]
 *   db = 0.1 (v0 - v1)   = 0.1 (0, -1, 1)  = (0, -.1, .1)
 *   dc = 0.1 (ph0 - ph1) = 0.1 (0, -.4)    = (0, -.04)
 * Reconstruction error sum_i (v0_i - pv1_i)^2 = .25^2 + .75^2 + .75^2 = 1.1875. */
static void test_cd1_sampled_by_hand(void **state)
{
    (void)state;
    nn_rng rng, replay;
    nn_rng_seed(&rng, 3);
    replay = rng;
    const double u[5] = {0.690638, 0.640581, 0.218262, 0.533962, 0.424596};
    for (int i = 0; i < 5; i++) assert_true(fabs(nn_rng_uniform(&replay) - u[i]) < 5e-7);

    nn_rbm rbm;
    hand_rbm(&rbm);
    const nn_real v0[3] = {1, 0, 1};
    double err = nn_rbm_cd_step(&rbm, v0, 1, 1, 0.1f, &rng);
    assert_true(fabs(err - 1.1875) < 1e-6);
    const nn_real a = (nn_real)LN3;
    const nn_real want_W[6] = {a, -0.075f, 0.075f, -0.04f, a - 0.09f, -a + 0.05f};
    const nn_real want_b[3] = {0, a - 0.1f, -a + 0.1f}, want_c[2] = {0, a - 0.04f};
    nn_test_assert_close(rbm.W, want_W, 6, 1e-6, 0, "W after CD-1");
    nn_test_assert_close(rbm.vbias, want_b, 3, 1e-6, 0, "b after CD-1");
    nn_test_assert_close(rbm.hbias, want_c, 2, 1e-6, 0, "c after CD-1");
    /* exactly the five uniforms were used: the next draw is the generator's sixth */
    assert_true(nn_rng_u64(&rng) == nn_rng_u64(&replay));
    nn_rbm_free(&rbm);
}

/* The same step in mean-field (rng NULL): every state is its probability.
 *   ph0 = (3/4, 1/2)
 *   pv1 = sigmoid(b + W^T ph0) = sigmoid(.75a, a + .5a, -a - .5a) = sigmoid(.75a, 1.5a, -1.5a)
 *       = (3^.75/(1+3^.75), 3^1.5/(1+3^1.5), 1/(1+3^1.5))
 *       = (2.279507/3.279507, 5.196152/6.196152, 1/6.196152) = (0.695076, 0.838610, 0.161390)
 *   ph1 = sigmoid(c + W pv1) = sigmoid(a 0.695076, a + a (0.838610 - 0.161390))
 *       = sigmoid(0.763619, 1.842613) = (0.682139, 0.863258)
 *   dW = 0.1 (ph0^T v0 - ph1^T pv1):
 *     row 0: 0.1 (.75 (1,0,1) - 0.682139 (0.695076, 0.838610, 0.161390))
 *          = 0.1 (.75 - 0.474135, -0.572048, .75 - 0.110091) = (0.027586, -0.057205, 0.063991)
 *     row 1: 0.1 (.5 (1,0,1) - 0.863258 (0.695076, 0.838610, 0.161390))
 *          = 0.1 (.5 - 0.600030, -0.723936, .5 - 0.139321) = (-0.010003, -0.072394, 0.036068)
 *   db = 0.1 (v0 - pv1) = (0.030492, -0.083861, 0.083861)
 *   dc = 0.1 (ph0 - ph1) = (0.006786, -0.036326)
 *   error = 0.304924^2 + 0.838610^2 + 0.838610^2 = 1.499510 */
static void test_cd1_mean_field_by_hand(void **state)
{
    (void)state;
    nn_rbm rbm;
    hand_rbm(&rbm);
    const nn_real v0[3] = {1, 0, 1};
    double err = nn_rbm_cd_step(&rbm, v0, 1, 1, 0.1f, NULL);
    assert_true(fabs(err - 1.499510) < 2e-6);
    const nn_real dW[6] = {0.027586f, -0.057205f, 0.063991f, -0.010003f, -0.072394f, 0.036068f};
    const nn_real db[3] = {0.030492f, -0.083861f, 0.083861f}, dc[2] = {0.006786f, -0.036326f};
    nn_real want_W[6], want_b[3], want_c[2];
    for (int i = 0; i < 6; i++) want_W[i] = HW[i] + dW[i];
    for (int i = 0; i < 3; i++) want_b[i] = HB[i] + db[i];
    for (int i = 0; i < 2; i++) want_c[i] = HC[i] + dc[i];
    nn_test_assert_close(rbm.W, want_W, 6, 2e-6, 0, "W after mean-field CD-1");
    nn_test_assert_close(rbm.vbias, want_b, 3, 2e-6, 0, "b after mean-field CD-1");
    nn_test_assert_close(rbm.hbias, want_c, 2, 2e-6, 0, "c after mean-field CD-1");
    nn_test_assert_close(rbm.dW, dW, 6, 2e-6, 0, "the stored update dW");
    /* a batch of the same row twice: the mean of two equal statistics, the same step */
    nn_rbm twice;
    hand_rbm(&twice);
    const nn_real v2[6] = {1, 0, 1, 1, 0, 1};
    assert_true(fabs(nn_rbm_cd_step(&twice, v2, 2, 1, 0.1f, NULL) - err) < 1e-6);
    nn_test_assert_close(twice.W, rbm.W, 6, 1e-7, 0, "batch of two equal rows");
    nn_rbm_free(&twice);
    nn_rbm_free(&rbm);
}

/* F(v) is -log of sum_h exp(-E(v,h)), E(v,h) = -b.v - c.h - h.W v: check it against the sum
 * over all 2^H hidden states, for every v of a random 4x3 RBM. And p(h_j|v) is the marginal
 * of that same sum: sum_{h: h_j=1} exp(-E) / sum_h exp(-E). */
static void test_free_energy_brute_force(void **state)
{
    (void)state;
    enum { V = 4, H = 3 };
    nn_rng rng;
    nn_rng_seed(&rng, 11);
    nn_rbm rbm;
    nn_rbm_init(&rbm, V, H, &rng);
    nn_rng_fill_normal(&rng, rbm.W, V * H, 0, 1);
    nn_rng_fill_normal(&rng, rbm.vbias, V, 0, 1);
    nn_rng_fill_normal(&rng, rbm.hbias, H, 0, 1);
    for (int vs = 0; vs < (1 << V); vs++) {
        nn_real v[V], f, ph[H];
        for (int i = 0; i < V; i++) v[i] = (vs >> i) & 1;
        double total = 0, on[H] = {0};
        for (int hs = 0; hs < (1 << H); hs++) {
            double minus_e = 0;
            for (int i = 0; i < V; i++) minus_e += rbm.vbias[i] * v[i];
            for (int j = 0; j < H; j++) {
                if (!((hs >> j) & 1)) continue;
                minus_e += rbm.hbias[j];
                for (int i = 0; i < V; i++) minus_e += rbm.W[j * V + i] * v[i];
            }
            total += exp(minus_e);
            for (int j = 0; j < H; j++)
                if ((hs >> j) & 1) on[j] += exp(minus_e);
        }
        nn_rbm_free_energy(&rbm, &f, v, 1);
        assert_true(fabs(f - -log(total)) < 1e-5 * (1 + fabs(log(total))));
        nn_rbm_hidden_probs(&rbm, ph, v, 1);
        for (int j = 0; j < H; j++) assert_true(fabs(ph[j] - on[j] / total) < 1e-6);
    }
    nn_rbm_free(&rbm);
}

/* Momentum: the second step's update is momentum times the first plus the plain update.
 * Weight decay: lr * weight_decay * W comes off the weights' update (not the biases'). */
static void test_momentum_and_weight_decay(void **state)
{
    (void)state;
    const nn_real v[6] = {1, 0, 1, 0, 1, 1};
    nn_rbm plain, mom, wd;
    hand_rbm(&plain), hand_rbm(&mom), hand_rbm(&wd);
    mom.momentum = 0.5f;
    wd.weight_decay = 0.01f;
    nn_rbm_cd_step(&plain, v, 2, 1, 0.1f, NULL);
    nn_rbm_cd_step(&mom, v, 2, 1, 0.1f, NULL);
    nn_rbm_cd_step(&wd, v, 2, 1, 0.1f, NULL);
    nn_test_assert_close(mom.W, plain.W, 6, 0, 0, "first step with momentum (no history)");
    nn_real first[6], want[6];
    memcpy(first, plain.dW, sizeof first);
    for (int i = 0; i < 6; i++) want[i] = plain.W[i] - 0.1f * 0.01f * HW[i];
    nn_test_assert_close(wd.W, want, 6, 1e-6, 1e-6, "weight decay");
    nn_test_assert_close(wd.vbias, plain.vbias, 3, 0, 0, "weight decay leaves b alone");
    nn_rbm_cd_step(&plain, v, 2, 1, 0.1f, NULL);
    nn_rbm_cd_step(&mom, v, 2, 1, 0.1f, NULL);
    for (int i = 0; i < 6; i++) want[i] = plain.W[i] + 0.5f * first[i];
    nn_test_assert_close(mom.W, want, 6, 1e-6, 0, "second step with momentum 0.5");
    nn_rbm_free(&plain), nn_rbm_free(&mom), nn_rbm_free(&wd);
}

/* CD-k draws k (n H + n V) uniforms; Gibbs sampling (n H + n V) per round */
static void test_draw_counts(void **state)
{
    (void)state;
    enum { V = 5, H = 4, N = 3, K = 3 };
    nn_rng rng, replay;
    nn_rng_seed(&rng, 5);
    nn_rbm rbm;
    nn_rbm_init(&rbm, V, H, &rng);
    nn_real v[N * V];
    for (int i = 0; i < N * V; i++) v[i] = (i * 7) % 3 == 0;
    replay = rng;
    nn_rbm_cd_step(&rbm, v, N, K, 0.05f, &rng);
    for (int i = 0; i < K * (N * H + N * V); i++) nn_rng_uniform(&replay);
    assert_true(nn_rng_u64(&rng) == nn_rng_u64(&replay));
    replay = rng;
    nn_rbm_gibbs(&rbm, v, NULL, N, 2, &rng);
    for (int i = 0; i < 2 * (N * H + N * V); i++) nn_rng_uniform(&replay);
    assert_true(nn_rng_u64(&rng) == nn_rng_u64(&replay));
    for (int i = 0; i < N * V; i++) assert_true(v[i] == 0 || v[i] == 1);
    nn_rbm_free(&rbm);
}

/* Learning: 6 visible units, data = the two patterns 111000 and 000111. The exact
 * log-likelihood log p(v) = -F(v) - log Z, Z = sum over all 64 v of exp(-F(v)), starts near
 * log(1/64) = -4.16 (every pattern about equally likely) and CD-1 must raise it towards the
 * best possible, log(1/2) = -0.69. Reconstruction error must fall too. */
static double exact_log_likelihood(const nn_rbm *rbm, const nn_real *data, int n)
{
    nn_real all[64 * 6], f[64], fd[8];
    for (int s = 0; s < 64; s++)
        for (int i = 0; i < 6; i++) all[s * 6 + i] = (s >> i) & 1;
    nn_rbm_free_energy(rbm, f, all, 64);
    double fmin = f[0], z = 0;
    for (int s = 1; s < 64; s++) fmin = fmin < f[s] ? fmin : f[s];
    for (int s = 0; s < 64; s++) z += exp(-(f[s] - fmin)); /* Z e^{fmin} */
    double log_z = log(z) - fmin;
    return -nn_rbm_free_energy(rbm, fd, data, n) - log_z;
}

static void test_cd1_learns_two_patterns(void **state)
{
    (void)state;
    nn_rng rng;
    nn_rng_seed(&rng, 42);
    nn_rbm rbm;
    nn_rbm_init(&rbm, 6, 4, &rng);
    nn_real data[8 * 6];
    for (int r = 0; r < 8; r++)
        for (int i = 0; i < 6; i++) data[r * 6 + i] = (r % 2) ? i >= 3 : i < 3;
    double ll0 = exact_log_likelihood(&rbm, data, 8);
    double err0 = nn_rbm_reconstruct(&rbm, NULL, data, 8);
    assert_true(fabs(ll0 - log(1.0 / 64)) < 0.05);
    for (int step = 0; step < 400; step++) nn_rbm_cd_step(&rbm, data, 8, 1, 0.1f, &rng);
    double ll = exact_log_likelihood(&rbm, data, 8);
    double err = nn_rbm_reconstruct(&rbm, NULL, data, 8);
    if (!(ll > -1.5 && ll <= log(0.5) + 1e-6) || !(err < 0.25 * err0))
        fail_msg("CD-1 on two patterns: log-likelihood %.3f -> %.3f (want > -1.5), "
                 "reconstruction error %.3f -> %.3f", ll0, ll, err0, err);
    nn_rbm_free(&rbm);
}

/* the sampler: 0 never fires, 1 always does, the rest fire with their probability */
static void test_bernoulli_sampler(void **state)
{
    (void)state;
    nn_rng rng, replay;
    nn_rng_seed(&rng, 9);
    replay = rng;
    enum { N = 20000 };
    nn_real *p = malloc(N * sizeof *p), *out = malloc(N * sizeof *out);
    for (int i = 0; i < N; i++) p[i] = (nn_real)(i % 4) / 3; /* 0, 1/3, 2/3, 1 */
    nn_rng_fill_bernoulli(&rng, out, p, N);
    double on[4] = {0};
    for (int i = 0; i < N; i++) {
        assert_true(out[i] == (nn_rng_uniform(&replay) < (double)p[i])); /* the documented rule */
        on[i % 4] += out[i];
    }
    assert_true(on[0] == 0 && on[3] == N / 4);
    /* 5000 draws of p = 1/3: standard deviation sqrt(5000 (1/3)(2/3)) = 33; allow 5 of them */
    assert_true(fabs(on[1] - N / 12.0) < 5 * 33.4 && fabs(on[2] - N / 6.0) < 5 * 33.4);
    nn_rng_fill_bernoulli(&rng, p, p, N); /* in place */
    for (int i = 0; i < N; i++) assert_true(p[i] == 0 || p[i] == 1);
    free(p), free(out);
}

/* the recognition weights go into a Linear layer unchanged: sigmoid(linear(v)) = p(h|v) */
static void test_to_linear(void **state)
{
    (void)state;
    nn_rbm rbm;
    hand_rbm(&rbm);
    nn_params ps;
    nn_params_init(&ps);
    nn_rng rng;
    nn_rng_seed(&rng, 2);
    nn_linear_layer fc;
    nn_linear_init(&fc, &ps, "fc", 3, 2, 1, &rng);
    nn_rbm_to_linear(&rbm, &fc);
    nn_graph *g = nn_graph_new();
    const nn_real v[6] = {1, 0, 1, 0, 1, 0};
    nn_tensor *ph = nn_sigmoid(g, nn_linear(g, &fc, nn_graph_input(g, v, 2, 2, 3)));
    nn_real want[4];
    nn_rbm_hidden_probs(&rbm, want, v, 2);
    nn_test_assert_close(ph->data, want, 4, 1e-6, 0, "sigmoid(Linear) = p(h|v)");
    nn_graph_free(g);
    nn_params_free(&ps);
    nn_rbm_free(&rbm);
}

static void test_bad_input(void **state)
{
    (void)state;
    nn_rng rng;
    nn_rng_seed(&rng, 1);
    nn_rbm rbm, blank;
    memset(&blank, 0, sizeof blank);
    hand_rbm(&rbm);
    nn_real v[3] = {1, 0, 1}, out[6];
    EXPECT_FAIL(nn_rbm_init(&blank, 0, 2, &rng), "need visible >= 1 and hidden >= 1 units, got 0 x 2");
    EXPECT_FAIL(nn_rbm_init(&blank, 3, -1, &rng), "got 3 x -1");
    EXPECT_FAIL(nn_rbm_cd_step(&blank, v, 1, 1, 0.1f, &rng), "nn_rbm_cd_step: the RBM is not initialised");
    EXPECT_FAIL(nn_rbm_hidden_probs(&blank, out, v, 1), "not initialised");
    EXPECT_FAIL(nn_rbm_cd_step(&rbm, v, 0, 1, 0.1f, &rng), "need at least one example (n >= 1), got n = 0");
    EXPECT_FAIL(nn_rbm_cd_step(&rbm, v, 1, 0, 0.1f, &rng), "k (Gibbs steps) must be >= 1, got 0");
    EXPECT_FAIL(nn_rbm_cd_step(&rbm, v, 1, 1, NAN, &rng), "lr must be a finite number >= 0");
    EXPECT_FAIL(nn_rbm_cd_step(&rbm, v, 1, 1, -0.1f, &rng), "lr must be a finite number >= 0");
    EXPECT_FAIL(nn_rbm_visible_probs(&rbm, out, v, -2), "got n = -2");
    EXPECT_FAIL(nn_rbm_gibbs(&rbm, v, NULL, 1, -1, &rng), "steps must be >= 0, got -1");
    rbm.momentum = 1;
    EXPECT_FAIL(nn_rbm_cd_step(&rbm, v, 1, 1, 0.1f, &rng), "need 0 <= momentum < 1");
    rbm.momentum = 0;
    v[1] = 2;
    EXPECT_FAIL(nn_rbm_cd_step(&rbm, v, 1, 1, 0.1f, &rng),
                "v0 value 1 (example 0, unit 1) is 2, outside [0,1]");
    EXPECT_FAIL(nn_rbm_free_energy(&rbm, NULL, v, 1), "nn_rbm_free_energy: v value 1");
    EXPECT_FAIL(nn_rbm_init_visible_bias(&rbm, v, 1), "outside [0,1]");
    v[1] = NAN;
    EXPECT_FAIL(nn_rbm_reconstruct(&rbm, NULL, v, 1), "is nan, outside [0,1]");
    nn_real p[2] = {0.5f, 1.5f};
    EXPECT_FAIL(nn_rng_fill_bernoulli(&rng, out, p, 2), "p[1] = 1.5 is not a probability in [0,1]");
    EXPECT_FAIL(nn_rng_fill_bernoulli(NULL, out, p, 2), "NULL array or generator");
    /* the Linear layer must have the RBM's shape: in 3 -> out 2, with a bias */
    nn_params ps;
    nn_params_init(&ps);
    nn_linear_layer wrong, nobias;
    nn_linear_init(&wrong, &ps, "wrong", 2, 3, 1, &rng);
    nn_linear_init(&nobias, &ps, "nobias", 3, 2, 0, &rng);
    EXPECT_FAIL(nn_rbm_to_linear(&rbm, &wrong),
                "an RBM with 3 visible and 2 hidden units needs a Linear layer in 3 -> out 2 "
                "with a bias, got in 2 -> out 3");
    EXPECT_FAIL(nn_rbm_to_linear(&rbm, &nobias), "got in 3 -> out 2 without a bias");
    nn_params_free(&ps);
    nn_rbm_free(&rbm);
}

/* the visible bias starts at the log-odds of each pixel: p = 1/4 -> log(1/3) = -1.098612 */
static void test_visible_bias_init(void **state)
{
    (void)state;
    nn_rbm rbm;
    hand_rbm(&rbm);
    const nn_real data[12] = {1, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1}; /* columns: 1/4, 0, 1 */
    nn_rbm_init_visible_bias(&rbm, data, 4);
    /* p = 0 and p = 1 are clamped to 0.001 and 0.999: log(0.001/0.999) = -6.906755 */
    const nn_real want[3] = {(nn_real)-LN3, -6.906755f, 6.906755f};
    nn_test_assert_close(rbm.vbias, want, 3, 1e-5, 0, "visible bias = log-odds");
    nn_rbm_free(&rbm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conditionals_by_hand),
        cmocka_unit_test(test_free_energy_by_hand),
        cmocka_unit_test(test_cd1_sampled_by_hand),
        cmocka_unit_test(test_cd1_mean_field_by_hand),
        cmocka_unit_test(test_free_energy_brute_force),
        cmocka_unit_test(test_momentum_and_weight_decay),
        cmocka_unit_test(test_draw_counts),
        cmocka_unit_test(test_cd1_learns_two_patterns),
        cmocka_unit_test(test_bernoulli_sampler),
        cmocka_unit_test(test_to_linear),
        cmocka_unit_test(test_visible_bias_init),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests_name("restricted Boltzmann machine", tests, NULL, NULL);
}
