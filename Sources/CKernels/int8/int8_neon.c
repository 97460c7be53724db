// int8_neon.c — the Armv8-A NEON int8 tier (no dot product). Activations enter B flipped to signed,
// x' = q ^ 0x80 = q - 128 in [-128, 127], and the channel term is packed as (zx - 128) * sum w, so
// sum w * (q - zx) = sum w * x' - (zx - 128) * sum w exactly. Products: smull + smlal of two s8 x s8 products into
// an int16 lane (|x' w| <= 128 * 127 = 16256, two of them <= 32512 < 32767: exact, because weights stop at -127),
// then sadalp (vpadalq_s16) into int32. Convolution: 4 channels x 8 pixels register tile, k in steps of 8 (two
// 4-byte groups; K is padded to 8), each pixel's two int32 half-sums added at the end (vpaddq_s32).
// Cross-correlation: rows widened to int16 (no flip), vmlal_n_s16 tap by tap, blocks of 4 rows x 8 pixels.
#if defined(__aarch64__)
#include "../kernels_internal.h"
#include "int8_internal.h"

#include <arm_neon.h>

#if defined(__clang__)
#pragma clang fp contract(off)
#pragma STDC FP_CONTRACT OFF   // gcc ignores it: build with -ffp-contract=off
#endif

#include "int8_neon_common.h"

#define SM_I8_FN(name) sm_i8_neon_##name
#define SM_I8_TIER SM_INT8_TIER_NEON
#define SM_I8_MR 4
#define SM_I8_NV 2
#define SM_I8_VL 4
#define SM_I8_G 4
#define SM_I8_KALIGN 8
#define SM_I8_ATYPE int8_t
#define SM_I8_BTYPE uint8_t
#define SM_I8_TERM_SHIFT 128
#ifndef SM_I8_B_BUDGET
#define SM_I8_B_BUDGET (128 * 1024)
#endif

// ---- convolution ----

static inline __attribute__((always_inline)) void sm_i8_n_micro(const int NV, int32_t groups, const int8_t *restrict a,
                                                                const uint8_t *restrict b, size_t ldb,
                                                                const sm_i8_ep *e, int32_t o0, int32_t rows, size_t at,
                                                                size_t plane, int32_t n) {
    // acc_lo[r][v]: pixels 4v, 4v+1 (two half-sums each); acc_hi[r][v]: pixels 4v+2, 4v+3.
    int32x4_t acc_lo[SM_I8_MR][SM_I8_NV], acc_hi[SM_I8_MR][SM_I8_NV];
    for (int r = 0; r < SM_I8_MR; r++)
        for (int v = 0; v < NV; v++) acc_lo[r][v] = acc_hi[r][v] = vdupq_n_s32(0);
    for (int32_t g = 0; g < groups; g += 2) {   // groups is even (K padded to 8)
        int8x16_t b0[SM_I8_NV], b1[SM_I8_NV];
        for (int v = 0; v < NV; v++) {
            b0[v] = vreinterpretq_s8_u8(vld1q_u8(b + v * 16));
            b1[v] = vreinterpretq_s8_u8(vld1q_u8(b + ldb + v * 16));
        }
        for (int r = 0; r < SM_I8_MR; r++) {
            int32_t w0, w1;
            memcpy(&w0, a + 4 * r, 4);
            memcpy(&w1, a + SM_I8_MR * 4 + 4 * r, 4);
            const int8x16_t wa = vreinterpretq_s8_s32(vdupq_n_s32(w0));   // group g, 4 times
            const int8x16_t wb = vreinterpretq_s8_s32(vdupq_n_s32(w1));   // group g + 1
            for (int v = 0; v < NV; v++) {
                int16x8_t lo = vmull_s8(vget_low_s8(b0[v]), vget_low_s8(wa));
                lo = vmlal_s8(lo, vget_low_s8(b1[v]), vget_low_s8(wb));
                acc_lo[r][v] = vpadalq_s16(acc_lo[r][v], lo);
                int16x8_t hi = vmull_high_s8(b0[v], wa);
                hi = vmlal_high_s8(hi, b1[v], wb);
                acc_hi[r][v] = vpadalq_s16(acc_hi[r][v], hi);
            }
        }
        a += 2 * SM_I8_MR * 4;
        b += 2 * ldb;
    }
    for (int r = 0; r < SM_I8_MR; r++) {
        if (r >= rows) break;
        for (int v = 0; v < NV; v++)
            sm_i8_n_finish(vpaddq_s32(acc_lo[r][v], acc_hi[r][v]), e, o0 + r, at + (size_t)r * plane + (size_t)v * 4,
                           n - v * 4);
    }
}

