// int8_internal.h — private to the int8 kernels: packed-buffer layout, the resolved epilogue, the scalar epilogue
// (the specification in code, used by the reference twin) and the tier tables.
#ifndef SIAM_INT8_INTERNAL_H
#define SIAM_INT8_INTERNAL_H

#include "siam_int8.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__clang__)
#pragma clang fp contract(off)
#pragma STDC FP_CONTRACT OFF   // gcc ignores it: build with -ffp-contract=off
#endif

// Every packed buffer (convolution and xcorr, every tier) starts with this header (64 bytes), then the int32
// per-channel terms (channels rounded up to 16, so the weights stay 64-byte aligned), then the tier's weights.
typedef struct sm_i8_packed_header {
    int32_t zero_point;   // the input (search) zero point the terms were computed with
    int32_t tier;         // sm_int8_tier that packed it
    int32_t k;            // taps per output (C*KH*KW, or KH*KW for the xcorr)
    int32_t k_padded;     // k rounded up to the tier's k-group
    int32_t channels;     // output channels
    int32_t variant;      // the tier's layout when it has several (AVX2: 1 = 7-bit weights on the vpmaddubsw
                          // path, 2 = Winograd F(2x2, 3x3) on the int16 path; every tier: SM_I8_WD23_VARIANT)
    int32_t reserved[10];
} sm_i8_packed_header;

static inline size_t sm_i8_round_up(size_t n, size_t m) { return (n + m - 1) / m * m; }

static inline size_t sm_i8_terms_bytes(int32_t channels) {
    return sm_i8_round_up((size_t)(channels > 0 ? channels : 0), 16) * sizeof(int32_t);
}

static inline const int32_t *sm_i8_terms(const void *packed) {
    return (const int32_t *)((const uint8_t *)packed + sizeof(sm_i8_packed_header));
}

static inline const void *sm_i8_weights(const void *packed) {
    const sm_i8_packed_header *h = (const sm_i8_packed_header *)packed;
    return (const uint8_t *)packed + sizeof(sm_i8_packed_header) + sm_i8_terms_bytes(h->channels);
}

static inline int8_t sm_i8_clamp_weight(int8_t w) { return w == -128 ? (int8_t)-127 : w; }

// Fills the header and the per-channel terms term[o] = multiplier * sum_k w[o, k] (weights clamped), for weights
// laid out as channels x k (OIHW is that).
static inline void sm_i8_pack_header(void *packed, int32_t tier, int32_t zero_point, int32_t multiplier,
                                     const int8_t *weights, int32_t channels, int32_t k, int32_t k_padded) {
    sm_i8_packed_header *h = (sm_i8_packed_header *)packed;
    memset(h, 0, sizeof(*h));
    h->zero_point = zero_point;
    h->tier = tier;
    h->k = k;
    h->k_padded = k_padded;
    h->channels = channels;
    int32_t *terms = (int32_t *)((uint8_t *)packed + sizeof(sm_i8_packed_header));
    memset(terms, 0, sm_i8_terms_bytes(channels));
    for (int32_t o = 0; o < channels; o++) {
        int32_t sum = 0;
        for (int32_t i = 0; i < k; i++) sum += sm_i8_clamp_weight(weights[(size_t)o * k + i]);
        terms[o] = multiplier * sum;
    }
}

// The epilogue resolved for a call: the public struct plus the packed per-channel terms and typed pointers.
typedef struct sm_i8_ep {
    const int32_t *terms;   // acc = raw dot product - terms[o]
    const float *scale, *bias;
    const float *res_f32;
    const uint8_t *res_u8;
    float res_scale;
    int32_t res_zero;
    int32_t relu;
    float *out_f32;
    uint8_t *out_u8;
    float inv_scale;
    int32_t out_zero;
    int32_t *out_i32;   // raw int32 sums instead of the epilogue (Winograd's GEMMs; NULL otherwise)
} sm_i8_ep;

