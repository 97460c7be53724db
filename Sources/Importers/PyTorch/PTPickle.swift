/// The restricted unpickler: a small interpreter for the pickle opcodes torch.save emits (protocols 2 to 5).
/// It never imports or executes anything. Globals resolve to a fixed table of known constructors (`PTGlobal`);
/// any other global becomes an inert `.foreign` value, which only matters (as an error) if it reaches the state dict.
///
/// Opcodes interpreted: PROTO, FRAME, STOP; MARK, POP, POP_MARK, DUP; NONE, NEWTRUE, NEWFALSE, BININT, BININT1,
/// BININT2, LONG1, LONG4, BINFLOAT; BINUNICODE, SHORT_BINUNICODE, BINUNICODE8, BINSTRING, SHORT_BINSTRING (Python 2
/// str), BINBYTES, SHORT_BINBYTES, BINBYTES8, BYTEARRAY8; EMPTY_TUPLE, TUPLE, TUPLE1-3, EMPTY_LIST, LIST, APPEND,
/// APPENDS, EMPTY_DICT, DICT, SETITEM, SETITEMS, EMPTY_SET, ADDITEMS, FROZENSET; BINPUT, LONG_BINPUT, MEMOIZE, BINGET,
/// LONG_BINGET; GLOBAL, STACK_GLOBAL, REDUCE, BUILD, NEWOBJ, NEWOBJ_EX; BINPERSID. Everything else (the text
/// protocol-0 opcodes, INST/OBJ, PERSID, EXT1-4, NEXT_BUFFER, READONLY_BUFFER) is `pickleOpcodeUnsupported`.

/// A value built by the unpickler.
enum PTValue {
    case none
    case bool(Bool)
    case int(Int64)
    /// An integer too wide for Int64: minimal little-endian two's complement bytes (as LONG1 stores them).
    case bigInt([UInt8])
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple(PTTuple)
    case list(PTList)
    case dict(PTDict)
    case global(PTGlobal)
    // Boxed so that every value stays small: the stack, memo and containers hold up to millions of them.
    indirect case storage(PTStorageView)
    indirect case tensor(PTTensorSpec)
    /// Built from (or by calling) a global outside the allow-list; carries that global's dotted name.
    case foreign(String)

    /// Short description for error messages.
    var kindName: String {
        switch self {
        case .none: return "None"
        case .bool: return "bool"
        case .int, .bigInt: return "int"
        case .float: return "float"
        case .string: return "str"
        case .bytes: return "bytes"
        case .tuple: return "tuple"
        case .list(let l): return l.isSet ? "set" : "list"
        case .dict(let d): return d.ordered ? "OrderedDict" : "dict"
        case .global(let g): return "reference to \(g.name)"
        case .storage: return "storage"
        case .tensor: return "tensor"
        case .foreign(let name): return "object built by \(name)"
        }
    }

    /// Nesting depth of tuples (lists and dicts are owned by the arena and do not count; see `PTArena`).
    var tupleDepth: Int {
        if case .tuple(let t) = self { return t.depth }
        return 0
    }

}

final class PTTuple {
    /// Shared empty tuple (EMPTY_TUPLE is the most common opcode after BINPUT in torch pickles).
    nonisolated(unsafe) static let empty = PTTuple([])

    let items: [PTValue]
    let depth: Int
    init(_ items: [PTValue]) {
        self.items = items
        var d = 0
        for item in items { d = max(d, item.tupleDepth) }
        self.depth = d + 1
    }
}

final class PTList {
    var items: [PTValue] = []
    let isSet: Bool
    init(isSet: Bool = false) { self.isSet = isSet }
}

/// Hashable form of the dict keys that Python would compare by value (str, int, bool).
enum PTHashKey: Hashable {
    case string(String)
    case int(Int64)
    case bigInt([UInt8])

    init?(_ v: PTValue) {
        switch v {
        case .string(let s): self = .string(s)
        case .int(let i): self = .int(i)
        case .bool(let b): self = .int(b ? 1 : 0)
        case .bigInt(let b): self = .bigInt(b)
        default: return nil
        }
    }
}

final class PTDict {
    private(set) var keys: [PTValue] = []
    private(set) var values: [PTValue] = []
    private var index: [PTHashKey: Int] = [:]
    let ordered: Bool
    /// State given by BUILD (an OrderedDict's `_metadata` attribute); kept only to check it for foreign globals.
    var state: PTValue?

    init(ordered: Bool) { self.ordered = ordered }

    var count: Int { keys.count }

