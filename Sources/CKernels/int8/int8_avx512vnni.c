// int8_avx512vnni.c — the AVX-512 VNNI int8 tier: vpdpbusd on zmm (u8 activations x s8 weights, 4 products per
// int32 lane, exact, no saturation). Convolution: 6 channels x 64 pixels register tile (24 zmm accumulators, 4 zmm
// of B, weights as 32-bit broadcasts), the driver in int8_gemm_driver.h. Cross-correlation: blocks of 4 output rows,
// 4 phase accumulators each over 64 pixels (zmm), or 32 pixels (ymm) for the last <= 32 of a row; masked byte loads.
#if defined(__x86_64__)
#include "../kernels_internal.h"
#include "int8_internal.h"

#include <immintrin.h>

#if defined(__clang__)
#pragma clang fp contract(off)
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2"))), apply_to = function)
#elif defined(__GNUC__)
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512vnni,avx2")
#endif
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF   // gcc ignores it: build with -ffp-contract=off
#endif

#include "int8_x86_common.h"

#define SM_I8_FN(name) sm_i8_avx512vnni_##name
#define SM_I8_TIER SM_INT8_TIER_AVX512VNNI
// 6 x 64 rather than 8 x 48 (both 24 accumulators): fewer broadcasts per vpdpbusd; on the Xeon (family 6 model 207)
// layer3's 1x1 layers 5-10% faster, layer1's 3-8% slower, the full-size int8 frame 1-6% faster (interleaved rounds).
#ifndef SM_I8_MR
#define SM_I8_MR 6
#endif
#ifndef SM_I8_NV
#define SM_I8_NV 4
#endif
#define SM_I8_VL 16
#define SM_I8_G 4
#define SM_I8_KALIGN 4
#define SM_I8_ATYPE int8_t
#define SM_I8_BTYPE uint8_t
#define SM_I8_TERM_SHIFT 0
#ifndef SM_I8_B_BUDGET
#define SM_I8_B_BUDGET sm_l2_block_budget(256 * 1024)   // the B block: half of one core's L2
#endif

static inline __mmask16 sm_i8_z_mask16(int32_t n) {
    return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n > 0 ? n : 0)) - 1u);
}

static inline __mmask64 sm_i8_z_mask64(ptrdiff_t n) {
    return n >= 64 ? ~(__mmask64)0 : (n <= 0 ? (__mmask64)0 : (((__mmask64)1 << n) - 1));
}

// The epilogue of siam_int8.h on 16 lanes: acc (before the channel term) of channel o, output elements
// [at, at + n), n in 1..16.
static inline __attribute__((always_inline)) void sm_i8_z_finish(__m512i acc, const sm_i8_ep *e, int32_t o, size_t at,
                                                                 int32_t n) {
    const __mmask16 m = sm_i8_z_mask16(n);
    __m512 y = _mm512_cvtepi32_ps(_mm512_sub_epi32(acc, _mm512_set1_epi32(e->terms[o])));
    y = _mm512_mul_ps(y, _mm512_set1_ps(e->scale[o]));
    if (e->bias) y = _mm512_add_ps(y, _mm512_set1_ps(e->bias[o]));
    if (e->res_f32) {
        y = _mm512_add_ps(y, _mm512_maskz_loadu_ps(m, e->res_f32 + at));
    } else if (e->res_u8) {
        __m512i r = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, e->res_u8 + at));
        __m512 rf = _mm512_cvtepi32_ps(_mm512_sub_epi32(r, _mm512_set1_epi32(e->res_zero)));
        y = _mm512_add_ps(y, _mm512_mul_ps(rf, _mm512_set1_ps(e->res_scale)));
    }
    if (e->relu) y = _mm512_max_ps(y, _mm512_setzero_ps());   // (y > 0) ? y : +0, NaN -> +0
    if (e->out_f32) {
        _mm512_mask_storeu_ps(e->out_f32 + at, m, y);
    } else {
        __m512 t = _mm512_mul_ps(y, _mm512_set1_ps(e->inv_scale));
        t = _mm512_max_ps(t, _mm512_set1_ps(-512.0f));   // (t > -512) ? t : -512, NaN -> -512
        t = _mm512_min_ps(t, _mm512_set1_ps(512.0f));
        __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(t), _mm512_set1_epi32(e->out_zero));
        q = _mm512_max_epi32(q, _mm512_setzero_si512());
        _mm_mask_storeu_epi8(e->out_u8 + at, m, _mm512_cvtusepi32_epi8(q));   // unsigned saturation: <= 255
    }
}

// ---- convolution ----

