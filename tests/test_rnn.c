/* test_rnn.c -- the sequence layers and the text loader, in the float build: embedding and
 * slice values, one step of each cell worked out by hand from its equations, the cells against
 * a plain scalar implementation of PyTorch's equations (gate order, weight layout), the layer
 * over a sequence, and the corpus loader on good text and on empty, binary, non-UTF-8, short
 * and missing files. */
#include "nn_test.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

NN_TEST_DEFINE_FAIL_HANDLER

NN_TEST_GRAPH_FIXTURE

/* the cells go through the SIMD sigmoid/tanh polynomials: within 1e-5 of the exact values */
#define CLOSE_RNN(t, ...) CLOSE_RTOL(t, 1e-5, __VA_ARGS__)


static void set(nn_tensor *t, const double *v)
{
    for (size_t i = 0; i < t->numel; i++) t->data[i] = (nn_real)v[i];
}

/* ---- embedding and slice ---- */

static void test_embedding_and_slice_values(void **state)
{
    (void)state;
    /* table rows: 0 -> (0, 1), 1 -> (10, 11), 2 -> (20, 21) */
    nn_tensor *w = nn_graph_input(g, (nn_real[]){0, 1, 10, 11, 20, 21}, 2, 3, 2);
    nn_graph_require_grad(g, w);
    int ids[4] = {2, 0, 2, 1};
    nn_tensor *e = nn_embedding_op(g, w, ids, 4);
    assert_int_equal(e->shape[0], 4);
    assert_int_equal(e->shape[1], 2);
    CLOSE_RNN(e, 20, 21, 0, 1, 20, 21, 10, 11);
    ids[0] = 1; /* the op keeps its own copy of the ids */
    /* backward of sum(e * r): row 2 is used twice and gets both rows of r (scatter-add) */
    nn_tensor *r = nn_graph_input(g, (nn_real[]){1, 2, 3, 4, 5, 6, 7, 8}, 2, 4, 2);
    nn_backward(g, nn_sum(g, nn_mul(g, e, r)));
    const nn_real dw[6] = {3, 4, 7, 8, 1 + 5, 2 + 6};
    nn_test_assert_close(w->grad, dw, 6, 0, 0, "embedding gradient");

    /* slices of x (2,3,2) = 0..11 */
    nn_real v[12];
    for (int i = 0; i < 12; i++) v[i] = (nn_real)i;
    nn_tensor *x = nn_graph_input(g, v, 3, 2, 3, 2);
    CLOSE_RNN(nn_slice(g, x, 0, 1, 1), 6, 7, 8, 9, 10, 11);
    CLOSE_RNN(nn_slice(g, x, 1, 1, 2), 2, 3, 4, 5, 8, 9, 10, 11);
    CLOSE_RNN(nn_slice(g, x, 2, 1, 1), 1, 3, 5, 7, 9, 11);
    nn_tensor *m = nn_graph_input(g, v, 2, 3, 4); /* columns 1..2 of a (3,4) matrix */
    CLOSE_RNN(nn_slice(g, m, 1, 1, 2), 1, 2, 5, 6, 9, 10);

    EXPECT_FAIL(nn_embedding_op(g, w, (int[]){0, 3}, 2), "id 3 at position 1 is outside");
    EXPECT_FAIL(nn_embedding_op(g, w, (int[]){-1}, 1), "outside the table's 0..2");
    EXPECT_FAIL(nn_embedding_op(g, x, ids, 1), "must be (vocab, dim)");
    EXPECT_FAIL(nn_slice(g, m, 1, 3, 2), "[3, 5) along axis 1 is not inside (3,4)");
    EXPECT_FAIL(nn_slice(g, m, 2, 0, 1), "axis 2 out of range");
    EXPECT_FAIL(nn_slice(g, m, 0, 0, 0), "is not inside");
}

/* ---- one step of each cell, by hand: input 1, hidden 1, x = 1, h = 1/2 ----
 * Logs make the sigmoids and tanhs come out as fractions:
 *   s(0) = 1/2, s(ln 3) = 3/4, tanh(ln 2) = (2 - 1/2)/(2 + 1/2) = 3/5, tanh(ln 3) = 4/5. */

static nn_rnn_cell hand_cell(nn_params *ps, nn_rnn_kind kind)
{
    nn_rng rng;
    nn_rng_seed(&rng, 1);
    nn_rnn_cell c;
    nn_rnn_cell_init(&c, ps, nn_rnn_kind_name(kind), kind, 1, 1, &rng);
    return c;
}

