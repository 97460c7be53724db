// int8_u8_micro256.h — the 256-bit u8 x s8 convolution micro-kernel, written once for the tiers whose B holds 4
// uint8 k per 32-bit lane: AVX-VNNI (one vpdpbusd) and AVX2 with 7-bit weights (vpmaddubsw, whose u8 x s8 pair
// sums cannot saturate int16 when |w| <= 63: 2 * 255 * 63 = 32130, then vpmaddwd by ones into int32). Both sums are
// exact, so both tiers give the reference's bytes. Included inside the tier's target region, before
// int8_gemm_driver.h; the including file defines SM_I8_FN, SM_I8_MR, SM_I8_NV and
//   SM_I8_DOT4(acc, b, w): acc + the four u8 x s8 products of each 32-bit lane of b and w, in int32.
// Register tile: SM_I8_MR channels x SM_I8_NV vectors of 8 pixels, one 32-bit weight broadcast per channel.

static inline __attribute__((always_inline)) void SM_I8_FN(u8_micro)(const int NV, int32_t groups,
                                                                    const int8_t *restrict a,
                                                                    const uint8_t *restrict b, size_t ldb,
                                                                    const sm_i8_ep *e, int32_t o0, int32_t rows,
                                                                    size_t at, size_t plane, int32_t n) {
    __m256i acc[SM_I8_MR][SM_I8_NV];
    for (int r = 0; r < SM_I8_MR; r++)
        for (int v = 0; v < NV; v++) acc[r][v] = _mm256_setzero_si256();
    for (int32_t g = 0; g < groups; g++) {
        __m256i bv[SM_I8_NV];
        for (int v = 0; v < NV; v++) bv[v] = _mm256_loadu_si256((const __m256i *)(b + v * 32));
        for (int r = 0; r < SM_I8_MR; r++) {
            int32_t w;
            memcpy(&w, a + 4 * r, 4);
            const __m256i wr = _mm256_set1_epi32(w);
            for (int v = 0; v < NV; v++) acc[r][v] = SM_I8_DOT4(acc[r][v], bv[v], wr);
        }
        a += SM_I8_MR * 4;
        b += ldb;
    }
    for (int r = 0; r < SM_I8_MR; r++) {
        if (r >= rows) break;
        for (int v = 0; v < NV; v++)
            sm_i8_y_finish(acc[r][v], e, o0 + r, at + (size_t)r * plane + (size_t)v * 8, n - v * 8);
    }
}

static void SM_I8_FN(tile)(int32_t nv, int32_t groups, const int8_t *a, const uint8_t *b, size_t ldb,
                           const sm_i8_ep *e, int32_t o0, int32_t rows, size_t at, size_t plane, int32_t n) {
    switch (nv) {
    case 1: SM_I8_FN(u8_micro)(1, groups, a, b, ldb, e, o0, rows, at, plane, n); break;
#if SM_I8_NV >= 2
    case 2: SM_I8_FN(u8_micro)(2, groups, a, b, ldb, e, o0, rows, at, plane, n); break;
#endif
#if SM_I8_NV >= 3
    case 3: SM_I8_FN(u8_micro)(3, groups, a, b, ldb, e, o0, rows, at, plane, n); break;
#endif
    default: break;
    }
}

static void SM_I8_FN(interleave)(uint8_t *dst, const uint8_t *const *rows, size_t n) {
    sm_i8_x86_interleave4(dst, rows, n);
}
