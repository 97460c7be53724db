/// Where in an ONNX file a problem sits: a node by position, name (when the exporter gave one) and operator.
public struct ONNXNodeReference: Sendable, Equatable, CustomStringConvertible {
    public var index: Int
    public var name: String?
    public var opType: String

    public init(index: Int, name: String?, opType: String) {
        self.index = index
        self.name = name
        self.opType = opType
    }

    public var description: String {
        if let name, !name.isEmpty { return "node #\(index) '\(name)' (\(opType))" }
        return "node #\(index) (\(opType))"
    }
}

/// Everything that can go wrong while reading ONNX files and mapping them to canonical SiamMask weights.
/// `file` is the file's display name (its last path component). Every description is one line.
public enum ONNXImportError: Error, Equatable, CustomStringConvertible {
    // Reading the file.
    case noFiles
    case unreadable(file: String, reason: String)
    case fileTooLarge(file: String, bytes: Int, limit: Int)
    case notONNX(file: String, reason: String)
    case malformedProtobuf(file: String)
    case decodedSizeLimit(file: String, limit: Int)
    case noGraph(file: String)

    // Tensors.
    case externalData(file: String, tensor: String, location: String?)
    case segmentedTensor(file: String, tensor: String)
    case invalidDims(file: String, tensor: String, dims: [Int64])
    case dataSizeMismatch(file: String, tensor: String, field: String, expected: Int, actual: Int)
    case unsupportedDataType(file: String, tensor: String, dataType: Int32)

    // Graph structure.
    case undefinedValue(file: String, node: ONNXNodeReference, value: String)
    case missingInitializer(file: String, node: ONNXNodeReference, value: String)
    case wrongRank(file: String, node: ONNXNodeReference, value: String, expected: Int, actual: Int)
    case invalidAttribute(file: String, node: ONNXNodeReference, attribute: String, detail: String)
    case batchNormParameterLength(file: String, node: ONNXNodeReference, parameter: String, expected: Int, actual: Int)
    case unattachedBatchNorm(file: String, node: ONNXNodeReference)
    case structureNotRecognized(file: String, node: ONNXNodeReference?, detail: String)
    case unmatchedConvolution(file: String, node: ONNXNodeReference, weightShape: [Int])
    case nameContradictsStructure(file: String, node: ONNXNodeReference, named: String, structural: String)

    // Mapping to the canonical layout.
    case shapeMismatch(file: String, node: ONNXNodeReference, tensor: String, expected: [Int], actual: [Int])
    case attributeMismatch(
        file: String, node: ONNXNodeReference, module: String, attribute: String,
        expected: [Int], actual: [Int])
    case missingBatchNorm(file: String, node: ONNXNodeReference, module: String)
    case unexpectedBatchNorm(file: String, node: ONNXNodeReference, module: String)
    case inconsistentWidths(detail: String)
    case invalidWeights(file: String, node: ONNXNodeReference, detail: String)
    case missingTensors([String])
    case conflictingWeights(tensor: String, first: String, second: String, maxRelativeDifference: Double)

    /// One line: names and values come from the file, so control characters are escaped and length is capped.
    public var description: String {
        var line = ""
        for scalar in rawDescription.unicodeScalars {
            if scalar.value < 0x20 || scalar.value == 0x7f {
                line += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                line.unicodeScalars.append(scalar)
            }
        }
        return line.count > 2000 ? String(line.prefix(2000)) + "..." : line
    }

