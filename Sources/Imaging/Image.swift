import CImageIO
import Foundation

/// The pixel layout a caller asks for: 3 channels in B, G, R order (as OpenCV's imread) or 1 grey channel.
public enum PixelFormat: String, Sendable, CaseIterable {
    case bgr
    case grey

    public var channels: Int { self == .bgr ? 3 : 1 }
}

/// File formats the reader detects (by signature) and the writer chooses (by extension).
public enum ImageFileFormat: String, Sendable, CaseIterable {
    case jpeg
    case png

    public var name: String { self == .jpeg ? "JPEG" : "PNG" }

    /// `.jpg`/`.jpeg` or `.png`, case-insensitive; nil otherwise.
    public init?(pathExtension: String) {
        switch pathExtension.lowercased() {
        case "jpg", "jpeg": self = .jpeg
        case "png": self = .png
        default: return nil
        }
    }

    /// The format whose signature starts `bytes`: FF D8 FF for JPEG, the 8-byte PNG signature for PNG.
    public static func detect<C: Collection>(_ bytes: C) -> ImageFileFormat? where C.Element == UInt8 {
        let head = Array(bytes.prefix(8))
        if head.count >= 3, head[0] == 0xFF, head[1] == 0xD8, head[2] == 0xFF { return .jpeg }
        if head == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] { return .png }
        return nil
    }
}

/// How PNG rows are prepared for deflate.
public enum PNGFilter: Sendable {
    /// libspng's adaptive per-row filter choice: best for photographs.
    case adaptive
    /// No row filters and run-length deflate: several times faster and smaller for masks and label maps.
    case none
}

/// An 8-bit image: `height` packed rows of `width * channels` bytes, BGR order for colour, grey otherwise.
public struct Image: Equatable, Sendable {
    public let width: Int
    public let height: Int
    /// 1 (grey) or 3 (BGR).
    public let channels: Int
    /// `height * width * channels` bytes, row-major, no padding.
    public var pixels: [UInt8]

    public var format: PixelFormat { channels == 3 ? .bgr : .grey }
    public var rowBytes: Int { width * channels }

    /// An image over existing pixels; throws when the buffer size or channel count is wrong.
    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) throws {
        guard channels == 1 || channels == 3 else {
            throw ImageError.invalidArgument("channels must be 1 or 3, not \(channels)")
        }
        guard width >= 1, height >= 1 else {
            throw ImageError.invalidArgument("size \(width)x\(height) must be positive")
        }
        guard pixels.count == width * height * channels else {
            throw ImageError.invalidArgument(
                "\(pixels.count) bytes for a \(width)x\(height)x\(channels) image, expected \(width * height * channels)"
            )
        }
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// A uniform image (`value` in every sample).
    public init(width: Int, height: Int, format: PixelFormat, value: UInt8 = 0) {
        precondition(width >= 1 && height >= 1, "image size must be positive")
        self.width = width
        self.height = height
        self.channels = format.channels
        self.pixels = [UInt8](repeating: value, count: width * height * format.channels)
    }

    /// Sample `channel` of pixel (x, y).
    @inlinable public subscript(x: Int, y: Int, channel: Int) -> UInt8 {
        get { pixels[(y * width + x) * channels + channel] }
        set { pixels[(y * width + x) * channels + channel] = newValue }
    }

    /// The image in `format`: grey to BGR replicates; BGR to grey uses OpenCV's cvtColor(BGR2GRAY) fixed-point
    /// weights, (4899 R + 9617 G + 1868 B + 8192) >> 14.
    public func converted(to format: PixelFormat) -> Image {
        if format == self.format { return self }
        var out = Image(width: width, height: height, format: format)
        let n = width * height
        pixels.withUnsafeBufferPointer { src in
            out.pixels.withUnsafeMutableBufferPointer { dst in
                if format == .grey {
                    for i in 0..<n {
                        let b = Int(src[3 * i]), g = Int(src[3 * i + 1]), r = Int(src[3 * i + 2])
                        dst[i] = UInt8((r * 4899 + g * 9617 + b * 1868 + 8192) >> 14)
                    }
                } else {
                    for i in 0..<n {
                        let v = src[i]
                        dst[3 * i] = v
                        dst[3 * i + 1] = v
                        dst[3 * i + 2] = v
                    }
                }
            }
        }
        return out
    }
}

// MARK: - Reading

