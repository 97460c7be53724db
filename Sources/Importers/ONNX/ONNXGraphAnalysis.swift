import SiamMaskLayout

/// What a value in the graph carries, traced back through every operator that is not a convolution:
/// the nearest convolution(s) with constant weights, depth-wise correlation(s), or graph input(s) it is computed from.
enum ONNXOrigin: Hashable {
    case layer(Int)
    case correlation(Int)
    case input(String)
}

/// A BatchNormalization node that directly follows a convolution, with its parameters read out.
struct ONNXBatchNormNode {
    let node: ONNXNode
    let statistics: BatchNormStatistics
    let epsilon: Double
}

/// A Conv or ConvTranspose node whose weight is a constant: a candidate for one SiamMask convolution.
struct ONNXConvLayer {
    let node: ONNXNode
    let transposed: Bool
    let weight: ONNXTensor
    let bias: ONNXTensor?
    /// Origins of the data input (input 0).
    let predecessors: Set<ONNXOrigin>
    var batchNorm: ONNXBatchNormNode?
    /// The canonical module its weight's initializer name designates (`...features.features.conv1.weight`), if any.
    let namedModule: String?

    var group: Int { Int(clamping: node.attributes["group"]?.intValue ?? 1) }
    /// Output channels: Conv weights are (out, in/group, k, k), ConvTranspose weights (in, out/group, k, k).
    var outChannels: Int { transposed ? weight.dims[1] * max(1, group) : weight.dims[0] }
    var kernel: (Int, Int) { (weight.dims[2], weight.dims[3]) }
    var inChannels: Int { transposed ? weight.dims[0] : weight.dims[1] * max(1, group) }
}

/// A Conv whose weight is computed at run time: the depth-wise correlation of a DepthCorr block
/// (`conv2d(search, kernel, groups=C)`). Input 0 carries the search side, input 1 the kernel (template) side.
struct ONNXCorrelationNode {
    let node: ONNXNode
    let search: Set<ONNXOrigin>
    let kernel: Set<ONNXOrigin>
}

/// The data flow of one ONNX graph, reduced to what weight matching needs: the convolutions with constant weights,
/// the batch-norms that follow them, the correlations, and for each of them the origins of its inputs.
struct ONNXGraphAnalysis {
    let file: String
    private(set) var layers: [ONNXConvLayer] = []
    private(set) var correlations: [ONNXCorrelationNode] = []

    /// Operators whose outputs carry no data of their inputs (shapes, sizes, fresh constants).
    static let opaqueOperators: Set<String> = [
        "Shape", "Size", "ConstantOfShape", "Constant", "RandomNormal", "RandomUniform", "RandomNormalLike",
        "RandomUniformLike", "EyeLike", "NonZero", "Range",
    ]
    /// Operators whose every input is data (for all others only input 0 is: the rest are shapes, axes, scales...).
    static let multiInputOperators: Set<String> = [
        "Add", "Sub", "Mul", "Div", "Sum", "Mean", "Max", "Min", "Concat", "MatMul", "Gemm", "Where", "Pow",
    ]

