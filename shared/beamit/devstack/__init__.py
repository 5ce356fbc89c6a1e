"""The local stack: emulators, resource provisioning and the one-origin gateway.

Used by ``make dev`` (``beamit dev``), by the test suite's session fixture and by the
benchmark. Not deployed behaviour: production runs on the GCP services Terraform defines.
"""
