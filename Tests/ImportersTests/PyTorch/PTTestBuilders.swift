import Foundation
import Importers
import XCTest

// Test-side writers for hand-made checkpoints: a small pickle encoder, a ZIP writer (optionally ZIP64) and the
// legacy torch.save stream. They are independent of the reader's code, so corruptions can be made precisely.

/// A Python value to pickle (protocol 2 opcodes, as torch.save emits them).
indirect enum PV: Sendable {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case str(String)
    /// A Python 2 `str` (SHORT_BINSTRING / BINSTRING).
    case py2str(String)
    case bytes([UInt8])
    case tuple([PV])
    case list([PV])
    case dict([(PV, PV)])
    /// collections.OrderedDict() then SETITEMS (Python 3's form); `metadata` is BUILD with {'_metadata': ...}.
    case odict([(PV, PV)], metadata: PV?)
    /// collections.OrderedDict([[k, v], ...]) (Python 2's form).
    case odictPy2([(PV, PV)])
    case global(String, String)
    /// REDUCE: callable(*args).
    case call(PV, [PV])
    /// BUILD: obj.__setstate__(state).
    case build(PV, PV)
    /// A storage reference (BINPERSID); its persistent id depends on the container format.
    case storage(String)
    /// torch._utils._rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict()).
    case tensor(storage: String, offset: Int, shape: [Int], stride: [Int]?)
    /// Raw opcode bytes spliced in.
    case raw([UInt8])

    /// Storage keys referenced anywhere inside, in first-reference order.
    var storageKeys: [String] {
        var keys: [String] = []
        func visit(_ v: PV) {
            switch v {
            case .storage(let k), .tensor(let k, _, _, _): if !keys.contains(k) { keys.append(k) }
            case .tuple(let items), .list(let items): items.forEach(visit)
            case .dict(let pairs), .odictPy2(let pairs):
                pairs.forEach {
                    visit($0.0); visit($0.1)
                }
            case .odict(let pairs, let metadata):
                pairs.forEach {
                    visit($0.0); visit($0.1)
                }
                if let m = metadata { visit(m) }
            case .call(let c, let args): visit(c); args.forEach(visit)
            case .build(let o, let s): visit(o); visit(s)
            default: break
            }
        }
        visit(self)
        return keys
    }

    static func contiguousStride(_ shape: [Int]) -> [Int] {
        var s = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for i in shape.indices.reversed() {
            s[i] = acc
            acc *= shape[i]
        }
        return s
    }

    /// A numpy float64 scalar as numpy pickles it (foreign globals, inert inside ignored entries).
    static func numpyScalar(_ value: Double) -> PV {
        let dtype = PV.build(
            .call(.global("numpy", "dtype"), [.str("f8"), .bool(false), .bool(true)]),
            .tuple([.int(3), .str("<"), .none, .none, .none, .int(-1), .int(-1), .int(0)]))
        let bits = withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) }
        return .call(.global("numpy.core.multiarray", "scalar"), [dtype, .bytes(bits)])
    }
}

/// One storage of a hand-made checkpoint.
struct TestStorage: Sendable {
    var key: String
    /// Storage class name, e.g. "FloatStorage".
    var type: String
    var bytes: [UInt8]
    var module = "torch"
    /// Overrides the element count written in the persistent id.
    var declaredNumel: Int?

    var elementSize: Int {
        switch type {
        case "DoubleStorage", "LongStorage": return 8
        case "FloatStorage", "IntStorage": return 4
        case "HalfStorage", "ShortStorage", "BFloat16Storage": return 2
        default: return 1
        }
    }
    var numel: Int { declaredNumel ?? bytes.count / elementSize }

    static func floats(_ key: String, _ values: [Float]) -> TestStorage {
        TestStorage(key: key, type: "FloatStorage", bytes: values.withUnsafeBytes { Array($0) })
    }
    static func longs(_ key: String, _ values: [Int64]) -> TestStorage {
        TestStorage(key: key, type: "LongStorage", bytes: values.withUnsafeBytes { Array($0) })
    }
    static func doubles(_ key: String, _ values: [Double]) -> TestStorage {
        TestStorage(key: key, type: "DoubleStorage", bytes: values.withUnsafeBytes { Array($0) })
    }
}

struct PickleEncoder {
    var out: [UInt8] = []
    let legacy: Bool
    let storages: [String: TestStorage]
    let location: String

    init(legacy: Bool, storages: [TestStorage], location: String = "cpu") {
        self.legacy = legacy
        var byKey: [String: TestStorage] = [:]
        for s in storages { byKey[s.key] = s }
        self.storages = byKey
        self.location = location
    }

