import Foundation
import ModelFormat
import Tensors
import XCTest

/// Hand-made corruptions, each expecting its specific error, and a seeded random mutation loop.
final class SiamFileCorruptionTests: XCTestCase {
    enum Expected {
        case exactly(SiamFormatError)
        /// The case name, for errors carrying values the test cannot know in advance (computed checksums, zstd's text).
        case kind(String)
    }

    struct Corruption {
        let name: String
        let bytes: [UInt8]
        let expected: Expected
    }

    static func caseName(_ error: SiamFormatError) -> String {
        Mirror(reflecting: error).children.first?.label ?? String(describing: error)
    }

    private func check(_ corruptions: [Corruption], file: StaticString = #filePath, line: UInt = #line) {
        for c in corruptions {
            do {
                _ = try SiamFileReader.decode(c.bytes)
                XCTFail("\(c.name): decoded without error", file: file, line: line)
            } catch let error as SiamFormatError {
                switch c.expected {
                case .exactly(let expected):
                    XCTAssertEqual(error, expected, "\(c.name): \(error)", file: file, line: line)
                case .kind(let name):
                    XCTAssertEqual(Self.caseName(error), name, "\(c.name): \(error)", file: file, line: line)
                }
            } catch {
                XCTFail("\(c.name): not a SiamFormatError: \(error)", file: file, line: line)
            }
        }
    }

