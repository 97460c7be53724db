// int8_avx2.c — the AVX2 int8 tier for CPUs without VNNI. vpmaddubsw (u8 x s8 pairs summed into int16) would
// saturate with 8-bit weights: 2 * 255 * 127 = 64770 > 32767. So for those, activations are zero-extended to int16
// when B is built, weights are packed as int16, and vpmaddwd (int16 x int16 pairs summed into int32) is exact:
// |pair| <= 2 * 255 * 128. Layers whose weights all fit 7 bits take the vpmaddubsw path (below), about 1.3x the
// products per instruction.
// Convolution: 6 channels x 16 pixels register tile (12 ymm accumulators of 8 pixels, k in pairs), the driver in
// int8_gemm_driver.h. Cross-correlation: blocks of 4 output rows, tap pairs over even and odd output pixels (two
// accumulators of 8 lanes per row).
#if defined(__x86_64__)
#include "../kernels_internal.h"
#include "int8_internal.h"

#include <immintrin.h>

#if defined(__clang__)
#pragma clang fp contract(off)
#pragma clang attribute push(__attribute__((target("avx2"))), apply_to = function)
#elif defined(__GNUC__)
#pragma GCC push_options
#pragma GCC target("avx2")
#endif
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF   // gcc ignores it: build with -ffp-contract=off
#endif

#include "int8_x86_common.h"

#define SM_I8_FN(name) sm_i8_avx2_##name
#define SM_I8_TIER SM_INT8_TIER_AVX2
#ifndef SM_I8_MR
#define SM_I8_MR 6
#endif
#ifndef SM_I8_NV
#define SM_I8_NV 2
#endif
#define SM_I8_VL 8
#define SM_I8_G 2
#define SM_I8_KALIGN 4
#define SM_I8_ATYPE int16_t
#define SM_I8_BTYPE uint16_t
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
#define SM_I8_DOT(acc, b, w) _mm256_add_epi32(acc, _mm256_madd_epi16(b, w))
#define SM_I8_INTERLEAVE sm_i8_x86_interleave2_u16
#include "int8_micro_x86.h"

#include "int8_gemm_driver.h"

// ---- 3x3 stride-1 convolutions: Winograd F(2x2, 3x3) on the int16 path ----
// 16 vpmaddwd products per 2x2 outputs instead of 36, still exact (int8_winograd23_x86.h): the same micro-kernel,
// storing its raw int32 sums for the output transform.
#undef SM_I8_FN
#undef SM_I8_FINISH
#define SM_I8_FN(name) sm_i8_avx2w_##name
#define SM_I8_FINISH SM_I8_FINISH_RAW   // the exact path points raw.terms at zeros: its terms are the epilogue's
#define SM_I8_FINISH_Y sm_i8_y_finish
#include "int8_micro_x86.h"

#include "int8_winograd23_x86.h"

// ---- the Winograd-domain layer kind (siam_int8.h, wd23): the same body on quantised transforms, int16 products ----
#undef SM_I8_FN
#define SM_I8_FN(name) sm_i8_avx2q_##name
#define SM_W23_QUANT 1
#include "int8_micro_x86.h"

#include "int8_winograd23_x86.h"
#undef SM_I8_FINISH
#define SM_I8_FINISH sm_i8_y_finish

// ---- convolution with 7-bit weights: the vpmaddubsw path ----
// When every weight of a layer lies in [-63, 63] (a model quantised with 7-bit weights, `siammask quantize
// --weight-bits 7`), u8 x s8 pairs cannot saturate vpmaddubsw's int16 sums, so B keeps 4 uint8 k per lane (half the
// bytes of the int16 path) and each vpmaddubsw + vpmaddwd does 32 products: the AVX-VNNI layout and micro-kernel
// with the dot product emulated, exact like the other paths. Pack chooses from the weights and marks the header.
#undef SM_I8_FN
#undef SM_I8_G
#undef SM_I8_ATYPE
#undef SM_I8_BTYPE
#undef SM_I8_DOT
#undef SM_I8_INTERLEAVE
#define SM_I8_FN(name) sm_i8_avx2u8_##name
#define SM_I8_G 4
#define SM_I8_ATYPE int8_t
#define SM_I8_BTYPE uint8_t
#define SM_I8_DOT(acc, b, w) _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(b, w), _mm256_set1_epi16(1)))
#define SM_I8_INTERLEAVE sm_i8_x86_interleave4
#include "int8_micro_x86.h"
#include "int8_gemm_driver.h"

static int sm_i8_avx2_fits_7bit(const sm_conv2d_shape *s, const int8_t *weights) {
    const size_t n = (size_t)s->out_channels * (size_t)s->in_channels * (size_t)s->kernel_h * (size_t)s->kernel_w;
    for (size_t i = 0; i < n; i++)
        if (weights[i] < -63 || weights[i] > 63) return 0;
    return 1;
}

