import Foundation
import Quantization
import Runtime
import SiamMask
import SiamMaskLayout
import Tensors
import TestSupport
import XCTest

/// `FrameNetwork` (refine reading the search outputs in place, the mask correlation computed at the refine cell only)
/// against the old path (the whole-map search and refine graphs, every feature copied out of the search executor and
/// fed into the refine executor): cls and loc equal to the bit; the mask correlation and the masks equal to the bit in
/// int8 and within the graph tolerance in float32 (the windowed conv_search's Winograd tiles fall on another grid);
/// the same observer stream apart from the mask branch; and the executor's binding errors.
final class FrameNetworkTests: XCTestCase {
    typealias Observed = [(name: String, values: [Float])]

    static let inputs: (search: Tensor, template: Tensor)? = {
        guard let s = try? NPY.read(TestPaths.fixture(FixtureFiles.searchInput)),
            let t = try? NPY.read(TestPaths.fixture(FixtureFiles.templateInput))
        else { return nil }
        return (s, t)
    }()

    func fixtureInputs() throws -> (search: Tensor, template: Tensor) { try XCTUnwrap(Self.inputs, "fixture inputs") }

    func kernels(_ network: SiamMaskNetwork, _ template: Tensor) throws -> [String: Tensor] {
        var k = try Executor(graph: network.templateKernelsGraph()).run(["template": template])
        k.removeValue(forKey: "zf")
        return k
    }

    /// The copy path as TrackerSession ran it before FrameNetwork.
    func copyPath(
        _ network: SiamMaskNetwork, _ crop: Tensor, _ kernels: [String: Tensor], cells: [(Int, Int)],
        observed: UnsafeMutablePointer<Observed>? = nil
    ) throws -> (cls: [Float], loc: [Float], masks: [[Float]]) {
        let config = network.int8Configuration
        let search = try Executor(graph: network.trackingSearchGraph(), int8: config)
        let refine = try Executor(graph: network.refineGraph(row: 12, column: 12), int8: config)
        if let observed {
            let hook: (String, ActivationShape, UnsafeBufferPointer<Float>) -> Void = { n, _, v in
                observed.pointee.append((n, Array(v)))
            }
            search.observer = hook
            refine.observer = hook
        }
        var feeds = kernels
        feeds["search"] = crop
        let out = try search.run(feeds)
        var masks: [[Float]] = []
        for (row, column) in cells {
            try SiamMaskNetwork.moveRefine(refine, row: row, column: column)
            masks.append(
                try refine.run(["f0": out["f0"]!, "f1": out["f1"]!, "f2": out["f2"]!, "corr": out["corr"]!])["mask"]!
                    .floats)
        }
        return (out["cls"]!.floats, out["loc"]!.floats, masks)
    }

