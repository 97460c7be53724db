import CKernels
import Foundation
import Runtime
import TestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The image operations against OpenCV 4.6 (goldens written by Tools/gen_image_op_goldens.py from cv2), the fast
/// twins against their references, and edge cases. Exact equality everywhere (the warp is exact too; its samples are
/// additionally checked against the 1e-4 acceptance bound so that a failure says how far off it is).
final class ImageKernelsTests: XCTestCase {
    static let goldens = TestPaths.packageRoot.appendingPathComponent("Tests/RuntimeTests/Goldens")

    // MARK: Resize

    func testResizeSyntheticGoldens() throws {
        let g = try load(ResizeGoldens.self, "image_resize.json")
        XCTAssertGreaterThan(g.synthetic.count, 20)
        for c in g.synthetic {
            let (w, h, ch) = (c.src[0], c.src[1], c.src[2])
            let src = Synthetic.u8(width: w, height: h, channels: ch, seed: c.seed, kind: c.kind)
            for reference in [false, true] {
                let out = ImageKernels.resizeBilinear(
                    src, width: w, height: h, channels: ch, toWidth: c.dst[0],
                    toHeight: c.dst[1], reference: reference)
                let tag = "\(w)x\(h)x\(ch) \(c.kind) -> \(c.dst[0])x\(c.dst[1]) reference=\(reference)"
                checkSamples(out, width: c.dst[0], channels: ch, c.samples, tag)
                XCTAssertEqual(SHA256.hex(out), c.sha256, tag)
            }
        }
    }

    /// Tracker crops of real frames (exemplar and search windows with the official padding, plain crops resized
    /// from inside the frame through a row stride). Needs ../shared/data and libturbojpeg.
    func testResizeFrameGoldens() throws {
        let g = try load(ResizeGoldens.self, "image_resize.json")
        guard let data = TestPaths.sharedData else {
            throw XCTSkip("../shared/data not found: real-frame resize goldens skipped")
        }
        guard let jpeg = JPEGDecoder() else {
            throw XCTSkip("libturbojpeg not loadable: real-frame resize goldens skipped")
        }
        XCTAssertGreaterThan(g.frames.count, 10)
        var frames: [String: (pixels: [UInt8], width: Int, height: Int)] = [:]
        for c in g.frames {
            if frames[c.file] == nil { frames[c.file] = try jpeg.decodeBGR(data.appendingPathComponent(c.file)) }
            let f = frames[c.file]!
            let (x, y, w, h) = (c.crop[0], c.crop[1], c.crop[2], c.crop[3])
            let tag = "\(c.file) crop \(c.crop) ch \(c.channels) -> \(c.dst)"
            var out = [UInt8](repeating: 0, count: c.dst[0] * c.dst[1] * c.channels)
            if let fill = c.fill {
                // The tracker's padded window, built as a packed patch.
                var patch = [UInt8](repeating: 0, count: w * h * 3)
                for py in 0..<h {
                    for px in 0..<w {
                        let sx = x + px, sy = y + py
                        let inside = sx >= 0 && sy >= 0 && sx < f.width && sy < f.height
                        for k in 0..<3 {
                            patch[(py * w + px) * 3 + k] = inside ? f.pixels[(sy * f.width + sx) * 3 + k] : fill[k]
                        }
                    }
                }
                out =
                    c.dst == [w, h]
                    ? patch
                    : ImageKernels.resizeBilinear(
                        patch, width: w, height: h, channels: 3, toWidth: c.dst[0], toHeight: c.dst[1])
            } else if c.channels == 3 {
                // Straight from the frame through the row stride.
                f.pixels.withUnsafeBufferPointer { p in
                    let start = (y * f.width + x) * 3
                    let view = UnsafeBufferPointer(rebasing: p[start...])
                    out.withUnsafeMutableBufferPointer { o in
                        ImageKernels.resizeBilinear(
                            view, width: w, height: h, channels: 3, rowStride: f.width * 3,
                            into: o, toWidth: c.dst[0], toHeight: c.dst[1], outputRowStride: c.dst[0] * 3)
                    }
                }
            } else {
                var grey = [UInt8](repeating: 0, count: w * h)   // the green channel, as the generator takes it
                for py in 0..<h {
                    for px in 0..<w { grey[py * w + px] = f.pixels[((y + py) * f.width + x + px) * 3 + 1] }
                }
                out = ImageKernels.resizeBilinear(
                    grey, width: w, height: h, channels: 1, toWidth: c.dst[0], toHeight: c.dst[1])
            }
            checkSamples(out, width: c.dst[0], channels: c.channels, c.samples, tag)
            XCTAssertEqual(SHA256.hex(out), c.sha256, tag)
        }
    }

