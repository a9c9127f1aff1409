/* Declarative options: one Opt table parses argv, prints --help and writes/reads
 * "name value" configuration files; unknown names get a "did you mean" suggestion. */
#include "bbsim/common.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const Opt *opt_find(const Opt *opts, int nopts, const char *name) {
    for (int i = 0; i < nopts; i++)
        if (strcmp(opts[i].name, name) == 0) return &opts[i];
    return NULL;
}

/* ------------------------------------------------------------ did you mean */

/* Optimal string alignment distance: Levenshtein (insert, delete, substitute) plus the
 * swap of two adjacent letters, each costing 1 ("trian" -> "train" is 1). */
static int edit_distance(const char *a, const char *b) {
    enum { MAXLEN = 64 };
    const int n = (int)strlen(a), m = (int)strlen(b);
    if (n >= MAXLEN || m >= MAXLEN) return MAXLEN;
    int d[MAXLEN + 1][MAXLEN + 1];
    for (int i = 0; i <= n; i++) d[i][0] = i;
    for (int j = 0; j <= m; j++) d[0][j] = j;
    for (int i = 1; i <= n; i++)
        for (int j = 1; j <= m; j++) {
            int best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < best) best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best) best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    return d[n][m];
}

/* How close cand is to what was typed, in half edits (smaller is closer; -1 = not close):
 * one edit = 2; cand a prefix of word up to a '-' ("lr-rate" -> "lr") or word a prefix of
 * cand of at least 3 letters ("thr" -> "threads") = 3; two or three edits = 4 or 6, as
 * long as the word has more letters than edits (so "k" never suggests "x"). */
static int closeness(const char *word, const char *cand) {
    const size_t wl = strlen(word), cl = strlen(cand);
    const int limit = wl <= 3 ? 1 : wl <= 6 ? 2 : 3;
    /* the distance is at least the difference in length: past the limit, skip the table */
    const int d = (wl > cl ? wl - cl : cl - wl) > (size_t)limit ? limit + 1 : edit_distance(word, cand);
    if (d == 1 && wl > 1 && cl > 1) return 2;
    if (cl < wl && !strncmp(word, cand, cl) && (word[cl] == '-' || word[cl] == '_')) return 3;
    if (wl >= 3 && wl < cl && !strncmp(word, cand, wl)) return 3;
    if (d <= limit && (size_t)d < wl && (size_t)d < cl) return 2 * d;
    return -1;
}

int bb_suggest(char *buf, size_t len, const char *word, const char *const *cands, int ncands, const char *prefix) {
    enum { MAXSHOW = 3 };
    int best = -1, shown[MAXSHOW], nshown = 0;
    for (int i = 0; i < ncands; i++) {
        int c = closeness(word, cands[i]);
        if (c < 0 || (best >= 0 && c > best)) continue;
        if (c < best || best < 0) nshown = 0;
        best = c;
        if (nshown < MAXSHOW) shown[nshown++] = i;
    }
    buf[0] = '\0';
    for (int k = 0; k < nshown; k++) {
        size_t used = strlen(buf);
        snprintf(buf + used, len - used, "%s%s%s", k == 0 ? "" : k == nshown - 1 ? " or " : ", ", prefix,
                 cands[shown[k]]);
    }
    return nshown;
}

/* " (did you mean --x?)" for an unknown option name, or `otherwise` when nothing is close. */
static void opt_suggestion(char *buf, size_t len, const Opt *opts, int nopts, const char *name, const char *prefix,
                           const char *otherwise) {
    const char **names = bb_malloc(sizeof(char *) * (size_t)(nopts > 0 ? nopts : 1));
    for (int i = 0; i < nopts; i++) names[i] = opts[i].name;
    char list[512];
    if (bb_suggest(list, sizeof list, name, names, nopts, prefix)) snprintf(buf, len, " (did you mean %s?)", list);
    else snprintf(buf, len, "%s", otherwise);
    free(names);
}

int intlist_has(const BbIntList *l, int v) {
    for (int i = 0; i < l->n; i++)
        if (l->v[i] == v) return 1;
    return 0;
}

int parse_intlist(const char *s, BbIntList *out, int lo, int hi, BbError *err) {
    out->n = 0;
    if (*s == '\0') return BB_OK; /* empty list */
    const char *p = s;
    while (*p) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end != p && errno == ERANGE && (*end == ',' || *end == '\0'))
            return bb_fail(err, BB_EINPUT, "%.*s in '%s' is out of range [%d, %d]", (int)(end - p), p, s, lo, hi);
        if (end == p || errno || (*end != ',' && *end != '\0'))
            return bb_fail(err, BB_EINPUT, "'%s' is not a comma-separated list of integers", s);
        if (v < lo || v > hi)
            return bb_fail(err, BB_EINPUT, "%ld in '%s' is out of range [%d, %d]", v, s, lo, hi);
        if (out->n == BB_MAXLIST)
            return bb_fail(err, BB_EINPUT, "list '%s' has more than %d entries", s, BB_MAXLIST);
        out->v[out->n++] = (int)v;
        p = *end ? end + 1 : end;
    }
    return BB_OK;
}