// Sizes cover every layout the shape may take (they are asked before the weights are seen).
static size_t sm_i8_avx2_any_conv_packed_bytes(const sm_conv2d_shape *s) {
    size_t bytes = sm_i8_avx2_conv_packed_bytes(s), b = sm_i8_avx2u8_conv_packed_bytes(s);
    if (b > bytes) bytes = b;
    if (sm_i8_avx2w_w23_applies(s) && (b = sm_i8_avx2w_w23_packed_bytes(s)) > bytes) bytes = b;
    return bytes;
}

static void sm_i8_avx2_any_conv_pack(const sm_conv2d_shape *s, const int8_t *weights, int32_t zero_point,
                                     void *packed) {
    // Winograd first: on 3x3 stride-1 layers it beats vpmaddubsw too (a 7-bit model's 3x3s: 128 -> 103 ms a frame).
    if (sm_i8_avx2w_w23_applies(s)) {
        sm_i8_avx2w_w23_pack(s, weights, zero_point, packed);   // variant 2
    } else if (sm_i8_avx2_fits_7bit(s, weights)) {
        sm_i8_avx2u8_conv_pack(s, weights, zero_point, packed);
        ((sm_i8_packed_header *)packed)->variant = 1;
    } else {
        sm_i8_avx2_conv_pack(s, weights, zero_point, packed);
    }
}

static size_t sm_i8_avx2_any_conv_workspace_bytes(const sm_conv2d_shape *s, int32_t rows) {
    size_t bytes = sm_i8_avx2_conv_workspace_bytes(s, rows), b = sm_i8_avx2u8_conv_workspace_bytes(s, rows);
    if (b > bytes) bytes = b;
    if (sm_i8_avx2w_w23_applies(s) && (b = sm_i8_avx2w_w23_workspace_bytes(s, rows)) > bytes) bytes = b;
    return bytes;
}

static void sm_i8_avx2_any_conv(const sm_conv2d_shape *s, const uint8_t *input, const void *packed,
                                const sm_int8_epilogue *epilogue, void *output, int32_t row_begin, int32_t row_end,
                                void *workspace) {
    switch (((const sm_i8_packed_header *)packed)->variant) {
    case 1: sm_i8_avx2u8_conv(s, input, packed, epilogue, output, row_begin, row_end, workspace); break;
    case 2: sm_i8_avx2w_w23_conv(s, input, packed, epilogue, output, row_begin, row_end, workspace); break;
    default: sm_i8_avx2_conv(s, input, packed, epilogue, output, row_begin, row_end, workspace); break;
    }
}

// ---- depth-wise cross-correlation ----
// Each search row is zero-extended into the workspace (padded). Tap pair g of output pixel j = j0 + 2m + ph is the
// int32 lane m of a load at j0 + ph + 2g (int16 elements): even and odd pixels accumulate separately and are
// interleaved before the epilogue. Blocks of 4 output rows x 16 pixels.

static size_t sm_i8_avx2_xcorr_packed_bytes(int32_t channels, int32_t kh, int32_t kw) {
    return sm_i8_xcorr_packed_bytes(channels, kh, kw);
}

static void sm_i8_avx2_xcorr_pack(const int8_t *kernel, int32_t channels, int32_t kh, int32_t kw, int32_t zs,
                                  void *packed) {
    sm_i8_xcorr_pack(kernel, channels, kh, kw, zs, 0, SM_INT8_TIER_AVX2, packed);
}

// int16 elements per padded row: every load of a 16-pixel chunk stays inside.
static inline size_t sm_i8_avx2_xcorr_ld(int32_t sw, int32_t kw) {
    return sm_i8_round_up((size_t)sw + 16 + sm_i8_xcorr_kw4(kw) + 16, 16);
}

static size_t sm_i8_avx2_xcorr_workspace_bytes(int32_t sh, int32_t sw, int32_t kh, int32_t kw) {
    (void)kh;
    if (sh <= 0 || sw <= 0) return 0;
    return (size_t)sh * sm_i8_avx2_xcorr_ld(sw, kw) * sizeof(uint16_t);
}

