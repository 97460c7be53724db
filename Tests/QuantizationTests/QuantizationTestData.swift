import Foundation
@testable import Quantization
import TestSupport

// Seeded data and brute-force references shared by the Quantization tests.

func uniform(_ n: Int, _ range: ClosedRange<Float>, _ g: inout SeededGenerator) -> [Float] {
    (0..<n).map { _ in Float.random(in: range, using: &g) }
}

/// Box-Muller normal samples.
func gaussian(_ n: Int, mean: Float = 0, std: Float = 1, _ g: inout SeededGenerator) -> [Float] {
    (0..<n).map { _ in
        let u = Double.random(in: Double.ulpOfOne...1, using: &g), v = Double.random(in: 0..<1, using: &g)
        return mean + std * Float((-2 * Foundation.log(u)).squareRoot() * cos(2 * Double.pi * v))
    }
}

func observed(_ values: [Float]) -> ActivationObserver {
    var o = ActivationObserver()
    o.observe(values)
    return o
}

/// The histogram by definition, in Double: R = the smallest power of two above every |x| (within the observer's
/// exponent limits), bin = floor(x / (R / 1024)) + 1024.
func bruteForceHistogram(_ values: [Float]) -> (exponent: Int?, bins: [Int]) {
    let finite = values.filter(\.isFinite)
    let largest = finite.map { Double($0.magnitude) }.max() ?? 0
    var bins = [Int](repeating: 0, count: ActivationObserver.binCount)
    guard largest > 0 else {
        bins[1024] = finite.count
        return (nil, bins)
    }
    var e = ActivationObserver.minimumExponent
    while Double(sign: .plus, exponent: e, significand: 1) <= largest { e += 1 }
    let w = Double(sign: .plus, exponent: e - 10, significand: 1)
    for x in finite { bins[Int((Double(x) / w).rounded(.down)) + 1024] += 1 }
    return (e, bins)
}

/// Mean squared error of quantising then dequantising every value.
func measuredMSE(_ values: [Float], _ q: AffineQuantization) -> Double {
    var total = 0.0
    for x in values {
        let d = Double(q.dequantize(q.quantize(x))) - Double(x)
        total += d * d
    }
    return total / Double(values.count)
}

/// The fraction-quantile of sorted data (nearest rank).
func trueQuantile(_ sorted: [Float], _ fraction: Double) -> Float {
    let i = Swift.min(sorted.count - 1, Swift.max(0, Int((fraction * Double(sorted.count)).rounded(.up)) - 1))
    return sorted[i]
}
