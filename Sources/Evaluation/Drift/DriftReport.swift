import Foundation

/// Mean accuracy of one tracker against ground truth.
public struct TrackerAccuracy: Codable, Equatable, Sendable {
    public var boxIoUMean: Double
    public var maskIoUMean: Double
    public init(boxIoUMean: Double, maskIoUMean: Double) {
        self.boxIoUMean = boxIoUMean; self.maskIoUMean = maskIoUMean
    }
    enum CodingKeys: String, CodingKey {
        case boxIoUMean = "box_iou_mean"
        case maskIoUMean = "mask_iou_mean"
    }
}

/// Both trackers against ground truth, each mean over the frames that have that kind of annotation.
public struct DriftAccuracy: Codable, Equatable, Sendable {
    public var reference: TrackerAccuracy
    public var candidate: TrackerAccuracy
    public var framesWithBoxGT: Int
    public var framesWithMaskGT: Int
    public init(reference: TrackerAccuracy, candidate: TrackerAccuracy, framesWithBoxGT: Int, framesWithMaskGT: Int) {
        self.reference = reference; self.candidate = candidate
        self.framesWithBoxGT = framesWithBoxGT; self.framesWithMaskGT = framesWithMaskGT
    }
    enum CodingKeys: String, CodingKey {
        case reference, candidate
        case framesWithBoxGT = "frames_with_box_gt"
        case framesWithMaskGT = "frames_with_mask_gt"
    }
}

/// Aggregates over a set of tracked frames. Means and extremes over zero frames are 0 (with `frames` = 0).
public struct DriftSummary: Codable, Equatable, Sendable {
    public var frames: Int
    public var sequences: Int
    public var boxIoUMean: Double
    public var boxIoUMin: Double
    public var polygonIoUMean: Double
    public var maskIoUMean: Double
    public var maskIoUMin: Double
    public var centerErrorPxMean: Double
    public var centerErrorPxMax: Double
    public var scoreDiffMeanAbs: Double
    public var disagreeingFrames: Int
    /// nil when no frame has ground truth.
    public var accuracy: DriftAccuracy?

    public init(_ frames: [FrameDrift]) {
        let n = frames.count
        func mean(_ f: (FrameDrift) -> Double) -> Double { n == 0 ? 0 : frames.reduce(0) { $0 + f($1) } / Double(n) }
        self.frames = n
        sequences = Set(frames.map(\.sequence)).count
        boxIoUMean = mean(\.boxIoU)
        boxIoUMin = frames.map(\.boxIoU).min() ?? 0
        polygonIoUMean = mean(\.polygonIoU)
        maskIoUMean = mean(\.maskIoU)
        maskIoUMin = frames.map(\.maskIoU).min() ?? 0
        centerErrorPxMean = mean(\.centerErrorPx)
        centerErrorPxMax = frames.map(\.centerErrorPx).max() ?? 0
        scoreDiffMeanAbs = mean { abs($0.scoreDiff) }
        disagreeingFrames = frames.filter(\.disagree).count

        // A frame counts for a kind of ground truth only when both trackers were scored against it.
        let box = frames.compactMap { f in f.referenceGTBoxIoU.flatMap { r in f.candidateGTBoxIoU.map { (r, $0) } } }
        let mask = frames.compactMap { f in f.referenceGTMaskIoU.flatMap { r in f.candidateGTMaskIoU.map { (r, $0) } } }
        func avg(_ pairs: [(Double, Double)], _ first: Bool) -> Double {
            pairs.isEmpty ? 0 : pairs.reduce(0) { $0 + (first ? $1.0 : $1.1) } / Double(pairs.count)
        }
        accuracy =
            box.isEmpty && mask.isEmpty
            ? nil
            : DriftAccuracy(
                reference: TrackerAccuracy(boxIoUMean: avg(box, true), maskIoUMean: avg(mask, true)),
                candidate: TrackerAccuracy(boxIoUMean: avg(box, false), maskIoUMean: avg(mask, false)),
                framesWithBoxGT: box.count, framesWithMaskGT: mask.count)
    }

