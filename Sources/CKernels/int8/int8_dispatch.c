// int8_dispatch.c — CPU-feature detection and the choice of int8 kernel table, made once per process, under the
// same SIAMMASK_MAX_TIER cap as the fp32 kernels (see siam_int8.h for the levels).
#include "int8_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1UL << 20)
#endif
#elif defined(__aarch64__) && defined(__APPLE__)
#include <sys/sysctl.h>
#endif

#if defined(__clang__)
#pragma clang fp contract(off)
#pragma STDC FP_CONTRACT OFF   // gcc ignores it: build with -ffp-contract=off
#endif

static const char *const sm_int8_names[SM_INT8_TIER_COUNT] = {"reference", "avx2",  "avxvnni",
                                                               "avx512vnni", "neon", "neondot"};
static const int sm_int8_levels[SM_INT8_TIER_COUNT] = {0, 1, 2, 3, 1, 2};

#if defined(__aarch64__)
static int sm_int8_has_dotprod(void) {
#if defined(__linux__)
    return (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
#elif defined(__APPLE__)
    int value = 0;
    size_t size = sizeof(value);
    if (sysctlbyname("hw.optional.arm.FEAT_DotProd", &value, &size, NULL, 0) != 0) return 0;
    return value != 0;
#else
    return 0;
#endif
}
#endif

int sm_int8_tier_supported(sm_int8_tier tier) {
    switch (tier) {
    case SM_INT8_TIER_REFERENCE:
        return 1;
#if defined(__x86_64__)
    case SM_INT8_TIER_AVX2:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2");
    case SM_INT8_TIER_AVXVNNI:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("avxvnni");
    case SM_INT8_TIER_AVX512VNNI:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
#endif
#if defined(__aarch64__)
    case SM_INT8_TIER_NEON:
        return 1;
    case SM_INT8_TIER_NEONDOT:
        return sm_int8_has_dotprod();
#endif
    default:
        return 0;
    }
}

const sm_int8_kernel_table *sm_int8_kernels_for_tier(sm_int8_tier tier) {
    switch (tier) {
    case SM_INT8_TIER_REFERENCE:
        return &sm_int8_reference_table;
#if defined(__x86_64__)
    case SM_INT8_TIER_AVX2:
        return &sm_int8_avx2_table;
    case SM_INT8_TIER_AVXVNNI:
        return &sm_int8_avxvnni_table;
    case SM_INT8_TIER_AVX512VNNI:
        return &sm_int8_avx512vnni_table;
#endif
#if defined(__aarch64__)
    case SM_INT8_TIER_NEON:
        return &sm_int8_neon_table;
    case SM_INT8_TIER_NEONDOT:
        return &sm_int8_neondot_table;
#endif
    default:
        return NULL;
    }
}

int sm_int8_tier_from_name(const char *name) {
    if (!name) return -1;
    for (int t = 0; t < SM_INT8_TIER_COUNT; t++)
        if (strcasecmp(name, sm_int8_names[t]) == 0) return t;
    return -1;
}

int sm_int8_cap_level(const char *name) {
    if (!name) return -1;
    if (strcasecmp(name, "avx512") == 0) return 3;   // the fp32 name: AVX-512 with VNNI for int8
    int t = sm_int8_tier_from_name(name);
    return t < 0 ? -1 : sm_int8_levels[t];
}

sm_int8_tier sm_int8_tier_for_cap(const char *cap) {
    int limit = 3;
    if (cap) {
        int parsed = sm_int8_cap_level(cap);
        if (parsed < 0)
            fprintf(stderr,
                    "siammask: int8 kernels ignore unknown SIAMMASK_MAX_TIER '%s' (use reference, avx2, avxvnni, "
                    "avx512, avx512vnni, neon or neondot)\n",
                    cap);
        else
            limit = parsed;
    }
    sm_int8_tier best = SM_INT8_TIER_REFERENCE;
    int best_level = 0;
    for (int t = 1; t < SM_INT8_TIER_COUNT; t++) {
        const int level = sm_int8_levels[t];
        if (level > limit || level <= best_level) continue;
        if (sm_int8_kernels_for_tier((sm_int8_tier)t) && sm_int8_tier_supported((sm_int8_tier)t)) {
            best = (sm_int8_tier)t;
            best_level = level;
        }
    }
    return best;
}

static pthread_once_t sm_int8_once = PTHREAD_ONCE_INIT;
static sm_int8_tier sm_int8_active = SM_INT8_TIER_REFERENCE;

static void sm_int8_choose(void) {
    sm_int8_active = sm_int8_tier_for_cap(getenv("SIAMMASK_MAX_TIER"));
}

sm_int8_tier sm_int8_active_tier(void) {
    pthread_once(&sm_int8_once, sm_int8_choose);
    return sm_int8_active;
}

const sm_int8_kernel_table *sm_int8_kernels(void) {
    return sm_int8_kernels_for_tier(sm_int8_active_tier());
}
