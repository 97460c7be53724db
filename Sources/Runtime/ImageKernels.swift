import CKernels

/// The tracker's image operations, reproducing OpenCV 4.6 (the reference tracker's cv2) bit for bit:
/// `cv2.resize(..., INTER_LINEAR)` on uint8, `cv2.warpAffine(..., INTER_LINEAR, BORDER_CONSTANT)` on float32,
/// `cv2.findContours(RETR_EXTERNAL, CHAIN_APPROX_NONE)`, `cv2.contourArea`, `cv2.convexHull`, `cv2.minAreaRect` and
/// `cv2.boxPoints`. Thin wrappers over the C kernels in `siam_image.h`; see the C files for the exact arithmetic.
///
/// Images are packed rows of interleaved channels (uint8, e.g. BGR as `cv2.imread` gives) or single-channel float32.
/// Invalid arguments (sizes below 1, wrong buffer lengths) are programming errors and trap.
public enum ImageKernels {
    public typealias Point = (x: Int32, y: Int32)
    public typealias RotatedRect = (center: (x: Float, y: Float), size: (width: Float, height: Float), angle: Float)

    // MARK: Resize

    /// `cv2.resize(src, (toWidth, toHeight), interpolation=cv2.INTER_LINEAR)` for uint8 images of 1...4 channels.
    /// `reference` selects the per-pixel reference twin (same bytes, slower).
    public static func resizeBilinear(
        _ src: [UInt8], width: Int, height: Int, channels: Int, toWidth: Int,
        toHeight: Int, reference: Bool = false
    ) -> [UInt8] {
        precondition(
            src.count == width * height * channels,
            "resizeBilinear: \(src.count) bytes for \(width)x\(height)x\(channels)")
        var out = [UInt8](repeating: 0, count: toWidth * toHeight * channels)
        src.withUnsafeBufferPointer { s in
            out.withUnsafeMutableBufferPointer { d in
                resizeBilinear(
                    s, width: width, height: height, channels: channels, rowStride: width * channels,
                    into: d, toWidth: toWidth, toHeight: toHeight, outputRowStride: toWidth * channels,
                    reference: reference)
            }
        }
        return out
    }

    /// Resize between strided buffers: `src` holds `height` rows of `width * channels` bytes, `rowStride` bytes
    /// apart (e.g. a crop inside a frame: pass the frame's row length and a buffer starting at the crop's first
    /// byte). Likewise for the output.
    public static func resizeBilinear(
        _ src: UnsafeBufferPointer<UInt8>, width: Int, height: Int, channels: Int,
        rowStride: Int, into dst: UnsafeMutableBufferPointer<UInt8>, toWidth: Int,
        toHeight: Int, outputRowStride: Int, reference: Bool = false
    ) {
        precondition(
            width >= 1 && height >= 1 && toWidth >= 1 && toHeight >= 1 && (1...4).contains(channels),
            "resizeBilinear: sizes must be >= 1 and channels 1...4")
        precondition(
            rowStride >= width * channels && src.count >= (height - 1) * rowStride + width * channels,
            "resizeBilinear: source buffer too small")
        precondition(
            outputRowStride >= toWidth * channels && dst.count >= (toHeight - 1) * outputRowStride + toWidth * channels,
            "resizeBilinear: output buffer too small")
        let fn = reference ? sm_resize_bilinear_u8_reference : sm_resize_bilinear_u8
        let rc = fn(
            src.baseAddress, Int32(width), Int32(height), rowStride, Int32(channels), dst.baseAddress,
            Int32(toWidth), Int32(toHeight), outputRowStride)
        precondition(rc == SM_IMAGE_OK, "sm_resize_bilinear_u8 failed (\(rc))")
    }

