/* test_lessons.c -- every lesson runs in --quick mode, writes its figures and metrics.json,
 * ends with a `result:` line, and clears a sanity bar; bad flags exit 2 with a message. */
#include "nn_test.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

NN_TEST_DEFINE_FAIL_HANDLER

typedef struct lesson_case {
    const char *lesson;  /* "01" */
    const char *key;     /* a key of the result line */
    double min, max;     /* the sanity bar: min <= value <= max */
    const char *figure;  /* a figure the lesson must write (basename, no extension) */
} lesson_case;

static const lesson_case cases[] = {
    {"01", "blobs_epochs_to_converge", 1, 100, "blobs_boundary_final"},
    {"01", "test_accuracy", 0.60, 1.0, "fmnist_templates"},
    {"02", "grad_max_rel_diff", 0, 1e-5, "spirals_boundary"},
    {"02", "spirals_accuracy", 0.85, 1.0, "spirals_loss"},
    {"02", "test_accuracy", 0.70, 1.0, "fmnist_curves"},
    {"03", "test_accuracy", 0.70, 0.95, "race_loss"},
    {"03", "ellipse_dist_momentum", 0, 0.01, "ellipse_paths_momentum"},
    {"03", "ellipse_dist_sgd", 0.5, 2, "lr_schedules"},
    {"03", "rosenbrock_dist_adam", 0, 0.01, "rosenbrock_paths_adaptive"},
    {"03", "epochs_to_target", 1, 2, "race_test_accuracy"},
    {"04", "test_accuracy", 0.35, 1.0, "relu_activation_std"},
    {"04", "relu_small_test_accuracy", 0, 0.2, "relu_activation_std"},
    {"04", "relu_kaiming_normal_last_layer_std", 0.3, 3, "relu_activation_std"},
    {"04", "relu_small_last_layer_std", 0, 1e-6, "relu_activation_std"},
    {"04", "sigmoid_xavier_grad_ratio", 0, 1e-4, "sigmoid_weight_grad_std"},
    {"04", "noclip_diverged", 1, 1, "clip_train_loss"},
    {"04", "clip_final_loss", 0.3, 2.2, "clip_grad_norm"},
    {"05", "test_accuracy", 0.15, 1.0, "curves_loss"},
    {"06", "batchnorm_test_accuracy", 0.70, 1.0, "lr_sweep"},
    {"06", "batchnorm_good_lrs", 2, 7, "curves_loss"},
    {"06", "bn_eval_batch1_max_logit_diff", 0, 1e-3, "running_stats"},
    {"06", "bn_sorted_batches_accuracy", 0, 0.6, "bn_batch_size"},
    {"06", "running_mean_error", 0, 0.2, "preact_percentiles"},
    {"07", "test_accuracy", 0.50, 1.0, "filters_trained"},
    {"07", "lenet_test_accuracy", 0.25, 1.0, "feature_maps_conv1"},
    {"08", "gru_mse_len20", 0, 0.05, "adding_mse_vs_length"},
    {"08", "lstm_mse_len10", 0, 0.1, "grad_reach"},
    {"08", "baseline_mse", 0.14, 0.20, "grad_norm"},
    {"08", "rnn_grad_reach_t1", 0, 1e-3, "grad_reach"},
    {"08", "lstm_grad_reach_t1", 1e-4, 1, "grad_reach"},
    {"08", "val_bpc", 2.0, 4.2, "lm_bpc"},
    {"12", "test_accuracy", 0.65, 0.95, "confusion_matrix"},
    {"12", "auc_macro", 0.93, 1.0, "roc_ovr"},
    {"12", "bag_always_no_f1", 0, 0, "pr_bag_shirt"},
    {"12", "bag_f1", 0.80, 1.0, "pr_bag_shirt"},
    {"12", "kfold_std_accuracy", 0, 0.06, "kfold"},
    {"12", "best_degree", 3, 7, "capacity_curve"},
    {"12", "poly_test_r2", 0.70, 0.90, "bias_variance"},
    {"13", "test_accuracy", 0.65, 1.0, "grad_norm_depth"},
    {"13", "plain_test_accuracy", 0, 0.4, "grad_signal_depth"},
    {"13", "first_layer_grad_ratio", 20, 2000, "train_loss"},
    {"13", "nobn_plain_signal_ratio", 0, 1e-8, "grad_norm_training"},
    {"13", "nobn_resnet_signal_ratio", 0.5, 5, "test_accuracy"},
    {"14", "checkpoint_max_abs_diff", 0, 0, "accuracy_vs_labels"},
    {"14", "pretrain_test_accuracy", 0.30, 1.0, "accuracy_table"},
    {"14", "test_accuracy", 0.60, 1.0, "few_labels"},
    {"14", "frozen_conv_acc_50", 0.80, 1.0, "accuracy_vs_labels"},
    {"16", "test_accuracy", 0.70, 0.95, "saliency"},
    {"16", "fgsm_accuracy_eps10", 0, 0.45, "fgsm_accuracy"},
    {"16", "noise_accuracy_eps10", 0.65, 0.95, "fgsm_examples"},
    {"16", "adv_trained_fgsm_accuracy_eps10", 0.35, 0.90, "adv_training"},
    {"16", "saliency_deletion_drop", 0.25, 1.0, "saliency_robust"},
    {"16", "random_deletion_drop", 0, 0.10, "saliency"},
    {"17", "test_accuracy", 0.70, 0.95, "pruning_accuracy"},
    {"17", "int8_agreement", 0.95, 1.0, "quant_error_rows"},
    {"17", "pruned90_global_finetuned_test_accuracy", 0.65, 0.95, "pruned_fc1_pixels"},
    {"17", "int8_bytes", 236352, 236352, "gemm_speed"},
    {"18", "max_rel_error", 0, 1e-3, "gemm_gflops"},
    {"18", "flops_per_cycle", 4, 128, "gemm_fraction_of_peak"},
    {"11", "attention_max_diff", 0, 1e-5, "attention_l1_h1"},
    {"11", "causal_leak", 0, 0, "attention_l1_h2"},
    {"11", "causal_later_change", 1e-6, 1e3, "val_bpc"},
    {"11", "val_bpc", 2.0, 4.5, "val_bpc"},
    {"11", "lstm_val_bpc", 2.0, 4.5, "val_bpc"},
    {"19", "elbo_rise", 150, 400, "elbo_curves"},
    {"19", "test_elbo", -330, -250, "manifold_2d"},
    {"19", "test_kl", 3, 40, "prior_samples"},
    {"19", "iw_gap", 0, 40, "interpolations"},
    {"19", "score_var_ratio_d20", 100, 3000, "estimator_variance"},
    {"09", "test_bce", 0.2, 0.45, "loss_curves"},
    {"09", "test_mse", 0, 0.05, "reconstructions"},
    {"09", "dae_denoise_mse", 0, 0.055, "denoising"},
    {"09", "auc", 0.80, 1.0, "anomaly_roc"},
    {"09", "pca_residual", 0, 1e-4, "codes_pca"},
    {"10", "ring_modes_covered", 6, 8, "ring_recipe"},
    {"10", "ring_quality", 0.25, 1.0, "ring_modes_covered"},
    {"10", "collapse_max_modes", 0, 2, "ring_collapse"},
    {"10", "sat_grad_ratio", 0, 0.05, "saturation"},
    {"10", "fmnist_d_real", 0.5, 0.99, "fmnist_samples_over_epochs"},
    {"15", "test_accuracy", 0.60, 0.95, "rbm_filters"},
    {"15", "few_pretrained_accuracy", 0.60, 0.95, "finetune_few_labels"},
    {"15", "few_gain", 0.03, 0.40, "accuracy_table"},
    {"15", "rbm_recon_initial", 110, 150, "rbm_recon_error"},
    {"15", "rbm_recon_final", 0, 80, "rbm_reconstructions"},
    {"15", "free_energy_gap", -5, 5, "rbm_free_energy_gap"},
    {"15", "rbm2_recon_final", 0, 15, "rbm2_filters"},
};

