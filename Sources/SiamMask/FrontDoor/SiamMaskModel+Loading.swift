import Foundation
import ModelFormat
import SiamMaskLayout

extension SiamMaskModel {
    /// Reads a `.siam` file (float32, int8 or mixed) and validates it against the architecture: every untrusted
    /// offset, size and checksum of the file, then the metadata, tensor names, shapes and quantisation parameters.
    public init(contentsOf url: URL) throws {
        try self.init(siamFile: SiamFileReader.read(contentsOf: url))
    }

    /// A tracker for one target. Builds the network's weights for this tracker; to run several trackers on one
    /// model, build a `SiamMaskNetwork(model:)` once and call its `makeTracker`.
    public func makeTracker(preset: TrackerPreset = .auto, threads: Int = 1) throws -> SiamMaskTracker {
        try SiamMaskNetwork(model: self).makeTracker(preset: preset, threads: threads)
    }
}

extension SiamMaskNetwork {
    /// Reads, validates and builds a `.siam` model in one step.
    public convenience init(contentsOf url: URL) throws {
        try self.init(model: SiamMaskModel(contentsOf: url))
    }

    /// A tracker for one target on this network (an int8 model runs its per-frame graphs in int8).
    /// - Parameter davisProtocol: resolves `.auto` as for a DAVIS sequence (see `TrackerPreset.auto`).
    public func makeTracker(
        preset: TrackerPreset = .auto, threads: Int = 1, davisProtocol: Bool = false
    ) throws -> SiamMaskTracker {
        try SiamMaskTracker(
            network: self, preset: preset.resolved(for: model, davisProtocol: davisProtocol), threads: threads)
    }
}
