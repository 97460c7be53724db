import Foundation
import ModelFormat
import Tensors
import XCTest

/// Small files built from seeded random bytes, shared by the test classes.
enum Fixtures {
    static func randomBytes(_ n: Int, seed: UInt64) -> [UInt8] {
        var g = SeededGenerator(seed: seed)
        return (0..<n).map { _ in UInt8(truncatingIfNeeded: g.next()) }
    }

    static func tensor(_ dtype: DType, _ shape: [Int], seed: UInt64) -> Tensor {
        let n = shape.reduce(1, *) * dtype.byteSize
        return try! Tensor(dtype: dtype, shape: shape, storage: randomBytes(n, seed: seed))
    }

    /// Every metadata type, every dtype, a scalar, empty tensors, per-tensor and per-channel quantisation.
    static func everything() -> SiamFile {
        let metadata: [String: MetadataValue] = [
            "model.name": .string("siammask-test ✓ ünïcödé"),
            "empty.string": .string(""),
            "int.max": .int(.max),
            "int.min": .int(.min),
            "double": .double(0.1),
            "double.special": .doubles([.infinity, -.infinity, -0.0, .leastNonzeroMagnitude, .greatestFiniteMagnitude]),
            "flag.true": .bool(true),
            "flag.false": .bool(false),
            "anchors": .ints([8, 5, -1, 0, Int64.max]),
            "empty.ints": .ints([]),
            "empty.doubles": .doubles([]),
            "names": .strings(["a", "", "ß", "名前"]),
            "empty.strings": .strings([]),
        ]
        var tensors: [NamedTensor] = []
        for (i, dtype) in DType.allCases.enumerated() {
            tensors.append(NamedTensor(name: "z.\(dtype).weight", tensor: tensor(dtype, [3, 2, 5], seed: UInt64(i))))
        }
        tensors.append(NamedTensor(name: "scalar", tensor: tensor(.float32, [], seed: 10)))
        tensors.append(NamedTensor(name: "empty.1d", tensor: tensor(.float32, [0], seed: 11)))
        tensors.append(NamedTensor(name: "empty.3d", tensor: tensor(.int8, [3, 0, 2], seed: 12)))
        tensors.append(
            NamedTensor(
                name: "q.per_tensor", tensor: tensor(.uint8, [4, 4], seed: 13),
                quantization: QuantizationParameters(scales: [0.0125], zeroPoints: [128], axis: nil)))
        tensors.append(
            NamedTensor(
                name: "q.per_channel.axis0", tensor: tensor(.int8, [4, 3, 3, 3], seed: 14),
                quantization: QuantizationParameters(
                    scales: [0.1, 0.2, 0, 1e-8], zeroPoints: [0, 0, -3, 127], axis: 0)))
        tensors.append(
            NamedTensor(
                name: "q.per_channel.axis1", tensor: tensor(.int8, [2, 3], seed: 15),
                quantization: QuantizationParameters(scales: [1, 2, 3], zeroPoints: [.min, 0, .max], axis: 1)))
        tensors.append(
            NamedTensor(
                name: "q.bias", tensor: tensor(.int32, [4], seed: 16),
                quantization: QuantizationParameters(scales: [0.001], zeroPoints: [0], axis: nil)))
        tensors.append(
            NamedTensor(
                name: "q.empty_channels", tensor: tensor(.int8, [0, 4], seed: 17),
                quantization: QuantizationParameters(scales: [], zeroPoints: [], axis: 0)))
        tensors.append(NamedTensor(name: "a.last.but.unsorted", tensor: tensor(.int64, [2], seed: 18)))
        return SiamFile(metadata: metadata, tensors: tensors)
    }

