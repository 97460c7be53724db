import Foundation

/// A point in image pixels (0-based, x right, y down).
public struct Point: Equatable, Sendable {
    public var x: Double
    public var y: Double
    public init(_ x: Double, _ y: Double) { self.x = x; self.y = y }
}

/// An axis-aligned box in 0-based pixels: top-left corner and size.
public struct Box: Equatable, Sendable, CustomStringConvertible {
    public var x: Double
    public var y: Double
    public var width: Double
    public var height: Double
    public init(x: Double, y: Double, width: Double, height: Double) {
        self.x = x; self.y = y; self.width = width; self.height = height
    }
    public var centerX: Double { x + width / 2 }
    public var centerY: Double { y + height / 2 }
    public var area: Double { max(0, width) * max(0, height) }
    public var description: String { "\(x),\(y),\(width),\(height)" }

    public func intersectionOverUnion(_ o: Box) -> Double {
        let ix = max(0, min(x + width, o.x + o.width) - max(x, o.x))
        let iy = max(0, min(y + height, o.y + o.height) - max(y, o.y))
        let inter = ix * iy
        let union = area + o.area - inter
        return union > 0 ? inter / union : 0
    }
}

/// The first-frame or per-frame target of a sequence, in the form its benchmark gives it.
public enum GroundTruth: Equatable, Sendable {
    /// VOT: four corners x1,y1,...,x4,y4 (0-based).
    case polygon([Point])
    /// OTB-style rectangle, already converted to 0-based.
    case box(Box)
    /// DAVIS: a per-frame object mask PNG.
    case mask(URL)
    /// A frame with no annotation (e.g. NaN lines in VOT after occlusion).
    case missing
}

/// Intersection over union of two binary masks of one size (nonzero = object); two empty masks agree fully.
public func maskIntersectionOverUnion(_ a: [UInt8], _ b: [UInt8]) -> Double {
    precondition(a.count == b.count, "masks of different sizes")
    var inter = 0, union = 0
    for i in 0..<a.count {
        let x = a[i] != 0, y = b[i] != 0
        if x && y { inter += 1 }
        if x || y { union += 1 }
    }
    return union == 0 ? 1 : Double(inter) / Double(union)
}

public enum GroundTruthParser {
    /// One line of a VOT `groundtruth.txt`: 8 values (polygon) or 4 values (x,y,w,h box, 0-based), separated by
    /// commas, tabs or spaces. Returns `.missing` for NaN lines.
    public static func votLine(_ line: String, lineNumber: Int, file: String) throws -> GroundTruth {
        let values = try numbers(line, lineNumber: lineNumber, file: file)
        if values.contains(where: { $0.isNaN }) { return .missing }
        switch values.count {
        case 8: return .polygon(stride(from: 0, to: 8, by: 2).map { Point(values[$0], values[$0 + 1]) })
        case 4: return .box(Box(x: values[0], y: values[1], width: values[2], height: values[3]))
        default:
            throw SequenceError.badGroundTruth(
                file: file, line: lineNumber, detail: "expected 4 or 8 values, found \(values.count)")
        }
    }

    /// One line of an OTB `groundtruth_rect.txt`: x,y,w,h 1-based, converted to 0-based.
    public static func otbLine(_ line: String, lineNumber: Int, file: String) throws -> GroundTruth {
        let v = try numbers(line, lineNumber: lineNumber, file: file)
        guard v.count == 4 else {
            throw SequenceError.badGroundTruth(
                file: file, line: lineNumber, detail: "expected x,y,w,h, found \(v.count) values")
        }
        if v.contains(where: { $0.isNaN }) { return .missing }
        return .box(Box(x: v[0] - 1, y: v[1] - 1, width: v[2], height: v[3]))
    }

    static func numbers(_ line: String, lineNumber: Int, file: String) throws -> [Double] {
        let parts = line.split(whereSeparator: { $0 == "," || $0 == "\t" || $0 == " " || $0 == "\r" })
        return try parts.map { part in
            let s = String(part)
            if s.lowercased() == "nan" { return .nan }
            guard let v = Double(s), v.isFinite else {
                throw SequenceError.badGroundTruth(file: file, line: lineNumber, detail: "'\(s)' is not a number")
            }
            return v
        }
    }
}