extension Image {
    /// Reads a JPEG or PNG file (detected by its signature, not its name) as `format`. JPEG decoding matches
    /// OpenCV's `cv2.imread` bit for bit (libjpeg-turbo defaults, EXIF orientation applied); PNG as OpenCV's libpng
    /// path (palette expanded, alpha dropped, 16-bit to the high byte).
    public static func read(
        contentsOf url: URL, as format: PixelFormat = .bgr, limits: ImageLimits = .default
    ) throws -> Image {
        let path = url.path
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .mappedIfSafe)
        } catch {
            throw ImageError.cannotRead(path: path, reason: Self.describe(error))
        }
        return try decode(data, as: format, limits: limits, name: path)
    }

    /// Decodes JPEG or PNG bytes; `name` labels errors.
    public static func decode(
        _ data: Data, as format: PixelFormat = .bgr, limits: ImageLimits = .default,
        name: String = "<memory>"
    ) throws -> Image {
        try data.withUnsafeBytes { raw in
            try decode(UnsafeRawBufferPointer(raw), as: format, limits: limits, name: name)
        }
    }

    public static func decode(
        _ bytes: [UInt8], as format: PixelFormat = .bgr, limits: ImageLimits = .default,
        name: String = "<memory>"
    ) throws -> Image {
        try bytes.withUnsafeBytes { try decode($0, as: format, limits: limits, name: name) }
    }

    public static func decode(
        _ raw: UnsafeRawBufferPointer, as format: PixelFormat = .bgr, limits: ImageLimits = .default,
        name: String = "<memory>"
    ) throws -> Image {
        guard let fileFormat = ImageFileFormat.detect(raw), let base = raw.baseAddress else {
            throw ImageError.notAnImage(path: name)
        }
        let bytes = base.assumingMemoryBound(to: UInt8.self)
        let channels = format.channels
        var message = [CChar](repeating: 0, count: 512)
        var width: Int32 = 0, height: Int32 = 0
        var status: Int32
        switch fileFormat {
        case .jpeg:
            var colorspace: Int32 = 0
            status = ciio_jpeg_header(bytes, raw.count, &width, &height, &colorspace, &message, message.count)
        case .png:
            var depth: Int32 = 0, colourType: Int32 = 0
            status = ciio_png_header(bytes, raw.count, &width, &height, &depth, &colourType, &message, message.count)
        }
        if status != CIIO_OK { throw error(status, message, fileFormat, name) }
        let w = Int(width), h = Int(height)
        guard limits.admits(width: w, height: h) else {
            throw ImageError.badDimensions(path: name, width: w, height: h, limits: limits)
        }
        var pixels = [UInt8](repeating: 0, count: w * h * channels)
        status = pixels.withUnsafeMutableBufferPointer { out in
            switch fileFormat {
            case .jpeg:
                return ciio_jpeg_decode(
                    bytes, raw.count, Int32(channels), out.baseAddress, out.count, &message, message.count)
            case .png:
                return ciio_png_decode(
                    bytes, raw.count, Int32(channels), out.baseAddress, out.count, &message, message.count)
            }
        }
        if status != CIIO_OK { throw error(status, message, fileFormat, name) }
        var image = try Image(width: w, height: h, channels: channels, pixels: pixels)
        let orientation =
            fileFormat == .jpeg ? ExifOrientation.jpegOrientation(raw) : ExifOrientation.pngOrientation(raw)
        if let orientation, orientation != .topLeft { image = image.oriented(orientation) }
        return image
    }

    static func error(_ status: Int32, _ message: [CChar], _ format: ImageFileFormat, _ name: String) -> ImageError {
        let text = message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        switch status {
        case CIIO_ERR_FORMAT: return .notAnImage(path: name)
        case CIIO_ERR_TRUNCATED: return .truncated(path: name, format: format, detail: text)
        case CIIO_ERR_UNSUPPORTED: return .unsupported(path: name, format: format, detail: text)
        case CIIO_ERR_NOMEM: return .cannotRead(path: name, reason: "out of memory (\(text))")
        case CIIO_ERR_ENCODE: return .cannotWrite(path: name, reason: text)
        case CIIO_ERR_ARGUMENT: return .invalidArgument("\(name): \(text)")
        default: return .corrupt(path: name, format: format, detail: text)
        }
    }

    static func describe(_ error: Error) -> String {
        if let e = error as? CocoaError, let underlying = e.userInfo[NSUnderlyingErrorKey] as? NSError,
            underlying.domain == NSPOSIXErrorDomain
        {
            return String(cString: strerror(Int32(underlying.code)))
        }
        if let e = error as? CocoaError {
            switch e.code {
            case .fileReadNoSuchFile: return "no such file"
            case .fileReadNoPermission: return "permission denied"
            default: break
            }
        }
        return error.localizedDescription
    }
}

// MARK: - Writing

