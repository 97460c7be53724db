/// Per-tensor asymmetric uint8 quantisation: real = scale * (q - zeroPoint), q in [0, 255].
/// `quantize` follows the int8 kernels' output rule (Sources/CKernels/include/siam_int8.h) bit for bit.
public struct AffineQuantization: Codable, Equatable, Hashable, Sendable, CustomStringConvertible {
    public var scale: Float
    public var zeroPoint: Int32

    public init(scale: Float, zeroPoint: Int32) {
        self.scale = scale
        self.zeroPoint = zeroPoint
    }

    /// An 8-bit image fed as float 0...255: every value is its own code, lossless.
    public static let byteImage = AffineQuantization(scale: 1, zeroPoint: 0)

    /// The smallest scale `uint8(covering:)` produces: keeps 1 / scale a finite, normal float32.
    public static let minimumScale = Float(sign: .plus, exponent: -100, significand: 1)

    /// Parameters covering `range` (extended to contain 0 first) like ONNX Runtime's asymmetric uint8:
    /// scale = (hi - lo) / 255 (at least `minimumScale`), zeroPoint = round(-lo / scale) clamped to [0, 255], so that
    /// real 0 is exactly code zeroPoint. Rounding the zero point may shift the covered range by up to scale / 2.
    public static func uint8(covering range: ClosedRange<Float>) -> AffineQuantization {
        let lo = Swift.min(range.lowerBound, 0), hi = Swift.max(range.upperBound, 0)
        precondition(lo.isFinite && hi.isFinite, "uint8(covering:) needs a finite range, not \(range)")
        var scale = (hi - lo) / 255
        if scale.isInfinite { scale = Float((Double(hi) - Double(lo)) / 255) }   // hi - lo overflowed float32
        if !(scale >= minimumScale) { scale = minimumScale }
        let z = (-lo / scale).rounded(.toNearestOrEven)
        let zeroPoint = Int32(Swift.max(0, Swift.min(255, z)))
        return AffineQuantization(scale: scale, zeroPoint: zeroPoint)
    }

    /// 1 / scale as float32: the multiplier the kernels use (never a division per value).
    public var inverseScale: Float { 1 / scale }

    /// The kernels' rule: t = x * (1/scale); t clamped to [-512, 512] with NaN -> -512; q = clamp(rne(t) + zp, 0, 255).
    @inline(__always)
    public func quantize(_ x: Float) -> UInt8 {
        quantize(x, inverseScale: inverseScale)
    }

    @inline(__always)
    func quantize(_ x: Float, inverseScale inv: Float) -> UInt8 {
        var t = x * inv
        t = t > -512 ? t : -512
        t = t < 512 ? t : 512
        let q = Int32(t.rounded(.toNearestOrEven)) + zeroPoint
        return UInt8(Swift.max(0, Swift.min(255, q)))
    }

    public func dequantize(_ q: UInt8) -> Float {
        scale * Float(Int32(q) - zeroPoint)
    }

    public func quantize(_ values: [Float]) -> [UInt8] {
        let inv = inverseScale
        return values.map { quantize($0, inverseScale: inv) }
    }

    public func dequantize(_ codes: [UInt8]) -> [Float] {
        codes.map { dequantize($0) }
    }

    /// The real values of codes 0 and 255: what this quantisation can represent without clipping.
    public var representableRange: ClosedRange<Float> { dequantize(0)...dequantize(255) }

    public var description: String { "scale \(scale), zero point \(zeroPoint)" }
}
