import SiamMaskLayout
import Tensors
import TestSupport
import XCTest

final class SiamMaskLayersTests: XCTestCase {
    /// Key count, per-child counts and parameter total of the official model (spec §1.5 and §2).
    func testOfficialKeySetMatchesTheSpec() {
        let keys = SiamMaskLayers(widths: .official).checkpointKeys
        XCTAssertEqual(keys.count, 356)
        XCTAssertEqual(Set(keys.map(\.key)).count, 356)
        func count(_ prefix: String) -> Int { keys.filter { $0.key.hasPrefix(prefix) }.count }
        XCTAssertEqual(count("features."), 264)
        XCTAssertEqual(count("rpn_model."), 40)
        XCTAssertEqual(count("mask_model."), 20)
        XCTAssertEqual(count("refine_model."), 32)
        XCTAssertEqual(keys.filter { $0.key.hasSuffix("num_batches_tracked") }.count, 53)
        func params(_ prefix: String) -> Int {
            keys.filter {
                $0.key.hasPrefix(prefix) && !$0.key.contains("running_") && !$0.key.hasSuffix("num_batches_tracked")
            }
            .reduce(0) { $0 + $1.shape.reduce(1, *) }
        }
        XCTAssertEqual(params("features."), 14_048_832)
        XCTAssertEqual(params("rpn_model."), 2_501_150)
        XCTAssertEqual(params("mask_model."), 2_266_753)
        XCTAssertEqual(params("refine_model."), 2_665_317)
        XCTAssertEqual(params(""), 21_482_052)
        let floats = keys.filter { !$0.key.hasSuffix("num_batches_tracked") }.reduce(0) { $0 + $1.shape.reduce(1, *) }
        XCTAssertEqual(floats, 21_517_764)
    }

    /// The details the spec calls out as easy to get wrong.
    func testPitfallGeometry() {
        let l = SiamMaskLayers(widths: .official)
        let stem = l.conv(named: "features.features.conv1")!
        XCTAssertEqual([stem.kernel, stem.stride, stem.padding], [7, 2, 0])
        let l2 = l.conv(named: "features.features.layer2.0.conv2")!
        XCTAssertEqual([l2.kernel, l2.stride, l2.padding, l2.dilation], [3, 2, 0, 1])
        let d2 = l.conv(named: "features.features.layer2.0.downsample.0")!
        XCTAssertEqual([d2.kernel, d2.stride, d2.padding], [3, 2, 0])
        let d3 = l.conv(named: "features.features.layer3.0.downsample.0")!
        XCTAssertEqual([d3.kernel, d3.stride, d3.padding], [3, 1, 1])
        XCTAssertEqual(l.conv(named: "features.features.layer3.0.conv2")!.dilation, 1)
        for b in 1...5 {
            let c = l.conv(named: "features.features.layer3.\(b).conv2")!
            XCTAssertEqual([c.dilation, c.padding], [2, 2])
        }
        XCTAssertEqual(l.conv(named: "refine_model.deconv")!.weightShape, [256, 32, 15, 15])
        XCTAssertEqual(l.conv(named: "mask_model.mask.head.3")!.weightShape, [3969, 256, 1, 1])
        XCTAssertEqual(l.canonicalTensors.count, (l.convs.count - 2) * 2)
        XCTAssertFalse(l.canonicalTensors.contains { $0.name.hasPrefix("mask_model.mask.head") })
    }

    func testScaledWidthsAndInference() throws {
        let w = SiamMaskWidths.scaled(by: 0.125)
        XCTAssertEqual(w.stem, 8)
        XCTAssertEqual(w.planes, [8, 16, 32])
        XCTAssertEqual(w.refineV0, [2, 1])
        XCTAssertEqual(SiamMaskWidths.scaled(by: 1), .official)
        var rng = SeededGenerator(seed: 7)
        let dict = Self.randomStateDict(widths: w, using: &rng)
        XCTAssertEqual(try Canonicalizer.inferWidths(dict), w)
    }

