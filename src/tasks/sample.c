/* Sequence generation for every variant (bb, markov, dormant-markov, bb-mix, induction;
 * --bos 0/1/2; --packing), the deterministic training and evaluation batches, and the
 * oracle: the Bayes-optimal law of each target given the inputs up to its position.
 *
 * Induction (Bietti et al.), as the `default` induction data of the paper's code
 * (BBM/data.py): at the start of every sequence each trigger t draws its output o_t
 * uniformly over the V_base ordinary ids (independently; triggers included), and the
 * first token z_1 ~ pi (triggers included); after t the next token is o_t, elsewhere the
 * bigram. The oracle is one-hot on o_t once t has been seen earlier in the sequence (o_t
 * is the token after that occurrence), uniform over the ordinary ids at its first
 * occurrence.
 *
 * Packing: documents are ordinary sequences of N+1 tokens (with their BOS tokens) laid
 * end to end. The window of a sequence draws an offset u uniform in {0..N} from its own
 * stream, then holds the last N+1-u tokens of one fresh document followed by the first u
 * tokens of the next, so the next document's first BOS sits at position (N+1-u) mod (N+1),
 * uniform over the window (u = 0 is the unpacked sequence). A window is a pure function
 * of its seed like any sequence. Oracle: after a visible BOS the rules restart at it; before
 * any BOS the target is the next document's BOS with the hazard 1/(N-i) (the BOS position
 * is uniform), otherwise the local rule; a trigger at position 0 copies an unseen token,
 * whose law is taken as post(c) ∝ pi'(c) P(t|c) (pi for the other variants). These two
 * ignore how a tail's content depends on its offset, so packing floors are Monte-Carlo
 * estimates of this oracle's entropy, not exact Bayes floors. */
#include "task_internal.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ seeds */

uint64_t task_train_seed(const Task *t, long step, int b) {
    BB_CHECK(step >= 0);
    return bb_seed_mix(t->cfg.data_seed, (uint64_t)step, (uint64_t)b);
}
/* Training steps are < 2^63, so the "steps" 2^64-1 and 2^64-2 are free for the
 * evaluation batch and the Monte-Carlo floor: never equal to a training batch, even
 * when eval_seed == data_seed. */
uint64_t task_eval_seed(const Task *t, int b) { return bb_seed_mix(t->cfg.eval_seed, UINT64_MAX, (uint64_t)b); }
uint64_t task_mc_seed(const Task *t, int b) { return bb_seed_mix(t->cfg.eval_seed, UINT64_MAX - 1, (uint64_t)b); }

/* ------------------------------------------------------------- generation */

static int trig_index(const Task *t, int a) {
    for (int j = 0; j < t->ntrig; j++)
        if (t->trig[j] == a) return j;
    return -1;
}

static inline int draw_row(const Task *t, gsl_rng *r, int a) { return (int)gsl_ran_discrete(r, t->row_sampler[a]); }

/* The first len tokens of one document (a whole document has N+1 tokens). */
static void gen_doc(const Task *t, gsl_rng *r, int *z, int len) {
    const int nb = t->cfg.bos, kind = t->cfg.kind;
    int out[BB_MAXLIST]; /* induction: o_t of trigger trig[j] */
    int n;
    for (n = 0; n < nb && n < len; n++) z[n] = t->bos_id;
    if (len <= nb) return;
    if (kind == TASK_INDUCTION) /* o_t uniform over the ordinary ids 0..V_base-1 */
        for (int j = 0; j < t->ntrig; j++) out[j] = (int)gsl_rng_uniform_int(r, (unsigned long)t->vbase);
    /* z_1 ~ task_first_law: pi for markov and induction, pi' otherwise */
    z[nb] = (int)gsl_ran_discrete(r, task_first_law(t) == t->pi ? t->pi_sampler : t->pi_nt_sampler);
    for (n = nb; n + 1 < len; n++) {
        const int a = z[n];
        /* has_prev: z[n-1] is an ordinary token of this document */
        const int has_prev = n > nb;
        int next;
        if (kind == TASK_MARKOV || !t->is_trigger[a]) {
            next = draw_row(t, r, a);
        } else {
            switch (kind) {
            case TASK_BB: next = has_prev ? z[n - 1] : draw_row(t, r, a); break;
            case TASK_DORMANT_MARKOV: next = draw_row(t, r, has_prev ? z[n - 1] : a); break;
            case TASK_BB_MIX:
                next = gsl_rng_uniform(r) < t->cfg.mix_p && has_prev ? z[n - 1] : draw_row(t, r, a);
                break;
            default: next = out[trig_index(t, a)]; break; /* induction */
            }
        }
        z[n + 1] = next;
    }
}

