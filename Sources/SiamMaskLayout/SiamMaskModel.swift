import ModelFormat
import Tensors

/// A siammask_sharp model as stored in a `.siam` file: canonical weights plus typed metadata
/// (architecture, widths, tracker presets, anchors, provenance). See Schemas/siam-format.md for the keys.
public struct SiamMaskModel: Sendable, Equatable {
    public static let architecture = "siammask_sharp"

    public var weights: CanonicalWeights
    public var presets: [String: TrackerHyperParameters]
    public var defaultPreset: String
    public var anchors: AnchorConfig
    /// Free-form provenance: source files, their formats, the converter version.
    public var provenance: [String: String]

    public var widths: SiamMaskWidths { weights.widths }

    public init(weights: CanonicalWeights, presets: [String: TrackerHyperParameters] = ["vot": .vot, "davis": .davis],
                defaultPreset: String = "vot", anchors: AnchorConfig = .official, provenance: [String: String] = [:]) {
        self.weights = weights
        self.presets = presets
        self.defaultPreset = defaultPreset
        self.anchors = anchors
        self.provenance = provenance
    }

    public func siamFile() -> SiamFile {
        var m: [String: MetadataValue] = [:]
        m["model.architecture"] = .string(SiamMaskModel.architecture)
        m["model.precision"] = .string("float32")
        m["model.batchnorm"] = .string("folded")
        let w = widths
        m["model.widths.stem"] = .int(Int64(w.stem))
        m["model.widths.planes"] = .ints(w.planes.map(Int64.init))
        m["model.widths.adjust"] = .int(Int64(w.adjust))
        m["model.widths.correlation"] = .int(Int64(w.correlation))
        m["model.widths.refine_v0"] = .ints(w.refineV0.map(Int64.init))
        m["model.widths.refine_v1"] = .ints(w.refineV1.map(Int64.init))
        m["model.widths.refine_v2"] = .ints(w.refineV2.map(Int64.init))
        m["tracker.presets"] = .strings(presets.keys.sorted())
        m["tracker.default_preset"] = .string(defaultPreset)
        for (name, p) in presets {
            let k = "tracker.\(name)."
            m[k + "penalty_k"] = .double(p.penaltyK)
            m[k + "window_influence"] = .double(p.windowInfluence)
            m[k + "lr"] = .double(p.learningRate)
            m[k + "seg_thr"] = .double(p.segmentationThreshold)
            m[k + "exemplar_size"] = .int(Int64(p.exemplarSize))
            m[k + "instance_size"] = .int(Int64(p.instanceSize))
            m[k + "base_size"] = .int(Int64(p.baseSize))
            m[k + "out_size"] = .int(Int64(p.outSize))
            m[k + "context_amount"] = .double(p.contextAmount)
        }
        m["anchors.stride"] = .int(Int64(anchors.stride))
        m["anchors.ratios"] = .doubles(anchors.ratios)
        m["anchors.scales"] = .doubles(anchors.scales)
        for (k, v) in provenance { m["provenance." + k] = .string(v) }
        let tensors = weights.tensors.map { NamedTensor(name: $0.name, tensor: $0.tensor, quantization: nil) }
        return SiamFile(metadata: m, tensors: tensors)
    }

    /// Reads and validates the metadata and tensors of a `.siam` file against the architecture.
    public init(siamFile file: SiamFile) throws {
        let m = file.metadata
        func string(_ k: String) throws -> String {
            guard case .string(let s)? = m[k] else { throw ModelError.missingMetadata(k) }
            return s
        }
        func int(_ k: String) throws -> Int {
            guard case .int(let v)? = m[k], v > 0, v <= 1 << 20 else { throw ModelError.missingMetadata(k) }
            return Int(v)
        }
        func ints(_ k: String, count: Int) throws -> [Int] {
            guard case .ints(let v)? = m[k], v.count == count, v.allSatisfy({ $0 > 0 && $0 <= 1 << 20 }) else {
                throw ModelError.missingMetadata(k)
            }
            return v.map { Int($0) }
        }
        func double(_ k: String) throws -> Double {
            guard case .double(let v)? = m[k], v.isFinite else { throw ModelError.missingMetadata(k) }
            return v
        }
        func doubles(_ k: String) throws -> [Double] {
            guard case .doubles(let v)? = m[k], !v.isEmpty, v.allSatisfy({ $0.isFinite && $0 > 0 }) else { throw ModelError.missingMetadata(k) }
            return v
        }
        let arch = try string("model.architecture")
        guard arch == SiamMaskModel.architecture else { throw ModelError.unsupportedArchitecture(arch) }
        let precision = try string("model.precision")
        guard precision == "float32" else { throw ModelError.unsupportedPrecision(precision) }
        let widths = SiamMaskWidths(stem: try int("model.widths.stem"), planes: try ints("model.widths.planes", count: 3),
                                    adjust: try int("model.widths.adjust"), correlation: try int("model.widths.correlation"),
                                    refineV0: try ints("model.widths.refine_v0", count: 2),
                                    refineV1: try ints("model.widths.refine_v1", count: 2),
                                    refineV2: try ints("model.widths.refine_v2", count: 2))
        var presets: [String: TrackerHyperParameters] = [:]
        guard case .strings(let names)? = m["tracker.presets"], !names.isEmpty else { throw ModelError.missingMetadata("tracker.presets") }
        for name in names {
            let k = "tracker.\(name)."
            presets[name] = TrackerHyperParameters(
                penaltyK: try double(k + "penalty_k"), windowInfluence: try double(k + "window_influence"),
                learningRate: try double(k + "lr"), segmentationThreshold: try double(k + "seg_thr"),
                exemplarSize: try int(k + "exemplar_size"), instanceSize: try int(k + "instance_size"),
                baseSize: try int(k + "base_size"), outSize: try int(k + "out_size"), contextAmount: try double(k + "context_amount"))
        }
        let defaultPreset = try string("tracker.default_preset")
        guard presets[defaultPreset] != nil else { throw ModelError.missingMetadata("tracker.\(defaultPreset).*") }
        let anchors = AnchorConfig(stride: try int("anchors.stride"), ratios: try doubles("anchors.ratios"), scales: try doubles("anchors.scales"))
        var provenance: [String: String] = [:]
        for (k, v) in m where k.hasPrefix("provenance.") {
            if case .string(let s) = v { provenance[String(k.dropFirst("provenance.".count))] = s }
        }
        var byName: [String: Tensor] = [:]
        for t in file.tensors {
            guard t.quantization == nil else { throw ModelError.unsupportedPrecision("quantised tensor \(t.name)") }
            byName[t.name] = t.tensor
        }
        let layers = SiamMaskLayers(widths: widths)
        let expected = Set(layers.canonicalTensors.map(\.name))
        if let extra = file.tensors.first(where: { !expected.contains($0.name) }) { throw LayoutError.unexpectedKey(extra.name) }
        let weights = try Canonicalizer.validateFolded(byName, widths: widths)
        self.init(weights: weights, presets: presets, defaultPreset: defaultPreset, anchors: anchors, provenance: provenance)
    }
}

public enum ModelError: Error, Equatable, CustomStringConvertible {
    case missingMetadata(String)
    case unsupportedArchitecture(String)
    case unsupportedPrecision(String)

    public var description: String {
        switch self {
        case .missingMetadata(let k): return "model file metadata '\(k)' is missing or invalid"
        case .unsupportedArchitecture(let a): return "model architecture '\(a)' is not supported (expected \(SiamMaskModel.architecture))"
        case .unsupportedPrecision(let p): return "model precision '\(p)' is not supported by this version"
        }
    }
}
