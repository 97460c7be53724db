import Foundation
import Importers
import XCTest

/// Hand-made corruptions, each asserting its specific `PyTorchImportError` case. The pickle-level table runs in both
/// containers; each container also has its own table for its structure.
final class PyTorchCorruptionTests: XCTestCase {
    private struct Case {
        let name: String
        let code: String
        let bytes: [UInt8]
    }

    private let base = TestCheckpoint.wrapped()

    // MARK: - Byte helpers

    private static func put16(_ b: inout [UInt8], _ at: Int, _ v: Int) {
        b[at] = UInt8(v & 0xff)
        b[at + 1] = UInt8((v >> 8) & 0xff)
    }
    private static func put32(_ b: inout [UInt8], _ at: Int, _ v: UInt32) {
        for i in 0..<4 { b[at + i] = UInt8((v >> (8 * UInt32(i))) & 0xff) }
    }
    private static func put64(_ b: inout [UInt8], _ at: Int, _ v: UInt64) {
        for i in 0..<8 { b[at + i] = UInt8((v >> (8 * UInt64(i))) & 0xff) }
    }
    private static func edited(_ b: [UInt8], _ edit: (inout [UInt8]) -> Void) -> [UInt8] {
        var c = b
        edit(&c)
        return c
    }

    private func run(_ cases: [Case], format: String) {
        for c in cases {
            assertImportError(c.code, "\(format): \(c.name)") { try PyTorchCheckpoint.decode(c.bytes, name: c.name) }
        }
    }

    // MARK: - Pickle-level corruptions (both containers)

    private enum Source {
        /// A whole checkpoint, consistent apart from the corruption (the legacy key list follows its references).
        case checkpoint(TestCheckpoint)
        /// A replacement object pickle (legacy flag: persistent ids have 6 fields).
        case pickle((Bool) -> [UInt8])
    }

    private func withStateDict(_ extra: [(PV, PV)], replacing: Bool = false) -> TestCheckpoint {
        TestCheckpoint.wrapped(stateDict: replacing ? extra : TestCheckpoint.standardStateDict + extra)
    }

    private func rawPersid(_ items: [PV], legacy: Bool) -> PV {
        .raw(PickleEncoder.fragment(.tuple(items), legacy: legacy) + [0x51])
    }

    private func tensorOnRawPid(_ items: [PV], legacy: Bool) -> PV {
        .call(
            .global("torch._utils", "_rebuild_tensor_v2"),
            [
                rawPersid(items, legacy: legacy), .int(0), .tuple([.int(1)]), .tuple([.int(1)]), .bool(false),
                .odict([], metadata: nil),
            ])
    }

    private func objectPickle(_ stateDict: [(PV, PV)], legacy: Bool) -> [UInt8] {
        TestCheckpoint.wrapped(stateDict: TestCheckpoint.standardStateDict + stateDict).dataPickle(legacy: legacy)
    }

