import CKernels
import XCTest

/// The uint8 max-pool (one implementation for every tier) against a plain Swift max-pool with PyTorch semantics
/// (padded taps left out), for the stem's 3x3 s2 p1, other geometries, row ranges, and rows wider than the
/// separable path's buffer.
final class MaxPoolU8Tests: XCTestCase {
    func expected(_ x: [UInt8], c: Int, h: Int, w: Int, k: Int, s: Int, p: Int, oh: Int, ow: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: c * oh * ow)
        for ch in 0..<c {
            for y in 0..<oh {
                for xo in 0..<ow {
                    var m: UInt8 = 0
                    for ky in 0..<k {
                        for kx in 0..<k {
                            let iy = y * s - p + ky, ix = xo * s - p + kx
                            if iy >= 0, iy < h, ix >= 0, ix < w { m = max(m, x[(ch * h + iy) * w + ix]) }
                        }
                    }
                    out[(ch * oh + y) * ow + xo] = m
                }
            }
        }
        return out
    }

    func testAgainstPlainLoops() {
        var g = SeededGenerator(seed: 99)
        for (c, h, w, k, s, p) in [
            (4, 125, 125, 3, 2, 1), (3, 61, 61, 3, 2, 1), (2, 9, 10, 2, 2, 0), (2, 7, 7, 3, 1, 1),
            (1, 5, 2100, 3, 2, 1), (2, 1, 1, 3, 2, 1),
            // the 3x3 stride-2 fast path's edges: widths around its first and last whole window
            (1, 3, 2, 3, 2, 1), (1, 3, 3, 3, 2, 0), (1, 4, 4, 3, 2, 1), (1, 3, 5, 3, 2, 0), (1, 5, 6, 3, 2, 1),
            (2, 6, 7, 3, 2, 2), (1, 3, 8, 3, 2, 0),
        ] {
            let oh = (h + 2 * p - k) / s + 1, ow = (w + 2 * p - k) / s + 1
            let x = (0..<(c * h * w)).map { _ in UInt8.random(in: 0...255, using: &g) }
            let want = expected(x, c: c, h: h, w: w, k: k, s: s, p: p, oh: oh, ow: ow)
            for bounds in [[0, oh], [0, oh / 2, oh]] {
                var out = [UInt8](repeating: 0xCD, count: c * oh * ow)
                for i in 0..<(bounds.count - 1) {
                    x.withUnsafeBufferPointer { xp in
                        out.withUnsafeMutableBufferPointer { op in
                            sm_max_pool2d_u8(
                                xp.baseAddress, Int32(c), Int32(h), Int32(w), Int32(k), Int32(s), Int32(p),
                                op.baseAddress, Int32(oh), Int32(ow), Int32(bounds[i]), Int32(bounds[i + 1]))
                        }
                    }
                }
                XCTAssertEqual(out, want, "\(c)x\(h)x\(w) k\(k) s\(s) p\(p) rows \(bounds)")
            }
        }
    }
}
