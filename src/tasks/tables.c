/* The three sources of the task's tables (docs/method.md#vocabulary):
 * the built-in synthetic chain, a text corpus, and a numeric transition-matrix file
 * (with optional marginal and label files). Each gives V_base, P(b|a), pi and labels.
 *
 * Built-in default table (no file needed), deterministic for (V_base, table seed):
 *   - Tokens are characters. For V_base <= 96 the tokens are the first V_base
 *     characters of FREQ_ORDER (space, e, t, a, o, ... in rough English order, then
 *     newline, punctuation, capitals), re-numbered in byte order as a corpus table
 *     would be; rank(c) = position in FREQ_ORDER. Larger V_base: labels are the ids,
 *     rank = id.
 *   - A shared Zipf-like base law b(c) ∝ (rank(c) + ZIPF_Q)^(-ZIPF_S).
 *   - Each row mixes the base with a few row-specific dominant successors:
 *         P(.|a) = (1 - LAMBDA) b + LAMBDA sum_j theta_aj delta(c_aj),
 *     with DOMINANT successors c_aj drawn independently with probability ∝ b and
 *     weights theta_a ~ Dirichlet(ALPHA, ..., ALPHA) (sparse: one or two successors
 *     dominate each row). Since E[P(.|a)] = b, the stationary law is b up to the
 *     rows' noise: Zipf-like. Every entry is > 0, so the chain is ergodic.
 *   - pi = the chain's stationary law (exact linear solve, task_stationary).
 *   The constants are tuned so that, as with character data and k = 3, the three
 *   triggers (space, e, t for the default seed) cover about a quarter of the positions
 *   of generated BB text (bbsim task prints the exact fraction).
 *
 * Corpus tables: tokens are the distinct bytes in byte order, pi = byte frequencies,
 * P = adjacent-pair counts row-normalised. A byte that only occurs as the last byte has
 * no successor; its row is set to the unigram law pi (so every row is a law). */
#include "task_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_randist.h>

/* Built-in chain constants (see the comment above). */
#define ZIPF_Q 1.3
#define ZIPF_S 1.0
#define LAMBDA 0.6
#define DOMINANT 4
#define ALPHA 0.5

/* Characters by rough frequency in English prose; the rest of printable ASCII follows. */
static const char FREQ_ORDER[] = " etaoinshrdlu\nmcwyfgpb,.vkTIAESOHNMLRWDBCGF'YU;:!?-jxKPVqzJQZX&$3";

void table_free(TaskTable *tb) {
    free(tb->P);
    free(tb->pi);
    free(tb->labels);
    memset(tb, 0, sizeof *tb);
}

static void table_alloc(TaskTable *tb, int vbase) {
    tb->vbase = vbase;
    tb->P = bb_calloc((size_t)vbase * vbase, sizeof(double));
    tb->pi = bb_calloc((size_t)vbase, sizeof(double));
    tb->labels = bb_calloc((size_t)vbase, TASK_LABEL_LEN);
}

void task_escape_label(const unsigned char *s, size_t n, char out[TASK_LABEL_LEN]) {
    tsv_escape(out, TASK_LABEL_LEN, s, n, TSV_ESC_LABEL); /* a long label is cut between escapes */
}

static void label_id(char out[TASK_LABEL_LEN], int id) { snprintf(out, TASK_LABEL_LEN, "%d", id); }

/* ------------------------------------------------------------- stationary law */

/* pi solves pi (I - P) = 0, sum(pi) = 1: the transposed system with its last equation
 * replaced by the normalisation. A (numerically) singular system means several closed
 * classes; then the lazy chain (I + P)/2 (same stationary laws, aperiodic) is iterated
 * from the uniform law. */
