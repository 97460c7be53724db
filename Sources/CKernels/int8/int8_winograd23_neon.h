// int8_winograd23_neon.h — the Winograd-domain layer kind of siam_int8.h ("wd23") for the Arm tiers: the x86 body's
// plan (int8_winograd23_x86.h) on NEON, with the portable half shared (int8_winograd23_common.h). Vq needs no +128
// here: both Arm micro-kernels multiply s8 x s8 (sdot; smull + smlal, whose int16 pair sums stay exact because
// |Vq Uq| <= 128 * 127), so Vq goes into B as it is and the GEMM terms are zero. Quantisation is vqrdmulhq_s16, which
// is (v m + 2^14) >> 15 exactly for these operands (it saturates only at -32768 x -32768), then vqmovn_s16 (the clamp
// to [-128, 127]); 4 channels x 8 tiles are interleaved by vst4_s8. Micro-tiles of 8 tiles (nv <= 2).
// Included by the tier after its micro-kernel; the including file defines SM_I8_FN (this body's prefix), SM_I8_TIER,
// SM_I8_MR, SM_I8_G (= 4), SM_I8_ATYPE (int8_t), SM_I8_BTYPE, SM_W23_CALIGN (its k step in channels) and SM_W23_TILE (its tile
// function, whose finish stores raw sums when sm_i8_ep.out_i32 is set: sm_i8_n_finish).

#define SM_W23_QUANT 1
#define SM_W23_NR 8
#define SM_W23_V16 int16x8_t   // 8 int16 lanes: one per tile
#define SM_W23_LOAD16(p) vld1q_s16(p)
#define SM_W23_ADD16 vaddq_s16
#define SM_W23_SUB16 vsubq_s16
#include "int8_winograd23_common.h"

// P[r * 4 + q][t] of the runs' tiles from the staged rows: 8 tiles at a time by de-interleaving loads for dilation 1
// (vld2: bytes 2j + q) and 2 (vld4: bytes 4j + 2q), one by one otherwise (as the x86 body).
static void SM_I8_FN(w23_gather)(const sm_conv2d_shape *s, const uint8_t *staged, size_t wp, int32_t iy_lo,
                                 const sm_w23_run *runs, size_t run_count, int16_t *P, size_t ldt) {
    const int32_t dh = s->dilation_h, dw = s->dilation_w;
    for (size_t g = 0; g < run_count; g++) {
        const sm_w23_run run = runs[g];
        for (int32_t r = 0; r < 4; r++) {
            const uint8_t *row = staged + (size_t)(run.oy - s->pad_top + dh * r - iy_lo) * wp + run.ox;
            int16_t *dst = P + (size_t)(4 * r) * ldt + run.t0;
            int32_t k = 0;
            if (dw == 1) {
                for (; k < run.count; k += 8) {
                    const uint8x8x2_t a = vld2_u8(row + 2 * k), b = vld2_u8(row + 2 * k + 2);
                    vst1q_s16(dst + k, vreinterpretq_s16_u16(vmovl_u8(a.val[0])));
                    vst1q_s16(dst + ldt + k, vreinterpretq_s16_u16(vmovl_u8(a.val[1])));
                    vst1q_s16(dst + 2 * ldt + k, vreinterpretq_s16_u16(vmovl_u8(b.val[0])));
                    vst1q_s16(dst + 3 * ldt + k, vreinterpretq_s16_u16(vmovl_u8(b.val[1])));
                }
            } else if (dw == 2) {
                for (; k < run.count; k += 8) {
                    const uint8x8x4_t a = vld4_u8(row + 4 * k), b = vld4_u8(row + 4 * k + 4);
                    vst1q_s16(dst + k, vreinterpretq_s16_u16(vmovl_u8(a.val[0])));
                    vst1q_s16(dst + ldt + k, vreinterpretq_s16_u16(vmovl_u8(a.val[2])));
                    vst1q_s16(dst + 2 * ldt + k, vreinterpretq_s16_u16(vmovl_u8(b.val[0])));
                    vst1q_s16(dst + 3 * ldt + k, vreinterpretq_s16_u16(vmovl_u8(b.val[2])));
                }
            }
            for (; k < run.count; k++)
                for (int32_t q = 0; q < 4; q++) dst[(size_t)q * ldt + (size_t)k] = row[2 * dw * k + dw * q];
        }
    }
}

