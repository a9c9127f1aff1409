/* The safetensors and .npz writers of include/bbsim/export.h: small formats, written by
 * hand (no library), byte order fixed to little-endian whatever the host, and the zip
 * entries stamped 1980-01-01 so the same tensors always give the same bytes. */
#include "bbsim/export.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

const char *const export_dtype_names[] = {"F32", "I32", "U8", NULL};
static const char *const npy_descr[] = {"<f4", "<i4", "|u1"};
static const size_t dtype_size[] = {4, 4, 1};

size_t export_elements(const ExportTensor *t) {
    size_t n = 1;
    for (int d = 0; d < t->ndim; d++) n *= t->shape[d];
    return n;
}

size_t export_bytes(const ExportTensor *t) { return export_elements(t) * dtype_size[t->dtype]; }

/* ------------------------------------------------------------ growable strings */

typedef struct {
    char *s;
    size_t n, cap;
} StrBuf;

static void sb_putn(StrBuf *b, const char *s, size_t n) {
    if (b->n + n + 1 > b->cap) {
        while (b->n + n + 1 > b->cap) b->cap = b->cap ? 2 * b->cap : 256;
        char *grown = realloc(b->s, b->cap);
        BB_CHECK(grown != NULL);
        b->s = grown;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = '\0';
}

static void sb_puts(StrBuf *b, const char *s) { sb_putn(b, s, strlen(s)); }

static void sb_printf(StrBuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(StrBuf *b, const char *fmt, ...) {
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    BB_CHECK(k >= 0 && (size_t)k < sizeof tmp);
    sb_putn(b, tmp, (size_t)k);
}

/* ------------------------------------------------------------ metadata */

void export_meta_add(ExportMeta *m, const char *key, const char *fmt, ...) {
    BB_CHECK(export_meta_get(m, key) == NULL);
    if (m->n == m->cap) {
        m->cap = m->cap ? 2 * m->cap : 32;
        m->keys = realloc(m->keys, (size_t)m->cap * sizeof *m->keys);
        m->values = realloc(m->values, (size_t)m->cap * sizeof *m->values);
        BB_CHECK(m->keys && m->values);
    }
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    BB_CHECK(len >= 0);
    char *v = bb_malloc((size_t)len + 1);
    va_start(ap, fmt);
    vsnprintf(v, (size_t)len + 1, fmt, ap);
    va_end(ap);
    m->keys[m->n] = bb_malloc(strlen(key) + 1);
    strcpy(m->keys[m->n], key);
    m->values[m->n++] = v;
}

const char *export_meta_get(const ExportMeta *m, const char *key) {
    for (int i = 0; i < m->n; i++)
        if (!strcmp(m->keys[i], key)) return m->values[i];
    return NULL;
}

void export_meta_free(ExportMeta *m) {
    for (int i = 0; i < m->n; i++) {
        free(m->keys[i]);
        free(m->values[i]);
    }
    free(m->keys);
    free(m->values);
    memset(m, 0, sizeof *m);
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 (a stray or overlong byte). */
static int utf8_len(const unsigned char *s) {
    const unsigned char c = s[0];
    int n;
    unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (c >= 0xC2 && c <= 0xDF) n = 2;
    else if (c >= 0xE0 && c <= 0xEF) n = 3, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    else if (c >= 0xF0 && c <= 0xF4) n = 4, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    else return 0;
    if (s[1] < lo || s[1] > hi) return 0;
    for (int k = 2; k < n; k++)
        if (s[k] < 0x80 || s[k] > 0xBF) return 0;
    return n;
}

static void json_string(StrBuf *b, const char *str) {
    const unsigned char *s = (const unsigned char *)str;
    sb_putn(b, "\"", 1);
    while (*s) {
        if (*s == '"' || *s == '\\') {
            sb_putn(b, "\\", 1);
            sb_putn(b, (const char *)s++, 1);
        } else if (*s < 0x20 || *s == 0x7F) {
            sb_printf(b, "\\u%04x", *s++);
        } else if (*s < 0x80) {
            sb_putn(b, (const char *)s++, 1);
        } else {
            int k = utf8_len(s);
            if (k) {
                sb_putn(b, (const char *)s, (size_t)k);
                s += k;
            } else {
                sb_printf(b, "\\u%04x", *s++);
            }
        }
    }
    sb_putn(b, "\"", 1);
}

static void json_meta_object(StrBuf *b, const ExportMeta *m) {
    sb_puts(b, "{");
    for (int i = 0; m && i < m->n; i++) {
        if (i) sb_puts(b, ",");
        json_string(b, m->keys[i]);
        sb_puts(b, ":");
        json_string(b, m->values[i]);
    }
    sb_puts(b, "}");
}

char *export_meta_json(const ExportMeta *m) {
    StrBuf b = {0};
    json_meta_object(&b, m);
    return b.s;
}

/* ------------------------------------------------------------ CRC-32 */

uint32_t export_crc32(uint32_t crc, const void *data, size_t n) {
    static uint32_t table[256];
    static int ready;
    if (!ready) { /* reflected polynomial 0xEDB88320 */
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[i] = c;
        }
        ready = 1;
    }
    const unsigned char *p = data;
    crc = ~crc;
    for (size_t i = 0; i < n; i++) crc = table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
    return ~crc;
}

/* ------------------------------------------------------------ little-endian output */

/* A sink of bytes: a file (or none: counting and CRC only) and a running CRC. */
typedef struct {
    FILE *f;
    uint32_t crc;
    uint64_t written;
} Sink;

static void sink_put(Sink *s, const void *p, size_t n) {
    if (s->f) fwrite(p, 1, n, s->f);
    s->crc = export_crc32(s->crc, p, n);
    s->written += n;
}

static void sink_le(Sink *s, uint64_t x, int bytes) {
    unsigned char b[8];
    for (int k = 0; k < bytes; k++) b[k] = (unsigned char)(x >> (8 * k));
    sink_put(s, b, (size_t)bytes);
}

/* A tensor's data as little-endian bytes, through a small buffer (any host order). */
static void sink_data(Sink *s, const ExportTensor *t) {
    const size_t n = export_elements(t), es = dtype_size[t->dtype];
    const unsigned char *src = t->data;
    if (es == 1) {
        sink_put(s, src, n);
        return;
    }
    unsigned char buf[4096 * 4];
    for (size_t i = 0; i < n;) {
        size_t k = 0;
        for (; k < 4096 && i < n; k++, i++) {
            uint32_t u;
            memcpy(&u, src + 4 * i, 4);
            for (int j = 0; j < 4; j++) buf[4 * k + j] = (unsigned char)(u >> (8 * j));
        }
        sink_put(s, buf, 4 * k);
    }
}

static void check_tensors(const ExportTensor *t, int n) {
    for (int i = 0; i < n; i++) {
        BB_CHECK(t[i].dtype >= EXPORT_F32 && t[i].dtype <= EXPORT_U8);
        BB_CHECK(t[i].ndim >= 0 && t[i].ndim <= EXPORT_MAXDIM);
        BB_CHECK(t[i].name[0] && strcmp(t[i].name, "__metadata__") != 0);
        BB_CHECK(t[i].data != NULL || export_elements(&t[i]) == 0);
        for (int j = 0; j < i; j++) BB_CHECK(strcmp(t[i].name, t[j].name) != 0);
    }
}

/* ------------------------------------------------------------ safetensors */

int export_write_safetensors(const char *path, const ExportTensor *t, int n, const ExportMeta *meta, BbError *err) {
    check_tensors(t, n);
    StrBuf h = {0};
    sb_puts(&h, "{");
    if (meta && meta->n) {
        sb_puts(&h, "\"__metadata__\":");
        json_meta_object(&h, meta);
    }
    uint64_t off = 0;
    for (int i = 0; i < n; i++) {
        if (i || (meta && meta->n)) sb_puts(&h, ",");
        json_string(&h, t[i].name);
        sb_printf(&h, ":{\"dtype\":\"%s\",\"shape\":[", export_dtype_names[t[i].dtype]);
        for (int d = 0; d < t[i].ndim; d++) sb_printf(&h, "%s%zu", d ? "," : "", t[i].shape[d]);
        const uint64_t end = off + export_bytes(&t[i]);
        sb_printf(&h, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off, (unsigned long long)end);
        off = end;
    }
    sb_puts(&h, "}");
    while ((8 + h.n) % 8) sb_puts(&h, " "); /* the data starts 8-byte aligned */

    AtomicFile af;
    int rc = afile_open(&af, path, err);
    if (rc) {
        free(h.s);
        return rc;
    }
    Sink s = {af.f, 0, 0};
    sink_le(&s, h.n, 8);
    sink_put(&s, h.s, h.n);
    for (int i = 0; i < n; i++) sink_data(&s, &t[i]);
    free(h.s);
    return afile_commit(&af, err);
}

/* ------------------------------------------------------------ npz */

/* The .npy v1.0 header of a tensor: magic, version, header length, then the dict padded
 * with spaces and a newline so that the data starts at a multiple of 64 bytes. */
static void npy_header(StrBuf *b, const ExportTensor *t) {
    StrBuf d = {0};
    sb_printf(&d, "{'descr': '%s', 'fortran_order': False, 'shape': (", npy_descr[t->dtype]);
    for (int k = 0; k < t->ndim; k++) sb_printf(&d, "%s%zu", k ? ", " : "", t->shape[k]);
    sb_puts(&d, t->ndim == 1 ? ",), }" : "), }");
    while ((10 + d.n + 1) % 64) sb_puts(&d, " ");
    sb_puts(&d, "\n");
    BB_CHECK(d.n <= 65535);
    sb_putn(b, "\x93NUMPY\x01\x00", 8);
    const unsigned char len[2] = {(unsigned char)(d.n & 0xFF), (unsigned char)(d.n >> 8)};
    sb_putn(b, (const char *)len, 2);
    sb_putn(b, d.s, d.n);
    free(d.s);
}

enum { ZIP_VERSION = 20, ZIP_DOS_DATE = (0 << 9) | (1 << 5) | 1 /* 1980-01-01 */, ZIP_DOS_TIME = 0 };

typedef struct {
    char name[EXPORT_NAMELEN + 8];
    uint32_t crc, size, offset;
} ZipEntry;

static void zip_local_header(Sink *s, const ZipEntry *e) {
    const size_t nl = strlen(e->name);
    sink_le(s, 0x04034b50u, 4);
    sink_le(s, ZIP_VERSION, 2);
    sink_le(s, 0, 2); /* flags */
    sink_le(s, 0, 2); /* method: stored */
    sink_le(s, ZIP_DOS_TIME, 2);
    sink_le(s, ZIP_DOS_DATE, 2);
    sink_le(s, e->crc, 4);
    sink_le(s, e->size, 4); /* compressed = uncompressed */
    sink_le(s, e->size, 4);
    sink_le(s, nl, 2);
    sink_le(s, 0, 2); /* extra field */
    sink_put(s, e->name, nl);
}

static void zip_central_header(Sink *s, const ZipEntry *e) {
    const size_t nl = strlen(e->name);
    sink_le(s, 0x02014b50u, 4);
    sink_le(s, ZIP_VERSION, 2); /* made by */
    sink_le(s, ZIP_VERSION, 2); /* needed */
    sink_le(s, 0, 2);
    sink_le(s, 0, 2);
    sink_le(s, ZIP_DOS_TIME, 2);
    sink_le(s, ZIP_DOS_DATE, 2);
    sink_le(s, e->crc, 4);
    sink_le(s, e->size, 4);
    sink_le(s, e->size, 4);
    sink_le(s, nl, 2);
    sink_le(s, 0, 2); /* extra */
    sink_le(s, 0, 2); /* comment */
    sink_le(s, 0, 2); /* disk */
    sink_le(s, 0, 2); /* internal attributes */
    sink_le(s, 0, 4); /* external attributes */
    sink_le(s, e->offset, 4);
    sink_put(s, e->name, nl);
}

int export_write_npz(const char *path, const ExportTensor *t, int n, const ExportMeta *meta, BbError *err) {
    check_tensors(t, n);
    /* the tensors, then the metadata JSON as a uint8 array */
    char *json = export_meta_json(meta);
    ExportTensor *all = bb_calloc((size_t)n + 1, sizeof *all);
    memcpy(all, t, (size_t)n * sizeof *t);
    all[n] = (ExportTensor){"__metadata__", EXPORT_U8, 1, {strlen(json)}, json};
    const int nall = n + 1;
    ZipEntry *e = bb_calloc((size_t)nall, sizeof *e);
    StrBuf *hdr = bb_calloc((size_t)nall, sizeof *hdr);

    /* sizes and CRCs first (a local header precedes its data), and the 4 GiB limit */
    uint64_t off = 0, cd = 0;
    for (int i = 0; i < nall; i++) {
        snprintf(e[i].name, sizeof e[i].name, "%s.npy", all[i].name);
        npy_header(&hdr[i], &all[i]);
        Sink c = {NULL, 0, 0};
        sink_put(&c, hdr[i].s, hdr[i].n);
        sink_data(&c, &all[i]);
        e[i].crc = c.crc;
        e[i].size = (uint32_t)c.written;
        e[i].offset = (uint32_t)off;
        off += 30 + strlen(e[i].name) + c.written;
        cd += 46 + strlen(e[i].name);
        if (c.written > 0xFFFFFFFFu || off + cd + 22 > 0xFFFFFFFFu) break;
    }
    int rc = BB_OK;
    if (off + cd + 22 > 0xFFFFFFFFu || nall > 0xFFFF)
        rc = bb_fail(err, BB_EINPUT, "%s: the model is too large for an .npz without ZIP64 (4 GiB); use --format safetensors",
                     path);
    AtomicFile af;
    if (!rc) rc = afile_open(&af, path, err);
    if (!rc) {
        Sink s = {af.f, 0, 0};
        for (int i = 0; i < nall; i++) {
            zip_local_header(&s, &e[i]);
            sink_put(&s, hdr[i].s, hdr[i].n);
            sink_data(&s, &all[i]);
        }
        const uint64_t cd_offset = s.written;
        for (int i = 0; i < nall; i++) zip_central_header(&s, &e[i]);
        const uint64_t cd_size = s.written - cd_offset;
        sink_le(&s, 0x06054b50u, 4); /* end of central directory */
        sink_le(&s, 0, 2);
        sink_le(&s, 0, 2);
        sink_le(&s, (uint64_t)nall, 2);
        sink_le(&s, (uint64_t)nall, 2);
        sink_le(&s, cd_size, 4);
        sink_le(&s, cd_offset, 4);
        sink_le(&s, 0, 2); /* comment */
        BB_CHECK(s.written == off + cd + 22);
        rc = afile_commit(&af, err);
    }
    for (int i = 0; i < nall; i++) free(hdr[i].s);
    free(hdr);
    free(e);
    free(all);
    free(json);
    return rc;
}