void task_stationary(const double *P, int n, double *pi) {
    gsl_matrix *A = gsl_matrix_alloc((size_t)n, (size_t)n);
    gsl_vector *b = gsl_vector_calloc((size_t)n);
    gsl_vector *x = gsl_vector_alloc((size_t)n);
    gsl_permutation *perm = gsl_permutation_alloc((size_t)n);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) gsl_matrix_set(A, i, j, (i == j) - P[(size_t)j * n + i]);
    for (int j = 0; j < n; j++) gsl_matrix_set(A, n - 1, j, 1.0);
    gsl_vector_set(b, n - 1, 1.0);
    int signum, ok = 1;
    gsl_linalg_LU_decomp(A, perm, &signum);
    for (int i = 0; i < n; i++)
        if (fabs(gsl_matrix_get(A, i, i)) < 1e-11) ok = 0;
    if (ok) {
        gsl_linalg_LU_solve(A, perm, b, x);
        double s = 0;
        for (int i = 0; i < n; i++) {
            double v = gsl_vector_get(x, i);
            if (!(v > -1e-9)) ok = 0;
            pi[i] = v > 0 ? v : 0.0;
            s += pi[i];
        }
        if (ok && s > 0)
            for (int i = 0; i < n; i++) pi[i] /= s;
        else ok = 0;
    }
    if (!ok) {
        double *next = bb_malloc((size_t)n * sizeof(double));
        for (int i = 0; i < n; i++) pi[i] = 1.0 / n;
        for (int it = 0; it < 200000; it++) {
            for (int j = 0; j < n; j++) next[j] = 0.5 * pi[j];
            for (int i = 0; i < n; i++) {
                double w = 0.5 * pi[i];
                const double *row = P + (size_t)i * n;
                for (int j = 0; j < n; j++) next[j] += w * row[j];
            }
            double diff = 0, s = 0;
            for (int j = 0; j < n; j++) s += next[j];
            for (int j = 0; j < n; j++) {
                next[j] /= s;
                diff += fabs(next[j] - pi[j]);
                pi[j] = next[j];
            }
            if (diff < 1e-14) break;
        }
        free(next);
    }
    gsl_permutation_free(perm);
    gsl_vector_free(x);
    gsl_vector_free(b);
    gsl_matrix_free(A);
}

/* --------------------------------------------------------------- built-in */

int table_builtin(TaskTable *tb, int vbase, uint64_t seed, BbError *err) {
    if (vbase < 2 || vbase > TASK_MAX_VBASE)
        return bb_fail(err, BB_EINPUT, "--vocab %d is out of range [2, %d]", vbase, TASK_MAX_VBASE);
    /* the alphabet: FREQ_ORDER, then the remaining printable ASCII in byte order */
    char alphabet[97];
    int na = 0;
    for (const char *c = FREQ_ORDER; *c; c++) alphabet[na++] = *c;
    for (int c = 32; c < 127; c++)
        if (!memchr(FREQ_ORDER, c, sizeof FREQ_ORDER - 1)) alphabet[na++] = (char)c;
    BB_CHECK(na == 96);
    table_alloc(tb, vbase);
    int *rank = bb_malloc((size_t)vbase * sizeof(int));
    if (vbase <= na) {
        /* id = position in byte order of the first vbase alphabet characters */
        for (int r = 0; r < vbase; r++) {
            int id = 0;
            for (int q = 0; q < vbase; q++)
                if ((unsigned char)alphabet[q] < (unsigned char)alphabet[r]) id++;
            rank[id] = r;
            unsigned char ch = (unsigned char)alphabet[r];
            task_escape_label(&ch, 1, tb->labels[id]);
        }
    } else {
        for (int id = 0; id < vbase; id++) {
            rank[id] = id;
            label_id(tb->labels[id], id);
        }
    }
    double *base = bb_malloc((size_t)vbase * sizeof(double));
    double z = 0;
    for (int c = 0; c < vbase; c++) z += base[c] = pow(rank[c] + ZIPF_Q, -ZIPF_S);
    for (int c = 0; c < vbase; c++) base[c] /= z;

    gsl_rng *r = bb_rng_alloc(bb_seed_mix(seed, 0x7461626c65ULL /* "table" */, (uint64_t)vbase));
    const int m = DOMINANT;
    gsl_ran_discrete_t *base_sampler = gsl_ran_discrete_preproc((size_t)vbase, base);
    double alpha[DOMINANT], theta[DOMINANT];
    for (int j = 0; j < m; j++) alpha[j] = ALPHA;
    for (int a = 0; a < vbase; a++) {
        double *row = tb->P + (size_t)a * vbase;
        for (int c = 0; c < vbase; c++) row[c] = (1.0 - LAMBDA) * base[c];
        gsl_ran_dirichlet(r, (size_t)m, alpha, theta);
        for (int j = 0; j < m; j++) row[(int)gsl_ran_discrete(r, base_sampler)] += LAMBDA * theta[j];
        double s = 0;
        for (int c = 0; c < vbase; c++) s += row[c];
        for (int c = 0; c < vbase; c++) row[c] /= s;
    }
    gsl_rng_free(r);
    gsl_ran_discrete_free(base_sampler);
    free(base);
    free(rank);
    task_stationary(tb->P, vbase, tb->pi);
    return BB_OK;
}

