import CImageIO

/// EXIF orientation (TIFF tag 0x0112) as OpenCV 4.6's imread applies it after decoding a JPEG or a PNG
/// (imgcodecs' ApplyExifOrientation).
public enum ExifOrientation: Int, Sendable {
    case topLeft = 1, topRight, bottomRight, bottomLeft, leftTop, rightTop, rightBottom, leftBottom

    /// The orientation stored in a JPEG's first APP1 segment, read the way OpenCV 4.6 does: the first APP1 before
    /// the scan, its payload after 6 bytes ("Exif\0\0") parsed as a TIFF header, tag 0x0112 looked up in IFD0.
    /// nil when there is no such segment or it does not parse.
    public static func jpegOrientation(_ data: UnsafeRawBufferPointer) -> ExifOrientation? {
        let n = data.count
        guard n >= 4, data[0] == 0xFF, data[1] == 0xD8 else { return nil }
        var i = 2
        while i + 1 < n {
            guard data[i] == 0xFF else { return nil }
            var marker = data[i + 1]
            i += 2
            while marker == 0xFF, i < n { marker = data[i]; i += 1 }   // fill bytes
            if marker == 0xD9 || marker == 0xDA { return nil }   // EOI, SOS: no APP1 before the scan
            if marker == 0x01 || (0xD0...0xD7).contains(marker) { continue }   // no length
            guard i + 1 < n else { return nil }
            let length = Int(data[i]) << 8 | Int(data[i + 1])
            guard length >= 2, i + length <= n else { return nil }
            if marker == 0xE1 {
                let payload = UnsafeRawBufferPointer(rebasing: data[(i + 2)..<(i + length)])
                guard payload.count > 6 else { return nil }
                return tiffOrientation(UnsafeRawBufferPointer(rebasing: payload[6...]))
            }
            i += length
        }
        return nil
    }

    /// The orientation in a PNG's eXIf chunk (a bare TIFF structure) placed before the image data, as OpenCV 4.6
    /// reads it; nil when absent or unparsable.
    public static func pngOrientation(_ data: UnsafeRawBufferPointer) -> ExifOrientation? {
        guard let base = data.baseAddress else { return nil }
        var length = 0
        var buffer = [UInt8](repeating: 0, count: 4096)
        var message = [CChar](repeating: 0, count: 256)
        let bytes = base.assumingMemoryBound(to: UInt8.self)
        guard ciio_png_exif(bytes, data.count, &buffer, buffer.count, &length, &message, message.count) == CIIO_OK,
            length > 0
        else { return nil }
        if length > buffer.count {
            buffer = [UInt8](repeating: 0, count: length)
            guard ciio_png_exif(bytes, data.count, &buffer, buffer.count, &length, &message, message.count) == CIIO_OK
            else { return nil }
        }
        return buffer.prefix(length).withUnsafeBytes { tiffOrientation($0) }
    }

    /// Tag 0x0112 of IFD0 in a TIFF structure ("II"/"MM", 42, IFD offset).
    static func tiffOrientation(_ t: UnsafeRawBufferPointer) -> ExifOrientation? {
        guard t.count >= 8 else { return nil }
        let little: Bool
        if t[0] == 0x49, t[1] == 0x49 {
            little = true
        } else if t[0] == 0x4D, t[1] == 0x4D {
            little = false
        } else {
            return nil
        }
        func u16(_ o: Int) -> Int? {
            guard o >= 0, o + 2 <= t.count else { return nil }
            return little ? Int(t[o]) | Int(t[o + 1]) << 8 : Int(t[o]) << 8 | Int(t[o + 1])
        }
        func u32(_ o: Int) -> Int? {
            guard let a = u16(o), let b = u16(o + 2) else { return nil }
            return little ? a | b << 16 : a << 16 | b
        }
        guard u16(2) == 42, let ifd = u32(4), let count = u16(ifd) else { return nil }
        for e in 0..<count {
            let entry = ifd + 2 + 12 * e
            guard let tag = u16(entry) else { return nil }
            if tag == 0x0112 {
                guard let value = u16(entry + 8) else { return nil }
                return ExifOrientation(rawValue: value)
            }
        }
        return nil
    }
}

extension Image {
    /// The image turned upright for `orientation`, with OpenCV's flips and transposes.
    public func oriented(_ orientation: ExifOrientation) -> Image {
        switch orientation {
        case .topLeft: return self
        case .topRight: return flipped(horizontally: true, vertically: false)
        case .bottomRight: return flipped(horizontally: true, vertically: true)
        case .bottomLeft: return flipped(horizontally: false, vertically: true)
        case .leftTop: return transposed()
        case .rightTop: return transposed().flipped(horizontally: true, vertically: false)
        case .rightBottom: return transposed().flipped(horizontally: true, vertically: true)
        case .leftBottom: return transposed().flipped(horizontally: false, vertically: true)
        }
    }

    public func flipped(horizontally: Bool, vertically: Bool) -> Image {
        var out = self
        let c = channels
        pixels.withUnsafeBufferPointer { src in
            out.pixels.withUnsafeMutableBufferPointer { dst in
                for y in 0..<height {
                    let sy = vertically ? height - 1 - y : y
                    for x in 0..<width {
                        let sx = horizontally ? width - 1 - x : x
                        for k in 0..<c { dst[(y * width + x) * c + k] = src[(sy * width + sx) * c + k] }
                    }
                }
            }
        }
        return out
    }

    /// Rows become columns (OpenCV's transpose).
    public func transposed() -> Image {
        var out = Image(width: height, height: width, format: format)
        let c = channels
        pixels.withUnsafeBufferPointer { src in
            out.pixels.withUnsafeMutableBufferPointer { dst in
                for y in 0..<height {
                    for x in 0..<width {
                        for k in 0..<c { dst[(x * height + y) * c + k] = src[(y * width + x) * c + k] }
                    }
                }
            }
        }
        return out
    }
}