static int set_value(const Opt *o, const char *value, BbError *err) {
    char *end;
    errno = 0;
    switch (o->kind) {
    case OPT_INT:
    case OPT_LONG: {
        long long v = strtoll(value, &end, 10);
        if (end != value && !*end && errno == ERANGE) /* strtoll's LONG_MAX, never taken as a value */
            return bb_fail(err, BB_EINPUT, "--%s: %s is out of range [%.0f, %.0f]", o->name, value, o->lo, o->hi);
        if (end == value || *end || errno)
            return bb_fail(err, BB_EINPUT, "--%s: '%s' is not an integer", o->name, value);
        if ((double)v < o->lo || (double)v > o->hi)
            return bb_fail(err, BB_EINPUT, "--%s: %lld is out of range [%.0f, %.0f]", o->name, v,
                           o->lo, o->hi);
        if (o->kind == OPT_INT) *(int *)o->dest = (int)v;
        else *(long *)o->dest = (long)v;
        return BB_OK;
    }
    case OPT_U64: {
        if (*value == '-')
            return bb_fail(err, BB_EINPUT, "--%s: '%s' must be a non-negative integer", o->name, value);
        unsigned long long v = strtoull(value, &end, 10);
        if (end != value && !*end && errno == ERANGE)
            return bb_fail(err, BB_EINPUT, "--%s: %s is out of range (at most %llu)", o->name, value,
                           (unsigned long long)UINT64_MAX);
        if (end == value || *end || errno)
            return bb_fail(err, BB_EINPUT, "--%s: '%s' is not a non-negative integer", o->name, value);
        *(uint64_t *)o->dest = (uint64_t)v;
        return BB_OK;
    }
    case OPT_DOUBLE: {
        double v = strtod(value, &end);
        if (end == value || *end || errno || !isfinite(v))
            return bb_fail(err, BB_EINPUT, "--%s: '%s' is not a finite number", o->name, value);
        if (v < o->lo || v > o->hi)
            return bb_fail(err, BB_EINPUT, "--%s: %g is out of range [%g, %g]", o->name, v, o->lo, o->hi);
        *(double *)o->dest = v;
        return BB_OK;
    }
    case OPT_STR:
    case OPT_PATH:
        if (strlen(value) >= BB_STRLEN)
            return bb_fail(err, BB_EINPUT, "--%s: value is longer than %d characters", o->name, BB_STRLEN - 1);
        strcpy((char *)o->dest, value);
        return BB_OK;
    case OPT_FLAG:
        if (strcmp(value, "0") && strcmp(value, "1"))
            return bb_fail(err, BB_EINPUT, "--%s: '%s' must be 0 or 1", o->name, value);
        *(int *)o->dest = value[0] == '1';
        return BB_OK;
    case OPT_CHOICE:
        for (int i = 0; o->choices[i]; i++)
            if (strcmp(o->choices[i], value) == 0) {
                *(int *)o->dest = i;
                return BB_OK;
            }
        {
            char list[512] = "", near[256], hint[300] = "";
            int n = 0;
            for (int i = 0; o->choices[i]; i++, n++) {
                strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
                strncat(list, o->choices[i], sizeof list - strlen(list) - 1);
            }
            if (bb_suggest(near, sizeof near, value, (const char *const *)o->choices, n, ""))
                snprintf(hint, sizeof hint, "did you mean %s? ", near);
            return bb_fail(err, BB_EINPUT, "--%s: unknown value '%s' (%schoose one of: %s)", o->name, value, hint,
                           list);
        }
    case OPT_EACH: {
        const OptEach *each = o->dest;
        return each->fn(each->ctx, o, value, err);
    }
    case OPT_INTLIST: {
        int rc = parse_intlist(value, (BbIntList *)o->dest, (int)o->lo, (int)o->hi, err);
        if (rc) {
            char inner[sizeof err->msg];
            snprintf(inner, sizeof inner, "%s", err ? err->msg : "");
            return bb_fail(err, rc, "--%s: %s", o->name, inner);
        }
        return BB_OK;
    }
    }
    return bb_fail(err, BB_EINPUT, "--%s: unsupported option kind", o->name);
}

