import Foundation

/// The result of a calibration run: per activation tensor, the observed statistics and the uint8 parameters chosen.
/// Stored as versioned, human-readable JSON (spec: Schemas/calibration-table.md). Floats are written in their
/// shortest round-trip form, so Float -> JSON -> Float is the identity.
public struct CalibrationTable: Codable, Equatable, Sendable {
    public static let format = "siammask-calibration"
    public static let version = 1

    public var method: CalibrationMethod
    /// Free text set by the caller: which model was calibrated (e.g. file name and checksum).
    public var model: String
    /// The sequences the frames came from.
    public var sources: [String]
    public var frames: Int
    public var createdBy: String
    /// Sorted by name, names unique.
    public var tensors: [Entry]
    /// 3x3 stride-1 convolutions that may run in the Winograd domain: their input transform's largest |V| per
    /// position (`WinogradInputObserver`), sorted by node, nodes unique. Empty in tables without them.
    public var winograd: [WinogradEntry] = []

    public struct WinogradEntry: Codable, Equatable, Sendable {
        public var node: String
        /// 16 values, finite and >= 0, in the input's real units.
        public var absMax: [Float]
        public init(node: String, absMax: [Float]) {
            self.node = node
            self.absMax = absMax
        }
        enum CodingKeys: String, CodingKey {
            case node
            case absMax = "abs_max"
        }
    }

    public struct Entry: Codable, Equatable, Sendable {
        public var name: String
        /// Observed finite extremes (0 when nothing was observed).
        public var min: Float
        public var max: Float
        /// The range the method chose (contains 0; the uint8 parameters cover it).
        public var range: ClosedRange<Float>
        public var scale: Float
        public var zeroPoint: Int32
        /// Finite values observed, and NaN or infinite values ignored.
        public var count: Int
        public var nonFinite: Int
        public var byteImage: Bool
        public var summary: Summary

        public var quantization: AffineQuantization { AffineQuantization(scale: scale, zeroPoint: zeroPoint) }

        public init(
            name: String, min: Float, max: Float, range: ClosedRange<Float>, scale: Float, zeroPoint: Int32,
            count: Int, nonFinite: Int, byteImage: Bool, summary: Summary
        ) {
            self.name = name; self.min = min; self.max = max; self.range = range; self.scale = scale
            self.zeroPoint = zeroPoint; self.count = count; self.nonFinite = nonFinite; self.byteImage = byteImage
            self.summary = summary
        }