    static func pickle(
        _ v: PV, legacy: Bool = false, storages: [TestStorage] = [], location: String = "cpu",
        proto: UInt8 = 2
    ) -> [UInt8] {
        var e = PickleEncoder(legacy: legacy, storages: storages, location: location)
        e.out = [0x80, proto]
        e.encode(v)
        e.out.append(0x2e)
        return e.out
    }

    /// The opcodes of one value, without PROTO and STOP (to splice into `.raw`).
    static func fragment(_ v: PV, legacy: Bool = false, storages: [TestStorage] = []) -> [UInt8] {
        var e = PickleEncoder(legacy: legacy, storages: storages)
        e.encode(v)
        return e.out
    }

    mutating func u32(_ v: Int) { out += withUnsafeBytes(of: UInt32(truncatingIfNeeded: v).littleEndian) { Array($0) } }

    mutating func encode(_ v: PV) {
        switch v {
        case .none: out.append(0x4e)
        case .bool(let b): out.append(b ? 0x88 : 0x89)
        case .int(let i):
            if (0...255).contains(i) {
                out += [0x4b, UInt8(i)]
            } else if (0...65535).contains(i) {
                out += [0x4d, UInt8(i & 0xff), UInt8(i >> 8)]
            } else if (Int(Int32.min)...Int(Int32.max)).contains(i) {
                out.append(0x4a)
                out += withUnsafeBytes(of: Int32(i).littleEndian) { Array($0) }
            } else {
                out += [0x8a, 8]
                out += withUnsafeBytes(of: Int64(i).littleEndian) { Array($0) }
            }
        case .float(let d):
            out.append(0x47)
            out += withUnsafeBytes(of: d.bitPattern.bigEndian) { Array($0) }
        case .str(let s):
            out.append(0x58)
            u32(s.utf8.count)
            out += Array(s.utf8)
        case .py2str(let s):
            if s.utf8.count < 256 {
                out += [0x55, UInt8(s.utf8.count)]
            } else {
                out.append(0x54)
                u32(s.utf8.count)
            }
            out += Array(s.utf8)
        case .bytes(let b):
            out.append(0x42)
            u32(b.count)
            out += b
        case .tuple(let items):
            switch items.count {
            case 0: out.append(0x29)
            case 1...3:
                items.forEach { encode($0) }
                out.append(0x85 + UInt8(items.count - 1))
            default:
                out.append(0x28)
                items.forEach { encode($0) }
                out.append(0x74)
            }
        case .list(let items):
            out.append(0x5d)
            if !items.isEmpty {
                out.append(0x28)
                items.forEach { encode($0) }
                out.append(0x65)
            }
        case .dict(let pairs):
            out.append(0x7d)
            setItems(pairs)
        case .odict(let pairs, let metadata):
            encode(.call(.global("collections", "OrderedDict"), []))
            setItems(pairs)
            if let m = metadata {
                encode(.dict([(.str("_metadata"), m)]))
                out.append(0x62)
            }
        case .odictPy2(let pairs):
            encode(.call(.global("collections", "OrderedDict"), [.list(pairs.map { .list([$0.0, $0.1]) })]))
        case .global(let module, let name):
            out.append(0x63)
            out += Array((module + "\n" + name + "\n").utf8)
        case .call(let callable, let args):
            encode(callable)
            encode(.tuple(args))
            out.append(0x52)
        case .build(let obj, let state):
            encode(obj)
            encode(state)
            out.append(0x62)
        case .storage(let key):
            let s = storages[key] ?? TestStorage(key: key, type: "FloatStorage", bytes: [])
            var pid: [PV] = [.str("storage"), .global(s.module, s.type), .str(key), .str(location), .int(s.numel)]
            if legacy { pid.append(.none) }
            encode(.tuple(pid))
            out.append(0x51)
        case .tensor(let storage, let offset, let shape, let stride):
            encode(
                .call(
                    .global("torch._utils", "_rebuild_tensor_v2"),
                    [
                        .storage(storage), .int(offset), .tuple(shape.map { .int($0) }),
                        .tuple((stride ?? PV.contiguousStride(shape)).map { .int($0) }), .bool(false),
                        .odict([], metadata: nil),
                    ]))
        case .raw(let bytes):
            out += bytes
        }
    }

    private mutating func setItems(_ pairs: [(PV, PV)]) {
        guard !pairs.isEmpty else { return }
        out.append(0x28)
        for (k, v) in pairs {
            encode(k)
            encode(v)
        }
        out.append(0x75)
    }
}

