"""The notifier's few web pages (people open them from an email, not through the API):
the unsubscribe confirmation and its answers, in the recipient's language."""

from __future__ import annotations

from urllib.parse import urlencode

from tandem_notifier.domain.i18n import FALLBACK, strings
from tandem_notifier.mail import environment
from tandem_notifier.service.unsubscribe import EmailStatus


def _page(language: str, message: str, action: str | None = None) -> str:
    view = {"language": language, "t": strings(language), "message": message, "action": action}
    return environment.get_template("unsubscribe.html.j2").render(view)


def unsubscribe_confirm(status: EmailStatus, token: str) -> str:
    """Asks before stopping email (a button POSTs the link back); says it is done if email
    already stopped."""
    t = strings(status.language)
    if not status.receiving:
        return unsubscribe_done(status)
    # Relative to /v1/unsubscribe, so the form works behind any path prefix.
    action = f"unsubscribe?{urlencode({'token': token})}"
    return _page(status.language, t["unsubscribe.confirm"].format(who=status.address), action)


def unsubscribe_done(status: EmailStatus) -> str:
    message = strings(status.language)["unsubscribe.done"].format(who=status.address)
    return _page(status.language, message)


def bad_link() -> str:
    """A link we did not sign names nobody: the page cannot know their language."""
    return _page(FALLBACK, strings(FALLBACK)["unsubscribe.invalid"])
