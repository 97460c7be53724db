import ArgumentParser
import SiamMask

// Options that several commands share, declared once so that their names, help and checks cannot drift apart.

/// `--threads N` (1...256): worker threads of the tracker's per-frame network.
struct ThreadsOption: ParsableArguments {
    @Option(help: "Worker threads.")
    var threads: Int = 1

    // CommandFailure, not ValidationError: one line, without the usage text.
    func validate() throws {
        guard (1...SiamMaskTracker.maximumThreads).contains(threads) else {
            throw CommandFailure("--threads must be between 1 and \(SiamMaskTracker.maximumThreads), not \(threads)")
        }
    }
}

/// `--frames N`: how many frames of each sequence are tracked after the first (calibrate, drift, quantize).
/// (`track --frames` counts the first frame too, and `bench --frames` counts timed frames: their own options.)
struct TrackedFramesOption: ParsableArguments {
    @Option(help: "Frames tracked per sequence after the first (default: all).")
    var frames: Int?

    func validate() throws {
        if let f = frames, f < 1 { throw ValidationError("--frames must be at least 1") }
    }
}

/// `--preset NAME`: the tracker's hyper-parameters (see `TrackerPreset`; `auto` is resolved per sequence).
struct PresetOption: ParsableArguments {
    @Option(help: "Hyper-parameter preset: vot, davis or auto (davis for DAVIS sequences, else the model's default).")
    var preset: String = "auto"

    var value: TrackerPreset { TrackerPreset(preset) }
}

/// `--penalty-k`, `--window-influence`, `--lr`, `--seg-thr`: values that replace the chosen preset's.
struct HyperParameterOverrides: ParsableArguments {
    @Option(help: "Override the preset's penalty_k (scale/ratio change penalty).")
    var penaltyK: Double?

    @Option(help: "Override the preset's window_influence (cosine window weight).")
    var windowInfluence: Double?

    @Option(help: "Override the preset's lr (size update rate).")
    var lr: Double?

    @Option(help: "Override the preset's seg_thr (mask threshold).")
    var segThr: Double?

    func validate() throws {
        for (name, v) in [("--penalty-k", penaltyK), ("--lr", lr)] where v.map({ !$0.isFinite || $0 < 0 }) ?? false {
            throw ValidationError("\(name) must be a non-negative number")
        }
        for (name, v) in [("--window-influence", windowInfluence), ("--seg-thr", segThr)]
        where v.map({ !(0...1).contains($0) }) ?? false {
            throw ValidationError("\(name) must be between 0 and 1")
        }
    }

    /// `preset` with the given values replaced (the name stays the preset's, as reported before).
    func applied(to preset: ResolvedTrackerPreset) -> ResolvedTrackerPreset {
        var p = preset
        if let v = penaltyK { p.parameters.penaltyK = v }
        if let v = windowInfluence { p.parameters.windowInfluence = v }
        if let v = lr { p.parameters.learningRate = v }
        if let v = segThr { p.parameters.segmentationThreshold = v }
        return p
    }
}
