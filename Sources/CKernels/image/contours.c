// contours.c — cv2.findContours(binary, RETR_EXTERNAL, CHAIN_APPROX_NONE) and cv2.contourArea, as OpenCV 4.6
// computes them (its Suzuki–Abe border following, contours.cpp; OpenCV 4.9 replaced it with a new implementation).
//
// OpenCV pads the image with one zero pixel on every side, turns every nonzero pixel into 1 and raster-scans the
// padded image (rows 1..H, columns 1..W). It remembers `lnbd`, the last pixel on the current row whose value had
// been relabelled by an earlier trace (anything other than 0 and 1; the row start counts as a zero pixel). A
// transition 0 -> 1 starts an outer border; in RETR_EXTERNAL mode it is traced only when the lnbd pixel is not
// positive, i.e. when the scan is not inside an already traced outer border (a trace labels border pixels 2, or
// -126 when their right neighbour is background: the "right bound"). Holes are never traced, so objects inside
// holes are skipped because the lnbd pixel left of them is a positive label of the enclosing border.
//
// The border follower starts at the first pixel found, looks for its first neighbour clockwise from the west
// (directions numbered 0 = +x, 1 = +x-y, 2 = -y, ... 7 = +x+y, searched downwards from 3), then repeatedly searches
// counter-clockwise from the direction after the one it came from, writing every visited pixel (CHAIN_APPROX_NONE),
// and stops when it is back at the start pixel about to step to the first neighbour again. Contours are returned in
// reverse order of discovery (OpenCV inserts each new contour at the head of its list). Points are in the unpadded
// coordinates.
#include "image_internal.h"
#include "siam_image.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    sm_point *points;
    size_t count, capacity;
    int32_t *starts;   // start index of each contour, in discovery order
    size_t contours, starts_capacity;
    int failed;
} builder;

static void push_point(builder *b, int32_t x, int32_t y) {
    if (b->failed) return;
    if (b->count == b->capacity) {
        size_t cap = b->capacity ? 2 * b->capacity : 256;
        sm_point *p = (sm_point *)realloc(b->points, cap * sizeof(sm_point));
        if (!p) {
            b->failed = 1;
            return;
        }
        b->points = p;
        b->capacity = cap;
    }
    b->points[b->count].x = x;
    b->points[b->count].y = y;
    b->count++;
}

static void start_contour(builder *b) {
    if (b->failed) return;
    if (b->contours == b->starts_capacity) {
        size_t cap = b->starts_capacity ? 2 * b->starts_capacity : 16;
        int32_t *s = (int32_t *)realloc(b->starts, cap * sizeof(int32_t));
        if (!s) {
            b->failed = 1;
            return;
        }
        b->starts = s;
        b->starts_capacity = cap;
    }
    if (b->count > INT32_MAX) {
        b->failed = 1;
        return;
    }
    b->starts[b->contours++] = (int32_t)b->count;
}

enum { LABEL = 2, LABEL_RIGHT = (int8_t)(2 | 0x80) };   // LABEL_RIGHT = -126

static const int8_t step_x[8] = {1, 1, 0, -1, -1, -1, 0, 1};
static const int8_t step_y[8] = {0, -1, -1, -1, 0, 1, 1, 1};

// Follows the outer border that starts at padded pixel index `start` (coordinates sx, sy in the padded image) and
// appends its points, shifted back by the padding.
static void follow_border(int8_t *img, ptrdiff_t step, ptrdiff_t start, int32_t sx, int32_t sy, builder *b) {
    ptrdiff_t delta[16];
    for (int i = 0; i < 8; i++) delta[i] = delta[i + 8] = step_x[i] + step_y[i] * step;

    int s = 4, s_end = 4;
    ptrdiff_t first;   // the first neighbour found clockwise from the west
    do {
        s = (s - 1) & 7;
        first = start + delta[s];
    } while (img[first] == 0 && s != s_end);

    int32_t x = sx - 1, y = sy - 1;
    if (s == s_end) {   // isolated pixel
        img[start] = LABEL_RIGHT;
        push_point(b, x, y);
        return;
    }
    ptrdiff_t cur = start, next = start;
    for (;;) {
        s_end = s;
        while (s < 15) {
            next = cur + delta[++s];
            if (img[next] != 0) break;
        }
        s &= 7;
        // The search passed direction 0 (east) exactly when the east neighbour is background.
        if ((unsigned)(s - 1) < (unsigned)s_end) img[cur] = LABEL_RIGHT;
        else if (img[cur] == 1) img[cur] = LABEL;
        push_point(b, x, y);
        x += step_x[s];
        y += step_y[s];
        if (next == start && cur == first) break;
        cur = next;
        s = (s + 4) & 7;
    }
}

