import Foundation
import Importers
import SiamMaskLayout
import TestSupport
import XCTest

/// Hand-made corruptions of the fixtures, each of which must end in one specific `ONNXImportError` with a clear
/// one-line description, and a seeded random mutation loop that must never crash.
final class ONNXCorruptionTests: XCTestCase {
    typealias Source = (file: String, bytes: [UInt8])

    struct Corruption {
        let label: String
        /// The first source is the corrupted one; the others complete the set when the error is only found once
        /// every file is in (folding happens after the check that nothing is missing).
        let sources: () throws -> [Source]
        var options = ONNXImportOptions()
        /// Returns true when the error is the expected case.
        let expect: (ONNXImportError) -> Bool
        /// A fragment the description must contain.
        let mentions: String
    }

    // MARK: - Fixture editing helpers

    static let folded = ONNXFixture.folded
    static let unfolded = ONNXFixture.unfolded

    static func bytes(_ name: String) throws -> [UInt8] { try ONNXFixture.bytes(name) }

    /// Decodes a fixture, lets `edit` change it, re-encodes it.
    static func edited(
        _ name: String, extras: [String: TensorExtras] = [:], includeGraph: Bool = true,
        _ edit: (inout ONNXModel) throws -> Void = { _ in }
    ) throws -> [UInt8] {
        var model = try ONNXFixture.model(name)
        try edit(&model)
        return ONNXTestEncoder.encode(model, includeGraph: includeGraph, extras: extras)
    }

    /// The set of three graphs of one variant with graph `index` replaced.
    static func set(_ files: [String], replacing index: Int, with bytes: [UInt8]) throws -> [Source] {
        var sources: [Source] = [("corrupt-" + files[index], bytes)]
        for (i, f) in files.enumerated() where i != index { sources.append((f, try Self.bytes(f))) }
        return sources
    }

    static func nodeIndex(_ model: ONNXModel, _ predicate: (ONNXNode) -> Bool) throws -> Int {
        try XCTUnwrap(model.graph.nodes.firstIndex(where: predicate))
    }

    /// The Conv node whose weight initializer is named `weight`.
    static func conv(_ model: ONNXModel, weight: String) throws -> Int {
        try nodeIndex(model) { $0.opType == "Conv" && $0.inputs.count > 1 && $0.inputs[1] == weight }
    }

    static func initializer(_ model: ONNXModel, _ name: String) throws -> Int {
        try XCTUnwrap(model.graph.initializers.firstIndex { $0.name == name })
    }

    /// Byte offsets of the top-level fields of a protobuf message: (field number, start of its tag).
    static func topLevelFields(_ bytes: [UInt8]) -> [(field: Int, offset: Int)] {
        var fields: [(Int, Int)] = []
        var i = 0
        func varint() -> UInt64 {
            var value: UInt64 = 0, shift: UInt64 = 0
            while i < bytes.count {
                let b = bytes[i]; i += 1; value |= UInt64(b & 0x7f) << shift; shift += 7; if b < 0x80 { break }
            }
            return value
        }
        while i < bytes.count {
            let start = i
            let tag = varint()
            fields.append((Int(tag >> 3), start))
            switch tag & 7 {
            case 0: _ = varint()
            case 1: i += 8
            case 2: i += Int(varint())
            case 5: i += 4
            default: return fields
            }
        }
        return fields
    }

    // MARK: - The table

