"""Code shared by the PyTorch reference scripts (scripts/torch_*.py): models, the MAN loss, ONNX reading and
export, fixture files, and the parts of each reference run. The scripts stay the entry points; this package has
no command line of its own."""
