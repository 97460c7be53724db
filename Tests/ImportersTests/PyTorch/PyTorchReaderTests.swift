import Foundation
import Importers
import Tensors
import TestSupport
import XCTest

/// What the reader accepts: real torch.save output (embedded) and hand-made checkpoints for each supported shape.
final class PyTorchReaderTests: XCTestCase {
    private func floats(_ t: Tensor?) -> [Float] { t?.floats ?? [] }

    // MARK: - Real torch.save files

    private func checkViews(_ c: PyTorchCheckpoint, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(
            c.keyOrder, ["t", "row", "col", "whole", "scalar", "half", "i32", "u8", "i8", "empty", "param"],
            file: file, line: line)
        let base = (0..<24).map(Float.init)
        // The transposed view is materialised row-major: t[i][j] = base[j][i].
        XCTAssertEqual(c.stateDict["t"]?.shape, [6, 4], file: file, line: line)
        XCTAssertEqual(
            floats(c.stateDict["t"]), (0..<6).flatMap { i in (0..<4).map { j in base[j * 6 + i] } }, file: file,
            line: line)
        XCTAssertEqual(floats(c.stateDict["row"]), Array(base[6..<12]), file: file, line: line)
        XCTAssertEqual(floats(c.stateDict["col"]), [2, 8, 14, 20], file: file, line: line)
        XCTAssertEqual(floats(c.stateDict["whole"]), base, file: file, line: line)
        XCTAssertEqual(c.stateDict["whole"]?.shape, [4, 6], file: file, line: line)
        XCTAssertEqual(c.stateDict["scalar"]?.shape, [], file: file, line: line)
        XCTAssertEqual(c.stateDict["scalar"]?.int64s, [5], file: file, line: line)
        XCTAssertEqual(c.stateDict["half"]?.dtype, .float16, file: file, line: line)
        XCTAssertEqual(c.stateDict["half"]?.storage, [0x00, 0x3e, 0x00, 0xc0], file: file, line: line)
        XCTAssertEqual(c.stateDict["i32"], Tensor(shape: [3], int32: [1, -2, 3]), file: file, line: line)
        XCTAssertEqual(c.stateDict["u8"]?.dtype, .uint8, file: file, line: line)
        XCTAssertEqual(c.stateDict["u8"]?.storage, [1, 2, 255], file: file, line: line)
        XCTAssertEqual(c.stateDict["i8"], Tensor(shape: [2], int8: [-1, 2]), file: file, line: line)
        XCTAssertEqual(c.stateDict["empty"]?.shape, [0, 3], file: file, line: line)
        XCTAssertEqual(c.stateDict["empty"]?.byteCount, 0, file: file, line: line)
        XCTAssertEqual(floats(c.stateDict["param"]), [0.5, 0.5, 0.5, 0.5], file: file, line: line)
        XCTAssertNil(c.stateDictEntry, file: file, line: line)
        XCTAssertEqual(c.ignoredEntries, [], file: file, line: line)
    }

    func testRealZipProtocol5Views() throws {
        let c = try PyTorchCheckpoint.decode(PTEmbeddedCheckpoints.viewsZipP5, name: "views-zip")
        XCTAssertEqual(c.format, .zip)
        checkViews(c)
    }

    func testRealLegacyProtocol2Views() throws {
        let c = try PyTorchCheckpoint.decode(PTEmbeddedCheckpoints.viewsLegacyP2, name: "views-legacy")
        XCTAssertEqual(c.format, .legacy)
        checkViews(c)
    }

    func testRealWrapperWithForeignAndUnsupportedValuesInIgnoredEntries() throws {
        for (bytes, format) in [
            (PTEmbeddedCheckpoints.ignoredZipP2, PyTorchCheckpoint.Format.zip),
            (PTEmbeddedCheckpoints.ignoredLegacyP4, .legacy),
        ] {
            let c = try PyTorchCheckpoint.decode(bytes, name: "wrapped")
            XCTAssertEqual(c.format, format)
            XCTAssertEqual(c.keyOrder, ["w"])
            XCTAssertEqual(floats(c.stateDict["w"]), [1, 2, 3])
            XCTAssertEqual(c.stateDictEntry, "state_dict")
            XCTAssertEqual(c.ignoredEntries, ["epoch", "arch", "best_acc", "optimizer", "anchor_cfg"])
            XCTAssertEqual(c.metadata, ["epoch": "7", "arch": "Custom"])
            XCTAssertTrue(c.warnings.contains { $0.contains("module.") }, "\(c.warnings)")
        }
    }

    // MARK: - Hand-made checkpoints