        enum CodingKeys: String, CodingKey {
            case name, min, max, range, scale, count, summary
            case zeroPoint = "zero_point", nonFinite = "nonfinite", byteImage = "byte_image"
        }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            name = try c.decode(String.self, forKey: .name)
            min = try c.decode(Float.self, forKey: .min)
            max = try c.decode(Float.self, forKey: .max)
            range = try c.decode(ClosedRange<Float>.self, forKey: .range)
            // A scale beyond float32 (e.g. 1e39) is an invalid scale, not a syntax error.
            if let s = try? c.decode(Float.self, forKey: .scale) {
                scale = s
            } else {
                throw CalibrationTableError.invalidScale(tensor: name, scale: try c.decode(Double.self, forKey: .scale))
            }
            let z = try c.decode(Int.self, forKey: .zeroPoint)
            guard (0...255).contains(z) else {
                throw CalibrationTableError.zeroPointOutOfRange(tensor: name, zeroPoint: z)
            }
            zeroPoint = Int32(z)
            count = try c.decode(Int.self, forKey: .count)
            nonFinite = try c.decode(Int.self, forKey: .nonFinite)
            byteImage = try c.decode(Bool.self, forKey: .byteImage)
            summary = try c.decode(Summary.self, forKey: .summary)
        }
    }

    /// Distribution summary of the finite values (percentiles from the histogram, linear within a bin).
    public struct Summary: Codable, Equatable, Sendable {
        public var mean: Float
        public var std: Float
        public var zeroFraction: Float
        public var p0_01: Float
        public var p1: Float
        public var p50: Float
        public var p99: Float
        public var p99_99: Float

        public init(
            mean: Float, std: Float, zeroFraction: Float, p0_01: Float, p1: Float, p50: Float, p99: Float,
            p99_99: Float
        ) {
            self.mean = mean; self.std = std; self.zeroFraction = zeroFraction
            self.p0_01 = p0_01; self.p1 = p1; self.p50 = p50; self.p99 = p99; self.p99_99 = p99_99
        }

        enum CodingKeys: String, CodingKey {
            case mean, std, p1, p50, p99
            case zeroFraction = "zero_fraction", p0_01 = "p0_01", p99_99 = "p99_99"
        }
    }

    public init(
        method: CalibrationMethod, model: String, sources: [String], frames: Int,
        createdBy: String = CalibrationTable.defaultCreator, tensors: [Entry]
    ) {
        self.method = method; self.model = model; self.sources = sources; self.frames = frames
        self.createdBy = createdBy; self.tensors = tensors.sorted { $0.name < $1.name }
    }

    public static let defaultCreator = "siammask Quantization (calibration table version 1)"

    /// One entry per observer, sorted by name, with the parameters `method` chooses (a byte image always gets
    /// `AffineQuantization.byteImage`).
    public static func make(
        observers: [String: ActivationObserver], method: CalibrationMethod, model: String,
        sources: [String], frames: Int, createdBy: String = defaultCreator
    ) -> CalibrationTable {
        let entries = observers.keys.sorted().map { name -> Entry in
            let o = observers[name]!
            let q = o.quantization(method)
            let empty = o.count == 0
            let summary = Summary(
                mean: Float(o.mean), std: Float(o.standardDeviation),
                zeroFraction: empty ? 0 : Float(Double(o.zeroCount) / Double(o.count)),
                p0_01: o.quantile(0.0001), p1: o.quantile(0.01), p50: o.quantile(0.5),
                p99: o.quantile(0.99), p99_99: o.quantile(0.9999))
            return Entry(
                name: name, min: empty ? 0 : o.min, max: empty ? 0 : o.max, range: o.range(method),
                scale: q.scale, zeroPoint: q.zeroPoint, count: o.count, nonFinite: o.nonFiniteCount,
                byteImage: o.isByteImage, summary: summary)
        }
        return CalibrationTable(
            method: method, model: model, sources: sources, frames: frames, createdBy: createdBy,
            tensors: entries)
    }

    /// The uint8 parameters of the tensor `name`, nil when the table has none.
    public func quantization(for name: String) -> AffineQuantization? {
        var lo = 0, hi = tensors.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if tensors[mid].name < name { lo = mid + 1 } else { hi = mid }
        }
        return lo < tensors.count && tensors[lo].name == name ? tensors[lo].quantization : nil
    }

    // MARK: JSON

    enum CodingKeys: String, CodingKey {
        case format, version, method, model, sources, frames, tensors, winograd
        case createdBy = "created_by"
    }

    /// Checks format and version before anything else (a future version may differ in shape), then every entry.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let found = try? c.decodeIfPresent(String.self, forKey: .format)
        guard found == Self.format else { throw CalibrationTableError.wrongFormat(found: found) }
        let v = try c.decode(Int.self, forKey: .version)
        guard v == Self.version else { throw CalibrationTableError.unsupportedVersion(v) }
        let m = try c.decode(String.self, forKey: .method)
        guard let method = CalibrationMethod(parsing: m) else { throw CalibrationTableError.unknownMethod(m) }
        self.method = method
        model = try c.decode(String.self, forKey: .model)
        sources = try c.decode([String].self, forKey: .sources)
        frames = try c.decode(Int.self, forKey: .frames)
        createdBy = try c.decode(String.self, forKey: .createdBy)
        tensors = try c.decode([Entry].self, forKey: .tensors)
        winograd = try c.decodeIfPresent([WinogradEntry].self, forKey: .winograd) ?? []
        try validate()
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Self.format, forKey: .format)
        try c.encode(Self.version, forKey: .version)
        try c.encode(method.name, forKey: .method)
        try c.encode(model, forKey: .model)
        try c.encode(sources, forKey: .sources)
        try c.encode(frames, forKey: .frames)
        try c.encode(createdBy, forKey: .createdBy)
        try c.encode(tensors, forKey: .tensors)
        if !winograd.isEmpty { try c.encode(winograd, forKey: .winograd) }
    }

    /// The Winograd statistics of a node, nil when the table has none.
    public func winogradAbsMax(for node: String) -> [Float]? { winograd.first { $0.node == node }?.absMax }

    /// Names unique; scales finite and positive; zero points in [0, 255]; ranges containing 0; Winograd entries
    /// unique with 16 finite values >= 0.
    public func validate() throws {
        var nodes = Set<String>()
        for w in winograd {
            guard nodes.insert(w.node).inserted, w.absMax.count == 16, w.absMax.allSatisfy({ $0.isFinite && $0 >= 0 })
            else { throw CalibrationTableError.invalidWinogradEntry(node: w.node) }
        }
        var seen = Set<String>()
        for t in tensors {
            guard seen.insert(t.name).inserted else { throw CalibrationTableError.duplicateTensor(t.name) }
            guard t.scale.isFinite, t.scale > 0 else {
                throw CalibrationTableError.invalidScale(tensor: t.name, scale: Double(t.scale))
            }
            guard (0...255).contains(t.zeroPoint) else {
                throw CalibrationTableError.zeroPointOutOfRange(tensor: t.name, zeroPoint: Int(t.zeroPoint))
            }
            guard t.range.contains(0) else {
                throw CalibrationTableError.rangeExcludesZero(
                    tensor: t.name, lo: t.range.lowerBound, hi: t.range.upperBound)
            }
        }
    }

    /// Pretty-printed JSON with sorted keys (slashes in names and paths left unescaped).
    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(self)
        data.append(0x0A)
        return data
    }

    /// Parses and validates a table; every failure is a `CalibrationTableError`.
    public static func decode(_ data: Data) throws -> CalibrationTable {
        var table: CalibrationTable
        do {
            table = try JSONDecoder().decode(CalibrationTable.self, from: data)
        } catch let error as CalibrationTableError {
            throw error
        } catch let error as DecodingError {
            throw CalibrationTableError.malformedJSON(Self.summary(of: error))
        } catch {
            throw CalibrationTableError.malformedJSON("\(error)")
        }
        // A table built in memory may come unsorted through Codable's own paths; keep the lookup's invariant.
        table.tensors.sort { $0.name < $1.name }
        table.winograd.sort { $0.node < $1.node }
        return table
    }

    /// Writes atomically: a temporary file in the same folder, then rename(2) over the destination.
    public func write(to url: URL) throws {
        try validate()
        let data = try encoded()
        let folder = url.deletingLastPathComponent()
        let temporary = folder.appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp")
        do {
            try data.write(to: temporary)
        } catch {
            throw CalibrationTableError.writeFailed(path: url.path, reason: "\(error.localizedDescription)")
        }
        guard rename(temporary.path, url.path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temporary)
            throw CalibrationTableError.writeFailed(path: url.path, reason: reason)
        }
    }

    public static func read(from url: URL) throws -> CalibrationTable {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw CalibrationTableError.unreadable(path: url.path, reason: error.localizedDescription)
        }
        return try decode(data)
    }

    private static func summary(of error: DecodingError) -> String {
        func path(_ c: DecodingError.Context) -> String {
            c.codingPath.isEmpty
                ? ""
                : " at " + c.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .dataCorrupted(let c): return c.debugDescription + path(c)
        case .keyNotFound(let key, let c): return "missing \"\(key.stringValue)\"" + path(c)
        case .typeMismatch(_, let c), .valueNotFound(_, let c): return c.debugDescription + path(c)
        @unknown default: return "\(error)"
        }
    }
}