    private var pickleCases: [(String, String, Source)] {
        let good = base.dataPickle(legacy: false)
        func pid(_ fields: [PV]) -> (Bool) -> [UInt8] {
            { legacy in self.objectPickle([(.str("bad"), self.tensorOnRawPid(fields, legacy: legacy))], legacy: legacy)
            }
        }
        let storagePV = PV.global("torch", "FloatStorage")
        return [
            (
                "flipped opcode (first opcode becomes 0xff)", "pickleOpcodeUnsupported",
                .pickle { legacy in Self.edited(self.base.dataPickle(legacy: legacy)) { $0[2] = 0xff } }
            ),
            (
                "INST opcode (executes code in Python)", "pickleOpcodeUnsupported",
                .pickle { _ in [0x80, 0x02, 0x69] + Array("os\nsystem\n".utf8) + [0x2e] }
            ),
            ("pickle protocol 6", "pickleProtocolUnsupported", .pickle { _ in [0x80, 0x06] + good.dropFirst(2) }),
            (
                "os.system injected as a state dict value", "disallowedGlobal",
                .checkpoint(withStateDict([(.str("evil"), .call(.global("os", "system"), [.str("echo pwned")]))]))
            ),
            (
                "builtins.eval reference as a state dict value", "disallowedGlobal",
                .checkpoint(withStateDict([(.str("evil"), .global("builtins", "eval"))]))
            ),
            (
                "foreign object as a state dict key", "disallowedGlobal",
                .checkpoint(withStateDict([(.call(.global("subprocess", "Popen"), [.str("ls")]), .int(1))]))
            ),
            (
                "foreign global in the state dict's _metadata", "disallowedGlobal",
                .checkpoint(
                    TestCheckpoint(
                        object: .dict([
                            (
                                .str("state_dict"),
                                .odict(
                                    TestCheckpoint.standardStateDict,
                                    metadata: .call(.global("os", "system"), [.str("x")]))
                            )
                        ]),
                        storages: TestCheckpoint.standardStorages))
            ),
            (
                "os.system inside a Python 2 style OrderedDict", "disallowedGlobal",
                .checkpoint(
                    TestCheckpoint(
                        object: .dict([
                            (
                                .str("state_dict"),
                                .odictPy2(
                                    TestCheckpoint.standardStateDict
                                        + [(.str("evil"), .call(.global("os", "system"), [.str("x")]))])
                            )
                        ]), storages: TestCheckpoint.standardStorages))
            ),
            (
                "state_dict entry built by a foreign class", "disallowedGlobal",
                .checkpoint(
                    TestCheckpoint(
                        object: .dict([
                            (.str("epoch"), .int(1)), (.str("state_dict"), .call(.global("__main__", "Weights"), [])),
                        ]),
                        storages: []))
            ),
            (
                "foreign storage argument taints the tensor", "disallowedGlobal",
                .checkpoint(
                    withStateDict([
                        (
                            .str("t"),
                            .call(
                                .global("torch._utils", "_rebuild_tensor_v2"),
                                [
                                    .call(.global("io", "open"), [.str("/etc/passwd")]), .int(0), .tuple([.int(1)]),
                                    .tuple([.int(1)]), .bool(false), .none,
                                ])
                        )
                    ]))
            ),
            (
                "memo index out of range (BINGET 200)", "pickleMemoMissing",
                .pickle { legacy in self.objectPickle([(.str("m"), .raw([0x68, 200]))], legacy: legacy) }
            ),
            (
                "LONG_BINGET of a never-stored index", "pickleMemoMissing",
                .pickle { legacy in
                    self.objectPickle([(.str("m"), .raw([0x6a, 0xff, 0xff, 0xff, 0x7f]))], legacy: legacy)
                }
            ),
            (
                "stack underflow (TUPLE2 on an empty stack)", "pickleStackUnderflow",
                .pickle { _ in [0x80, 0x02, 0x86, 0x2e] }
            ),
            (
                "stack underflow below a MARK (SETITEM right after MARK)", "pickleStackUnderflow",
                .pickle { _ in [0x80, 0x02, 0x7d, 0x28, 0x73, 0x2e] }
            ),
            ("STOP on an empty stack", "pickleStackUnderflow", .pickle { _ in [0x80, 0x02, 0x2e] }),
            ("SETITEMS without MARK", "pickleMarkMissing", .pickle { _ in [0x80, 0x02, 0x7d, 0x75, 0x2e] }),
            (
                "huge BINUNICODE length", "pickleLimitExceeded",
                .pickle { legacy in
                    self.objectPickle([(.str("s"), .raw([0x58, 0xf0, 0xff, 0xff, 0xff]))], legacy: legacy)
                }
            ),
            (
                "huge BINUNICODE8 length", "pickleLimitExceeded",
                .pickle { legacy in
                    self.objectPickle([(.str("s"), .raw([0x8d] + [UInt8](repeating: 0xff, count: 8)))], legacy: legacy)
                }
            ),
            (
                "huge LONG4 width", "pickleLimitExceeded",
                .pickle { legacy in
                    self.objectPickle([(.str("s"), .raw([0x8b, 0x00, 0x00, 0x00, 0x10]))], legacy: legacy)
                }
            ),
            (
                "string length past the end", "pickleTruncated",
                .pickle { legacy in
                    self.objectPickle([(.str("s"), .raw([0x58, 0xa0, 0x86, 0x01, 0x00]))], legacy: legacy)
                }
            ),
            (
                "invalid UTF-8 in a string", "pickleInvalidString",
                .pickle { legacy in
                    self.objectPickle([(.str("s"), .raw([0x58, 2, 0, 0, 0, 0xff, 0xfe]))], legacy: legacy)
                }
            ),
            (
                "REDUCE on an int", "pickleInvalidOperation",
                .checkpoint(withStateDict([(.str("c"), .call(.int(3), []))]))
            ),
            (
                "BUILD on a list", "pickleInvalidOperation",
                .checkpoint(withStateDict([(.str("c"), .build(.list([]), .none))]))
            ),
            ("APPEND to a dict", "pickleInvalidOperation", .pickle { _ in [0x80, 0x02, 0x7d, 0x4e, 0x61, 0x2e] }),
            (
                "_rebuild_tensor_v2 with 3 arguments", "invalidConstructorArguments",
                .checkpoint(
                    withStateDict([
                        (
                            .str("t"),
                            .call(.global("torch._utils", "_rebuild_tensor_v2"), [.storage("0"), .int(0), .tuple([])])
                        )
                    ]))
            ),
            (
                "negative size in a tensor", "invalidConstructorArguments",
                .checkpoint(withStateDict([(.str("t"), .tensor(storage: "0", offset: 0, shape: [-1], stride: [1]))]))
            ),
            (
                "persistent id with a wrong typename", "invalidPersistentID",
                .pickle(pid([.str("storag"), storagePV, .str("0"), .str("cpu"), .int(6), .none]))
            ),
            (
                "persistent id with 3 fields", "invalidPersistentID",
                .pickle(pid([.str("storage"), storagePV, .str("0")]))
            ),
            (
                "persistent id with an unknown storage class", "invalidPersistentID",
                .pickle(
                    pid([.str("storage"), .global("torch", "EvilStorage"), .str("0"), .str("cpu"), .int(6), .none]))
            ),
            (
                "persistent id with a negative element count", "invalidPersistentID",
                .pickle(pid([.str("storage"), storagePV, .str("0"), .str("cpu"), .int(-6), .none]))
            ),
            (
                "persistent id that is not a tuple", "invalidPersistentID",
                .pickle { legacy in self.objectPickle([(.str("s"), .raw([0x4b, 1, 0x51]))], legacy: legacy) }
            ),
            (
                "storage smaller than the tensor view", "storageTooSmall",
                .checkpoint(
                    withStateDict([(.str("big"), .tensor(storage: "0", offset: 0, shape: [4, 2], stride: nil))]))
            ),
            (
                "storage offset past the end", "storageTooSmall",
                .checkpoint(withStateDict([(.str("off"), .tensor(storage: "0", offset: 5, shape: [2], stride: nil))]))
            ),
            (
                "stride reaching past the storage", "storageTooSmall",
                .checkpoint(withStateDict([(.str("st"), .tensor(storage: "0", offset: 0, shape: [2], stride: [6]))]))
            ),
            (
                "non-tensor value in the state dict", "nonTensorValue",
                .checkpoint(withStateDict([(.str("x"), .int(3))]))
            ),
            (
                "non-string key in the state dict", "nonStringKey",
                .checkpoint(withStateDict([(.int(3), .tensor(storage: "1", offset: 0, shape: [3], stride: nil))]))
            ),
            (
                "duplicate key after removing module.", "duplicateKey",
                .checkpoint(
                    withStateDict([(.str("conv.bias"), .tensor(storage: "1", offset: 0, shape: [3], stride: nil))]))
            ),
            (
                "float64 tensor in the state dict", "unsupportedDType",
                .checkpoint(withStateDict([(.str("d"), .tensor(storage: "3", offset: 0, shape: [2], stride: nil))]))
            ),
            (
                "expanding (stride 0) view", "nonContiguousTensor",
                .checkpoint(withStateDict([(.str("e"), .tensor(storage: "1", offset: 0, shape: [100], stride: [0]))]))
            ),
            (
                "top level is a list", "noStateDict",
                .checkpoint(
                    TestCheckpoint(
                        object: .list([.tensor(storage: "1", offset: 0, shape: [3], stride: nil)]),
                        storages: TestCheckpoint.standardStorages))
            ),
            (
                "state_dict entry is a string", "noStateDict",
                .checkpoint(TestCheckpoint(object: .dict([(.str("state_dict"), .str("weights.pth"))]), storages: []))
            ),
            (
                "two candidate state dicts", "ambiguousStateDict",
                .checkpoint(
                    TestCheckpoint(
                        object: .dict([
                            (.str("model"), .odict(TestCheckpoint.standardStateDict, metadata: nil)),
                            (.str("state_dict"), .odict(TestCheckpoint.standardStateDict, metadata: nil)),
                        ]),
                        storages: TestCheckpoint.standardStorages))
            ),
            (
                "a pickled whole module at the top", "disallowedGlobal",
                .checkpoint(
                    TestCheckpoint(object: .build(.call(.global("__main__", "Custom"), []), .dict([])), storages: []))
            ),
        ]
    }

