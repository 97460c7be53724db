// int8_winograd23_neon.h — the Winograd-domain layer kind of siam_int8.h ("wd23") for the Arm tiers: the x86 body's
// plan (int8_winograd23_x86.h) on NEON, with the portable half shared (int8_winograd23_common.h). Vq needs no +128
// here: both Arm micro-kernels multiply s8 x s8 (sdot; smull + smlal, whose int16 pair sums stay exact because
// |Vq Uq| <= 128 * 127), so Vq goes into B as it is and the GEMM terms are zero. Quantisation is vqrdmulhq_s16, which
// is (v m + 2^14) >> 15 exactly for these operands (it saturates only at -32768 x -32768), then vqmovn_s16 (the clamp
// to [-128, 127]); 4 channels x 8 tiles are interleaved by vst4_s8. Micro-tiles of 8 tiles (nv <= 2).
// Included by the tier after its micro-kernel; the including file defines SM_I8_FN (this body's prefix), SM_I8_TIER,
// SM_I8_MR, SM_I8_G (= 4), SM_I8_ATYPE (int8_t), SM_W23_CALIGN (its k step in channels) and SM_W23_TILE (its tile
// function, whose finish stores raw sums when sm_i8_ep.out_i32 is set: sm_i8_n_finish).

#define SM_W23_QUANT 1
#define SM_W23_NR 8
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