/* ----------------------------------------------------------------- corpus */

void counts_free(TaskCounts *tc) {
    free(tc->count);
    free(tc->pair);
    free(tc->labels);
    memset(tc, 0, sizeof *tc);
}

static void counts_alloc(TaskCounts *tc, int vbase) {
    tc->vbase = vbase;
    tc->count = bb_calloc((size_t)vbase, sizeof(double));
    tc->pair = bb_calloc((size_t)vbase * vbase, sizeof(double));
    tc->labels = bb_calloc((size_t)vbase, TASK_LABEL_LEN);
}

int counts_corpus(TaskCounts *tc, const char *path, BbError *err) {
    FILE *f;
    int rc = bb_open_input(&f, path, "corpus", BB_MAX_CORPUS_BYTES, err);
    if (rc) return rc;
    static const size_t CHUNK = 1 << 16;
    unsigned char *buf = bb_malloc(CHUNK);
    double *count = bb_calloc(256, sizeof(double));
    double *pair = bb_calloc(256 * 256, sizeof(double));
    int prev = -1;
    size_t n, total = 0;
    while ((n = fread(buf, 1, CHUNK, f)) > 0) {
        for (size_t i = 0; i < n; i++) {
            int c = buf[i];
            count[c] += 1;
            if (prev >= 0) pair[prev * 256 + c] += 1;
            prev = c;
        }
        total += n;
        if (total > (size_t)BB_MAX_CORPUS_BYTES) break; /* it grew after the size check */
    }
    int bad = ferror(f);
    fclose(f);
    free(buf);
    if (bad) rc = bb_fail(err, BB_EINPUT, "cannot read corpus %s", path);
    else if (total > (size_t)BB_MAX_CORPUS_BYTES)
        rc = bb_fail(err, BB_EINPUT, "corpus %s grew past the %lld MiB limit while it was read", path,
                     BB_MAX_CORPUS_BYTES >> 20);
    else if (total == 0) rc = bb_fail(err, BB_EINPUT, "%s: empty corpus (no characters)", path);
    if (rc) {
        free(count);
        free(pair);
        return rc;
    }
    int byte_of[256], vbase = 0;
    for (int c = 0; c < 256; c++)
        if (count[c] > 0) byte_of[vbase++] = c;
    counts_alloc(tc, vbase);
    for (int a = 0; a < vbase; a++) {
        unsigned char ch = (unsigned char)byte_of[a];
        task_escape_label(&ch, 1, tc->labels[a]);
        tc->count[a] = count[byte_of[a]];
        for (int b = 0; b < vbase; b++) tc->pair[(size_t)a * vbase + b] = pair[byte_of[a] * 256 + byte_of[b]];
    }
    free(count);
    free(pair);
    return BB_OK;
}

void table_from_counts(TaskTable *tb, TaskCounts *tc) {
    const int n = tc->vbase;
    table_alloc(tb, n);
    double total = 0;
    for (int a = 0; a < n; a++) total += tc->count[a];
    for (int a = 0; a < n; a++) tb->pi[a] = tc->count[a] / total;
    for (int a = 0; a < n; a++) {
        double s = 0, *row = tb->P + (size_t)a * n;
        const double *pr = tc->pair + (size_t)a * n;
        for (int b = 0; b < n; b++) s += row[b] = pr[b];
        if (s > 0)
            for (int b = 0; b < n; b++) row[b] /= s;
        else /* only ever the last byte: no successor observed, use the unigram law */
            memcpy(row, tb->pi, (size_t)n * sizeof(double));
    }
    memcpy(tb->labels, tc->labels, (size_t)n * TASK_LABEL_LEN);
}

int table_corpus(TaskTable *tb, const char *path, BbError *err) {
    TaskCounts tc;
    memset(&tc, 0, sizeof tc);
    int rc = counts_corpus(&tc, path, err);
    if (rc == BB_OK) table_from_counts(tb, &tc);
    counts_free(&tc);
    return rc;
}

/* ------------------------------------------------------------- table files */

/* 64-bit FNV-1a (the checksum of table files; the same function as ckpt_fnv1a, which
 * lives in a higher module). */