    private func decodeBoth(
        _ cp: TestCheckpoint, file: StaticString = #filePath, line: UInt = #line
    ) throws -> [PyTorchCheckpoint] {
        let z = try PyTorchCheckpoint.decode(cp.zip().bytes, name: "zip")
        let l = try PyTorchCheckpoint.decode(cp.legacyStream().bytes, name: "legacy")
        XCTAssertEqual(z.format, .zip, file: file, line: line)
        XCTAssertEqual(l.format, .legacy, file: file, line: line)
        XCTAssertEqual(z.keyOrder, l.keyOrder, file: file, line: line)
        XCTAssertEqual(z.stateDict, l.stateDict, file: file, line: line)
        return [z, l]
    }

    func testWrappedCheckpointInBothFormats() throws {
        for c in try decodeBoth(.wrapped()) {
            XCTAssertEqual(c.keyOrder, ["conv.weight", "conv.bias", "bn.num_batches_tracked"])
            XCTAssertEqual(c.stateDict["conv.weight"], Tensor(shape: [3, 2], floats: [1, 2, 3, 4, 5, 6]))
            XCTAssertEqual(c.stateDict["conv.bias"], Tensor(shape: [3], floats: [0.5, -0.5, 0.25]))
            XCTAssertEqual(c.stateDict["bn.num_batches_tracked"], Tensor(shape: [], int64: [42]))
            XCTAssertEqual(c.ignoredEntries, ["epoch", "arch", "best_acc", "optimizer", "anchor_cfg"])
            XCTAssertEqual(c.metadata, ["epoch": "20", "arch": "Custom"])
            XCTAssertEqual(c.stateDictEntry, "state_dict")
        }
    }

    func testZip64ArchiveAndOtherArchiveNames() throws {
        let cp = TestCheckpoint.wrapped()
        let plain = try PyTorchCheckpoint.decode(cp.zip().bytes, name: "zip")
        let z64 = try PyTorchCheckpoint.decode(cp.zip(zip64: true).bytes, name: "zip64")
        XCTAssertEqual(plain.stateDict, z64.stateDict)
        let renamed = try PyTorchCheckpoint.decode(
            TestZip(cp.zipEntries(archive: "siammask_vot")).bytes, name: "renamed")
        XCTAssertEqual(plain.stateDict, renamed.stateDict)
    }

    func testReadFromFile() throws {
        let dir = try TestPaths.temporaryDirectory("pth-test")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("x.pth")
        try Data(TestCheckpoint.wrapped().zip().bytes).write(to: url)
        let c = try PyTorchCheckpoint.read(contentsOf: url)
        XCTAssertEqual(c.name, url.path)
        XCTAssertEqual(c.keyOrder.count, 3)
        assertImportError("fileUnreadable") {
            try PyTorchCheckpoint.read(contentsOf: dir.appendingPathComponent("missing.pth"))
        }
    }

    func testBareStateDictAndNestingRules() throws {
        let w = PV.tensor(storage: "1", offset: 0, shape: [3], stride: nil)
        let storages = TestCheckpoint.standardStorages
        // Bare OrderedDict and bare dict.
        for object in [PV.odict([(.str("a"), w)], metadata: nil), .dict([(.str("a"), w)])] {
            for c in try decodeBoth(TestCheckpoint(object: object, storages: storages)) {
                XCTAssertNil(c.stateDictEntry)
                XCTAssertEqual(c.keyOrder, ["a"])
            }
        }
        // A single `model` / `model_state_dict` / `net` nesting is accepted.
        for name in ["model", "model_state_dict", "net"] {
            let object = PV.dict([(.str("epoch"), .int(1)), (.str(name), .dict([(.str("a"), w)]))])
            for c in try decodeBoth(TestCheckpoint(object: object, storages: storages)) {
                XCTAssertEqual(c.stateDictEntry, name)
                XCTAssertEqual(c.ignoredEntries, ["epoch"])
            }
        }
        // Two candidates: ambiguous.
        let two = TestCheckpoint(
            object: .dict([(.str("model"), .dict([(.str("a"), w)])), (.str("state_dict"), .dict([(.str("a"), w)]))]),
            storages: storages)
        assertImportError("ambiguousStateDict") { try PyTorchCheckpoint.decode(two.zip().bytes, name: "x") }
        // No candidate.
        let none = TestCheckpoint(object: .dict([(.str("epoch"), .int(1))]), storages: [])
        assertImportError("noStateDict") { try PyTorchCheckpoint.decode(none.zip().bytes, name: "x") }
    }

