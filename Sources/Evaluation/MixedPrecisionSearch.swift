import Foundation
import Quantization
import Runtime
import SiamMask
import SiamMaskLayout
import Tensors

/// Accuracy-aware mixed precision: returns the fewest per-frame layers to float32 needed for the int8 tracker to stay
/// within a drift budget on the calibration sequences.
///
/// 1. Sensitivity: for each quantisable layer alone in int8 (everything else float32), the SQNR of the network's
///    final outputs (cls, loc, mask) against float32 on sampled tracker inputs. The lower, the more harmful.
/// 2. Search: the k most harmful layers go back to float32, for k = 0, 1, 2, 4, ... until the end-to-end drift
///    (both trackers free-running over the sequences) meets the budget, then bisection between the last failing and
///    the first passing k. Each step is recorded.
public enum MixedPrecisionSearch {
    public struct Step: Sendable {
        public var float32Layers: [String]
        public var summary: DriftSummary
        public var violations: [String]
    }

    public struct Outcome: Sendable {
        public var model: SiamMaskModel
        public var float32Layers: [String]
        /// (layer, final-output SQNR dB with only that layer in int8), most harmful first.
        public var sensitivity: [(name: String, sqnrDB: Double)]
        public var steps: [Step]
        public var passed: Bool
    }

    public enum SearchError: Error, CustomStringConvertible {
        case noSamples
        public var description: String { "the calibration sequences gave no frames to measure on" }
    }

    public static func run(
        model: SiamMaskModel, encodings: [String: UInt8Encoding], alwaysFloat32: Set<String>,
        sequences: [TrackingSequence], budget: DriftBudget, options: DriftRunner.Options,
        sampleFrames: Int = 16, settings: [String: String] = [:], weightBits: Int = 8,
        winograd: [String: [Float]] = [:],
        log: ((String) -> Void)? = nil
    ) throws -> Outcome {
        let reference = try SiamMaskNetwork(model: model)
        let allInt8 = try SiamMaskQuantizer.quantize(
            model, encodings: encodings, float32Nodes: alwaysFloat32, settings: settings, weightBits: weightBits,
            winograd: winograd)
        let candidates = try SiamMaskQuantizer.quantizableNodes(reference).map(\.name).filter {
            !alwaysFloat32.contains($0)
        }

        let samples = try collectSamples(reference, sequences: sequences, options: options, count: sampleFrames)
        guard !samples.isEmpty else { throw SearchError.noSamples }
        let sensitivity = try layerSensitivity(
            reference: reference, quantized: SiamMaskNetwork(model: allInt8),
            candidates: candidates, samples: samples, threads: options.threads)
        log?(
            "sensitivity measured on \(samples.count) frames; most harmful: "
                + sensitivity.prefix(5).map { String(format: "%@ %.1f dB", $0.name, $0.sqnrDB) }.joined(separator: ", ")
        )

        var steps: [Step] = []
        var models: [Int: SiamMaskModel] = [:]
        // Past the per-frame layers, one last step also keeps the weight-only layers' weights in float32: the model is
        // then the float32 one, which meets any budget.
        let weightOnly = try SiamMaskQuantizer.weightOnlyModules(reference)
        func float32Set(_ k: Int) -> Set<String> {
            alwaysFloat32.union(sensitivity.prefix(k).map(\.name)).union(k > sensitivity.count ? weightOnly : [])
        }
        func attempt(_ k: Int) throws -> Bool {
            let float32 = float32Set(k)
            let candidate = try SiamMaskQuantizer.quantize(
                model, encodings: encodings, float32Nodes: float32, settings: settings, weightBits: weightBits,
                winograd: winograd)
            var o = options
            o.layers = budget.minFinalSQNRDB != nil
            let m = try DriftRunner.measure(
                reference: reference, candidate: SiamMaskNetwork(model: candidate), sequences: sequences, options: o)
            let summary = DriftSummary(m.frames)
            let violations = budget.check(summary, layers: m.layers)
            steps.append(Step(float32Layers: float32.sorted(), summary: summary, violations: violations))
            log?(
                String(
                    format: "%d layers in float32: box IoU %.4f, mask IoU %.4f, centre error %.2f px -> %@",
                    float32.count,
                    summary.boxIoUMean, summary.maskIoUMean, summary.centerErrorPxMean,
                    violations.isEmpty ? "within budget" : "over budget"))
            models[k] = candidate
            return violations.isEmpty
        }
        var failing = -1, passing = -1
        var k = 0
        while true {
            if try attempt(k) { passing = k; break }
            failing = k
            if k > sensitivity.count { break }
            k = k == 0 ? 1 : (k == sensitivity.count ? k + 1 : min(2 * k, sensitivity.count))
        }
        if passing > 0 {
            while passing - failing > 1 {
                let mid = (passing + failing) / 2
                if try attempt(mid) { passing = mid } else { failing = mid }
            }
        }
        let chosen = passing >= 0 ? passing : sensitivity.count + 1
        let float32 = float32Set(chosen).sorted()
        return Outcome(
            model: models[chosen] ?? allInt8, float32Layers: float32, sensitivity: sensitivity, steps: steps,
            passed: passing >= 0)
    }

