"""A real RTMP server for the tests: nginx with Debian's libnginx-mod-rtmp on 127.0.0.1, on a
free port, with its own prefix, config and logs in a temporary directory (.ci/run installs
`nginx libnginx-mod-rtmp`). One process (master_process off), so killing it kills the server.

    with NginxRtmp(tmp_path) as server:
        server.url("s")     # rtmp://127.0.0.1:PORT/live/s
        server.kill()       # the server dies mid-stream
        server.start()      # and comes back on the same port
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

MODULE = "/usr/lib/nginx/modules/ngx_rtmp_module.so"
READY_SECONDS = 10.0

CONFIG = """\
load_module {module};
daemon off;
master_process off;
worker_processes 1;
error_log {prefix}/error.log info;
pid {prefix}/nginx.pid;
events {{ worker_connections 64; }}
rtmp {{
    server {{
        listen 127.0.0.1:{port};
        application live {{ live on; record off; }}
    }}
}}
"""


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A port the OS says is free now (bound to 0, then released)."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def available() -> str | None:
    """Why the server cannot run here, or None."""
    if shutil.which("nginx") is None or not os.path.exists(MODULE):
        return "needs nginx and libnginx-mod-rtmp (apt-get install nginx libnginx-mod-rtmp)"
    return None


def wait_until(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} within {seconds} s")
        time.sleep(0.02)


class NginxRtmp:
    def __init__(self, directory: Path):
        self.prefix = Path(directory) / "nginx"
        self.prefix.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.config = self.prefix / "nginx.conf"
        self.config.write_text(CONFIG.format(module=MODULE, prefix=self.prefix, port=self.port))
        self.log = self.prefix / "error.log"
        self.process: subprocess.Popen | None = None

    def url(self, name: str) -> str:
        return f"rtmp://127.0.0.1:{self.port}/live/{name}"

    def start(self) -> NginxRtmp:
        self.process = subprocess.Popen(
            ["nginx", "-p", str(self.prefix), "-c", str(self.config)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_until(self._listening, READY_SECONDS, f"nginx listening on {self.port}")
        return self

    def _listening(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"nginx exited: {self.process.stderr.read().decode()}")
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", self.port)) == 0

    def count(self, what: str, name: str) -> int:
        """How many clients came to `what` ("play" or "publish") stream `name` (its log)."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return len(re.findall(rf"{what}: name='{re.escape(name)}'", text))

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def __enter__(self) -> NginxRtmp:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.kill()
        if self.process is not None:
            self.process.stderr.close()
