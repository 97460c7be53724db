// winograd_internal.h — geometry shared by every tier's Winograd F(4x4, 3x3) convolution (the scalar reference twin
// and the SIMD bodies of winograd_f43_body.h): which convolutions qualify, how output rows are cut into tiles, and
// the weight transform.
//
// A 3x3 stride-1 convolution with dilation d computes, on each of the d x d interleaved output sub-grids
// (oy = a + d*i, ox = b + d*j), a plain 3x3 convolution of the matching input sub-grid. So a tile is 4x4 outputs of
// one sub-grid, spaced d apart, reading a 6x6 input patch spaced d apart: dilation costs nothing but an index.
//
// F(4,3) uses the interpolation points 0, +-1, +-2, infinity (Lavin & Gray 2016):
//   V = B^T d B (input 6x6),  U = G g G^T (weights 6x6),  Y = A^T (U . V) A (output 4x4).
// The 36 products U . V summed over input channels are 36 independent GEMMs M[xi] = U[xi] (O x C) * V[xi] (C x tiles).
#ifndef SIAM_WINOGRAD_INTERNAL_H
#define SIAM_WINOGRAD_INTERNAL_H

#include "../kernels_internal.h"

#define SM_WINO_TILE 4          // outputs per tile side
#define SM_WINO_ALPHA 6         // transformed tile side (TILE + 3 - 1)
#define SM_WINO_XI 36           // ALPHA * ALPHA
#define SM_WINO_MAX_CHUNK 256   // tiles transformed together at most (bounds the fast tiers' per-chunk arrays)

// One tile: output origin (oy, ox) of its (0,0) element, the rows [row_lo, row_hi) of it inside the requested row
// range, and how many of its 4 columns are inside the output.
typedef struct sm_wino_tile {
    int32_t oy, ox;
    int16_t row_lo, row_hi;
    int32_t cols;
} sm_wino_tile;

// Whether the Winograd path takes this convolution: 3x3, stride 1, and big enough that tiles are mostly full
// (a 1x1 output would pay 36 products for 9) and the transforms amortise over channels.
static inline int sm_winograd_applies(const sm_conv2d_shape *s) {
    if (s->kernel_h != 3 || s->kernel_w != 3 || s->stride_h != 1 || s->stride_w != 1) return 0;
    if (s->dilation_h < 1 || s->dilation_w < 1) return 0;
    if (s->in_channels < 8 || s->out_channels < 8) return 0;
    return s->out_height >= 3 * s->dilation_h && s->out_width >= 3 * s->dilation_w;
}

// Whether Winograd is also the faster choice: its transformed weights are 4x the direct convolution's, and each is
// used once per tile, so a small output with many channels (the mask branch's 5x5 correlation window: 4 tiles, 9 MB
// of transformed weights) streams weights instead of computing. Take it when there are enough tiles to reuse each
// weight (16: about the FMA rate over the memory rate) or the transformed weights stay in the core's cache (1 MiB).
static inline int sm_winograd_pays(const sm_conv2d_shape *s) {
    const int64_t dh = s->dilation_h, dw = s->dilation_w;
    const int64_t tile_rows = dh * ((s->out_height / dh + SM_WINO_TILE - 1) / SM_WINO_TILE);
    const int64_t tile_cols = dw * ((s->out_width / dw + SM_WINO_TILE - 1) / SM_WINO_TILE);
    const int64_t weight_bytes = (int64_t)SM_WINO_XI * s->in_channels * s->out_channels * (int64_t)sizeof(float);
    return tile_rows * tile_cols >= 16 || weight_bytes <= ((int64_t)1 << 20);
}

