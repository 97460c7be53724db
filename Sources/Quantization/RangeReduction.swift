import Foundation

/// Range reduction: from an observer's histogram to the real range [lo, hi] a uint8 encoding should cover.
/// Every result contains 0 and has a non-zero width; a byte image always gets exactly 0...255.
extension ActivationObserver {
    /// The range `method` chooses for these observations.
    public func range(_ method: CalibrationMethod) -> ClosedRange<Float> {
        guard count > 0 else { return 0...1 }
        if isByteImage { return 0...255 }
        let raw: (lo: Float, hi: Float)
        switch method {
        case .minMax: raw = (min, max)
        case .percentile(let p):
            let f = Swift.max(0.5, Swift.min(1, p / 100))
            raw = (min >= 0 ? min : quantile(1 - f), quantile(f))
        case .entropy: raw = entropyRange()
        case .mse: raw = mseRange()
        }
        return Self.usable(raw.lo, raw.hi)
    }

    /// The uint8 parameters for `method`: exactly `AffineQuantization.byteImage` for a byte image.
    public func quantization(_ method: CalibrationMethod) -> AffineQuantization {
        if isByteImage { return .byteImage }
        return .uint8(covering: range(method))
    }

    /// The value below which a `fraction` (0...1) of the finite values lie, linear within a histogram bin whose
    /// interval is first clipped to [min, max] (exact zeros count as a point mass at 0); min for 0, max for 1, 0 when
    /// nothing was observed.
    public func quantile(_ fraction: Double) -> Float {
        guard count > 0 else { return 0 }
        if !(fraction > 0) { return min }
        if fraction >= 1 { return max }
        let target = fraction * Double(count)
        var cumulative = 0.0
        for i in 0..<Self.binCount where histogram[i] > 0 {
            var c = Double(histogram[i])
            if cumulative + c >= target {
                // Bin 1024 starts with the exact zeros, a point mass at 0, then its other values spread over [0, w).
                if i == 1024 && zeroCount > 0 {
                    if target - cumulative <= Double(zeroCount) { return 0 }
                    cumulative += Double(zeroCount)
                    c -= Double(zeroCount)
                }
                let (lo, hi) = clippedBin(i)
                let v = Float(lo + (target - cumulative) / c * (hi - lo))
                return Swift.max(min, Swift.min(max, v))
            }
            cumulative += c
        }
        return max
    }

    // MARK: Helpers

    /// Bin i's interval [(i - 1024) w, (i - 1023) w) intersected with [min, max], in Double.
    func clippedBin(_ i: Int) -> (lo: Double, hi: Double) {
        let w = halfRange / 1024
        let lo = Swift.max(Double(min), Double(i - 1024) * w)
        let hi = Swift.min(Double(max), Double(i - 1023) * w)
        return (lo, Swift.max(lo, hi))
    }

    /// Extends to contain 0, keeps float32 arithmetic on the width finite and gives a zero-width range a usable width.
    static func usable(_ lo: Float, _ hi: Float) -> ClosedRange<Float> {
        let limit = Float.greatestFiniteMagnitude / 2
        var lo = Swift.max(-limit, Swift.min(lo.isNaN ? 0 : lo, 0))
        var hi = Swift.min(limit, Swift.max(hi.isNaN ? 0 : hi, 0))
        let minimumWidth = AffineQuantization.minimumScale * 255
        if hi - lo < minimumWidth {
            if hi == 0 && lo < 0 {
                lo = -minimumWidth
            } else if lo == 0 && hi == 0 {
                hi = 1
            } else {
                hi = lo + minimumWidth
            }
        }
        return lo...hi
    }

    // MARK: Entropy (TensorRT-style KL)

