// resize_bilinear.c — cv2.resize(src, (dw, dh), interpolation=INTER_LINEAR) on uint8, as OpenCV 4.6 computes it
// on x86 (no IPP, SSE2 baseline; checked against Debian's python3-opencv 4.6 by Tools/gen_image_op_goldens.py and
// the tests). What OpenCV does, in the order it decides:
//   1. Same size: a plain copy.
//   2. Exactly half the size in both directions (the scale, computed as 1/(dw/sw) in double, is 2 within
//      DBL_EPSILON): INTER_LINEAR becomes INTER_AREA's fast path, dst = (a + b + c + d + 2) >> 2 over each 2x2 block.
//   3. Otherwise the fixed-point separable bilinear:
//      - per destination column dx: f = (float)((dx + 0.5) * scale_x - 0.5) with scale_x = 1/(dw/sw) in double,
//        s = floor(f), f -= s (float). s < 0 gives s = 0, f = 0. s >= sw - 1 gives s = sw - 1 and the column is
//        just src[s] * 2048 (OpenCV's "xmax" region). Weights (short) = round_half_even((1 - f) * 2048) and
//        round_half_even(f * 2048), each computed in float.
//      - horizontal pass (exact int32): h[e] = src[s] * w0 + src[s + 1] * w1 per element e = dx * cn + c.
//      - per destination row dy the same f, s computation, but without any clamping of s or f; the two source
//        rows are clip(s, 0, sh - 1) and clip(s + 1, 0, sh - 1) and the weights b0, b1 come from the unclamped f.
//      - vertical pass, in 16-bit fixed point for every element (OpenCV 4.6's SSE2 kernel and its scalar tail
//        for this type use the same arithmetic): ((((h0 >> 4) * b0) >> 16) + (((h1 >> 4) * b1) >> 16) + 2) >> 2.
//        This is not the rounded exact sum (h0 * b0 + h1 * b1 + 2^21) >> 22 and differs from it by one now and then.
// The crop variants (sm_crop_resize_bilinear_u8*) resize a window of an image padded with a constant colour, the
// tracker's get_subwindow_tracking, reading the window through a row source that forms each source row the resize
// asks for (the fill colour outside the image), so the padded window, up to 2.6k x 2.6k pixels for a target filling
// an 854x480 frame, is never built: same bytes, memory O(window width) instead of O(window area).
#include "image_internal.h"
#include "siam_image.h"

#include <float.h>
#include <stdlib.h>
#include <string.h>

enum { COEF_BITS = 11, COEF_SCALE = 1 << COEF_BITS };

// ---- Shared definitions (the "what", used by both twins) --------------------------------------------------

// OpenCV's scale factor: 1 / (dst / src), both in double.
static double linear_scale(int32_t src, int32_t dst) { return 1.0 / ((double)dst / (double)src); }

static int is_half_size(int32_t sw, int32_t sh, int32_t dw, int32_t dh) {
    double sx = linear_scale(sw, dw), sy = linear_scale(sh, dh);
    int32_t ix = sm_round_d(sx), iy = sm_round_d(sy);
    return fabs(sx - ix) < DBL_EPSILON && fabs(sy - iy) < DBL_EPSILON && ix == 2 && iy == 2;
}

// Column coefficients: source columns s0, s1 and weights w0, w1 (w1 = 0 and s1 = s0 in the clamped regions).
static inline void column_coefficients(int32_t dx, double scale, int32_t sw, int32_t *s0, int32_t *s1, int16_t *w0,
                                       int16_t *w1) {
    float f = (float)((dx + 0.5) * scale - 0.5);
    int32_t s = sm_floor_f(f);
    f -= (float)s;
    if (s < 0) {
        s = 0;
        f = 0.0f;
    }
    if (s + 1 >= sw) {
        // OpenCV's xmax region: the value is src[sw - 1] * 2048 whatever the weights.
        *s0 = *s1 = sw - 1;
        *w0 = COEF_SCALE;
        *w1 = 0;
        return;
    }
    *s0 = s;
    *s1 = s + 1;
    *w0 = sm_sat_s16(sm_round_f((1.0f - f) * (float)COEF_SCALE));
    *w1 = sm_sat_s16(sm_round_f(f * (float)COEF_SCALE));
}