    func testPickleCorruptionsInZip() {
        let cases = pickleCases.map { name, code, source -> Case in
            switch source {
            case .checkpoint(let cp): return Case(name: name, code: code, bytes: cp.zip().bytes)
            case .pickle(let make):
                return Case(name: name, code: code, bytes: TestZip(base.zipEntries(pickle: make(false))).bytes)
            }
        }
        XCTAssertGreaterThanOrEqual(cases.count, 15)
        run(cases, format: "zip")
    }

    func testPickleCorruptionsInLegacy() {
        let cases = pickleCases.map { name, code, source -> Case in
            switch source {
            case .checkpoint(let cp): return Case(name: name, code: code, bytes: cp.legacyStream().bytes)
            case .pickle(let make):
                var stream = base.legacyStream()
                stream.object = make(true)
                return Case(name: name, code: code, bytes: stream.bytes)
            }
        }
        XCTAssertGreaterThanOrEqual(cases.count, 15)
        run(cases, format: "legacy")
    }

    // MARK: - ZIP container

    func testZipCorruptions() {
        let zip = base.zip()
        let good = zip.bytes
        let pkl = "archive/data.pkl", s0 = "archive/data/0", s1 = "archive/data/1"
        let eocd = zip.endOfCentralDirectory
        var entries = base.zipEntries()
        let zip64 = base.zip(zip64: true)
        let html = Array("<!DOCTYPE html>\n<html><body>Not found</body></html>".utf8)

        var cases: [Case] = [
            Case(name: "empty file", code: "notACheckpoint", bytes: []),
            Case(name: "an HTML page", code: "notACheckpoint", bytes: html),
            Case(name: "truncated to 100 bytes", code: "zipDirectoryCorrupt", bytes: Array(good.prefix(100))),
            Case(
                name: "truncated in the middle", code: "zipDirectoryCorrupt", bytes: Array(good.prefix(good.count / 2))),
            Case(
                name: "truncated inside the central directory", code: "zipDirectoryCorrupt",
                bytes: Array(good.prefix(zip.centralDirectory + 10))),
            Case(name: "last byte cut off", code: "zipDirectoryCorrupt", bytes: Array(good.dropLast())),
            Case(
                name: "central directory offset past the end", code: "zipDirectoryCorrupt",
                bytes: Self.edited(good) { Self.put32(&$0, eocd + 16, UInt32($0.count + 100)) }),
            Case(
                name: "central directory size past the end", code: "zipDirectoryCorrupt",
                bytes: Self.edited(good) { Self.put32(&$0, eocd + 12, 0xffff_fff0) }),
            Case(
                name: "entry count larger than the directory", code: "zipDirectoryCorrupt",
                bytes: Self.edited(good) {
                    Self.put16(&$0, eocd + 8, 0xfff0); Self.put16(&$0, eocd + 10, 0xfff0)
                }),
            Case(
                name: "central entry signature broken", code: "zipDirectoryCorrupt",
                bytes: Self.edited(good) { $0[zip.centralEntry[pkl]!] = 0 }),
            Case(
                name: "central entry name length overruns the directory", code: "zipDirectoryCorrupt",
                bytes: Self.edited(good) { Self.put16(&$0, zip.centralEntry[s1]! + 28, 0xffff) }),
            Case(
                name: "central entry local-header offset past the directory", code: "zipDirectoryCorrupt",
                bytes: Self.edited(good) { Self.put32(&$0, zip.centralEntry[s0]! + 42, 0x7fff_ffff) }),
            Case(
                name: "duplicate entry names", code: "zipDirectoryCorrupt",
                bytes: TestZip(entries + [(s0, [0, 0, 0, 0])]).bytes),
            Case(
                name: "ZIP64 record offset corrupt", code: "zipDirectoryCorrupt",
                bytes: Self.edited(zip64.bytes) { Self.put64(&$0, zip64.endOfCentralDirectory - 20 + 8, 0x1234_5678) }),
            Case(
                name: "ZIP64 record signature broken", code: "zipDirectoryCorrupt",
                bytes: Self.edited(zip64.bytes) { $0[zip64.zip64Record!] = 0 }),
            Case(
                name: "local header signature broken", code: "zipLocalHeaderCorrupt",
                bytes: Self.edited(good) { $0[zip.localHeader[pkl]!] ^= 0xff }),
            Case(
                name: "local header extra length overruns the archive", code: "zipLocalHeaderCorrupt",
                bytes: Self.edited(good) { Self.put16(&$0, zip.localHeader[s0]! + 28, 0xffff) }),
            Case(
                name: "local header name differs", code: "zipLocalHeaderCorrupt",
                bytes: Self.edited(good) { $0[zip.localHeader[s1]! + 30 + 2] ^= 0x20 }),
            Case(
                name: "storage record compressed (deflate)", code: "zipEntryCompressed",
                bytes: Self.edited(good) {
                    Self.put16(&$0, zip.centralEntry[s0]! + 10, 8); Self.put16(&$0, zip.localHeader[s0]! + 8, 8)
                }),
            Case(
                name: "data.pkl encrypted", code: "zipEntryEncrypted",
                bytes: Self.edited(good) { $0[zip.centralEntry[pkl]! + 8] |= 1 }),
            Case(
                name: "storage bytes damaged (CRC)", code: "zipChecksumMismatch",
                bytes: Self.edited(good) { $0[zip.dataOffset[s0]! + 3] ^= 0x40 }),
            Case(
                name: "data.pkl damaged (CRC)", code: "zipChecksumMismatch",
                bytes: Self.edited(good) { $0[zip.dataOffset[pkl]! + 5] ^= 0x01 }),
            Case(
                name: "no data.pkl record", code: "zipRecordMissing",
                bytes: TestZip(entries.map { ($0.0 == pkl ? "archive/data.pickle" : $0.0, $0.1) }).bytes),
            Case(
                name: "storage record missing", code: "storageMissing",
                bytes: TestZip(entries.filter { $0.0 != s1 }).bytes),
            Case(
                name: "storage record shorter than declared", code: "storageSizeMismatch",
                bytes: TestZip(entries.map { ($0.0, $0.0 == s0 ? Array($0.1.prefix(20)) : $0.1) }).bytes),
            Case(
                name: "byteorder record says big", code: "bigEndian",
                bytes: TestZip(entries + [("archive/byteorder", Array("big".utf8))]).bytes),
            Case(
                name: "a TorchScript archive", code: "notACheckpoint",
                bytes: TestZip(entries + [("archive/constants.pkl", [0x80, 0x02, 0x29, 0x2e])]).bytes),
            Case(
                name: "data.pkl truncated before STOP", code: "pickleTruncated",
                bytes: TestZip(base.zipEntries(pickle: Array(base.dataPickle(legacy: false).dropLast(40)))).bytes),
        ]
        var declared = base
        declared.storages[0].declaredNumel = 5
        cases.append(
            Case(
                name: "persistent id element count differs from the record", code: "storageSizeMismatch",
                bytes: declared.zip().bytes))
        entries[0].1 = Self.edited(entries[0].1) { $0.removeLast() }
        cases.append(Case(name: "data.pkl without STOP", code: "pickleTruncated", bytes: TestZip(entries).bytes))
        XCTAssertGreaterThanOrEqual(cases.count, 15)
        run(cases, format: "zip")
    }

