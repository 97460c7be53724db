import Foundation
import Tensors
import TestSupport
import XCTest
@testable import Quantization

final class ActivationObserverTests: XCTestCase {
    /// Values arriving in calls of odd sizes, each batch up to 2^10 times wider than the first: the histogram after
    /// every growth must equal the one computed directly from all values with the final R.
    func testHistogramGrowthMatchesBruteForce() {
        var g = SeededGenerator(seed: 11)
        var all: [Float] = []
        var o = ActivationObserver()
        let scales: [Float] = [1e-3, 3e-3, 0.05, 0.2, 0.9, 1.024]   // 1e-3 ... 1.024 = 2^10 growth
        for (i, s) in scales.enumerated() {
            var batch = uniform(1000 + 777 * i, -s...s, &g)
            batch += [0, -0.0, s / 3, -s / 7]
            o.observe(batch)
            all += batch
            let reference = bruteForceHistogram(all)
            XCTAssertEqual(o.halfRangeExponent, reference.exponent, "after batch \(i)")
            XCTAssertEqual(o.histogram, reference.bins, "after batch \(i)")
            XCTAssertEqual(o.histogram.reduce(0, +), all.count)
        }
        XCTAssertEqual(o.halfRangeExponent, 1)   // 1.024 < 2
        XCTAssertEqual(o.count, all.count)
    }

    /// Values on bin edges, zeros of both signs, subnormals and a value just below R go to the defined bins.
    func testBinEdgesAndSpecialValues() {
        // R = 4, w = 2^-8.
        let w = Float(1) / 256
        var values: [Float] = [
            3.9999998, -3.9999998, 0, -0.0, w, -w, 3 * w, -3 * w, w / 2, -w / 2,
            Float.leastNonzeroMagnitude, -Float.leastNonzeroMagnitude, 1.5, -1.5,
        ]
        values += (0..<21).map { Float($0) * 0.125 - 1.25 }
        let o = observed(values)
        let reference = bruteForceHistogram(values)
        XCTAssertEqual(o.halfRangeExponent, 2)
        XCTAssertEqual(o.histogram, reference.bins)
        XCTAssertEqual(ActivationObserver.binIndex(w, width: w, inverseWidth: 256), 1025)
        XCTAssertEqual(ActivationObserver.binIndex(-w, width: w, inverseWidth: 256), 1023)
        XCTAssertEqual(ActivationObserver.binIndex(-0.0, width: w, inverseWidth: 256), 1024)
        XCTAssertEqual(ActivationObserver.binIndex(-Float.leastNonzeroMagnitude, width: w, inverseWidth: 256), 1023)
        XCTAssertEqual(ActivationObserver.binIndex(-4, width: w, inverseWidth: 256), 0)
        // The eight-lane version agrees with the scalar one.
        var g = SeededGenerator(seed: 12)
        for _ in 0..<200 {
            let v = SIMD8<Float>(
                uniform(8, -3.99...3.99, &g).map { Bool.random(using: &g) ? ($0 * 256).rounded() / 256 : $0 })
            let lanes = ActivationObserver.binIndices(v, width: w, inverseWidth: 256)
            for i in 0..<8 {
                XCTAssertEqual(Int(lanes[i]), ActivationObserver.binIndex(v[i], width: w, inverseWidth: 256))
            }
        }
    }

    /// R stays within its limits for the smallest and largest floats, and every value is still counted.
    func testExtremeMagnitudes() {
        let tiny: [Float] = [Float.leastNonzeroMagnitude, -Float.leastNormalMagnitude, 1e-35]
        let t = observed(tiny)
        XCTAssertEqual(t.halfRangeExponent, ActivationObserver.minimumExponent)
        XCTAssertEqual(t.histogram, bruteForceHistogram(tiny).bins)
        let huge: [Float] = [Float.greatestFiniteMagnitude, -Float.greatestFiniteMagnitude, 1, -3e38]
        let h = observed(huge)
        XCTAssertEqual(h.halfRangeExponent, ActivationObserver.maximumExponent)
        XCTAssertEqual(h.histogram, bruteForceHistogram(huge).bins)
        for method in [CalibrationMethod.minMax, .percentile(99), .entropy, .mse] {
            let r = h.range(method)
            XCTAssertTrue(r.lowerBound.isFinite && r.upperBound.isFinite && r.contains(0), "\(method)")
            XCTAssertTrue(h.quantization(method).scale.isFinite)
        }
    }

    func testStatisticsMatchDoubleReference() {
        var g = SeededGenerator(seed: 13)
        var values = gaussian(20_001, mean: 3, std: 2, &g)
        for i in stride(from: 0, to: values.count, by: 10) { values[i] = 0 }
        let o = observed(values)
        let d = values.map(Double.init)
        let mean = d.reduce(0, +) / Double(d.count)
        let variance = d.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(d.count)
        XCTAssertEqual(o.count, values.count)
        XCTAssertEqual(o.min, values.min())
        XCTAssertEqual(o.max, values.max())
        XCTAssertEqual(o.zeroCount, values.filter { $0 == 0 }.count)
        XCTAssertEqual(o.sum, d.reduce(0, +), accuracy: 1e-9 * d.map(abs).reduce(0, +))
        XCTAssertEqual(o.sumOfSquares, d.map { $0 * $0 }.reduce(0, +), accuracy: 1e-9 * d.map { $0 * $0 }.reduce(0, +))
        XCTAssertEqual(o.mean, mean, accuracy: 1e-9)
        XCTAssertEqual(o.standardDeviation, variance.squareRoot(), accuracy: 1e-7)
        XCTAssertEqual(o.nonFiniteCount, 0)
        XCTAssertFalse(o.isByteImage)
    }

