"""Settings the cluster manager distributes and running services apply live.

The cluster manager keeps, per node type, one TOML document of settings with
a version (`fs3 set-config`, `fs3.mgmtd.config_store`). Every service says in
its heartbeats which version it has applied; a heartbeat reply carries a newer
one, and the service lays it over its own config file (`HotConfig.apply`)
and hands the changed values to its components.

A document may set only the fields the config class lists in `HOT_FIELDS`.
Any other setting is refused, not kept for the next restart: a distributed
value that waited for restarts would leave nodes of one type running
different values depending on when each last restarted. Removing a key from
the document returns the nodes to their file's value.
"""

from __future__ import annotations

import dataclasses
import errno
import logging
import tomllib
import traceback
import typing
from typing import Any, Generic, TypeVar

from fs3.config import MetaServiceConfig, MgmtdConfig, StorageServiceConfig
from fs3.errors import Fs3Error
from fs3.routing import NodeType

__all__ = ["CONFIG_TYPES", "LOG_LEVELS", "HotConfig", "parse_overrides", "apply_overrides", "node_type_from_name"]

logger = logging.getLogger(__name__)

#: The config class of every node type that takes distributed settings.
CONFIG_TYPES: dict[NodeType, type] = {
    NodeType.MGMTD: MgmtdConfig,
    NodeType.META: MetaServiceConfig,
    NodeType.STORAGE: StorageServiceConfig,
}
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

C = TypeVar("C")


def node_type_from_name(name: str) -> NodeType:
    """'storage' / 'meta' / 'mgmtd' -> NodeType, with a clear error."""
    for node_type in CONFIG_TYPES:
        if node_type.name.lower() == name.strip().lower():
            return node_type
    choices = ", ".join(node_type.name.lower() for node_type in CONFIG_TYPES)
    raise Fs3Error(errno.EINVAL, f"unknown node type {name!r} (one of: {choices})")


def _check_value(type_name: str, name: str, hint: Any, value: Any) -> Any:
    wrong = None
    if hint is bool:
        wrong = not isinstance(value, bool)
    elif hint is int:
        wrong = isinstance(value, bool) or not isinstance(value, int)
    elif hint is float:
        wrong = isinstance(value, bool) or not isinstance(value, (int, float))
        value = value if wrong else float(value)
    elif hint is str:
        wrong = not isinstance(value, str)
    else:
        raise AssertionError(f"{type_name}.{name}: hot settings must be scalars, not {hint}")
    if wrong:
        raise Fs3Error(errno.EINVAL, f"{type_name}.{name} must be {hint.__name__}, not {value!r}")
    if name == "log_level" and value.upper() not in LOG_LEVELS:
        raise Fs3Error(errno.EINVAL, f"{type_name}.log_level {value!r} is not one of {', '.join(LOG_LEVELS)}")
    return value


def parse_overrides(config_type: type, content: str) -> dict[str, Any]:
    """The settings a distributed document sets, each checked against `config_type`.

    Raises:
        Fs3Error(EINVAL): not TOML, an unknown setting, one that is not hot
            (naming the hot ones), or a value of the wrong type.
    """
    type_name = config_type.__name__
    try:
        data = tomllib.loads(content)
    except tomllib.TOMLDecodeError as error:
        raise Fs3Error(errno.EINVAL, f"not a TOML document: {error}") from None
    fields = {field.name for field in dataclasses.fields(config_type)}
    hints = typing.get_type_hints(config_type)
    hot = sorted(config_type.HOT_FIELDS)
    overrides = {}
    for name, value in data.items():
        if name not in fields:
            raise Fs3Error(errno.EINVAL, f"{type_name} has no setting {name!r} (hot settings: {', '.join(hot)})")
        if name not in config_type.HOT_FIELDS:
            raise Fs3Error(errno.EINVAL, f"{type_name}.{name} cannot change while services run; set it in each "
                                         f"node's config file and restart (hot settings: {', '.join(hot)})")
        overrides[name] = _check_value(type_name, name, hints[name], value)
    return overrides


def apply_overrides(base: C, overrides: dict[str, Any]) -> C:
    """`base` with `overrides` laid over it, its relations checked (`check()`).

    Raises:
        Fs3Error(EINVAL): the result breaks one of the class's rules (the rule is quoted).
    """
    config = dataclasses.replace(base, **overrides)
    try:
        config.check()  # type: ignore[attr-defined]
    except AssertionError as error:
        frames = traceback.extract_tb(error.__traceback__)
        rule = (frames[-1].line or "").strip() if frames else str(error)
        raise Fs3Error(errno.EINVAL, f"the settings break a rule of {type(base).__name__}: {rule}") from None
    return config


class HotConfig(Generic[C]):
    """A running service's config: its file's (`base`) with the latest distributed settings laid over.

    Example:
        hot = HotConfig(config)
        changed = hot.apply(7, 'log_level = "DEBUG"')   # {'log_level': 'DEBUG'}
        hot.current.log_level                            # 'DEBUG'
    """

    def __init__(self, base: C) -> None:
        self.base = base
        self.current = base
        self.version = 0

    def apply(self, version: int, content: str) -> dict[str, Any]:
        """Lay document `version` over the base; returns the hot settings whose value changed.

        Sets the process's log level when `log_level` changed; the caller hands
        every other changed value to the component that reads it.
        """
        overrides = parse_overrides(type(self.base), content)
        config = apply_overrides(self.base, overrides)
        changed = {
            name: getattr(config, name) for name in sorted(type(self.base).HOT_FIELDS)  # type: ignore[attr-defined]
            if getattr(config, name) != getattr(self.current, name)
        }
        self.current, self.version = config, version
        if "log_level" in changed:
            logging.getLogger().setLevel(changed["log_level"].upper())
        logger.info("applied distributed config version %d; changed: %s", version, changed or "nothing")
        return changed
