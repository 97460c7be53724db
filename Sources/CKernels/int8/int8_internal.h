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
                          // path, 2 = Winograd F(2x2, 3x3) on the int16 path)
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