    /// Python semantics: setting an existing key replaces its value in place.
    func set(_ key: PTValue, _ value: PTValue) {
        if let h = PTHashKey(key) {
            if let i = index[h] {
                values[i] = value
                return
            }
            index[h] = keys.count
        }
        keys.append(key)
        values.append(value)
    }

    subscript(_ key: String) -> PTValue? {
        guard let i = index[.string(key)] else { return nil }
        return values[i]
    }

    func removeAll() {
        keys.removeAll()
        values.removeAll()
        index.removeAll()
        state = nil
    }
}

/// Owns every list and dict of one decode. Pickles can build reference cycles (a list appended to itself through
/// the memo) and deep chains; `clear()` empties every container iteratively, so nothing leaks and no deallocation
/// recurses deeper than the (capped) tuple nesting.
final class PTArena {
    private var lists: [PTList] = []
    private var dicts: [PTDict] = []

    var count: Int { lists.count + dicts.count }

    func list(isSet: Bool = false) -> PTList {
        let l = PTList(isSet: isSet)
        lists.append(l)
        return l
    }

    func dict(ordered: Bool) -> PTDict {
        let d = PTDict(ordered: ordered)
        dicts.append(d)
        return d
    }

    func clear() {
        for l in lists { l.items.removeAll() }
        for d in dicts { d.removeAll() }
        lists.removeAll()
        dicts.removeAll()
    }

    deinit { clear() }
}

private enum Op {
    static let mark: UInt8 = 0x28   // (
    static let stop: UInt8 = 0x2e   // .
    static let pop: UInt8 = 0x30   // 0
    static let popMark: UInt8 = 0x31   // 1
    static let dup: UInt8 = 0x32   // 2
    static let binfloat: UInt8 = 0x47   // G
    static let binint: UInt8 = 0x4a   // J
    static let binint1: UInt8 = 0x4b   // K
    static let binint2: UInt8 = 0x4d   // M
    static let none: UInt8 = 0x4e   // N
    static let binpersid: UInt8 = 0x51   // Q
    static let reduce: UInt8 = 0x52   // R
    static let binstring: UInt8 = 0x54   // T
    static let shortBinstring: UInt8 = 0x55   // U
    static let binunicode: UInt8 = 0x58   // X
    static let emptyList: UInt8 = 0x5d   // ]
    static let append: UInt8 = 0x61   // a
    static let build: UInt8 = 0x62   // b
    static let global: UInt8 = 0x63   // c
    static let dict: UInt8 = 0x64   // d
    static let appends: UInt8 = 0x65   // e
    static let binget: UInt8 = 0x68   // h
    static let longBinget: UInt8 = 0x6a   // j
    static let list: UInt8 = 0x6c   // l
    static let binput: UInt8 = 0x71   // q
    static let longBinput: UInt8 = 0x72   // r
    static let setitem: UInt8 = 0x73   // s
    static let tuple: UInt8 = 0x74   // t
    static let setitems: UInt8 = 0x75   // u
    static let emptyDict: UInt8 = 0x7d   // }
    static let emptyTuple: UInt8 = 0x29   // )
    static let binbytes: UInt8 = 0x42   // B
    static let shortBinbytes: UInt8 = 0x43   // C
    static let proto: UInt8 = 0x80
    static let newobj: UInt8 = 0x81
    static let tuple1: UInt8 = 0x85
    static let tuple2: UInt8 = 0x86
    static let tuple3: UInt8 = 0x87
    static let newtrue: UInt8 = 0x88
    static let newfalse: UInt8 = 0x89
    static let long1: UInt8 = 0x8a
    static let long4: UInt8 = 0x8b
    static let shortBinunicode: UInt8 = 0x8c
    static let binunicode8: UInt8 = 0x8d
    static let binbytes8: UInt8 = 0x8e
    static let emptySet: UInt8 = 0x8f
    static let additems: UInt8 = 0x90
    static let frozenset: UInt8 = 0x91
    static let newobjEx: UInt8 = 0x92
    static let stackGlobal: UInt8 = 0x93
    static let memoize: UInt8 = 0x94
    static let frame: UInt8 = 0x95
    static let bytearray8: UInt8 = 0x96