    func testPython2StylePickle() throws {
        // Python 2 writes keys as byte strings and OrderedDict as OrderedDict([[k, v], ...]) plus BUILD.
        let sd = PV.build(
            .odictPy2([(.py2str("conv.weight"), .tensor(storage: "0", offset: 0, shape: [2, 3], stride: nil))]),
            .dict([(.py2str("_metadata"), .odictPy2([]))]))
        let object = PV.dict([(.py2str("state_dict"), sd), (.py2str("epoch"), .int(3))])
        for c in try decodeBoth(TestCheckpoint(object: object, storages: TestCheckpoint.standardStorages)) {
            XCTAssertEqual(c.stateDict["conv.weight"], Tensor(shape: [2, 3], floats: [1, 2, 3, 4, 5, 6]))
        }
    }

    func testSharedStorageOffsetsAndStridedViews() throws {
        let sd: [(PV, PV)] = [
            (.str("tail"), .tensor(storage: "0", offset: 4, shape: [2], stride: nil)),
            (.str("transposed"), .tensor(storage: "0", offset: 0, shape: [2, 3], stride: [1, 2])),
            (.str("every_other"), .tensor(storage: "0", offset: 1, shape: [3], stride: [2])),
            (.str("unit_dims"), .tensor(storage: "0", offset: 0, shape: [1, 6, 1], stride: [99, 1, 7])),
            (.str("one"), .tensor(storage: "0", offset: 5, shape: [1, 1], stride: [0, 0])),
        ]
        for c in try decodeBoth(
            TestCheckpoint(object: .odict(sd, metadata: nil), storages: TestCheckpoint.standardStorages))
        {
            XCTAssertEqual(floats(c.stateDict["tail"]), [5, 6])
            XCTAssertEqual(floats(c.stateDict["transposed"]), [1, 3, 5, 2, 4, 6])
            XCTAssertEqual(floats(c.stateDict["every_other"]), [2, 4, 6])
            XCTAssertEqual(floats(c.stateDict["unit_dims"]), [1, 2, 3, 4, 5, 6])
            XCTAssertEqual(floats(c.stateDict["one"]), [6])
        }
    }

    func testRebuildParameterAndTensorV3WithUntypedStorage() throws {
        let untyped = TestStorage(
            key: "u", type: "UntypedStorage", bytes: [Float(7), 8, 9].withUnsafeBytes { Array($0) })
        let v3 = PV.call(
            .global("torch._utils", "_rebuild_tensor_v3"),
            [
                .storage("u"), .int(1), .tuple([.int(2)]), .tuple([.int(1)]), .bool(false), .odict([], metadata: nil),
                .global("torch", "float32"),
            ])
        let param = PV.call(
            .global("torch._utils", "_rebuild_parameter"),
            [.tensor(storage: "1", offset: 0, shape: [3], stride: nil), .bool(true), .odict([], metadata: nil)])
        let cp = TestCheckpoint(
            object: .dict([(.str("v3"), v3), (.str("p"), param)]),
            storages: TestCheckpoint.standardStorages + [untyped])
        for c in try decodeBoth(cp) {
            XCTAssertEqual(floats(c.stateDict["v3"]), [8, 9])
            XCTAssertEqual(floats(c.stateDict["p"]), [0.5, -0.5, 0.25])
        }
    }

    func testCudaStoragesReadAsCPUBytes() throws {
        var cp = TestCheckpoint.wrapped()
        cp.location = "cuda:0"
        cp.storages = cp.storages.map {
            var s = $0; s.module = "torch.cuda"; return s
        }
        let cpu = try PyTorchCheckpoint.decode(TestCheckpoint.wrapped().legacyStream().bytes, name: "cpu")
        for c in try decodeBoth(cp) {
            XCTAssertEqual(c.stateDict, cpu.stateDict)
            XCTAssertTrue(c.warnings.contains { $0.contains("CUDA") }, "\(c.warnings)")
        }
    }