// Row coefficients: clamped source rows r0, r1 and weights b0, b1 from the unclamped position.
static inline void row_coefficients(int32_t dy, double scale, int32_t sh, int32_t *r0, int32_t *r1, int16_t *b0,
                                    int16_t *b1) {
    float f = (float)((dy + 0.5) * scale - 0.5);
    int32_t s = sm_floor_f(f);
    f -= (float)s;
    *r0 = s < 0 ? 0 : s >= sh ? sh - 1 : s;
    *r1 = s + 1 < 0 ? 0 : s + 1 >= sh ? sh - 1 : s + 1;
    *b0 = sm_sat_s16(sm_round_f((1.0f - f) * (float)COEF_SCALE));
    *b1 = sm_sat_s16(sm_round_f(f * (float)COEF_SCALE));
}

// The vertical combination (see the top of the file). The int16 saturations are those of OpenCV's packs and never
// bind for uint8 input; they are kept so that the arithmetic is the same operation for operation.
static inline uint8_t vertical(int32_t h0, int32_t h1, int16_t b0, int16_t b1) {
    int32_t t0 = ((int32_t)sm_sat_s16(h0 >> 4) * b0) >> 16;
    int32_t t1 = ((int32_t)sm_sat_s16(h1 >> 4) * b1) >> 16;
    return sm_sat_u8(sm_sat_s16(sm_sat_s16(t0 + t1) + 2) >> 2);
}

static int check_args(const uint8_t *src, int32_t sw, int32_t sh, size_t src_stride, int32_t cn, const uint8_t *dst,
                      int32_t dw, int32_t dh, size_t dst_stride) {
    if (!src || !dst || sw < 1 || sh < 1 || dw < 1 || dh < 1 || cn < 1 || cn > 4) return 0;
    if (src_stride < (size_t)sw * (size_t)cn || dst_stride < (size_t)dw * (size_t)cn) return 0;
    if ((int64_t)dw * cn > INT32_MAX / 2 || (int64_t)sw * cn > INT32_MAX / 2) return 0;
    return 1;
}

// The source as rows: the rows of a buffer, or the padded crop window (image == NULL for a plain buffer).
typedef struct {
    const uint8_t *src;     // plain: the first row
    size_t stride;          // plain: bytes between rows
    const uint8_t *image;   // crop: the image, iw x ih, rows istride bytes apart
    int32_t iw, ih;
    size_t istride;
    int64_t x0, y0;      // crop: the window's top-left corner in the image
    int32_t sw, cn;      // the window's width, channels
    int32_t xa, xb;      // crop: window columns [xa, xb) lie inside the image
    uint8_t *fill_row;   // crop: one row of the fill colour (sw * cn bytes)
    uint8_t *rows[2];    // crop: rows formed on demand, one per slot
} row_source;

static row_source plain_source(const uint8_t *src, size_t stride) {
    row_source s;
    memset(&s, 0, sizeof s);
    s.src = src;
    s.stride = stride;
    return s;
}

// Source row r. A crop row is formed in `slot` (0 or 1); the pointer stays valid until that slot is used again.
static inline const uint8_t *source_row(const row_source *s, int32_t r, int slot) {
    if (!s->image) return s->src + (size_t)r * s->stride;
    int64_t y = s->y0 + r;
    if (y < 0 || y >= s->ih || s->xa >= s->xb) return s->fill_row;
    uint8_t *row = s->rows[slot];
    size_t cn = (size_t)s->cn;
    if (s->xa > 0) memcpy(row, s->fill_row, (size_t)s->xa * cn);
    memcpy(row + (size_t)s->xa * cn, s->image + (size_t)y * s->istride + (size_t)(s->x0 + s->xa) * cn,
           (size_t)(s->xb - s->xa) * cn);
    if (s->xb < s->sw) memcpy(row + (size_t)s->xb * cn, s->fill_row, (size_t)(s->sw - s->xb) * cn);
    return row;
}