    func testResizeFastMatchesReference() {
        var rng = SeededGenerator(seed: 11)
        for t in 0..<60 {
            let ch = [1, 3, 3, 4, 2][t % 5]
            let w = Int.random(in: 1...90, using: &rng), h = Int.random(in: 1...90, using: &rng)
            let dw = t % 4 == 0 ? [127, 255][t % 8 / 4] : Int.random(in: 1...140, using: &rng)
            let dh = t % 4 == 0 ? dw : Int.random(in: 1...140, using: &rng)
            // A strided source: the image sits inside wider rows.
            let pad = Int.random(in: 0...9, using: &rng)
            let stride = w * ch + pad
            let src = (0..<(stride * h)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            var fast = [UInt8](repeating: 0, count: dw * dh * ch), ref = fast
            src.withUnsafeBufferPointer { s in
                fast.withUnsafeMutableBufferPointer {
                    ImageKernels.resizeBilinear(
                        s, width: w, height: h, channels: ch, rowStride: stride, into: $0,
                        toWidth: dw, toHeight: dh, outputRowStride: dw * ch)
                }
                ref.withUnsafeMutableBufferPointer {
                    ImageKernels.resizeBilinear(
                        s, width: w, height: h, channels: ch, rowStride: stride, into: $0,
                        toWidth: dw, toHeight: dh, outputRowStride: dw * ch, reference: true)
                }
            }
            XCTAssertNil(firstDifference(fast, ref), "\(w)x\(h)x\(ch) stride \(stride) -> \(dw)x\(dh)")
        }
    }

    func testResizeEdgeCases() {
        // Same size: a copy.
        let img: [UInt8] = [1, 2, 3, 4, 5, 6]
        XCTAssertEqual(ImageKernels.resizeBilinear(img, width: 3, height: 2, channels: 1, toWidth: 3, toHeight: 2), img)
        // Exact half size: OpenCV's INTER_AREA fast path, (a + b + c + d + 2) >> 2 per 2x2 block and channel.
        let quad: [UInt8] = [0, 1, 1, 1, 250, 251, 255, 255]   // 2x2, 2 channels
        let c0 = (0 + 1 + 250 + 255 + 2) >> 2, c1 = (1 + 1 + 251 + 255 + 2) >> 2   // 127, 127
        XCTAssertEqual(
            ImageKernels.resizeBilinear(quad, width: 2, height: 2, channels: 2, toWidth: 1, toHeight: 1),
            [UInt8(c0), UInt8(c1)])
        // One pixel to many: constant.
        for ch in 1...4 {
            let px = (0..<ch).map { UInt8(17 * $0 + 3) }
            let out = ImageKernels.resizeBilinear(px, width: 1, height: 1, channels: ch, toWidth: 5, toHeight: 4)
            XCTAssertEqual(out, Array((0..<20).map { _ in px }.joined()))
        }
        // A constant image stays constant whatever the scale (the fixed-point weights sum to 2048).
        for v: UInt8 in [0, 1, 128, 254, 255] {
            let src = [UInt8](repeating: v, count: 37 * 23 * 3)
            for (dw, dh) in [(127, 127), (255, 255), (5, 3), (18, 11), (74, 46)] {
                XCTAssertEqual(
                    Set(
                        ImageKernels.resizeBilinear(src, width: 37, height: 23, channels: 3, toWidth: dw, toHeight: dh)),
                    [v], "value \(v) -> \(dw)x\(dh)")
            }
        }
        // The C entry points reject bad arguments instead of touching memory.
        var out = [UInt8](repeating: 0, count: 16)
        let rc = out.withUnsafeMutableBufferPointer { o in
            img.withUnsafeBufferPointer { sm_resize_bilinear_u8($0.baseAddress, 0, 2, 3, 1, o.baseAddress, 4, 4, 4) }
        }
        XCTAssertEqual(rc, SM_IMAGE_BAD_ARGUMENT)
    }

    // MARK: Warp

    func testWarpGoldens() throws {
        let g = try load(WarpGoldens.self, "image_warp.json")
        XCTAssertGreaterThan(g.cases.count, 8)
        for c in g.cases {
            let n = c.src[0]
            let src = Synthetic.f32(width: n, height: n, seed: c.seed, kind: c.kind)
            let m = c.m_bits.map { Double(bitPattern: UInt64($0, radix: 16)!) }
            let out = ImageKernels.warpAffine(
                src, width: n, height: n, matrix: m, outputWidth: c.dst[0],
                outputHeight: c.dst[1], borderValue: -1, inverseMap: c.inverse_map)
            let ref = ImageKernels.warpAffine(
                src, width: n, height: n, matrix: m, outputWidth: c.dst[0],
                outputHeight: c.dst[1], borderValue: -1, inverseMap: c.inverse_map,
                reference: true)
            XCTAssertNil(firstDifference(out.map(\.bitPattern), ref.map(\.bitPattern)), "\(c.name): fast vs reference")
            for s in c.samples {
                let (y, x) = (Int(s[0]), Int(s[1]))
                let v = out[y * c.dst[0] + x]
                XCTAssertLessThanOrEqual(abs(Double(v) - s[2]), 1e-4, "\(c.name) at (\(x), \(y))")
                XCTAssertEqual(v.bitPattern, UInt32(s[3]), "\(c.name) at (\(x), \(y)): \(v) vs \(s[2])")
            }
            XCTAssertEqual(SHA256.hex(out), c.sha256, c.name)
            // The tracker's polygon from the warped mask.
            let threshold = Float(c.threshold)
            let binary = out.map { $0 > threshold ? UInt8(1) : 0 }
            XCTAssertEqual(SHA256.hex(binary), c.binary_sha256, "\(c.name) binary")
            checkContours(binary, width: c.dst[0], height: c.dst[1], c.contours, c.name)
        }
    }

    func testWarpFastMatchesReference() {
        var rng = SeededGenerator(seed: 5)
        for t in 0..<40 {
            let n = [127, 1, 2, 9, 64][t % 5]
            let src = (0..<(n * n)).map { _ in Float.random(in: 0...1, using: &rng) }
            let w = Int.random(in: 1...160, using: &rng), h = Int.random(in: 1...120, using: &rng)
            var m: [Double]
            if t % 2 == 0 {   // axis-aligned, as the tracker's back-projection
                let s = Double.random(in: 0.2...4, using: &rng)
                m = [
                    s, 0, Double.random(in: -100...100, using: &rng), 0, s * Double.random(in: 0.8...1.2, using: &rng),
                    Double.random(in: -100...100, using: &rng),
                ]
            } else {
                let a = Double.random(in: -3.2...3.2, using: &rng), s = Double.random(in: 0.1...6, using: &rng)
                m = [
                    s * cos(a), -s * sin(a), Double.random(in: -50...150, using: &rng),
                    s * sin(a), s * cos(a), Double.random(in: -50...150, using: &rng),
                ]
            }
            if t == 7 { m = [0, 0, 3, 0, 0, 4] }   // singular: OpenCV maps everything to the origin
            for inverse in [false, true] {
                let fast = ImageKernels.warpAffine(
                    src, width: n, height: n, matrix: m, outputWidth: w, outputHeight: h,
                    borderValue: -1, inverseMap: inverse)
                let ref = ImageKernels.warpAffine(
                    src, width: n, height: n, matrix: m, outputWidth: w, outputHeight: h,
                    borderValue: -1, inverseMap: inverse, reference: true)
                XCTAssertNil(
                    firstDifference(fast.map(\.bitPattern), ref.map(\.bitPattern)),
                    "case \(t) inverse \(inverse) m \(m)")
            }
        }
    }

    func testWarpEdgeCases() {
        // Identity: the source itself; outside of it the border value.
        let src: [Float] = [0.5, 1, -2, 4, 0.25, 8]   // 3x2
        XCTAssertEqual(
            ImageKernels.warpAffine(
                src, width: 3, height: 2, matrix: [1, 0, 0, 0, 1, 0], outputWidth: 3,
                outputHeight: 2), src)
        let shifted = ImageKernels.warpAffine(
            src, width: 3, height: 2, matrix: [1, 0, 10, 0, 1, 0], outputWidth: 4,
            outputHeight: 3, borderValue: 7)
        XCTAssertEqual(Set(shifted), [7])
        // Half-pixel shift to the right: the first column blends the border value with the first source column.
        let half = ImageKernels.warpAffine(
            src, width: 3, height: 2, matrix: [1, 0, 0.5, 0, 1, 0], outputWidth: 4,
            outputHeight: 2, borderValue: -1)
        XCTAssertEqual(half[0], (-1 + 0.5) / 2)
        XCTAssertEqual(half[1], (0.5 + 1) / 2)
        XCTAssertEqual(half[3], (-2 + -1) / 2)
        // A 1x1 source scaled up: one pixel surrounded by its blend with the border.
        let one = ImageKernels.warpAffine(
            [3], width: 1, height: 1, matrix: [4, 0, 0, 0, 4, 0], outputWidth: 6,
            outputHeight: 6, borderValue: -1)
        XCTAssertEqual(one[0], 3)
        XCTAssertEqual(one[5 * 6 + 5], -1)
    }

    // MARK: Contours, hull, minAreaRect

    func testContourSyntheticGoldens() throws {
        let g = try load(ContourGoldens.self, "image_contours.json")
        XCTAssertGreaterThan(g.synthetic.count, 15)
        for c in g.synthetic {
            let (w, h) = (c.size![0], c.size![1])
            let mask = unpackBits(c.bits!, count: w * h, value: UInt8(c.value!))
            checkContours(mask, width: w, height: h, c, c.name!)
        }
    }

    /// The DAVIS ground-truth masks of tennis and car-shadow, thresholded at 127 (and one inverted: many contours
    /// along the image border). Needs ../shared/data and libspng.
    func testContourDavisGoldens() throws {
        let g = try load(ContourGoldens.self, "image_contours.json")
        guard let data = TestPaths.sharedData else {
            throw XCTSkip("../shared/data not found: DAVIS mask goldens skipped")
        }
        guard let png = PNGDecoder() else { throw XCTSkip("libspng not loadable: DAVIS mask goldens skipped") }
        XCTAssertGreaterThan(g.davis.count, 20)
        for c in g.davis {
            let img = try png.decodeGrey(data.appendingPathComponent(c.file!))
            let invert = c.invert ?? false
            let binary = img.pixels.map { ($0 > UInt8(c.threshold!)) != invert ? UInt8(1) : 0 }
            XCTAssertEqual(SHA256.hex(binary), c.binary_sha256, c.file!)
            checkContours(binary, width: img.width, height: img.height, c, "\(c.file!) invert=\(invert)")
        }
    }

    func testPointSetGoldens() throws {
        let g = try load(ContourGoldens.self, "image_contours.json")
        XCTAssertGreaterThan(g.point_sets.count, 30)
        for p in g.point_sets {
            let pts = p.points.map { (x: $0[0], y: $0[1]) }
            let tag = "\(p.points.prefix(4))... (\(pts.count) points)"
            XCTAssertEqual(ImageKernels.contourArea(pts), p.area, tag)
            XCTAssertEqual(ImageKernels.convexHull(pts), p.hull, tag)
            XCTAssertEqual(ImageKernels.convexHull(pts, clockwise: true), p.hull_clockwise, tag)
            let r = ImageKernels.minAreaRect(pts)
            XCTAssertEqual(
                [r.center.x, r.center.y, r.size.width, r.size.height, r.angle].map(\.bitPattern), p.rect_bits, tag)
            XCTAssertEqual(ImageKernels.boxPoints(r).flatMap { [$0.x.bitPattern, $0.y.bitPattern] }, p.box_bits, tag)
        }
    }

    func testContourEdgeCases() {
        func points(_ c: [ImageKernels.Point]) -> [[Int32]] { c.map { [$0.x, $0.y] } }
        // A filled 3x3 square: starts at its top-left pixel and runs counter-clockwise on screen (down first).
        var m = [UInt8](repeating: 0, count: 7 * 6)
        for y in 1...3 { for x in 2...4 { m[y * 7 + x] = 255 } }
        XCTAssertEqual(
            ImageKernels.findExternalContours(m, width: 7, height: 6).map(points),
            [[[2, 1], [2, 2], [2, 3], [3, 3], [4, 3], [4, 2], [4, 1], [3, 1]]])
        // Thin lines are walked on both sides (points repeat); the area is the polygon's, not the pixel count.
        m = [UInt8](repeating: 0, count: 25)
        for y in 0..<5 { m[y * 5] = 1 }
        for x in 0..<5 { m[2 * 5 + x] = 1 }
        let t = ImageKernels.findExternalContours(m, width: 5, height: 5)
        XCTAssertEqual(
            t.map(points),
            [
                [
                    [0, 0], [0, 1], [0, 2], [0, 3], [0, 4], [0, 3], [1, 2], [2, 2], [3, 2], [4, 2],
                    [3, 2], [2, 2], [1, 2], [0, 1],
                ]
            ])
        XCTAssertEqual(ImageKernels.contourArea(t[0]), 1)
        // Contours come in reverse order of their first pixel in raster order.
        m = [UInt8](repeating: 0, count: 4 * 9)
        m[1 * 9 + 1] = 1; m[2 * 9 + 4] = 1; m[2 * 9 + 5] = 1; m[0 * 9 + 7] = 1; m[1 * 9 + 7] = 1
        XCTAssertEqual(
            ImageKernels.findExternalContours(m, width: 9, height: 4).map(points),
            [[[4, 2], [5, 2]], [[1, 1]], [[7, 0], [7, 1]]])
        // A ring with an island inside: only the ring's outer border.
        m = [UInt8](repeating: 1, count: 81)
        for y in 2..<7 { for x in 2..<7 { m[y * 9 + x] = 0 } }
        m[4 * 9 + 4] = 1
        m[8] = 0
        let ring = ImageKernels.findExternalContours(m, width: 9, height: 9)
        XCTAssertEqual(ring.count, 1)
        XCTAssertEqual(ring.first?.count, 31)
        XCTAssertEqual(ImageKernels.contourArea(ring[0]), 63.5)
        // 1x1 images, all-zero and all-one masks.
        XCTAssertEqual(ImageKernels.findExternalContours([1], width: 1, height: 1).map(points), [[[0, 0]]])
        XCTAssertTrue(ImageKernels.findExternalContours([0], width: 1, height: 1).isEmpty)
        XCTAssertTrue(ImageKernels.findExternalContours([UInt8](repeating: 0, count: 64), width: 8, height: 8).isEmpty)
        let full = ImageKernels.findExternalContours([UInt8](repeating: 9, count: 64), width: 8, height: 8)
        XCTAssertEqual(full.count, 1)
        XCTAssertEqual(full.first?.count, 28)
        XCTAssertEqual(ImageKernels.contourArea(full[0]), 49)
        // minAreaRect on degenerate input, as cv2: empty and single points give zero sizes.
        let empty = ImageKernels.minAreaRect([])
        XCTAssertEqual(
            [empty.center.x, empty.center.y, empty.size.width, empty.size.height, empty.angle], [0, 0, 0, 0, 0])
        let single = ImageKernels.minAreaRect([(x: 3, y: 4)])
        XCTAssertEqual(
            [single.center.x, single.center.y, single.size.width, single.size.height, single.angle], [3, 4, 0, 0, 0])
        XCTAssertEqual(ImageKernels.contourArea([]), 0)
        XCTAssertEqual(ImageKernels.convexHull([]), [])
    }

    // MARK: Helpers

    /// nil when equal, else where and how the arrays first differ (short enough for a failure message).
    func firstDifference<T: Equatable>(_ a: [T], _ b: [T]) -> String? {
        if a.count != b.count { return "lengths \(a.count) vs \(b.count)" }
        guard let i = a.indices.first(where: { a[$0] != b[$0] }) else { return nil }
        let count = a.indices.reduce(0) { $0 + (a[$1] != b[$1] ? 1 : 0) }
        return "\(count) elements differ, first at \(i): \(a[i]) vs \(b[i])"
    }

    func load<T: Decodable>(_ type: T.Type, _ name: String) throws -> T {
        let url = Self.goldens.appendingPathComponent(name)
        return try JSONDecoder().decode(T.self, from: Data(contentsOf: url))
    }

    func checkSamples(
        _ out: [UInt8], width: Int, channels: Int, _ samples: [[Int]], _ tag: String,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        for s in samples {
            let (y, x, c, v) = (s[0], s[1], s[2], s[3])
            XCTAssertEqual(
                Int(out[(y * width + x) * channels + c]), v, "\(tag) at (\(x), \(y), \(c))", file: file, line: line)
        }
    }

    /// Everything the generator recorded for one binary mask: contours (count, digest, leading points, areas) and
    /// the hull, minAreaRect and boxPoints of the largest contour (first maximum of contourArea, as np.argmax).
    func checkContours(
        _ mask: [UInt8], width: Int, height: Int, _ r: ContourCase, _ tag: String,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        let cs = ImageKernels.findExternalContours(mask, width: width, height: height)
        XCTAssertEqual(cs.count, r.count, "\(tag): contour count", file: file, line: line)
        XCTAssertEqual(contourDigest(cs), r.digest, "\(tag): contour digest", file: file, line: line)
        for (i, (c, e)) in zip(cs, r.contours).enumerated() {
            XCTAssertEqual(c.count, e.n, "\(tag): contour \(i) length", file: file, line: line)
            XCTAssertEqual(
                c.prefix(3).map { [$0.x, $0.y] }, e.first, "\(tag): contour \(i) first points", file: file, line: line)
            XCTAssertEqual(ImageKernels.contourArea(c), e.area, "\(tag): contour \(i) area", file: file, line: line)
        }
        guard let best = r.largest else {
            XCTAssertTrue(cs.isEmpty, tag, file: file, line: line)
            return
        }
        let areas = cs.map { ImageKernels.contourArea($0) }
        var bi = 0
        for i in areas.indices where areas[i] > areas[bi] { bi = i }
        XCTAssertEqual(bi, best.index, "\(tag): largest contour", file: file, line: line)
        guard bi < cs.count else { return }
        let c = cs[bi]
        XCTAssertEqual(ImageKernels.convexHull(c), best.hull, "\(tag): hull", file: file, line: line)
        XCTAssertEqual(
            ImageKernels.convexHull(c, clockwise: true), best.hull_clockwise, "\(tag): clockwise hull", file: file,
            line: line)
        let rect = ImageKernels.minAreaRect(c)
        XCTAssertEqual(
            [rect.center.x, rect.center.y, rect.size.width, rect.size.height, rect.angle].map(\.bitPattern),
            best.rect_bits, "\(tag): minAreaRect \(rect) vs \(best.rect)", file: file, line: line)
        XCTAssertEqual(
            ImageKernels.boxPoints(rect).flatMap { [$0.x.bitPattern, $0.y.bitPattern] }, best.box_bits,
            "\(tag): boxPoints", file: file, line: line)
    }

    func contourDigest(_ contours: [[ImageKernels.Point]]) -> String {
        var bytes: [UInt8] = []
        func put(_ v: Int32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
        for c in contours {
            put(Int32(c.count))
            for p in c { put(p.x); put(p.y) }
        }
        return SHA256.hex(bytes)
    }

    func unpackBits(_ hex: String, count: Int, value: UInt8) -> [UInt8] {
        let chars = Array(hex.utf8)
        var out = [UInt8](repeating: 0, count: count)
        for i in 0..<count {
            let byteIndex = i / 8
            let hexPair = String(decoding: chars[(2 * byteIndex)..<(2 * byteIndex + 2)], as: UTF8.self)
            let byte = UInt8(hexPair, radix: 16)!
            out[i] = (byte >> (7 - UInt8(i % 8))) & 1 == 1 ? value : 0
        }
        return out
    }
}

// MARK: - Golden file shapes

struct ResizeGoldens: Decodable {
    struct SyntheticCase: Decodable {
        let src: [Int], seed: UInt32, kind: String, dst: [Int], sha256: String, samples: [[Int]]
    }
    struct FrameCase: Decodable {
        let file: String, crop: [Int], fill: [UInt8]?, channels: Int, dst: [Int], sha256: String, samples: [[Int]]
    }
    let synthetic: [SyntheticCase]
    let frames: [FrameCase]
}

struct WarpGoldens: Decodable {
    struct Case: Decodable {
        let name: String, kind: String, seed: UInt32, src: [Int], dst: [Int], m_bits: [String], inverse_map: Bool
        let sha256: String, samples: [[Double]], threshold: Double, binary_sha256: String, contours: ContourCase
    }
    let cases: [Case]
}

struct ContourCase: Decodable {
    struct Entry: Decodable { let n: Int, first: [[Int32]], area: Double }
    struct Largest: Decodable {
        let index: Int, area: Double, hull: [Int], hull_clockwise: [Int], rect: [Double], rect_bits: [UInt32],
            box_bits: [UInt32]
    }
    let count: Int, digest: String, contours: [Entry], largest: Largest?
    // Synthetic masks
    let name: String?, size: [Int]?, value: Int?, bits: String?
    // DAVIS masks
    let file: String?, threshold: Int?, invert: Bool?, binary_sha256: String?
}

struct ContourGoldens: Decodable {
    struct PointSet: Decodable {
        let points: [[Int32]], area: Double, hull: [Int], hull_clockwise: [Int], rect_bits: [UInt32], box_bits: [UInt32]
    }
    let synthetic: [ContourCase]
    let davis: [ContourCase]
    let point_sets: [PointSet]
}

// MARK: - Synthetic sources (mirrors Tools/gen_image_op_goldens.py)

enum Synthetic {
    static func hash(_ x: Int, _ y: Int, _ c: Int, _ seed: UInt32) -> UInt32 {
        var v =
            seed &* 0x9E37_79B9 &+ UInt32(truncatingIfNeeded: y) &* 0x85EB_CA6B
            &+ UInt32(truncatingIfNeeded: x) &* 0xC2B2_AE35 &+ UInt32(truncatingIfNeeded: c) &* 0x27D4_EB2F
        v ^= v >> 16
        v = v &* 0x7FEB_352D
        v ^= v >> 15
        v = v &* 0x846C_A68B
        v ^= v >> 16
        return v
    }

    static func u8(width: Int, height: Int, channels: Int, seed: UInt32, kind: String) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: width * height * channels)
        for y in 0..<height {
            for x in 0..<width {
                for c in 0..<channels {
                    let h = hash(x, y, c, seed)
                    out[(y * width + x) * channels + c] =
                        kind == "noise"
                        ? UInt8(h >> 24)
                        : UInt8((7 * x + 3 * y + 50 * c + Int(h >> 29)) & 255)
                }
            }
        }
        return out
    }

