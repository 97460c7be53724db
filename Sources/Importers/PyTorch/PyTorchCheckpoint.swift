import Foundation
import Tensors

/// A PyTorch checkpoint (`torch.save` output) read without Python: its state dict as raw tensors.
///
/// Both torch.save containers are read: the ZIP archive of PyTorch >= 1.6 (`<archive>/data.pkl` plus one record per
/// storage) and the legacy stream (magic number, protocol 1001, sys_info, object pickle, storage keys, storage bytes).
/// The object pickle goes through a restricted unpickler that executes nothing (see `PTUnpickler`).
///
/// Which dict is the state dict (the rule, applied to the unpickled top-level object):
/// 1. The top level must be a dict or OrderedDict.
/// 2. If any top-level value is a tensor, the top level itself is the state dict (a bare `model.state_dict()`),
///    and every value must be a tensor.
/// 3. Otherwise the state dict is the value of the one top-level entry named `state_dict`, `model_state_dict`,
///    `model` or `net` whose value is a dict. None of them: `noStateDict`. More than one: `ambiguousStateDict`.
///    All other top-level entries (epoch, arch, best_acc, optimizer, anchor_cfg, ...) are skipped and listed in
///    `ignoredEntries`; they may hold anything, including foreign objects such as numpy scalars, which stay inert.
/// Inside the state dict, every key must be a string and every value a tensor of a dtype `Tensors.DType` holds
/// (float32, float16, int64, int32, int8, uint8; nothing is converted). A leading `module.` is stripped from each key.
///
/// Tensors are copied out of the file in one block each. A strided (non-contiguous) view is materialised in
/// row-major order when it has no more elements than its storage (a transpose or a slice); an expanding view
/// (stride 0 broadcasting beyond the storage) is rejected with `nonContiguousTensor`.
public struct PyTorchCheckpoint: Sendable {
    public enum Format: String, Sendable, Equatable {
        case zip
        case legacy
    }

    /// Caps that keep hostile files from exhausting memory or time. The defaults are far above what a real
    /// checkpoint pickle needs (the official one has about 20 000 opcodes and 1 000 containers). At the defaults a
    /// hostile pickle makes the reader hold on the order of 100 MB of pickle objects at most (measured: under 70 MB
    /// for million-entry memo, stack and container floods) and finishes in well under a second; the state dict's
    /// tensors are bounded by `maxStateDictBytes`.
    public struct Limits: Sendable, Equatable {
        /// Opcodes in one pickle.
        public var maxPickleOperations = 2_000_000
        /// Container elements copied or scanned beyond the opcodes themselves (memo reuse cannot go quadratic).
        public var maxPickleWork = 20_000_000
        public var maxStackDepth = 1_000_000
        public var maxMarkDepth = 10_000
        /// Nesting of tuples inside tuples.
        public var maxNestingDepth = 100
        /// Memo slots (indices 0 ..< this).
        public var maxMemoEntries = 1_000_000
        /// Lists, sets and dicts created while unpickling.
        public var maxContainers = 500_000
        /// Elements in one list or dict.
        public var maxContainerCount = 2_000_000
        public var maxStringBytes = 1 << 20
        public var maxBytesLength = 1 << 28
        public var maxLongBytes = 256
        public var maxGlobalNameBytes = 256
        public var maxTensorRank = 64
        /// torch writes decimal numbers as storage keys.
        public var maxStorageKeyBytes = 256
        public var maxStorages = 1_000_000
        public var maxZipEntries = 1_000_000
        public var maxFileBytes = 1 << 34
        /// Total bytes of the state dict's tensors; nil: twice the file size plus 64 MiB (tensors sharing one
        /// storage are copied for each key, so a tiny file could otherwise ask for terabytes).
        public var maxStateDictBytes: Int?
        public init() {}
    }

    public struct Options: Sendable {
        /// Check each ZIP record used against its CRC-32 (about 40 ms per 100 MB in release builds).
        public var verifyChecksums: Bool
        public var limits: Limits
        public init(verifyChecksums: Bool = true, limits: Limits = Limits()) {
            self.verifyChecksums = verifyChecksums
            self.limits = limits
        }
    }

    /// The name given to `decode` (the file path for `read`), for messages.
    public let name: String
    public let format: Format
    /// Tensors by key, `module.` prefix removed.
    public let stateDict: [String: Tensor]
    /// The keys in file order.
    public let keyOrder: [String]
    /// The top-level entry the state dict came from (`state_dict` in the official files); nil for a bare state dict.
    public let stateDictEntry: String?
    /// Top-level entries that were skipped, in file order (non-string keys are shown as text).
    public let ignoredEntries: [String]
    /// Skipped top-level entries whose value is a plain number, string, bool or None (epoch, arch, ...), as text.
    public let metadata: [String: String]
    /// Non-fatal observations (CUDA-tagged storages read as CPU bytes, stripped prefixes, trailing bytes, ...).
    public let warnings: [String]

