"""Runs ``mlsd-grader serve`` in a subprocess on a free loopback port, for the service tests and
bench/load.py: the real command, the real HTTP stack."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

import httpx

__all__ = ["Server", "free_port"]


def free_port() -> int:
    """A loopback port nothing listens on now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """``mlsd-grader serve ARGS`` on 127.0.0.1; entering waits until it answers /healthz (or /readyz with
    ``ready=True``), leaving stops it with SIGTERM. Its log is kept in a file (``log()``)."""

    def __init__(self, *args: str, env: Mapping[str, str] | None = None, ready: bool = True,
                 timeout: float = 180.0) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.args: Sequence[str] = args
        self.env = {**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})}
        self.ready = ready
        self.timeout = timeout
        self._log = Path(tempfile.mkstemp(prefix="mlsd-serve-", suffix=".log")[1])
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Self:
        command = [sys.executable, "-m", "mlsd_grader", "serve", "--port", str(self.port), *self.args]
        with self._log.open("wb") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=self.env)
        self.wait_until("/readyz" if self.ready else "/healthz")
        return self

    def wait_until(self, path: str) -> None:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}:\n{self.log()}")
            try:
                if httpx.get(self.url + path, timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"{path} not ready after {self.timeout} s:\n{self.log()}")

    def client(self, **kwargs: object) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=120, **kwargs)  # type: ignore[arg-type]

    def log(self) -> str:
        return self._log.read_text(encoding="utf-8", errors="replace")

    def stop(self, timeout: float = 60.0) -> int:
        """SIGTERM, then the exit code (SIGKILL after ``timeout``)."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
        self._log.unlink(missing_ok=True)