    func testCorruptionsGiveTheirOwnErrors() throws {
        let good = try SiamFileWriter.encode(Fixtures.small())
        let base = RawSiamFile(parsing: good)
        let summary = try SiamFileReader.summary(of: good)
        let headerEnd = 20 + summary.headerLength
        let t0 = summary.tensors[0], t1 = summary.tensors[1], t2 = summary.tensors[2]
        XCTAssertEqual(try SiamFileReader.decode(base.bytes()), Fixtures.small())

        func edit(_ change: (inout RawSiamFile) -> Void) -> [UInt8] {
            var raw = base
            change(&raw)
            return raw.bytes()
        }
        func table(_ change: @escaping (inout [RawSiamFile.Tensor]) -> Void) -> [UInt8] { base.bytes(adjust: change) }
        func patched(_ at: Int, _ values: [UInt8], resign: Bool = false) -> [UInt8] {
            var b = good
            b.replaceSubrange(at..<at + values.count, with: values)
            if resign { resignHeader(&b) }
            return b
        }
        func flipped(_ at: Int) -> [UInt8] {
            var b = good
            b[at] ^= 0x5A
            return b
        }
        let metadataStart = 24   // first metadata entry: after the preamble and the metadata count
        // The first metadata entry is "a.string" = "hello": key (4 + 8), type (1), length (4), value (4 + 5).
        let helloValue = metadataStart + 4 + 8 + 1 + 4 + 4
        let tableStart = good.indices.first { i in
            i > metadataStart && Array(good[i..<i + 6]) == [2, 0, 0, 0] + Array("t0".utf8)
        }!
        let paddingBeforeT1 = t0.dataOffset + t0.compressedSize
        XCTAssertLessThan(paddingBeforeT1, t1.dataOffset, "the fixture needs a padding byte to corrupt")
        let real = base.frames[0]   // float32 [4] = 1, 2, 3, 4

        check([
            // Preamble
            Corruption(
                name: "bad magic", bytes: patched(0, Array("SIAMMASX".utf8)),
                expected: .exactly(.badMagic(found: Array("SIAMMASX".utf8)))),
            Corruption(
                name: "short file that is not ours", bytes: [0x7B, 0x22],
                expected: .exactly(.badMagic(found: [0x7B, 0x22]))),
            Corruption(name: "empty file", bytes: [], expected: .exactly(.truncatedPreamble(fileSize: 0))),
            Corruption(
                name: "truncated in the preamble", bytes: Array(good[0..<12]),
                expected: .exactly(.truncatedPreamble(fileSize: 12))),
            Corruption(
                name: "newer major version", bytes: edit { $0.major = 2 },
                expected: .exactly(.newerMajorVersion(found: 2, supported: 1))),
            Corruption(
                name: "major version 0", bytes: edit { $0.major = 0 },
                expected: .exactly(.unsupportedMajorVersion(found: 0, supported: 1))),
            Corruption(
                name: "huge header length", bytes: edit { $0.headerLengthOverride = 1 << 30 },
                expected: .exactly(.headerTooLarge(length: 1 << 30, limit: 64 << 20))),
            // Truncation in every region
            Corruption(
                name: "truncated in the metadata", bytes: Array(good[0..<metadataStart + 10]),
                expected: .exactly(.truncatedHeader(headerEnd: UInt64(headerEnd), fileSize: metadataStart + 10))),
            Corruption(
                name: "truncated in the tensor table", bytes: Array(good[0..<tableStart + 8]),
                expected: .exactly(.truncatedHeader(headerEnd: UInt64(headerEnd), fileSize: tableStart + 8))),
            Corruption(
                name: "truncated in the padding after the header", bytes: Array(good[0..<headerEnd + 1]),
                expected: .exactly(
                    .dataOutOfFile(
                        tensor: "t0", offset: UInt64(t0.dataOffset), size: UInt64(t0.compressedSize),
                        fileSize: headerEnd + 1))),
            Corruption(
                name: "truncated in the middle of the data", bytes: Array(good[0..<t1.dataOffset + 5]),
                expected: .exactly(
                    .dataOutOfFile(
                        tensor: "t1", offset: UInt64(t1.dataOffset), size: UInt64(t1.compressedSize),
                        fileSize: t1.dataOffset + 5))),
            Corruption(
                name: "last byte missing", bytes: Array(good.dropLast()),
                expected: .exactly(
                    .dataOutOfFile(
                        tensor: "t2", offset: UInt64(t2.dataOffset), size: UInt64(t2.compressedSize),
                        fileSize: good.count - 1))),
            // Checksums
            Corruption(
                name: "header byte flipped", bytes: flipped(helloValue), expected: .kind("headerChecksumMismatch")),
            Corruption(
                name: "header checksum field flipped", bytes: flipped(17), expected: .kind("headerChecksumMismatch")),
            Corruption(
                name: "byte flipped inside a tensor frame", bytes: flipped(t1.dataOffset + t1.compressedSize / 2),
                expected: .kind("dataChecksumMismatch")),
            Corruption(
                name: "content changed with a matching frame checksum", bytes: edit { $0.frames[1][20] ^= 1 },
                expected: .exactly(.contentChecksumMismatch(tensor: "t1"))),
            // Data ranges
            Corruption(
                name: "offset past the end of the file", bytes: table { $0[1].offset = 1 << 40 },
                expected: .exactly(
                    .dataOutOfFile(tensor: "t1", offset: 1 << 40, size: UInt64(t1.compressedSize), fileSize: good.count)
                )),
            Corruption(
                name: "offset + size overflows",
                bytes: table {
                    $0[1].offset = .max - 63; $0[1].compressedSize = 128
                },
                expected: .exactly(.dataOutOfFile(tensor: "t1", offset: .max - 63, size: 128, fileSize: good.count))),
            Corruption(
                name: "huge compressed size", bytes: table { $0[0].compressedSize = .max },
                expected: .exactly(
                    .dataOutOfFile(tensor: "t0", offset: UInt64(t0.dataOffset), size: .max, fileSize: good.count))),
            Corruption(
                name: "overlapping ranges", bytes: table { $0[2].offset = $0[1].offset },
                expected: .exactly(.overlappingData(tensor: "t2", other: "t1", offset: UInt64(t1.dataOffset)))),
            Corruption(
                name: "misaligned offset", bytes: table { $0[1].offset += 8 },
                expected: .exactly(.misalignedDataOffset(tensor: "t1", offset: UInt64(t1.dataOffset + 8)))),
            Corruption(
                name: "offset inside the header", bytes: table { $0[0].offset = 0 },
                expected: .exactly(.dataOffsetInsideHeader(tensor: "t0", offset: 0, headerEnd: headerEnd))),
            Corruption(
                name: "non-zero padding", bytes: patched(paddingBeforeT1, [1]),
                expected: .exactly(.nonZeroPadding(offset: paddingBeforeT1))),
            Corruption(
                name: "trailing garbage", bytes: good + [0],
                expected: .exactly(.trailingBytes(offset: good.count, count: 1))),
            Corruption(
                name: "decompression bomb",
                bytes: edit {
                    $0.tensors[0].dims = [1 << 26]; $0.tensors[0].uncompressedSize = 1 << 28
                },
                expected: .exactly(
                    .implausibleCompressionRatio(
                        tensor: "t0", compressed: UInt64(t0.compressedSize), uncompressed: 1 << 28))),
            // Counts, names, shapes, dtypes
            Corruption(
                name: "huge tensor count", bytes: edit { $0.tensorCountOverride = 1_000_000 },
                expected: .exactly(.tooManyTensors(count: 1_000_000, limit: 65_536))),
            Corruption(
                name: "huge metadata count", bytes: edit { $0.metadataCountOverride = .max },
                expected: .exactly(.tooManyMetadataEntries(count: UInt64(UInt32.max), limit: 65_536))),
            Corruption(
                name: "tensor count larger than the table", bytes: edit { $0.tensorCountOverride = 4 },
                expected: .exactly(.headerOverrun(field: "tensor #3 name", offset: headerEnd))),
            Corruption(
                name: "rank over the cap", bytes: edit { $0.tensors[0].dims = [1, 1, 1, 1, 1, 1, 1, 1, 4] },
                expected: .exactly(.rankTooLarge(tensor: "t0", rank: 9, limit: 8))),
            Corruption(
                name: "dimension over the cap", bytes: edit { $0.tensors[0].dims = [1 << 33] },
                expected: .exactly(.dimensionTooLarge(tensor: "t0", axis: 0, size: 1 << 33, limit: 1 << 32))),
            Corruption(
                name: "shape overflows", bytes: edit { $0.tensors[0].dims = [1 << 32, 1 << 32, 1 << 32] },
                expected: .exactly(.shapeOverflow(tensor: "t0", shape: [1 << 32, 1 << 32, 1 << 32]))),
            Corruption(
                name: "total size over the cap",
                bytes: edit {
                    $0.tensors[0].dims = [1 << 30, 2]; $0.tensors[0].uncompressedSize = 1 << 33
                },
                expected: .exactly(.totalUncompressedSizeTooLarge(tensor: "t0", total: 1 << 33, limit: 1 << 32))),
            Corruption(
                name: "uncompressed size disagrees with the shape", bytes: edit { $0.tensors[0].uncompressedSize = 20 },
                expected: .exactly(.uncompressedSizeMismatch(tensor: "t0", declared: 20, expected: 16))),
            Corruption(
                name: "unknown dtype", bytes: edit { $0.tensors[1].dtype = 77 },
                expected: .exactly(.unknownDType(tensor: "t1", code: 77))),
            Corruption(
                name: "duplicate tensor name", bytes: edit { $0.tensors[2].name = Array("t0".utf8) },
                expected: .exactly(.duplicateTensorName(name: "t0"))),
            Corruption(
                name: "empty tensor name", bytes: edit { $0.tensors[1].name = [] },
                expected: .exactly(.emptyName(context: "tensor #1 name"))),
            Corruption(
                name: "tensor name over the cap",
                bytes: edit { $0.tensors[0].name = [UInt8](repeating: 0x61, count: 2000) },
                expected: .exactly(.stringTooLong(context: "tensor #0 name", length: 2000, limit: 1024))),
            Corruption(
                name: "invalid UTF-8 in a tensor name", bytes: edit { $0.tensors[0].name = [0x74, 0xC3, 0x28] },
                expected: .exactly(.invalidUTF8(context: "tensor #0 name", offset: tableStart + 4))),
            Corruption(
                name: "header longer than its content", bytes: edit { $0.extraHeader = [0, 0, 0] },
                expected: .exactly(.unusedHeaderBytes(offset: headerEnd, count: 3))),
            // Metadata
            Corruption(
                name: "duplicate metadata key", bytes: edit { $0.metadata[1].key = $0.metadata[0].key },
                expected: .exactly(.duplicateMetadataKey(key: "a.string"))),
            Corruption(
                name: "unsorted metadata keys", bytes: edit { $0.metadata.swapAt(1, 2) },
                expected: .exactly(.metadataKeysNotSorted(key: "b.int", previous: "c.bool"))),
            Corruption(
                name: "unknown metadata type", bytes: edit { $0.metadata[1].type = 99 },
                expected: .exactly(.unknownMetadataType(key: "b.int", code: 99))),
            Corruption(
                name: "invalid UTF-8 in a metadata value",
                bytes: edit { $0.metadata[0].value = [2, 0, 0, 0, 0xFF, 0xFE] },
                expected: .exactly(.invalidUTF8(context: "metadata 'a.string' string value", offset: helloValue))),
            Corruption(
                name: "bool that is neither 0 nor 1", bytes: edit { $0.metadata[2].value = [2] },
                expected: .exactly(.invalidBool(key: "c.bool", byte: 2))),
            Corruption(
                name: "value shorter than its type needs", bytes: edit { $0.metadata[1].value = [1, 2, 3] },
                expected: .exactly(.metadataValueLengthMismatch(key: "b.int", declared: 3))),
            Corruption(
                name: "value longer than its type needs", bytes: edit { $0.metadata[1].value += [0] },
                expected: .exactly(.metadataValueLengthMismatch(key: "b.int", declared: 9))),
            Corruption(
                name: "value length past the header", bytes: edit { $0.metadata[3].declaredLength = 1 << 20 },
                expected: .kind("headerOverrun")),
            Corruption(
                name: "array count over the cap",
                bytes: edit { $0.metadata[3].value.replaceSubrange(0..<4, with: RawSiamFile.le(1 << 21, 4)) },
                expected: .exactly(.arrayTooLong(context: "metadata 'd.ints'", count: 1 << 21, limit: 1 << 20))),
            Corruption(
                name: "array count past its value",
                bytes: edit { $0.metadata[3].value.replaceSubrange(0..<4, with: RawSiamFile.le(1000, 4)) },
                expected: .exactly(.metadataValueLengthMismatch(key: "d.ints", declared: 28))),
            // Quantisation
            Corruption(
                name: "per-channel count does not fit the axis",
                bytes: edit {
                    $0.tensors[2].quantization = [2, 0] + RawSiamFile.le(3, 4) + [UInt8](repeating: 0, count: 24)
                },
                expected: .exactly(.quantizationCountMismatch(tensor: "t2", scales: 3, zeroPoints: 3, expected: 4))),
            Corruption(
                name: "per-channel axis out of range", bytes: edit { $0.tensors[2].quantization[1] = 2 },
                expected: .exactly(.quantizationAxisOutOfRange(tensor: "t2", axis: 2, rank: 2))),
            Corruption(
                name: "unknown quantisation kind", bytes: edit { $0.tensors[2].quantization[0] = 9 },
                expected: .exactly(.unknownQuantizationKind(tensor: "t2", code: 9))),
            Corruption(
                name: "NaN scale",
                bytes: edit {
                    $0.tensors[2].quantization.replaceSubrange(6..<10, with: RawSiamFile.le(0x7FC0_0000, 4))
                },
                expected: .exactly(.invalidQuantizationScale(tensor: "t2", index: 0, bits: 0x7FC0_0000))),
            // zstd frames
            Corruption(
                name: "frame content size lies",
                bytes: edit {
                    $0.tensors[0].dims = [5]; $0.tensors[0].uncompressedSize = 20
                },
                expected: .exactly(.frameContentSizeMismatch(tensor: "t0", frame: 16, table: 20))),
            Corruption(
                name: "not a zstd frame", bytes: edit { $0.frames[0] = Array("definitely not zstd".utf8) },
                expected: .exactly(.notAZstdFrame(tensor: "t0"))),
            Corruption(
                name: "skippable frame", bytes: edit { $0.frames[0] = [0x50, 0x2A, 0x4D, 0x18, 0, 0, 0, 0] },
                expected: .exactly(.notAZstdFrame(tensor: "t0"))),
            Corruption(
                name: "frame without content size",
                bytes: edit { $0.frames[0] = RawSiamFile.rawFrameWithoutContentSize(Array(real.prefix(16))) },
                expected: .exactly(.frameContentSizeMissing(tensor: "t0"))),
            Corruption(
                name: "frame without content checksum",
                bytes: edit { $0.frames[0] = RawSiamFile.rawFrameWithoutChecksum([UInt8](repeating: 7, count: 16)) },
                expected: .exactly(.frameChecksumMissing(tensor: "t0"))),
            Corruption(
                name: "frame cut short", bytes: edit { $0.frames[1].removeLast(10) },
                expected: .kind("invalidZstdFrame")),
            Corruption(
                name: "frame header cut short", bytes: edit { $0.frames[0] = Array(real.prefix(5)) },
                expected: .kind("invalidZstdFrame")),
            Corruption(
                name: "bytes after the frame inside its range", bytes: edit { $0.frames[0] += [0, 0, 0, 0] },
                expected: .exactly(
                    .frameSizeMismatch(tensor: "t0", frame: UInt64(real.count), table: UInt64(real.count + 4)))),
            Corruption(
                name: "two frames in one range", bytes: edit { $0.frames[0] += real },
                expected: .exactly(
                    .frameSizeMismatch(tensor: "t0", frame: UInt64(real.count), table: UInt64(2 * real.count)))),
        ])
    }

