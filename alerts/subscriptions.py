"""Residents' subscriptions to public rules: double opt-in (a confirmation mail, rate-limited per
client address and per mailbox), confirmation, and one-click unsubscribe (a resident's token, or
a staff recipient's signed rule and address)."""
from __future__ import annotations

import hashlib
import html as _html
import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alerts.config import AlertConfig
from alerts.notification import read_unsubscribe
from i18n import t
from store import alerts as sa

SUBSCRIBE_LIMIT_PER_CLIENT = 5  # requests per hour from one address
SUBSCRIBE_LIMIT_PER_EMAIL = 3  # confirmation mails per hour to one mailbox


class RateLimited(Exception):
    pass


def public_rules(s: Session) -> list[sa.AlertRule]:
    return list(s.scalars(select(sa.AlertRule).where(sa.AlertRule.public.is_(True), sa.AlertRule.paused.is_(False))
                          .order_by(sa.AlertRule.name)))


def request_subscription(s: Session, config: AlertConfig, rule_id: int, email: str, lang: str, client: str,
                         now: datetime | None = None) -> sa.Subscription:
    """Double opt-in, step 1: store the (unconfirmed) subscription and queue the confirmation mail.
    Raises ValueError (bad input) or RateLimited."""
    now = now or config.now()
    email = (email or "").strip()
    if not re.fullmatch(r"[^@\s<>\"',;]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}", email) or len(email) > 254:
        raise ValueError("alerts.sub.bad_email")
    rule = s.get(sa.AlertRule, rule_id)
    if rule is None or not rule.public or rule.paused:
        raise ValueError("alerts.sub.bad_rule")
    client_hash = hashlib.sha256(f"{config.secret_key}:{client}".encode()).hexdigest()[:32]
    hour_ago = now - timedelta(hours=1)
    recent = s.scalar(select(func.count()).select_from(sa.Subscription)
                      .where(sa.Subscription.client == client_hash, sa.Subscription.created_at >= hour_ago))
    by_mail = s.scalar(select(func.count()).select_from(sa.OutboxMail)
                       .where(sa.OutboxMail.kind == "confirm", sa.OutboxMail.to_addr == email,
                              sa.OutboxMail.created_at >= hour_ago))
    if recent >= SUBSCRIBE_LIMIT_PER_CLIENT or by_mail >= SUBSCRIBE_LIMIT_PER_EMAIL:
        raise RateLimited()
    sub = s.scalar(select(sa.Subscription).where(sa.Subscription.rule_id == rule_id,
                                                 sa.Subscription.email == email.lower()))
    if sub is None:
        sub = sa.Subscription(rule_id=rule_id, email=email.lower(), language=lang, token=secrets.token_urlsafe(24),
                              client=client_hash, created_at=now)
        s.add(sub)
    else:  # asking again re-sends the confirmation (and re-opens an unsubscribed one, unconfirmed)
        sub.created_at, sub.client, sub.language = now, client_hash, lang
        if sub.unsubscribed_at is not None:
            sub.unsubscribed_at, sub.confirmed_at = None, None
            sub.token = secrets.token_urlsafe(24)
    s.flush()
    if sub.confirmed_at is None:
        url = f"{config.base_url}/alerts/confirm?token={sub.token}"
        subject = f"[{t('app.short', lang)}] {t('alerts.sub.confirm_subject', lang, rule=rule.name)}"
        text = t("alerts.sub.confirm_text", lang, rule=rule.name, url=url) + "\n"
        body_html = (f'<!doctype html><html lang="{lang}"><body style="font-family:sans-serif">'
                     f'<p>{_html.escape(t("alerts.sub.confirm_lead", lang, rule=rule.name))}</p>'
                     f'<p><a href="{_html.escape(url)}">{_html.escape(t("alerts.sub.confirm_button", lang))}</a></p>'
                     f'<p style="font-size:12px;color:#52606d">{_html.escape(t("alerts.sub.confirm_ignore", lang))}</p>'
                     f'</body></html>')
        sa.enqueue(s, f"confirm:{sub.id}:{int(now.timestamp())}:{sub.token[:8]}", email, subject, text, body_html,
                   config.mail_from, rule_id=rule.id, organisation_id=rule.organisation_id, kind="confirm", now=now)
    return sub


def confirm_subscription(s: Session, token: str, now: datetime, apply: bool = True) -> sa.Subscription | None:
    """The subscription of a confirmation link (None: unknown or ended); apply=False only looks."""
    sub = s.scalar(select(sa.Subscription).where(sa.Subscription.token == token)) if token else None
    if sub is None or sub.unsubscribed_at is not None:
        return None
    if apply and sub.confirmed_at is None:
        sub.confirmed_at = now
    return sub


def unsubscribe(s: Session, config: AlertConfig, now: datetime, token: str = "", signed: str = "",
                apply: bool = True) -> bool:
    """One click: a resident's token, or a staff recipient's signed (rule, address).
    apply=False only tells whether the link is good (the page that asks before acting)."""
    if token:
        sub = s.scalar(select(sa.Subscription).where(sa.Subscription.token == token))
        if sub is None:
            return False
        if apply and sub.unsubscribed_at is None:
            sub.unsubscribed_at = now
        return True
    found = read_unsubscribe(config, signed) if signed else None
    if found is None or s.get(sa.AlertRule, found[0]) is None:
        return False
    if apply:
        sa.suppress(s, found[0], found[1])
    return True