    // MARK: - Legacy container

    func testLegacyCorruptions() {
        let stream = base.legacyStream()
        let good = stream.bytes
        let header = stream.magic.count + stream.protocolVersion.count + stream.sysInfo.count
        let storageStart = header + stream.object.count + stream.keys.count
        func with(_ edit: (inout TestLegacyStream) -> Void) -> [UInt8] {
            var s = stream
            edit(&s)
            return s.bytes
        }
        func sysInfo(_ pairs: [(PV, PV)]) -> [UInt8] { PickleEncoder.pickle(.dict(pairs)) }
        let referenced = base.object.storageKeys
        XCTAssertEqual(referenced, ["0", "1", "2", "3"])

        var cases: [Case] = [
            Case(name: "empty file", code: "notACheckpoint", bytes: []),
            Case(name: "an HTML page", code: "notACheckpoint", bytes: Array("  <html><head>".utf8)),
            Case(name: "truncated inside the magic number", code: "pickleTruncated", bytes: Array(good.prefix(5))),
            Case(name: "truncated after the sys_info", code: "pickleTruncated", bytes: Array(good.prefix(header))),
            Case(
                name: "truncated inside the object pickle", code: "pickleTruncated",
                bytes: Array(good.prefix(header + stream.object.count / 2))),
            Case(
                name: "truncated inside a storage's element count", code: "fileTruncated",
                bytes: Array(good.prefix(storageStart + 4))),
            Case(name: "truncated inside storage data", code: "fileTruncated", bytes: Array(good.dropLast(3))),
            Case(
                name: "magic number byte flipped", code: "legacyMagicMismatch",
                bytes: Self.edited(good) { $0[6] ^= 0x10 }),
            Case(
                name: "a plain pickle (pickle.dump, not torch.save)", code: "legacyMagicMismatch",
                bytes: base.dataPickle(legacy: true)),
            Case(
                name: "protocol version 1000", code: "legacyProtocolUnsupported",
                bytes: with { $0.protocolVersion = PickleEncoder.pickle(.int(1000)) }),
            Case(
                name: "protocol version is a string", code: "legacyProtocolUnsupported",
                bytes: with { $0.protocolVersion = PickleEncoder.pickle(.str("1001")) }),
            Case(
                name: "big-endian sys_info", code: "bigEndian",
                bytes: with {
                    $0.sysInfo = sysInfo([
                        (.str("protocol_version"), .int(1001)), (.str("little_endian"), .bool(false)),
                    ])
                }),
            Case(
                name: "sys_info without little_endian", code: "legacySysInfoInvalid",
                bytes: with { $0.sysInfo = sysInfo([(.str("protocol_version"), .int(1001))]) }),
            Case(
                name: "sys_info little_endian is an int", code: "legacySysInfoInvalid",
                bytes: with { $0.sysInfo = sysInfo([(.str("little_endian"), .int(1))]) }),
            Case(
                name: "sys_info is a list", code: "legacySysInfoInvalid",
                bytes: with { $0.sysInfo = PickleEncoder.pickle(.list([.bool(true)])) }),
            Case(
                name: "storage element count differs from the persistent id", code: "storageSizeMismatch",
                bytes: Self.edited(good) { Self.put64(&$0, storageStart, 5) }),
            Case(
                name: "huge storage element count", code: "storageSizeMismatch",
                bytes: Self.edited(good) { Self.put64(&$0, storageStart, 0x7fff_ffff_ffff_ffff) }),
            Case(
                name: "storage list names an unreferenced key", code: "legacyStorageUnreferenced",
                bytes: with { $0.keys = PickleEncoder.pickle(.list(["0", "1", "2", "3", "99"].map { .str($0) })) }),
            Case(
                name: "storage list misses a referenced key", code: "storageMissing",
                bytes: with {
                    $0.keys = PickleEncoder.pickle(.list(["0", "1", "2"].map { .str($0) }))
                    $0.storageBlocks.removeLast()
                }),
            Case(
                name: "storage list is an int", code: "legacyStorageListInvalid",
                bytes: with { $0.keys = PickleEncoder.pickle(.int(4)) }),
            Case(
                name: "storage listed twice", code: "legacyStorageListInvalid",
                bytes: with { $0.keys = PickleEncoder.pickle(.list(["0", "0", "1", "2", "3"].map { .str($0) })) }),
            Case(
                name: "storage list holds an int", code: "legacyStorageListInvalid",
                bytes: with { $0.keys = PickleEncoder.pickle(.list([.int(0)])) }),
            Case(
                name: "zip-style 5-field persistent id", code: "invalidPersistentID",
                bytes: with { $0.object = base.dataPickle(legacy: false) }),
            Case(
                name: "view metadata past the storage", code: "invalidPersistentID",
                bytes: with {
                    $0.object = PickleEncoder.pickle(
                        .dict([
                            (
                                .str("v"),
                                tensorOnRawPid(
                                    [
                                        .str("storage"), .global("torch", "FloatStorage"), .str("0"), .str("cpu"),
                                        .int(6),
                                        .tuple([.str("v0"), .int(4), .int(3)]),
                                    ], legacy: true)
                            )
                        ]), legacy: true)
                }),
            Case(
                name: "storage element count overflows", code: "invalidPersistentID",
                bytes: with {
                    $0.object = PickleEncoder.pickle(
                        .dict([
                            (
                                .str("v"),
                                tensorOnRawPid(
                                    [
                                        .str("storage"), .global("torch", "FloatStorage"), .str("0"), .str("cpu"),
                                        .int(1 << 62), .none,
                                    ],
                                    legacy: true)
                            )
                        ]), legacy: true)
                }),
            Case(
                name: "a storage that is not in the file at all", code: "fileTruncated",
                bytes: with {
                    $0.object = PickleEncoder.pickle(
                        .dict([
                            (
                                .str("v"),
                                tensorOnRawPid(
                                    [
                                        .str("storage"), .global("torch", "FloatStorage"), .str("0"), .str("cpu"),
                                        .int(1 << 40), .none,
                                    ],
                                    legacy: true)
                            )
                        ]), legacy: true)
                    $0.keys = PickleEncoder.pickle(.list([.str("0")]))
                    $0.storageBlocks = [TestLegacyStream.block(count: 1 << 40, [1, 2, 3, 4])]
                }),
        ]
        // A storage view in the style of pre-1.0 torch, valid, to show the failure above is the bound check.
        let view = with {
            $0.object = PickleEncoder.pickle(
                .dict([
                    (
                        .str("v"),
                        tensorOnRawPid(
                            [
                                .str("storage"), .global("torch", "FloatStorage"), .str("0"), .str("cpu"), .int(6),
                                .tuple([.str("v0"), .int(4), .int(2)]),
                            ], legacy: true)
                    )
                ]), legacy: true)
            $0.keys = PickleEncoder.pickle(.list([.str("0")]))
            $0.storageBlocks = [$0.storageBlocks[0]]
        }
        XCTAssertEqual((try? PyTorchCheckpoint.decode(view, name: "view"))?.stateDict["v"]?.floats, [5])
        cases.append(
            Case(
                name: "storage list is a dict (with trailing bytes)", code: "legacyStorageListInvalid",
                bytes: with {
                    $0.keys = PickleEncoder.pickle(.dict([])); $0.trailing = [1, 2, 3]
                }))
        XCTAssertGreaterThanOrEqual(cases.count, 15)
        run(cases, format: "legacy")
    }