static inline void sm_i8_resolve(sm_i8_ep *r, const sm_int8_epilogue *e, const void *packed, void *output) {
    r->terms = sm_i8_terms(packed);
    r->scale = e->scale;
    r->bias = e->bias;
    r->res_f32 = e->residual_type == SM_INT8_RESIDUAL_F32 ? (const float *)e->residual : NULL;
    r->res_u8 = e->residual_type == SM_INT8_RESIDUAL_U8 ? (const uint8_t *)e->residual : NULL;
    r->res_scale = e->residual_scale;
    r->res_zero = e->residual_zero_point;
    r->relu = e->relu;
    r->out_f32 = e->output_type == SM_INT8_OUTPUT_F32 ? (float *)output : NULL;
    r->out_u8 = e->output_type == SM_INT8_OUTPUT_U8 ? (uint8_t *)output : NULL;
    r->inv_scale = e->output_inv_scale;
    r->out_zero = e->output_zero_point;
    r->out_i32 = NULL;
}

// The epilogue of one output element: acc already has the channel term subtracted; `at` indexes the output (and
// the residual). This is the specification of siam_int8.h, line by line.
static inline void sm_i8_finish_scalar(const sm_int8_epilogue *e, int32_t o, int32_t acc, size_t at, void *output) {
    float y = (float)acc * e->scale[o];
    if (e->bias) y = y + e->bias[o];
    if (e->residual_type == SM_INT8_RESIDUAL_F32) {
        y = y + ((const float *)e->residual)[at];
    } else if (e->residual_type == SM_INT8_RESIDUAL_U8) {
        int32_t r = ((const uint8_t *)e->residual)[at];
        y = y + ((float)(r - e->residual_zero_point) * e->residual_scale);
    }
    if (e->relu) y = y > 0.0f ? y : 0.0f;
    if (e->output_type == SM_INT8_OUTPUT_F32) {
        ((float *)output)[at] = y;
    } else {
        float t = y * e->output_inv_scale;
        t = t > -512.0f ? t : -512.0f;
        t = t < 512.0f ? t : 512.0f;
        int32_t q = (int32_t)nearbyintf(t) + e->output_zero_point;
        q = q < 0 ? 0 : (q > 255 ? 255 : q);
        ((uint8_t *)output)[at] = (uint8_t)q;
    }
}

// ---- the depth-wise cross-correlation's packed kernel, shared by the fast tiers ----
// After the header and the terms: channels x kernel_h rows of kw4 = kernel_w rounded up to 4 int8 (zeros after
// kernel_w), so a row splits into 4-tap groups (sdot / vpdpbusd) or 2-tap pairs (vpmaddwd).

static inline size_t sm_i8_xcorr_kw4(int32_t kw) { return sm_i8_round_up((size_t)(kw > 0 ? kw : 0), 4); }

static inline size_t sm_i8_xcorr_packed_bytes(int32_t channels, int32_t kh, int32_t kw) {
    return sizeof(sm_i8_packed_header) + sm_i8_terms_bytes(channels) +
           sm_i8_round_up((size_t)channels * (size_t)kh * sm_i8_xcorr_kw4(kw), 64);
}

// term[c] = (zs - shift) * sum qk[c]: shift 128 for tiers that feed q ^ 0x80 (= q - 128) to signed products.
static inline void sm_i8_xcorr_pack(const int8_t *kernel, int32_t channels, int32_t kh, int32_t kw, int32_t zs,
                                    int32_t shift, int32_t tier, void *packed) {
    sm_i8_pack_header(packed, tier, zs, zs - shift, kernel, channels, kh * kw, kh * (int32_t)sm_i8_xcorr_kw4(kw));
    int8_t *w = (int8_t *)sm_i8_weights(packed);
    const size_t kw4 = sm_i8_xcorr_kw4(kw);
    for (int32_t c = 0; c < channels; c++)
        for (int32_t u = 0; u < kh; u++)
            for (size_t v = 0; v < kw4; v++)
                *w++ = (int8_t)(v < (size_t)kw ? sm_i8_clamp_weight(kernel[((size_t)c * kh + u) * kw + v]) : 0);
}

