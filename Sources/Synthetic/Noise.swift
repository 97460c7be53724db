/// Multi-octave value noise (fBm): smoothstep-interpolated random lattice values, octaves halving in cell size.
enum ValueNoise {
    /// Fills `out` (`width` x `height`, row-major) with fBm in [0, 1]. `cell` is the first octave's lattice spacing
    /// in pixels; each further octave halves it and multiplies the amplitude by `persistence`.
    static func fbm(
        into out: UnsafeMutablePointer<Float>, width: Int, height: Int, cell: Double, octaves: Int,
        persistence: Float = 0.5, seed: UInt32
    ) {
        out.update(repeating: 0, count: width * height)
        var amplitude: Float = 1, total: Float = 0
        var ix = [Int32](repeating: 0, count: width), fx = [Float](repeating: 0, count: width)
        var lattice: [Float] = []
        for octave in 0..<octaves {
            let c = max(cell / Double(1 << octave), 1.5)
            let latticeWidth = Int(Double(width) / c) + 2, latticeHeight = Int(Double(height) / c) + 2
            let octaveSeed = seed &+ UInt32(octave) &* 0x68E3_1DA4
            lattice.removeAll(keepingCapacity: true)
            lattice.reserveCapacity(latticeWidth * latticeHeight)
            for j in 0..<latticeHeight {
                for i in 0..<latticeWidth {
                    lattice.append(Float(hash32(Int32(i), Int32(j), octaveSeed) >> 8) * 0x1.0p-24)
                }
            }
            for x in 0..<width {
                let p = (Double(x) + 0.5) / c
                let i = Int(p)
                ix[x] = Int32(i)
                fx[x] = DMath.smoothstep(Float(p - Double(i)))
            }
            let a = amplitude
            lattice.withUnsafeBufferPointer { l in
                ix.withUnsafeBufferPointer { ixp in
                    fx.withUnsafeBufferPointer { fxp in
                        for y in 0..<height {
                            let p = (Double(y) + 0.5) / c
                            let j = Int(p)
                            let fy = DMath.smoothstep(Float(p - Double(j)))
                            let row0 = l.baseAddress! + j * latticeWidth, row1 = row0 + latticeWidth
                            let o = out + y * width
                            for x in 0..<width {
                                let i = Int(ixp[x]), f = fxp[x]
                                let top = row0[i] + (row0[i + 1] - row0[i]) * f
                                let bottom = row1[i] + (row1[i + 1] - row1[i]) * f
                                o[x] += a * (top + (bottom - top) * fy)
                            }
                        }
                    }
                }
            }
            total += amplitude
            amplitude *= persistence
        }
        let inv = 1 / total
        for k in 0..<(width * height) { out[k] *= inv }
    }

    /// fBm as an array.
    static func fbm(
        width: Int, height: Int, cell: Double, octaves: Int, persistence: Float = 0.5, seed: UInt32
    ) -> [Float] {
        var a = [Float](repeating: 0, count: width * height)
        a.withUnsafeMutableBufferPointer {
            fbm(
                into: $0.baseAddress!, width: width, height: height, cell: cell, octaves: octaves,
                persistence: persistence, seed: seed)
        }
        return a
    }
}