    static func name(_ op: UInt8) -> String {
        switch op {
        case mark: return "MARK"
        case stop: return "STOP"
        case pop: return "POP"
        case popMark: return "POP_MARK"
        case dup: return "DUP"
        case append: return "APPEND"
        case appends: return "APPENDS"
        case setitem: return "SETITEM"
        case setitems: return "SETITEMS"
        case additems: return "ADDITEMS"
        case reduce: return "REDUCE"
        case build: return "BUILD"
        case newobj: return "NEWOBJ"
        case newobjEx: return "NEWOBJ_EX"
        case binpersid: return "BINPERSID"
        case tuple: return "TUPLE"
        case tuple1: return "TUPLE1"
        case tuple2: return "TUPLE2"
        case tuple3: return "TUPLE3"
        case list: return "LIST"
        case dict: return "DICT"
        case frozenset: return "FROZENSET"
        case binput: return "BINPUT"
        case longBinput: return "LONG_BINPUT"
        case memoize: return "MEMOIZE"
        case stackGlobal: return "STACK_GLOBAL"
        default: return "opcode 0x" + String(op, radix: 16)
        }
    }
}

/// Interprets one pickle that starts at `start` inside `bytes`. Offsets in errors are relative to `start`.
struct PTUnpickler {
    private let bytes: [UInt8]
    private let start: Int
    private let end: Int
    private var pos: Int
    private let limits: PyTorchCheckpoint.Limits
    private let arena: PTArena
    private let persistentLoad: (PTValue) throws -> PTValue

    private var stack: [PTValue] = []
    private var marks: [Int] = []
    /// Indexed by memo slot; pickles number their slots 0, 1, 2, ... so an array is compact.
    private var memo: [PTValue?] = []
    private var memoCount = 0
    private var opStart = 0
    private var currentOp: UInt8 = 0
    private var workLeft: Int

    init(
        bytes: [UInt8], range: Range<Int>, limits: PyTorchCheckpoint.Limits, arena: PTArena,
        persistentLoad: @escaping (PTValue) throws -> PTValue
    ) {
        precondition(range.lowerBound >= 0 && range.upperBound <= bytes.count)
        self.bytes = bytes
        self.start = range.lowerBound
        self.end = range.upperBound
        self.pos = range.lowerBound
        self.limits = limits
        self.arena = arena
        self.persistentLoad = persistentLoad
        self.workLeft = limits.maxPickleWork
    }

    /// Runs to the STOP opcode; returns the unpickled value and the absolute offset just after STOP.
    mutating func load() throws -> (value: PTValue, end: Int) {
        var operations = 0
        while true {
            operations += 1
            if operations > limits.maxPickleOperations {
                throw PyTorchImportError.pickleLimitExceeded(
                    what: "operation count", limit: limits.maxPickleOperations,
                    offset: pos - start)
            }
            opStart = pos
            let op = try readByte()
            currentOp = op
            if op == Op.stop {
                let value = try pop()
                return (value, pos)
            }
            try execute(op)
        }
    }

    // MARK: - Reading

    private var relativeOffset: Int { opStart - start }

    private mutating func readByte() throws -> UInt8 {
        guard pos < end else { throw PyTorchImportError.pickleTruncated(offset: pos - start) }
        let b = bytes[pos]
        pos += 1
        return b
    }

    /// Reserves `count` bytes and returns their range; never reads past the pickle's end.
    private mutating func take(_ count: Int) throws -> Range<Int> {
        guard count >= 0, count <= end - pos else { throw PyTorchImportError.pickleTruncated(offset: pos - start) }
        let r = pos..<(pos + count)
        pos += count
        return r
    }

    private mutating func readLE(_ count: Int) throws -> UInt64 {
        let r = try take(count)
        var v: UInt64 = 0
        for i in r.reversed() { v = (v << 8) | UInt64(bytes[i]) }
        return v
    }

    /// A length field: checked against the given cap first (a clear "limit" error for absurd values), then
    /// against the bytes left (truncation).
    private mutating func readLength(_ width: Int, cap: Int, what: String) throws -> Int {
        let raw = try readLE(width)
        guard raw <= UInt64(cap) else {
            throw PyTorchImportError.pickleLimitExceeded(what: what, limit: cap, offset: relativeOffset)
        }
        return Int(raw)
    }

    private mutating func readString(length: Int) throws -> String {
        let r = try take(length)
        guard let s = String(validating: bytes[r], as: UTF8.self) else {
            throw PyTorchImportError.pickleInvalidString(offset: r.lowerBound - start)
        }
        return s
    }

    /// Python 2 `str` (BINSTRING): UTF-8 when valid, otherwise Latin-1, as torch.load's encoding fallback does.
    private mutating func readByteString(length: Int) throws -> String {
        let r = try take(length)
        if let s = String(validating: bytes[r], as: UTF8.self) { return s }
        return String(String.UnicodeScalarView(bytes[r].map { Unicode.Scalar($0) }))
    }

