import Foundation
import Importers
import SiamMaskLayout
import Tensors
import TestSupport
import XCTest

/// The committed ONNX fixtures (Models/fixture): a reduced-width siammask_sharp exported as template, search and
/// refine graphs, each BN-folded by the exporter (anonymous `onnx::Conv_*` weights) and unfolded (BatchNormalization
/// nodes, official names).
enum ONNXFixture {
    static let folded = FixtureFiles.onnxFolded
    static let unfolded = FixtureFiles.onnxUnfolded

    static func url(_ name: String) -> URL { TestPaths.fixture(name) }

    static func bytes(_ name: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: url(name))) }

    static func model(_ name: String) throws -> ONNXModel { try ONNXModel.read(contentsOf: url(name)) }

    /// Relative agreement between canonical weight sets (see ONNXImportOptions.agreementTolerance).
    static let tolerance = 1e-6

    static func assertSameWeights(
        _ a: CanonicalWeights, _ b: CanonicalWeights, tolerance: Double = tolerance,
        _ label: String, file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertEqual(a.widths, b.widths, "\(label): widths", file: file, line: line)
        XCTAssertEqual(a.tensors.map(\.name), b.tensors.map(\.name), "\(label): tensor names", file: file, line: line)
        for (x, y) in zip(a.tensors, b.tensors) {
            XCTAssertEqual(x.tensor.shape, y.tensor.shape, "\(label): \(x.name) shape", file: file, line: line)
            guard x.tensor.shape == y.tensor.shape else { continue }
            let d = ONNXImporter.maxRelativeDifference(x.tensor.floats, y.tensor.floats)
            XCTAssertLessThanOrEqual(d, tolerance, "\(label): \(x.name) differs by \(d)", file: file, line: line)
        }
    }
}

final class ONNXImporterTests: XCTestCase {
    func testFoldedAndUnfoldedExportsGiveTheSameCanonicalWeights() throws {
        let folded = try ONNXImporter.importWeights(from: ONNXFixture.folded.map(ONNXFixture.url))
        let unfolded = try ONNXImporter.importWeights(from: ONNXFixture.unfolded.map(ONNXFixture.url))
        XCTAssertEqual(
            folded.weights.tensors.map(\.name),
            SiamMaskLayers(widths: folded.weights.widths).canonicalTensors.map(\.name))
        ONNXFixture.assertSameWeights(folded.weights, unfolded.weights, "folded vs unfolded")

        // How each tensor was found: the unfolded exports keep every official name and their BatchNormalization
        // nodes; the folded ones lose the names of BN-folded convolutions.
        XCTAssertTrue(unfolded.sources.allSatisfy { $0.match == .name })
        let unfoldedBN = unfolded.sources.first { $0.tensor == "features.features.conv1.weight" }
        XCTAssertEqual(unfoldedBN?.batchNorm, .foldedByImporter)
        let foldedBN = folded.sources.first { $0.tensor == "features.features.conv1.weight" }
        XCTAssertEqual(foldedBN?.match, .structure)
        XCTAssertEqual(foldedBN?.batchNorm, .foldedByExporter)
        let refine = folded.sources.first { $0.tensor == "refine_model.post2.weight" }
        XCTAssertEqual(refine?.batchNorm, ONNXTensorSource.BatchNorm.none)
        // The template and the search graph both hold the backbone; the copies must have been compared.
        XCTAssertFalse(
            folded.sources.first { $0.tensor == "features.features.layer3.5.conv3.weight" }?.duplicates.isEmpty ?? true)
        XCTAssertEqual(
            folded.report.split(separator: "\n").count,
            folded.sources.count + 1 + (folded.ignoredModules.isEmpty ? 0 : 1))
    }