    init(model: ONNXModel, file: String) throws {
        self.file = file
        let graph = model.graph
        var constants: [String: ONNXTensor] = [:]
        for t in graph.initializers where constants[t.name] == nil { constants[t.name] = t }
        // Constant nodes whose value is not a tensor attribute (value_float, value_ints...): data-free, not weights.
        var valuelessConstants: Set<String> = []
        let graphInputs = Set(graph.inputs.map(\.name)).subtracting(constants.keys)
        var producer: [String: Int] = [:]
        for node in graph.nodes {
            for o in node.outputs where !o.isEmpty && producer[o] == nil { producer[o] = node.index }
        }

        var origins: [String: Set<ONNXOrigin>] = [:]
        var batchNormNodes: [ONNXNode] = []
        var layerOfOutput: [String: Int] = [:]

        func originsOf(_ value: String, at node: ONNXNode, isWeight: Bool = false) throws -> Set<ONNXOrigin> {
            if value.isEmpty || constants[value] != nil || valuelessConstants.contains(value) { return [] }
            if let o = origins[value] { return o }
            if graphInputs.contains(value) { return [.input(value)] }
            if let p = producer[value] {
                throw ONNXImportError.structureNotRecognized(
                    file: file, node: node.reference,
                    detail: "reads '\(value)' before node #\(p) produces it (the graph is not topologically sorted)")
            }
            if isWeight { throw ONNXImportError.missingInitializer(file: file, node: node.reference, value: value) }
            throw ONNXImportError.undefinedValue(file: file, node: node.reference, value: value)
        }

        for node in graph.nodes {
            let op = node.isStandard ? node.opType : "\(node.domain).\(node.opType)"
            let isConvolution = op == "Conv" || op == "ConvTranspose"
            // Every input must be defined, whatever the operator does with it.
            for (i, input) in node.inputs.enumerated() {
                _ = try originsOf(input, at: node, isWeight: isConvolution && i == 1)
            }
            var produced: Set<ONNXOrigin> = []
            switch op {
            case "Constant":
                if case .tensor(let t)? = node.attributes["value"], let out = node.outputs.first {
                    constants[out] = ONNXTensor(name: out, dims: t.dims, dataType: t.dataType, payload: t.payload)
                } else {
                    node.outputs.forEach { valuelessConstants.insert($0) }
                }
                continue
            case "Identity" where node.inputs.first.flatMap({ constants[$0] }) != nil:
                // An alias of a constant (exporters use it for weights read twice): keep the initializer's name.
                if let out = node.outputs.first { constants[out] = constants[node.inputs[0]] }
                continue
            case "Conv", "ConvTranspose":
                guard node.inputs.count >= 2, !node.inputs[1].isEmpty else {
                    throw ONNXImportError.missingInitializer(file: file, node: node.reference, value: "")
                }
                let weightName = node.inputs[1]
                let group = node.attributes["group"]?.intValue ?? 1
                guard (1...Int64(Int32.max)).contains(group) else {
                    throw ONNXImportError.invalidAttribute(
                        file: file, node: node.reference, attribute: "group", detail: "is \(group)")
                }
                if let weight = constants[weightName] {
                    guard weight.dims.count == 4 else {
                        throw ONNXImportError.wrongRank(
                            file: file, node: node.reference, value: weightName,
                            expected: 4, actual: weight.dims.count)
                    }
                    var bias: ONNXTensor?
                    if node.inputs.count > 2, !node.inputs[2].isEmpty {
                        guard let b = constants[node.inputs[2]] else {
                            throw ONNXImportError.missingInitializer(
                                file: file, node: node.reference, value: node.inputs[2])
                        }
                        guard b.dims.count == 1 else {
                            throw ONNXImportError.wrongRank(
                                file: file, node: node.reference, value: node.inputs[2],
                                expected: 1, actual: b.dims.count)
                        }
                        bias = b
                    }
                    let layer = ONNXConvLayer(
                        node: node, transposed: op == "ConvTranspose", weight: weight, bias: bias,
                        predecessors: try originsOf(node.inputs[0], at: node), batchNorm: nil,
                        namedModule: ONNXCanonicalNames.module(forWeightName: weight.name))
                    if let out = node.outputs.first { layerOfOutput[out] = layers.count }
                    produced = [.layer(layers.count)]
                    layers.append(layer)
                } else {
                    // The weight is computed at run time. A grouped Conv fed by another node is the depth-wise
                    // correlation; anything else reading a weight nobody provides is a missing initializer.
                    guard op == "Conv", producer[weightName] != nil || group > 1 else {
                        throw ONNXImportError.missingInitializer(file: file, node: node.reference, value: weightName)
                    }
                    produced = [.correlation(correlations.count)]
                    correlations.append(
                        ONNXCorrelationNode(
                            node: node, search: try originsOf(node.inputs[0], at: node),
                            kernel: try originsOf(weightName, at: node)))
                }
            case "BatchNormalization":
                batchNormNodes.append(node)
                produced = try originsOf(node.inputs.first ?? "", at: node)
            case _ where Self.opaqueOperators.contains(op):
                produced = []
            case _ where Self.multiInputOperators.contains(op):
                for input in node.inputs { produced.formUnion(try originsOf(input, at: node)) }
            default:
                produced = try originsOf(node.inputs.first ?? "", at: node)
            }
            for out in node.outputs where !out.isEmpty { origins[out] = produced }
        }

        for bn in batchNormNodes { try attach(bn, layerOfOutput: layerOfOutput, constants: constants) }
    }

