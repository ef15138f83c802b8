/* progress.c -- a progress bar on stderr, drawn only when stderr is a terminal (logs and tests
 * stay clean). */
#include "nn.h"

#include <unistd.h>

void nn_progress_start(nn_progress *p, const char *label, long total)
{
    p->label = label;
    p->total = total > 0 ? total : 1;
    p->done = 0;
    p->start = nn_seconds();
    p->last_draw = 0;
    p->tty = isatty(2);
}

static void draw(nn_progress *p, const char *status)
{
    enum { WIDTH = 30 };
    double elapsed = nn_seconds() - p->start, frac = (double)p->done / (double)p->total;
    int filled = (int)(frac * WIDTH);
    char bar[WIDTH + 1];
    for (int i = 0; i < WIDTH; i++) bar[i] = i < filled ? '#' : '.';
    bar[WIDTH] = 0;
    double eta = frac > 0 ? elapsed * (1 - frac) / frac : 0;
    fprintf(stderr, "\r%s [%s] %3.0f%% %ld/%ld %.1fs eta %.1fs %s\033[K", p->label, bar,
            100 * frac, p->done, p->total, elapsed, eta, status ? status : "");
    fflush(stderr);
}

void nn_progress_update(nn_progress *p, long done, const char *status)
{
    p->done = done;
    if (!p->tty) return;
    double now = nn_seconds();
    if (now - p->last_draw < 0.1 && done < p->total) return; /* at most ~10 redraws a second */
    p->last_draw = now;
    draw(p, status);
}

void nn_progress_finish(nn_progress *p)
{
    if (!p->tty) return;
    p->done = p->total;
    draw(p, NULL);
    fprintf(stderr, "\r\033[K"); /* leave the line clean for the lesson's own summary */
    fflush(stderr);
}
