// conv_avx512.c — convolution for the AVX-512 tier: 6 x 64 register tile (24 zmm accumulators, 4 zmm of B,
// A broadcast from memory), the driver in ../conv_gemm_driver.h.
#if defined(__x86_64__)
#include "../../winograd/winograd_internal.h"

#include <stdlib.h>
#include <string.h>

#include <immintrin.h>

#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma"))), apply_to = function)

// Blocking (each can be overridden with -D for experiments): tiles of SM_MR channels x SM_NV vectors of pixels
// (NV <= 6), k blocks of SM_KC, pixel blocks of SM_NC, channel blocks of SM_MC. On Zen 4, before Winograd, 8x3 beat
// 6x4, 4x6 and 12x2 and KC 256 beat 96..192; on the Xeon (family 6 model 207) with Winograd, 6x4 is 5% faster on the
// full-size fp32 frame than 8x3 (Winograd's 64-tile GEMMs run as one 6x64 micro-tile instead of two 8x32; 1x1 layers
// within 2%) and 4x6 no better, KC 128 no better than 256 (per-layer minima of 3 interleaved rounds, 1 thread);
// SM_MC 128 no better than 256, SM_NC 320 better than 480 and 256 (10 rounds at 2 threads, 6 at 1).
#define SM_VL 16
#ifndef SM_MR
#define SM_MR 6
#endif
#ifndef SM_NV
#define SM_NV 4
#endif
#ifndef SM_KC
#define SM_KC 256
#endif
#ifndef SM_NC
#define SM_NC 320   // pixel blocks (equal sizes): 2-3% less than 480 in the full-size frame's per-layer minima
#endif
#ifndef SM_MC
#define SM_MC 256
#endif
// Prefetch distance (floats) of the A panels when they stream from memory (sm_tile_epilogue.stream_a): 128 k steps
// of a 6-row panel ahead; on the Xeon, Winograd's largest layers ran 9-30% faster with it and 1x1 layers, whose
// packed weights sit in L2, were slower, so only Winograd's GEMMs over weights larger than the L2 ask for it.
#ifndef SM_PF_A
#define SM_PF_A 768
#endif
#define SM_FN(name) sm_avx512_##name

static inline __mmask16 sm_avx512_mask(int32_t lanes) { return (__mmask16)((1u << lanes) - 1u); }

// The micro-kernel: acc[MR][NV] += A(kc x MR) * B(kc x NV*16); MASKED: the last vector has `last_lanes` lanes.
static inline __attribute__((always_inline)) void sm_avx512_micro(const int NV, const int MASKED, const int PF,
                                                                  int32_t kc, const float *restrict a,
                                                                  const float *restrict b, ptrdiff_t ldb, float *c,
                                                                  ptrdiff_t ldc, __mmask16 m,
                                                                  const sm_tile_epilogue *e) {
    __m512 acc[SM_MR][SM_NV];
    for (int r = 0; r < SM_MR; r++)
        for (int v = 0; v < NV; v++) acc[r][v] = _mm512_setzero_ps();
#pragma clang loop unroll_count(2)
    for (int32_t k = 0; k < kc; k++) {
        if (PF) _mm_prefetch((const char *)(a + SM_PF_A), _MM_HINT_T0);
        __m512 bv[SM_NV];
        for (int v = 0; v < NV; v++)
            bv[v] = (MASKED && v == NV - 1) ? _mm512_maskz_loadu_ps(m, b + v * 16) : _mm512_loadu_ps(b + v * 16);
        for (int r = 0; r < SM_MR; r++) {
            __m512 ar = _mm512_set1_ps(a[r]);
            for (int v = 0; v < NV; v++) acc[r][v] = _mm512_fmadd_ps(ar, bv[v], acc[r][v]);
        }
        a += SM_MR;
        b += ldb;
    }
    const __m512 zero = _mm512_setzero_ps();
    for (int r = 0; r < SM_MR; r++) {
        if (r >= e->rows) break;
        float *cr = c + r * ldc;
        const float *rr = e->residual ? e->residual + r * ldc : NULL;
        const __m512 bias = (e->first && e->bias) ? _mm512_set1_ps(e->bias[r]) : zero;
        for (int v = 0; v < NV; v++) {
            const __mmask16 mv = (MASKED && v == NV - 1) ? m : (__mmask16)0xFFFF;
            __m512 x = acc[r][v];
            if (e->first) {
                x = _mm512_add_ps(x, bias);
                if (rr) x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(mv, rr + v * 16));
            } else {
                x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(mv, cr + v * 16));
            }
            if (e->last && e->relu) x = _mm512_max_ps(x, zero);
            _mm512_mask_storeu_ps(cr + v * 16, mv, x);
        }
    }
}

#define SM_VMASK __mmask16
#include "../conv_tile_switch.h"

static void sm_avx512_zero(float *dst, int32_t n) {
    int32_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(dst + i, _mm512_setzero_ps());
    if (i < n) _mm512_mask_storeu_ps(dst + i, sm_avx512_mask(n - i), _mm512_setzero_ps());
}

