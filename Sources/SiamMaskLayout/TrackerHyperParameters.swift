/// Tracker hyper-parameters of the official `TrackerConfig` (tools/test.py), per setting.
public struct TrackerHyperParameters: Codable, Equatable, Sendable {
    public var penaltyK: Double
    public var windowInfluence: Double
    public var learningRate: Double
    public var segmentationThreshold: Double
    public var exemplarSize: Int
    public var instanceSize: Int
    public var baseSize: Int
    public var outSize: Int
    public var contextAmount: Double

    /// config_vot.json (SiamMask_VOT).
    public static let vot = TrackerHyperParameters(
        penaltyK: 0.04, windowInfluence: 0.42, learningRate: 0.25,
        segmentationThreshold: 0.30, exemplarSize: 127, instanceSize: 255,
        baseSize: 8, outSize: 127, contextAmount: 0.5)
    /// config_davis.json (SiamMask_DAVIS, the demo).
    public static let davis = TrackerHyperParameters(
        penaltyK: 0.04, windowInfluence: 0.40, learningRate: 1.0,
        segmentationThreshold: 0.35, exemplarSize: 127, instanceSize: 255,
        baseSize: 8, outSize: 127, contextAmount: 0.5)
}

/// Anchor settings shared by every sharp config: stride 8, ratios h/w, one scale.
public struct AnchorConfig: Codable, Equatable, Sendable {
    public var stride: Int
    public var ratios: [Double]
    public var scales: [Double]

    public static let official = AnchorConfig(stride: 8, ratios: [0.33, 0.5, 1, 2, 3], scales: [8])

    /// (w, h) in crop pixels per anchor, with the official integer truncation:
    /// ws = int(sqrt(stride^2 / r)), hs = int(ws * r), then times the scale.
    public var anchorSizes: [(width: Double, height: Double)] {
        let size = Double(stride * stride)
        var out: [(Double, Double)] = []
        for r in ratios {
            let ws = Double(Int((size / r).squareRoot()))
            let hs = Double(Int(ws * r))
            for s in scales { out.append((ws * s, hs * s)) }
        }
        return out
    }
}
