import CKernels
import Foundation
import Importers
import ModelFormat
import Runtime
import SiamMask
import SiamMaskLayout
import Tensors
import TestSupport
import XCTest

/// The fixture's three graphs against the PyTorch goldens (Tools/export_fixture.py), on the reference tier and on
/// every SIMD tier this CPU has.
final class GraphGoldenTests: XCTestCase {
    static func network() throws -> SiamMaskNetwork {
        let converted = try ModelConverter.convert([TestPaths.fixture(FixtureFiles.zipWrapped)])
        return try SiamMaskNetwork(model: converted.model)
    }

    static func golden(_ name: String) throws -> Tensor { try NPY.read(TestPaths.fixture(name)) }

    func check(
        _ outputs: [String: Tensor], _ goldens: [String: String], tier: sm_tier, file: StaticString = #filePath,
        line: UInt = #line
    ) throws {
        for (output, goldenName) in goldens {
            let ref = try Self.golden(goldenName)
            guard let ours = outputs[output] else { return XCTFail("no output \(output)", file: file, line: line) }
            XCTAssertEqual(ours.shape, ref.shape, "\(output) shape", file: file, line: line)
            let (err, maxRef) = compare(ours, ref)
            let bound = Tolerance.graphRelative * maxRef + Tolerance.graphAbsolute
            XCTAssertLessThanOrEqual(
                err, bound, "\(output) on tier \(tier.rawValue): max error \(err), bound \(bound)", file: file,
                line: line)
        }
    }

    func testGraphsMatchPyTorchOnEveryTier() throws {
        let net = try Self.network()
        let template = try net.templateGraph(), search = try net.searchGraph()
        let refines = try FixtureFiles.refinePositions.map { ($0, try net.refineGraph(row: $0.row, column: $0.column)) }
        let searchInputs = [
            "search": try Self.golden(FixtureFiles.searchInput), "zf": try Self.golden(FixtureFiles.zf),
        ]
        var tested: [sm_tier] = []
        for tier in [SM_TIER_REFERENCE, SM_TIER_AVX2, SM_TIER_AVX512]
        where sm_tier_supported(tier) != 0 && sm_kernels_for_tier(tier) != nil {
            tested.append(tier)
            for threads in [1, 2] {
                let t = try Executor(graph: template, threads: threads, tier: tier).run([
                    "template": try Self.golden(FixtureFiles.templateInput)
                ])
                try check(t, ["zf": FixtureFiles.zf], tier: tier)
                let s = try Executor(graph: search, threads: threads, tier: tier).run(searchInputs)
                try check(s, FixtureFiles.searchOutputs, tier: tier)
                for (pos, graph) in refines {
                    var inputs: [String: Tensor] = [:]
                    for name in ["f0", "f1", "f2", "corr"] {
                        inputs[name] = try Self.golden(FixtureFiles.searchOutputs[name]!)
                    }
                    let r = try Executor(graph: graph, threads: threads, tier: tier).run(inputs)
                    try check(r, ["mask": FixtureFiles.refineMask(pos.row, pos.column)], tier: tier)
                }
            }
        }
        XCTAssertTrue(tested.contains(SM_TIER_REFERENCE))
        print("graph goldens checked on tiers \(tested.map(\.rawValue))")
    }

    /// The tracker's split (kernels once per target, search with precomputed kernels) gives exactly the outputs of
    /// the plain search graph, and one refine executor moved between cells equals a graph built at each cell.
    func testTrackingGraphsEqualThePlainGraphs() throws {
        let net = try Self.network()
        let t = try Executor(graph: try net.templateKernelsGraph()).run([
            "template": try Self.golden(FixtureFiles.templateInput)
        ])
        let search = try Self.golden(FixtureFiles.searchInput)
        let plain = try Executor(graph: try net.searchGraph()).run(["search": search, "zf": t["zf"]!])
        var feeds = ["search": search]
        for name in SiamMaskNetwork.kernelInputNames { feeds[name] = t[name]! }
        let tracking = try Executor(graph: try net.trackingSearchGraph()).run(feeds)
        for name in ["cls", "loc", "corr", "f0", "f1", "f2"] { XCTAssertEqual(tracking[name], plain[name], name) }

        var inputs: [String: Tensor] = [:]
        for name in ["f0", "f1", "f2", "corr"] { inputs[name] = plain[name]! }
        let moving = try Executor(graph: try net.refineGraph(row: 12, column: 12))
        for (row, col) in [(0, 0), (3, 21), (24, 24), (12, 12), (24, 0)] {
            try SiamMaskNetwork.moveRefine(moving, row: row, column: col)
            let a = try moving.run(inputs)["mask"]
            let b = try Executor(graph: try net.refineGraph(row: row, column: col)).run(inputs)["mask"]
            XCTAssertEqual(a, b, "refine at (\(row),\(col))")
        }
        XCTAssertThrowsError(try SiamMaskNetwork.moveRefine(moving, row: -1, column: 3))
    }

    func testRefineRejectsPositionsOutsideTheMap() throws {
        let net = try Self.network()
        XCTAssertThrowsError(try net.refineGraph(row: 25, column: 0))
        XCTAssertThrowsError(try net.refineGraph(row: 0, column: -1))
    }

    func testExecutorRejectsWrongInputs() throws {
        let net = try Self.network()
        let exec = try Executor(graph: try net.templateGraph())
        XCTAssertThrowsError(try exec.run([:])) { XCTAssertEqual($0 as? GraphError, .missingInput("template")) }
        XCTAssertThrowsError(
            try exec.run(["template": Tensor(shape: [1, 3, 10, 10], floats: .init(repeating: 0, count: 300))])
        ) {
            guard case GraphError.wrongInputShape? = $0 as? GraphError else { return XCTFail("\($0)") }
        }
        let img = Tensor(shape: [1, 3, 127, 127], floats: .init(repeating: 0, count: 3 * 127 * 127))
        XCTAssertThrowsError(try exec.run(["template": img, "bogus": img])) {
            XCTAssertEqual($0 as? GraphError, .unexpectedInput("bogus"))
        }
    }
}