// dst[i] = src[i * stride], i < n. Reads nothing past src[(n - 1) * stride].
static void sm_avx512_copy_strided(float *dst, const float *src, int32_t n, int32_t stride) {
    int32_t i = 0;
    if (stride == 1) {
        for (; i + 16 <= n; i += 16) _mm512_storeu_ps(dst + i, _mm512_loadu_ps(src + i));
        if (i < n) {
            __mmask16 m = sm_avx512_mask(n - i);
            _mm512_mask_storeu_ps(dst + i, m, _mm512_maskz_loadu_ps(m, src + i));
        }
    } else if (stride == 2) {
        const __m512i evens = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        // A full chunk reads src[2i .. 2i+31]; the last element is not needed but lies before the next chunk's
        // first, so only the final chunk needs masks.
        for (; i + 16 < n; i += 16) {
            __m512 lo = _mm512_loadu_ps(src + 2 * i), hi = _mm512_loadu_ps(src + 2 * i + 16);
            _mm512_storeu_ps(dst + i, _mm512_permutex2var_ps(lo, evens, hi));
        }
        int32_t left = n - i;          // 1..16
        int32_t need = 2 * left - 1;   // elements src[2i .. 2i + need)
        __mmask16 mlo = sm_avx512_mask(need < 16 ? need : 16);
        __mmask16 mhi = sm_avx512_mask(need > 16 ? need - 16 : 0);
        __m512 lo = _mm512_maskz_loadu_ps(mlo, src + 2 * i), hi = _mm512_maskz_loadu_ps(mhi, src + 2 * i + 16);
        _mm512_mask_storeu_ps(dst + i, sm_avx512_mask(left), _mm512_permutex2var_ps(lo, evens, hi));
    } else {
        for (; i < n; i++) dst[i] = src[(size_t)i * stride];
    }
}

#include "../conv_gemm_driver.h"

// The vector layer of the Winograd body.
typedef __m512 sm_vf;
#define SM_VF_LOAD(p) _mm512_loadu_ps(p)
#define SM_VF_STORE(p, v) _mm512_storeu_ps(p, v)
#define SM_VF_ADD(a, b) _mm512_add_ps(a, b)
#define SM_VF_SUB(a, b) _mm512_sub_ps(a, b)
#define SM_VF_MAX(a, b) _mm512_max_ps(a, b)
#define SM_VF_FMADD(a, b, c) _mm512_fmadd_ps(a, b, c)
#define SM_VF_SET1(x) _mm512_set1_ps(x)
// Even / odd lanes of the 32-float pair (lo, hi), and the lane-by-lane interleave of two vectors (low / high halves).
static inline __m512 sm_avx512_even(__m512 lo, __m512 hi) {
    return _mm512_permutex2var_ps(lo, _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30), hi);
}
static inline __m512 sm_avx512_odd(__m512 lo, __m512 hi) {
    return _mm512_permutex2var_ps(lo, _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31), hi);
}
static inline __m512 sm_avx512_zip_lo(__m512 a, __m512 b) {
    return _mm512_permutex2var_ps(a, _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23), b);
}
static inline __m512 sm_avx512_zip_hi(__m512 a, __m512 b) {
    return _mm512_permutex2var_ps(a, _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31),
                                  b);
}
#define SM_VF_DEINTERLEAVE4(src, q0, q1, q2, q3)                                                           \
    do {                                                                                                   \
        const __m512 v0_ = _mm512_loadu_ps(src), v1_ = _mm512_loadu_ps((src) + 16);                        \
        const __m512 v2_ = _mm512_loadu_ps((src) + 32), v3_ = _mm512_loadu_ps((src) + 48);                 \
        const __m512 a_ = sm_avx512_even(v0_, v1_), b_ = sm_avx512_odd(v0_, v1_); /* src[2t], src[2t+1] */ \
        const __m512 c_ = sm_avx512_even(v2_, v3_), d_ = sm_avx512_odd(v2_, v3_);                          \
        q0 = sm_avx512_even(a_, c_);                                                                       \
        q2 = sm_avx512_odd(a_, c_);                                                                        \
        q1 = sm_avx512_even(b_, d_);                                                                       \
        q3 = sm_avx512_odd(b_, d_);                                                                        \
    } while (0)
#define SM_VF_INTERLEAVE4(a, b, c, d, dst)                                                                   \
    do {                                                                                                     \
        const __m512 a_ = (a), b_ = (b), c_ = (c), d_ = (d);                                                 \
        const __m512 elo_ = sm_avx512_zip_lo(a_, c_), ehi_ = sm_avx512_zip_hi(a_, c_); /* a0 c0 a1 c1 ... */ \
        const __m512 flo_ = sm_avx512_zip_lo(b_, d_), fhi_ = sm_avx512_zip_hi(b_, d_);                       \
        _mm512_storeu_ps((dst), sm_avx512_zip_lo(elo_, flo_));                                               \
        _mm512_storeu_ps((dst) + 16, sm_avx512_zip_hi(elo_, flo_));                                          \
        _mm512_storeu_ps((dst) + 32, sm_avx512_zip_lo(ehi_, fhi_));                                          \
        _mm512_storeu_ps((dst) + 48, sm_avx512_zip_hi(ehi_, fhi_));                                          \
    } while (0)
#include "../../winograd/winograd_f43_body.h"
#include "../conv_entry_points.h"

#pragma clang attribute pop
#endif