int opts_set(const Opt *opts, int nopts, const char *name, const char *value, BbError *err) {
    const Opt *o = opt_find(opts, nopts, name);
    if (!o) {
        char hint[600];
        opt_suggestion(hint, sizeof hint, opts, nopts, name, "", "");
        return bb_fail(err, BB_EINPUT, "unknown option '%s'%s", name, hint);
    }
    return set_value(o, value, err);
}

/* 1 when s holds a control byte (below 0x20, or 0x7f): a newline in a path was written raw
 * into the '# command' and '# run' lines of every TSV, which then no longer loaded. */
static int has_control(const char *s) {
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f) return 1;
    return 0;
}

#define CONTROL_MSG "holds a control character (newline, tab, ...), which would break the '# command' lines " \
                    "of config.txt and every TSV; rename it"

/* A path given on the command line: "" would mean "here" or "/" (--out "" once wrote a
 * run into /), and "--quiet" is a flag the value swallowed (--out --quiet). */
static int check_path_arg(const Opt *o, const char *value, BbError *err) {
    if (value[0] == '\0') return bb_fail(err, BB_EINPUT, "--%s: empty path", o->name);
    if (value[0] == '-')
        return bb_fail(err, BB_EINPUT, "--%s '%s': looks like a flag; write ./%s if you mean it", o->name, value,
                       value);
    if (has_control(value)) return bb_fail(err, BB_EINPUT, "--%s '%s': " CONTROL_MSG, o->name, value);
    return BB_OK;
}

int opts_parse(const Opt *opts, int nopts, int argc, char **argv, char **pos, int maxpos,
               int *npos, BbError *err) {
    *npos = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] == '\0')
            return bb_fail(err, BB_EINPUT, "empty argument '' (a run directory or other argument; see --help)");
        if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
            if (*npos >= maxpos)
                return bb_fail(err, BB_EINPUT, "unexpected argument '%s' (see --help)", a);
            if (has_control(a)) return bb_fail(err, BB_EINPUT, "argument '%s' " CONTROL_MSG, a);
            pos[(*npos)++] = argv[i];
            continue;
        }
        char name[128];
        const char *eq = strchr(a + 2, '=');
        size_t nlen = eq ? (size_t)(eq - (a + 2)) : strlen(a + 2);
        if (nlen >= sizeof name) return bb_fail(err, BB_EINPUT, "unknown flag '%s' (see --help)", a);
        memcpy(name, a + 2, nlen);
        name[nlen] = '\0';
        const Opt *o = opt_find(opts, nopts, name);
        if (!o) {
            char hint[600];
            opt_suggestion(hint, sizeof hint, opts, nopts, name, "--", " (see --help)");
            return bb_fail(err, BB_EINPUT, "unknown flag '--%s'%s", name, hint);
        }
        const char *value;
        if (o->kind == OPT_FLAG && !eq) {
            value = "1";
        } else if (eq) {
            value = eq + 1;
        } else {
            if (i + 1 >= argc) return bb_fail(err, BB_EINPUT, "--%s needs a value", name);
            value = argv[++i];
        }
        int rc = o->kind == OPT_PATH ? check_path_arg(o, value, err) : BB_OK;
        if (!rc) rc = set_value(o, value, err);
        if (rc) return rc;
    }
    return BB_OK;
}

int opts_given(const Opt *opts, int nopts, int argc, char **argv, const char *name) {
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0 || a[2] == '\0') continue; /* positional */
        const char *eq = strchr(a + 2, '=');
        const size_t nlen = eq ? (size_t)(eq - (a + 2)) : strlen(a + 2);
        const Opt *o = NULL;
        for (int k = 0; k < nopts && !o; k++)
            if (strlen(opts[k].name) == nlen && !strncmp(opts[k].name, a + 2, nlen)) o = &opts[k];
        if (!o) continue;
        if (!strcmp(o->name, name)) return 1;
        if (!eq && o->kind != OPT_FLAG) i++; /* its value, whatever it looks like */
    }
    return 0;
}

void opts_format(const Opt *o, char *buf, size_t len) {
    switch (o->kind) {
    case OPT_INT: snprintf(buf, len, "%d", *(int *)o->dest); break;
    case OPT_LONG: snprintf(buf, len, "%ld", *(long *)o->dest); break;
    case OPT_U64: snprintf(buf, len, "%llu", (unsigned long long)*(uint64_t *)o->dest); break;
    case OPT_DOUBLE: bb_format_num(buf, len, *(double *)o->dest); break;
    case OPT_STR:
    case OPT_PATH: snprintf(buf, len, "%s", (const char *)o->dest); break;
    case OPT_FLAG: snprintf(buf, len, "%d", *(int *)o->dest); break;
    case OPT_CHOICE: snprintf(buf, len, "%s", o->choices[*(int *)o->dest]); break;
    case OPT_EACH: snprintf(buf, len, "%s", ""); break;
    case OPT_INTLIST: {
        const BbIntList *l = o->dest;
        buf[0] = '\0';
        for (int i = 0; i < l->n; i++) {
            size_t k = strlen(buf);
            snprintf(buf + k, len - k, "%s%d", i ? "," : "", l->v[i]);
        }
        break;
    }
    }
}