    /// TensorRT's KL calibration on the |x| histogram (the positive half when min >= 0), in the form MXNet and ONNX
    /// Runtime implement it: for each threshold T = i bins (i from 128 up to the last non-empty bin), P = the first i
    /// bins with the mass beyond folded into bin i - 1; Q = the first i bins *without* that mass, merged into `levels`
    /// groups (bin j in group j * groups / i), each group's mass spread evenly over the bins where P is non-zero.
    /// Pick the i minimising KL(P || Q), the largest on ties. The clipped mass is what makes Q differ from P at small
    /// T, merging bins into too few levels is what makes it differ at large T. Where P > 0 but Q = 0 (a last bin
    /// holding only clipped mass, alone in its group) Q is taken as 1e-4 of a count, the smoothing those tools use,
    /// so that a histogram with a gap before a few outliers can still be clipped inside the gap.
    /// Exact zeros are left out: any range containing 0 represents them exactly (TensorRT's tools blunt the same
    /// spike by overwriting bin 0).
    func entropyRange() -> (lo: Float, hi: Float) {
        guard let e = halfRangeExponent else { return (min, max) }
        let oneSided = min >= 0
        var bins = [Double](repeating: 0, count: 1024)
        for k in 0..<1024 {
            bins[k] = Double(histogram[1024 + k]) + (oneSided ? 0 : Double(histogram[1023 - k]))
        }
        bins[0] -= Double(zeroCount)
        guard let last = bins.lastIndex(where: { $0 > 0 }) else { return (min, max) }
        let used = last + 1
        let levels = oneSided ? 255 : 128
        let start = 128
        guard used > start else { return (min, max) }
        let width = Double(sign: .plus, exponent: e - 10, significand: 1)
        let smoothing = 1e-4

        let total = bins.reduce(0, +)
        var kept = bins[0..<start].reduce(0, +)
        var best = (divergence: Double.infinity, bins: used)
        var q = [Double](repeating: 0, count: used)
        for i in start...used {
            if i > start { kept += bins[i - 1] }
            guard kept > 0 else { continue }   // nothing kept: not a candidate
            let outliers = total - kept
            func p(_ t: Int) -> Double { t == i - 1 ? bins[t] + outliers : bins[t] }
            let groups = Swift.min(levels, i)
            var j = 0
            for g in 0..<groups {
                let end = ((g + 1) * i + groups - 1) / groups   // first j with j * groups / i > g
                var mass = 0.0, nonEmpty = 0.0
                for t in j..<end {
                    mass += bins[t]
                    if p(t) > 0 { nonEmpty += 1 }
                }
                let share = nonEmpty > 0 ? mass / nonEmpty : 0
                for t in j..<end { q[t] = p(t) > 0 ? share : 0 }
                j = end
            }
            // KL(P || Q) with P normalised by the total, Q by the kept mass.
            var divergence = 0.0
            for t in 0..<i {
                let pt = p(t)
                guard pt > 0 else { continue }
                divergence += pt * Foundation.log((pt / total) / (Swift.max(q[t], smoothing) / kept))
            }
            divergence /= total
            if divergence <= best.divergence { best = (divergence, i) }
        }
        let threshold = Float(Double(best.bins) * width)
        return oneSided ? (min, Swift.min(max, threshold)) : (Swift.max(min, -threshold), Swift.min(max, threshold))
    }

    // MARK: MSE

