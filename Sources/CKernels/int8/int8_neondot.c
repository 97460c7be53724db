// int8_neondot.c — the Armv8.2-A dot-product int8 tier: sdot (vdotq_laneq_s32 / vdotq_s32) multiplies s8 x s8, so
// activations enter flipped to signed, x' = q ^ 0x80 = q - 128, and the channel term is packed as
// (zx - 128) * sum w: sum w * (q - zx) = sum w * x' - (zx - 128) * sum w, exact in int32. (usdot, u8 x s8, needs
// the Armv8.6 i8mm extension; sdot with the flip runs on every core with the dot product.)
// Convolution: 8 channels x 12 pixels register tile (24 accumulators, 3 registers of B, the weights of 8 channels
// in 2 registers used by lane), the driver in int8_gemm_driver.h. Cross-correlation: blocks of 4 output rows, 4 phase
// accumulators each over 16 pixels, from flipped rows copied into the workspace.
#if defined(__aarch64__)
#include "../kernels_internal.h"
#include "int8_internal.h"

#include <arm_neon.h>

#if defined(__clang__)
#pragma clang fp contract(off)
#pragma clang attribute push(__attribute__((target("dotprod"))), apply_to = function)
#elif defined(__GNUC__)
#pragma GCC push_options
#pragma GCC target("arch=armv8.2-a+dotprod")
#endif
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF   // gcc ignores it: build with -ffp-contract=off
#endif

#include "int8_neon_common.h"

#define SM_I8_FN(name) sm_i8_neondot_##name
#define SM_I8_TIER SM_INT8_TIER_NEONDOT
#define SM_I8_MR 8
#define SM_I8_NV 3
#define SM_I8_VL 4
#define SM_I8_G 4
#define SM_I8_KALIGN 4
#define SM_I8_ATYPE int8_t
#define SM_I8_BTYPE uint8_t
#define SM_I8_TERM_SHIFT 128
#ifndef SM_I8_B_BUDGET
#define SM_I8_B_BUDGET (128 * 1024)
#endif

// ---- convolution ----

static inline __attribute__((always_inline)) void sm_i8_d_micro(const int NV, int32_t groups, const int8_t *restrict a,
                                                                const uint8_t *restrict b, size_t ldb,
                                                                const sm_i8_ep *e, int32_t o0, int32_t rows, size_t at,
                                                                size_t plane, int32_t n) {
    int32x4_t acc[SM_I8_MR][SM_I8_NV];
    for (int r = 0; r < SM_I8_MR; r++)
        for (int v = 0; v < NV; v++) acc[r][v] = vdupq_n_s32(0);
    for (int32_t g = 0; g < groups; g++) {
        int8x16_t bv[SM_I8_NV];
        for (int v = 0; v < NV; v++) bv[v] = vreinterpretq_s8_u8(vld1q_u8(b + v * 16));
        const int8x16_t w0 = vld1q_s8(a), w1 = vld1q_s8(a + 16);   // channels 0..3 and 4..7, 4 bytes each
        for (int v = 0; v < NV; v++) {
            acc[0][v] = vdotq_laneq_s32(acc[0][v], bv[v], w0, 0);
            acc[1][v] = vdotq_laneq_s32(acc[1][v], bv[v], w0, 1);
            acc[2][v] = vdotq_laneq_s32(acc[2][v], bv[v], w0, 2);
            acc[3][v] = vdotq_laneq_s32(acc[3][v], bv[v], w0, 3);
            acc[4][v] = vdotq_laneq_s32(acc[4][v], bv[v], w1, 0);
            acc[5][v] = vdotq_laneq_s32(acc[5][v], bv[v], w1, 1);
            acc[6][v] = vdotq_laneq_s32(acc[6][v], bv[v], w1, 2);
            acc[7][v] = vdotq_laneq_s32(acc[7][v], bv[v], w1, 3);
        }
        a += SM_I8_MR * 4;
        b += ldb;
    }
    for (int r = 0; r < SM_I8_MR; r++) {
        if (r >= rows) break;
        for (int v = 0; v < NV; v++)
            sm_i8_n_finish(acc[r][v], e, o0 + r, at + (size_t)r * plane + (size_t)v * 4, n - v * 4);
    }
}