static void copy_rows(const row_source *src, uint8_t *dst, size_t dst_stride, size_t row_bytes, int32_t rows) {
    for (int32_t y = 0; y < rows; y++) memcpy(dst + (size_t)y * dst_stride, source_row(src, y, 0), row_bytes);
}

static void half_size(const row_source *src, int32_t cn, uint8_t *dst, int32_t dw, int32_t dh, size_t dst_stride) {
    for (int32_t y = 0; y < dh; y++) {
        const uint8_t *a = source_row(src, 2 * y, 0), *b = source_row(src, 2 * y + 1, 1);
        uint8_t *d = dst + (size_t)y * dst_stride;
        for (int32_t x = 0; x < dw; x++)
            for (int32_t c = 0; c < cn; c++) {
                int32_t e0 = 2 * x * cn + c, e1 = e0 + cn;
                d[x * cn + c] = (uint8_t)((a[e0] + a[e1] + b[e0] + b[e1] + 2) >> 2);
            }
    }
}

// ---- Reference: every destination element computed on its own ----------------------------------------------

static int resize_reference(const row_source *src, int32_t sw, int32_t sh, int32_t cn, uint8_t *dst, int32_t dw,
                            int32_t dh, size_t dst_stride) {
    if (sw == dw && sh == dh) {
        copy_rows(src, dst, dst_stride, (size_t)sw * (size_t)cn, sh);
        return SM_IMAGE_OK;
    }
    if (is_half_size(sw, sh, dw, dh)) {
        half_size(src, cn, dst, dw, dh, dst_stride);
        return SM_IMAGE_OK;
    }
    const double scale_x = linear_scale(sw, dw), scale_y = linear_scale(sh, dh);
    for (int32_t dy = 0; dy < dh; dy++) {
        int32_t r0, r1;
        int16_t b0, b1;
        row_coefficients(dy, scale_y, sh, &r0, &r1, &b0, &b1);
        const uint8_t *row0 = source_row(src, r0, 0), *row1 = source_row(src, r1, 1);
        for (int32_t dx = 0; dx < dw; dx++) {
            int32_t s0, s1;
            int16_t w0, w1;
            column_coefficients(dx, scale_x, sw, &s0, &s1, &w0, &w1);
            for (int32_t c = 0; c < cn; c++) {
                int32_t e = dx * cn + c;
                int32_t h0 = row0[s0 * cn + c] * w0 + row0[s1 * cn + c] * w1;
                int32_t h1 = row1[s0 * cn + c] * w0 + row1[s1 * cn + c] * w1;
                dst[(size_t)dy * dst_stride + (size_t)e] = vertical(h0, h1, b0, b1);
            }
        }
    }
    return SM_IMAGE_OK;
}

int sm_resize_bilinear_u8_reference(const uint8_t *src, int32_t sw, int32_t sh, size_t src_stride, int32_t cn,
                                    uint8_t *dst, int32_t dw, int32_t dh, size_t dst_stride) {
    if (!check_args(src, sw, sh, src_stride, cn, dst, dw, dh, dst_stride)) return SM_IMAGE_BAD_ARGUMENT;
    row_source s = plain_source(src, src_stride);
    return resize_reference(&s, sw, sh, cn, dst, dw, dh, dst_stride);
}

// ---- Fast: coefficient tables, each source row filtered horizontally once, two cached rows --------------------
// The vertical pass only ever uses h >> 4 (<= 32655 for uint8 input), so the cached rows hold that as int16.

