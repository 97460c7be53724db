import Foundation

public struct OTBSequenceInput: Sendable {
    public var name: String
    public var boxes: [Box]   // one per frame, frame 0 = the initial box
    public var groundTruth: [GroundTruth]   // .box / .missing (a .polygon is turned into its bounding box)
    public init(name: String, boxes: [Box], groundTruth: [GroundTruth]) {
        self.name = name; self.boxes = boxes; self.groundTruth = groundTruth
    }
}

public struct OTBSequenceScore: Codable, Equatable, Sendable {
    public var name: String
    public var frames: Int
    public var successCurve: [Double]   // 21 thresholds 0, 0.05, ..., 1
    public var auc: Double
    public var precisionCurve: [Double]   // 51 thresholds 0...50 px
    public var precision20: Double
}

public struct OTBScores: Codable, Equatable, Sendable {
    public var successCurve: [Double]
    public var auc: Double
    public var precisionCurve: [Double]
    public var precision20: Double
    public var sequences: [OTBSequenceScore]
}

public enum OTBResultError: Error, CustomStringConvertible, Equatable {
    case badLine(line: Int, detail: String)
    public var description: String {
        switch self {
        case let .badLine(line, detail): return "OTB result file, line \(line): \(detail)"
        }
    }
}

/// OTB one-pass evaluation exactly as the got10k toolkit's `ExperimentOTB.report` computes it (got10k 0.1.3):
/// - frame 0's box is replaced by the ground truth (the tracker was given it), and frame 0 is counted;
/// - IoU = intersection / (union + machine epsilon), clipped to [0, 1], on x,y,w,h rectangles, areas w·h;
/// - centre error between centres x + (w - 1) / 2, y + (h - 1) / 2;
/// - success at threshold t: IoU > t for t = 0, 0.05, ..., 1 (21); precision at d: error <= d px for d = 0...50;
///   AUC = the mean of the success curve; precision score = the curve at 20 px;
/// - a frame without ground truth (NaN in got10k) fails every threshold but stays in the frame count;
/// - a result longer or shorter than the ground truth is cut to the shorter (got10k 0.1.3 asserts equal lengths; its
///   repository's later version warns and cuts to the shorter, as here);
/// - the dataset curves are the means of the per-sequence curves (each sequence counts once).
public enum OTBMetrics {
    public static let successThresholds: [Double] = (0..<21).map { $0 == 20 ? 1 : Double($0) * (1.0 / 20.0) }
    public static let precisionThresholds: [Double] = (0...50).map(Double.init)

    /// x,y,w,h per line (commas, tabs or spaces), in OTB's 1-based pixels as got10k writes and reads them against
    /// the raw OTB annotations; returned 0-based like `GroundTruthParser.otbLine`.
    public static func parseResult(_ text: String) throws -> [Box] {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        while let last = lines.last, last.isEmpty { lines.removeLast() }
        return try lines.enumerated().map { index, line in
            let parts = line.split(whereSeparator: { $0 == "," || $0 == "\t" || $0 == " " })
            guard parts.count == 4 else {
                throw OTBResultError.badLine(line: index + 1, detail: "expected x,y,w,h, found \(parts.count) values")
            }
            let v: [Double] = try parts.map {
                guard let d = Double($0), d.isFinite else {
                    throw OTBResultError.badLine(line: index + 1, detail: "'\($0)' is not a finite number")
                }
                return d
            }
            return Box(x: v[0] - 1, y: v[1] - 1, width: v[2], height: v[3])
        }
    }

    /// got10k's record format: `np.savetxt(fmt='%.3f', delimiter=',')`, 1-based.
    public static func formatResult(_ boxes: [Box]) -> String {
        boxes.map { b in
            [b.x + 1, b.y + 1, b.width, b.height].map { String(format: "%.3f", $0) }.joined(separator: ",") + "\n"
        }.joined()
    }

    /// got10k's `rect_iou` for one pair.
    public static func iou(_ a: Box, _ b: Box) -> Double {
        let w = max(min(a.x + a.width, b.x + b.width) - max(a.x, b.x), 0)
        let h = max(min(a.y + a.height, b.y + b.height) - max(a.y, b.y), 0)
        let inter = w * h
        let union = a.width * a.height + b.width * b.height - inter
        return min(max(inter / (union + Double.ulpOfOne), 0), 1)
    }

    /// got10k's `center_error` for one pair.
    public static func centerError(_ a: Box, _ b: Box) -> Double {
        let dx = (a.x + (a.width - 1) / 2) - (b.x + (b.width - 1) / 2)
        let dy = (a.y + (a.height - 1) / 2) - (b.y + (b.height - 1) / 2)
        return (dx * dx + dy * dy).squareRoot()
    }

    static func box(_ g: GroundTruth) -> Box? {
        switch g {
        case .box(let b): return b
        case .polygon(let p): return RegionOverlap.boundingBox(p)
        case .mask, .missing: return nil
        }
    }

    public static func scoreSequence(_ s: OTBSequenceInput) -> OTBSequenceScore {
        let n = min(s.boxes.count, s.groundTruth.count)
        var success = [Double](repeating: 0, count: successThresholds.count)
        var precision = [Double](repeating: 0, count: precisionThresholds.count)
        for i in 0..<n {
            guard let gt = box(s.groundTruth[i]) else { continue }
            let predicted = i == 0 ? gt : s.boxes[i]
            let o = iou(predicted, gt), e = centerError(predicted, gt)
            for (k, t) in successThresholds.enumerated() where o > t { success[k] += 1 }
            for (k, t) in precisionThresholds.enumerated() where e <= t { precision[k] += 1 }
        }
        let frames = Double(n)
        success = success.map { n > 0 ? $0 / frames : 0 }
        precision = precision.map { n > 0 ? $0 / frames : 0 }
        return OTBSequenceScore(
            name: s.name, frames: n, successCurve: success, auc: mean(success),
            precisionCurve: precision, precision20: precision[20])
    }

    public static func score(_ sequences: [OTBSequenceInput]) -> OTBScores {
        let per = sequences.map(scoreSequence)
        func meanCurve(_ curves: [[Double]], _ count: Int) -> [Double] {
            (0..<count).map { k in curves.isEmpty ? 0 : curves.reduce(0) { $0 + $1[k] } / Double(curves.count) }
        }
        let success = meanCurve(per.map(\.successCurve), successThresholds.count)
        let precision = meanCurve(per.map(\.precisionCurve), precisionThresholds.count)
        return OTBScores(
            successCurve: success, auc: mean(success), precisionCurve: precision,
            precision20: precision[20], sequences: per)
    }

    private static func mean(_ v: [Double]) -> Double { v.isEmpty ? 0 : v.reduce(0, +) / Double(v.count) }
}
