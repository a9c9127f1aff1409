/* Tests of the export writers (src/core/export.c) and bbsim export (src/cli/cmd_export.c),
 * byte by byte: the safetensors header and data, every zip structure of the .npz with its
 * CRC-32 recomputed here bit by bit, the .npy headers; a trained model's exported tensors
 * against its parameters (transposes and head splits re-derived here), and bad input
 * refused with exit 2 and one line naming the problem. */
#include "testutil.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "bbsim/analysis.h"
#include "bbsim/export.h"

/* ------------------------------------------------------------ helpers */

static unsigned char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc((size_t)n + 1);
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) fail_msg("cannot read %s", path);
    fclose(f);
    buf[n] = '\0';
    *len = (size_t)n;
    return buf;
}

static uint64_t le(const unsigned char *p, int bytes) {
    uint64_t x = 0;
    for (int k = bytes - 1; k >= 0; k--) x = x << 8 | p[k];
    return x;
}

/* CRC-32 bit by bit, independent of the table version under test. */
static uint32_t crc_bitwise(const unsigned char *p, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return ~c;
}

/* The little-endian bytes of 32-bit words. */
static void le_words(unsigned char *out, const void *words, size_t n) {
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, (const unsigned char *)words + 4 * i, 4);
        for (int j = 0; j < 4; j++) out[4 * i + j] = (unsigned char)(u >> (8 * j));
    }
}

static int file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* A small set: F32 (2,3) with awkward values, I32 (4), a F32 scalar. */
static const float small_a[6] = {0.0f, -0.0f, 1.5f, -3.25e-38f, 3.4e38f, 0.1f};
static const int small_i[4] = {0, -1, 2147483647, -2147483647 - 1};
static const float small_s[1] = {-7.0f};

static int small_tensors(ExportTensor *t) {
    t[0] = (ExportTensor){"a", EXPORT_F32, 2, {2, 3}, small_a};
    t[1] = (ExportTensor){"i", EXPORT_I32, 1, {4}, small_i};
    t[2] = (ExportTensor){"s", EXPORT_F32, 0, {0}, small_s};
    return 3;
}

static void small_meta(ExportMeta *m) {
    export_meta_add(m, "k", "v");
    export_meta_add(m, "q", "a\"b\\c\nd");
    export_meta_add(m, "u", "\xc3\xa9\xff"); /* UTF-8 e-acute, then a stray byte */
}

/* ------------------------------------------------------------ writers */

static void test_crc32_check_value(void **state) {
    (void)state;
    const char *s = "123456789";
    assert_int_equal(export_crc32(0, s, 9), 0xCBF43926u); /* the CRC-32 check value */
    assert_int_equal(export_crc32(export_crc32(0, s, 4), s + 4, 5), 0xCBF43926u);
    assert_int_equal(export_crc32(0, s, 0), 0);
}

static void test_meta_json_escapes(void **state) {
    (void)state;
    ExportMeta m = {0};
    small_meta(&m);
    assert_string_equal(export_meta_get(&m, "k"), "v");
    assert_null(export_meta_get(&m, "nope"));
    char *json = export_meta_json(&m);
    assert_string_equal(json, "{\"k\":\"v\",\"q\":\"a\\\"b\\\\c\\u000ad\",\"u\":\"\xc3\xa9\\u00ff\"}");
    free(json);
    export_meta_free(&m);
    ExportMeta empty = {0};
    json = export_meta_json(&empty);
    assert_string_equal(json, "{}");
    free(json);
}

