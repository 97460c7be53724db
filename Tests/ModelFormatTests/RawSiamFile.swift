import ModelFormat

/// A test-side, independent reading of the `.siam` byte layout in Schemas/siam-format.md, kept as raw fields so that
/// tests can corrupt any of them and serialise the result (with a correct header checksum unless told otherwise).
/// It trusts its input: parse only files the writer produced.
struct RawSiamFile {
    struct Metadata {
        var key: [UInt8]
        var type: UInt8
        var value: [UInt8]
        var declaredLength: UInt32?   // nil: value.count
    }

    struct Tensor {
        var name: [UInt8]
        var dtype: UInt8
        var dims: [UInt64]
        /// Quantisation kind byte and what follows it.
        var quantization: [UInt8]
        var offset: UInt64 = 0
        var compressedSize: UInt64 = 0
        var uncompressedSize: UInt64
        var checksum: UInt32 = 0
        var rankOverride: UInt8?
    }

    var magic = Array("SIAMMASK".utf8)
    var major: UInt16 = 1
    var minor: UInt16 = 0
    var metadata: [Metadata] = []
    var metadataCountOverride: UInt32?
    var tensors: [Tensor] = []
    var tensorCountOverride: UInt32?
    var extraHeader: [UInt8] = []
    var headerLengthOverride: UInt32?
    var headerChecksumOverride: UInt32?
    /// One zstd frame per tensor, laid out by `bytes` at the canonical aligned offsets in table order.
    var frames: [[UInt8]] = []

    // MARK: Parsing (trusted input)

    struct Cursor {
        let b: [UInt8]
        var p: Int
        mutating func u8() -> UInt8 { defer { p += 1 }; return b[p] }
        mutating func u16() -> UInt16 { UInt16(u8()) | UInt16(u8()) << 8 }
        mutating func u32() -> UInt32 { (0..<4).reduce(UInt32(0)) { v, i in v | UInt32(u8()) << (8 * UInt32(i)) } }
        mutating func u64() -> UInt64 { (0..<8).reduce(UInt64(0)) { v, i in v | UInt64(u8()) << (8 * UInt64(i)) } }
        mutating func take(_ n: Int) -> [UInt8] { defer { p += n }; return Array(b[p..<p + n]) }
        mutating func str() -> [UInt8] { take(Int(u32())) }
    }

    /// Position (in the parsed file) of each tensor's checksum field.
    private(set) var checksumFieldPositions: [Int] = []
    private(set) var headerEnd = 0

    init() {}

    init(parsing bytes: [UInt8]) {
        var c = Cursor(b: bytes, p: 0)
        magic = c.take(8)
        major = c.u16()
        minor = c.u16()
        let headerLength = Int(c.u32())
        _ = c.u32()
        headerEnd = 20 + headerLength
        for _ in 0..<c.u32() {
            let key = c.str()
            let type = c.u8()
            let value = c.take(Int(c.u32()))
            metadata.append(Metadata(key: key, type: type, value: value))
        }
        for _ in 0..<c.u32() {
            let name = c.str()
            let dtype = c.u8()
            let rank = Int(c.u8())
            let dims = (0..<rank).map { _ in c.u64() }
            let start = c.p
            switch c.u8() {
            case 0: break
            case 1: c.p += 8
            default:
                c.p += 1
                c.p += 8 * Int(c.u32())
            }
            let quantization = Array(bytes[start..<c.p])
            let offset = c.u64(), compressed = c.u64(), uncompressed = c.u64()
            checksumFieldPositions.append(c.p)
            let checksum = c.u32()
            tensors.append(
                Tensor(
                    name: name, dtype: dtype, dims: dims, quantization: quantization, offset: offset,
                    compressedSize: compressed, uncompressedSize: uncompressed, checksum: checksum))
            frames.append(Array(bytes[Int(offset)..<Int(offset + compressed)]))
        }
        precondition(c.p == headerEnd, "test parser disagrees with the writer about the header length")
    }

    // MARK: Serialising