static void sm_i8_n_micro_1(int32_t groups, const int8_t *a, const uint8_t *b, size_t ldb, const sm_i8_ep *e,
                            int32_t o0, int32_t rows, size_t at, size_t plane, int32_t n) {
    sm_i8_n_micro(1, groups, a, b, ldb, e, o0, rows, at, plane, n);
}
static void sm_i8_n_micro_2(int32_t groups, const int8_t *a, const uint8_t *b, size_t ldb, const sm_i8_ep *e,
                            int32_t o0, int32_t rows, size_t at, size_t plane, int32_t n) {
    sm_i8_n_micro(2, groups, a, b, ldb, e, o0, rows, at, plane, n);
}

static void sm_i8_neon_tile(int32_t nv, int32_t groups, const int8_t *a, const uint8_t *b, size_t ldb,
                            const sm_i8_ep *e, int32_t o0, int32_t rows, size_t at, size_t plane, int32_t n) {
    if (nv == 1) sm_i8_n_micro_1(groups, a, b, ldb, e, o0, rows, at, plane, n);
    else sm_i8_n_micro_2(groups, a, b, ldb, e, o0, rows, at, plane, n);
}

static void sm_i8_neon_interleave(uint8_t *dst, const uint8_t *const *rows, size_t n) {
    sm_i8_neon_interleave4_flip(dst, rows, n);
}

#include "int8_gemm_driver.h"

// ---- the Winograd-domain layer kind (siam_int8.h, wd23): the shared plan on NEON, signed Vq into this tile ----
#undef SM_I8_FN
#define SM_I8_FN(name) sm_i8_neonq_##name
#define SM_W23_CALIGN 8
#define SM_W23_VQ_OFFSET 0
#define SM_W23_TILE sm_i8_neon_tile
#include "int8_winograd23_neon.h"
#undef SM_I8_FN
#define SM_I8_FN(name) sm_i8_neon_##name

// ---- depth-wise cross-correlation ----

static size_t sm_i8_neon_xcorr_packed_bytes(int32_t channels, int32_t kh, int32_t kw) {
    return sm_i8_xcorr_packed_bytes(channels, kh, kw);
}

static void sm_i8_neon_xcorr_pack(const int8_t *kernel, int32_t channels, int32_t kh, int32_t kw, int32_t zs,
                                  void *packed) {
    sm_i8_xcorr_pack(kernel, channels, kh, kw, zs, 0, SM_INT8_TIER_NEON, packed);   // unflipped rows: shift 0
}

static inline size_t sm_i8_neon_xcorr_ld(int32_t sw) { return sm_i8_round_up((size_t)sw + 8, 8); }

static size_t sm_i8_neon_xcorr_workspace_bytes(int32_t sh, int32_t sw, int32_t kh, int32_t kw) {
    (void)kh;
    (void)kw;
    if (sh <= 0 || sw <= 0) return 0;
    return (size_t)sh * sm_i8_neon_xcorr_ld(sw) * sizeof(int16_t);
}

// R output rows from i0, pixels j0 .. j0 + 7 of one channel (R x 2 independent accumulators).
static inline __attribute__((always_inline)) void
sm_i8_n_xcorr_rows(const int R, const int16_t *rows, size_t ld, const int8_t *kc, int32_t kh, int32_t kw, int32_t kw4,
                   int32_t i0, int32_t j0, const sm_i8_ep *e, int32_t c, int32_t OH, int32_t OW) {
    int32x4_t lo[4], hi[4];
    for (int q = 0; q < R; q++) lo[q] = hi[q] = vdupq_n_s32(0);
    for (int32_t u = 0; u < kh; u++) {
        for (int32_t v = 0; v < kw; v++) {
            const int16_t k = kc[(size_t)u * kw4 + v];
            for (int q = 0; q < R; q++) {
                const int16x8_t x = vld1q_s16(rows + (size_t)(i0 + q + u) * ld + j0 + v);
                lo[q] = vmlal_n_s16(lo[q], vget_low_s16(x), k);
                hi[q] = vmlal_high_n_s16(hi[q], x, k);
            }
        }
    }
    for (int q = 0; q < R; q++) {
        const size_t at = ((size_t)c * OH + i0 + q) * OW + j0;
        sm_i8_n_finish(lo[q], e, c, at, OW - j0);
        if (OW - j0 > 4) sm_i8_n_finish(hi[q], e, c, at + 4, OW - j0 - 4);
    }
}

