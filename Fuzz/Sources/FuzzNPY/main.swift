import Foundation
import FuzzDriver
import Tensors

// The .npy reader; a tensor it accepts must encode and decode back to itself.
func fuzzNPY(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = [UInt8](UnsafeBufferPointer(start: data, count: size))
    guard let tensor = try? NPY.decode(bytes) else { return 0 }
    guard let again = try? NPY.decode(NPY.encode(tensor)), again.shape == tensor.shape, again.dtype == tensor.dtype
    else { fatalError("NPY: a decoded tensor does not survive encode + decode") }
    return 0
}

exit(fuzz_main(CommandLine.argc, CommandLine.unsafeArgv) { data, size in fuzzNPY(data!, size) })