static void test_rnn_step_by_hand(void **state)
{
    (void)state;
    nn_params ps;
    nn_params_init(&ps);
    nn_rnn_cell c = hand_cell(&ps, NN_RNN_TANH);
    /* pre-activation W_ih x + b_ih + W_hh h + b_hh = (ln 3 - 1) + 0.25 + 2 (1/2) - 0.25 = ln 3 */
    set(c.w_ih, (double[]){log(3.0) - 1}), set(c.b_ih, (double[]){0.25});
    set(c.w_hh, (double[]){2}), set(c.b_hh, (double[]){-0.25});
    nn_tensor *x = nn_graph_input(g, (nn_real[]){1}, 2, 1, 1);
    nn_tensor *h = nn_graph_input(g, (nn_real[]){0.5f}, 2, 1, 1);
    nn_rnn_state s = nn_rnn_cell_step(g, &c, x, (nn_rnn_state){h, NULL});
    CLOSE_RNN(s.h, 0.8f); /* tanh(ln 3) = 4/5 */
    assert_null(s.c);
    nn_params_free(&ps);
}

static void test_lstm_step_by_hand(void **state)
{
    (void)state;
    nn_params ps;
    nn_params_init(&ps);
    nn_rnn_cell c = hand_cell(&ps, NN_RNN_LSTM);
    /* the forget-gate bias starts at 1 (b_ih) + 0 (b_hh); the other biases are random */
    assert_true(c.b_ih->data[1] == 1 && c.b_hh->data[1] == 0);
    assert_int_equal(c.w_ih->shape[0], 4);
    /* blocks in PyTorch's order i, f, g, o. With x = 1, h = 1/2:
     *   W_ih x = (ln 3, 0, ln 2, ln 3),  W_hh h = (2, -2, 0, 2)/2 = (1, -1, 0, 1),
     *   b_ih = (-1, 1, 0, -1), b_hh = 0  ->  z = (ln 3, 0, ln 2, ln 3)
     *   i = 3/4, f = 1/2, g = tanh(ln 2) = 3/5, o = 3/4
     *   c' = f c + i g = 1/2 (0.4) + 3/4 (3/5) = 0.2 + 0.45 = 0.65
     *   h' = o tanh(c') = 0.75 tanh(0.65) */
    set(c.w_ih, (double[]){log(3.0), 0, log(2.0), log(3.0)});
    set(c.w_hh, (double[]){2, -2, 0, 2});
    set(c.b_ih, (double[]){-1, 1, 0, -1});
    set(c.b_hh, (double[]){0, 0, 0, 0});
    nn_tensor *x = nn_graph_input(g, (nn_real[]){1}, 2, 1, 1);
    nn_tensor *h = nn_graph_input(g, (nn_real[]){0.5f}, 2, 1, 1);
    nn_tensor *cp = nn_graph_input(g, (nn_real[]){0.4f}, 2, 1, 1);
    nn_rnn_state s = nn_rnn_cell_step(g, &c, x, (nn_rnn_state){h, cp});
    CLOSE_RNN(s.c, 0.65f);
    CLOSE_RNN(s.h, (nn_real)(0.75 * tanh(0.65)));
    /* from the zero state (NULL h and c): z = W_ih x + b_ih + b_hh = (ln 3 - 1, 1, ln 2, ln 3 - 1),
     *   c' = f 0 + i g = s(ln 3 - 1) 3/5,  h' = o tanh(c') = s(ln 3 - 1) tanh(c') */
    nn_rnn_state z = nn_rnn_cell_step(g, &c, x, (nn_rnn_state){NULL, NULL});
    double sg = 1 / (1 + exp(-(log(3.0) - 1)));
    CLOSE_RNN(z.c, (nn_real)(sg * 0.6));
    CLOSE_RNN(z.h, (nn_real)(sg * tanh(sg * 0.6)));
    nn_params_free(&ps);
}