    // MARK: - Resource exhaustion

    func testAstronomicalBroadcastViewIsRefusedBeforeAllocating() {
        let huge = PV.tensor(storage: "1", offset: 0, shape: [1 << 61, 2], stride: [0, 0])
        let cp = withStateDict([(.str("huge"), huge)])
        assertImportError("stateDictTooLarge") { try PyTorchCheckpoint.decode(cp.zip().bytes, name: "zip") }
        assertImportError("stateDictTooLarge") { try PyTorchCheckpoint.decode(cp.legacyStream().bytes, name: "legacy") }
    }

    func testManyKeysSharingOneStorageAreCapped() {
        // 20 000 keys all pointing at one memoized 4 KiB tensor: 80 MB of copies from a 250 KB file.
        let storage = TestStorage.floats("s", [Float](repeating: 1, count: 1024))
        let first =
            PickleEncoder.fragment(
                .tensor(storage: "s", offset: 0, shape: [1024], stride: nil), legacy: false,
                storages: [storage]) + [0x71, 200]
        var pairs: [(PV, PV)] = [(.str("k0"), .raw(first))]
        for i in 1..<20_000 { pairs.append((.str("k\(i)"), .raw([0x68, 200]))) }
        let cp = TestCheckpoint(object: .dict(pairs), storages: [storage])
        assertImportError("stateDictTooLarge") { try PyTorchCheckpoint.decode(cp.zip().bytes, name: "shared") }
        // A few shared keys are fine (tied weights).
        let few = TestCheckpoint(object: .dict(Array(pairs.prefix(3))), storages: [storage])
        XCTAssertEqual((try? PyTorchCheckpoint.decode(few.zip().bytes, name: "few"))?.keyOrder.count, 3)
    }