static void fnv1a(uint64_t *h, const void *data, size_t n) {
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        *h ^= p[i];
        *h *= 0x100000001b3ULL;
    }
}
#define FNV_START 0xcbf29ce484222325ULL
#define CHECKSUM_TAG "# checksum fnv1a64 "

void counts_write_table(FILE *f, const TaskCounts *tc, const char *source) {
    const int n = tc->vbase;
    /* the data lines first (in memory), so their checksum can precede them */
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    BB_CHECK(mem != NULL);
    fprintf(mem, "label\tcount");
    for (int b = 0; b < n; b++) fprintf(mem, "\t%s", tc->labels[b]);
    fputc('\n', mem);
    for (int a = 0; a < n; a++) {
        fprintf(mem, "%s\t%.0f", tc->labels[a], tc->count[a]);
        for (int b = 0; b < n; b++) fprintf(mem, "\t%.0f", tc->pair[(size_t)a * n + b]);
        fputc('\n', mem);
    }
    fclose(mem);
    uint64_t h = FNV_START;
    fnv1a(&h, text, len);
    fprintf(f,
            "# bbsim task table (docs/method.md#table-files): counts of the tokens and of adjacent pairs of a text\n"
            "# derived from %s by `bbsim task --corpus FILE --write-table OUT` (counts_corpus, src/tasks/tables.c):\n"
            "#   tokens = the distinct bytes of the text in byte order, labelled in the escape of every TSV;\n"
            "#   count = occurrences of the token; row a, column b = occurrences of a followed by b.\n"
            "# read as --corpus reads the text (table_from_counts): pi(a) = count(a) / total,\n"
            "#   P(b|a) = row a normalised (a row of zeros, a byte seen only at the end: P(.|a) = pi).\n"
            "# lines starting with '#' are comments; the checksum covers every other line, newlines included\n"
            CHECKSUM_TAG "%016llx\n",
            source, (unsigned long long)h);
    fwrite(text, 1, len, f);
    free(text);
}

/* One tab-separated field of a table file line: advances *p past it and its tab. */
static char *next_field(char **p) {
    char *s = *p;
    if (!s) return NULL;
    char *tab = strchr(s, '\t');
    if (tab) {
        *tab = '\0';
        *p = tab + 1;
    } else {
        *p = NULL;
    }
    return s;
}

static int parse_count(const char *where, int line, const char *what, const char *s, double *out, BbError *err) {
    if (!*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 15)
        return bb_fail(err, BB_EINPUT, "%s:%d: %s: '%.40s' is not a count (digits only, at most 15)", where, line,
                       what, s);
    *out = strtod(s, NULL);
    return BB_OK;
}