void task_sample_sequence(const Task *t, gsl_rng *r, int *z) {
    const int L = t->cfg.seq + 1;
    if (!t->cfg.packing) {
        gen_doc(t, r, z, L);
        return;
    }
    const int u = (int)gsl_rng_uniform_int(r, (unsigned long)L);
    gen_doc(t, r, z, L);
    if (u > 0) {
        memmove(z, z + u, (size_t)(L - u) * sizeof(int));
        gen_doc(t, r, z + (L - u), u);
    }
}

void task_fill_batch(const Task *t, int B, long step, int domain, int *inputs, int *targets) {
    const int N = t->cfg.seq;
#pragma omp parallel
    {
        gsl_rng *r = bb_rng_alloc(0);
        int *z = bb_malloc((size_t)(N + 1) * sizeof(int));
#pragma omp for schedule(static)
        for (int b = 0; b < B; b++) {
            uint64_t seed = domain == TASK_DOMAIN_TRAIN ? task_train_seed(t, step, b)
                          : domain == TASK_DOMAIN_EVAL  ? task_eval_seed(t, b)
                                                        : task_mc_seed(t, b);
            gsl_rng_set(r, (unsigned long)seed);
            task_sample_sequence(t, r, z);
            memcpy(inputs + (size_t)b * N, z, (size_t)N * sizeof(int));
            memcpy(targets + (size_t)b * N, z + 1, (size_t)N * sizeof(int));
        }
        free(z);
        gsl_rng_free(r);
    }
}

void task_batch(const Task *t, long step, int B, int *inputs, int *targets) {
    task_fill_batch(t, B, step, TASK_DOMAIN_TRAIN, inputs, targets);
}

void task_eval_batch(const Task *t, int B, int *inputs, int *targets) {
    task_fill_batch(t, B, 0, TASK_DOMAIN_EVAL, inputs, targets);
}

/* ----------------------------------------------------------------- oracle */

enum { PREV_NONE, PREV_KNOWN, PREV_UNKNOWN };

static void add_law(double *p, const double *law, int n, double w) {
    for (int c = 0; c < n; c++) p[c] += w * law[c];
}

/* The token c before trigger a is not visible (packing, window position 0):
 * post(c) ∝ prior(c) P(a|c). Adds w * post (copy) or w * sum_c post(c) P(.|c) (dormant). */
static void add_prev_posterior(const Task *t, int a, int dormant, double w, double *p) {
    const int n = t->vbase;
    const double *prior = t->cfg.kind == TASK_BB ? t->pi_nt : t->pi;
    double z = 0;
    for (int c = 0; c < n; c++) z += prior[c] * t->P[(size_t)c * n + a];
    if (!(z > 0)) {
        add_law(p, t->P + (size_t)a * n, n, w);
        return;
    }
    for (int c = 0; c < n; c++) {
        double post = prior[c] * t->P[(size_t)c * n + a] / z;
        if (post == 0) continue;
        if (dormant) add_law(p, t->P + (size_t)c * n, n, w * post);
        else p[c] += w * post;
    }
}

/* Adds w * the law of x[i+1] when x[i] is an ordinary token of the current document;
 * lo = window index of the document's first ordinary token (induction's search start). */
