import CImageIO
import Foundation

/// A segmentation label map: one byte a pixel, 0 = background, k = object k.
///
/// DAVIS-2017 annotations are palette PNGs whose indices are the object ids; reading them as colour or grey (as
/// `Image.read` does, like OpenCV) would give the palette colours' luminance instead. DAVIS-2016 annotations are
/// 8-bit grey 0/255 masks.
public struct LabelMap: Equatable, Sendable {
    public let width: Int
    public let height: Int
    public var labels: [UInt8]
    /// True when the file was a palette PNG (labels are its indices), false for a grey PNG (labels are its samples).
    public let indexed: Bool

    public init(width: Int, height: Int, labels: [UInt8], indexed: Bool) throws {
        guard width > 0, height > 0, labels.count == width * height else {
            throw ImageError.invalidArgument(
                "a \(width)x\(height) label map needs \(width * height) labels, got \(labels.count)")
        }
        self.width = width
        self.height = height
        self.labels = labels
        self.indexed = indexed
    }

    /// The DAVIS palette (PASCAL VOC's colour map): 0 black, 1 red, 2 green, 3 yellow, 4 blue, ...
    public static let davisPalette: [UInt8] = (0..<256).flatMap { index -> [UInt8] in
        var (r, g, b) = (0, 0, 0)
        var c = index
        for bit in 0..<8 {
            r |= ((c >> 0) & 1) << (7 - bit)
            g |= ((c >> 1) & 1) << (7 - bit)
            b |= ((c >> 2) & 1) << (7 - bit)
            c >>= 3
        }
        return [UInt8(r), UInt8(g), UInt8(b)]
    }

    /// Reads a palette PNG (indices) or a grey PNG with at most 8 bits a sample (its values).
    public static func read(contentsOf url: URL, limits: ImageLimits = .default) throws -> LabelMap {
        let data: Data
        do { data = try Data(contentsOf: url, options: .mappedIfSafe) } catch {
            throw ImageError.cannotRead(path: url.path, reason: Image.describe(error))
        }
        return try decode(data, limits: limits, name: url.path)
    }

    public static func decode(
        _ data: Data, limits: ImageLimits = .default, name: String = "<memory>"
    ) throws -> LabelMap {
        try data.withUnsafeBytes { raw -> LabelMap in
            guard ImageFileFormat.detect(raw) == .png, let base = raw.baseAddress?.assumingMemoryBound(to: UInt8.self)
            else {
                throw ImageError.unsupported(path: name, format: .png, detail: "a label map must be a PNG file")
            }
            var message = [CChar](repeating: 0, count: 512)
            var width: Int32 = 0, height: Int32 = 0, depth: Int32 = 0, colourType: Int32 = 0
            var status = ciio_png_header(base, raw.count, &width, &height, &depth, &colourType, &message, message.count)
            if status != CIIO_OK { throw Image.error(status, message, .png, name) }
            let w = Int(width), h = Int(height)
            guard limits.admits(width: w, height: h) else {
                throw ImageError.badDimensions(path: name, width: w, height: h, limits: limits)
            }
            var labels = [UInt8](repeating: 0, count: w * h)
            var indexed: Int32 = 0
            status = labels.withUnsafeMutableBufferPointer {
                ciio_png_decode_labels(base, raw.count, $0.baseAddress, $0.count, &indexed, &message, message.count)
            }
            if status != CIIO_OK { throw Image.error(status, message, .png, name) }
            return try LabelMap(width: w, height: h, labels: labels, indexed: indexed != 0)
        }
    }

    /// An 8-bit palette PNG with `palette` (RGB triples; the DAVIS palette by default), as DAVIS result files are.
    public func encodedIndexedPNG(palette: [UInt8] = LabelMap.davisPalette, level: Int = 6) throws -> [UInt8] {
        guard palette.count % 3 == 0, (3...768).contains(palette.count) else {
            throw ImageError.invalidArgument("a palette holds 1...256 RGB triples, got \(palette.count) bytes")
        }
        var message = [CChar](repeating: 0, count: 512)
        var out: UnsafeMutablePointer<UInt8>? = nil
        var size = 0
        let status = labels.withUnsafeBufferPointer { src in
            palette.withUnsafeBufferPointer { pal in
                ciio_png_encode_indexed(
                    src.baseAddress, Int32(width), Int32(height), pal.baseAddress, Int32(palette.count / 3),
                    Int32(level), &out, &size, &message, message.count)
            }
        }
        guard status == CIIO_OK, let buffer = out else { throw Image.error(status, message, .png, "<encoder>") }
        defer { ciio_free_png(buffer) }
        return [UInt8](UnsafeBufferPointer(start: buffer, count: size))
    }

    /// Writes `encodedIndexedPNG` atomically.
    public func writeIndexedPNG(to url: URL, palette: [UInt8] = LabelMap.davisPalette) throws {
        let bytes: [UInt8]
        do { bytes = try encodedIndexedPNG(palette: palette) } catch let ImageError.cannotWrite(_, reason) {
            throw ImageError.cannotWrite(path: url.path, reason: reason)
        }
        try AtomicFile.write(bytes, to: url)
    }
}