    static func corruptions() throws -> [Corruption] {
        let template = folded[0], refine = folded[2]
        let templateBytes = try bytes(template)
        let fields = topLevelFields(templateBytes)
        let graphOffset = try XCTUnwrap(fields.first { $0.field == 7 }).offset
        let stemWeight = try ONNXFixture.model(template).graph.nodes.first { $0.opType == "Conv" }!.inputs[1]

        var table: [Corruption] = [
            Corruption(
                label: "empty file", sources: { [("empty.onnx", [])] },
                expect: { if case .notONNX = $0 { return true } else { return false } }, mentions: "empty"),
            Corruption(
                label: "a PyTorch zip checkpoint",
                sources: { [("model.pth", [0x50, 0x4b, 0x03, 0x04] + [UInt8](repeating: 0, count: 60))] },
                expect: { if case .notONNX = $0 { return true } else { return false } }, mentions: "zip"),
            Corruption(
                label: "a legacy pickle",
                sources: { [("model.pth", [0x80, 0x02, 0x8a, 0x0a] + [UInt8](repeating: 0x6c, count: 20))] },
                expect: { if case .notONNX = $0 { return true } else { return false } }, mentions: "pickle"),
            Corruption(
                label: "not-ONNX bytes",
                sources: { [("notes.txt", [0xff, 0xff, 0xff, 0xff] + Array("not a model at all".utf8))] },
                expect: { if case .malformedProtobuf = $0 { return true } else { return false } }, mentions: "notes.txt"
            ),
            Corruption(
                label: "truncated after one byte", sources: { [(template, Array(templateBytes.prefix(1)))] },
                expect: { if case .malformedProtobuf = $0 { return true } else { return false } },
                mentions: "not a valid ONNX protobuf"),
            Corruption(
                label: "truncated in the graph",
                sources: { [(template, Array(templateBytes.prefix(templateBytes.count / 2)))] },
                expect: { if case .malformedProtobuf = $0 { return true } else { return false } }, mentions: template),
            Corruption(
                label: "truncated one byte short", sources: { [(template, Array(templateBytes.dropLast()))] },
                expect: { if case .malformedProtobuf = $0 { return true } else { return false } }, mentions: template),
            Corruption(
                label: "truncated just before the graph field",
                sources: { [(template, Array(templateBytes.prefix(graphOffset)))] },
                expect: { if case .noGraph = $0 { return true } else { return false } }, mentions: "no graph"),
            Corruption(
                label: "graph field with the varint wire type",
                sources: {
                    var b = templateBytes
                    b[graphOffset] = 7 << 3 | 0
                    return [(template, b)]
                }, expect: { if case .malformedProtobuf = $0 { return true } else { return false } }, mentions: template
            ),
            Corruption(
                label: "huge length prefix",
                sources: {
                    var w = ProtoWriter()
                    w.int(1, 8)
                    w.tag(7, 2)
                    w.varint(0xffff_ffff_ff)
                    return [("huge.onnx", w.bytes + [UInt8](repeating: 0, count: 32))]
                }, expect: { if case .malformedProtobuf = $0 { return true } else { return false } },
                mentions: "huge.onnx"),
            Corruption(
                label: "a file with no graph", sources: { [(template, try edited(template, includeGraph: false))] },
                expect: { if case .noGraph = $0 { return true } else { return false } }, mentions: "no graph"),
            Corruption(
                label: "raw_data size not matching dims",
                sources: {
                    [
                        (
                            template,
                            try edited(template) { m in
                                let i = try initializer(m, stemWeight)
                                let t = m.graph.initializers[i]
                                guard case .raw(let raw) = t.payload else {
                                    throw XCTSkip("fixture weights are not raw_data")
                                }
                                m.graph.initializers[i] = ONNXTensor(
                                    name: t.name, dims: t.dims, dataType: t.dataType,
                                    payload: .raw(Array(raw.dropLast(4))))
                            }
                        )
                    ]
                },
                expect: {
                    if case .dataSizeMismatch(_, stemWeight, "raw_data", _, _) = $0 {
                        return true
                    } else {
                        return false
                    }
                },
                mentions: "raw_data"),
            Corruption(
                label: "negative dims",
                sources: {
                    [(template, try edited(template, extras: [stemWeight: TensorExtras(rawDims: [-4, 3, 7, 7])]))]
                },
                expect: {
                    if case .invalidDims(_, stemWeight, [-4, 3, 7, 7]) = $0 { return true } else { return false }
                },
                mentions: "invalid dims"),
            Corruption(
                label: "huge dims",
                sources: {
                    [
                        (
                            template,
                            try edited(template, extras: [stemWeight: TensorExtras(rawDims: [1 << 30, 1 << 30, 7, 7])])
                        )
                    ]
                }, expect: { if case .invalidDims = $0 { return true } else { return false } }, mentions: stemWeight),
            Corruption(
                label: "unsupported data_type",
                sources: {
                    [
                        (
                            template,
                            try edited(template) { m in
                                let i = try initializer(m, stemWeight)
                                let t = m.graph.initializers[i]
                                m.graph.initializers[i] = ONNXTensor(
                                    name: t.name, dims: t.dims, dataType: 8, payload: t.payload)
                            }
                        )
                    ]
                },
                expect: { if case .unsupportedDataType(_, stemWeight, 8) = $0 { return true } else { return false } },
                mentions: "string"),
            Corruption(
                label: "external data",
                sources: {
                    [
                        (
                            template,
                            try edited(
                                template,
                                extras: [
                                    stemWeight: TensorExtras(
                                        dataLocationExternal: true, externalLocation: "weights.bin")
                                ])
                        )
                    ]
                },
                expect: {
                    if case .externalData(_, stemWeight, "weights.bin") = $0 { return true } else { return false }
                },
                mentions: "external"),
            Corruption(
                label: "segmented tensor",
                sources: {
                    [(template, try edited(template, extras: [stemWeight: TensorExtras(segment: true)]))]
                }, expect: { if case .segmentedTensor = $0 { return true } else { return false } },
                mentions: "segmented"),
            Corruption(
                label: "missing initializer referenced by a Conv",
                sources: {
                    [
                        (
                            template,
                            try edited(template) { m in m.graph.initializers.remove(at: try initializer(m, stemWeight))
                            }
                        )
                    ]
                },
                expect: {
                    if case .missingInitializer(_, let node, stemWeight) = $0 {
                        return node.opType == "Conv"
                    } else {
                        return false
                    }
                },
                mentions: "no initializer"),
            Corruption(
                label: "Conv weight with wrong rank",
                sources: {
                    [
                        (
                            template,
                            try edited(template) { m in
                                let i = try initializer(m, stemWeight)
                                let t = m.graph.initializers[i]
                                m.graph.initializers[i] = ONNXTensor(
                                    name: t.name, dims: [t.dims[0], t.elementCount / t.dims[0]],
                                    dataType: t.dataType, payload: t.payload)
                            }
                        )
                    ]
                }, expect: { if case .wrongRank(_, _, stemWeight, 4, 2) = $0 { return true } else { return false } },
                mentions: "rank 2"),
            Corruption(
                label: "a node reading an undefined value",
                sources: {
                    [
                        (
                            template,
                            try edited(template) { m in
                                let i = try nodeIndex(m) { $0.opType == "Relu" }
                                m.graph.nodes[i].inputs[0] = "nowhere"
                            }
                        )
                    ]
                }, expect: { if case .undefinedValue(_, _, "nowhere") = $0 { return true } else { return false } },
                mentions: "nowhere"),
            Corruption(
                label: "nodes out of topological order",
                sources: {
                    [
                        (
                            template,
                            try edited(template) { m in
                                let first = m.graph.nodes.removeFirst()
                                m.graph.nodes.append(first)
                                for i in m.graph.nodes.indices { m.graph.nodes[i].index = i }
                            }
                        )
                    ]
                }, expect: { if case .structureNotRecognized = $0 { return true } else { return false } },
                mentions: "topologically"),
            Corruption(
                label: "an extra unmatched conv",
                sources: {
                    [
                        (
                            template,
                            try edited(template) { m in
                                let values = [Float](repeating: 0.5, count: 5 * 3 * 3 * 3)
                                m.graph.initializers.append(.float32(name: "extra.weight", dims: [5, 3, 3, 3], values))
                                m.graph.nodes.append(
                                    ONNXNode(
                                        index: m.graph.nodes.count, name: "extra", opType: "Conv", domain: "",
                                        inputs: [m.graph.inputs[0].name, "extra.weight"], outputs: ["extra_out"],
                                        attributes: [:]))
                            }
                        )
                    ]
                },
                expect: {
                    if case .unmatchedConvolution(_, let node, [5, 3, 3, 3]) = $0 {
                        return node.name == "extra"
                    } else {
                        return false
                    }
                },
                mentions: "matches no SiamMask convolution"),
            Corruption(
                label: "a conv with the wrong stride",
                sources: {
                    [
                        (
                            template,
                            try edited(template) { m in
                                let i = try conv(m, weight: stemWeight)
                                m.graph.nodes[i].attributes["strides"] = .ints([1, 1])
                            }
                        )
                    ]
                },
                expect: {
                    if case .attributeMismatch(_, _, "features.features.conv1", "strides", [2, 2], [1, 1]) = $0 {
                        return true
                    } else {
                        return false
                    }
                },
                mentions: "strides"),
            Corruption(
                label: "a conv weight of the wrong shape",
                sources: {
                    [
                        (
                            template,
                            try edited(template) { m in
                                // layer2.1.conv2 (the 3x3 of an identity block) loses its spatial extent: 3x3 -> 1x1.
                                let convs = m.graph.nodes.filter { $0.opType == "Conv" }
                                let node = convs.first { n in
                                    n.attributes["pads"]?.intsValue == [1, 1, 1, 1]
                                        && (m.graph.initializers.first { $0.name == n.inputs[1] }?.dims[1] ?? 0) > 4
                                }!
                                let i = try initializer(m, node.inputs[1])
                                let t = m.graph.initializers[i]
                                let dims = [t.dims[0], t.dims[1], 1, 1]
                                m.graph.initializers[i] = .float32(
                                    name: t.name, dims: dims, [Float](repeating: 0.1, count: dims.reduce(1, *)))
                            }
                        )
                    ]
                },
                expect: {
                    if case .shapeMismatch(_, _, let tensor, let e, let a) = $0 {
                        return tensor.hasSuffix("conv2.weight") && e[2] == 3 && a[2] == 1
                    } else {
                        return false
                    }
                },
                mentions: "conv2.weight"),
            Corruption(
                label: "a BatchNormalization whose params have the wrong length",
                sources: {
                    [
                        (
                            unfolded[0],
                            try edited(unfolded[0]) { m in
                                let i = try initializer(m, "features.features.layer1.0.bn2.running_mean")
                                let t = m.graph.initializers[i]
                                m.graph.initializers[i] = .float32(
                                    name: t.name, dims: [t.dims[0] + 1], [Float](repeating: 0, count: t.dims[0] + 1))
                            }
                        )
                    ]
                },
                expect: {
                    if case .batchNormParameterLength(_, let node, let p, _, _) = $0 {
                        return node.opType == "BatchNormalization" && p.contains("running_mean")
                    } else {
                        return false
                    }
                },
                mentions: "output channels"),
            Corruption(
                label: "a BatchNormalization that follows no convolution",
                sources: {
                    [
                        (
                            unfolded[0],
                            try edited(unfolded[0]) { m in
                                var bn = m.graph.nodes.first { $0.opType == "BatchNormalization" }!
                                bn.inputs[0] = m.graph.inputs[0].name
                                bn.outputs = ["stray_bn_out"]
                                bn.name = "stray"
                                bn.index = m.graph.nodes.count
                                m.graph.nodes.append(bn)
                            }
                        )
                    ]
                },
                expect: {
                    if case .unattachedBatchNorm(_, let node) = $0 { return node.name == "stray" } else { return false }
                },
                mentions: "does not directly follow"),
            Corruption(
                label: "a BatchNormalization in training mode",
                sources: {
                    [
                        (
                            unfolded[0],
                            try edited(unfolded[0]) { m in
                                let i = try nodeIndex(m) { $0.opType == "BatchNormalization" }
                                m.graph.nodes[i].attributes["training_mode"] = .int(1)
                            }
                        )
                    ]
                },
                expect: {
                    if case .invalidAttribute(_, _, "training_mode", _) = $0 { return true } else { return false }
                },
                mentions: "eval mode"),
            Corruption(
                label: "a correlation head with an unknown output count",
                sources: {
                    [
                        (
                            folded[1],
                            try edited(folded[1]) { m in
                                let i = try initializer(m, "rpn_model.cls.head.3.weight")
                                let t = m.graph.initializers[i]
                                let dims = [11] + t.dims.dropFirst()
                                m.graph.initializers[i] = .float32(
                                    name: t.name, dims: dims, [Float](repeating: 0, count: dims.reduce(1, *)))
                                let b = try initializer(m, "rpn_model.cls.head.3.bias")
                                m.graph.initializers[b] = .float32(
                                    name: "rpn_model.cls.head.3.bias", dims: [11], [Float](repeating: 0, count: 11))
                            }
                        )
                    ]
                },
                expect: {
                    if case .structureNotRecognized(_, _, let detail) = $0 {
                        return detail.contains("11 outputs")
                    } else {
                        return false
                    }
                },
                mentions: "cls (10)"),
            Corruption(
                label: "a weight named as another layer than where it sits",
                sources: {
                    [
                        (
                            folded[1],
                            try edited(folded[1]) { m in
                                // The stem's anonymous folded weight gets the official name of layer1.0.conv1.
                                let i = try initializer(
                                    m, try XCTUnwrap(m.graph.nodes.first { $0.opType == "Conv" }).inputs[1])
                                let old = m.graph.initializers[i].name
                                let t = m.graph.initializers[i]
                                m.graph.initializers[i] = ONNXTensor(
                                    name: "features.features.layer1.0.conv1.weight", dims: t.dims, dataType: t.dataType,
                                    payload: t.payload)
                                for n in m.graph.nodes.indices {
                                    m.graph.nodes[n].inputs = m.graph.nodes[n].inputs.map {
                                        $0 == old ? "features.features.layer1.0.conv1.weight" : $0
                                    }
                                }
                            }
                        )
                    ]
                },
                expect: {
                    if case .nameContradictsStructure(
                        _, _, "features.features.layer1.0.conv1", "features.features.conv1") = $0
                    {
                        return true
                    } else {
                        return false
                    }
                },
                mentions: "named as"),
            Corruption(
                label: "a BN-followed conv with neither BN nor bias",
                sources: {
                    try set(
                        unfolded, replacing: 0,
                        with: try edited(unfolded[0]) { m in
                            // Drop layer1.0.bn1 and let its readers use the convolution's output directly.
                            let i = try nodeIndex(m) {
                                $0.opType == "BatchNormalization"
                                    && $0.inputs[1] == "features.features.layer1.0.bn1.weight"
                            }
                            let bn = m.graph.nodes.remove(at: i)
                            for n in m.graph.nodes.indices {
                                m.graph.nodes[n].index = n
                                m.graph.nodes[n].inputs = m.graph.nodes[n].inputs.map {
                                    $0 == bn.outputs[0] ? bn.inputs[0] : $0
                                }
                            }
                        })
                },
                expect: {
                    if case .missingBatchNorm(_, _, "features.features.layer1.0.conv1") = $0 {
                        return true
                    } else {
                        return false
                    }
                },
                mentions: "neither"),
            Corruption(
                label: "a NaN in a weight",
                sources: {
                    try set(
                        folded, replacing: 2,
                        with: try edited(refine) { m in
                            let i = try initializer(m, "refine_model.post1.weight")
                            let t = m.graph.initializers[i]
                            var values = try t.floatValues()
                            values[0] = .nan
                            m.graph.initializers[i] = .float32(name: t.name, dims: t.dims, values)
                        })
                },
                expect: {
                    if case .invalidWeights(_, _, let detail) = $0 {
                        return detail.contains("NaN")
                    } else {
                        return false
                    }
                },
                mentions: "post1"),
        ]
        var small = ONNXReadLimits()
        small.maxFileBytes = 1000
        table.append(
            Corruption(
                label: "a file over the size limit", sources: { [(template, templateBytes)] },
                options: ONNXImportOptions(limits: small),
                expect: { if case .fileTooLarge(_, _, 1000) = $0 { return true } else { return false } },
                mentions: "limit"))
        var tight = ONNXReadLimits()
        tight.decodeBudgetFactor = 1
        tight.decodeBudgetBase = 0
        table.append(
            Corruption(
                label: "decoding over the memory budget", sources: { [(template, templateBytes)] },
                options: ONNXImportOptions(limits: tight),
                expect: { if case .decodedSizeLimit = $0 { return true } else { return false } }, mentions: "memory"))
        return table
    }

