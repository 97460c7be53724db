import Foundation

/// One frame of a VOT short-term result file (the toolkit's codes and regions).
public enum VOTResultFrame: Equatable, Sendable {
    case initialization   // written "1"
    case failure   // written "2"
    case skipped   // written "0" (the frames between a failure and the re-initialisation)
    case region([Point])   // the tracker's polygon (4 points) or box corners
}

public struct VOTSequenceInput: Sendable {
    public var name: String
    public var result: [VOTResultFrame]   // one per frame, frame 0 = .initialization
    public var groundTruth: [GroundTruth]   // .polygon / .box / .missing per frame
    public var imageSize: (width: Double, height: Double)
    public init(
        name: String, result: [VOTResultFrame], groundTruth: [GroundTruth], imageSize: (width: Double, height: Double)
    ) {
        self.name = name; self.result = result; self.groundTruth = groundTruth; self.imageSize = imageSize
    }
}

public struct VOTSequenceScore: Codable, Equatable, Sendable {
    public var name: String
    public var frames: Int
    public var failures: Int
    /// Mean overlap over valid frames (burn-in of 10 after every initialisation excluded); nil: no valid frame.
    public var accuracy: Double?
    /// Failures per 100 frames.
    public var robustness: Double
}

public struct VOTScores: Codable, Equatable, Sendable {
    public var accuracy: Double?
    public var robustness: Double
    public var failures: Int
    public var frames: Int
    public var eao: Double?
    public var eaoCurve: [Double]
    public var lengthRange: [Int]   // [low, high]
    public var sequences: [VOTSequenceScore]
}

public enum VOTResultError: Error, CustomStringConvertible, Equatable {
    case badLine(line: Int, detail: String)
    public var description: String {
        switch self {
        case let .badLine(line, detail): return "VOT result file, line \(line): \(detail)"
        }
    }
}

/// VOT short-term (supervised) measures as vot-toolkit 0.8 (`vot/analysis/supervised.py`) defines them, on exact
/// polygon overlaps (`RegionOverlap`; the toolkit rasterises regions on the pixel grid instead).
///
/// Departures, each deliberate:
/// - A frame whose ground truth is missing is left out of accuracy (the toolkit turns a NaN line into an empty region
///   and scores it 0); in the EAO runs it counts as overlap 0, as in the toolkit.
/// - Dataset robustness is failures per 100 frames over all frames; dataset accuracy is, as in the toolkit's
///   `AverageAccuracyRobustness`, the mean of per-sequence accuracies weighted by sequence length (a sequence without
///   a valid frame counts 0).
/// - The EAO length range is computed from the sequence lengths by the legacy MATLAB toolkit's rule (the ranges in the
///   Python toolkit's stack files, e.g. VOT2016's 108-371, were produced by it): see `evaluationRange(lengths:)`.
public enum VOTMetrics {
    public static let burnIn = 10

    // MARK: Result files

    /// A toolkit result file: one line per frame, `1` / `2` / `0` or comma-separated x,y,w,h or x1,y1,...,xn,yn.
    public static func parseResult(_ text: String) throws -> [VOTResultFrame] {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        while let last = lines.last, last.isEmpty { lines.removeLast() }
        return try lines.enumerated().map { index, line in
            let n = index + 1
            if line.isEmpty { throw VOTResultError.badLine(line: n, detail: "empty line") }
            if line.hasPrefix("m") { throw VOTResultError.badLine(line: n, detail: "mask regions are not supported") }
            let parts = line.split(separator: ",", omittingEmptySubsequences: false)
            let values: [Double] = try parts.map { part in
                let s = part.trimmingCharacters(in: .whitespaces)
                guard let v = Double(s), v.isFinite else {
                    throw VOTResultError.badLine(line: n, detail: "'\(s)' is not a finite number")
                }
                return v
            }
            switch values.count {
            case 1:
                switch values[0] {
                case 1: return .initialization
                case 2: return .failure
                case 0: return .skipped
                default: throw VOTResultError.badLine(line: n, detail: "unknown code \(line) (expected 0, 1 or 2)")
                }
            case 4:
                return .region(Box(x: values[0], y: values[1], width: values[2], height: values[3]).corners)
            case let c where c >= 6 && c % 2 == 0:
                return .region(stride(from: 0, to: c, by: 2).map { Point(values[$0], values[$0 + 1]) })
            default:
                throw VOTResultError.badLine(
                    line: n, detail: "expected a code, 4 values or an even number >= 6, found \(values.count)")
            }
        }
    }

    /// The toolkit's result format; numbers as SiamMask's tools/test.py writes them (its `vot_float2str("%.4f", v)`
    /// takes a C float, so the value is rounded to float32 first).
    public static func formatResult(_ frames: [VOTResultFrame]) -> String {
        var out = ""
        for f in frames {
            switch f {
            case .initialization: out += "1\n"
            case .failure: out += "2\n"
            case .skipped: out += "0\n"
            case .region(let points):
                out +=
                    points.flatMap { [$0.x, $0.y] }.map { String(format: "%.4f", Double(Float($0))) }
                    .joined(separator: ",") + "\n"
            }
        }
        return out
    }