int counts_read_table(TaskCounts *tc, FILE *f, const char *where, char *source, size_t source_len, BbError *err) {
    memset(tc, 0, sizeof *tc);
    if (source_len) source[0] = '\0';
    LineReader in;
    lines_of(&in, f, where);
    int rows = -1, n = 0, rc = BB_OK, have_sum = 0;
    uint64_t h = FNV_START, stored = 0;
    while (rc == BB_OK && lines_next(&in, &rc, err)) {
        char *line = in.line;
        const int lineno = in.lineno;
        if (line[0] == '#') {
            char *end = NULL;
            if (!strncmp(line, CHECKSUM_TAG, strlen(CHECKSUM_TAG))) {
                const char *hex = line + strlen(CHECKSUM_TAG);
                stored = strtoull(hex, &end, 16);
                if (end != hex + 16 || (*end != '\n' && *end != '\0'))
                    rc = bb_fail(err, BB_EINPUT, "%s:%d: the checksum is not 16 hex digits", where, lineno);
                have_sum = 1;
            } else if (!strncmp(line, "# source ", 9) && source_len) {
                snprintf(source, source_len, "%.*s", (int)strcspn(line + 9, "\r\n"), line + 9);
            }
            continue;
        }
        fnv1a(&h, line, in.len);
        line[strcspn(line, "\r\n")] = '\0';
        char *p = line;
        if (rows < 0) { /* the header: label, count, one column per token */
            char *l = next_field(&p), *c = next_field(&p);
            if (!l || !c || strcmp(l, "label") || strcmp(c, "count")) {
                rc = bb_fail(err, BB_EINPUT, "%s:%d: the first line must be the header 'label<TAB>count<TAB>...'",
                             where, lineno);
                break;
            }
            for (char *q = p; q; q = strchr(q, '\t') ? strchr(q, '\t') + 1 : NULL) n++;
            if (n < 2 || n > TASK_MAX_VBASE) {
                rc = bb_fail(err, BB_EINPUT, "%s:%d: %d token columns (a table has 2 to %d)", where, lineno, n,
                             TASK_MAX_VBASE);
                break;
            }
            counts_alloc(tc, n);
            for (int b = 0; b < n; b++) {
                char *l2 = next_field(&p);
                unsigned char bytes[TASK_LABEL_LEN];
                size_t nb;
                if (!*l2 || tsv_unescape(bytes, sizeof bytes, l2, &nb) || strlen(l2) >= TASK_LABEL_LEN) {
                    rc = bb_fail(err, BB_EINPUT, "%s:%d: column %d: '%.40s' is not a token label", where, lineno,
                                 b + 3, l2);
                    break;
                }
                strcpy(tc->labels[b], l2);
                for (int a = 0; a < b && rc == BB_OK; a++)
                    if (!strcmp(tc->labels[a], l2))
                        rc = bb_fail(err, BB_EINPUT, "%s:%d: label '%s' appears twice", where, lineno, l2);
            }
            rows = 0;
            continue;
        }
        if (rows == n) {
            rc = bb_fail(err, BB_EINPUT, "%s:%d: more than %d token rows", where, lineno, n);
            break;
        }
        char *l = next_field(&p);
        if (strcmp(l, tc->labels[rows])) {
            rc = bb_fail(err, BB_EINPUT, "%s:%d: row %d is labelled '%.40s', the header's column %d is '%s'", where,
                         lineno, rows + 1, l, rows + 3, tc->labels[rows]);
            break;
        }
        char *c = next_field(&p);
        if (!c) {
            rc = bb_fail(err, BB_EINPUT, "%s:%d: row %d has no count", where, lineno, rows + 1);
            break;
        }
        if ((rc = parse_count(where, lineno, "count", c, &tc->count[rows], err))) break;
        if (!(tc->count[rows] > 0)) {
            rc = bb_fail(err, BB_EINPUT, "%s:%d: token '%s' has count 0 (every token of a table occurs)", where,
                         lineno, tc->labels[rows]);
            break;
        }
        int b = 0;
        for (char *v; rc == BB_OK && b <= n && (v = next_field(&p)) != NULL; b++) {
            if (b == n) continue; /* one field too many: b = n + 1 */
            char what[32];
            snprintf(what, sizeof what, "column %d", b + 3);
            rc = parse_count(where, lineno, what, v, &tc->pair[(size_t)rows * n + b], err);
        }
        if (rc) break;
        if (b != n) {
            rc = bb_fail(err, BB_EINPUT, "%s:%d: row %d has %s than the %d pair counts of the header", where, lineno,
                         rows + 1, b < n ? "fewer" : "more", n);
            break;
        }
        rows++;
    }
    lines_close(&in);
    if (rc == BB_OK && ferror(f)) rc = bb_fail(err, BB_EINPUT, "%s: read error", where);
    if (rc == BB_OK && rows < 0) rc = bb_fail(err, BB_EINPUT, "%s: no header line (label, count, tokens)", where);
    if (rc == BB_OK && rows != n)
        rc = bb_fail(err, BB_EINPUT, "%s: %d token rows but the header has %d tokens", where, rows, n);
    if (rc == BB_OK && !have_sum) rc = bb_fail(err, BB_EINPUT, "%s: no '" CHECKSUM_TAG "HEX' line", where);
    if (rc == BB_OK && h != stored)
        rc = bb_fail(err, BB_EINPUT, "%s: checksum mismatch: the table lines hash to %016llx, the file says %016llx "
                     "(the table was modified)", where, (unsigned long long)h, (unsigned long long)stored);
    if (rc) counts_free(tc);
    return rc;
}

int table_shakespeare(TaskTable *tb, char *source, size_t source_len, BbError *err) {
    FILE *f = fmemopen((void *)task_table_shakespeare, task_table_shakespeare_len, "r");
    if (!f) return bb_fail(err, BB_EIO, "cannot open the built-in table shakespeare");
    TaskCounts tc;
    int rc = counts_read_table(&tc, f, "built-in table shakespeare (src/tasks/data/shakespeare.tsv)", source,
                               source_len, err);
    fclose(f);
    if (rc) return rc;
    table_from_counts(tb, &tc);
    counts_free(&tc);
    return BB_OK;
}