    func testEveryCorruptionEndsInItsOwnError() throws {
        let table = try Self.corruptions()
        XCTAssertGreaterThanOrEqual(table.count, 15)
        for c in table {
            let sources: [Source]
            do { sources = try c.sources() } catch {
                XCTFail("\(c.label): building the case failed: \(error)"); continue
            }
            do {
                _ = try ONNXImporter.importWeights(from: sources, options: c.options)
                XCTFail("\(c.label): imported without error")
            } catch let error as ONNXImportError {
                let text = error.description
                if ProcessInfo.processInfo.environment["ONNX_TEST_VERBOSE"] != nil { print("[\(c.label)] \(text)") }
                XCTAssertTrue(c.expect(error), "\(c.label): unexpected error \(text)")
                XCTAssertFalse(text.contains("\n"), "\(c.label): description spans lines")
                XCTAssertTrue(text.contains(c.mentions), "\(c.label): '\(text)' should mention '\(c.mentions)'")
            } catch {
                XCTFail("\(c.label): not an ONNXImportError: \(error)")
            }
        }
    }

    /// Random edits of real exports, of their bytes and of their decoded graphs: every outcome must be a result or
    /// an ONNXImportError, never a crash.
    func testRandomMutationsNeverCrash() throws {
        var rng = SplitMix64(
            seed: ProcessInfo.processInfo.environment["ONNX_MUTATION_SEED"].flatMap(UInt64.init) ?? 0x5eed_0_0e)
        let files = ONNXFixture.folded + ONNXFixture.unfolded
        let originals = try files.map { (file: $0, bytes: try ONNXFixture.bytes($0)) }
        let decoded = try originals.map { (file: $0.file, model: try ONNXModel.decode($0.bytes, file: $0.file)) }
        var outcomes: [String: Int] = [:]
        // 400 keeps the debug run near two seconds; ONNX_MUTATION_ITERATIONS runs a longer soak.
        let iterations = ProcessInfo.processInfo.environment["ONNX_MUTATION_ITERATIONS"].flatMap(Int.init) ?? 400
        for iteration in 0..<iterations {
            let target = iteration % originals.count
            let bytes: [UInt8]
            if iteration % 2 == 0 {
                bytes = Self.mutateBytes(originals[target].bytes, &rng)
            } else {
                var model = decoded[target].model
                for _ in 0..<(1 + Int(rng.next() % 3)) { Self.mutateGraph(&model, &rng) }
                bytes = ONNXTestEncoder.encode(model)
            }
            do {
                let model = try ONNXModel.decode(bytes, file: "mutant.onnx")
                // The mutant completes the other two graphs of its variant.
                let variant = target < 3 ? 0 : 3
                var models = Array(decoded[variant..<(variant + 3)])
                models[target - variant] = (file: "mutant.onnx", model: model)
                _ = try ONNXImporter.importWeights(from: models)
                outcomes["imported", default: 0] += 1
            } catch let error as ONNXImportError {
                XCTAssertFalse(error.description.isEmpty || error.description.contains("\n"))
                outcomes[caseName(error), default: 0] += 1
            } catch {
                XCTFail("mutation \(iteration): not an ONNXImportError: \(error)")
            }
        }
        if ProcessInfo.processInfo.environment["ONNX_TEST_VERBOSE"] != nil { print(outcomes) }
        XCTAssertEqual(outcomes.values.reduce(0, +), iterations)
        // The loop must reach well beyond the protobuf parser.
        XCTAssertGreaterThan(outcomes.count, 8, "\(outcomes)")
    }

