// int8_winograd23_x86.h — 3x3 stride-1 int8 convolutions as Winograd F(2x2, 3x3) in exact integer arithmetic, for
// the x86 paths whose dot product is int16 x int16 (AVX2's vpmaddwd): 16 products per 2x2 outputs instead of 36.
// Included by the tier after its int16 micro-kernel (int8_micro_x86.h instantiated with SM_I8_FN = the prefix below
// and SM_I8_FINISH storing the raw int32 sums into sm_i8_ep.out_i32).
//
// Exactness. With G' = 2G = [[2,0,0],[1,1,1],[1,-1,1],[0,0,2]], U = G' g G'^T is an integer matrix (|U| <= 9 * 127 =
// 1143) and equals 4 G g G^T; V = B^T d B of the raw uint8 patch d (padding = the zero point, as in the direct path)
// is an integer matrix (|V| <= 4 * 255 = 1020); both fit int16, and each int32 sum over C <= 1024 channels of U * V
// stays below 2^31. A^T (U . V) A = 4 * S, where S = sum_k qw * qx is the direct path's raw sum; its int32
// intermediates may wrap, but 4 * S itself fits int32 (C <= 1024), so two's-complement wrapping arithmetic gives it
// exactly and an arithmetic shift by 2 gives S. The epilogue is then the common one (sm_i8_y_finish): the bytes are
// the reference's, bit for bit, as siam_int8.h requires.
//
// Geometry. A dilated 3x3 is a plain 3x3 on each of the dh x dw interleaved sub-grids. A tile is 2x2 outputs of one
// sub-grid; a band is tile row ti of every sub-grid, which covers the 2 * dh consecutive output rows
// [2 ti dh, 2 ti dh + 2 dh) completely. A call computes the bands that meet its row range (whole tiles; only its own
// rows are stored), in chunks of bands, and per chunk (the shared driver, int8_winograd23_driver.h):
//   1. gathers each channel's 4x4 patches from staged, zero-point-padded rows (int16, tiles along a vector; 8 tiles
//      of a run at a time with vector loads for dilations 1 and 2), transforms them to V[16][C][tiles] in the
//      micro-kernel's tile-major layout;
//   2. per block of output channels: the 16 GEMMs M[xi] = U[xi] * V[xi] (raw int32), then A^T M A >> 2 and the
//      epilogue: straight into the output rows for dilations 1 and 2 (a run's tiles interleaved), through a staging
//      plane of the chunk's rows otherwise.
// This file holds the x86 hooks of that driver; geometry and packing are in int8_winograd23_common.h.
//
// The including file defines SM_I8_FN, SM_I8_MR, SM_I8_NV, SM_I8_VL and SM_I8_G (2 for the int16 path, 4 for
// vpdpbusd; NV * VL a multiple of 16), SM_I8_TIER, SM_I8_ATYPE, SM_I8_BTYPE and SM_I8_FINISH_Y (the 8-lane
// epilogue, sm_i8_y_finish), optionally SM_W23_FINISH16 (a 16-lane epilogue).
//
// With SM_W23_QUANT defined to 1 the same body computes the Winograd-domain layer kind of siam_int8.h ("wd23"):
// the zero point is subtracted before the transform (V[5] -= 4 zx: B^T 1 1^T B is 4 at (1, 1) and 0 elsewhere), V
// is requantised per position (vpmulhrsw by m[xi], clamped to [-128, 127]), the weights are the shared Uq, and the
// output transform has no division. For G = 4 (vpdpbusd) Vq + 128 goes into uint8 groups of 4 channels and the GEMM
// finish subtracts 128 * sum Uq per position and channel; for G = 2 (vpmaddwd) Vq stays int16. The micro-kernel's
// SM_I8_FINISH stores acc - e->terms[o] (o relative to the block of output channels).

#define SM_W23_NR (SM_I8_NV * SM_I8_VL)   // tiles per micro-tile
#define SM_W23_V16 __m256i                // 16 int16 lanes: one per tile
#define SM_W23_LOAD16(p) _mm256_loadu_si256((const __m256i *)(const void *)(p))
#define SM_W23_ADD16 _mm256_add_epi16
#define SM_W23_SUB16 _mm256_sub_epi16
#include "int8_winograd23_common.h"