static void sm_i8_d_micro_1(int32_t groups, const int8_t *a, const uint8_t *b, size_t ldb, const sm_i8_ep *e,
                            int32_t o0, int32_t rows, size_t at, size_t plane, int32_t n) {
    sm_i8_d_micro(1, groups, a, b, ldb, e, o0, rows, at, plane, n);
}
static void sm_i8_d_micro_2(int32_t groups, const int8_t *a, const uint8_t *b, size_t ldb, const sm_i8_ep *e,
                            int32_t o0, int32_t rows, size_t at, size_t plane, int32_t n) {
    sm_i8_d_micro(2, groups, a, b, ldb, e, o0, rows, at, plane, n);
}
static void sm_i8_d_micro_3(int32_t groups, const int8_t *a, const uint8_t *b, size_t ldb, const sm_i8_ep *e,
                            int32_t o0, int32_t rows, size_t at, size_t plane, int32_t n) {
    sm_i8_d_micro(3, groups, a, b, ldb, e, o0, rows, at, plane, n);
}

static void sm_i8_neondot_tile(int32_t nv, int32_t groups, const int8_t *a, const uint8_t *b, size_t ldb,
                               const sm_i8_ep *e, int32_t o0, int32_t rows, size_t at, size_t plane, int32_t n) {
    switch (nv) {
    case 1: sm_i8_d_micro_1(groups, a, b, ldb, e, o0, rows, at, plane, n); break;
    case 2: sm_i8_d_micro_2(groups, a, b, ldb, e, o0, rows, at, plane, n); break;
    default: sm_i8_d_micro_3(groups, a, b, ldb, e, o0, rows, at, plane, n); break;
    }
}

static void sm_i8_neondot_interleave(uint8_t *dst, const uint8_t *const *rows, size_t n) {
    sm_i8_neon_interleave4_flip(dst, rows, n);
}

#include "int8_gemm_driver.h"

// ---- the Winograd-domain layer kind (siam_int8.h, wd23): the shared plan on NEON, signed Vq into this tile ----
#undef SM_I8_FN
#define SM_I8_FN(name) sm_i8_neondotq_##name
#define SM_W23_CALIGN 4
#define SM_W23_VQ_OFFSET 0
#define SM_W23_TILE sm_i8_neondot_tile
#include "int8_winograd23_neon.h"
#undef SM_I8_FN
#define SM_I8_FN(name) sm_i8_neondot_##name

// ---- depth-wise cross-correlation ----
// Output pixel j = j0 + 4m + r (phase r, lane m) needs the taps row[j + 4g .. j + 4g + 3] of group g: the 4 bytes of
// lane m in a load at j0 + r + 4g. The rows of a channel are flipped into the workspace with padding.
// Blocks of 4 output rows x 16 pixels.

static size_t sm_i8_neondot_xcorr_packed_bytes(int32_t channels, int32_t kh, int32_t kw) {
    return sm_i8_xcorr_packed_bytes(channels, kh, kw);
}

static void sm_i8_neondot_xcorr_pack(const int8_t *kernel, int32_t channels, int32_t kh, int32_t kw, int32_t zs,
                                     void *packed) {
    sm_i8_xcorr_pack(kernel, channels, kh, kw, zs, 128, SM_INT8_TIER_NEONDOT, packed);
}

static inline size_t sm_i8_neondot_xcorr_ld(int32_t sw, int32_t kw) {
    return sm_i8_round_up((size_t)sw + 16 + sm_i8_xcorr_kw4(kw) + 16, 16);
}

static size_t sm_i8_neondot_xcorr_workspace_bytes(int32_t sh, int32_t sw, int32_t kh, int32_t kw) {
    (void)kh;
    if (sh <= 0 || sw <= 0) return 0;
    return (size_t)sh * sm_i8_neondot_xcorr_ld(sw, kw);
}

// R output rows from i0, pixels j0 .. j0 + 15 of one channel (R x 4 independent accumulators).
static inline __attribute__((always_inline)) void sm_i8_d_xcorr_rows(const int R, const uint8_t *rows, size_t ld,
                                                                     const int8_t *kc, int32_t kh, int32_t kw4,
                                                                     int32_t i0, int32_t j0, const sm_i8_ep *e,
                                                                     int32_t c, int32_t OH, int32_t OW) {
    const int32_t groups = kw4 / 4;
    int32x4_t acc[4][4];
    for (int q = 0; q < R; q++)
        for (int r = 0; r < 4; r++) acc[q][r] = vdupq_n_s32(0);
    for (int32_t u = 0; u < kh; u++) {
        for (int32_t g = 0; g < groups; g++) {
            int32_t w;
            memcpy(&w, kc + (size_t)u * kw4 + 4 * g, 4);
            const int8x16_t wb = vreinterpretq_s8_s32(vdupq_n_s32(w));
            for (int q = 0; q < R; q++) {
                const int8_t *src = (const int8_t *)rows + (size_t)(i0 + q + u) * ld + j0 + 4 * g;
                for (int r = 0; r < 4; r++) acc[q][r] = vdotq_s32(acc[q][r], vld1q_s8(src + r), wb);
            }
        }
    }
    for (int q = 0; q < R; q++) {
        // 4x4 transpose: out[m] = pixels j0 + 4m .. j0 + 4m + 3.
        const int32x4x2_t z01 = vzipq_s32(acc[q][0], acc[q][1]), z23 = vzipq_s32(acc[q][2], acc[q][3]);
        int32x4_t out[4];
        out[0] = vcombine_s32(vget_low_s32(z01.val[0]), vget_low_s32(z23.val[0]));
        out[1] = vcombine_s32(vget_high_s32(z01.val[0]), vget_high_s32(z23.val[0]));
        out[2] = vcombine_s32(vget_low_s32(z01.val[1]), vget_low_s32(z23.val[1]));
        out[3] = vcombine_s32(vget_high_s32(z01.val[1]), vget_high_s32(z23.val[1]));
        for (int t = 0; t < 4; t++) {
            const int32_t n = OW - j0 - 4 * t;
            if (n <= 0) break;
            sm_i8_n_finish(out[t], e, c, ((size_t)c * OH + i0 + q) * OW + j0 + 4 * t, n);
        }
    }
}

