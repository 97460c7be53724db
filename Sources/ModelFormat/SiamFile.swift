import Tensors

/// A typed metadata value. Codes in the file: see `SiamFormat.MetadataType`.
public enum MetadataValue: Sendable, Equatable {
    case string(String)
    case int(Int64)
    case double(Double)
    case bool(Bool)
    case ints([Int64])
    case doubles([Double])
    case strings([String])
}

/// A tensor with its name in the file and, for quantised tensors, its affine quantisation parameters.
public struct NamedTensor: Sendable, Equatable {
    public var name: String
    public var tensor: Tensor
    public var quantization: QuantizationParameters?

    public init(name: String, tensor: Tensor, quantization: QuantizationParameters? = nil) {
        self.name = name
        self.tensor = tensor
        self.quantization = quantization
    }
}

/// The whole content of a `.siam` file.
public struct SiamFile: Sendable, Equatable {
    /// Written sorted by the keys' UTF-8 bytes.
    public var metadata: [String: MetadataValue]
    /// Order preserved; names unique.
    public var tensors: [NamedTensor]

    public init(metadata: [String: MetadataValue] = [:], tensors: [NamedTensor] = []) {
        self.metadata = metadata
        self.tensors = tensors
    }

    public subscript(tensor name: String) -> NamedTensor? {
        tensors.first { $0.name == name }
    }
}

/// One row of the tensor table, as read from a file without decompressing its data.
public struct SiamTensorInfo: Sendable, Equatable {
    public var name: String
    public var dtype: DType
    public var shape: [Int]
    public var quantization: QuantizationParameters?
    /// Absolute byte offset of the tensor's zstd frame (a multiple of 64).
    public var dataOffset: Int
    public var compressedSize: Int
    public var uncompressedSize: Int
    /// CRC-32C of the compressed frame.
    public var checksum: UInt32

    public var elementCount: Int { shape.reduce(1, *) }
}

/// Header, metadata and tensor table of a file; produced only after the whole file validated (every check except
/// decompression).
public struct SiamFileSummary: Sendable, Equatable {
    public var majorVersion: UInt16
    public var minorVersion: UInt16
    /// Bytes of the header body (metadata and tensor table), which starts at `SiamFormat.preambleSize`.
    public var headerLength: Int
    public var fileSize: Int
    public var metadata: [String: MetadataValue]
    public var tensors: [SiamTensorInfo]

    public var totalCompressedSize: Int { tensors.reduce(0) { $0 + $1.compressedSize } }
    public var totalUncompressedSize: Int { tensors.reduce(0) { $0 + $1.uncompressedSize } }
}

/// Caps that bound what a reader accepts (and what the writer agrees to write). The defaults are far above a
/// SiamMask model (about 400 tensors, 86 MB) and far below what could hurt the machine.
public struct SiamFormatLimits: Sendable, Equatable {
    public var maxFileBytes: Int = 1 << 33
    public var maxHeaderBytes: Int = 64 << 20
    public var maxMetadataEntries: Int = 65_536
    public var maxTensors: Int = 65_536
    public var maxRank: Int = 8
    public var maxDimension: Int = 1 << 32
    /// Metadata keys and tensor names, in UTF-8 bytes.
    public var maxNameBytes: Int = 1_024
    /// String metadata values (and each element of a string array), in UTF-8 bytes.
    public var maxStringBytes: Int = 1 << 20
    /// Elements of a metadata array.
    public var maxArrayCount: Int = 1 << 20
    /// Sum of all tensors' uncompressed sizes.
    public var maxTotalUncompressedBytes: Int = 1 << 32

    public init() {}

    public static let `default` = SiamFormatLimits()
}

/// Constants of the byte layout (see Schemas/siam-format.md).
public enum SiamFormat {
    public static let magic: [UInt8] = Array("SIAMMASK".utf8)
    public static let majorVersion: UInt16 = 1
    public static let minorVersion: UInt16 = 0
    /// magic (8) + major (2) + minor (2) + header length (4) + header CRC-32C (4).
    public static let preambleSize = 20
    /// Every tensor frame starts at a multiple of this.
    public static let dataAlignment = 64
    /// Metadata keys with this prefix are reserved for this specification.
    public static let reservedKeyPrefix = "format."
    /// zstd can expand at most 128 KiB of output from a 4-byte block: no valid frame decompresses to more than
    /// this many times its size.
    public static let maxCompressionRatio: UInt64 = 32_768

    public enum MetadataType: UInt8, Sendable, CaseIterable {
        case string = 1, int64 = 2, float64 = 3, bool = 4, int64Array = 5, float64Array = 6, stringArray = 7
    }

    public enum QuantizationKind: UInt8, Sendable {
        case none = 0, perTensor = 1, perChannel = 2
    }
}
