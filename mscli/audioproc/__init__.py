"""Audio the way a browser delivers it: the WebRTC audio processing module on microphones
(echo cancellation, noise suppression, automatic gain control), and the record of what ms
plays (farend.py), which echo cancellation takes as its reference and virtual microphones
can hear."""
