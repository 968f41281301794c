"""The chat platforms Frontdesk takes webhooks from, by the name in the webhook's path.

An adapter is imported when a request first names it: a function serves one platform per request,
and the helpers in this package (payloads) are shared with code that never parses a webhook, such
as the senders, which should not pay for five adapters at cold start.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from frontdesk.chat.providers.base import Provider

# name in the path -> (module in this package, adapter class)
_ADAPTERS = {
    "generic": ("generic", "GenericProvider"),
    "telegram": ("telegram", "TelegramProvider"),
    "slack": ("slack", "SlackProvider"),
    "meta": ("meta", "MetaProvider"),
    "twilio": ("twilio", "TwilioProvider"),
}


@cache
def _adapter(name: str) -> Provider:
    module, class_name = _ADAPTERS[name]
    adapter: Provider = getattr(importlib.import_module(f"{__name__}.{module}"), class_name)()
    return adapter


class _Providers(Mapping[str, "Provider"]):
    def __getitem__(self, name: str) -> Provider:
        if name not in _ADAPTERS:
            raise KeyError(name)
        return _adapter(name)

    def __iter__(self) -> Iterator[str]:
        return iter(_ADAPTERS)

    def __len__(self) -> int:
        return len(_ADAPTERS)


PROVIDERS: Mapping[str, Provider] = _Providers()

__all__ = ["PROVIDERS"]
