import Foundation
import Runtime
import SiamMask
import Tensors

/// Measures how far a candidate model (int8 or mixed) departs from its float32 reference:
/// - end to end: both trackers run over the same frames from the same ground-truth start, free or in lockstep (the
///   candidate restarted from the reference's state before each frame); each frame's box,
///   polygon and mask IoU, centre distance and score difference, and each tracker against the ground truth;
/// - per layer: the reference tracker's own search crop, template kernels and refine cell are fed to both networks'
///   per-frame graphs, and every convolution and correlation output is compared (cosine, SQNR, max abs error).
public enum DriftRunner {
    public struct Options: Sendable {
        public var preset = "auto"
        /// Frames tracked per sequence after the initial one (nil: all).
        public var maxFrames: Int?
        public var threads = 1
        public var layers = true
        /// Before each frame the candidate tracker takes the reference's state (centre and size), so every frame
        /// compares the two networks from the same crop: the per-frame effect of quantisation, without the chaotic
        /// divergence of two free-running trackers that part ways after one different decision.
        public var lockstep = false
        public init(
            preset: String = "auto", maxFrames: Int? = nil, threads: Int = 1, layers: Bool = true,
            lockstep: Bool = false
        ) {
            self.preset = preset
            self.maxFrames = maxFrames
            self.threads = threads
            self.layers = layers
            self.lockstep = lockstep
        }
    }

    public struct Measurement: Sendable {
        public var frames: [FrameDrift] = []
        public var layers: [LayerDrift] = []
    }

    public static func measure(
        reference: SiamMaskNetwork, candidate: SiamMaskNetwork, sequences: [TrackingSequence],
        options: Options = Options(), progress: ((String, Int) -> Void)? = nil
    ) throws -> Measurement {
        var result = Measurement()
        let probe =
            try options.layers ? LayerProbe(reference: reference, candidate: candidate, threads: options.threads) : nil
        for sequence in sequences {
            let preset = SequenceTracking.presetName(options.preset, sequence: sequence, network: reference)
            let ref = try TrackerSession(network: reference, preset: preset, threads: options.threads)
            let cand = try TrackerSession(network: candidate, preset: preset, threads: options.threads)
            let sync: (() -> Void)? = options.lockstep ? { cand.setState(center: ref.center, size: ref.size) } : nil
            let frames = try SequenceTracking.run(
                [ref, cand], over: sequence, maxFrames: options.maxFrames, beforeFrame: sync
            ) { index, _, r in
                result.frames.append(try frameDrift(sequence, index, r[0], r[1]))
                if let probe, let crop = ref.lastSearchCrop, let cell = ref.lastRefineCell {
                    try probe.run(crop: crop, kernels: ref.templateKernels, cell: cell)
                }
            }
            progress?(sequence.name, frames)
        }
        result.layers = probe?.layers ?? []
        return result
    }

    static func frameDrift(
        _ sequence: TrackingSequence, _ index: Int, _ r: TrackResult, _ c: TrackResult
    ) throws -> FrameDrift {
        func observation(_ t: TrackResult) -> DriftObservation {
            DriftObservation(
                box: Box(x: t.box.x, y: t.box.y, width: t.box.width, height: t.box.height),
                polygon: t.polygon.map { Point($0.x, $0.y) }, mask: t.mask, score: Double(t.score))
        }
        var drift = FrameDrift(
            sequence: sequence.name, frame: index, reference: observation(r), candidate: observation(c))
        // Ground truth by the benchmark's own rules (VOT polygon to box, DAVIS mask and its bounding rectangle).
        (drift.referenceGTBoxIoU, drift.referenceGTMaskIoU) = try SequenceTracking.groundTruthOverlap(
            r, sequence: sequence, frame: index)
        (drift.candidateGTBoxIoU, drift.candidateGTMaskIoU) = try SequenceTracking.groundTruthOverlap(
            c, sequence: sequence, frame: index)
        return drift
    }
}

/// Runs the per-frame graphs of both networks on identical inputs and accumulates per-layer error.
final class LayerProbe {
    private let referenceSearch: Executor, referenceRefine: Executor
    private let candidateSearch: Executor, candidateRefine: Executor
    private let names: [String]
    private let finals: Set<String>
    private let int8: Set<String>
    private var stored: [String: [Float]] = [:]
    private var accumulators: [String: LayerDriftAccumulator] = [:]

    init(reference: SiamMaskNetwork, candidate: SiamMaskNetwork, threads: Int) throws {
        let search = try candidate.trackingSearchGraph(), refine = try candidate.refineGraph(row: 12, column: 12)
        referenceSearch = try Executor(graph: reference.trackingSearchGraph(), threads: threads)
        referenceRefine = try Executor(graph: reference.refineGraph(row: 12, column: 12), threads: threads)
        candidateSearch = try Executor(graph: search, threads: threads, int8: candidate.int8Configuration)
        candidateRefine = try Executor(graph: refine, threads: threads, int8: candidate.int8Configuration)
        names = try SiamMaskQuantizer.quantizableNodes(candidate).map(\.name)
        var finals: Set<String> = []
        for graph in [search, refine] {
            for (name, value) in graph.outputs where ["cls", "loc", "mask"].contains(name) {
                if let node = graph.nodes.first(where: { $0.output == value }) { finals.insert(node.name) }
            }
        }
        self.finals = finals
        int8 = Set(candidateSearch.int8Nodes + candidateRefine.int8Nodes)
        let tracked = Set(names)
        let record: (String, ActivationShape, UnsafeBufferPointer<Float>) -> Void = { [unowned self] name, _, values in
            guard tracked.contains(name) else { return }
            self.stored[name] = Array(values)
        }
        let compare: (String, ActivationShape, UnsafeBufferPointer<Float>) -> Void = { [unowned self] name, _, values in
            guard tracked.contains(name), let reference = self.stored[name] else { return }
            reference.withUnsafeBufferPointer {
                self.accumulators[name, default: LayerDriftAccumulator()].add(reference: $0, candidate: values)
            }
        }
        referenceSearch.observer = record
        referenceRefine.observer = record
        candidateSearch.observer = compare
        candidateRefine.observer = compare
    }

    func run(crop: Tensor, kernels: [String: Tensor], cell: (row: Int, column: Int)) throws {
        var feeds = kernels
        feeds["search"] = crop
        let r = try referenceSearch.run(feeds)
        let c = try candidateSearch.run(feeds)
        for e in [referenceRefine, candidateRefine] {
            try SiamMaskNetwork.moveRefine(e, row: cell.row, column: cell.column)
        }
        func features(_ o: [String: Tensor]) -> [String: Tensor] {
            ["f0": o["f0"]!, "f1": o["f1"]!, "f2": o["f2"]!, "corr": o["corr"]!]
        }
        _ = try referenceRefine.run(features(r))
        _ = try candidateRefine.run(features(c))
    }

    var layers: [LayerDrift] {
        names.compactMap { name in
            guard let acc = accumulators[name] else { return nil }
            return LayerDrift(
                name: name, precision: int8.contains(name) ? .int8 : .float32, final: finals.contains(name), acc)
        }
    }
}
