import CONNX
import Foundation
import Tensors

/// Limits applied while reading one ONNX file. Every file is treated as untrusted.
public struct ONNXReadLimits: Sendable, Equatable {
    /// Largest file accepted. Protobuf messages cannot exceed 2 GiB, so nothing valid is refused by the default.
    public var maxFileBytes: Int = 2 << 30
    /// Memory protobuf-c may allocate while decoding, as a multiple of the file size plus a constant. Small
    /// length-prefixed messages can decode into much larger C structs; the budget turns such a file into an error
    /// instead of an out-of-memory kill. Exported models need about 1x (raw_data is copied once).
    public var decodeBudgetFactor: Int = 4
    public var decodeBudgetBase: Int = 64 << 20
    /// Largest element count of one tensor (dims product).
    public var maxTensorElements: Int = 1 << 31
    /// Largest tensor rank.
    public var maxRank: Int = 16

    public init() {}
}

extension ONNXModel {
    /// Reads and decodes an ONNX file.
    public static func read(contentsOf url: URL, limits: ONNXReadLimits = .init()) throws -> ONNXModel {
        let file = url.lastPathComponent
        let size: Int
        do {
            let attributes = try FileManager.default.attributesOfItem(atPath: url.path)
            size = (attributes[.size] as? NSNumber)?.intValue ?? 0
        } catch {
            throw ONNXImportError.unreadable(file: file, reason: error.localizedDescription)
        }
        guard size <= limits.maxFileBytes else {
            throw ONNXImportError.fileTooLarge(file: file, bytes: size, limit: limits.maxFileBytes)
        }
        let data: Data
        do { data = try Data(contentsOf: url, options: .mappedIfSafe) } catch {
            throw ONNXImportError.unreadable(file: file, reason: error.localizedDescription)
        }
        return try data.withUnsafeBytes { try decode($0, file: file, limits: limits) }
    }

    /// Decodes an ONNX model held in memory. `file` names it in errors.
    public static func decode(_ bytes: [UInt8], file: String, limits: ONNXReadLimits = .init()) throws -> ONNXModel {
        try bytes.withUnsafeBytes { try decode($0, file: file, limits: limits) }
    }

    static func decode(_ bytes: UnsafeRawBufferPointer, file: String, limits: ONNXReadLimits) throws -> ONNXModel {
        guard bytes.count <= limits.maxFileBytes else {
            throw ONNXImportError.fileTooLarge(file: file, bytes: bytes.count, limit: limits.maxFileBytes)
        }
        if let reason = sniffOtherFormat(bytes) { throw ONNXImportError.notONNX(file: file, reason: reason) }
        let (product, overflow) = bytes.count.multipliedReportingOverflow(by: max(1, limits.decodeBudgetFactor))
        let budgetLimit = overflow ? Int.max : product.addingReportingOverflow(limits.decodeBudgetBase).partialValue
        var budget = DecodeBudget(limit: budgetLimit)
        return try withUnsafeMutablePointer(to: &budget) { budgetPointer in
            var allocator = ProtobufCAllocator(
                alloc: { data, size in DecodeBudget.allocate(data, size) },
                free: { data, pointer in DecodeBudget.release(data, pointer) },
                allocator_data: UnsafeMutableRawPointer(budgetPointer))
            let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self)
            guard let message = onnx__model_proto__unpack(&allocator, bytes.count, base) else {
                if budgetPointer.pointee.exceeded {
                    throw ONNXImportError.decodedSizeLimit(file: file, limit: budgetLimit)
                }
                throw ONNXImportError.malformedProtobuf(file: file)
            }
            defer { onnx__model_proto__free_unpacked(message, &allocator) }
            return try ProtobufConverter(file: file, limits: limits).model(message.pointee)
        }
    }

    /// Recognises the formats people most often hand over by mistake, for a clearer error than "malformed".
    static func sniffOtherFormat(_ bytes: UnsafeRawBufferPointer) -> String? {
        guard !bytes.isEmpty else { return "the file is empty" }
        let head = Array(bytes.prefix(8))
        if head.starts(with: [0x50, 0x4b, 0x03, 0x04]) { return "it is a zip archive (a PyTorch .pth checkpoint?)" }
        if head.count >= 2, head[0] == 0x80, (2...5).contains(head[1]) {
            return "it is a Python pickle (a legacy PyTorch checkpoint?)"
        }
        if head.starts(with: Array("SIAM".utf8)) { return "it is a .siam model file" }
        if head.starts(with: [0x93] + Array("NUMPY".utf8)) { return "it is a NumPy .npy array" }
        return nil
    }
}

/// Counts what protobuf-c allocates and refuses to go over a limit. Each block carries its size in a 16-byte header
/// (which keeps malloc's 16-byte alignment), so `release` can give the budget back.
private struct DecodeBudget {
    var used = 0
    let limit: Int
    var exceeded = false

    init(limit: Int) { self.limit = limit }

    static let header = 16