static void horizontal_pass(const uint8_t *row, int32_t cn, const int32_t *xs, const int32_t *xd, const int16_t *w,
                            int32_t dw, int16_t *out) {
    if (cn == 3) {
        for (int32_t x = 0; x < dw; x++) {
            const uint8_t *p = row + xs[x], *q = p + xd[x];
            int32_t a = w[2 * x], b = w[2 * x + 1];
            out[3 * x] = (int16_t)((p[0] * a + q[0] * b) >> 4);
            out[3 * x + 1] = (int16_t)((p[1] * a + q[1] * b) >> 4);
            out[3 * x + 2] = (int16_t)((p[2] * a + q[2] * b) >> 4);
        }
    } else if (cn == 1) {
        for (int32_t x = 0; x < dw; x++)
            out[x] = (int16_t)((row[xs[x]] * w[2 * x] + row[xs[x] + xd[x]] * w[2 * x + 1]) >> 4);
    } else {
        for (int32_t x = 0; x < dw; x++) {
            const uint8_t *p = row + xs[x], *q = p + xd[x];
            for (int32_t c = 0; c < cn; c++) out[cn * x + c] = (int16_t)((p[c] * w[2 * x] + q[c] * w[2 * x + 1]) >> 4);
        }
    }
}

static int resize_fast(const row_source *src, int32_t sw, int32_t sh, int32_t cn, uint8_t *dst, int32_t dw, int32_t dh,
                       size_t dst_stride) {
    if (sw == dw && sh == dh) {
        copy_rows(src, dst, dst_stride, (size_t)sw * (size_t)cn, sh);
        return SM_IMAGE_OK;
    }
    if (is_half_size(sw, sh, dw, dh)) {
        half_size(src, cn, dst, dw, dh, dst_stride);
        return SM_IMAGE_OK;
    }
    const int32_t n = dw * cn;
    // One allocation: xs, xd (int32 x dw), weights (int16 x 2dw), two cached rows (int16 x n each).
    size_t bytes = (size_t)dw * (2 * sizeof(int32_t) + 2 * sizeof(int16_t)) + 2 * (size_t)n * sizeof(int16_t);
    int32_t *xs = (int32_t *)malloc(bytes);
    if (!xs) return SM_IMAGE_OUT_OF_MEMORY;
    int32_t *xd = xs + dw;
    int16_t *w = (int16_t *)(xd + dw), *rows = w + 2 * (size_t)dw;

    const double scale_x = linear_scale(sw, dw), scale_y = linear_scale(sh, dh);
    for (int32_t dx = 0; dx < dw; dx++) {
        int32_t s0, s1;
        column_coefficients(dx, scale_x, sw, &s0, &s1, &w[2 * dx], &w[2 * dx + 1]);
        xs[dx] = s0 * cn;
        xd[dx] = (s1 - s0) * cn;
    }

    int16_t *slot[2] = {rows, rows + n};
    int32_t held[2] = {-1, -1};   // source row held by each slot
    for (int32_t dy = 0; dy < dh; dy++) {
        int32_t r0, r1;
        int16_t b0, b1;
        row_coefficients(dy, scale_y, sh, &r0, &r1, &b0, &b1);
        int32_t need[2] = {r0, r1};
        int16_t *h[2];
        for (int k = 0; k < 2; k++) {
            int found = held[0] == need[k] ? 0 : held[1] == need[k] ? 1 : -1;
            if (found < 0) {
                // Fill a slot that holds nothing needed for this output row.
                if (k == 0) found = held[0] == need[1] ? 1 : 0;
                else found = h[0] == slot[0] ? 1 : 0;
                horizontal_pass(source_row(src, need[k], 0), cn, xs, xd, w, dw, slot[found]);
                held[found] = need[k];
            }
            h[k] = slot[found];
        }
        const uint16_t *h0 = (const uint16_t *)h[0], *h1 = (const uint16_t *)h[1];
        const uint16_t ub0 = (uint16_t)b0, ub1 = (uint16_t)b1;
        uint8_t *d = dst + (size_t)dy * dst_stride;
        for (int32_t e = 0; e < n; e++) {
            // Everything here is non-negative (h <= 32655, b <= 2048): unsigned 16-bit multiply-high, which
            // compilers vectorise well; no saturation can bind (t0 + t1 <= 1020).
            uint16_t t0 = (uint16_t)(((uint32_t)h0[e] * ub0) >> 16), t1 = (uint16_t)(((uint32_t)h1[e] * ub1) >> 16);
            d[e] = (uint8_t)((uint16_t)(t0 + t1 + 2) >> 2);
        }
    }
    free(xs);
    return SM_IMAGE_OK;
}

