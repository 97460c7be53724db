import Evaluation
import Foundation
import Importers
import ModelFormat
import Quantization
import Runtime
import SiamMask
import SiamMaskLayout
import Synthetic
import Tensors
import TestSupport
import XCTest

/// int8 models: calibration through the tracker, the quantiser, the int8 `.siam` (round trip and every malformed
/// case), and the int8 tracker against the float32 one with the trained test model.
final class QuantizedModelTests: XCTestCase {
    /// The trained model, a calibration sequence and a held-out sequence, made once for the class.
    static let setup: (model: SiamMaskModel, calibration: TrackingSequence, heldOut: TrackingSequence, dir: URL)? = {
        guard
            let model = try? ModelConverter.convert([
                TestPaths.packageRoot.appendingPathComponent("Models/siammask-synth.pth")
            ]).model,
            let dir = try? TestPaths.temporaryDirectory("siammask-int8")
        else { return nil }
        do {
            let calib = dir.appendingPathComponent("calib"), held = dir.appendingPathComponent("held")
            _ = try SequenceWriter.write(SynthOptions(seed: 1101, frames: 7, width: 320, height: 240), to: calib)
            _ = try SequenceWriter.write(SynthOptions(seed: 5, frames: 9, width: 320, height: 240), to: held)
            return (model, try SequenceReader.open(calib), try SequenceReader.open(held), dir)
        } catch { return nil }
    }()

    override class func tearDown() {
        if let dir = setup?.dir { try? FileManager.default.removeItem(at: dir) }
    }

    func fixture() throws -> (model: SiamMaskModel, calibration: TrackingSequence, heldOut: TrackingSequence) {
        let s = try XCTUnwrap(Self.setup, "the trained model or the synthetic sequences could not be prepared")
        return (s.model, s.calibration, s.heldOut)
    }

    /// Observations of the calibration sequence, made once (observing is slow in debug builds).
    nonisolated(unsafe) static var observation: CalibrationRunner.Observation?

    func encodings(
        _ model: SiamMaskModel, _ sequence: TrackingSequence, method: CalibrationMethod = .percentile(99.99)
    )
        throws -> (table: CalibrationTable, encodings: [String: UInt8Encoding])
    {
        if Self.observation == nil {
            Self.observation = try CalibrationRunner.observe(
                network: SiamMaskNetwork(model: model), sequences: [sequence], threads: 2)
        }
        let table = CalibrationRunner.table(Self.observation!, method: method, model: "trained")
        var e: [String: UInt8Encoding] = [:]
        for t in table.tensors { e[t.name] = UInt8Encoding(scale: t.scale, zeroPoint: t.zeroPoint) }
        return (table, e)
    }

    /// The file with `mutate` applied is refused, with `expected` in the reason.
    func assertRefused(
        _ file: SiamFile, _ mutate: (inout SiamFile) -> Void, _ expected: String, line: UInt = #line
    ) {
        var f = file
        mutate(&f)
        XCTAssertThrowsError(try SiamMaskModel(siamFile: f), line: line) { error in
            XCTAssertTrue("\(error)".contains(expected), "\(error)", line: line)
        }
    }

    func testCalibrationSeesEveryPerFrameTensorAndTheImageIsLossless() throws {
        let (model, calibration, _) = try fixture()
        let (table, _) = try encodings(model, calibration)
        XCTAssertEqual(table.frames, 6)
        let names = Set(table.tensors.map(\.name))
        for node in try SiamMaskQuantizer.quantizableNodes(SiamMaskNetwork(model: model)) {
            XCTAssertTrue(names.contains(node.name), "\(node.name) observed")
            XCTAssertTrue(names.contains(node.inputSource), "\(node.inputSource) observed")
        }
        // The search crop is an 8-bit image: scale 1, zero point 0, so quantising it loses nothing.
        let search = try XCTUnwrap(table.tensors.first { $0.name == "search" })
        XCTAssertTrue(search.byteImage)
        XCTAssertEqual(search.quantization, .byteImage)
    }

