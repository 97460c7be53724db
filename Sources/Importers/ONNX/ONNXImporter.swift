import Foundation
import SiamMaskLayout
import Tensors

public struct ONNXImportOptions: Sendable {
    public enum Matching: Sendable, Equatable {
        /// By name for a file whose every convolution weight kept its official name, by structure otherwise.
        case automatic
        /// Only by name: a file with an anonymous convolution weight is an error.
        case nameOnly
        /// Only by structure, ignoring names (names that contradict the structure are still reported).
        case structureOnly
    }

    public var matching: Matching
    public var limits: ONNXReadLimits
    /// Largest relative difference allowed between copies of one weight found in several places (files, or graphs
    /// that fold batch-norm differently). 1e-6: exporters fold BN in float32 (a few ulp, ~3e-7 relative) while we fold
    /// in double; anything larger means the copies are different weights.
    public var agreementTolerance: Double

    public init(matching: Matching = .automatic, limits: ONNXReadLimits = .init(), agreementTolerance: Double = 1e-6) {
        self.matching = matching
        self.limits = limits
        self.agreementTolerance = agreementTolerance
    }
}

/// Where one canonical tensor came from.
public struct ONNXTensorSource: Sendable, Equatable {
    public enum BatchNorm: String, Sendable, Equatable {
        case none = "no batch-norm"
        case foldedByExporter = "batch-norm folded by the exporter"
        case foldedByImporter = "batch-norm folded by the importer"
    }

    /// Canonical tensor name (`<module>.weight` or `<module>.bias`).
    public var tensor: String
    public var file: String
    public var node: ONNXNodeReference
    public var match: ONNXMatchMethod
    public var batchNorm: BatchNorm
    /// Other places (file: node) that held the same weight and agreed with this one.
    public var duplicates: [String]
}

public struct ONNXImportResult: Sendable {
    public var weights: CanonicalWeights
    /// One entry per canonical tensor, in canonical order.
    public var sources: [ONNXTensorSource]
    /// Modules found and checked but not kept (the 3969-channel mask head, unused by the sharp tracker).
    public var ignoredModules: [String]
    public var files: [String]

    /// A human-readable table: one line per canonical tensor.
    public var report: String {
        var lines = [
            "ONNX import from \(files.joined(separator: ", ")): \(weights.tensors.count) canonical tensors, widths \(weights.widths)"
        ]
        for s in sources {
            let extra = s.duplicates.isEmpty ? "" : "; agrees with \(s.duplicates.joined(separator: ", "))"
            lines.append("\(s.tensor) <- \(s.file) \(s.node) \(s.match.rawValue), \(s.batchNorm.rawValue)\(extra)")
        }
        if !ignoredModules.isEmpty { lines.append("found but not needed: \(ignoredModules.joined(separator: ", "))") }
        return lines.joined(separator: "\n")
    }
}

/// Maps one or more ONNX exports of siammask_sharp (e.g. separate template, search and refine graphs) to canonical
/// weights: by name where the exporter kept the official names, by the graph's structure otherwise; batch-norm
/// folded by us where the graph keeps BatchNormalization nodes, taken as folded where the exporter did it.
public enum ONNXImporter {
    public static func importWeights(from urls: [URL], options: ONNXImportOptions = .init()) throws -> ONNXImportResult
    {
        guard !urls.isEmpty else { throw ONNXImportError.noFiles }
        var found: [FoundConvolution] = []
        for url in urls {
            let model = try ONNXModel.read(contentsOf: url, limits: options.limits)
            found += try convolutions(in: model, file: url.lastPathComponent, options: options)
        }
        return try assemble(found, files: urls.map(\.lastPathComponent), options: options)
    }

    /// The same from ONNX files held in memory, each with a display name.
    public static func importWeights(
        from sources: [(file: String, bytes: [UInt8])],
        options: ONNXImportOptions = .init()
    ) throws -> ONNXImportResult {
        guard !sources.isEmpty else { throw ONNXImportError.noFiles }
        var found: [FoundConvolution] = []
        for source in sources {
            let model = try ONNXModel.decode(source.bytes, file: source.file, limits: options.limits)
            found += try convolutions(in: model, file: source.file, options: options)
        }
        return try assemble(found, files: sources.map(\.file), options: options)
    }

    /// The same from already decoded models.
    public static func importWeights(
        from models: [(file: String, model: ONNXModel)],
        options: ONNXImportOptions = .init()
    ) throws -> ONNXImportResult {
        guard !models.isEmpty else { throw ONNXImportError.noFiles }
        var found: [FoundConvolution] = []
        for m in models { found += try convolutions(in: m.model, file: m.file, options: options) }
        return try assemble(found, files: models.map(\.file), options: options)
    }

