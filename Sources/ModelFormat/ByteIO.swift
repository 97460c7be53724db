#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Appends little-endian fields to a byte array and patches them later.
struct ByteWriter {
    var bytes: [UInt8] = []

    var count: Int { bytes.count }

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { bytes.append(UInt8(v & 0xFF)); bytes.append(UInt8(v >> 8)) }
    mutating func u32(_ v: UInt32) {
        for s in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: v >> UInt32(s))) }
    }
    mutating func u64(_ v: UInt64) {
        for s in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: v >> UInt64(s))) }
    }
    mutating func i32(_ v: Int32) { u32(UInt32(bitPattern: v)) }
    mutating func i64(_ v: Int64) { u64(UInt64(bitPattern: v)) }
    mutating func f32(_ v: Float) { u32(v.bitPattern) }
    mutating func f64(_ v: Double) { u64(v.bitPattern) }
    /// u32 byte length, then the UTF-8 bytes.
    mutating func string(_ s: String) {
        let utf8 = Array(s.utf8)
        u32(UInt32(utf8.count))
        bytes.append(contentsOf: utf8)
    }

    mutating func patch32(_ v: UInt32, at position: Int) {
        for i in 0..<4 { bytes[position + i] = UInt8(truncatingIfNeeded: v >> UInt32(8 * i)) }
    }

    mutating func patch64(_ v: UInt64, at position: Int) {
        for i in 0..<8 { bytes[position + i] = UInt8(truncatingIfNeeded: v >> UInt64(8 * i)) }
    }
}

/// Reads little-endian fields from `raw[position..<end]`; any read past `end` throws `headerOverrun`.
struct ByteReader {
    let raw: UnsafeRawBufferPointer
    var position: Int
    let end: Int

    var remaining: Int { end - position }

    mutating func need(_ n: Int, _ field: @autoclosure () -> String) throws {
        guard n >= 0, n <= end - position else { throw SiamFormatError.headerOverrun(field: field(), offset: position) }
    }

    mutating func u8(_ field: @autoclosure () -> String) throws -> UInt8 {
        try need(1, field())
        defer { position += 1 }
        return raw[position]
    }

    mutating func u16(_ field: @autoclosure () -> String) throws -> UInt16 {
        try need(2, field())
        defer { position += 2 }
        return UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: position, as: UInt16.self))
    }

    mutating func u32(_ field: @autoclosure () -> String) throws -> UInt32 {
        try need(4, field())
        defer { position += 4 }
        return UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: position, as: UInt32.self))
    }

    mutating func u64(_ field: @autoclosure () -> String) throws -> UInt64 {
        try need(8, field())
        defer { position += 8 }
        return UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: position, as: UInt64.self))
    }

    /// A u32 byte length, then that many bytes of UTF-8. Returns the string and its bytes.
    mutating func string(_ context: @autoclosure () -> String, limit: Int) throws -> (String, UnsafeRawBufferPointer) {
        let length = try u32(context())
        guard Int(length) <= limit else {
            throw SiamFormatError.stringTooLong(context: context(), length: UInt64(length), limit: limit)
        }
        let n = Int(length)
        try need(n, context())
        let bytes = UnsafeRawBufferPointer(rebasing: raw[position..<position + n])
        guard let s = String(validating: bytes, as: UTF8.self) else {
            throw SiamFormatError.invalidUTF8(context: context(), offset: position)
        }
        position += n
        return (s, bytes)
    }
}

/// Whole-file I/O with POSIX calls: reads straight into one array, writes through a temporary file and a rename.
enum FileIO {
    static func errorText(_ code: Int32) -> String { String(cString: strerror(code)) }

    static func readAll(path: String, limit: Int) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SiamFormatError.cannotRead(path: path, reason: errorText(errno)) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw SiamFormatError.cannotRead(path: path, reason: errorText(errno)) }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw SiamFormatError.cannotRead(path: path, reason: "not a regular file")
        }
        let size = Int(info.st_size)
        guard size <= limit else { throw SiamFormatError.fileTooLarge(size: UInt64(size), limit: limit) }
        if size == 0 { return [] }
        return try [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            var done = 0
            while done < size {
                let r = read(fd, buffer.baseAddress! + done, size - done)
                if r < 0 {
                    let code = errno
                    if code == EINTR { continue }
                    initialized = done
                    throw SiamFormatError.cannotRead(path: path, reason: errorText(code))
                }
                if r == 0 { break }   // the file shrank while we read: the decoder sees a truncated file
                done += r
            }
            initialized = done
        }
    }

    /// Writes `bytes` to a new temporary file next to `path`, flushes it, and renames it over `path`. On any failure
    /// the temporary file is removed and whatever was at `path` is left as it was.
    static func writeAtomically(_ bytes: [UInt8], path: String) throws {
        let slash = path.lastIndex(of: "/")
        let prefix = slash.map { String(path[...$0]) } ?? ""   // the folder with its trailing slash
        let directory = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        guard !name.isEmpty else { throw SiamFormatError.cannotWrite(path: path, reason: "no file name") }
        var generator = SystemRandomNumberGenerator()
        var fd: Int32 = -1
        var temporary = ""
        for _ in 0..<64 {
            let suffix = String(generator.next() as UInt64, radix: 36)
            temporary = prefix + "." + name + ".tmp-" + suffix
            fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
            if fd >= 0 || errno != EEXIST { break }
        }
        guard fd >= 0 else { throw SiamFormatError.cannotWrite(path: path, reason: errorText(errno)) }
        var renamed = false
        defer { if !renamed { unlink(temporary) } }
        var failure: Int32 = 0
        bytes.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let r = write(fd, raw.baseAddress! + done, raw.count - done)
                if r < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    return
                }
                done += r
            }
        }
        if failure == 0, fsync(fd) != 0 { failure = errno }
        if close(fd) != 0, failure == 0 { failure = errno }
        guard failure == 0 else { throw SiamFormatError.cannotWrite(path: path, reason: errorText(failure)) }
        guard rename(temporary, path) == 0 else {
            throw SiamFormatError.cannotWrite(path: path, reason: errorText(errno))
        }
        renamed = true
        // Make the rename itself durable; a failure here cannot be undone and the file is in place, so ignore it.
        let dirfd = open(directory, O_RDONLY | O_CLOEXEC)
        if dirfd >= 0 { _ = fsync(dirfd); close(dirfd) }
    }
}
