"""Python reference side of the Swift SiamMask port: the siammask_sharp network with official key names,
the official crop, realistic seeded weights, and the checkpoint / ONNX / golden exporters."""
