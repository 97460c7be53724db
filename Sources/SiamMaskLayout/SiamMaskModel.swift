import ModelFormat
import Tensors

/// A siammask_sharp model as stored in a `.siam` file: canonical weights plus typed metadata
/// (architecture, widths, tracker presets, anchors, provenance). See Schemas/siam-format.md for the keys.
public struct SiamMaskModel: Sendable, Equatable {
    public static let architecture = "siammask_sharp"

    public var weights: CanonicalWeights
    public var presets: [String: TrackerHyperParameters]
    public var defaultPreset: String
    public var anchors: AnchorConfig
    /// Free-form provenance: source files, their formats, the converter version.
    public var provenance: [String: String]
    /// Present in an int8 (or mixed-precision) model. `weights` then holds the dequantised float32 values of the
    /// int8 layers, so every float32 path (the template branch, `run`) works unchanged.
    public var quantization: ModelQuantization?

    /// "float32", "int8" (every quantisable layer in int8) or "mixed" (some kept in float32).
    public var precision: String {
        guard let q = quantization else { return "float32" }
        return q.float32Nodes.isEmpty ? "int8" : "mixed"
    }

    public var widths: SiamMaskWidths { weights.widths }

    public init(
        weights: CanonicalWeights, presets: [String: TrackerHyperParameters] = ["vot": .vot, "davis": .davis],
        defaultPreset: String = "vot", anchors: AnchorConfig = .official, provenance: [String: String] = [:],
        quantization: ModelQuantization? = nil
    ) {
        self.weights = weights
        self.quantization = quantization
        self.presets = presets
        self.defaultPreset = defaultPreset
        self.anchors = anchors
        self.provenance = provenance
    }

    public func siamFile() -> SiamFile {
        var m: [String: MetadataValue] = [:]
        m["model.architecture"] = .string(SiamMaskModel.architecture)
        m["model.precision"] = .string(precision)
        m["model.batchnorm"] = .string("folded")
        let w = widths
        m["model.widths.stem"] = .int(Int64(w.stem))
        m["model.widths.planes"] = .ints(w.planes.map(Int64.init))
        m["model.widths.adjust"] = .int(Int64(w.adjust))
        m["model.widths.correlation"] = .int(Int64(w.correlation))
        m["model.widths.refine_v0"] = .ints(w.refineV0.map(Int64.init))
        m["model.widths.refine_v1"] = .ints(w.refineV1.map(Int64.init))
        m["model.widths.refine_v2"] = .ints(w.refineV2.map(Int64.init))
        m["tracker.presets"] = .strings(presets.keys.sorted())
        m["tracker.default_preset"] = .string(defaultPreset)
        for (name, p) in presets {
            let k = "tracker.\(name)."
            m[k + "penalty_k"] = .double(p.penaltyK)
            m[k + "window_influence"] = .double(p.windowInfluence)
            m[k + "lr"] = .double(p.learningRate)
            m[k + "seg_thr"] = .double(p.segmentationThreshold)
            m[k + "exemplar_size"] = .int(Int64(p.exemplarSize))
            m[k + "instance_size"] = .int(Int64(p.instanceSize))
            m[k + "base_size"] = .int(Int64(p.baseSize))
            m[k + "out_size"] = .int(Int64(p.outSize))
            m[k + "context_amount"] = .double(p.contextAmount)
        }
        m["anchors.stride"] = .int(Int64(anchors.stride))
        m["anchors.ratios"] = .doubles(anchors.ratios)
        m["anchors.scales"] = .doubles(anchors.scales)
        for (k, v) in provenance { m["provenance." + k] = .string(v) }
        var tensors = weights.tensors.map { NamedTensor(name: $0.name, tensor: $0.tensor, quantization: nil) }
        if let q = quantization {
            let names = q.activations.keys.sorted()
            m["quant.activations.names"] = .strings(names)
            m["quant.activations.scales"] = .doubles(names.map { Double(q.activations[$0]!.scale) })
            m["quant.activations.zero_points"] = .ints(names.map { Int64(q.activations[$0]!.zeroPoint) })
            m["quant.activations.scheme"] = .string("uint8 affine per tensor")
            m["quant.weights.scheme"] = .string(
                "int8 symmetric per output channel; bias int32 at the accumulator scale")
            m["quant.float32_layers"] = .strings(q.float32Nodes)
            m["quant.int8_layers"] = .strings(q.layers.filter { !$0.value.isWeightOnly }.keys.sorted())
            m["quant.int8_weight_only_layers"] = .strings(q.layers.filter { $0.value.isWeightOnly }.keys.sorted())
            for (k, v) in q.settings { m["quant.settings." + k] = .string(v) }
            let winograd = q.layers.filter { $0.value.winogradMultipliers != nil }.keys.sorted()
            if !winograd.isEmpty {
                m["quant.winograd_domain.layers"] = .strings(winograd)
                m["quant.winograd_domain.multipliers"] = .ints(
                    winograd.flatMap { q.layers[$0]!.winogradMultipliers!.map(Int64.init) })
            }
            for i in tensors.indices {
                let name = tensors[i].name
                let module = String(name.prefix(upTo: name.lastIndex(of: ".")!))
                guard let layer = q.layers[module] else { continue }
                let zeros = [Int32](repeating: 0, count: layer.shape[0])
                if name.hasSuffix(".weight") {
                    tensors[i] = NamedTensor(
                        name: name, tensor: Tensor(shape: layer.shape, int8: layer.values),
                        quantization: QuantizationParameters(scales: layer.weightScales, zeroPoints: zeros, axis: 0))
                } else if name.hasSuffix(".bias"), !layer.isWeightOnly {
                    tensors[i] = NamedTensor(
                        name: name, tensor: Tensor(shape: [layer.shape[0]], int32: layer.bias),
                        quantization: QuantizationParameters(scales: layer.biasScales, zeroPoints: zeros, axis: 0))
                }
            }
        }
        return SiamFile(metadata: m, tensors: tensors)
    }

