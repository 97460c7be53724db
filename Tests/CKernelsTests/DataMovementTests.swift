import CKernels
import XCTest

/// Max-pool, depth-wise cross-correlation, nearest resize and window: fast tiers against the reference twin, and the
/// reference against values worked out by hand.
final class DataMovementTests: XCTestCase {
    // MARK: max-pool

    func testMaxPoolReferenceByHand() {
        // 1x4x4 input 0..15, kernel 3, stride 2, pad 1 -> 2x2: windows clipped by -inf padding.
        let input = AlignedFloats((0..<16).map { Float($0) })
        let output = AlignedFloats(count: 4)
        Tiers.reference.pointee.max_pool2d_f32(input.constBase, 1, 4, 4, 3, 2, 1, output.base, 2, 2, 0, 2)
        XCTAssertEqual(output.array, [5, 7, 13, 15])
        // All-negative input: the padding must not contribute zeros.
        let negative = AlignedFloats((0..<16).map { -Float($0) - 1 })
        Tiers.reference.pointee.max_pool2d_f32(negative.constBase, 1, 4, 4, 3, 2, 1, output.base, 2, 2, 0, 2)
        XCTAssertEqual(output.array, [-1, -2, -5, -6])
    }

    func testMaxPoolAgainstReference() throws {
        let tiers = Tiers.fast
        if tiers.isEmpty { throw XCTSkip("no fast tier on this CPU/build") }
        // (channels, height, width, kernel, stride, pad); the first is the network's (3x3 s2 p1, 125 -> 63).
        var cases: [(Int32, Int32, Int32, Int32, Int32, Int32)] = [(2, 125, 125, 3, 2, 1), (2, 61, 61, 3, 2, 1)]
        for w: Int32 in [1, 2, 3, 4, 15, 16, 17, 18, 31, 32, 33, 34, 35, 47] {
            cases.append((2, 5, w, 3, 2, 1))
            cases.append((1, 4, w, 3, 1, 1))
            cases.append((1, 4, w, 2, 2, 0))
        }
        cases += [
            (3, 9, 40, 1, 1, 0), (2, 11, 37, 5, 3, 2), (1, 7, 50, 4, 4, 1), (1, 2, 2, 2, 1, 1), (1, 1, 1, 1, 1, 0),
        ]
        var generator = SeededGenerator(seed: 10)
        for (c, h, w, k, s, p) in cases {
            let oh = (h + 2 * p - k) / s + 1, ow = (w + 2 * p - k) / s + 1
            let input = AlignedFloats.random(count: Int(c * h * w), scale: 3, using: &generator)
            let expected = AlignedFloats(count: Int(c * oh * ow))
            Tiers.reference.pointee.max_pool2d_f32(input.constBase, c, h, w, k, s, p, expected.base, oh, ow, 0, oh)
            for table in tiers {
                for bounds in [[0, oh], [0, oh / 2, oh], [0, 1, oh]] {
                    let output = AlignedFloats(count: Int(c * oh * ow), fill: .nan)
                    for i in 0..<(bounds.count - 1) {
                        table.pointee.max_pool2d_f32(
                            input.constBase, c, h, w, k, s, p, output.base, oh, ow,
                            bounds[i], bounds[i + 1])
                    }
                    assertClose(
                        output, expected, tolerance: 0,
                        "\(Tiers.name(table)) max-pool \(c)x\(h)x\(w) k\(k) s\(s) p\(p) rows \(bounds)")
                }
            }
        }
    }

    // MARK: depth-wise cross-correlation

    func testDepthwiseXcorrReferenceByHand() {
        // One channel, 2x3 search, 1x2 kernel [1, 10] -> 2x2.
        let search = AlignedFloats([1, 2, 3, 4, 5, 6]), kernel = AlignedFloats([1, 10])
        let output = AlignedFloats(count: 4)
        Tiers.reference.pointee.depthwise_xcorr_f32(
            search.constBase, 1, 2, 3, kernel.constBase, 1, 2, output.base, 0, 1)
        XCTAssertEqual(output.array, [21, 32, 54, 65])
    }