enum TestCRC32 {
    static let table: [UInt32] = (0..<256).map { i -> UInt32 in
        var c = UInt32(i)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xedb8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }
    static func of(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xffff_ffff
        for b in bytes { c = table[Int((c ^ UInt32(b)) & 0xff)] ^ (c >> 8) }
        return c ^ 0xffff_ffff
    }
}

/// A ZIP archive laid out like torch.save's (stored records, data 64-byte aligned), with every offset recorded.
struct TestZip {
    var bytes: [UInt8] = []
    var localHeader: [String: Int] = [:]
    var dataOffset: [String: Int] = [:]
    var centralEntry: [String: Int] = [:]
    var centralDirectory = 0
    var endOfCentralDirectory = 0
    var zip64Record: Int?

    init(_ entries: [(String, [UInt8])], zip64: Bool = false) {
        func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xff), UInt8((v >> 8) & 0xff)] }
        func le32(_ v: Int) -> [UInt8] { withUnsafeBytes(of: UInt32(truncatingIfNeeded: v).littleEndian) { Array($0) } }
        func le32u(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
        func le64(_ v: Int) -> [UInt8] { withUnsafeBytes(of: UInt64(v).littleEndian) { Array($0) } }
        var central: [UInt8] = []
        for (name, data) in entries {
            let offset = bytes.count
            localHeader[name] = offset
            let nameBytes = Array(name.utf8)
            let pad = (64 - (offset + 30 + nameBytes.count + 4) % 64) % 64
            let extra: [UInt8] = [0x46, 0x42] + le16(pad) + [UInt8](repeating: 0x5a, count: pad)
            let crc = TestCRC32.of(data)
            bytes += le32(0x0403_4b50) + le16(zip64 ? 45 : 20) + le16(0) + le16(0) + le16(0) + le16(0)
            bytes += le32u(crc) + le32(data.count) + le32(data.count) + le16(nameBytes.count) + le16(extra.count)
            bytes += nameBytes + extra
            dataOffset[name] = bytes.count
            bytes += data
            var c: [UInt8] =
                le32(0x0201_4b50) + le16(0x031e) + le16(zip64 ? 45 : 20) + le16(0) + le16(0) + le16(0) + le16(0)
            c += le32u(crc)
            let extra64: [UInt8] = zip64 ? le16(1) + le16(24) + le64(data.count) + le64(data.count) + le64(offset) : []
            c += zip64 ? le32(-1) + le32(-1) : le32(data.count) + le32(data.count)
            c += le16(nameBytes.count) + le16(extra64.count) + le16(0) + le16(0) + le16(0) + le32(0)
            c += zip64 ? le32(-1) : le32(offset)
            c += nameBytes + extra64
            centralEntry[name] = -(central.count + 1)   // fixed up below
            central += c
        }
        centralDirectory = bytes.count
        for (name, rel) in centralEntry { centralEntry[name] = centralDirectory + (-rel - 1) }
        bytes += central
        let count = entries.count
        if zip64 {
            zip64Record = bytes.count
            bytes += le32(0x0606_4b50) + le64(44) + le16(0x031e) + le16(45) + le32(0) + le32(0)
            bytes += le64(count) + le64(count) + le64(central.count) + le64(centralDirectory)
            bytes += le32(0x0706_4b50) + le32(0) + le64(zip64Record!) + le32(1)
        }
        endOfCentralDirectory = bytes.count
        bytes += le32(0x0605_4b50) + le16(0) + le16(0)
        bytes +=
            zip64
            ? le16(0xffff) + le16(0xffff) + le32(-1) + le32(-1)
            : le16(count) + le16(count) + le32(central.count) + le32(centralDirectory)
        bytes += le16(0)
    }
}

/// The parts of a legacy torch.save stream, each replaceable before `bytes` joins them.
struct TestLegacyStream {
    var magic: [UInt8] = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]
    var protocolVersion: [UInt8] = PickleEncoder.pickle(.int(1001))
    var sysInfo: [UInt8] = PickleEncoder.pickle(
        .dict([
            (.str("protocol_version"), .int(1001)), (.str("little_endian"), .bool(true)),
            (.str("type_sizes"), .dict([(.str("short"), .int(2)), (.str("int"), .int(4)), (.str("long"), .int(4))])),
        ]))
    var object: [UInt8]
    var keys: [UInt8]
    /// Each storage as int64 element count + raw bytes.
    var storageBlocks: [[UInt8]]
    var trailing: [UInt8] = []

    var bytes: [UInt8] { magic + protocolVersion + sysInfo + object + keys + storageBlocks.flatMap { $0 } + trailing }

    static func block(count: Int64, _ data: [UInt8]) -> [UInt8] {
        withUnsafeBytes(of: count.littleEndian) { Array($0) } + data
    }
}