static void test_gru_step_by_hand(void **state)
{
    (void)state;
    nn_params ps;
    nn_params_init(&ps);
    nn_rnn_cell c = hand_cell(&ps, NN_RNN_GRU);
    assert_int_equal(c.w_ih->shape[0], 3);
    /* blocks r, z, n. With x = 1, h = 1/2:
     *   a = W_ih x + b_ih = (0 - 1, ln 3 + 0, (ln 2 - 1/2) + 0) = (-1, ln 3, ln 2 - 1/2)
     *   b = W_hh h + b_hh = (2 (1/2) + 0, -2 (1/2) + 1, 2 (1/2) + 0) = (1, 0, 1)
     *   r = s(-1 + 1) = 1/2,  z = s(ln 3 + 0) = 3/4
     *   n = tanh(a_n + r b_n) = tanh(ln 2 - 1/2 + 1/2) = 3/5
     *   h' = (1 - z) n + z h = 1/4 (3/5) + 3/4 (1/2) = 0.15 + 0.375 = 0.525 */
    set(c.w_ih, (double[]){0, log(3.0), log(2.0) - 0.5});
    set(c.b_ih, (double[]){-1, 0, 0});
    set(c.w_hh, (double[]){2, -2, 2});
    set(c.b_hh, (double[]){0, 1, 0});
    nn_tensor *x = nn_graph_input(g, (nn_real[]){1}, 2, 1, 1);
    nn_tensor *h = nn_graph_input(g, (nn_real[]){0.5f}, 2, 1, 1);
    nn_rnn_state s = nn_rnn_cell_step(g, &c, x, (nn_rnn_state){h, NULL});
    CLOSE_RNN(s.h, 0.525f);
    nn_params_free(&ps);
}

/* ---- the cells against a scalar implementation of PyTorch's equations ---- */

static double sig(double v) { return 1 / (1 + exp(-v)); }

/* one step for example b: x (in), h and c (H), updated in place; W row r = gate block r / H */
static void reference_step(const nn_rnn_cell *cell, const nn_real *x, double *h, double *c)
{
    const int H = cell->hidden, I = cell->input, R = cell->blocks * H;
    double a[64], bb[64], hn[16];
    for (int r = 0; r < R; r++) {
        a[r] = cell->b_ih->data[r];
        bb[r] = cell->b_hh->data[r];
        for (int k = 0; k < I; k++) a[r] += cell->w_ih->data[r * I + k] * x[k];
        for (int k = 0; k < H; k++) bb[r] += cell->w_hh->data[r * H + k] * h[k];
    }
    for (int j = 0; j < H; j++) {
        if (cell->kind == NN_RNN_TANH) {
            hn[j] = tanh(a[j] + bb[j]);
        } else if (cell->kind == NN_RNN_LSTM) {
            double i = sig(a[j] + bb[j]), f = sig(a[H + j] + bb[H + j]);
            double u = tanh(a[2 * H + j] + bb[2 * H + j]), o = sig(a[3 * H + j] + bb[3 * H + j]);
            c[j] = f * c[j] + i * u;
            hn[j] = o * tanh(c[j]);
        } else {
            double r = sig(a[j] + bb[j]), z = sig(a[H + j] + bb[H + j]);
            double n = tanh(a[2 * H + j] + r * bb[2 * H + j]);
            hn[j] = (1 - z) * n + z * h[j];
        }
    }
    for (int j = 0; j < H; j++) h[j] = hn[j];
}

static const nn_rnn_state zero_state = {NULL, NULL};
static void step_from(const nn_rnn_cell *cell, nn_tensor *x, nn_tensor *h)
{
    nn_rnn_cell_step(g, cell, x, (nn_rnn_state){h, NULL});
}

/* T steps of B examples through the cell and through reference_step, compared at every t */
static void check_reference(nn_rnn_kind kind, int k)
{
    enum { B = 2, I = 3, H = 4, T = 6 };
    {
        nn_params ps;
        nn_params_init(&ps);
        nn_rng rng;
        nn_rng_seed(&rng, 5 + (uint64_t)k);
        nn_rnn_cell cell;
        nn_rnn_cell_init(&cell, &ps, nn_rnn_kind_name(kind), kind, I, H, &rng);
        assert_int_equal(cell.w_hh->shape[1], H);
        nn_real xs_data[T][B * I];
        nn_tensor *xs[T], *hs[T];
        for (int t = 0; t < T; t++) {
            nn_rng_fill_uniform(&rng, xs_data[t], B * I, -2, 2);
            xs[t] = nn_graph_input(g, xs_data[t], 2, B, I);
        }
        nn_rnn_state last = nn_rnn_forward(g, &cell, xs, T, hs, (nn_rnn_state){NULL, NULL});
        assert_ptr_equal(last.h, hs[T - 1]);
        for (int b = 0; b < B; b++) {
            double h[H] = {0}, c[H] = {0};
            for (int t = 0; t < T; t++) {
                reference_step(&cell, xs_data[t] + b * I, h, c);
                nn_real want[H];
                for (int j = 0; j < H; j++) want[j] = (nn_real)h[j];
                char what[64];
                snprintf(what, sizeof what, "%s h_%d of example %d", nn_rnn_kind_name(kind), t, b);
                nn_test_assert_close(hs[t]->data + b * H, want, H, 1e-6, 1e-5, what);
            }
            if (kind == NN_RNN_LSTM) {
                nn_real want[H];
                for (int j = 0; j < H; j++) want[j] = (nn_real)c[j];
                nn_test_assert_close(last.c->data + b * H, want, H, 1e-6, 1e-5, "lstm c_T");
            }
        }
        /* bad shapes are named */
        nn_tensor *wrong = nn_graph_tensor(g, 2, B, I + 1);
        EXPECT_FAIL(step_from(&cell, wrong, NULL), "expected (batch,3)");
        EXPECT_FAIL(step_from(&cell, xs[0], nn_graph_tensor(g, 2, B, H + 1)), "expected (2,4)");
        EXPECT_FAIL(nn_rnn_forward(g, &cell, xs, 0, NULL, zero_state), "at least 1");
        nn_params_free(&ps);
        nn_graph_reset(g);
    }
}

