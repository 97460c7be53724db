/// Per-frame photometric effects in integer arithmetic (identical everywhere once the per-frame parameters are set).
enum Effects {
    /// Multiplies each channel by gain * tint * (1 + gradient * (x / width - 0.5)), in 8.8 fixed point.
    static func illuminate(
        _ pixels: UnsafeMutablePointer<UInt8>, width: Int, height: Int, gain: Double,
        tint: (Double, Double, Double), gradient: Double
    ) {
        var factors = [Int32](repeating: 0, count: width * 3)
        var identity = true
        for x in 0..<width {
            let g = gain * (1 + gradient * ((Double(x) + 0.5) / Double(width) - 0.5))
            let f = [g * tint.0, g * tint.1, g * tint.2]
            for c in 0..<3 {
                let v = Int32(max(0, min(1024, (f[c] * 256).rounded())))
                factors[3 * x + c] = v
                if v != 256 { identity = false }
            }
        }
        if identity { return }
        factors.withUnsafeBufferPointer { fp in
            for y in 0..<height {
                let row = pixels + y * width * 3
                for i in 0..<(width * 3) {
                    let v = (Int32(row[i]) &* fp[i] &+ 128) >> 8
                    row[i] = UInt8(truncatingIfNeeded: min(v, 255))
                }
            }
        }
    }

    /// Separable box blur of the given radius with clamped borders (running sums, integer rounding).
    static func boxBlur(
        _ pixels: UnsafeMutablePointer<UInt8>, width: Int, height: Int, radius: Int, scratch: inout [UInt8]
    ) {
        let r = radius, size = 2 * r + 1
        let half = Int32(size / 2)
        if scratch.count < width * height * 3 { scratch = [UInt8](repeating: 0, count: width * height * 3) }
        scratch.withUnsafeMutableBufferPointer { tmpBuffer in
            let tmp = tmpBuffer.baseAddress!
            // Horizontal: pixels -> tmp.
            for y in 0..<height {
                let src = pixels + y * width * 3, dst = tmp + y * width * 3
                for c in 0..<3 {
                    var sum: Int32 = 0
                    for k in -r...r { sum += Int32(src[min(max(k, 0), width - 1) * 3 + c]) }
                    for x in 0..<width {
                        dst[x * 3 + c] = UInt8(truncatingIfNeeded: (sum &+ half) / Int32(size))
                        sum = sum &+ Int32(src[min(x + r + 1, width - 1) * 3 + c]) &- Int32(src[max(x - r, 0) * 3 + c])
                    }
                }
            }
            // Vertical: tmp -> pixels, a row of running sums at a time.
            let rowLength = width * 3
            var sums = [Int32](repeating: 0, count: rowLength)
            sums.withUnsafeMutableBufferPointer { s in
                for k in -r...r {
                    let row = tmp + min(max(k, 0), height - 1) * rowLength
                    for i in 0..<rowLength { s[i] += Int32(row[i]) }
                }
                for y in 0..<height {
                    let out = pixels + y * rowLength
                    let add = tmp + min(y + r + 1, height - 1) * rowLength
                    let sub = tmp + max(y - r, 0) * rowLength
                    for i in 0..<rowLength {
                        out[i] = UInt8(truncatingIfNeeded: (s[i] &+ half) / Int32(size))
                        s[i] = s[i] &+ Int32(add[i]) &- Int32(sub[i])
                    }
                }
            }
        }
    }
}
