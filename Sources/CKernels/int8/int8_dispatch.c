// int8_dispatch.c — the choice of int8 kernel table, made once per process from the shared CPU-feature probe and
// SIAMMASK_MAX_TIER cap (cpu_features.c; levels in siam_int8.h).
#include "../kernels_internal.h"
#include "int8_internal.h"

#include <pthread.h>
#include <strings.h>

#if defined(__clang__)
#pragma clang fp contract(off)
#pragma STDC FP_CONTRACT OFF   // gcc ignores it: build with -ffp-contract=off
#endif

static const char *const sm_int8_names[SM_INT8_TIER_COUNT] = {"reference",  "avx2", "avxvnni",
                                                              "avx512vnni", "neon", "neondot"};
static const int sm_int8_levels[SM_INT8_TIER_COUNT] = {SM_LEVEL_REFERENCE, SM_LEVEL_BASE, SM_LEVEL_DOT,
                                                       SM_LEVEL_WIDE,      SM_LEVEL_BASE, SM_LEVEL_DOT};

int sm_int8_tier_supported(sm_int8_tier tier) {
    const sm_cpu_features *cpu = sm_cpu();
    switch (tier) {
    case SM_INT8_TIER_REFERENCE: return 1;
    case SM_INT8_TIER_AVX2: return cpu->avx2;
    case SM_INT8_TIER_AVXVNNI: return cpu->avxvnni;
    case SM_INT8_TIER_AVX512VNNI: return cpu->avx512vnni;
    case SM_INT8_TIER_NEON: return cpu->neon;
    case SM_INT8_TIER_NEONDOT: return cpu->neondot;
    default: return 0;
    }
}

const sm_int8_kernel_table *sm_int8_kernels_for_tier(sm_int8_tier tier) {
    switch (tier) {
    case SM_INT8_TIER_REFERENCE: return &sm_int8_reference_table;
#if defined(__x86_64__)
    case SM_INT8_TIER_AVX2: return &sm_int8_avx2_table;
    case SM_INT8_TIER_AVXVNNI: return &sm_int8_avxvnni_table;
    case SM_INT8_TIER_AVX512VNNI: return &sm_int8_avx512vnni_table;
#endif
#if defined(__aarch64__)
    case SM_INT8_TIER_NEON: return &sm_int8_neon_table;
    case SM_INT8_TIER_NEONDOT: return &sm_int8_neondot_table;
#endif
    default: return NULL;
    }
}

int sm_int8_tier_from_name(const char *name) {
    if (!name) return -1;
    for (int t = 0; t < SM_INT8_TIER_COUNT; t++)
        if (strcasecmp(name, sm_int8_names[t]) == 0) return t;
    return -1;
}

int sm_int8_cap_level(const char *name) { return sm_cap_level(name); }

static sm_int8_tier sm_int8_tier_for_level(int limit) {
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

sm_int8_tier sm_int8_tier_for_cap(const char *cap) { return sm_int8_tier_for_level(sm_cap_level_or_any(cap)); }

static pthread_once_t sm_int8_once = PTHREAD_ONCE_INIT;
static sm_int8_tier sm_int8_active = SM_INT8_TIER_REFERENCE;

static void sm_int8_choose(void) { sm_int8_active = sm_int8_tier_for_level(sm_environment_cap_level()); }

sm_int8_tier sm_int8_active_tier(void) {
    pthread_once(&sm_int8_once, sm_int8_choose);
    return sm_int8_active;
}

const sm_int8_kernel_table *sm_int8_kernels(void) { return sm_int8_kernels_for_tier(sm_int8_active_tier()); }

int sm_int8_wd23_supports(const sm_conv2d_shape *s) {
    return s->kernel_h == 3 && s->kernel_w == 3 && s->stride_h == 1 && s->stride_w == 1 && s->in_channels >= 1 &&
           s->in_channels <= SM_I8_WD23_MAX_CHANNELS && s->out_channels >= 1 && s->dilation_h >= 1 &&
           s->dilation_w >= 1 && s->out_height >= 1 && s->out_width >= 1;
}
