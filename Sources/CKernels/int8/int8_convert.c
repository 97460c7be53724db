// int8_convert.c — the glue of mixed int8/fp32 graphs: quantise, dequantise, max-pool and window on uint8
// activations. One portable implementation each (they only move memory; the compiler vectorises the loops), so each
// is its own reference. The quantise rule is the int8 epilogue's (siam_int8.h), so a value quantised here and one
// written by a kernel's uint8 output are the same byte.
#include "siam_int8.h"
#include "../kernels_internal.h"

#include <math.h>
#include <string.h>

#pragma clang fp contract(off)

void sm_quantize_f32_u8(const float *input, size_t count, float inv_scale, int32_t zero_point, uint8_t *output) {
    // Round half to even by adding and subtracting 1.5 * 2^23: exact for |t| < 2^22 (t is clamped to 512) and the same
    // as nearbyintf in the default rounding mode, but without a libm call, so the loop vectorises on plain x86-64.
    const float magic = 12582912.0f;
    for (size_t i = 0; i < count; i++) {
        float t = input[i] * inv_scale;
        t = (t > -512.0f) ? t : -512.0f;   // NaN -> -512
        t = (t < 512.0f) ? t : 512.0f;
        const float shifted = t + magic;   // IEEE semantics (no fast-math) keep the pair: it is not an identity
        int32_t q = (int32_t)(shifted - magic) + zero_point;
        q = q < 0 ? 0 : (q > 255 ? 255 : q);
        output[i] = (uint8_t)q;
    }
}

void sm_dequantize_u8_f32(const uint8_t *input, size_t count, float scale, int32_t zero_point, float *output) {
    for (size_t i = 0; i < count; i++) output[i] = (float)((int32_t)input[i] - zero_point) * scale;
}

// Output x over `nrows` rows (ld bytes apart) of width in_width: the maximum of its columns inside the row (taps
// outside are left out). The separable pass gives it the one row of window-row maxima, the direct one the window's rows.
static uint8_t sm_pool_u8_at(const uint8_t *rows, size_t ld, int32_t nrows, int32_t in_width, int32_t x, int32_t kernel,
                             int32_t stride, int32_t padding) {
    const int32_t x0 = x * stride - padding;
    const int32_t kx0 = x0 < 0 ? -x0 : 0;
    const int32_t kx1 = x0 + kernel > in_width ? in_width - x0 : kernel;
    uint8_t m = 0;
    for (int32_t r = 0; r < nrows; r++, rows += ld)
        for (int32_t kx = kx0; kx < kx1; kx++) m = rows[x0 + kx] > m ? rows[x0 + kx] : m;
    return m;
}

void sm_max_pool2d_u8(const uint8_t *input, int32_t channels, int32_t in_height, int32_t in_width, int32_t kernel,
                      int32_t stride, int32_t padding, uint8_t *output, int32_t out_height, int32_t out_width,
                      int32_t row_begin, int32_t row_end) {
    // Separable: the maximum of the window's rows column by column (a plain loop the compiler vectorises), then of
    // each output's columns. Max is exact, so the order cannot change a value. Rows wider than the buffer take the
    // direct loop.
    uint8_t rows_max[2048];
    const int separable = in_width <= (int32_t)sizeof rows_max;
    for (int32_t c = 0; c < channels; c++) {
        const uint8_t *plane = input + (size_t)c * in_height * in_width;
        for (int32_t y = row_begin; y < row_end; y++) {
            uint8_t *dst = output + ((size_t)c * out_height + y) * out_width;
            const int32_t y0 = y * stride - padding;
            const int32_t ky0 = y0 < 0 ? -y0 : 0;
            const int32_t ky1 = y0 + kernel > in_height ? in_height - y0 : kernel;
            if (separable) {
                for (int32_t i = 0; i < in_width; i++) rows_max[i] = 0;   // padded taps are left out (-inf padding)
                for (int32_t ky = ky0; ky < ky1; ky++) {
                    const uint8_t *row = plane + (size_t)(y0 + ky) * in_width;
                    for (int32_t i = 0; i < in_width; i++) rows_max[i] = row[i] > rows_max[i] ? row[i] : rows_max[i];
                }
            }
            int32_t x = 0;
            if (separable && kernel == 3 && stride == 2) {
                // The network's max-pool (3x3, stride 2): the outputs whose three columns are inside the row as one
                // loop the compiler vectorises (deinterleaving loads); the edges take the general loop below.
                const int32_t span = in_width - 3 + padding;   // x0 = 2x - padding >= 0 and x0 + 2 < W
                int32_t lo = (padding + 1) / 2, hi = span < 0 ? 0 : span / 2 + 1;
                if (hi > out_width) hi = out_width;
                for (; x < lo && x < out_width; x++)
                    dst[x] = sm_pool_u8_at(rows_max, 0, 1, in_width, x, kernel, stride, padding);
                for (; x < hi; x++) {
                    const uint8_t *r = rows_max + 2 * x - padding;
                    const uint8_t a = r[0] > r[1] ? r[0] : r[1];
                    dst[x] = a > r[2] ? a : r[2];
                }
            }
            // The rest (every output when the pass is direct): over the row of maxima, or the window's input rows.
            const uint8_t *rows = separable ? rows_max : plane + (size_t)(y0 + ky0) * in_width;
            const size_t ld = separable ? 0 : (size_t)in_width;
            const int32_t nrows = separable ? 1 : ky1 - ky0;
            for (; x < out_width; x++) dst[x] = sm_pool_u8_at(rows, ld, nrows, in_width, x, kernel, stride, padding);
        }
    }
}

void sm_window_u8(const uint8_t *input, int32_t channels, int32_t in_height, int32_t in_width, int32_t top,
                  int32_t left, uint8_t pad_value, uint8_t *output, int32_t out_height, int32_t out_width) {
    sm_window_elements(input, channels, in_height, in_width, top, left, 1, pad_value, output, out_height, out_width);
}
