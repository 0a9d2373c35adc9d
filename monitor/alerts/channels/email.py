"""The ``email`` channel: one plain-text mail per grouped notification, over SMTP.

``Message-ID`` derives from the notification's idempotency key, so a mail re-sent after an
ambiguous failure is recognisably the same message. 4xx SMTP replies and connection problems
are retried; 5xx replies (a refused recipient, bad credentials) are not. The password is
redacted from every recorded error.
"""

from __future__ import annotations

import hashlib
import smtplib
from email.message import EmailMessage
from typing import Any

from pydantic import ConfigDict, Field, field_validator, model_validator

from monitor.alerts.channels.base import Channel, ChannelConfig, Delivery
from monitor.alerts.messages import body, headline
from monitor.outbound import OutboundRefused, smtp_class
from monitor.plugins import channel


class EmailConfig(ChannelConfig):
    """Email over SMTP: ``to`` one address or a list, ``host``/``port`` of the relay."""

    to: list[str]
    sender: str = Field("modelwatch@localhost", alias="from")
    host: str = "localhost"
    port: int = Field(25, ge=1, le=65535)
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    ssl: bool = False
    timeout: float = Field(10.0, gt=0)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @classmethod
    def expand(cls, value: Any) -> Any:
        """``{email: oncall@example.com}`` is ``{email: {to: [oncall@example.com]}}``."""
        return {"to": [value]} if isinstance(value, str) else value or {}

    @field_validator("to", mode="before")
    @classmethod
    def _addresses(cls, value):
        addresses = [value] if isinstance(value, str) else value
        if not addresses or not all(isinstance(a, str) and "@" in a for a in addresses):
            raise ValueError("expected one or more email addresses")
        return addresses

    @model_validator(mode="after")
    def _one_tls_mode(self) -> "EmailConfig":
        if self.ssl and self.starttls:
            raise ValueError("choose ssl (implicit TLS) or starttls, not both")
        return self


def compose(config: EmailConfig, payload: dict[str, Any], idempotency_key: str) -> EmailMessage:
    mail = EmailMessage()
    mail["Subject"] = headline(payload)
    mail["From"] = config.sender
    mail["To"] = ", ".join(config.to)
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
    mail["Message-ID"] = f"<{digest}@modelwatch>"
    mail.set_content(body(payload))
    return mail


@channel("email")
class EmailChannel(Channel):
    """Sends one plain-text mail per notification over SMTP; the password is redacted from errors."""

    Config = EmailConfig

    def __init__(self, config: EmailConfig):
        self.config = config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "EmailChannel":
        return cls(EmailConfig.model_validate(config))

    def secrets(self) -> list[str]:
        return [self.config.password] if self.config.password else []

    def send(self, payload: dict[str, Any], *, idempotency_key: str) -> Delivery:
        c = self.config
        client = smtp_class("email host", c.ssl)
        try:
            with client(c.host, c.port, timeout=c.timeout) as smtp:
                if c.starttls:
                    smtp.starttls()
                if c.username:
                    smtp.login(c.username, c.password or "")
                refused = smtp.send_message(compose(c, payload, idempotency_key))
        except OutboundRefused as exc:
            return Delivery(False, str(exc), retryable=False)
        except smtplib.SMTPResponseException as exc:
            return Delivery(False, self.redact(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}"),
                            retryable=400 <= exc.smtp_code < 500)
        except smtplib.SMTPRecipientsRefused as exc:
            return Delivery(False, f"every recipient refused: {sorted(exc.recipients)}")
        except (smtplib.SMTPException, OSError) as exc:
            return Delivery(False, self.redact(f"{type(exc).__name__}: {exc}"), retryable=True)
        if refused:
            return Delivery(True, f"sent; refused by the relay: {sorted(refused)}")
        return Delivery(True, f"sent to {len(c.to)} recipient(s)")
