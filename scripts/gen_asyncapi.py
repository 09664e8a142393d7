"""AsyncAPI documents of every service's topics, generated from the FastStream apps themselves
(`make asyncapi`): what each service consumes and publishes, with the event schemas.
`--check` fails when a document is not what the code generates (run by `make check`)."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from pathlib import Path

import yaml
from faststream.specification import AsyncAPI

SERVICES = ("teacher", "curator", "trainer", "inference", "detector")


def document(name: str) -> str:
    """The service's AsyncAPI document as YAML, its channels, operations and components in name order
    (FastStream lists them in an order that changes from run to run)."""
    module = importlib.import_module(f"services.{name}.app")
    spec = AsyncAPI(module.broker, title=f"distillery {name}", version="0.1.0",
                    description=(module.__doc__ or "").strip())
    data = json.loads(spec.to_specification().to_json())
    data = {"asyncapi": data.pop("asyncapi"), **data}
    for section in (data, data.get("components", {})):
        for key in ("channels", "operations", "messages", "schemas"):
            if isinstance(section.get(key), dict):
                section[key] = dict(sorted(section[key].items()))
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", nargs="?", default="docs/asyncapi", type=Path)
    parser.add_argument("--check", action="store_true", help="compare, write nothing")
    args = parser.parse_args()
    for variable in [v for v in os.environ if v.startswith("KAFKA_")]:
        del os.environ[variable]  # the documents describe the defaults, not this shell's broker
    stale = []
    for name in SERVICES:
        path, text = args.out / f"{name}.yaml", document(name)
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(str(path))
            continue
        args.out.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(f"wrote {path}")
    if stale:
        sys.exit(f"out of date with the code: {', '.join(stale)} (run `make asyncapi`)")


if __name__ == "__main__":
    main()