int sm_find_contours_external(const uint8_t *mask, int32_t w, int32_t h, size_t stride, sm_contours *out) {
    if (!out) return SM_IMAGE_BAD_ARGUMENT;
    out->count = 0;
    out->offsets = NULL;
    out->points = NULL;
    if (!mask || w < 1 || h < 1 || stride < (size_t)w || w > INT32_MAX - 2 || h > INT32_MAX - 2)
        return SM_IMAGE_BAD_ARGUMENT;

    const ptrdiff_t step = (ptrdiff_t)w + 2;
    int8_t *img = (int8_t *)calloc((size_t)step * ((size_t)h + 2), 1);
    if (!img) return SM_IMAGE_OUT_OF_MEMORY;
    for (int32_t y = 0; y < h; y++) {
        const uint8_t *m = mask + (size_t)y * stride;
        int8_t *r = img + (y + 1) * step + 1;
        for (int32_t x = 0; x < w; x++) r[x] = m[x] != 0;
    }

    builder b;
    memset(&b, 0, sizeof b);
    const int32_t width = w + 1, height = h + 1;   // scan columns and rows 1 ..< width/height of the padded image
    for (int32_t y = 1; y < height && !b.failed; y++) {
        int8_t *row = img + y * step;
        int32_t lnbd_x = 0;   // last relabelled pixel on this row (column 0 is background)
        int prev = 0;
        for (int32_t x = 1; x < width; x++) {
            int p = row[x];
            if (p == prev) continue;
            if (prev == 0 && p == 1) {
                if (row[lnbd_x] <= 0) {   // not inside a traced outer border
                    start_contour(&b);
                    follow_border(img, step, y * step + x, x, y, &b);
                    lnbd_x = x;
                    prev = row[x];   // the start pixel now carries its label
                    continue;
                }
            } else if (p == 0 && prev >= 1 && (prev & -2)) {
                // A hole border would start here (not traced in this mode); OpenCV moves lnbd to its left pixel.
                lnbd_x = x - 1;
            }
            prev = p;
            if (prev & -2) lnbd_x = x;
        }
    }
    free(img);

    if (b.failed) {
        free(b.points);
        free(b.starts);
        return SM_IMAGE_OUT_OF_MEMORY;
    }
    // Reverse the discovery order.
    const size_t n = b.contours;
    int32_t *offsets = (int32_t *)malloc((n + 1) * sizeof(int32_t));
    sm_point *points = (sm_point *)malloc((b.count ? b.count : 1) * sizeof(sm_point));
    if (!offsets || !points) {
        free(offsets);
        free(points);
        free(b.points);
        free(b.starts);
        return SM_IMAGE_OUT_OF_MEMORY;
    }
    size_t at = 0;
    for (size_t k = 0; k < n; k++) {
        size_t i = n - 1 - k;
        size_t begin = (size_t)b.starts[i], end = i + 1 < n ? (size_t)b.starts[i + 1] : b.count;
        offsets[k] = (int32_t)at;
        memcpy(points + at, b.points + begin, (end - begin) * sizeof(sm_point));
        at += end - begin;
    }
    offsets[n] = (int32_t)at;
    free(b.points);
    free(b.starts);
    out->count = (int32_t)n;
    out->offsets = offsets;
    out->points = points;
    return SM_IMAGE_OK;
}

void sm_contours_free(sm_contours *contours) {
    if (!contours) return;
    free(contours->offsets);
    free(contours->points);
    contours->offsets = NULL;
    contours->points = NULL;
    contours->count = 0;
}

double sm_contour_area(const sm_point *points, int32_t n, int32_t oriented) {
    if (!points || n <= 0) return 0.0;
    // OpenCV converts the points to float and sums in double; for integer coordinates below 2^24 this is exact.
    float px = (float)points[n - 1].x, py = (float)points[n - 1].y;
    double a = 0.0;
    for (int32_t i = 0; i < n; i++) {
        float x = (float)points[i].x, y = (float)points[i].y;
        a += (double)px * y - (double)py * x;
        px = x;
        py = y;
    }
    a *= 0.5;
    return oriented ? a : fabs(a);
}
