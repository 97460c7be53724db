import CZstd
import Foundation
import Tensors

/// Reads `.siam` files, treating every input as hostile: every offset, size and count is checked before it is used,
/// nothing is allocated that the caps and the bytes actually present do not justify, and each malformed condition
/// throws its own `SiamFormatError`.
public enum SiamFileReader {
    public static func read(contentsOf url: URL, limits: SiamFormatLimits = .default) throws -> SiamFile {
        try decode(FileIO.readAll(path: url.path, limit: limits.maxFileBytes), limits: limits)
    }

    public static func decode(_ bytes: [UInt8]) throws -> SiamFile {
        try decode(bytes, limits: .default)
    }

    public static func decode(_ bytes: [UInt8], limits: SiamFormatLimits) throws -> SiamFile {
        try bytes.withUnsafeBytes { raw in
            let summary = try validate(raw, limits: limits)
            let decompressor = try ZstdDecompressor()
            var tensors: [NamedTensor] = []
            tensors.reserveCapacity(summary.tensors.count)
            for info in summary.tensors {
                let frame = UnsafeRawBufferPointer(
                    rebasing: raw[info.dataOffset..<info.dataOffset + info.compressedSize])
                let storage = try decompressor.decompress(frame, size: info.uncompressedSize, name: info.name)
                let tensor: Tensor
                do {
                    tensor = try Tensor(dtype: info.dtype, shape: info.shape, storage: storage)
                } catch {
                    // Unreachable: validate() checked the size against shape and dtype.
                    throw SiamFormatError.uncompressedSizeMismatch(
                        tensor: info.name, declared: UInt64(info.uncompressedSize), expected: -1)
                }
                tensors.append(NamedTensor(name: info.name, tensor: tensor, quantization: info.quantization))
            }
            return SiamFile(metadata: summary.metadata, tensors: tensors)
        }
    }

    /// Header, metadata and tensor table without decompressing tensor data. The file is still fully validated:
    /// layout, padding, the checksum of every frame and every frame's zstd header; only decompression (and with it
    /// zstd's own content checksum) is skipped.
    public static func summary(contentsOf url: URL, limits: SiamFormatLimits = .default) throws -> SiamFileSummary {
        try summary(of: FileIO.readAll(path: url.path, limit: limits.maxFileBytes), limits: limits)
    }

    public static func summary(of bytes: [UInt8], limits: SiamFormatLimits = .default) throws -> SiamFileSummary {
        try bytes.withUnsafeBytes { try validate($0, limits: limits) }
    }

    // MARK: - Validation

    /// A row of the tensor table with the sizes as stored, before they are known to fit the file.
    private struct Row {
        var name: String
        var dtype: DType
        var shape: [Int]
        var quantization: QuantizationParameters?
        var offset: UInt64
        var compressedSize: UInt64
        var uncompressedSize: UInt64
        var checksum: UInt32
    }

