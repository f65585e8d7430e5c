"""Looking after team-server accounts (issue 17): password resets and changes, disabled accounts, removals.

``recoverystudy server set-password / disable-account / enable-account / remove-member`` and the
"Change my password" page; each with the attacks it must stop (an old session after a reset, a
disabled person's cookie, a wrong current password, a missing CSRF token, guessing).
Against a throwaway PostgreSQL (skips outside CI without its binaries; fails under CI=true).
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from pg_fixtures import pg_server  # noqa: F401  (fixture)
from team_fixtures import PASSWORD, TestClient, login, team  # noqa: F401  (fixture)

import recoverystudy as rs
from recoverystudy.cli import main
from recoverystudy.server.access import project_url
from recoverystudy.server.directory import UnknownAccountError, WrongPasswordError

NEW = "a new and longer passphrase"


def _person(team, username: str, role: str = "coder", project: str = "alpha"):
    d = team.directory
    account = d.create_account(username, PASSWORD)
    d.add_member(project, account, role)
    return account


def _cli(team, *args, input=None):
    return CliRunner().invoke(main, ["server", args[0], "--db", team.db, *args[1:]], input=input)


def _status_of_login(team, username, password) -> int:
    c = TestClient(team.app)  # (not as a context manager: leaving one would stop the shared app)
    try:
        return c.post("/login", data={"username": username, "password": password}, follow_redirects=False).status_code
    finally:
        c.close()


def _audit(team, action):
    return [e for e in team.client("lead").get("/api/projects/alpha/audit").json()["audit"] if e["action"] == action]


def test_set_password_asks_twice_and_ends_every_session(team):
    _person(team, "pat")
    old_session = login(team.app, "pat")
    assert old_session.get("/api/me").status_code == 200
    r = _cli(team, "set-password", "--username", "pat", input=f"{NEW}\nnot the same one at all\n{NEW}\n{NEW}\n")
    assert r.exit_code == 0, r.output
    assert "do not match" in r.output  # a mistyped confirmation is asked again, never half-applied
    assert "New password set for pat; ended 1 session(s)." in r.output
    assert NEW not in r.output  # hidden input: the password is never echoed
    # the session from before the reset is refused, for reading and for writing
    assert old_session.get("/api/me").status_code == 401
    assert old_session.post("/p/alpha/api/documents/1/segments",
                            json={"codes": ["risk/risk_assessment"], "start": 0, "end": 11}).status_code == 401
    old_session.close()
    assert _status_of_login(team, "pat", PASSWORD) == 401
    assert _status_of_login(team, "pat", NEW) == 303
    (entry,) = _audit(team, "account.password_reset")
    assert (entry["target"], entry["user"]) == ("pat", None)
    assert entry["after"] == {"sessions_ended": 1, "by": "command line"}


def test_set_password_from_a_file_checks_strength_and_names_the_user(team, tmp_path):
    _person(team, "quinn")
    weak = tmp_path / "weak.txt"
    weak.write_text("short\n", encoding="utf-8")
    r = _cli(team, "set-password", "--username", "quinn", "--password-file", str(weak))
    assert r.exit_code == 2 and "at least 12 characters" in r.output
    assert _status_of_login(team, "quinn", PASSWORD) == 303  # unchanged
    good = tmp_path / "good.txt"
    good.write_text(NEW + "\n", encoding="utf-8")
    r = _cli(team, "set-password", "--username", "quinn", "--password-file", str(good))
    assert r.exit_code == 0, r.output
    assert _status_of_login(team, "quinn", NEW) == 303
    r = _cli(team, "set-password", "--username", "nosuch", "--password-file", str(good))
    assert r.exit_code == 2 and "no account named 'nosuch'" in r.output
    with pytest.raises(UnknownAccountError) as err:
        team.directory.set_password("nosuch", NEW)
    assert err.value.username == "nosuch"


def _browser(team, username, password=PASSWORD):
    """A logged-in client that posts forms the way the page does (token in a hidden field); its token."""
    c = TestClient(team.app)
    assert c.post("/login", data={"username": username, "password": password},
                  follow_redirects=False).status_code == 303
    page = c.get("/account/password")
    assert page.status_code == 200 and 'name="csrf_token"' in page.text
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    return c, token


def test_change_own_password_on_the_web_page(team):
    _person(team, "robin")
    here, token = _browser(team, "robin")
    elsewhere, _ = _browser(team, "robin")
    assert 'href="/account/password"' in here.get("/").text
    form = {"current": PASSWORD, "new": NEW, "again": NEW}
    # no CSRF token, or another session's: refused, nothing changed
    r = here.post("/account/password", data=form)
    assert r.status_code == 403 and "security token" in r.text
    r = here.post("/account/password", data={**form, "csrf_token": _browser(team, "coder")[1]})
    assert r.status_code == 403
    # the wrong current password, or two different new ones: refused with a plain message
    r = here.post("/account/password", data={**form, "current": "wrong password here", "csrf_token": token})
    assert r.status_code == 403 and "current password given for &#39;robin&#39; is wrong" in r.text
    r = here.post("/account/password", data={**form, "again": NEW + "!", "csrf_token": token})
    assert r.status_code == 400 and "The two new passwords differ" in r.text
    r = here.post("/account/password", data={"current": PASSWORD, "new": "short", "again": "short",
                                            "csrf_token": token})
    assert r.status_code == 400 and "at least 12 characters" in r.text
    assert _status_of_login(team, "robin", PASSWORD) == 303 and _audit(team, "account.password_change") == []
    # done: this session goes on, every other one ends
    r = here.post("/account/password", data={**form, "csrf_token": token})
    assert r.status_code == 200 and "Your password is changed" in r.text and "2 other" in r.text
    assert here.get("/api/me").status_code == 200
    assert elsewhere.get("/api/me").status_code == 401
    assert _status_of_login(team, "robin", PASSWORD) == 401 and _status_of_login(team, "robin", NEW) == 303
    (entry,) = _audit(team, "account.password_change")
    assert (entry["user"], entry["target"], entry["after"]) == ("robin", "robin", {"other_sessions_ended": 2})
    here.close(), elsewhere.close()


def test_guessing_the_current_password_is_rate_limited(team):
    account = _person(team, "sasha")
    c, token = _browser(team, "sasha")
    with pytest.raises(WrongPasswordError) as err:
        team.directory.change_password(account, "first guess", NEW, "testclient")
    assert (err.value.username, err.value.status) == ("sasha", 403)
    for i in range(4):  # the team fixture allows 5 failures per name in 15 minutes
        r = c.post("/account/password", data={"current": f"guess number {i}", "new": NEW, "again": NEW,
                                              "csrf_token": token})
        assert r.status_code == 403
    r = c.post("/account/password", data={"current": PASSWORD, "new": NEW, "again": NEW, "csrf_token": token})
    assert r.status_code == 429 and "Too many failed" in r.text  # even the right one now waits
    assert _status_of_login(team, "sasha", PASSWORD) == 429  # and so do logins: one budget for guessing
    c.close()


def test_disabled_account_is_locked_out_at_once_and_its_coding_stays(team):
    _person(team, "dee")
    c = login(team.app, "dee")
    r = c.post("/p/alpha/api/documents/1/segments", json={"codes": ["risk/risk_assessment"], "start": 0, "end": 11})
    assert r.status_code == 201, r.text
    (seg,) = r.json()["ids"]
    r = _cli(team, "disable-account", "--username", "dee")
    assert r.exit_code == 0 and "The account dee is disabled; ended 1 session(s)." in r.output
    # the old cookie is refused for every request, reads and writes
    assert c.get("/api/me").status_code == 401
    assert c.get("/p/alpha/").status_code == 401
    assert c.post("/p/alpha/api/documents/1/segments",
                  json={"codes": ["risk/risk_assessment"], "start": 12, "end": 20}).status_code == 401
    # the right password is told the account is disabled; a wrong one learns nothing
    t = TestClient(team.app)
    r = t.post("/login", data={"username": "dee", "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 403 and "disabled" in r.text
    r = t.post("/login", data={"username": "dee", "password": "not the password"}, follow_redirects=False)
    assert r.status_code == 401 and "disabled" not in r.text
    t.close()
    proj = rs.Project.open(project_url(team.db, "alpha"))
    try:
        segs = proj.segments()
        assert segs.set_index("segment_id").loc[seg, "coder"] == "dee"
    finally:
        proj.close()
    (entry,) = _audit(team, "account.disable")
    assert (entry["target"], entry["before"], entry["after"]["disabled"]) == ("dee", {"disabled": False}, True)
    r = _cli(team, "enable-account", "--username", "dee")
    assert r.exit_code == 0 and "can log in again" in r.output
    assert _status_of_login(team, "dee", PASSWORD) == 303
    assert c.get("/api/me").status_code == 401  # the old session does not come back
    assert _cli(team, "disable-account", "--username", "nobody").output.strip() == \
        "Error: There is no account named 'nobody' on this server."
    c.close()


def test_remove_member_from_the_command_line(team):
    _person(team, "eli", "viewer")
    c = login(team.app, "eli")
    assert c.get("/p/alpha/").status_code == 200
    r = _cli(team, "remove-member", "--project", "alpha", "--username", "eli")
    assert r.exit_code == 0 and "eli (was viewer) is no longer a member of alpha." in r.output
    assert c.get("/p/alpha/").status_code == 404  # at once, with the same session
    assert c.get("/api/me").json()["projects"] == []
    (entry,) = _audit(team, "member.remove")
    assert (entry["target"], entry["before"]) == ("eli", {"role": "viewer"})
    r = _cli(team, "remove-member", "--project", "alpha", "--username", "eli")
    assert r.exit_code == 2 and "The account 'eli' is not a member of the project 'alpha'." in r.output
    r = _cli(team, "remove-member", "--project", "beta", "--username", "ghost")
    assert r.exit_code == 2 and "no account named 'ghost'" in r.output
    c.close()


@pytest.mark.parametrize("headers, status", [
    ({"Origin": "null", "Sec-Fetch-Site": "same-origin"}, 303),  # what Chromium sends (Referrer-Policy: no-referrer)
    ({"Origin": "null"}, 403),  # an opaque origin with nothing to vouch for it
    ({"Origin": "null", "Sec-Fetch-Site": "cross-site"}, 403),
    ({"Origin": "null", "Sec-Fetch-Site": "same-site"}, 403),  # another host of the same university
    ({"Origin": "https://evil.example", "Sec-Fetch-Site": "same-origin"}, 403),
])
def test_login_form_from_a_browser_and_from_other_sites(team, headers, status):
    c = TestClient(team.app)
    r = c.post("/login", data={"username": "lead", "password": PASSWORD}, headers=headers, follow_redirects=False)
    assert r.status_code == status, r.text
    assert ("set-cookie" in r.headers) == (status == 303)
    c.close()