    /// The state dict in file order.
    public var orderedTensors: [(name: String, tensor: Tensor)] {
        keyOrder.map { ($0, stateDict[$0]!) }
    }

    /// Reads and decodes a checkpoint file.
    public static func read(contentsOf url: URL, options: Options = Options()) throws -> PyTorchCheckpoint {
        let bytes = try readFile(url, maxBytes: options.limits.maxFileBytes)
        return try decode(bytes, name: url.path, options: options)
    }

    /// Decodes checkpoint bytes. `name` only labels messages.
    public static func decode(_ bytes: [UInt8], name: String, options: Options = Options()) throws -> PyTorchCheckpoint
    {
        let arena = PTArena()
        defer { arena.clear() }
        let loaded: PTLoaded
        // A legacy stream starts with a pickle PROTO opcode; a ZIP with a local header, or at least ends with an
        // end-of-central-directory record (its first header may be the damaged part).
        if bytes.count >= 2, bytes[0] == 0x50, bytes[1] == 0x4b {
            loaded = try PTFormats.loadZip(bytes, options: options, arena: arena)
        } else if bytes.count >= 2, bytes[0] == 0x80, (2...5).contains(bytes[1]) {
            loaded = try PTFormats.loadLegacy(bytes, options: options, arena: arena)
        } else if PTZipArchive.hasEndRecord(bytes) {
            loaded = try PTFormats.loadZip(bytes, options: options, arena: arena)
        } else {
            throw PyTorchImportError.notACheckpoint(PTFormats.sniff(bytes))
        }
        return try assemble(loaded, bytes: bytes, name: name, limits: options.limits)
    }

    // MARK: - Assembly

    private static let nestedStateDictKeys = ["state_dict", "model_state_dict", "model", "net"]

    private static func assemble(
        _ loaded: PTLoaded, bytes: [UInt8], name: String,
        limits: Limits
    ) throws -> PyTorchCheckpoint {
        guard case .dict(let top) = loaded.top else {
            if case .foreign(let g) = loaded.top { throw PyTorchImportError.disallowedGlobal(g) }
            throw PyTorchImportError.noStateDict("the file holds a \(loaded.top.kindName), not a dict")
        }
        let entries = Array(zip(top.keys, top.values))
        guard !entries.isEmpty else { throw PyTorchImportError.noStateDict("the top-level dict is empty") }

        let stateDict: PTDict
        var entryName: String?
        var ignored: [(key: PTValue, value: PTValue)] = []
        if entries.contains(where: { if case .tensor = $0.1 { return true } else { return false } }) {
            stateDict = top
        } else {
            let candidates: [(name: String, dict: PTDict)] = entries.compactMap { k, v in
                guard case .string(let s) = k, nestedStateDictKeys.contains(s), case .dict(let d) = v else {
                    return nil
                }
                return (s, d)
            }
            guard let chosen = candidates.first else {
                for (k, v) in entries {
                    if case .string(let s) = k, nestedStateDictKeys.contains(s), case .foreign(let g) = v {
                        throw PyTorchImportError.disallowedGlobal(g)
                    }
                }
                let keys = entries.prefix(12).map { describeKey($0.0) }.joined(separator: ", ")
                throw PyTorchImportError.noStateDict(
                    "no tensors and no state_dict entry at the top level (keys: \(keys))")
            }
            guard candidates.count == 1 else {
                throw PyTorchImportError.ambiguousStateDict(candidates.map(\.name))
            }
            stateDict = chosen.dict
            entryName = chosen.name
            ignored = entries.filter { k, _ in
                if case .string(let other) = k { return other != chosen.name }
                return true
            }.map { (key: $0.0, value: $0.1) }
        }

        if let g = firstForeignReachable(from: .dict(stateDict)) { throw PyTorchImportError.disallowedGlobal(g) }

        // Check every entry before copying any bytes.
        var specs: [(key: String, rawKey: String, spec: PTTensorSpec)] = []
        var seen = Set<String>()
        var stripped = 0
        var totalBytes = 0
        let byteLimit = limits.maxStateDictBytes ?? (2 * min(bytes.count, Int.max / 4) + (64 << 20))
        specs.reserveCapacity(stateDict.count)
        for (k, v) in zip(stateDict.keys, stateDict.values) {
            guard case .string(let rawKey) = k else { throw PyTorchImportError.nonStringKey(describeKey(k)) }
            var key = rawKey
            if key.hasPrefix("module.") {
                key = String(key.dropFirst("module.".count))
                stripped += 1
            }
            guard case .tensor(let spec) = v else {
                throw PyTorchImportError.nonTensorValue(key: rawKey, found: v.kindName)
            }
            guard seen.insert(key).inserted else { throw PyTorchImportError.duplicateKey(key) }
            let (size, o1) = spec.count.multipliedReportingOverflow(by: spec.scalarType.elementSize)
            let (sum, o2) = totalBytes.addingReportingOverflow(size)
            totalBytes = o1 || o2 ? Int.max : sum
            guard totalBytes <= byteLimit else {
                throw PyTorchImportError.stateDictTooLarge(bytes: totalBytes, limit: byteLimit)
            }
            specs.append((key, rawKey, spec))
        }
        guard !specs.isEmpty else { throw PyTorchImportError.noStateDict("the state dict is empty") }

        var tensors: [String: Tensor] = [:]
        var cudaStorages = Set<String>()
        tensors.reserveCapacity(specs.count)
        for (key, rawKey, spec) in specs {
            tensors[key] = try materialize(spec, key: rawKey, bytes: bytes)
            if spec.storage.record.location.hasPrefix("cuda") { cudaStorages.insert(spec.storage.record.key) }
        }
        let order = specs.map(\.key)

        var warnings = loaded.warnings
        if stripped > 0 {
            warnings.append(
                stripped == order.count
                    ? "removed the 'module.' prefix from all \(stripped) keys"
                    : "removed the 'module.' prefix from \(stripped) of \(order.count) keys (mixed prefixes)")
        }
        if !cudaStorages.isEmpty {
            warnings.append("\(cudaStorages.count) storages were saved on a CUDA device; read as CPU bytes")
        }
        var metadata: [String: String] = [:]
        for (k, v) in ignored {
            if let text = plainText(v) { metadata[describeKey(k)] = text }
        }
        return PyTorchCheckpoint(
            name: name, format: loaded.format, stateDict: tensors, keyOrder: order,
            stateDictEntry: entryName, ignoredEntries: ignored.map { describeKey($0.key) },
            metadata: metadata, warnings: warnings)
    }

