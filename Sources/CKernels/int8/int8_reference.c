// int8_reference.c — the scalar reference twins of the int8 kernels: plain loops over the specification of
// siam_int8.h. acc is summed tap by tap as (qx - zx) * qw, skipping padded taps (they are real zeros), so the fast
// tiers' "dot product minus the packed channel term" is checked against an independent computation.
#include "int8_internal.h"

#if defined(__clang__)
#pragma clang fp contract(off)
#pragma STDC FP_CONTRACT OFF   // gcc ignores it: build with -ffp-contract=off
#endif

// ---- convolution: weights stay OIHW (clamped to [-127, 127]) after the header ----

static size_t ref_i8_k(const sm_conv2d_shape *s) {
    return (size_t)s->in_channels * (size_t)s->kernel_h * (size_t)s->kernel_w;
}

static size_t ref_i8_conv_packed_bytes(const sm_conv2d_shape *s) {
    return sizeof(sm_i8_packed_header) + sm_i8_terms_bytes(s->out_channels) +
           sm_i8_round_up((size_t)s->out_channels * ref_i8_k(s), 64);
}

static void ref_i8_conv_pack(const sm_conv2d_shape *s, const int8_t *weights, int32_t zero_point, void *packed) {
    const int32_t K = (int32_t)ref_i8_k(s);
    sm_i8_pack_header(packed, SM_INT8_TIER_REFERENCE, zero_point, zero_point, weights, s->out_channels, K, K);
    int8_t *w = (int8_t *)sm_i8_weights(packed);
    for (size_t i = 0; i < (size_t)s->out_channels * (size_t)K; i++) w[i] = sm_i8_clamp_weight(weights[i]);
}

static size_t ref_i8_conv_workspace_bytes(const sm_conv2d_shape *s, int32_t rows) {
    (void)s;
    (void)rows;
    return 0;
}

static void ref_i8_conv(const sm_conv2d_shape *s, const uint8_t *input, const void *packed, const sm_int8_epilogue *e,
                        void *output, int32_t row_begin, int32_t row_end, void *workspace) {
    (void)workspace;
    const int32_t zx = ((const sm_i8_packed_header *)packed)->zero_point;
    const int8_t *weights = (const int8_t *)sm_i8_weights(packed);
    const int32_t C = s->in_channels, H = s->in_height, W = s->in_width;
    const int32_t OH = s->out_height, OW = s->out_width, KH = s->kernel_h, KW = s->kernel_w;
    for (int32_t o = 0; o < s->out_channels; o++) {
        for (int32_t oy = row_begin; oy < row_end; oy++) {
            for (int32_t ox = 0; ox < OW; ox++) {
                int32_t acc = 0;
                for (int32_t c = 0; c < C; c++) {
                    for (int32_t ky = 0; ky < KH; ky++) {
                        int32_t iy = oy * s->stride_h - s->pad_top + ky * s->dilation_h;
                        if (iy < 0 || iy >= H) continue;   // padding: q = zx, a real zero
                        for (int32_t kx = 0; kx < KW; kx++) {
                            int32_t ix = ox * s->stride_w - s->pad_left + kx * s->dilation_w;
                            if (ix < 0 || ix >= W) continue;
                            int32_t x = input[((size_t)c * H + iy) * W + ix];
                            int32_t w = weights[(((size_t)o * C + c) * KH + ky) * KW + kx];
                            acc += (x - zx) * w;
                        }
                    }
                }
                sm_i8_finish_scalar(e, o, acc, ((size_t)o * OH + oy) * OW + ox, output);
            }
        }
    }
}

// ---- Winograd-domain F(2x2, 3x3): Uq stays [xi][o][c] after the shared prefix ----

static size_t ref_i8_wd23_packed_bytes(const sm_conv2d_shape *s) {
    const size_t uq = 16 * (size_t)s->out_channels * (size_t)s->in_channels;
    return sm_i8_wd23_prefix_bytes(s->out_channels) + sm_i8_round_up(uq, 64) + SM_I8_WD23_SCRATCH(s->in_channels);
}

static void ref_i8_wd23_store(void *packed, const sm_conv2d_shape *s, int32_t o, const int8_t *uq) {
    const size_t O = (size_t)s->out_channels, C = (size_t)s->in_channels;
    int8_t *u = (int8_t *)sm_i8_wd23_u(packed);
    for (size_t xi = 0; xi < 16; xi++) memcpy(u + (xi * O + (size_t)o) * C, uq + xi * C, C);
}

