"""botocore sessions for tests: fresh ones (credentials resolved anew from the environment) on a shared model loader."""

from __future__ import annotations

from typing import Any

import botocore.loaders
import botocore.session

# Parsing service models is most of the ~100 ms a new session costs; the loader caches them, so share one.
_LOADER = botocore.loaders.create_loader()


def botocore_session() -> Any:
    """A new botocore session that reuses already-parsed service models."""
    session = botocore.session.get_session()
    session.register_component("data_loader", _LOADER)
    return session
