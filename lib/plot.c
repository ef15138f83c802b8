/* plot.c -- figures through gnuplot. Each figure is DIR/NAME.dat (the numbers) and
 * DIR/NAME.gp (a readable script); when gnuplot is installed it renders DIR/NAME.png at once,
 * otherwise the two files wait for `gnuplot NAME.gp`. */
#include "nn.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* strong colours for points and lines, pale ones for decision regions (ColorBrewer Set1/Pastel1) */
static const char *strong[] = {"#e41a1c", "#377eb8", "#4daf4a", "#984ea3", "#ff7f00",
                               "#a65628", "#f781bf", "#999999", "#17becf", "#bcbd22"};
static const char *pale[] = {"#fbb4ae", "#b3cde3", "#ccebc5", "#decbe4", "#fed9a6",
                             "#e5d8bd", "#fddaec", "#f2f2f2", "#c7eef3", "#eef0b0"};
enum { NCOLORS = 10 };

int nn_plot_have_gnuplot(void)
{
    static int known = -1;
    if (known < 0) known = system("command -v gnuplot >/dev/null 2>&1") == 0;
    return known;
}

static FILE *open_file(const char *dir, const char *name, const char *ext, char *path, size_t len)
{
    nn_io_mkdir_p(dir);
    snprintf(path, len, "%s/%s.%s", dir, name, ext);
    FILE *f = fopen(path, "w");
    if (!f) nn_fail("%s: cannot write: %s", path, strerror(errno));
    return f;
}

static void close_file(FILE *f, const char *path)
{
    if (ferror(f) | fclose(f)) nn_fail("%s: write failed", path);
}

/* a gnuplot string literal: quotes and backslashes escaped, newlines as \n */
static const char *quoted(const char *s, char *buf, size_t len)
{
    size_t at = 0;
    buf[at++] = '"';
    for (; s && *s && at + 3 < len; s++) {
        if (*s == '"' || *s == '\\' || *s == '\n') buf[at++] = '\\';
        buf[at++] = *s == '\n' ? 'n' : *s; /* "\n" is a line break inside gnuplot's "..." */
    }
    buf[at++] = '"';
    buf[at] = 0;
    return buf;
}

static FILE *script_start(const char *dir, const char *name, char *path, size_t len, int w, int h)
{
    FILE *gp = open_file(dir, name, "gp", path, len);
    fprintf(gp, "# render with: gnuplot %s.gp  (from this directory)\n", name);
    fprintf(gp, "set terminal pngcairo size %d,%d enhanced font 'sans,11'\n", w, h);
    fprintf(gp, "set output '%s.png'\n", name);
    return gp;
}