typedef __m512i sm_i8_vi;
#define SM_I8_VI_ZERO() _mm512_setzero_si512()
#define SM_I8_VI_LOAD(p) _mm512_loadu_si512((const void *)(p))
#define SM_I8_VI_SET1(w) _mm512_set1_epi32(w)
#define SM_I8_VI_STORE(p, v) _mm512_storeu_si512((void *)(p), v)
#define SM_I8_VI_SUB(a, b) _mm512_sub_epi32(a, b)
#define SM_I8_FINISH sm_i8_z_finish
#define SM_I8_DOT(acc, b, w) _mm512_dpbusd_epi32(acc, b, w)
#define SM_I8_INTERLEAVE sm_i8_x86_interleave4
#include "int8_micro_x86.h"

#include "int8_gemm_driver.h"

// ---- the Winograd-domain layer kind (siam_int8.h, wd23): 16 vpdpbusd products per 2x2 outputs on Vq + 128 ----
#undef SM_I8_FN
#undef SM_I8_FINISH
#define SM_I8_FN(name) sm_i8_avx512vnniq_##name
#define SM_I8_FINISH SM_I8_FINISH_RAW
#define SM_I8_FINISH_Y sm_i8_y_finish
#define SM_W23_FINISH16(lo, hi, e, o, at, n)                                                                      \
    do {                                                                                                          \
        if ((n) > 0)                                                                                              \
            sm_i8_z_finish(_mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1), e, o, at, (n) < 16 ? (n) : 16); \
    } while (0)
#define SM_W23_QUANT 1
#include "int8_micro_x86.h"

#include "int8_winograd23_x86.h"
#undef SM_I8_FN
#undef SM_I8_FINISH
#define SM_I8_FN(name) sm_i8_avx512vnni_##name
#define SM_I8_FINISH sm_i8_z_finish

// ---- depth-wise cross-correlation ----
// Output pixel j = j0 + 4m + r (phase r, lane m) needs the taps search[j + 4g .. j + 4g + 3] of group g: those are
// the 4 bytes of lane m in a load at j0 + r + 4g. Bytes past the row's end are masked to 0; only padded taps
// (weight 0) of valid pixels reach them. Blocks of 4 output rows x 64 pixels (32 on ymm for the last <= 32).

static size_t sm_i8_avx512vnni_xcorr_packed_bytes(int32_t channels, int32_t kh, int32_t kw) {
    return sm_i8_xcorr_packed_bytes(channels, kh, kw);
}

static void sm_i8_avx512vnni_xcorr_pack(const int8_t *kernel, int32_t channels, int32_t kh, int32_t kw, int32_t zs,
                                        void *packed) {
    sm_i8_xcorr_pack(kernel, channels, kh, kw, zs, 0, SM_INT8_TIER_AVX512VNNI, packed);
}

static size_t sm_i8_avx512vnni_xcorr_workspace_bytes(int32_t sh, int32_t sw, int32_t kh, int32_t kw) {
    (void)sh;
    (void)sw;
    (void)kh;
    (void)kw;
    return 0;
}

// 4x4 transpose of 32-bit lanes within each 128-bit lane, then of the 128-bit lanes: from the phase accumulators
// (pixel 4m + r in lane m of acc[r]) to out[t] = pixels 16t .. 16t + 15 in order.
static inline __attribute__((always_inline)) void sm_i8_z_unphase(const __m512i acc[4], __m512i out[4]) {
    const __m512i a01l = _mm512_unpacklo_epi32(acc[0], acc[1]), a01h = _mm512_unpackhi_epi32(acc[0], acc[1]);
    const __m512i a23l = _mm512_unpacklo_epi32(acc[2], acc[3]), a23h = _mm512_unpackhi_epi32(acc[2], acc[3]);
    const __m512i x0 = _mm512_unpacklo_epi64(a01l, a23l), x1 = _mm512_unpackhi_epi64(a01l, a23l);
    const __m512i x2 = _mm512_unpacklo_epi64(a01h, a23h), x3 = _mm512_unpackhi_epi64(a01h, a23h);
    const __m512i y0 = _mm512_shuffle_i32x4(x0, x1, 0x44), y1 = _mm512_shuffle_i32x4(x2, x3, 0x44);
    const __m512i y2 = _mm512_shuffle_i32x4(x0, x1, 0xEE), y3 = _mm512_shuffle_i32x4(x2, x3, 0xEE);
    out[0] = _mm512_shuffle_i32x4(y0, y1, 0x88);
    out[1] = _mm512_shuffle_i32x4(y0, y1, 0xDD);
    out[2] = _mm512_shuffle_i32x4(y2, y3, 0x88);
    out[3] = _mm512_shuffle_i32x4(y2, y3, 0xDD);
}

