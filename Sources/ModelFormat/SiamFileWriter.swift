import CZstd
import Foundation
import Tensors

/// Writes `.siam` files. The output is a pure function of the input, the compression level and the zstd version:
/// metadata sorted by key bytes, tensors in the given order, no timestamps.
public enum SiamFileWriter {
    /// Encodes `file` and writes it atomically: a temporary file in the destination's folder, flushed, then renamed
    /// over `url`. On any failure nothing is left behind and an existing file at `url` is untouched.
    public static func write(_ file: SiamFile, to url: URL, compressionLevel: Int32 = 3) throws {
        let bytes = try encode(file, compressionLevel: compressionLevel)
        try FileIO.writeAtomically(bytes, path: url.path)
    }

    /// The bytes of `file` in the `.siam` format. Throws if the file would break a rule or cap of the format (the
    /// same caps the default reader applies, so whatever this writes, the reader reads).
    public static func encode(_ file: SiamFile, compressionLevel: Int32 = 3) throws -> [UInt8] {
        let limits = SiamFormatLimits.default
        let minLevel = ZSTD_minCLevel(), maxLevel = ZSTD_maxCLevel()
        guard compressionLevel >= minLevel, compressionLevel <= maxLevel else {
            throw SiamFormatError.invalidCompressionLevel(level: compressionLevel, min: minLevel, max: maxLevel)
        }

        var w = ByteWriter()
        let dataBound = file.tensors.reduce(0) {
            $0 + ZSTD_compressBound($1.tensor.byteCount) + SiamFormat.dataAlignment
        }
        w.bytes.reserveCapacity(4096 + 256 * file.tensors.count + dataBound)

        // Preamble; header length and checksum are patched at the end.
        w.bytes.append(contentsOf: SiamFormat.magic)
        w.u16(SiamFormat.majorVersion)
        w.u16(SiamFormat.minorVersion)
        w.u32(0)
        w.u32(0)
        let headerCap = SiamFormat.preambleSize + limits.maxHeaderBytes
        func checkHeaderSize() throws {
            guard w.count <= headerCap else {
                throw SiamFormatError.headerTooLarge(
                    length: UInt64(w.count - SiamFormat.preambleSize), limit: limits.maxHeaderBytes)
            }
        }

        // Metadata, sorted by the keys' UTF-8 bytes.
        guard file.metadata.count <= limits.maxMetadataEntries else {
            throw SiamFormatError.tooManyMetadataEntries(
                count: UInt64(file.metadata.count), limit: limits.maxMetadataEntries)
        }
        let entries = file.metadata.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        w.u32(UInt32(entries.count))
        for (key, value) in entries {
            try checkName(key, context: "metadata key '\(key)'", limits: limits)
            guard !key.hasPrefix(SiamFormat.reservedKeyPrefix) else {
                throw SiamFormatError.reservedMetadataKey(key: key)
            }
            w.string(key)
            try encodeValue(value, key: key, into: &w, limits: limits)
            try checkHeaderSize()
        }

        // Tensor table; data offset, sizes and checksum are patched once the frames are written.
        guard file.tensors.count <= limits.maxTensors else {
            throw SiamFormatError.tooManyTensors(count: UInt64(file.tensors.count), limit: limits.maxTensors)
        }
        w.u32(UInt32(file.tensors.count))
        var names = Set<String>()
        var fieldPositions: [Int] = []
        fieldPositions.reserveCapacity(file.tensors.count)
        var total = 0
        for named in file.tensors {
            let name = named.name, tensor = named.tensor
            try checkName(name, context: "tensor name '\(name)'", limits: limits)
            guard names.insert(name).inserted else { throw SiamFormatError.duplicateTensorName(name: name) }
            guard tensor.shape.count <= limits.maxRank else {
                throw SiamFormatError.rankTooLarge(tensor: name, rank: tensor.shape.count, limit: limits.maxRank)
            }
            for (axis, d) in tensor.shape.enumerated() where d > limits.maxDimension {
                throw SiamFormatError.dimensionTooLarge(
                    tensor: name, axis: axis, size: UInt64(d), limit: limits.maxDimension)
            }
            total += tensor.byteCount
            guard total <= limits.maxTotalUncompressedBytes else {
                throw SiamFormatError.totalUncompressedSizeTooLarge(
                    tensor: name, total: UInt64(total), limit: limits.maxTotalUncompressedBytes)
            }
            w.string(name)
            w.u8(tensor.dtype.rawValue)
            w.u8(UInt8(tensor.shape.count))
            for d in tensor.shape { w.u64(UInt64(d)) }
            try encodeQuantization(named.quantization, name: name, shape: tensor.shape, into: &w)
            fieldPositions.append(w.count)
            w.u64(0)   // data offset
            w.u64(0)   // compressed size
            w.u64(UInt64(tensor.byteCount))
            w.u32(0)   // CRC-32C of the frame
            try checkHeaderSize()
        }
        let headerEnd = w.count
        w.patch32(UInt32(headerEnd - SiamFormat.preambleSize), at: 12)

        // Data: one zstd frame per tensor, each at a 64-byte aligned offset, in table order.
        let compressor = try ZstdCompressor(level: compressionLevel)
        for (index, named) in file.tensors.enumerated() {
            let padding = (SiamFormat.dataAlignment - w.count % SiamFormat.dataAlignment) % SiamFormat.dataAlignment
            w.bytes.append(contentsOf: repeatElement(0, count: padding))
            let offset = w.count
            try compressor.appendFrame(of: named.tensor, name: named.name, to: &w.bytes)
            let size = w.count - offset
            let crc = w.bytes.withUnsafeBytes {
                CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[offset..<offset + size]))
            }
            let position = fieldPositions[index]
            w.patch64(UInt64(offset), at: position)
            w.patch64(UInt64(size), at: position + 8)
            w.patch32(crc, at: position + 24)
        }

        // Header checksum: bytes 0..<16 of the preamble, then the header body.
        let crc = w.bytes.withUnsafeBytes { raw in
            let seed = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<16]))
            return CRC32C.checksum(
                UnsafeRawBufferPointer(rebasing: raw[SiamFormat.preambleSize..<headerEnd]), seed: seed)
        }
        w.patch32(crc, at: 16)
        return w.bytes
    }

    private static func checkName(_ name: String, context: @autoclosure () -> String, limits: SiamFormatLimits) throws {
        guard !name.isEmpty else { throw SiamFormatError.emptyName(context: context()) }
        let n = name.utf8.count
        guard n <= limits.maxNameBytes else {
            throw SiamFormatError.stringTooLong(context: context(), length: UInt64(n), limit: limits.maxNameBytes)
        }
    }

    private static func checkString(_ s: String, context: @autoclosure () -> String, limits: SiamFormatLimits) throws {
        let n = s.utf8.count
        guard n <= limits.maxStringBytes else {
            throw SiamFormatError.stringTooLong(context: context(), length: UInt64(n), limit: limits.maxStringBytes)
        }
    }

    private static func checkArray(_ count: Int, key: String, limits: SiamFormatLimits) throws {
        guard count <= limits.maxArrayCount else {
            throw SiamFormatError.arrayTooLong(
                context: "metadata '\(key)'", count: UInt64(count), limit: limits.maxArrayCount)
        }
    }

    /// Value type (u8), value length (u32), value.
    private static func encodeValue(
        _ value: MetadataValue, key: String, into w: inout ByteWriter, limits: SiamFormatLimits
    ) throws {
        let type: SiamFormat.MetadataType
        switch value {
        case .string: type = .string
        case .int: type = .int64
        case .double: type = .float64
        case .bool: type = .bool
        case .ints: type = .int64Array
        case .doubles: type = .float64Array
        case .strings: type = .stringArray
        }
        w.u8(type.rawValue)
        let lengthPosition = w.count
        w.u32(0)
        switch value {
        case .string(let s):
            try checkString(s, context: "metadata '\(key)' string value", limits: limits)
            w.string(s)
        case .int(let v): w.i64(v)
        case .double(let v): w.f64(v)
        case .bool(let v): w.u8(v ? 1 : 0)
        case .ints(let a):
            try checkArray(a.count, key: key, limits: limits)
            w.u32(UInt32(a.count))
            for v in a { w.i64(v) }
        case .doubles(let a):
            try checkArray(a.count, key: key, limits: limits)
            w.u32(UInt32(a.count))
            for v in a { w.f64(v) }
        case .strings(let a):
            try checkArray(a.count, key: key, limits: limits)
            w.u32(UInt32(a.count))
            for (i, s) in a.enumerated() {
                try checkString(s, context: "metadata '\(key)' element \(i)", limits: limits)
                w.string(s)
                guard w.count - lengthPosition <= limits.maxHeaderBytes else {
                    throw SiamFormatError.headerTooLarge(
                        length: UInt64(w.count - SiamFormat.preambleSize), limit: limits.maxHeaderBytes)
                }
            }
        }
        let length = w.count - lengthPosition - 4
        guard length <= limits.maxHeaderBytes else {
            throw SiamFormatError.headerTooLarge(
                length: UInt64(w.count - SiamFormat.preambleSize), limit: limits.maxHeaderBytes)
        }
        w.patch32(UInt32(length), at: lengthPosition)
    }

    private static func encodeQuantization(
        _ q: QuantizationParameters?, name: String, shape: [Int], into w: inout ByteWriter
    ) throws {
        guard let q else {
            w.u8(SiamFormat.QuantizationKind.none.rawValue)
            return
        }
        let expected: Int
        if let axis = q.axis {
            guard axis >= 0, axis < shape.count else {
                throw SiamFormatError.quantizationAxisOutOfRange(tensor: name, axis: axis, rank: shape.count)
            }
            expected = shape[axis]
        } else {
            expected = 1
        }
        guard q.scales.count == expected, q.zeroPoints.count == expected else {
            throw SiamFormatError.quantizationCountMismatch(
                tensor: name, scales: q.scales.count, zeroPoints: q.zeroPoints.count, expected: expected)
        }
        for (i, s) in q.scales.enumerated() where !(s.isFinite && s >= 0) {
            throw SiamFormatError.invalidQuantizationScale(tensor: name, index: i, bits: s.bitPattern)
        }
        if let axis = q.axis {
            w.u8(SiamFormat.QuantizationKind.perChannel.rawValue)
            w.u8(UInt8(axis))
            w.u32(UInt32(expected))
        } else {
            w.u8(SiamFormat.QuantizationKind.perTensor.rawValue)
        }
        for s in q.scales { w.f32(s) }
        for z in q.zeroPoints { w.i32(z) }
    }
}

