// siam_image.h — the image operations of the tracker, written to reproduce OpenCV 4.6 (the Python reference
// tracker's cv2) bit for bit:
//   - sm_resize_bilinear_u8*   cv2.resize(src, (dw, dh), interpolation=INTER_LINEAR) on uint8 HxWxC
//   - sm_warp_affine_f32*      cv2.warpAffine(float32 HxW, M, (W, H), INTER_LINEAR, BORDER_CONSTANT, value)
//   - sm_find_contours_external cv2.findContours(binary, RETR_EXTERNAL, CHAIN_APPROX_NONE)
//   - sm_contour_area          cv2.contourArea
//   - sm_convex_hull           cv2.convexHull(points, clockwise, returnPoints=False) (indices)
//   - sm_min_area_rect         cv2.minAreaRect (4.5.1+ angle convention)
//   - sm_box_points            cv2.boxPoints
// Each of resize and warp has a plain per-pixel reference (`_reference`) and a faster twin that must give
// identical bytes. Everything is portable C (no intrinsics), single-threaded, and has no global state.
#ifndef SIAM_IMAGE_H
#define SIAM_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// Status codes.
#define SM_IMAGE_OK 0
#define SM_IMAGE_BAD_ARGUMENT (-1)
#define SM_IMAGE_OUT_OF_MEMORY (-2)

// ---- Resize ------------------------------------------------------------------------------------------------
// src: src_h rows of src_w*channels bytes (interleaved channels, e.g. BGR), rows src_stride bytes apart;
// dst likewise. channels 1..4. All sizes >= 1. Source and destination must not overlap.
// Same size: a copy. Exact 2x shrink in both directions: OpenCV switches to its INTER_AREA fast path
// ((a+b+c+d+2)>>2). Otherwise OpenCV's fixed-point bilinear (11-bit coefficients, half-pixel centres, clamped
// borders), including its SIMD vertical pass, whose rounding differs from the scalar tail: see resize_bilinear.c.
int sm_resize_bilinear_u8(const uint8_t *src, int32_t src_w, int32_t src_h, size_t src_stride, int32_t channels,
                          uint8_t *dst, int32_t dst_w, int32_t dst_h, size_t dst_stride);
int sm_resize_bilinear_u8_reference(const uint8_t *src, int32_t src_w, int32_t src_h, size_t src_stride,
                                    int32_t channels, uint8_t *dst, int32_t dst_w, int32_t dst_h, size_t dst_stride);

// The tracker's crop (get_subwindow_tracking): the src_w x src_h window of `image` (image_h rows of
// image_w*channels bytes, image_stride apart) whose top-left pixel is image pixel (x0, y0) — any position: the
// window may reach past any side of the image, or miss it — with every pixel outside the image taking the colour
// `fill` (channels bytes), resized exactly as sm_resize_bilinear_u8 resizes that window built in full. It is not
// built: each source row the resize reads is formed on demand, so the memory is O(src_w) (3 rows), not
// O(src_w * src_h). |x0|, |y0| <= INT32_MAX.
int sm_crop_resize_bilinear_u8(const uint8_t *image, int32_t image_w, int32_t image_h, size_t image_stride,
                               int32_t channels, int64_t x0, int64_t y0, int32_t src_w, int32_t src_h,
                               const uint8_t *fill, uint8_t *dst, int32_t dst_w, int32_t dst_h, size_t dst_stride);
int sm_crop_resize_bilinear_u8_reference(const uint8_t *image, int32_t image_w, int32_t image_h, size_t image_stride,
                                         int32_t channels, int64_t x0, int64_t y0, int32_t src_w, int32_t src_h,
                                         const uint8_t *fill, uint8_t *dst, int32_t dst_w, int32_t dst_h,
                                         size_t dst_stride);

// ---- Warp ---------------------------------------------------------------------------------------------------
// Single-channel float32. m: the 2x3 forward matrix, row-major, as passed to cv2.warpAffine (dst = M * src);
// it is inverted the way OpenCV inverts it unless inverse_map != 0 (WARP_INVERSE_MAP: m maps dst to src).
// Strides are in floats. Destination pixels whose bilinear footprint leaves the source get border_value
// (blended at the edge, as BORDER_CONSTANT does). Source coordinates are quantised to 1/32 pixel as in OpenCV.
int sm_warp_affine_f32(const float *src, int32_t src_w, int32_t src_h, size_t src_stride, float *dst, int32_t dst_w,
                       int32_t dst_h, size_t dst_stride, const double m[6], int32_t inverse_map, float border_value);
int sm_warp_affine_f32_reference(const float *src, int32_t src_w, int32_t src_h, size_t src_stride, float *dst,
                                 int32_t dst_w, int32_t dst_h, size_t dst_stride, const double m[6],
                                 int32_t inverse_map, float border_value);

// ---- Contours -----------------------------------------------------------------------------------------------
typedef struct sm_point {
    int32_t x, y;
} sm_point;

// All external contours, in OpenCV's order. Contour i is points[offsets[i] ..< offsets[i+1]].
typedef struct sm_contours {
    int32_t count;
    int32_t *offsets;   // count + 1 entries
    sm_point *points;   // offsets[count] entries
} sm_contours;

// mask: h rows of w bytes, stride bytes apart; nonzero = foreground. w, h >= 1. On success *out owns malloc'ed
// arrays: release them with sm_contours_free. On failure *out is empty.
int sm_find_contours_external(const uint8_t *mask, int32_t w, int32_t h, size_t stride, sm_contours *out);
void sm_contours_free(sm_contours *contours);

// Green's formula as cv2.contourArea (absolute value unless oriented != 0). 0 for n == 0.
double sm_contour_area(const sm_point *points, int32_t n, int32_t oriented);

// Convex hull as cv2.convexHull(points, clockwise=..., returnPoints=False): writes the hull's point indices in
// OpenCV's order to indices (room for n) and returns their count (0 for n == 0; < 0 on allocation failure).
int32_t sm_convex_hull(const sm_point *points, int32_t n, int32_t clockwise, int32_t *indices);

typedef struct sm_rotated_rect {
    float center_x, center_y;
    float width, height;
    float angle;   // degrees, OpenCV 4.5.1+ convention
} sm_rotated_rect;

// cv2.minAreaRect over integer points. Returns SM_IMAGE_OK, or SM_IMAGE_BAD_ARGUMENT for n <= 0.
int sm_min_area_rect(const sm_point *points, int32_t n, sm_rotated_rect *out);

// cv2.boxPoints: the 4 corners as x0, y0, x1, y1, ..., x3, y3.
void sm_box_points(sm_rotated_rect rect, float out[8]);

#ifdef __cplusplus
}
#endif

#endif
