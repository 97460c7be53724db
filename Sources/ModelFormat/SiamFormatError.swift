/// Every way reading or writing a `.siam` file can fail; one case per malformed condition. Offsets are absolute
/// byte offsets in the file.
public enum SiamFormatError: Error, Equatable, CustomStringConvertible {
    // I/O
    case cannotRead(path: String, reason: String)
    case cannotWrite(path: String, reason: String)
    case fileTooLarge(size: UInt64, limit: Int)

    // Preamble and header
    case badMagic(found: [UInt8])
    case truncatedPreamble(fileSize: Int)
    case unsupportedMajorVersion(found: UInt16, supported: UInt16)
    case newerMajorVersion(found: UInt16, supported: UInt16)
    case headerTooLarge(length: UInt64, limit: Int)
    case truncatedHeader(headerEnd: UInt64, fileSize: Int)
    case headerChecksumMismatch(stored: UInt32, computed: UInt32)
    case headerOverrun(field: String, offset: Int)
    case unusedHeaderBytes(offset: Int, count: Int)

    // Names and strings
    case emptyName(context: String)
    case stringTooLong(context: String, length: UInt64, limit: Int)
    case invalidUTF8(context: String, offset: Int)

    // Metadata
    case tooManyMetadataEntries(count: UInt64, limit: Int)
    case duplicateMetadataKey(key: String)
    case metadataKeysNotSorted(key: String, previous: String)
    case unknownMetadataType(key: String, code: UInt8)
    case metadataValueLengthMismatch(key: String, declared: UInt32)
    case invalidBool(key: String, byte: UInt8)
    case arrayTooLong(context: String, count: UInt64, limit: Int)
    case reservedMetadataKey(key: String)

    // Tensor table
    case tooManyTensors(count: UInt64, limit: Int)
    case duplicateTensorName(name: String)
    case unknownDType(tensor: String, code: UInt8)
    case rankTooLarge(tensor: String, rank: Int, limit: Int)
    case dimensionTooLarge(tensor: String, axis: Int, size: UInt64, limit: Int)
    case shapeOverflow(tensor: String, shape: [UInt64])
    case uncompressedSizeMismatch(tensor: String, declared: UInt64, expected: Int)
    case totalUncompressedSizeTooLarge(tensor: String, total: UInt64, limit: Int)
    case unknownQuantizationKind(tensor: String, code: UInt8)
    case quantizationAxisOutOfRange(tensor: String, axis: Int, rank: Int)
    case quantizationCountMismatch(tensor: String, scales: Int, zeroPoints: Int, expected: Int)
    case invalidQuantizationScale(tensor: String, index: Int, bits: UInt32)

    // Data ranges
    case misalignedDataOffset(tensor: String, offset: UInt64)
    case dataOffsetInsideHeader(tensor: String, offset: UInt64, headerEnd: Int)
    case dataOutOfFile(tensor: String, offset: UInt64, size: UInt64, fileSize: Int)
    case overlappingData(tensor: String, other: String, offset: UInt64)
    case nonZeroPadding(offset: Int)
    case trailingBytes(offset: Int, count: Int)
    case implausibleCompressionRatio(tensor: String, compressed: UInt64, uncompressed: UInt64)
    case dataChecksumMismatch(tensor: String, stored: UInt32, computed: UInt32)

    // zstd frames
    case notAZstdFrame(tensor: String)
    case invalidZstdFrame(tensor: String, reason: String)
    case frameContentSizeMissing(tensor: String)
    case frameContentSizeMismatch(tensor: String, frame: UInt64, table: UInt64)
    case frameChecksumMissing(tensor: String)
    case frameSizeMismatch(tensor: String, frame: UInt64, table: UInt64)
    case contentChecksumMismatch(tensor: String)
    case decompressionFailed(tensor: String, reason: String)
    case decompressedSizeMismatch(tensor: String, produced: Int, expected: Int)

