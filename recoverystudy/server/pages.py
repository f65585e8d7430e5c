"""The team server's HTML pages: log in, accept an invitation, choose a project (autoescaped templates)."""

from __future__ import annotations

from typing import Any

import jinja2
from starlette.responses import HTMLResponse

__all__ = ["page"]

_BASE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }} · recoverystudy team server</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main>
<h1>{{ title }}</h1>
{% if message %}<p role="alert">{{ message }}</p>{% endif %}
{% block body %}{% endblock %}
</main></body></html>"""

_TEMPLATES = {
    "base.html": _BASE,
    "login.html": """{% extends "base.html" %}{% block body %}
<form method="post" action="/login">
<p><label>User name <input name="username" autocomplete="username" required></label></p>
<p><label>Password <input name="password" type="password" autocomplete="current-password" required></label></p>
<p><button type="submit">Log in</button></p>
</form>{% endblock %}""",
    "invite.html": """{% extends "base.html" %}{% block body %}
{% if invitation %}
<p>You are invited to the project <strong>{{ invitation.project }}</strong> as <strong>{{ invitation.role }}</strong>.
Choose a user name and a password of at least 12 characters.</p>
<form method="post">
<p><label>User name <input name="username" autocomplete="username" required></label></p>
<p><label>Your name as others see it <input name="display_name"></label></p>
<p><label>Password <input name="password" type="password" autocomplete="new-password" minlength="12" required>
</label></p>
<p><button type="submit">Create my account</button></p>
</form>
{% endif %}{% endblock %}""",
    "home.html": """{% extends "base.html" %}{% block body %}
<p>Logged in as {{ account.display_name }} ({{ account.username }}).</p>
{% if projects %}<ul>{% for p in projects %}<li><a href="/p/{{ p.project }}/">{{ p.project }}</a> — {{ p.role }}</li>{% endfor %}</ul>
{% else %}<p>You are not a member of any project yet.</p>{% endif %}
<p><a href="/account/password">Change my password</a></p>
<form method="post" action="/logout"><input type="hidden" name="csrf_token" value="{{ csrf }}">
<button type="submit">Log out</button></form>{% endblock %}""",
    "password.html": """{% extends "base.html" %}{% block body %}
{% if done %}<p>Your password is changed. {% if ended %}You were logged out everywhere else ({{ ended }} other
session{{ "s" if ended != 1 }}).{% endif %}</p>
{% else %}<p>Logged in as {{ account.display_name }} ({{ account.username }}). The new password needs at least
12 characters. Changing it logs you out on every other computer.</p>
<form method="post" action="/account/password"><input type="hidden" name="csrf_token" value="{{ csrf }}">
<p><label>Current password <input name="current" type="password" autocomplete="current-password" required>
</label></p>
<p><label>New password <input name="new" type="password" autocomplete="new-password" minlength="12" required>
</label></p>
<p><label>New password again <input name="again" type="password" autocomplete="new-password" minlength="12"
required></label></p>
<p><button type="submit">Change my password</button></p>
</form>{% endif %}
<p><a href="/">Back to your projects</a></p>{% endblock %}""",
}

_ENV = jinja2.Environment(loader=jinja2.DictLoader(_TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined)


def page(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """Render one of the server's pages (every value HTML-escaped)."""
    context.setdefault("message", "")
    return HTMLResponse(_ENV.get_template(template).render(**context), status_code=status)
