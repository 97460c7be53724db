import Foundation

public struct DAVISStatistics: Codable, Equatable, Sendable {
    public var mean: Double
    public var recall: Double
    public var decay: Double
}

public struct DAVISObjectScore: Codable, Equatable, Sendable {
    public var sequence: String
    public var object: Int
    public var j: DAVISStatistics
    public var f: DAVISStatistics
}

public struct DAVISScores: Codable, Equatable, Sendable {
    public var j: DAVISStatistics
    public var f: DAVISStatistics
    public var jAndF: Double
    public var objects: [DAVISObjectScore]
}

public struct DAVISSequenceInput: Sendable {
    public var name: String
    public var width: Int
    public var height: Int
    public var predicted: [[UInt8]]   // label maps (0 = background, k = object k), frames 0..<n
    public var groundTruth: [[UInt8]]   // label maps, same frames
    public var objects: [Int]   // object ids present in the first-frame ground truth
    public init(name: String, width: Int, height: Int, predicted: [[UInt8]], groundTruth: [[UInt8]], objects: [Int]) {
        self.name = name; self.width = width; self.height = height
        self.predicted = predicted; self.groundTruth = groundTruth; self.objects = objects
    }
}

/// DAVIS semi-supervised measures as the official davis2017-evaluation (`davis2017/metrics.py`, `utils.py`,
/// `evaluation.py`) defines them:
/// - J: IoU of the binary masks, 1 when both are empty;
/// - F: boundaries by `seg2bmap` (a pixel differs from its east, south or south-east neighbour), each dilated by a disk
///   of radius ceil(0.008 · image diagonal) (skimage `disk`: offsets with dx² + dy² <= r²), precision = predicted
///   boundary pixels within the ground truth's dilated boundary / predicted boundary pixels, recall likewise, F their
///   harmonic mean, with the official conventions for empty boundaries. There is no thinning step: seg2bmap already
///   gives one-pixel boundaries, and the official Python F (DAVIS 2016 and 2017) applies none, unlike the BSDS
///   MATLAB benchmark it descends from;
/// - statistics per object over frames 1..<n-1 (first and last excluded): mean, recall (fraction > 0.5), decay
///   (mean of the first of 4 overlapping quantile bins minus the mean of the last);
/// - dataset J, F: the means over all objects of every sequence of each statistic; J&F = (J mean + F mean) / 2.
public enum DAVISMetrics {
    /// Region similarity of binary (nonzero) masks.
    public static func regionSimilarity(_ predicted: [UInt8], _ groundTruth: [UInt8]) -> Double {
        maskIntersectionOverUnion(predicted, groundTruth)
    }