    static func f32(width: Int, height: Int, seed: UInt32, kind: String) -> [Float] {
        var out = [Float](repeating: 0, count: width * height)
        let s = Int(seed)
        let (cx, cy, r) = (40 + s % 40, 35 + (s * 7) % 50, 25 + (s * 13) % 40)
        for y in 0..<height {
            for x in 0..<width {
                if kind == "noise" {
                    out[y * width + x] = Float(Double(hash(x, y, 0, seed) >> 8) / 16_777_216)
                } else {
                    let d = Double((x - cx) * (x - cx) + (y - cy) * (y - cy))
                    out[y * width + x] = Float(1.0 - d / Double(r * r))
                }
            }
        }
        return out
    }
}

// MARK: - SHA-256 (FIPS 180-4), for comparing outputs with the generator's hashes

enum SHA256 {
    private static let k: [UInt32] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ]

    static func hex(_ floats: [Float]) -> String {
        hex(floats.withUnsafeBytes { Array($0) })   // little-endian float32 on every supported platform
    }

    static func hex(_ message: [UInt8]) -> String {
        var h: [UInt32] = [
            0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
        ]
        var data = message
        let bitLength = UInt64(message.count) * 8
        data.append(0x80)
        while data.count % 64 != 56 { data.append(0) }
        for i in (0..<8).reversed() { data.append(UInt8(truncatingIfNeeded: bitLength >> (UInt64(i) * 8))) }
        func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { (x >> n) | (x << (32 - n)) }
        var w = [UInt32](repeating: 0, count: 64)
        for block in stride(from: 0, to: data.count, by: 64) {
            for t in 0..<16 {
                let b = block + 4 * t
                w[t] =
                    UInt32(data[b]) << 24 | UInt32(data[b + 1]) << 16 | UInt32(data[b + 2]) << 8 | UInt32(data[b + 3])
            }
            for t in 16..<64 {
                let s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3)
                let s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10)
                w[t] = w[t - 16] &+ s0 &+ w[t - 7] &+ s1
            }
            var (a, b, c, d, e, f, g, hh) = (h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7])
            for t in 0..<64 {
                let t1 = hh &+ (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) &+ ((e & f) ^ (~e & g)) &+ k[t] &+ w[t]
                let t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) &+ ((a & b) ^ (a & c) ^ (b & c))
                (hh, g, f, e, d, c, b, a) = (g, f, e, d &+ t1, c, b, a, t1 &+ t2)
            }
            h[0] = h[0] &+ a; h[1] = h[1] &+ b; h[2] = h[2] &+ c; h[3] = h[3] &+ d
            h[4] = h[4] &+ e; h[5] = h[5] &+ f; h[6] = h[6] &+ g; h[7] = h[7] &+ hh
        }
        return h.map { String(format: "%08x", $0) }.joined()
    }
}