// The per-call constants of the input transform (a hook of the shared driver): 4 zx and the multipliers.
typedef struct SM_I8_FN(w23_consts_t) {
    int16x8_t zx4, m[16];
} SM_I8_FN(w23_consts_t);
#define SM_W23_CONSTS SM_I8_FN(w23_consts_t)
static inline void SM_I8_FN(w23_consts)(int32_t zx, const int32_t *mult, SM_W23_CONSTS *k) {
    k->zx4 = vdupq_n_s16((int16_t)(4 * zx));
    for (int xi = 0; xi < 16; xi++) k->m[xi] = vdupq_n_s16((int16_t)mult[xi]);
}

// Vq of 8 tiles of 4 channels (B^T d B, the zero point off V[5], vqrdmulh, saturating narrow), as 8 groups of 4
// bytes in each xi's B (xi_stride bytes apart).
static inline void SM_I8_FN(w23_input_transform)(const int16_t *P, size_t ldt, uint8_t *dst, size_t xi_stride,
                                                 const struct SM_I8_FN(w23_consts_t) * k) {
    int8x8_t q[4][16];
    for (int h = 0; h < 4; h++) {
        const int16_t *src = P + (size_t)h * 16 * ldt;
        int16x8_t v[16];
        SM_I8_FN(w23_transform)(src, ldt, v);
        v[5] = vsubq_s16(v[5], k->zx4);
        for (int xi = 0; xi < 16; xi++) q[h][xi] = vqmovn_s16(vqrdmulhq_s16(v[xi], k->m[xi]));
    }
    for (int xi = 0; xi < 16; xi++) {
        int8x8x4_t g;
        g.val[0] = q[0][xi];
        g.val[1] = q[1][xi];
        g.val[2] = q[2][xi];
        g.val[3] = q[3][xi];
        vst4_s8((int8_t *)(dst + (size_t)xi * xi_stride), g);
    }
}

// A^T M A of 4 tiles: M rows xi are mstride apart; Y[j] for output (j / 2, j % 2) of the tile.
static inline void SM_I8_FN(w23_output_transform)(const int32_t *m, size_t mstride, int32_t *y, size_t ldy) {
    int32x4_t f[4][2];
    for (int i = 0; i < 4; i++) {   // rows: M A
        const int32x4_t m0 = vld1q_s32(m + (size_t)(4 * i) * mstride),
                        m1 = vld1q_s32(m + (size_t)(4 * i + 1) * mstride);
        const int32x4_t m2 = vld1q_s32(m + (size_t)(4 * i + 2) * mstride),
                        m3 = vld1q_s32(m + (size_t)(4 * i + 3) * mstride);
        f[i][0] = vaddq_s32(vaddq_s32(m0, m1), m2);
        f[i][1] = vsubq_s32(vsubq_s32(m1, m2), m3);
    }
    for (int j = 0; j < 2; j++) {   // columns: A^T (M A)
        vst1q_s32(y + (size_t)j * ldy, vaddq_s32(vaddq_s32(f[0][j], f[1][j]), f[2][j]));
        vst1q_s32(y + (size_t)(2 + j) * ldy, vsubq_s32(vsubq_s32(f[1][j], f[2][j]), f[3][j]));
    }
}

// ---- the hooks of the shared driver (int8_winograd23_driver.h) ----
#define SM_W23_TSTEP 8
#define SM_W23_OSTEP 4
#define SM_W23_VL 4
#define SM_W23_FINISH_FAST(s, Y, ldy, runs, run_count, ep, o, s0, s1) 0
#define SM_W23_ROW_STEP 4
#define SM_W23_FINISH_ROW(row, ep, o, at, n) sm_i8_n_finish(vld1q_s32(row), ep, o, at, n)

#include "int8_winograd23_driver.h"
