// conv_avx2.c — convolution for the AVX2 tier: 6 x 16 register tile (12 ymm accumulators, 2 ymm of B, one
// broadcast of A), the driver in ../conv_gemm_driver.h.
#if defined(__x86_64__)
#include "../../winograd/winograd_internal.h"

#include <stdlib.h>
#include <string.h>

#include <immintrin.h>

#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)

// Blocking, tuned by measurement on Zen 4 (each can be overridden with -D for experiments): tiles of SM_MR channels
// x SM_NV vectors of pixels (NV <= 3; 6x2 beat 4x3), k blocks of SM_KC, pixel blocks of SM_NC, channel blocks of
// SM_MC.
#define SM_VL 8
#ifndef SM_MR
#define SM_MR 6
#endif
#ifndef SM_NV
#define SM_NV 2
#endif
#ifndef SM_KC
#define SM_KC 256
#endif
#ifndef SM_NC
#define SM_NC 480
#endif
#ifndef SM_MC
#define SM_MC 240
#endif
// Prefetch distance (floats) of the A panels when they stream from memory (sm_tile_epilogue.stream_a): 128 k steps
// of a 6-row panel ahead; on the Xeon, Winograd's largest layers ran 9-30% faster with it and 1x1 layers, whose
// packed weights sit in L2, were slower, so only Winograd's GEMMs over weights larger than the L2 ask for it.
#ifndef SM_PF_A
#define SM_PF_A 768
#endif
#define SM_FN(name) sm_avx2_##name

// Lane mask of the first `lanes` lanes (0..8) for vmaskmovps.
static inline __m256i sm_avx2_mask(int32_t lanes) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(lanes), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// The micro-kernel: acc[MR][NV] += A(kc x MR) * B(kc x NV*8); MASKED: the last vector is partial (mask m).
static inline __attribute__((always_inline)) void sm_avx2_micro(const int NV, const int MASKED, const int PF,
                                                                int32_t kc, const float *restrict a,
                                                                const float *restrict b, ptrdiff_t ldb, float *c,
                                                                ptrdiff_t ldc, __m256i m, const sm_tile_epilogue *e) {
    __m256 acc[SM_MR][SM_NV];
    for (int r = 0; r < SM_MR; r++)
        for (int v = 0; v < NV; v++) acc[r][v] = _mm256_setzero_ps();
#pragma clang loop unroll_count(2)
    for (int32_t k = 0; k < kc; k++) {
        if (PF) _mm_prefetch((const char *)(a + SM_PF_A), _MM_HINT_T0);
        __m256 bv[SM_NV];
        for (int v = 0; v < NV; v++)
            bv[v] = (MASKED && v == NV - 1) ? _mm256_maskload_ps(b + v * 8, m) : _mm256_loadu_ps(b + v * 8);
        for (int r = 0; r < SM_MR; r++) {
            __m256 ar = _mm256_broadcast_ss(a + r);
            for (int v = 0; v < NV; v++) acc[r][v] = _mm256_fmadd_ps(ar, bv[v], acc[r][v]);
        }
        a += SM_MR;
        b += ldb;
    }
    const __m256 zero = _mm256_setzero_ps();
    for (int r = 0; r < SM_MR; r++) {
        if (r >= e->rows) break;
        float *cr = c + r * ldc;
        const float *rr = e->residual ? e->residual + r * ldc : NULL;
        const __m256 bias = (e->first && e->bias) ? _mm256_set1_ps(e->bias[r]) : zero;
        for (int v = 0; v < NV; v++) {
            const int part = MASKED && v == NV - 1;
            __m256 x = acc[r][v];
            if (e->first) {
                x = _mm256_add_ps(x, bias);
                if (rr) x = _mm256_add_ps(x, part ? _mm256_maskload_ps(rr + v * 8, m) : _mm256_loadu_ps(rr + v * 8));
            } else {
                x = _mm256_add_ps(x, part ? _mm256_maskload_ps(cr + v * 8, m) : _mm256_loadu_ps(cr + v * 8));
            }
            if (e->last && e->relu) x = _mm256_max_ps(x, zero);
            if (part) _mm256_maskstore_ps(cr + v * 8, m, x);
            else _mm256_storeu_ps(cr + v * 8, x);
        }
    }
}

#define SM_VMASK __m256i
#include "../conv_tile_switch.h"

static void sm_avx2_zero(float *dst, int32_t n) {
    int32_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, _mm256_setzero_ps());
    for (; i < n; i++) dst[i] = 0.0f;
}

