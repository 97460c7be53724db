// int8_micro256.h — the 256-bit int8 convolution micro-kernel, written once for every 256-bit x86 path: a 32-bit
// lane of B holds G consecutive k of one pixel (G = 4 uint8, or G = 2 zero-extended int16) and a 32-bit broadcast
// holds one channel's G weights. The dot product of a lane is the path's instruction sequence:
//   AVX-VNNI                  vpdpbusd (u8 x s8, 4 products)
//   AVX2, 7-bit weights       vpmaddubsw + vpmaddwd by ones (u8 x s7 pair sums cannot saturate int16: 2*255*63)
//   AVX2, 8-bit weights       vpmaddwd on int16 (exact: |pair| <= 2 * 255 * 128)
// All exact, so every path gives the reference's bytes. Included inside the tier's target region, before
// int8_gemm_driver.h; the including file defines SM_I8_FN, SM_I8_MR, SM_I8_NV, SM_I8_G, SM_I8_ATYPE, SM_I8_BTYPE,
//   SM_I8_DOT(acc, b, w): acc + the products of each 32-bit lane of b and w, in int32;
//   SM_I8_INTERLEAVE(dst, rows, n): the B interleave of the path (see int8_gemm_driver.h).
// Register tile: SM_I8_MR channels x SM_I8_NV vectors of 8 pixels.

static inline __attribute__((always_inline)) void SM_I8_FN(u8_micro)(const int NV, int32_t groups,
                                                                    const SM_I8_ATYPE *restrict a,
                                                                    const SM_I8_BTYPE *restrict b, size_t ldb,
                                                                    const sm_i8_ep *e, int32_t o0, int32_t rows,
                                                                    size_t at, size_t plane, int32_t n) {
    __m256i acc[SM_I8_MR][SM_I8_NV];
    for (int r = 0; r < SM_I8_MR; r++)
        for (int v = 0; v < NV; v++) acc[r][v] = _mm256_setzero_si256();
    for (int32_t g = 0; g < groups; g++) {
        __m256i bv[SM_I8_NV];
        for (int v = 0; v < NV; v++) bv[v] = _mm256_loadu_si256((const __m256i *)(b + v * 8 * SM_I8_G));
        for (int r = 0; r < SM_I8_MR; r++) {
            int32_t w;
            memcpy(&w, a + SM_I8_G * r, 4);
            const __m256i wr = _mm256_set1_epi32(w);
            for (int v = 0; v < NV; v++) acc[r][v] = SM_I8_DOT(acc[r][v], bv[v], wr);
        }
        a += SM_I8_MR * SM_I8_G;
        b += ldb;
    }
    for (int r = 0; r < SM_I8_MR; r++) {
        if (r >= rows) break;
        for (int v = 0; v < NV; v++)
            sm_i8_y_finish(acc[r][v], e, o0 + r, at + (size_t)r * plane + (size_t)v * 8, n - v * 8);
    }
}

static void SM_I8_FN(tile)(int32_t nv, int32_t groups, const SM_I8_ATYPE *a, const SM_I8_BTYPE *b, size_t ldb,
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

static void SM_I8_FN(interleave)(SM_I8_BTYPE *dst, const uint8_t *const *rows, size_t n) {
    SM_I8_INTERLEAVE(dst, rows, n);
}