    /// Reads and validates the metadata and tensors of a `.siam` file against the architecture.
    public init(siamFile file: SiamFile) throws {
        let m = file.metadata
        func string(_ k: String) throws -> String {
            guard case .string(let s)? = m[k] else { throw ModelError.missingMetadata(k) }
            return s
        }
        func int(_ k: String) throws -> Int {
            guard case .int(let v)? = m[k], v > 0, v <= 1 << 20 else { throw ModelError.missingMetadata(k) }
            return Int(v)
        }
        func ints(_ k: String, count: Int) throws -> [Int] {
            guard case .ints(let v)? = m[k], v.count == count, v.allSatisfy({ $0 > 0 && $0 <= 1 << 20 }) else {
                throw ModelError.missingMetadata(k)
            }
            return v.map { Int($0) }
        }
        func double(_ k: String) throws -> Double {
            guard case .double(let v)? = m[k], v.isFinite else { throw ModelError.missingMetadata(k) }
            return v
        }
        func doubles(_ k: String) throws -> [Double] {
            guard case .doubles(let v)? = m[k], !v.isEmpty, v.allSatisfy({ $0.isFinite && $0 > 0 }) else {
                throw ModelError.missingMetadata(k)
            }
            return v
        }
        let arch = try string("model.architecture")
        guard arch == SiamMaskModel.architecture else { throw ModelError.unsupportedArchitecture(arch) }
        let precision = try string("model.precision")
        guard ["float32", "int8", "mixed"].contains(precision) else { throw ModelError.unsupportedPrecision(precision) }
        let widths = SiamMaskWidths(
            stem: try int("model.widths.stem"), planes: try ints("model.widths.planes", count: 3),
            adjust: try int("model.widths.adjust"), correlation: try int("model.widths.correlation"),
            refineV0: try ints("model.widths.refine_v0", count: 2),
            refineV1: try ints("model.widths.refine_v1", count: 2),
            refineV2: try ints("model.widths.refine_v2", count: 2))
        var presets: [String: TrackerHyperParameters] = [:]
        guard case .strings(let names)? = m["tracker.presets"], !names.isEmpty else {
            throw ModelError.missingMetadata("tracker.presets")
        }
        for name in names {
            let k = "tracker.\(name)."
            presets[name] = TrackerHyperParameters(
                penaltyK: try double(k + "penalty_k"), windowInfluence: try double(k + "window_influence"),
                learningRate: try double(k + "lr"), segmentationThreshold: try double(k + "seg_thr"),
                exemplarSize: try int(k + "exemplar_size"), instanceSize: try int(k + "instance_size"),
                baseSize: try int(k + "base_size"), outSize: try int(k + "out_size"),
                contextAmount: try double(k + "context_amount"))
        }
        let defaultPreset = try string("tracker.default_preset")
        guard presets[defaultPreset] != nil else { throw ModelError.missingMetadata("tracker.\(defaultPreset).*") }
        let anchors = AnchorConfig(
            stride: try int("anchors.stride"), ratios: try doubles("anchors.ratios"),
            scales: try doubles("anchors.scales"))
        var provenance: [String: String] = [:]
        for (k, v) in m where k.hasPrefix("provenance.") {
            if case .string(let s) = v { provenance[String(k.dropFirst("provenance.".count))] = s }
        }
        let layers = SiamMaskLayers(widths: widths)
        let expected = Set(layers.canonicalTensors.map(\.name))
        if let extra = file.tensors.first(where: { !expected.contains($0.name) }) {
            throw LayoutError.unexpectedKey(extra.name)
        }
        var byName: [String: Tensor] = [:]
        var quantized: [String: (weight: NamedTensor?, bias: NamedTensor?)] = [:]
        for t in file.tensors {
            if t.quantization == nil, t.tensor.dtype == .float32 {
                byName[t.name] = t.tensor
                continue
            }
            guard precision != "float32" else {
                throw ModelError.unsupportedPrecision("quantised tensor \(t.name) in a float32 model")
            }
            let module = String(t.name.prefix(upTo: t.name.lastIndex(of: ".") ?? t.name.endIndex))
            if t.name.hasSuffix(".weight") {
                quantized[module, default: (nil, nil)].weight = t
            } else {
                quantized[module, default: (nil, nil)].bias = t
            }
        }
        var quantization: ModelQuantization?
        if precision != "float32" {
            var int8Layers: [String: QuantizedLayer] = [:]
            for (module, pair) in quantized {
                let layer = try Self.quantizedLayer(module, weight: pair.weight, bias: pair.bias)
                int8Layers[module] = layer
                byName[module + ".weight"] = Tensor(shape: layer.shape, floats: layer.dequantizedWeights)
                if !layer.isWeightOnly {
                    byName[module + ".bias"] = Tensor(shape: [layer.shape[0]], floats: layer.dequantizedBias)
                }
            }
            guard case .strings(let names)? = m["quant.activations.names"],
                case .doubles(let scales)? = m["quant.activations.scales"],
                case .ints(let zeroPoints)? = m["quant.activations.zero_points"], names.count == scales.count,
                names.count == zeroPoints.count, Set(names).count == names.count
            else {
                throw ModelError.missingMetadata("quant.activations.*")
            }
            var activations: [String: UInt8Encoding] = [:]
            for (i, name) in names.enumerated() {
                let scale = Float(scales[i])
                guard scale.isFinite, scale > 0, (0...255).contains(zeroPoints[i]) else {
                    throw ModelError.invalidQuantization(
                        "activation \(name) has scale \(scales[i]) and zero point \(zeroPoints[i])")
                }
                activations[name] = UInt8Encoding(scale: scale, zeroPoint: Int32(zeroPoints[i]))
            }
            guard case .strings(let float32Nodes)? = m["quant.float32_layers"] else {
                throw ModelError.missingMetadata("quant.float32_layers")
            }
            var settings: [String: String] = [:]
            for (k, v) in m where k.hasPrefix("quant.settings.") {
                if case .string(let s) = v { settings[String(k.dropFirst("quant.settings.".count))] = s }
            }
            try Self.readWinogradDomain(m, widths: widths, into: &int8Layers)
            quantization = ModelQuantization(
                layers: int8Layers, activations: activations, float32Nodes: float32Nodes, settings: settings)
        }
        let weights = try Canonicalizer.validateFolded(byName, widths: widths)
        if let q = quantization {
            for (module, layer) in q.layers where weights[module + ".weight"]?.shape != layer.shape {
                throw LayoutError.wrongShape(
                    key: module + ".weight", expected: weights[module + ".weight"]?.shape ?? [], actual: layer.shape)
            }
        }
        self.init(
            weights: weights, presets: presets, defaultPreset: defaultPreset, anchors: anchors, provenance: provenance,
            quantization: quantization)
    }