    func testDepthwiseXcorrAgainstReference() throws {
        let tiers = Tiers.fast
        if tiers.isEmpty { throw XCTSkip("no fast tier on this CPU/build") }
        // (channels, search h, search w, kernel h, kernel w); the first two are the network's (29x29 * 5x5, 256
        // channels in the real model) and the mask branch's.
        var cases: [(Int32, Int32, Int32, Int32, Int32)] = [(5, 29, 29, 5, 5), (3, 31, 31, 7, 7)]
        for w: Int32 in [5, 6, 12, 13, 20, 21, 22, 24, 36, 37, 38] { cases.append((2, 9, w, 5, 5)) }
        cases += [(3, 1, 1, 1, 1), (2, 5, 5, 5, 5), (2, 8, 40, 1, 1), (1, 13, 19, 3, 4), (4, 6, 6, 2, 3)]
        var generator = SeededGenerator(seed: 11)
        for (c, sh, sw, kh, kw) in cases {
            let oh = sh - kh + 1, ow = sw - kw + 1
            let search = AlignedFloats.random(count: Int(c * sh * sw), using: &generator)
            let kernel = AlignedFloats.random(count: Int(c * kh * kw), using: &generator)
            let expected = AlignedFloats(count: Int(c * oh * ow))
            Tiers.reference.pointee.depthwise_xcorr_f32(
                search.constBase, c, sh, sw, kernel.constBase, kh, kw,
                expected.base, 0, c)
            let magnitude = AlignedFloats(count: Int(c * oh * ow))
            let absSearch = search.absolute(), absKernel = kernel.absolute()
            Tiers.reference.pointee.depthwise_xcorr_f32(
                absSearch.constBase, c, sh, sw, absKernel.constBase, kh, kw,
                magnitude.base, 0, c)
            for table in tiers {
                let output = AlignedFloats(count: Int(c * oh * ow), fill: .nan)
                let middle = c / 2   // two calls over channel ranges
                table.pointee.depthwise_xcorr_f32(
                    search.constBase, c, sh, sw, kernel.constBase, kh, kw, output.base,
                    0, middle)
                table.pointee.depthwise_xcorr_f32(
                    search.constBase, c, sh, sw, kernel.constBase, kh, kw, output.base,
                    middle, c)
                assertWithinRelativeTolerance(
                    output, expected, magnitude: magnitude,
                    "\(Tiers.name(table)) xcorr \(c)x\(sh)x\(sw) * \(kh)x\(kw)")
            }
        }
    }

    // MARK: nearest resize

    /// Source column of each destination column, read back from a resize of a 1-row ramp.
    func sourceIndices(_ table: KernelTable, from n: Int32, to m: Int32) -> [Int] {
        let ramp = AlignedFloats((0..<Int(n)).map { Float($0) })
        let output = AlignedFloats(count: Int(m))
        table.pointee.resize_nearest_f32(ramp.constBase, 1, 1, n, output.base, 1, m)
        return output.array.map { Int($0) }
    }

    func testResizeMappings() {
        for table in [Tiers.reference] + Tiers.fast {
            let name = Tiers.name(table)
            let small = sourceIndices(table, from: 15, to: 31)
            XCTAssertEqual(Array(small[0...4]), [0, 0, 0, 1, 1], name)
            XCTAssertEqual(Array(small[29...30]), [14, 14], name)
            let large = sourceIndices(table, from: 61, to: 127)
            XCTAssertEqual(Array(large[25...27]), [12, 12, 12], name)
            XCTAssertEqual(large.last, 60, name)
            XCTAssertEqual(sourceIndices(table, from: 31, to: 61).last, 30, name)
            XCTAssertEqual(sourceIndices(table, from: 4, to: 8), [0, 0, 1, 1, 2, 2, 3, 3], name)
            XCTAssertEqual(sourceIndices(table, from: 8, to: 3), [0, 2, 5], name)   // floor(8/3)=2, floor(16/3)=5
            XCTAssertEqual(sourceIndices(table, from: 5, to: 5), [0, 1, 2, 3, 4], name)
            // Rows follow the same rule: a 15-row column resized to 31 rows.
            let column = AlignedFloats((0..<15).map { Float($0) })
            let tall = AlignedFloats(count: 31)
            table.pointee.resize_nearest_f32(column.constBase, 1, 15, 1, tall.base, 31, 1)
            XCTAssertEqual(Array(tall.array[0...4]), [0, 0, 0, 1, 1], name)
            XCTAssertEqual(Array(tall.array[29...30]), [14, 14], name)
        }
    }

