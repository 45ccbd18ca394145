"""Everything that touches media data (PyAV, numpy, OpenCV): imported only to capture."""
