"""Train the domain classifiers and ship them in the package (FID_domain on every machine).

    python benchmarks/make_classifiers.py [--domains digits,smoke] [--dest DIR]

Each registered domain's classifier (:mod:`fluidgan.metrics.domain`) as this machine
uses it -- the one in its cache, which every result measured here was scored with, or
trained now with the recipe when there is none -- is written to ``DEST/<name>-<key>.pt`` (default
``fluidgan/metrics/classifiers``), and ``DEST/classifiers.toml`` records its sha256, the
sha1 of its weights (the digest results files quote), its test accuracy and the torch
version it is keyed on. A package holding a file for a spec's exact key uses it instead of
training one; a changed recipe (another key) trains again until this is rerun.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fluidgan.errors import exit_status  # noqa: E402
from fluidgan.metrics import domain  # noqa: E402


def ship(name: str, dest: Path) -> dict[str, object]:
    """Write this machine's classifier of domain ``name`` into ``dest``; returns its
    manifest entry."""
    from fluidgan.pretrained import sha256_of

    spec = domain.get_domain(name)
    net, info = domain.cached_or_trained_classifier(spec)
    info = {k: v for k, v in info.items() if k != "path"}
    path = domain.save_classifier(net, info, spec, dest / domain.classifier_name(spec))
    return {
        path.name: {
            "sha256": sha256_of(path),
            "weights_sha1": domain.state_digest(net),
            "test_accuracy": round(info["test_accuracy"], 4),
            "torch": spec.key()["torch"],
        }
    }


def write_manifest(dest: Path, entries: dict[str, dict[str, object]]) -> Path:
    """``dest/classifiers.toml`` with ``entries`` merged over the ones it lists (a file of
    the same domain and another key is dropped, and its file deleted)."""
    import tomli_w

    path = dest / domain.SHIPPED_MANIFEST.name
    old = tomllib.loads(path.read_text()) if path.is_file() else {}
    domains = {name.rsplit("-", 1)[0] for name in entries}
    for name in list(old):
        if name.rsplit("-", 1)[0] in domains and name not in entries:
            (dest / name).unlink(missing_ok=True)
            del old[name]
    path.write_text(tomli_w.dumps(dict(sorted((old | entries).items()))))
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--domains", default=",".join(domain.DOMAINS), help="comma-separated")
    ap.add_argument("--dest", default=str(domain.SHIPPED_DIR))
    args = ap.parse_args(argv)
    dest = Path(args.dest)

    def ship_all() -> None:
        entries = {}
        for name in args.domains.split(","):
            entry = ship(name.strip(), dest)
            print(f"{name}: {entry}", flush=True)
            entries |= entry
        print(write_manifest(dest, entries))

    return exit_status(ship_all)


if __name__ == "__main__":
    sys.exit(main())
