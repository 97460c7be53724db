import Quantization
import Runtime
import SiamMaskLayout
import Tensors

/// A node of the per-frame graphs (search and refine) that can run in int8.
public struct QuantizableNode: Sendable, Equatable {
    public enum Kind: String, Sendable { case convolution, correlation }
    public let name: String
    public let kind: Kind
    /// Module of a convolution's weights (e.g. `features.features.layer1.0.downsample.0`); nil for a correlation.
    public let module: String?
    /// The encoding source of its (search) input: a node or graph-input name of the calibration table.
    public let inputSource: String
}

/// A 3x3 stride-1 convolution of the tracking frame's search graph that can run in the Winograd domain
/// (siam_int8.h, "wd23"), with what calibration needs to observe its input.
public struct WinogradCandidate: Sendable, Equatable {
    /// The node (and its weights' module).
    public let name: String
    public let module: String
    /// The node whose output is this convolution's input, as it is (no window or pooling in between).
    public let inputSource: String
    public let padding: Int
    public let dilation: Int
}

public enum QuantizerError: Error, Equatable, CustomStringConvertible {
    case alreadyQuantized
    case missingCalibration(tensor: String, node: String)
    case unknownLayer(String)
    case unsupportedWeightBits(Int)
    case notWinogradCandidate(String)

    public var description: String {
        switch self {
        case .alreadyQuantized: return "the model is already quantised; quantise its float32 original"
        case .missingCalibration(let t, let n):
            return "the calibration table has no entry for '\(t)' (needed by \(n)); calibrate with this model"
        case .unknownLayer(let n): return "no per-frame layer is named '\(n)'"
        case .unsupportedWeightBits(let b): return "weights can be quantised to 8 or 7 bits, not \(b)"
        case .notWinogradCandidate(let n):
            return "'\(n)' is not a 3x3 stride-1 convolution of the search graph; it cannot run in the Winograd domain"
        }
    }
}

/// Builds int8 SiamMask models: int8 symmetric per-output-channel weights, int32 biases at the accumulator scale,
/// uint8 per-tensor activation encodings from a calibration. The template-only convolutions (the correlation blocks'
/// conv_kernel) and the refine deconvolution store int8 weights too but compute in float32 on the dequantised values
/// (weight-only): they run once per target, or on a 1x1 input.
public enum SiamMaskQuantizer {
    /// The per-frame nodes that can run in int8, in execution order (search graph, then refine).
    public static func quantizableNodes(_ network: SiamMaskNetwork) throws -> [QuantizableNode] {
        var nodes: [QuantizableNode] = []
        for graph in [try network.trackingSearchGraph(), try network.refineGraph(row: 12, column: 12)] {
            for node in graph.nodes {
                switch node.operation {
                case .conv2d(let w, _, _, _, _):
                    nodes.append(
                        QuantizableNode(
                            name: node.name, kind: .convolution, module: w.name,
                            inputSource: graph.encodingSource(of: node.inputs[0])))
                case .depthwiseCrossCorrelation:
                    nodes.append(
                        QuantizableNode(
                            name: node.name, kind: .correlation, module: nil,
                            inputSource: graph.encodingSource(of: node.inputs[0])))
                default: break
                }
            }
        }
        return nodes
    }

    /// The convolutions of the frame's search graph that may run in the Winograd domain: 3x3, stride 1, fed
    /// directly by another node's output.
    public static func winogradCandidates(_ network: SiamMaskNetwork) throws -> [WinogradCandidate] {
        let graph = try network.frameSearchGraph()
        return graph.nodes.compactMap { node -> WinogradCandidate? in
            guard case .conv2d(let w, let stride, let padding, let dilation, _) = node.operation, w.kernel == 3,
                stride == 1, let producer = graph.nodes.first(where: { $0.output == node.inputs[0] })
            else { return nil }
            switch producer.operation {
            case .window, .maxPool2d: return nil
            default:
                return WinogradCandidate(
                    name: node.name, module: w.name, inputSource: producer.name, padding: padding,
                    dilation: dilation)
            }
        }
    }

    /// The candidates `siammask quantize --winograd-domain` converts: the 3x3 stride-1 convolutions of layers 2 and 3
    /// (layer2's conv2s, layer3's dilated conv2s and 3x3 downsample) and the correlation blocks' conv_search, by role,
    /// so that a narrow model is evaluated on the same layers a full one runs. At full width these are the 3x3s of
    /// 128 input channels and more, each measured faster on AVX-512 VNNI (1.26x at 128 channels, 1.4-1.75x above);
    /// layer1's 64-channel 3x3s ran slower there (0.87x: the transforms cost more than the products they save).
    public static func defaultWinogradLayers(_ network: SiamMaskNetwork) throws -> [WinogradCandidate] {
        try winogradCandidates(network).filter {
            $0.name.hasPrefix("features.features.layer2.") || $0.name.hasPrefix("features.features.layer3.")
                || $0.name.hasSuffix(".conv_search")
        }
    }

    /// Modules stored weight-only (int8 weights, float32 compute): the template-only convolutions and the refine
    /// deconvolution.
    public static func weightOnlyModules(_ network: SiamMaskNetwork) throws -> [String] {
        let perFrame = Set(try quantizableNodes(network).compactMap(\.module))
        return SiamMaskLayers(widths: network.widths).trackedConvs.map(\.module).filter { !perFrame.contains($0) }
    }

