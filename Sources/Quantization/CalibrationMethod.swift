/// How an activation's observed values are reduced to the range its uint8 encoding covers.
public enum CalibrationMethod: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// The observed minimum and maximum.
    case minMax
    /// The given lower and upper percentiles of the observed values (e.g. 99.99: the 0.01th and 99.99th).
    case percentile(Double)
    /// The clipping range whose quantised distribution is closest (Kullback-Leibler) to the observed one.
    case entropy
    /// The clipping range with the smallest expected squared error (clipping plus rounding).
    case mse

    /// The percentile used when none is given ("percentile").
    public static let defaultPercentile = 99.99

    /// The canonical name: "minmax", "percentile:99.99", "entropy", "mse" (what `init(parsing:)` reads back).
    public var name: String {
        switch self {
        case .minMax: return "minmax"
        case .percentile(let p): return "percentile:\(p)"
        case .entropy: return "entropy"
        case .mse: return "mse"
        }
    }

    public var description: String { name }

    /// Parses "minmax", "percentile" (99.99), "percentile:P" with 50 <= P <= 100, "entropy" or "mse"
    /// (case-insensitive); nil for anything else.
    public init?(parsing text: String) {
        let lower = text.lowercased()
        switch lower {
        case "minmax": self = .minMax
        case "entropy": self = .entropy
        case "mse": self = .mse
        case "percentile": self = .percentile(Self.defaultPercentile)
        default:
            let prefix = "percentile:"
            guard lower.hasPrefix(prefix), let p = Double(lower.dropFirst(prefix.count)),
                p >= 50, p <= 100
            else { return nil }
            self = .percentile(p)
        }
    }
}
