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

from monitor.alerts.channel_config import EmailConfig
from monitor.alerts.channels.base import Channel, Delivery
from monitor.alerts.messages import body, headline


def compose(config: EmailConfig, payload: dict[str, Any], idempotency_key: str) -> EmailMessage:
    mail = EmailMessage()
    mail["Subject"] = headline(payload)
    mail["From"] = config.sender
    mail["To"] = ", ".join(config.to)
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
    mail["Message-ID"] = f"<{digest}@modelwatch>"
    mail.set_content(body(payload))
    return mail


class EmailChannel(Channel):
    def __init__(self, config: EmailConfig):
        self.config = config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "EmailChannel":
        return cls(EmailConfig.model_validate(config))

    def secrets(self) -> list[str]:
        return [self.config.password] if self.config.password else []

    def send(self, payload: dict[str, Any], *, idempotency_key: str) -> Delivery:
        c = self.config
        client = smtplib.SMTP_SSL if c.ssl else smtplib.SMTP
        try:
            with client(c.host, c.port, timeout=c.timeout) as smtp:
                if c.starttls:
                    smtp.starttls()
                if c.username:
                    smtp.login(c.username, c.password or "")
                refused = smtp.send_message(compose(c, payload, idempotency_key))
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
