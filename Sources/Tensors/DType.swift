/// Element types. The raw values are the dtype codes of the `.siam` format and are never reused.
public enum DType: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case float32 = 1
    case int8 = 2
    case uint8 = 3
    case int32 = 4
    case int64 = 5
    case float16 = 6

    public var byteSize: Int {
        switch self {
        case .int8, .uint8: return 1
        case .float16: return 2
        case .float32, .int32: return 4
        case .int64: return 8
        }
    }

    public var description: String {
        switch self {
        case .float32: return "float32"
        case .int8: return "int8"
        case .uint8: return "uint8"
        case .int32: return "int32"
        case .int64: return "int64"
        case .float16: return "float16"
        }
    }
}
