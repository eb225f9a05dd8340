"""Generate N realistic agreements for the benchmarks, varied from the examples in sla/.

Usage: python bench/generate.py N OUT_DIR [--commitments K]
Deterministic: the same N gives the same files.
"""

from __future__ import annotations

import copy
import random
import sys
from pathlib import Path

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from slakit.model.terms import terms_digest  # noqa: E402
from slakit.world.load import load_file  # noqa: E402

HEADER = "# yaml-language-server: $schema=../../schema/sla.schema.json\n"


def examples() -> list[dict]:
    docs = []
    for path in sorted((ROOT / "sla").glob("*.yaml")):
        doc, problems = load_file(path)
        if doc is None:
            raise SystemExit(f"{path}: {problems[0].format()}")
        docs.append(doc.data)
    return docs


def vary(base: dict, n: int, rng: random.Random) -> dict:
    data = copy.deepcopy(base)
    data["id"] = f"{base['id']}-{n:04d}"
    data["title"] = f"{base['title']} (unit {n})"
    data["version"] = rng.randint(1, 40)
    # Lead figures scale together (volume = planned leads per source, value = their sum), and
    # only upwards, so every generated agreement still covers what its funnel needs.
    scale = rng.randint(1, 3)
    for commitment in data["commitments"]:
        value = commitment.get("lead_value")
        if value:
            for source in value["sources"]:
                source["planned"] *= scale
            value["total"]["amount"] = sum(s["planned"] * s["value_per_lead"]["amount"] for s in value["sources"])
        volume = commitment.get("lead_volume")
        if volume:
            volume["count"] *= scale
    return data


def add_commitments(data: dict, count: int, rng: random.Random) -> dict:
    """Pad an agreement to `count` commitments (for the diff benchmark's large file)."""
    parties = [p["id"] for p in data["parties"]]
    for i in range(len(data["commitments"]), count):
        data["commitments"].append(
            {
                "id": f"activity-{i:05d}",
                "party": parties[i % len(parties)],
                "title": f"Complete activity {i} each week",
                "category": "activity",
                "text": "Logged in the CRM by Friday; the dashboard shows the count to both teams.",
                "measure": {
                    "metric": f"Activity {i} completed",
                    "target": rng.randint(1, 50),
                    "per": "week",
                    "better": "higher",
                },
            }
        )
    return data


def resign(data: dict) -> dict:
    """Signatures accept the terms each generated agreement actually has. Their SSH signatures
    are dropped (they signed the example's statement), so they are recorded as unverified."""
    digest = terms_digest(data)
    for signature in data.get("signoff", {}).get("signatures", []):
        signature["terms"] = digest
        signature.pop("ssh_signature", None)
    return data


def write(data: dict, path: Path) -> None:
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.sort_base_mapping_type_on_output = False
    with path.open("w", encoding="utf-8") as out:
        out.write(HEADER)
        yaml.dump(data, out)


def generate(count: int, out_dir: Path, commitments: int = 0) -> list[Path]:
    rng = random.Random(20260101 + count)
    bases = examples()
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for n in range(count):
        data = vary(bases[n % len(bases)], n, rng)
        if commitments:
            add_commitments(data, commitments, rng)
        resign(data)
        path = out_dir / f"{data['id']}.yaml"
        write(data, path)
        paths.append(path)
    return paths


if __name__ == "__main__":
    args = sys.argv[1:]
    k = int(args[args.index("--commitments") + 1]) if "--commitments" in args else 0
    generate(int(args[0]), Path(args[1]), k)
