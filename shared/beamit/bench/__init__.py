"""``make bench``: BeamIt beside Orthanc (with its DICOMweb plugin), measured in one run.

Local tooling, never deployed (``scripts/package_functions.py`` leaves ``beamit/bench/`` out).
:mod:`~beamit.bench.run` starts the local stack (:class:`~beamit.devstack.stack.LocalStack`)
and an Orthanc on loopback (:mod:`~beamit.bench.orthanc`), loads the same synthetic data
(:mod:`~beamit.bench.workload`, from :mod:`beamit.sandbox`) into both with the same
``dicomweb_client.DICOMwebClient``, and runs the phases: STOW-RS throughput and gateway
memory (:mod:`~beamit.bench.stow`), WADO-RS latencies (:mod:`~beamit.bench.retrieve`),
QIDO-RS at two tenant sizes (:mod:`~beamit.bench.search`), and function cold starts
(:mod:`~beamit.bench.coldstart`). Every phase has a time budget and every request loop a
count and a deadline (:mod:`~beamit.bench.budget`, :mod:`~beamit.bench.modes`); results
become one table (:mod:`~beamit.bench.report`) printed and written to ``docs/benchmarks.md``
(:mod:`~beamit.bench.doc`). Nothing here asserts on timings.
"""