static void test_cells_match_reference(void **state)
{
    (void)state;
    check_reference(NN_RNN_TANH, 0);
    check_reference(NN_RNN_LSTM, 1);
    check_reference(NN_RNN_GRU, 2);
}

/* ---- the text loader ---- */

NN_TEST_TMPDIR_FIXTURE("rnn")

static void write_file(const char *name, const void *data, size_t n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
}

static const char *path_of(const char *name)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    return path;
}

/* text -> ids -> text through nn_text_write */
static void assert_decodes_to(const nn_text *t, const int *ids, long n, const char *expect)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    nn_text_write(f, t, ids, n);
    fclose(f);
    assert_int_equal(len, strlen(expect));
    assert_memory_equal(buf, expect, len);
    free(buf);
}

static void test_text_file(void **state)
{
    (void)state;
    /* 100 lines of "line NN caf\xc3\xa9\r\n" (UTF-8 e-acute, DOS line ends), an overstrike
     * "_\bX" and a bell: the loader keeps "line NN café\n", "X", and drops the bell */
    char text[4096] = "", expect[4096] = "";
    for (int i = 0; i < 100; i++) {
        char line[64];
        snprintf(line, sizeof line, "line %02d caf\xc3\xa9\r\n", i);
        strcat(text, line);
        snprintf(line, sizeof line, "line %02d caf\xc3\xa9\n", i);
        strcat(expect, line);
    }
    strcat(text, "_\bX\a!\n");
    strcat(expect, "X!\n");
    write_file("good.txt", text, strlen(text));
    nn_text t;
    nn_text_load_file(&t, path_of("good.txt"), 0.1);
    const long chars = 100 * 13 + 3; /* "line NN café\n" is 13 characters */
    assert_int_equal(t.ntrain + t.nval, chars);
    assert_int_equal(t.nval, (long)(0.1 * chars)); /* the tail */
    assert_int_equal(t.files, 1);
    assert_int_equal(t.records, 0);
    /* vocabulary: \n space ! 0-9 X a c e f i l n and U+00E9, in code-point order */
    assert_int_equal(t.vocab, 3 + 10 + 1 + 7 + 1);
    assert_int_equal(t.chars[0], '\n');
    assert_int_equal(t.chars[t.vocab - 1], 0xE9);
    assert_int_equal(nn_text_id(&t, 0xE9), t.vocab - 1);
    assert_int_equal(nn_text_id(&t, 'z'), -1);
    assert_int_equal(nn_text_id(&t, '\a'), -1);
    /* train + val decode back to the cleaned text */
    int *all = nn_malloc((size_t)chars * sizeof *all);
    memcpy(all, t.train, (size_t)t.ntrain * sizeof *all);
    memcpy(all + t.ntrain, t.val, (size_t)t.nval * sizeof *all);
    assert_decodes_to(&t, all, chars, expect);
    free(all);

    /* windows: time-major, y is x one character later, inside the chosen part */
    enum { WB = 5, WL = 7 };
    int x[WL * WB], y[WL * WB];
    nn_rng rng;
    nn_rng_seed(&rng, 3);
    for (int part = 0; part < 2; part++) {
        nn_text_windows(&t, part, x, y, WB, WL, &rng);
        const int *src = part ? t.val : t.train;
        long n = part ? t.nval : t.ntrain;
        for (int b = 0; b < WB; b++) {
            for (int s = 0; s + 1 < WL; s++) assert_int_equal(y[s * WB + b], x[(s + 1) * WB + b]);
            long o; /* find the window in the text */
            for (o = 0; o + WL < n; o++)
                if (!memcmp(src + o, (int[]){x[b], x[WB + b], x[2 * WB + b]}, 3 * sizeof(int)) &&
                    src[o + WL] == y[(WL - 1) * WB + b])
                    break;
            assert_true(o + WL < n);
        }
    }
    EXPECT_FAIL(nn_text_windows(&t, 1, x, y, 1, (int)t.nval, &rng), "too few for a window");
    EXPECT_FAIL(nn_text_windows(&t, 0, x, y, 0, 3, &rng), "must be positive");
    int bad_id = t.vocab;
    EXPECT_FAIL(nn_text_write(stdout, &t, &bad_id, 1), "outside the vocabulary");
    nn_text_free(&t);
}