/// A hand-made checkpoint: an object whose tensors reference `storages`, written in either container.
struct TestCheckpoint {
    var object: PV
    var storages: [TestStorage]
    var location = "cpu"
    var proto: UInt8 = 2

    func dataPickle(legacy: Bool) -> [UInt8] {
        PickleEncoder.pickle(object, legacy: legacy, storages: storages, location: location, proto: proto)
    }

    func zipEntries(archive: String = "archive", pickle: [UInt8]? = nil) -> [(String, [UInt8])] {
        var entries: [(String, [UInt8])] = [(archive + "/data.pkl", pickle ?? dataPickle(legacy: false))]
        for s in storages { entries.append((archive + "/data/" + s.key, s.bytes)) }
        entries.append((archive + "/version", Array("3\n".utf8)))
        return entries
    }

    func zip(zip64: Bool = false) -> TestZip { TestZip(zipEntries(), zip64: zip64) }

    /// The legacy stream; like torch.save, it lists only the storages the object references.
    func legacyStream() -> TestLegacyStream {
        let referenced = object.storageKeys
        let listed = storages.filter { referenced.contains($0.key) }
        return TestLegacyStream(
            object: dataPickle(legacy: true),
            keys: PickleEncoder.pickle(.list(listed.map { .str($0.key) })),
            storageBlocks: listed.map {
                TestLegacyStream.block(count: Int64($0.bytes.count / $0.elementSize), $0.bytes)
            })
    }

    /// The official wrapper around a small state dict with a module. prefix, a numpy scalar and an optimizer
    /// holding numpy and float64 values, so ignored entries carry foreign globals.
    static func wrapped(stateDict: [(PV, PV)]? = nil, storages: [TestStorage]? = nil) -> TestCheckpoint {
        let sd = stateDict ?? standardStateDict
        let optimizer = PV.dict([
            (
                .str("state"),
                .dict([
                    (
                        .int(0),
                        .dict([(.str("momentum_buffer"), .tensor(storage: "3", offset: 0, shape: [2], stride: nil))])
                    )
                ])
            ),
            (
                .str("param_groups"),
                .list([
                    .dict([
                        (.str("lr"), PV.numpyScalar(0.01)), (.str("momentum"), .float(0.9)),
                        (.str("params"), .list([.int(0), .int(1)])),
                    ])
                ])
            ),
        ])
        let object = PV.dict([
            (.str("epoch"), .int(20)), (.str("arch"), .str("Custom")),
            (
                .str("state_dict"),
                .odict(sd, metadata: .odict([(.str(""), .dict([(.str("version"), .int(1))]))], metadata: nil))
            ),
            (.str("best_acc"), PV.numpyScalar(0.5)),
            (.str("optimizer"), optimizer),
            (
                .str("anchor_cfg"),
                .dict([(.str("stride"), .int(8)), (.str("ratios"), .list([.float(0.33), .float(0.5)]))])
            ),
        ])
        return TestCheckpoint(object: object, storages: storages ?? standardStorages)
    }

    static let standardStorages: [TestStorage] = [
        .floats("0", [1, 2, 3, 4, 5, 6]),
        .floats("1", [0.5, -0.5, 0.25]),
        .longs("2", [42]),
        .doubles("3", [1, 2]),
    ]

    static var standardStateDict: [(PV, PV)] {
        [
            (.str("module.conv.weight"), .tensor(storage: "0", offset: 0, shape: [3, 2], stride: nil)),
            (.str("module.conv.bias"), .tensor(storage: "1", offset: 0, shape: [3], stride: nil)),
            (.str("module.bn.num_batches_tracked"), .tensor(storage: "2", offset: 0, shape: [], stride: [])),
        ]
    }
}

/// Asserts that `body` throws the PyTorchImportError with `code`; returns it.
@discardableResult
func assertImportError(
    _ code: String, _ message: String = "", file: StaticString = #filePath, line: UInt = #line,
    _ body: () throws -> Any
) -> PyTorchImportError? {
    do {
        _ = try body()
        XCTFail("\(message): expected \(code), decoded successfully", file: file, line: line)
    } catch let e as PyTorchImportError {
        XCTAssertEqual(e.code, code, "\(message): \(e)", file: file, line: line)
        XCTAssertFalse(e.description.contains("\n"), "descriptions are one line", file: file, line: line)
        return e
    } catch {
        XCTFail("\(message): expected \(code), got \(type(of: error)): \(error)", file: file, line: line)
    }
    return nil
}
