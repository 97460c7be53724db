// THROWAWAY stand-in for the metrics helper's API (issue10-contract.md); deleted once issue10-metrics is merged.
import Foundation

public enum RegionOverlap {
    public static func area(_ p: [Point]) -> Double {
        guard p.count >= 3 else { return 0 }
        var s = 0.0
        for i in 0..<p.count { let a = p[i], b = p[(i + 1) % p.count]; s += a.x * b.y - b.x * a.y }
        return abs(s) / 2
    }
    public static func intersectionArea(_ a: [Point], _ b: [Point]) -> Double { bbox(a).area == 0 ? 0 : iou(a, b) }
    static func bbox(_ p: [Point]) -> Box {
        let xs = p.map(\.x), ys = p.map(\.y)
        return Box(x: xs.min() ?? 0, y: ys.min() ?? 0, width: (xs.max() ?? 0) - (xs.min() ?? 0), height: (ys.max() ?? 0) - (ys.min() ?? 0))
    }
    static func iou(_ a: [Point], _ b: [Point]) -> Double { bbox(a).intersectionOverUnion(bbox(b)) }
    public static func overlap(_ a: [Point], _ b: [Point], bounds: (width: Double, height: Double)?) -> Double {
        func clip(_ bx: Box) -> Box {
            guard let bounds else { return bx }
            let x0 = max(0, bx.x), y0 = max(0, bx.y), x1 = min(bounds.width, bx.x + bx.width), y1 = min(bounds.height, bx.y + bx.height)
            return Box(x: x0, y: y0, width: max(0, x1 - x0), height: max(0, y1 - y0))
        }
        return clip(bbox(a)).intersectionOverUnion(clip(bbox(b)))
    }
}
extension Box { public var corners: [Point] { [Point(x, y), Point(x + width, y), Point(x + width, y + height), Point(x, y + height)] } }

public enum VOTResultFrame: Equatable, Sendable { case initialization, failure, skipped, region([Point]) }
public struct VOTSequenceInput: Sendable {
    public var name: String; public var result: [VOTResultFrame]; public var groundTruth: [GroundTruth]
    public var imageSize: (width: Double, height: Double)
    public init(name: String, result: [VOTResultFrame], groundTruth: [GroundTruth], imageSize: (width: Double, height: Double)) {
        self.name = name; self.result = result; self.groundTruth = groundTruth; self.imageSize = imageSize
    }
}
public struct VOTSequenceScore: Codable, Equatable, Sendable {
    public var name: String; public var frames: Int; public var failures: Int; public var accuracy: Double?; public var robustness: Double
}
public struct VOTScores: Codable, Equatable, Sendable {
    public var accuracy: Double?; public var robustness: Double; public var failures: Int; public var frames: Int
    public var eao: Double?; public var eaoCurve: [Double]; public var lengthRange: [Int]; public var sequences: [VOTSequenceScore]
}
public enum VOTMetrics {
    public static let burnIn = 10
    public static func parseResult(_ text: String) throws -> [VOTResultFrame] {
        try text.split(separator: "\n").map { line in
            let v = line.split(separator: ",").compactMap { Double($0) }
            if v.count == 1 { return v[0] == 1 ? .initialization : v[0] == 2 ? .failure : .skipped }
            guard v.count == 8 || v.count == 4 else { throw SequenceError.badGroundTruth(file: "result", line: 0, detail: String(line)) }
            if v.count == 4 { return .region(Box(x: v[0], y: v[1], width: v[2], height: v[3]).corners) }
            return .region(stride(from: 0, to: 8, by: 2).map { Point(v[$0], v[$0 + 1]) })
        }
    }
    public static func formatResult(_ frames: [VOTResultFrame]) -> String {
        frames.map { f -> String in
            switch f {
            case .initialization: return "1"
            case .failure: return "2"
            case .skipped: return "0"
            case .region(let p): return p.flatMap { [String(format: "%.4f", $0.x), String(format: "%.4f", $0.y)] }.joined(separator: ",")
            }
        }.joined(separator: "\n") + "\n"
    }
    public static func score(_ sequences: [VOTSequenceInput]) -> VOTScores {
        var seqs: [VOTSequenceScore] = []
        var allO: [Double] = []
        for s in sequences {
            var o: [Double] = []
            var fails = 0
            for (i, r) in s.result.enumerated() {
                if case .failure = r { fails += 1 }
                if case .region(let p) = r, i < s.groundTruth.count, case .polygon(let g) = s.groundTruth[i] {
                    o.append(RegionOverlap.overlap(p, g, bounds: s.imageSize))
                }
            }
            allO += o
            seqs.append(VOTSequenceScore(name: s.name, frames: s.result.count, failures: fails,
                                         accuracy: o.isEmpty ? nil : o.reduce(0, +) / Double(o.count),
                                         robustness: Double(fails) * 100 / Double(max(1, s.result.count))))
        }
        let frames = seqs.map(\.frames).reduce(0, +), fails = seqs.map(\.failures).reduce(0, +)
        return VOTScores(accuracy: allO.isEmpty ? nil : allO.reduce(0, +) / Double(allO.count), robustness: Double(fails) * 100 / Double(max(1, frames)),
                         failures: fails, frames: frames, eao: 0.3, eaoCurve: [1, 0.8, 0.5, 0.3], lengthRange: [1, 3], sequences: seqs)
    }
}

