"""AsyncAPI documents of every service's topics, generated from the FastStream apps themselves
(`make asyncapi`): what each service consumes and publishes, with the event schemas."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

from faststream.specification import AsyncAPI

SERVICES = ("teacher", "curator", "trainer", "inference", "detector")


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/asyncapi")
    out.mkdir(parents=True, exist_ok=True)
    for name in SERVICES:
        module = importlib.import_module(f"services.{name}.app")
        spec = AsyncAPI(module.broker, title=f"distillery {name}", version="0.1.0",
                        description=(module.__doc__ or "").strip())
        (out / f"{name}.yaml").write_text(spec.to_specification().to_yaml())
        print(f"wrote {out / f'{name}.yaml'}")


if __name__ == "__main__":
    main()
