// dispatch.c — the choice of fp32 kernel table, made once per process from the shared CPU-feature probe and
// SIAMMASK_MAX_TIER cap (cpu_features.c).
#include "kernels_internal.h"

#include <pthread.h>
#include <strings.h>

int sm_tier_supported(sm_tier tier) {
    const sm_cpu_features *cpu = sm_cpu();
    switch (tier) {
    case SM_TIER_REFERENCE: return 1;
    case SM_TIER_AVX2: return cpu->avx2 && cpu->fma;
    case SM_TIER_AVX512: return cpu->avx512 && cpu->fma;
    default: return 0;
    }
}

// Each fp32 tier's place on the shared cap scale.
static int sm_tier_level(sm_tier tier) {
    switch (tier) {
    case SM_TIER_AVX2: return SM_LEVEL_BASE;
    case SM_TIER_AVX512: return SM_LEVEL_WIDE;
    default: return SM_LEVEL_REFERENCE;
    }
}

const sm_kernel_table *sm_kernels_for_tier(sm_tier tier) {
    switch (tier) {
    case SM_TIER_REFERENCE: return &sm_reference_table;
#if defined(__x86_64__)
    case SM_TIER_AVX2: return &sm_avx2_table;
    case SM_TIER_AVX512: return &sm_avx512_table;
#endif
    default: return NULL;
    }
}

int sm_tier_from_name(const char *name) {
    if (!name) return -1;
    if (strcasecmp(name, "reference") == 0) return SM_TIER_REFERENCE;
    if (strcasecmp(name, "avx2") == 0) return SM_TIER_AVX2;
    if (strcasecmp(name, "avx512") == 0) return SM_TIER_AVX512;
    return -1;
}

static sm_tier sm_tier_for_level(int limit) {
    for (int t = SM_TIER_COUNT - 1; t > SM_TIER_REFERENCE; t--) {
        if (sm_tier_level((sm_tier)t) <= limit && sm_kernels_for_tier((sm_tier)t) && sm_tier_supported((sm_tier)t))
            return (sm_tier)t;
    }
    return SM_TIER_REFERENCE;
}

// Any family's tier name caps the fp32 kernels at its level (avx512vnni: avx512; avxvnni: avx2; neon: reference).
sm_tier sm_tier_for_cap(const char *cap) { return sm_tier_for_level(sm_cap_level_or_any(cap)); }

static pthread_once_t sm_active_once = PTHREAD_ONCE_INIT;
static sm_tier sm_active = SM_TIER_REFERENCE;

static void sm_choose_active_tier(void) { sm_active = sm_tier_for_level(sm_environment_cap_level()); }

sm_tier sm_active_tier(void) {
    pthread_once(&sm_active_once, sm_choose_active_tier);
    return sm_active;
}

const sm_kernel_table *sm_kernels(void) { return sm_kernels_for_tier(sm_active_tier()); }
