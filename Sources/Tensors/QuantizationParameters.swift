/// Affine quantisation of a tensor: real = scale * (q - zeroPoint), per tensor (one scale) or per channel along `axis`.
public struct QuantizationParameters: Sendable, Equatable {
    public var scales: [Float]
    public var zeroPoints: [Int32]
    /// Channel axis for per-channel parameters; nil for per-tensor.
    public var axis: Int?

    public init(scales: [Float], zeroPoints: [Int32], axis: Int?) {
        self.scales = scales
        self.zeroPoints = zeroPoints
        self.axis = axis
    }
}

/// A uint8 affine encoding of an activation tensor: real = scale * (q - zeroPoint).
public struct UInt8Encoding: Hashable, Sendable, CustomStringConvertible {
    public var scale: Float
    public var zeroPoint: Int32
    public init(scale: Float, zeroPoint: Int32) {
        self.scale = scale
        self.zeroPoint = zeroPoint
    }
    public var description: String { "u8(scale \(scale), zero point \(zeroPoint))" }
}