    func checkAgainstCopyPath(
        _ network: SiamMaskNetwork, exact: Bool, file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let (crop, template) = try fixtureInputs()
        let k = try kernels(network, template)
        let cells = [(12, 12), (3, 21), (0, 24)]
        var oldSeen: Observed = [], newSeen: Observed = []
        let old = try copyPath(network, crop, k, cells: cells, observed: &oldSeen)

        let frame = try FrameNetwork(network: network)
        frame.observer = { n, _, v in newSeen.append((n, Array(v))) }
        let (cls, loc) = try frame.search(crop: crop, kernels: k)
        var masks: [[Float]] = []
        for (r, c) in cells { masks.append(try frame.refine(row: r, column: c)) }

        func bits(_ a: [Float]) -> [UInt32] { a.map(\.bitPattern) }
        // Graph tolerance (Models/README.md): max|a - b| <= 1e-4 max|b| + 1e-5.
        func close(_ a: [Float], _ b: [Float], _ what: String) {
            XCTAssertEqual(a.count, b.count, what, file: file, line: line)
            if exact { XCTAssertEqual(bits(a), bits(b), what, file: file, line: line); return }
            let scale = b.map { abs($0) }.max() ?? 0
            let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThanOrEqual(worst, 1e-4 * scale + 1e-5, what, file: file, line: line)
        }
        XCTAssertEqual(cls.count, 2 * SiamMaskWidths.anchorCount * 625, file: file, line: line)
        XCTAssertEqual(masks[0].count, 127 * 127, file: file, line: line)
        XCTAssertEqual(bits(cls), bits(old.cls), "cls", file: file, line: line)
        XCTAssertEqual(bits(loc), bits(old.loc), "loc", file: file, line: line)
        for i in cells.indices { close(masks[i], old.masks[i], "mask at \(cells[i])") }
        XCTAssertNotEqual(
            bits(masks[0]), bits(masks[1]), "different cells give different masks", file: file, line: line)

        // The correlation vector at each cell: the old path's whole map at (row, column).
        let oldCorr = try XCTUnwrap(
            oldSeen.first { $0.name == "mask_model.mask.xcorr" }?.values, file: file, line: line)
        let newCorr = newSeen.filter { $0.name == "mask_model.mask.xcorr" }.map(\.values)
        XCTAssertEqual(newCorr.count, cells.count, file: file, line: line)
        let side = SiamMaskNetwork.scoreSize, channels = oldCorr.count / (side * side)
        for (i, (r, c)) in cells.enumerated() where i < newCorr.count {
            close(newCorr[i], (0..<channels).map { oldCorr[($0 * side + r) * side + c] }, "correlation at (\(r),\(c))")
        }
        // Observers see the same tensors in the same order, apart from the mask branch, which moved into refine.
        let maskBranch: Set<String> = [
            "kernel_mask", "corr", "xf", "refine_model.pick", "mask_model.mask.search_window",
            "mask_model.mask.conv_search", "mask_model.mask.xcorr",
        ]
        let oldRest = oldSeen.filter { !maskBranch.contains($0.name) },
            newRest = newSeen.filter { !maskBranch.contains($0.name) }
        XCTAssertEqual(newRest.map(\.name), oldRest.map(\.name), file: file, line: line)
        let searchSide = Set(oldSeen.prefix { $0.name != "f0" }.map(\.name))
        // In int8 the adjust layer now also feeds a float graph output (xf), so it writes float32 and its int8
        // readers quantise that: the observer sees it before rounding and clamping; clamped to the encoding's range it
        // is within half a step of the old uint8 view.
        let adjust = network.int8Configuration?.encodings["features.downsample"]
        // In int8 the features f0, f1, f2 cross to refine in uint8 (FrameNetwork): their producers write uint8, so
        // the observer sees the producer's output, the max-pool after conv1, the bound inputs and the refine crops
        // rounded to the feature's encoding, exactly what the old path's quantise steps made of them.
        var crossing: [String: UInt8Encoding] = [:]
        if let encodings = network.int8Configuration?.encodings {
            for (producer, names) in [
                (
                    "features.features.conv1",
                    ["features.features.conv1", "features.features.maxpool", "f0", "refine_model.crop0"]
                ),
                ("features.features.layer1.2.conv3", ["features.features.layer1.2.conv3", "f1", "refine_model.crop1"]),
                ("features.features.layer2.3.conv3", ["features.features.layer2.3.conv3", "f2", "refine_model.crop2"]),
            ] {
                for name in names { crossing[name] = encodings[producer] }
            }
        }
        for (a, b) in zip(newRest, oldRest) {
            if let e = crossing[a.name] {
                let q = AffineQuantization(scale: e.scale, zeroPoint: e.zeroPoint)
                XCTAssertEqual(bits(a.values), bits(q.dequantize(q.quantize(b.values))), a.name, file: file, line: line)
            } else if a.name == "features.downsample", let e = adjust {
                let lo = Float(0 - e.zeroPoint) * e.scale, hi = Float(255 - e.zeroPoint) * e.scale
                let worst = zip(a.values, b.values).map { abs(min(max($0, lo), hi) - $1) }.max() ?? 0
                XCTAssertLessThanOrEqual(worst, e.scale * 0.5001, a.name, file: file, line: line)
            } else if searchSide.contains(a.name) {
                XCTAssertEqual(bits(a.values), bits(b.values), a.name, file: file, line: line)
            } else {
                close(a.values, b.values, a.name)
            }
        }
        // Features on request: the copies the old path made.
        let features = try frame.features()
        XCTAssertEqual(Set(features.keys), Set(FrameNetwork.featureNames), file: file, line: line)
        // refine before any search is an error, not a read of stale buffers.
        XCTAssertThrowsError(try FrameNetwork(network: network).refine(row: 12, column: 12), file: file, line: line)
    }

