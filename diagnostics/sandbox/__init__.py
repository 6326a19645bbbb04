"""The embedded AWS sandbox behind `iamwhy demo`: moto in this process, seeded with the classic AccessDenied causes.

Importing this package does not import moto: only starting a Sandbox does (moto is the [demo] extra).
"""

from diagnostics.sandbox.lifecycle import INSTALL_HINT, Sandbox, SandboxError, SandboxUnavailable
from diagnostics.sandbox.scenarios import SCENARIOS, Expected, ExpectedBlocker, Scenario, ScenarioRequest

__all__ = [
    "INSTALL_HINT",
    "SCENARIOS",
    "Expected",
    "ExpectedBlocker",
    "Sandbox",
    "SandboxError",
    "SandboxUnavailable",
    "Scenario",
    "ScenarioRequest",
]
