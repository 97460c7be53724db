import Runtime
import SiamMaskLayout
import Tensors

/// The three SiamMask entry points built on the runtime from canonical weights:
/// `template` (exemplar crop -> zf), `search` (search crop, zf -> cls, loc, corr, f0, f1, f2) and
/// `refine(row:column:)` (f0, f1, f2, corr -> mask logits at one cell). Weights are shared by every graph.
public final class SiamMaskNetwork: @unchecked Sendable {
    public let model: SiamMaskModel
    public var widths: SiamMaskWidths { model.widths }
    private let convs: [String: ConvolutionWeights]
    private let deconv: TransposedConvolutionWeights

    public static let exemplarSize = 127
    public static let instanceSize = 255
    public static let scoreSize = 25
    /// The refine module's output side.
    public static let maskSize = 127

    /// zf side: 127 -> stem 61 -> max-pool 31 -> layer2 (3x3 s2 p0) 15 -> centre crop [4:-4] 7.
    public static let templateFeatureSide: Int = {
        let stem = (exemplarSize - 7) / 2 + 1
        let pooled = (stem + 2 - 3) / 2 + 1
        let layer2 = (pooled - 3) / 2 + 1
        return layer2 < 20 ? layer2 - 8 : layer2
    }()

    public init(model: SiamMaskModel) throws {
        self.model = model
        let layers = SiamMaskLayers(widths: model.widths)
        var convs: [String: ConvolutionWeights] = [:]
        var deconv: TransposedConvolutionWeights?
        for layer in layers.trackedConvs {
            guard let w = model.weights[layer.weightKey] else { throw LayoutError.missingKey(layer.weightKey) }
            let b = model.weights[layer.biasKey]
            if layer.transposed {
                deconv = try TransposedConvolutionWeights(name: layer.module, weight: w, bias: b)
            } else if let q = model.quantization?.layers[layer.module], !q.isWeightOnly {
                convs[layer.module] = ConvolutionWeights(
                    name: layer.module, weights: w.floats, bias: b?.floats, outChannels: q.shape[0],
                    inChannels: q.shape[1],
                    kernel: q.shape[2],
                    int8: Int8ConvolutionWeights(
                        values: q.values, scales: q.weightScales, bias: q.dequantizedBias,
                        winogradMultipliers: q.winogradMultipliers))
            } else {
                convs[layer.module] = try ConvolutionWeights(name: layer.module, weight: w, bias: b)
            }
        }
        guard let deconv else { throw LayoutError.missingKey("refine_model.deconv.weight") }
        self.convs = convs
        self.deconv = deconv
    }

    private func conv(_ module: String) -> ConvolutionWeights { convs[module]! }

    /// What the search and refine executors of a quantised model run in int8 (nil for a float32 model). The template
    /// branch always runs in float32 (on the dequantised weights): it runs once per target.
    public var int8Configuration: Int8Configuration? {
        guard let q = model.quantization else { return nil }
        // The frame refine graph's xf input is the adjust layer's output: it carries that node's encoding.
        var encodings = q.activations
        if encodings["xf"] == nil, let adjust = encodings["features.downsample"] { encodings["xf"] = adjust }
        return Int8Configuration(encodings: encodings, float32Nodes: Set(q.float32Nodes))
    }

    /// The per-frame nodes (search, then refine) that run in int8 for this model, found by lowering alone.
    public func int8NodeNames() throws -> [String] {
        try Executor.int8Nodes(of: trackingSearchGraph(), int8: int8Configuration)
            + Executor.int8Nodes(of: refineGraph(row: 12, column: 12), int8: int8Configuration)
    }