    static func allocate(_ data: UnsafeMutableRawPointer?, _ size: Int) -> UnsafeMutableRawPointer? {
        guard let data else { return nil }
        let budget = data.assumingMemoryBound(to: DecodeBudget.self)
        let (total, overflow) = size.addingReportingOverflow(header)
        guard !overflow, total <= budget.pointee.limit - budget.pointee.used else {
            budget.pointee.exceeded = true
            return nil
        }
        guard let block = malloc(total) else { return nil }
        block.storeBytes(of: size, as: Int.self)
        budget.pointee.used += total
        return block + header
    }

    static func release(_ data: UnsafeMutableRawPointer?, _ pointer: UnsafeMutableRawPointer?) {
        guard let data, let pointer else { return }
        let budget = data.assumingMemoryBound(to: DecodeBudget.self)
        let block = pointer - header
        budget.pointee.used -= block.load(as: Int.self) + header
        free(block)
    }
}

/// Copies a decoded protobuf-c message into Swift values. Every pointer is checked for NULL (protobuf-c leaves
/// absent strings and messages NULL), every count comes with its array, and payloads are copied, never borrowed.
private struct ProtobufConverter {
    let file: String
    let limits: ONNXReadLimits

    func model(_ m: Onnx__ModelProto) throws -> ONNXModel {
        guard let graph = m.graph else { throw ONNXImportError.noGraph(file: file) }
        var opsets: [(domain: String, version: Int64)] = []
        for i in 0..<m.n_opset_import {
            guard let o = m.opset_import[i] else { continue }
            opsets.append((Self.string(o.pointee.domain) ?? "", o.pointee.has_version != 0 ? o.pointee.version : 0))
        }
        return ONNXModel(
            irVersion: m.has_ir_version != 0 ? m.ir_version : nil,
            producerName: Self.string(m.producer_name), producerVersion: Self.string(m.producer_version),
            opsetImports: opsets, graph: try self.graph(graph.pointee))
    }

    func graph(_ g: Onnx__GraphProto) throws -> ONNXGraph {
        var nodes: [ONNXNode] = []
        nodes.reserveCapacity(g.n_node)
        for i in 0..<g.n_node {
            guard let n = g.node[i] else { continue }
            nodes.append(try node(n.pointee, index: nodes.count))
        }
        var initializers: [ONNXTensor] = []
        initializers.reserveCapacity(g.n_initializer)
        for i in 0..<g.n_initializer {
            guard let t = g.initializer[i] else { continue }
            initializers.append(try tensor(t.pointee, fallbackName: "initializer #\(i)"))
        }
        return ONNXGraph(
            name: Self.string(g.name), nodes: nodes, initializers: initializers,
            inputs: valueInfos(g.input, g.n_input), outputs: valueInfos(g.output, g.n_output))
    }

    func valueInfos(
        _ list: UnsafeMutablePointer<UnsafeMutablePointer<Onnx__ValueInfoProto>?>?, _ count: Int
    ) -> [ONNXValueInfo] {
        guard let list else { return [] }
        var out: [ONNXValueInfo] = []
        for i in 0..<count {
            guard let v = list[i]?.pointee else { continue }
            var elementType: Int32?
            var shape: [Int]?
            if let type = v.type?.pointee, type.value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE,
                let tensorType = type.tensor_type?.pointee
            {
                if tensorType.has_elem_type != 0 { elementType = tensorType.elem_type }
                if let s = tensorType.shape?.pointee {
                    shape = (0..<s.n_dim).map { d -> Int in
                        guard let dim = s.dim[d]?.pointee,
                            dim.value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE
                        else { return -1 }
                        return Int(clamping: dim.dim_value)
                    }
                }
            }
            out.append(ONNXValueInfo(name: Self.string(v.name) ?? "", elementType: elementType, shape: shape))
        }
        return out
    }

    func node(_ n: Onnx__NodeProto, index: Int) throws -> ONNXNode {
        let inputs = (0..<n.n_input).map { Self.string(n.input[$0]) ?? "" }
        let outputs = (0..<n.n_output).map { Self.string(n.output[$0]) ?? "" }
        var node = ONNXNode(
            index: index, name: Self.string(n.name), opType: Self.string(n.op_type) ?? "",
            domain: Self.string(n.domain) ?? "", inputs: inputs, outputs: outputs, attributes: [:])
        for i in 0..<n.n_attribute {
            guard let a = n.attribute[i]?.pointee else { continue }
            let name = Self.string(a.name) ?? ""
            node.attributes[name] = try attribute(a, node: node)
        }
        return node
    }

