/* Random numbers: xoshiro256** as a gsl_rng type seeded from a full 64-bit seed, and
 * seed mixing (splitmix64). */
#include "bbsim/common.h"

#include <stdlib.h>
#include <gsl/gsl_rng.h>

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint64_t bb_seed_mix(uint64_t a, uint64_t b, uint64_t c) {
    uint64_t x = a;
    uint64_t h = splitmix64(&x);
    x = h ^ b;
    h = splitmix64(&x);
    x = h ^ c;
    return splitmix64(&x);
}

typedef struct {
    uint64_t s[4];
} XoshiroState;

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline uint64_t xoshiro_next(XoshiroState *st) {
    uint64_t *s = st->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

static void xoshiro_set(void *vstate, unsigned long seed) {
    XoshiroState *st = vstate;
    uint64_t x = (uint64_t)seed;
    for (int i = 0; i < 4; i++) st->s[i] = splitmix64(&x);
}

/* GSL's get() returns values in [min, max]; we expose the top 32 bits. */
static unsigned long xoshiro_get(void *vstate) { return (unsigned long)(xoshiro_next(vstate) >> 32); }

static double xoshiro_get_double(void *vstate) {
    return (double)(xoshiro_next(vstate) >> 11) * 0x1.0p-53; /* [0,1) with 53 bits */
}

static const gsl_rng_type xoshiro_type = {"xoshiro256**", 0xffffffffUL, 0, sizeof(XoshiroState),
                                          &xoshiro_set, &xoshiro_get, &xoshiro_get_double};
const gsl_rng_type *bb_rng_xoshiro = &xoshiro_type;

gsl_rng *bb_rng_alloc(uint64_t seed) {
    _Static_assert(sizeof(unsigned long) == 8, "bbsim needs 64-bit unsigned long (LP64)");
    gsl_rng *r = gsl_rng_alloc(bb_rng_xoshiro);
    if (!r) {
        fprintf(stderr, "bbsim: out of memory allocating a random stream\n");
        exit(BB_EXIT_FAILURE);
    }
    gsl_rng_set(r, (unsigned long)seed);
    return r;
}
