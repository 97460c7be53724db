import Foundation

/// `report.json` of `siammask eval` (schema `Schemas/eval-report.schema.json`, described in `Schemas/eval-report.md`).
/// It holds no path, time or machine detail, so two runs over the same data, and a merge of shards, give the same bytes.
public struct EvalReport: Codable, Equatable, Sendable {
    public static let schemaName = "siammask-eval-report"
    public static let currentVersion = 1

    public struct Dataset: Codable, Equatable, Sendable {
        public var kind: BenchmarkKind
        /// The root folder's name (not its path).
        public var name: String
        public var protocolName: String
        public var sequences: [String]
        /// Frames evaluated per model, over every sequence.
        public var frames: Int
        public var frameLimit: Int?
    }

    public struct ModelScores: Codable, Equatable, Sendable {
        public var model: String
        public var vot: VOTScores?
        public var otb: OTBScores?
        public var davis: DAVISScores?
    }

    /// One metric of the reference and candidate models; `difference` = candidate - reference.
    public struct MetricDifference: Codable, Equatable, Sendable {
        public var metric: String
        public var reference: Double?
        public var candidate: Double?
        public var difference: Double?

        init(_ metric: String, _ reference: Double?, _ candidate: Double?) {
            self.metric = metric
            self.reference = reference
            self.candidate = candidate
            difference = reference.flatMap { r in candidate.map { $0 - r } }
        }
    }

    public struct SequenceDifference: Codable, Equatable, Sendable {
        /// The sequence (DAVIS: "sequence/object").
        public var sequence: String
        public var metrics: [MetricDifference]
    }

    public struct Comparison: Codable, Equatable, Sendable {
        public var reference: String
        public var candidate: String
        public var summary: [MetricDifference]
        public var sequences: [SequenceDifference]
    }

    public var schema: String = schemaName
    public var version: Int = currentVersion
    public var dataset: Dataset
    public var models: [EvalModel]
    public var scores: [ModelScores]
    public var comparison: Comparison?

    public static func protocolName(_ kind: BenchmarkKind) -> String {
        switch kind {
        case .vot: return "vot-baseline: failure at zero overlap, re-initialised 5 frames later, 10 burn-in frames"
        case .otb: return "otb-ope: one pass from the first-frame box"
        case .davis:
            return
                "davis-semi-supervised: one pass per object from its first-frame mask, argmax over objects above seg_thr"
        }
    }

    /// - Parameters: `scores` in the order of `models` (the first is the reference of a comparison).
    public static func make(
        kind: BenchmarkKind, datasetName: String, sequences: [String], frames: Int, frameLimit: Int?,
        models: [EvalModel], scores: [BenchmarkScores]
    ) -> EvalReport {
        let modelScores = zip(models, scores).map {
            ModelScores(model: $0.name, vot: $1.vot, otb: $1.otb, davis: $1.davis)
        }
        var report = EvalReport(
            dataset: Dataset(
                kind: kind, name: datasetName, protocolName: protocolName(kind), sequences: sequences,
                frames: frames, frameLimit: frameLimit),
            models: models, scores: modelScores, comparison: nil)
        if scores.count == 2 {
            report.comparison = Comparison(
                reference: models[0].name, candidate: models[1].name,
                summary: zip(summaryMetrics(scores[0]), summaryMetrics(scores[1])).map {
                    MetricDifference($0.0, $0.1, $1.1)
                },
                sequences: zip(sequenceMetrics(scores[0]), sequenceMetrics(scores[1])).map { a, b in
                    SequenceDifference(sequence: a.0, metrics: zip(a.1, b.1).map { MetricDifference($0.0, $0.1, $1.1) })
                })
        }
        return report
    }

    /// The headline metrics of one model, in report order.
    public static func summaryMetrics(_ s: BenchmarkScores) -> [(String, Double?)] {
        if let v = s.vot {
            return [
                ("eao", v.eao), ("accuracy", v.accuracy), ("robustness", v.robustness),
                ("failures", Double(v.failures)),
            ]
        }
        if let o = s.otb { return [("success_auc", o.auc), ("precision_20px", o.precision20)] }
        if let d = s.davis {
            return [
                ("j_and_f", d.jAndF), ("j_mean", d.j.mean), ("j_recall", d.j.recall), ("j_decay", d.j.decay),
                ("f_mean", d.f.mean), ("f_recall", d.f.recall), ("f_decay", d.f.decay),
            ]
        }
        return []
    }

    /// Per-sequence (DAVIS: per-object) metrics, in report order.
    public static func sequenceMetrics(_ s: BenchmarkScores) -> [(String, [(String, Double?)])] {
        if let v = s.vot {
            return v.sequences.map {
                (
                    $0.name,
                    [("accuracy", $0.accuracy), ("failures", Double($0.failures)), ("robustness", $0.robustness)]
                )
            }
        }
        if let o = s.otb {
            return o.sequences.map { ($0.name, [("success_auc", $0.auc), ("precision_20px", $0.precision20)]) }
        }
        if let d = s.davis {
            return d.objects.map {
                (
                    "\($0.sequence)/\($0.object)",
                    [("j_and_f", ($0.j.mean + $0.f.mean) / 2), ("j_mean", $0.j.mean), ("f_mean", $0.f.mean)]
                )
            }
        }
        return []
    }

    public var benchmarkScores: [BenchmarkScores] {
        scores.map { BenchmarkScores(vot: $0.vot, otb: $0.otb, davis: $0.davis) }
    }

    /// Pretty-printed, sorted keys, snake_case, trailing newline.
    public func jsonData() throws -> Data {
        try EvalJSON.encode(self)
    }

    public static func decode(_ data: Data) throws -> EvalReport {
        return try EvalJSON.decoder.decode(EvalReport.self, from: data)
    }
}