    func testStructuralMatchingOfUnfoldedExportsAgreesWithNames() throws {
        // Ignoring names forces the data-flow walk over graphs with BatchNormalization nodes (folded by us).
        let options = ONNXImportOptions(matching: .structureOnly)
        let structural = try ONNXImporter.importWeights(
            from: ONNXFixture.unfolded.map(ONNXFixture.url), options: options)
        let named = try ONNXImporter.importWeights(
            from: ONNXFixture.unfolded.map(ONNXFixture.url),
            options: ONNXImportOptions(matching: .nameOnly))
        XCTAssertEqual(structural.weights, named.weights)
        XCTAssertTrue(structural.sources.allSatisfy { $0.match == .structure })
        XCTAssertTrue(
            structural.sources.filter { $0.tensor.hasPrefix("features.") }.allSatisfy {
                $0.batchNorm == .foldedByImporter
            })
    }

    func testMixedFoldedAndUnfoldedFilesAgree() throws {
        let result = try ONNXImporter.importWeights(from: [
            ONNXFixture.url(ONNXFixture.folded[0]), ONNXFixture.url(ONNXFixture.unfolded[1]),
            ONNXFixture.url(ONNXFixture.folded[2]), ONNXFixture.url(ONNXFixture.unfolded[0]),
        ])
        let reference = try ONNXImporter.importWeights(from: ONNXFixture.unfolded.map(ONNXFixture.url))
        ONNXFixture.assertSameWeights(result.weights, reference.weights, "mixed")
    }

    func testImportMatchesTheCanonicalizedPyTorchCheckpoint() throws {
        let checkpoint = try PyTorchCheckpoint.read(contentsOf: TestPaths.fixture(FixtureFiles.zipWrapped))
        var stateDict: [String: Tensor] = [:]
        for (key, tensor) in checkpoint.stateDict {
            stateDict[key.hasPrefix("module.") ? String(key.dropFirst(7)) : key] = tensor
        }
        let golden = try Canonicalizer.canonicalize(stateDict: stateDict)
        for files in [ONNXFixture.folded, ONNXFixture.unfolded] {
            let imported = try ONNXImporter.importWeights(from: files.map(ONNXFixture.url))
            ONNXFixture.assertSameWeights(imported.weights, golden, "\(files[0]) vs checkpoint")
        }
    }

    func testWidthsAreInferredFromShapes() throws {
        let result = try ONNXImporter.importWeights(from: ONNXFixture.folded.map(ONNXFixture.url))
        let widths = result.weights.widths
        XCTAssertEqual(widths, SiamMaskWidths.scaled(by: Double(widths.stem) / 64))
        XCTAssertLessThan(widths.stem, SiamMaskWidths.official.stem)
    }

    func testASingleGraphReportsWhatIsMissing() throws {
        for (file, absent, present) in [
            (ONNXFixture.folded[1], "refine_model.deconv.weight", "rpn_model.cls.head.3.weight"),
            (ONNXFixture.unfolded[0], "rpn_model.loc.conv_search.0.bias", "features.features.conv1.weight"),
            (ONNXFixture.folded[2], "features.features.conv1.weight", "refine_model.post2.weight"),
        ] {
            XCTAssertThrowsError(try ONNXImporter.importWeights(from: [ONNXFixture.url(file)])) { error in
                guard case ONNXImportError.missingTensors(let names) = error else {
                    return XCTFail("\(file): expected missingTensors, got \(error)")
                }
                XCTAssertTrue(names.contains(absent), "\(file): \(absent) should be listed")
                XCTAssertFalse(names.contains(present), "\(file): \(present) should not be listed")
                XCTAssertFalse("\(error)".contains("\n"))
                XCTAssertTrue("\(error)".contains(absent) || names.firstIndex(of: absent)! >= 12)
            }
        }
        // The search graph alone lacks exactly the refine module (16 convolutions, weight and bias each).
        XCTAssertThrowsError(try ONNXImporter.importWeights(from: [ONNXFixture.url(ONNXFixture.folded[1])])) { error in
            guard case ONNXImportError.missingTensors(let names) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(names.count, 32)
            XCTAssertTrue(names.allSatisfy { $0.hasPrefix("refine_model.") })
        }
    }

