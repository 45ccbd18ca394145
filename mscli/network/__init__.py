"""Streams beyond one machine: publishing to servers (-o URL: urls.py, publish.py), network
sources (spec.py, probe.py, stream.py, timeline.py, latency.py, reconnect.py), WebRTC (-o whip+http://:
whip.py, whip_sink.py, whip_reports.py)."""
