import Importers

/// A minimal protobuf writer for the tests: encodes an `ONNXModel` back to ONNX bytes (field numbers of onnx.proto),
/// so that tests can decode a fixture, change one thing, and hand the result to the importer. Independent of the
/// protobuf-c code under test. Tensor extras let a test write what a valid model never holds.
struct ProtoWriter {
    var bytes: [UInt8] = []

    mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 { bytes.append(UInt8(v & 0x7f) | 0x80); v >>= 7 }
        bytes.append(UInt8(v))
    }
    mutating func tag(_ field: Int, _ wire: Int) { varint(UInt64(field << 3 | wire)) }
    mutating func int(_ field: Int, _ value: Int64) { tag(field, 0); varint(UInt64(bitPattern: value)) }
    mutating func fixed32(_ field: Int, _ value: UInt32) {
        tag(field, 5)
        for i in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * UInt32(i)))) }
    }
    mutating func bytesField(_ field: Int, _ value: [UInt8]) {
        tag(field, 2); varint(UInt64(value.count)); bytes += value
    }
    mutating func string(_ field: Int, _ value: String) { bytesField(field, Array(value.utf8)) }
    mutating func message(_ field: Int, _ build: (inout ProtoWriter) -> Void) {
        var inner = ProtoWriter()
        build(&inner)
        bytesField(field, inner.bytes)
    }
    mutating func packedInts(_ field: Int, _ values: [Int64]) {
        var inner = ProtoWriter()
        for v in values { inner.varint(UInt64(bitPattern: v)) }
        bytesField(field, inner.bytes)
    }
}

/// Things a test may add to an encoded tensor.
struct TensorExtras {
    var dataLocationExternal = false
    var externalLocation: String?
    var segment = false
    var rawDims: [Int64]?
}

enum ONNXTestEncoder {
    static func encode(_ model: ONNXModel, includeGraph: Bool = true, extras: [String: TensorExtras] = [:]) -> [UInt8] {
        var w = ProtoWriter()
        if let ir = model.irVersion { w.int(1, ir) }
        if let p = model.producerName { w.string(2, p) }
        if let v = model.producerVersion { w.string(3, v) }
        if includeGraph { w.message(7) { encodeGraph(model.graph, into: &$0, extras: extras) } }
        for o in model.opsetImports {
            w.message(8) { m in
                m.string(1, o.domain); m.int(2, o.version)
            }
        }
        return w.bytes
    }

    static func encodeGraph(_ g: ONNXGraph, into w: inout ProtoWriter, extras: [String: TensorExtras]) {
        for n in g.nodes { w.message(1) { encodeNode(n, into: &$0) } }
        if let name = g.name { w.string(2, name) }
        for t in g.initializers { w.message(5) { encodeTensor(t, into: &$0, extras: extras[t.name] ?? .init()) } }
        for i in g.inputs { w.message(11) { encodeValueInfo(i, into: &$0) } }
        for o in g.outputs { w.message(12) { encodeValueInfo(o, into: &$0) } }
    }

    static func encodeValueInfo(_ v: ONNXValueInfo, into w: inout ProtoWriter) {
        w.string(1, v.name)
        w.message(2) { type in
            type.message(1) { tensor in
                if let e = v.elementType { tensor.int(1, Int64(e)) }
                if let shape = v.shape {
                    tensor.message(2) { s in for d in shape { s.message(1) { $0.int(1, Int64(d)) } } }
                }
            }
        }
    }

    static func encodeNode(_ n: ONNXNode, into w: inout ProtoWriter) {
        for i in n.inputs { w.string(1, i) }
        for o in n.outputs { w.string(2, o) }
        if let name = n.name { w.string(3, name) }
        w.string(4, n.opType)
        for key in n.attributes.keys.sorted() {
            w.message(5) { encodeAttribute(key, n.attributes[key]!, into: &$0) }
        }
        if !n.domain.isEmpty { w.string(7, n.domain) }
    }

    static func encodeAttribute(_ name: String, _ a: ONNXAttribute, into w: inout ProtoWriter) {
        w.string(1, name)
        switch a {
        case .float(let f): w.fixed32(2, f.bitPattern); w.int(20, 1)
        case .int(let i): w.int(3, i); w.int(20, 2)
        case .string(let s): w.bytesField(4, s); w.int(20, 3)
        case .tensor(let t): w.message(5) { encodeTensor(t, into: &$0, extras: .init()) }; w.int(20, 4)
        case .floats(let fs): for f in fs { w.fixed32(7, f.bitPattern) }; w.int(20, 6)
        case .ints(let values): for v in values { w.int(8, v) }; w.int(20, 7)
        case .strings(let ss): for s in ss { w.bytesField(9, s) }; w.int(20, 8)
        case .tensors(let ts):
            for t in ts { w.message(10) { encodeTensor(t, into: &$0, extras: .init()) } }; w.int(20, 9)
        case .unsupported(let type): w.int(20, Int64(type))
        }
    }

    static func encodeTensor(_ t: ONNXTensor, into w: inout ProtoWriter, extras: TensorExtras) {
        w.packedInts(1, extras.rawDims ?? t.dims.map(Int64.init))
        w.int(2, Int64(t.dataType))
        if extras.segment {
            w.message(3) {
                $0.int(1, 0); $0.int(2, 1)
            }
        }
        w.string(8, t.name)
        switch t.payload {
        case .raw(let bytes): w.bytesField(9, bytes)
        case .floats(let values):
            var inner = ProtoWriter()
            for v in values {
                for i in 0..<4 { inner.bytes.append(UInt8(truncatingIfNeeded: v.bitPattern >> (8 * UInt32(i)))) }
            }
            w.bytesField(4, inner.bytes)
        case .int32s(let values): w.packedInts(5, values.map(Int64.init))
        case .int64s(let values): w.packedInts(7, values)
        case .doubles(let values):
            var inner = ProtoWriter()
            for v in values {
                for i in 0..<8 { inner.bytes.append(UInt8(truncatingIfNeeded: v.bitPattern >> (8 * UInt64(i)))) }
            }
            w.bytesField(10, inner.bytes)
        case .none: break
        }
        if extras.dataLocationExternal || extras.externalLocation != nil {
            if let location = extras.externalLocation {
                w.message(13) {
                    $0.string(1, "location"); $0.string(2, location)
                }
            }
            if extras.dataLocationExternal { w.int(14, 1) }
        }
    }
}