    func testQuantisedModelRoundTripsThroughTheFileAndRejectsMalformedParameters() throws {
        let (model, calibration, _) = try fixture()
        let (_, enc) = try encodings(model, calibration)
        let keep: Set<String> = ["refine_model.post2", "rpn_model.loc.xcorr"]
        let q = try SiamMaskQuantizer.quantize(
            model, encodings: enc, float32Nodes: keep, settings: ["calibration.method": "test"])
        XCTAssertEqual(q.precision, "mixed")
        XCTAssertNil(q.quantization!.layers["refine_model.post2"])
        XCTAssertNotNil(q.quantization!.layers["features.features.conv1"])
        XCTAssertEqual(
            q.quantization!.layers["rpn_model.cls.conv_kernel.0"]?.isWeightOnly, true,
            "template-only: int8 storage, float32 compute")
        XCTAssertEqual(q.quantization!.layers["refine_model.deconv"]?.isWeightOnly, true)
        XCTAssertEqual(q.quantization!.layers["features.features.conv1"]?.isWeightOnly, false)
        let bytes = try SiamFileWriter.encode(q.siamFile())
        let back = try SiamMaskModel(siamFile: SiamFileReader.decode(bytes))
        XCTAssertEqual(back, q)
        let network = try SiamMaskNetwork(model: back)
        let session = try TrackerSession(network: network)
        let nodes = try SiamMaskQuantizer.quantizableNodes(network).map(\.name)
        XCTAssertEqual(session.int8Nodes, nodes.filter { !keep.contains($0) })
        XCTAssertEqual(try TrackerSession(network: network, int8: false).int8Nodes, [])

        // int8 storage: much smaller than the float32 file.
        let fp32Bytes = try SiamFileWriter.encode(model.siamFile())
        XCTAssertLessThan(Double(bytes.count), 0.45 * Double(fp32Bytes.count))

        // Every malformed case is refused with its reason.
        var file = q.siamFile()
        func refuse(_ mutate: (inout SiamFile) -> Void, _ expected: String, line: UInt = #line) {
            assertRefused(file, mutate, expected, line: line)
        }
        func tensorIndex(_ name: String) -> Int { file.tensors.firstIndex { $0.name == name }! }
        let w = tensorIndex("features.features.conv1.weight"), b = tensorIndex("features.features.conv1.bias")
        let templateOnly = tensorIndex("rpn_model.cls.conv_kernel.0.weight")
        refuse({ $0.tensors[templateOnly].quantization = nil }, "per-channel scales")
        refuse({ $0.tensors[templateOnly].quantization!.axis = 1 }, "first axis")
        refuse({ $0.metadata["quant.activations.scales"] = .doubles([]) }, "quant.activations")
        refuse(
            { f in
                guard case .doubles(var s)? = f.metadata["quant.activations.scales"] else { return }
                s[0] = 0
                f.metadata["quant.activations.scales"] = .doubles(s)
            }, "scale 0")
        refuse(
            { f in
                guard case .ints(var z)? = f.metadata["quant.activations.zero_points"] else { return }
                z[0] = 256
                f.metadata["quant.activations.zero_points"] = .ints(z)
            }, "zero point 256")
        refuse({ $0.metadata["quant.float32_layers"] = nil }, "quant.float32_layers")
        refuse({ $0.metadata["model.precision"] = .string("float32") }, "in a float32 model")
        refuse({ $0.tensors[w].quantization = nil }, "per-channel scales")
        refuse({ $0.tensors[w].quantization!.scales[0] = -1 }, "positive scales")
        refuse({ $0.tensors[w].quantization!.zeroPoints[0] = 3 }, "symmetric")
        refuse({ $0.tensors[b].quantization = nil }, "bias must be int32")
        refuse(
            { f in
                var values = f.tensors[w].tensor.withUnsafeBytes { Array($0.bindMemory(to: Int8.self)) }
                values[0] = -128
                f.tensors[w].tensor = Tensor(shape: f.tensors[w].tensor.shape, int8: values)
            }, "-128")
        file.metadata["model.precision"] = .string("int8")
        XCTAssertNoThrow(try SiamMaskModel(siamFile: file), "precision names int8 or mixed; the layers say which")
    }