static void ref_i8_wd23_pack(const sm_conv2d_shape *s, const int8_t *weights, int32_t zero_point,
                             const int16_t *multipliers, void *packed) {
    int8_t *scratch = (int8_t *)packed + sm_i8_wd23_prefix_bytes(s->out_channels) +
                      sm_i8_round_up(16 * (size_t)s->out_channels * (size_t)s->in_channels, 64);
    sm_i8_wd23_pack_common(s, weights, zero_point, multipliers, SM_INT8_TIER_REFERENCE, s->in_channels, 0, packed,
                           scratch, ref_i8_wd23_store);
}

static size_t ref_i8_wd23_workspace_bytes(const sm_conv2d_shape *s, int32_t rows) {
    if (rows <= 0) return 0;
    return 16 * (size_t)s->in_channels * sizeof(int32_t) +   // Vq of one tile
           (size_t)s->out_channels * sizeof(float);          // scale[o] * fscale[o]
}

static void ref_i8_wd23(const sm_conv2d_shape *s, const uint8_t *input, const void *packed, const sm_int8_epilogue *e,
                        void *output, int32_t row_begin, int32_t row_end, void *workspace) {
    const int32_t zx = ((const sm_i8_packed_header *)packed)->zero_point;
    const int32_t C = s->in_channels, H = s->in_height, W = s->in_width, O = s->out_channels;
    const int32_t OH = s->out_height, OW = s->out_width, dh = s->dilation_h, dw = s->dilation_w;
    const int8_t *U = (const int8_t *)sm_i8_wd23_u(packed);
    const float *fscale = sm_i8_wd23_fscale(packed);
    const int32_t *m = sm_i8_wd23_multipliers(packed);
    int32_t *vq = (int32_t *)workspace;
    float *scale = (float *)(vq + 16 * (size_t)C);
    for (int32_t o = 0; o < O; o++) scale[o] = e->scale[o] * fscale[o];
    sm_int8_epilogue ep = *e;
    ep.scale = scale;
    if (row_begin < 0) row_begin = 0;
    if (row_end > OH) row_end = OH;
    // Every tile with an output row in [row_begin, row_end): tile origins (oy0, ox0) per sub-grid.
    for (int32_t oy0 = 0; oy0 < OH; oy0++) {
        if ((oy0 / dh) % 2 != 0) continue;   // not a tile's first row in its sub-grid
        if (oy0 >= row_end || oy0 + dh < row_begin) continue;
        for (int32_t ox0 = 0; ox0 < OW; ox0++) {
            if ((ox0 / dw) % 2 != 0) continue;
            for (int32_t c = 0; c < C; c++) {
                int32_t d[4][4], t[4][4];
                for (int r = 0; r < 4; r++)
                    for (int q = 0; q < 4; q++) {
                        const int32_t iy = oy0 - s->pad_top + dh * r, ix = ox0 - s->pad_left + dw * q;
                        d[r][q] = (iy >= 0 && iy < H && ix >= 0 && ix < W)
                                      ? (int32_t)input[((size_t)c * H + iy) * W + ix] - zx
                                      : 0;
                    }
                for (int q = 0; q < 4; q++) {   // t = B^T d
                    t[0][q] = d[0][q] - d[2][q];
                    t[1][q] = d[1][q] + d[2][q];
                    t[2][q] = d[2][q] - d[1][q];
                    t[3][q] = d[1][q] - d[3][q];
                }
                for (int r = 0; r < 4; r++) {   // V = t B
                    const int32_t v[4] = {t[r][0] - t[r][2], t[r][1] + t[r][2], t[r][2] - t[r][1], t[r][1] - t[r][3]};
                    for (int q = 0; q < 4; q++)
                        vq[(size_t)(4 * r + q) * (size_t)C + (size_t)c] = sm_i8_wd23_quantize_input(v[q], m[4 * r + q]);
                }
            }
            for (int32_t o = 0; o < O; o++) {
                int32_t M[16];
                for (int xi = 0; xi < 16; xi++) {
                    const int8_t *u = U + ((size_t)xi * (size_t)O + (size_t)o) * (size_t)C;
                    const int32_t *v = vq + (size_t)xi * (size_t)C;
                    int32_t acc = 0;
                    for (int32_t c = 0; c < C; c++) acc += v[c] * u[c];
                    M[xi] = acc;
                }
                int32_t f[4][2];
                for (int i = 0; i < 4; i++) {   // M A
                    f[i][0] = M[4 * i] + M[4 * i + 1] + M[4 * i + 2];
                    f[i][1] = M[4 * i + 1] - M[4 * i + 2] - M[4 * i + 3];
                }
                for (int r = 0; r < 2; r++)
                    for (int q = 0; q < 2; q++) {   // A^T (M A)
                        const int32_t oy = oy0 + dh * r, ox = ox0 + dw * q;
                        if (oy < row_begin || oy >= row_end || ox >= OW) continue;
                        const int32_t y = r == 0 ? f[0][q] + f[1][q] + f[2][q] : f[1][q] - f[2][q] - f[3][q];
                        sm_i8_finish_scalar(&ep, o, y, ((size_t)o * OH + oy) * OW + ox, output);
                    }
            }
        }
    }
}

