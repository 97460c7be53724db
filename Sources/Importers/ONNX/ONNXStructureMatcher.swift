import SiamMaskLayout

/// How a layer of an ONNX file was identified as a canonical convolution.
public enum ONNXMatchMethod: String, Sendable, Equatable {
    /// Its weight's initializer kept the official state-dict name.
    case name = "by name"
    /// Its place in the data flow of the graph identified it.
    case structure = "by structure"
}

/// Identifies each convolution of one ONNX graph as a canonical SiamMask module, by the data flow of the graph:
///
/// 1. Correlation blocks: every Conv whose weight is computed at run time is a depth-wise correlation. The
///    convolution feeding its weight (kernel) side is that block's `conv_kernel.0`, the one feeding its data (search)
///    side `conv_search.0`. The single convolution reading the correlation is `head.0`, the one reading `head.0` is
///    `head.3`, and head.3's output count names the block: 10 (2 x 5 anchors) `rpn_model.cls`, 20 `rpn_model.loc`,
///    3969 `mask_model.mask`. A correlation that no head reads is the mask branch (its output is `corr`).
/// 2. Refine: from each ConvTranspose (`refine_model.deconv`), the chain deconv -> h2.0 -> h2.2 -> post0 -> h1.0 ->
///    h1.2 -> post1 -> h0.0 -> h0.2 -> post2; each post conv also reads v*.2, which reads v*.0.
/// 3. Backbone: from each 7x7 convolution over 3 channels (the stem), bottleneck by bottleneck: the convolutions
///    reading exactly the current residual stream are the block's conv1 (and, in a stage's first block, its
///    downsample.0, told apart because only conv1 feeds a single-input chain conv2 -> conv3). After layer3's last
///    block, the convolution reading the stream is the adjust layer.
///
/// "Reading" means: the nearest convolutions upstream of a convolution's data input, through any other operators
/// (ReLU, BatchNormalization, Add, pooling, padding, slicing, reshaping, resizing). Graph order is never used, so
/// exporters that emit a bottleneck's shortcut before its main branch, or the refine chain in any order, still match.
/// Shapes are checked afterwards, against the widths inferred from all files together.
struct ONNXStructureMatcher {
    let analysis: ONNXGraphAnalysis
    private(set) var assignment: [Int: String] = [:]
    private var file: String { analysis.file }
    private var layers: [ONNXConvLayer] { analysis.layers }

    init(analysis: ONNXGraphAnalysis) {
        self.analysis = analysis
    }

    /// The module of every layer, when every layer's weight carries an official name; nil otherwise.
    static func byName(_ analysis: ONNXGraphAnalysis) -> [Int: String]? {
        guard !analysis.layers.isEmpty else { return nil }
        var result: [Int: String] = [:]
        for (i, layer) in analysis.layers.enumerated() {
            guard let module = layer.namedModule else { return nil }
            result[i] = module
        }
        return result
    }

    /// Walks the graph and assigns a module to every layer, or throws naming the node that does not fit.
    static func byStructure(_ analysis: ONNXGraphAnalysis) throws -> [Int: String] {
        var matcher = ONNXStructureMatcher(analysis: analysis)
        try matcher.matchCorrelations()
        try matcher.matchRefine()
        try matcher.matchBackbones()
        for (i, layer) in analysis.layers.enumerated() where matcher.assignment[i] == nil {
            throw ONNXImportError.unmatchedConvolution(
                file: analysis.file, node: layer.node.reference,
                weightShape: layer.weight.dims)
        }
        return matcher.assignment
    }

    // MARK: - Helpers

    private mutating func assign(_ layer: Int, _ module: String) throws {
        if let previous = assignment[layer], previous != module {
            throw ONNXImportError.structureNotRecognized(
                file: file, node: layers[layer].node.reference,
                detail: "sits where the graph has both \(previous) and \(module)")
        }
        assignment[layer] = module
    }

    /// Unassigned layers whose data input comes from exactly `origins`.
    private func readers(of origins: Set<ONNXOrigin>, transposed: Bool = false) -> [Int] {
        layers.indices.filter {
            assignment[$0] == nil && layers[$0].transposed == transposed && layers[$0].predecessors == origins
        }
    }

