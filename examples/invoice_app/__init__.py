"""invoice_app: a small billing back office that calls the AnyInt gateway with explicit model chains.

Three workloads, one per API family, each with its own primary and fallbacks in ``anyint.yaml``:

- ``extract`` (:mod:`.extract`): invoice text to a validated ``Invoice`` (openai SDK, with a
  cross-family google-genai fallback);
- ``chat`` (:mod:`.support`): the billing support assistant (anthropic SDK, streamed);
- ``summarize`` (:mod:`.summarize`): digests of customer emails (google-genai, streamed).

:mod:`.fallback` is the chain every workload runs through; :mod:`.clients` builds the SDK clients
once; :mod:`.routes` reads the chains from the same ``anyint.yaml`` the tests use.
"""

from .clients import Clients, sdk_kwargs
from .extract import Invoice, extract_batch, extract_invoice, extract_invoice_async, extract_invoice_streaming
from .fallback import Answered, ChainExhausted, Failure, Link, MalformedAnswer, classify, run_chain
from .llm import Reply

__all__ = [
    "Answered",
    "ChainExhausted",
    "Clients",
    "Failure",
    "Invoice",
    "Link",
    "MalformedAnswer",
    "Reply",
    "classify",
    "extract_batch",
    "extract_invoice",
    "extract_invoice_async",
    "extract_invoice_streaming",
    "run_chain",
    "sdk_kwargs",
]