    static func le(_ v: UInt64, _ n: Int) -> [UInt8] {
        (0..<n).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) }
    }
    static func str(_ s: [UInt8]) -> [UInt8] { le(UInt64(s.count), 4) + s }

    private func headerBody(_ tensors: [Tensor]) -> [UInt8] {
        var h: [UInt8] = []
        h += Self.le(UInt64(metadataCountOverride ?? UInt32(metadata.count)), 4)
        for m in metadata {
            h += Self.str(m.key) + [m.type] + Self.le(UInt64(m.declaredLength ?? UInt32(m.value.count)), 4) + m.value
        }
        h += Self.le(UInt64(tensorCountOverride ?? UInt32(tensors.count)), 4)
        for t in tensors {
            h += Self.str(t.name) + [t.dtype, t.rankOverride ?? UInt8(t.dims.count)]
            for d in t.dims { h += Self.le(d, 8) }
            h += t.quantization
            h +=
                Self.le(t.offset, 8) + Self.le(t.compressedSize, 8) + Self.le(t.uncompressedSize, 8)
                + Self.le(UInt64(t.checksum), 4)
        }
        return h + extraHeader
    }

    /// The file: frames at canonical offsets; the table's offset, compressed size and checksum fields are set to match
    /// and then handed to `adjust`, which may corrupt them.
    func bytes(adjust: (inout [Tensor]) -> Void = { _ in }) -> [UInt8] {
        var table = tensors
        let bodyLength = headerBody(table).count
        var position = 20 + bodyLength
        var placed: [Int] = []
        for (i, frame) in frames.enumerated() {
            position = (position + 63) / 64 * 64
            placed.append(position)
            if i < table.count {
                table[i].offset = UInt64(position)
                table[i].compressedSize = UInt64(frame.count)
                table[i].checksum = CRC32C.checksum(of: frame)
            }
            position += frame.count
        }
        adjust(&table)
        let body = headerBody(table)
        precondition(body.count == bodyLength)
        var out = magic + Self.le(UInt64(major), 2) + Self.le(UInt64(minor), 2)
        out += Self.le(UInt64(headerLengthOverride ?? UInt32(bodyLength)), 4)
        let crc = CRC32C.checksum(of: body, seed: CRC32C.checksum(of: out))
        out += Self.le(UInt64(headerChecksumOverride ?? crc), 4)
        out += body
        for (frame, at) in zip(frames, placed) {
            out += [UInt8](repeating: 0, count: at - out.count)
            out += frame
        }
        return out
    }

    // MARK: Hand-made zstd frames (one raw block)

    /// A frame holding `content` in one raw block, with a one-byte content size (so content.count < 256) and no content
    /// checksum.
    static func rawFrameWithoutChecksum(_ content: [UInt8]) -> [UInt8] {
        precondition(content.count < 256)
        let blockHeader = le(UInt64(1 | content.count << 3), 3)   // last block, raw
        return [0x28, 0xB5, 0x2F, 0xFD, 0x20, UInt8(content.count)] + blockHeader + content
    }

    /// A frame with no content size field (descriptor 0, window descriptor 0) holding `content` in one raw block.
    static func rawFrameWithoutContentSize(_ content: [UInt8]) -> [UInt8] {
        let blockHeader = le(UInt64(1 | content.count << 3), 3)
        return [0x28, 0xB5, 0x2F, 0xFD, 0x00, 0x00] + blockHeader + content
    }
}

/// Re-signs the header checksum of `bytes` in place, if its header length field fits the file.
func resignHeader(_ bytes: inout [UInt8]) {
    guard bytes.count >= 20 else { return }
    let length = Int(bytes[12]) | Int(bytes[13]) << 8 | Int(bytes[14]) << 16 | Int(bytes[15]) << 24
    guard 20 + length <= bytes.count else { return }
    let crc = CRC32C.checksum(of: Array(bytes[20..<20 + length]), seed: CRC32C.checksum(of: Array(bytes[0..<16])))
    for i in 0..<4 { bytes[16 + i] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(i))) }
}

/// SplitMix64: small, seeded, reproducible.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