    func testQuantizerErrorsAndPatterns() throws {
        let (model, calibration, _) = try fixture()
        let (_, enc) = try encodings(model, calibration)
        var missing = enc
        missing["features.features.layer2.0.conv2"] = nil
        XCTAssertThrowsError(try SiamMaskQuantizer.quantize(model, encodings: missing)) { error in
            XCTAssertEqual(
                error as? QuantizerError,
                .missingCalibration(
                    tensor: "features.features.layer2.0.conv2", node: "features.features.layer2.0.conv2"))
        }
        XCTAssertThrowsError(try SiamMaskQuantizer.quantize(model, encodings: enc, float32Nodes: ["no.such.layer"])) {
            error in
            XCTAssertEqual(error as? QuantizerError, .unknownLayer("no.such.layer"))
        }
        let q = try SiamMaskQuantizer.quantize(model, encodings: enc)
        XCTAssertThrowsError(try SiamMaskQuantizer.quantize(q, encodings: enc)) {
            XCTAssertEqual($0 as? QuantizerError, .alreadyQuantized)
        }
        XCTAssertThrowsError(try SiamMaskQuantizer.quantize(model, encodings: enc, weightBits: 6)) {
            XCTAssertEqual($0 as? QuantizerError, .unsupportedWeightBits(6))
        }
        // 7-bit weights: every int8-compute layer within [-63, 63], recorded in the settings, and through the file.
        let q7 = try SiamMaskQuantizer.quantize(model, encodings: enc, weightBits: 7)
        XCTAssertEqual(q7.quantization!.settings["weight_bits"], "7")
        XCTAssertNil(q.quantization!.settings["weight_bits"], "8 bits is the default and not recorded")
        for (module, layer) in q7.quantization!.layers where !layer.isWeightOnly {
            XCTAssertTrue(layer.values.allSatisfy { $0 >= -63 && $0 <= 63 }, module)
        }
        XCTAssertEqual(try SiamMaskModel(siamFile: SiamFileReader.decode(SiamFileWriter.encode(q7.siamFile()))), q7)
        let nodes = try SiamMaskQuantizer.quantizableNodes(SiamMaskNetwork(model: model))
        XCTAssertEqual(SiamMaskQuantizer.nodes(matching: ["refine_model.*"], in: nodes).count, 15)
        XCTAssertEqual(SiamMaskQuantizer.nodes(matching: ["*.xcorr"], in: nodes).count, 3)
        XCTAssertEqual(
            SiamMaskQuantizer.nodes(matching: ["features.features.layer1.0.downsample.0"], in: nodes),
            ["features.features.layer1.0.downsample"], "modules match too")
        // The int8 weights are symmetric per channel and the int32 bias sits at input scale x weight scale.
        let layer = try XCTUnwrap(q.quantization!.layers["features.features.layer3.1.conv2"])
        let input = try XCTUnwrap(enc["features.features.layer3.1.conv1"])
        XCTAssertEqual(layer.biasScales, layer.weightScales.map { input.scale * $0 })
        XCTAssertFalse(layer.values.contains(-128))
        XCTAssertEqual(layer.values.map { abs(Int($0)) }.max(), 127)
    }

    /// The int8 tracker follows the float32 one closely on a held-out sequence (calibrated on another), per layer
    /// the error is small, and its accuracy against the ground truth stays within a few points.
    func testInt8TrackerStaysCloseToFloat32() throws {
        let (model, calibration, heldOut) = try fixture()
        let (_, enc) = try encodings(model, calibration)
        let q = try SiamMaskQuantizer.quantize(model, encodings: enc)
        let m = try DriftRunner.measure(
            reference: SiamMaskNetwork(model: model), candidate: SiamMaskNetwork(model: q),
            sequences: [heldOut], options: DriftRunner.Options(threads: 2))
        let s = DriftSummary(m.frames)
        print(
            String(
                format: "int8 vs float32: box IoU %.4f, mask IoU %.4f, centre error %.2f px", s.boxIoUMean,
                s.maskIoUMean, s.centerErrorPxMean))
        XCTAssertEqual(s.frames, 8)
        XCTAssertGreaterThan(s.boxIoUMean, 0.9)
        XCTAssertGreaterThan(s.maskIoUMean, 0.9)
        let a = try XCTUnwrap(s.accuracy)
        XCTAssertLessThan(abs(a.candidate.maskIoUMean - a.reference.maskIoUMean), 0.05)
        XCTAssertEqual(m.layers.count, try SiamMaskQuantizer.quantizableNodes(SiamMaskNetwork(model: q)).count)
        XCTAssertTrue(m.layers.allSatisfy { $0.precision == .int8 })
        XCTAssertEqual(
            Set(m.layers.filter(\.final).map(\.name)),
            ["rpn_model.cls.head.3", "rpn_model.loc.head.3", "refine_model.post2"])
        // Broken int8 arithmetic gives cosines near 0 and SQNRs near or below 0 dB; int8 noise alone stays far above.
        for l in m.layers { XCTAssertGreaterThan(l.cosine, 0.9, l.name) }
        for l in m.layers where l.final { XCTAssertGreaterThan(l.sqnrDB, 5, l.name) }
    }

