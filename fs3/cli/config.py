"""Config verbs of the `fs3` command: the settings the cluster manager distributes per node type.

    fs3 set-config --type storage log_level=DEBUG resync_poll_interval_s=0.5
    fs3 set-config --type meta settings.toml       replace the whole document
    fs3 set-config --type storage --unset log_level
    fs3 get-config --type storage [--json]

Only hot settings are accepted (each config class's `HOT_FIELDS`); running
services apply a new version within a heartbeat and report it (`fs3 nodes`
shows each node's config version). See `fs3.hot_config`.
"""

from __future__ import annotations

import json
import time
import tomllib
from typing import Annotated, Any, Optional

import typer

from fs3.cli.main import CliError, JsonOption, MgmtdOption, _fail, _mgmtd_addresses, _run, app, console
from fs3.errors import Fs3Error
from fs3.hot_config import node_type_from_name
from fs3.mgmtd.client import MgmtdClient
from fs3.mgmtd.config_store import ConfigRecord

__all__ = ["set_config", "get_config", "merge_settings"]

PANEL = "Config"
TypeOption = Annotated[str, typer.Option("--type", help="node type: storage, meta or mgmtd")]


def _toml_scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    raise CliError(f"setting value {value!r} is not a number, string or boolean")


def _parse_value(text: str) -> Any:
    """A TOML value (`0.5`, `true`, `"x"`), else the text as a string (`log_level=DEBUG`)."""
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        return text


def merge_settings(content: str, assignments: list[str], unset: list[str]) -> str:
    """The TOML document `content` with KEY=VALUE `assignments` set and `unset` keys dropped."""
    try:
        settings = tomllib.loads(content)
    except tomllib.TOMLDecodeError as error:
        raise CliError(f"the stored document is not TOML: {error}") from None
    for assignment in assignments:
        key, separator, value = assignment.partition("=")
        if not separator or not key.strip():
            raise CliError(f"{assignment!r} is not KEY=VALUE")
        settings[key.strip()] = _parse_value(value.strip())
    for key in unset:
        if key not in settings:
            raise CliError(f"{key} is not set in the current document")
        del settings[key]
    return "".join(f"{key} = {_toml_scalar(value)}\n" for key, value in sorted(settings.items()))


def _record_json(record: ConfigRecord) -> dict:
    return {"node_type": record.node_type.name.lower(), "version": record.version, "content": record.content,
            "description": record.description, "updated_ms": record.updated_ms}


def _print_record(record: ConfigRecord, as_json: bool) -> None:
    if as_json:
        print(json.dumps(_record_json(record), indent=2))
        return
    when = "never"
    if record.updated_ms:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(record.updated_ms / 1000))
    note = f": {record.description}" if record.description else ""
    console.print(f"# {record.node_type.name.lower()} config version {record.version} (set {when}{note})",
                  markup=False, highlight=False)
    if record.content:
        console.print(record.content.rstrip("\n"), markup=False, highlight=False)


@app.command("set-config", rich_help_panel=PANEL)
def set_config(
    node_type: TypeOption,
    settings: Annotated[Optional[list[str]], typer.Argument(
        help="KEY=VALUE settings changed in the current document, or one TOML file replacing it")] = None,
    unset: Annotated[Optional[list[str]], typer.Option("--unset", help="drop a setting: nodes use their file's "
                                                                       "value again")] = None,
    description: Annotated[str, typer.Option("--description", "-m", help="why (kept with the version)")] = "",
    mgmtd: MgmtdOption = None,
    as_json: JsonOption = False,
) -> None:
    """Distribute hot settings to every node of a type; running services apply them within a heartbeat."""
    settings, unset = settings or [], unset or []
    try:
        kind = node_type_from_name(node_type)
    except Fs3Error as error:  # an unknown type
        _fail(str(error))
    if not settings and not unset:
        _fail("give KEY=VALUE settings, a TOML file, or --unset KEY")
    whole_file = len(settings) == 1 and "=" not in settings[0]
    if whole_file and unset:
        _fail("--unset goes with KEY=VALUE settings, not with a file")
    content = ""
    if whole_file:
        try:
            with open(settings[0]) as file:
                content = file.read()
        except OSError as error:
            _fail(f"{settings[0]}: {error.strerror}")

    async def main():
        client = MgmtdClient(_mgmtd_addresses(mgmtd))
        try:
            document = content
            if not whole_file:
                document = merge_settings((await client.get_config(kind)).content, settings, unset)
            return await client.set_config(kind, document, description)
        finally:
            await client.close()

    _print_record(_run(main()), as_json)


@app.command("get-config", rich_help_panel=PANEL)
def get_config(node_type: TypeOption, mgmtd: MgmtdOption = None, as_json: JsonOption = False) -> None:
    """Show the settings distributed to a node type (a TOML document) and its version."""
    try:
        kind = node_type_from_name(node_type)
    except Fs3Error as error:
        _fail(str(error))

    async def main():
        client = MgmtdClient(_mgmtd_addresses(mgmtd))
        try:
            return await client.get_config(kind)
        finally:
            await client.close()

    _print_record(_run(main()), as_json)