    /// Backbone (ResNet-50 to layer3) from an image value. Returns P0 (stem output before the max-pool), P1, P2, P3.
    private func backbone(_ g: inout GraphBuilder, _ image: ValueID) throws -> [ValueID] {
        let layers = SiamMaskLayers(widths: widths)
        let b = "features.features."
        // conv1 7x7 s2 p0 + BN + ReLU -> P0
        let p0 = try g.conv2d(b + "conv1", image, conv(b + "conv1"), stride: 2, padding: 0, relu: true)
        var x = try g.maxPool2d(b + "maxpool", p0, kernel: 3, stride: 2, padding: 1)
        var taps = [p0]
        for (stage, blocks) in SiamMaskWidths.blocks.enumerated() {
            for block in 0..<blocks {
                let m = b + "layer\(stage + 1).\(block)."
                let c1 = layers.conv(named: m + "conv1")!, c2 = layers.conv(named: m + "conv2")!
                let y1 = try g.conv2d(m + "conv1", x, conv(m + "conv1"), relu: true)
                let y2 = try g.conv2d(
                    m + "conv2", y1, conv(m + "conv2"), stride: c2.stride, padding: c2.padding,
                    dilation: c2.dilation, relu: true)
                _ = c1
                var shortcut = x
                if let d = layers.conv(named: m + "downsample.0") {
                    shortcut = try g.conv2d(
                        m + "downsample", x, conv(d.module), stride: d.stride, padding: d.padding, relu: false)
                }
                // conv3 + BN, then the shortcut is added and ReLU applied, fused into one kernel call.
                x = try g.conv2d(m + "conv3", y2, conv(m + "conv3"), relu: true, residual: shortcut)
            }
            taps.append(x)
        }
        return taps
    }

    /// Adjust layer: 1x1 conv + BN, no ReLU; the [4:-4] centre crop applies when the map is narrower than 20.
    private func adjust(_ g: inout GraphBuilder, _ p3: ValueID) throws -> ValueID {
        let m = "features.downsample.downsample.0"
        let a = try g.conv2d("features.downsample", p3, conv(m), relu: false)
        let s = g.shape(of: a)
        guard s.width < 20 else { return a }
        return try g.window("features.downsample.crop", a, top: 4, left: 4, height: s.height - 8, width: s.width - 8)
    }

    public func templateGraph() throws -> Graph {
        var g = GraphBuilder()
        let z = g.input("template", ActivationShape(3, Self.exemplarSize, Self.exemplarSize))
        let taps = try backbone(&g, z)
        g.output("zf", try adjust(&g, taps[3]))
        return g.build()
    }

    /// The correlation half of a DepthCorr block: conv_kernel(zf), conv_search(xf), depth-wise correlation.
    private func correlation(
        _ g: inout GraphBuilder, _ block: String, zf: ValueID?, kernel: ValueID?, xf: ValueID
    ) throws -> ValueID {
        let k = try kernel ?? g.conv2d(block + ".conv_kernel", zf!, conv(block + ".conv_kernel.0"), relu: true)
        let s = try g.conv2d(block + ".conv_search", xf, conv(block + ".conv_search.0"), relu: true)
        return try g.depthwiseCrossCorrelation(block + ".xcorr", search: s, kernel: k)
    }

    private func head(_ g: inout GraphBuilder, _ block: String, _ corr: ValueID) throws -> ValueID {
        let h = try g.conv2d(block + ".head.0", corr, conv(block + ".head.0"), relu: true)
        return try g.conv2d(block + ".head.3", h, conv(block + ".head.3"), relu: false)
    }

    /// The three depth-wise correlation blocks, in the order of the tracking graphs' kernel inputs.
    public static let correlationBlocks = ["rpn_model.cls", "rpn_model.loc", "mask_model.mask"]
    public static let kernelInputNames = ["kernel_cls", "kernel_loc", "kernel_mask"]

    /// Template side for tracking: zf and the three blocks' conv_kernel outputs, which depend only on the template
    /// and so run once per target instead of every frame (spec pitfall 29).
    public func templateKernelsGraph() throws -> Graph {
        var g = GraphBuilder()
        let z = g.input("template", ActivationShape(3, Self.exemplarSize, Self.exemplarSize))
        let taps = try backbone(&g, z)
        let zf = try adjust(&g, taps[3])
        g.output("zf", zf)
        for (block, name) in zip(Self.correlationBlocks, Self.kernelInputNames) {
            g.output(name, try g.conv2d(block + ".conv_kernel", zf, conv(block + ".conv_kernel.0"), relu: true))
        }
        return g.build()
    }

    /// Shape of each precomputed correlation kernel (C x 5 x 5).
    public var kernelShape: ActivationShape {
        let side = Self.templateFeatureSide - 2
        return ActivationShape(widths.correlation, side, side)
    }

    /// The search graph with zf given (the `run --graph search` interface).
    public func searchGraph() throws -> Graph { try searchGraph(precomputedKernels: false) }

