import Foundation

/// How far the candidate may drift from the reference before `siammask drift` fails. Every criterion is optional.
public struct DriftBudget: Codable, Equatable, Sendable, CustomStringConvertible {
    public var minBoxIoUMean: Double?
    public var minMaskIoUMean: Double?
    public var maxCenterErrorPxMean: Double?
    /// Applies to every layer flagged `final` (a network output).
    public var minFinalSQNRDB: Double?

    public init(
        minBoxIoUMean: Double? = nil, minMaskIoUMean: Double? = nil, maxCenterErrorPxMean: Double? = nil,
        minFinalSQNRDB: Double? = nil
    ) {
        self.minBoxIoUMean = minBoxIoUMean; self.minMaskIoUMean = minMaskIoUMean
        self.maxCenterErrorPxMean = maxCenterErrorPxMean; self.minFinalSQNRDB = minFinalSQNRDB
    }

    /// Keys of the command-line form, in the order `description` writes them.
    public static let keys = ["box_iou", "mask_iou", "center_error", "sqnr_db"]

    /// Parses `0.95` (box and mask IoU both at least 0.95) or `box_iou=0.95,mask_iou=0.9,center_error=3,sqnr_db=20`.
    public init(parsing text: String) throws(DriftBudgetError) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { throw .empty }
        if !trimmed.contains("=") && !trimmed.contains(",") {
            guard let v = Double(trimmed), v.isFinite else { throw .malformed(trimmed) }
            guard (0...1).contains(v) else {
                throw .outOfRange(key: "box_iou and mask_iou", value: v, allowed: "0 to 1")
            }
            self.init(minBoxIoUMean: v, minMaskIoUMean: v)
            return
        }
        self.init()
        var seen = Set<String>()
        for rawPart in trimmed.split(separator: ",", omittingEmptySubsequences: false) {
            let part = rawPart.trimmingCharacters(in: .whitespaces)
            let pieces = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard pieces.count == 2 else { throw .malformed(part) }
            let key = pieces[0].trimmingCharacters(in: .whitespaces).lowercased()
            let valueText = pieces[1].trimmingCharacters(in: .whitespaces)
            guard Self.keys.contains(key) else { throw .unknownKey(key) }
            guard seen.insert(key).inserted else { throw .duplicateKey(key) }
            guard let v = Double(valueText), v.isFinite else { throw .badNumber(key: key, value: valueText) }
            switch key {
            case "box_iou", "mask_iou":
                guard (0...1).contains(v) else { throw .outOfRange(key: key, value: v, allowed: "0 to 1") }
                if key == "box_iou" { minBoxIoUMean = v } else { minMaskIoUMean = v }
            case "center_error":
                guard v >= 0 else { throw .outOfRange(key: key, value: v, allowed: "0 or more pixels") }
                maxCenterErrorPxMean = v
            default:
                let cap = LayerDrift.sqnrCapDB
                guard (-cap...cap).contains(v) else {
                    throw .outOfRange(key: key, value: v, allowed: "\(Int(-cap)) to \(Int(cap)) dB")
                }
                minFinalSQNRDB = v
            }
        }
    }

    /// The command-line form, e.g. `box_iou=0.95,mask_iou=0.95`.
    public var description: String {
        let values = [minBoxIoUMean, minMaskIoUMean, maxCenterErrorPxMean, minFinalSQNRDB]
        // Whole numbers without ".0", as a person would type them.
        func text(_ v: Double) -> String { v == v.rounded() && abs(v) < 1e15 ? String(Int(v)) : "\(v)" }
        return zip(Self.keys, values).compactMap { k, v in v.map { "\(k)=\(text($0))" } }.joined(separator: ",")
    }

    /// The criteria the run breaks, one sentence each; empty when it is within the budget.
    public func check(_ summary: DriftSummary, layers: [LayerDrift]) -> [String] {
        var out: [String] = []
        let needsFrames = minBoxIoUMean != nil || minMaskIoUMean != nil || maxCenterErrorPxMean != nil
        if needsFrames && summary.frames == 0 {
            // Nothing measured cannot pass a tracking budget.
            out.append("No tracked frames were compared, so the tracking criteria cannot be met.")
        } else {
            if let m = minBoxIoUMean, summary.boxIoUMean < m {
                out.append(
                    "Mean box IoU \(driftFixed(summary.boxIoUMean, 4)) is below the minimum \(driftFixed(m, 4)).")
            }
            if let m = minMaskIoUMean, summary.maskIoUMean < m {
                out.append(
                    "Mean mask IoU \(driftFixed(summary.maskIoUMean, 4)) is below the minimum \(driftFixed(m, 4)).")
            }
            if let m = maxCenterErrorPxMean, summary.centerErrorPxMean > m {
                out.append(
                    "Mean centre error \(driftFixed(summary.centerErrorPxMean, 3)) px is above the maximum \(driftFixed(m, 3)) px."
                )
            }
        }
        if let m = minFinalSQNRDB {
            let finals = layers.filter(\.final)
            if finals.isEmpty {
                out.append("No network outputs were measured, so the SQNR minimum cannot be checked.")
            }
            for l in finals {
                if l.nonFiniteElements > 0 {
                    out.append("Output \(l.name) has \(l.nonFiniteElements) non-finite values.")
                } else if l.sqnrDB < m {
                    out.append(
                        "Output \(l.name) has SQNR \(driftFixed(l.sqnrDB, 2)) dB, below the minimum \(driftFixed(m, 2)) dB."
                    )
                }
            }
        }
        return out
    }

    enum CodingKeys: String, CodingKey {
        case minBoxIoUMean = "min_box_iou_mean"
        case minMaskIoUMean = "min_mask_iou_mean"
        case maxCenterErrorPxMean = "max_center_error_px_mean"
        case minFinalSQNRDB = "min_final_sqnr_db"
    }

    /// Unset criteria are written as null, so the JSON always shows all four.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(minBoxIoUMean, forKey: .minBoxIoUMean)
        try c.encode(minMaskIoUMean, forKey: .minMaskIoUMean)
        try c.encode(maxCenterErrorPxMean, forKey: .maxCenterErrorPxMean)
        try c.encode(minFinalSQNRDB, forKey: .minFinalSQNRDB)
    }
}

public enum DriftBudgetError: Error, Equatable, Sendable, CustomStringConvertible {
    case empty
    case malformed(String)
    case unknownKey(String)
    case duplicateKey(String)
    case badNumber(key: String, value: String)
    case outOfRange(key: String, value: Double, allowed: String)

    public var description: String {
        switch self {
        case .empty:
            return
                "The drift budget is empty; give a number such as 0.95 or key=value pairs such as box_iou=0.95,sqnr_db=20."
        case .malformed(let part):
            return
                "The drift budget part '\(part)' is neither a number nor key=value (keys: \(DriftBudget.keys.joined(separator: ", ")))."
        case .unknownKey(let key):
            return "Unknown drift budget key '\(key)'; the keys are \(DriftBudget.keys.joined(separator: ", "))."
        case .duplicateKey(let key):
            return "The drift budget gives '\(key)' more than once."
        case .badNumber(let key, let value):
            return "The drift budget value '\(value)' for \(key) is not a finite number."
        case .outOfRange(let key, let value, let allowed):
            return "The drift budget value \(value) for \(key) is out of range (allowed: \(allowed))."
        }
    }
}

/// Fixed-point formatting for messages and reports.
func driftFixed(_ v: Double, _ decimals: Int) -> String {
    String(format: "%.\(decimals)f", v)
}
