"""The chat section of the settings: the platforms Frontdesk takes webhooks from and answers on."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from frontdesk.tickets.model import Priority


class ChatProviderSettings(BaseModel):
    """One chat platform Frontdesk takes webhooks from, at POST /chat/<provider>."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # What its requests are signed with: generic, the shared HMAC key; telegram, the
    # setWebhook secret_token; slack, the signing secret; meta, the app secret; twilio, the
    # account's auth token.
    signing_secret: SecretStr
    verify_token: SecretStr | None = Field(None, description="meta: the token of its GET handshake")
    # slack, meta and telegram answer through the platform's API: a bot token (xoxb-...), a page
    # or system-user access token, the Bot API token (123456:ABC...); and where the API is
    # (defaults to the platform's own). twilio needs no token: its auth token is signing_secret,
    # and the account is the one the customer's message came through.
    api_token: SecretStr | None = None
    api_base_url: str | None = Field(None, pattern=r"^https?://[^\s]+$")
    # generic: where agents' replies are POSTed, signed like the webhooks it sends us. Unset:
    # its tickets take notes only.
    callback_url: str | None = Field(None, max_length=2048)
    queue: str = "general"
    priority: Priority = Priority.NORMAL
    tags: tuple[str, ...] = ()
    calendar: str | None = None

    @field_validator("signing_secret")
    @classmethod
    def _not_empty(cls, secret: SecretStr) -> SecretStr:
        if len(secret.get_secret_value()) < 8:
            raise ValueError("use at least 8 characters")
        return secret

    @field_validator("callback_url")
    @classmethod
    def _https_or_local(cls, url: str | None) -> str | None:
        # Imported here: only configurations with a callback need them.
        import ipaddress
        from urllib.parse import urlsplit

        if url is None:
            return None
        try:
            parts = urlsplit(url)
            host = parts.hostname or ""
            _ = parts.port  # raises ValueError for a port that is not a number
        except ValueError:
            raise ValueError("must be an https:// URL") from None
        if any(character.isspace() for character in url) or not host or parts.username is not None:
            raise ValueError("must be an https:// URL with a host (and no user or password)")
        if parts.scheme == "https":
            return url
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = host == "localhost" or host.endswith(".localhost")
        if parts.scheme == "http" and loopback:
            return url  # a receiver on this machine (the local stack, tests)
        raise ValueError("must be an https:// URL (http:// only for localhost)")


class ChatSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    providers: dict[str, ChatProviderSettings] = Field(
        default_factory=dict, description="by provider: generic, telegram, slack, meta, twilio"
    )
    # The public URL the API is reached at (a custom domain, say), for checking Twilio's
    # signature, which covers the URL as Twilio called it. Unset: rebuilt from the request.
    public_base_url: str | None = None

    @field_validator("providers")
    @classmethod
    def _known(cls, providers: dict[str, ChatProviderSettings]) -> dict[str, ChatProviderSettings]:
        known = {"generic", "telegram", "slack", "meta", "twilio"}
        for name in providers:
            if name not in known:
                raise ValueError(f"unknown chat provider {name!r}: use one of {', '.join(sorted(known))}")
        return providers
