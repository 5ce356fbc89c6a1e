"""The peer: Orthanc with its DICOMweb plugin, from Debian, on loopback, for one run.

Installed with apt if missing (``orthanc``, ``orthanc-dicomweb``), never as the system
service: :class:`OrthancPeer` writes a configuration into a temporary directory (storage,
index, no DICOM server, no authentication, remote access refused) and runs
``/usr/sbin/Orthanc <config>`` in its own process group, stopped at the end.

Orthanc 1.10 has no option to choose the listening address (it listens on every
interface); ``"RemoteAccessAllowed": false`` makes it refuse every client that is not on
loopback, and the benchmark only ever calls ``127.0.0.1``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from beamit.devstack.processes import ManagedProcess, free_port

ORTHANC_BINARY = Path("/usr/sbin/Orthanc")
PACKAGES = ("orthanc", "orthanc-dicomweb")
PLUGIN_PACKAGE = "orthanc-dicomweb"
DICOMWEB_ROOT = "/dicom-web/"


class OrthancUnavailable(RuntimeError):
    pass


def package_version(package: str) -> str | None:
    """The installed Debian version of ``package``, or None."""
    try:
        out = subprocess.run(
            ["dpkg-query", "-W", "-f=${Status}|${Version}", package], capture_output=True, text=True, check=False
        )
    except FileNotFoundError:
        return None
    status, _, version = out.stdout.partition("|")
    return version if out.returncode == 0 and status.endswith(" installed") else None


def ensure_installed(log: Path) -> None:
    """``apt-get install`` the two packages if either is missing; keep the system service stopped."""
    if all(package_version(p) for p in PACKAGES) and ORTHANC_BINARY.exists():
        return
    if shutil.which("apt-get") is None:
        raise OrthancUnavailable("Orthanc is not installed and apt-get is not available")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    with open(log, "ab") as out:
        done = subprocess.run(
            ["apt-get", "install", "-y", "--no-install-recommends", *PACKAGES],
            env=env, stdout=out, stderr=subprocess.STDOUT, check=False,
        )
    if done.returncode != 0:
        raise OrthancUnavailable(f"apt-get install {' '.join(PACKAGES)} failed; see {log}")
    stop_system_service()


def stop_system_service() -> None:
    """apt may start the packaged service (it listens on 8042 and 4242): stop it."""
    if shutil.which("service") is None:
        return
    status = subprocess.run(["service", "orthanc", "status"], capture_output=True, check=False)
    if status.returncode == 0:
        subprocess.run(["service", "orthanc", "stop"], capture_output=True, check=False)


def dicomweb_plugin_path() -> Path:
    """The plugin's ``.so`` as the package installed it (``dpkg -L orthanc-dicomweb``)."""
    listing = subprocess.run(["dpkg", "-L", PLUGIN_PACKAGE], capture_output=True, text=True, check=False).stdout
    candidates = [Path(line) for line in listing.splitlines() if line.endswith(".so") and "DicomWeb" in line]
    for path in candidates:
        if path.exists():
            return path
    raise OrthancUnavailable(f"no DICOMweb plugin found in {PLUGIN_PACKAGE}")


def orthanc_config(port: int, storage: Path, plugin: Path, *, lua: Path | None = None,
                   stable_age: int | None = None) -> dict[str, object]:
    """The generated configuration: loopback clients only, no DICOM listener, no auth; with
    ``lua`` a Lua script and with ``stable_age`` the seconds after which a study without new
    instances is "stable" (the study events measurement)."""
    extra: dict[str, object] = {}
    if lua is not None:
        extra["LuaScripts"] = [str(lua)]
    if stable_age is not None:
        extra["StableAge"] = stable_age
    return {
        "Name": "beamit-bench-peer",
        "HttpPort": port,
        "HttpServerEnabled": True,
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        "DicomServerEnabled": False,
        "StorageDirectory": str(storage / "storage"),
        "IndexDirectory": str(storage / "index"),
        "Plugins": [str(plugin)],
        "DicomWeb": {"Enable": True, "Root": DICOMWEB_ROOT},
        # Everything else is Orthanc's default; only the socket timeout is raised for 1 GB bodies.
        "HttpRequestTimeout": 600,
        **extra,
    }


def _answers_ok(url: str) -> Callable[[], bool]:
    """A readiness probe: ``url`` answers 2xx (not merely any HTTP status)."""

    def probe() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return bool(200 <= response.status < 300)
        except (urllib.error.HTTPError, OSError):
            return False

    return probe


class OrthancPeer:
    """One Orthanc process on a free loopback port, with its data in a temporary directory."""

    def __init__(self, log_dir: Path, *, lua: str | None = None, stable_age: int | None = None) -> None:
        self.log_dir = log_dir
        self.lua = lua
        self.stable_age = stable_age
        self.port = free_port()
        self._tmp = Path(tempfile.mkdtemp(prefix="beamit-bench-orthanc-"))
        self.config_path = self._tmp / "orthanc.json"
        self.process: ManagedProcess | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def dicomweb_url(self) -> str:
        return self.url + DICOMWEB_ROOT.rstrip("/")

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def start(self, timeout: float = 60.0, ready_path: str = "/system") -> float:
        """Start Orthanc; return the seconds from process start to its first answer to ``ready_path``."""
        if not self.config_path.exists():
            lua_path = None
            if self.lua is not None:
                lua_path = self._tmp / "bench.lua"
                lua_path.write_text(self.lua)
            config = orthanc_config(self.port, self._tmp, dicomweb_plugin_path(), lua=lua_path,
                                    stable_age=self.stable_age)
            self.config_path.write_text(json.dumps(config, indent=2))
        argv = [str(ORTHANC_BINARY), str(self.config_path)]
        started = time.perf_counter()
        self.process = ManagedProcess("orthanc", argv, env=dict(os.environ), log_dir=self.log_dir).start()
        ready = _answers_ok(f"{self.url}{ready_path}")
        while not ready():  # polled every 10 ms: Orthanc starts in about 0.1 s
            if not self.process.running():
                raise OrthancUnavailable(f"Orthanc exited early; see {self.process.log_path}:\n{self.process.tail()}")
            if time.perf_counter() - started > timeout:
                raise OrthancUnavailable(f"Orthanc not ready after {timeout:.0f} s; see {self.process.log_path}")
            time.sleep(0.01)
        return time.perf_counter() - started

    def version(self) -> str:
        """Orthanc and DICOMweb plugin versions as the server reports them."""
        with urllib.request.urlopen(f"{self.url}/system", timeout=10) as resp:
            system = json.loads(resp.read())
        with urllib.request.urlopen(f"{self.url}/plugins/dicom-web", timeout=10) as resp:
            plugin = json.loads(resp.read())
        return f"Orthanc {system.get('Version')}, DICOMweb plugin {plugin.get('Version')}"

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self._tmp, ignore_errors=True)
