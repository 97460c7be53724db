import Foundation
import Importers
import ModelFormat
import SiamMaskLayout
import Tensors
import TestSupport
import XCTest

/// Every supported source of the same weights converts to the same canonical `.siam`.
final class ConversionTests: XCTestCase {
    /// Sources fold BN in different places (we fold in double; the ONNX exporter folded in float32), so canonical
    /// tensors may differ by about one float32 rounding: 1e-6 relative to the tensor's largest magnitude.
    static let crossSourceRelative: Float = 1e-6

    func assertSameWeights(
        _ a: CanonicalWeights, _ b: CanonicalWeights, _ label: String, file: StaticString = #filePath,
        line: UInt = #line
    ) {
        XCTAssertEqual(a.widths, b.widths, label, file: file, line: line)
        XCTAssertEqual(a.tensors.map(\.name), b.tensors.map(\.name), label, file: file, line: line)
        for (x, y) in zip(a.tensors, b.tensors) {
            XCTAssertEqual(x.tensor.shape, y.tensor.shape, "\(label): \(x.name)", file: file, line: line)
            let (err, ref) = compare(x.tensor, y.tensor)
            XCTAssertLessThanOrEqual(
                err, Self.crossSourceRelative * max(ref, 1e-30), "\(label): \(x.name) differs by \(err)", file: file,
                line: line)
        }
    }

    func testEverySourceConvertsToTheSameModel() throws {
        let reference = try ModelConverter.convert([TestPaths.fixture(FixtureFiles.legacyWrapped)]).model
        XCTAssertEqual(reference.widths, SiamMaskWidths.scaled(by: 0.0625))
        for name in FixtureFiles.allCheckpoints {
            let m = try ModelConverter.convert([TestPaths.fixture(name)]).model
            // PyTorch sources hold identical bytes and fold identically: exact equality.
            XCTAssertEqual(m.weights, reference.weights, name)
        }
        for set in [
            FixtureFiles.onnxFolded, FixtureFiles.onnxUnfolded,
            [FixtureFiles.onnxFolded[0], FixtureFiles.onnxUnfolded[1], FixtureFiles.onnxFolded[2]],
        ] {
            let m = try ModelConverter.convert(set.map(TestPaths.fixture)).model
            assertSameWeights(m.weights, reference.weights, set.joined(separator: "+"))
        }
        // The committed .siam is what `siammask convert` makes of the fixture checkpoint.
        let committed = try SiamMaskModel(
            siamFile: SiamFileReader.read(contentsOf: TestPaths.fixture(FixtureFiles.siam)))
        XCTAssertEqual(committed.weights, reference.weights)
    }

    func testWrittenFileRoundTripsAndIsDeterministic() throws {
        let model = try ModelConverter.convert([TestPaths.fixture(FixtureFiles.zipWrapped)]).model
        let dir = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = dir.appendingPathComponent("a.siam"), b = dir.appendingPathComponent("b.siam")
        try SiamFileWriter.write(model.siamFile(), to: a)
        try SiamFileWriter.write(model.siamFile(), to: b)
        XCTAssertEqual(try Data(contentsOf: a), try Data(contentsOf: b))
        let back = try SiamMaskModel(siamFile: SiamFileReader.read(contentsOf: a))
        XCTAssertEqual(back, model)
    }

    func testSourceErrorsAreSpecific() throws {
        let dir = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let junk = dir.appendingPathComponent("junk.bin")
        try Data("hello world, not a model".utf8).write(to: junk)
        XCTAssertThrowsError(try ModelConverter.convert([junk])) {
            XCTAssertEqual($0 as? ConversionError, .unrecognisedFormat(junk.path))
        }
        XCTAssertThrowsError(try ModelConverter.convert([])) { XCTAssertEqual($0 as? ConversionError, .noSources) }
        let missing = dir.appendingPathComponent("missing.pth")
        XCTAssertThrowsError(try ModelConverter.convert([missing])) {
            guard case ConversionError.unreadable? = $0 as? ConversionError else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(
            try ModelConverter.convert([
                TestPaths.fixture(FixtureFiles.zipWrapped), TestPaths.fixture(FixtureFiles.onnxFolded[0]),
            ])
        ) {
            XCTAssertEqual($0 as? ConversionError, .mixedSources)
        }
        XCTAssertThrowsError(
            try ModelConverter.convert([
                TestPaths.fixture(FixtureFiles.zipWrapped), TestPaths.fixture(FixtureFiles.legacyWrapped),
            ])
        ) {
            XCTAssertEqual($0 as? ConversionError, .severalCheckpoints)
        }
    }

    /// A `.siam` whose metadata or tensors do not describe siammask_sharp is refused with the reason.
    func testModelValidationOfSiamFiles() throws {
        let model = try ModelConverter.convert([TestPaths.fixture(FixtureFiles.zipWrapped)]).model
        var file = model.siamFile()
        file.metadata["model.architecture"] = .string("siamrpn")
        XCTAssertThrowsError(try SiamMaskModel(siamFile: file)) {
            XCTAssertEqual($0 as? ModelError, .unsupportedArchitecture("siamrpn"))
        }
        file = model.siamFile()
        file.metadata["model.widths.stem"] = nil
        XCTAssertThrowsError(try SiamMaskModel(siamFile: file)) {
            XCTAssertEqual($0 as? ModelError, .missingMetadata("model.widths.stem"))
        }
        file = model.siamFile()
        file.tensors.removeLast()
        XCTAssertThrowsError(try SiamMaskModel(siamFile: file)) {
            XCTAssertEqual($0 as? LayoutError, .missingKey("refine_model.post2.bias"))
        }
        file = model.siamFile()
        file.metadata["model.widths.stem"] = .int(5)
        XCTAssertThrowsError(try SiamMaskModel(siamFile: file)) {
            guard case LayoutError.wrongShape? = $0 as? LayoutError else { return XCTFail("\($0)") }
        }
    }
}