    /// Largest elementwise |a - b| / max(|a|, |b|, rms), where rms is the root mean square of `a`: elements far
    /// below the tensor's typical magnitude (a folded bias that nearly cancels) are compared at that magnitude.
    public static func maxRelativeDifference(_ a: [Float], _ b: [Float]) -> Double {
        guard a.count == b.count else { return .infinity }
        guard !a.isEmpty else { return 0 }
        var sumSquares = 0.0
        for x in a { sumSquares += Double(x) * Double(x) }
        let rms = (sumSquares / Double(a.count)).squareRoot()
        var worst = 0.0
        for i in a.indices {
            let x = Double(a[i]), y = Double(b[i])
            if x == y { continue }
            if !x.isFinite || !y.isFinite { return .infinity }
            let scale = max(abs(x), abs(y), rms)
            worst = max(worst, scale > 0 ? abs(x - y) / scale : .infinity)
        }
        return worst
    }

    // MARK: - One file

    /// A convolution of one file identified as a canonical module, with its data read out.
    struct FoundConvolution {
        let file: String
        let layer: ONNXConvLayer
        let module: String
        let match: ONNXMatchMethod
        let weight: [Float]
        let bias: [Float]?
        var node: ONNXNodeReference { layer.node.reference }
        var place: String { "\(file) \(node)" }
    }

    static func convolutions(in model: ONNXModel, file: String, options: ONNXImportOptions) throws -> [FoundConvolution]
    {
        let analysis = try ONNXGraphAnalysis(model: model, file: file)
        var modules: [Int: String]
        var method: (Int) -> ONNXMatchMethod = { _ in .name }
        let named = ONNXStructureMatcher.byName(analysis)
        switch options.matching {
        case .nameOnly:
            guard let named else {
                let anonymous = analysis.layers.first { $0.namedModule == nil }
                if let anonymous {
                    throw ONNXImportError.structureNotRecognized(
                        file: file, node: anonymous.node.reference,
                        detail: "its weight '\(anonymous.weight.name)' has no official name (name-only matching)")
                }
                return []
            }
            modules = named
        case .automatic where named != nil:
            modules = named!
        default:
            modules = try ONNXStructureMatcher.byStructure(analysis)
            for (i, layer) in analysis.layers.enumerated() {
                if let name = layer.namedModule, name != modules[i] {
                    throw ONNXImportError.nameContradictsStructure(
                        file: file, node: layer.node.reference, named: name,
                        structural: modules[i] ?? "nothing")
                }
            }
            let layers = analysis.layers
            method = { options.matching == .structureOnly || layers[$0].namedModule == nil ? .structure : .name }
        }
        var found: [FoundConvolution] = []
        for (i, layer) in analysis.layers.enumerated() {
            guard let module = modules[i] else { continue }
            found.append(
                FoundConvolution(
                    file: file, layer: layer, module: module, match: method(i),
                    weight: try layer.weight.floatValues(file: file),
                    bias: try layer.bias?.floatValues(file: file)))
        }
        return found
    }

    // MARK: - All files together

