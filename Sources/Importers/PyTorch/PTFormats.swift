import Foundation

/// The two torch.save containers: where the object pickle and the storage bytes live, and how persistent ids
/// (storage references) resolve to byte ranges of the file.

/// What a container yields: the unpickled top-level object and the storages it references, all located.
struct PTLoaded {
    let format: PyTorchCheckpoint.Format
    let top: PTValue
    let storages: PTStorageTable
    var warnings: [String]
}

/// Storage records by key, created from persistent ids as the pickle references them.
final class PTStorageTable {
    private(set) var records: [String: PTStorageRecord] = [:]
    private(set) var order: [String] = []
    let legacy: Bool
    let limits: PyTorchCheckpoint.Limits
    /// Finds a new storage's bytes (ZIP: its record; legacy: nil, located later from the storage section).
    let locate: (String, PTStorageType, Int) throws -> Range<Int>?

    init(
        legacy: Bool, limits: PyTorchCheckpoint.Limits,
        locate: @escaping (String, PTStorageType, Int) throws -> Range<Int>?
    ) {
        self.legacy = legacy
        self.limits = limits
        self.locate = locate
    }

    /// Interprets `('storage', storage_type, key, location, numel[, view_metadata])`.
    func load(_ pid: PTValue) throws -> PTValue {
        func bad(_ why: String) -> PyTorchImportError { .invalidPersistentID(why) }
        guard case .tuple(let t) = pid else { throw bad("a \(pid.kindName), not a tuple") }
        let items = t.items
        guard let first = items.first, let typename = Self.text(first) else { throw bad("no typename") }
        if typename == "module", legacy {
            // A whole pickled nn.Module class (torch.save(model)); inert here, an error if it reaches the state dict.
            if items.count > 1, case .foreign(let name) = items[1] { return .foreign(name) }
            return .foreign("persistent module")
        }
        guard typename == "storage" else { throw bad("unknown typename '\(typename)'") }
        let arity = legacy ? 6 : 5
        guard items.count == arity else { throw bad("\(items.count) fields, expected \(arity)") }
        let type: PTStorageType
        switch items[1] {
        case .global(.storageType(let st)): type = st
        case .foreign(let name): throw bad("unknown storage type \(name)")
        default: throw bad("storage type is a \(items[1].kindName)")
        }
        guard let key = Self.text(items[2]), !key.isEmpty, key.utf8.count <= limits.maxStorageKeyBytes else {
            throw bad("storage key must be a short non-empty string")
        }
        guard let location = Self.text(items[3]) else { throw bad("location of storage \(key) is not a string") }
        guard case .int(let rawNumel) = items[4], rawNumel >= 0 else {
            throw bad("element count of storage \(key) is not a non-negative int")
        }
        let elementSize = type.scalarType.elementSize
        guard rawNumel <= Int64(Int.max / elementSize) else { throw bad("storage \(key) size overflows") }
        let numel = Int(rawNumel)

        let record: PTStorageRecord
        if let existing = records[key] {
            guard existing.type.scalarType == type.scalarType, existing.numel == numel else {
                throw bad("storage \(key) is referenced with two different types or sizes")
            }
            record = existing
        } else {
            guard records.count < limits.maxStorages else {
                throw PyTorchImportError.pickleLimitExceeded(
                    what: "storage count", limit: limits.maxStorages, offset: 0)
            }
            let range = try locate(key, type, numel * elementSize)
            record = PTStorageRecord(key: key, type: type, numel: numel, location: location, fileRange: range)
            records[key] = record
            order.append(key)
        }
        if legacy {
            switch items[5] {
            case .none:
                break
            case .tuple(let view):
                // Pre-1.0 storage views: (view_key, offset, size) in elements of the root storage.
                guard view.items.count == 3, Self.text(view.items[0]) != nil,
                    case .int(let off) = view.items[1], case .int(let size) = view.items[2],
                    off >= 0, size >= 0, off <= rawNumel, size <= rawNumel - off
                else {
                    throw bad("view metadata of storage \(key) is invalid")
                }
                return .storage(PTStorageView(record: record, elementOffset: Int(off), numel: Int(size)))
            default:
                throw bad("view metadata of storage \(key) is a \(items[5].kindName)")
            }
        }
        return .storage(PTStorageView(record: record, elementOffset: 0, numel: numel))
    }

