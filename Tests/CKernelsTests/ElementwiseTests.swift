import CKernels
import Foundation
import XCTest

/// add, sigmoid, two-way softmax and the transposed convolution: fast tiers against the reference twin.
final class ElementwiseTests: XCTestCase {
    /// Lengths around the vector widths (8, 16) and a longer one.
    let lengths = [0, 1, 2, 7, 8, 9, 15, 16, 17, 31, 33, 1000]

    func testAdd() throws {
        let tiers = Tiers.fast
        if tiers.isEmpty { throw XCTSkip("no fast tier on this CPU/build") }
        var generator = SeededGenerator(seed: 20)
        for n in lengths {
            let a = AlignedFloats.random(count: n, scale: 5, using: &generator)
            let b = AlignedFloats.random(count: n, scale: 5, using: &generator)
            for relu: Int32 in [0, 1] {
                let expected = AlignedFloats(count: n)
                Tiers.reference.pointee.add_f32(a.constBase, b.constBase, expected.base, n, relu)
                for table in tiers {
                    let output = AlignedFloats(count: n, fill: .nan)
                    table.pointee.add_f32(a.constBase, b.constBase, output.base, n, relu)
                    assertClose(output, expected, tolerance: 0, "\(Tiers.name(table)) add n \(n) relu \(relu)")
                }
            }
        }
        // The reference by hand.
        let a = AlignedFloats([1, -2, 3]), b = AlignedFloats([0.5, 1, -4]), out = AlignedFloats(count: 3)
        Tiers.reference.pointee.add_f32(a.constBase, b.constBase, out.base, 3, 1)
        XCTAssertEqual(out.array, [1.5, 0, 0])
    }

    func testSigmoidAndSoftmax2() throws {
        let tiers = Tiers.fast
        var generator = SeededGenerator(seed: 21)
        for n in lengths {
            // Scale 30 with a few extremes exercises both tails (exp overflow and underflow).
            let x = AlignedFloats.random(count: n, scale: 30, using: &generator)
            let y = AlignedFloats.random(count: n, scale: 30, using: &generator)
            if n > 4 { x[0] = 200; x[1] = -200; y[2] = 150; x[3] = -95 }
            let sigmoid = AlignedFloats(count: n), softmax = AlignedFloats(count: n)
            Tiers.reference.pointee.sigmoid_f32(x.constBase, sigmoid.base, n)
            Tiers.reference.pointee.softmax2_f32(x.constBase, y.constBase, softmax.base, n)
            for i in 0..<n {   // the reference against the textbook formulas in double precision
                XCTAssertEqual(Double(sigmoid[i]), 1 / (1 + exp(-Double(x[i]))), accuracy: 1e-7)
                let m = max(Double(x[i]), Double(y[i]))
                let p = exp(Double(y[i]) - m) / (exp(Double(x[i]) - m) + exp(Double(y[i]) - m))
                XCTAssertEqual(Double(softmax[i]), p, accuracy: 1e-7)
            }
            for table in tiers {
                let output = AlignedFloats(count: n, fill: .nan)
                table.pointee.sigmoid_f32(x.constBase, output.base, n)
                assertClose(output, sigmoid, tolerance: logisticTolerance, "\(Tiers.name(table)) sigmoid n \(n)")
                table.pointee.softmax2_f32(x.constBase, y.constBase, output.base, n)
                assertClose(output, softmax, tolerance: logisticTolerance, "\(Tiers.name(table)) softmax2 n \(n)")
            }
        }
    }

    func testConvTransposeReferenceByHand() {
        // 2 input channels on a 1x2 input, 1 output channel, kernel 2: each input pixel becomes a 2x2 block.
        let input = AlignedFloats([1, 2, 10, 20])   // channel 0: [1, 2], channel 1: [10, 20]
        let weights = AlignedFloats([1, 2, 3, 4, 0, 0, 0, 1])   // (in, out, ky, kx)
        let bias = AlignedFloats([0.5])
        let output = AlignedFloats(count: 2 * 4)
        Tiers.reference.pointee.conv_transpose2d_f32(
            input.constBase, 2, 1, 2, weights.constBase, bias.constBase, 1, 2,
            output.base, 0, 1)
        // Pixel 0: [1, 2; 3, 4] * 1 + [0, 0; 0, 1] * 10; pixel 1: the same with 2 and 20; + 0.5.
        XCTAssertEqual(
            output.array,
            [
                1.5, 2.5, 2.5, 4.5,
                3.5, 14.5, 6.5, 28.5,
            ])
    }

    func testConvTransposeAgainstReference() throws {
        let tiers = Tiers.fast
        if tiers.isEmpty { throw XCTSkip("no fast tier on this CPU/build") }
        // (in channels, in h, in w, out channels, kernel, bias); the first is the refine deconv (256 -> 32, k 15 on
        // 1x1 in the real model).
        let cases: [(Int32, Int32, Int32, Int32, Int32, Bool)] = [
            (64, 1, 1, 8, 15, true), (3, 2, 3, 5, 4, true), (17, 1, 1, 3, 3, false), (5, 3, 2, 2, 1, true),
            (1, 1, 1, 1, 1, false), (9, 2, 2, 7, 5, true),
        ]
        var generator = SeededGenerator(seed: 22)
        for (c, h, w, o, k, useBias) in cases {
            let input = AlignedFloats.random(count: Int(c * h * w), using: &generator)
            let weights = AlignedFloats.random(count: Int(c * o * k * k), using: &generator)
            let bias = AlignedFloats.random(count: Int(o), using: &generator)
            let count = Int(o * h * k * w * k)
            let expected = AlignedFloats(count: count), magnitude = AlignedFloats(count: count)
            Tiers.reference.pointee.conv_transpose2d_f32(
                input.constBase, c, h, w, weights.constBase,
                useBias ? bias.constBase : nil, o, k, expected.base, 0, o)
            let absInput = input.absolute(), absWeights = weights.absolute(), absBias = bias.absolute()
            Tiers.reference.pointee.conv_transpose2d_f32(
                absInput.constBase, c, h, w, absWeights.constBase,
                useBias ? absBias.constBase : nil, o, k, magnitude.base, 0, o)
            for table in tiers {
                let output = AlignedFloats(count: count, fill: .nan)
                table.pointee.conv_transpose2d_f32(
                    input.constBase, c, h, w, weights.constBase,
                    useBias ? bias.constBase : nil, o, k, output.base, 0, o)
                assertWithinRelativeTolerance(
                    output, expected, magnitude: magnitude,
                    "\(Tiers.name(table)) conv-transpose \(c)x\(h)x\(w) -> \(o) k\(k)")
                // Output channels in two calls (threads) give the same values as one.
                let split = AlignedFloats(count: count, fill: .nan)
                for (begin, end) in [(0, o / 2), (o / 2, o)] {
                    table.pointee.conv_transpose2d_f32(
                        input.constBase, c, h, w, weights.constBase,
                        useBias ? bias.constBase : nil, o, k, split.base, begin, end)
                }
                assertClose(split, output, tolerance: 0, "\(Tiers.name(table)) conv-transpose split at \(o / 2)")
            }
        }
    }
}
