// winograd_reference.c — the scalar reference twin of the Winograd F(4x4, 3x3) convolution: the textbook
// per-tile form with the transforms written as matrices, on the same tiling as the fast tiers. Tested against the
// direct reference convolution (the Winograd tolerance) and the fast tiers against it.
#include "../winograd/winograd_internal.h"

#include <string.h>

static const float sm_ref_bt[SM_WINO_ALPHA][SM_WINO_ALPHA] = {
    {4, 0, -5, 0, 1, 0},  {0, -4, -4, 1, 1, 0}, {0, 4, -4, -1, 1, 0},
    {0, -2, -1, 2, 1, 0}, {0, 2, -1, -2, 1, 0}, {0, 4, 0, -5, 0, 1},
};

static const float sm_ref_at[SM_WINO_TILE][SM_WINO_ALPHA] = {
    {1, 1, 1, 1, 1, 0},
    {0, 1, -1, 2, -2, 0},
    {0, 1, 1, 4, 4, 0},
    {0, 1, -1, 8, -8, 1},
};

size_t sm_ref_winograd_f32_packed_floats(const sm_conv2d_shape *s) {
    return (size_t)SM_WINO_XI * (size_t)s->out_channels * (size_t)s->in_channels;
}

void sm_ref_winograd_f32_pack(const sm_conv2d_shape *s, const float *weights_oihw, float *packed) {
    sm_winograd_f43_transform_weights(s, weights_oihw, packed);
}

// The transformed input of one tile for every channel: C x 36 floats.
size_t sm_ref_winograd_f32_workspace_bytes(const sm_conv2d_shape *s, int32_t rows) {
    (void)rows;
    return (size_t)s->in_channels * SM_WINO_XI * sizeof(float) +
           (size_t)sm_wino_max_tiles(s, rows) * sizeof(sm_wino_tile);
}

void sm_ref_winograd_f32(const sm_conv2d_shape *s, const float *input, const float *packed,
                         const sm_conv2d_epilogue *epilogue, float *output, int32_t row_begin, int32_t row_end,
                         void *workspace) {
    if (row_end <= row_begin) return;
    const int32_t C = s->in_channels, H = s->in_height, W = s->in_width, O = s->out_channels;
    const int32_t OH = s->out_height, OW = s->out_width, dh = s->dilation_h, dw = s->dilation_w;
    sm_wino_tile *tiles = (sm_wino_tile *)workspace;
    const int32_t n = sm_wino_tiles(s, row_begin, row_end, tiles);
    float *v = (float *)(tiles + sm_wino_max_tiles(s, row_end - row_begin));
    for (int32_t t = 0; t < n; t++) {
        const sm_wino_tile tile = tiles[t];
        for (int32_t c = 0; c < C; c++) {
            float d[SM_WINO_ALPHA][SM_WINO_ALPHA], bd[SM_WINO_ALPHA][SM_WINO_ALPHA];
            for (int r = 0; r < SM_WINO_ALPHA; r++) {
                for (int q = 0; q < SM_WINO_ALPHA; q++) {
                    int32_t iy = tile.oy - s->pad_top + dh * r, ix = tile.ox - s->pad_left + dw * q;
                    d[r][q] = (iy >= 0 && iy < H && ix >= 0 && ix < W) ? input[((size_t)c * H + iy) * W + ix] : 0.0f;
                }
            }
            for (int i = 0; i < SM_WINO_ALPHA; i++)   // B^T d
                for (int q = 0; q < SM_WINO_ALPHA; q++) {
                    float acc = 0.0f;
                    for (int k = 0; k < SM_WINO_ALPHA; k++) acc += sm_ref_bt[i][k] * d[k][q];
                    bd[i][q] = acc;
                }
            for (int i = 0; i < SM_WINO_ALPHA; i++)   // (B^T d) B
                for (int j = 0; j < SM_WINO_ALPHA; j++) {
                    float acc = 0.0f;
                    for (int k = 0; k < SM_WINO_ALPHA; k++) acc += bd[i][k] * sm_ref_bt[j][k];
                    v[(size_t)c * SM_WINO_XI + i * SM_WINO_ALPHA + j] = acc;
                }
        }
        for (int32_t o = 0; o < O; o++) {
            float m[SM_WINO_XI], am[SM_WINO_TILE][SM_WINO_ALPHA];
            for (int xi = 0; xi < SM_WINO_XI; xi++) {
                const float *u = packed + ((size_t)xi * O + o) * C;
                float acc = 0.0f;
                for (int32_t c = 0; c < C; c++) acc += u[c] * v[(size_t)c * SM_WINO_XI + xi];
                m[xi] = acc;
            }
            for (int i = 0; i < SM_WINO_TILE; i++)   // A^T m
                for (int q = 0; q < SM_WINO_ALPHA; q++) {
                    float acc = 0.0f;
                    for (int k = 0; k < SM_WINO_ALPHA; k++) acc += sm_ref_at[i][k] * m[k * SM_WINO_ALPHA + q];
                    am[i][q] = acc;
                }
            for (int i = tile.row_lo; i < tile.row_hi; i++) {   // (A^T m) A, then the epilogue
                for (int j = 0; j < tile.cols; j++) {
                    float y = 0.0f;
                    for (int k = 0; k < SM_WINO_ALPHA; k++) y += am[i][k] * sm_ref_at[j][k];
                    const int32_t oy = tile.oy + dh * i, ox = tile.ox + dw * j;
                    const size_t at = ((size_t)o * OH + oy) * OW + ox;
                    if (epilogue) {
                        if (epilogue->bias) y += epilogue->bias[o];
                        if (epilogue->residual) y += epilogue->residual[at];
                        if (epilogue->relu && y < 0.0f) y = 0.0f;
                    }
                    output[at] = y;
                }
            }
        }
    }
}