// R output rows from i0, pixels j0 .. j0 + 15 of one channel (R x 2 independent accumulators).
static inline __attribute__((always_inline)) void
sm_i8_y2_xcorr_rows(const int R, const uint16_t *rows, size_t ld, const int8_t *kc, int32_t kh, int32_t kw, int32_t kw4,
                    int32_t i0, int32_t j0, const sm_i8_ep *e, int32_t c, int32_t OH, int32_t OW) {
    const int32_t pairs = (kw + 1) / 2;
    __m256i even[4], odd[4];
    for (int q = 0; q < R; q++) even[q] = odd[q] = _mm256_setzero_si256();
    for (int32_t u = 0; u < kh; u++) {
        for (int32_t g = 0; g < pairs; g++) {
            const int8_t *kp = kc + (size_t)u * kw4 + 2 * g;
            const __m256i wb = _mm256_set1_epi32(
                (int32_t)((uint32_t)(uint16_t)(int16_t)kp[0] | ((uint32_t)(uint16_t)(int16_t)kp[1] << 16)));
            for (int q = 0; q < R; q++) {
                const uint16_t *row = rows + (size_t)(i0 + q + u) * ld + j0 + 2 * g;
                even[q] = _mm256_add_epi32(even[q], _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)row), wb));
                odd[q] =
                    _mm256_add_epi32(odd[q], _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)(row + 1)), wb));
            }
        }
    }
    for (int q = 0; q < R; q++) {
        const __m256i lo = _mm256_unpacklo_epi32(even[q], odd[q]), hi = _mm256_unpackhi_epi32(even[q], odd[q]);
        const size_t at = ((size_t)c * OH + i0 + q) * OW + j0;
        sm_i8_y_finish(_mm256_permute2x128_si256(lo, hi, 0x20), e, c, at, OW - j0);   // pixels j0 .. j0 + 7
        if (OW - j0 > 8) sm_i8_y_finish(_mm256_permute2x128_si256(lo, hi, 0x31), e, c, at + 8, OW - j0 - 8);
    }
}

static void sm_i8_avx2_xcorr(const uint8_t *search, int32_t channels, int32_t sh, int32_t sw, const void *packed,
                             int32_t kh, int32_t kw, const sm_int8_epilogue *epilogue, void *output,
                             int32_t channel_begin, int32_t channel_end, void *workspace) {
    (void)channels;
    const int32_t OH = sh - kh + 1, OW = sw - kw + 1;
    if (OH <= 0 || OW <= 0) return;
    sm_i8_ep ep;
    sm_i8_resolve(&ep, epilogue, packed, output);
    const int32_t kw4 = (int32_t)sm_i8_xcorr_kw4(kw);
    const int8_t *kernel = (const int8_t *)sm_i8_weights(packed);
    const size_t ld = sm_i8_avx2_xcorr_ld(sw, kw);
    uint16_t *rows = (uint16_t *)workspace;
    for (int32_t c = channel_begin; c < channel_end; c++) {
        const uint8_t *plane = search + (size_t)c * sh * sw;
        for (int32_t y = 0; y < sh; y++) {
            uint16_t *d = rows + (size_t)y * ld;
            const uint8_t *s = plane + (size_t)y * sw;
            int32_t x = 0;
            for (; x + 16 <= sw; x += 16)
                _mm256_storeu_si256((__m256i *)(d + x),
                                    _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(s + x))));
            for (; x < sw; x++) d[x] = s[x];
            memset(d + sw, 0, (ld - (size_t)sw) * sizeof(uint16_t));
        }
        const int8_t *kc = kernel + (size_t)c * kh * kw4;
        for (int32_t i0 = 0; i0 < OH; i0 += 4) {
            for (int32_t j0 = 0; j0 < OW; j0 += 16) {
                switch (OH - i0) {
                case 1: sm_i8_y2_xcorr_rows(1, rows, ld, kc, kh, kw, kw4, i0, j0, &ep, c, OH, OW); break;
                case 2: sm_i8_y2_xcorr_rows(2, rows, ld, kc, kh, kw, kw4, i0, j0, &ep, c, OH, OW); break;
                case 3: sm_i8_y2_xcorr_rows(3, rows, ld, kc, kh, kw, kw4, i0, j0, &ep, c, OH, OW); break;
                default: sm_i8_y2_xcorr_rows(4, rows, ld, kc, kh, kw, kw4, i0, j0, &ep, c, OH, OW); break;
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

const sm_int8_kernel_table sm_int8_avx2_table = {
    .tier = SM_INT8_TIER_AVX2,
    .name = "avx2",
    .conv2d_u8s8_packed_bytes = sm_i8_avx2_any_conv_packed_bytes,
    .conv2d_u8s8_pack = sm_i8_avx2_any_conv_pack,
    .conv2d_u8s8_workspace_bytes = sm_i8_avx2_any_conv_workspace_bytes,
    .conv2d_u8s8 = sm_i8_avx2_any_conv,
    .conv2d_wd23_packed_bytes = sm_i8_avx2q_w23_packed_bytes,
    .conv2d_wd23_pack = sm_i8_avx2q_w23_pack,
    .conv2d_wd23_workspace_bytes = sm_i8_avx2q_w23_workspace_bytes,
    .conv2d_wd23 = sm_i8_avx2q_w23_conv,
    .xcorr_u8s8_packed_bytes = sm_i8_avx2_xcorr_packed_bytes,
    .xcorr_u8s8_pack = sm_i8_avx2_xcorr_pack,
    .xcorr_u8s8_workspace_bytes = sm_i8_avx2_xcorr_workspace_bytes,
    .depthwise_xcorr_u8s8 = sm_i8_avx2_xcorr,
};
#endif