    // MARK: Per frame

    /// The exact, image-bounded overlap of every frame; 0 for initialisation / failure / skipped frames and for
    /// frames without ground truth.
    public static func overlaps(_ s: VOTSequenceInput) -> [Double] {
        precondition(
            s.result.count == s.groundTruth.count,
            "\(s.name): \(s.result.count) result frames for \(s.groundTruth.count) ground-truth frames")
        return zip(s.result, s.groundTruth).map { frame, truth in
            guard case .region(let region) = frame, let gt = polygon(truth) else { return 0 }
            return RegionOverlap.overlap(region, gt, bounds: s.imageSize)
        }
    }

    static func polygon(_ g: GroundTruth) -> [Point]? {
        switch g {
        case .polygon(let p): return p
        case .box(let b): return b.corners
        case .mask, .missing: return nil
        }
    }

    /// The frames counted in accuracy: not within `burnIn` frames of an initialisation (the initialisation frame
    /// included), not a failure or skipped frame, and with ground truth.
    public static func accuracyMask(_ s: VOTSequenceInput) -> [Bool] {
        var mask = [Bool](repeating: true, count: s.result.count)
        for (i, f) in s.result.enumerated() {
            switch f {
            case .initialization: for j in i..<min(s.result.count, i + burnIn) { mask[j] = false }
            case .failure, .skipped: mask[i] = false
            case .region: break
            }
            if i < s.groundTruth.count, case .missing = s.groundTruth[i] { mask[i] = false }
        }
        return mask
    }

    // MARK: Scores

    public static func score(_ sequences: [VOTSequenceInput]) -> VOTScores {
        var perSequence: [VOTSequenceScore] = []
        var runs: [(overlaps: [Double], failed: Bool)] = []
        var weightedAccuracy = 0.0, anyAccuracy = false
        for s in sequences {
            let o = overlaps(s)
            let mask = accuracyMask(s)
            var sum = 0.0, count = 0
            for i in 0..<o.count where mask[i] { sum += o[i]; count += 1 }
            let accuracy: Double? = count > 0 ? sum / Double(count) : nil
            let failures = s.result.filter { $0 == .failure }.count
            let frames = s.result.count
            perSequence.append(
                VOTSequenceScore(
                    name: s.name, frames: frames, failures: failures, accuracy: accuracy,
                    robustness: frames > 0 ? 100 * Double(failures) / Double(frames) : 0))
            if let accuracy { weightedAccuracy += accuracy * Double(frames); anyAccuracy = true }
            runs += eaoRuns(s.result, overlaps: o)
        }
        let frames = perSequence.reduce(0) { $0 + $1.frames }
        let failures = perSequence.reduce(0) { $0 + $1.failures }
        let curve = eaoCurve(runs)
        let range = evaluationRange(lengths: sequences.map { $0.result.count })
        var eao: Double? = nil
        if let range, range.low < curve.count {
            let slice = curve[range.low...min(range.high, curve.count - 1)]
            eao = slice.reduce(0, +) / Double(slice.count)
        }
        return VOTScores(
            accuracy: anyAccuracy && frames > 0 ? weightedAccuracy / Double(frames) : nil,
            robustness: frames > 0 ? 100 * Double(failures) / Double(frames) : 0,
            failures: failures, frames: frames, eao: eao, eaoCurve: curve,
            lengthRange: range.map { [$0.low, $0.high] } ?? [], sequences: perSequence)
    }

    /// The toolkit's EAO runs: from each initialisation to the frame before the next failure (failed), and from the
    /// last initialisation to the end of the sequence when no failure follows it (completed).
    public static func eaoRuns(_ result: [VOTResultFrame], overlaps: [Double]) -> [(overlaps: [Double], failed: Bool)] {
        var runs: [(overlaps: [Double], failed: Bool)] = []
        var start: Int? = nil
        for (i, f) in result.enumerated() {
            switch f {
            case .initialization: start = i
            case .failure:
                if let s = start { runs.append((Array(overlaps[s..<i]), true)) }
                start = nil
            default: break
            }
        }
        if let s = start { runs.append((Array(overlaps[s...]), false)) }
        return runs
    }

