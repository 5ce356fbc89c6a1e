"""BeamIt: DICOMweb-native, patient-first medical image sharing.

The domain package. Cloud Function entry points in ``functions/main.py`` are thin
wrappers over the modules here; the storage adapters in :mod:`beamit.storage` are the
only code that talks to Google Cloud services.
"""

__version__ = "0.1.0"