    func testAnchorsUseIntegerTruncation() {
        let sizes = AnchorConfig.official.anchorSizes
        XCTAssertEqual(sizes.map(\.width), [104, 88, 64, 40, 32])
        XCTAssertEqual(sizes.map(\.height), [32, 40, 64, 80, 96])
    }

    func testBatchNormFoldingMatchesDirectFormula() throws {
        let w = SiamMaskWidths.scaled(by: 0.125)
        var rng = SeededGenerator(seed: 3)
        let dict = Self.randomStateDict(widths: w, using: &rng)
        let canonical = try Canonicalizer.canonicalize(stateDict: dict)
        let conv = dict["features.features.layer1.0.conv1.weight"]!.floats
        let g = dict["features.features.layer1.0.bn1.weight"]!.floats,
            b = dict["features.features.layer1.0.bn1.bias"]!.floats
        let m = dict["features.features.layer1.0.bn1.running_mean"]!.floats,
            v = dict["features.features.layer1.0.bn1.running_var"]!.floats
        let folded = canonical["features.features.layer1.0.conv1.weight"]!.floats
        let bias = canonical["features.features.layer1.0.conv1.bias"]!.floats
        let perOut = conv.count / g.count
        for o in 0..<g.count {
            let s = Double(g[o]) / (Double(v[o]) + 1e-5).squareRoot()
            for i in 0..<perOut { XCTAssertEqual(folded[o * perOut + i], Float(Double(conv[o * perOut + i]) * s)) }
            XCTAssertEqual(bias[o], Float(Double(b[o]) - Double(m[o]) * s), accuracy: 1e-6)
        }
        // Refine convs have their own bias and no BN: they pass through unchanged.
        XCTAssertEqual(canonical["refine_model.post2.bias"], dict["refine_model.post2.bias"])
    }

    func testKeySetIsCheckedStrictly() throws {
        let w = SiamMaskWidths.scaled(by: 0.125)
        var rng = SeededGenerator(seed: 5)
        var dict = Self.randomStateDict(widths: w, using: &rng)
        dict["extra.weight"] = Tensor(shape: [1], floats: [0])
        XCTAssertThrowsError(try Canonicalizer.canonicalize(stateDict: dict)) {
            XCTAssertEqual($0 as? LayoutError, .unexpectedKey("extra.weight"))
        }
        XCTAssertNoThrow(try Canonicalizer.canonicalize(stateDict: dict, options: .init(allowUnexpected: true)))
        dict["extra.weight"] = nil
        dict["rpn_model.loc.head.1.running_var"] = nil
        XCTAssertThrowsError(try Canonicalizer.canonicalize(stateDict: dict)) {
            XCTAssertEqual($0 as? LayoutError, .missingKey("rpn_model.loc.head.1.running_var"))
        }
        XCTAssertNoThrow(try Canonicalizer.canonicalize(stateDict: dict, options: .init(allowMissing: true)))
        dict["rpn_model.loc.head.1.running_var"] = Tensor(shape: [3], floats: [1, 1, 1])
        XCTAssertThrowsError(try Canonicalizer.canonicalize(stateDict: dict)) {
            guard case LayoutError.wrongShape(let key, _, _)? = $0 as? LayoutError else { return XCTFail("\($0)") }
            XCTAssertEqual(key, "rpn_model.loc.head.1.running_var")
        }
    }

    /// A random state dict in the official layout (BN variances positive).
    static func randomStateDict(widths: SiamMaskWidths, using rng: inout SeededGenerator) -> [String: Tensor] {
        var dict: [String: Tensor] = [:]
        for k in SiamMaskLayers(widths: widths).checkpointKeys {
            if k.dtype == "int64" { dict[k.key] = Tensor(shape: [], int64: [100]); continue }
            let n = k.shape.reduce(1, *)
            let positive = k.key.hasSuffix("running_var")
            dict[k.key] = Tensor(
                shape: k.shape,
                floats: (0..<n).map { _ in
                    positive ? Float.random(in: 0.1...2, using: &rng) : Float.random(in: -1...1, using: &rng)
                })
        }
        return dict
    }
}