    /// A str, or ASCII bytes (Python 2 / protocol 3 files may store these fields as bytes).
    static func text(_ v: PTValue) -> String? {
        switch v {
        case .string(let s): return s
        case .bytes(let b) where b.allSatisfy({ $0 < 0x80 }): return String(decoding: b, as: UTF8.self)
        default: return nil
        }
    }
}

enum PTFormats {
    static func sniff(_ bytes: [UInt8]) -> String {
        if bytes.isEmpty { return "the file is empty" }
        if bytes.count > 262, bytes[257..<262].elementsEqual("ustar".utf8) {
            return "it is a tar archive (the pre-0.4 PyTorch tar format is not supported)"
        }
        let head = bytes.prefix(64)
        if let first = head.first(where: { $0 != 0x20 && $0 != 0x0a && $0 != 0x0d && $0 != 0x09 }), first == 0x3c {
            return "it starts with '<' (an HTML page saved instead of the checkpoint?)"
        }
        return "it starts with bytes " + bytes.prefix(4).map { String($0, radix: 16) }.joined(separator: " ")
    }

    // MARK: - ZIP

    static func loadZip(_ bytes: [UInt8], options: PyTorchCheckpoint.Options, arena: PTArena) throws -> PTLoaded {
        let archive = try PTZipArchive(bytes: bytes, limits: options.limits)
        var warnings: [String] = []
        let candidates = archive.entries.filter { e in
            let parts = e.name.split(separator: "/", omittingEmptySubsequences: false)
            return (parts.count == 2 && !parts[0].isEmpty && parts[1] == "data.pkl") || e.name == "data.pkl"
        }
        guard let pickleEntry = candidates.first else {
            throw PyTorchImportError.zipRecordMissing("<archive>/data.pkl")
        }
        guard candidates.count == 1 else {
            throw PyTorchImportError.zipDirectoryCorrupt(
                "several data.pkl records: \(candidates.map(\.name).joined(separator: ", "))")
        }
        let prefix = String(pickleEntry.name.dropLast("data.pkl".count))
        if archive.entry(named: prefix + "constants.pkl") != nil {
            throw PyTorchImportError.notACheckpoint(
                "it is a TorchScript archive (torch.jit.save); save model.state_dict() with torch.save instead")
        }

        if let e = archive.entry(named: prefix + "byteorder") {
            let r = try archive.dataRange(of: e, verifyChecksum: options.verifyChecksums)
            let order = String(decoding: bytes[r], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if order == "big" { throw PyTorchImportError.bigEndian }
            if order != "little" {
                warnings.append("byteorder record says '\(order.prefix(32))'; reading as little-endian")
            }
        }
        if let e = archive.entry(named: prefix + "version") {
            let r = try archive.dataRange(of: e, verifyChecksum: options.verifyChecksums)
            let version = String(decoding: bytes[r], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if Int(version) == nil { warnings.append("version record is '\(version.prefix(32))', not a number") }
        } else {
            warnings.append("archive has no version record")
        }

        let pickleRange = try archive.dataRange(of: pickleEntry, verifyChecksum: options.verifyChecksums)
        let table = PTStorageTable(legacy: false, limits: options.limits) { key, _, byteCount in
            guard let e = archive.entry(named: prefix + "data/" + key) else {
                throw PyTorchImportError.storageMissing(key)
            }
            let r = try archive.dataRange(of: e, verifyChecksum: options.verifyChecksums)
            guard r.count == byteCount else {
                throw PyTorchImportError.storageSizeMismatch(key: key, expectedBytes: byteCount, actualBytes: r.count)
            }
            return r
        }
        var unpickler = PTUnpickler(
            bytes: bytes, range: pickleRange, limits: options.limits, arena: arena,
            persistentLoad: table.load)
        let (top, end) = try unpickler.load()
        if end != pickleRange.upperBound {
            warnings.append(
                "\(pickleRange.upperBound - end) bytes after the pickle's STOP in \(pickleEntry.name) were ignored")
        }
        return PTLoaded(format: .zip, top: top, storages: table, warnings: warnings)
    }

    // MARK: - Legacy

    /// 0x1950a86a20f9469cfc6c as LONG1 stores it: little-endian two's complement.
    static let legacyMagic: [UInt8] = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]
    static let legacyProtocolVersion: Int64 = 1001

    static func loadLegacy(_ bytes: [UInt8], options: PyTorchCheckpoint.Options, arena: PTArena) throws -> PTLoaded {
        var warnings: [String] = []
        let all = 0..<bytes.count
        // Storage references are only meaningful in the object pickle; elsewhere they stay inert, so a plain pickle
        // (no torch.save header) is reported as a magic-number mismatch rather than a storage error.
        let noPersistentIDs: (PTValue) throws -> PTValue = { _ in .foreign("persistent id") }
        func unpickle(from start: Int, _ load: @escaping (PTValue) throws -> PTValue) throws -> (PTValue, Int) {
            var u = PTUnpickler(
                bytes: bytes, range: start..<all.upperBound, limits: options.limits, arena: arena,
                persistentLoad: load)
            return try u.load()
        }

        // 1. Magic number.
        let (magic, afterMagic) = try unpickle(from: 0, noPersistentIDs)
        guard case .bigInt(let m) = magic, m == legacyMagic else { throw PyTorchImportError.legacyMagicMismatch }
        // 2. Protocol version.
        let (proto, afterProto) = try unpickle(from: afterMagic, noPersistentIDs)
        guard case .int(let version) = proto, version == legacyProtocolVersion else {
            let found: String
            if case .int(let v) = proto { found = String(v) } else { found = "a \(proto.kindName)" }
            throw PyTorchImportError.legacyProtocolUnsupported(found)
        }
        // 3. sys_info.
        let (sysInfo, afterSysInfo) = try unpickle(from: afterProto, noPersistentIDs)
        guard case .dict(let info) = sysInfo else {
            throw PyTorchImportError.legacySysInfoInvalid("a \(sysInfo.kindName), not a dict")
        }
        switch info["little_endian"] {
        case .bool(true)?: break
        case .bool(false)?: throw PyTorchImportError.bigEndian
        case nil: throw PyTorchImportError.legacySysInfoInvalid("no little_endian entry")
        case let other?: throw PyTorchImportError.legacySysInfoInvalid("little_endian is a \(other.kindName)")
        }
        // 4. The object, whose persistent ids name storages by key.
        let table = PTStorageTable(legacy: true, limits: options.limits) { _, _, _ in nil }
        let (top, afterObject) = try unpickle(from: afterSysInfo, table.load)
        // 5. The storage keys, in the order their data follows.
        let (keyList, afterKeys) = try unpickle(from: afterObject, noPersistentIDs)
        let keyItems: [PTValue]
        switch keyList {
        case .list(let l): keyItems = l.items
        case .tuple(let t): keyItems = t.items
        default: throw PyTorchImportError.legacyStorageListInvalid("a \(keyList.kindName), not a list")
        }
        // 6. Each storage: an int64 element count, then the raw little-endian elements.
        var p = afterKeys
        var seen = Set<String>()
        for item in keyItems {
            guard let key = PTStorageTable.text(item), key.utf8.count <= options.limits.maxStorageKeyBytes else {
                throw PyTorchImportError.legacyStorageListInvalid("a key is a \(item.kindName), not a short string")
            }
            guard seen.insert(key).inserted else {
                throw PyTorchImportError.legacyStorageListInvalid("storage \(key) is listed twice")
            }
            guard let record = table.records[key] else { throw PyTorchImportError.legacyStorageUnreferenced(key) }
            guard bytes.count - p >= 8 else {
                throw PyTorchImportError.fileTruncated("the element count of storage \(key) is cut off at byte \(p)")
            }
            let count = Int64(bitPattern: PTZipArchive.u64(bytes, p))
            p += 8
            let elementSize = record.type.scalarType.elementSize
            guard count == Int64(record.numel) else {
                let (actual, overflow) = Int(clamping: count).multipliedReportingOverflow(by: elementSize)
                throw PyTorchImportError.storageSizeMismatch(
                    key: key, expectedBytes: record.byteCount,
                    actualBytes: count < 0 || overflow ? -1 : actual)
            }
            guard bytes.count - p >= record.byteCount else {
                throw PyTorchImportError.fileTruncated(
                    "storage \(key) needs \(record.byteCount) bytes at byte \(p), \(bytes.count - p) remain")
            }
            record.fileRange = p..<(p + record.byteCount)
            p += record.byteCount
        }
        for key in table.order where table.records[key]?.fileRange == nil {
            throw PyTorchImportError.storageMissing(key)
        }
        if p != bytes.count {
            warnings.append("\(bytes.count - p) bytes after the last storage were ignored")
        }
        return PTLoaded(format: .legacy, top: top, storages: table, warnings: warnings)
    }
}