    /// A newline-terminated line (GLOBAL's module and name).
    private mutating func readLine() throws -> String {
        let cap = limits.maxGlobalNameBytes
        var i = pos
        while i < end, bytes[i] != 0x0a {
            if i - pos >= cap {
                throw PyTorchImportError.pickleLimitExceeded(
                    what: "global name length", limit: cap, offset: relativeOffset)
            }
            i += 1
        }
        guard i < end else { throw PyTorchImportError.pickleTruncated(offset: end - start) }
        guard let s = String(validating: bytes[pos..<i], as: UTF8.self) else {
            throw PyTorchImportError.pickleInvalidString(offset: pos - start)
        }
        pos = i + 1
        return s
    }

    // MARK: - Stack

    private var floor: Int { marks.last ?? 0 }

    private mutating func push(_ v: PTValue) throws {
        guard stack.count < limits.maxStackDepth else {
            throw PyTorchImportError.pickleLimitExceeded(
                what: "stack depth", limit: limits.maxStackDepth, offset: relativeOffset)
        }
        if v.tupleDepth > limits.maxNestingDepth {
            throw PyTorchImportError.pickleLimitExceeded(
                what: "nesting depth", limit: limits.maxNestingDepth, offset: relativeOffset)
        }
        stack.append(v)
    }

    private mutating func pop() throws -> PTValue {
        guard stack.count > floor else {
            throw PyTorchImportError.pickleStackUnderflow(opcode: Op.name(currentOp), offset: relativeOffset)
        }
        return stack.removeLast()
    }

    private func top() throws -> PTValue {
        guard stack.count > floor, let v = stack.last else {
            throw PyTorchImportError.pickleStackUnderflow(opcode: Op.name(currentOp), offset: relativeOffset)
        }
        return v
    }

    private mutating func popMark() throws -> [PTValue] {
        guard let m = marks.popLast() else {
            throw PyTorchImportError.pickleMarkMissing(opcode: Op.name(currentOp), offset: relativeOffset)
        }
        let items = Array(stack[m...])
        stack.removeSubrange(m...)
        return items
    }

    private mutating func pushTuple(_ items: [PTValue]) throws {
        try push(.tuple(PTTuple(items)))
    }

    private func invalid(_ detail: String) -> PyTorchImportError {
        .pickleInvalidOperation(opcode: Op.name(currentOp), detail: detail, offset: relativeOffset)
    }

    private mutating func memoStore(_ index: Int) throws {
        let v = try top()
        guard index < limits.maxMemoEntries else {
            throw PyTorchImportError.pickleLimitExceeded(
                what: "memo index", limit: limits.maxMemoEntries, offset: relativeOffset)
        }
        if index >= memo.count {
            memo.append(contentsOf: repeatElement(nil, count: index + 1 - memo.count))
        }
        if memo[index] == nil { memoCount += 1 }
        memo[index] = v
    }

    private mutating func memoLoad(_ index: Int) throws {
        guard index < memo.count, let v = memo[index] else {
            throw PyTorchImportError.pickleMemoMissing(index: index, offset: relativeOffset)
        }
        try push(v)
    }

    // MARK: - Opcodes

