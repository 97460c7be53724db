import TestSupport
import XCTest
@testable import Quantization

final class PerChannelInt8Tests: XCTestCase {
    func testSymmetricPerChannel() {
        var g = SeededGenerator(seed: 41)
        let channels = 8, block = 3 * 3 * 5
        var weights: [Float] = []
        for o in 0..<channels {
            if o == 5 {
                weights += [Float](repeating: 0, count: block)
            } else {
                let s = Float(o + 1) * 0.03
                weights += uniform(block, -s...s, &g)
            }
        }
        weights[0] = -0.5   // channel 0's largest magnitude is negative: it must become -127, not -128
        let p = PerChannelInt8.symmetric(weights: weights, outChannels: channels)
        XCTAssertEqual(p.values.count, weights.count)
        XCTAssertEqual(p.scales.count, channels)
        XCTAssertFalse(p.values.contains(-128))
        XCTAssertEqual(p.values[0], -127)
        let restored = p.dequantized()
        for o in 0..<channels {
            let q = p.values[(o * block)..<((o + 1) * block)]
            if o == 5 {
                XCTAssertEqual(p.scales[o], 1)
                XCTAssertTrue(q.allSatisfy { $0 == 0 })
                continue
            }
            let largest = weights[(o * block)..<((o + 1) * block)].map(\.magnitude).max()!
            XCTAssertEqual(p.scales[o], largest / 127)
            XCTAssertEqual(q.map { Swift.abs(Int($0)) }.max(), 127, "channel \(o)")
            for i in (o * block)..<((o + 1) * block) {
                XCTAssertEqual(restored[i], p.scales[o] * Float(p.values[i]))
                XCTAssertLessThanOrEqual(Swift.abs(restored[i] - weights[i]), p.scales[o] / 2 * (1 + 1e-5), "\(i)")
            }
        }
    }

    /// 7-bit weights (limit 63): every channel's largest magnitude maps to +-63, never beyond.
    func testSevenBitLimit() {
        var g = SeededGenerator(seed: 43)
        let weights = uniform(4 * 27, -0.4...0.4, &g)
        let p = PerChannelInt8.symmetric(weights: weights, outChannels: 4, limit: 63)
        XCTAssertTrue(p.values.allSatisfy { $0 >= -63 && $0 <= 63 })
        for o in 0..<4 {
            let q = p.values[(o * 27)..<((o + 1) * 27)]
            XCTAssertEqual(q.map { Swift.abs(Int($0)) }.max(), 63, "channel \(o)")
            XCTAssertEqual(p.scales[o], weights[(o * 27)..<((o + 1) * 27)].map(\.magnitude).max()! / 63)
        }
    }

    func testRoundsHalfToEven() {
        // max |w| = 127 -> scale 1, so w / scale = w.
        let p = PerChannelInt8.symmetric(weights: [127, 0.5, 1.5, 2.5, -0.5, -2.5, -126.5, 3.49], outChannels: 1)
        XCTAssertEqual(p.scales, [1])
        XCTAssertEqual(p.values, [127, 0, 2, 2, 0, -2, -126, 3])
    }

    func testInt32BiasRoundTripAndSaturation() {
        var g = SeededGenerator(seed: 42)
        let channels = 16
        let weightScales = (0..<channels).map { _ in Float.random(in: 1e-4...1e-2, using: &g) }
        let inputScale: Float = 0.0173
        let bias = uniform(channels, -3...3, &g)
        let q = PerChannelInt8.int32Bias(bias, inputScale: inputScale, weightScales: weightScales)
        let back = PerChannelInt8.dequantizedBias(q, inputScale: inputScale, weightScales: weightScales)
        for o in 0..<channels {
            let step = Double(inputScale) * Double(weightScales[o])
            XCTAssertEqual(q[o], Int32((Double(bias[o]) / step).rounded(.toNearestOrEven)))
            XCTAssertEqual(back[o], Float(q[o]) * (inputScale * weightScales[o]))
            XCTAssertLessThanOrEqual(
                Swift.abs(Double(back[o]) - Double(bias[o])), step / 2 + 4 * Double(bias[o].magnitude.ulp))
        }
        XCTAssertEqual(
            PerChannelInt8.int32Bias([2.5, -2.5, 3.5], inputScale: 1, weightScales: [1, 1, 1]), [2, -2, 4])
        XCTAssertEqual(
            PerChannelInt8.int32Bias([1e9, -1e9], inputScale: 1e-6, weightScales: [1e-3, 1e-3]),
            [Int32.max, Int32.min])
    }
}