// dst[i] = src[i * stride], i < n. Reads nothing past src[(n - 1) * stride].
static void sm_avx2_copy_strided(float *dst, const float *src, int32_t n, int32_t stride) {
    int32_t i = 0;
    if (stride == 1) {
        for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, _mm256_loadu_ps(src + i));
    } else if (stride == 2) {
        // A chunk reads src[2i .. 2i+15]; the last element is not needed but lies before the next chunk's first,
        // so chunks followed by another are safe; the final partial chunk goes scalar.
        for (; i + 8 < n; i += 8) {
            __m256 lo = _mm256_loadu_ps(src + 2 * i), hi = _mm256_loadu_ps(src + 2 * i + 8);
            // shuffle picks evens per 128-bit lane: lo0 lo2 hi0 hi2 | lo4 lo6 hi4 hi6; reorder the 64-bit pairs.
            __m256 ev = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0));
            ev = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(ev), _MM_SHUFFLE(3, 1, 2, 0)));
            _mm256_storeu_ps(dst + i, ev);
        }
    }
    for (; i < n; i++) dst[i] = src[(size_t)i * stride];
}

#include "../conv_gemm_driver.h"

// The vector layer of the Winograd body.
typedef __m256 sm_vf;
#define SM_VF_LOAD(p) _mm256_loadu_ps(p)
#define SM_VF_STORE(p, v) _mm256_storeu_ps(p, v)
#define SM_VF_ADD(a, b) _mm256_add_ps(a, b)
#define SM_VF_SUB(a, b) _mm256_sub_ps(a, b)
#define SM_VF_MAX(a, b) _mm256_max_ps(a, b)
#define SM_VF_FMADD(a, b, c) _mm256_fmadd_ps(a, b, c)
#define SM_VF_SET1(x) _mm256_set1_ps(x)
// 4x4 transpose within each 128-bit half: (r0, r1, r2, r3) rows -> columns.
#define SM_AVX2_TRANSPOSE4(r0, r1, r2, r3)                                                       \
    do {                                                                                         \
        const __m256 t0_ = _mm256_unpacklo_ps(r0, r1), t1_ = _mm256_unpackhi_ps(r0, r1);         \
        const __m256 t2_ = _mm256_unpacklo_ps(r2, r3), t3_ = _mm256_unpackhi_ps(r2, r3);         \
        r0 = _mm256_castpd_ps(_mm256_unpacklo_pd(_mm256_castps_pd(t0_), _mm256_castps_pd(t2_))); \
        r1 = _mm256_castpd_ps(_mm256_unpackhi_pd(_mm256_castps_pd(t0_), _mm256_castps_pd(t2_))); \
        r2 = _mm256_castpd_ps(_mm256_unpacklo_pd(_mm256_castps_pd(t1_), _mm256_castps_pd(t3_))); \
        r3 = _mm256_castpd_ps(_mm256_unpackhi_pd(_mm256_castps_pd(t1_), _mm256_castps_pd(t3_))); \
    } while (0)
// Each 128-bit half of the 4 loads is one tile's 4 values (tiles 0..7); pair tiles t and t+4 in one register, then
// transpose each half.
#define SM_VF_DEINTERLEAVE4(src, q0, q1, q2, q3)                                                           \
    do {                                                                                                   \
        const __m256 v0_ = _mm256_loadu_ps(src), v1_ = _mm256_loadu_ps((src) + 8);                         \
        const __m256 v2_ = _mm256_loadu_ps((src) + 16), v3_ = _mm256_loadu_ps((src) + 24);                 \
        __m256 r0_ = _mm256_permute2f128_ps(v0_, v2_, 0x20), r1_ = _mm256_permute2f128_ps(v0_, v2_, 0x31); \
        __m256 r2_ = _mm256_permute2f128_ps(v1_, v3_, 0x20), r3_ = _mm256_permute2f128_ps(v1_, v3_, 0x31); \
        SM_AVX2_TRANSPOSE4(r0_, r1_, r2_, r3_);                                                            \
        q0 = r0_;                                                                                          \
        q1 = r1_;                                                                                          \
        q2 = r2_;                                                                                          \
        q3 = r3_;                                                                                          \
    } while (0)
#define SM_VF_INTERLEAVE4(a, b, c, d, dst)                                                             \
    do {                                                                                               \
        __m256 r0_ = (a), r1_ = (b), r2_ = (c), r3_ = (d);                                             \
        SM_AVX2_TRANSPOSE4(r0_, r1_, r2_, r3_); /* r0: tiles 0 | 4, r1: 1 | 5, r2: 2 | 6, r3: 3 | 7 */ \
        _mm256_storeu_ps((dst), _mm256_permute2f128_ps(r0_, r1_, 0x20));                               \
        _mm256_storeu_ps((dst) + 8, _mm256_permute2f128_ps(r2_, r3_, 0x20));                           \
        _mm256_storeu_ps((dst) + 16, _mm256_permute2f128_ps(r0_, r1_, 0x31));                          \
        _mm256_storeu_ps((dst) + 24, _mm256_permute2f128_ps(r2_, r3_, 0x31));                          \
    } while (0)
#include "../../winograd/winograd_f43_body.h"
#include "../conv_entry_points.h"

#pragma clang attribute pop
#endif
