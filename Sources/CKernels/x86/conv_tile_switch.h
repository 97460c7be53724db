// conv_tile_switch.h — the fp32 GEMM micro-kernel's instantiations and its tile dispatcher, written once for the x86
// tiers: one function per (width in vectors, partial last vector, prefetch of A) so that each inner loop is compiled
// for its case, and SM_FN(tile) (the entry conv_gemm_driver.h documents) picking one. Included by each tier's
// convolution file inside its target region, before conv_gemm_driver.h; the tier defines SM_FN, SM_VL, SM_NV (<= 6),
// SM_VMASK (its lane-mask type), SM_FN(mask)(lanes) and the always-inline body
//   SM_FN(micro)(NV, MASKED, PF, kc, a, b, ldb, c, ldc, SM_VMASK m, const sm_tile_epilogue *e).

#define SM_MICRO_ONE(NV, MASKED, PF)                                                                                  \
    static void SM_FN(micro_##NV##_##MASKED##_##PF)(int32_t kc, const float *a, const float *b, ptrdiff_t ldb,        \
                                                    float *c, ptrdiff_t ldc, SM_VMASK m, const sm_tile_epilogue *e) { \
        SM_FN(micro)(NV, MASKED, PF, kc, a, b, ldb, c, ldc, m, e);                                                    \
    }
#define SM_MICRO_WIDTH(NV) \
    SM_MICRO_ONE(NV, 0, 0) \
    SM_MICRO_ONE(NV, 0, 1) \
    SM_MICRO_ONE(NV, 1, 0) \
    SM_MICRO_ONE(NV, 1, 1)
SM_MICRO_WIDTH(1)
#if SM_NV >= 2
SM_MICRO_WIDTH(2)
#endif
#if SM_NV >= 3
SM_MICRO_WIDTH(3)
#endif
#if SM_NV >= 4
SM_MICRO_WIDTH(4)
#endif
#if SM_NV >= 5
SM_MICRO_WIDTH(5)
#endif
#if SM_NV >= 6
SM_MICRO_WIDTH(6)
#endif
#undef SM_MICRO_WIDTH
#undef SM_MICRO_ONE

static void SM_FN(tile)(int32_t nv, int32_t last_lanes, int32_t kc, const float *a, const float *b, ptrdiff_t ldb,
                        float *c, ptrdiff_t ldc, const sm_tile_epilogue *e) {
    const int masked = last_lanes != SM_VL;
    const SM_VMASK m = SM_FN(mask)(last_lanes);
    switch (nv * 2 + masked) {
#define SM_CASE(NV)                                                            \
    case NV * 2:                                                               \
        if (e->stream_a) SM_FN(micro_##NV##_0_1)(kc, a, b, ldb, c, ldc, m, e); \
        else SM_FN(micro_##NV##_0_0)(kc, a, b, ldb, c, ldc, m, e);             \
        break;                                                                 \
    case NV * 2 + 1:                                                           \
        if (e->stream_a) SM_FN(micro_##NV##_1_1)(kc, a, b, ldb, c, ldc, m, e); \
        else SM_FN(micro_##NV##_1_0)(kc, a, b, ldb, c, ldc, m, e);             \
        break;
        SM_CASE(1)
#if SM_NV >= 2
        SM_CASE(2)
#endif
#if SM_NV >= 3
        SM_CASE(3)
#endif
#if SM_NV >= 4
        SM_CASE(4)
#endif
#if SM_NV >= 5
        SM_CASE(5)
#endif
#if SM_NV >= 6
        SM_CASE(6)
#endif
#undef SM_CASE
    default: break;
    }
}