// P[r * 4 + q][t] = the raw uint8 input at patch position (r, q) of tile t, from the staged rows: 8 tiles of a run
// at a time with vector loads for dilation 1 (bytes 2j + q) and 2 (bytes 4j + 2q), one by one otherwise. ldt is P's
// row stride, at least 7 lanes more than the chunk's tiles.
static void SM_I8_FN(w23_gather)(const sm_conv2d_shape *s, const uint8_t *staged, size_t wp, int32_t iy_lo,
                                 const sm_w23_run *runs, size_t run_count, int16_t *P, size_t ldt) {
    const int32_t dh = s->dilation_h, dw = s->dilation_w;
    const __m128i lo8 = _mm_set1_epi16(0x00FF);
    const __m256i lo8x32 = _mm256_set1_epi32(0xFF);
    for (size_t g = 0; g < run_count; g++) {
        const sm_w23_run run = runs[g];
        for (int32_t r = 0; r < 4; r++) {
            const uint8_t *row = staged + (size_t)(run.oy - s->pad_top + dh * r - iy_lo) * wp + run.ox;   // ix + pad
            int16_t *dst = P + (size_t)(4 * r) * ldt + run.t0;
            int32_t k = 0;
            // Whole groups of 8 even at a run's end: the lanes past it are the next run's (written after this one) or
            // past the chunk's tiles (never stored); the staged rows are wide enough for the loads.
            if (dw == 1) {
                for (; k < run.count; k += 8) {
                    const __m128i a = _mm_loadu_si128((const __m128i *)(row + 2 * k));
                    const __m128i b = _mm_loadu_si128((const __m128i *)(row + 2 * k + 2));
                    _mm_storeu_si128((__m128i *)(dst + k), _mm_and_si128(a, lo8));
                    _mm_storeu_si128((__m128i *)(dst + ldt + k), _mm_srli_epi16(a, 8));
                    _mm_storeu_si128((__m128i *)(dst + 2 * ldt + k), _mm_and_si128(b, lo8));
                    _mm_storeu_si128((__m128i *)(dst + 3 * ldt + k), _mm_srli_epi16(b, 8));
                }
            } else if (dw == 2) {
                for (; k < run.count; k += 8) {
                    const __m256i a = _mm256_loadu_si256((const __m256i *)(row + 4 * k));
                    const __m256i b = _mm256_loadu_si256((const __m256i *)(row + 4 * k + 4));
                    const __m256i a01 = _mm256_packus_epi32(_mm256_and_si256(a, lo8x32),
                                                            _mm256_and_si256(_mm256_srli_epi32(a, 16), lo8x32));
                    const __m256i b01 = _mm256_packus_epi32(_mm256_and_si256(b, lo8x32),
                                                            _mm256_and_si256(_mm256_srli_epi32(b, 16), lo8x32));
                    const __m256i q01 = _mm256_permute4x64_epi64(a01, 0xD8), q23 = _mm256_permute4x64_epi64(b01, 0xD8);
                    _mm_storeu_si128((__m128i *)(dst + k), _mm256_castsi256_si128(q01));
                    _mm_storeu_si128((__m128i *)(dst + ldt + k), _mm256_extracti128_si256(q01, 1));
                    _mm_storeu_si128((__m128i *)(dst + 2 * ldt + k), _mm256_castsi256_si128(q23));
                    _mm_storeu_si128((__m128i *)(dst + 3 * ldt + k), _mm256_extracti128_si256(q23, 1));
                }
            }
            for (; k < run.count; k++)
                for (int32_t q = 0; q < 4; q++) dst[(size_t)q * ldt + (size_t)k] = row[2 * dw * k + dw * q];
        }
    }
}

// The per-call constants of the input transform (a hook of the shared driver): 4 zx and the multipliers.
typedef struct SM_I8_FN(w23_consts_t) {
    __m256i zx4, m[SM_W23_XI];
} SM_I8_FN(w23_consts_t);
#define SM_W23_CONSTS SM_I8_FN(w23_consts_t)
static inline void SM_I8_FN(w23_consts)(int32_t zx, const int32_t *mult, SM_W23_CONSTS *k) {
    k->zx4 = _mm256_set1_epi16((int16_t)(4 * zx));
    for (int xi = 0; xi < SM_W23_XI; xi++) k->m[xi] = _mm256_set1_epi16((int16_t)(mult ? mult[xi] : 0));
}