    /// The padded crop of `get_subwindow_tracking` in one step: the `side` x `side` window of `image` (packed rows,
    /// `channels` interleaved) whose top-left pixel is image pixel (x0, y0), pixels outside the image taking the
    /// colour `fill`, resized to `toWidth` x `toHeight` exactly as `resizeBilinear` resizes that window built in full
    /// (the same bytes), without building it: memory O(side), not O(side^2).
    public static func cropResizeBilinear(
        _ image: [UInt8], width: Int, height: Int, channels: Int, x0: Int, y0: Int,
        side: Int, fill: [UInt8], toWidth: Int, toHeight: Int,
        reference: Bool = false
    ) -> [UInt8] {
        precondition(
            image.count == width * height * channels,
            "cropResizeBilinear: \(image.count) bytes for \(width)x\(height)x\(channels)")
        precondition(
            fill.count == channels && side >= 1 && toWidth >= 1 && toHeight >= 1 && (1...4).contains(channels),
            "cropResizeBilinear: bad sizes")
        var out = [UInt8](repeating: 0, count: toWidth * toHeight * channels)
        let fn = reference ? sm_crop_resize_bilinear_u8_reference : sm_crop_resize_bilinear_u8
        let rc = image.withUnsafeBufferPointer { s in
            out.withUnsafeMutableBufferPointer { d in
                fn(
                    s.baseAddress, Int32(width), Int32(height), width * channels, Int32(channels), Int64(x0), Int64(y0),
                    Int32(side), Int32(side), fill, d.baseAddress, Int32(toWidth), Int32(toHeight), toWidth * channels)
            }
        }
        precondition(rc == SM_IMAGE_OK, "sm_crop_resize_bilinear_u8 failed (\(rc))")
        return out
    }

    // MARK: Warp

    /// `cv2.warpAffine(src, M, (outputWidth, outputHeight), flags=INTER_LINEAR, borderMode=BORDER_CONSTANT,
    /// borderValue=borderValue)` for a single-channel float32 image. `matrix` is M row-major (6 values);
    /// `inverseMap` is `WARP_INVERSE_MAP` (M maps output to source).
    public static func warpAffine(
        _ src: [Float], width: Int, height: Int, matrix: [Double], outputWidth: Int,
        outputHeight: Int, borderValue: Float = -1, inverseMap: Bool = false,
        reference: Bool = false
    ) -> [Float] {
        precondition(src.count == width * height, "warpAffine: \(src.count) floats for \(width)x\(height)")
        precondition(matrix.count == 6, "warpAffine: the matrix has 6 values")
        precondition(
            width >= 1 && height >= 1 && outputWidth >= 1 && outputHeight >= 1, "warpAffine: sizes must be >= 1")
        var out = [Float](repeating: 0, count: outputWidth * outputHeight)
        src.withUnsafeBufferPointer { s in
            out.withUnsafeMutableBufferPointer { d in
                warpAffine(
                    s, width: width, height: height, rowStride: width, matrix: matrix, into: d,
                    outputWidth: outputWidth, outputHeight: outputHeight, outputRowStride: outputWidth,
                    borderValue: borderValue, inverseMap: inverseMap, reference: reference)
            }
        }
        return out
    }

    /// Warp between strided buffers (strides in floats), e.g. into a frame-sized buffer reused across frames.
    public static func warpAffine(
        _ src: UnsafeBufferPointer<Float>, width: Int, height: Int, rowStride: Int,
        matrix: [Double], into dst: UnsafeMutableBufferPointer<Float>, outputWidth: Int,
        outputHeight: Int, outputRowStride: Int, borderValue: Float = -1,
        inverseMap: Bool = false, reference: Bool = false
    ) {
        precondition(matrix.count == 6, "warpAffine: the matrix has 6 values")
        precondition(
            width >= 1 && height >= 1 && outputWidth >= 1 && outputHeight >= 1, "warpAffine: sizes must be >= 1")
        precondition(
            rowStride >= width && src.count >= (height - 1) * rowStride + width, "warpAffine: source buffer too small")
        precondition(
            outputRowStride >= outputWidth && dst.count >= (outputHeight - 1) * outputRowStride + outputWidth,
            "warpAffine: output buffer too small")
        let fn = reference ? sm_warp_affine_f32_reference : sm_warp_affine_f32
        let rc = matrix.withUnsafeBufferPointer { m in
            fn(
                src.baseAddress, Int32(width), Int32(height), rowStride, dst.baseAddress, Int32(outputWidth),
                Int32(outputHeight), outputRowStride, m.baseAddress, inverseMap ? 1 : 0, borderValue)
        }
        precondition(rc == SM_IMAGE_OK, "sm_warp_affine_f32 failed (\(rc))")
    }