    func testTemplateAndSearchMustAgreeOnSharedWeights() throws {
        // Change one backbone weight in the template graph only: the search graph holds the same convolution.
        var model = try ONNXFixture.model(ONNXFixture.unfolded[0])
        let name = "features.features.layer2.1.conv2.weight"
        let index = try XCTUnwrap(model.graph.initializers.firstIndex { $0.name == name })
        var values = try model.graph.initializers[index].floatValues()
        values[3] *= 1.001
        model.graph.initializers[index] = ONNXTensor.float32(
            name: name, dims: model.graph.initializers[index].dims, values)
        let sources: [(file: String, bytes: [UInt8])] = [
            ("template-edited.onnx", ONNXTestEncoder.encode(model)),
            (ONNXFixture.folded[1], try ONNXFixture.bytes(ONNXFixture.folded[1])),
            (ONNXFixture.folded[2], try ONNXFixture.bytes(ONNXFixture.folded[2])),
        ]
        XCTAssertThrowsError(try ONNXImporter.importWeights(from: sources)) { error in
            guard case ONNXImportError.conflictingWeights(let tensor, let first, let second, let difference) = error
            else {
                return XCTFail("expected conflictingWeights, got \(error)")
            }
            XCTAssertEqual(tensor, name)
            XCTAssertTrue(first.hasPrefix("template-edited.onnx"))
            XCTAssertTrue(second.hasPrefix(ONNXFixture.folded[1]))
            XCTAssertGreaterThan(difference, 1e-4)
            XCTAssertTrue("\(error)".contains(name))
        }
        // A change below the tolerance passes.
        values[3] = try model.graph.initializers[index].floatValues()[3] / 1.001 * (1 + 1e-7)
        model.graph.initializers[index] = ONNXTensor.float32(
            name: name, dims: model.graph.initializers[index].dims, values)
        XCTAssertNoThrow(
            try ONNXImporter.importWeights(from: [("t.onnx", ONNXTestEncoder.encode(model))] + sources.dropFirst()))
    }

    func testNameOnlyMatchingRejectsAnonymousWeights() throws {
        XCTAssertThrowsError(
            try ONNXImporter.importWeights(
                from: ONNXFixture.folded.map(ONNXFixture.url),
                options: ONNXImportOptions(matching: .nameOnly))
        ) { error in
            guard case ONNXImportError.structureNotRecognized(_, let node?, let detail) = error else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(node.opType, "Conv")
            XCTAssertTrue(detail.contains("no official name"))
        }
    }

    func testBatchNormEpsilonOfTheGraphIsHonoured() throws {
        // SiamMask's BNs use 1e-5; a graph that says 1e-3 must be folded with 1e-3.
        // Template and search graph both hold the stem, so both change (else their copies would disagree).
        var models = try ONNXFixture.unfolded.map { (file: $0, model: try ONNXFixture.model($0)) }
        for i in 0..<2 {
            let bn = try XCTUnwrap(
                models[i].model.graph.nodes.firstIndex {
                    $0.opType == "BatchNormalization" && $0.inputs[1] == "features.features.bn1.weight"
                })
            models[i].model.graph.nodes[bn].attributes["epsilon"] = .float(1e-3)
        }
        let changed = try ONNXImporter.importWeights(from: models)
        let model = models[0].model
        let reference = try ONNXImporter.importWeights(from: ONNXFixture.unfolded.map(ONNXFixture.url))
        let variance = try XCTUnwrap(model.graph.initializers.first { $0.name == "features.features.bn1.running_var" })
            .floatValues()
        let a = try XCTUnwrap(changed.weights["features.features.conv1.weight"]).floats
        let b = try XCTUnwrap(reference.weights["features.features.conv1.weight"]).floats
        let perChannel = a.count / variance.count
        for c in variance.indices {
            let expected = (Double(variance[c]) + 1e-5).squareRoot() / (Double(variance[c]) + 1e-3).squareRoot()
            let i = c * perChannel
            XCTAssertEqual(Double(a[i]) / Double(b[i]), expected, accuracy: 1e-5 * expected, "channel \(c)")
        }
    }

