"""Who may see what, decided without Streamlit: the role map, the signed-in user's claims and the
role a visitor gets when nobody signs in. Shared by the app (dashboard/app.py, dashboard/data.py)
and `eqdash serve`, which validates the same things before the server starts.

Every rule fails closed: a role map that cannot be read gives nobody a role; a signed-in user whose
email is not verified gets none; without sign-in and without an explicit role a visitor gets the
least privileged role (staff association: disclosure-controlled aggregates only).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from metrics.config import ROLES, STAFF_ASSOCIATION

LEAST_ROLE = STAFF_ASSOCIATION
# Most restricted first: a user listed under two roles gets the first of them.
RESTRICTION_ORDER = ("staff_association", "board", "analyst")
DEFAULT_VERIFIED_CLAIM = "email_verified"


class RoleMapError(ValueError):
    """The role map cannot be used: the message names the file and what is wrong."""


def load_role_map(path: str | os.PathLike) -> dict[str, list[str]]:
    """The role map ({role: [emails]}) from a YAML file, validated; RoleMapError says what is wrong."""
    import yaml

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RoleMapError(f"{path}: the role map file does not exist") from None
    except (OSError, UnicodeDecodeError) as e:
        raise RoleMapError(f"{path}: the role map cannot be read ({type(e).__name__}: {e})") from None
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as e:
        raise RoleMapError(f"{path}: the role map is not valid YAML ({str(e).splitlines()[0]})") from None
    if not isinstance(data, Mapping):
        raise RoleMapError(f"{path}: the role map must be a mapping of role -> list of emails")
    unknown = sorted(str(k) for k in set(data) - set(ROLES))
    if unknown:
        raise RoleMapError(f"{path}: unknown role(s) {unknown}; roles are {', '.join(ROLES)}")
    out: dict[str, list[str]] = {}
    for role, emails in data.items():
        if emails is None:
            emails = []
        if not isinstance(emails, list):
            # A bare string would otherwise be read letter by letter ("a", "b", ...).
            raise RoleMapError(f"{path}: '{role}' must be a list of emails (e.g. {role}: [name@force.police.uk]), "
                               f"not {type(emails).__name__} {emails!r}")
        bad = [e for e in emails if not isinstance(e, str) or "@" not in e]
        if bad:
            raise RoleMapError(f"{path}: '{role}' has entries that are not email addresses: {bad!r}")
        out[role] = [e.strip() for e in emails]
    return out


def role_for_email(email: str | None, role_map: Mapping[str, list[str]]) -> str | None:
    """The role a signed-in user has in the role map, or None.

    Emails compare case-insensitively; a user listed under two roles gets the most restricted one
    (staff association, then board, then analyst), so a mapping mistake never widens access.
    """
    if not email:
        return None
    email = email.strip().lower()
    found = [role for role, emails in (role_map or {}).items()
             if role in ROLES and email in {str(e).strip().lower() for e in (emails or [])}]
    for role in RESTRICTION_ORDER:
        if role in found:
            return role
    return None


def role_for_user(user: Mapping[str, Any], role_map: Mapping[str, list[str]],
                  verified_claim: str | None = DEFAULT_VERIFIED_CLAIM) -> str | None:
    """The role of a signed-in user's claims: only when the email is verified by the identity
    provider (the claim named `verified_claim`, true or "true"); None otherwise. An empty
    `verified_claim` turns the check off (for a provider that only issues verified emails)."""
    if verified_claim:
        verified = user.get(verified_claim)
        if not (verified is True or (isinstance(verified, str) and verified.strip().lower() == "true")):
            return None
    return role_for_email(user.get("email"), role_map)


def env_role() -> str:
    """The role without sign-in: EQDASH_ROLE if set, else the least privileged role (fail closed)."""
    r = os.environ.get("EQDASH_ROLE") or LEAST_ROLE
    if r not in ROLES:
        raise ValueError(f"EQDASH_ROLE={r!r} is not a role: choose one of {', '.join(ROLES)}")
    return r


# ---------------------------------------------------------------------------------------------
# Sign-in configuration as `eqdash serve` sees it (Streamlit's secrets files)
# ---------------------------------------------------------------------------------------------

def secrets_files(root: Path) -> list[Path]:
    """Where Streamlit reads secrets for an app run from `root`, in its order."""
    return [Path.home() / ".streamlit" / "secrets.toml", root / ".streamlit" / "secrets.toml"]


def read_secrets(root: Path) -> dict:
    """The secrets Streamlit will see (later files override earlier ones, section by section)."""
    import tomllib

    merged: dict = {}
    for path in secrets_files(root):
        if path.is_file():
            try:
                merged.update(tomllib.loads(path.read_text(encoding="utf-8")))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
                raise RoleMapError(f"{path}: the secrets file cannot be read ({e})") from None
    return merged


def check_sign_in(secrets: Mapping[str, Any]) -> str | None:
    """With sign-in configured ([auth]), the role map it needs, validated: an error message, or None.
    Without [auth] there is nothing to check (None)."""
    if "auth" not in secrets:
        return None
    settings = secrets.get("eqdash") or {}
    path = settings.get("role_map") if isinstance(settings, Mapping) else None
    if not path:
        return "sign-in is configured ([auth]) but the secrets have no eqdash.role_map: nobody could be given a role"
    try:
        load_role_map(path)
    except RoleMapError as e:
        return str(e)
    return None


LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def serving_problem(address: str, *, explicit_role: str | None, sign_in: bool) -> tuple[str | None, str | None]:
    """(error, warning) for serving on `address`. Off this machine the server must have sign-in or
    an explicit role; with an explicit role and no sign-in, every visitor gets that role: say so."""
    if address in LOOPBACK or address.startswith("127."):
        return None, None
    if sign_in:
        return None, f"serving on {address}: reachable from other machines; visitors must sign in"
    if explicit_role is None:
        return (f"serving on {address} would let anyone who can reach this machine in without signing in: "
                "configure sign-in ([auth] and eqdash.role_map in .streamlit/secrets.toml) or pass --role "
                "explicitly"), None
    return None, (f"serving on {address} WITHOUT sign-in: every visitor who can reach this machine is "
                  f"given the {explicit_role.replace('_', ' ')} role")
