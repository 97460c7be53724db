/// Channel widths of a siammask_sharp network. The official model is `.official`; reduced test variants scale every
/// count by a multiplier (`c -> max(1, round(c * m))`), which the Python reference in Tools/ applies the same way.
/// Block counts, kernel sizes, strides, the 5 anchors and the 63x63 mask head are fixed by the architecture.
public struct SiamMaskWidths: Codable, Equatable, Sendable, CustomStringConvertible {
    /// Output channels of the 7x7 stem conv (64).
    public var stem: Int
    /// Bottleneck widths of layer1..layer3 (64, 128, 256); block outputs are 4x these.
    public var planes: [Int]
    /// Output channels of the adjust layer (256): the template/search feature fed to the three correlations.
    public var adjust: Int
    /// Hidden channels of each depth-wise correlation block (256); also the refine deconv's input.
    public var correlation: Int
    /// Refine v0/v1/v2 widths: (first conv out, second conv out) = (16,4), (64,16), (128,32).
    public var refineV0: [Int]
    public var refineV1: [Int]
    public var refineV2: [Int]

    public static let expansion = 4
    public static let blocks = [3, 4, 6]
    public static let anchorCount = 5
    public static let maskHeadChannels = 63 * 63

    public static let official = SiamMaskWidths(
        stem: 64, planes: [64, 128, 256], adjust: 256, correlation: 256,
        refineV0: [16, 4], refineV1: [64, 16], refineV2: [128, 32])

    public init(
        stem: Int, planes: [Int], adjust: Int, correlation: Int, refineV0: [Int], refineV1: [Int], refineV2: [Int]
    ) {
        self.stem = stem
        self.planes = planes
        self.adjust = adjust
        self.correlation = correlation
        self.refineV0 = refineV0
        self.refineV1 = refineV1
        self.refineV2 = refineV2
    }

    /// The official widths scaled by `multiplier`, rounding half away from zero and never below 1.
    public static func scaled(by multiplier: Double) -> SiamMaskWidths {
        func s(_ c: Int) -> Int { max(1, Int((Double(c) * multiplier).rounded(.toNearestOrAwayFromZero))) }
        let o = official
        return SiamMaskWidths(
            stem: s(o.stem), planes: o.planes.map(s), adjust: s(o.adjust), correlation: s(o.correlation),
            refineV0: o.refineV0.map(s), refineV1: o.refineV1.map(s), refineV2: o.refineV2.map(s))
    }

    /// Output channels of layer1, layer2, layer3 (256, 512, 1024).
    public var stageOutputs: [Int] { planes.map { $0 * SiamMaskWidths.expansion } }

    public var isValid: Bool {
        planes.count == 3 && refineV0.count == 2 && refineV1.count == 2 && refineV2.count == 2
            && ([stem, adjust, correlation] + planes + refineV0 + refineV1 + refineV2).allSatisfy {
                $0 > 0 && $0 <= 65536
            }
    }

    public var description: String {
        "stem \(stem), planes \(planes), adjust \(adjust), correlation \(correlation), refine v0 \(refineV0) v1 \(refineV1) v2 \(refineV2)"
    }
}
