import Foundation
import Runtime
import XCTest

/// `ImageKernels.cropResizeBilinear` (the tracker's padded crop without building the padded square) against the
/// crop built in full and resized by `resizeBilinear`: the same bytes, fast twin and reference, for windows inside
/// the image, across each side, around it, far away and much larger than it, and every resize path (copy, exact
/// half, shrink, enlarge, one pixel).
final class CropResizeTests: XCTestCase {
    /// The padded square built pixel by pixel (what SubwindowCrop did before), then resized.
    static func expected(
        _ image: [UInt8], width: Int, height: Int, channels: Int, x0: Int, y0: Int, side: Int,
        fill: [UInt8], to: Int
    ) -> [UInt8] {
        var patch = [UInt8](repeating: 0, count: side * side * channels)
        for r in 0..<side {
            for c in 0..<side {
                let (x, y) = (x0 + c, y0 + r)
                for k in 0..<channels {
                    patch[(r * side + c) * channels + k] =
                        x >= 0 && x < width && y >= 0 && y < height
                        ? image[(y * width + x) * channels + k] : fill[k]
                }
            }
        }
        return ImageKernels.resizeBilinear(
            patch, width: side, height: side, channels: channels, toWidth: to, toHeight: to)
    }

    func testCropResizeEqualsPaddingThenResizing() {
        var seed: UInt64 = 0x9e37_79b9_7f4a_7c15
        func next() -> UInt64 {
            seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17
            return seed
        }
        let images = [(1, 1), (7, 5), (64, 48), (100, 37)]
        // (side, to): copy, exact half, shrink, enlarge, one pixel, shrink by more than 4.
        let sizes = [(31, 31), (62, 31), (45, 31), (13, 31), (1, 5), (5, 1), (200, 31), (127, 63)]
        var cases = 0
        for (w, h) in images {
            for channels in [1, 3] {
                let image = (0..<(w * h * channels)).map { _ in UInt8(truncatingIfNeeded: next() >> 24) }
                let fill = (0..<channels).map { UInt8(17 + 40 * $0) }
                for (side, to) in sizes {
                    // Origins: inside, across each side, around the image, far outside.
                    var origins = [
                        (0, 0), (-side / 2, -side / 2), (w - side / 2, h - side / 2), (-side - 3, 0), (w + 3, h + 3),
                        (-side + 1, -side + 1), (w - 1, h - 1), (-1_000_000, 5), (5, 2_000_000),
                    ]
                    for _ in 0..<4 {
                        origins.append(
                            (
                                Int(next() % UInt64(w + 2 * side + 1)) - side,
                                Int(next() % UInt64(h + 2 * side + 1)) - side
                            ))
                    }
                    for (x0, y0) in origins {
                        let want = Self.expected(
                            image, width: w, height: h, channels: channels, x0: x0, y0: y0, side: side,
                            fill: fill, to: to)
                        for reference in [false, true] {
                            let got = ImageKernels.cropResizeBilinear(
                                image, width: w, height: h, channels: channels, x0: x0,
                                y0: y0, side: side, fill: fill, toWidth: to, toHeight: to,
                                reference: reference)
                            XCTAssertEqual(
                                got, want,
                                "\(w)x\(h)x\(channels) window (\(x0), \(y0)) side \(side) -> \(to) reference \(reference)"
                            )
                            cases += 1
                        }
                    }
                }
            }
        }
        XCTAssertGreaterThan(cases, 500)
    }
}