    // MARK: Contours

    /// `cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)[-2]`: every outer border (8-connected
    /// foreground = nonzero bytes), all boundary pixels, in OpenCV's point order and contour order.
    public static func findExternalContours(_ mask: [UInt8], width: Int, height: Int) -> [[Point]] {
        precondition(
            width >= 1 && height >= 1 && mask.count == width * height,
            "findExternalContours: \(mask.count) bytes for \(width)x\(height)")
        var c = sm_contours(count: 0, offsets: nil, points: nil)
        let rc = mask.withUnsafeBufferPointer {
            sm_find_contours_external($0.baseAddress, Int32(width), Int32(height), width, &c)
        }
        precondition(rc == SM_IMAGE_OK, "sm_find_contours_external failed (\(rc))")
        defer { sm_contours_free(&c) }
        var result: [[Point]] = []
        result.reserveCapacity(Int(c.count))
        for i in 0..<Int(c.count) {
            let begin = Int(c.offsets[i]), end = Int(c.offsets[i + 1])
            result.append((begin..<end).map { (x: c.points[$0].x, y: c.points[$0].y) })
        }
        return result
    }

    /// `cv2.contourArea(contour, oriented)`: Green's formula over the closed polygon (not a pixel count).
    public static func contourArea(_ contour: [Point], oriented: Bool = false) -> Double {
        let pts = contour.map { sm_point(x: $0.x, y: $0.y) }
        return pts.withUnsafeBufferPointer { sm_contour_area($0.baseAddress, Int32($0.count), oriented ? 1 : 0) }
    }

    /// `cv2.convexHull(points, clockwise=clockwise, returnPoints=False)`: indices into `points`, in OpenCV's order.
    public static func convexHull(_ points: [Point], clockwise: Bool = false) -> [Int] {
        if points.isEmpty { return [] }
        let pts = points.map { sm_point(x: $0.x, y: $0.y) }
        var idx = [Int32](repeating: 0, count: pts.count)
        let n = pts.withUnsafeBufferPointer { p in
            idx.withUnsafeMutableBufferPointer {
                sm_convex_hull(p.baseAddress, Int32(p.count), clockwise ? 1 : 0, $0.baseAddress)
            }
        }
        precondition(n >= 0, "sm_convex_hull: out of memory")
        return idx[0..<Int(n)].map { Int($0) }
    }

    /// `cv2.minAreaRect(points)`: centre, size and angle in degrees (OpenCV 4.5.1+ convention). Empty input gives
    /// an all-zero rectangle, as cv2 does.
    public static func minAreaRect(_ points: [Point]) -> RotatedRect {
        if points.isEmpty { return (center: (x: 0, y: 0), size: (width: 0, height: 0), angle: 0) }
        let pts = points.map { sm_point(x: $0.x, y: $0.y) }
        var r = sm_rotated_rect()
        let rc = pts.withUnsafeBufferPointer { sm_min_area_rect($0.baseAddress, Int32($0.count), &r) }
        precondition(rc == SM_IMAGE_OK, "sm_min_area_rect failed (\(rc))")
        return (center: (x: r.center_x, y: r.center_y), size: (width: r.width, height: r.height), angle: r.angle)
    }

    /// `cv2.boxPoints(rect)`: the four corners, float32, in OpenCV's order.
    public static func boxPoints(_ rect: RotatedRect) -> [(x: Float, y: Float)] {
        let r = sm_rotated_rect(
            center_x: rect.center.x, center_y: rect.center.y, width: rect.size.width,
            height: rect.size.height, angle: rect.angle)
        var out = [Float](repeating: 0, count: 8)
        out.withUnsafeMutableBufferPointer { sm_box_points(r, $0.baseAddress) }
        return (0..<4).map { (x: out[2 * $0], y: out[2 * $0 + 1]) }
    }
}
