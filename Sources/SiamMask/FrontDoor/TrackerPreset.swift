import SiamMaskLayout

/// Which tracker hyper-parameters to run: a preset stored in the model file, the `auto` choice, or custom values.
public enum TrackerPreset: Equatable, Sendable {
    /// `davis` for sequences scored by the DAVIS protocol (mask ground truth), otherwise the model's default preset.
    case auto
    /// The model's `vot` preset (config_vot.json of the official code).
    case vot
    /// The model's `davis` preset (config_davis.json, the official demo).
    case davis
    /// Any other preset the model file stores, by name.
    case named(String)
    /// Hyper-parameters given by the caller (reported as `custom`).
    case custom(TrackerHyperParameters)

    /// "auto", "vot", "davis" or another stored preset's name, as the command line spells them.
    public init(_ name: String) {
        switch name {
        case "auto": self = .auto
        case "vot": self = .vot
        case "davis": self = .davis
        default: self = .named(name)
        }
    }

    /// The preset this choice runs with `model`: the one place the `auto` rule is written.
    /// - Parameter davisProtocol: the sequence is scored the DAVIS way (first-frame mask, mask ground truth).
    public func name(for model: SiamMaskModel, davisProtocol: Bool = false) -> String {
        switch self {
        case .auto: return davisProtocol ? "davis" : model.defaultPreset
        case .vot: return "vot"
        case .davis: return "davis"
        case .named(let n): return n
        case .custom: return "custom"
        }
    }

    /// The name and hyper-parameters this choice runs with `model`; an error names the presets the model has.
    public func resolved(for model: SiamMaskModel, davisProtocol: Bool = false) throws -> ResolvedTrackerPreset {
        if case .custom(let p) = self { return ResolvedTrackerPreset(name: "custom", parameters: p) }
        let n = name(for: model, davisProtocol: davisProtocol)
        guard let p = model.presets[n] else {
            throw TrackerError.unknownPreset(n, available: model.presets.keys.sorted())
        }
        return ResolvedTrackerPreset(name: n, parameters: p)
    }
}

/// A preset choice made concrete for one model (and sequence): its name for reports, and its values.
public struct ResolvedTrackerPreset: Equatable, Sendable {
    public var name: String
    public var parameters: TrackerHyperParameters

    public init(name: String, parameters: TrackerHyperParameters) {
        self.name = name
        self.parameters = parameters
    }
}
