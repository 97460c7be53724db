// warp_affine.c — cv2.warpAffine(src, M, (W, H), flags=INTER_LINEAR, borderMode=BORDER_CONSTANT, borderValue=v)
// for single-channel float32, as OpenCV 4.6 computes it:
//   1. M is inverted in double (unless WARP_INVERSE_MAP): D = M0*M4 - M1*M3, D = D != 0 ? 1/D : 0, then
//      [M4*D, -M1*D, -(M4*D)*M2 - (-M1*D)*M5; -M3*D, M0*D, ...] in that operation order.
//   2. Source coordinates in fixed point with AB_BITS = 10 fraction bits, rounded once per row and once per column:
//        X0 = round((M1*y + M2) * 1024) + 16,  adelta[x] = round(M0*x*1024)     (likewise Y0 and bdelta from M4, M5, M3)
//        X  = (X0 + adelta[x]) >> 5,  Y = (Y0 + bdelta[x]) >> 5                 (5 = AB_BITS - INTER_BITS)
//      i.e. 1/32-pixel positions: integer part sx = X >> 5, sy = Y >> 5 (saturated to int16), fractions X & 31, Y & 31.
//      round = cvRound (nearest, ties to even).
//   3. remap's bilinear with OpenCV's float weight table: wx = {1 - fx/32, fx/32}, wy likewise, w = wy * wx, and
//      v = s00*w00 + s01*w01 + s10*w10 + s11*w11 in float, left to right. Pixels whose 2x2 footprint is fully
//      inside take that directly; footprints entirely outside give the border value; partly outside footprints use
//      the border value for the missing samples (BORDER_CONSTANT).
#include "image_internal.h"
#include "siam_image.h"

#include <stdlib.h>

enum {
    INTER_BITS = 5,
    INTER_TAB = 1 << INTER_BITS,
    AB_BITS = 10,
    AB_SCALE = 1 << AB_BITS,
    ROUND_DELTA = AB_SCALE / INTER_TAB / 2
};

static void inverse_matrix(const double m[6], int32_t inverse_map, double M[6]) {
    for (int i = 0; i < 6; i++) M[i] = m[i];
    if (inverse_map) return;
    double D = M[0] * M[4] - M[1] * M[3];
    D = D != 0.0 ? 1.0 / D : 0.0;
    double A11 = M[4] * D, A22 = M[0] * D;
    M[0] = A11;
    M[1] *= -D;
    M[3] *= -D;
    M[4] = A22;
    double b1 = -M[0] * M[2] - M[1] * M[5];
    double b2 = -M[3] * M[2] - M[4] * M[5];
    M[2] = b1;
    M[5] = b2;
}

// Integer additions wrap as OpenCV's do on x86 (only reachable with absurd matrices).
static inline int32_t wrap_add(int32_t a, int32_t b) { return (int32_t)((uint32_t)a + (uint32_t)b); }

static inline float interpolate(const float *src, int32_t sw, int32_t sh, size_t stride, int32_t sx, int32_t sy,
                                int32_t fx, int32_t fy, float border) {
    const float ax = 1.0f - (float)fx * (1.0f / INTER_TAB), bx = (float)fx * (1.0f / INTER_TAB);
    const float ay = 1.0f - (float)fy * (1.0f / INTER_TAB), by = (float)fy * (1.0f / INTER_TAB);
    const float w0 = ay * ax, w1 = ay * bx, w2 = by * ax, w3 = by * bx;
    float v0, v1, v2, v3;
    if ((uint32_t)sx < (uint32_t)(sw - 1) && (uint32_t)sy < (uint32_t)(sh - 1)) {
        const float *p = src + (size_t)sy * stride + (size_t)sx;
        v0 = p[0];
        v1 = p[1];
        v2 = p[stride];
        v3 = p[stride + 1];
    } else {
        if (sx >= sw || sx + 1 < 0 || sy >= sh || sy + 1 < 0) return border;
        const int x0 = sx >= 0, x1 = sx + 1 < sw, y0 = sy >= 0, y1 = sy + 1 < sh;
        const float *r0 = src + (size_t)(y0 ? sy : 0) * stride, *r1 = src + (size_t)(y1 ? sy + 1 : 0) * stride;
        v0 = x0 && y0 ? r0[sx] : border;
        v1 = x1 && y0 ? r0[sx + 1] : border;
        v2 = x0 && y1 ? r1[sx] : border;
        v3 = x1 && y1 ? r1[sx + 1] : border;
    }
    return v0 * w0 + v1 * w1 + v2 * w2 + v3 * w3;
}

