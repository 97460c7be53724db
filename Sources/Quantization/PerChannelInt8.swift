/// Symmetric int8 weights with one scale per output channel: real w = scales[o] * q, q in [-127, 127]
/// (never -128, so that the u8 x s8 kernels' sums stay symmetric and every tier agrees), or in a narrower
/// [-limit, limit] (7-bit weights, limit 63: CPUs without VNNI can then use vpmaddubsw without saturation).
public struct PerChannelInt8: Equatable, Sendable {
    public var values: [Int8]
    public var scales: [Float]

    public init(values: [Int8], scales: [Float]) {
        self.values = values
        self.scales = scales
    }

    /// Per output channel o (the contiguous block o of weights.count / outChannels values): scale = max|w| / limit
    /// (float32), q = round-half-even(w / scale) clamped to [-limit, limit]; an all-zero channel gets scale 1.
    public static func symmetric(weights: [Float], outChannels: Int, limit: Int8 = 127) -> PerChannelInt8 {
        precondition(limit >= 1, "limit must be positive")
        precondition(
            outChannels > 0 && weights.count % outChannels == 0,
            "\(weights.count) weights do not split into \(outChannels) output channels")
        precondition(weights.allSatisfy(\.isFinite), "weights must be finite")
        let block = weights.count / outChannels
        var values = [Int8](repeating: 0, count: weights.count)
        var scales = [Float](repeating: 1, count: outChannels)
        for o in 0..<outChannels {
            let channel = weights[(o * block)..<((o + 1) * block)]
            let largest = channel.reduce(Float(0)) { Swift.max($0, $1.magnitude) }
            guard largest > 0 else { continue }
            let scale = largest / Float(limit)
            scales[o] = scale
            for i in channel.indices {
                let q = (weights[i] / scale).rounded(.toNearestOrEven)
                values[i] = Int8(Swift.max(-Float(limit), Swift.min(Float(limit), q)))
            }
        }
        return PerChannelInt8(values: values, scales: scales)
    }

    /// scales[o] * q for every weight, in float32.
    public func dequantized() -> [Float] {
        guard !scales.isEmpty else { return [] }
        let block = values.count / scales.count
        return values.indices.map { scales[$0 / block] * Float(values[$0]) }
    }

    /// Biases as int32 in the accumulator's units: round-half-even(b / (inputScale * weightScales[o])), computed in
    /// Double, saturated to the Int32 range.
    public static func int32Bias(_ bias: [Float], inputScale: Float, weightScales: [Float]) -> [Int32] {
        precondition(bias.count == weightScales.count, "\(bias.count) biases for \(weightScales.count) channels")
        return bias.indices.map { o in
            precondition(bias[o].isFinite, "bias \(o) is not finite")
            precondition(inputScale > 0 && weightScales[o] > 0, "scales must be positive")
            let q = (Double(bias[o]) / (Double(inputScale) * Double(weightScales[o]))).rounded(.toNearestOrEven)
            return Int32(Swift.max(Double(Int32.min), Swift.min(Double(Int32.max), q)))
        }
    }

    /// The inverse: Float(q) * (inputScale * weightScales[o]), the product rounded to float32 first (as a kernel
    /// precomputes it), then the multiply rounded once more; Float(q) itself rounds when |q| > 2^24. So the result is
    /// within about 1.5 ulp (plus half a step) of the original bias, not exactly it.
    public static func dequantizedBias(_ q: [Int32], inputScale: Float, weightScales: [Float]) -> [Float] {
        precondition(q.count == weightScales.count, "\(q.count) biases for \(weightScales.count) channels")
        return q.indices.map { o in Float(q[o]) * (inputScale * weightScales[o]) }
    }
}