    private mutating func execute(_ op: UInt8) throws {
        switch op {
        case Op.proto:
            let version = Int(try readByte())
            guard version <= 5 else { throw PyTorchImportError.pickleProtocolUnsupported(version) }
        case Op.frame:
            let length = try readLE(8)
            guard length <= UInt64(end - pos) else { throw PyTorchImportError.pickleTruncated(offset: end - start) }

        case Op.emptyDict: try push(.dict(try newDict(ordered: false)))
        case Op.emptyList: try push(.list(try newList()))
        case Op.emptyTuple: try push(.tuple(PTTuple.empty))
        case Op.emptySet: try push(.list(try newList(isSet: true)))
        case Op.mark:
            guard marks.count < limits.maxMarkDepth else {
                throw PyTorchImportError.pickleLimitExceeded(
                    what: "MARK depth", limit: limits.maxMarkDepth, offset: relativeOffset)
            }
            marks.append(stack.count)
        case Op.pop: _ = try pop()
        case Op.popMark: _ = try popMark()
        case Op.dup: try push(try top())

        case Op.none: try push(.none)
        case Op.newtrue: try push(.bool(true))
        case Op.newfalse: try push(.bool(false))
        case Op.binint1: try push(.int(Int64(try readByte())))
        case Op.binint2: try push(.int(Int64(try readLE(2))))
        case Op.binint: try push(.int(Int64(Int32(truncatingIfNeeded: try readLE(4)))))
        case Op.long1:
            let n = Int(try readByte())
            try push(decodeLong(try take(n)))
        case Op.long4:
            let raw = Int32(truncatingIfNeeded: try readLE(4))
            guard raw >= 0 else { throw invalid("negative LONG4 length") }
            guard Int(raw) <= limits.maxLongBytes else {
                throw PyTorchImportError.pickleLimitExceeded(
                    what: "integer width", limit: limits.maxLongBytes, offset: relativeOffset)
            }
            try push(decodeLong(try take(Int(raw))))
        case Op.binfloat:
            let r = try take(8)
            var bits: UInt64 = 0
            for i in r { bits = (bits << 8) | UInt64(bytes[i]) }   // big-endian
            try push(.float(Double(bitPattern: bits)))

        case Op.shortBinunicode:
            try push(.string(try readString(length: Int(try readByte()))))
        case Op.binunicode:
            try push(
                .string(try readString(length: try readLength(4, cap: limits.maxStringBytes, what: "string length"))))
        case Op.binunicode8:
            try push(
                .string(try readString(length: try readLength(8, cap: limits.maxStringBytes, what: "string length"))))
        case Op.shortBinstring:
            try push(.string(try readByteString(length: Int(try readByte()))))
        case Op.binstring:
            let raw = Int32(truncatingIfNeeded: try readLE(4))
            guard raw >= 0 else { throw invalid("negative BINSTRING length") }
            guard Int(raw) <= limits.maxStringBytes else {
                throw PyTorchImportError.pickleLimitExceeded(
                    what: "string length", limit: limits.maxStringBytes, offset: relativeOffset)
            }
            try push(.string(try readByteString(length: Int(raw))))
        case Op.shortBinbytes:
            try push(.bytes(Array(bytes[try take(Int(try readByte()))])))
        case Op.binbytes:
            try push(
                .bytes(Array(bytes[try take(try readLength(4, cap: limits.maxBytesLength, what: "bytes length"))])))
        case Op.binbytes8, Op.bytearray8:
            try push(
                .bytes(Array(bytes[try take(try readLength(8, cap: limits.maxBytesLength, what: "bytes length"))])))

        case Op.tuple: try pushTuple(try popMark())
        case Op.tuple1:
            let a = try pop()
            try pushTuple([a])
        case Op.tuple2:
            let b = try pop(), a = try pop()
            try pushTuple([a, b])
        case Op.tuple3:
            let c = try pop(), b = try pop(), a = try pop()
            try pushTuple([a, b, c])
        case Op.list:
            let l = try newList()
            l.items = try popMark()
            try push(.list(l))
        case Op.dict:
            let items = try popMark()
            guard items.count % 2 == 0 else { throw invalid("odd number of items") }
            let d = try newDict(ordered: false)
            for i in stride(from: 0, to: items.count, by: 2) {
                try charge(hashCost(items[i]))
                d.set(items[i], items[i + 1])
            }
            try push(.dict(d))
        case Op.frozenset:
            let l = try newList(isSet: true)
            l.items = try popMark()
            try push(.list(l))

        case Op.append:
            let v = try pop()
            try appendItems([v], to: try top())
        case Op.appends:
            let items = try popMark()
            try appendItems(items, to: try top())
        case Op.additems:
            let items = try popMark()
            try appendItems(items, to: try top())
        case Op.setitem:
            let v = try pop(), k = try pop()
            try setItems([k, v], in: try top())
        case Op.setitems:
            let items = try popMark()
            guard items.count % 2 == 0 else { throw invalid("odd number of items") }
            try setItems(items, in: try top())

        case Op.binput: try memoStore(Int(try readByte()))
        case Op.longBinput: try memoStore(Int(try readLE(4)))
        case Op.memoize: try memoStore(memoCount)
        case Op.binget: try memoLoad(Int(try readByte()))
        case Op.longBinget: try memoLoad(Int(try readLE(4)))

        case Op.global:
            let module = try readLine()
            let name = try readLine()
            try push(resolveGlobal(module: module, name: name))
        case Op.stackGlobal:
            let n = try pop(), m = try pop()
            guard case .string(let module) = m, case .string(let name) = n else {
                throw invalid("module and name must be strings")
            }
            guard module.utf8.count <= limits.maxGlobalNameBytes, name.utf8.count <= limits.maxGlobalNameBytes else {
                throw PyTorchImportError.pickleLimitExceeded(
                    what: "global name length", limit: limits.maxGlobalNameBytes,
                    offset: relativeOffset)
            }
            try push(resolveGlobal(module: module, name: name))

        case Op.reduce:
            let args = try pop(), callable = try pop()
            try push(try call(callable, args))
        case Op.newobj:
            let args = try pop(), cls = try pop()
            try push(try newObject(cls, args))
        case Op.newobjEx:
            _ = try pop()   // kwargs
            let args = try pop(), cls = try pop()
            try push(try newObject(cls, args))
        case Op.build:
            let state = try pop()
            try build(try top(), state: state)
        case Op.binpersid:
            let pid = try pop()
            try push(try persistentLoad(pid))

        default:
            throw PyTorchImportError.pickleOpcodeUnsupported(opcode: op, offset: relativeOffset)
        }
    }