static int check_args(const float *src, int32_t sw, int32_t sh, size_t src_stride, const float *dst, int32_t dw,
                      int32_t dh, size_t dst_stride, const double *m) {
    return src && dst && m && sw >= 1 && sh >= 1 && dw >= 1 && dh >= 1 && src_stride >= (size_t)sw &&
           dst_stride >= (size_t)dw && sw < INT32_MAX && sh < INT32_MAX;
}

// ---- Reference: each destination pixel on its own ------------------------------------------------------------

int sm_warp_affine_f32_reference(const float *src, int32_t sw, int32_t sh, size_t src_stride, float *dst, int32_t dw,
                                 int32_t dh, size_t dst_stride, const double m[6], int32_t inverse_map, float border) {
    if (!check_args(src, sw, sh, src_stride, dst, dw, dh, dst_stride, m)) return SM_IMAGE_BAD_ARGUMENT;
    double M[6];
    inverse_matrix(m, inverse_map, M);
    for (int32_t y = 0; y < dh; y++) {
        int32_t X0 = wrap_add(sm_round_d((M[1] * y + M[2]) * AB_SCALE), ROUND_DELTA);
        int32_t Y0 = wrap_add(sm_round_d((M[4] * y + M[5]) * AB_SCALE), ROUND_DELTA);
        for (int32_t x = 0; x < dw; x++) {
            int32_t X = wrap_add(X0, sm_round_d(M[0] * x * AB_SCALE)) >> (AB_BITS - INTER_BITS);
            int32_t Y = wrap_add(Y0, sm_round_d(M[3] * x * AB_SCALE)) >> (AB_BITS - INTER_BITS);
            int32_t sx = sm_sat_s16(X >> INTER_BITS), sy = sm_sat_s16(Y >> INTER_BITS);
            dst[(size_t)y * dst_stride + (size_t)x] =
                interpolate(src, sw, sh, src_stride, sx, sy, X & (INTER_TAB - 1), Y & (INTER_TAB - 1), border);
        }
    }
    return SM_IMAGE_OK;
}

// ---- Fast ------------------------------------------------------------------------------------------------------
// General matrices: per-column deltas computed once, rows that miss the source filled directly. Axis-aligned
// matrices (M1 == M3 == 0 after inversion, the tracker's back-projection): X depends on the column only and Y on
// the row only, so positions and weights are tabulated once per column and once per row, and pixels whose 2x2
// footprint is inside the source take a branch-free path. The weights are the same float products (wy * wx) and
// the sum has the same order, so the result is the reference's bit for bit.

typedef struct {
    int32_t pos;    // integer source coordinate (saturated to int16)
    int32_t frac;   // 1/32 fraction
    int32_t kind;   // 0: both taps inside, 1: one tap outside, 2: footprint fully outside
    float w0, w1;   // 1 - frac/32, frac/32
} axis_tap;

static inline axis_tap make_tap(int32_t fixed, int32_t n) {
    axis_tap t;
    t.pos = sm_sat_s16(fixed >> INTER_BITS);
    t.frac = fixed & (INTER_TAB - 1);
    t.kind = (uint32_t)t.pos < (uint32_t)(n - 1) ? 0 : (t.pos >= n || t.pos + 1 < 0) ? 2 : 1;
    t.w0 = 1.0f - (float)t.frac * (1.0f / INTER_TAB);
    t.w1 = (float)t.frac * (1.0f / INTER_TAB);
    return t;
}

