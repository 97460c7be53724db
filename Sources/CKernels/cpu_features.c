// cpu_features.c — the one CPU-feature probe and the one reading of SIAMMASK_MAX_TIER, shared by every kernel family
// (fp32 dispatch.c, int8 int8/int8_dispatch.c). Features are probed once, by feature, never by CPU model name.
#include "kernels_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <unistd.h>

#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1UL << 20)
#endif
#elif defined(__aarch64__) && defined(__APPLE__)
#include <sys/sysctl.h>
#endif

static pthread_once_t sm_cpu_once = PTHREAD_ONCE_INIT;
static sm_cpu_features sm_cpu_probed;

static void sm_cpu_probe(void) {
    sm_cpu_features f = {0};
#if defined(__x86_64__)
    __builtin_cpu_init();
    f.avx2 = __builtin_cpu_supports("avx2");
    f.fma = __builtin_cpu_supports("fma");
    f.avx512 =
        __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
    f.avx512vnni = f.avx512 && __builtin_cpu_supports("avx512vnni");
    f.avxvnni = f.avx2 && __builtin_cpu_supports("avxvnni");
#elif defined(__aarch64__)
    f.neon = 1;
#if defined(__linux__)
    f.neondot = (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
#elif defined(__APPLE__)
    int value = 0;
    size_t size = sizeof(value);
    f.neondot = sysctlbyname("hw.optional.arm.FEAT_DotProd", &value, &size, NULL, 0) == 0 && value != 0;
#endif
#endif
#if defined(_SC_LEVEL2_CACHE_SIZE)
    const long l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);   // glibc reads it from cpuid; 0 or -1 when unknown
    f.l2_bytes = l2 > 0 ? (size_t)l2 : 0;
#endif
    sm_cpu_probed = f;
}

size_t sm_l2_block_budget(size_t fallback) {
    const size_t l2 = sm_cpu()->l2_bytes;
    if (l2 < 2 * 64 * 1024) return fallback;   // unknown or implausibly small
    const size_t half = l2 / 2;
    return half > ((size_t)1 << 20) ? ((size_t)1 << 20) : half;
}

const sm_cpu_features *sm_cpu(void) {
    pthread_once(&sm_cpu_once, sm_cpu_probe);
    return &sm_cpu_probed;
}

// Every tier name of every family on one scale of levels.
static const struct {
    const char *name;
    int level;
} sm_cap_names[] = {
    {"reference", SM_LEVEL_REFERENCE}, {"avx2", SM_LEVEL_BASE},   {"neon", SM_LEVEL_BASE},
    {"avxvnni", SM_LEVEL_DOT},         {"neondot", SM_LEVEL_DOT}, {"avx512", SM_LEVEL_WIDE},
    {"avx512vnni", SM_LEVEL_WIDE},
};

int sm_cap_level(const char *name) {
    if (!name) return -1;
    for (size_t i = 0; i < sizeof sm_cap_names / sizeof sm_cap_names[0]; i++)
        if (strcasecmp(name, sm_cap_names[i].name) == 0) return sm_cap_names[i].level;
    return -1;
}

int sm_cap_level_or_any(const char *cap) {
    if (!cap) return SM_LEVEL_WIDE;
    const int level = sm_cap_level(cap);
    if (level >= 0) return level;
    fprintf(stderr,
            "siammask: ignoring unknown SIAMMASK_MAX_TIER '%s' (use reference, avx2, avxvnni, avx512, "
            "avx512vnni, neon or neondot)\n",
            cap);
    return SM_LEVEL_WIDE;
}

static pthread_once_t sm_cap_once = PTHREAD_ONCE_INIT;
static int sm_cap_from_environment = SM_LEVEL_WIDE;

static void sm_cap_read(void) { sm_cap_from_environment = sm_cap_level_or_any(getenv("SIAMMASK_MAX_TIER")); }

int sm_environment_cap_level(void) {
    pthread_once(&sm_cap_once, sm_cap_read);
    return sm_cap_from_environment;
}
