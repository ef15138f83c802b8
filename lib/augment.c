/* augment.c -- data augmentation for images: new training examples that keep their label.
 * Images are (channels, h, w) row-major, n of them back to back. Each image draws its own
 * random numbers from rng in order, so a seed reproduces the same augmented batch. */
#include "nn.h"

#include <stdlib.h>
#include <string.h>

static void check_geometry(const char *fn, int n, int channels, int h, int w)
{
    if (n < 0 || channels < 1 || h < 1 || w < 1)
        nn_fail("%s: bad image geometry n=%d channels=%d h=%d w=%d", fn, n, channels, h, w);
}

/* Random translation: draw dy, dx uniform in -max_shift..max_shift and set
 *   out[c, i, j] = in[c, i - dy, j - dx]   (0 where that falls outside the image),
 * i.e. zero-pad by max_shift on every side and crop an h x w window at a random offset. */
void nn_augment_shift(nn_real *out, const nn_real *in, int n, int channels, int h, int w,
                      int max_shift, nn_rng *rng)
{
    check_geometry("nn_augment_shift", n, channels, h, w);
    if (max_shift < 0) nn_fail("nn_augment_shift: max_shift must be >= 0, got %d", max_shift);
    size_t plane = (size_t)h * w, image = plane * (size_t)channels;
    nn_real *tmp = nn_malloc(image * sizeof(nn_real)); /* lets out == in */
    for (int k = 0; k < n; k++) {
        int dy = nn_rng_int(rng, 2 * max_shift + 1) - max_shift;
        int dx = nn_rng_int(rng, 2 * max_shift + 1) - max_shift;
        const nn_real *src = in + (size_t)k * image;
        for (int c = 0; c < channels; c++)
            for (int i = 0; i < h; i++)
                for (int j = 0; j < w; j++) {
                    int si = i - dy, sj = j - dx;
                    tmp[c * plane + (size_t)i * w + j] =
                        si >= 0 && si < h && sj >= 0 && sj < w ? src[c * plane + (size_t)si * w + sj] : 0;
                }
        memcpy(out + (size_t)k * image, tmp, image * sizeof(nn_real));
    }
    free(tmp);
}

/* Horizontal flip with probability p: out[c, i, j] = in[c, i, w-1-j]. A mirrored shirt is
 * still a shirt (but a mirrored digit may not be a digit: choose augmentations per task). */
void nn_augment_flip(nn_real *out, const nn_real *in, int n, int channels, int h, int w,
                     double p, nn_rng *rng)
{
    check_geometry("nn_augment_flip", n, channels, h, w);
    if (!(p >= 0 && p <= 1)) nn_fail("nn_augment_flip: p must be in [0,1], got %g", p);
    size_t rows = (size_t)channels * h;
    for (int k = 0; k < n; k++) {
        int flip = nn_rng_uniform(rng) < p;
        for (size_t r = 0; r < rows; r++) {
            const nn_real *src = in + ((size_t)k * rows + r) * w;
            nn_real *dst = out + ((size_t)k * rows + r) * w;
            if (!flip) {
                if (dst != src) memcpy(dst, src, (size_t)w * sizeof(nn_real));
                continue;
            }
            for (int j = 0; j <= (w - 1) / 2; j++) { /* swap pairs: works in place too */
                nn_real a = src[j], b = src[w - 1 - j];
                dst[j] = b;
                dst[w - 1 - j] = a;
            }
        }
    }
}