static void sm_i8_neon_xcorr(const uint8_t *search, int32_t channels, int32_t sh, int32_t sw, const void *packed,
                             int32_t kh, int32_t kw, const sm_int8_epilogue *epilogue, void *output,
                             int32_t channel_begin, int32_t channel_end, void *workspace) {
    (void)channels;
    const int32_t OH = sh - kh + 1, OW = sw - kw + 1;
    if (OH <= 0 || OW <= 0) return;
    sm_i8_ep ep;
    sm_i8_resolve(&ep, epilogue, packed, output);
    const int32_t kw4 = (int32_t)sm_i8_xcorr_kw4(kw);
    const int8_t *kernel = (const int8_t *)sm_i8_weights(packed);
    const size_t ld = sm_i8_neon_xcorr_ld(sw);
    int16_t *rows = (int16_t *)workspace;
    for (int32_t c = channel_begin; c < channel_end; c++) {
        const uint8_t *plane = search + (size_t)c * sh * sw;
        for (int32_t y = 0; y < sh; y++) {   // widen to int16; loads of 8 from any valid start stay inside
            int16_t *d = rows + (size_t)y * ld;
            const uint8_t *s = plane + (size_t)y * sw;
            int32_t x = 0;
            for (; x + 8 <= sw; x += 8) vst1q_s16(d + x, vreinterpretq_s16_u16(vmovl_u8(vld1_u8(s + x))));
            for (; x < sw; x++) d[x] = s[x];
            for (; x < (int32_t)ld; x++) d[x] = 0;
        }
        const int8_t *kc = kernel + (size_t)c * kh * kw4;
        for (int32_t i0 = 0; i0 < OH; i0 += 4) {
            for (int32_t j0 = 0; j0 < OW; j0 += 8) {
                switch (OH - i0) {
                case 1: sm_i8_n_xcorr_rows(1, rows, ld, kc, kh, kw, kw4, i0, j0, &ep, c, OH, OW); break;
                case 2: sm_i8_n_xcorr_rows(2, rows, ld, kc, kh, kw, kw4, i0, j0, &ep, c, OH, OW); break;
                case 3: sm_i8_n_xcorr_rows(3, rows, ld, kc, kh, kw, kw4, i0, j0, &ep, c, OH, OW); break;
                default: sm_i8_n_xcorr_rows(4, rows, ld, kc, kh, kw, kw4, i0, j0, &ep, c, OH, OW); break;
                }
            }
        }
    }
}

const sm_int8_kernel_table sm_int8_neon_table = {
    .tier = SM_INT8_TIER_NEON,
    .name = "neon",
    .conv2d_u8s8_packed_bytes = sm_i8_neon_conv_packed_bytes,
    .conv2d_u8s8_pack = sm_i8_neon_conv_pack,
    .conv2d_u8s8_workspace_bytes = sm_i8_neon_conv_workspace_bytes,
    .conv2d_u8s8 = sm_i8_neon_conv,
    .conv2d_wd23_packed_bytes = sm_i8_neonq_w23_packed_bytes,
    .conv2d_wd23_pack = sm_i8_neonq_w23_pack,
    .conv2d_wd23_workspace_bytes = sm_i8_neonq_w23_workspace_bytes,
    .conv2d_wd23 = sm_i8_neonq_w23_conv,
    .xcorr_u8s8_packed_bytes = sm_i8_neon_xcorr_packed_bytes,
    .xcorr_u8s8_pack = sm_i8_neon_xcorr_pack,
    .xcorr_u8s8_workspace_bytes = sm_i8_neon_xcorr_workspace_bytes,
    .depthwise_xcorr_u8s8 = sm_i8_neon_xcorr,
};
#endif