    private func decodeLong(_ r: Range<Int>) -> PTValue {
        if r.isEmpty { return .int(0) }
        if r.count <= 8 {
            var v: UInt64 = 0
            for i in r.reversed() { v = (v << 8) | UInt64(bytes[i]) }
            let shift = UInt64(64 - 8 * r.count)
            // Sign-extend from the top bit of the last byte.
            return .int(Int64(bitPattern: v << shift) >> Int64(shift))
        }
        // Normalise: drop redundant sign bytes so equal values compare equal.
        var b = Array(bytes[r])
        while b.count > 1 {
            let last = b[b.count - 1], prev = b[b.count - 2]
            if (last == 0 && prev & 0x80 == 0) || (last == 0xff && prev & 0x80 != 0) { b.removeLast() } else { break }
        }
        if b.count <= 8 {
            var v: UInt64 = 0
            for x in b.reversed() { v = (v << 8) | UInt64(x) }
            let shift = UInt64(64 - 8 * b.count)
            return .int(Int64(bitPattern: v << shift) >> Int64(shift))
        }
        return .bigInt(b)
    }

    private func resolveGlobal(module: String, name: String) -> PTValue {
        if let g = PTGlobal.resolve(module: module, name: name) { return .global(g) }
        return .foreign(module + "." + name)
    }

    // MARK: - Containers

    private func appendItems(_ items: [PTValue], to target: PTValue) throws {
        switch target {
        case .list(let l):
            guard l.items.count + items.count <= limits.maxContainerCount else {
                throw PyTorchImportError.pickleLimitExceeded(
                    what: "container size", limit: limits.maxContainerCount, offset: relativeOffset)
            }
            l.items.append(contentsOf: items)
        case .foreign:
            break   // inert: Python would call the foreign object's append method; we call nothing
        default:
            throw invalid("cannot append to a \(target.kindName)")
        }
    }

    private mutating func setItems(_ items: [PTValue], in target: PTValue) throws {
        switch target {
        case .dict(let d):
            guard d.count + items.count / 2 <= limits.maxContainerCount else {
                throw PyTorchImportError.pickleLimitExceeded(
                    what: "container size", limit: limits.maxContainerCount, offset: relativeOffset)
            }
            for i in stride(from: 0, to: items.count, by: 2) {
                try charge(hashCost(items[i]))
                d.set(items[i], items[i + 1])
            }
        case .foreign:
            break
        default:
            throw invalid("cannot set items on a \(target.kindName)")
        }
    }

    private func build(_ target: PTValue, state: PTValue) throws {
        switch target {
        case .dict(let d):
            // An OrderedDict's instance attributes (the state dict's `_metadata`): accepted and ignored.
            d.state = state
        case .foreign:
            break
        default:
            throw invalid("BUILD on a \(target.kindName)")
        }
    }

    // MARK: - Calls

    private mutating func call(_ callable: PTValue, _ args: PTValue) throws -> PTValue {
        switch callable {
        case .foreign(let name):
            return .foreign(name)
        case .global(let g):
            guard case .tuple(let t) = args else {
                throw invalid("arguments to \(g.name) are a \(args.kindName), not a tuple")
            }
            guard t.items.count <= 16 else { throw invalid("\(t.items.count) arguments to \(g.name)") }
            // A foreign value among a tensor constructor's arguments taints the result: it stays inert (fine in an
            // ignored entry, an error naming the global if it reaches the state dict). Containers (OrderedDict,
            // torch.Size) just hold foreign values, which the state-dict check finds later.
            switch g {
            case .rebuildTensor, .rebuildTensorV2, .rebuildTensorV3, .rebuildParameter, .rebuildParameterWithState:
                if let name = try firstForeign(args, depth: 3) { return .foreign(name) }
            default:
                break
            }
            return try construct(g, t.items)
        default:
            throw invalid("\(callable.kindName) is not callable")
        }
    }

