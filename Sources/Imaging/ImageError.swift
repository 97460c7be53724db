/// Why an image could not be read, decoded, encoded or written. Every case prints as one line that names the file.
public enum ImageError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file could not be opened or read (missing, permission denied, a directory...).
    case cannotRead(path: String, reason: String)
    /// The bytes start with neither the JPEG nor the PNG signature.
    case notAnImage(path: String)
    /// The data ends before the image is complete.
    case truncated(path: String, format: ImageFileFormat, detail: String)
    /// The data is damaged (bad marker, bad Huffman code, CRC mismatch, bad zlib stream...).
    case corrupt(path: String, format: ImageFileFormat, detail: String)
    /// A valid file using something this reader does not handle.
    case unsupported(path: String, format: ImageFileFormat, detail: String)
    /// The declared dimensions are zero or exceed the reader's limits (checked before any pixel memory is allocated).
    case badDimensions(path: String, width: Int, height: Int, limits: ImageLimits)
    /// The file name's extension names no format this writer knows.
    case unknownExtension(path: String)
    /// Encoding or writing the file failed.
    case cannotWrite(path: String, reason: String)
    /// A caller error: pixel buffer of the wrong size, bad channel count, bad quality...
    case invalidArgument(String)

    public var description: String {
        switch self {
        case let .cannotRead(path, reason): return "\(path): cannot read: \(reason)"
        case let .notAnImage(path): return "\(path): not an image (neither JPEG nor PNG signature)"
        case let .truncated(path, format, detail): return "\(path): truncated \(format.name) file (\(detail))"
        case let .corrupt(path, format, detail): return "\(path): corrupt \(format.name) data (\(detail))"
        case let .unsupported(path, format, detail): return "\(path): unsupported \(format.name) file (\(detail))"
        case let .badDimensions(path, width, height, limits):
            return "\(path): image size \(width)x\(height) is outside the limits (1...\(limits.maxSide) per side, "
                + "at most \(limits.maxPixels) pixels)"
        case let .unknownExtension(path): return "\(path): unknown image extension (use .jpg, .jpeg or .png)"
        case let .cannotWrite(path, reason): return "\(path): cannot write: \(reason)"
        case let .invalidArgument(detail): return "invalid image argument: \(detail)"
        }
    }
}

/// Caps on declared image dimensions, checked from the header before decoding.
public struct ImageLimits: Equatable, Sendable {
    public var maxSide: Int
    public var maxPixels: Int
    public init(maxSide: Int = 1 << 15, maxPixels: Int = 1 << 28) {
        self.maxSide = maxSide
        self.maxPixels = maxPixels
    }
    public static let `default` = ImageLimits()

    public func admits(width: Int, height: Int) -> Bool {
        width >= 1 && height >= 1 && width <= maxSide && height <= maxSide && width * height <= maxPixels
    }
}