    enum CodingKeys: String, CodingKey {
        case frames, sequences, accuracy
        case boxIoUMean = "box_iou_mean"
        case boxIoUMin = "box_iou_min"
        case polygonIoUMean = "polygon_iou_mean"
        case maskIoUMean = "mask_iou_mean"
        case maskIoUMin = "mask_iou_min"
        case centerErrorPxMean = "center_error_px_mean"
        case centerErrorPxMax = "center_error_px_max"
        case scoreDiffMeanAbs = "score_diff_mean_abs"
        case disagreeingFrames = "disagreeing_frames"
    }

    /// `accuracy` is written as null when absent, so the key is always there.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(frames, forKey: .frames)
        try c.encode(sequences, forKey: .sequences)
        try c.encode(boxIoUMean, forKey: .boxIoUMean)
        try c.encode(boxIoUMin, forKey: .boxIoUMin)
        try c.encode(polygonIoUMean, forKey: .polygonIoUMean)
        try c.encode(maskIoUMean, forKey: .maskIoUMean)
        try c.encode(maskIoUMin, forKey: .maskIoUMin)
        try c.encode(centerErrorPxMean, forKey: .centerErrorPxMean)
        try c.encode(centerErrorPxMax, forKey: .centerErrorPxMax)
        try c.encode(scoreDiffMeanAbs, forKey: .scoreDiffMeanAbs)
        try c.encode(disagreeingFrames, forKey: .disagreeingFrames)
        try c.encode(accuracy, forKey: .accuracy)
    }
}

/// One sequence's summary: `name` beside the `DriftSummary` fields in one JSON object.
public struct SequenceDrift: Codable, Equatable, Sendable {
    public var name: String
    public var summary: DriftSummary
    public init(name: String, summary: DriftSummary) { self.name = name; self.summary = summary }

    enum NameKey: String, CodingKey { case name }

    public init(from decoder: Decoder) throws {
        name = try decoder.container(keyedBy: NameKey.self).decode(String.self, forKey: .name)
        summary = try DriftSummary(from: decoder)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: NameKey.self)
        try c.encode(name, forKey: .name)
        try summary.encode(to: encoder)
    }
}

/// The content of drift.json (schema: Schemas/drift-report.md).
public struct DriftReport: Codable, Equatable, Sendable {
    public static let formatName = "siammask-drift"
    public static let currentVersion = 1

    /// One of the two compared models.
    public struct ModelDescription: Codable, Equatable, Sendable {
        public var path: String
        /// "float32", "int8" or "mixed" (see `precision(int8Layers:float32Layers:)`).
        public var precision: String
        public var int8Layers: Int
        public var float32Layers: Int

        public init(path: String, precision: String, int8Layers: Int, float32Layers: Int) {
            self.path = path; self.precision = precision; self.int8Layers = int8Layers;
            self.float32Layers = float32Layers
        }

        /// Precision derived from the layer counts.
        public init(path: String, int8Layers: Int, float32Layers: Int) {
            self.init(
                path: path, precision: Self.precision(int8Layers: int8Layers, float32Layers: float32Layers),
                int8Layers: int8Layers, float32Layers: float32Layers)
        }

        public static func precision(int8Layers: Int, float32Layers: Int) -> String {
            if int8Layers == 0 { return "float32" }
            return float32Layers == 0 ? "int8" : "mixed"
        }

        enum CodingKeys: String, CodingKey {
            case path, precision
            case int8Layers = "int8_layers"
            case float32Layers = "float32_layers"
        }
    }