    /// Boundary accuracy F of binary (nonzero) masks of one size.
    public static func boundaryAccuracy(
        _ predicted: [UInt8], _ groundTruth: [UInt8], width: Int, height: Int,
        boundThreshold: Double = 0.008
    ) -> Double {
        precondition(predicted.count == width * height && groundTruth.count == width * height, "mask size mismatch")
        let radius =
            boundThreshold >= 1
            ? Int(boundThreshold)
            : Int((boundThreshold * (Double(height * height + width * width)).squareRoot()).rounded(.up))
        let fg = boundaryMap(predicted, width: width, height: height)
        let gt = boundaryMap(groundTruth, width: width, height: height)
        let nFg = fg.reduce(0) { $0 + Int($1) }, nGt = gt.reduce(0) { $0 + Int($1) }
        let precision: Double, recall: Double
        if nFg == 0 && nGt > 0 {
            precision = 1; recall = 0
        } else if nFg > 0 && nGt == 0 {
            precision = 0; recall = 1
        } else if nFg == 0 && nGt == 0 {
            precision = 1; recall = 1
        } else {
            let fgDilated = dilate(fg, width: width, height: height, radius: radius)
            let gtDilated = dilate(gt, width: width, height: height, radius: radius)
            var fgMatch = 0, gtMatch = 0
            for i in 0..<fg.count {
                if fg[i] != 0 && gtDilated[i] != 0 { fgMatch += 1 }
                if gt[i] != 0 && fgDilated[i] != 0 { gtMatch += 1 }
            }
            precision = Double(fgMatch) / Double(nFg)
            recall = Double(gtMatch) / Double(nGt)
        }
        return precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall)
    }

    /// `seg2bmap` at full size: 1 where a pixel differs from its east, south or south-east neighbour (outside the
    /// image counts as background); the last row compares east only, the last column south only, and the
    /// bottom-right pixel is 0.
    static func boundaryMap(_ mask: [UInt8], width w: Int, height h: Int) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: w * h)
        @inline(__always) func at(_ x: Int, _ y: Int) -> Bool { x < w && y < h && mask[y * w + x] != 0 }
        for y in 0..<h {
            for x in 0..<w {
                let s = at(x, y)
                let edge: Bool
                if y == h - 1 && x == w - 1 {
                    edge = false
                } else if x == w - 1 {
                    edge = s != at(x, y + 1)
                } else if y == h - 1 {
                    edge = s != at(x + 1, y)
                } else {
                    edge = s != at(x + 1, y) || s != at(x, y + 1) || s != at(x + 1, y + 1)
                }
                b[y * w + x] = edge ? 1 : 0
            }
        }
        return b
    }

    /// Binary dilation by the disk of the given radius (cv2.dilate with skimage's disk; outside pixels ignored).
    static func dilate(_ map: [UInt8], width w: Int, height h: Int, radius r: Int) -> [UInt8] {
        // Half-width of the disk's row at each vertical offset: the largest dx with dx² + dy² <= r².
        let halfWidth: [Int] = (-r...r).map { dy in
            var dx = 0
            while (dx + 1) * (dx + 1) + dy * dy <= r * r { dx += 1 }
            return dx
        }
        var out = [UInt8](repeating: 0, count: w * h)
        for y in 0..<h {
            for x in 0..<w where map[y * w + x] != 0 {
                for (k, dy) in (-r...r).enumerated() {
                    let yy = y + dy
                    guard yy >= 0 && yy < h else { continue }
                    let x0 = max(0, x - halfWidth[k]), x1 = min(w - 1, x + halfWidth[k])
                    if x0 > x1 { continue }
                    for xx in x0...x1 { out[yy * w + xx] = 1 }
                }
            }
        }
        return out
    }

    /// Mean, recall (> 0.5) and decay of per-frame values, as `db_statistics`: NaN values are left out of the means
    /// (but count as below 0.5 in recall); decay uses bins between the indices round(linspace(1, n, 5)) - 1, each bin
    /// including its right end. Empty input: NaN everywhere. (The official code stores those indices as uint8, which
    /// wraps beyond 256 frames; here they do not wrap.)
    public static func statistics(_ perFrame: [Double]) -> DAVISStatistics {
        let n = perFrame.count
        guard n > 0 else { return DAVISStatistics(mean: .nan, recall: .nan, decay: .nan) }
        let recall = Double(perFrame.filter { $0 > 0.5 }.count) / Double(n)
        // numpy.linspace(1, n, 5): 1 + k * step, the last exactly n; + 1e-10 then round half to even.
        let step = Double(n - 1) / 4
        let ids: [Int] = (0...4).map { k in
            let v = k == 4 ? Double(n) : Double(k) * step + 1
            return Int((v + 1e-10).rounded(.toNearestOrEven)) - 1
        }
        let first = Array(perFrame[ids[0]...ids[1]]), last = Array(perFrame[ids[3]...ids[4]])
        return DAVISStatistics(mean: nanMean(perFrame), recall: recall, decay: nanMean(first) - nanMean(last))
    }

    private static func nanMean(_ v: [Double]) -> Double {
        let finite = v.filter { !$0.isNaN }
        return finite.isEmpty ? .nan : finite.reduce(0, +) / Double(finite.count)
    }

    /// Per-object J and F over frames 1..<n-1 (a sequence of fewer than 3 frames has none and contributes no
    /// object: the official evaluation would give NaN there), then the means over all objects.
    public static func score(_ sequences: [DAVISSequenceInput]) -> DAVISScores {
        var objects: [DAVISObjectScore] = []
        for s in sequences {
            precondition(
                s.predicted.count == s.groundTruth.count,
                "\(s.name): \(s.predicted.count) predicted frames for \(s.groundTruth.count) annotated frames")
            guard s.groundTruth.count >= 3 else { continue }
            let frames = 1..<(s.groundTruth.count - 1)
            for k in s.objects {
                let id = UInt8(clamping: k)
                var js: [Double] = [], fs: [Double] = []
                for f in frames {
                    let p = s.predicted[f].map { $0 == id ? UInt8(1) : 0 }
                    let g = s.groundTruth[f].map { $0 == id ? UInt8(1) : 0 }
                    js.append(regionSimilarity(p, g))
                    fs.append(boundaryAccuracy(p, g, width: s.width, height: s.height))
                }
                objects.append(DAVISObjectScore(sequence: s.name, object: k, j: statistics(js), f: statistics(fs)))
            }
        }
        func meanOf(_ key: (DAVISObjectScore) -> DAVISStatistics) -> DAVISStatistics {
            let n = Double(objects.count)
            guard n > 0 else { return DAVISStatistics(mean: 0, recall: 0, decay: 0) }
            return DAVISStatistics(
                mean: objects.reduce(0) { $0 + key($1).mean } / n,
                recall: objects.reduce(0) { $0 + key($1).recall } / n,
                decay: objects.reduce(0) { $0 + key($1).decay } / n)
        }
        let j = meanOf(\.j), f = meanOf(\.f)
        return DAVISScores(j: j, f: f, jAndF: (j.mean + f.mean) / 2, objects: objects)
    }
}