// Vq of 8 tiles of 4 channels (B^T d B, the zero point off V[5], vqrdmulh, saturating narrow), as 8 groups of 4
// bytes in each xi's B (xi_stride bytes apart).
static inline void SM_I8_FN(w23_input_transform)(const int16_t *P, size_t ldt, int8_t *dst, size_t xi_stride,
                                                 int16x8_t zx4, const int16x8_t *m) {
    int8x8_t q[4][16];
    for (int h = 0; h < 4; h++) {
        const int16_t *src = P + (size_t)h * 16 * ldt;
        int16x8_t e[4][4], v[16];
        for (int r = 0; r < 4; r++) {   // rows: d B
            const int16x8_t d0 = vld1q_s16(src + (size_t)(4 * r) * ldt),
                            d1 = vld1q_s16(src + (size_t)(4 * r + 1) * ldt);
            const int16x8_t d2 = vld1q_s16(src + (size_t)(4 * r + 2) * ldt),
                            d3 = vld1q_s16(src + (size_t)(4 * r + 3) * ldt);
            e[r][0] = vsubq_s16(d0, d2);
            e[r][1] = vaddq_s16(d1, d2);
            e[r][2] = vsubq_s16(d2, d1);
            e[r][3] = vsubq_s16(d1, d3);
        }
        for (int j = 0; j < 4; j++) {   // columns: B^T (d B)
            v[0 * 4 + j] = vsubq_s16(e[0][j], e[2][j]);
            v[1 * 4 + j] = vaddq_s16(e[1][j], e[2][j]);
            v[2 * 4 + j] = vsubq_s16(e[2][j], e[1][j]);
            v[3 * 4 + j] = vsubq_s16(e[1][j], e[3][j]);
        }
        v[5] = vsubq_s16(v[5], zx4);
        for (int xi = 0; xi < 16; xi++) q[h][xi] = vqmovn_s16(vqrdmulhq_s16(v[xi], m[xi]));
    }
    for (int xi = 0; xi < 16; xi++) {
        int8x8x4_t g;
        g.val[0] = q[0][xi];
        g.val[1] = q[1][xi];
        g.val[2] = q[2][xi];
        g.val[3] = q[3][xi];
        vst4_s8(dst + (size_t)xi * xi_stride, g);
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

static void SM_I8_FN(w23_conv)(const sm_conv2d_shape *s, const uint8_t *input, const void *packed,
                               const sm_int8_epilogue *epilogue, void *output, int32_t row_begin, int32_t row_end,
                               void *workspace) {
    const int32_t OH = s->out_height, OW = s->out_width, dh = s->dilation_h, dw = s->dilation_w;
    if (row_begin < 0) row_begin = 0;
    if (row_end > OH) row_end = OH;
    if (row_end <= row_begin) return;
    const size_t C = (size_t)s->in_channels, O = (size_t)s->out_channels, Cp = SM_I8_FN(w23_cp)(s);
    const size_t panels = SM_I8_FN(w23_panels)(s), groups = Cp / 4;
    const size_t plane = (size_t)OH * (size_t)OW, in_plane = (size_t)s->in_height * (size_t)s->in_width;
    const SM_I8_FN(w23_layout) l = SM_I8_FN(w23_layout_of)(s);
    uint8_t *ws = (uint8_t *)workspace;
    sm_w23_tile *tiles = (sm_w23_tile *)(ws + l.tiles_at);
    sm_w23_run *runs = (sm_w23_run *)(ws + l.runs_at);
    uint8_t *staged = ws + l.staged_at;
    int16_t *P = (int16_t *)(ws + l.p_at);
    int8_t *V = (int8_t *)(ws + l.v_at);
    int32_t *M = (int32_t *)(ws + l.m_at);
    int32_t *Y = (int32_t *)(ws + l.y_at);
    int32_t *staging = (int32_t *)(ws + l.staging_at);
    const int32_t zx = ((const sm_i8_packed_header *)packed)->zero_point;
    sm_i8_ep ep;
    sm_i8_resolve(&ep, epilogue, packed, output);
    sm_i8_ep raw = ep;   // the GEMMs' "epilogue": the raw sums (terms: the packed xterms, zero on these tiers)
    const int8_t *U = (const int8_t *)sm_i8_wd23_u(packed);
    const int32_t *xterms = sm_i8_wd23_xterms(packed), *mult = sm_i8_wd23_multipliers(packed);
    const size_t opad = sm_i8_wd23_opad(s->out_channels);
    const float *fscale = sm_i8_wd23_fscale(packed);
    float *scale = (float *)(ws + l.scale_at);
    for (size_t o = 0; o < O; o++) scale[o] = epilogue->scale[o] * fscale[o];
    ep.scale = scale;
    const int16x8_t zx4 = vdupq_n_s16((int16_t)(4 * zx));
    int16x8_t m[16];
    for (int xi = 0; xi < 16; xi++) m[xi] = vdupq_n_s16((int16_t)mult[xi]);

    const int32_t band_rows = 2 * dh, nb = SM_I8_FN(w23_chunk_bands)(s);
    const int32_t b_first = row_begin / band_rows, b_last = (row_end + band_rows - 1) / band_rows;
    for (int32_t b0 = b_first; b0 < b_last; b0 += nb) {
        const int32_t b1 = b0 + nb < b_last ? b0 + nb : b_last;
        size_t run_count = 0;
        const size_t n = SM_I8_FN(w23_tiles)(s, b0, b1, tiles, runs, &run_count);
        const size_t blocks = (n + SM_W23_NR - 1) / SM_W23_NR, ldt = blocks * SM_W23_NR;
        const size_t tile_stride = groups * 4 * SM_W23_NR, xi_stride = blocks * tile_stride;   // bytes
        const int32_t y0 = b0 * band_rows, y1 = b1 * band_rows < OH ? b1 * band_rows : OH;
        const int32_t s0 = y0 > row_begin ? y0 : row_begin, s1 = y1 < row_end ? y1 : row_end;

        // 1. V, 4 channels at a time (lanes past n: never stored)
        for (int k = 0; k < 4 * 16; k++) memset(P + (size_t)k * l.ldp + n, 0, (ldt - n) * sizeof(int16_t));
        for (size_t g = 0; g < groups; g++) {
            for (int h = 0; h < 4; h++) {
                int16_t *Ph = P + (size_t)h * 16 * l.ldp;
                const size_t c = 4 * g + (size_t)h;
                if (c < C) {
                    SM_I8_FN(w23_stage)(s, input + c * in_plane, zx, y0 - s->pad_top, (int32_t)l.srows, l.wp, staged);
                    SM_I8_FN(w23_gather)(s, staged, l.wp, y0 - s->pad_top, runs, run_count, Ph, l.ldp);
                } else {
                    for (int k = 0; k < 16; k++) memset(Ph + (size_t)k * l.ldp, 0, n * sizeof(int16_t));
                }
            }
            for (size_t t = 0; t < ldt; t += 8)   // 8 tiles: one micro-tile
                SM_I8_FN(w23_input_transform)
            (P + t, l.ldp, V + t / SM_W23_NR * tile_stride + g * 4 * SM_W23_NR, xi_stride, zx4, m);
        }

        // 2. per block of output channels: GEMMs, output transform, epilogue
        for (size_t ob = 0; ob < O; ob += SM_W23_OB) {
            const size_t oc = O - ob < SM_W23_OB ? O - ob : SM_W23_OB;
            const size_t p0 = ob / SM_I8_MR, p1 = (ob + oc + SM_I8_MR - 1) / SM_I8_MR;
            for (size_t xi = 0; xi < 16; xi++) {
                raw.out_i32 = M + xi * SM_W23_OB * ldt;
                raw.terms = xterms + xi * opad + ob;
                for (size_t j = 0; j < blocks; j++) {
                    const size_t nr = n - j * SM_W23_NR < SM_W23_NR ? n - j * SM_W23_NR : SM_W23_NR;
                    for (size_t p = p0; p < p1; p++)
                        SM_W23_TILE((int32_t)((nr + 3) / 4), (int32_t)groups,
                                    U + ((xi * panels + p) * groups) * SM_I8_MR * 4,
                                    (const uint8_t *)(V + xi * xi_stride + j * tile_stride), 4 * SM_W23_NR, &raw,
                                    (int32_t)((p - p0) * SM_I8_MR), SM_I8_MR, (p - p0) * SM_I8_MR * ldt + j * SM_W23_NR,
                                    ldt, (int32_t)nr);
                }
            }
            for (size_t ol = 0; ol < oc; ol++) {
                for (size_t t = 0; t < n; t += 4)
                    SM_I8_FN(w23_output_transform)(M + ol * ldt + t, SM_W23_OB * ldt, Y + t, l.ldt);
                const int32_t o = (int32_t)(ob + ol);
                int32_t *st = staging + ol * l.rows * l.ldo;
                for (size_t t = 0; t < n; t++) {   // into the chunk's rows, pixel order
                    const int32_t oy = tiles[t].oy - y0, ox = tiles[t].ox;
                    const int down = tiles[t].oy + dh < OH, right = ox + dw < OW;
                    int32_t *r0 = st + (size_t)oy * l.ldo + ox;
                    r0[0] = Y[t];
                    if (right) r0[dw] = Y[l.ldt + t];
                    if (down) {
                        int32_t *r1 = r0 + (size_t)dh * l.ldo;
                        r1[0] = Y[2 * l.ldt + t];
                        if (right) r1[dw] = Y[3 * l.ldt + t];
                    }
                }
                for (int32_t y = s0; y < s1; y++) {
                    const int32_t *row = st + (size_t)(y - y0) * l.ldo;
                    for (int32_t x = 0; x < OW; x += 4)
                        sm_i8_n_finish(vld1q_s32(row + x), &ep, o, (size_t)o * plane + (size_t)y * OW + (size_t)x,
                                       OW - x < 4 ? OW - x : 4);
                }
            }
        }
    }
}

#undef SM_W23_XI
#undef SM_W23_CALIGN
#undef SM_W23_VQ_OFFSET
#undef SM_W23_NR
#undef SM_W23_OB
#undef SM_W23_SHIFT
#undef SM_W23_QUANT