    static func assemble(
        _ found: [FoundConvolution], files: [String], options: ONNXImportOptions
    ) throws -> ONNXImportResult {
        let reference = SiamMaskLayers(widths: .official)
        var order: [String: Int] = [:]
        for (i, conv) in reference.convs.enumerated() { order[conv.module] = i }
        let sorted = found.enumerated().sorted {
            (order[$0.element.module] ?? 0, $0.offset) < (order[$1.element.module] ?? 0, $1.offset)
        }
        .map(\.element)

        // Widths: each component is voted for by every weight dimension that depends on it alone.
        let inference = WidthInference()
        var votes = [[Int: Int]](repeating: [:], count: WidthInference.componentCount)
        var firstVote = [Int: Int]()   // component -> value first voted, for ties
        for f in sorted {
            for (d, dependency) in (inference.dependencies[f.module] ?? []).enumerated() {
                guard let (component, factor) = dependency, d < f.layer.weight.dims.count else { continue }
                let actual = f.layer.weight.dims[d]
                guard actual > 0, actual % factor == 0 else { continue }
                votes[component][actual / factor, default: 0] += 1
                if firstVote[component] == nil { firstVote[component] = actual / factor }
            }
        }
        let known: [Int?] = votes.enumerated().map { component, tally in
            guard let best = tally.values.max() else { return nil }
            let winners = tally.filter { $0.value == best }.map(\.key)
            return winners.count == 1
                ? winners[0] : (winners.contains(firstVote[component]!) ? firstVote[component]! : winners.min()!)
        }

        // Every found convolution against the architecture: attributes, then every dimension whose width is known.
        for f in sorted {
            guard let conv = reference.conv(named: f.module) else { continue }
            try checkAttributes(f, against: conv)
            let expected = inference.expectedShape(f.module, known: known)
            let actual = f.layer.weight.dims
            let matches = expected.count == actual.count && zip(expected, actual).allSatisfy { $0 == -1 || $0 == $1 }
            guard matches else {
                throw ONNXImportError.shapeMismatch(
                    file: f.file, node: f.node, tensor: conv.weightKey,
                    expected: expected, actual: actual)
            }
            if let bias = f.layer.bias, bias.dims != [f.layer.outChannels] {
                throw ONNXImportError.shapeMismatch(
                    file: f.file, node: f.node, tensor: conv.biasKey,
                    expected: [f.layer.outChannels], actual: bias.dims)
            }
        }

        // Everything the canonical file needs must have been found somewhere.
        let byModule = Dictionary(grouping: sorted, by: \.module)
        let tracked = reference.trackedConvs
        let missing = tracked.filter { byModule[$0.module] == nil }.flatMap { [$0.weightKey, $0.biasKey] }
        if !missing.isEmpty { throw ONNXImportError.missingTensors(missing) }

        let components = known.map { $0 ?? 0 }
        let widths = WidthInference.widths(components)
        guard widths.isValid else { throw ONNXImportError.inconsistentWidths(detail: widths.description) }
        let layers = SiamMaskLayers(widths: widths)

        // Fold, and check that every copy of a weight agrees with the first.
        var tensors: [(name: String, tensor: Tensor)] = []
        var sources: [ONNXTensorSource] = []
        for conv in layers.trackedConvs {
            let copies = byModule[conv.module]!
            var first: (weight: Tensor, bias: Tensor, batchNorm: ONNXTensorSource.BatchNorm)?
            var duplicates: [String] = []
            for copy in copies {
                let folded = try fold(copy, conv)
                if let first {
                    for (name, a, b) in [
                        (conv.weightKey, first.weight, folded.weight), (conv.biasKey, first.bias, folded.bias),
                    ] {
                        let difference = maxRelativeDifference(a.floats, b.floats)
                        if !(difference <= options.agreementTolerance) {
                            throw ONNXImportError.conflictingWeights(
                                tensor: name, first: copies[0].place, second: copy.place,
                                maxRelativeDifference: difference)
                        }
                    }
                    duplicates.append(copy.place)
                } else {
                    first = folded
                }
            }
            let head = copies[0]
            tensors.append((conv.weightKey, first!.weight))
            tensors.append((conv.biasKey, first!.bias))
            for name in [conv.weightKey, conv.biasKey] {
                sources.append(
                    ONNXTensorSource(
                        tensor: name, file: head.file, node: head.node, match: head.match,
                        batchNorm: first!.batchNorm, duplicates: duplicates))
            }
        }
        let ignored = layers.convs.filter { $0.part == .maskHead && byModule[$0.module] != nil }.map(\.module)
        return ONNXImportResult(
            weights: CanonicalWeights(widths: widths, tensors: tensors), sources: sources,
            ignoredModules: ignored, files: files)
    }

    private static func checkAttributes(_ f: FoundConvolution, against conv: ConvLayer) throws {
        let attributes = f.layer.node.attributes
        func ints(_ name: String, default value: [Int]) throws -> [Int] {
            guard let attribute = attributes[name] else { return value }
            guard let list = attribute.intsValue else {
                throw ONNXImportError.invalidAttribute(
                    file: f.file, node: f.node, attribute: name, detail: "is not a list of ints")
            }
            return list.map { Int(clamping: $0) }
        }
        func require(_ name: String, _ expected: [Int], _ actual: [Int]) throws {
            guard expected == actual else {
                throw ONNXImportError.attributeMismatch(
                    file: f.file, node: f.node, module: conv.module, attribute: name,
                    expected: expected, actual: actual)
            }
        }
        if f.layer.transposed != conv.transposed {
            throw ONNXImportError.structureNotRecognized(
                file: f.file, node: f.node,
                detail: "\(conv.module) is a \(conv.transposed ? "ConvTranspose" : "Conv") in SiamMask")
        }
        if let autoPad = attributes["auto_pad"]?.stringValue, !["", "NOTSET"].contains(autoPad),
            !(autoPad == "VALID" && conv.padding == 0)
        {
            throw ONNXImportError.invalidAttribute(
                file: f.file, node: f.node, attribute: "auto_pad",
                detail: "is \(autoPad); only explicit pads are supported")
        }
        let k = conv.kernel, s = conv.stride, p = conv.padding, d = conv.dilation
        try require("kernel_shape", [k, k], try ints("kernel_shape", default: [k, k]))
        try require("strides", [s, s], try ints("strides", default: [1, 1]))
        try require("dilations", [d, d], try ints("dilations", default: [1, 1]))
        try require("pads", [p, p, p, p], try ints("pads", default: [0, 0, 0, 0]))
        try require("group", [1], [Int(clamping: attributes["group"]?.intValue ?? 1)])
        if conv.transposed {
            try require("output_padding", [0, 0], try ints("output_padding", default: [0, 0]))
        }
    }