    /// Winograd-domain layers (`quantize --winograd-domain`): calibration records every candidate's transform range,
    /// the quantiser turns it into multipliers on the default layers, the file carries them (and refuses malformed
    /// ones), the tracker runs them (its outputs differ from the exact int8 model's) and stays close to float32.
    func testWinogradDomainLayers() throws {
        let (model, calibration, heldOut) = try fixture()
        let (table, enc) = try encodings(model, calibration)
        let network = try SiamMaskNetwork(model: model)
        let candidates = try SiamMaskQuantizer.winogradCandidates(network)
        XCTAssertEqual(Set(table.winograd.map(\.node)), Set(candidates.map(\.name)))
        XCTAssertTrue(candidates.contains { $0.name == "features.features.layer3.0.downsample" && $0.dilation == 1 })
        XCTAssertTrue(candidates.contains { $0.name == "features.features.layer3.1.conv2" && $0.dilation == 2 })
        XCTAssertFalse(candidates.contains { $0.name.hasPrefix("refine_model") }, "windowed inputs are left out")
        for e in table.winograd { XCTAssertTrue(e.absMax.allSatisfy { $0 > 0 }, e.node) }
        let chosen = try SiamMaskQuantizer.defaultWinogradLayers(network)
        XCTAssertEqual(
            Set(chosen.map(\.name)),
            Set(
                ["features.features.layer3.0.downsample", "rpn_model.cls.conv_search", "rpn_model.loc.conv_search"]
                    + (1..<4).map { "features.features.layer2.\($0).conv2" }
                    + (0..<6).map { "features.features.layer3.\($0).conv2" }),
            "layer2's and layer3's 3x3 stride-1 convs and the search-side convs of the box and score correlations")
        var winograd: [String: [Float]] = [:]
        for c in chosen { winograd[c.name] = try XCTUnwrap(table.winogradAbsMax(for: c.name)) }
        let q = try SiamMaskQuantizer.quantize(model, encodings: enc, winograd: winograd)
        for c in chosen {
            let m = try XCTUnwrap(q.quantization!.layers[c.module]?.winogradMultipliers, c.module)
            XCTAssertEqual(m.count, 16)
            XCTAssertTrue(m.allSatisfy { (1...32767).contains($0) })
        }
        XCTAssertNil(q.quantization!.layers["features.features.layer1.1.conv2"]?.winogradMultipliers)
        let file = q.siamFile()
        XCTAssertEqual(try SiamMaskModel(siamFile: SiamFileReader.decode(SiamFileWriter.encode(file))), q)
        func refuse(_ mutate: (inout SiamFile) -> Void, _ expected: String, line: UInt = #line) {
            assertRefused(file, mutate, expected, line: line)
        }
        refuse({ $0.metadata["quant.winograd_domain.multipliers"] = .ints([1, 2]) }, "16 multipliers per layer")
        refuse({ $0.metadata["quant.winograd_domain.layers"] = nil }, "16 multipliers per layer")
        refuse(
            { f in
                guard case .ints(var m)? = f.metadata["quant.winograd_domain.multipliers"] else { return }
                m[3] = 0
                f.metadata["quant.winograd_domain.multipliers"] = .ints(m)
            }, "outside [1, 32767]")
        refuse(
            { f in
                guard case .strings(var n)? = f.metadata["quant.winograd_domain.layers"] else { return }
                n[0] = "features.features.layer3.0.conv1"
                f.metadata["quant.winograd_domain.layers"] = .strings(n)
            }, "not an int8 3x3 stride-1 convolution")
        refuse(
            { f in
                guard case .strings(var n)? = f.metadata["quant.winograd_domain.layers"] else { return }
                n[0] = "features.features.layer2.0.conv2"   // 3x3, stride 2
                f.metadata["quant.winograd_domain.layers"] = .strings(n)
            }, "not an int8 3x3 stride-1 convolution")
        XCTAssertThrowsError(
            try SiamMaskQuantizer.quantize(
                model, encodings: enc, winograd: ["features.features.layer3.0.conv1": [Float](repeating: 1, count: 16)])
        ) { XCTAssertEqual($0 as? QuantizerError, .notWinogradCandidate("features.features.layer3.0.conv1")) }

        // The tracker runs them: lockstep drift against float32 stays small, and against the exact int8 model the
        // outputs differ (the Winograd domain is lossy, so identical outputs would mean it never ran).
        let exact = try SiamMaskQuantizer.quantize(model, encodings: enc)
        let options = DriftRunner.Options(threads: 2, layers: false, lockstep: true)
        let vsFloat = DriftSummary(
            try DriftRunner.measure(
                reference: network, candidate: SiamMaskNetwork(model: q), sequences: [heldOut], options: options
            ).frames)
        XCTAssertGreaterThan(vsFloat.boxIoUMean, 0.95)
        XCTAssertGreaterThan(vsFloat.maskIoUMean, 0.95)
        // One frame from the same state: the exact layers before layer2 give the same values in both int8 models,
        // the Winograd-domain ones do not (lossy: identical outputs would mean it never ran).
        var seen: [[String: [Float]]] = [[:], [:]]
        for (i, m) in [exact, q].enumerated() {
            let session = try TrackerSession(network: SiamMaskNetwork(model: m))
            let first = try Image.read(contentsOf: heldOut.frames[0], as: .bgr)
            try session.initialize(frame: first, target: SequenceTracking.initialTarget(heldOut, frame: first))
            session.setObserver { name, _, values in
                if name == "features.features.layer1.1.conv2" || name == "features.features.layer3.0.downsample" {
                    seen[i][name] = Array(values)
                }
            }
            _ = try session.track(Image.read(contentsOf: heldOut.frames[1], as: .bgr))
        }
        XCTAssertEqual(seen[0]["features.features.layer1.1.conv2"], seen[1]["features.features.layer1.1.conv2"])
        let (a, b) = (
            try XCTUnwrap(seen[0]["features.features.layer3.0.downsample"]),
            try XCTUnwrap(seen[1]["features.features.layer3.0.downsample"])
        )
        XCTAssertNotEqual(a, b)
        XCTAssertGreaterThan(sqnrDB(reference: a, candidate: b), 15, "close to the exact int8 layer")
    }

