import ArgumentParser
import Evaluation
import Foundation
import SiamMask

struct DriftCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drift",
        abstract: "Measure how far an int8 model departs from its float32 original, per layer and in tracking.",
        discussion: """
            Both trackers run over each sequence from its first-frame ground truth. End to end, per frame: box, polygon and
            mask IoU between the two, centre distance, score difference, and each tracker against the ground truth where
            the sequence has it. Per layer: the float32 tracker's crops are fed to both networks and every convolution and
            correlation output compared (cosine, SQNR, max abs error). Writes OUT/drift.json (Schemas/drift-report.md),
            OUT/drift.md and OUT/drift.svg. Exits with status 1 when --budget is exceeded (e.g. 0.95, or
            box_iou=0.95,mask_iou=0.95,center_error=2,sqnr_db=20).
            """)

    @Argument(help: "The float32 reference .siam.")
    var reference: String

    @Argument(help: "The int8 (or mixed) .siam to check.")
    var candidate: String

    @Option(
        name: .customLong("sequence"), help: "A sequence folder or video with first-frame ground truth (repeatable).")
    var sequences: [String] = []

    @Option(help: "Drift budget; exit status 1 when exceeded.")
    var budget: String?

    @OptionGroup var framesOption: TrackedFramesOption
    var frames: Int? { framesOption.frames }

    @OptionGroup var presetOption: PresetOption
    var preset: String { presetOption.preset }

    @Flag(help: "Skip the per-layer comparison (end to end only; about twice as fast).")
    var noLayers = false

    @Flag(
        help:
            "Start the int8 tracker from the float32 tracker's state on every frame: the per-frame effect of quantisation, free of the divergence of two trackers running free."
    )
    var lockstep = false

    @OptionGroup var threadsOption: ThreadsOption
    var threads: Int { threadsOption.threads }

    @Option(help: "Output folder for drift.json, drift.md and drift.svg.")
    var out: String

    func validate() throws {
        if sequences.isEmpty { throw ValidationError("give at least one --sequence") }
    }

    func run() throws {
        let start = Date()
        let budget = try self.budget.map { b in try reporting("invalid --budget") { try DriftBudget(parsing: b) } }
        let referenceNetwork = try loadNetwork(reference)
        let candidateNetwork = try loadNetwork(candidate)
        guard referenceNetwork.model.widths == candidateNetwork.model.widths else {
            throw CommandFailure(
                "the two models have different architectures (widths \(referenceNetwork.model.widths) and \(candidateNetwork.model.widths))"
            )
        }
        let seqs = try openSequences(sequences)
        let measurement = try reporting("drift measurement failed") {
            try DriftRunner.measure(
                reference: referenceNetwork, candidate: candidateNetwork, sequences: seqs,
                options: DriftRunner.Options(
                    preset: preset, maxFrames: frames, threads: threads, layers: !noLayers,
                    lockstep: lockstep)
            ) { name, n in
                print("  \(name): \(n) frames")
            }
        }
        func describe(_ path: String, _ network: SiamMaskNetwork) throws -> DriftReport.ModelDescription {
            let nodes = try SiamMaskQuantizer.quantizableNodes(network).map(\.name)
            let int8 = Set(try network.int8NodeNames())
            return DriftReport.ModelDescription(
                path: path, precision: network.model.precision, int8Layers: int8.count,
                float32Layers: nodes.filter { !int8.contains($0) }.count)
        }
        var report = DriftReport.make(
            reference: try describe(reference, referenceNetwork), candidate: try describe(candidate, candidateNetwork),
            frames: measurement.frames, layers: measurement.layers, budget: budget)
        report.mode = lockstep ? "lockstep" : "free-running"
        try reporting("cannot write \(out)") { _ = try report.write(to: URL(fileURLWithPath: out)) }
        let s = report.summary
        print(
            String(
                format:
                    "drift (%@) over %d frames of %d sequences: box IoU %.4f (min %.4f), mask IoU %.4f (min %.4f), centre error %.2f px, |score diff| %.4f, %d disagreeing frames",
                lockstep ? "lockstep" : "free-running", s.frames, s.sequences, s.boxIoUMean, s.boxIoUMin, s.maskIoUMean,
                s.maskIoUMin, s.centerErrorPxMean,
                s.scoreDiffMeanAbs, s.disagreeingFrames))
        if let a = s.accuracy {
            print(
                String(
                    format:
                        "against the ground truth: float32 box IoU %.4f, mask IoU %.4f; candidate box IoU %.4f, mask IoU %.4f",
                    a.reference.boxIoUMean, a.reference.maskIoUMean, a.candidate.boxIoUMean, a.candidate.maskIoUMean))
        }
        if let worst = report.layers.filter({ $0.final }).min(by: { $0.sqnrDB < $1.sqnrDB }) {
            print(String(format: "lowest final-output SQNR: %@ %.1f dB", worst.name, worst.sqnrDB))
        }
        print(String(format: "report in %@ (%.1f s)", out, Date().timeIntervalSince(start)))
        if !report.passed {
            for v in report.budgetViolations { print("over budget: \(v)") }
            throw ExitCode(1)
        }
    }
}
