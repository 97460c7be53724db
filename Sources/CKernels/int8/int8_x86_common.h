// int8_x86_common.h — helpers shared by the x86 int8 tiers (all of them have AVX2), included inside each tier's
// target region so they are compiled for that tier: the 8-lane epilogue, the im2col interleaves and the stride-2
// byte gather.
#ifndef SIAM_INT8_X86_COMMON_H
#define SIAM_INT8_X86_COMMON_H

#include <immintrin.h>

// Lane mask of the first n lanes (n clamped to 0..8) for vmaskmovps.
static inline __m256i sm_i8_y_mask(int32_t n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// The epilogue of siam_int8.h on 8 lanes: acc (before the channel term) of channel o, output elements
// [at, at + n), n in 1..8.
static inline __attribute__((always_inline)) void sm_i8_y_finish(__m256i acc, const sm_i8_ep *e, int32_t o, size_t at,
                                                                 int32_t n) {
    __m256 y = _mm256_cvtepi32_ps(_mm256_sub_epi32(acc, _mm256_set1_epi32(e->terms[o])));
    y = _mm256_mul_ps(y, _mm256_set1_ps(e->scale[o]));
    if (e->bias) y = _mm256_add_ps(y, _mm256_set1_ps(e->bias[o]));
    if (e->res_f32) {
        const __m256 r =
            n >= 8 ? _mm256_loadu_ps(e->res_f32 + at) : _mm256_maskload_ps(e->res_f32 + at, sm_i8_y_mask(n));
        y = _mm256_add_ps(y, r);
    } else if (e->res_u8) {
        __m128i bytes;
        if (n >= 8) {
            bytes = _mm_loadl_epi64((const __m128i *)(e->res_u8 + at));
        } else {
            uint8_t tmp[8] = {0};
            memcpy(tmp, e->res_u8 + at, (size_t)n);
            bytes = _mm_loadl_epi64((const __m128i *)tmp);
        }
        const __m256i r = _mm256_sub_epi32(_mm256_cvtepu8_epi32(bytes), _mm256_set1_epi32(e->res_zero));
        y = _mm256_add_ps(y, _mm256_mul_ps(_mm256_cvtepi32_ps(r), _mm256_set1_ps(e->res_scale)));
    }
    if (e->relu) y = _mm256_max_ps(y, _mm256_setzero_ps());   // (y > 0) ? y : +0, NaN -> +0
    if (e->out_f32) {
        if (n >= 8) _mm256_storeu_ps(e->out_f32 + at, y);
        else _mm256_maskstore_ps(e->out_f32 + at, sm_i8_y_mask(n), y);
    } else {
        __m256 t = _mm256_mul_ps(y, _mm256_set1_ps(e->inv_scale));
        t = _mm256_max_ps(t, _mm256_set1_ps(-512.0f));   // (t > -512) ? t : -512, NaN -> -512
        t = _mm256_min_ps(t, _mm256_set1_ps(512.0f));
        const __m256i q = _mm256_add_epi32(_mm256_cvtps_epi32(t), _mm256_set1_epi32(e->out_zero));
        const __m128i w16 = _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
        const __m128i b8 = _mm_packus_epi16(w16, w16);   // clamps to [0, 255]
        if (n >= 8) {
            _mm_storel_epi64((__m128i *)(e->out_u8 + at), b8);
        } else {
            uint8_t tmp[16];
            _mm_storeu_si128((__m128i *)tmp, b8);
            memcpy(e->out_u8 + at, tmp, (size_t)n);
        }
    }
}

// Four rows of bytes into 4-byte groups: dst[4p + t] = rows[t][p].
static inline void sm_i8_x86_interleave4(uint8_t *dst, const uint8_t *const *rows, size_t n) {
    size_t p = 0;
    for (; p + 16 <= n; p += 16) {
        const __m128i r0 = _mm_loadu_si128((const __m128i *)(rows[0] + p));
        const __m128i r1 = _mm_loadu_si128((const __m128i *)(rows[1] + p));
        const __m128i r2 = _mm_loadu_si128((const __m128i *)(rows[2] + p));
        const __m128i r3 = _mm_loadu_si128((const __m128i *)(rows[3] + p));
        const __m128i a = _mm_unpacklo_epi8(r0, r1), b = _mm_unpackhi_epi8(r0, r1);
        const __m128i c = _mm_unpacklo_epi8(r2, r3), d = _mm_unpackhi_epi8(r2, r3);
        _mm_storeu_si128((__m128i *)(dst + 4 * p), _mm_unpacklo_epi16(a, c));
        _mm_storeu_si128((__m128i *)(dst + 4 * p + 16), _mm_unpackhi_epi16(a, c));
        _mm_storeu_si128((__m128i *)(dst + 4 * p + 32), _mm_unpacklo_epi16(b, d));
        _mm_storeu_si128((__m128i *)(dst + 4 * p + 48), _mm_unpackhi_epi16(b, d));
    }
    for (; p < n; p++)
        for (int t = 0; t < 4; t++) dst[4 * p + t] = rows[t][p];
}

// Two rows of bytes into zero-extended int16 pairs: dst[2p + t] = rows[t][p].
static inline void sm_i8_x86_interleave2_u16(uint16_t *dst, const uint8_t *const *rows, size_t n) {
    size_t p = 0;
    const __m128i zero = _mm_setzero_si128();
    for (; p + 16 <= n; p += 16) {
        const __m128i r0 = _mm_loadu_si128((const __m128i *)(rows[0] + p));
        const __m128i r1 = _mm_loadu_si128((const __m128i *)(rows[1] + p));
        const __m128i a = _mm_unpacklo_epi8(r0, r1), b = _mm_unpackhi_epi8(r0, r1);   // byte pairs
        _mm_storeu_si128((__m128i *)(dst + 2 * p), _mm_unpacklo_epi8(a, zero));
        _mm_storeu_si128((__m128i *)(dst + 2 * p + 8), _mm_unpackhi_epi8(a, zero));
        _mm_storeu_si128((__m128i *)(dst + 2 * p + 16), _mm_unpacklo_epi8(b, zero));
        _mm_storeu_si128((__m128i *)(dst + 2 * p + 24), _mm_unpackhi_epi8(b, zero));
    }
    for (; p < n; p++) {
        dst[2 * p] = rows[0][p];
        dst[2 * p + 1] = rows[1][p];
    }
}

// dst[i] = src[2i], i < n. Reads nothing past src[2(n - 1)].
static inline void sm_i8_x86_copy_stride2(uint8_t *dst, const uint8_t *src, int32_t n) {
    int32_t i = 0;
    const __m128i even = _mm_set1_epi16(0x00FF);
    for (; i + 16 < n; i += 16) {   // reads src[2i .. 2i + 31], and 2i + 31 < 2(n - 1)
        const __m128i lo = _mm_and_si128(_mm_loadu_si128((const __m128i *)(src + 2 * i)), even);
        const __m128i hi = _mm_and_si128(_mm_loadu_si128((const __m128i *)(src + 2 * i + 16)), even);
        _mm_storeu_si128((__m128i *)(dst + i), _mm_packus_epi16(lo, hi));
    }
    for (; i < n; i++) dst[i] = src[2 * (size_t)i];
}
#define SM_I8_COPY_STRIDE2 sm_i8_x86_copy_stride2

#endif
