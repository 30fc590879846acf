"""SwiftVR model package root (PyTorch side). See models/README.md."""