    static func validate(_ raw: UnsafeRawBufferPointer, limits: SiamFormatLimits) throws -> SiamFileSummary {
        let fileSize = raw.count
        guard fileSize <= limits.maxFileBytes else {
            throw SiamFormatError.fileTooLarge(size: UInt64(fileSize), limit: limits.maxFileBytes)
        }

        // Preamble.
        let magic = SiamFormat.magic
        let magicBytes = min(fileSize, magic.count)
        guard raw[0..<magicBytes].elementsEqual(magic[0..<magicBytes]) else {
            throw SiamFormatError.badMagic(found: Array(raw[0..<magicBytes]))
        }
        guard fileSize >= SiamFormat.preambleSize else { throw SiamFormatError.truncatedPreamble(fileSize: fileSize) }
        var preamble = ByteReader(raw: raw, position: magic.count, end: SiamFormat.preambleSize)
        let major = try preamble.u16("major version")
        let minor = try preamble.u16("minor version")
        let headerLength = try preamble.u32("header length")
        let storedChecksum = try preamble.u32("header checksum")
        guard major <= SiamFormat.majorVersion else {
            throw SiamFormatError.newerMajorVersion(found: major, supported: SiamFormat.majorVersion)
        }
        guard major == SiamFormat.majorVersion else {
            throw SiamFormatError.unsupportedMajorVersion(found: major, supported: SiamFormat.majorVersion)
        }
        guard Int(headerLength) <= limits.maxHeaderBytes else {
            throw SiamFormatError.headerTooLarge(length: UInt64(headerLength), limit: limits.maxHeaderBytes)
        }
        let headerEnd = SiamFormat.preambleSize + Int(headerLength)
        guard headerEnd <= fileSize else {
            throw SiamFormatError.truncatedHeader(headerEnd: UInt64(headerEnd), fileSize: fileSize)
        }
        let computed = CRC32C.checksum(
            UnsafeRawBufferPointer(rebasing: raw[SiamFormat.preambleSize..<headerEnd]),
            seed: CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<16])))
        guard computed == storedChecksum else {
            throw SiamFormatError.headerChecksumMismatch(stored: storedChecksum, computed: computed)
        }

        // Header body.
        var r = ByteReader(raw: raw, position: SiamFormat.preambleSize, end: headerEnd)
        let metadata = try readMetadata(&r, minor: minor, limits: limits)
        let rows = try readTensorTable(&r, limits: limits)
        guard r.remaining == 0 else { throw SiamFormatError.unusedHeaderBytes(offset: r.position, count: r.remaining) }

        // Data ranges: aligned, after the header, inside the file, no more than zstd could expand.
        let alignment = UInt64(SiamFormat.dataAlignment)
        for row in rows {
            guard row.offset % alignment == 0 else {
                throw SiamFormatError.misalignedDataOffset(tensor: row.name, offset: row.offset)
            }
            guard row.offset >= UInt64(headerEnd) else {
                throw SiamFormatError.dataOffsetInsideHeader(tensor: row.name, offset: row.offset, headerEnd: headerEnd)
            }
            guard row.compressedSize <= UInt64(fileSize), row.offset <= UInt64(fileSize) - row.compressedSize else {
                throw SiamFormatError.dataOutOfFile(
                    tensor: row.name, offset: row.offset, size: row.compressedSize, fileSize: fileSize)
            }
            let (expandable, overflow) = row.compressedSize.multipliedReportingOverflow(
                by: SiamFormat.maxCompressionRatio)
            guard overflow || row.uncompressedSize <= expandable else {
                throw SiamFormatError.implausibleCompressionRatio(
                    tensor: row.name, compressed: row.compressedSize, uncompressed: row.uncompressedSize)
            }
        }

        // In file order: no overlaps, zero padding between regions, nothing after the last frame.
        let order = rows.indices.sorted { (rows[$0].offset, $0) < (rows[$1].offset, $1) }
        var cursor = headerEnd
        var previous: Int?
        for index in order {
            let row = rows[index]
            let offset = Int(row.offset)
            guard offset >= cursor else {
                // offset >= headerEnd was checked above, so only a previous frame can reach past it.
                let other = previous.map { rows[$0].name } ?? "header"
                throw SiamFormatError.overlappingData(tensor: row.name, other: other, offset: row.offset)
            }
            for position in cursor..<offset where raw[position] != 0 {
                throw SiamFormatError.nonZeroPadding(offset: position)
            }
            cursor = offset + Int(row.compressedSize)
            previous = index
        }
        guard cursor == fileSize else { throw SiamFormatError.trailingBytes(offset: cursor, count: fileSize - cursor) }

        // Frames: our checksum first, then the zstd frame header against the table.
        var infos: [SiamTensorInfo] = []
        infos.reserveCapacity(rows.count)
        for row in rows {
            let offset = Int(row.offset), size = Int(row.compressedSize)
            let frame = UnsafeRawBufferPointer(rebasing: raw[offset..<offset + size])
            let crc = CRC32C.checksum(frame)
            guard crc == row.checksum else {
                throw SiamFormatError.dataChecksumMismatch(tensor: row.name, stored: row.checksum, computed: crc)
            }
            try checkFrameHeader(frame, row: row)
            infos.append(
                SiamTensorInfo(
                    name: row.name, dtype: row.dtype, shape: row.shape, quantization: row.quantization,
                    dataOffset: offset, compressedSize: size,
                    uncompressedSize: Int(row.uncompressedSize), checksum: row.checksum))
        }
        return SiamFileSummary(
            majorVersion: major, minorVersion: minor, headerLength: Int(headerLength),
            fileSize: fileSize, metadata: metadata, tensors: infos)
    }

    private static func readMetadata(
        _ r: inout ByteReader, minor: UInt16, limits: SiamFormatLimits
    ) throws -> [String: MetadataValue] {
        let count = try r.u32("metadata count")
        guard Int(count) <= limits.maxMetadataEntries else {
            throw SiamFormatError.tooManyMetadataEntries(count: UInt64(count), limit: limits.maxMetadataEntries)
        }
        var metadata: [String: MetadataValue] = [:]
        var previous: (key: String, bytes: UnsafeRawBufferPointer)?
        for i in 0..<Int(count) {
            let (key, keyBytes) = try r.string("metadata key #\(i)", limit: limits.maxNameBytes)
            guard !key.isEmpty else { throw SiamFormatError.emptyName(context: "metadata key #\(i)") }
            if let previous {
                if keyBytes.elementsEqual(previous.bytes) { throw SiamFormatError.duplicateMetadataKey(key: key) }
                guard previous.bytes.lexicographicallyPrecedes(keyBytes) else {
                    throw SiamFormatError.metadataKeysNotSorted(key: key, previous: previous.key)
                }
            }
            previous = (key, keyBytes)
            let code = try r.u8("value type of metadata '\(key)'")
            let length = try r.u32("value length of metadata '\(key)'")
            try r.need(Int(length), "value of metadata '\(key)'")
            var value = ByteReader(raw: r.raw, position: r.position, end: r.position + Int(length))
            r.position += Int(length)
            guard let type = SiamFormat.MetadataType(rawValue: code) else {
                // A newer minor version may add value types; its readers' elders skip them.
                if minor > SiamFormat.minorVersion { continue }
                throw SiamFormatError.unknownMetadataType(key: key, code: code)
            }
            let parsed: MetadataValue
            do {
                parsed = try readValue(type, &value, key: key, limits: limits)
            } catch SiamFormatError.headerOverrun {
                throw SiamFormatError.metadataValueLengthMismatch(key: key, declared: length)
            }
            guard value.remaining == 0 else {
                throw SiamFormatError.metadataValueLengthMismatch(key: key, declared: length)
            }
            // Keys with different bytes can still be equal Swift strings (canonical equivalence).
            guard metadata.updateValue(parsed, forKey: key) == nil else {
                throw SiamFormatError.duplicateMetadataKey(key: key)
            }
        }
        return metadata
    }

    private static func readValue(
        _ type: SiamFormat.MetadataType, _ r: inout ByteReader, key: String,
        limits: SiamFormatLimits
    ) throws -> MetadataValue {
        func arrayCount(elementSize: Int) throws -> Int {
            let n = try r.u32("element count of metadata '\(key)'")
            guard Int(n) <= limits.maxArrayCount else {
                throw SiamFormatError.arrayTooLong(
                    context: "metadata '\(key)'", count: UInt64(n), limit: limits.maxArrayCount)
            }
            try r.need(Int(n) * elementSize, "elements of metadata '\(key)'")
            return Int(n)
        }
        switch type {
        case .string:
            return .string(try r.string("metadata '\(key)' string value", limit: limits.maxStringBytes).0)
        case .int64:
            return .int(Int64(bitPattern: try r.u64("metadata '\(key)'")))
        case .float64:
            return .double(Double(bitPattern: try r.u64("metadata '\(key)'")))
        case .bool:
            let b = try r.u8("metadata '\(key)'")
            guard b <= 1 else { throw SiamFormatError.invalidBool(key: key, byte: b) }
            return .bool(b == 1)
        case .int64Array:
            let n = try arrayCount(elementSize: 8)
            var a: [Int64] = []
            a.reserveCapacity(n)
            for _ in 0..<n { a.append(Int64(bitPattern: try r.u64("metadata '\(key)'"))) }
            return .ints(a)
        case .float64Array:
            let n = try arrayCount(elementSize: 8)
            var a: [Double] = []
            a.reserveCapacity(n)
            for _ in 0..<n { a.append(Double(bitPattern: try r.u64("metadata '\(key)'"))) }
            return .doubles(a)
        case .stringArray:
            let n = try arrayCount(elementSize: 4)
            var a: [String] = []
            a.reserveCapacity(n)
            for i in 0..<n { a.append(try r.string("metadata '\(key)' element \(i)", limit: limits.maxStringBytes).0) }
            return .strings(a)
        }
    }

    private static func readTensorTable(_ r: inout ByteReader, limits: SiamFormatLimits) throws -> [Row] {
        let count = try r.u32("tensor count")
        guard Int(count) <= limits.maxTensors else {
            throw SiamFormatError.tooManyTensors(count: UInt64(count), limit: limits.maxTensors)
        }
        var rows: [Row] = []
        var names = Set<String>()
        var total: UInt64 = 0
        for i in 0..<Int(count) {
            let (name, _) = try r.string("tensor #\(i) name", limit: limits.maxNameBytes)
            guard !name.isEmpty else { throw SiamFormatError.emptyName(context: "tensor #\(i) name") }
            guard names.insert(name).inserted else { throw SiamFormatError.duplicateTensorName(name: name) }
            let code = try r.u8("dtype of tensor '\(name)'")
            guard let dtype = DType(rawValue: code) else {
                throw SiamFormatError.unknownDType(tensor: name, code: code)
            }
            let rank = Int(try r.u8("rank of tensor '\(name)'"))
            guard rank <= limits.maxRank else {
                throw SiamFormatError.rankTooLarge(tensor: name, rank: rank, limit: limits.maxRank)
            }
            var dims: [UInt64] = []
            dims.reserveCapacity(rank)
            for axis in 0..<rank {
                let d = try r.u64("dimension \(axis) of tensor '\(name)'")
                guard d <= UInt64(limits.maxDimension) else {
                    throw SiamFormatError.dimensionTooLarge(
                        tensor: name, axis: axis, size: d, limit: limits.maxDimension)
                }
                dims.append(d)
            }
            var bytes = UInt64(dtype.byteSize)
            for d in dims {
                let (p, overflow) = bytes.multipliedReportingOverflow(by: d)
                guard !overflow, p <= UInt64(Int.max) else {
                    throw SiamFormatError.shapeOverflow(tensor: name, shape: dims)
                }
                bytes = p
            }
            let quantization = try readQuantization(&r, name: name, dims: dims)
            let offset = try r.u64("data offset of tensor '\(name)'")
            let compressed = try r.u64("compressed size of tensor '\(name)'")
            let uncompressed = try r.u64("uncompressed size of tensor '\(name)'")
            let checksum = try r.u32("checksum of tensor '\(name)'")
            guard uncompressed == bytes else {
                throw SiamFormatError.uncompressedSizeMismatch(
                    tensor: name, declared: uncompressed, expected: Int(bytes))
            }
            let (sum, overflow) = total.addingReportingOverflow(bytes)
            guard !overflow, sum <= UInt64(limits.maxTotalUncompressedBytes) else {
                throw SiamFormatError.totalUncompressedSizeTooLarge(
                    tensor: name, total: overflow ? .max : sum, limit: limits.maxTotalUncompressedBytes)
            }
            total = sum
            rows.append(
                Row(
                    name: name, dtype: dtype, shape: dims.map { Int($0) }, quantization: quantization,
                    offset: offset, compressedSize: compressed, uncompressedSize: uncompressed, checksum: checksum))
        }
        return rows
    }

    private static func readQuantization(
        _ r: inout ByteReader, name: String, dims: [UInt64]
    ) throws -> QuantizationParameters? {
        let code = try r.u8("quantisation kind of tensor '\(name)'")
        guard let kind = SiamFormat.QuantizationKind(rawValue: code) else {
            throw SiamFormatError.unknownQuantizationKind(tensor: name, code: code)
        }
        let axis: Int?
        let count: Int
        switch kind {
        case .none:
            return nil
        case .perTensor:
            axis = nil
            count = 1
        case .perChannel:
            let a = Int(try r.u8("quantisation axis of tensor '\(name)'"))
            guard a < dims.count else {
                throw SiamFormatError.quantizationAxisOutOfRange(tensor: name, axis: a, rank: dims.count)
            }
            let n = try r.u32("quantisation parameter count of tensor '\(name)'")
            guard UInt64(n) == dims[a] else {
                throw SiamFormatError.quantizationCountMismatch(
                    tensor: name, scales: Int(n), zeroPoints: Int(n), expected: Int(dims[a]))
            }
            axis = a
            count = Int(n)
        }
        try r.need(count * 8, "quantisation parameters of tensor '\(name)'")
        var scales: [Float] = []
        scales.reserveCapacity(count)
        for i in 0..<count {
            let bits = try r.u32("quantisation scale of tensor '\(name)'")
            let s = Float(bitPattern: bits)
            guard s.isFinite, s >= 0 else {
                throw SiamFormatError.invalidQuantizationScale(tensor: name, index: i, bits: bits)
            }
            scales.append(s)
        }
        var zeroPoints: [Int32] = []
        zeroPoints.reserveCapacity(count)
        for _ in 0..<count {
            zeroPoints.append(Int32(bitPattern: try r.u32("quantisation zero point of tensor '\(name)'")))
        }
        return QuantizationParameters(scales: scales, zeroPoints: zeroPoints, axis: axis)
    }

    /// The frame must be exactly one zstd frame filling its range, recording its content size (equal to the
    /// table's) and a content checksum.
    private static func checkFrameHeader(_ frame: UnsafeRawBufferPointer, row: Row) throws {
        guard frame.count >= 4, UInt32(littleEndian: frame.loadUnaligned(as: UInt32.self)) == zstdFrameMagic else {
            throw SiamFormatError.notAZstdFrame(tensor: row.name)
        }
        let contentSize = ZSTD_getFrameContentSize(frame.baseAddress, frame.count)
        guard contentSize != zstdContentSizeError else {
            throw SiamFormatError.invalidZstdFrame(tensor: row.name, reason: "malformed or truncated frame header")
        }
        guard contentSize != zstdContentSizeUnknown else {
            throw SiamFormatError.frameContentSizeMissing(tensor: row.name)
        }
        guard contentSize == row.uncompressedSize else {
            throw SiamFormatError.frameContentSizeMismatch(
                tensor: row.name, frame: contentSize, table: row.uncompressedSize)
        }
        // Frame header descriptor (byte 4), bit 2: Content_Checksum_flag.
        guard frame.count > 4 else {
            throw SiamFormatError.invalidZstdFrame(tensor: row.name, reason: "frame ends inside its header")
        }
        guard frame[4] & 0x04 != 0 else { throw SiamFormatError.frameChecksumMissing(tensor: row.name) }
        let frameSize = ZSTD_findFrameCompressedSize(frame.baseAddress, frame.count)
        guard ZSTD_isError(frameSize) == 0 else {
            throw SiamFormatError.invalidZstdFrame(
                tensor: row.name, reason: String(cString: ZSTD_getErrorName(frameSize)))
        }
        guard frameSize == frame.count else {
            throw SiamFormatError.frameSizeMismatch(
                tensor: row.name, frame: UInt64(frameSize), table: row.compressedSize)
        }
    }
}