/* run gnuplot NAME.gp inside DIR; its chatter goes to DIR/NAME.log */
static void render(const char *dir, const char *name)
{
    if (!nn_plot_have_gnuplot()) {
        static int told;
        if (!told++)
            fprintf(stderr, "note: gnuplot not found; figures written as %s/*.gp + .dat -- render "
                            "with: cd %s && gnuplot %s.gp  (sudo apt-get install gnuplot-nox)\n",
                    dir, dir, name);
        return;
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) nn_fail("nn_plot: fork failed: %s", strerror(errno));
    if (pid == 0) {
        char script[512], log[512];
        snprintf(script, sizeof script, "%s.gp", name);
        snprintf(log, sizeof log, "%s.log", name);
        if (chdir(dir) != 0) _exit(127);
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execlp("gnuplot", "gnuplot", script, (char *)NULL);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    char log[1024];
    snprintf(log, sizeof log, "%s/%s.log", dir, name);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fprintf(stderr, "warning: gnuplot could not render %s/%s.gp (see %s)\n", dir, name, log);
    else
        remove(log);
}

void nn_plot_lines(const char *dir, const char *name, const char *title, const char *xlabel,
                   const char *ylabel, const nn_plot_series *series, int nseries, int logy)
{
    char path[1024], q[512];
    FILE *dat = open_file(dir, name, "dat", path, sizeof path);
    for (int s = 0; s < nseries; s++) {
        fprintf(dat, "# series %d: %s\n# x y\n", s, series[s].label ? series[s].label : "");
        for (int i = 0; i < series[s].n; i++)
            fprintf(dat, "%.6g %.6g\n", series[s].x ? series[s].x[i] : (double)i, series[s].y[i]);
        if (series[s].n == 0) fprintf(dat, "NaN NaN\n"); /* an empty block would merge indexes */
        fprintf(dat, "\n\n"); /* two blank lines: the next gnuplot `index` */
    }
    close_file(dat, path);

    FILE *gp = script_start(dir, name, path, sizeof path, 900, 560);
    fprintf(gp, "set title %s\n", quoted(title, q, sizeof q));
    fprintf(gp, "set xlabel %s\n", quoted(xlabel, q, sizeof q));
    fprintf(gp, "set ylabel %s\n", quoted(ylabel, q, sizeof q));
    fprintf(gp, "set grid lc rgb '#dddddd'\nset key outside right top\n");
    if (logy) fprintf(gp, "set logscale y\n");
    fprintf(gp, "plot \\\n");
    for (int s = 0; s < nseries; s++)
        fprintf(gp, "  '%s.dat' index %d using 1:2 with lines lw 2 lc rgb '%s' title %s%s\n", name,
                s, strong[s % NCOLORS], quoted(series[s].label, q, sizeof q),
                s + 1 < nseries ? ", \\" : "");
    close_file(gp, path);
    render(dir, name);
}

static int max_label(const int *labels, int n)
{
    int k = 0;
    for (int i = 0; i < n; i++) k = labels[i] > k ? labels[i] : k;
    return k;
}

/* points grouped by class, one gnuplot index per class */
static void write_points(FILE *dat, const nn_real *points, const int *labels, int n, int classes)
{
    for (int c = 0; c < classes; c++) {
        fprintf(dat, "# class %d: x y\n", c);
        for (int i = 0; i < n; i++)
            if (labels[i] == c)
                fprintf(dat, "%.6g %.6g\n", (double)points[2 * i], (double)points[2 * i + 1]);
        fprintf(dat, "\n\n");
    }
}

static void plot_points(FILE *gp, const char *file, int first_index, int classes, int outline,
                        const char *const *class_names)
{
    for (int c = 0; c < classes; c++) {
        char title[64], q[160];
        if (class_names)
            snprintf(title, sizeof title, "%s", class_names[c]);
        else
            snprintf(title, sizeof title, "class %d", c);
        if (outline)
            fprintf(gp, "  '%s' index %d using 1:2 with points pt 7 ps 0.9 lc rgb 'black' notitle, \\\n",
                    file, first_index + c);
        fprintf(gp, "  '%s' index %d using 1:2 with points pt 7 ps 0.6 lc rgb '%s' title %s%s\n",
                file, first_index + c, strong[c % NCOLORS], quoted(title, q, sizeof q),
                c + 1 < classes ? ", \\" : "");
    }
}

void nn_plot_scatter(const char *dir, const char *name, const char *title,
                     const nn_real *points, const int *labels, int n,
                     const char *const *class_names)
{
    char path[1024], q[512], file[600];
    int classes = max_label(labels, n) + 1;
    FILE *dat = open_file(dir, name, "dat", path, sizeof path);
    write_points(dat, points, labels, n, classes);
    close_file(dat, path);
    FILE *gp = script_start(dir, name, path, sizeof path, 800, 700);
    fprintf(gp, "set title %s\nset key outside right top\nset grid lc rgb '#eeeeee'\nplot \\\n",
            quoted(title, q, sizeof q));
    snprintf(file, sizeof file, "%s.dat", name);
    plot_points(gp, file, 0, classes, 0, class_names);
    close_file(gp, path);
    render(dir, name);
}

void nn_plot_boundary(const char *dir, const char *name, const char *title,
                      const int *grid_class, int gw, int gh, double x0, double x1, double y0,
                      double y1, const nn_real *points, const int *labels, int n)
{
    char path[1024], q[512], file[600];
    int classes = max_label(labels, n) + 1;
    for (int i = 0; i < gw * gh; i++) classes = grid_class[i] + 1 > classes ? grid_class[i] + 1 : classes;
    FILE *dat = open_file(dir, name, "dat", path, sizeof path);
    fprintf(dat, "# predicted class on a %d x %d grid: x y class\n", gw, gh);
    for (int j = 0; j < gh; j++) {
        double y = y0 + (y1 - y0) * (j + 0.5) / gh;
        for (int i = 0; i < gw; i++)
            fprintf(dat, "%.6g %.6g %d\n", x0 + (x1 - x0) * (i + 0.5) / gw, y, grid_class[j * gw + i]);
        fprintf(dat, "\n");
    }
    fprintf(dat, "\n");
    write_points(dat, points, labels, n, classes);
    close_file(dat, path);

    FILE *gp = script_start(dir, name, path, sizeof path, 800, 700);
    fprintf(gp, "set title %s\nset key outside right top\nunset colorbox\n", quoted(title, q, sizeof q));
    fprintf(gp, "set xrange [%g:%g]\nset yrange [%g:%g]\nset cbrange [-0.5:%d.5]\n", x0, x1, y0, y1,
            classes - 1);
    fprintf(gp, "set palette maxcolors %d\nset palette defined (", classes);
    for (int c = 0; c < classes; c++)
        fprintf(gp, "%d '%s'%s", c, pale[c % NCOLORS], c + 1 < classes ? ", " : ")\n");
    if (classes == 1) fprintf(gp, "\n");
    snprintf(file, sizeof file, "%s.dat", name);
    fprintf(gp, "plot '%s' index 0 using 1:2:3 with image notitle, \\\n", file);
    plot_points(gp, file, 1, classes, 1, NULL);
    close_file(gp, path);
    render(dir, name);
}

void nn_plot_images(const char *dir, const char *name, const char *title,
                    const nn_real *images, int count, int h, int w, int cols, int normalize)
{
    char path[1024], q[512];
    if (count < 1 || h < 1 || w < 1) nn_fail("nn_plot_images: %s: nothing to draw", name);
    if (cols < 1) cols = 1;
    if (cols > count) cols = count;
    int rows = (count + cols - 1) / cols, gap = 1;
    int W = cols * (w + gap) - gap, H = rows * (h + gap) - gap;
    const double gap_value = -1; /* drawn in the page colour, apart from the images' 0..1 */
    double *canvas = nn_malloc(nn_size_mul((size_t)W * (size_t)H, sizeof *canvas, "nn_plot_images"));
    for (int i = 0; i < W * H; i++) canvas[i] = gap_value;
    for (int k = 0; k < count; k++) {
        const nn_real *img = images + (size_t)k * h * w;
        double lo = 0, hi = 1;
        if (normalize) {
            lo = hi = img[0];
            for (int i = 1; i < h * w; i++) {
                lo = fmin(lo, img[i]);
                hi = fmax(hi, img[i]);
            }
            if (hi - lo < 1e-12) hi = lo + 1;
        }
        int r0 = (k / cols) * (h + gap), c0 = (k % cols) * (w + gap);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                double v = ((double)img[y * w + x] - lo) / (hi - lo);
                canvas[(r0 + y) * W + c0 + x] = v < 0 ? 0 : v > 1 ? 1 : v;
            }
    }
    FILE *dat = open_file(dir, name, "dat", path, sizeof path);
    fprintf(dat, "# %d images of %dx%d in a %d-column grid, grey values 0..1, -1 between images\n",
            count, h, w, cols);
    for (int y = 0; y < H; y++) {
        for (int x = 0; x < W; x++) fprintf(dat, x ? " %.4g" : "%.4g", canvas[y * W + x]);
        fprintf(dat, "\n");
    }
    close_file(dat, path);
    free(canvas);

    /* about 4 screen pixels per image pixel, within reason */
    int scale = 4, pw = W * scale + 60, ph = H * scale + 80;
    while ((pw > 1600 || ph > 1600) && scale > 1) {
        scale--;
        pw = W * scale + 60;
        ph = H * scale + 80;
    }
    FILE *gp = script_start(dir, name, path, sizeof path, pw < 300 ? 300 : pw, ph < 200 ? 200 : ph);
    fprintf(gp, "set title %s\nunset key\nunset colorbox\nunset border\nunset tics\n",
            quoted(title, q, sizeof q));
    fprintf(gp, "set size ratio -1\nset xrange [-0.5:%d.5]\nset yrange [%d.5:-0.5]\n", W - 1, H - 1);
    fprintf(gp, "set cbrange [-1:1]\nset palette defined (-1 'white', -0.001 'white', 0 'black', 1 'white')\n");
    fprintf(gp, "plot '%s.dat' matrix with image\n", name);
    close_file(gp, path);
    render(dir, name);
}