    static func mutateBytes(_ original: [UInt8], _ rng: inout SplitMix64) -> [UInt8] {
        var bytes = original
        for _ in 0..<(1 + Int(rng.next() % 4)) {
            guard !bytes.isEmpty else { break }
            // Bias half the edits towards the first kilobyte, where the graph's structure (not weights) lives.
            let span = rng.next() % 2 == 0 ? min(bytes.count, 1024) : bytes.count
            let at = Int(rng.next() % UInt64(span))
            switch rng.next() % 5 {
            case 0: bytes[at] ^= UInt8(1 << (rng.next() % 8))
            case 1: bytes[at] = UInt8(truncatingIfNeeded: rng.next())
            case 2: bytes.insert(UInt8(truncatingIfNeeded: rng.next()), at: at)
            case 3: bytes.remove(at: at)
            default: bytes.removeSubrange(at...)
            }
        }
        return bytes
    }

    static func mutateGraph(_ model: inout ONNXModel, _ rng: inout SplitMix64) {
        func pick(_ n: Int) -> Int { Int(rng.next() % UInt64(max(1, n))) }
        func wild() -> Int64 {
            [0, 1, 2, 3, -1, -7, 15, 3969, Int64(Int32.max), Int64.max, Int64.min][pick(11)]
        }
        var g = model.graph
        guard !g.nodes.isEmpty, !g.initializers.isEmpty else { return }
        let values = g.nodes.flatMap(\.outputs) + g.initializers.map(\.name) + g.inputs.map(\.name) + ["", "ghost"]
        let n = pick(g.nodes.count), t = pick(g.initializers.count)
        switch rng.next() % 12 {
        case 0:
            if !g.nodes[n].inputs.isEmpty {
                g.nodes[n].inputs[pick(g.nodes[n].inputs.count)] = values[pick(values.count)]
            }
        case 1: g.nodes.remove(at: n)
        case 2: g.nodes.insert(g.nodes[n], at: pick(g.nodes.count))
        case 3:
            g.nodes[n].opType =
                ["Conv", "ConvTranspose", "BatchNormalization", "Relu", "Add", "Identity", "Shape", "Constant"][pick(8)]
        case 4:
            g.nodes[n].attributes[
                ["group", "strides", "pads", "dilations", "kernel_shape", "epsilon", "training_mode"][pick(7)]] =
                rng.next() % 2 == 0 ? .int(wild()) : .ints((0..<pick(5)).map { _ in wild() })
        case 5: g.nodes.swapAt(n, pick(g.nodes.count))
        case 6:
            let old = g.initializers[t]
            var dims = old.dims.isEmpty ? [1] : old.dims.map { _ in [0, 1, 3, 5, 7, 16, 3969][pick(7)] }
            if dims.reduce(1, *) > 1 << 20 { dims = dims.map { min($0, 16) } }
            g.initializers[t] = .float32(name: old.name, dims: dims, [Float](repeating: 0.25, count: dims.reduce(1, *)))
        case 7:
            let old = g.initializers[t]
            g.initializers[t] = ONNXTensor(
                name: old.name, dims: old.dims, dataType: Int32(pick(22)), payload: old.payload)
        case 8:
            let old = g.initializers[t]
            g.initializers[t] = ONNXTensor(name: old.name, dims: old.dims, dataType: old.dataType, payload: .none)
        case 9: g.initializers.remove(at: t)
        case 10:
            let old = g.initializers[t]
            g.initializers[t] = ONNXTensor(
                name: [
                    "features.features.conv1.weight", "refine_model.deconv.weight",
                    "module.rpn_model.loc.head.3.weight", old.name + ".weight",
                ][pick(4)],
                dims: old.dims, dataType: old.dataType, payload: old.payload)
        default:
            if let out = g.nodes[n].outputs.first {
                g.nodes[n].outputs[0] = values[pick(values.count)].isEmpty ? out : values[pick(values.count)]
            }
        }
        for i in g.nodes.indices { g.nodes[i].index = i }
        model.graph = g
    }

    private func caseName(_ error: ONNXImportError) -> String {
        Mirror(reflecting: error).children.first?.label ?? "\(error)"
    }
}

/// A small seeded generator (SplitMix64), identical on every platform.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
