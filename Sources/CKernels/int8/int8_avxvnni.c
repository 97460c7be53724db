// int8_avxvnni.c — the AVX-VNNI int8 tier: 256-bit vpdpbusd with the VEX encoding (_mm256_dpbusd_avx_epi32; Alder
// Lake and later, Zen 5), for CPUs that have it without AVX-512. Convolution: 6 channels x 16 pixels register
// tile (12 ymm accumulators, 2 ymm of B, one broadcast), the driver in int8_gemm_driver.h. Cross-correlation:
// blocks of 2 output rows, 4 phase accumulators each over 32 pixels, from rows copied into the workspace (padded,
// so loads stay inside).
#if defined(__x86_64__)
#include "../kernels_internal.h"
#include "int8_internal.h"

#include <immintrin.h>

#if defined(__clang__)
#pragma clang fp contract(off)
#pragma clang attribute push(__attribute__((target("avx2,avxvnni"))), apply_to = function)
#elif defined(__GNUC__)
#pragma GCC push_options
#pragma GCC target("avx2,avxvnni")
#endif
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF   // gcc ignores it: build with -ffp-contract=off
#endif

#include "int8_x86_common.h"

#define SM_I8_FN(name) sm_i8_avxvnni_##name
#define SM_I8_TIER SM_INT8_TIER_AVXVNNI
#ifndef SM_I8_MR
#define SM_I8_MR 6
#endif
#ifndef SM_I8_NV
#define SM_I8_NV 2
#endif
#define SM_I8_VL 8
#define SM_I8_G 4
#define SM_I8_KALIGN 4
#define SM_I8_ATYPE int8_t
#define SM_I8_BTYPE uint8_t
#define SM_I8_TERM_SHIFT 0
#ifndef SM_I8_B_BUDGET
#define SM_I8_B_BUDGET sm_l2_block_budget(256 * 1024)   // the B block: half of one core's L2
#endif

// ---- convolution ----

typedef __m256i sm_i8_vi;
#define SM_I8_VI_ZERO() _mm256_setzero_si256()
#define SM_I8_VI_LOAD(p) _mm256_loadu_si256((const __m256i *)(const void *)(p))
#define SM_I8_VI_SET1(w) _mm256_set1_epi32(w)
#define SM_I8_VI_STORE(p, v) _mm256_storeu_si256((__m256i *)(void *)(p), v)
#define SM_I8_VI_SUB(a, b) _mm256_sub_epi32(a, b)
#define SM_I8_FINISH sm_i8_y_finish
#define SM_I8_DOT(acc, b, w) _mm256_dpbusd_avx_epi32(acc, b, w)
#define SM_I8_INTERLEAVE sm_i8_x86_interleave4
#include "int8_micro_x86.h"
#include "int8_gemm_driver.h"

// ---- the Winograd-domain layer kind (siam_int8.h, wd23): 16 vpdpbusd products per 2x2 outputs on Vq + 128 ----
#undef SM_I8_FN
#undef SM_I8_FINISH
#define SM_I8_FN(name) sm_i8_avxvnniq_##name
#define SM_I8_FINISH SM_I8_FINISH_RAW
#define SM_I8_FINISH_Y sm_i8_y_finish
#define SM_W23_QUANT 1
#include "int8_micro_x86.h"

#include "int8_winograd23_x86.h"
#undef SM_I8_FN
#undef SM_I8_FINISH
#define SM_I8_FN(name) sm_i8_avxvnni_##name
#define SM_I8_FINISH sm_i8_y_finish

// ---- depth-wise cross-correlation ----
// Output pixel j = j0 + 4m + r (phase r, lane m) needs the taps row[j + 4g .. j + 4g + 3] of group g: the 4 bytes of
// lane m in a load at j0 + r + 4g. The rows of a channel are copied into the workspace with zero padding.
// Blocks of 2 output rows x 32 pixels.

static size_t sm_i8_avxvnni_xcorr_packed_bytes(int32_t channels, int32_t kh, int32_t kw) {
    return sm_i8_xcorr_packed_bytes(channels, kh, kw);
}

static void sm_i8_avxvnni_xcorr_pack(const int8_t *kernel, int32_t channels, int32_t kh, int32_t kw, int32_t zs,
                                     void *packed) {
    sm_i8_xcorr_pack(kernel, channels, kh, kw, zs, 0, SM_INT8_TIER_AVXVNNI, packed);
}

static inline size_t sm_i8_avxvnni_xcorr_ld(int32_t sw, int32_t kw) {
    return sm_i8_round_up((size_t)sw + 32 + sm_i8_xcorr_kw4(kw) + 32, 32);
}

static size_t sm_i8_avxvnni_xcorr_workspace_bytes(int32_t sh, int32_t sw, int32_t kh, int32_t kw) {
    (void)kh;
    if (sh <= 0 || sw <= 0) return 0;
    return (size_t)sh * sm_i8_avxvnni_xcorr_ld(sw, kw);
}