/// One single-threaded zstd compression context with the content size and content checksum in every frame.
final class ZstdCompressor {
    private let context: OpaquePointer

    init(level: Int32) throws {
        guard let context = ZSTD_createCCtx() else {
            throw SiamFormatError.compressionFailed(tensor: "", reason: "cannot create a zstd context")
        }
        self.context = context
        for (parameter, value) in [
            (ZSTD_c_compressionLevel, level), (ZSTD_c_checksumFlag, 1),
            (ZSTD_c_contentSizeFlag, 1), (ZSTD_c_nbWorkers, 0),
        ] {
            let r = ZSTD_CCtx_setParameter(context, parameter, value)
            if ZSTD_isError(r) != 0 {
                throw SiamFormatError.compressionFailed(tensor: "", reason: String(cString: ZSTD_getErrorName(r)))
            }
        }
    }

    deinit { ZSTD_freeCCtx(context) }

    /// Compresses the tensor's bytes as one frame appended to `output`.
    func appendFrame(of tensor: Tensor, name: String, to output: inout [UInt8]) throws {
        let start = output.count
        let bound = ZSTD_compressBound(tensor.byteCount)
        output.append(contentsOf: repeatElement(0, count: bound))
        var dummy: UInt8 = 0
        let written = output.withUnsafeMutableBytes { dst in
            tensor.withUnsafeBytes { src in
                withUnsafeMutablePointer(to: &dummy) { empty in
                    ZSTD_compress2(
                        context, dst.baseAddress! + start, bound,
                        src.baseAddress ?? UnsafeRawPointer(empty), src.count)
                }
            }
        }
        guard ZSTD_isError(written) == 0 else {
            output.removeLast(bound)
            throw SiamFormatError.compressionFailed(tensor: name, reason: String(cString: ZSTD_getErrorName(written)))
        }
        output.removeLast(bound - written)
    }
}