    private func single(_ candidates: [Int], after anchor: ONNXNodeReference, expecting what: String) throws -> Int {
        guard candidates.count == 1 else {
            let found =
                candidates.isEmpty
                ? "none" : candidates.map { layers[$0].node.reference.description }.joined(separator: ", ")
            throw ONNXImportError.structureNotRecognized(
                file: file, node: anchor,
                detail: "expected exactly one convolution (\(what)) reading its output, found \(found)")
        }
        return candidates[0]
    }

    /// The one layer a correlation side comes from; nil when that side comes only from graph inputs.
    private func sideLayer(_ origins: Set<ONNXOrigin>, side: String, of node: ONNXNode) throws -> Int? {
        var layer: Int?
        for origin in origins {
            switch origin {
            case .input: continue
            case .layer(let l) where layer == nil: layer = l
            default:
                throw ONNXImportError.structureNotRecognized(
                    file: file, node: node.reference,
                    detail: "the \(side) side of this depth-wise correlation does not come from one convolution")
            }
        }
        if layer != nil, origins.count > 1 {
            throw ONNXImportError.structureNotRecognized(
                file: file, node: node.reference,
                detail: "the \(side) side of this depth-wise correlation mixes a convolution with graph inputs")
        }
        return layer
    }

    // MARK: - Correlation blocks

    private mutating func matchCorrelations() throws {
        var headless: [ONNXNode] = []
        for (index, correlation) in analysis.correlations.enumerated() {
            let kernel = try sideLayer(correlation.kernel, side: "kernel (template)", of: correlation.node)
            let search = try sideLayer(correlation.search, side: "search", of: correlation.node)
            let heads = readers(of: [.correlation(index)])
            let block: String
            var head: (Int, Int)?
            switch heads.count {
            case 0:
                block = "mask_model.mask"
                headless.append(correlation.node)
            case 1:
                let head3 = try single(
                    readers(of: [.layer(heads[0])]), after: layers[heads[0]].node.reference,
                    expecting: "the correlation head's final 1x1 convolution")
                let outputs = layers[head3].outChannels
                switch outputs {
                case 2 * SiamMaskWidths.anchorCount: block = "rpn_model.cls"
                case 4 * SiamMaskWidths.anchorCount: block = "rpn_model.loc"
                case SiamMaskWidths.maskHeadChannels: block = "mask_model.mask"
                default:
                    throw ONNXImportError.structureNotRecognized(
                        file: file, node: layers[head3].node.reference,
                        detail:
                            "a correlation head with \(outputs) outputs matches none of cls (10), loc (20), mask (3969)"
                    )
                }
                head = (heads[0], head3)
            default:
                throw ONNXImportError.structureNotRecognized(
                    file: file, node: correlation.node.reference,
                    detail: "\(heads.count) convolutions read this depth-wise correlation, a SiamMask head has one")
            }
            if let kernel { try assign(kernel, block + ".conv_kernel.0") }
            if let search { try assign(search, block + ".conv_search.0") }
            if let (h0, h3) = head {
                try assign(h0, block + ".head.0")
                try assign(h3, block + ".head.3")
            }
        }
        if headless.count > 1 {
            throw ONNXImportError.structureNotRecognized(
                file: file, node: headless[1].reference,
                detail: "\(headless.count) depth-wise correlations have no head; only the mask branch's may lack one")
        }
    }

    // MARK: - Refine

