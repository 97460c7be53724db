/// ONNX element type codes (TensorProto.DataType) the importer knows by name.
public enum ONNXDataType {
    public static let float: Int32 = 1
    public static let uint8: Int32 = 2
    public static let int8: Int32 = 3
    public static let int32: Int32 = 6
    public static let int64: Int32 = 7
    public static let bool: Int32 = 9
    public static let float16: Int32 = 10
    public static let double: Int32 = 11

    /// Bytes per element in raw_data, for the fixed-size types; nil for strings, sub-byte and unknown types.
    static func byteSize(of code: Int32) -> Int? {
        switch code {
        case 1, 6, 12: return 4   // float, int32, uint32
        case 2, 3, 9: return 1   // uint8, int8, bool
        case 4, 5, 10, 16: return 2   // uint16, int16, float16, bfloat16
        case 7, 11, 13, 14: return 8   // int64, double, uint64, complex64
        case 15: return 16   // complex128
        case 17, 18, 19, 20: return 1   // float8 variants
        default: return nil
        }
    }

    static func name(of code: Int32) -> String {
        let names = [
            "undefined", "float", "uint8", "int8", "uint16", "int16", "int32", "int64", "string", "bool",
            "float16", "double", "uint32", "uint64", "complex64", "complex128", "bfloat16",
            "float8e4m3fn", "float8e4m3fnuz", "float8e5m2", "float8e5m2fnuz", "uint4", "int4",
        ]
        return code >= 0 && Int(code) < names.count ? names[Int(code)] : "unknown"
    }
}

/// A tensor read from an ONNX file (an initializer or a Constant node's value), with its payload copied out of the
/// protobuf message. Dims, payload size and data location were validated when it was read.
public struct ONNXTensor: Sendable, Equatable {
    /// Where the values are: raw little-endian bytes, or one of TensorProto's typed repeated fields.
    public enum Payload: Sendable, Equatable {
        case raw([UInt8])
        case floats([Float])
        case int32s([Int32])
        case int64s([Int64])
        case doubles([Double])
        case none
    }

    public let name: String
    public let dims: [Int]
    public let dataType: Int32
    public let payload: Payload

    /// A tensor as given; `ONNXModel.read`/`decode` validate what they produce, this initializer does not.
    public init(name: String, dims: [Int], dataType: Int32, payload: Payload) {
        self.name = name
        self.dims = dims
        self.dataType = dataType
        self.payload = payload
    }

    public var elementCount: Int { dims.reduce(1, *) }

    /// Values as float32, from float32, float16 or double data. `file` only names the file in errors.
    public func floatValues(file: String = "") throws -> [Float] {
        switch (dataType, payload) {
        case (ONNXDataType.float, .raw(let bytes)):
            return Self.decodeLittleEndian(bytes, as: UInt32.self).map { Float(bitPattern: $0) }
        case (ONNXDataType.float, .floats(let values)):
            return values
        case (ONNXDataType.double, .raw(let bytes)):
            return Self.decodeLittleEndian(bytes, as: UInt64.self).map { Float(Double(bitPattern: $0)) }
        case (ONNXDataType.double, .doubles(let values)):
            return values.map { Float($0) }
        case (ONNXDataType.float16, .raw(let bytes)):
            return Self.decodeLittleEndian(bytes, as: UInt16.self).map { Self.halfToFloat($0) }
        case (ONNXDataType.float16, .int32s(let values)):
            // ONNX keeps float16 bit patterns in int32_data, one per element.
            return values.map { Self.halfToFloat(UInt16(truncatingIfNeeded: $0)) }
        case (_, .none)
        where elementCount == 0 && [ONNXDataType.float, ONNXDataType.double, ONNXDataType.float16].contains(dataType):
            return []
        default:
            throw ONNXImportError.unsupportedDataType(file: file, tensor: name, dataType: dataType)
        }
    }

    /// Values as int64, from int64 or int32 data (shapes, axes, pads).
    public func int64Values(file: String = "") throws -> [Int64] {
        switch (dataType, payload) {
        case (ONNXDataType.int64, .raw(let bytes)):
            return Self.decodeLittleEndian(bytes, as: UInt64.self).map { Int64(bitPattern: $0) }
        case (ONNXDataType.int64, .int64s(let values)):
            return values
        case (ONNXDataType.int32, .raw(let bytes)):
            return Self.decodeLittleEndian(bytes, as: UInt32.self).map { Int64(Int32(bitPattern: $0)) }
        case (ONNXDataType.int32, .int32s(let values)):
            return values.map(Int64.init)
        case (_, .none) where elementCount == 0:
            return []
        default:
            throw ONNXImportError.unsupportedDataType(file: file, tensor: name, dataType: dataType)
        }
    }