static void sm_i8_neondot_xcorr(const uint8_t *search, int32_t channels, int32_t sh, int32_t sw, const void *packed,
                                int32_t kh, int32_t kw, const sm_int8_epilogue *epilogue, void *output,
                                int32_t channel_begin, int32_t channel_end, void *workspace) {
    (void)channels;
    const int32_t OH = sh - kh + 1, OW = sw - kw + 1;
    if (OH <= 0 || OW <= 0) return;
    sm_i8_ep ep;
    sm_i8_resolve(&ep, epilogue, packed, output);
    const int32_t kw4 = (int32_t)sm_i8_xcorr_kw4(kw);
    const int8_t *kernel = (const int8_t *)sm_i8_weights(packed);
    const size_t ld = sm_i8_neondot_xcorr_ld(sw, kw);
    uint8_t *rows = (uint8_t *)workspace;
    const uint8x16_t flip = vdupq_n_u8(0x80);
    for (int32_t c = channel_begin; c < channel_end; c++) {
        const uint8_t *plane = search + (size_t)c * sh * sw;
        for (int32_t y = 0; y < sh; y++) {
            uint8_t *d = rows + (size_t)y * ld;
            const uint8_t *s = plane + (size_t)y * sw;
            int32_t x = 0;
            for (; x + 16 <= sw; x += 16) vst1q_u8(d + x, veorq_u8(vld1q_u8(s + x), flip));
            for (; x < sw; x++) d[x] = (uint8_t)(s[x] ^ 0x80);
            memset(d + sw, 0, ld - (size_t)sw);
        }
        const int8_t *kc = kernel + (size_t)c * kh * kw4;
        for (int32_t i0 = 0; i0 < OH; i0 += 4) {
            for (int32_t j0 = 0; j0 < OW; j0 += 16) {
                switch (OH - i0) {
                case 1: sm_i8_d_xcorr_rows(1, rows, ld, kc, kh, kw4, i0, j0, &ep, c, OH, OW); break;
                case 2: sm_i8_d_xcorr_rows(2, rows, ld, kc, kh, kw4, i0, j0, &ep, c, OH, OW); break;
                case 3: sm_i8_d_xcorr_rows(3, rows, ld, kc, kh, kw4, i0, j0, &ep, c, OH, OW); break;
                default: sm_i8_d_xcorr_rows(4, rows, ld, kc, kh, kw4, i0, j0, &ep, c, OH, OW); break;
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

const sm_int8_kernel_table sm_int8_neondot_table = {
    .tier = SM_INT8_TIER_NEONDOT,
    .name = "neondot",
    .conv2d_u8s8_packed_bytes = sm_i8_neondot_conv_packed_bytes,
    .conv2d_u8s8_pack = sm_i8_neondot_conv_pack,
    .conv2d_u8s8_workspace_bytes = sm_i8_neondot_conv_workspace_bytes,
    .conv2d_u8s8 = sm_i8_neondot_conv,
    .conv2d_wd23_packed_bytes = sm_i8_neondotq_w23_packed_bytes,
    .conv2d_wd23_pack = sm_i8_neondotq_w23_pack,
    .conv2d_wd23_workspace_bytes = sm_i8_neondotq_w23_workspace_bytes,
    .conv2d_wd23 = sm_i8_neondotq_w23_conv,
    .xcorr_u8s8_packed_bytes = sm_i8_neondot_xcorr_packed_bytes,
    .xcorr_u8s8_pack = sm_i8_neondot_xcorr_pack,
    .xcorr_u8s8_workspace_bytes = sm_i8_neondot_xcorr_workspace_bytes,
    .depthwise_xcorr_u8s8 = sm_i8_neondot_xcorr,
};
#endif