/* train "aaab", validation "ab": p(a) = (3+1)/(4+2), p(b) = (1+1)/(4+2), so the baseline is
 * (-log2(2/3) - log2(1/3)) / 2 = 1.0849625 bits per character */
static void test_unigram_baseline(void **state)
{
    (void)state;
    int train[] = {0, 0, 0, 1}, val[] = {0, 1};
    nn_text t = {.vocab = 2, .train = train, .val = val, .ntrain = 4, .nval = 2,
                 .source = "aaab|ab"};
    assert_float_equal(nn_text_unigram_bpc(&t), (-log2(2 / 3.0) - log2(1 / 3.0)) / 2, 1e-12);
    t.nval = 0;
    EXPECT_FAIL(nn_text_unigram_bpc(&t), "aaab|ab has no training or no validation text");
}

static void test_text_bad_files(void **state)
{
    (void)state;
    nn_text t;
    write_file("empty.txt", "", 0);
    EXPECT_FAIL(nn_text_load_file(&t, path_of("empty.txt"), 0.1), "empty.txt is empty");
    char bin[2000];
    memset(bin, 'a', sizeof bin);
    bin[1500] = 0;
    write_file("binary.bin", bin, sizeof bin);
    EXPECT_FAIL(nn_text_load_file(&t, path_of("binary.bin"), 0.1),
                "binary.bin holds a NUL byte at offset 1500");
    bin[1500] = (char)0xFF; /* never valid in UTF-8 */
    write_file("latin.txt", bin, sizeof bin);
    EXPECT_FAIL(nn_text_load_file(&t, path_of("latin.txt"), 0.1),
                "latin.txt is not UTF-8 text (byte 0xff at offset 1500)");
    bin[1500] = (char)0xC3; /* a lead byte followed by 'a': truncated sequence */
    write_file("cut.txt", bin, sizeof bin);
    EXPECT_FAIL(nn_text_load_file(&t, path_of("cut.txt"), 0.1), "not UTF-8");
    write_file("overlong.txt", "\xc0\xafxyz", 5); /* '/' encoded in two bytes */
    EXPECT_FAIL(nn_text_load_file(&t, path_of("overlong.txt"), 0.1), "not UTF-8");
    write_file("short.txt", "Hello, world.\n", 14);
    EXPECT_FAIL(nn_text_load_file(&t, path_of("short.txt"), 0.1),
                "short.txt holds 14 characters of text; at least 1000");
    EXPECT_FAIL(nn_text_load_file(&t, path_of("missing.txt"), 0.1), "cannot open");
    EXPECT_FAIL(nn_text_load_file(&t, tmpdir, 0.1), "is a directory");
    memset(bin, 'a', sizeof bin);
    write_file("ok.txt", bin, sizeof bin);
    EXPECT_FAIL(nn_text_load_file(&t, path_of("ok.txt"), 1.0), "must be in [0, 1)");
}