    func testNonFiniteValuesAreCountedAndIgnored() {
        var g = SeededGenerator(seed: 14)
        let clean = uniform(5000, -2...2, &g)
        var dirty = clean
        dirty.insert(.nan, at: 17)
        dirty.insert(.infinity, at: 2500)
        dirty.insert(-.infinity, at: 4000)
        dirty += [Float](repeating: .nan, count: 3000)   // a whole chunk of NaN
        let o = observed(dirty)
        let reference = observed(clean)
        XCTAssertEqual(o.nonFiniteCount, 3003)
        XCTAssertEqual(o.count, clean.count)
        XCTAssertEqual(o.histogram, reference.histogram)
        XCTAssertEqual(o.min, reference.min)
        XCTAssertEqual(o.max, reference.max)
        XCTAssertEqual(o.sum, reference.sum, accuracy: 1e-9)
        for method in [CalibrationMethod.minMax, .percentile(99.9), .entropy, .mse] {
            let r = o.range(method)
            XCTAssertTrue(r.lowerBound.isFinite && r.upperBound.isFinite, "\(method)")
            XCTAssertEqual(r, reference.range(method), "\(method)")
        }
        let onlyNaN = observed([.nan, .nan])
        XCTAssertEqual(onlyNaN.count, 0)
        XCTAssertEqual(onlyNaN.nonFiniteCount, 2)
        XCTAssertEqual(onlyNaN.range(.mse), 0...1)
    }

    /// Merging observers equals observing the concatenation, whatever the order and the magnitudes.
    func testMergeEqualsConcatenation() {
        var g = SeededGenerator(seed: 15)
        let parts = [
            uniform(3000, -0.01...0.02, &g), gaussian(4100, std: 5, &g), uniform(999, 0...300, &g) + [.nan],
            [Float](repeating: 0, count: 50),
        ]
        let whole = observed(parts.flatMap { $0 })
        for order in [[0, 1, 2, 3], [2, 0, 3, 1], [3, 2, 1, 0]] {
            var merged = ActivationObserver()
            for i in order { merged.merge(observed(parts[i])) }
            XCTAssertEqual(merged.histogram, whole.histogram, "order \(order)")
            XCTAssertEqual(merged.halfRangeExponent, whole.halfRangeExponent)
            XCTAssertEqual(merged.count, whole.count)
            XCTAssertEqual(merged.nonFiniteCount, whole.nonFiniteCount)
            XCTAssertEqual(merged.min, whole.min)
            XCTAssertEqual(merged.max, whole.max)
            XCTAssertEqual(merged.zeroCount, whole.zeroCount)
            XCTAssertEqual(merged.isByteImage, whole.isByteImage)
            XCTAssertEqual(merged.sum, whole.sum, accuracy: 1e-9 * abs(whole.sum) + 1e-9)
            XCTAssertEqual(merged.sumOfSquares, whole.sumOfSquares, accuracy: 1e-12 * whole.sumOfSquares)
        }
        var empty = ActivationObserver()
        empty.merge(ActivationObserver())
        XCTAssertEqual(empty, ActivationObserver())
    }

    func testByteImageDetection() {
        var g = SeededGenerator(seed: 16)
        let image = (0..<3 * 127 * 127).map { _ in Float(Int.random(in: 0...255, using: &g)) } + [0, 255]
        var o = observed(image)
        XCTAssertTrue(o.isByteImage)
        for method in [CalibrationMethod.minMax, .percentile(99.99), .entropy, .mse] {
            XCTAssertEqual(o.quantization(method), .byteImage, "\(method)")
            XCTAssertEqual(o.range(method), 0...255)
        }
        o.observe([-17.5])
        XCTAssertFalse(o.isByteImage)
        XCTAssertEqual(o.quantization(.minMax), .uint8(covering: -17.5...255))
        XCTAssertFalse(observed(image + [256]).isByteImage)
        XCTAssertFalse(observed(image + [-1]).isByteImage)
        XCTAssertFalse(observed([1, 2, 3, 254.99998]).isByteImage)   // a tail element (not a multiple of 8)
        XCTAssertFalse(observed(Array(image.prefix(64)) + [0.5] + Array(image.prefix(64))).isByteImage)
        XCTAssertFalse(ActivationObserver().isByteImage)
        // Merging keeps the flag only if both sides are byte images.
        var m = observed(image)
        m.merge(observed([3, 4.25]))
        XCTAssertFalse(m.isByteImage)
    }

    func testObserveTensor() throws {
        let values: [Float] = [1, -2, 3.5, 0]
        var o = ActivationObserver()
        o.observe(Tensor(shape: [2, 2], floats: values))
        XCTAssertEqual(o, observed(values))
    }

    /// Not a pass/fail speed test (debug builds are slow): checks a frame-sized call stays exact.
    func testLargeCall() {
        var g = SeededGenerator(seed: 17)
        let values = gaussian(64 * 125 * 4, std: 0.7, &g).map { max(0, $0) }
        let o = observed(values)
        XCTAssertEqual(o.histogram, bruteForceHistogram(values).bins)
        XCTAssertEqual(o.zeroCount, values.filter { $0 == 0 }.count)
    }
}