    private var rawDescription: String {
        switch self {
        case .noFiles:
            return "no ONNX file given"
        case .unreadable(let f, let r):
            return "\(f): cannot read the file: \(r)"
        case .fileTooLarge(let f, let b, let l):
            return "\(f): \(b) bytes is over the \(l)-byte limit for one ONNX file"
        case .notONNX(let f, let r):
            return "\(f): not an ONNX model: \(r)"
        case .malformedProtobuf(let f):
            return "\(f): not a valid ONNX protobuf (truncated, corrupt, or another format)"
        case .decodedSizeLimit(let f, let l):
            return "\(f): decoding needs more than \(l) bytes of memory; the file is hostile or needs a larger limit"
        case .noGraph(let f):
            return "\(f): the model holds no graph"
        case .externalData(let f, let t, let loc):
            return "\(f): tensor '\(t)' keeps its data in an external file\(loc.map { " ('\($0)')" } ?? ""); "
                + "re-save the model with its data embedded (onnx.save_model(..., save_as_external_data=False))"
        case .segmentedTensor(let f, let t):
            return "\(f): tensor '\(t)' is segmented, which is not supported"
        case .invalidDims(let f, let t, let d):
            return "\(f): tensor '\(t)' has invalid dims \(d)"
        case .dataSizeMismatch(let f, let t, let field, let e, let a):
            return
                "\(f): tensor '\(t)' has \(a) \(field == "raw_data" ? "bytes" : "values") in \(field), its dims and type need \(e)"
        case .unsupportedDataType(let f, let t, let d):
            return
                "\(f): tensor '\(t)' has data type \(d) (\(ONNXDataType.name(of: d))); weights must be float32, float16 or double"
        case .undefinedValue(let f, let n, let v):
            return "\(f): \(n) reads '\(v)', which no initializer, graph input or earlier node defines"
        case .missingInitializer(let f, let n, let v):
            return "\(f): \(n) takes its weight from '\(v)', but the file holds no initializer of that name"
        case .wrongRank(let f, let n, let v, let e, let a):
            return "\(f): \(n): '\(v)' has rank \(a), expected \(e)"
        case .invalidAttribute(let f, let n, let a, let d):
            return "\(f): \(n): attribute '\(a)' \(d)"
        case .batchNormParameterLength(let f, let n, let p, let e, let a):
            return "\(f): \(n): \(p) has \(a) values, the convolution before it has \(e) output channels"
        case .unattachedBatchNorm(let f, let n):
            return "\(f): \(n) does not directly follow a convolution with constant weights"
        case .structureNotRecognized(let f, let n, let d):
            return "\(f): \(n.map { "\($0): " } ?? "")\(d)"
        case .unmatchedConvolution(let f, let n, let s):
            return "\(f): \(n) with weight shape \(s) matches no SiamMask convolution"
        case .nameContradictsStructure(let f, let n, let named, let structural):
            return "\(f): \(n): its weight is named as \(named) but sits where the graph has \(structural)"
        case .shapeMismatch(let f, let n, let t, let e, let a):
            return "\(f): \(n) provides \(t) with shape \(a), expected \(e)"
        case .attributeMismatch(let f, let n, let m, let a, let e, let actual):
            return "\(f): \(n) (\(m)) has \(a) \(actual), expected \(e)"
        case .missingBatchNorm(let f, let n, let m):
            return "\(f): \(n) (\(m)) has neither a BatchNormalization after it nor a folded-in bias"
        case .unexpectedBatchNorm(let f, let n, let m):
            return "\(f): \(n) (\(m)) is followed by a BatchNormalization, but that layer has none in SiamMask"
        case .inconsistentWidths(let d):
            return "inconsistent channel widths: \(d)"
        case .invalidWeights(let f, let n, let d):
            return "\(f): \(n): \(d)"
        case .missingTensors(let names):
            let shown = names.prefix(12).joined(separator: ", ")
            let more = names.count > 12 ? " and \(names.count - 12) more" : ""
            return
                "no given file provides \(names.count) canonical tensor(s): \(shown)\(more)\(Self.missingHint(names))"
        case .conflictingWeights(let t, let a, let b, let d):
            return "\(t) differs between \(a) and \(b) (max relative difference \(d))"
        }
    }

    /// Which export the missing tensors usually come from.
    private static func missingHint(_ names: [String]) -> String {
        var parts: [String] = []
        if names.contains(where: { $0.hasPrefix("features.") }) {
            parts.append("backbone/adjust (template or search graph)")
        }
        if names.contains(where: { $0.hasPrefix("rpn_model.") || $0.hasPrefix("mask_model.") }) {
            parts.append("correlation blocks (search graph)")
        }
        if names.contains(where: { $0.hasPrefix("refine_model.") }) { parts.append("refine module (refine graph)") }
        return parts.isEmpty ? "" : "; not found: " + parts.joined(separator: ", ")
    }
}