    func testProtocol4Opcodes() throws {
        // FRAME, SHORT_BINUNICODE, MEMOIZE, STACK_GLOBAL, LONG_BINPUT/LONG_BINGET, BINUNICODE8.
        var p: [UInt8] = [0x80, 0x04, 0x95] + withUnsafeBytes(of: UInt64(0).littleEndian) { Array($0) }
        func short(_ s: String) -> [UInt8] { [0x8c, UInt8(s.utf8.count)] + Array(s.utf8) }
        p += [0x7d, 0x94]   // {} memo 0
        p += [0x28]   // MARK
        p += [0x8d] + withUnsafeBytes(of: UInt64(1).littleEndian) { Array($0) } + Array("w".utf8)   // key via BINUNICODE8
        p += short("torch._utils") + short("_rebuild_tensor_v2") + [0x93, 0x94]   // STACK_GLOBAL, MEMOIZE
        p += [0x28]   // MARK: the argument tuple
        p += [0x28] + short("storage") + short("torch") + short("FloatStorage") + [0x93]
        p += short("1") + short("cpu") + [0x4b, 3, 0x74, 0x51]   // ('storage', ..., 3), BINPERSID
        p += [0x4b, 0, 0x4b, 3, 0x85, 0x4b, 1, 0x85, 0x89]   // offset, size, stride, requires_grad
        p += short("collections") + short("OrderedDict") + [0x93, 0x29, 0x52]   // hooks
        p += [0x74, 0x52]   // args tuple, REDUCE
        p += [0x72] + withUnsafeBytes(of: UInt32(70000).littleEndian) { Array($0) }   // LONG_BINPUT 70000
        p += short("v") + [0x6a] + withUnsafeBytes(of: UInt32(70000).littleEndian) { Array($0) }   // LONG_BINGET
        p += [0x75, 0x2e]   // SETITEMS, STOP
        let entries: [(String, [UInt8])] = [
            ("a/data.pkl", p), ("a/data/1", TestCheckpoint.standardStorages[1].bytes), ("a/version", [0x33]),
        ]
        let c = try PyTorchCheckpoint.decode(TestZip(entries).bytes, name: "p4")
        XCTAssertEqual(c.keyOrder, ["w", "v"])
        XCTAssertEqual(floats(c.stateDict["w"]), [0.5, -0.5, 0.25])
        XCTAssertEqual(c.stateDict["v"], c.stateDict["w"])
    }

    func testSelfReferencingContainersDoNotLeakOrLoop() throws {
        // An ignored entry holding a list that contains itself, and a dict that contains itself.
        let cycle: [UInt8] = [0x5d, 0x71, 0x09, 0x68, 0x09, 0x61]   // [] BINPUT 9, BINGET 9, APPEND
        let dictCycle: [UInt8] = [0x7d, 0x71, 0x0a, 0x58, 1, 0, 0, 0, 0x6b, 0x68, 0x0a, 0x73]   // {} ; d['k'] = d
        let object = PV.dict([
            (.str("loop"), .raw(cycle)), (.str("dloop"), .raw(dictCycle)),
            (.str("state_dict"), .dict(TestCheckpoint.standardStateDict)),
        ])
        for c in try decodeBoth(TestCheckpoint(object: object, storages: TestCheckpoint.standardStorages)) {
            XCTAssertEqual(c.ignoredEntries, ["loop", "dloop"])
        }
        // The same cycle inside the state dict's metadata is walked without looping.
        let sd = PV.build(
            .odict(TestCheckpoint.standardStateDict, metadata: nil), .dict([(.str("_metadata"), .raw(cycle))]))
        _ = try decodeBoth(
            TestCheckpoint(object: .dict([(.str("state_dict"), sd)]), storages: TestCheckpoint.standardStorages))
    }

    func testDeepNestingIsCappedNotRecursed() {
        // 100 000 nested 1-tuples: refused at the nesting cap instead of overflowing the stack.
        var p: [UInt8] = [0x80, 0x02, 0x4e]
        p += [UInt8](repeating: 0x85, count: 100_000)
        p += [0x2e]
        let cp = TestCheckpoint(object: .raw([]), storages: [])
        let zip = TestZip(cp.zipEntries(pickle: p))
        assertImportError("pickleLimitExceeded") { try PyTorchCheckpoint.decode(zip.bytes, name: "deep") }
        // Deeply nested lists (each appended to the previous) are bounded by the arena, not recursion.
        var q: [UInt8] = [0x80, 0x02, 0x7d, 0x58, 1, 0, 0, 0, 0x78, 0x5d, 0x32]   // {} 'x' [] DUP
        for _ in 0..<50_000 { q += [0x5d, 0x71, 0x01, 0x61, 0x30, 0x68, 0x01] }   // [] put1 APPEND POP get1
        q += [0x30, 0x73, 0x2e]   // POP SETITEM STOP
        assertImportError("noStateDict") {
            try PyTorchCheckpoint.decode(TestZip(cp.zipEntries(pickle: q)).bytes, name: "deep-lists")
        }
    }

    func testLimitsAreConfigurable() {
        var options = PyTorchCheckpoint.Options()
        options.limits.maxPickleOperations = 10
        assertImportError("pickleLimitExceeded") {
            try PyTorchCheckpoint.decode(TestCheckpoint.wrapped().zip().bytes, name: "x", options: options)
        }
    }

    func testChecksumVerificationCanBeDisabled() throws {
        var zip = TestCheckpoint.wrapped().zip()
        zip.bytes[zip.dataOffset["archive/data/1"]!] ^= 0x01
        assertImportError("zipChecksumMismatch") { try PyTorchCheckpoint.decode(zip.bytes, name: "x") }
        let c = try PyTorchCheckpoint.decode(zip.bytes, name: "x", options: .init(verifyChecksums: false))
        XCTAssertEqual(c.keyOrder.count, 3)
    }
}
