"""Where frames go: y4m and WAV streams, PyAV containers, single images (imported only to capture)."""