// ---- Winograd-domain F(2x2, 3x3) (wd23, siam_int8.h): the packed prefix every tier shares ----
// After the header (variant 3) and the terms (all zero: the zero point is subtracted before the transform):
//   fscale   float[opad]          per output channel
//   xterms   int32[16][opad]      per position and channel: shift * sum_c Uq (shift 128 for tiers that feed
//                                 Vq + 128 to u8 x s8 products, 0 otherwise), subtracted from the GEMM sums
//   m        int32[16]            the input multipliers
// then the tier's Uq layout (sm_i8_wd23_u), then the scratch pack uses (SM_I8_WD23_SCRATCH).
#define SM_I8_WD23_VARIANT 3
#define SM_I8_WD23_MAX_CHANNELS 8192   // |A^T M A| <= 9 * C * 128 * 127 < 2^31

static inline size_t sm_i8_wd23_opad(int32_t channels) { return sm_i8_round_up((size_t)channels + 16, 16); }

static inline size_t sm_i8_wd23_prefix_bytes(int32_t channels) {
    const size_t opad = sm_i8_wd23_opad(channels);
    return sizeof(sm_i8_packed_header) + sm_i8_terms_bytes(channels) + opad * sizeof(float) +
           16 * opad * sizeof(int32_t) + 16 * sizeof(int32_t);
}

static inline float *sm_i8_wd23_fscale(const void *packed) {
    const sm_i8_packed_header *h = (const sm_i8_packed_header *)packed;
    return (float *)((uint8_t *)packed + sizeof(sm_i8_packed_header) + sm_i8_terms_bytes(h->channels));
}

static inline int32_t *sm_i8_wd23_xterms(const void *packed) {
    const sm_i8_packed_header *h = (const sm_i8_packed_header *)packed;
    return (int32_t *)(sm_i8_wd23_fscale(packed) + sm_i8_wd23_opad(h->channels));
}

static inline int32_t *sm_i8_wd23_multipliers(const void *packed) {
    const sm_i8_packed_header *h = (const sm_i8_packed_header *)packed;
    return sm_i8_wd23_xterms(packed) + 16 * sm_i8_wd23_opad(h->channels);
}

static inline void *sm_i8_wd23_u(const void *packed) {
    const sm_i8_packed_header *h = (const sm_i8_packed_header *)packed;
    return (uint8_t *)packed + sm_i8_wd23_prefix_bytes(h->channels);
}

// U' = G' g G'^T of one input channel's 3x3 weights (clamped to [-127, 127]), G' = 2G = [[2,0,0],[1,1,1],[1,-1,1],
// [0,0,2]]: integers, |U'| <= 9 * 127 = 1143, u[4 i + j]. The exact F(2x2, 3x3) packs it as it is (U' = 4 G g G^T),
// the Winograd-domain kind requantises it.
static inline void sm_i8_w23_weight_transform(const int8_t *w9, int32_t u[16]) {
    int32_t g[3][3], t[4][3];
    for (int i = 0; i < 9; i++) g[i / 3][i % 3] = sm_i8_clamp_weight(w9[i]);
    for (int j = 0; j < 3; j++) {   // t = G' g
        t[0][j] = 2 * g[0][j];
        t[1][j] = g[0][j] + g[1][j] + g[2][j];
        t[2][j] = g[0][j] - g[1][j] + g[2][j];
        t[3][j] = 2 * g[2][j];
    }
    for (int i = 0; i < 4; i++) {   // U' = t G'^T
        u[4 * i] = 2 * t[i][0];
        u[4 * i + 1] = t[i][0] + t[i][1] + t[i][2];
        u[4 * i + 2] = t[i][0] - t[i][1] + t[i][2];
        u[4 * i + 3] = 2 * t[i][2];
    }
}