    private mutating func newObject(_ cls: PTValue, _ args: PTValue) throws -> PTValue {
        switch cls {
        case .foreign(let name):
            return .foreign(name)
        case .global(.orderedDict):
            return .dict(try newDict(ordered: true))
        default:
            throw invalid("cannot instantiate \(cls.kindName)")
        }
    }

    private mutating func construct(_ g: PTGlobal, _ args: [PTValue]) throws -> PTValue {
        switch g {
        case .orderedDict:
            let d = try newDict(ordered: true)
            if args.isEmpty { return .dict(d) }
            guard args.count == 1 else {
                throw PyTorchImportError.invalidConstructorArguments(
                    callable: g.name, detail: "expected at most 1 argument, got \(args.count)")
            }
            switch args[0] {
            case .dict(let src):
                try charge(src.count)
                for (k, v) in zip(src.keys, src.values) {
                    try charge(hashCost(k))
                    d.set(k, v)
                }
            case .list, .tuple:
                // Python 2's OrderedDict pickles as OrderedDict([[key, value], ...]).
                let pairs = sequenceItems(args[0]) ?? []
                try charge(pairs.count)
                for pair in pairs {
                    guard let kv = sequenceItems(pair), kv.count == 2 else {
                        throw PyTorchImportError.invalidConstructorArguments(
                            callable: g.name, detail: "items must be (key, value) pairs")
                    }
                    try charge(hashCost(kv[0]))
                    d.set(kv[0], kv[1])
                }
            default:
                throw PyTorchImportError.invalidConstructorArguments(
                    callable: g.name, detail: "cannot build from a \(args[0].kindName)")
            }
            return .dict(d)
        case .torchSize:
            guard args.count == 1, let items = sequenceItems(args[0]) else {
                throw PyTorchImportError.invalidConstructorArguments(
                    callable: g.name, detail: "expected one sequence of ints")
            }
            try charge(items.count)
            return .tuple(PTTuple(items))
        case .rebuildTensor, .rebuildTensorV2, .rebuildTensorV3:
            try charge(limits.maxTensorRank * 2)
            return .tensor(try PTTensorBuilder.rebuild(g, args, limits: limits))
        case .rebuildParameter, .rebuildParameterWithState:
            let expected = g == .rebuildParameter ? 3 : 4
            guard args.count == expected else {
                throw PyTorchImportError.invalidConstructorArguments(
                    callable: g.name, detail: "expected \(expected) arguments, got \(args.count)")
            }
            guard case .tensor = args[0] else {
                throw PyTorchImportError.invalidConstructorArguments(
                    callable: g.name, detail: "data is a \(args[0].kindName), not a tensor")
            }
            return args[0]
        case .storageType, .dtype:
            throw invalid("\(g.name) cannot be called while unpickling")
        }
    }

    /// Work that is not proportional to the opcodes read (copying or scanning containers that the memo can
    /// hand out again and again) draws on one budget, so no pickle can make the reader quadratic.
    private mutating func charge(_ units: Int) throws {
        workLeft -= units
        if workLeft < 0 {
            throw PyTorchImportError.pickleLimitExceeded(
                what: "work", limit: limits.maxPickleWork, offset: relativeOffset)
        }
    }

    /// Hashing a dict key costs in proportion to its length (a memoized long string can be reused as a key).
    private func hashCost(_ key: PTValue) -> Int {
        switch key {
        case .string(let s): return 1 + s.utf8.count / 16
        case .bigInt(let b): return 1 + b.count / 16
        default: return 1
        }
    }

    private mutating func newList(isSet: Bool = false) throws -> PTList {
        guard arena.count < limits.maxContainers else {
            throw PyTorchImportError.pickleLimitExceeded(
                what: "container count", limit: limits.maxContainers, offset: relativeOffset)
        }
        return arena.list(isSet: isSet)
    }

    private mutating func newDict(ordered: Bool) throws -> PTDict {
        guard arena.count < limits.maxContainers else {
            throw PyTorchImportError.pickleLimitExceeded(
                what: "container count", limit: limits.maxContainers, offset: relativeOffset)
        }
        return arena.dict(ordered: ordered)
    }

