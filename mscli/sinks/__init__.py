"""Where frames go: y4m and WAV streams, PyAV containers, single images.

Imported only to capture (these modules import numpy, av and cv2 at the top).
"""