    func attribute(_ a: Onnx__AttributeProto, node: ONNXNode) throws -> ONNXAttribute {
        // IR versions before 0.0.2 had no type field: infer it from the field that is set.
        let type: Int32
        if a.has_type != 0 {
            type = a.type
        } else if a.has_f != 0 {
            type = 1
        } else if a.has_i != 0 {
            type = 2
        } else if a.has_s != 0 {
            type = 3
        } else if a.t != nil {
            type = 4
        } else if a.n_floats > 0 {
            type = 6
        } else if a.n_ints > 0 {
            type = 7
        } else if a.n_strings > 0 {
            type = 8
        } else if a.n_tensors > 0 {
            type = 9
        } else {
            type = 0
        }
        let owner = "attribute '\(Self.string(a.name) ?? "")' of \(node.reference)"
        switch type {
        case 1: return .float(a.f)
        case 2: return .int(a.i)
        case 3: return .string(Self.bytes(a.s))
        case 4:
            guard let t = a.t else { return .unsupported(type: type) }
            return .tensor(try tensor(t.pointee, fallbackName: owner))
        case 6: return .floats(Self.array(a.floats, a.n_floats))
        case 7: return .ints(Self.array(a.ints, a.n_ints))
        case 8:
            guard let strings = a.strings else { return .strings([]) }
            return .strings((0..<a.n_strings).map { Self.bytes(strings[$0]) })
        case 9:
            guard let tensors = a.tensors else { return .tensors([]) }
            return .tensors(
                try (0..<a.n_tensors).compactMap { i in
                    try tensors[i].map { try tensor($0.pointee, fallbackName: owner) }
                })
        default: return .unsupported(type: type)
        }
    }

    func tensor(_ t: Onnx__TensorProto, fallbackName: String) throws -> ONNXTensor {
        let name = Self.string(t.name) ?? fallbackName
        let rawDims: [Int64] = Self.array(t.dims, t.n_dims)
        // External data first: such a tensor usually has dims but no payload, and this is the helpful message.
        if (t.has_data_location != 0 && t.data_location != 0) || t.n_external_data > 0 {
            var location: String?
            for i in 0..<t.n_external_data {
                if let e = t.external_data[i]?.pointee, Self.string(e.key) == "location" {
                    location = Self.string(e.value)
                }
            }
            throw ONNXImportError.externalData(file: file, tensor: name, location: location)
        }
        if t.segment != nil { throw ONNXImportError.segmentedTensor(file: file, tensor: name) }
        guard rawDims.count <= limits.maxRank, rawDims.allSatisfy({ $0 >= 0 && $0 <= Int64(Int32.max) }),
            let count = Tensor.elementCount(rawDims.map { Int($0) }), count <= limits.maxTensorElements
        else { throw ONNXImportError.invalidDims(file: file, tensor: name, dims: rawDims) }
        let dims = rawDims.map { Int($0) }
        let dataType = t.has_data_type != 0 ? t.data_type : 0

        func check(_ field: String, _ actual: Int, _ expected: Int) throws {
            guard actual == expected else {
                throw ONNXImportError.dataSizeMismatch(
                    file: file, tensor: name, field: field, expected: expected, actual: actual)
            }
        }
        let payload: ONNXTensor.Payload
        if t.has_raw_data != 0 || t.raw_data.len > 0 {
            if let size = ONNXDataType.byteSize(of: dataType) {
                try check("raw_data", t.raw_data.len, count * size)
            }
            payload = .raw(Self.bytes(t.raw_data))
        } else {
            switch dataType {
            case 1, 14:   // float, complex64 (two floats per element)
                try check("float_data", t.n_float_data, count * (dataType == 14 ? 2 : 1))
                payload = .floats(Self.array(t.float_data, t.n_float_data))
            case 2, 3, 4, 5, 6, 9, 10, 16:   // small ints, bool, float16 and bfloat16 bit patterns live in int32_data
                try check("int32_data", t.n_int32_data, count)
                payload = .int32s(Self.array(t.int32_data, t.n_int32_data))
            case 7:
                try check("int64_data", t.n_int64_data, count)
                payload = .int64s(Self.array(t.int64_data, t.n_int64_data))
            case 11:
                try check("double_data", t.n_double_data, count)
                payload = .doubles(Self.array(t.double_data, t.n_double_data))
            default:
                // Strings, unsigned 32/64-bit and unknown types: not needed by the importer; kept without values.
                payload = .none
            }
        }
        return ONNXTensor(name: name, dims: dims, dataType: dataType, payload: payload)
    }

    /// A C string that may be NULL (absent proto2 strings are NULL in protobuf-c), decoded as UTF-8 with repair.
    static func string(_ pointer: UnsafeMutablePointer<CChar>?) -> String? {
        guard let pointer else { return nil }
        let bytes = UnsafeBufferPointer(
            start: UnsafeRawPointer(pointer).assumingMemoryBound(to: UInt8.self), count: strlen(pointer))
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Copies bytes out of the message; the source may be unaligned or NULL when empty.
    static func bytes(_ data: ProtobufCBinaryData) -> [UInt8] {
        guard data.len > 0, let base = data.data else { return [] }
        return Array(UnsafeBufferPointer(start: base, count: data.len))
    }

    static func array<T>(_ pointer: UnsafeMutablePointer<T>?, _ count: Int) -> [T] {
        guard count > 0, let pointer else { return [] }
        return Array(UnsafeBufferPointer(start: pointer, count: count))
    }
}
