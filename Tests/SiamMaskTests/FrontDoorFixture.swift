import Evaluation
import Foundation
import Importers
import ModelFormat
import Quantization
import SiamMask
import SiamMaskLayout
import Tensors
import Synthetic
import TestSupport

/// What FrontDoorTests needs but must not import itself (that file imports only SiamMask and XCTest, to prove the
/// front door is enough): the trained test model as float32 and int8 `.siam` files, a synthetic sequence on disk,
/// and the results of the pre-front-door path on them (`SiamFileReader` + `SiamMaskModel(siamFile:)` +
/// `TrackerSession` over `FrameReader` frames, as the CLI tracked before).
struct FrontDoorFixture {
    let directory: URL
    let float32: URL
    let int8: URL
    let sequence: URL
    /// Per model file: the session path's results, frames 1... of the sequence.
    let reference: [URL: [TrackResult]]

    static let threads = 2
    static let frames = 5

    nonisolated(unsafe) private static var made: FrontDoorFixture?

    static func shared() throws -> FrontDoorFixture {
        if let made { return made }
        let dir = try TestPaths.temporaryDirectory("siammask-frontdoor")
        let model = try ModelConverter.convert([
            TestPaths.packageRoot.appendingPathComponent("Models/siammask-synth.pth")
        ]).model
        let float32 = dir.appendingPathComponent("synth.siam"), int8 = dir.appendingPathComponent("synth-int8.siam")
        try SiamFileWriter.write(model.siamFile(), to: float32)
        // int8: calibrated on its own synthetic sequence (not the tracked one), as `siammask calibrate` + `quantize` do.
        let calibration = dir.appendingPathComponent("calibration"), sequence = dir.appendingPathComponent("sequence")
        _ = try SequenceWriter.write(SynthOptions(seed: 1101, frames: 3, width: 320, height: 240), to: calibration)
        _ = try SequenceWriter.write(SynthOptions(seed: 5, frames: frames + 1, width: 320, height: 240), to: sequence)
        let observation = try CalibrationRunner.observe(
            network: SiamMaskNetwork(model: model),
            sequences: [SequenceReader.open(calibration)], threads: threads)
        let table = CalibrationRunner.table(observation, method: .mse, model: "synth.siam")
        var encodings: [String: UInt8Encoding] = [:]
        for t in table.tensors { encodings[t.name] = UInt8Encoding(scale: t.scale, zeroPoint: t.zeroPoint) }
        try SiamFileWriter.write(SiamMaskQuantizer.quantize(model, encodings: encodings).siamFile(), to: int8)

        var reference: [URL: [TrackResult]] = [:]
        let seq = try SequenceReader.open(sequence)
        for url in [float32, int8] {
            let network = try SiamMaskNetwork(model: SiamMaskModel(siamFile: SiamFileReader.read(contentsOf: url)))
            let session = try TrackerSession(
                network: network, preset: SequenceTracking.presetName("auto", sequence: seq, network: network),
                threads: threads)
            // Written out rather than through SequenceTracking.run, which now runs the front door's TrackingLoop.
            let reader = try FrameReader(seq)
            guard let first = try reader.next() else { throw SequenceError.empty(seq.name) }
            try session.initialize(frame: first, target: SequenceTracking.initialTarget(seq, frame: first))
            var results: [TrackResult] = []
            while let frame = try reader.next() { results.append(try session.track(frame)) }
            reference[url] = results
        }
        let fixture = FrontDoorFixture(
            directory: dir, float32: float32, int8: int8, sequence: sequence, reference: reference)
        made = fixture
        return fixture
    }
}
