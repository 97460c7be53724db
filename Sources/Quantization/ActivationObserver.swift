import Tensors

/// Streaming statistics of one activation tensor over many calibration frames: exact count, min, max, sum, sum of
/// squares, exact zeros, whether every value is a byte (an integer in [0, 255]), and a 2048-bin histogram over a
/// symmetric range [-R, R) whose half-width R is a power of two that doubles as larger values arrive.
///
/// Histogram bin i covers [(i - 1024) * w, (i - 1023) * w) with w = R / 1024, so exact zeros always fall in bin 1024
/// and, when R doubles, old bins 2m and 2m + 1 merge exactly into new bin 512 + m (the old histogram becomes the
/// middle half). R is the smallest power of two strictly above every |x| seen (at least 2^-100, at most 2^128), so the
/// histogram depends only on the multiset of values, not on their order or on how they were split between calls.
/// NaN and infinities are counted in `nonFiniteCount` and otherwise ignored.
public struct ActivationObserver: Sendable, Equatable {
    public static let binCount = 2048
    /// Limits of R's exponent: 2^-100 keeps 1024 / R finite; 2^128 covers every finite float.
    static let minimumExponent = -100
    static let maximumExponent = 128

    /// Finite values observed.
    public private(set) var count: Int = 0
    /// NaN and infinite values seen (not part of any other statistic).
    public private(set) var nonFiniteCount: Int = 0
    /// Smallest and largest finite value (+inf and -inf while empty).
    public private(set) var min: Float = .infinity
    public private(set) var max: Float = -.infinity
    public private(set) var sum: Double = 0
    public private(set) var sumOfSquares: Double = 0
    /// Values exactly equal to 0 (either sign).
    public private(set) var zeroCount: Int = 0
    /// Exact counts per bin; their total is `count`.
    public private(set) var histogram: [Int] = Array(repeating: 0, count: ActivationObserver.binCount)
    /// R = 2^halfRangeExponent; nil until a non-zero value has been seen.
    public private(set) var halfRangeExponent: Int?
    private var allBytes = true

    public init() {}

    /// True when at least one value was seen and every finite value was an integer in [0, 255] (an 8-bit image).
    /// Non-finite values do not count against it (they are ignored everywhere).
    public var isByteImage: Bool { allBytes && count > 0 }

    /// R, the histogram's half-width (0 while no non-zero value has been seen).
    public var halfRange: Double {
        halfRangeExponent.map { Double(sign: .plus, exponent: $0, significand: 1) } ?? 0
    }

    public var mean: Double { count > 0 ? sum / Double(count) : 0 }

    /// Population standard deviation.
    public var standardDeviation: Double {
        guard count > 0 else { return 0 }
        let m = mean
        return (Swift.max(0, sumOfSquares / Double(count) - m * m)).squareRoot()
    }

    // MARK: Observing

    /// Values per chunk: statistics pass and binning pass run over the same chunk while it is in L1.
    private static let chunk = 2048

    public mutating func observe(_ values: [Float]) {
        values.withUnsafeBufferPointer { observe($0) }
    }

    /// Observes a float32 tensor's values.
    public mutating func observe(_ tensor: Tensor) {
        precondition(tensor.dtype == .float32, "ActivationObserver observes float32 tensors, not \(tensor.dtype)")
        tensor.withUnsafeBytes { raw in
            raw.withMemoryRebound(to: Float.self) {
                observe(UnsafeBufferPointer(start: $0.baseAddress, count: tensor.count))
            }
        }
    }

    public mutating func observe(_ values: UnsafeBufferPointer<Float>) {
        guard let base = values.baseAddress, !values.isEmpty else { return }
        withUnsafeTemporaryAllocation(of: Float.self, capacity: Self.chunk) { scratch in
            var start = 0
            while start < values.count {
                let n = Swift.min(Self.chunk, values.count - start)
                var p = base + start
                start += n
                var m = n
                var s = ChunkStatistics(p, n, checkBytes: allBytes)
                if !s.allFinite {
                    // Rare path: compact the finite values, then treat them like any chunk.
                    m = 0
                    for i in 0..<n where p[i].isFinite {
                        scratch[m] = p[i]
                        m += 1
                    }
                    nonFiniteCount += n - m
                    p = UnsafePointer(scratch.baseAddress!)
                    s = ChunkStatistics(p, m, checkBytes: allBytes)
                }
                guard m > 0 else { continue }
                count += m
                min = Swift.min(min, s.min)
                max = Swift.max(max, s.max)
                sum += s.sum
                sumOfSquares += s.sumOfSquares
                zeroCount += s.zeros
                allBytes = allBytes && s.allBytes
                let largest = Swift.max(-s.min, s.max)
                if largest > 0 { cover(Self.exponentCovering(largest)) }
                guard let e = halfRangeExponent else {
                    histogram[1024] += m   // only zeros so far: bin 1024 for any R
                    continue
                }
                histogram.withUnsafeMutableBufferPointer { Self.bin(p, m, exponent: e, into: $0.baseAddress!) }
            }
        }
    }

