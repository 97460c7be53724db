import Tensors

/// The int8 part of a quantised model: which convolutions carry int8 weights, the uint8 encodings of the
/// activations (keyed by the runtime's node and input names), and the layers deliberately kept in float32.
public struct ModelQuantization: Sendable, Equatable {
    /// int8 convolutions by module name (e.g. `features.features.layer1.0.conv1`).
    public var layers: [String: QuantizedLayer]
    /// Activation encodings by node or graph-input name (`Graph.encodingSource`).
    public var activations: [String: UInt8Encoding]
    /// Nodes kept in float32 (convolutions by node name, and depth-wise correlations), sorted.
    public var float32Nodes: [String]
    /// Free-form settings for people (calibration method, sources, frames, drift budget, quantiser version).
    public var settings: [String: String]

    public init(
        layers: [String: QuantizedLayer], activations: [String: UInt8Encoding], float32Nodes: [String],
        settings: [String: String] = [:]
    ) {
        self.layers = layers
        self.activations = activations
        self.float32Nodes = float32Nodes.sorted()
        self.settings = settings
    }
}

/// One int8 convolution: weights symmetric per output channel, bias int32 at the accumulator scale. A weight-only
/// layer (no int32 bias: the template-only convolutions and the refine deconvolution, which run in float32 once per
/// target or on a 1x1 input) stores int8 weights per slice of its first axis and keeps its float32 bias.
public struct QuantizedLayer: Sendable, Equatable {
    /// OIHW, in [-127, 127].
    public var values: [Int8]
    public var shape: [Int]
    /// Per output channel: real weight = weightScales[o] * value.
    public var weightScales: [Float]
    /// Per output channel: real bias = biasScales[o] * bias[o], biasScales[o] = input scale x weightScales[o].
    /// Empty for a weight-only layer.
    public var bias: [Int32]
    public var biasScales: [Float]
    /// A 3x3 convolution computed in the Winograd domain (siam_int8.h, "wd23"): the 16 input multipliers in
    /// [1, 32767] the quantiser calibrated; nil for the exact int8 arithmetic.
    public var winogradMultipliers: [Int16]?

    /// Weights stored in int8 for size only; computed in float32 on the dequantised weights.
    public var isWeightOnly: Bool { bias.isEmpty }

    public init(
        values: [Int8], shape: [Int], weightScales: [Float], bias: [Int32] = [], biasScales: [Float] = [],
        winogradMultipliers: [Int16]? = nil
    ) {
        self.values = values
        self.shape = shape
        self.weightScales = weightScales
        self.bias = bias
        self.biasScales = biasScales
        self.winogradMultipliers = winogradMultipliers
    }

    /// The float32 weights the int8 ones stand for (used by float32 paths, e.g. the template branch).
    public var dequantizedWeights: [Float] {
        let channels = weightScales.count, per = values.count / max(1, channels)
        // Channel by channel over raw buffers: this runs over every weight of the model at load time.
        return [Float](unsafeUninitializedCapacity: values.count) { out, initialized in
            values.withUnsafeBufferPointer { v in
                for o in 0..<channels {
                    let scale = weightScales[o]
                    for i in (o * per)..<((o + 1) * per) { out[i] = Float(v[i]) * scale }
                }
                for i in (channels * per)..<v.count { out[i] = 0 }   // never: the shape splits evenly
            }
            initialized = values.count
        }
    }

    /// The float32 bias the int8 epilogue adds: Float(bias) x biasScale, rounded once.
    public var dequantizedBias: [Float] { zip(bias, biasScales).map { Float($0) * $1 } }
}