static int warp_axis_aligned(const float *src, int32_t sw, int32_t sh, size_t src_stride, float *dst, int32_t dw,
                             int32_t dh, size_t dst_stride, const double M[6], float border) {
    axis_tap *cols = (axis_tap *)malloc((size_t)dw * sizeof(axis_tap));
    if (!cols) return SM_IMAGE_OUT_OF_MEMORY;
    // With M1 == 0, (M1*y + M2) is M2 for every row, exactly.
    const int32_t X0 = wrap_add(sm_round_d((M[1] * 0 + M[2]) * AB_SCALE), ROUND_DELTA);
    for (int32_t x = 0; x < dw; x++)
        cols[x] = make_tap(wrap_add(X0, sm_round_d(M[0] * x * AB_SCALE)) >> (AB_BITS - INTER_BITS), sw);
    for (int32_t y = 0; y < dh; y++) {
        float *d = dst + (size_t)y * dst_stride;
        const int32_t Y0 = wrap_add(sm_round_d((M[4] * y + M[5]) * AB_SCALE), ROUND_DELTA);
        const axis_tap r = make_tap(Y0 >> (AB_BITS - INTER_BITS), sh);
        if (r.kind == 2) {
            for (int32_t x = 0; x < dw; x++) d[x] = border;
            continue;
        }
        if (r.kind == 1) {
            for (int32_t x = 0; x < dw; x++) {
                const axis_tap c = cols[x];
                d[x] = interpolate(src, sw, sh, src_stride, c.pos, r.pos, c.frac, r.frac, border);
            }
            continue;
        }
        const float *row0 = src + (size_t)r.pos * src_stride, *row1 = row0 + src_stride;
        for (int32_t x = 0; x < dw; x++) {
            const axis_tap c = cols[x];
            if (c.kind == 0) {
                const float w0 = r.w0 * c.w0, w1 = r.w0 * c.w1, w2 = r.w1 * c.w0, w3 = r.w1 * c.w1;
                d[x] = row0[c.pos] * w0 + row0[c.pos + 1] * w1 + row1[c.pos] * w2 + row1[c.pos + 1] * w3;
            } else if (c.kind == 2) {
                d[x] = border;
            } else {
                d[x] = interpolate(src, sw, sh, src_stride, c.pos, r.pos, c.frac, r.frac, border);
            }
        }
    }
    free(cols);
    return SM_IMAGE_OK;
}

int sm_warp_affine_f32(const float *src, int32_t sw, int32_t sh, size_t src_stride, float *dst, int32_t dw, int32_t dh,
                       size_t dst_stride, const double m[6], int32_t inverse_map, float border) {
    if (!check_args(src, sw, sh, src_stride, dst, dw, dh, dst_stride, m)) return SM_IMAGE_BAD_ARGUMENT;
    double M[6];
    inverse_matrix(m, inverse_map, M);
    if (M[1] == 0.0 && M[3] == 0.0)
        return warp_axis_aligned(src, sw, sh, src_stride, dst, dw, dh, dst_stride, M, border);
    int32_t *adelta = (int32_t *)malloc(2 * (size_t)dw * sizeof(int32_t));
    if (!adelta) return SM_IMAGE_OUT_OF_MEMORY;
    int32_t *bdelta = adelta + dw;
    for (int32_t x = 0; x < dw; x++) {
        adelta[x] = sm_round_d(M[0] * x * AB_SCALE);
        bdelta[x] = sm_round_d(M[3] * x * AB_SCALE);
    }
    for (int32_t y = 0; y < dh; y++) {
        float *d = dst + (size_t)y * dst_stride;
        int32_t X0 = wrap_add(sm_round_d((M[1] * y + M[2]) * AB_SCALE), ROUND_DELTA);
        int32_t Y0 = wrap_add(sm_round_d((M[4] * y + M[5]) * AB_SCALE), ROUND_DELTA);
        for (int32_t x = 0; x < dw; x++) {
            int32_t X = wrap_add(X0, adelta[x]) >> (AB_BITS - INTER_BITS);
            int32_t sx = sm_sat_s16(X >> INTER_BITS);
            if (sx >= sw || sx + 1 < 0) {
                d[x] = border;
                continue;
            }
            int32_t Y = wrap_add(Y0, bdelta[x]) >> (AB_BITS - INTER_BITS);
            int32_t sy = sm_sat_s16(Y >> INTER_BITS);
            d[x] = interpolate(src, sw, sh, src_stride, sx, sy, X & (INTER_TAB - 1), Y & (INTER_TAB - 1), border);
        }
    }
    free(adelta);
    return SM_IMAGE_OK;
}