void opts_help(FILE *f, const Opt *opts, int nopts) {
    for (int i = 0; i < nopts; i++) {
        const Opt *o = &opts[i];
        char val[BB_STRLEN + 64], flag[160];
        opts_format(o, val, sizeof val); /* doubles: the shortest form that reads back, as in config.txt */
        const char *meta = o->kind == OPT_EACH ? ((const OptEach *)o->dest)->meta : o->kind == OPT_FLAG ? "" : o->kind == OPT_CHOICE ? "NAME"
                         : o->kind == OPT_INTLIST ? "LIST" : o->kind == OPT_STR ? "STR" : o->kind == OPT_PATH ? "PATH"
                         : o->kind == OPT_DOUBLE ? "X" : "N";
        snprintf(flag, sizeof flag, "--%s%s%s", o->name, meta[0] ? " " : "", meta);
        fprintf(f, "  %-24s %s", flag, o->help);
        if (o->kind == OPT_CHOICE) {
            fprintf(f, " (");
            for (int c = 0; o->choices[c]; c++) fprintf(f, "%s%s", c ? "|" : "", o->choices[c]);
            fprintf(f, ")");
        }
        if (o->kind == OPT_EACH) fprintf(f, "\n");
        else if (o->kind == OPT_FLAG) fprintf(f, " [default: %s]\n", *(int *)o->dest ? "on" : "off");
        else if (o->kind == OPT_PATH && !val[0] && strstr(o->help, "[default:")) fprintf(f, "\n");
        else fprintf(f, " [default: %s]\n", val[0] ? val : "none");
    }
}

void opts_write(FILE *f, const Opt *opts, int nopts) {
    for (int i = 0; i < nopts; i++) {
        if (opts[i].kind == OPT_EACH) continue;
        char val[BB_STRLEN + 64];
        opts_format(&opts[i], val, sizeof val);
        fprintf(f, "%s %s\n", opts[i].name, val);
    }
}

/* One line of at most cap - 1 bytes into line (the newline kept, as fgets), its length in
 * *len (NUL bytes included, which fgets would hide). 0 at EOF, 1 for a line, -1 when it
 * does not fit. */
static int read_line(FILE *f, char *line, size_t cap, size_t *len) {
    size_t n = 0;
    int c = EOF;
    while (n + 1 < cap && (c = getc(f)) != EOF) {
        line[n++] = (char)c;
        if (c == '\n') break;
    }
    line[n] = '\0';
    *len = n;
    if (n + 1 == cap && c != '\n' && (c = getc(f)) != EOF) return -1;
    return n > 0;
}

int opts_read(const Opt *opts, int nopts, FILE *f, const char *where, BbError *err) {
    char line[BB_STRLEN + 256];
    int lineno = 0, got;
    size_t n;
    while ((got = read_line(f, line, sizeof line, &n)) != 0) {
        lineno++;
        if (got < 0) return bb_fail(err, BB_EINPUT, "%s:%d: line too long", where, lineno);
        if (bb_check_text_line(line, n, where, lineno, err)) return BB_EINPUT;
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
        if (n == 0 || line[0] == '#') continue;
        if (strcmp(line, "end") == 0) return BB_OK;
        char *sp = strchr(line, ' ');
        const char *value = sp ? sp + 1 : "";
        if (sp) *sp = '\0';
        if (opts_set(opts, nopts, line, value, err)) {
            char inner[sizeof err->msg];
            snprintf(inner, sizeof inner, "%s", err ? err->msg : "");
            return bb_fail(err, BB_EINPUT, "%s:%d: %s", where, lineno, inner);
        }
    }
    if (ferror(f)) return bb_fail(err, BB_EIO, "%s: read error", where);
    return BB_OK;
}

int opts_wants_help(int argc, char **argv) {
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return 1;
    return 0;
}

int opts_parse_run_dir(const Opt *opts, int nopts, int argc, char **argv, const char *usage, const char **dir,
                       BbError *err) {
    char *pos[2];
    int npos, rc = opts_parse(opts, nopts, argc, argv, pos, 2, &npos, err);
    if (rc) return rc;
    if (npos != 1) return bb_fail(err, BB_EINPUT, "expected one run directory (usage: %s, see --help)", usage);
    *dir = pos[0];
    return BB_OK;
}
