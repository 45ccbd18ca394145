"""ms: the W3C Media Capture and Streams model as a command-line tool."""

__version__ = "0.1.0"