static void rule_law(const Task *t, const int *x, int lo, int i, int prev, double w, double *p) {
    const int n = t->vbase, a = x[i];
    if (a < 0 || a >= n) { /* a special token where none belongs: restart */
        add_law(p, task_first_law(t), n, w);
        return;
    }
    const double *row = t->P + (size_t)a * n;
    if (prev == PREV_KNOWN && (x[i - 1] < 0 || x[i - 1] >= n)) prev = PREV_NONE;
    if (t->cfg.kind == TASK_MARKOV || !t->is_trigger[a]) {
        add_law(p, row, n, w);
        return;
    }
    switch (t->cfg.kind) {
    case TASK_BB:
        if (prev == PREV_KNOWN) p[x[i - 1]] += w;
        else if (prev == PREV_UNKNOWN) add_prev_posterior(t, a, 0, w, p);
        else add_law(p, row, n, w);
        break;
    case TASK_DORMANT_MARKOV:
        if (prev == PREV_KNOWN) add_law(p, t->P + (size_t)x[i - 1] * n, n, w);
        else if (prev == PREV_UNKNOWN) add_prev_posterior(t, a, 1, w, p);
        else add_law(p, row, n, w);
        break;
    case TASK_BB_MIX: {
        const double q = t->cfg.mix_p;
        if (prev == PREV_KNOWN) {
            p[x[i - 1]] += w * q;
            add_law(p, row, n, w * (1 - q));
        } else if (prev == PREV_UNKNOWN) {
            add_prev_posterior(t, a, 0, w * q, p);
            add_law(p, row, n, w * (1 - q));
        } else {
            add_law(p, row, n, w);
        }
        break;
    }
    default: /* induction: o_t is the token after an earlier occurrence of t */
        for (int j = lo; j < i; j++)
            if (x[j] == a) {
                p[x[j + 1]] += w;
                return;
            }
        for (int c = 0; c < n; c++) p[c] += w / n; /* t unseen: o_t uniform over the ordinary ids */
        break;
    }
}

/* Adds w * the law of the target at doc position m of the document starting at window
 * index s (s may be -1 when position 0 is its second BOS); the input is x[s+m]. */
static void oracle_doc(const Task *t, const int *x, int s, int m, double w, double *p) {
    const int nb = t->cfg.bos;
    if (m < nb - 1 || m >= t->cfg.seq) p[t->bos_id] += w; /* BOS then BOS; or the document ended */
    else if (m == nb - 1) add_law(p, task_first_law(t), t->vbase, w);
    else rule_law(t, x, s + nb, s + m, m > nb ? PREV_KNOWN : PREV_NONE, w, p);
}

double task_oracle(const Task *t, const int *x, int i, double *p) {
    const int N = t->cfg.seq, bos = t->bos_id;
    BB_CHECK(i >= 0 && i < N);
    memset(p, 0, (size_t)t->V * sizeof(double));
    if (!t->cfg.packing) {
        oracle_doc(t, x, 0, i, 1.0, p);
        return task_entropy(p, t->V);
    }
    int j = i;
    while (j >= 0 && x[j] != bos) j--;
    if (j < 0) {
        /* the tail of a document: the next one's first BOS is uniform on {i+1..N} */
        const double h = 1.0 / (N - i);
        p[bos] += h;
        if (h < 1) rule_law(t, x, 0, i, i > 0 ? PREV_KNOWN : PREV_UNKNOWN, 1 - h, p);
    } else if (t->cfg.bos == 1 || (j >= 1 && x[j - 1] != bos)) {
        oracle_doc(t, x, j, i - j, 1.0, p); /* j is the document's first BOS */
    } else if (j >= 1) {
        oracle_doc(t, x, j - 1, i - j + 1, 1.0, p); /* j is the second BOS */
    } else if (i > 0) {
        oracle_doc(t, x, -1, i + 1, 1.0, p); /* x[0] is a second BOS: x[1] is not a BOS */
    } else {
        /* x[0] is a BOS, first (u = 0) or second (u = 1) of its document, equally likely */
        oracle_doc(t, x, 0, 0, 0.5, p);
        oracle_doc(t, x, -1, 1, 0.5, p);
    }
    return task_entropy(p, t->V);
}

int task_is_trigger_pos(const Task *t, const int *inputs, int i) {
    const int a = inputs[i];
    return t->cfg.kind != TASK_MARKOV && a >= 0 && a < t->V && t->is_trigger[a];
}