// Tiles covering output rows [row_begin, row_end). Tiles sit on a fixed grid (sub-grid row and column indices that are
// multiples of 4), whatever the range: a tile cut by the range is computed whole and only its rows inside the range
// are stored, so every output value is the same however the rows are split between calls (threads). Writes them to
// `tiles` (room for sm_wino_max_tiles) and returns the count.
static inline int32_t sm_wino_tiles(const sm_conv2d_shape *s, int32_t row_begin, int32_t row_end, sm_wino_tile *tiles) {
    const int32_t dh = s->dilation_h, dw = s->dilation_w;
    int32_t n = 0;
    for (int32_t a = 0; a < dh; a++) {
        // sub-grid rows i (oy = a + dh*i) inside the range: [i_lo, i_hi)
        const int32_t i_lo = sm_ceil_div(row_begin - a, dh), i_hi = sm_ceil_div(row_end - a, dh);
        if (i_lo >= i_hi) continue;
        for (int32_t ti = i_lo / SM_WINO_TILE * SM_WINO_TILE; ti < i_hi; ti += SM_WINO_TILE) {
            for (int32_t b = 0; b < dw; b++) {
                const int32_t cols = b < s->out_width ? (s->out_width - 1 - b) / dw + 1 : 0;
                for (int32_t tj = 0; tj < cols; tj += SM_WINO_TILE) {
                    tiles[n].oy = a + dh * ti;
                    tiles[n].ox = b + dw * tj;
                    tiles[n].row_lo = (int16_t)(i_lo > ti ? i_lo - ti : 0);
                    tiles[n].row_hi = (int16_t)(i_hi - ti < SM_WINO_TILE ? i_hi - ti : SM_WINO_TILE);
                    tiles[n].cols = cols - tj < SM_WINO_TILE ? cols - tj : SM_WINO_TILE;
                    n++;
                }
            }
        }
    }
    return n;
}

// Upper bound of sm_wino_tiles for any range of `rows` rows (workspace sizing; non-decreasing in rows).
static inline int32_t sm_wino_max_tiles(const sm_conv2d_shape *s, int32_t rows) {
    const int32_t dh = s->dilation_h, dw = s->dilation_w;
    const int32_t per_phase_rows = rows / dh + 1;                  // sub-grid rows inside any range
    const int32_t tile_rows = per_phase_rows / SM_WINO_TILE + 2;   // a range may start and end mid-tile
    const int32_t tile_cols = (s->out_width / dw + 1 + SM_WINO_TILE - 1) / SM_WINO_TILE;
    return dh * dw * tile_rows * tile_cols;
}

// Bytes of the tile list at the start of a workspace for `rows` rows, rounded to a cache line.
static inline size_t sm_wino_list_bytes(const sm_conv2d_shape *s, int32_t rows) {
    return ((size_t)sm_wino_max_tiles(s, rows) * sizeof(sm_wino_tile) + 63) / 64 * 64;
}

#ifdef __cplusplus
extern "C" {
#endif

// u[xi] = (G g G^T)[xi] for one 3x3 kernel g (row-major), computed in double and rounded once to float.
void sm_winograd_f43_transform_one(const float *g, float *u);
// U[xi][o][c] = (G g G^T)[xi] for the OIHW 3x3 weights g, computed in double and rounded once to float.
void sm_winograd_f43_transform_weights(const sm_conv2d_shape *s, const float *weights_oihw, float *u);

// sm_winograd_applies with external linkage, for the kernel tables.
int sm_winograd_applies_f32(const sm_conv2d_shape *s);


// The scalar reference twin (reference/winograd_reference.c): same tiling, textbook per-tile arithmetic.
size_t sm_ref_winograd_f32_packed_floats(const sm_conv2d_shape *s);
void sm_ref_winograd_f32_pack(const sm_conv2d_shape *s, const float *weights_oihw, float *packed);
size_t sm_ref_winograd_f32_workspace_bytes(const sm_conv2d_shape *s, int32_t rows);
void sm_ref_winograd_f32(const sm_conv2d_shape *s, const float *input, const float *packed,
                         const sm_conv2d_epilogue *epilogue, float *output, int32_t row_begin, int32_t row_end,
                         void *workspace);

#ifdef __cplusplus
}
#endif
#endif
