// int8_neon_common.h — helpers shared by the Arm int8 tiers (neon, neondot): the 4-lane epilogue, the im2col
// interleave with the signed flip (q ^ 0x80 = q - 128) and the stride-2 byte gather.
#ifndef SIAM_INT8_NEON_COMMON_H
#define SIAM_INT8_NEON_COMMON_H

#include <arm_neon.h>

// The epilogue of siam_int8.h on 4 lanes: acc (before the channel term) of channel o, output elements
// [at, at + n), n in 1..4.
static inline __attribute__((always_inline)) void sm_i8_n_finish(int32x4_t acc, const sm_i8_ep *e, int32_t o, size_t at,
                                                                 int32_t n) {
    if (e->out_i32) {   // Winograd's GEMMs: the raw sums minus the term, whole vectors (the buffer has room)
        vst1q_s32(e->out_i32 + at, vsubq_s32(acc, vdupq_n_s32(e->terms[o])));
        return;
    }
    const size_t lanes = (size_t)(n < 4 ? n : 4);
    float32x4_t y = vcvtq_f32_s32(vsubq_s32(acc, vdupq_n_s32(e->terms[o])));
    y = vmulq_f32(y, vdupq_n_f32(e->scale[o]));
    if (e->bias) y = vaddq_f32(y, vdupq_n_f32(e->bias[o]));
    if (e->res_f32) {
        float32x4_t r;
        if (n >= 4) {
            r = vld1q_f32(e->res_f32 + at);
        } else {
            float tmp[4] = {0, 0, 0, 0};
            memcpy(tmp, e->res_f32 + at, lanes * sizeof(float));
            r = vld1q_f32(tmp);
        }
        y = vaddq_f32(y, r);
    } else if (e->res_u8) {
        uint8_t tmp[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        memcpy(tmp, e->res_u8 + at, lanes);
        const uint16x8_t w = vmovl_u8(vld1_u8(tmp));
        const int32x4_t r = vsubq_s32(vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(w))), vdupq_n_s32(e->res_zero));
        y = vaddq_f32(y, vmulq_f32(vcvtq_f32_s32(r), vdupq_n_f32(e->res_scale)));
    }
    const float32x4_t zero = vdupq_n_f32(0.0f);
    if (e->relu) y = vbslq_f32(vcgtq_f32(y, zero), y, zero);   // (y > 0) ? y : +0, NaN -> +0
    if (e->out_f32) {
        if (n >= 4) {
            vst1q_f32(e->out_f32 + at, y);
        } else {
            float tmp[4];
            vst1q_f32(tmp, y);
            memcpy(e->out_f32 + at, tmp, lanes * sizeof(float));
        }
    } else {
        const float32x4_t lo = vdupq_n_f32(-512.0f), hi = vdupq_n_f32(512.0f);
        float32x4_t t = vmulq_f32(y, vdupq_n_f32(e->inv_scale));
        t = vbslq_f32(vcgtq_f32(t, lo), t, lo);   // (t > -512) ? t : -512, NaN -> -512
        t = vbslq_f32(vcltq_f32(t, hi), t, hi);
        const int32x4_t q = vaddq_s32(vcvtnq_s32_f32(t), vdupq_n_s32(e->out_zero));   // round half to even
        const uint16x4_t q16 = vqmovun_s32(q);                                        // clamps below at 0
        const uint8x8_t q8 = vqmovn_u16(vcombine_u16(q16, q16));                      // clamps above at 255
        uint8_t tmp[8];
        vst1_u8(tmp, q8);
        memcpy(e->out_u8 + at, tmp, lanes);
    }
}

// Four rows of bytes into 4-byte groups, flipped to signed: dst[4p + t] = rows[t][p] ^ 0x80.
static inline void sm_i8_neon_interleave4_flip(uint8_t *dst, const uint8_t *const *rows, size_t n) {
    const uint8x16_t flip = vdupq_n_u8(0x80);
    size_t p = 0;
    for (; p + 16 <= n; p += 16) {
        uint8x16x4_t v;
        v.val[0] = veorq_u8(vld1q_u8(rows[0] + p), flip);
        v.val[1] = veorq_u8(vld1q_u8(rows[1] + p), flip);
        v.val[2] = veorq_u8(vld1q_u8(rows[2] + p), flip);
        v.val[3] = veorq_u8(vld1q_u8(rows[3] + p), flip);
        vst4q_u8(dst + 4 * p, v);
    }
    for (; p < n; p++)
        for (int t = 0; t < 4; t++) dst[4 * p + t] = (uint8_t)(rows[t][p] ^ 0x80);
}

// dst[i] = src[2i], i < n. Reads nothing past src[2(n - 1)].
static inline void sm_i8_neon_copy_stride2(uint8_t *dst, const uint8_t *src, int32_t n) {
    int32_t i = 0;
    for (; i + 16 < n; i += 16) vst1q_u8(dst + i, vld2q_u8(src + 2 * i).val[0]);   // reads src[2i .. 2i + 31]
    for (; i < n; i++) dst[i] = src[2 * (size_t)i];
}
#define SM_I8_COPY_STRIDE2 sm_i8_neon_copy_stride2

#endif