// R output rows from i0, pixels j0 .. j0 + 63 of one channel (R x 4 independent accumulators).
static inline __attribute__((always_inline)) void sm_i8_z_xcorr_rows(const int R, const uint8_t *plane, int32_t sw,
                                                                     const int8_t *kc, int32_t kh, int32_t kw4,
                                                                     int32_t i0, int32_t j0, const sm_i8_ep *e,
                                                                     int32_t c, int32_t OH, int32_t OW) {
    const int32_t groups = kw4 / 4;
    __m512i acc[4][4];
    for (int q = 0; q < R; q++)
        for (int r = 0; r < 4; r++) acc[q][r] = _mm512_setzero_si512();
    for (int32_t u = 0; u < kh; u++) {
        for (int32_t g = 0; g < groups; g++) {
            int32_t w;
            memcpy(&w, kc + (size_t)u * kw4 + 4 * g, 4);
            const __m512i wb = _mm512_set1_epi32(w);
            __mmask64 m[4];
            for (int r = 0; r < 4; r++) m[r] = sm_i8_z_mask64(sw - (j0 + r + 4 * g));
            for (int q = 0; q < R; q++) {
                const uint8_t *src = plane + (size_t)(i0 + q + u) * sw + j0 + 4 * g;
                for (int r = 0; r < 4; r++)
                    acc[q][r] = _mm512_dpbusd_epi32(acc[q][r], _mm512_maskz_loadu_epi8(m[r], src + r), wb);
            }
        }
    }
    for (int q = 0; q < R; q++) {
        __m512i out[4];
        sm_i8_z_unphase(acc[q], out);
        for (int t = 0; t < 4; t++) {
            const int32_t n = OW - j0 - 16 * t;
            if (n <= 0) break;
            sm_i8_z_finish(out[t], e, c, ((size_t)c * OH + i0 + q) * OW + j0 + 16 * t, n);
        }
    }
}

static inline __mmask32 sm_i8_z_mask32(ptrdiff_t n) {
    return n >= 32 ? ~(__mmask32)0 : (n <= 0 ? (__mmask32)0 : (((__mmask32)1 << n) - 1));
}

// The same on 256-bit vectors (32 pixels: 4 phases x 8 lanes), for rows (or remainders) of at most 32 pixels such
// as SiamMask's 25: vpdpbusd on ymm (EVEX, AVX512VL) runs twice as many per cycle as on zmm on Zen 4.
static inline __attribute__((always_inline)) void sm_i8_z_xcorr_rows_y(const int R, const uint8_t *plane, int32_t sw,
                                                                       const int8_t *kc, int32_t kh, int32_t kw4,
                                                                       int32_t i0, int32_t j0, const sm_i8_ep *e,
                                                                       int32_t c, int32_t OH, int32_t OW) {
    const int32_t groups = kw4 / 4;
    __m256i acc[4][4];
    for (int q = 0; q < R; q++)
        for (int r = 0; r < 4; r++) acc[q][r] = _mm256_setzero_si256();
    for (int32_t u = 0; u < kh; u++) {
        for (int32_t g = 0; g < groups; g++) {
            int32_t w;
            memcpy(&w, kc + (size_t)u * kw4 + 4 * g, 4);
            const __m256i wb = _mm256_set1_epi32(w);
            __mmask32 m[4];
            for (int r = 0; r < 4; r++) m[r] = sm_i8_z_mask32(sw - (j0 + r + 4 * g));
            for (int q = 0; q < R; q++) {
                const uint8_t *src = plane + (size_t)(i0 + q + u) * sw + j0 + 4 * g;
                for (int r = 0; r < 4; r++)
                    acc[q][r] = _mm256_dpbusd_epi32(acc[q][r], _mm256_maskz_loadu_epi8(m[r], src + r), wb);
            }
        }
    }
    for (int q = 0; q < R; q++) {
        // 4x4 transpose within 128-bit lanes: x[t] lane L = pixels 16L + 4t .. + 3; then pixels in order.
        const __m256i a01l = _mm256_unpacklo_epi32(acc[q][0], acc[q][1]),
                      a01h = _mm256_unpackhi_epi32(acc[q][0], acc[q][1]);
        const __m256i a23l = _mm256_unpacklo_epi32(acc[q][2], acc[q][3]),
                      a23h = _mm256_unpackhi_epi32(acc[q][2], acc[q][3]);
        const __m256i x0 = _mm256_unpacklo_epi64(a01l, a23l), x1 = _mm256_unpackhi_epi64(a01l, a23l);
        const __m256i x2 = _mm256_unpacklo_epi64(a01h, a23h), x3 = _mm256_unpackhi_epi64(a01h, a23h);
        __m256i out[4];
        out[0] = _mm256_permute2x128_si256(x0, x1, 0x20);
        out[1] = _mm256_permute2x128_si256(x2, x3, 0x20);
        out[2] = _mm256_permute2x128_si256(x0, x1, 0x31);
        out[3] = _mm256_permute2x128_si256(x2, x3, 0x31);
        for (int t = 0; t < 4; t++) {
            const int32_t n = OW - j0 - 8 * t;
            if (n <= 0) break;
            sm_i8_y_finish(out[t], e, c, ((size_t)c * OH + i0 + q) * OW + j0 + 8 * t, n);
        }
    }
}