static void test_fortune_directory(void **state)
{
    (void)state;
    char fdir[300];
    snprintf(fdir, sizeof fdir, "%s/fortunes", tmpdir);
    assert_int_equal(mkdir(fdir, 0755), 0);
    /* 40 records in two files, 29 characters each with its "%\n"; an index file and a link
     * that must be skipped; an empty record and an empty file that add nothing */
    char a[4096] = "", b[4096] = "";
    for (int i = 0; i < 40; i++) {
        char rec[64];
        snprintf(rec, sizeof rec, "Fortune number %02d is here.\n%%\n", i); /* 27 + 2 */
        strcat(i < 25 ? a : b, rec);
    }
    strcat(a, "%\n"); /* an empty record */
    char path[512];
    snprintf(path, sizeof path, "fortunes/alpha");
    write_file(path, a, strlen(a));
    write_file("fortunes/beta", b, strlen(b) - 2); /* the last record without its "%" */
    write_file("fortunes/alpha.dat", "\0\0\0\2binary", 10);
    write_file("fortunes/empty", "", 0);
    snprintf(path, sizeof path, "%s/fortunes/alpha.u8", tmpdir);
    assert_int_equal(symlink("alpha", path), 0);
    nn_text t;
    nn_text_load_fortunes(&t, fdir, 0.1);
    assert_int_equal(t.files, 2);
    assert_int_equal(t.records, 40);
    assert_int_equal(t.ntrain + t.nval, 40 * 29);
    assert_int_equal(t.nval, 4 * 29); /* records 9, 19, 29, 39 */
    assert_decodes_to(&t, t.val, 29, "Fortune number 09 is here.\n%\n");
    assert_decodes_to(&t, t.val + 3 * 29, 29, "Fortune number 39 is here.\n%\n");
    assert_decodes_to(&t, t.train, 29, "Fortune number 00 is here.\n%\n");
    assert_decodes_to(&t, t.train + 9 * 29, 29, "Fortune number 10 is here.\n%\n");
    nn_text_free(&t);
    /* $NN_FORTUNES is the default directory */
    setenv("NN_FORTUNES", fdir, 1);
    nn_text_load_fortunes(&t, NULL, 0.1);
    assert_int_equal(t.records, 40);
    nn_text_free(&t);
    /* a binary fortune file is named; a missing directory says what to install */
    write_file("fortunes/gamma", "\x7f" "ELF\0\0", 6);
    EXPECT_FAIL(nn_text_load_fortunes(&t, fdir, 0.1), "fortunes/gamma holds a NUL byte");
    snprintf(path, sizeof path, "%s/fortunes/gamma", tmpdir);
    unlink(path);
    setenv("NN_FORTUNES", "/nonexistent/fortunes", 1);
    EXPECT_FAIL(nn_text_load_fortunes(&t, NULL, 0.1), "install the fortunes package");
    unsetenv("NN_FORTUNES");
    EXPECT_FAIL(nn_text_load_fortunes(&t, tmpdir, 0.1), "holds no fortune files"); /* all *.txt */
    /* a directory of fortunes too small to learn from */
    snprintf(path, sizeof path, "%s/tiny", tmpdir);
    assert_int_equal(mkdir(path, 0755), 0);
    write_file("tiny/one", "A single fortune.\n%\nAnd another.\n", 33);
    /* 18 + 13 characters, each record followed by "%\n": 35 */
    EXPECT_FAIL(nn_text_load_fortunes(&t, path, 0.1), "tiny holds 35 characters of text");
}

/* the real corpus, when the fortunes package is installed (datasets/setup.sh installs it) */
static void test_fortunes_package(void **state)
{
    (void)state;
    struct stat st;
    if (stat("/usr/share/games/fortunes/fortunes", &st) != 0) {
        printf("   (skipped: the fortunes package is not installed)\n");
        skip();
    }
    nn_text t;
    nn_text_load_fortunes(&t, "/usr/share/games/fortunes", 0.1);
    assert_true(t.files >= 10);
    assert_true(t.records > 1000);
    assert_true(t.vocab > 80 && t.vocab < 200);
    assert_true(t.nval > 0.08 * (t.ntrain + t.nval) && t.nval < 0.12 * (t.ntrain + t.nval));
    assert_true(nn_text_id(&t, '%') >= 0 && nn_text_id(&t, '\t') >= 0);
    assert_int_equal(nn_text_id(&t, '\b'), -1); /* overstrikes resolved */
    nn_text_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_embedding_and_slice_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rnn_step_by_hand, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lstm_step_by_hand, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gru_step_by_hand, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cells_match_reference, setup, teardown),
        cmocka_unit_test(test_text_file),
        cmocka_unit_test(test_text_bad_files),
        cmocka_unit_test(test_unigram_baseline),
        cmocka_unit_test(test_fortune_directory),
        cmocka_unit_test(test_fortunes_package),
    };
    return cmocka_run_group_tests_name("sequence layers and text corpora", tests, make_tmpdir,
                                       remove_tmpdir);
}
