/// One convolution of the network with everything needed to name its checkpoint keys and fold its batch-norm.
public struct ConvLayer: Sendable, Equatable {
    public enum Part: String, Sendable {
        case backbone, adjust, rpnClassification, rpnLocation, maskCorrelation, maskHead, refine
    }

    /// Module path in the official state dict, e.g. `features.features.layer1.0.conv1` (no `.weight`).
    public let module: String
    /// Module path of the BatchNorm2d that follows it, if any.
    public let batchNorm: String?
    public let outChannels: Int
    public let inChannels: Int
    public let kernel: Int
    public let stride: Int
    public let padding: Int
    public let dilation: Int
    /// Whether the conv itself has a bias parameter in the checkpoint.
    public let hasBias: Bool
    /// ConvTranspose2d: weight stored (in, out, k, k).
    public let transposed: Bool
    public let part: Part

    /// Shape of `<module>.weight` in the checkpoint.
    public var weightShape: [Int] {
        transposed ? [inChannels, outChannels, kernel, kernel] : [outChannels, inChannels, kernel, kernel]
    }
    public var weightKey: String { module + ".weight" }
    public var biasKey: String { module + ".bias" }
}

/// The siammask_sharp network as a list of convolutions in forward order (template/search backbone, adjust,
/// cls, loc, mask correlation, mask head, refine), with the official key names of `foolwood/SiamMask`.
public struct SiamMaskLayers: Sendable {
    public let widths: SiamMaskWidths
    public let convs: [ConvLayer]

    public init(widths: SiamMaskWidths) {
        self.widths = widths
        var convs: [ConvLayer] = []
        func conv(
            _ module: String, _ bn: String?, _ o: Int, _ i: Int, k: Int, s: Int = 1, p: Int = 0, d: Int = 1,
            bias: Bool = false, transposed: Bool = false, _ part: ConvLayer.Part
        ) {
            convs.append(
                ConvLayer(
                    module: module, batchNorm: bn, outChannels: o, inChannels: i, kernel: k, stride: s,
                    padding: p, dilation: d, hasBias: bias, transposed: transposed, part: part))
        }
        let b = "features.features."
        conv(b + "conv1", b + "bn1", widths.stem, 3, k: 7, s: 2, p: 0, .backbone)
        var inC = widths.stem
        for (stage, blocks) in SiamMaskWidths.blocks.enumerated() {
            let planes = widths.planes[stage]
            let outC = planes * SiamMaskWidths.expansion
            for block in 0..<blocks {
                let m = b + "layer\(stage + 1).\(block)."
                // The stride sits on conv2; layer3 blocks 1.. are dilated by 2 (padding 2); a stride-2 3x3 has padding 0.
                let stride = (stage == 1 && block == 0) ? 2 : 1
                let dilation = (stage == 2 && block > 0) ? 2 : 1
                let pad = dilation > 1 ? dilation : 2 - stride
                conv(m + "conv1", m + "bn1", planes, inC, k: 1, .backbone)
                conv(m + "conv2", m + "bn2", planes, planes, k: 3, s: stride, p: pad, d: dilation, .backbone)
                conv(m + "conv3", m + "bn3", outC, planes, k: 1, .backbone)
                if block == 0 {
                    // layer1: 1x1; layer2: 3x3 stride 2 pad 0; layer3: 3x3 stride 1 pad 1.
                    switch stage {
                    case 0: conv(m + "downsample.0", m + "downsample.1", outC, inC, k: 1, .backbone)
                    case 1: conv(m + "downsample.0", m + "downsample.1", outC, inC, k: 3, s: 2, p: 0, .backbone)
                    default: conv(m + "downsample.0", m + "downsample.1", outC, inC, k: 3, s: 1, p: 1, .backbone)
                    }
                }
                inC = outC
            }
        }
        conv("features.downsample.downsample.0", "features.downsample.downsample.1", widths.adjust, inC, k: 1, .adjust)
        let heads: [(String, Int, ConvLayer.Part)] = [
            ("rpn_model.cls", 2 * SiamMaskWidths.anchorCount, .rpnClassification),
            ("rpn_model.loc", 4 * SiamMaskWidths.anchorCount, .rpnLocation),
            ("mask_model.mask", SiamMaskWidths.maskHeadChannels, .maskCorrelation),
        ]
        let c = widths.correlation
        for (m, out, part) in heads {
            conv(m + ".conv_kernel.0", m + ".conv_kernel.1", c, widths.adjust, k: 3, part)
            conv(m + ".conv_search.0", m + ".conv_search.1", c, widths.adjust, k: 3, part)
            let headPart: ConvLayer.Part = part == .maskCorrelation ? .maskHead : part
            conv(m + ".head.0", m + ".head.1", c, c, k: 1, headPart)
            conv(m + ".head.3", nil, out, c, k: 1, bias: true, headPart)
        }
        let r = "refine_model."
        let (v0, v1, v2) = (widths.refineV0, widths.refineV1, widths.refineV2)
        let s = widths.stageOutputs
        conv(r + "v0.0", nil, v0[0], widths.stem, k: 3, p: 1, bias: true, .refine)
        conv(r + "v0.2", nil, v0[1], v0[0], k: 3, p: 1, bias: true, .refine)
        conv(r + "v1.0", nil, v1[0], s[0], k: 3, p: 1, bias: true, .refine)
        conv(r + "v1.2", nil, v1[1], v1[0], k: 3, p: 1, bias: true, .refine)
        conv(r + "v2.0", nil, v2[0], s[1], k: 3, p: 1, bias: true, .refine)
        conv(r + "v2.2", nil, v2[1], v2[0], k: 3, p: 1, bias: true, .refine)
        conv(r + "h2.0", nil, v2[1], v2[1], k: 3, p: 1, bias: true, .refine)
        conv(r + "h2.2", nil, v2[1], v2[1], k: 3, p: 1, bias: true, .refine)
        conv(r + "h1.0", nil, v1[1], v1[1], k: 3, p: 1, bias: true, .refine)
        conv(r + "h1.2", nil, v1[1], v1[1], k: 3, p: 1, bias: true, .refine)
        conv(r + "h0.0", nil, v0[1], v0[1], k: 3, p: 1, bias: true, .refine)
        conv(r + "h0.2", nil, v0[1], v0[1], k: 3, p: 1, bias: true, .refine)
        conv(r + "deconv", nil, v2[1], c, k: 15, s: 15, bias: true, transposed: true, .refine)
        conv(r + "post0", nil, v1[1], v2[1], k: 3, p: 1, bias: true, .refine)
        conv(r + "post1", nil, v0[1], v1[1], k: 3, p: 1, bias: true, .refine)
        conv(r + "post2", nil, 1, v0[1], k: 3, p: 1, bias: true, .refine)
        self.convs = convs
    }

