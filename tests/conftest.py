"""Make the collection importable as ansible_collections.fleetpatch.hybrid (make collection links it)."""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(ROOT, ".cache", "collections")
LINK = os.path.join(COLLECTIONS, "ansible_collections", "fleetpatch", "hybrid")
if not os.path.exists(LINK):
    os.makedirs(os.path.dirname(LINK), exist_ok=True)
    os.symlink("../../../..", LINK)
sys.path.insert(0, COLLECTIONS)