    /// Budget-driven mixed precision returns layers to float32 until the budget holds, fewest first; an impossible
    /// budget ends with every layer in float32 and says so.
    /// On the reduced-width fixture model (random weights: cheap to run; the search's mechanics are what is tested).
    func testMixedPrecisionMeetsATightBudget() throws {
        let (_, calibration, _) = try fixture()
        let model = try SiamMaskModel(siamFile: SiamFileReader.read(contentsOf: TestPaths.fixture("siammask.siam")))
        let observation = try CalibrationRunner.observe(
            network: SiamMaskNetwork(model: model), sequences: [calibration], maxFrames: 3)
        var enc: [String: UInt8Encoding] = [:]
        for t in CalibrationRunner.table(observation, method: .minMax, model: "fixture").tensors {
            enc[t.name] = UInt8Encoding(scale: t.scale, zeroPoint: t.zeroPoint)
        }
        let options = DriftRunner.Options(maxFrames: 3, threads: 2, layers: false)
        let budget = DriftBudget(minBoxIoUMean: 0.999, minMaskIoUMean: 0.999)
        let outcome = try MixedPrecisionSearch.run(
            model: model, encodings: enc, alwaysFloat32: [], sequences: [calibration],
            budget: budget, options: options, sampleFrames: 2)
        XCTAssertTrue(outcome.passed)
        XCTAssertEqual(
            outcome.sensitivity.count, try SiamMaskQuantizer.quantizableNodes(SiamMaskNetwork(model: model)).count)
        XCTAssertEqual(
            outcome.sensitivity.map(\.sqnrDB), outcome.sensitivity.map(\.sqnrDB).sorted(), "most harmful first")
        let last = try XCTUnwrap(outcome.steps.first { $0.float32Layers == outcome.float32Layers })
        XCTAssertTrue(last.violations.isEmpty)
        // Every step with fewer float32 layers failed: the answer is the fewest the search found.
        for step in outcome.steps where step.float32Layers.count < outcome.float32Layers.count {
            XCTAssertFalse(step.violations.isEmpty)
        }
        XCTAssertEqual(Set(outcome.model.quantization!.float32Nodes), Set(outcome.float32Layers))
    }
}