#if SM_W23_QUANT
// v[xi] of raw uint8 patches -> Vq[xi] of the zero-point-free patches (int16 lanes in [-128, 127]).
static inline __attribute__((always_inline)) void SM_I8_FN(w23_quantize16)(__m256i v[16], __m256i zx4,
                                                                           const __m256i m[16]) {
    v[5] = _mm256_sub_epi16(v[5], zx4);
    for (int xi = 0; xi < 16; xi++) {
        const __m256i q = _mm256_mulhrs_epi16(v[xi], m[xi]);
        // G = 4 packs to bytes with signed saturation, which is the clamp; int16 pairs need it here
        v[xi] =
            SM_I8_G == 4 ? q : _mm256_max_epi16(_mm256_min_epi16(q, _mm256_set1_epi16(127)), _mm256_set1_epi16(-128));
    }
}
#endif

#if SM_I8_G == 2
// The transforms of 16 tiles of two channels (c, c + 1), written as 16 consecutive int16 pairs of a k-group row of
// the micro-kernel's tile-major B, in each xi's B (xi_stride bytes apart).
static inline void SM_I8_FN(w23_input_transform)(const int16_t *P, size_t ldt, uint8_t *dst, size_t xi_stride,
                                                 const struct SM_I8_FN(w23_consts_t) * k) {
    __m256i v[2][16];
    for (int h = 0; h < 2; h++) {
        SM_I8_FN(w23_transform)(P + (size_t)h * SM_W23_XI * ldt, ldt, v[h]);
#if SM_W23_QUANT
        SM_I8_FN(w23_quantize16)(v[h], k->zx4, k->m);
#else
        (void)k;
#endif
    }
    for (int xi = 0; xi < 16; xi++) {                                   // pairs (c, c + 1) of tiles 0..15, in order
        const __m256i lo = _mm256_unpacklo_epi16(v[0][xi], v[1][xi]);   // tiles 0-3, 8-11
        const __m256i hi = _mm256_unpackhi_epi16(v[0][xi], v[1][xi]);   // tiles 4-7, 12-15
        uint8_t *d = dst + (size_t)xi * xi_stride;
        _mm256_storeu_si256((__m256i *)d, _mm256_permute2x128_si256(lo, hi, 0x20));
        _mm256_storeu_si256((__m256i *)(d + 32), _mm256_permute2x128_si256(lo, hi, 0x31));
    }
}
#else
// The quantised transforms of 16 tiles of four channels, Vq + 128 as uint8 groups (c .. c + 3) of a k-group row of
// the micro-kernel's tile-major B, in each xi's B (xi_stride bytes apart).
static inline void SM_I8_FN(w23_input_transform)(const int16_t *P, size_t ldt, uint8_t *dst, size_t xi_stride,
                                                 const struct SM_I8_FN(w23_consts_t) * k) {
    __m256i v[4][16];
    for (int h = 0; h < 4; h++) {
        SM_I8_FN(w23_transform)(P + (size_t)h * SM_W23_XI * ldt, ldt, v[h]);
        SM_I8_FN(w23_quantize16)(v[h], k->zx4, k->m);
    }
    const __m256i flip = _mm256_set1_epi8((char)0x80);
    for (int xi = 0; xi < 16; xi++) {
        const __m256i p01l = _mm256_unpacklo_epi16(v[0][xi], v[1][xi]);   // tiles 0-3 | 8-11: (c0, c1)
        const __m256i p01h = _mm256_unpackhi_epi16(v[0][xi], v[1][xi]);   // tiles 4-7 | 12-15
        const __m256i p23l = _mm256_unpacklo_epi16(v[2][xi], v[3][xi]);
        const __m256i p23h = _mm256_unpackhi_epi16(v[2][xi], v[3][xi]);
        const __m256i x0 = _mm256_unpacklo_epi32(p01l, p23l);                    // tiles 0, 1 | 8, 9: (c0, c1, c2, c3)
        const __m256i x1 = _mm256_unpackhi_epi32(p01l, p23l);                    // tiles 2, 3 | 10, 11
        const __m256i x2 = _mm256_unpacklo_epi32(p01h, p23h);                    // tiles 4, 5 | 12, 13
        const __m256i x3 = _mm256_unpackhi_epi32(p01h, p23h);                    // tiles 6, 7 | 14, 15
        const __m256i b0 = _mm256_xor_si256(_mm256_packs_epi16(x0, x1), flip);   // tiles 0-3 | 8-11, bytes
        const __m256i b1 = _mm256_xor_si256(_mm256_packs_epi16(x2, x3), flip);   // tiles 4-7 | 12-15
        uint8_t *d = dst + (size_t)xi * xi_stride;
        _mm256_storeu_si256((__m256i *)d, _mm256_permute2x128_si256(b0, b1, 0x20));
        _mm256_storeu_si256((__m256i *)(d + 32), _mm256_permute2x128_si256(b0, b1, 0x31));
    }
}
#endif