/* ------------------------------------------------------------------------------------------ */
/* heat maps: a matrix of numbers as coloured cells, e.g. a confusion matrix                   */
/* ------------------------------------------------------------------------------------------ */

/* tics ("name0" 0, "name1" 1, ...) or plain indices when names is NULL */
static void write_tics(FILE *gp, const char *axis, const char *const *names, int count,
                       const char *extra)
{
    char q[512];
    if (!names) {
        fprintf(gp, "set %stics 0,1,%d %s\n", axis, count - 1, extra);
        return;
    }
    fprintf(gp, "set %stics (", axis);
    for (int i = 0; i < count; i++)
        fprintf(gp, "%s %d%s", quoted(names[i], q, sizeof q), i, i + 1 < count ? ", " : "");
    fprintf(gp, ") %s\n", extra);
}

/* DIR/NAME.dat holds one line per cell, "col row colour text", a blank line after each row;
 * colour picks the cell's shade on [lo, hi], text is printed in it with cell_format */
static void heatmap(const char *dir, const char *name, const char *title, const char *xlabel,
                    const char *ylabel, const double *colour, const double *text, int rows,
                    int cols, double lo, double hi, const char *cblabel,
                    const char *const *row_names, const char *const *col_names,
                    const char *cell_format)
{
    char path[1024], q[512];
    FILE *dat = open_file(dir, name, "dat", path, sizeof path);
    fprintf(dat, "# heat map %d rows x %d cols: col row colour text (row 0 drawn at the top)\n",
            rows, cols);
    for (int r = 0; r < rows; r++) {
        for (int c = 0; c < cols; c++)
            fprintf(dat, "%d %d %.6g %.6g\n", c, r, colour[r * cols + c], text[r * cols + c]);
        fprintf(dat, "\n");
    }
    close_file(dat, path);

    int pw = 220 + cols * 64, ph = 200 + rows * 52;
    FILE *gp = script_start(dir, name, path, sizeof path, pw < 500 ? 500 : pw, ph < 400 ? 400 : ph);
    fprintf(gp, "set title %s\n", quoted(title, q, sizeof q));
    fprintf(gp, "set xlabel %s\n", quoted(xlabel, q, sizeof q));
    fprintf(gp, "set ylabel %s\nunset key\n", quoted(ylabel, q, sizeof q));
    fprintf(gp, "set xrange [-0.5:%d.5]\nset yrange [%d.5:-0.5]\n", cols - 1, rows - 1);
    write_tics(gp, "x", col_names, cols, "rotate by 40 right scale 0");
    write_tics(gp, "y", row_names, rows, "scale 0");
    if (!(hi > lo)) hi = lo + 1;
    fprintf(gp, "set cbrange [%.6g:%.6g]\n", lo, hi);
    if (cblabel) fprintf(gp, "set cblabel %s\n", quoted(cblabel, q, sizeof q));
    fprintf(gp, "set palette defined (0 '#ffffff', 1 '#c6dbef', 2 '#4292c6', 3 '#08306b')\n");
    fprintf(gp, "plot '%s.dat' using 1:2:3 with image", name);
    if (cell_format) {
        double mid = lo + 0.55 * (hi - lo); /* white text on the dark cells */
        const char *f = quoted(cell_format, q, sizeof q);
        fprintf(gp, ", \\\n  '' using 1:2:($3 > %.6g ? sprintf(%s, $4) : \"\") with labels "
                    "tc rgb 'white', \\\n", mid, f);
        fprintf(gp, "  '' using 1:2:($3 > %.6g ? \"\" : sprintf(%s, $4)) with labels "
                    "tc rgb 'black'", mid, f);
    }
    fprintf(gp, "\n");
    close_file(gp, path);
    render(dir, name);
}