    /// The first foreign global in `v`, looking through tuples, lists and dicts up to `depth` levels.
    private mutating func firstForeign(_ v: PTValue, depth: Int) throws -> String? {
        switch v {
        case .foreign(let name):
            return name
        case .tuple(let t) where depth > 0:
            try charge(t.items.count)
            for item in t.items { if let n = try firstForeign(item, depth: depth - 1) { return n } }
        case .list(let l) where depth > 0:
            try charge(l.items.count)
            for item in l.items { if let n = try firstForeign(item, depth: depth - 1) { return n } }
        case .dict(let d) where depth > 0:
            try charge(2 * d.count)
            for item in d.keys { if let n = try firstForeign(item, depth: depth - 1) { return n } }
            for item in d.values { if let n = try firstForeign(item, depth: depth - 1) { return n } }
            if let state = d.state, let n = try firstForeign(state, depth: depth - 1) { return n }
        default:
            break
        }
        return nil
    }

    private func sequenceItems(_ v: PTValue) -> [PTValue]? {
        switch v {
        case .tuple(let t): return t.items
        case .list(let l): return l.items
        default: return nil
        }
    }
}

/// `torch._utils._rebuild_tensor*` argument checking: everything a tensor view needs, validated against its storage.
enum PTTensorBuilder {
    static func rebuild(_ g: PTGlobal, _ args: [PTValue], limits: PyTorchCheckpoint.Limits) throws -> PTTensorSpec {
        func fail(_ detail: String) -> PyTorchImportError {
            .invalidConstructorArguments(callable: g.name, detail: detail)
        }
        let validCounts: ClosedRange<Int>
        switch g {
        case .rebuildTensor: validCounts = 4...4
        case .rebuildTensorV2: validCounts = 6...7
        default: validCounts = 7...8
        }
        guard validCounts.contains(args.count) else {
            throw fail(
                "expected \(validCounts.lowerBound == validCounts.upperBound ? "\(validCounts.lowerBound)" : "\(validCounts.lowerBound) or \(validCounts.upperBound)") arguments, got \(args.count)"
            )
        }
        guard case .storage(let storage) = args[0] else { throw fail("storage is a \(args[0].kindName)") }
        guard case .int(let rawOffset) = args[1], rawOffset >= 0, rawOffset <= Int64(Int32.max) * 1024 else {
            throw fail("storage offset is not a non-negative int")
        }
        let offset = Int(rawOffset)
        let shape = try intSequence(args[2], what: "size", fail: fail, limits: limits)
        let stride = try intSequence(args[3], what: "stride", fail: fail, limits: limits)
        guard shape.count == stride.count else {
            throw fail("size has \(shape.count) dimensions, stride \(stride.count)")
        }
        var scalarType = storage.record.type.scalarType
        if g == .rebuildTensorV3 {
            guard case .global(.dtype(let t)) = args[6] else { throw fail("dtype is a \(args[6].kindName)") }
            scalarType = t
        }
        guard let count = elementCount(shape) else { throw fail("size \(shape) overflows") }
        // Bounds: the last element addressed must lie inside the storage view.
        if count > 0 {
            var lastIndex = offset
            for (n, s) in zip(shape, stride) {
                let (p, o1) = (n - 1).multipliedReportingOverflow(by: s)
                let (q, o2) = lastIndex.addingReportingOverflow(p)
                guard !o1, !o2 else { throw fail("size and stride overflow") }
                lastIndex = q
            }
            guard lastIndex < Int.max else { throw fail("size and stride overflow") }
            let (neededBytes, o3) = (lastIndex + 1).multipliedReportingOverflow(by: scalarType.elementSize)
            guard !o3 else { throw fail("size and stride overflow") }
            guard neededBytes <= storage.byteCount else {
                throw PyTorchImportError.storageTooSmall(
                    storage: storage.record.key, neededBytes: neededBytes,
                    availableBytes: storage.byteCount)
            }
        }
        return PTTensorSpec(
            storage: storage, scalarType: scalarType, storageOffset: offset, shape: shape,
            stride: stride, count: count)
    }

    private static func intSequence(
        _ v: PTValue, what: String, fail: (String) -> PyTorchImportError,
        limits: PyTorchCheckpoint.Limits
    ) throws -> [Int] {
        let items: [PTValue]
        switch v {
        case .tuple(let t): items = t.items
        case .list(let l): items = l.items
        default: throw fail("\(what) is a \(v.kindName), not a tuple")
        }
        guard items.count <= limits.maxTensorRank else { throw fail("\(what) has \(items.count) dimensions") }
        return try items.map {
            guard case .int(let i) = $0, i >= 0, i <= Int64(Int.max / 2) else {
                throw fail("\(what) must hold non-negative ints")
            }
            return Int(i)
        }
    }

    static func elementCount(_ shape: [Int]) -> Int? {
        var total = 1
        for d in shape {
            let (p, o) = total.multipliedReportingOverflow(by: d)
            if o { return nil }
            total = p
        }
        return total
    }
}