// R output rows from i0, pixels j0 .. j0 + 31 of one channel (R x 4 independent accumulators).
static inline __attribute__((always_inline)) void sm_i8_yv_xcorr_rows(const int R, const uint8_t *rows, size_t ld,
                                                                      const int8_t *kc, int32_t kh, int32_t kw4,
                                                                      int32_t i0, int32_t j0, const sm_i8_ep *e,
                                                                      int32_t c, int32_t OH, int32_t OW) {
    const int32_t groups = kw4 / 4;
    __m256i acc[2][4];
    for (int q = 0; q < R; q++)
        for (int r = 0; r < 4; r++) acc[q][r] = _mm256_setzero_si256();
    for (int32_t u = 0; u < kh; u++) {
        for (int32_t g = 0; g < groups; g++) {
            int32_t w;
            memcpy(&w, kc + (size_t)u * kw4 + 4 * g, 4);
            const __m256i wb = _mm256_set1_epi32(w);
            for (int q = 0; q < R; q++) {
                const uint8_t *src = rows + (size_t)(i0 + q + u) * ld + j0 + 4 * g;
                for (int r = 0; r < 4; r++)
                    acc[q][r] = _mm256_dpbusd_avx_epi32(acc[q][r], _mm256_loadu_si256((const __m256i *)(src + r)), wb);
            }
        }
    }
    for (int q = 0; q < R; q++) {
        // 4x4 transpose of 32-bit lanes within each 128-bit lane: x[t] lane L = pixels 16L + 4t .. + 3.
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

static void sm_i8_avxvnni_xcorr(const uint8_t *search, int32_t channels, int32_t sh, int32_t sw, const void *packed,
                                int32_t kh, int32_t kw, const sm_int8_epilogue *epilogue, void *output,
                                int32_t channel_begin, int32_t channel_end, void *workspace) {
    (void)channels;
    const int32_t OH = sh - kh + 1, OW = sw - kw + 1;
    if (OH <= 0 || OW <= 0) return;
    sm_i8_ep ep;
    sm_i8_resolve(&ep, epilogue, packed, output);
    const int32_t kw4 = (int32_t)sm_i8_xcorr_kw4(kw);
    const int8_t *kernel = (const int8_t *)sm_i8_weights(packed);
    const size_t ld = sm_i8_avxvnni_xcorr_ld(sw, kw);
    uint8_t *rows = (uint8_t *)workspace;
    for (int32_t c = channel_begin; c < channel_end; c++) {
        const uint8_t *plane = search + (size_t)c * sh * sw;
        for (int32_t y = 0; y < sh; y++) {
            memcpy(rows + (size_t)y * ld, plane + (size_t)y * sw, (size_t)sw);
            memset(rows + (size_t)y * ld + sw, 0, ld - (size_t)sw);
        }
        const int8_t *kc = kernel + (size_t)c * kh * kw4;
        for (int32_t i0 = 0; i0 < OH; i0 += 2) {
            for (int32_t j0 = 0; j0 < OW; j0 += 32) {
                if (OH - i0 == 1) sm_i8_yv_xcorr_rows(1, rows, ld, kc, kh, kw4, i0, j0, &ep, c, OH, OW);
                else sm_i8_yv_xcorr_rows(2, rows, ld, kc, kh, kw4, i0, j0, &ep, c, OH, OW);
            }
        }
    }
}

#if defined(__clang__)
#pragma clang attribute pop
#elif defined(__GNUC__)
#pragma GCC pop_options
#endif

const sm_int8_kernel_table sm_int8_avxvnni_table = {
    .tier = SM_INT8_TIER_AVXVNNI,
    .name = "avxvnni",
    .conv2d_u8s8_packed_bytes = sm_i8_avxvnni_conv_packed_bytes,
    .conv2d_u8s8_pack = sm_i8_avxvnni_conv_pack,
    .conv2d_u8s8_workspace_bytes = sm_i8_avxvnni_conv_workspace_bytes,
    .conv2d_u8s8 = sm_i8_avxvnni_conv,
    .conv2d_wd23_packed_bytes = sm_i8_avxvnniq_w23_packed_bytes,
    .conv2d_wd23_pack = sm_i8_avxvnniq_w23_pack,
    .conv2d_wd23_workspace_bytes = sm_i8_avxvnniq_w23_workspace_bytes,
    .conv2d_wd23 = sm_i8_avxvnniq_w23_conv,
    .xcorr_u8s8_packed_bytes = sm_i8_avxvnni_xcorr_packed_bytes,
    .xcorr_u8s8_pack = sm_i8_avxvnni_xcorr_pack,
    .xcorr_u8s8_workspace_bytes = sm_i8_avxvnni_xcorr_workspace_bytes,
    .depthwise_xcorr_u8s8 = sm_i8_avxvnni_xcorr,
};
#endif