extension Image {
    /// The image encoded as `format`: JPEG baseline with 4:2:0 chroma (grey stays grey), accurate DCT, at `quality`
    /// (1...100, OpenCV's default is 95); PNG 8-bit with zlib level `pngLevel` (0...9) and `pngFilter`. `encoder`
    /// reuses a JPEG compressor (one per thread).
    public func encoded(
        as format: ImageFileFormat, quality: Int = 95, pngLevel: Int = 3, pngFilter: PNGFilter = .adaptive,
        encoder: JPEGEncoder? = nil
    ) throws -> [UInt8] {
        guard (1...100).contains(quality) else {
            throw ImageError.invalidArgument("JPEG quality \(quality) is outside 1...100")
        }
        var message = [CChar](repeating: 0, count: 512)
        var out: UnsafeMutablePointer<UInt8>? = nil
        var size = 0
        let status: Int32 = pixels.withUnsafeBufferPointer { src in
            switch format {
            case .jpeg:
                return ciio_jpeg_encode(
                    encoder?.handle, src.baseAddress, Int32(width), Int32(height), Int32(channels),
                    Int32(quality), 1, &out, &size, &message, message.count)
            case .png:
                return ciio_png_encode(
                    src.baseAddress, Int32(width), Int32(height), Int32(channels), Int32(pngLevel),
                    pngFilter == .none ? CIIO_PNG_FLAT : CIIO_PNG_ADAPTIVE, &out, &size, &message, message.count)
            }
        }
        guard status == CIIO_OK, let buffer = out else { throw Self.error(status, message, format, "<encoder>") }
        defer { format == .jpeg ? ciio_free_jpeg(buffer) : ciio_free_png(buffer) }
        return [UInt8](UnsafeBufferPointer(start: buffer, count: size))
    }

    /// Writes the image as JPEG (`.jpg`, `.jpeg`) or PNG (`.png`), chosen by the extension, atomically: the bytes go
    /// to a temporary file beside the target, renamed over it once complete.
    public func write(to url: URL, quality: Int = 95, pngLevel: Int = 3, pngFilter: PNGFilter = .adaptive) throws {
        guard let format = ImageFileFormat(pathExtension: url.pathExtension) else {
            throw ImageError.unknownExtension(path: url.path)
        }
        try write(to: url, format: format, quality: quality, pngLevel: pngLevel, pngFilter: pngFilter)
    }

    /// Writes atomically in `format` whatever the extension, reusing `encoder` for JPEG.
    public func write(
        to url: URL, format: ImageFileFormat, quality: Int = 95, pngLevel: Int = 3,
        pngFilter: PNGFilter = .adaptive, encoder: JPEGEncoder? = nil
    ) throws {
        let bytes: [UInt8]
        do {
            bytes = try encoded(
                as: format, quality: quality, pngLevel: pngLevel, pngFilter: pngFilter, encoder: encoder)
        } catch let ImageError.cannotWrite(_, reason) {
            throw ImageError.cannotWrite(path: url.path, reason: reason)
        }
        try AtomicFile.write(bytes, to: url)
    }
}

/// A reusable TurboJPEG compressor (one per thread; not shareable across threads at the same time).
public final class JPEGEncoder {
    let handle: UnsafeMutableRawPointer?
    public init() { handle = ciio_jpeg_encoder_new() }
    deinit { ciio_jpeg_encoder_free(handle) }
}

/// Atomic file writes: a temporary file in the same directory, then rename(2).
public enum AtomicFile {
    public static func write(_ bytes: [UInt8], to url: URL) throws {
        try bytes.withUnsafeBytes { try write($0, to: url) }
    }

    public static func write(_ data: Data, to url: URL) throws {
        try data.withUnsafeBytes { try write($0, to: url) }
    }

    public static func write(_ bytes: UnsafeRawBufferPointer, to url: URL) throws {
        let path = url.path
        let directory = url.deletingLastPathComponent().path
        let temporary =
            directory + "/." + url.lastPathComponent + ".tmp-" + String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ImageError.cannotWrite(path: path, reason: String(cString: strerror(errno))) }
        var offset = 0
        while offset < bytes.count, let base = bytes.baseAddress {
            let n = Foundation.write(fd, base + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                let reason = String(cString: strerror(errno))
                close(fd)
                unlink(temporary)
                throw ImageError.cannotWrite(path: path, reason: reason)
            }
            offset += n
        }
        if close(fd) != 0 {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw ImageError.cannotWrite(path: path, reason: reason)
        }
        if rename(temporary, path) != 0 {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw ImageError.cannotWrite(path: path, reason: reason)
        }
    }
}