    private mutating func attach(_ bn: ONNXNode, layerOfOutput: [String: Int], constants: [String: ONNXTensor]) throws {
        guard let input = bn.inputs.first, let index = layerOfOutput[input] else {
            throw ONNXImportError.unattachedBatchNorm(file: file, node: bn.reference)
        }
        if let other = layers[index].batchNorm {
            throw ONNXImportError.structureNotRecognized(
                file: file, node: bn.reference,
                detail: "\(other.node.reference) already normalises the output of \(layers[index].node.reference)")
        }
        if bn.attributes["training_mode"]?.intValue ?? 0 != 0 {
            throw ONNXImportError.invalidAttribute(
                file: file, node: bn.reference, attribute: "training_mode",
                detail: "is 1 (batch statistics); export the model in eval mode")
        }
        guard bn.inputs.count >= 5 else {
            throw ONNXImportError.structureNotRecognized(
                file: file, node: bn.reference,
                detail: "has \(bn.inputs.count) inputs, BatchNormalization needs 5")
        }
        let channels = layers[index].outChannels
        var parameters: [[Float]] = []
        for (i, label) in ["scale", "B", "input_mean", "input_var"].enumerated() {
            let name = bn.inputs[i + 1]
            guard let tensor = constants[name] else {
                throw ONNXImportError.missingInitializer(file: file, node: bn.reference, value: name)
            }
            let values = try tensor.floatValues(file: file)
            guard values.count == channels, tensor.dims.count == 1 else {
                throw ONNXImportError.batchNormParameterLength(
                    file: file, node: bn.reference, parameter: "\(label) '\(name)'",
                    expected: channels, actual: values.count)
            }
            parameters.append(values)
        }
        let epsilon = Double(bn.attributes["epsilon"]?.floatValue ?? 1e-5)
        guard epsilon.isFinite, epsilon >= 0 else {
            throw ONNXImportError.invalidAttribute(
                file: file, node: bn.reference, attribute: "epsilon",
                detail: "is \(epsilon)")
        }
        layers[index].batchNorm = ONNXBatchNormNode(
            node: bn,
            statistics: BatchNormStatistics(
                gamma: parameters[0], beta: parameters[1], mean: parameters[2],
                variance: parameters[3]), epsilon: epsilon)
    }
}

/// Canonical module names by the names an exporter may give their weights.
enum ONNXCanonicalNames {
    /// `<module>.weight` -> module, for every convolution of the network (mask head included).
    static let modulesByWeightKey: [String: String] = {
        var map: [String: String] = [:]
        for conv in SiamMaskLayers(widths: .official).convs { map[conv.weightKey] = conv.module }
        return map
    }()

    /// The module whose weight `name` designates: the name itself or any dotted suffix of it is an official weight
    /// key (so `module.features.features.conv1.weight` and `model.rpn_model.cls.head.3.weight` both match).
    static func module(forWeightName name: String) -> String? {
        guard name.hasSuffix(".weight") else { return nil }
        var rest = Substring(name)
        while true {
            if let module = modulesByWeightKey[String(rest)] { return module }
            guard let dot = rest.firstIndex(where: { $0 == "." || $0 == "/" || $0 == ":" }) else { return nil }
            rest = rest[rest.index(after: dot)...]
        }
    }
}