    /// Quantises every quantisable node except those in `float32Nodes` (per-frame node names, or weight-only module
    /// names, which then keep float32 weights).
    /// - Parameters:
    ///   - encodings: activation encodings by name (from a calibration table); each int8 node needs its input's and
    ///     its own.
    ///   - weightBits: 8 (weights in [-127, 127]) or 7 ([-63, 63], recorded as the setting `weight_bits`): the
    ///     int8-compute layers of a 7-bit model run on AVX2 CPUs without VNNI through vpmaddubsw, about 1.3x the
    ///     products per instruction of the exact 8-bit path, at the accuracy cost measured by `siammask drift`.
    ///   - winograd: per convolution node, the calibrated `WinogradInputObserver.absMax` of its input: those layers
    ///     are computed in the Winograd domain (16 instead of 36 products per 2x2 outputs, at the accuracy cost
    ///     `siammask drift` measures). Keys must be `winogradCandidates`' names.
    public static func quantize(
        _ model: SiamMaskModel, encodings: [String: UInt8Encoding], float32Nodes: Set<String> = [],
        settings: [String: String] = [:], weightBits: Int = 8, winograd: [String: [Float]] = [:]
    ) throws -> SiamMaskModel {
        guard model.quantization == nil else { throw QuantizerError.alreadyQuantized }
        guard weightBits == 7 || weightBits == 8 else { throw QuantizerError.unsupportedWeightBits(weightBits) }
        let limit: Int8 = weightBits == 7 ? 63 : 127
        let network = try SiamMaskNetwork(model: model)
        if !winograd.isEmpty {
            let candidates = Set(try winogradCandidates(network).map(\.name))
            if let stray = winograd.keys.sorted().first(where: { !candidates.contains($0) }) {
                throw QuantizerError.notWinogradCandidate(stray)
            }
        }
        let nodes = try quantizableNodes(network)
        let weightOnly = try weightOnlyModules(network)
        let names = Set(nodes.map(\.name) + weightOnly)
        if let unknown = float32Nodes.first(where: { !names.contains($0) }) {
            throw QuantizerError.unknownLayer(unknown)
        }
        var layers: [String: QuantizedLayer] = [:]
        var activations: [String: UInt8Encoding] = [:]
        var weights = model.weights
        for node in nodes where !float32Nodes.contains(node.name) {
            guard let input = encodings[node.inputSource] else {
                throw QuantizerError.missingCalibration(tensor: node.inputSource, node: node.name)
            }
            guard let output = encodings[node.name] else {
                throw QuantizerError.missingCalibration(tensor: node.name, node: node.name)
            }
            activations[node.inputSource] = input
            activations[node.name] = output
            guard let module = node.module else { continue }
            let w = model.weights[module + ".weight"]!, b = model.weights[module + ".bias"]!
            let q = PerChannelInt8.symmetric(weights: w.floats, outChannels: w.shape[0], limit: limit)
            let bias = PerChannelInt8.int32Bias(b.floats, inputScale: input.scale, weightScales: q.scales)
            let layer = QuantizedLayer(
                values: q.values, shape: w.shape, weightScales: q.scales, bias: bias,
                biasScales: q.scales.map { input.scale * $0 },
                winogradMultipliers: winograd[node.name].map {
                    WinogradInputObserver.multipliers(absMax: $0, inputScale: input.scale)
                })
            layers[module] = layer
            // The float32 paths (template branch) run what the int8 layer stands for.
            weights.replace(module + ".weight", with: Tensor(shape: w.shape, floats: layer.dequantizedWeights))
            weights.replace(module + ".bias", with: Tensor(shape: b.shape, floats: layer.dequantizedBias))
        }
        // Template-only convolutions and the refine deconvolution: int8 weights for storage, float32 compute.
        for module in weightOnly where !float32Nodes.contains(module) {
            let layer = SiamMaskLayers(widths: model.widths).conv(named: module)!
            let w = model.weights[layer.weightKey]!
            let q = PerChannelInt8.symmetric(weights: w.floats, outChannels: w.shape[0])
            let stored = QuantizedLayer(values: q.values, shape: w.shape, weightScales: q.scales)
            layers[module] = stored
            weights.replace(layer.weightKey, with: Tensor(shape: w.shape, floats: stored.dequantizedWeights))
        }
        var result = model
        result.weights = weights
        result.quantization = ModelQuantization(
            layers: layers, activations: activations,
            float32Nodes: (nodes.map(\.name) + weightOnly).filter { float32Nodes.contains($0) },
            settings: settings)
        if weightBits != 8 { result.quantization?.settings["weight_bits"] = String(weightBits) }
        return result
    }

    /// Node names matching any of the glob patterns (`*` any run of characters, `?` one), by node or module name,
    /// and the matching weight-only modules.
    public static func nodes(
        matching patterns: [String], in nodes: [QuantizableNode], weightOnly: [String] = []
    ) -> Set<String> {
        Set(
            nodes.filter { n in
                patterns.contains { p in glob(p, n.name) || (n.module.map { glob(p, $0) } ?? false) }
            }.map(\.name) + weightOnly.filter { m in patterns.contains { glob($0, m) } })
    }

    static func glob(_ pattern: String, _ text: String) -> Bool {
        let p = Array(pattern), t = Array(text)
        var (pi, ti, star, mark) = (0, 0, -1, 0)
        while ti < t.count {
            if pi < p.count, p[pi] == "?" || p[pi] == t[ti] {
                pi += 1; ti += 1
            } else if pi < p.count, p[pi] == "*" {
                star = pi; mark = ti; pi += 1
            } else if star >= 0 {
                pi = star + 1; mark += 1; ti = mark
            } else {
                return false
            }
        }
        while pi < p.count, p[pi] == "*" { pi += 1 }
        return pi == p.count
    }
}
