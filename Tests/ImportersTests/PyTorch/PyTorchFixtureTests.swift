import Foundation
import Importers
import SiamMaskLayout
import Tensors
import TestSupport
import XCTest

/// The committed reduced-width fixture checkpoints (Models/fixture, described in Models/README.md): every variant
/// decodes to the same state dict, which passes the architecture check.
final class PyTorchFixtureTests: XCTestCase {
    /// Package root from this file's location: Tests/ImportersTests/PyTorch/<file>.
    private static let fixture = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Models/fixture")

    private struct Variant {
        let file: String
        let format: PyTorchCheckpoint.Format
        let wrapped: Bool
        let modulePrefix: Bool
        let cuda: Bool
    }

    private static let variants = [
        Variant(file: "siammask_legacy_wrapped.pth", format: .legacy, wrapped: true, modulePrefix: false, cuda: false),
        Variant(
            file: "siammask_legacy_wrapped_cuda.pth", format: .legacy, wrapped: true, modulePrefix: false, cuda: true),
        Variant(file: "siammask_zip_wrapped.pth", format: .zip, wrapped: true, modulePrefix: false, cuda: false),
        Variant(file: "siammask_zip_bare_module.pth", format: .zip, wrapped: false, modulePrefix: true, cuda: false),
    ]

    private func load(_ v: Variant) throws -> PyTorchCheckpoint {
        let url = Self.fixture.appendingPathComponent(v.file)
        guard FileManager.default.fileExists(atPath: url.path) else {
            XCTFail("missing fixture \(url.path); regenerate it as Models/README.md describes")
            throw CocoaError(.fileNoSuchFile)
        }
        return try PyTorchCheckpoint.read(contentsOf: url)
    }

    func testEveryVariantDecodesToTheSameStateDict() throws {
        var reference: PyTorchCheckpoint?
        for v in Self.variants {
            let c = try load(v)
            XCTAssertEqual(c.format, v.format, v.file)
            XCTAssertEqual(c.keyOrder.count, 356, v.file)
            XCTAssertEqual(Set(c.keyOrder).count, 356, v.file)
            XCTAssertTrue(c.keyOrder.allSatisfy { !$0.hasPrefix("module.") }, v.file)
            if v.wrapped {
                XCTAssertEqual(c.stateDictEntry, "state_dict", v.file)
                XCTAssertEqual(c.ignoredEntries, ["epoch", "arch", "best_acc", "optimizer", "anchor_cfg"], v.file)
                XCTAssertEqual(c.metadata["epoch"], "20", v.file)
                XCTAssertEqual(c.metadata["arch"], "Custom", v.file)
            } else {
                XCTAssertNil(c.stateDictEntry, v.file)
                XCTAssertEqual(c.ignoredEntries, [], v.file)
            }
            XCTAssertEqual(c.warnings.contains { $0.contains("CUDA") }, v.cuda, "\(v.file): \(c.warnings)")
            XCTAssertEqual(c.warnings.contains { $0.contains("module.") }, v.modulePrefix, "\(v.file): \(c.warnings)")
            if let r = reference {
                XCTAssertEqual(c.keyOrder, r.keyOrder, v.file)
                for key in r.keyOrder {
                    XCTAssertEqual(c.stateDict[key], r.stateDict[key], "\(v.file): \(key)")
                }
            } else {
                reference = c
            }
        }
    }

    func testStateDictPassesTheArchitectureCheck() throws {
        let c = try load(Self.variants[1])
        XCTAssertEqual(c.keyOrder.first, "features.features.conv1.weight")
        XCTAssertEqual(c.stateDict["features.features.conv1.weight"]?.shape, [4, 3, 7, 7])
        let tracked = c.keyOrder.filter { $0.hasSuffix("num_batches_tracked") }
        XCTAssertEqual(tracked.count, 53)
        for key in tracked {
            XCTAssertEqual(c.stateDict[key]?.shape, [], key)
            XCTAssertEqual(c.stateDict[key]?.int64s, [120_000], key)
        }
        XCTAssertTrue(
            c.keyOrder.filter { !$0.hasSuffix("num_batches_tracked") }.allSatisfy { c.stateDict[$0]?.dtype == .float32 }
        )
        let parameters = c.keyOrder.filter {
            !$0.hasSuffix("running_mean") && !$0.hasSuffix("running_var") && !$0.hasSuffix("num_batches_tracked")
        }
        XCTAssertEqual(parameters.reduce(0) { $0 + c.stateDict[$1]!.count }, 150_594)   // Models/README.md
        let weights = try Canonicalizer.canonicalize(stateDict: c.stateDict, options: CanonicalizationOptions())
        XCTAssertEqual(
            weights.widths,
            SiamMaskWidths(
                stem: 4, planes: [4, 8, 16], adjust: 16, correlation: 16,
                refineV0: [1, 1], refineV1: [4, 1], refineV2: [8, 2]))
    }

    func testKeysAndShapesMatchTheArchitecture() throws {
        let c = try load(Self.variants[2])
        let layers = SiamMaskLayers(widths: try Canonicalizer.inferWidths(c.stateDict))
        XCTAssertEqual(Set(c.keyOrder), Set(layers.checkpointKeys.map(\.key)))
        for k in layers.checkpointKeys {
            XCTAssertEqual(c.stateDict[k.key]?.shape, k.shape, k.key)
        }
        // File order is the module registration order (spec appendix).
        XCTAssertEqual(
            Array(c.keyOrder.prefix(7)),
            [
                "features.features.conv1.weight", "features.features.bn1.weight", "features.features.bn1.bias",
                "features.features.bn1.running_mean", "features.features.bn1.running_var",
                "features.features.bn1.num_batches_tracked", "features.features.layer1.0.conv1.weight",
            ])
    }

    /// A few hundred mutations of a real fixture's object pickle (the stream's first bytes), for memo-heavy input.
    func testMutatedFixturePickle() throws {
        let url = Self.fixture.appendingPathComponent(Self.variants[0].file)
        let bytes = [UInt8](try Data(contentsOf: url))
        var rng = SeededGenerator(seed: 2024)
        for n in 0..<150 {
            var m = bytes
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                let i = Int.random(in: 0..<20_000, using: &rng)
                m[i] = UInt8.random(in: 0...255, using: &rng)
            }
            do {
                _ = try PyTorchCheckpoint.decode(m, name: "fixture-mutant")
            } catch is PyTorchImportError {
            } catch {
                XCTFail("mutant #\(n) threw a non-PyTorchImportError: \(error)")
            }
        }
    }
}
