import Tensors

/// The weights of a siammask_sharp network in canonical form: for every tracked convolution, `<module>.weight`
/// with its batch-norm folded in (float32) and `<module>.bias`. Produced once by an importer, stored in `.siam`.
public struct CanonicalWeights: Sendable, Equatable {
    public var widths: SiamMaskWidths
    /// In the order of `SiamMaskLayers.canonicalTensors`.
    public var tensors: [(name: String, tensor: Tensor)]

    public init(widths: SiamMaskWidths, tensors: [(name: String, tensor: Tensor)]) {
        self.widths = widths
        self.tensors = tensors
    }

    public subscript(name: String) -> Tensor? { tensors.first { $0.name == name }?.tensor }

    /// Replaces an existing tensor of the same shape (quantisers swap in dequantised values).
    public mutating func replace(_ name: String, with tensor: Tensor) {
        guard let i = tensors.firstIndex(where: { $0.name == name }) else { preconditionFailure("no tensor \(name)") }
        precondition(tensors[i].tensor.shape == tensor.shape, "\(name): shape changes")
        tensors[i].tensor = tensor
    }

    public static func == (a: CanonicalWeights, b: CanonicalWeights) -> Bool {
        a.widths == b.widths && a.tensors.count == b.tensors.count
            && zip(a.tensors, b.tensors).allSatisfy { $0.name == $1.name && $0.tensor == $1.tensor }
    }
}

public enum LayoutError: Error, Equatable, CustomStringConvertible {
    case missingKey(String)
    case unexpectedKey(String)
    case wrongShape(key: String, expected: [Int], actual: [Int])
    case wrongDType(key: String, expected: String, actual: String)
    case inconsistentWidths(String)
    case nonFinite(key: String)
    case invalidBatchNorm(key: String, detail: String)

    public var description: String {
        switch self {
        case .missingKey(let k): return "missing key \(k)"
        case .unexpectedKey(let k): return "unexpected key \(k) (not part of siammask_sharp)"
        case .wrongShape(let k, let e, let a): return "\(k) has shape \(a), the architecture needs \(e)"
        case .wrongDType(let k, let e, let a): return "\(k) is \(a), expected \(e)"
        case .inconsistentWidths(let why): return "inconsistent channel widths: \(why)"
        case .nonFinite(let k): return "\(k) holds NaN or infinity"
        case .invalidBatchNorm(let k, let d): return "batch-norm \(k): \(d)"
        }
    }
}

/// Options for turning a raw state dict into canonical weights.
public struct CanonicalizationOptions: Sendable {
    /// Accept a state dict with missing keys; missing BN statistics become identity, missing weights zero.
    /// Off by default: the official loader's silent `strict=False` is a known trap (spec pitfall 24).
    public var allowMissing: Bool = false
    /// Accept and ignore keys that are not part of the architecture.
    public var allowUnexpected: Bool = false
    public init(allowMissing: Bool = false, allowUnexpected: Bool = false) {
        self.allowMissing = allowMissing
        self.allowUnexpected = allowUnexpected
    }
}

/// Running statistics and affine parameters of one BatchNorm2d.
public struct BatchNormStatistics: Sendable, Equatable {
    public var gamma: [Float], beta: [Float], mean: [Float], variance: [Float]
    public init(gamma: [Float], beta: [Float], mean: [Float], variance: [Float]) {
        self.gamma = gamma; self.beta = beta; self.mean = mean; self.variance = variance
    }
}

public enum Canonicalizer {
    /// BatchNorm2d epsilon of every BN in SiamMask.
    public static let batchNormEpsilon = 1e-5

    /// Infers the channel widths of a state dict (keys already stripped of `module.`) from its tensor shapes.
    public static func inferWidths(_ dict: [String: Tensor]) throws -> SiamMaskWidths {
        func out(_ key: String, dim: Int = 0) throws -> Int {
            guard let t = dict[key] else { throw LayoutError.missingKey(key) }
            guard t.shape.count == 4 else {
                throw LayoutError.wrongShape(key: key, expected: [-1, -1, -1, -1], actual: t.shape)
            }
            return t.shape[dim]
        }
        let b = "features.features."
        let widths = SiamMaskWidths(
            stem: try out(b + "conv1.weight"),
            planes: try (1...3).map { try out(b + "layer\($0).0.conv1.weight") },
            adjust: try out("features.downsample.downsample.0.weight"),
            correlation: try out("rpn_model.cls.conv_kernel.0.weight"),
            refineV0: [try out("refine_model.v0.0.weight"), try out("refine_model.v0.2.weight")],
            refineV1: [try out("refine_model.v1.0.weight"), try out("refine_model.v1.2.weight")],
            refineV2: [try out("refine_model.v2.0.weight"), try out("refine_model.v2.2.weight")])
        guard widths.isValid else { throw LayoutError.inconsistentWidths(widths.description) }
        return widths
    }