    func testFloat32FrameMatchesTheCopyPath() throws {
        let network = try GraphGoldenTests.network()
        XCTAssertNil(network.int8Configuration)
        try checkAgainstCopyPath(network, exact: false)
    }

    func testInt8FrameIsBitIdenticalToTheCopyPath() throws {
        let network = try GraphGoldenTests.network()
        let (crop, template) = try fixtureInputs()
        // Encodings from one observed frame (min / max): enough to give every per-frame node an int8 kernel.
        var observers: [String: ActivationObserver] = [:]
        var seen: Observed = []
        _ = try copyPath(network, crop, try kernels(network, template), cells: [(12, 12)], observed: &seen)
        for (name, values) in seen { observers[name, default: ActivationObserver()].observe(values) }
        var encodings: [String: UInt8Encoding] = [:]
        for (name, o) in observers {
            let q = AffineQuantization.uint8(covering: o.min...o.max)
            encodings[name] = UInt8Encoding(scale: q.scale, zeroPoint: q.zeroPoint)
        }
        let quantized = try SiamMaskNetwork(model: SiamMaskQuantizer.quantize(network.model, encodings: encodings))
        let frame = try FrameNetwork(network: quantized)
        XCTAssertTrue(frame.int8Nodes.contains("refine_model.post2"), "\(frame.int8Nodes)")
        XCTAssertTrue(frame.int8Nodes.contains("features.features.conv1"))
        XCTAssertTrue(frame.int8Nodes.contains("mask_model.mask.conv_search"))
        try checkAgainstCopyPath(quantized, exact: true)
    }

    func testBadBindingsAreRejected() throws {
        let network = try GraphGoldenTests.network()
        let search = try Executor(graph: network.trackingSearchGraph())
        let refine = try Executor(graph: network.refineGraph(row: 12, column: 12))
        func expect(_ error: GraphError, _ body: () throws -> Void, line: UInt = #line) {
            XCTAssertThrowsError(try body(), line: line) {
                XCTAssertEqual($0 as? GraphError, error, "\($0)", line: line)
            }
        }
        let shapes = network.searchFeatureShapes
        expect(.unexpectedInput("nope")) { try refine.bindInput("nope", to: search, output: "f0") }
        expect(.badBinding(input: "f0", detail: "the source graph has no output named 'zz'")) {
            try refine.bindInput("f0", to: search, output: "zz")
        }
        expect(.wrongInputShape(name: "f0", expected: shapes["f0"]!.dims, actual: shapes["f1"]!.dims)) {
            try refine.bindInput("f0", to: search, output: "f1")
        }
        expect(.badBinding(input: "search", detail: "an executor cannot read its own output")) {
            try search.bindInput("search", to: search, output: "f0")
        }
        // A bound input is not fed, and its source must have run first.
        try refine.bindInput("f0", to: search, output: "f0")
        expect(.badBinding(input: "f0", detail: "already bound to output 'f0'")) {
            try refine.bindInput("f0", to: search, output: "f0")
        }
        XCTAssertEqual(refine.boundInputs, ["f0"])
        for name in ["f1", "f2", "corr"] { try refine.bindInput(name, to: search, output: name) }
        expect(.notRun("the source of bound input 'f0'")) { try refine.evaluate([:]) }
        expect(.notRun("output 'mask'")) { _ = try refine.withOutput("mask") { $0.count } }
        let f0 = Tensor(shape: shapes["f0"]!.dims, floats: [Float](repeating: 0, count: shapes["f0"]!.count))
        expect(.badBinding(input: "f0", detail: "bound to output 'f0' of another executor; do not feed it")) {
            try refine.evaluate(["f0": f0])
        }
        expect(.shapeMismatch(node: "zz", detail: "the graph has no output of that name")) {
            _ = try search.withOutput("zz") { $0.count }
        }
        // A cycle: two executors each reading the other's output.
        var g = GraphBuilder()
        let x = g.input("x", ActivationShape(2, 3, 3))
        g.output("y", g.sigmoid("s", x))
        let a = try Executor(graph: g.build()), b = try Executor(graph: g.build())
        try a.bindInput("x", to: b, output: "y")
        expect(.badBinding(input: "x", detail: "the binding would form a cycle")) {
            try b.bindInput("x", to: a, output: "y")
        }
    }
}
