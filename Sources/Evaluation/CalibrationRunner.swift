import Foundation
import Quantization
import SiamMask
import Tensors

/// Calibration as the issue defines it: the float32 tracker runs over real sequences from their ground truth, so
/// the activations observed are those of the crops the tracker really sees, and every input and node output of the
/// per-frame graphs is recorded by an `ActivationObserver`.
public enum CalibrationRunner {
    public struct Observation {
        public var observers: [String: ActivationObserver] = [:]
        /// The Winograd statistics of each candidate's input (`SiamMaskQuantizer.winogradCandidates`), keyed by
        /// input, padding and dilation (candidates that share them share one observer).
        public var winograd: [String: WinogradInputObserver] = [:]
        public var winogradCandidates: [WinogradCandidate] = []
        public var frames = 0
        public var sources: [String] = []
    }

    public enum CalibrationError: Error, CustomStringConvertible {
        case quantizedModel
        public var description: String { "calibrate the float32 model, not a quantised one" }
    }

    /// - Parameters:
    ///   - preset: "auto" (davis for DAVIS sequences, else the model's default) or a preset of the model.
    ///   - maxFrames: frames tracked per sequence after the initial one (nil: all).
    ///   - progress: called after each sequence with its name and frame count.
    public static func observe(
        network: SiamMaskNetwork, sequences: [TrackingSequence], preset: String = "auto",
        maxFrames: Int? = nil, threads: Int = 1, saveInputs: URL? = nil,
        progress: ((String, Int) -> Void)? = nil
    ) throws -> Observation {
        guard network.model.quantization == nil else { throw CalibrationError.quantizedModel }
        var observation = Observation()
        observation.winogradCandidates = try SiamMaskQuantizer.winogradCandidates(network)
        var winogradKeys: [String: [WinogradCandidate]] = [:]
        for c in observation.winogradCandidates { winogradKeys[c.inputSource, default: []].append(c) }
        for sequence in sequences {
            let session = try TrackerSession(
                network: network, preset: SequenceTracking.presetName(preset, sequence: sequence, network: network),
                threads: threads)
            var observers = observation.observers
            var winograd = observation.winograd
            session.setObserver { name, shape, values in
                observers[name, default: ActivationObserver()].observe(values)
                var done = Set<String>()   // candidates with the same input and geometry share one observer
                for c in winogradKeys[name] ?? [] where done.insert(Self.winogradKey(c)).inserted {
                    winograd[
                        Self.winogradKey(c), default: WinogradInputObserver(padding: c.padding, dilation: c.dilation)
                    ]
                    .observe(values, channels: shape.channels, height: shape.height, width: shape.width)
                }
            }
            if let saveInputs {
                try FileManager.default.createDirectory(at: saveInputs, withIntermediateDirectories: true)
            }
            let frames = try SequenceTracking.run([session], over: sequence, maxFrames: maxFrames) { index, _, _ in
                // The inputs of the frame just tracked: the same crops the observers saw.
                guard let saveInputs, let crop = session.lastSearchCrop, let zf = session.templateFeatures else {
                    return
                }
                let stem = String(format: "%@_%05d", sequence.name, index)
                try NPY.write(
                    crop.reshaped([1] + crop.shape.suffix(3)),
                    to: saveInputs.appendingPathComponent(stem + "_search.npy"))
                try NPY.write(zf, to: saveInputs.appendingPathComponent(stem + "_zf.npy"))
            }
            session.setObserver(nil)
            observation.observers = observers
            observation.winograd = winograd
            observation.frames += frames
            observation.sources.append(sequence.name)
            progress?(sequence.name, frames)
        }
        return observation
    }

    /// The table for one reduction method.
    public static func table(_ observation: Observation, method: CalibrationMethod, model: String) -> CalibrationTable {
        var table = CalibrationTable.make(
            observers: observation.observers, method: method, model: model, sources: observation.sources,
            frames: observation.frames)
        table.winograd = observation.winogradCandidates.compactMap { c in
            observation.winograd[winogradKey(c)].map { CalibrationTable.WinogradEntry(node: c.name, absMax: $0.absMax) }
        }.sorted { $0.node < $1.node }
        return table
    }

    static func winogradKey(_ c: WinogradCandidate) -> String { "\(c.inputSource)|\(c.padding)|\(c.dilation)" }
}
