// int8_micro_x86.h — the x86 int8 convolution micro-kernel, written once for every x86 path over a thin integer
// vector layer: a 32-bit lane of B holds G consecutive k of one pixel (G = 4 uint8, or G = 2 zero-extended int16)
// and a 32-bit broadcast holds one channel's G weights. The dot product of a lane is the path's instructions:
//   AVX-512 VNNI              vpdpbusd zmm (u8 x s8, 4 products)
//   AVX-VNNI                  vpdpbusd ymm
//   AVX2, 7-bit weights       vpmaddubsw + vpmaddwd by ones (u8 x s7 pair sums cannot saturate int16: 2*255*63)
//   AVX2, 8-bit weights       vpmaddwd on int16 (exact: |pair| <= 2 * 255 * 128)
// All exact, so every path gives the reference's bytes. Included inside the tier's target region, before
// int8_gemm_driver.h; the including file defines SM_I8_FN, SM_I8_MR, SM_I8_NV, SM_I8_VL (pixels per vector), SM_I8_G,
// SM_I8_ATYPE, SM_I8_BTYPE and the layer:
//   sm_i8_vi                         the integer vector type
//   SM_I8_VI_ZERO(), SM_I8_VI_LOAD(p), SM_I8_VI_SET1(w)   zero, unaligned load, 32-bit broadcast
//   SM_I8_VI_STORE(p, v), SM_I8_VI_SUB(a, b)               unaligned store, int32 subtraction
//   SM_I8_DOT(acc, b, w)             acc + the products of each 32-bit lane of b and w, in int32
//   SM_I8_FINISH(acc, e, o, at, n)   the siam_int8.h epilogue of one vector of channel o, n valid pixels from at
//   SM_I8_INTERLEAVE(dst, rows, n)   the B interleave of the path (see int8_gemm_driver.h)
// Register tile: SM_I8_MR channels x SM_I8_NV vectors of SM_I8_VL pixels.

#ifndef SM_I8_FINISH_RAW
// The "epilogue" of Winograd's GEMMs: the raw int32 sums minus e->terms[o] into e->out_i32 (o relative to the
// block of output channels; whole vectors, the buffer has room).
#define SM_I8_FINISH_RAW(acc, e, o, at, n)                                                    \
    do {                                                                                      \
        (void)(n);                                                                            \
        SM_I8_VI_STORE((e)->out_i32 + (at), SM_I8_VI_SUB(acc, SM_I8_VI_SET1((e)->terms[o]))); \
    } while (0)
#endif

static inline __attribute__((always_inline)) void
SM_I8_FN(micro)(const int NV, int32_t groups, const SM_I8_ATYPE *restrict a, const SM_I8_BTYPE *restrict b, size_t ldb,
                const sm_i8_ep *e, int32_t o0, int32_t rows, size_t at, size_t plane, int32_t n) {
    sm_i8_vi acc[SM_I8_MR][SM_I8_NV];
    for (int r = 0; r < SM_I8_MR; r++)
        for (int v = 0; v < NV; v++) acc[r][v] = SM_I8_VI_ZERO();
    for (int32_t g = 0; g < groups; g++) {
        sm_i8_vi bv[SM_I8_NV];
        for (int v = 0; v < NV; v++) bv[v] = SM_I8_VI_LOAD(b + v * SM_I8_VL * SM_I8_G);
        for (int r = 0; r < SM_I8_MR; r++) {
            int32_t w;
            memcpy(&w, a + SM_I8_G * r, 4);
            const sm_i8_vi wr = SM_I8_VI_SET1(w);
            for (int v = 0; v < NV; v++) acc[r][v] = SM_I8_DOT(acc[r][v], bv[v], wr);
        }
        a += SM_I8_MR * SM_I8_G;
        b += ldb;
    }
    for (int r = 0; r < SM_I8_MR; r++) {
        if (r >= rows) break;
        for (int v = 0; v < NV; v++)
            SM_I8_FINISH(acc[r][v], e, o0 + r, at + (size_t)r * plane + (size_t)v * SM_I8_VL, n - v * SM_I8_VL);
    }
}

static void SM_I8_FN(tile)(int32_t nv, int32_t groups, const SM_I8_ATYPE *a, const SM_I8_BTYPE *b, size_t ldb,
                           const sm_i8_ep *e, int32_t o0, int32_t rows, size_t at, size_t plane, int32_t n) {
    switch (nv) {
#define SM_I8_CASE(NV) \
    case NV: SM_I8_FN(micro)(NV, groups, a, b, ldb, e, o0, rows, at, plane, n); break;
        SM_I8_CASE(1)
#if SM_I8_NV >= 2
        SM_I8_CASE(2)
#endif
#if SM_I8_NV >= 3
        SM_I8_CASE(3)
#endif
#if SM_I8_NV >= 4
        SM_I8_CASE(4)
#endif
#if SM_I8_NV >= 5
        SM_I8_CASE(5)
#endif
#if SM_I8_NV >= 6
        SM_I8_CASE(6)
#endif
#undef SM_I8_CASE
    default: break;
    }
}

__attribute__((unused)) static void SM_I8_FN(interleave)(SM_I8_BTYPE *dst, const uint8_t *const *rows, size_t n) {
    SM_I8_INTERLEAVE(dst, rows, n);
}