    /// Seeded random flips, truncations, insertions and field overwrites, some with the header checksum or a frame
    /// checksum re-signed so that the mutation reaches the parser and zstd. Decoding must never crash: it either
    /// succeeds or throws a SiamFormatError.
    func testRandomMutationsNeverCrash() throws {
        let good = try SiamFileWriter.encode(Fixtures.small())
        let raw = RawSiamFile(parsing: good)
        let summary = try SiamFileReader.summary(of: good)
        let headerEnd = 20 + summary.headerLength
        var g = SeededGenerator(seed: 0x5EED_51A3)
        var outcomes: [String: Int] = [:]
        let interesting: [UInt64] = [
            0, 1, 63, 64, 0xFF, 0xFFFF, 0xFFFF_FFFF, 1 << 32, .max, .max - 63, UInt64(good.count),
        ]
        // SIAM_FORMAT_MUTATIONS=n (and optionally SIAM_FORMAT_MUTATION_SEED) runs a longer soak, e.g. in a release build.
        let environment = ProcessInfo.processInfo.environment
        let iterations = environment["SIAM_FORMAT_MUTATIONS"].flatMap { Int($0) } ?? 4000
        if let seed = environment["SIAM_FORMAT_MUTATION_SEED"].flatMap({ UInt64($0) }) {
            g = SeededGenerator(seed: seed)
        }
        for iteration in 0..<iterations {
            var b = good
            switch g.next() % 6 {
            case 0:   // flip 1 to 4 random bits anywhere
                for _ in 0...(g.next() % 4) { b[Int(g.next() % UInt64(b.count))] ^= 1 << (g.next() % 8) }
            case 1:   // truncate
                b.removeLast(Int(g.next() % UInt64(b.count)) + 1)
            case 2:   // insert random bytes
                let at = Int(g.next() % UInt64(b.count + 1))
                b.insert(contentsOf: (0..<(1 + g.next() % 16)).map { _ in UInt8(truncatingIfNeeded: g.next()) }, at: at)
            case 3:   // flip header bytes, then re-sign the header
                for _ in 0...(g.next() % 3) {
                    let at = 8 + Int(g.next() % UInt64(headerEnd - 8))
                    if at < 16 || at >= 20 { b[at] ^= UInt8(truncatingIfNeeded: g.next() | 1) }
                }
                resignHeader(&b)
            case 4:   // overwrite an 8-byte window of the header body with an interesting value, re-sign
                let at = 20 + Int(g.next() % UInt64(headerEnd - 28))
                let value = interesting[Int(g.next() % UInt64(interesting.count))]
                let width = [1, 2, 4, 8][Int(g.next() % 4)]
                for i in 0..<width { b[at + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
                resignHeader(&b)
            default:   // corrupt inside a frame and fix its table checksum
                let t = Int(g.next() % UInt64(summary.tensors.count))
                let info = summary.tensors[t]
                for _ in 0...(g.next() % 3) {
                    b[info.dataOffset + Int(g.next() % UInt64(info.compressedSize))] ^= UInt8(
                        truncatingIfNeeded: g.next() | 1)
                }
                let crc = CRC32C.checksum(of: Array(b[info.dataOffset..<info.dataOffset + info.compressedSize]))
                let at = raw.checksumFieldPositions[t]
                for i in 0..<4 { b[at + i] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(i))) }
                resignHeader(&b)
            }
            do {
                let file = try SiamFileReader.decode(b)
                _ = try SiamFileReader.summary(of: b)
                outcomes["decoded", default: 0] += 1
                // Whatever decodes must re-encode and decode to the same thing.
                XCTAssertEqual(try SiamFileReader.decode(SiamFileWriter.encode(file)), file, "iteration \(iteration)")
            } catch let error as SiamFormatError {
                outcomes[Self.caseName(error), default: 0] += 1
            } catch {
                XCTFail("iteration \(iteration): not a SiamFormatError: \(error)")
            }
        }
        // The loop must reach deep into the reader, not stop at the first checksum.
        XCTAssertGreaterThan(outcomes.count, 15, "\(outcomes)")
        XCTAssertNotNil(outcomes["contentChecksumMismatch"] ?? outcomes["decompressionFailed"], "\(outcomes)")
        print(
            "mutation outcomes:",
            outcomes.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
    }
}
