"""``python -m emulators.kms``: run the Cloud KMS emulator (see README.md)."""

import sys

from .server import main

sys.exit(main())