// (A^T M A) >> SM_W23_SHIFT of 8 tiles: M rows xi are mstride apart; Y[j] for output (j / 2, j % 2) of the tile.
static inline void SM_I8_FN(w23_output_transform)(const int32_t *m, size_t mstride, int32_t *y, size_t ldy) {
    __m256i f[4][2];
    for (int i = 0; i < 4; i++) {   // rows: M A
        const __m256i m0 = _mm256_loadu_si256((const __m256i *)(m + (size_t)(4 * i) * mstride));
        const __m256i m1 = _mm256_loadu_si256((const __m256i *)(m + (size_t)(4 * i + 1) * mstride));
        const __m256i m2 = _mm256_loadu_si256((const __m256i *)(m + (size_t)(4 * i + 2) * mstride));
        const __m256i m3 = _mm256_loadu_si256((const __m256i *)(m + (size_t)(4 * i + 3) * mstride));
        f[i][0] = _mm256_add_epi32(_mm256_add_epi32(m0, m1), m2);
        f[i][1] = _mm256_sub_epi32(_mm256_sub_epi32(m1, m2), m3);
    }
    for (int j = 0; j < 2; j++) {   // columns: A^T (M A), wrapping int32, then the exact division by 4
        const __m256i y0 = _mm256_add_epi32(_mm256_add_epi32(f[0][j], f[1][j]), f[2][j]);
        const __m256i y1 = _mm256_sub_epi32(_mm256_sub_epi32(f[1][j], f[2][j]), f[3][j]);
        _mm256_storeu_si256((__m256i *)(y + (size_t)j * ldy), _mm256_srai_epi32(y0, SM_W23_SHIFT));
        _mm256_storeu_si256((__m256i *)(y + (size_t)(2 + j) * ldy), _mm256_srai_epi32(y1, SM_W23_SHIFT));
    }
}

#ifndef SM_W23_FINISH16
// The epilogue of 16 consecutive outputs from at (lo: the first 8), n of them valid (none when n <= 0).
#define SM_W23_FINISH16(lo, hi, e, o, at, n)                          \
    do {                                                              \
        if ((n) > 0) SM_I8_FINISH_Y(lo, e, o, at, (n) < 8 ? (n) : 8); \
        if ((n) > 8) SM_I8_FINISH_Y(hi, e, o, (at) + 8, (n)-8);       \
    } while (0)
#endif