    private static func describeKey(_ k: PTValue) -> String {
        switch k {
        case .string(let s): return s
        case .int(let i): return String(i)
        case .bool(let b): return b ? "True" : "False"
        case .float(let d): return String(d)
        default: return "<\(k.kindName)>"
        }
    }

    private static func plainText(_ v: PTValue) -> String? {
        switch v {
        case .none: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let i): return String(i)
        case .float(let d): return String(d)
        case .string(let s): return s.count <= 256 ? s : nil
        default: return nil
        }
    }

    /// The first foreign global anywhere inside `root` (dict keys, values, BUILD state, nested containers),
    /// walked iteratively with a visited set (shared tuples included) so cycles, sharing and depth cannot hurt.
    private static func firstForeignReachable(from root: PTValue) -> String? {
        var pending = [root]
        var visited = Set<ObjectIdentifier>()
        while let v = pending.popLast() {
            switch v {
            case .foreign(let name):
                return name
            case .tuple(let t):
                if visited.insert(ObjectIdentifier(t)).inserted { pending.append(contentsOf: t.items) }
            case .list(let l):
                if visited.insert(ObjectIdentifier(l)).inserted { pending.append(contentsOf: l.items) }
            case .dict(let d):
                if visited.insert(ObjectIdentifier(d)).inserted {
                    pending.append(contentsOf: d.keys)
                    pending.append(contentsOf: d.values)
                    if let s = d.state { pending.append(s) }
                }
            default:
                break
            }
        }
        return nil
    }

    // MARK: - Tensors

    static func isContiguous(shape: [Int], stride: [Int]) -> Bool {
        if shape.contains(0) { return true }
        var expected = 1
        for d in stride.indices.reversed() where shape[d] != 1 {
            if stride[d] != expected { return false }
            expected *= shape[d]
        }
        return true
    }

    private static func materialize(_ spec: PTTensorSpec, key: String, bytes: [UInt8]) throws -> Tensor {
        guard let dtype = spec.scalarType.dtype else {
            throw PyTorchImportError.unsupportedDType(key: key, dtype: spec.scalarType.rawValue)
        }
        guard let range = spec.storage.record.fileRange else {
            throw PyTorchImportError.storageMissing(spec.storage.record.key)
        }
        let elementSize = dtype.byteSize
        // The view inside the file; `PTTensorBuilder.rebuild` checked every addressed element against its size.
        let viewStart = range.lowerBound + spec.storage.byteOffset
        let viewEnd = viewStart + spec.storage.byteCount
        guard viewEnd <= range.upperBound else {
            throw PyTorchImportError.storageTooSmall(
                storage: spec.storage.record.key, neededBytes: viewEnd - range.lowerBound,
                availableBytes: range.count)
        }
        func tensor(_ storage: [UInt8]) throws -> Tensor {
            do {
                return try Tensor(dtype: dtype, shape: spec.shape, storage: storage)
            } catch {
                throw PyTorchImportError.invalidConstructorArguments(callable: "tensor \(key)", detail: "\(error)")
            }
        }
        if spec.count == 0 { return try tensor([]) }
        let start = viewStart + spec.storageOffset * elementSize
        let available = viewEnd - start
        if isContiguous(shape: spec.shape, stride: spec.stride) {
            let (byteCount, overflow) = spec.count.multipliedReportingOverflow(by: elementSize)
            guard !overflow, start >= viewStart, byteCount <= available else {
                throw PyTorchImportError.storageTooSmall(
                    storage: spec.storage.record.key, neededBytes: overflow ? Int.max : start - viewStart + byteCount,
                    availableBytes: spec.storage.byteCount)
            }
            return try tensor(Array(bytes[start..<(start + byteCount)]))
        }
        // A strided view: copied only if it is no larger than its storage (no broadcasting blow-up).
        guard spec.count <= spec.storage.byteCount / elementSize else {
            throw PyTorchImportError.nonContiguousTensor(key: key, shape: spec.shape, stride: spec.stride)
        }
        return try tensor(
            gather(
                bytes, start: start, viewEnd: viewEnd, shape: spec.shape, stride: spec.stride,
                elementSize: elementSize, count: spec.count))
    }

    /// Copies a strided view into row-major order: runs of the innermost dimension when its stride is 1,
    /// element by element otherwise. Every source offset was bounds-checked by `PTTensorBuilder.rebuild`;
    /// the range checks here are a second guard.
    private static func gather(
        _ bytes: [UInt8], start: Int, viewEnd: Int, shape: [Int], stride: [Int],
        elementSize: Int, count: Int
    ) throws -> [UInt8] {
        let rank = shape.count
        let inner = shape[rank - 1], innerStride = stride[rank - 1]
        let outerCount = count / inner
        var out = [UInt8](repeating: 0, count: count * elementSize)
        var index = [Int](repeating: 0, count: rank)
        var element = 0   // element offset (in elements) of the current row's first element, relative to start
        var written = 0
        try out.withUnsafeMutableBytes { dst in
            try bytes.withUnsafeBytes { src in
                for _ in 0..<outerCount {
                    let rowStart = start + element * elementSize
                    let rowLastByte = rowStart + ((inner - 1) * innerStride + 1) * elementSize
                    guard rowStart >= 0, rowLastByte <= viewEnd else {
                        throw PyTorchImportError.storageTooSmall(
                            storage: "(strided view)", neededBytes: rowLastByte,
                            availableBytes: viewEnd)
                    }
                    if innerStride == 1 {
                        let n = inner * elementSize
                        dst.baseAddress!.advanced(by: written).copyMemory(
                            from: src.baseAddress!.advanced(by: rowStart), byteCount: n)
                        written += n
                    } else {
                        for j in 0..<inner {
                            dst.baseAddress!.advanced(by: written).copyMemory(
                                from: src.baseAddress!.advanced(by: rowStart + j * innerStride * elementSize),
                                byteCount: elementSize)
                            written += elementSize
                        }
                    }
                    // Odometer over the outer dimensions.
                    var d = rank - 2
                    while d >= 0 {
                        index[d] += 1
                        element += stride[d]
                        if index[d] < shape[d] { break }
                        element -= stride[d] * shape[d]
                        index[d] = 0
                        d -= 1
                    }
                }
            }
        }
        return out
    }

    // MARK: - File

    private static func readFile(_ url: URL, maxBytes: Int) throws -> [UInt8] {
        let path = url.path
        guard let file = fopen(path, "rb") else {
            throw PyTorchImportError.fileUnreadable(path: path, reason: String(cString: strerror(errno)))
        }
        defer { fclose(file) }
        guard fseeko(file, 0, SEEK_END) == 0 else {
            throw PyTorchImportError.fileUnreadable(path: path, reason: "cannot seek (not a regular file?)")
        }
        let size = Int(ftello(file))
        guard size >= 0, fseeko(file, 0, SEEK_SET) == 0 else {
            throw PyTorchImportError.fileUnreadable(path: path, reason: "cannot determine its size")
        }
        guard size <= maxBytes else {
            throw PyTorchImportError.fileUnreadable(path: path, reason: "\(size) bytes exceed the limit of \(maxBytes)")
        }
        var readCount = 0
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            if size > 0 { readCount = fread(buffer.baseAddress!, 1, size, file) }
            // Only what was read counts as initialized.
            initialized = readCount
        }
        guard readCount == size else {
            throw PyTorchImportError.fileUnreadable(path: path, reason: "short read (\(readCount) of \(size) bytes)")
        }
        return bytes
    }
}