// MARK: - Decoders for the shared footage, loaded at run time (RuntimeTests links no image library)

/// JPEG through libturbojpeg's TurboJPEG 2.x API; BGR output, default (accurate) settings, which give the same
/// pixels as cv2.imread here (Tools/gen_image_op_goldens.py checks that for every file the goldens use).
struct JPEGDecoder {
    typealias InitFn = @convention(c) () -> UnsafeMutableRawPointer?
    typealias HeaderFn =
        @convention(c) (
            UnsafeMutableRawPointer?, UnsafePointer<UInt8>?, UInt, UnsafeMutablePointer<Int32>?,
            UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<Int32>?
        ) -> Int32
    typealias DecodeFn =
        @convention(c) (
            UnsafeMutableRawPointer?, UnsafePointer<UInt8>?, UInt, UnsafeMutablePointer<UInt8>?,
            Int32, Int32, Int32, Int32, Int32
        ) -> Int32
    typealias DestroyFn = @convention(c) (UnsafeMutableRawPointer?) -> Int32
    let initialise: InitFn, header: HeaderFn, decode: DecodeFn, destroy: DestroyFn

    init?() {
        guard
            let lib = openLibrary([
                "libturbojpeg.so.0", "libturbojpeg.so", "libturbojpeg.0.dylib", "libturbojpeg.dylib",
            ]),
            let a = dlsym(lib, "tjInitDecompress"), let b = dlsym(lib, "tjDecompressHeader3"),
            let c = dlsym(lib, "tjDecompress2"), let d = dlsym(lib, "tjDestroy")
        else { return nil }
        initialise = unsafeBitCast(a, to: InitFn.self)
        header = unsafeBitCast(b, to: HeaderFn.self)
        decode = unsafeBitCast(c, to: DecodeFn.self)
        destroy = unsafeBitCast(d, to: DestroyFn.self)
    }

