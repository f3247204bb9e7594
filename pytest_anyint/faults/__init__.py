"""Faults: errors injected on purpose, to prove an app survives them.

Owns the one fault engine, used by the interceptor and by the emulator alike: the wire shapes of
faults (error bodies and headers, broken bodies and streams cut from a family's own answer,
``wire``), the fault record, its validation and the fault plan of a case (``plan``), and the
fallback policy check after a fault case (``policy``).

May import: the standard library, third-party libraries and the ground modules; never another
subpackage.
"""

from .plan import Fault, FaultPlan, make_fault, validate
from .policy import check_policy, describe_fault
from .wire import Wire, body_fault_wire, error_body, error_headers, transport_error, wire_response

__all__ = [
    "Fault",
    "FaultPlan",
    "Wire",
    "body_fault_wire",
    "check_policy",
    "describe_fault",
    "error_body",
    "error_headers",
    "make_fault",
    "transport_error",
    "validate",
    "wire_response",
]