static void test_safetensors_bytes(void **state) {
    (void)state;
    char *d = make_tempdir(), path[512];
    snprintf(path, sizeof path, "%s/t.safetensors", d);
    ExportTensor t[3];
    const int n = small_tensors(t);
    ExportMeta m = {0};
    small_meta(&m);
    BbError err;
    if (export_write_safetensors(path, t, n, &m, &err)) fail_msg("%s", err.msg);
    size_t len;
    unsigned char *f = read_file(path, &len);
    const uint64_t hn = le(f, 8);
    assert_int_equal((8 + hn) % 8, 0);
    assert_int_equal(len, 8 + hn + 24 + 16 + 4);
    const char *want = "{\"__metadata__\":{\"k\":\"v\",\"q\":\"a\\\"b\\\\c\\u000ad\",\"u\":\"\xc3\xa9\\u00ff\"},"
                       "\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
                       "\"i\":{\"dtype\":\"I32\",\"shape\":[4],\"data_offsets\":[24,40]},"
                       "\"s\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[40,44]}}";
    const size_t wn = strlen(want);
    assert_true(hn >= wn && hn < wn + 8);
    assert_memory_equal(f + 8, want, wn);
    for (size_t k = wn; k < hn; k++) assert_int_equal(f[8 + k], ' ');
    unsigned char bytes[44];
    le_words(bytes, small_a, 6);
    le_words(bytes + 24, small_i, 4);
    le_words(bytes + 40, small_s, 1);
    assert_memory_equal(f + 8 + hn, bytes, 44);
    free(f);
    /* no metadata: no "__metadata__" key */
    if (export_write_safetensors(path, t, 1, NULL, &err)) fail_msg("%s", err.msg);
    f = read_file(path, &len);
    assert_memory_equal(f + 8, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}}", 56);
    free(f);
    snprintf(path, sizeof path, "%s/t.safetensors.tmp", d);
    assert_false(file_exists(path));
    export_meta_free(&m);
    remove_tempdir(d);
}

/* One entry of a zip, as read back. */
typedef struct {
    char name[80];
    uint32_t crc, size, offset;
    const unsigned char *data;
} ReadEntry;

/* Walk the local headers, then check the central directory and the end record against
 * them; every CRC recomputed. Returns the number of entries. */
static int read_zip(const unsigned char *f, size_t len, ReadEntry *e, int max) {
    size_t p = 0;
    int n = 0;
    while (p + 4 <= len && le(f + p, 4) == 0x04034b50u) {
        assert_true(n < max);
        assert_int_equal(le(f + p + 4, 2), 20); /* version needed */
        assert_int_equal(le(f + p + 6, 2), 0);  /* flags: no data descriptor */
        assert_int_equal(le(f + p + 8, 2), 0);  /* stored */
        e[n].crc = (uint32_t)le(f + p + 14, 4);
        e[n].size = (uint32_t)le(f + p + 18, 4);
        assert_int_equal(le(f + p + 22, 4), e[n].size);
        const size_t nl = le(f + p + 26, 2), xl = le(f + p + 28, 2);
        assert_true(nl < sizeof e[n].name);
        memcpy(e[n].name, f + p + 30, nl);
        e[n].name[nl] = '\0';
        e[n].offset = (uint32_t)p;
        e[n].data = f + p + 30 + nl + xl;
        assert_true(p + 30 + nl + xl + e[n].size <= len);
        assert_int_equal(crc_bitwise(e[n].data, e[n].size), e[n].crc);
        p += 30 + nl + xl + e[n].size;
        n++;
    }
    const size_t cd = p;
    for (int i = 0; i < n; i++) {
        assert_int_equal(le(f + p, 4), 0x02014b50u);
        assert_int_equal(le(f + p + 10, 2), 0);
        assert_int_equal(le(f + p + 16, 4), e[i].crc);
        assert_int_equal(le(f + p + 20, 4), e[i].size);
        assert_int_equal(le(f + p + 24, 4), e[i].size);
        const size_t nl = le(f + p + 28, 2);
        assert_int_equal(nl, strlen(e[i].name));
        assert_int_equal(le(f + p + 42, 4), e[i].offset);
        assert_memory_equal(f + p + 46, e[i].name, nl);
        p += 46 + nl + le(f + p + 30, 2) + le(f + p + 32, 2);
    }
    assert_int_equal(le(f + p, 4), 0x06054b50u);
    assert_int_equal(le(f + p + 8, 2), n);
    assert_int_equal(le(f + p + 10, 2), n);
    assert_int_equal(le(f + p + 12, 4), p - cd);
    assert_int_equal(le(f + p + 16, 4), cd);
    assert_int_equal(p + 22, len);
    return n;
}

