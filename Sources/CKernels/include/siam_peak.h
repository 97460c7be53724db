#ifndef SIAM_PEAK_H
#define SIAM_PEAK_H

#include "siam_int8.h"
#include "siam_kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

// Single-thread arithmetic peaks of this CPU, measured by running many independent chains of the tier's
// multiply-accumulate instruction for about `seconds` (0.02-0.05 is enough). They are the denominators of
// "% of peak" in benchmark reports.

// fp32 FMA peak in GFLOP/s (2 flops per FMA lane): AVX-512 (zmm vfmadd) or AVX2 (ymm vfmadd). 0 for the reference
// tier, a tier the CPU lacks, or a non-x86 build.
double sm_peak_fp32_gflops(sm_tier tier, double seconds);

// int8 multiply-accumulate peak in GOP/s (2 ops per u8 x s8 MAC): AVX-512 VNNI (zmm vpdpbusd), AVX-VNNI (ymm
// vpdpbusd) or AVX2 (vpmaddubsw + vpmaddwd + vpaddd). 0 for other tiers, a tier the CPU lacks, or a non-x86 build.
double sm_peak_int8_gops(sm_int8_tier tier, double seconds);

#ifdef __cplusplus
}
#endif

#endif