    /// Adds the histogram of every value observed by `other` (as if this observer had seen them too).
    public mutating func merge(_ other: ActivationObserver) {
        guard other.count > 0 || other.nonFiniteCount > 0 else { return }
        nonFiniteCount += other.nonFiniteCount
        guard other.count > 0 else { return }
        count += other.count
        min = Swift.min(min, other.min)
        max = Swift.max(max, other.max)
        sum += other.sum
        sumOfSquares += other.sumOfSquares
        zeroCount += other.zeroCount
        allBytes = allBytes && other.allBytes
        var theirs = other.histogram
        if let e = other.halfRangeExponent {
            if let mine = halfRangeExponent, mine > e {
                Self.widen(&theirs, by: mine - e)
            } else if let mine = halfRangeExponent, mine < e {
                Self.widen(&histogram, by: e - mine)
                halfRangeExponent = e
            } else {
                halfRangeExponent = e
            }
        }
        for i in 0..<Self.binCount { histogram[i] += theirs[i] }
    }

    /// The exponent of the smallest power of two strictly above `magnitude` (> 0), within the limits.
    static func exponentCovering(_ magnitude: Float) -> Int {
        Swift.min(maximumExponent, Swift.max(minimumExponent, magnitude.exponent + 1))
    }

    /// Grows R to 2^needed (if larger), re-binning what was counted so far.
    private mutating func cover(_ needed: Int) {
        if let e = halfRangeExponent {
            if needed > e {
                Self.widen(&histogram, by: needed - e)
                halfRangeExponent = needed
            }
        } else {
            halfRangeExponent = needed
        }
    }

    /// Re-bins for R multiplied by 2^shift: old bin i lies wholly inside new bin 1024 + floor((i - 1024) / 2^shift).
    static func widen(_ bins: inout [Int], by shift: Int) {
        guard shift > 0 else { return }
        var out = Array(repeating: 0, count: binCount)
        let s = Swift.min(shift, 62)
        for i in 0..<binCount where bins[i] != 0 {
            out[1024 + ((i - 1024) >> s)] += bins[i]
        }
        bins = out
    }

    /// The bin of a value x with |x| < R (or x = -R), exactly, given width = R / 1024 and inverseWidth = 1024 / R
    /// (powers of two, so both products below are exact): k = floor(|x| / width); x >= 0 (or -0): 1024 + k;
    /// x < 0: 1024 - ceil(|x| / width), where ceil = k + 1 unless k * width == |x| (this also holds when |x| / width
    /// underflowed to 0). Only integer arithmetic on the comparisons: the sign of activations is unpredictable, and
    /// a branch on it would mispredict half the time.
    @inline(__always)
    static func binIndex(_ x: Float, width: Float, inverseWidth: Float) -> Int {
        let a = x.magnitude
        let k = Int32(a * inverseWidth)
        let up = Int32(Float(k) * width == a ? 0 : 1)
        let sign = -Int32(x < 0 ? 1 : 0)
        return Int(1024 &+ ((k ^ sign) &- sign) &- (up & sign))
    }

    private static func bin(_ p: UnsafePointer<Float>, _ n: Int, exponent e: Int, into h: UnsafeMutablePointer<Int>) {
        let width = Float(sign: .plus, exponent: e - 10, significand: 1)
        let inverseWidth = Float(sign: .plus, exponent: 10 - e, significand: 1)
        let vectors = n / 8
        let raw = UnsafeRawPointer(p)
        for j in 0..<vectors {
            let b = binIndices(
                raw.loadUnaligned(fromByteOffset: j * 32, as: SIMD8<Float>.self),
                width: width, inverseWidth: inverseWidth)
            for lane in 0..<8 { h[Int(b[lane])] &+= 1 }
        }
        for i in (vectors * 8)..<n { h[binIndex(p[i], width: width, inverseWidth: inverseWidth)] &+= 1 }
    }