    public var format: String
    public var version: Int
    public var reference: ModelDescription
    public var candidate: ModelDescription
    public var budget: DriftBudget?
    public var budgetViolations: [String]
    /// How the two trackers ran: "free-running" (each from its own previous state) or "lockstep" (the candidate
    /// restarted from the reference's state before every frame).
    public var mode: String = "free-running"
    /// No violations (always true without a budget).
    public var passed: Bool
    public var summary: DriftSummary
    /// In order of first appearance in `frames`.
    public var sequences: [SequenceDrift]
    /// In execution order.
    public var layers: [LayerDrift]
    public var frames: [FrameDrift]

    public init(
        reference: ModelDescription, candidate: ModelDescription, budget: DriftBudget?, budgetViolations: [String],
        summary: DriftSummary, sequences: [SequenceDrift], layers: [LayerDrift], frames: [FrameDrift]
    ) {
        format = Self.formatName; version = Self.currentVersion
        self.reference = reference; self.candidate = candidate
        self.budget = budget; self.budgetViolations = budgetViolations; passed = budgetViolations.isEmpty
        self.summary = summary; self.sequences = sequences; self.layers = layers; self.frames = frames
    }

    /// Computes every summary and checks the budget. `frames` are tracked frames only (no initialisation frames);
    /// `layers` in execution order (build each with `LayerDrift(name:precision:final:_:)` from its accumulator).
    public static func make(
        reference: ModelDescription, candidate: ModelDescription, frames: [FrameDrift],
        layers: [LayerDrift], budget: DriftBudget?
    ) -> DriftReport {
        let summary = DriftSummary(frames)
        var order: [String] = []
        var bySequence: [String: [FrameDrift]] = [:]
        for f in frames {
            if bySequence[f.sequence] == nil { order.append(f.sequence) }
            bySequence[f.sequence, default: []].append(f)
        }
        let sequences = order.map { SequenceDrift(name: $0, summary: DriftSummary(bySequence[$0]!)) }
        let violations = budget?.check(summary, layers: layers) ?? []
        return DriftReport(
            reference: reference, candidate: candidate, budget: budget, budgetViolations: violations,
            summary: summary, sequences: sequences, layers: layers, frames: frames)
    }

    enum CodingKeys: String, CodingKey {
        case format, version, reference, candidate, budget, passed, summary, sequences, layers, frames, mode
        case budgetViolations = "budget_violations"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        format = try c.decode(String.self, forKey: .format)
        version = try c.decode(Int.self, forKey: .version)
        guard format == Self.formatName, version == Self.currentVersion else {
            throw DecodingError.dataCorruptedError(
                forKey: .version, in: c,
                debugDescription:
                    "not a \(Self.formatName) version \(Self.currentVersion) report (format '\(format)', version \(version))"
            )
        }
        reference = try c.decode(ModelDescription.self, forKey: .reference)
        candidate = try c.decode(ModelDescription.self, forKey: .candidate)
        budget = try c.decodeIfPresent(DriftBudget.self, forKey: .budget)
        budgetViolations = try c.decode([String].self, forKey: .budgetViolations)
        mode = try c.decodeIfPresent(String.self, forKey: .mode) ?? "free-running"
        passed = try c.decode(Bool.self, forKey: .passed)
        summary = try c.decode(DriftSummary.self, forKey: .summary)
        sequences = try c.decode([SequenceDrift].self, forKey: .sequences)
        layers = try c.decode([LayerDrift].self, forKey: .layers)
        frames = try c.decode([FrameDrift].self, forKey: .frames)
    }

    /// `budget` is written as null when there is none.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(format, forKey: .format)
        try c.encode(version, forKey: .version)
        try c.encode(reference, forKey: .reference)
        try c.encode(candidate, forKey: .candidate)
        try c.encode(budget, forKey: .budget)
        try c.encode(budgetViolations, forKey: .budgetViolations)
        try c.encode(mode, forKey: .mode)
        try c.encode(passed, forKey: .passed)
        try c.encode(summary, forKey: .summary)
        try c.encode(sequences, forKey: .sequences)
        try c.encode(layers, forKey: .layers)
        try c.encode(frames, forKey: .frames)
    }
}
