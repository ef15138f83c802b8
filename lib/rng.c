/* rng.c -- xoshiro256** (Blackman & Vigna), seeded by splitmix64: small, fast, and the same
 * numbers on every machine for the same seed. */
#include "nn.h"

#include <math.h>
#include <stdlib.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void nn_rng_seed(nn_rng *rng, uint64_t seed)
{
    for (int i = 0; i < 4; i++) rng->s[i] = splitmix64(&seed);
    rng->has_spare = 0;
    rng->spare = 0;
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t nn_rng_u64(nn_rng *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* the top 53 bits as a double in [0, 1) */
double nn_rng_uniform(nn_rng *rng) { return (double)(nn_rng_u64(rng) >> 11) * 0x1.0p-53; }

/* Box-Muller: two uniforms give two independent standard normals */
double nn_rng_normal(nn_rng *rng)
{
    if (rng->has_spare) {
        rng->has_spare = 0;
        return rng->spare;
    }
    double u1, u2 = nn_rng_uniform(rng);
    do u1 = nn_rng_uniform(rng); while (u1 <= 0.0);
    double r = sqrt(-2.0 * log(u1)), theta = 2.0 * M_PI * u2;
    rng->spare = r * sin(theta);
    rng->has_spare = 1;
    return r * cos(theta);
}

/* unbiased: reject the top sliver of values that would favour small results */
int nn_rng_int(nn_rng *rng, int n)
{
    if (n <= 0) nn_fail("nn_rng_int: n must be positive, got %d", n);
    uint64_t limit = UINT64_MAX - UINT64_MAX % (uint64_t)n, x;
    do x = nn_rng_u64(rng); while (x >= limit);
    return (int)(x % (uint64_t)n);
}

void nn_rng_shuffle(nn_rng *rng, int *a, int n)
{
    for (int i = n - 1; i > 0; i--) {
        int j = nn_rng_int(rng, i + 1), t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

void nn_rng_permutation(nn_rng *rng, int *a, int n)
{
    for (int i = 0; i < n; i++) a[i] = i;
    nn_rng_shuffle(rng, a, n);
}

void nn_rng_fill_uniform(nn_rng *rng, nn_real *x, size_t n, double lo, double hi)
{
    for (size_t i = 0; i < n; i++) x[i] = (nn_real)(lo + (hi - lo) * nn_rng_uniform(rng));
}

void nn_rng_fill_normal(nn_rng *rng, nn_real *x, size_t n, double mean, double std)
{
    for (size_t i = 0; i < n; i++) x[i] = (nn_real)(mean + std * nn_rng_normal(rng));
}

void nn_rng_fill_bernoulli(nn_rng *rng, nn_real *out, const nn_real *p, size_t n)
{
    if (n && (!out || !p || !rng)) nn_fail("nn_rng_fill_bernoulli: NULL array or generator");
    for (size_t i = 0; i < n; i++) {
        if (!(p[i] >= 0 && p[i] <= 1)) /* NaN fails here too */
            nn_fail("nn_rng_fill_bernoulli: p[%zu] = %g is not a probability in [0,1]", i,
                    (double)p[i]);
        out[i] = nn_rng_uniform(rng) < (double)p[i] ? 1 : 0;
    }
}

static int compare_descending(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

int nn_rng_sample_logits(nn_rng *rng, const nn_real *logits, int n, double temperature, int top_k)
{
    if (n < 1) nn_fail("nn_rng_sample_logits: n must be positive, got %d", n);
    if (!(temperature > 0) || !isfinite(temperature))
        nn_fail("nn_rng_sample_logits: temperature must be positive, got %g", temperature);
    if (top_k < 0 || top_k > n)
        nn_fail("nn_rng_sample_logits: top_k must be in 0..%d (0: all), got %d", n, top_k);
    for (int i = 0; i < n; i++)
        if (!isfinite((double)logits[i]))
            nn_fail("nn_rng_sample_logits: logit %d is not finite (%g)", i, (double)logits[i]);
    double *p = nn_malloc((size_t)n * sizeof *p);
    for (int i = 0; i < n; i++) p[i] = logits[i];
    /* the k-th largest logit is the threshold: smaller ones get probability 0 */
    double threshold = -INFINITY, zmax = -INFINITY;
    if (top_k > 0 && top_k < n) {
        qsort(p, (size_t)n, sizeof *p, compare_descending);
        threshold = p[top_k - 1];
    }
    for (int i = 0; i < n; i++) zmax = fmax(zmax, (double)logits[i]);
    /* p_i = exp((z_i - z_max) / T) over the kept logits; dividing by their sum is implicit */
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += p[i] = logits[i] >= threshold ? exp((logits[i] - zmax) / temperature) : 0;
    double u = nn_rng_uniform(rng) * sum;
    int pick = -1;
    for (int i = 0; i < n && pick < 0; i++)
        if (p[i] > 0 && (u -= p[i]) < 0) pick = i;
    if (pick < 0) /* rounding left u >= 0 after the last term: take the last kept logit */
        for (int i = n - 1; i >= 0 && pick < 0; i--)
            if (p[i] > 0) pick = i;
    free(p);
    return pick;
}