/* NN_WRAP (e.g. valgrind) prefixes each lesson command */
static const char *wrap(void)
{
    const char *w = getenv("NN_WRAP");
    return w ? w : "";
}

static const char *build_dir(void)
{
    const char *b = getenv("NN_BUILD");
    return b && *b ? b : "build";
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && st.st_size > 0;
}

/* runs the lesson once per test binary and keeps its stdout */
static char outputs[100][65536];
static int ran[100], statuses[100];

static const char *run_lesson(const char *lesson, int *status)
{
    int n = atoi(lesson);
    if (!ran[n]) {
        char cmd[512];
        snprintf(cmd, sizeof cmd, "%s %s/lesson%s --quick --out build/test-out/lesson%s 2>&1",
                 wrap(), build_dir(), lesson, lesson);
        FILE *p = popen(cmd, "r");
        assert_non_null(p);
        size_t len = fread(outputs[n], 1, sizeof outputs[n] - 1, p);
        outputs[n][len] = 0;
        statuses[n] = pclose(p);
        ran[n] = 1;
    }
    *status = statuses[n];
    return outputs[n];
}

/* value of key in the last line starting with "result: " */
static int result_value(const char *out, const char *key, double *value)
{
    const char *line = NULL;
    for (const char *p = strstr(out, "result: "); p; p = strstr(p + 1, "result: "))
        if (p == out || p[-1] == '\n') line = p;
    if (!line) return 0;
    char pattern[64];
    snprintf(pattern, sizeof pattern, " %s=", key);
    const char *at = strstr(line, pattern), *eol = strchr(line, '\n');
    if (!at || (eol && at > eol)) return 0;
    *value = strtod(at + strlen(pattern), NULL);
    return 1;
}

