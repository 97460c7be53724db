// `import SiamMask` is the whole front door: a client gets `Image` (JPEG/PNG reading, BGR frames) from Imaging and
// the model as data (`SiamMaskModel`, `TrackerHyperParameters`) from SiamMaskLayout without naming either module.
// Runtime, ModelFormat and Tensors stay internal details: nothing a tracker client calls needs them.
@_exported import Imaging
@_exported import SiamMaskLayout
