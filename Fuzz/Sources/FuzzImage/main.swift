import Foundation
import FuzzDriver
import Imaging

// JPEG and PNG decoding through CImageIO (libturbojpeg, libspng), as BGR and as grey, and the label-map reader.
// Limits are lowered to 4096 a side and 2^22 pixels (the product's rule, smaller numbers) to keep runs fast.
func fuzzImage(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let raw = UnsafeRawBufferPointer(start: data, count: size)
    let limits = ImageLimits(maxSide: 4096, maxPixels: 1 << 22)
    if let image = try? Image.decode(raw, as: .bgr, limits: limits) {
        precondition(image.pixels.count == image.width * image.height * 3, "Image: pixel count")
    }
    if let grey = try? Image.decode(raw, as: .grey, limits: limits) {
        precondition(grey.pixels.count == grey.width * grey.height, "Image: pixel count")
    }
    if let map = try? LabelMap.decode(Data(raw), limits: limits) {
        precondition(map.labels.count == map.width * map.height, "LabelMap: label count")
    }
    return 0
}

exit(fuzz_main(CommandLine.argc, CommandLine.unsafeArgv) { data, size in fuzzImage(data!, size) })
