"""`kcompat config`: the effective configuration and where each value came from."""

from __future__ import annotations

import argparse
import json
from typing import Any

from kcompat.cli.common import add_check_flags
from kcompat.config import RunConfig, settings
from kcompat.config.settings import COMMAND_LINE, DEFAULT


def add_config_parser(sub) -> None:
    p = sub.add_parser("config", help="print the effective configuration and where each value comes from",
                       description="Takes the same flags as `kcompat check`, so you can see what a command line would use.")
    add_check_flags(p, paths_required=False)



def format_value(value: Any) -> str:
    if hasattr(value, "value"):
        value = value.value
    if isinstance(value, dict):
        value = {k: (v.value if hasattr(v, "value") else v) for k, v in value.items()}
    return json.dumps(value)


def run_config(args: argparse.Namespace) -> int:
    resolved = settings.resolve(args)
    print(f"# config file: {resolved.file.label if resolved.file else 'none found'}"
          + (" (--isolated)" if getattr(args, "isolated", False) else ""))
    for key, info in RunConfig.model_fields.items():
        name = info.alias or key
        source = resolved.sources[key]
        if source.endswith(COMMAND_LINE) or source == DEFAULT:
            value = getattr(resolved.config, key)
            value = value.model_dump(by_alias=True) if hasattr(value, "model_dump") else value
        else:
            value = resolved.shown.get(name, getattr(resolved.config, key))
        print(f"{name} = {format_value(value)}  # {source}")
    return 0
