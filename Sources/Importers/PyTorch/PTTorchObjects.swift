import Tensors

/// Torch element types that can appear in a checkpoint (storage classes and dtype globals).
/// Only some of them map to a `Tensors.DType`; the others are readable inside ignored entries only.
enum PTScalarType: String, Sendable, CaseIterable {
    case float32, float64, float16, bfloat16
    case int64, int32, int16, int8, uint8, bool
    case complex64, complex128
    case qint8, quint8, qint32, quint4x2, quint2x4

    var elementSize: Int {
        switch self {
        case .float64, .int64, .complex64: return 8
        case .complex128: return 16
        case .float32, .int32, .qint32: return 4
        case .float16, .bfloat16, .int16: return 2
        case .int8, .uint8, .bool, .qint8, .quint8, .quint4x2, .quint2x4: return 1
        }
    }

    /// The project's dtype holding the same bytes, when there is one (no conversion is ever done).
    var dtype: DType? {
        switch self {
        case .float32: return .float32
        case .float16: return .float16
        case .int64: return .int64
        case .int32: return .int32
        case .int8: return .int8
        case .uint8: return .uint8
        default: return nil
        }
    }

    /// Legacy storage classes (`torch.FloatStorage`, `torch.cuda.FloatStorage`, ...) by class name.
    static let storageClasses: [String: PTScalarType] = [
        "FloatStorage": .float32, "DoubleStorage": .float64, "HalfStorage": .float16, "BFloat16Storage": .bfloat16,
        "LongStorage": .int64, "IntStorage": .int32, "ShortStorage": .int16, "CharStorage": .int8,
        "ByteStorage": .uint8, "BoolStorage": .bool, "ComplexFloatStorage": .complex64,
        "ComplexDoubleStorage": .complex128, "QInt8Storage": .qint8, "QUInt8Storage": .quint8,
        "QInt32Storage": .qint32, "QUInt4x2Storage": .quint4x2, "QUInt2x4Storage": .quint2x4,
        // Untyped (byte) storages, as newer torch writes them for tensors saved through _rebuild_tensor_v3.
        "UntypedStorage": .uint8, "_UntypedStorage": .uint8,
    ]

    /// `torch.<name>` dtype objects (pickled by name) and their aliases.
    static let dtypeNames: [String: PTScalarType] = [
        "float32": .float32, "float": .float32, "float64": .float64, "double": .float64,
        "float16": .float16, "half": .float16, "bfloat16": .bfloat16,
        "int64": .int64, "long": .int64, "int32": .int32, "int": .int32, "int16": .int16, "short": .int16,
        "int8": .int8, "uint8": .uint8, "bool": .bool,
        "complex64": .complex64, "cfloat": .complex64, "complex128": .complex128, "cdouble": .complex128,
        "qint8": .qint8, "quint8": .quint8, "qint32": .qint32, "quint4x2": .quint4x2, "quint2x4": .quint2x4,
    ]
}

/// A storage class named in a persistent id.
struct PTStorageType: Equatable, Sendable {
    let name: String   // e.g. "torch.cuda.FloatStorage"
    let scalarType: PTScalarType
}

/// The globals the restricted unpickler knows. Anything else becomes an inert `.foreign` value.
enum PTGlobal: Equatable, Sendable {
    case orderedDict
    case torchSize
    case rebuildTensor
    case rebuildTensorV2
    case rebuildTensorV3
    case rebuildParameter
    case rebuildParameterWithState
    case storageType(PTStorageType)
    case dtype(PTScalarType)

    static func resolve(module: String, name: String) -> PTGlobal? {
        switch module {
        case "collections":
            return name == "OrderedDict" ? .orderedDict : nil
        case "torch._utils":
            switch name {
            case "_rebuild_tensor": return .rebuildTensor
            case "_rebuild_tensor_v2": return .rebuildTensorV2
            case "_rebuild_tensor_v3": return .rebuildTensorV3
            case "_rebuild_parameter": return .rebuildParameter
            case "_rebuild_parameter_with_state": return .rebuildParameterWithState
            default: return nil
            }
        case "torch", "torch.cuda", "torch.storage":
            if let t = PTScalarType.storageClasses[name] {
                return .storageType(PTStorageType(name: module + "." + name, scalarType: t))
            }
            guard module == "torch" else { return nil }
            if name == "Size" { return .torchSize }
            if let t = PTScalarType.dtypeNames[name] { return .dtype(t) }
            return nil
        default:
            return nil
        }
    }

    var name: String {
        switch self {
        case .orderedDict: return "collections.OrderedDict"
        case .torchSize: return "torch.Size"
        case .rebuildTensor: return "torch._utils._rebuild_tensor"
        case .rebuildTensorV2: return "torch._utils._rebuild_tensor_v2"
        case .rebuildTensorV3: return "torch._utils._rebuild_tensor_v3"
        case .rebuildParameter: return "torch._utils._rebuild_parameter"
        case .rebuildParameterWithState: return "torch._utils._rebuild_parameter_with_state"
        case .storageType(let t): return t.name
        case .dtype(let t): return "torch." + t.rawValue
        }
    }
}

/// One stored storage (a ZIP record `data/<key>` or a legacy storage block). Its bytes are located once known.
final class PTStorageRecord {
    let key: String
    let type: PTStorageType
    /// Element count in units of `type.scalarType`.
    let numel: Int
    let location: String
    /// Byte range of the storage's data in the file (set after the legacy storage section is read).
    var fileRange: Range<Int>?

    init(key: String, type: PTStorageType, numel: Int, location: String, fileRange: Range<Int>?) {
        self.key = key
        self.type = type
        self.numel = numel
        self.location = location
        self.fileRange = fileRange
    }

    var byteCount: Int { numel * type.scalarType.elementSize }   // validated not to overflow on creation
}

/// A storage as a tensor sees it: a whole record, or (legacy storage views) an element range of it.
struct PTStorageView {
    let record: PTStorageRecord
    /// Offset into the record, in the record's elements.
    let elementOffset: Int
    let numel: Int

    var byteOffset: Int { elementOffset * record.type.scalarType.elementSize }
    var byteCount: Int { numel * record.type.scalarType.elementSize }
}

/// A tensor as `_rebuild_tensor*` describes it; its bytes are copied out only if it ends up in the state dict.
struct PTTensorSpec {
    let storage: PTStorageView
    let scalarType: PTScalarType
    /// In elements of `scalarType`.
    let storageOffset: Int
    let shape: [Int]
    let stride: [Int]
    /// Number of elements (product of shape), validated.
    let count: Int
}