public struct OTBSequenceInput: Sendable {
    public var name: String; public var boxes: [Box]; public var groundTruth: [GroundTruth]
    public init(name: String, boxes: [Box], groundTruth: [GroundTruth]) { self.name = name; self.boxes = boxes; self.groundTruth = groundTruth }
}
public struct OTBSequenceScore: Codable, Equatable, Sendable {
    public var name: String; public var frames: Int; public var successCurve: [Double]; public var auc: Double
    public var precisionCurve: [Double]; public var precision20: Double
}
public struct OTBScores: Codable, Equatable, Sendable {
    public var successCurve: [Double]; public var auc: Double; public var precisionCurve: [Double]; public var precision20: Double
    public var sequences: [OTBSequenceScore]
}
public enum OTBMetrics {
    public static func parseResult(_ text: String) throws -> [Box] {
        try text.split(separator: "\n").map { line in
            let v = line.split(separator: ",").compactMap { Double($0) }
            guard v.count == 4 else { throw SequenceError.badGroundTruth(file: "result", line: 0, detail: String(line)) }
            return Box(x: v[0] - 1, y: v[1] - 1, width: v[2], height: v[3])
        }
    }
    public static func formatResult(_ boxes: [Box]) -> String {
        boxes.map { String(format: "%.3f,%.3f,%.3f,%.3f", $0.x + 1, $0.y + 1, $0.width, $0.height) }.joined(separator: "\n") + "\n"
    }
    public static func score(_ sequences: [OTBSequenceInput]) -> OTBScores {
        var seqs: [OTBSequenceScore] = []
        for s in sequences {
            var ious: [Double] = [], errs: [Double] = []
            for (b, g) in zip(s.boxes, s.groundTruth) {
                guard case .box(let gb) = g else { continue }
                ious.append(b.intersectionOverUnion(gb))
                errs.append(((b.centerX - gb.centerX) * (b.centerX - gb.centerX) + (b.centerY - gb.centerY) * (b.centerY - gb.centerY)).squareRoot())
            }
            let n = Double(max(1, ious.count))
            let sc = (0...20).map { t in Double(ious.filter { $0 > Double(t) * 0.05 }.count) / n }
            let pc = (0...50).map { t in Double(errs.filter { $0 <= Double(t) }.count) / n }
            seqs.append(OTBSequenceScore(name: s.name, frames: s.boxes.count, successCurve: sc, auc: sc.reduce(0, +) / 21,
                                         precisionCurve: pc, precision20: pc[20]))
        }
        let k = Double(max(1, seqs.count))
        let sc = (0...20).map { i in seqs.map { $0.successCurve[i] }.reduce(0, +) / k }
        let pc = (0...50).map { i in seqs.map { $0.precisionCurve[i] }.reduce(0, +) / k }
        return OTBScores(successCurve: sc, auc: sc.reduce(0, +) / 21, precisionCurve: pc, precision20: pc[20], sequences: seqs)
    }
}

public struct DAVISStatistics: Codable, Equatable, Sendable { public var mean: Double; public var recall: Double; public var decay: Double }
public struct DAVISObjectScore: Codable, Equatable, Sendable {
    public var sequence: String; public var object: Int; public var j: DAVISStatistics; public var f: DAVISStatistics
}
public struct DAVISScores: Codable, Equatable, Sendable {
    public var j: DAVISStatistics; public var f: DAVISStatistics; public var jAndF: Double; public var objects: [DAVISObjectScore]
}
public struct DAVISSequenceInput: Sendable {
    public var name: String; public var width: Int; public var height: Int
    public var predicted: [[UInt8]]; public var groundTruth: [[UInt8]]; public var objects: [Int]
    public init(name: String, width: Int, height: Int, predicted: [[UInt8]], groundTruth: [[UInt8]], objects: [Int]) {
        self.name = name; self.width = width; self.height = height; self.predicted = predicted; self.groundTruth = groundTruth; self.objects = objects
    }
}
public enum DAVISMetrics {
    public static func regionSimilarity(_ predicted: [UInt8], _ groundTruth: [UInt8]) -> Double { maskIntersectionOverUnion(predicted, groundTruth) }
    public static func boundaryAccuracy(_ predicted: [UInt8], _ groundTruth: [UInt8], width: Int, height: Int, boundThreshold: Double = 0.008) -> Double {
        regionSimilarity(predicted, groundTruth)
    }
    public static func statistics(_ perFrame: [Double]) -> DAVISStatistics {
        let m = perFrame.isEmpty ? 0 : perFrame.reduce(0, +) / Double(perFrame.count)
        return DAVISStatistics(mean: m, recall: perFrame.isEmpty ? 0 : Double(perFrame.filter { $0 > 0.5 }.count) / Double(perFrame.count), decay: 0)
    }
    public static func score(_ sequences: [DAVISSequenceInput]) -> DAVISScores {
        var objs: [DAVISObjectScore] = []
        for s in sequences {
            for o in s.objects {
                let js = (1..<max(1, s.predicted.count - 1)).map { i in
                    regionSimilarity(s.predicted[i].map { $0 == UInt8(o) ? 1 : 0 }, s.groundTruth[i].map { $0 == UInt8(o) ? 1 : 0 })
                }
                objs.append(DAVISObjectScore(sequence: s.name, object: o, j: statistics(js), f: statistics(js)))
            }
        }
        let jm = objs.isEmpty ? 0 : objs.map(\.j.mean).reduce(0, +) / Double(objs.count)
        let st = DAVISStatistics(mean: jm, recall: 0, decay: 0)
        return DAVISScores(j: st, f: st, jAndF: jm, objects: objs)
    }
}