    /// Checks every key and shape of an official-style state dict against the architecture, then folds batch-norm
    /// (in double precision) into the convolutions. The mask head is validated but not kept.
    public static func canonicalize(
        stateDict dict: [String: Tensor], widths: SiamMaskWidths? = nil,
        options: CanonicalizationOptions = .init()
    ) throws -> CanonicalWeights {
        let widths = try widths ?? inferWidths(dict)
        let layers = SiamMaskLayers(widths: widths)
        var expected: [String: (shape: [Int], dtype: String)] = [:]
        for k in layers.checkpointKeys { expected[k.key] = (k.shape, k.dtype) }
        if !options.allowUnexpected, let extra = dict.keys.sorted().first(where: { expected[$0] == nil }) {
            throw LayoutError.unexpectedKey(extra)
        }
        for k in layers.checkpointKeys {
            guard let t = dict[k.key] else {
                if options.allowMissing { continue }
                throw LayoutError.missingKey(k.key)
            }
            // num_batches_tracked is an int64 scalar in PyTorch >= 0.4.1; its value is irrelevant here.
            if k.key.hasSuffix("num_batches_tracked") {
                guard t.count == 1 else { throw LayoutError.wrongShape(key: k.key, expected: [], actual: t.shape) }
                continue
            }
            guard t.dtype == .float32 else {
                throw LayoutError.wrongDType(key: k.key, expected: "float32", actual: t.dtype.description)
            }
            guard t.shape == k.shape else {
                throw LayoutError.wrongShape(key: k.key, expected: k.shape, actual: t.shape)
            }
        }
        var tensors: [(name: String, tensor: Tensor)] = []
        for conv in layers.trackedConvs {
            let weightCount = conv.weightShape.reduce(1, *)
            let weights = dict[conv.weightKey]?.floats ?? [Float](repeating: 0, count: weightCount)
            let bias = conv.hasBias ? dict[conv.biasKey]?.floats : nil
            var batchNorm: BatchNormStatistics?
            if let bn = conv.batchNorm {
                func param(_ p: String, _ fallback: Float) -> [Float] {
                    dict["\(bn).\(p)"]?.floats ?? [Float](repeating: fallback, count: conv.outChannels)
                }
                batchNorm = BatchNormStatistics(
                    gamma: param("weight", 1), beta: param("bias", 0),
                    mean: param("running_mean", 0), variance: param("running_var", 1))
            }
            let (w, b) = try fold(conv, weight: weights, bias: bias, batchNorm: batchNorm)
            tensors.append((conv.weightKey, w))
            tensors.append((conv.biasKey, b))
        }
        return CanonicalWeights(widths: widths, tensors: tensors)
    }

    /// Folds one convolution's batch-norm into its weight and bias, in double precision:
    /// w' = w * g / sqrt(v + eps), b' = (b - m) * g / sqrt(v + eps) + beta. Without BN the conv passes through
    /// (a missing bias becomes zeros). Returns canonical float32 `<module>.weight` and `<module>.bias`.
    public static func fold(
        _ conv: ConvLayer, weight: [Float], bias: [Float]?, batchNorm: BatchNormStatistics?
    )
        throws -> (weight: Tensor, bias: Tensor)
    {
        let weightCount = conv.weightShape.reduce(1, *)
        guard weight.count == weightCount else {
            throw LayoutError.wrongShape(key: conv.weightKey, expected: conv.weightShape, actual: [weight.count])
        }
        var b = (bias ?? [Float](repeating: 0, count: conv.outChannels)).map(Double.init)
        guard b.count == conv.outChannels else {
            throw LayoutError.wrongShape(key: conv.biasKey, expected: [conv.outChannels], actual: [b.count])
        }
        var folded = weight
        if let bn = batchNorm {
            guard [bn.gamma, bn.beta, bn.mean, bn.variance].allSatisfy({ $0.count == conv.outChannels }) else {
                throw LayoutError.invalidBatchNorm(
                    key: conv.batchNorm ?? conv.module, detail: "statistics are not \(conv.outChannels) long")
            }
            // ConvTranspose weights are (in, out, k, k): never BN-folded in SiamMask, so output-major holds here.
            let perOut = weightCount / conv.outChannels
            for o in 0..<conv.outChannels {
                let variance = Double(bn.variance[o])
                guard variance >= 0 else {
                    throw LayoutError.invalidBatchNorm(
                        key: conv.batchNorm ?? conv.module, detail: "negative running_var at channel \(o)")
                }
                let scale = Double(bn.gamma[o]) / (variance + batchNormEpsilon).squareRoot()
                for i in 0..<perOut { folded[o * perOut + i] = Float(Double(weight[o * perOut + i]) * scale) }
                b[o] = (b[o] - Double(bn.mean[o])) * scale + Double(bn.beta[o])
            }
        }
        let biasFloats = b.map { Float($0) }
        if folded.contains(where: { !$0.isFinite }) { throw LayoutError.nonFinite(key: conv.weightKey) }
        if biasFloats.contains(where: { !$0.isFinite }) { throw LayoutError.nonFinite(key: conv.biasKey) }
        return (Tensor(shape: conv.weightShape, floats: folded), Tensor(shape: [conv.outChannels], floats: biasFloats))
    }

    /// Builds canonical weights from already-folded tensors (e.g. an ONNX export whose exporter folded BN),
    /// checking that every canonical tensor is present with the right shape.
    public static func validateFolded(_ tensors: [String: Tensor], widths: SiamMaskWidths) throws -> CanonicalWeights {
        let layers = SiamMaskLayers(widths: widths)
        var out: [(name: String, tensor: Tensor)] = []
        for (name, shape) in layers.canonicalTensors {
            guard let t = tensors[name] else { throw LayoutError.missingKey(name) }
            guard t.dtype == .float32 else {
                throw LayoutError.wrongDType(key: name, expected: "float32", actual: t.dtype.description)
            }
            guard t.shape == shape else { throw LayoutError.wrongShape(key: name, expected: shape, actual: t.shape) }
            // On the stored bytes: `floats` would copy every weight of the model once more at load time.
            let finite = t.withUnsafeBytes { raw in !raw.bindMemory(to: Float.self).contains { !$0.isFinite } }
            if !finite { throw LayoutError.nonFinite(key: name) }
            out.append((name, t))
        }
        return CanonicalWeights(widths: widths, tensors: out)
    }
}