static void test_lesson(void **state)
{
    const lesson_case *c = *state;
    int status;
    const char *out = run_lesson(c->lesson, &status);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("lesson%s --quick exited with status %d; output:\n%s", c->lesson, status, out);
    double v;
    if (!result_value(out, c->key, &v))
        fail_msg("lesson%s: no `%s=` in its result: line; output:\n%s", c->lesson, c->key, out);
    if (!(v >= c->min && v <= c->max))
        fail_msg("lesson%s: %s=%g is outside the sanity bar [%g, %g]", c->lesson, c->key, v,
                 c->min, c->max);
    char path[256];
    snprintf(path, sizeof path, "build/test-out/lesson%s/metrics.json", c->lesson);
    if (!file_exists(path)) fail_msg("lesson%s did not write %s", c->lesson, path);
    const char *ext[] = {"dat", "gp", "png"};
    for (int e = 0; e < (nn_plot_have_gnuplot() ? 3 : 2); e++) {
        snprintf(path, sizeof path, "build/test-out/lesson%s/%s.%s", c->lesson, c->figure, ext[e]);
        if (!file_exists(path)) fail_msg("lesson%s did not write %s", c->lesson, path);
    }
}

/* a nonsense flag is refused with a message and exit status 2, never a signal */
static void test_bad_flags(void **state)
{
    (void)state;
    const char *bad[] = {"--bogus", "--epochs -3", "--kernels fast", "--seed x", "--threads"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (i > 0 && strcmp(cases[i].lesson, cases[i - 1].lesson) == 0) continue;
        const char *lesson = cases[i].lesson;
        for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
            char cmd[512];
            snprintf(cmd, sizeof cmd, "%s/lesson%s %s --out build/test-out/bad 2>&1", build_dir(),
                     lesson, bad[b]);
            FILE *p = popen(cmd, "r");
            char msg[2048];
            size_t len = fread(msg, 1, sizeof msg - 1, p);
            msg[len] = 0;
            int status = pclose(p);
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 2)
                fail_msg("lesson%s %s: expected exit status 2, got %d (%s)", lesson, bad[b],
                         status, msg);
            if (len == 0) fail_msg("lesson%s %s: no message", lesson, bad[b]);
        }
    }
}

int main(void)
{
    enum { N = sizeof cases / sizeof cases[0] };
    struct CMUnitTest tests[N + 1];
    char names[N][96];
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "lesson%s %s in [%g, %g]", cases[i].lesson,
                 cases[i].key, cases[i].min, cases[i].max);
        tests[i] = (struct CMUnitTest){names[i], test_lesson, NULL, NULL, (void *)&cases[i]};
    }
    tests[N] = (struct CMUnitTest){"bad flags exit 2", test_bad_flags, NULL, NULL, NULL};
    return _cmocka_run_group_tests("lessons in --quick mode", tests, N + 1, NULL, NULL);
}
