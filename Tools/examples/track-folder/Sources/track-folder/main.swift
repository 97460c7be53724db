import Foundation
import SiamMask

// track-folder MODEL.siam FRAMES_FOLDER x,y,w,h: tracks the box through the folder's frames (name order).
let arguments = CommandLine.arguments
let box = arguments.count == 4 ? arguments[3].split(separator: ",").compactMap { Double($0) } : []
guard box.count == 4 else {
    print("usage: track-folder MODEL.siam FRAMES_FOLDER x,y,w,h")
    exit(2)
}
do {
    let model = try SiamMaskModel(contentsOf: URL(fileURLWithPath: arguments[1]))   // float32 or int8
    let tracker = try model.makeTracker(preset: .auto, threads: 2)
    let frames = try ImageFiles(folder: URL(fileURLWithPath: arguments[2]))           // JPEG/PNG, decoded to BGR
    guard let first = try frames.next() else { throw TrackingLoopError.noFrames }
    try tracker.start(frame: first, target: .box(x: box[0], y: box[1], width: box[2], height: box[3]))
    print("\(model.precision) model, \(tracker.preset.name) preset, \(first.width)x\(first.height) frames")
    var index = 1
    while let frame = try frames.next() {
        let r = try tracker.track(frame)   // r.box, r.polygon (4 corners), r.mask (1 = object), r.score
        let b = r.box
        print(String(format: "frame %d: box %.1f,%.1f %.1fx%.1f, score %.3f, mask %d px", index, b.x, b.y, b.width,
                     b.height, r.score, r.mask.reduce(0) { $0 + Int($1) }))
        index += 1
    }
} catch {
    print("error: \(error)")
    exit(1)
}