// The weights of output channel o as the specification defines them: uq[xi * C + c] (16 x C) and fscale; work holds
// 16 x C int16 (U').
static inline void sm_i8_wd23_quantize_channel(const int8_t *w_o, int32_t C, const int32_t *m, int8_t *uq,
                                               float *fscale, int16_t *work) {
    int32_t umax[16] = {0};
    for (int32_t c = 0; c < C; c++) {
        int32_t u[16];
        sm_i8_w23_weight_transform(w_o + (size_t)c * 9, u);
        for (int xi = 0; xi < 16; xi++) {
            const int32_t mag = u[xi] < 0 ? -u[xi] : u[xi];
            work[(size_t)xi * (size_t)C + (size_t)c] = (int16_t)u[xi];
            if (mag > umax[xi]) umax[xi] = mag;
        }
    }
    double r[16], amax = 0.0;
    for (int xi = 0; xi < 16; xi++) {
        r[xi] = 32768.0 / (double)m[xi];
        const double a = (double)umax[xi] * r[xi];
        if (a > amax) amax = a;
    }
    const double k = amax > 0.0 ? 127.0 / amax : 0.0;
    for (int xi = 0; xi < 16; xi++) {
        const double scale = r[xi] * k;
        const int16_t *u = work + (size_t)xi * (size_t)C;
        int8_t *q = uq + (size_t)xi * (size_t)C;
        for (int32_t c = 0; c < C; c++) {
            double v = nearbyint((double)u[c] * scale);
            v = v < -127.0 ? -127.0 : (v > 127.0 ? 127.0 : v);
            q[c] = (int8_t)v;
        }
    }
    *fscale = (float)(amax / 508.0);
}

// The quantised input of one position: clamp((v * m + 16384) >> 15, -128, 127), as vpmulhrsw and a saturating pack.
static inline int32_t sm_i8_wd23_quantize_input(int32_t v, int32_t m) {
    const int32_t q = (v * m + 16384) >> 15;
    return q < -128 ? -128 : (q > 127 ? 127 : q);
}

// Fills the prefix and, per output channel, calls back with its 16 x C quantised weights so the tier can store
// them in its layout; xterms = shift * sum_c Uq. scratch holds 16 x C int8 and 16 x C int16
// (SM_I8_WD23_SCRATCH bytes).
#define SM_I8_WD23_SCRATCH(C) sm_i8_round_up(48 * (size_t)(C), 64)
typedef void (*sm_i8_wd23_store_fn)(void *packed, const sm_conv2d_shape *s, int32_t o, const int8_t *uq);
static inline void sm_i8_wd23_pack_common(const sm_conv2d_shape *s, const int8_t *weights, int32_t zero_point,
                                          const int16_t *multipliers, int32_t tier, int32_t k_padded, int32_t shift,
                                          void *packed, int8_t *scratch, sm_i8_wd23_store_fn store) {
    const int32_t O = s->out_channels, C = s->in_channels;
    sm_i8_pack_header(packed, tier, zero_point, 0, weights, O, 9 * C, k_padded);
    ((sm_i8_packed_header *)packed)->variant = SM_I8_WD23_VARIANT;
    const size_t opad = sm_i8_wd23_opad(O);
    float *fscale = sm_i8_wd23_fscale(packed);
    int32_t *xterms = sm_i8_wd23_xterms(packed), *m = sm_i8_wd23_multipliers(packed);
    memset(fscale, 0, opad * sizeof(float));
    memset(xterms, 0, 16 * opad * sizeof(int32_t));
    for (int xi = 0; xi < 16; xi++) m[xi] = multipliers[xi] < 1 ? 1 : multipliers[xi];
    for (int32_t o = 0; o < O; o++) {
        sm_i8_wd23_quantize_channel(weights + (size_t)o * (size_t)C * 9, C, m, scratch, &fscale[o],
                                    (int16_t *)(scratch + 16 * (size_t)C));
        for (int xi = 0; xi < 16; xi++) {
            int32_t sum = 0;
            for (int32_t c = 0; c < C; c++) sum += scratch[(size_t)xi * (size_t)C + (size_t)c];
            xterms[(size_t)xi * opad + (size_t)o] = shift * sum;
        }
        store(packed, s, o, scratch);
    }
}

extern const sm_int8_kernel_table sm_int8_reference_table;
#if defined(__x86_64__)
extern const sm_int8_kernel_table sm_int8_avx2_table;
extern const sm_int8_kernel_table sm_int8_avxvnni_table;
extern const sm_int8_kernel_table sm_int8_avx512vnni_table;
#endif
#if defined(__aarch64__)
extern const sm_int8_kernel_table sm_int8_neon_table;
extern const sm_int8_kernel_table sm_int8_neondot_table;
#endif

#ifdef __cplusplus
}
#endif
#endif
