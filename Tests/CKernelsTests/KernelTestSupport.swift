import CKernels
import XCTest

// Shared helpers of the CKernels tests: seeded data, 64-byte aligned buffers, the kernel tables under test and
// the fp32 comparison with its named tolerance.

/// Relative fp32 tolerance of a fast kernel against its reference twin, applied per output as
/// `|fast - reference| <= tolerance * sum(|terms|) + tinyAbsoluteError`, where sum(|terms|) adds the magnitudes of
/// every product plus |bias| and |residual| that went into that output.
/// Why this value: both sides sum the same terms in a different order (blocked k, FMA against separate multiply-add),
/// and each rounding contributes at most u = 2^-24 ≈ 6e-8 of a partial sum, itself bounded by sum(|terms|). Rounding
/// errors behave like a random walk, so the difference grows like sqrt(K)·u: for the K ≤ ~2000 used in the tests that
/// is ≤ 2.7e-6, and 1e-5 leaves a margin of about 4 while still being about five orders of magnitude below the error
/// of any real indexing or packing bug (a missing or misplaced term is of the order of 1/K of sum(|terms|)).
let relativeTolerance: Float = 1e-5
/// Winograd F(4x4, 3x3) against the direct convolution, on the same per-output scale. The transforms multiply
/// the data by up to 5 (B^T), 1/24..1 (G) and 8 (A^T) and sum up to 36 of those products, so each rounding in the
/// transformed domain is a larger fraction of sum(|terms|) than in a direct sum: published analyses (Barabasz et al.
/// 2020) put F(4,3) at about 10-50x the direct error.
/// Measured worst over WinogradTests' cases (K up to 257 x 9): 2.6e-6; 2e-5 leaves a margin of about 8 and still sits
/// 20x below a missing term (about 1/K = 4e-4 of sum(|terms|) at the largest K).
let winogradTolerance: Float = 2e-5
/// A fast tier's Winograd against the scalar twin: the same transforms, different summation order and FMA
/// contraction, so the difference is that of two Winograd roundings.
/// Measured worst: 2.9e-6 (the twin and the fast tiers round the transforms in a different order).
let winogradTwinTolerance: Float = 2e-5
/// Floor for outputs whose terms are all zero (both sides must then be exactly zero).
let tinyAbsoluteError: Float = 1e-30
/// Absolute tolerance of sigmoid and two-way softmax, whose outputs lie in [0, 1]: the fast tiers use a polynomial
/// exp with about 2 ulp relative error, and the derivative of the logistic function is at most 1/4, so the outputs
/// differ by a few 1e-7 at most; 1e-6 allows for that and the final division's rounding.
let logisticTolerance: Float = 1e-6

/// SplitMix64: a small seeded generator so that every run sees the same data.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A float buffer aligned to 64 bytes, as the kernels' callers guarantee.
final class AlignedFloats {
    let count: Int
    let base: UnsafeMutablePointer<Float>

    init(count: Int, fill: Float = 0) {
        self.count = count
        let bytes = max(64, (count * MemoryLayout<Float>.size + 63) / 64 * 64)
        let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        base = raw.bindMemory(to: Float.self, capacity: bytes / MemoryLayout<Float>.size)
        base.initialize(repeating: fill, count: bytes / MemoryLayout<Float>.size)
    }

    convenience init(_ values: [Float]) {
        self.init(count: values.count)
        for (i, v) in values.enumerated() { base[i] = v }
    }

    /// Uniform values in [-scale, scale].
    static func random(count: Int, scale: Float = 1, using generator: inout SeededGenerator) -> AlignedFloats {
        let buffer = AlignedFloats(count: count)
        for i in 0..<count { buffer.base[i] = Float.random(in: -scale...scale, using: &generator) }
        return buffer
    }

    func absolute() -> AlignedFloats {
        let buffer = AlignedFloats(count: count)
        for i in 0..<count { buffer.base[i] = abs(base[i]) }
        return buffer
    }

    func copy() -> AlignedFloats {
        let buffer = AlignedFloats(count: count)
        buffer.base.update(from: base, count: count)
        return buffer
    }

    var array: [Float] { Array(UnsafeBufferPointer(start: base, count: count)) }
    var constBase: UnsafePointer<Float> { UnsafePointer(base) }

    subscript(i: Int) -> Float {
        get { base[i] }
        set { base[i] = newValue }
    }

    deinit { UnsafeMutableRawPointer(base).deallocate() }
}

/// A 64-byte aligned workspace (NULL when no bytes are needed).
final class Workspace {
    let pointer: UnsafeMutableRawPointer?
    init(bytes: Int) {
        pointer = bytes > 0 ? UnsafeMutableRawPointer.allocate(byteCount: (bytes + 63) / 64 * 64, alignment: 64) : nil
    }
    deinit { pointer?.deallocate() }
}

typealias KernelTable = UnsafePointer<sm_kernel_table>

enum Tiers {
    static var reference: KernelTable {
        guard let table: KernelTable = sm_kernels_for_tier(SM_TIER_REFERENCE) else { fatalError("no reference table") }
        return table
    }

    /// The fast tiers this build has and this CPU supports (empty on arm64 for now).
    static var fast: [KernelTable] {
        [SM_TIER_AVX2, SM_TIER_AVX512].compactMap { tier -> KernelTable? in
            guard sm_tier_supported(tier) != 0, let table: KernelTable = sm_kernels_for_tier(tier) else { return nil }
            return table
        }
    }

    static func name(_ table: KernelTable) -> String { String(cString: table.pointee.name) }
}

/// Checks |actual - expected| <= relativeTolerance * magnitude + tinyAbsoluteError element-wise; reports the worst.
func assertWithinRelativeTolerance(
    _ actual: AlignedFloats, _ expected: AlignedFloats, magnitude: AlignedFloats,
    tolerance: Float = relativeTolerance,
    _ label: @autoclosure () -> String, file: StaticString = #filePath,
    line: UInt = #line
) {
    XCTAssertEqual(actual.count, expected.count, file: file, line: line)
    var worstIndex = -1
    var worstRatio: Float = 1
    for i in 0..<expected.count {
        let error = abs(actual[i] - expected[i])
        let bound = tolerance * magnitude[i] + tinyAbsoluteError
        if !(error <= bound) {   // also catches NaN
            let ratio = error / bound
            if worstIndex < 0 || !(ratio <= worstRatio) {
                worstIndex = i
                worstRatio = ratio
            }
        }
    }
    if worstIndex >= 0 {
        XCTFail(
            "\(label()): element \(worstIndex) is \(actual[worstIndex]), reference \(expected[worstIndex]) "
                + "(sum of |terms| \(magnitude[worstIndex]), \(worstRatio)x the tolerance)", file: file, line: line)
    }
}

/// Checks element-wise |actual - expected| <= tolerance (0: bit-for-bit equal values).
func assertClose(
    _ actual: AlignedFloats, _ expected: AlignedFloats, tolerance: Float,
    _ label: @autoclosure () -> String, file: StaticString = #filePath, line: UInt = #line
) {
    XCTAssertEqual(actual.count, expected.count, file: file, line: line)
    for i in 0..<min(actual.count, expected.count) {
        let a = actual[i], e = expected[i]
        if a == e { continue }   // covers equal infinities
        if !(abs(a - e) <= tolerance) {
            XCTFail("\(label()): element \(i) is \(a), reference \(e)", file: file, line: line)
            return
        }
    }
}