    /// The search graph fed with the precomputed kernels (inputs kernel_cls, kernel_loc, kernel_mask) as a tracker
    /// runs it every frame.
    public func trackingSearchGraph() throws -> Graph { try searchGraph(precomputedKernels: true) }

    /// The search graph a tracking frame runs: `trackingSearchGraph` without the mask branch's conv_search and
    /// correlation, which the tracker reads at one cell only, so `frameRefineGraph` computes them there (on a 7x7
    /// window of xf instead of the whole 31x31 map: about 3% of the frame's arithmetic). Outputs cls, loc, f0, f1, f2
    /// and xf (the adjusted search features).
    public func frameSearchGraph() throws -> Graph { try searchGraph(precomputedKernels: true, maskBranch: false) }

    private func searchGraph(precomputedKernels: Bool, maskBranch: Bool = true) throws -> Graph {
        var g = GraphBuilder()
        let x = g.input("search", ActivationShape(3, Self.instanceSize, Self.instanceSize))
        var kernels: [ValueID?] = [nil, nil, nil]
        var zf: ValueID?
        if precomputedKernels {
            kernels = Self.kernelInputNames.indices.map { i in
                maskBranch || i < 2 ? g.input(Self.kernelInputNames[i], kernelShape) : nil
            }
        } else {
            zf = g.input("zf", ActivationShape(widths.adjust, Self.templateFeatureSide, Self.templateFeatureSide))
        }
        let taps = try backbone(&g, x)
        let xf = try adjust(&g, taps[3])
        func corr(_ i: Int) throws -> ValueID {
            try correlation(&g, Self.correlationBlocks[i], zf: zf, kernel: kernels[i], xf: xf)
        }
        let cls = try head(&g, "rpn_model.cls", try corr(0))
        let loc = try head(&g, "rpn_model.loc", try corr(1))
        let corr = maskBranch ? try corr(2) : nil
        g.output("cls", cls)
        g.output("loc", loc)
        if let corr { g.output("corr", corr) } else { g.output("xf", xf) }
        g.output("f0", taps[0])
        g.output("f1", taps[1])
        g.output("f2", taps[2])
        return g.build()
    }

    /// Shapes of the search graph's feature outputs, which the refine graph takes as inputs.
    public var searchFeatureShapes: [String: ActivationShape] {
        let s = widths.stageOutputs
        return [
            "f0": ActivationShape(widths.stem, 125, 125), "f1": ActivationShape(s[0], 63, 63),
            "f2": ActivationShape(s[1], 31, 31),
            "corr": ActivationShape(widths.correlation, Self.scoreSize, Self.scoreSize),
            "xf": ActivationShape(
                widths.adjust, Self.scoreSize + Self.maskSearchWindow - 1, Self.scoreSize + Self.maskSearchWindow - 1),
        ]
    }

    /// Side of the xf window one correlation cell reads: the 5x5 kernel plus conv_search's 3x3 reach.
    public static let maskSearchWindow: Int = (templateFeatureSide - 2) + 2

    /// Origins of the refine graph's four windows at a cell: pad(F0, 16) then rows 4y..4y+60; pad(F1, 8) then
    /// 2y..2y+30; pad(F2, 4) then y..y+14; the correlation vector at (y, x).
    public static func refineWindowOrigins(row: Int, column: Int) -> [(node: String, top: Int, left: Int)] {
        let r = "refine_model."
        return [
            (r + "crop0", 4 * row - 16, 4 * column - 16), (r + "crop1", 2 * row - 8, 2 * column - 8),
            (r + "crop2", row - 4, column - 4), (r + "pick", row, column), (maskWindowNode, row, column),
        ]
    }

    /// The frame refine graph's window of xf: maskSearchWindow x maskSearchWindow from (row, column).
    static let maskWindowNode = "mask_model.mask.search_window"

    /// Points an executor of a refine graph at another cell without rebuilding anything.
    public static func moveRefine(_ executor: Executor, row: Int, column: Int) throws {
        guard (0..<scoreSize).contains(row), (0..<scoreSize).contains(column) else {
            throw GraphError.shapeMismatch(
                node: "refine", detail: "position (\(row),\(column)) is outside the \(scoreSize)x\(scoreSize) score map"
            )
        }
        let nodes = Set(executor.graph.nodes.map(\.name))
        for o in refineWindowOrigins(row: row, column: column) where nodes.contains(o.node) {
            try executor.setWindowOrigin(o.node, top: o.top, left: o.left)
        }
    }