    func decodeBGR(_ url: URL) throws -> (pixels: [UInt8], width: Int, height: Int) {
        let bytes = [UInt8](try Data(contentsOf: url))
        guard let handle = initialise() else { throw DecodeError.failed(url.path) }
        defer { _ = destroy(handle) }
        var w: Int32 = 0, h: Int32 = 0, sub: Int32 = 0, cs: Int32 = 0
        guard header(handle, bytes, UInt(bytes.count), &w, &h, &sub, &cs) == 0 else {
            throw DecodeError.failed(url.path)
        }
        var out = [UInt8](repeating: 0, count: Int(w) * Int(h) * 3)
        let tjpfBGR: Int32 = 1
        let rc = out.withUnsafeMutableBufferPointer {
            decode(handle, bytes, UInt(bytes.count), $0.baseAddress, w, 0, h, tjpfBGR, 0)
        }
        guard rc == 0 else { throw DecodeError.failed(url.path) }
        return (out, Int(w), Int(h))
    }
}

/// 8-bit greyscale PNG through libspng (SPNG_FMT_G8: the stored grey values, as cv2.imread(IMREAD_GRAYSCALE)).
struct PNGDecoder {
    typealias NewFn = @convention(c) (Int32) -> OpaquePointer?
    typealias FreeFn = @convention(c) (OpaquePointer?) -> Void
    typealias BufferFn = @convention(c) (OpaquePointer?, UnsafeRawPointer?, Int) -> Int32
    typealias IHDRFn = @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?) -> Int32
    typealias SizeFn = @convention(c) (OpaquePointer?, Int32, UnsafeMutablePointer<Int>?) -> Int32
    typealias DecodeFn = @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?, Int, Int32, Int32) -> Int32
    let new: NewFn, free: FreeFn, buffer: BufferFn, ihdr: IHDRFn, size: SizeFn, decode: DecodeFn

    init?() {
        guard let lib = openLibrary(["libspng.so.0", "libspng.so", "libspng.0.dylib", "libspng.dylib"]),
            let a = dlsym(lib, "spng_ctx_new"), let b = dlsym(lib, "spng_ctx_free"),
            let c = dlsym(lib, "spng_set_png_buffer"),
            let d = dlsym(lib, "spng_get_ihdr"), let e = dlsym(lib, "spng_decoded_image_size"),
            let f = dlsym(lib, "spng_decode_image")
        else { return nil }
        new = unsafeBitCast(a, to: NewFn.self)
        free = unsafeBitCast(b, to: FreeFn.self)
        buffer = unsafeBitCast(c, to: BufferFn.self)
        ihdr = unsafeBitCast(d, to: IHDRFn.self)
        size = unsafeBitCast(e, to: SizeFn.self)
        decode = unsafeBitCast(f, to: DecodeFn.self)
    }

    func decodeGrey(_ url: URL) throws -> (pixels: [UInt8], width: Int, height: Int) {
        let bytes = [UInt8](try Data(contentsOf: url))
        guard let ctx = new(0) else { throw DecodeError.failed(url.path) }
        defer { free(ctx) }
        let fmtG8: Int32 = 64
        var header = [UInt32](repeating: 0, count: 8)   // struct spng_ihdr: width, height, then 5 bytes
        // The context reads from the caller's buffer until decoding ends: keep every call inside one closure.
        let decoded: [UInt8]? = bytes.withUnsafeBytes { b in
            var length = 0
            guard buffer(ctx, b.baseAddress, b.count) == 0,
                header.withUnsafeMutableBytes({ ihdr(ctx, $0.baseAddress) }) == 0,
                size(ctx, fmtG8, &length) == 0, length == Int(header[0]) * Int(header[1])
            else { return nil }
            var out = [UInt8](repeating: 0, count: length)
            guard out.withUnsafeMutableBytes({ decode(ctx, $0.baseAddress, length, fmtG8, 0) }) == 0 else { return nil }
            return out
        }
        guard let out = decoded else { throw DecodeError.failed(url.path) }
        let (w, h) = (Int(header[0]), Int(header[1]))
        return (out, w, h)
    }
}

enum DecodeError: Error { case failed(String) }

private func openLibrary(_ names: [String]) -> UnsafeMutableRawPointer? {
    for n in names { if let h = dlopen(n, RTLD_NOW) { return h } }
    return nil
}