/* The .npy v1.0 header of an entry must be exactly `dict` padded to 64; returns the data. */
static const unsigned char *check_npy(const ReadEntry *e, const char *dict, size_t data_bytes) {
    assert_memory_equal(e->data, "\x93NUMPY\x01\x00", 8);
    const size_t hl = le(e->data + 8, 2), dl = strlen(dict);
    assert_int_equal((10 + hl) % 64, 0);
    assert_true(hl > dl);
    assert_memory_equal(e->data + 10, dict, dl);
    for (size_t k = dl; k + 1 < hl; k++) assert_int_equal(e->data[10 + k], ' ');
    assert_int_equal(e->data[10 + hl - 1], '\n');
    assert_int_equal(e->size, 10 + hl + data_bytes);
    return e->data + 10 + hl;
}

static void test_npz_bytes(void **state) {
    (void)state;
    char *d = make_tempdir(), path[512];
    snprintf(path, sizeof path, "%s/t.npz", d);
    ExportTensor t[3];
    const int n = small_tensors(t);
    ExportMeta m = {0};
    small_meta(&m);
    BbError err;
    if (export_write_npz(path, t, n, &m, &err)) fail_msg("%s", err.msg);
    size_t len;
    unsigned char *f = read_file(path, &len);
    ReadEntry e[8];
    assert_int_equal(read_zip(f, len, e, 8), 4);
    assert_string_equal(e[0].name, "a.npy");
    assert_string_equal(e[1].name, "i.npy");
    assert_string_equal(e[2].name, "s.npy");
    assert_string_equal(e[3].name, "__metadata__.npy");
    unsigned char bytes[44];
    le_words(bytes, small_a, 6);
    le_words(bytes + 24, small_i, 4);
    le_words(bytes + 40, small_s, 1);
    assert_memory_equal(check_npy(&e[0], "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 24), bytes, 24);
    assert_memory_equal(check_npy(&e[1], "{'descr': '<i4', 'fortran_order': False, 'shape': (4,), }", 16), bytes + 24, 16);
    assert_memory_equal(check_npy(&e[2], "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", 4), bytes + 40, 4);
    char *json = export_meta_json(&m), dict[128];
    snprintf(dict, sizeof dict, "{'descr': '|u1', 'fortran_order': False, 'shape': (%zu,), }", strlen(json));
    assert_memory_equal(check_npy(&e[3], dict, strlen(json)), json, strlen(json));
    free(json);
    free(f);
    /* the same tensors give the same bytes (fixed timestamps) */
    char path2[512];
    snprintf(path2, sizeof path2, "%s/u.npz", d);
    if (export_write_npz(path2, t, n, &m, &err)) fail_msg("%s", err.msg);
    size_t len2;
    f = read_file(path, &len);
    unsigned char *g = read_file(path2, &len2);
    assert_int_equal(len, len2);
    assert_memory_equal(f, g, len);
    free(f);
    free(g);
    export_meta_free(&m);
    remove_tempdir(d);
}

static void test_write_error_leaves_nothing(void **state) {
    (void)state;
    ExportTensor t[3];
    const int n = small_tensors(t);
    BbError err;
    assert_int_equal(export_write_npz("/nonexistent-dir/x.npz", t, n, NULL, &err), BB_EIO);
    assert_non_null(strstr(err.msg, "/nonexistent-dir/x.npz"));
    assert_int_equal(export_write_safetensors("/nonexistent-dir/x.safetensors", t, n, NULL, &err), BB_EIO);
}

/* ------------------------------------------------------------ bbsim export */

/* One tensor of a safetensors file, found by name in its header. */
typedef struct {
    char dtype[8];
    int ndim;
    size_t shape[4];
    const unsigned char *data;
    size_t bytes;
} StTensor;

static int st_find(const unsigned char *f, const char *name, StTensor *out) {
    const size_t hn = le(f, 8);
    char key[128];
    snprintf(key, sizeof key, "\"%s\":{\"dtype\":\"", name);
    char *header = strndup((const char *)f + 8, hn);
    const char *p = strstr(header, key);
    if (!p) {
        free(header);
        return 0;
    }
    p += strlen(key);
    memset(out, 0, sizeof *out);
    sscanf(p, "%7[^\"]", out->dtype);
    p = strstr(p, "\"shape\":[") + 9;
    while (*p != ']') {
        out->shape[out->ndim++] = strtoul(p, (char **)&p, 10);
        if (*p == ',') p++;
    }
    unsigned long long b, e;
    assert_int_equal(sscanf(strstr(p, "\"data_offsets\":["), "\"data_offsets\":[%llu,%llu]", &b, &e), 2);
    out->data = f + 8 + hn + b;
    out->bytes = e - b;
    free(header);
    return 1;
}

static size_t st_count(const unsigned char *f) {
    const size_t hn = le(f, 8);
    char *header = strndup((const char *)f + 8, hn);
    size_t n = 0;
    for (const char *p = header; (p = strstr(p, "\"dtype\":")); p++) n++;
    free(header);
    return n;
}

/* The tensor name (shape) must hold expected[0..n) bit for bit. */
static void expect_f32(const unsigned char *f, const char *name, int ndim, const size_t *shape, const float *expected,
                       size_t n) {
    StTensor t;
    if (!st_find(f, name, &t)) fail_msg("%s: not in the file", name);
    assert_string_equal(t.dtype, "F32");
    assert_int_equal(t.ndim, ndim);
    for (int d = 0; d < ndim; d++)
        if (t.shape[d] != shape[d]) fail_msg("%s: dimension %d is %zu, expected %zu", name, d, t.shape[d], shape[d]);
    assert_int_equal(t.bytes, 4 * n);
    unsigned char *want = malloc(4 * n);
    le_words(want, expected, n);
    if (memcmp(t.data, want, 4 * n)) fail_msg("%s: data differs from the model's parameters", name);
    free(want);
}

static void test_export_round_trip(void **state) {
    (void)state;
    char *d = make_tempdir(), *out = NULL, path[512];
    /* two heads, the key slot, one ReLU and one linear MLP */
    int rc = run_bbsim(&out, "train --table synthetic --vocab 10 --seq 8 --dim 8 --heads 2 --layers 2 --attn softmax-keybias "
                             "--linear-mlp 1 --batch 4 --steps 3 --eval-batch 6 --quiet --threads 1 --out %s/run", d);
    if (rc) fail_msg("train: %s", out);
    free(out);
    rc = run_bbsim(&out, "export %s/run --eval-batch 5 --out %s/m.safetensors", d, d);
    if (rc) fail_msg("export: %s", out);
    assert_non_null(strstr(out, "step 3"));
    free(out);
    rc = run_bbsim(&out, "export %s/run --eval-batch 5 --out %s/m.npz --quiet", d, d);
    if (rc) fail_msg("export npz: %s", out);
    free(out);

    Run run;
    BbError err;
    snprintf(path, sizeof path, "%s/run", d);
    if (run_load(&run, path, -1, &err)) fail_msg("run_load: %s", err.msg);
    const Model *m = &run.model;
    const ParamPtrs *p = &m->p;
    const size_t C = 8, H = 2, hs = 4, V = (size_t)m->cfg.V, T = 8;
    snprintf(path, sizeof path, "%s/m.safetensors", d);
    size_t len;
    unsigned char *f = read_file(path, &len);

    expect_f32(f, "embed.W_E", 2, (size_t[]){V, C}, p->wte, V * C);
    expect_f32(f, "pos_embed.W_pos", 2, (size_t[]){T, C}, p->wpe, T * C);
    size_t exported = V * C + T * C;
    float *buf = malloc(4 * C * 4 * C * sizeof(float));
    char name[64];
    for (int l = 0; l < 2; l++) {
        snprintf(name, sizeof name, "blocks.%d.ln1.w", l);
        expect_f32(f, name, 1, &C, p->ln1_w[l], C);
        snprintf(name, sizeof name, "blocks.%d.ln1.b", l);
        expect_f32(f, name, 1, &C, p->ln1_b[l], C);
        const char *qkv[3] = {"W_Q", "W_K", "W_V"};
        for (size_t part = 0; part < 3; part++) { /* q_h = x @ W[h]: W[h][c][e] = wqkv[part C + h hs + e][c] */
            for (size_t h = 0; h < H; h++)
                for (size_t c = 0; c < C; c++)
                    for (size_t e = 0; e < hs; e++) buf[(h * C + c) * hs + e] = p->wqkv[l][(part * C + h * hs + e) * C + c];
            snprintf(name, sizeof name, "blocks.%d.attn.%s", l, qkv[part]);
            expect_f32(f, name, 3, (size_t[]){H, C, hs}, buf, C * C);
        }
        for (size_t h = 0; h < H; h++) /* out = sum_h z_h @ W_O[h]: W_O[h][e][c] = wo[c][h hs + e] */
            for (size_t e = 0; e < hs; e++)
                for (size_t c = 0; c < C; c++) buf[(h * hs + e) * C + c] = p->wo[l][c * C + h * hs + e];
        snprintf(name, sizeof name, "blocks.%d.attn.W_O", l);
        expect_f32(f, name, 3, (size_t[]){H, hs, C}, buf, C * C);
        snprintf(name, sizeof name, "blocks.%d.attn.k_slot", l);
        expect_f32(f, name, 2, (size_t[]){H, hs}, p->keyslot[l], C);
        snprintf(name, sizeof name, "blocks.%d.ln2.w", l);
        expect_f32(f, name, 1, &C, p->ln2_w[l], C);
        snprintf(name, sizeof name, "blocks.%d.ln2.b", l);
        expect_f32(f, name, 1, &C, p->ln2_b[l], C);
        exported += 4 * C + 4 * C * C + C; /* ln1, ln2, W_Q K V O, k_slot */
        const size_t F = l == 0 ? 4 * C : C;
        for (size_t c = 0; c < C; c++) /* W_in / W_lin [c][f] = w1[f][c] */
            for (size_t k = 0; k < F; k++) buf[c * F + k] = p->w1[l][k * C + c];
        snprintf(name, sizeof name, l == 0 ? "blocks.%d.mlp.W_in" : "blocks.%d.mlp.W_lin", l);
        expect_f32(f, name, 2, (size_t[]){C, F}, buf, C * F);
        exported += C * F;
        if (l == 0) {
            for (size_t k = 0; k < F; k++) /* W_out[f][c] = w2[c][f] */
                for (size_t c = 0; c < C; c++) buf[k * C + c] = p->w2[l][c * F + k];
            snprintf(name, sizeof name, "blocks.%d.mlp.W_out", l);
            expect_f32(f, name, 2, (size_t[]){F, C}, buf, C * F);
            exported += C * F;
        }
    }
    StTensor none;
    assert_false(st_find(f, "blocks.1.mlp.W_out", &none));
    assert_false(st_find(f, "blocks.1.mlp.W_in", &none));
    expect_f32(f, "ln_final.w", 1, &C, p->lnf_w, C);
    expect_f32(f, "ln_final.b", 1, &C, p->lnf_b, C);
    float *wu = malloc(V * C * sizeof(float));
    for (size_t c = 0; c < C; c++)
        for (size_t v = 0; v < V; v++) wu[c * V + v] = p->wout[v * C + c];
    expect_f32(f, "unembed.W_U", 2, (size_t[]){C, V}, wu, V * C);
    exported += 2 * C + V * C;
    free(wu);
    free(buf);
    /* every parameter exported once; each layer's wqkv became three tensors; + eval */
    assert_int_equal(exported, m->nparams);
    assert_int_equal(st_count(f), (size_t)m->ntensors + 2 * 2 + 2);

    /* the evaluation batch and bbsim's loss on it */
    EvalBatch eb;
    analysis_batch(&eb, &run.task, 5, NULL);
    StTensor ti, tt;
    assert_true(st_find(f, "eval.inputs", &ti) && st_find(f, "eval.targets", &tt));
    assert_string_equal(ti.dtype, "I32");
    assert_int_equal(ti.ndim, 2);
    assert_int_equal(ti.shape[0], 5);
    assert_int_equal(ti.shape[1], T);
    unsigned char *want = malloc(4 * 5 * T);
    le_words(want, eb.inputs, 5 * T);
    assert_memory_equal(ti.data, want, 4 * 5 * T);
    le_words(want, eb.targets, 5 * T);
    assert_memory_equal(tt.data, want, 4 * 5 * T);
    free(want);
    AnalysisConfig ac;
    analysis_config_default(&ac);
    Analysis an;
    analysis_collect(&an, m, &run.task, &eb, NULL, &ac, ANALYSIS_RISKS, 1);
    char loss[64], key[96];
    bb_format_num(loss, sizeof loss, an.risks.loss[DOM_ALL]);
    snprintf(key, sizeof key, "\"eval_loss\":\"%s\"", loss);
    assert_non_null(strstr((const char *)f + 8, key));
    assert_non_null(strstr((const char *)f + 8, "\"naming_version\":\"1\""));
    assert_non_null(strstr((const char *)f + 8, "\"config.linear-mlp\":\"1\""));
    assert_non_null(strstr((const char *)f + 8, "\"attn\":\"softmax-keybias\""));
    analysis_free(&an);
    analysis_batch_free(&eb);

    /* the .npz holds the same bytes under NAME.npy */
    snprintf(path, sizeof path, "%s/m.npz", d);
    size_t zlen;
    unsigned char *z = read_file(path, &zlen);
    ReadEntry e[64];
    const int nz = read_zip(z, zlen, e, 64);
    assert_int_equal((size_t)nz, st_count(f) + 1);
    for (int i = 0; i < nz - 1; i++) {
        StTensor t;
        char tname[80];
        snprintf(tname, sizeof tname, "%.*s", (int)strlen(e[i].name) - 4, e[i].name);
        if (!st_find(f, tname, &t)) fail_msg("%s is in the npz, not in the safetensors", tname);
        const size_t hl = le(e[i].data + 8, 2);
        assert_int_equal(e[i].size, 10 + hl + t.bytes);
        if (memcmp(e[i].data + 10 + hl, t.data, t.bytes)) fail_msg("%s: npz and safetensors data differ", tname);
    }
    free(z);
    free(f);
    run_free(&run);
    remove_tempdir(d);
}

static int count_lines(const char *s) {
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

static void test_export_bad_input_exit_2(void **state) {
    (void)state;
    char *d = make_tempdir(), *out = NULL;
    int rc = run_bbsim(&out, "train --table synthetic --vocab 10 --seq 8 --dim 8 --batch 4 --steps 2 --eval-batch 4 --quiet "
                             "--threads 1 --out %s/run", d);
    if (rc) fail_msg("train: %s", out);
    free(out);
    struct {
        const char *args, *says;
    } cases[] = {
        {"export %s/run --format hdf5", "--format: unknown value 'hdf5'"},
        {"export %s/nope", "not a run directory"},
        {"export %s/run --ckpt 7", "no checkpoint at step 7"},
        {"export %s/run --ckpt soon", "--ckpt 'soon'"},
        {"export %s/run --out %s/missing/m.safetensors", "directory"},
        {"export %s/run --out %s/m.npz --format safetensors", "extension of npz"},
        {"export %s/run --out %s", "is a directory"},
        {"export %s/run --eval-batch -1", "--eval-batch"},
        {"export", "expected one run directory"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        rc = run_bbsim(&out, cases[k].args, d, d);
        if (rc != 2 || count_lines(out) != 1 || strncmp(out, "bbsim export: ", 14) || !strstr(out, cases[k].says))
            fail_msg("'%s': exit %d, output '%s' (expected exit 2, one line saying '%s')", cases[k].args, rc, out,
                     cases[k].says);
        free(out);
    }
    char path[512];
    snprintf(path, sizeof path, "%s/missing", d);
    assert_false(file_exists(path));
    snprintf(path, sizeof path, "%s/run/export", d);
    assert_false(file_exists(path)); /* nothing written by the refused calls */
    /* the default output: RUN_DIR/export/step_STEP.EXT */
    rc = run_bbsim(&out, "export %s/run --format npz --quiet", d);
    if (rc) fail_msg("export: %s", out);
    free(out);
    snprintf(path, sizeof path, "%s/run/export/step_2.npz", d);
    assert_true(file_exists(path));
    remove_tempdir(d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32_check_value),
        cmocka_unit_test(test_meta_json_escapes),
        cmocka_unit_test(test_safetensors_bytes),
        cmocka_unit_test(test_npz_bytes),
        cmocka_unit_test(test_write_error_leaves_nothing),
        cmocka_unit_test(test_export_round_trip),
        cmocka_unit_test(test_export_bad_input_exit_2),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