private let zstdFrameMagic: UInt32 = 0xFD2F_B528
private let zstdContentSizeUnknown: UInt64 = .max   // ZSTD_CONTENTSIZE_UNKNOWN
private let zstdContentSizeError: UInt64 = .max - 1   // ZSTD_CONTENTSIZE_ERROR
/// ZSTD_getErrorName(checksum_wrong); zstd's error codes are not part of its stable header.
private let zstdChecksumErrorName = "Restored data doesn't match checksum"

/// One zstd decompression context, reused across tensors.
final class ZstdDecompressor {
    private let context: OpaquePointer

    init() throws {
        guard let context = ZSTD_createDCtx() else {
            throw SiamFormatError.decompressionFailed(tensor: "", reason: "cannot create a zstd context")
        }
        self.context = context
    }

    deinit { ZSTD_freeDCtx(context) }

    /// Decompresses one frame whose header was already checked to declare `size` bytes, into a new array of exactly
    /// that size; zstd verifies the content checksum.
    func decompress(_ frame: UnsafeRawBufferPointer, size: Int, name: String) throws -> [UInt8] {
        var dummy: UInt8 = 0
        return try [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            initialized = 0
            let produced = withUnsafeMutablePointer(to: &dummy) { empty in
                ZSTD_decompressDCtx(
                    context, buffer.baseAddress.map { UnsafeMutableRawPointer($0) } ?? UnsafeMutableRawPointer(empty),
                    size, frame.baseAddress, frame.count)
            }
            if ZSTD_isError(produced) != 0 {
                let reason = String(cString: ZSTD_getErrorName(produced))
                if reason == zstdChecksumErrorName { throw SiamFormatError.contentChecksumMismatch(tensor: name) }
                throw SiamFormatError.decompressionFailed(tensor: name, reason: reason)
            }
            guard produced == size else {
                throw SiamFormatError.decompressedSizeMismatch(tensor: name, produced: produced, expected: size)
            }
            initialized = size
        }
    }
}
