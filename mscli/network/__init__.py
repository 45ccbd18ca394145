"""Streams beyond one machine: publishing to servers (-o URL), network sources, WebRTC."""