    /// The Winograd-domain layers (`quant.winograd_domain.layers`, 16 multipliers each in
    /// `quant.winograd_domain.multipliers`): int8 (not weight-only) 3x3 stride-1 convolutions of the architecture,
    /// multipliers in [1, 32767].
    private static func readWinogradDomain(
        _ m: [String: MetadataValue], widths: SiamMaskWidths, into layers: inout [String: QuantizedLayer]
    ) throws {
        let architecture = SiamMaskLayers(widths: widths)
        let (namesKey, valuesKey) = ("quant.winograd_domain.layers", "quant.winograd_domain.multipliers")
        guard m[namesKey] != nil || m[valuesKey] != nil else { return }
        guard case .strings(let names)? = m[namesKey], case .ints(let values)? = m[valuesKey],
            values.count == 16 * names.count, Set(names).count == names.count
        else {
            throw ModelError.invalidQuantization("\(namesKey) and \(valuesKey) must list 16 multipliers per layer")
        }
        for (i, name) in names.enumerated() {
            guard let layer = layers[name], !layer.isWeightOnly, layer.shape.count == 4, layer.shape[2] == 3,
                layer.shape[3] == 3, let conv = architecture.conv(named: name), conv.stride == 1, !conv.transposed
            else {
                throw ModelError.invalidQuantization("\(namesKey): '\(name)' is not an int8 3x3 stride-1 convolution")
            }
            let mult = values[(16 * i)..<(16 * i + 16)]
            guard mult.allSatisfy({ (1...32767).contains($0) }) else {
                throw ModelError.invalidQuantization("\(valuesKey): '\(name)' has a multiplier outside [1, 32767]")
            }
            layers[name]!.winogradMultipliers = mult.map { Int16($0) }
        }
    }