    /// Copies little-endian fixed-width values out of a byte array of any alignment.
    static func decodeLittleEndian<T: FixedWidthInteger>(_ bytes: [UInt8], as: T.Type) -> [T] {
        let count = bytes.count / MemoryLayout<T>.size
        return [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            bytes.withUnsafeBytes { raw in
                guard count > 0, let base = raw.baseAddress else { return }
                UnsafeMutableRawPointer(buffer.baseAddress!).copyMemory(
                    from: base, byteCount: count * MemoryLayout<T>.size)
            }
            #if _endian(big)
            for i in 0..<count { buffer[i] = T(littleEndian: buffer[i]) }
            #endif
            initialized = count
        }
    }

    /// IEEE 754 half to single precision (exact), without relying on the platform's Float16.
    static func halfToFloat(_ h: UInt16) -> Float {
        let sign = UInt32(h >> 15) << 31
        let exponent = Int((h >> 10) & 0x1f)
        let mantissa = UInt32(h & 0x3ff)
        if exponent == 0 {
            // Zero or subnormal: mantissa * 2^-24.
            let magnitude = Float(mantissa) * Float(sign: .plus, exponent: -24, significand: 1)
            return sign != 0 ? -magnitude : magnitude
        }
        if exponent == 31 { return Float(bitPattern: sign | 0x7f80_0000 | (mantissa << 13)) }
        return Float(bitPattern: sign | (UInt32(exponent - 15 + 127) << 23) | (mantissa << 13))
    }
}

/// One attribute of a node. Graph-valued attributes (If/Loop bodies) are not read by the schema subset.
public enum ONNXAttribute: Sendable, Equatable {
    case float(Float)
    case int(Int64)
    case string([UInt8])
    case tensor(ONNXTensor)
    case floats([Float])
    case ints([Int64])
    case strings([[UInt8]])
    case tensors([ONNXTensor])
    case unsupported(type: Int32)

    public var intValue: Int64? { if case .int(let v) = self { return v } else { return nil } }
    public var intsValue: [Int64]? { if case .ints(let v) = self { return v } else { return nil } }
    public var floatValue: Float? { if case .float(let v) = self { return v } else { return nil } }
    public var stringValue: String? {
        if case .string(let v) = self { return String(decoding: v, as: UTF8.self) } else { return nil }
    }
}

public struct ONNXNode: Sendable, Equatable {
    public var index: Int
    public var name: String?
    public var opType: String
    public var domain: String
    public var inputs: [String]
    public var outputs: [String]
    public var attributes: [String: ONNXAttribute]

    public init(
        index: Int, name: String?, opType: String, domain: String = "", inputs: [String], outputs: [String],
        attributes: [String: ONNXAttribute] = [:]
    ) {
        self.index = index
        self.name = name
        self.opType = opType
        self.domain = domain
        self.inputs = inputs
        self.outputs = outputs
        self.attributes = attributes
    }

    public var reference: ONNXNodeReference { ONNXNodeReference(index: index, name: name, opType: opType) }

    /// True for operators of the default ONNX domain.
    var isStandard: Bool { domain.isEmpty || domain == "ai.onnx" }
}

/// A graph input or output: its name and, when the exporter recorded one, its static shape (-1 for symbolic dims).
public struct ONNXValueInfo: Sendable, Equatable {
    public var name: String
    public var elementType: Int32?
    public var shape: [Int]?
}

public struct ONNXGraph: Sendable, Equatable {
    public var name: String?
    public var nodes: [ONNXNode]
    /// In file order.
    public var initializers: [ONNXTensor]
    public var inputs: [ONNXValueInfo]
    public var outputs: [ONNXValueInfo]
}

/// The parts of an ONNX ModelProto the importer reads.
public struct ONNXModel: Sendable, Equatable {
    public var irVersion: Int64?
    public var producerName: String?
    public var producerVersion: String?
    public var opsetImports: [(domain: String, version: Int64)]
    public var graph: ONNXGraph

    public static func == (a: ONNXModel, b: ONNXModel) -> Bool {
        a.irVersion == b.irVersion && a.producerName == b.producerName && a.producerVersion == b.producerVersion
            && a.opsetImports.map(\.domain) == b.opsetImports.map(\.domain)
            && a.opsetImports.map(\.version) == b.opsetImports.map(\.version) && a.graph == b.graph
    }
}