    private mutating func matchRefine() throws {
        for deconv in layers.indices where layers[deconv].transposed && assignment[deconv] == nil {
            try assign(deconv, "refine_model.deconv")
            var current = deconv
            for (h, v, post) in [("h2", "v2", "post0"), ("h1", "v1", "post1"), ("h0", "v0", "post2")] {
                let anchor = layers[current].node.reference
                let h0 = try single(readers(of: [.layer(current)]), after: anchor, expecting: "refine_model.\(h).0")
                let h2 = try single(
                    readers(of: [.layer(h0)]), after: layers[h0].node.reference, expecting: "refine_model.\(h).2")
                let posts = layers.indices.filter {
                    assignment[$0] == nil && !layers[$0].transposed && layers[$0].predecessors.count == 2
                        && layers[$0].predecessors.contains(.layer(h2))
                }
                let p = try single(
                    posts, after: layers[h2].node.reference, expecting: "refine_model.\(post), reading \(h) + \(v)")
                guard case .layer(let v2)? = layers[p].predecessors.subtracting([.layer(h2)]).first,
                    assignment[v2] == nil,
                    layers[v2].predecessors.count == 1, case .layer(let v0)? = layers[v2].predecessors.first,
                    assignment[v0] == nil
                else {
                    throw ONNXImportError.structureNotRecognized(
                        file: file, node: layers[p].node.reference,
                        detail:
                            "refine_model.\(post) should read the sum of \(h).2 and \(v).2, and \(v).2 should read \(v).0"
                    )
                }
                try assign(h0, "refine_model.\(h).0")
                try assign(h2, "refine_model.\(h).2")
                try assign(v0, "refine_model.\(v).0")
                try assign(v2, "refine_model.\(v).2")
                try assign(p, "refine_model.\(post)")
                current = p
            }
        }
    }

    // MARK: - Backbone and adjust

    private mutating func matchBackbones() throws {
        let stems = layers.indices.filter {
            assignment[$0] == nil && !layers[$0].transposed && layers[$0].kernel == (7, 7) && layers[$0].inChannels == 3
        }
        let b = "features.features."
        for stem in stems {
            try assign(stem, b + "conv1")
            var stream: Set<ONNXOrigin> = [.layer(stem)]
            var anchor = layers[stem].node.reference
            walk: for (stage, blocks) in SiamMaskWidths.blocks.enumerated() {
                for block in 0..<blocks {
                    let prefix = b + "layer\(stage + 1).\(block)."
                    let candidates = readers(of: stream)
                    if candidates.isEmpty { break walk }   // the graph ends here (checked later against what is needed)
                    let conv1: Int
                    var downsample: Int?
                    if block == 0 {
                        guard candidates.count == 2 else {
                            throw ONNXImportError.structureNotRecognized(
                                file: file, node: anchor,
                                detail:
                                    "expected the two convolutions of \(prefix)conv1 and \(prefix)downsample.0 to read "
                                    + "its output, found \(candidates.count)")
                        }
                        // conv1 starts a chain: some convolution reads conv1's output and nothing else.
                        let startsChain = candidates.map { !readers(of: [.layer($0)]).isEmpty }
                        guard startsChain[0] != startsChain[1] else {
                            throw ONNXImportError.structureNotRecognized(
                                file: file, node: layers[candidates[0]].node.reference,
                                detail: "cannot tell \(prefix)conv1 from \(prefix)downsample.0")
                        }
                        conv1 = startsChain[0] ? candidates[0] : candidates[1]
                        downsample = startsChain[0] ? candidates[1] : candidates[0]
                    } else {
                        conv1 = try single(candidates, after: anchor, expecting: prefix + "conv1")
                    }
                    let conv2 = try single(
                        readers(of: [.layer(conv1)]), after: layers[conv1].node.reference, expecting: prefix + "conv2")
                    let conv3 = try single(
                        readers(of: [.layer(conv2)]), after: layers[conv2].node.reference, expecting: prefix + "conv3")
                    try assign(conv1, prefix + "conv1")
                    try assign(conv2, prefix + "conv2")
                    try assign(conv3, prefix + "conv3")
                    if let downsample {
                        try assign(downsample, prefix + "downsample.0")
                        stream = [.layer(conv3), .layer(downsample)]
                    } else {
                        stream.insert(.layer(conv3))
                    }
                    anchor = layers[conv3].node.reference
                    if stage == 2 && block == blocks - 1 {
                        let adjust = readers(of: stream)
                        if adjust.count > 1 {
                            throw ONNXImportError.structureNotRecognized(
                                file: file, node: anchor,
                                detail:
                                    "\(adjust.count) convolutions read layer3's output; SiamMask has one (the adjust layer)"
                            )
                        }
                        if let a = adjust.first { try assign(a, "features.downsample.downsample.0") }
                    }
                }
            }
        }
    }
}
