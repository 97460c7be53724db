import Foundation
import TestSupport
import XCTest
@testable import Quantization

final class RangeReductionTests: XCTestCase {
    let methods: [CalibrationMethod] = [.minMax, .percentile(99.99), .percentile(99), .entropy, .mse]

    func testUniform() {
        var g = SeededGenerator(seed: 21)
        let values = uniform(50_000, -2...6, &g)
        let o = observed(values)
        let sorted = values.sorted()
        let w = Float(o.halfRange / 1024)
        XCTAssertEqual(o.range(.minMax), sorted.first!...sorted.last!)
        for p in [99.0, 99.9, 95.0] {
            let r = o.range(.percentile(p))
            XCTAssertEqual(r.upperBound, trueQuantile(sorted, p / 100), accuracy: w, "p \(p)")
            XCTAssertEqual(r.lowerBound, trueQuantile(sorted, 1 - p / 100), accuracy: w, "p \(p)")
        }
        XCTAssertEqual(o.quantile(0.5), trueQuantile(sorted, 0.5), accuracy: w)
        XCTAssertEqual(o.quantile(0), sorted.first!)
        XCTAssertEqual(o.quantile(1), sorted.last!)
        // Nothing to clip in a flat distribution: entropy and mse keep (nearly) all of it.
        let e = o.range(.entropy), m = o.range(.mse)
        XCTAssertGreaterThan(e.upperBound, 0.95 * sorted.last!)
        XCTAssertLessThan(e.lowerBound, 0.95 * sorted.first!)
        XCTAssertGreaterThan(m.upperBound, 0.9 * sorted.last!)
        XCTAssertLessThan(m.lowerBound, 0.9 * sorted.first!)
    }

    func testPercentileOfNonNegativeDataKeepsTheMinimum() {
        var g = SeededGenerator(seed: 22)
        let values = uniform(20_000, 0.5...3, &g)
        let o = observed(values)
        let r = o.range(.percentile(99))
        XCTAssertEqual(r.lowerBound, 0)   // min, then extended to contain 0
        XCTAssertEqual(r.upperBound, trueQuantile(values.sorted(), 0.99), accuracy: Float(o.halfRange / 1024))
        XCTAssertEqual(o.range(.percentile(100)), 0...o.max)
    }

    /// A Gaussian with two outliers 100 sigma out: entropy, mse and percentile clip them well below, and mse's range
    /// quantises the data with a smaller measured error than min/max's. (Whether clipping pays depends on how rare
    /// the outliers are: clipping two of them here costs (95^2 + 85^2) / 600k = 0.027 per value, rounding over the
    /// full range 0.745^2 / 12 = 0.046; with ten times fewer values, keeping them is the smaller error.)
    func testOutliersAreClipped() {
        var g = SeededGenerator(seed: 23)
        let values = gaussian(600_000, &g) + [100, -90]
        let o = observed(values)
        XCTAssertEqual(o.range(.minMax), -90...100)
        // mse balances the squared clipping distance against rounding, so it clips less deep than the others.
        for (method, limit) in [(CalibrationMethod.entropy, Float(25)), (.percentile(99.99), 25), (.mse, 50)] {
            let r = o.range(method)
            XCTAssertLessThan(r.upperBound, limit, "\(method)")
            XCTAssertGreaterThan(r.lowerBound, -limit, "\(method)")
            XCTAssertGreaterThan(r.upperBound, 3, "\(method) clips the Gaussian itself")
            XCTAssertLessThan(r.lowerBound, -3, "\(method) clips the Gaussian itself")
        }
        XCTAssertLessThan(measuredMSE(values, o.quantization(.mse)), measuredMSE(values, o.quantization(.minMax)))
        // With few values the outliers stay (mse), or are clipped only by entropy and percentile.
        let few = Array(values.prefix(50_000)) + [100, -90]
        let f = observed(few)
        XCTAssertLessThan(f.range(.entropy).upperBound, 100 / 4)
        XCTAssertLessThanOrEqual(
            measuredMSE(few, f.quantization(.mse)), measuredMSE(few, f.quantization(.minMax)) * 1.001)
    }