    struct Sample { let crop: Tensor; let kernels: [String: Tensor]; let cell: (row: Int, column: Int) }

    /// Tracker inputs spread evenly over the sequences' frames (the reference tracker's own crops).
    static func collectSamples(
        _ network: SiamMaskNetwork, sequences: [TrackingSequence], options: DriftRunner.Options,
        count: Int
    ) throws -> [Sample] {
        var all: [Sample] = []
        for sequence in sequences {
            let session = try TrackerSession(
                network: network,
                preset: SequenceTracking.presetName(options.preset, sequence: sequence, network: network),
                threads: options.threads)
            try SequenceTracking.run([session], over: sequence, maxFrames: options.maxFrames) { _, _, _ in
                if let crop = session.lastSearchCrop, let cell = session.lastRefineCell {
                    all.append(Sample(crop: crop, kernels: session.templateKernels, cell: cell))
                }
            }
        }
        guard all.count > count else { return all }
        return (0..<count).map { all[$0 * all.count / count] }
    }

    /// For each candidate alone in int8: SQNR (dB) of cls, loc and mask together (each error normalised by its own
    /// reference energy, averaged over outputs and samples), most harmful (lowest) first.
    static func layerSensitivity(
        reference: SiamMaskNetwork, quantized network: SiamMaskNetwork, candidates: [String],
        samples: [Sample], threads: Int
    ) throws -> [(name: String, sqnrDB: Double)] {
        func features(_ o: [String: Tensor]) -> [String: Tensor] {
            ["f0": o["f0"]!, "f1": o["f1"]!, "f2": o["f2"]!, "corr": o["corr"]!]
        }
        func feeds(_ s: Sample) -> [String: Tensor] {
            var f = s.kernels
            f["search"] = s.crop
            return f
        }
        // The float32 outputs once per sample.
        let referenceSearch = try Executor(graph: reference.trackingSearchGraph(), threads: threads)
        let referenceRefine = try Executor(graph: reference.refineGraph(row: 12, column: 12), threads: threads)
        var expected: [[[Float]]] = []
        for s in samples {
            let r = try referenceSearch.run(feeds(s))
            try SiamMaskNetwork.moveRefine(referenceRefine, row: s.cell.row, column: s.cell.column)
            expected.append([r["cls"]!.floats, r["loc"]!.floats, try referenceRefine.run(features(r))["mask"]!.floats])
        }
        let searchGraph = try network.trackingSearchGraph(), refineGraph = try network.refineGraph(row: 12, column: 12)
        let base = network.int8Configuration!
        var result: [(name: String, sqnrDB: Double)] = []
        for name in candidates {
            var config = base
            config.float32Nodes = base.float32Nodes.union(candidates.filter { $0 != name })
            let search = try Executor(graph: searchGraph, threads: threads, int8: config)
            let refine = try Executor(graph: refineGraph, threads: threads, int8: config)
            var ratio = 0.0
            for (s, reference) in zip(samples, expected) {
                let c = try search.run(feeds(s))
                try SiamMaskNetwork.moveRefine(refine, row: s.cell.row, column: s.cell.column)
                let outputs = [c["cls"]!.floats, c["loc"]!.floats, try refine.run(features(c))["mask"]!.floats]
                for (a, b) in zip(reference, outputs) {
                    var signal = 0.0, noise = 0.0
                    a.withUnsafeBufferPointer { a in
                        b.withUnsafeBufferPointer { b in
                            for i in 0..<a.count {
                                let x = Double(a[i]), e = Double(b[i]) - x
                                signal += x * x
                                noise += e * e
                            }
                        }
                    }
                    ratio += noise / max(signal, .leastNormalMagnitude)
                }
            }
            let meanRatio = ratio / Double(samples.count * 3)
            result.append((name, meanRatio > 0 ? -10 * log10(meanRatio) : LayerDrift.sqnrCapDB))
        }
        return result.sorted { $0.sqnrDB < $1.sqnrDB }
    }
}