    /// The refine module at cell (row, column) of the 25x25 score map: zero-padded windows of F0, F1, F2 over the
    /// same 127x127 sub-window of the search crop, and the correlation vector at the cell.
    public func refineGraph(row: Int, column: Int) throws -> Graph {
        try refineGraph(row: row, column: column, maskBranch: false)
    }

    /// The refine graph a tracking frame runs, paired with `frameSearchGraph`: inputs f0, f1, f2, xf and kernel_mask;
    /// the mask branch's conv_search and correlation run on the xf window of the cell only, giving the same
    /// correlation vector as `refineGraph` reads from the whole map (bit for bit in int8; in float32 up to rounding,
    /// since the Winograd tiles of a window fall on a different grid).
    public func frameRefineGraph(row: Int, column: Int) throws -> Graph {
        try refineGraph(row: row, column: column, maskBranch: true)
    }

    private func refineGraph(row: Int, column: Int, maskBranch: Bool) throws -> Graph {
        guard (0..<Self.scoreSize).contains(row), (0..<Self.scoreSize).contains(column) else {
            throw GraphError.shapeMismatch(
                node: "refine",
                detail: "position (\(row),\(column)) is outside the \(Self.scoreSize)x\(Self.scoreSize) score map")
        }
        var g = GraphBuilder()
        let shapes = searchFeatureShapes
        let f0 = g.input("f0", shapes["f0"]!), f1 = g.input("f1", shapes["f1"]!), f2 = g.input("f2", shapes["f2"]!)
        let r = "refine_model."
        let o = Self.refineWindowOrigins(row: row, column: column)
        let corr = maskBranch ? nil : g.input("corr", shapes["corr"]!)
        let xf = maskBranch ? g.input("xf", shapes["xf"]!) : nil
        let kernel = maskBranch ? g.input(Self.kernelInputNames[2], kernelShape) : nil
        let q0 = try g.window(o[0].node, f0, top: o[0].top, left: o[0].left, height: 61, width: 61)
        let q1 = try g.window(o[1].node, f1, top: o[1].top, left: o[1].left, height: 31, width: 31)
        let q2 = try g.window(o[2].node, f2, top: o[2].top, left: o[2].left, height: 15, width: 15)
        let q3: ValueID
        if let xf, let kernel {
            let side = Self.maskSearchWindow
            let window = try g.window(Self.maskWindowNode, xf, top: row, left: column, height: side, width: side)
            q3 = try correlation(&g, Self.correlationBlocks[2], zf: nil, kernel: kernel, xf: window)   // C x 1 x 1
        } else {
            q3 = try g.window(o[3].node, corr!, top: o[3].top, left: o[3].left, height: 1, width: 1)
        }

        func pair(_ name: String, _ x: ValueID) throws -> ValueID {
            let a = try g.conv2d(r + name + ".0", x, conv(r + name + ".0"), padding: 1, relu: true)
            return try g.conv2d(r + name + ".2", a, conv(r + name + ".2"), padding: 1, relu: true)
        }
        var u = try g.convTranspose2d(r + "deconv", q3, deconv)   // C2 x 15 x 15
        u = try g.add(r + "merge2", try pair("h2", u), try pair("v2", q2))
        u = try g.resizeNearest(r + "up31", u, height: 31, width: 31)
        u = try g.conv2d(r + "post0", u, conv(r + "post0"), padding: 1, relu: false)   // C1 x 31 x 31
        u = try g.add(r + "merge1", try pair("h1", u), try pair("v1", q1))
        u = try g.resizeNearest(r + "up61", u, height: 61, width: 61)
        u = try g.conv2d(r + "post1", u, conv(r + "post1"), padding: 1, relu: false)   // C0 x 61 x 61
        u = try g.add(r + "merge0", try pair("h0", u), try pair("v0", q0))
        u = try g.resizeNearest(r + "up127", u, height: 127, width: 127)
        g.output("mask", try g.conv2d(r + "post2", u, conv(r + "post2"), padding: 1, relu: false))
        return g.build()
    }
}