    /// Outliers beyond a gap in the histogram: entropy still clips inside the gap, and mse's range has the smallest
    /// measured error of all methods (its cost model is the measured error, up to the histogram's resolution).
    func testMSEHasTheLowestMeasuredError() {
        var g = SeededGenerator(seed: 26)
        let datasets: [(String, [Float])] = [
            ("gaussian + 5 outliers", gaussian(100_000, &g) + [60, -55, 58, 61, 59.5]),
            ("relu + outliers", gaussian(100_000, &g).map { Swift.max(0, $0) } + [60, 58, 61]),
            ("laplace-like", gaussian(100_000, &g).map { $0 * Swift.abs($0) * 0.3 }),
            ("uniform", uniform(100_000, -1...3, &g)),
        ]
        for (name, values) in datasets {
            let o = observed(values)
            let errors = Dictionary(
                uniqueKeysWithValues: methods.map { ($0.name, measuredMSE(values, o.quantization($0))) })
            let best = errors.values.min()!
            XCTAssertLessThanOrEqual(errors["mse"]!, best * 1.02, "\(name): \(errors)")
            if name == "gaussian + 5 outliers" {
                XCTAssertLessThan(o.range(.entropy).upperBound, 20)
                XCTAssertGreaterThan(o.range(.entropy).lowerBound, -20)
            }
        }
    }

    /// ReLU-like data (half exact zeros) with outliers: one-sided ranges starting at 0, zero point 0.
    func testOneSidedData() {
        var g = SeededGenerator(seed: 24)
        let values = gaussian(80_000, &g).map { Swift.max(0, $0) } + [60, 58, 61]
        let o = observed(values)
        for method in methods {
            let r = o.range(method)
            XCTAssertEqual(r.lowerBound, 0, "\(method)")
            XCTAssertEqual(o.quantization(method).zeroPoint, 0, "\(method)")
        }
        // The exact zeros are a point mass at 0 for the quantiles, not spread over bin 1024.
        XCTAssertEqual(o.quantile(0.3), 0)
        XCTAssertEqual(o.quantile(Double(o.zeroCount) / Double(o.count)), 0)
        XCTAssertGreaterThan(o.quantile(0.6), 0)
        XCTAssertEqual(o.quantile(0.75), trueQuantile(values.sorted(), 0.75), accuracy: Float(o.halfRange / 1024))
        for method in [CalibrationMethod.entropy, .percentile(99.99)] {
            XCTAssertLessThan(o.range(method).upperBound, 20, "\(method)")
            XCTAssertGreaterThan(o.range(method).upperBound, 2, "\(method)")
        }
    }

    /// Every method on every kind of input returns a finite range containing 0 with a usable width.
    func testRangesAlwaysContainZeroAndAreNotEmpty() {
        var g = SeededGenerator(seed: 25)
        let inputs: [[Float]] = [
            [], [3.5, 3.5, 3.5], [Float](repeating: -2, count: 10), [1e-30, 1e-30], [-1e-33],
            [300, 300], uniform(1000, 5...6, &g), uniform(1000, -6 ... -5, &g), [0.25],
            [Float](repeating: 0, count: 7) + [.nan],
        ]
        for values in inputs {
            let o = observed(values)
            for method in methods {
                let r = o.range(method)
                XCTAssertTrue(r.contains(0), "\(method) \(values.prefix(3))")
                XCTAssertGreaterThan(r.upperBound - r.lowerBound, 0, "\(method) \(values.prefix(3))")
                let q = o.quantization(method)
                XCTAssertTrue(
                    q.scale.isFinite && q.scale > 0 && q.inverseScale.isFinite, "\(method) \(values.prefix(3))")
                XCTAssertEqual(q.dequantize(q.quantize(0)), 0)
            }
        }
        XCTAssertEqual(observed([3.5, 3.5]).range(.minMax), 0...3.5)
        XCTAssertGreaterThan(observed([3.5, 3.5]).range(.mse).upperBound, 3.3)
        XCTAssertEqual(observed([-2, -2]).range(.entropy), -2...0)
        XCTAssertEqual(observed([]).range(.minMax), 0...1)
    }

    func testMethodNamesRoundTrip() {
        for method in methods + [.percentile(99.9), .percentile(100), .percentile(50)] {
            XCTAssertEqual(CalibrationMethod(parsing: method.name), method, method.name)
        }
        XCTAssertEqual(CalibrationMethod(parsing: "percentile"), .percentile(99.99))
        XCTAssertEqual(CalibrationMethod(parsing: "MinMax"), .minMax)
        XCTAssertEqual(CalibrationMethod.percentile(99.99).name, "percentile:99.99")
        for bad in ["", "kl", "percentile:", "percentile:abc", "percentile:101", "percentile:10", "percentile:nan"] {
            XCTAssertNil(CalibrationMethod(parsing: bad), bad)
        }
    }
}