static void sm_i8_avx512vnni_xcorr(const uint8_t *search, int32_t channels, int32_t sh, int32_t sw, const void *packed,
                                   int32_t kh, int32_t kw, const sm_int8_epilogue *epilogue, void *output,
                                   int32_t channel_begin, int32_t channel_end, void *workspace) {
    (void)channels;
    (void)workspace;
    const int32_t OH = sh - kh + 1, OW = sw - kw + 1;
    if (OH <= 0 || OW <= 0) return;
    sm_i8_ep ep;
    sm_i8_resolve(&ep, epilogue, packed, output);
    const int32_t kw4 = (int32_t)sm_i8_xcorr_kw4(kw);
    const int8_t *kernel = (const int8_t *)sm_i8_weights(packed);
    for (int32_t c = channel_begin; c < channel_end; c++) {
        const uint8_t *plane = search + (size_t)c * sh * sw;
        const int8_t *kc = kernel + (size_t)c * kh * kw4;
        for (int32_t i0 = 0; i0 < OH; i0 += 4) {
            for (int32_t j0 = 0; j0 < OW; j0 += 64) {
                if (OW - j0 <= 32) {
                    switch (OH - i0) {
                    case 1: sm_i8_z_xcorr_rows_y(1, plane, sw, kc, kh, kw4, i0, j0, &ep, c, OH, OW); break;
                    case 2: sm_i8_z_xcorr_rows_y(2, plane, sw, kc, kh, kw4, i0, j0, &ep, c, OH, OW); break;
                    case 3: sm_i8_z_xcorr_rows_y(3, plane, sw, kc, kh, kw4, i0, j0, &ep, c, OH, OW); break;
                    default: sm_i8_z_xcorr_rows_y(4, plane, sw, kc, kh, kw4, i0, j0, &ep, c, OH, OW); break;
                    }
                    continue;
                }
                switch (OH - i0) {
                case 1: sm_i8_z_xcorr_rows(1, plane, sw, kc, kh, kw4, i0, j0, &ep, c, OH, OW); break;
                case 2: sm_i8_z_xcorr_rows(2, plane, sw, kc, kh, kw4, i0, j0, &ep, c, OH, OW); break;
                case 3: sm_i8_z_xcorr_rows(3, plane, sw, kc, kh, kw4, i0, j0, &ep, c, OH, OW); break;
                default: sm_i8_z_xcorr_rows(4, plane, sw, kc, kh, kw4, i0, j0, &ep, c, OH, OW); break;
                }
            }
        }
    }
}

#if defined(__clang__)
#pragma clang attribute pop
#elif defined(__GNUC__)
#pragma GCC pop_options
#endif

const sm_int8_kernel_table sm_int8_avx512vnni_table = {
    .tier = SM_INT8_TIER_AVX512VNNI,
    .name = "avx512vnni",
    .conv2d_u8s8_packed_bytes = sm_i8_avx512vnni_conv_packed_bytes,
    .conv2d_u8s8_pack = sm_i8_avx512vnni_conv_pack,
    .conv2d_u8s8_workspace_bytes = sm_i8_avx512vnni_conv_workspace_bytes,
    .conv2d_u8s8 = sm_i8_avx512vnni_conv,
    .conv2d_wd23_packed_bytes = sm_i8_avx512vnniq_w23_packed_bytes,
    .conv2d_wd23_pack = sm_i8_avx512vnniq_w23_pack,
    .conv2d_wd23_workspace_bytes = sm_i8_avx512vnniq_w23_workspace_bytes,
    .conv2d_wd23 = sm_i8_avx512vnniq_w23_conv,
    .xcorr_u8s8_packed_bytes = sm_i8_avx512vnni_xcorr_packed_bytes,
    .xcorr_u8s8_pack = sm_i8_avx512vnni_xcorr_pack,
    .xcorr_u8s8_workspace_bytes = sm_i8_avx512vnni_xcorr_workspace_bytes,
    .depthwise_xcorr_u8s8 = sm_i8_avx512vnni_xcorr,
};
#endif
