"""Audio the way a browser delivers it: the WebRTC audio processing module on microphones
(echo cancellation, noise suppression, automatic gain control), and the record of what ms
plays (farend.py), which echo cancellation takes as its reference and virtual microphones
can hear."""

import importlib.util

BINDING = "pywebrtc_audio"
PACKAGE = "pywebrtc-audio"  # on PyPI
SETTINGS = ("echoCancellation", "noiseSuppression", "autoGainControl")  # what runs it


def wanted(settings: dict) -> bool:
    """Whether any processing setting of the track is on (here, not in apm.py: a track
    without processing loads neither numpy nor the binding)."""
    return any(settings.get(name) is True for name in SETTINGS)


def installed() -> bool:
    """Whether the processing can run here: the binding is found (not imported: listing
    devices must not load numpy)."""
    return importlib.util.find_spec(BINDING) is not None


def processing_capabilities() -> dict:
    """AudioCaps' three processing fields for a microphone ms captures from: ms runs the
    processing itself, so every microphone can have it on where the binding is installed,
    and none can where it is not."""
    values = (True, False) if installed() else (False,)
    return dict(echo_cancellation=values, auto_gain_control=values, noise_suppression=values)