int sm_resize_bilinear_u8(const uint8_t *src, int32_t sw, int32_t sh, size_t src_stride, int32_t cn, uint8_t *dst,
                          int32_t dw, int32_t dh, size_t dst_stride) {
    if (!check_args(src, sw, sh, src_stride, cn, dst, dw, dh, dst_stride)) return SM_IMAGE_BAD_ARGUMENT;
    row_source s = plain_source(src, src_stride);
    return resize_fast(&s, sw, sh, cn, dst, dw, dh, dst_stride);
}

// ---- Crop: the padded window through a row source ---------------------------------------------------------------

static int crop_resize(const uint8_t *image, int32_t iw, int32_t ih, size_t istride, int32_t cn, int64_t x0, int64_t y0,
                       int32_t sw, int32_t sh, const uint8_t *fill, uint8_t *dst, int32_t dw, int32_t dh,
                       size_t dst_stride, int reference) {
    if (!image || !fill || iw < 1 || ih < 1 || istride < (size_t)iw * (size_t)cn) return SM_IMAGE_BAD_ARGUMENT;
    if (!check_args(image, sw, sh, (size_t)sw * (size_t)cn, cn, dst, dw, dh, dst_stride)) return SM_IMAGE_BAD_ARGUMENT;
    if (x0 < -(int64_t)INT32_MAX || x0 > INT32_MAX || y0 < -(int64_t)INT32_MAX || y0 > INT32_MAX)
        return SM_IMAGE_BAD_ARGUMENT;
    row_source s;
    memset(&s, 0, sizeof s);
    s.image = image;
    s.iw = iw;
    s.ih = ih;
    s.istride = istride;
    s.x0 = x0;
    s.y0 = y0;
    s.sw = sw;
    s.cn = cn;
    // Window columns inside the image: x0 + c in [0, iw).
    int64_t xa = -x0 < 0 ? 0 : -x0, xb = (int64_t)iw - x0 > sw ? sw : (int64_t)iw - x0;
    s.xa = (int32_t)(xa > sw ? sw : xa);
    s.xb = (int32_t)(xb < 0 ? 0 : xb);
    size_t row = (size_t)sw * (size_t)cn;
    uint8_t *buffer = (uint8_t *)malloc(3 * row);
    if (!buffer) return SM_IMAGE_OUT_OF_MEMORY;
    s.fill_row = buffer;
    s.rows[0] = buffer + row;
    s.rows[1] = buffer + 2 * row;
    for (int32_t c = 0; c < sw; c++) memcpy(s.fill_row + (size_t)c * (size_t)cn, fill, (size_t)cn);
    int rc = reference ? resize_reference(&s, sw, sh, cn, dst, dw, dh, dst_stride)
                       : resize_fast(&s, sw, sh, cn, dst, dw, dh, dst_stride);
    free(buffer);
    return rc;
}

int sm_crop_resize_bilinear_u8(const uint8_t *image, int32_t image_w, int32_t image_h, size_t image_stride,
                               int32_t channels, int64_t x0, int64_t y0, int32_t src_w, int32_t src_h,
                               const uint8_t *fill, uint8_t *dst, int32_t dst_w, int32_t dst_h, size_t dst_stride) {
    return crop_resize(image, image_w, image_h, image_stride, channels, x0, y0, src_w, src_h, fill, dst, dst_w, dst_h,
                       dst_stride, 0);
}

int sm_crop_resize_bilinear_u8_reference(const uint8_t *image, int32_t image_w, int32_t image_h, size_t image_stride,
                                         int32_t channels, int64_t x0, int64_t y0, int32_t src_w, int32_t src_h,
                                         const uint8_t *fill, uint8_t *dst, int32_t dst_w, int32_t dst_h,
                                         size_t dst_stride) {
    return crop_resize(image, image_w, image_h, image_stride, channels, x0, y0, src_w, src_h, fill, dst, dst_w, dst_h,
                       dst_stride, 1);
}