// ---- depth-wise cross-correlation: the kernel stays channels x KH x KW after the header ----

static size_t ref_i8_xcorr_packed_bytes(int32_t channels, int32_t kh, int32_t kw) {
    return sizeof(sm_i8_packed_header) + sm_i8_terms_bytes(channels) +
           sm_i8_round_up((size_t)channels * (size_t)kh * (size_t)kw, 64);
}

static void ref_i8_xcorr_pack(const int8_t *kernel, int32_t channels, int32_t kh, int32_t kw, int32_t zero_point,
                              void *packed) {
    sm_i8_pack_header(packed, SM_INT8_TIER_REFERENCE, zero_point, zero_point, kernel, channels, kh * kw, kh * kw);
    int8_t *w = (int8_t *)sm_i8_weights(packed);
    for (size_t i = 0; i < (size_t)channels * (size_t)kh * (size_t)kw; i++) w[i] = sm_i8_clamp_weight(kernel[i]);
}

static size_t ref_i8_xcorr_workspace_bytes(int32_t sh, int32_t sw, int32_t kh, int32_t kw) {
    (void)sh;
    (void)sw;
    (void)kh;
    (void)kw;
    return 0;
}

static void ref_i8_xcorr(const uint8_t *search, int32_t channels, int32_t sh, int32_t sw, const void *packed,
                         int32_t kh, int32_t kw, const sm_int8_epilogue *e, void *output, int32_t channel_begin,
                         int32_t channel_end, void *workspace) {
    (void)channels;
    (void)workspace;
    const int32_t zs = ((const sm_i8_packed_header *)packed)->zero_point;
    const int8_t *kernel = (const int8_t *)sm_i8_weights(packed);
    const int32_t OH = sh - kh + 1, OW = sw - kw + 1;
    for (int32_t c = channel_begin; c < channel_end; c++) {
        for (int32_t i = 0; i < OH; i++) {
            for (int32_t j = 0; j < OW; j++) {
                int32_t acc = 0;
                for (int32_t u = 0; u < kh; u++) {
                    for (int32_t v = 0; v < kw; v++) {
                        int32_t x = search[((size_t)c * sh + i + u) * sw + j + v];
                        acc += (x - zs) * kernel[((size_t)c * kh + u) * kw + v];
                    }
                }
                sm_i8_finish_scalar(e, c, acc, ((size_t)c * OH + i) * OW + j, output);
            }
        }
    }
}

const sm_int8_kernel_table sm_int8_reference_table = {
    .tier = SM_INT8_TIER_REFERENCE,
    .name = "reference",
    .conv2d_u8s8_packed_bytes = ref_i8_conv_packed_bytes,
    .conv2d_u8s8_pack = ref_i8_conv_pack,
    .conv2d_u8s8_workspace_bytes = ref_i8_conv_workspace_bytes,
    .conv2d_u8s8 = ref_i8_conv,
    .conv2d_wd23_packed_bytes = ref_i8_wd23_packed_bytes,
    .conv2d_wd23_pack = ref_i8_wd23_pack,
    .conv2d_wd23_workspace_bytes = ref_i8_wd23_workspace_bytes,
    .conv2d_wd23 = ref_i8_wd23,
    .xcorr_u8s8_packed_bytes = ref_i8_xcorr_packed_bytes,
    .xcorr_u8s8_pack = ref_i8_xcorr_pack,
    .xcorr_u8s8_workspace_bytes = ref_i8_xcorr_workspace_bytes,
    .depthwise_xcorr_u8s8 = ref_i8_xcorr,
};