void nn_plot_heatmap(const char *dir, const char *name, const char *title, const char *xlabel,
                     const char *ylabel, const double *values, int rows, int cols,
                     const char *const *row_names, const char *const *col_names,
                     const char *cell_format)
{
    if (rows < 1 || cols < 1)
        nn_fail("nn_plot_heatmap: %s: needs at least one cell, got %d x %d", name, rows, cols);
    double lo = values[0], hi = values[0];
    for (int i = 0; i < rows * cols; i++) {
        if (!isfinite(values[i]))
            nn_fail("nn_plot_heatmap: %s: value %d (row %d, col %d) is not finite", name, i,
                    i / cols, i % cols);
        lo = fmin(lo, values[i]);
        hi = fmax(hi, values[i]);
    }
    heatmap(dir, name, title, xlabel, ylabel, values, values, rows, cols, lo, hi, NULL,
            row_names, col_names, cell_format);
}

/* colour: cm[t,p] / (row sum of t), on [0,1]; text: the count */
void nn_plot_confusion(const char *dir, const char *name, const char *title, const int *cm,
                       int classes, const char *const *class_names)
{
    if (classes < 1) nn_fail("nn_plot_confusion: %s: classes must be at least 1, got %d", name, classes);
    for (int i = 0; i < classes * classes; i++)
        if (cm[i] < 0) nn_fail("nn_plot_confusion: %s: entry %d is negative (%d)", name, i, cm[i]);
    size_t cells = (size_t)classes * classes;
    double *fraction = nn_malloc(cells * sizeof *fraction), *count = nn_malloc(cells * sizeof *count);
    for (int t = 0; t < classes; t++) {
        long row = 0;
        for (int p = 0; p < classes; p++) row += cm[t * classes + p];
        for (int p = 0; p < classes; p++) {
            count[t * classes + p] = cm[t * classes + p];
            fraction[t * classes + p] = row ? (double)cm[t * classes + p] / row : 0;
        }
    }
    heatmap(dir, name, title, "predicted class", "true class", fraction, count, classes, classes,
            0, 1, "fraction of the true class (row)", class_names, class_names, "%.0f");
    free(fraction), free(count);
}