    /// A few small tensors whose frames are easy to corrupt: "t0" float32 [4], "t1" random uint8 [64] (stored by
    /// zstd as a raw block), "t2" int8 [4, 2] per-channel quantised.
    static func small() -> SiamFile {
        SiamFile(
            metadata: [
                "a.string": .string("hello"), "b.int": .int(7), "c.bool": .bool(true), "d.ints": .ints([1, 2, 3]),
            ],
            tensors: [
                NamedTensor(name: "t0", tensor: Tensor(shape: [4], floats: [1, 2, 3, 4])),
                NamedTensor(name: "t1", tensor: tensor(.uint8, [64], seed: 99)),
                NamedTensor(
                    name: "t2", tensor: tensor(.int8, [4, 2], seed: 98),
                    quantization: QuantizationParameters(
                        scales: [0.5, 0.25, 0.125, 1], zeroPoints: [0, 1, 2, 3], axis: 0)),
            ])
    }
}

final class SiamFileRoundTripTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("siam-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private func listing() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
    }

    func testRoundTripOfEveryMetadataTypeAndDType() throws {
        let file = Fixtures.everything()
        let decoded = try SiamFileReader.decode(SiamFileWriter.encode(file))
        XCTAssertEqual(decoded, file)
        XCTAssertEqual(decoded.tensors.map(\.name), file.tensors.map(\.name), "table order is preserved")
        XCTAssertEqual(decoded[tensor: "scalar"]?.tensor.shape, [])
        XCTAssertEqual(decoded[tensor: "scalar"]?.tensor.byteCount, 4)
        XCTAssertEqual(decoded[tensor: "empty.3d"]?.tensor.shape, [3, 0, 2])
        XCTAssertEqual(decoded[tensor: "q.per_channel.axis0"]?.quantization?.axis, 0)
        XCTAssertNil(decoded[tensor: "missing"])
        XCTAssertEqual(Set(decoded.tensors.map(\.tensor.dtype)), Set(DType.allCases))
    }

    func testNaNMetadataKeepsItsBits() throws {
        let nan = Double(bitPattern: 0x7FF8_0000_DEAD_BEEF)
        let decoded = try SiamFileReader.decode(SiamFileWriter.encode(SiamFile(metadata: ["x": .doubles([nan])])))
        guard case .doubles(let values)? = decoded.metadata["x"] else { return XCTFail("lost the value") }
        XCTAssertEqual(values.map(\.bitPattern), [nan.bitPattern])
    }

    func testEmptyFileRoundTrips() throws {
        let bytes = try SiamFileWriter.encode(SiamFile())
        XCTAssertEqual(bytes.count, 20 + 8, "preamble and two zero counts, nothing after")
        XCTAssertEqual(try SiamFileReader.decode(bytes), SiamFile())
    }

    func testEncodingIsDeterministic() throws {
        let file = Fixtures.everything()
        let first = try SiamFileWriter.encode(file)
        XCTAssertEqual(try SiamFileWriter.encode(file), first)
        // Dictionaries built in another order encode the same: keys are sorted by their bytes.
        var shuffled = SiamFile(metadata: [:], tensors: file.tensors)
        var g = SeededGenerator(seed: 5)
        for (k, v) in file.metadata.sorted(by: { $0.key < $1.key }).shuffled(using: &g) { shuffled.metadata[k] = v }
        XCTAssertEqual(try SiamFileWriter.encode(shuffled), first)
        // Decoding and re-encoding gives the same bytes.
        XCTAssertEqual(try SiamFileWriter.encode(SiamFileReader.decode(first)), first)
    }

    func testLayoutMatchesTheSpec() throws {
        let file = Fixtures.everything()
        let bytes = try SiamFileWriter.encode(file)
        XCTAssertEqual(Array(bytes[0..<8]), Array("SIAMMASK".utf8))
        XCTAssertEqual(bytes[8], 1); XCTAssertEqual(bytes[9], 0)
        XCTAssertEqual(bytes[10], 0); XCTAssertEqual(bytes[11], 0)
        let raw = RawSiamFile(parsing: bytes)   // the test-side reading of the spec agrees with the writer...
        XCTAssertEqual(raw.bytes(), bytes)   // ...and serialises the same bytes
        let keys = raw.metadata.map(\.key)
        XCTAssertEqual(keys, keys.sorted { $0.lexicographicallyPrecedes($1) })
        let summary = try SiamFileReader.summary(of: bytes)
        XCTAssertEqual(summary.majorVersion, 1)
        XCTAssertEqual(summary.minorVersion, 0)
        XCTAssertEqual(summary.fileSize, bytes.count)
        XCTAssertEqual(summary.metadata, file.metadata)
        XCTAssertEqual(summary.tensors.map(\.name), file.tensors.map(\.name))
        var end = 20 + summary.headerLength
        for (info, named) in zip(summary.tensors, file.tensors) {
            XCTAssertEqual(info.dataOffset % 64, 0)
            XCTAssertEqual(info.dataOffset, (end + 63) / 64 * 64, "frames follow each other at the next aligned offset")
            XCTAssertEqual(info.uncompressedSize, named.tensor.byteCount)
            XCTAssertEqual(info.shape, named.tensor.shape)
            XCTAssertEqual(info.dtype, named.tensor.dtype)
            XCTAssertEqual(info.quantization, named.quantization)
            XCTAssertEqual(Array(bytes[info.dataOffset..<info.dataOffset + 4]), [0x28, 0xB5, 0x2F, 0xFD])
            XCTAssertEqual(bytes[info.dataOffset + 4] & 0x04, 0x04, "content checksum flag")
            end = info.dataOffset + info.compressedSize
        }
        XCTAssertEqual(end, bytes.count)
    }

    func testWriteAndReadFile() throws {
        let url = directory.appendingPathComponent("model.siam")
        let file = Fixtures.everything()
        try SiamFileWriter.write(file, to: url)
        XCTAssertEqual(try SiamFileReader.read(contentsOf: url), file)
        XCTAssertEqual(try SiamFileReader.summary(contentsOf: url).tensors.count, file.tensors.count)
        XCTAssertEqual(try listing(), ["model.siam"])
        // Overwriting replaces the file and leaves nothing else.
        try SiamFileWriter.write(Fixtures.small(), to: url)
        XCTAssertEqual(try SiamFileReader.read(contentsOf: url), Fixtures.small())
        XCTAssertEqual(try listing(), ["model.siam"])
    }

    func testFailedEncodeLeavesDestinationUntouched() throws {
        let url = directory.appendingPathComponent("model.siam")
        try SiamFileWriter.write(Fixtures.small(), to: url)
        let before = try Data(contentsOf: url)
        var bad = Fixtures.small()
        bad.tensors.append(bad.tensors[0])
        XCTAssertThrowsError(try SiamFileWriter.write(bad, to: url)) {
            XCTAssertEqual($0 as? SiamFormatError, .duplicateTensorName(name: "t0"))
        }
        XCTAssertEqual(try Data(contentsOf: url), before)
        XCTAssertEqual(try listing(), ["model.siam"])
    }

    func testFailedRenameLeavesNoTemporaryFile() throws {
        // The destination is a non-empty folder: the rename fails after the temporary file was written.
        let url = directory.appendingPathComponent("taken")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: false)
        try Data([1]).write(to: url.appendingPathComponent("inside"))
        XCTAssertThrowsError(try SiamFileWriter.write(Fixtures.small(), to: url)) { error in
            guard case .cannotWrite(let path, _)? = error as? SiamFormatError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, url.path)
        }
        XCTAssertEqual(try listing(), ["taken"])
    }

    func testWriteIntoMissingFolderFails() throws {
        let url = directory.appendingPathComponent("no/such/folder/model.siam")
        XCTAssertThrowsError(try SiamFileWriter.write(Fixtures.small(), to: url)) {
            guard case .cannotWrite? = $0 as? SiamFormatError else { return XCTFail("\($0)") }
        }
        XCTAssertEqual(try listing(), [])
    }

    func testReadingMissingFileFails() throws {
        XCTAssertThrowsError(try SiamFileReader.read(contentsOf: directory.appendingPathComponent("absent.siam"))) {
            guard case .cannotRead? = $0 as? SiamFormatError else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try SiamFileReader.read(contentsOf: directory)) {
            guard case .cannotRead(_, let reason)? = $0 as? SiamFormatError else { return XCTFail("\($0)") }
            XCTAssertEqual(reason, "not a regular file")
        }
    }

    func testWriterRejectsWhatTheReaderWould() throws {
        func expect(_ file: SiamFile, level: Int32 = 3, _ expected: SiamFormatError, line: UInt = #line) {
            XCTAssertThrowsError(try SiamFileWriter.encode(file, compressionLevel: level), line: line) {
                XCTAssertEqual($0 as? SiamFormatError, expected, line: line)
            }
        }
        let t = Tensor(shape: [2, 3], floats: [1, 2, 3, 4, 5, 6])
        expect(SiamFile(metadata: ["format.writer": .string("me")]), .reservedMetadataKey(key: "format.writer"))
        expect(SiamFile(metadata: ["": .int(1)]), .emptyName(context: "metadata key ''"))
        expect(SiamFile(tensors: [NamedTensor(name: "", tensor: t)]), .emptyName(context: "tensor name ''"))
        let long = String(repeating: "x", count: 1025)
        expect(
            SiamFile(tensors: [NamedTensor(name: long, tensor: t)]),
            .stringTooLong(context: "tensor name '\(long)'", length: 1025, limit: 1024))
        expect(
            SiamFile(tensors: [
                NamedTensor(name: "w", tensor: t, quantization: .init(scales: [1, 2], zeroPoints: [0, 0], axis: nil))
            ]),
            .quantizationCountMismatch(tensor: "w", scales: 2, zeroPoints: 2, expected: 1))
        expect(
            SiamFile(tensors: [
                NamedTensor(name: "w", tensor: t, quantization: .init(scales: [1, 2], zeroPoints: [0], axis: 0))
            ]),
            .quantizationCountMismatch(tensor: "w", scales: 2, zeroPoints: 1, expected: 2))
        expect(
            SiamFile(tensors: [
                NamedTensor(name: "w", tensor: t, quantization: .init(scales: [1, 2], zeroPoints: [0, 0], axis: 2))
            ]),
            .quantizationAxisOutOfRange(tensor: "w", axis: 2, rank: 2))
        expect(
            SiamFile(tensors: [
                NamedTensor(name: "w", tensor: t, quantization: .init(scales: [-1], zeroPoints: [0], axis: nil))
            ]),
            .invalidQuantizationScale(tensor: "w", index: 0, bits: Float(-1).bitPattern))
        expect(
            SiamFile(tensors: [NamedTensor(name: "w", tensor: try t.reshaped([1, 1, 1, 1, 1, 1, 1, 2, 3]))]),
            .rankTooLarge(tensor: "w", rank: 9, limit: 8))
        expect(SiamFile(), level: 1000, .invalidCompressionLevel(level: 1000, min: -131072, max: 22))
    }

    func testNewerMinorVersionIsReadAndUnknownValueTypesSkipped() throws {
        var raw = RawSiamFile(parsing: try SiamFileWriter.encode(Fixtures.small()))
        raw.metadata.insert(RawSiamFile.Metadata(key: Array("a.future".utf8), type: 200, value: [1, 2, 3]), at: 0)
        raw.minor = 7
        let summary = try SiamFileReader.summary(of: raw.bytes())
        XCTAssertEqual(summary.minorVersion, 7)
        XCTAssertEqual(summary.metadata, Fixtures.small().metadata)
        XCTAssertEqual(try SiamFileReader.decode(raw.bytes()), Fixtures.small())
        // Unknown keys of known types are simply returned; the caller ignores what it does not know.
        raw.metadata[0] = RawSiamFile.Metadata(key: Array("a.future".utf8), type: 2, value: RawSiamFile.le(5, 8))
        XCTAssertEqual(try SiamFileReader.decode(raw.bytes()).metadata["a.future"], .int(5))
    }

    func testLimitsAreConfigurable() throws {
        let bytes = try SiamFileWriter.encode(Fixtures.small())
        var limits = SiamFormatLimits()
        limits.maxTotalUncompressedBytes = 20
        XCTAssertThrowsError(try SiamFileReader.decode(bytes, limits: limits)) {
            XCTAssertEqual($0 as? SiamFormatError, .totalUncompressedSizeTooLarge(tensor: "t1", total: 80, limit: 20))
        }
        limits = SiamFormatLimits()
        limits.maxFileBytes = 100
        XCTAssertThrowsError(try SiamFileReader.decode(bytes, limits: limits)) {
            XCTAssertEqual($0 as? SiamFormatError, .fileTooLarge(size: UInt64(bytes.count), limit: 100))
        }
    }

    func testCRC32C() {
        XCTAssertEqual(CRC32C.checksum(of: "123456789"), 0xE306_9283)
        XCTAssertEqual(CRC32C.checksum(of: []), 0)
        // Against a bitwise reference, for every length around the 8-byte stride, and split anywhere.
        func reference(_ bytes: [UInt8]) -> UInt32 {
            var c: UInt32 = 0xFFFF_FFFF
            for b in bytes {
                c ^= UInt32(b)
                for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
            }
            return ~c
        }
        let data = Fixtures.randomBytes(100, seed: 3)
        for n in 0...data.count {
            let bytes = Array(data[0..<n])
            XCTAssertEqual(CRC32C.checksum(of: bytes), reference(bytes), "length \(n)")
            let split = n / 3
            XCTAssertEqual(
                CRC32C.checksum(of: Array(bytes[split...]), seed: CRC32C.checksum(of: Array(bytes[..<split]))),
                reference(bytes))
        }
    }

    func testSummaryDescriptionListsMetadataAndTensors() throws {
        let text = try SiamFileReader.summary(of: SiamFileWriter.encode(Fixtures.small())).description
        let lines = text.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines[0].hasPrefix(".siam format 1.0: "), lines[0])
        XCTAssertTrue(lines.contains("  a.string (string) = \"hello\""), text)
        XCTAssertTrue(lines.contains("  d.ints (int64[]) = [1, 2, 3]"), text)
        XCTAssertTrue(
            lines.contains {
                $0.hasPrefix("  t2  int8 [4, 2]  8 -> ") && $0.hasSuffix("quantised per channel (axis 0, 4 channels)")
            }, text)
        XCTAssertEqual(MetadataValue.ints(Array(1...20)).description(elementLimit: 2), "[1, 2, … (20 values)]")
        XCTAssertEqual(MetadataValue.string("a\"b\n").description, "\"a\\\"b\\n\"")
    }

    func testErrorDescriptionsAreOneLine() {
        let errors: [SiamFormatError] = [
            .badMagic(found: [0x50, 0x4B, 3, 4]),
            .dataChecksumMismatch(tensor: "features.0.weight", stored: 1, computed: 0xABCDEF),
            .overlappingData(tensor: "b", other: "a", offset: 128),
            .invalidQuantizationScale(tensor: "w", index: 2, bits: Float.nan.bitPattern),
        ]
        for e in errors {
            XCTAssertFalse(e.description.contains("\n"))
            XCTAssertFalse(e.description.isEmpty)
        }
        XCTAssertEqual(
            SiamFormatError.badMagic(found: [0x50, 0x4B, 3, 4]).description,
            "not a .siam file: magic is 50 4b 03 04, expected \"SIAMMASK\"")
        XCTAssertEqual(
            SiamFormatError.dataChecksumMismatch(tensor: "w", stored: 1, computed: 0xABCDEF).description,
            "tensor 'w' data checksum mismatch: stored 0x00000001, computed 0x00abcdef")
    }
}