    /// The [lo, hi] minimising the expected squared error of uint8 quantisation over the histogram, each bin's mass
    /// spread uniformly over its interval (clipped to [min, max]), exact zeros left out (they cost nothing). The
    /// error of a candidate is evaluated exactly under that model, code by code: the mass rounding to code k (or
    /// clipped to it, for codes 0 and 255) times its squared distance to code k's real value, with the candidate's
    /// actual grid (`AffineQuantization.uint8(covering:)`, zero point rounded). So it is the rounding error scale^2 / 12
    /// where the data is dense, the squared clipping distance beyond the ends, and, unlike that textbook formula, the
    /// right (smaller) cost where a coarse grid rounds a narrow distribution to a few codes.
    /// Search: a common shrink factor of the observed ends (100 from 1.0 to 0.05, as ONNX Runtime's and TensorRT's
    /// symmetric searches), then each end alone over the same 100 factors, then a finer grid around the best.
    func mseRange() -> (lo: Float, hi: Float) {
        guard halfRangeExponent != nil else { return (min, max) }
        let cost = MSECost(self)
        let lo0 = Double(Swift.min(min, 0)), hi0 = Double(Swift.max(max, 0))
        var best = (error: Double.infinity, a: 1.0, b: 1.0)
        func consider(_ a: Double, _ b: Double) {
            let error = cost.error(lo: Float(lo0 * a), hi: Float(hi0 * b))
            if error < best.error { best = (error, a, b) }
        }
        let coarse = (0..<100).map { 1 - 0.95 * Double($0) / 99 }
        for f in coarse { consider(f, f) }
        if lo0 < 0 && hi0 > 0 {
            let b = best.b
            for f in coarse { consider(f, b) }
            let a = best.a
            for f in coarse { consider(a, f) }
        }
        let step = 0.95 / 99, a = best.a, b = best.b
        for k in -10...10 {
            let f = Double(k) * step / 10
            if lo0 < 0 { consider(Swift.min(1, Swift.max(0.01, a + f)), b) }
        }
        let a2 = best.a
        for k in -10...10 {
            let f = Double(k) * step / 10
            if hi0 > 0 { consider(a2, Swift.min(1, Swift.max(0.01, b + f))) }
        }
        return (Float(lo0 * best.a), Float(hi0 * best.b))
    }
}

/// The histogram as a piecewise-uniform distribution with prefix sums of its moments, so that the mass, first and
/// second moment below any x cost O(1).
private struct MSECost {
    let halfRange: Double
    let inverseWidth: Double
    var lower = [Double](repeating: 0, count: 2048), upper = [Double](repeating: 0, count: 2048)
    var count = [Double](repeating: 0, count: 2048)
    var m0 = [Double](repeating: 0, count: 2049), m1 = [Double](repeating: 0, count: 2049)
    var m2 = [Double](repeating: 0, count: 2049)

    init(_ o: ActivationObserver) {
        halfRange = o.halfRange
        inverseWidth = 1024 / o.halfRange
        for i in 0..<2048 {
            var n = Double(o.histogram[i])
            if i == 1024 { n -= Double(o.zeroCount) }
            let (a, b) = o.clippedBin(i)
            lower[i] = a
            upper[i] = b
            count[i] = n
            m0[i + 1] = m0[i] + n
            m1[i + 1] = m1[i] + n * (a + b) / 2
            m2[i + 1] = m2[i] + n * (a * a + a * b + b * b) / 3
        }
    }

    /// Mass, first and second moment of the values below x.
    func below(_ x: Double) -> (Double, Double, Double) {
        let j = Swift.max(0, Swift.min(2047, Int(((x + halfRange) * inverseWidth).rounded(.down))))
        let a = lower[j], b = upper[j], n = count[j]
        guard n > 0, x > a else { return (m0[j], m1[j], m2[j]) }
        guard x < b else { return (m0[j + 1], m1[j + 1], m2[j + 1]) }
        let d = n / (b - a)
        return (m0[j] + d * (x - a), m1[j] + d * (x * x - a * a) / 2, m2[j] + d * (x * x * x - a * a * a) / 3)
    }

    func error(lo: Float, hi: Float) -> Double {
        let q = AffineQuantization.uint8(covering: lo...hi)
        let s = Double(q.scale), z = Double(q.zeroPoint)
        var previous = (0.0, 0.0, 0.0)
        var total = 0.0
        for k in 0...255 {
            // Code k takes the values rounding to it: up to the midpoint with code k + 1 (everything for 255).
            let next = k == 255 ? (m0[2048], m1[2048], m2[2048]) : below(s * (Double(k) - z + 0.5))
            let n = next.0 - previous.0
            if n > 0 {
                let g = s * (Double(k) - z)
                total += Swift.max(0, (next.2 - previous.2) - 2 * g * (next.1 - previous.1) + g * g * n)
            }
            previous = next
        }
        return total
    }
}
