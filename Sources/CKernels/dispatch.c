// dispatch.c — CPU-feature detection and the choice of kernel table, made once per process.
#include "kernels_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

int sm_tier_supported(sm_tier tier) {
    switch (tier) {
    case SM_TIER_REFERENCE:
        return 1;
#if defined(__x86_64__)
    case SM_TIER_AVX2:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case SM_TIER_AVX512:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vl");
#endif
    default:
        return 0;
    }
}

const sm_kernel_table *sm_kernels_for_tier(sm_tier tier) {
    switch (tier) {
    case SM_TIER_REFERENCE:
        return &sm_reference_table;
#if defined(__x86_64__)
    case SM_TIER_AVX2:
        return &sm_avx2_table;
    case SM_TIER_AVX512:
        return &sm_avx512_table;
#endif
    default:
        return NULL;
    }
}

int sm_tier_from_name(const char *name) {
    if (!name) return -1;
    if (strcasecmp(name, "reference") == 0) return SM_TIER_REFERENCE;
    if (strcasecmp(name, "avx2") == 0) return SM_TIER_AVX2;
    if (strcasecmp(name, "avx512") == 0) return SM_TIER_AVX512;
    return -1;
}

sm_tier sm_tier_for_cap(const char *cap) {
    int limit = SM_TIER_COUNT - 1;
    if (cap) {
        int parsed = sm_tier_from_name(cap);
        // The int8 tier names cap the fp32 kernels at the matching level (one variable caps both families).
        if (parsed < 0 && strcasecmp(cap, "avx512vnni") == 0) parsed = SM_TIER_AVX512;
        if (parsed < 0 && strcasecmp(cap, "avxvnni") == 0) parsed = SM_TIER_AVX2;
        if (parsed < 0 && (strcasecmp(cap, "neon") == 0 || strcasecmp(cap, "neondot") == 0)) parsed = SM_TIER_REFERENCE;
        if (parsed < 0)
            fprintf(stderr, "siammask: ignoring unknown SIAMMASK_MAX_TIER '%s' (use reference, avx2 or avx512)\n",
                    cap);
        else
            limit = parsed;
    }
    for (int t = limit; t > SM_TIER_REFERENCE; t--) {
        if (sm_kernels_for_tier((sm_tier)t) && sm_tier_supported((sm_tier)t)) return (sm_tier)t;
    }
    return SM_TIER_REFERENCE;
}

static pthread_once_t sm_active_once = PTHREAD_ONCE_INIT;
static sm_tier sm_active = SM_TIER_REFERENCE;

static void sm_choose_active_tier(void) {
    sm_active = sm_tier_for_cap(getenv("SIAMMASK_MAX_TIER"));
}

sm_tier sm_active_tier(void) {
    pthread_once(&sm_active_once, sm_choose_active_tier);
    return sm_active;
}

const sm_kernel_table *sm_kernels(void) {
    return sm_kernels_for_tier(sm_active_tier());
}