    func testResizeAgainstReference() throws {
        let tiers = Tiers.fast
        if tiers.isEmpty { throw XCTSkip("no fast tier on this CPU/build") }
        let cases: [(Int32, Int32, Int32, Int32, Int32)] = [
            (2, 15, 15, 31, 31), (2, 31, 31, 61, 61), (1, 61, 61, 127, 127), (3, 7, 9, 7, 9), (2, 9, 20, 4, 7),
            (1, 1, 1, 5, 3), (2, 6, 700, 3, 1100),   // more columns than one column-map chunk
        ]
        var generator = SeededGenerator(seed: 12)
        for (c, h, w, oh, ow) in cases {
            let input = AlignedFloats.random(count: Int(c * h * w), using: &generator)
            let expected = AlignedFloats(count: Int(c * oh * ow))
            Tiers.reference.pointee.resize_nearest_f32(input.constBase, c, h, w, expected.base, oh, ow)
            for table in tiers {
                let output = AlignedFloats(count: Int(c * oh * ow), fill: .nan)
                table.pointee.resize_nearest_f32(input.constBase, c, h, w, output.base, oh, ow)
                assertClose(output, expected, tolerance: 0, "\(Tiers.name(table)) resize \(h)x\(w) -> \(oh)x\(ow)")
            }
        }
    }

    // MARK: window (pad + crop)

    func testWindowByHand() {
        // 1x2x3 input [[1, 2, 3], [4, 5, 6]].
        let input = AlignedFloats([1, 2, 3, 4, 5, 6])
        for table in [Tiers.reference] + Tiers.fast {
            let name = Tiers.name(table)
            let padded = AlignedFloats(count: 4 * 5, fill: .nan)   // pad 1 on every side
            table.pointee.window_f32(input.constBase, 1, 2, 3, -1, -1, padded.base, 4, 5)
            XCTAssertEqual(
                padded.array,
                [
                    0, 0, 0, 0, 0,
                    0, 1, 2, 3, 0,
                    0, 4, 5, 6, 0,
                    0, 0, 0, 0, 0,
                ], name)
            let cropped = AlignedFloats(count: 2, fill: .nan)   // crop (1, 1), 1x2
            table.pointee.window_f32(input.constBase, 1, 2, 3, 1, 1, cropped.base, 1, 2)
            XCTAssertEqual(cropped.array, [5, 6], name)
            let mixed = AlignedFloats(count: 6, fill: .nan)   // one row up (pad), two columns right (crop)
            table.pointee.window_f32(input.constBase, 1, 2, 3, -1, 2, mixed.base, 3, 2)
            XCTAssertEqual(mixed.array, [0, 0, 3, 0, 6, 0], name)
            let outside = AlignedFloats(count: 4, fill: .nan)   // entirely outside
            table.pointee.window_f32(input.constBase, 1, 2, 3, 5, -9, outside.base, 2, 2)
            XCTAssertEqual(outside.array, [0, 0, 0, 0], name)
        }
    }

    func testWindowAgainstReference() throws {
        let tiers = Tiers.fast
        if tiers.isEmpty { throw XCTSkip("no fast tier on this CPU/build") }
        var generator = SeededGenerator(seed: 13)
        let input = AlignedFloats.random(count: 2 * 9 * 11, using: &generator)
        for top: Int32 in [-12, -3, 0, 2, 8, 10] {
            for left: Int32 in [-14, -4, 0, 3, 10, 11] {
                for (oh, ow): (Int32, Int32) in [(9, 11), (4, 5), (15, 19)] {
                    let expected = AlignedFloats(count: Int(2 * oh * ow))
                    Tiers.reference.pointee.window_f32(input.constBase, 2, 9, 11, top, left, expected.base, oh, ow)
                    for table in tiers {
                        let output = AlignedFloats(count: Int(2 * oh * ow), fill: .nan)
                        table.pointee.window_f32(input.constBase, 2, 9, 11, top, left, output.base, oh, ow)
                        assertClose(
                            output, expected, tolerance: 0,
                            "\(Tiers.name(table)) window top \(top) left \(left) \(oh)x\(ow)")
                    }
                }
            }
        }
    }
}
