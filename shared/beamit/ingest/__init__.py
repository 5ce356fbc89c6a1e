"""The one ingest core: STOW-RS requests and bucket uploads both store through it.

An instance is acknowledged only when its bytes are in the DICOM bucket and its metadata
is committed in Firestore; a failure leaves nothing visible, or a state a retry completes.
"""