    private static func fold(
        _ f: FoundConvolution, _ conv: ConvLayer
    )
        throws -> (weight: Tensor, bias: Tensor, batchNorm: ONNXTensorSource.BatchNorm)
    {
        var statistics: BatchNormStatistics?
        let kind: ONNXTensorSource.BatchNorm
        switch (conv.batchNorm != nil, f.layer.batchNorm) {
        case (true, let bn?):
            var s = bn.statistics
            // Canonicalizer folds with SiamMask's epsilon 1e-5; a graph whose BN says otherwise gets the difference
            // moved into the variance, so the fold divides by sqrt(var + its own epsilon).
            let shift = bn.epsilon - Canonicalizer.batchNormEpsilon
            if abs(shift) > 1e-12 { s.variance = s.variance.map { Float(Double($0) + shift) } }
            statistics = s
            kind = .foldedByImporter
        case (true, nil):
            guard f.bias != nil else {
                throw ONNXImportError.missingBatchNorm(file: f.file, node: f.node, module: conv.module)
            }
            kind = .foldedByExporter
        case (false, let bn?):
            throw ONNXImportError.unexpectedBatchNorm(file: f.file, node: bn.node.reference, module: conv.module)
        case (false, nil):
            kind = .none
        }
        do {
            let (w, b) = try Canonicalizer.fold(conv, weight: f.weight, bias: f.bias, batchNorm: statistics)
            return (w, b, kind)
        } catch let error as LayoutError {
            throw ONNXImportError.invalidWeights(file: f.file, node: f.node, detail: error.description)
        }
    }
}

/// How the weight shape of every convolution depends on the channel widths, found by varying one width at a time:
/// each weight dimension is either fixed (3 input colours, 10/20/3969 head outputs, kernel sizes) or a multiple of
/// exactly one width component.
struct WidthInference {
    /// stem, planes x3, adjust, correlation, refine v0 x2, v1 x2, v2 x2.
    static let componentCount = 12

    static func widths(_ c: [Int]) -> SiamMaskWidths {
        SiamMaskWidths(
            stem: c[0], planes: [c[1], c[2], c[3]], adjust: c[4], correlation: c[5],
            refineV0: [c[6], c[7]], refineV1: [c[8], c[9]], refineV2: [c[10], c[11]])
    }

    /// module -> per weight dimension: (component, factor), or nil for a fixed dimension.
    let dependencies: [String: [(Int, Int)?]]
    /// module -> weight shape with every component at 1 (the fixed dimensions are exact here).
    let unitShapes: [String: [Int]]

    init() {
        let unit = SiamMaskLayers(widths: Self.widths([Int](repeating: 1, count: Self.componentCount)))
        var dependencies: [String: [(Int, Int)?]] = [:]
        var unitShapes: [String: [Int]] = [:]
        for conv in unit.convs {
            unitShapes[conv.module] = conv.weightShape
            dependencies[conv.module] = [(Int, Int)?](repeating: nil, count: conv.weightShape.count)
        }
        for component in 0..<Self.componentCount {
            var c = [Int](repeating: 1, count: Self.componentCount)
            c[component] = 2
            for conv in SiamMaskLayers(widths: Self.widths(c)).convs {
                let base = unitShapes[conv.module]!
                for (d, value) in conv.weightShape.enumerated() where value != base[d] {
                    // Linear in the component: value(c) = factor * c.
                    dependencies[conv.module]![d] = (component, value - base[d])
                }
            }
        }
        self.dependencies = dependencies
        self.unitShapes = unitShapes
    }

    /// The weight shape of `module` with the known components; -1 where the dimension's component is unknown.
    func expectedShape(_ module: String, known: [Int?]) -> [Int] {
        guard let base = unitShapes[module], let deps = dependencies[module] else { return [] }
        return base.indices.map { d in
            guard let (component, factor) = deps[d] else { return base[d] }
            return known[component].map { $0 * factor } ?? -1
        }
    }
}
