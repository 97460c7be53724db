// image_internal.h — small helpers shared by the image operations. The rounding helpers reproduce OpenCV's
// cvRound/cvFloor/saturate_cast on x86 (round half to even, the SSE conversion's INT_MIN for out-of-range
// values). Every file that includes this header must compute exactly in IEEE single/double precision: no
// contraction of a*b+c into a fused multiply-add (OpenCV's x86 build has none in these paths), hence the pragmas.
#ifndef SIAM_IMAGE_INTERNAL_H
#define SIAM_IMAGE_INTERNAL_H

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include <limits.h>
#include <math.h>
#include <stdint.h>

// cvRound(double) as the x86 conversion does it: nearest, ties to even; NaN and out-of-range give INT_MIN.
static inline int32_t sm_round_d(double v) {
    if (!(v > -2147483648.5 && v < 2147483647.5)) return INT32_MIN;
    return (int32_t)lrint(v);
}

// cvRound(float), same rules.
static inline int32_t sm_round_f(float v) {
    if (!(v > -2147483648.0f && v < 2147483648.0f)) return INT32_MIN;
    return (int32_t)lrintf(v);
}

// cvFloor(float) for in-range values.
static inline int32_t sm_floor_f(float v) { return (int32_t)floorf(v); }

static inline int16_t sm_sat_s16(int32_t v) {
    return (int16_t)(v < INT16_MIN ? INT16_MIN : v > INT16_MAX ? INT16_MAX : v);
}

static inline uint8_t sm_sat_u8(int32_t v) { return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v); }

#endif
