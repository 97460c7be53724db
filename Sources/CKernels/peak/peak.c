// Arithmetic peak probes for benchmark reports. Each probe runs independent accumulator chains (more chains than
// latency x ports, so the FMA / dot-product units never wait) in batches until the time budget is spent. Per-function
// target attributes keep the file buildable for any x86-64; callers' tiers are checked at run time.
#include "siam_peak.h"

#include <stdint.h>
#include <time.h>

static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

// Sink for the accumulators, so the compiler cannot drop the chains.
static volatile float float_sink;
static volatile int32_t int_sink;

enum { BATCH = 4096 };

// The best rate over 2 ms slices, in batches per second: on a shared machine a slice that lost the core to another
// process (or its SMT sibling) says nothing about the hardware, and the fastest one is the closest to the peak.
typedef struct {
    double start, slice_start, best;
    long batches;
} probe_clock;

static probe_clock probe_begin(void) {
    double t = now_seconds();
    probe_clock c = {t, t, 0, 0};
    return c;
}

// Counts one batch; returns nonzero while the budget lasts.
static int probe_tick(probe_clock *c, double seconds) {
    c->batches++;
    double t = now_seconds(), slice = t - c->slice_start;
    if (slice >= 0.002 || t - c->start >= seconds) {
        double rate = (double)c->batches / slice;
        if (rate > c->best) c->best = rate;
        c->slice_start = t;
        c->batches = 0;
    }
    return t - c->start < seconds;
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

// 16 chains: zmm FMA has latency 4 and up to 2 ports, so 8 would do; more hides scheduling noise.
__attribute__((target("avx512f"))) static double fp32_avx512(double seconds) {
    __m512 acc[16];
    for (int i = 0; i < 16; i++) acc[i] = _mm512_set1_ps((float)i * 0.001f);
    const __m512 m = _mm512_set1_ps(0.9999999f), c = _mm512_set1_ps(1e-7f);
    probe_clock timer = probe_begin();
    do {
        for (int k = 0; k < BATCH; k++)
            for (int i = 0; i < 16; i++) acc[i] = _mm512_fmadd_ps(acc[i], m, c);
    } while (probe_tick(&timer, seconds));
    __m512 s = acc[0];
    for (int i = 1; i < 16; i++) s = _mm512_add_ps(s, acc[i]);
    float_sink = _mm512_reduce_add_ps(s);
    return timer.best * BATCH * 16 * 16 * 2 * 1e-9;
}

// 10 chains fit the 16 ymm registers with the two constants.
__attribute__((target("avx2,fma"))) static double fp32_avx2(double seconds) {
    __m256 acc[10];
    for (int i = 0; i < 10; i++) acc[i] = _mm256_set1_ps((float)i * 0.001f);
    const __m256 m = _mm256_set1_ps(0.9999999f), c = _mm256_set1_ps(1e-7f);
    probe_clock timer = probe_begin();
    do {
        for (int k = 0; k < BATCH; k++)
            for (int i = 0; i < 10; i++) acc[i] = _mm256_fmadd_ps(acc[i], m, c);
    } while (probe_tick(&timer, seconds));
    __m256 s = acc[0];
    for (int i = 1; i < 10; i++) s = _mm256_add_ps(s, acc[i]);
    float lanes[8];
    _mm256_storeu_ps(lanes, s);
    float_sink = lanes[0] + lanes[7];
    return timer.best * BATCH * 10 * 8 * 2 * 1e-9;
}

// vpdpbusd zmm: 16 lanes x 4 u8*s8 products per instruction.
__attribute__((target("avx512f,avx512bw,avx512vnni"))) static double int8_avx512vnni(double seconds) {
    __m512i acc[16];
    for (int i = 0; i < 16; i++) acc[i] = _mm512_set1_epi32(i);
    const __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(-2);
    probe_clock timer = probe_begin();
    do {
        for (int k = 0; k < BATCH; k++)
            for (int i = 0; i < 16; i++) acc[i] = _mm512_dpbusd_epi32(acc[i], a, b);
    } while (probe_tick(&timer, seconds));
    __m512i s = acc[0];
    for (int i = 1; i < 16; i++) s = _mm512_add_epi32(s, acc[i]);
    int_sink = _mm512_reduce_add_epi32(s);
    return timer.best * BATCH * 16 * 64 * 2 * 1e-9;
}

// vpdpbusd ymm (VEX encoding): 8 lanes x 4 products.
__attribute__((target("avx2,avxvnni"))) static double int8_avxvnni(double seconds) {
    __m256i acc[12];
    for (int i = 0; i < 12; i++) acc[i] = _mm256_set1_epi32(i);
    const __m256i a = _mm256_set1_epi8(3), b = _mm256_set1_epi8(-2);
    probe_clock timer = probe_begin();
    do {
        for (int k = 0; k < BATCH; k++)
            for (int i = 0; i < 12; i++) acc[i] = _mm256_dpbusd_avx_epi32(acc[i], a, b);
    } while (probe_tick(&timer, seconds));
    __m256i s = acc[0];
    for (int i = 1; i < 12; i++) s = _mm256_add_epi32(s, acc[i]);
    int32_t lanes[8];
    _mm256_storeu_si256((__m256i *)lanes, s);
    int_sink = lanes[0] + lanes[7];
    return timer.best * BATCH * 12 * 32 * 2 * 1e-9;
}

// AVX2 has no byte dot product: vpmaddubsw (u8 x s8 pairs -> s16), vpmaddwd with ones (-> s32), vpaddd; 32 products
// per ymm. The empty asm makes `a` opaque each iteration, so the multiplies cannot be hoisted out of the loop.
__attribute__((target("avx2"))) static double int8_avx2(double seconds) {
    __m256i acc[6], b[6];
    for (int i = 0; i < 6; i++) {
        acc[i] = _mm256_set1_epi32(i);
        b[i] = _mm256_set1_epi8((char)(i - 3));
    }
    __m256i a = _mm256_set1_epi8(3);
    const __m256i ones = _mm256_set1_epi16(1);
    probe_clock timer = probe_begin();
    do {
        for (int k = 0; k < BATCH; k++) {
            __asm__ volatile("" : "+x"(a));
            for (int i = 0; i < 6; i++)
                acc[i] = _mm256_add_epi32(acc[i], _mm256_madd_epi16(_mm256_maddubs_epi16(a, b[i]), ones));
        }
    } while (probe_tick(&timer, seconds));
    __m256i s = acc[0];
    for (int i = 1; i < 6; i++) s = _mm256_add_epi32(s, acc[i]);
    int32_t lanes[8];
    _mm256_storeu_si256((__m256i *)lanes, s);
    int_sink = lanes[0] + lanes[7];
    return timer.best * BATCH * 6 * 32 * 2 * 1e-9;
}

// The tiers' own support checks (the shared CPU-feature probe) decide whether a probe may run.
double sm_peak_fp32_gflops(sm_tier tier, double seconds) {
    if (!sm_tier_supported(tier)) return 0;
    switch (tier) {
    case SM_TIER_AVX512: return fp32_avx512(seconds);
    case SM_TIER_AVX2: return fp32_avx2(seconds);
    default: return 0;
    }
}

double sm_peak_int8_gops(sm_int8_tier tier, double seconds) {
    if (!sm_int8_tier_supported(tier)) return 0;
    switch (tier) {
    case SM_INT8_TIER_AVX512VNNI: return int8_avx512vnni(seconds);
    case SM_INT8_TIER_AVXVNNI: return int8_avxvnni(seconds);
    case SM_INT8_TIER_AVX2: return int8_avx2(seconds);
    default: return 0;
    }
}

#else

double sm_peak_fp32_gflops(sm_tier tier, double seconds) {
    (void)tier;
    (void)seconds;
    return 0;
}

double sm_peak_int8_gops(sm_int8_tier tier, double seconds) {
    (void)tier;
    (void)seconds;
    (void)probe_begin;
    (void)probe_tick;
    float_sink = 0;
    int_sink = 0;
    return 0;
}

#endif