    func testFloat16WeightsAreWidened() throws {
        // The refine graph with every float initializer stored as float16 (as fp16 exports do).
        var model = try ONNXFixture.model(ONNXFixture.folded[2])
        for (i, t) in model.graph.initializers.enumerated() where t.dataType == ONNXDataType.float {
            var raw: [UInt8] = []
            for v in try t.floatValues() { withUnsafeBytes(of: Float16(v).bitPattern.littleEndian) { raw += $0 } }
            model.graph.initializers[i] = ONNXTensor(
                name: t.name, dims: t.dims, dataType: ONNXDataType.float16, payload: .raw(raw))
        }
        let sources =
            [(file: "refine-fp16.onnx", bytes: ONNXTestEncoder.encode(model))]
            + (try ONNXFixture.folded.prefix(2).map { (file: $0, bytes: try ONNXFixture.bytes($0)) })
        let half = try ONNXImporter.importWeights(from: sources)
        let full = try ONNXImporter.importWeights(from: ONNXFixture.folded.map(ONNXFixture.url))
        // float16 keeps 11 significant bits: relative error at most 2^-11.
        ONNXFixture.assertSameWeights(half.weights, full.weights, tolerance: 1.0 / 2048, "float16 refine")
    }

    func testTheEncoderRoundTripsAFixture() throws {
        // The corruption tests edit decoded fixtures and re-encode them: the re-encoding must be faithful.
        for name in [ONNXFixture.folded[2], ONNXFixture.unfolded[2]] {
            let model = try ONNXFixture.model(name)
            let again = try ONNXModel.decode(ONNXTestEncoder.encode(model), file: name)
            XCTAssertEqual(again.graph.nodes.count, model.graph.nodes.count)
            for (a, b) in zip(again.graph.nodes, model.graph.nodes) where a != b {
                XCTFail("\(name): \(b.reference) differs")
            }
            XCTAssertEqual(again.graph.initializers.map(\.name), model.graph.initializers.map(\.name))
            for (a, b) in zip(again.graph.initializers, model.graph.initializers) where a != b {
                XCTFail("\(name): \(b.name) differs")
            }
            XCTAssertEqual(again.graph.inputs, model.graph.inputs)
            XCTAssertEqual(again.graph.outputs, model.graph.outputs)
            XCTAssertEqual(again, model)
        }
    }

    func testTensorDecodingHandlesEveryPayloadForm() throws {
        let values: [Float] = [1, -2.5, 0.125, 3e-5]
        let raw = ONNXTensor.float32(name: "r", dims: [4], values)
        XCTAssertEqual(try raw.floatValues(), values)
        let typed = ONNXTensor(name: "t", dims: [2, 2], dataType: ONNXDataType.float, payload: .floats(values))
        XCTAssertEqual(try typed.floatValues(), values)
        let doubles = ONNXTensor(
            name: "d", dims: [4], dataType: ONNXDataType.double, payload: .doubles(values.map(Double.init)))
        XCTAssertEqual(try doubles.floatValues(), values)
        // float16 1.0 = 0x3c00, -2.0 = 0xc000, smallest subnormal 0x0001 = 2^-24, 65504 = 0x7bff.
        let half = ONNXTensor(
            name: "h", dims: [4], dataType: ONNXDataType.float16,
            payload: .raw([0x00, 0x3c, 0x00, 0xc0, 0x01, 0x00, 0xff, 0x7b]))
        XCTAssertEqual(try half.floatValues(), [1, -2, Float(sign: .plus, exponent: -24, significand: 1), 65504])
        let int64 = ONNXTensor(
            name: "i", dims: [2], dataType: ONNXDataType.int64,
            payload: .raw([1, 0, 0, 0, 0, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]))
        XCTAssertEqual(try int64.int64Values(), [1, -2])
        XCTAssertThrowsError(try int64.floatValues()) { error in
            guard case ONNXImportError.unsupportedDataType(_, "i", 7) = error else { return XCTFail("\(error)") }
        }
    }
}

extension ONNXTensor {
    /// A float32 tensor with raw little-endian data, as exporters write it.
    static func float32(name: String, dims: [Int], _ values: [Float]) -> ONNXTensor {
        var bytes: [UInt8] = []
        for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes += $0 } }
        return ONNXTensor(name: name, dims: dims, dataType: ONNXDataType.float, payload: .raw(bytes))
    }
}