// The epilogue straight from Y for dilations 1 and 2, rows [s0, s1) of output channel o: a run's tiles give a row
// as Y0, Y1 interleaved (dilation 1), two runs' (sub-grid columns 0 and 1) as Y0 c0, Y0 c1, Y1 c0, Y1 c1 per tile
// (dilation 2); outputs past the row's end (a tile's right half, a missing tile of column 1) are never stored.
static void SM_I8_FN(w23_finish_runs)(const sm_conv2d_shape *s, const int32_t *Y, size_t ldy, const sm_w23_run *runs,
                                      size_t run_count, const sm_i8_ep *ep, int32_t o, int32_t s0, int32_t s1) {
    const int32_t OW = s->out_width, dh = s->dilation_h, dw = s->dilation_w;
    const size_t base = (size_t)o * (size_t)s->out_height * (size_t)OW;
    for (size_t g = 0; g < run_count; g++) {
        const sm_w23_run run = runs[g];
        const int pair = dw == 2 && g + 1 < run_count && runs[g + 1].oy == run.oy;   // columns 0 and 1
        for (int j = 0; j < 2; j++) {
            const int32_t y = run.oy + j * dh;
            if (y < s0 || y >= s1) continue;
            const int32_t *ya = Y + (size_t)(2 * j) * ldy + run.t0, *yb = Y + (size_t)(2 * j + 1) * ldy + run.t0;
            const size_t at = base + (size_t)y * (size_t)OW;
            if (dw == 1) {
                for (int32_t k = 0; k < run.count; k += 8) {
                    const __m256i a = _mm256_loadu_si256((const __m256i *)(ya + k));
                    const __m256i b = _mm256_loadu_si256((const __m256i *)(yb + k));
                    const __m256i lo = _mm256_unpacklo_epi32(a, b), hi = _mm256_unpackhi_epi32(a, b);
                    const int32_t x = 2 * k;
                    SM_W23_FINISH16(_mm256_permute2x128_si256(lo, hi, 0x20), _mm256_permute2x128_si256(lo, hi, 0x31),
                                    ep, o, at + (size_t)x, OW - x);
                }
            } else if (pair) {
                const int32_t *yc = Y + (size_t)(2 * j) * ldy + runs[g + 1].t0;
                const int32_t *yd = Y + (size_t)(2 * j + 1) * ldy + runs[g + 1].t0;
                for (int32_t k = 0; k < run.count; k += 8) {
                    const __m256i A = _mm256_loadu_si256((const __m256i *)(ya + k));   // x = 4k
                    const __m256i B = _mm256_loadu_si256((const __m256i *)(yc + k));   // x = 4k + 1
                    const __m256i C = _mm256_loadu_si256((const __m256i *)(yb + k));   // x = 4k + 2
                    const __m256i D = _mm256_loadu_si256((const __m256i *)(yd + k));   // x = 4k + 3
                    const __m256i t0 = _mm256_unpacklo_epi32(A, B), t1 = _mm256_unpackhi_epi32(A, B);
                    const __m256i t2 = _mm256_unpacklo_epi32(C, D), t3 = _mm256_unpackhi_epi32(C, D);
                    const __m256i u0 = _mm256_unpacklo_epi64(t0, t2),
                                  u1 = _mm256_unpackhi_epi64(t0, t2);   // k 0|4, 1|5
                    const __m256i u2 = _mm256_unpacklo_epi64(t1, t3),
                                  u3 = _mm256_unpackhi_epi64(t1, t3);   // k 2|6, 3|7
                    const int32_t x = 4 * k;
                    SM_W23_FINISH16(_mm256_permute2x128_si256(u0, u1, 0x20), _mm256_permute2x128_si256(u2, u3, 0x20),
                                    ep, o, at + (size_t)x, OW - x);
                    SM_W23_FINISH16(_mm256_permute2x128_si256(u0, u1, 0x31), _mm256_permute2x128_si256(u2, u3, 0x31),
                                    ep, o, at + (size_t)x + 16, OW - x - 16);
                }
            } else {   // a lone column-0 run (a row of one output)
                for (int32_t k = 0; k < run.count; k++) {
                    int32_t v[2] = {ya[k], yb[k]};
                    for (int h = 0; h < 2; h++) {
                        const int32_t x = run.ox + 2 * dw * k + dw * h;
                        if (x >= OW) continue;
                        __m256i one = _mm256_setr_epi32(v[h], 0, 0, 0, 0, 0, 0, 0);
                        SM_I8_FINISH_Y(one, ep, o, at + (size_t)x, 1);
                    }
                }
            }
        }
        if (pair) g++;
    }
}

// ---- the hooks of the shared driver (int8_winograd23_driver.h) ----
#define SM_W23_TSTEP 16
#define SM_W23_OSTEP 8
#define SM_W23_VL SM_I8_VL
#define SM_W23_TILE SM_I8_FN(tile)
#define SM_W23_FINISH_FAST(s, Y, ldy, runs, run_count, ep, o, s0, s1) \
    ((s)->dilation_w <= 2 ? (SM_I8_FN(w23_finish_runs)(s, Y, ldy, runs, run_count, ep, o, s0, s1), 1) : 0)
#define SM_W23_ROW_STEP 8
#define SM_W23_FINISH_ROW(row, ep, o, at, n) SM_I8_FINISH_Y(_mm256_loadu_si256((const __m256i *)(row)), ep, o, at, n)

#include "int8_winograd23_driver.h"
