/* Shared plumbing for every bbsim module: error status + message, declarative
 * command-line options (one table gives parsing, --help and the saved config),
 * atomic file writes, TSV provenance headers, and seeded 64-bit GSL streams. */
#ifndef BBSIM_COMMON_H
#define BBSIM_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <gsl/gsl_rng.h>

/* ---- status and messages (GSL style: functions return 0 on success) ----
 * One code per kind of failure, so that a caller decides on the code, never on the
 * message. Bad input comes in three kinds: BB_EINPUT (flags, arguments, files: the
 * general one), BB_ECORRUPT (a damaged file: cut short, a checksum that fails, not the
 * format it should be, a format version this bbsim does not read; --resume falls back to
 * an earlier checkpoint) and BB_ENOENT (nothing there to read: a run directory without
 * checkpoints). */
enum { BB_OK = 0, BB_EINPUT = 2, BB_EIO = 3, BB_ENOMEM = 4, BB_EINTR = 5, BB_ENUM = 6, BB_ECORRUPT = 7, BB_ENOENT = 8,
       BB_EDIVERGED = 9 /* bbsim train stopped on a non-finite loss or gradient */ };

typedef struct BbError {
    char msg[1024];
} BbError;

/* Fill err->msg (printf-style) and return code. err may be NULL. Every byte a terminal
 * could act on becomes \xHH (bb_escape_msg): a file's name or contents quoted in a message
 * cannot move the cursor, ring the bell, reorder the line or split the one line of an
 * error. */