    /// Convolutions the sharp tracker runs. The 3969-channel mask head is never needed with refine on, so the
    /// canonical `.siam` file leaves it out.
    public var trackedConvs: [ConvLayer] { convs.filter { $0.part != .maskHead } }

    public func conv(named module: String) -> ConvLayer? { convs.first { $0.module == module } }

    /// Every key of the official state dict with its shape and dtype, in registration order
    /// (356 keys for the full model). `num_batches_tracked` is an int64 scalar.
    public var checkpointKeys: [(key: String, shape: [Int], dtype: String)] {
        var keys: [(String, [Int], String)] = []
        for c in convs {
            keys.append((c.weightKey, c.weightShape, "float32"))
            if c.hasBias { keys.append((c.biasKey, [c.outChannels], "float32")) }
            if let bn = c.batchNorm {
                for p in ["weight", "bias", "running_mean", "running_var"] {
                    keys.append(("\(bn).\(p)", [c.outChannels], "float32"))
                }
                keys.append(("\(bn).num_batches_tracked", [], "int64"))
            }
        }
        // Registration order in the official module puts the refine deconv's keys where the module declares it;
        // key order does not matter for loading, only the set and the shapes.
        return keys
    }

    /// Canonical `.siam` tensor names: `<module>.weight` (BN folded in) and `<module>.bias`, for every tracked conv.
    public var canonicalTensors: [(name: String, shape: [Int])] {
        trackedConvs.flatMap { c in [(c.weightKey, c.weightShape), (c.biasKey, [c.outChannels])] }
    }
}