    func testReusingABigContainerThroughTheMemoIsBudgeted() {
        // OrderedDict(L) called again and again on one memoized 1 000-pair list: refused by the work budget.
        var p: [UInt8] = [0x80, 0x02, 0x7d, 0x58, 1, 0, 0, 0, 0x78]   // {} 'x'
        p += [0x5d, 0x71, 0x01, 0x28]   // [] put1 MARK
        for i in 0..<1000 { p += [0x4d, UInt8(i & 0xff), UInt8(i >> 8), 0x4b, 1, 0x86] }   // (i, 1)
        p += [0x65, 0x63] + Array("collections\nOrderedDict\n".utf8) + [0x71, 0x02]   // APPENDS, global put2
        for _ in 0..<100 { p += [0x68, 0x02, 0x68, 0x01, 0x85, 0x52, 0x30] }   // OrderedDict(L), POP
        p += [0x73, 0x2e]
        var options = PyTorchCheckpoint.Options()
        options.limits.maxPickleWork = 50_000
        let zip = TestZip(base.zipEntries(pickle: p))
        assertImportError("pickleLimitExceeded") {
            try PyTorchCheckpoint.decode(zip.bytes, name: "work", options: options)
        }
        var stream = base.legacyStream()
        stream.object = p
        assertImportError("pickleLimitExceeded") {
            try PyTorchCheckpoint.decode(stream.bytes, name: "work", options: options)
        }
    }

    func testContainerCountIsCapped() {
        var p: [UInt8] = [0x80, 0x02]
        for _ in 0..<2_000 { p += [0x5d, 0x30] }   // [] POP
        p += [0x4e, 0x2e]
        var options = PyTorchCheckpoint.Options()
        options.limits.maxContainers = 1_000
        assertImportError("pickleLimitExceeded") {
            try PyTorchCheckpoint.decode(
                TestZip(self.base.zipEntries(pickle: p)).bytes, name: "lists", options: options)
        }
    }

    func testTrailingBytesAreAWarning() throws {
        var stream = base.legacyStream()
        stream.trailing = [0, 1, 2]
        let c = try PyTorchCheckpoint.decode(stream.bytes, name: "trailing")
        XCTAssertTrue(c.warnings.contains { $0.contains("3 bytes") }, "\(c.warnings)")
    }
}