    // Writer only
    case invalidCompressionLevel(level: Int32, min: Int32, max: Int32)
    case compressionFailed(tensor: String, reason: String)

    public var description: String {
        switch self {
        case let .cannotRead(path, reason): return "cannot read \(path): \(reason)"
        case let .cannotWrite(path, reason): return "cannot write \(path): \(reason)"
        case let .fileTooLarge(size, limit): return "file is \(size) bytes, over the limit of \(limit)"
        case let .badMagic(found):
            return "not a .siam file: magic is \(found.map { hex2($0) }.joined(separator: " ")), expected \"SIAMMASK\""
        case let .truncatedPreamble(size):
            return "file truncated in the preamble: \(size) bytes, the preamble alone is \(SiamFormat.preambleSize)"
        case let .unsupportedMajorVersion(found, supported):
            return "format major version \(found) is not supported (this reader reads major version \(supported))"
        case let .newerMajorVersion(found, supported):
            return "format major version \(found) is newer than this reader's \(supported); upgrade the reader"
        case let .headerTooLarge(length, limit): return "header length \(length) is over the limit of \(limit) bytes"
        case let .truncatedHeader(end, size):
            return "file truncated in the header: the header ends at offset \(end), the file is \(size) bytes"
        case let .headerChecksumMismatch(stored, computed):
            return "header checksum mismatch: stored \(hex8(stored)), computed \(hex8(computed))"
        case let .headerOverrun(field, offset):
            return "header ends in the middle of \(field) at offset \(offset)"
        case let .unusedHeaderBytes(offset, count):
            return "\(count) unused bytes after the tensor table at offset \(offset), inside the declared header"
        case let .emptyName(context): return "\(context) is empty"
        case let .stringTooLong(context, length, limit):
            return "\(context) is \(length) bytes, over the limit of \(limit)"
        case let .invalidUTF8(context, offset): return "\(context) at offset \(offset) is not valid UTF-8"
        case let .tooManyMetadataEntries(count, limit): return "\(count) metadata entries, over the limit of \(limit)"
        case let .duplicateMetadataKey(key): return "metadata key '\(key)' appears more than once"
        case let .metadataKeysNotSorted(key, previous):
            return "metadata key '\(key)' follows '\(previous)': keys must be sorted by their UTF-8 bytes"
        case let .unknownMetadataType(key, code): return "metadata '\(key)' has unknown value type \(code)"
        case let .metadataValueLengthMismatch(key, declared):
            return "value of metadata '\(key)' does not fill its declared length of \(declared) bytes exactly"
        case let .invalidBool(key, byte): return "metadata '\(key)' is a bool stored as \(byte), not 0 or 1"
        case let .arrayTooLong(context, count, limit):
            return "\(context) has \(count) elements, over the limit of \(limit)"
        case let .reservedMetadataKey(key):
            return "metadata key '\(key)' uses the reserved prefix '\(SiamFormat.reservedKeyPrefix)'"
        case let .tooManyTensors(count, limit): return "\(count) tensors, over the limit of \(limit)"
        case let .duplicateTensorName(name): return "tensor name '\(name)' appears more than once"
        case let .unknownDType(tensor, code): return "tensor '\(tensor)' has unknown dtype code \(code)"
        case let .rankTooLarge(tensor, rank, limit):
            return "tensor '\(tensor)' has rank \(rank), over the limit of \(limit)"
        case let .dimensionTooLarge(tensor, axis, size, limit):
            return "tensor '\(tensor)' dimension \(axis) is \(size), over the limit of \(limit)"
        case let .shapeOverflow(tensor, shape): return "tensor '\(tensor)' shape \(shape) overflows its byte size"
        case let .uncompressedSizeMismatch(tensor, declared, expected):
            return "tensor '\(tensor)' declares \(declared) uncompressed bytes, its shape and dtype need \(expected)"
        case let .totalUncompressedSizeTooLarge(tensor, total, limit):
            return "tensors up to '\(tensor)' hold \(total) uncompressed bytes, over the limit of \(limit)"
        case let .unknownQuantizationKind(tensor, code):
            return "tensor '\(tensor)' has unknown quantisation kind \(code)"
        case let .quantizationAxisOutOfRange(tensor, axis, rank):
            return "tensor '\(tensor)' quantisation axis \(axis) is out of range for rank \(rank)"
        case let .quantizationCountMismatch(tensor, scales, zeroPoints, expected):
            return
                "tensor '\(tensor)' has \(scales) quantisation scales and \(zeroPoints) zero points, expected \(expected) of each"
        case let .invalidQuantizationScale(tensor, index, bits):
            return
                "tensor '\(tensor)' quantisation scale \(index) is \(Float(bitPattern: bits)): scales must be finite and not negative"
        case let .misalignedDataOffset(tensor, offset):
            return "tensor '\(tensor)' data offset \(offset) is not a multiple of \(SiamFormat.dataAlignment)"
        case let .dataOffsetInsideHeader(tensor, offset, end):
            return "tensor '\(tensor)' data offset \(offset) lies inside the header, which ends at \(end)"
        case let .dataOutOfFile(tensor, offset, size, fileSize):
            return
                "tensor '\(tensor)' data (\(size) bytes at offset \(offset)) runs past the end of the \(fileSize)-byte file"
        case let .overlappingData(tensor, other, offset):
            return "tensor '\(tensor)' data at offset \(offset) overlaps the data of tensor '\(other)'"
        case let .nonZeroPadding(offset): return "padding byte at offset \(offset) is not zero"
        case let .trailingBytes(offset, count):
            return "\(count) trailing bytes after the last tensor frame, at offset \(offset)"
        case let .implausibleCompressionRatio(tensor, compressed, uncompressed):
            return
                "tensor '\(tensor)' claims \(uncompressed) bytes from a \(compressed)-byte frame, more than zstd can expand"
        case let .dataChecksumMismatch(tensor, stored, computed):
            return "tensor '\(tensor)' data checksum mismatch: stored \(hex8(stored)), computed \(hex8(computed))"
        case let .notAZstdFrame(tensor): return "tensor '\(tensor)' data does not start with a zstd frame magic number"
        case let .invalidZstdFrame(tensor, reason): return "tensor '\(tensor)' zstd frame is invalid: \(reason)"
        case let .frameContentSizeMissing(tensor):
            return "tensor '\(tensor)' zstd frame does not record its content size"
        case let .frameContentSizeMismatch(tensor, frame, table):
            return "tensor '\(tensor)' zstd frame holds \(frame) bytes, the table says \(table)"
        case let .frameChecksumMissing(tensor): return "tensor '\(tensor)' zstd frame has no content checksum"
        case let .frameSizeMismatch(tensor, frame, table):
            return "tensor '\(tensor)' zstd frame is \(frame) bytes, the table says \(table)"
        case let .contentChecksumMismatch(tensor):
            return "tensor '\(tensor)' decompressed data does not match the zstd content checksum"
        case let .decompressionFailed(tensor, reason): return "tensor '\(tensor)' failed to decompress: \(reason)"
        case let .decompressedSizeMismatch(tensor, produced, expected):
            return "tensor '\(tensor)' decompressed to \(produced) bytes, expected \(expected)"
        case let .invalidCompressionLevel(level, lo, hi):
            return "compression level \(level) is outside zstd's range \(lo)...\(hi)"
        case let .compressionFailed(tensor, reason): return "tensor '\(tensor)' failed to compress: \(reason)"
        }
    }
}

private func hex2(_ b: UInt8) -> String {
    let s = String(b, radix: 16)
    return s.count == 1 ? "0" + s : s
}

private func hex8(_ v: UInt32) -> String {
    let s = String(v, radix: 16)
    return "0x" + String(repeating: "0", count: 8 - s.count) + s
}
