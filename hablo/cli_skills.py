"""`hablo skills list|enable|disable|config --tenant SLUG`: which skills a business runs.

The same rules as `/api/skills` (hablo.plugins.tenant_skills). Written straight to the
database: running servers and workers pick the change up within seconds, no restart.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from hablo.api.scope import redact
from hablo.config import Settings
from hablo.db.database import Database
from hablo.db.models import AuditLog, Tenant
from hablo.plugins import remote_store
from hablo.plugins.loader import SkillRegistry
from hablo.plugins.remote_store import RemoteAccess, RemoteSkillRefused
from hablo.plugins.tenant_skills import (
    SkillConfigInvalid,
    SkillUnavailable,
    UnknownSkill,
    list_tenant_skills,
    set_tenant_skill,
)
from hablo.security.remote_skill_access import remote_access


class SkillsCliError(Exception):
    """One line for the user; `code` is the exit status (2: bad input)."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.action != "list" and not args.name:
        raise SkillsCliError(f"skills {args.action}: name the skill", code=2)
    if args.action in ("list", "disable") and (args.set or args.config_file):
        raise SkillsCliError(f"skills {args.action}: --set and --config are not used", code=2)
    if args.action == "config" and not (args.set or args.config_file):
        raise SkillsCliError("skills config: give --set KEY=VALUE or --config FILE", code=2)
    file_config = _read_config_file(args.config_file) if args.config_file else None
    updates = dict(_parse_set(item) for item in args.set)
    registry = SkillRegistry.discover()
    db = Database(settings.database_url, pool_size=1)
    try:
        if not inspect(db.engine).has_table(Tenant.__tablename__):
            raise SkillsCliError("no hablo schema in the database (run `hablo db upgrade`)")
        access = remote_access(settings)
        with db.transaction() as session:
            tenant_id = session.scalars(
                select(Tenant.id).where(Tenant.slug == args.tenant)
            ).one_or_none()
            if tenant_id is None:
                raise SkillsCliError(f"no tenant with slug {args.tenant!r}")
            if args.action == "list":
                views = [v.as_dict() for v in list_tenant_skills(registry, session, tenant_id)]
                remote = [
                    remote_store.view(r) for r in remote_store.remote_rows(session, tenant_id)
                ]
                _print_list(views + remote, args.json)
                return 0
            row = remote_store.find(session, tenant_id, args.name)
            # The secret signs the config check: opened only when there is one to check.
            changes_config = file_config is not None or bool(updates)
            found = (
                (
                    row.url,
                    remote_store.open_secret(row, access) if changes_config else "",
                    dict(row.config),
                )
                if row
                else None
            )
        if found is not None:
            return _change_remote(db, access, tenant_id, args, found, file_config, updates)
        with db.transaction() as session:
            config: dict[str, Any] | None = None
            if file_config is not None or updates:
                current = {
                    v.name: v.config for v in list_tenant_skills(registry, session, tenant_id)
                }.get(args.name, {})
                config = {**(file_config if file_config is not None else current), **updates}
            try:
                view, changes = set_tenant_skill(
                    registry,
                    session,
                    tenant_id,
                    args.name,
                    enabled={"enable": True, "disable": False}.get(args.action),
                    config=config,
                )
            except UnknownSkill:
                raise SkillsCliError(
                    f"no installed skill {args.name!r} (see `hablo skills list`)"
                ) from None
            except SkillUnavailable as exc:
                raise SkillsCliError(str(exc)) from None
            except SkillConfigInvalid as exc:
                raise SkillsCliError(str(exc), code=2) from None
            _audit(session, tenant_id, "skill", args.name, changes)
    finally:
        db.dispose()
    state = "enabled" if view.enabled else "disabled"
    print(json.dumps({"skill": view.name, "tenant": args.tenant, "state": state}))
    return 0


def _change_remote(
    db: Database,
    access: RemoteAccess,
    tenant_id: Any,
    args: argparse.Namespace,
    found: tuple[str, str, dict[str, Any]],
    file_config: dict[str, Any] | None,
    updates: dict[str, Any],
) -> int:
    """A remote skill of the tenant: its config is checked by the skill's own server
    (before any transaction), then stored like an installed skill's."""
    url, secret, current = found
    config: dict[str, Any] | None = None
    if file_config is not None or updates:
        config = {**(file_config if file_config is not None else current), **updates}
        try:
            remote_store.check_config(url, secret, access.policy, config)
        except RemoteSkillRefused as exc:
            code = 2 if exc.code == "validation_error" else 1
            raise SkillsCliError(f"skill {args.name}: {exc}", code=code) from None
    enabled = {"enable": True, "disable": False}.get(args.action)
    with db.transaction() as session:
        row = remote_store.change(session, tenant_id, args.name, enabled=enabled, config=config)
        if row is None:
            raise SkillsCliError(f"remote skill {args.name!r} was removed meanwhile")
        changes: dict[str, Any] = {"enabled": row.enabled}
        if config is not None:
            changes["config"] = config
        _audit(session, tenant_id, "remote_skill", args.name, changes)
        state = "enabled" if row.enabled else "disabled"
    print(json.dumps({"skill": args.name, "tenant": args.tenant, "state": state}))
    return 0


def _audit(
    session: Session, tenant_id: Any, entity: str, name: str, changes: dict[str, Any]
) -> None:
    """The change in the business's audit log, redacted as the API's are."""
    session.add(
        AuditLog(
            tenant_id=tenant_id,
            action="update",
            entity=entity,
            entity_id=name,
            changes=redact({**changes, "source": "cli"}),
        )
    )


def _print_list(views: list[dict[str, Any]], as_json: bool) -> None:
    for view in views:
        if as_json:
            print(json.dumps(view, ensure_ascii=False, default=str))
            continue
        state = "on" if view["enabled"] else "off"
        note = (
            view["error"]
            or view["config_error"]
            or ("remote " + view["source"] if view.get("remote") else "")
        )
        intents = ",".join(view["intents"]) or "-"
        print(f"{view['name']:<16} {view['status']:<7} {state:<4} {intents:<28} {note}".rstrip())


def _parse_set(item: str) -> tuple[str, Any]:
    key, sep, raw = item.partition("=")
    if not sep or not key.strip():
        raise SkillsCliError(f"--set {item!r}: expected KEY=VALUE", code=2)
    try:
        value: Any = json.loads(raw)
    except ValueError:
        value = raw
    return key.strip(), value


def _read_config_file(path: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise SkillsCliError(f"cannot read {path}: {exc}", code=2) from exc
    except yaml.YAMLError as exc:
        raise SkillsCliError(f"{path}: not valid YAML or JSON", code=2) from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SkillsCliError(f"{path}: the config must be a mapping of field: value", code=2)
    return {str(k): v for k, v in data.items()}