    /// `binIndex` for eight values at once. Float arithmetic on integer values is exact below 2^23: (t + 2^23) - 2^23
    /// rounds t to an integer, corrected down to floor(t), and the float bits of k + 2^23 minus those of 2^23 are k
    /// as an integer (SSE2 has no 8-lane float-to-int conversion). Masks are used as integers (-1 / 0): Swift's
    /// mask selects end up scalarised here.
    @inline(__always)
    static func binIndices(_ v: SIMD8<Float>, width: Float, inverseWidth: Float) -> SIMD8<Int32> {
        let magic = SIMD8<Float>(repeating: 8_388_608), one = SIMD8<Float>(repeating: 1), zero = SIMD8<Float>()
        let a = unsafeBitCast(unsafeBitCast(v, to: SIMD8<UInt32>.self) & 0x7FFF_FFFF, to: SIMD8<Float>.self)
        let t = a * inverseWidth
        let r = (t + magic) - magic
        let k = r - zero.replacing(with: one, where: r .> t)
        let exact = unsafeBitCast(k * width .== a, to: SIMD8<Int32>.self)
        let negative = unsafeBitCast(v .< 0, to: SIMD8<Int32>.self)
        let kInt = unsafeBitCast(k + magic, to: SIMD8<Int32>.self) &- 0x4B00_0000
        let up = exact &+ 1
        return 1024 &+ ((kInt ^ negative) &- negative) &- (up & negative)
    }
}

/// One chunk's statistics, vectorised 8 wide; `allFinite` is false when the chunk holds a NaN or an infinity
/// (then every other field is meaningless and the caller recomputes them over the finite values).
private struct ChunkStatistics {
    var min: Float = .infinity
    var max: Float = -.infinity
    var sum: Double = 0
    var sumOfSquares: Double = 0
    var zeros = 0
    var allBytes = true
    var allFinite = true

    init(_ p: UnsafePointer<Float>, _ n: Int, checkBytes: Bool) {
        let lanes = 8
        let vectors = n / lanes
        var vmin = SIMD8<Float>(repeating: .infinity), vmax = SIMD8<Float>(repeating: -.infinity)
        var s0 = SIMD4<Double>(), s1 = SIMD4<Double>(), q0 = SIMD4<Double>(), q1 = SIMD4<Double>()
        var z = SIMD8<Int32>()
        var bytes = SIMDMask<SIMD8<Int32>>(repeating: true)
        let raw = UnsafeRawPointer(p)
        let magic = SIMD8<Float>(repeating: 8_388_608)   // 2^23: (v + 2^23) - 2^23 == v iff v is an integer, 0 <= v < 2^23
        for j in 0..<vectors {
            let v = raw.loadUnaligned(fromByteOffset: j * lanes * 4, as: SIMD8<Float>.self)
            vmin.replace(with: v, where: v .< vmin)   // (pointwiseMin is not inlined)
            vmax.replace(with: v, where: v .> vmax)
            let lo = SIMD4<Double>(v.lowHalf), hi = SIMD4<Double>(v.highHalf)
            s0 += lo
            s1 += hi
            q0 += lo * lo
            q1 += hi * hi
            z &+= SIMD8<Int32>(repeating: 0).replacing(with: 1, where: v .== 0)
            if checkBytes {
                bytes = bytes .& (v .>= 0) .& (v .<= 255) .& (((v + magic) - magic) .== v)
            }
        }
        var mn = vmin.min(), mx = vmax.max()
        var sum = (s0 + s1).sum(), sq = (q0 + q1).sum()
        var zeros = Int(z.wrappedSum())
        var allBytes = checkBytes && all(bytes)
        for i in (vectors * lanes)..<n {
            let x = p[i]
            mn = Swift.min(mn, x)
            mx = Swift.max(mx, x)
            sum += Double(x)
            sq += Double(x) * Double(x)
            if x == 0 { zeros += 1 }
            if checkBytes && !(x >= 0 && x <= 255 && x.rounded() == x) { allBytes = false }
        }
        // Doubles cannot overflow from finite floats: a non-finite sum means a NaN or an infinity was there.
        allFinite = sum.isFinite && sq.isFinite
        self.min = mn
        self.max = mx
        self.sum = sum
        self.sumOfSquares = sq
        self.zeros = zeros
        self.allBytes = allBytes
    }
}