    /// Expected average overlap for each run length (index j: runs of j + 1 frames). A run's average at j is the
    /// mean of its overlaps 1...j (frame 0 is the initialisation), with zeros after a failure; a completed run
    /// counts only up to its own length. Index 0 holds the mean of the runs' first overlaps, as in the toolkit.
    public static func eaoCurve(_ runs: [(overlaps: [Double], failed: Bool)]) -> [Double] {
        let maxLength = runs.map { $0.overlaps.count }.max() ?? 0
        guard maxLength > 0 else { return [] }
        var numerator = [Double](repeating: 0, count: maxLength)
        var denominator = [Double](repeating: 0, count: maxLength)
        for run in runs {
            let o = run.overlaps
            var prefix = 0.0
            for j in 0..<maxLength {
                if j >= 1, j < o.count { prefix += o[j] }
                let value = j == 0 ? (o.first ?? 0) : prefix / Double(j)
                if run.failed || j < o.count {
                    numerator[j] += value
                    denominator[j] += 1
                }
            }
        }
        return (0..<maxLength).map { numerator[$0] / denominator[$0] }
    }

    /// The EAO averaging range [low, high] from the dataset's sequence lengths, by the legacy MATLAB VOT toolkit's
    /// rule (`estimate_evaluation_interval`): a Gaussian kernel density of the lengths with Kristan's AMISE-optimal
    /// bandwidth, tabulated at lengths 1...max and normalised; starting at its peak, the interval grows by one on the
    /// side of higher density until it holds half of the mass. Like the Python toolkit, which reads these numbers from
    /// its stack files, the bounds index the EAO curve directly (`curve[low...high]`).
    ///
    /// With fewer than two distinct lengths (one sequence, or all of one length) the density has zero bandwidth and
    /// the rule is undefined; the range is then the whole curve after the initialisation frame, [1, length - 1]:
    /// every run length the data can support, rather than a single point (nil for sequences of one frame).
    public static func evaluationRange(lengths: [Int]) -> (low: Int, high: Int)? {
        guard let maxLength = lengths.max(), maxLength > 0 else { return nil }
        let n = Double(lengths.count)
        let l = lengths.map(Double.init)
        let mean = l.reduce(0) { $0 + $1 / n }
        let variance = l.reduce(0) { $0 + ($1 * $1) / n } - mean * mean
        guard Set(lengths).count >= 2, variance > 0 else {
            return maxLength >= 2 ? (1, maxLength - 1) : nil
        }
        // Spherised data (unit variance), the bandwidth there, then back to lengths.
        let t = 1 / variance.squareRoot()
        let z = l.map { t * ($0 - mean) }
        let c = t * variance * t
        let g = c * pow(4 / (3 * n), 2.0 / 5.0)
        // Integral of the squared Hessian of the pilot density (Wand & Jones), point components of weight 1/n.
        let constNorm = (1 / (2 * Double.pi)).squareRoot()
        let a = 1 / g
        var rf2 = 0.0
        for i in 0..<z.count {
            for k in i..<z.count {
                let dm = z[i] - z[k]
                let m = dm * a * dm
                let ft = constNorm * a.squareRoot() * exp(-0.5 * m)
                let cc = 2 * (a * a) * (1 - 2 * m) + (1 - m) * (1 - m) * a * a
                rf2 += ft * cc * (1 / n) * (1 / n) * (i == k ? 1 : 2)
            }
        }
        let hAmise = pow(1 / n * pow(c, -0.5) / ((4 * Double.pi).squareRoot() * rf2 * 1), 1.0 / 5.0)
        let bandwidthVariance = (1 / t) * (c * hAmise * hAmise) * (1 / t)
        let inverseSigma = 1 / bandwidthVariance.squareRoot()
        let logConstant = log(inverseSigma) - 0.5 * 1.83787706640935
        var p = (1...maxLength).map { x -> Double in
            l.reduce(0) { acc, li in
                let d = (Double(x) - li) * inverseSigma
                return acc + (1 / n) * exp(logConstant - 0.5 * d * d)
            }
        }
        let total = p.reduce(0, +)
        guard total > 0, total.isFinite else { return (1, maxLength - 1) }
        p = p.map { $0 / total }
        return findRange(p, mass: 0.5)
    }

    /// 1-based [low, high] around the first maximum of p, grown towards the larger neighbour until it holds `mass`.
    static func findRange(_ p: [Double], mass: Double) -> (low: Int, high: Int) {
        let count = p.count
        var peak = 1
        for i in 1...count where p[i - 1] > p[peak - 1] { peak = i }
        var low = peak, high = peak
        for _ in 0...count {
            var lo = low - 1, hi = high + 1
            var clippedLow = false, clippedHigh = false
            if lo <= 0 { lo = 1; clippedLow = true }
            if hi >= count { hi = count; clippedHigh = true }
            if clippedLow && clippedHigh {
                low = lo; high = hi
                break
            } else if !clippedLow && !clippedHigh {
                if p[lo - 1] > p[hi - 1] { low = lo } else { high = hi }
            } else if !clippedLow {
                low = lo
            } else {
                high = hi
            }
            if p[(low - 1)...(high - 1)].reduce(0, +) >= mass { break }
        }
        return (low, high)
    }
}