/* ------------------------------------------------------------ number files */

/* Parse one number starting at *p (no leading blanks). On success advance *p. */
static int parse_entry(const char *path, int line, const char *unit, int col, char **p, double *out, BbError *err) {
    char *s = *p, *end;
    size_t len = strcspn(s, " \t\r\n");
    errno = 0;
    double v = strtod(s, &end);
    if (end != s + len || len == 0)
        return bb_fail(err, BB_EINPUT, "%s:%d: %s %d: '%.*s' is not a number", path, line, unit, col,
                       (int)(len > 40 ? 40 : len), s);
    if (!isfinite(v))
        return bb_fail(err, BB_EINPUT, "%s:%d: %s %d: '%.*s' is not a finite number (NaN/Inf)", path,
                       line, unit, col, (int)(len > 40 ? 40 : len), s);
    if (v < 0)
        return bb_fail(err, BB_EINPUT, "%s:%d: %s %d: negative entry %g", path, line, unit, col, v);
    *out = v == 0 ? 0.0 : v; /* -0 -> 0 */
    *p = end;
    return BB_OK;
}

/* Strip a '#' comment and the line ending; return the first non-blank character. */
static char *clean_line(char *line) {
    char *h = strchr(line, '#');
    if (h) *h = '\0';
    line[strcspn(line, "\r\n")] = '\0';
    return line + strspn(line, " \t");
}

static int read_matrix(const char *path, double **Pout, int *nout, BbError *err) {
    LineReader in;
    int rc = lines_open(&in, path, "transitions file", BB_MAX_TABLE_BYTES, err);
    if (rc) return rc;
    int cols = 0, rows = 0;
    double *M = NULL;
    int *row_line = NULL;
    while (lines_next(&in, &rc, err)) {
        const int lineno = in.lineno;
        char *p = clean_line(in.line);
        if (*p == '\0') continue;
        /* count the columns first (for the square / too-large messages) */
        int ncol = 0;
        for (char *q = p; *q;) {
            q += strcspn(q, " \t");
            ncol++;
            q += strspn(q, " \t");
        }
        if (rows == 0) {
            if (ncol > TASK_MAX_VBASE) {
                rc = bb_fail(err, BB_EINPUT,
                             "%s:%d: row 1 has %d columns: tables larger than %d tokens are refused (too large)",
                             path, lineno, ncol, TASK_MAX_VBASE);
                break;
            }
            cols = ncol;
            M = bb_malloc((size_t)cols * cols * sizeof(double));
            row_line = bb_malloc((size_t)cols * sizeof(int));
        } else if (ncol != cols) {
            rc = bb_fail(err, BB_EINPUT, "%s:%d: row %d has %d columns but row 1 has %d (the matrix must be square)",
                         path, lineno, rows + 1, ncol, cols);
            break;
        }
        if (rows == cols) {
            rc = bb_fail(err, BB_EINPUT, "%s:%d: row %d is one row too many: rows have %d columns (the matrix must be square)",
                         path, lineno, rows + 1, cols);
            break;
        }
        for (int c = 0; c < cols && rc == BB_OK; c++) {
            rc = parse_entry(path, lineno, "column", c + 1, &p, &M[(size_t)rows * cols + c], err);
            p += strspn(p, " \t");
        }
        if (rc) break;
        row_line[rows++] = lineno;
    }
    if (rc == BB_OK && ferror(in.f)) rc = bb_fail(err, BB_EINPUT, "cannot read transitions file %s", path);
    if (rc == BB_OK && rows == 0) rc = bb_fail(err, BB_EINPUT, "%s: empty table: the file has no numbers", path);
    if (rc == BB_OK && rows != cols)
        rc = bb_fail(err, BB_EINPUT, "%s:%d: the matrix ends after row %d but rows have %d columns (the matrix must be square)",
                     path, row_line[rows - 1], rows, cols);
    for (int a = 0; rc == BB_OK && a < rows; a++) {
        double s = 0;
        for (int b = 0; b < cols; b++) s += M[(size_t)a * cols + b];
        if (!(s > 0) || !isfinite(s))
            rc = bb_fail(err, BB_EINPUT, "%s:%d: row %d %s (every token needs a successor law)", path,
                         row_line[a], a + 1, s > 0 ? "overflows" : "sums to zero");
    }
    lines_close(&in);
    if (rc) {
        free(M);
        free(row_line);
        return rc;
    }
    free(row_line);
    *Pout = M;
    *nout = cols;
    return BB_OK;
}

