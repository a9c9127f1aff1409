/* Named arrays written for other tools (bbsim export, docs/format.md#exported-models):
 * safetensors (8-byte little-endian header length, JSON header, raw little-endian data)
 * and NumPy's .npz (an uncompressed zip of .npy v1.0 files), both written here by hand,
 * through AtomicFile: a failed write leaves no file behind. */
#ifndef BBSIM_EXPORT_H
#define BBSIM_EXPORT_H

#include <stddef.h>
#include <stdint.h>
#include "bbsim/common.h"

typedef enum { EXPORT_F32, EXPORT_I32, EXPORT_U8 } ExportDtype;
extern const char *const export_dtype_names[]; /* safetensors dtypes: "F32","I32","U8" */

#define EXPORT_MAXDIM 4
#define EXPORT_NAMELEN 64

/* One named array: row-major, in host byte order (written little-endian). ndim 0 is a
 * scalar (one element). */
typedef struct ExportTensor {
    char name[EXPORT_NAMELEN];
    int dtype; /* ExportDtype */
    int ndim;
    size_t shape[EXPORT_MAXDIM];
    const void *data;
} ExportTensor;

/* Elements and bytes of a tensor. */
size_t export_elements(const ExportTensor *t);
size_t export_bytes(const ExportTensor *t);

/* String metadata, kept in insertion order (safetensors' "__metadata__"; the npz
 * "__metadata__" entry). */
typedef struct ExportMeta {
    int n, cap;
    char **keys, **values;
} ExportMeta;

/* Add key = printf(fmt, ...). A key given twice is a programming error. */
void export_meta_add(ExportMeta *m, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The value of key, or NULL. */
const char *export_meta_get(const ExportMeta *m, const char *key);
void export_meta_free(ExportMeta *m);
/* The metadata as one JSON object {"key":"value",...} in insertion order (malloc'd). Bytes
 * that are not valid UTF-8 are written as \u00XX (read as Latin-1). */
char *export_meta_json(const ExportMeta *m);

/* CRC-32 (IEEE 802.3, the zip one): crc = export_crc32(0, data, n) for a whole buffer, or
 * chained over pieces. */
uint32_t export_crc32(uint32_t crc, const void *data, size_t n);

/* Write tensors t[0..n) (names unique, none "__metadata__") with the metadata (may be NULL)
 * to path atomically. The directory of path must exist. safetensors: tensors in the given
 * order, data_offsets contiguous, header padded with spaces to a multiple of 8 bytes.
 * npz: one stored (uncompressed) zip entry NAME.npy per tensor, then __metadata__.npy, a
 * uint8 array holding export_meta_json (np.load reads it with allow_pickle=False); a file
 * of 4 GiB or more (which needs ZIP64) is refused with BB_EINPUT. Write errors: BB_EIO. */
int export_write_safetensors(const char *path, const ExportTensor *t, int n, const ExportMeta *meta, BbError *err);
int export_write_npz(const char *path, const ExportTensor *t, int n, const ExportMeta *meta, BbError *err);

#endif
