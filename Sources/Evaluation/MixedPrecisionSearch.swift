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

    public static func run(model: SiamMaskModel, encodings: [String: UInt8Encoding], alwaysFloat32: Set<String>,
                           sequences: [TrackingSequence], budget: DriftBudget, options: DriftRunner.Options,
                           sampleFrames: Int = 16, settings: [String: String] = [:],
                           log: ((String) -> Void)? = nil) throws -> Outcome {
        let reference = try SiamMaskNetwork(model: model)
        let allInt8 = try SiamMaskQuantizer.quantize(model, encodings: encodings, float32Nodes: alwaysFloat32, settings: settings)
        let candidates = try SiamMaskQuantizer.quantizableNodes(reference).map(\.name).filter { !alwaysFloat32.contains($0) }

        let samples = try collectSamples(reference, sequences: sequences, options: options, count: sampleFrames)
        guard !samples.isEmpty else { throw SearchError.noSamples }
        let sensitivity = try candidates.map { name in
            (name: name, sqnrDB: try finalOutputSQNR(reference: reference, quantized: allInt8, onlyInt8: name,
                                                     candidates: candidates, samples: samples, threads: options.threads))
        }.sorted { $0.sqnrDB < $1.sqnrDB }
        log?("sensitivity measured on \(samples.count) frames; most harmful: "
             + sensitivity.prefix(5).map { String(format: "%@ %.1f dB", $0.name, $0.sqnrDB) }.joined(separator: ", "))

        var steps: [Step] = []
        var models: [Int: SiamMaskModel] = [:]
        func attempt(_ k: Int) throws -> Bool {
            let float32 = alwaysFloat32.union(sensitivity.prefix(k).map(\.name))
            let candidate = try SiamMaskQuantizer.quantize(model, encodings: encodings, float32Nodes: float32, settings: settings)
            var o = options
            o.layers = budget.minFinalSQNRDB != nil
            let m = try DriftRunner.measure(reference: reference, candidate: SiamMaskNetwork(model: candidate), sequences: sequences, options: o)
            let summary = DriftSummary(m.frames)
            let violations = budget.check(summary, layers: m.layers)
            steps.append(Step(float32Layers: float32.sorted(), summary: summary, violations: violations))
            log?(String(format: "%d layers in float32: box IoU %.4f, mask IoU %.4f, centre error %.2f px -> %@", float32.count,
                        summary.boxIoUMean, summary.maskIoUMean, summary.centerErrorPxMean, violations.isEmpty ? "within budget" : "over budget"))
            models[k] = candidate
            return violations.isEmpty
        }
        var failing = -1, passing = -1
        var k = 0
        while true {
            if try attempt(k) { passing = k; break }
            failing = k
            if k >= sensitivity.count { break }
            k = k == 0 ? 1 : min(2 * k, sensitivity.count)
        }
        if passing > 0 {
            while passing - failing > 1 {
                let mid = (passing + failing) / 2
                if try attempt(mid) { passing = mid } else { failing = mid }
            }
        }
        let chosen = passing >= 0 ? passing : sensitivity.count
        let float32 = alwaysFloat32.union(sensitivity.prefix(chosen).map(\.name)).sorted()
        return Outcome(model: models[chosen] ?? allInt8, float32Layers: float32, sensitivity: sensitivity, steps: steps,
                       passed: passing >= 0)
    }

    struct Sample { let crop: Tensor; let kernels: [String: Tensor]; let cell: (row: Int, column: Int) }

    /// Tracker inputs spread evenly over the sequences' frames (the reference tracker's own crops).
    static func collectSamples(_ network: SiamMaskNetwork, sequences: [TrackingSequence], options: DriftRunner.Options,
                               count: Int) throws -> [Sample] {
        var all: [Sample] = []
        for sequence in sequences {
            let session = try TrackerSession(network: network, preset: SequenceTracking.presetName(options.preset, sequence: sequence, network: network),
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

    /// SQNR (dB) of cls, loc and mask together (each normalised by its own energy, then averaged) with one layer int8.
    static func finalOutputSQNR(reference: SiamMaskNetwork, quantized: SiamMaskModel, onlyInt8 name: String,
                                candidates: [String], samples: [Sample], threads: Int) throws -> Double {
        let network = try SiamMaskNetwork(model: quantized)
        var config = network.int8Configuration!
        config.float32Nodes = config.float32Nodes.union(candidates.filter { $0 != name })
        let search = try Executor(graph: network.trackingSearchGraph(), threads: threads, int8: config)
        let refine = try Executor(graph: network.refineGraph(row: 12, column: 12), threads: threads, int8: config)
        let referenceSearch = try Executor(graph: reference.trackingSearchGraph(), threads: threads)
        let referenceRefine = try Executor(graph: reference.refineGraph(row: 12, column: 12), threads: threads)
        var ratio = 0.0
        for s in samples {
            var feeds = s.kernels
            feeds["search"] = s.crop
            let r = try referenceSearch.run(feeds), c = try search.run(feeds)
            for e in [refine, referenceRefine] { try SiamMaskNetwork.moveRefine(e, row: s.cell.row, column: s.cell.column) }
            func features(_ o: [String: Tensor]) -> [String: Tensor] { ["f0": o["f0"]!, "f1": o["f1"]!, "f2": o["f2"]!, "corr": o["corr"]!] }
            let rm = try referenceRefine.run(features(r))["mask"]!, cm = try refine.run(features(c))["mask"]!
            for (a, b) in [(r["cls"]!, c["cls"]!), (r["loc"]!, c["loc"]!), (rm, cm)] {
                var signal = 0.0, noise = 0.0
                for (x, y) in zip(a.floats, b.floats) {
                    signal += Double(x) * Double(x)
                    noise += Double(x - y) * Double(x - y)
                }
                ratio += noise / max(signal, .leastNormalMagnitude)
            }
        }
        let meanRatio = ratio / Double(samples.count * 3)
        return meanRatio > 0 ? -10 * log10(meanRatio) : LayerDrift.sqnrCapDB
    }
}