/* Curves and data together: `lines` drawn as lines (e.g. fitted models), `points` as markers
 * (e.g. the training data); the .dat holds the lines' series first, then the points'. */
void nn_plot_lines_points(const char *dir, const char *name, const char *title,
                          const char *xlabel, const char *ylabel, const nn_plot_series *lines,
                          int nlines, const nn_plot_series *points, int npoints)
{
    char path[1024], q[512];
    if (nlines + npoints < 1) nn_fail("nn_plot_lines_points: %s: nothing to draw", name);
    FILE *dat = open_file(dir, name, "dat", path, sizeof path);
    for (int s = 0; s < nlines + npoints; s++) {
        const nn_plot_series *p = s < nlines ? &lines[s] : &points[s - nlines];
        fprintf(dat, "# %s %d: %s\n# x y\n", s < nlines ? "line" : "points", s,
                p->label ? p->label : "");
        for (int i = 0; i < p->n; i++)
            fprintf(dat, "%.6g %.6g\n", p->x ? p->x[i] : (double)i, p->y[i]);
        if (p->n == 0) fprintf(dat, "NaN NaN\n"); /* an empty block would merge indexes */
        fprintf(dat, "\n\n");
    }
    close_file(dat, path);

    FILE *gp = script_start(dir, name, path, sizeof path, 900, 560);
    fprintf(gp, "set title %s\n", quoted(title, q, sizeof q));
    fprintf(gp, "set xlabel %s\n", quoted(xlabel, q, sizeof q));
    fprintf(gp, "set ylabel %s\n", quoted(ylabel, q, sizeof q));
    fprintf(gp, "set grid lc rgb '#dddddd'\nset key outside right top\n");
    fprintf(gp, "set offsets graph 0.03, graph 0.03, graph 0.05, graph 0.05\n"); /* no marker on the frame */
    fprintf(gp, "plot \\\n");
    for (int s = 0; s < nlines + npoints; s++) {
        const nn_plot_series *p = s < nlines ? &lines[s] : &points[s - nlines];
        const char *colour = s < nlines ? strong[s % NCOLORS] : "black";
        if (s >= nlines && npoints > 1) colour = strong[(s - nlines) % NCOLORS];
        fprintf(gp, "  '%s.dat' index %d using 1:2 with %s lc rgb '%s' title %s%s\n", name, s,
                s < nlines ? "lines lw 2" : "points pt 7 ps 1", colour,
                quoted(p->label, q, sizeof q), s + 1 < nlines + npoints ? ", \\" : "");
    }
    close_file(gp, path);
    render(dir, name);
}