int bb_fail(BbError *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Copy the string in into out (cap bytes, NUL-terminated) with \xHH for each byte of: the
 * C0 controls (below 0x20) but those in keep (e.g. "\n", or "" for none), DEL (0x7f), the
 * C1 controls (U+0080..U+009F, bytes c2 80..c2 9f), the bidirectional embeddings,
 * overrides and isolates (U+202A..U+202E, U+2066..U+2069), and every byte that is not part
 * of valid UTF-8 (a lone 0x9b is a CSI to a Latin-1 terminal). Other UTF-8 stays as it is.
 * Cut before a piece that does not fit, never inside one. Returns the length written. */
size_t bb_escape_msg(char *out, size_t cap, const char *in, const char *keep);
/* printf to f (stdout, stderr) through bb_escape_msg keeping \n, \r and \t: for the
 * status lines that show a path or a label the user gave. */
int bb_say(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Process exit statuses, the same in every command (docs/method.md#exit-statuses). */
enum { BB_EXIT_OK = 0, BB_EXIT_FAILURE = 1, BB_EXIT_INPUT = 2, BB_EXIT_DIVERGED = 4, BB_EXIT_INTERRUPTED = 130 };
/* The exit status of a status code: BB_OK 0, bad input (BB_EINPUT, BB_ECORRUPT, BB_ENOENT)
 * 2, BB_EDIVERGED 4, BB_EINTR 130, any other (BB_EIO, BB_ENOMEM, BB_ENUM) 1. */
int bb_exit_status(int code);
/* Print "bbsim CMD: message" on stderr; returns bb_exit_status(code). */
int bb_report(const char *cmd, int code, const BbError *err);

/* Abort with a message: programming errors only (never bad input). */
#define BB_CHECK(cond)                                                                  \
    do {                                                                                \
        if (!(cond)) bb_panic(__FILE__, __LINE__, #cond);                               \
    } while (0)
void bb_panic(const char *file, int line, const char *what) __attribute__((noreturn));

/* malloc/calloc that abort on failure (allocation failure is not recoverable here). */
void *bb_malloc(size_t n);
void *bb_calloc(size_t count, size_t size);

/* ---- declarative options ----
 * Every subcommand describes its flags in an Opt table. The same table parses argv,
 * prints --help with current values as defaults, and writes/reads "name value" config
 * files, so a run's resolved configuration can always be re-read exactly. */
typedef enum {
    OPT_INT,    /* int, range [lo, hi] */
    OPT_LONG,   /* long, range [lo, hi] */
    OPT_U64,    /* uint64_t seed (no range) */
    OPT_DOUBLE, /* double, range [lo, hi] */
    OPT_STR,    /* char[BB_STRLEN] */
    OPT_PATH,   /* char[BB_STRLEN], a file or directory. On the command line (opts_parse) an
                   empty value or one starting with '-' is refused ("--out: empty path",
                   "--out '--quiet': looks like a flag; ..."): leave the flag out for its
                   default. Config files (opts_set, opts_read) keep "" = none. */
    OPT_FLAG,   /* int set to 1 by the flag (no value); "0"/"1" in config files */
    OPT_CHOICE, /* int index into choices[] (NULL terminated) */
    OPT_INTLIST, /* BbIntList, comma-separated ints within [lo, hi] */
    OPT_EACH    /* repeatable: dest is an OptEach whose fn gets every occurrence, in order;
                   not part of a saved configuration */
} OptKind;

#define BB_STRLEN 1024
#define BB_MAXLIST 64

typedef struct BbIntList {
    int n;
    int v[BB_MAXLIST];
} BbIntList;

typedef struct Opt {
    const char *name; /* without the leading "--" */
    OptKind kind;
    void *dest;
    double lo, hi;             /* numeric range (inclusive) */
    const char *const *choices; /* OPT_CHOICE only */
    const char *help;
} Opt;

/* The receiver of an OPT_EACH option: fn(ctx, option, value, err), 0 = accepted; meta
 * names the value in --help. */
typedef struct OptEach {
    int (*fn)(void *ctx, const struct Opt *o, const char *value, BbError *err);
    void *ctx;
    const char *meta;
} OptEach;

/* Parse argv[0..argc) (argv[0] is the first flag, not the program name). Positional
 * arguments are returned in pos[0..*npos) (at most maxpos). Returns BB_EINPUT with a
 * one-line message naming the flag on unknown flags (with the closest names: "unknown
 * flag '--lr-rate' (did you mean --lr?)"), unknown choices, missing or bad values, an
 * empty or flag-like OPT_PATH value and an empty positional argument. */
int opts_parse(const Opt *opts, int nopts, int argc, char **argv, char **pos, int maxpos,
               int *npos, BbError *err);
/* 1 when argv holds --help or -h (a command prints its usage and exits 0). */
int opts_wants_help(int argc, char **argv);
/* opts_parse for a command of one run directory: *dir = the single positional argument,
 * else BB_EINPUT "expected one run directory (usage: USAGE, see --help)". */
int opts_parse_run_dir(const Opt *opts, int nopts, int argc, char **argv, const char *usage, const char **dir,
                       BbError *err);
/* Whether --name appears in argv (read as opts_parse reads it: a flag's value is never
 * taken for a flag). For flags that fill in others unless these are given themselves,
 * wherever they stand (--seed N and --data-seed M). */
int opts_given(const Opt *opts, int nopts, int argc, char **argv, const char *name);
/* Set one option from its textual value (used by opts_parse and config files). */
int opts_set(const Opt *opts, int nopts, const char *name, const char *value, BbError *err);
/* Print "  --name VALUE  help [default: current]" for every option (an empty OPT_PATH
 * whose help says "[default: ...]" itself gets no second one). */
void opts_help(FILE *f, const Opt *opts, int nopts);
/* Write "name value" lines (the resolved configuration). */
void opts_write(FILE *f, const Opt *opts, int nopts);
/* Format an option's current value into buf. */
void opts_format(const Opt *o, char *buf, size_t len);
/* Read "name value" lines written by opts_write from an open file, stopping at a line
 * "end" (or EOF). Unknown names are errors; `where` names the file in messages. */
int opts_read(const Opt *opts, int nopts, FILE *f, const char *where, BbError *err);
/* "Did you mean": the candidates closest to an unknown word (one edit or an adjacent swap;
 * a candidate that is the word's first part up to a '-' ("lr" for "lr-rate"), or that the
 * word begins (3 letters or more); else two or three edits in longer words), each with
 * prefix before it, as "--a", "--a or --b" or "--a, --b or --c" into buf. Returns how
 * many (0: nothing is close, buf ""). */
int bb_suggest(char *buf, size_t len, const char *word, const char *const *cands, int ncands, const char *prefix);
/* Parse "1,2,5" into a list with each value in [lo, hi]. */
int parse_intlist(const char *s, BbIntList *out, int lo, int hi, BbError *err);
int intlist_has(const BbIntList *l, int v);

/* ---- numbers in text files ----
 * The shortest decimal that reads back (strtod) to exactly x: 0.003 stays "0.003", a
 * float32 value gets at most 9 digits, a double at most 17. NaN is "NaN", infinities
 * "Inf"/"-Inf" (what numpy, pandas and gnuplot read). Every TSV and config number goes
 * through this. Returns the length (as snprintf). */
int bb_format_num(char *buf, size_t len, double x);
/* The same for a float32 value: the shortest decimal that strtof reads back (<= 9 digits). */
int bb_format_float(char *buf, size_t len, float x);
void bb_put_float(FILE *f, float x);
/* fputs of bb_format_num. */
void bb_put_num(FILE *f, double x);
/* n TSV fields, each "\t" + bb_format_num(x[i]) (integers print as integers). */
void bb_put_fields(FILE *f, int n, const double *x);

/* ---- input files (src/core/input.c; limits in docs/method.md#input-files) ---- */
#define BB_MAX_TABLE_BYTES (64LL << 20)   /* --transitions, --marginal, --labels: a 1024 x 1024
                                             table of 25-character numbers is 25 MiB */
#define BB_MAX_CORPUS_BYTES (256LL << 20) /* --corpus: a byte-level bigram table is well
                                             estimated long before this */
#define BB_MAX_CONFIG_BYTES (1LL << 20)   /* --config: a config.txt has about 1 KB */
#define BB_MAX_TSV_BYTES (1LL << 30)      /* TSV tables read back (bbsim claims) */
/* Open path for reading if it is a regular file of at most max_bytes; BB_EINPUT otherwise
 * ("corpus /dev/zero is a character device, not a regular file"). what names the file's
 * role in messages ("corpus", "transitions file"). */
int bb_open_input(FILE **f, const char *path, const char *what, long long max_bytes, BbError *err);
/* BB_EINPUT "PATH:LINE: NUL byte" if line[0..len) holds a NUL byte (a text line read with
 * getline: C string functions would stop there and skip the rest of the line). */
int bb_check_text_line(const char *line, size_t len, const char *path, int lineno, BbError *err);
/* A text file read line by line, each line checked for NUL bytes (bb_check_text_line):
 *     LineReader in;
 *     if ((rc = lines_open(&in, path, "labels file", BB_MAX_TABLE_BYTES, err))) return rc;
 *     while (lines_next(&in, &rc, err)) { ... in.line, in.len, in.lineno ... }
 *     lines_close(&in);
 * lines_open opens path with bb_open_input (what, max_bytes as there); lines_of reads a
 * stream already open (f stays open at lines_close), `where` naming it in messages.
 * lines_next: 1 with the next line in line (len bytes, the '\n' kept when there is one,
 * NUL-terminated; lineno counts from 1); 0 at the end of the file, and 0 with *rc =
 * BB_EINPUT "WHERE:LINE: NUL byte" for a line that holds one (*rc is left alone
 * otherwise). Read errors: ferror(in.f), before lines_close. */
typedef struct LineReader {
    FILE *f;
    const char *where;
    char *line;
    size_t len, cap;
    int lineno;
    int own; /* lines_close closes f */
} LineReader;
int lines_open(LineReader *r, const char *path, const char *what, long long max_bytes, BbError *err);
void lines_of(LineReader *r, FILE *f, const char *where);
int lines_next(LineReader *r, int *rc, BbError *err);
void lines_close(LineReader *r);

/* ---- atomic output files: write to "<path>.tmp", rename on success ---- */
typedef struct AtomicFile {
    FILE *f;
    char path[BB_STRLEN];
    char tmp[BB_STRLEN + 8];
} AtomicFile;

int afile_open(AtomicFile *af, const char *path, BbError *err);
/* Flush, fsync, check for write errors (full disk), close and rename. On any failure
 * the temporary file is removed and the destination is left untouched. */
int afile_commit(AtomicFile *af, BbError *err);
void afile_abort(AtomicFile *af);
/* Interrupts of a command that writes files (analyze, export): from bb_catch_interrupts,
 * SIGINT and SIGTERM only set a flag (bb_interrupted); the command checks it between
 * files, and afile_commit, seeing it, removes its temporary file and returns BB_EINTR
 * ("interrupted") instead of renaming. bb_release_interrupts puts the previous handlers
 * back. Nested calls (figures runs analyze) count: only the outermost pair acts.
 * bbsim train has its own handler (a checkpoint is finished, not dropped). */
void bb_catch_interrupts(void);
void bb_release_interrupts(void);
int bb_interrupted(void);

/* ---- output folders replaced as a whole (bbsim analyze; docs/format.md#analysis-folders).
 * The set of files is written into a fresh folder TARGET.tmp.XXXXXX beside the target
 * (mkdtemp, same parent) and swapped in at commit (renameat2 RENAME_EXCHANGE, else two
 * renames), so TARGET holds the old set or the new one, never a mix. A TARGET that holds
 * anything `own` does not accept (a file the command did not write, a folder) is refused,
 * not replaced. A symbolic link to a folder is followed: the folder it names is replaced. */
typedef int (*BbNameTest)(const char *name);
typedef struct OutFolder {
    char target[BB_STRLEN];
    char stage[BB_STRLEN + 48]; /* where the new set is written; "" once committed or removed */
    BbNameTest own;
    const char *cmd; /* "analyze": named in messages */
} OutFolder;
/* Check TARGET (absent, or a folder holding only own files and their .tmp leftovers),
 * make its parents, and create the stage folder. */
int outfolder_begin(OutFolder *o, const char *target, BbNameTest own, const char *cmd, BbError *err);
/* Swap the stage in. The own files of the old TARGET for which keep() is true (the
 * outputs of another mode, e.g. dynamics.tsv for one checkpoint's analysis) are hard-linked
 * (or copied) into the new set first; the rest of the old set is removed. Checks
 * bb_interrupted first. On failure the stage is removed and TARGET is as it was. */
int outfolder_commit(OutFolder *o, BbNameTest keep, BbError *err);
/* Remove the stage and what it holds (every error path); nothing when already committed. */
void outfolder_abort(OutFolder *o);

/* Create a directory (and parents); ok if it exists. */
int bb_mkdirs(const char *path, BbError *err);
/* The same, *made = 1 when it created path itself: a command that fails after making its
 * output directory early (to fail early) removes it with bb_rmdir_made, if still empty. */
int bb_mkdirs_made(const char *path, int *made, BbError *err);
void bb_rmdir_made(const char *path, int made);

/* ---- provenance: "# key value" lines right after the column names of every TSV
 * (include/bbsim/tsv.h) and at the head of every config ---- */
/* The command line of this process, recorded by main() once. */
void bb_set_cmdline(int argc, char **argv);
const char *bb_cmdline(void);
/* Writes "# bbsim <version>", "# command ...", "# threads N" (omp_get_max_threads() now:
 * what the command set with --threads, or the OpenMP default), "# built against BLAS". */
void bb_write_provenance(FILE *f);

/* ---- random numbers ----
 * bb_rng_xoshiro: a gsl_rng_type (xoshiro256**, 64-bit state seeded through
 * splitmix64 from the full 64-bit seed), so every GSL sampler works on it and
 * distinct 64-bit seeds give distinct streams. */
extern const gsl_rng_type *bb_rng_xoshiro;
gsl_rng *bb_rng_alloc(uint64_t seed);
/* Mix several integers into one 64-bit seed (splitmix64 chain). */
uint64_t bb_seed_mix(uint64_t a, uint64_t b, uint64_t c);

/* GSL error handler for main(): print and abort (GSL errors are programming errors). */
void bb_install_gsl_handler(void);

/* Wall clock in seconds (monotonic). */
double bb_now(void);
/* Number of OpenMP threads that parallel regions will use. */
int bb_threads(void);
/* The bytes this process may still allocate (src/core/memory.c): the smallest of the
 * address-space limit less what is mapped, and the cgroup's limit less its use (without a
 * cgroup limit: MemAvailable). what gets how the number came about ("the address-space limit
 * "left by the address-space limit (ulimit -v N KiB)"). 0 when nothing is known (then *room is 0). */
int bb_memory_room(unsigned long long *room, char *what, size_t len);
/* The thread count --threads 0 stands for, given the environment: 0 (= leave OpenMP's
 * own default) when OMP_NUM_THREADS is set and not empty (OpenMP reads it itself), else
 * SLURM_CPUS_PER_TASK when it is a whole number 1..1024 (the cores Slurm gave this task,
 * not the node's), else 0 (OpenMP's default: every core). */
int bb_threads_default(const char *omp_num_threads, const char *slurm_cpus_per_task);
/* Apply a --threads value: n > 0 threads, or n = 0 the default above from getenv. main()
 * calls bb_threads_apply(0) once before any command, so --threads 0 honours Slurm. */
void bb_threads_apply(int n);

#endif
