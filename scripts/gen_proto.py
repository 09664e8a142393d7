"""Generate shared/oip/*_pb2*.py from protos/ (`make proto`); `--check` fails if they are stale."""

from __future__ import annotations

import filecmp
import sys
import tempfile
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTOS = ROOT / "protos"
OUT = ROOT / "shared" / "oip"


def generate(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    grpc_include = Path(protoc.__file__).parent / "_proto"
    for proto in sorted(PROTOS.glob("*.proto")):
        args = ["protoc", f"-I{PROTOS}", f"-I{grpc_include}", f"--python_out={out}", f"--pyi_out={out}",
                f"--grpc_python_out={out}", str(proto)]
        if protoc.main(args) != 0:
            raise SystemExit(f"protoc failed on {proto}")
    generated = sorted(out.glob("*_pb2*.py*"))
    # protoc writes top-level imports; the generated modules live in a package.
    for path in generated:
        text = path.read_text()
        for proto in PROTOS.glob("*.proto"):
            module = proto.stem + "_pb2"
            text = text.replace(f"\nimport {module} as", f"\nfrom . import {module} as")
        path.write_text(text)
    return generated


def main() -> None:
    if "--check" in sys.argv:
        with tempfile.TemporaryDirectory() as tmp:
            fresh = generate(Path(tmp))
            stale = [p.name for p in fresh if not (OUT / p.name).exists() or not filecmp.cmp(p, OUT / p.name, shallow=False)]
        if stale:
            raise SystemExit(f"generated code is stale ({', '.join(stale)}): run `make proto`")
        print("generated code is fresh")
        return
    for path in generate(OUT):
        print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