static int read_marginal(const char *path, int n, double *pi, BbError *err) {
    LineReader in;
    int rc = lines_open(&in, path, "marginal file", BB_MAX_TABLE_BYTES, err);
    if (rc) return rc;
    int got = 0;
    while (rc == BB_OK && lines_next(&in, &rc, err)) {
        const int lineno = in.lineno;
        char *p = clean_line(in.line);
        while (*p && rc == BB_OK) {
            if (got == n) {
                rc = bb_fail(err, BB_EINPUT, "%s:%d: more than %d values (the marginal needs one per token)", path,
                             lineno, n);
                break;
            }
            rc = parse_entry(path, lineno, "value", got + 1, &p, &pi[got], err);
            got++;
            p += strspn(p, " \t");
        }
    }
    lines_close(&in);
    if (rc) return rc;
    if (got != n)
        return bb_fail(err, BB_EINPUT, "%s: %d values but the table has %d tokens (the marginal needs one per token)",
                       path, got, n);
    double s = 0;
    for (int i = 0; i < n; i++) s += pi[i];
    if (!(s > 0) || !isfinite(s)) return bb_fail(err, BB_EINPUT, "%s: the marginal sums to zero", path);
    for (int i = 0; i < n; i++) pi[i] /= s;
    return BB_OK;
}

static int read_labels(const char *path, int n, char (*labels)[TASK_LABEL_LEN], BbError *err) {
    LineReader in;
    int rc = lines_open(&in, path, "labels file", BB_MAX_TABLE_BYTES, err);
    if (rc) return rc;
    while (lines_next(&in, &rc, err)) {
        char *line = in.line;
        size_t len = in.len;
        const int lineno = in.lineno;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
        if (len == 0) {
            rc = bb_fail(err, BB_EINPUT, "%s:%d: empty label (one label per line, one line per token)", path, lineno);
            break;
        }
        if (lineno > n) {
            rc = bb_fail(err, BB_EINPUT, "%s:%d: more than %d labels (one label per line, one line per token)", path,
                         lineno, n);
            break;
        }
        task_escape_label((const unsigned char *)line, len, labels[lineno - 1]);
    }
    if (rc == BB_OK && in.lineno != n)
        rc = bb_fail(err, BB_EINPUT, "%s: %d labels but the table has %d tokens (one label per line)", path, in.lineno,
                     n);
    lines_close(&in);
    return rc;
}

int table_transitions(TaskTable *tb, const char *path, const char *marginal, const char *labels,
                      BbError *err) {
    double *M = NULL;
    int n = 0, rc;
    if ((rc = read_matrix(path, &M, &n, err))) return rc;
    table_alloc(tb, n);
    /* a count matrix: all entries integers and the rows are not already laws */
    int integer = 1, stochastic = 1;
    for (int a = 0; a < n; a++) {
        double s = 0;
        for (int b = 0; b < n; b++) {
            double v = M[(size_t)a * n + b];
            s += v;
            if (v != floor(v) || v > 9007199254740992.0) integer = 0;
        }
        if (fabs(s - 1.0) > 1e-9) stochastic = 0;
    }
    const int counts = integer && !stochastic;
    double total = 0;
    for (int a = 0; a < n; a++) {
        double s = 0;
        for (int b = 0; b < n; b++) s += M[(size_t)a * n + b];
        for (int b = 0; b < n; b++) tb->P[(size_t)a * n + b] = M[(size_t)a * n + b] / s;
        tb->pi[a] = s;
        total += s;
    }
    free(M);
    if (marginal[0]) {
        if ((rc = read_marginal(marginal, n, tb->pi, err))) goto fail;
    } else if (counts) {
        for (int a = 0; a < n; a++) tb->pi[a] /= total;
    } else {
        task_stationary(tb->P, n, tb->pi);
    }
    if (labels[0]) {
        if ((rc = read_labels(labels, n, tb->labels, err))) goto fail;
    } else {
        for (int a = 0; a < n; a++) label_id(tb->labels[a], a);
    }
    return BB_OK;
fail:
    table_free(tb);
    return rc;
}
