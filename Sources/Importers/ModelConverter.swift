import Foundation
import ModelFormat
import SiamMaskLayout
import Tensors

public struct ConversionOptions: Sendable {
    public var canonicalization: CanonicalizationOptions
    public var defaultPreset: String
    public init(canonicalization: CanonicalizationOptions = .init(), defaultPreset: String = "vot") {
        self.canonicalization = canonicalization
        self.defaultPreset = defaultPreset
    }
}

public struct ConversionResult: Sendable {
    public var model: SiamMaskModel
    public var sourceDescription: String
    public var warnings: [String]
}

public enum ConversionError: Error, Equatable, CustomStringConvertible {
    case noSources
    case unreadable(String, String)
    case unrecognisedFormat(String)
    case mixedSources
    case severalCheckpoints

    public var description: String {
        switch self {
        case .noSources: return "no source files given"
        case .unreadable(let p, let why): return "cannot read \(p): \(why)"
        case .unrecognisedFormat(let p): return "\(p) is neither a PyTorch checkpoint (zip or legacy) nor an ONNX model"
        case .mixedSources: return "give either one PyTorch checkpoint or ONNX files, not both"
        case .severalCheckpoints: return "give one PyTorch checkpoint (it holds the whole model)"
        }
    }
}

/// Detects each source's format and produces the canonical model: PyTorch checkpoints map by name and are
/// checked against the architecture; ONNX files map by name or by structure. BN is folded once, here.
public enum ModelConverter {
    public enum SourceFormat: String, Sendable {
        case pytorchZip = "pytorch-zip", pytorchLegacy = "pytorch-legacy", onnx
    }

    public static func detectFormat(_ url: URL) throws -> SourceFormat {
        guard let handle = FileHandle(forReadingAtPath: url.path) else {
            throw ConversionError.unreadable(url.path, "no such file or not readable")
        }
        defer { try? handle.close() }
        let head = [UInt8](handle.readData(ofLength: 16))
        if head.count >= 4, head[0] == 0x50, head[1] == 0x4B, head[2] == 0x03, head[3] == 0x04 { return .pytorchZip }
        // Legacy torch.save starts with a pickled long (the magic number): PROTO 2 then LONG1.
        if head.count >= 3, head[0] == 0x80, head[2] == 0x8A { return .pytorchLegacy }
        // An ONNX ModelProto starts with a field tag; ir_version (field 1, varint) comes first in every exporter.
        if head.count >= 2, head[0] == 0x08 || url.pathExtension.lowercased() == "onnx" { return .onnx }
        throw ConversionError.unrecognisedFormat(url.path)
    }

    public static func convert(_ urls: [URL], options: ConversionOptions = .init()) throws -> ConversionResult {
        guard !urls.isEmpty else { throw ConversionError.noSources }
        let formats = try urls.map(detectFormat)
        var provenance: [String: String] = ["converter": "siammask convert"]
        provenance["sources"] = urls.map(\.lastPathComponent).joined(separator: ",")
        provenance["source_formats"] = formats.map(\.rawValue).joined(separator: ",")
        let weights: CanonicalWeights
        var warnings: [String] = []
        if formats.allSatisfy({ $0 == .onnx }) {
            let imported = try ONNXImporter.importWeights(from: urls, options: ONNXImportOptions())
            weights = imported.weights
        } else {
            guard formats.allSatisfy({ $0 != .onnx }) else { throw ConversionError.mixedSources }
            guard urls.count == 1 else { throw ConversionError.severalCheckpoints }
            let checkpoint = try PyTorchCheckpoint.read(contentsOf: urls[0])
            warnings += checkpoint.warnings
            weights = try Canonicalizer.canonicalize(stateDict: checkpoint.stateDict, options: options.canonicalization)
        }
        let model = SiamMaskModel(weights: weights, defaultPreset: options.defaultPreset, provenance: provenance)
        return ConversionResult(
            model: model, sourceDescription: urls.map(\.lastPathComponent).joined(separator: ", "),
            warnings: warnings)
    }
}