    /// Checks one int8 layer's tensors: int8 OIHW weights with per-output-channel scales and zero points 0, values in
    /// [-127, 127]; an int32 bias with one positive scale per output channel, or none (weight-only: the float32 bias
    /// stays a plain tensor).
    private static func quantizedLayer(
        _ module: String, weight: NamedTensor?, bias: NamedTensor?
    ) throws -> QuantizedLayer {
        guard let weight, let wq = weight.quantization else {
            throw ModelError.invalidQuantization("\(module).weight must be int8 with per-channel scales")
        }
        let shape = weight.tensor.shape
        if bias == nil {
            guard weight.tensor.dtype == .int8, shape.count == 4, shape[0] > 0, wq.axis == 0,
                wq.scales.count == shape[0],
                wq.zeroPoints.allSatisfy({ $0 == 0 }), wq.scales.allSatisfy({ $0.isFinite && $0 > 0 })
            else {
                throw ModelError.invalidQuantization(
                    "\(module).weight must be int8, symmetric per slice of its first axis with positive scales")
            }
            let values = weight.tensor.withUnsafeBytes { Array($0.bindMemory(to: Int8.self)) }
            guard !values.contains(-128) else {
                throw ModelError.invalidQuantization("\(module).weight holds -128, outside the symmetric range")
            }
            return QuantizedLayer(values: values, shape: shape, weightScales: wq.scales)
        }
        guard let bias, let bq = bias.quantization else {
            throw ModelError.invalidQuantization("\(module).bias must be int32 with per-channel scales")
        }
        guard weight.tensor.dtype == .int8, shape.count == 4, shape[0] > 0, wq.axis == 0, wq.scales.count == shape[0],
            wq.zeroPoints.allSatisfy({ $0 == 0 }), wq.scales.allSatisfy({ $0.isFinite && $0 > 0 })
        else {
            throw ModelError.invalidQuantization(
                "\(module).weight must be int8 OIHW, symmetric per output channel with positive scales")
        }
        guard bias.tensor.dtype == .int32, bias.tensor.shape == [shape[0]], bq.axis == 0, bq.scales.count == shape[0],
            bq.zeroPoints.allSatisfy({ $0 == 0 }), bq.scales.allSatisfy({ $0.isFinite && $0 > 0 })
        else {
            throw ModelError.invalidQuantization(
                "\(module).bias must be int32 [\(shape[0])] with one positive scale per channel")
        }
        let values = weight.tensor.withUnsafeBytes { Array($0.bindMemory(to: Int8.self)) }
        guard !values.contains(-128) else {
            throw ModelError.invalidQuantization("\(module).weight holds -128, outside the symmetric range")
        }
        let b = bias.tensor.withUnsafeBytes { Array($0.bindMemory(to: Int32.self)) }
        return QuantizedLayer(values: values, shape: shape, weightScales: wq.scales, bias: b, biasScales: bq.scales)
    }
}

public enum ModelError: Error, Equatable, CustomStringConvertible {
    case missingMetadata(String)
    case unsupportedArchitecture(String)
    case unsupportedPrecision(String)
    case invalidQuantization(String)

    public var description: String {
        switch self {
        case .missingMetadata(let k): return "model file metadata '\(k)' is missing or invalid"
        case .unsupportedArchitecture(let a):
            return "model architecture '\(a)' is not supported (expected \(SiamMaskModel.architecture))"
        case .unsupportedPrecision(let p): return "model precision '\(p)' is not supported by this version"
        case .invalidQuantization(let why): return "invalid quantisation: \(why)"
        }
    }
}
