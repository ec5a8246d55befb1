"""Make the score-scale data that ships with the package (src/mlsd_grader/scales/).

    python scripts/fit_backend_scales.py targets      # the default model's criterion scores on the reference set
    python scripts/fit_backend_scales.py static none  # the maps of the bundled static and keyword-only backends

Run it whenever scoring, a bundled rubric, an example or the static model changes (``targets`` first);
tests/test_scale.py checks that what ships is what this script makes. A model of the user's own needs
none of this: its map is fitted on first use from the shipped targets (``mlsd-grader calibrate-backend``
fits it again).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "src" / "mlsd_grader" / "scales"
BACKENDS = {"targets": "sentence-transformers", "static": "static", "none": "none"}


def main(argv: list[str]) -> int:
    from mlsd_grader import Grader, GraderConfig
    from mlsd_grader.scale import (
        IDENTITY,
        fit_backend_scale,
        reference_hash,
        reference_items,
        scale_file_name,
    )

    items = reference_items()
    for what in argv or ["targets", "static", "none"]:
        grader = Grader(GraderConfig(backend=BACKENDS[what]), scale=IDENTITY)  # type: ignore[arg-type]
        scores = grader.reference_scores(items, progress=True)
        if what == "targets":
            data = {"reference": reference_hash(items), "signature": grader.signature_without_rubric(), "scores": scores}
            (OUT / "reference_targets.json").write_text(json.dumps(data) + "\n", encoding="utf-8")
            print(f"targets: {len(scores)} criterion scores of {len(items)} reference answers")
            continue
        embedder = grader.embedder
        name = scale_file_name(embedder.signature() if embedder is not None else "none")
        scale = fit_backend_scale(scores, name=name)
        (OUT / f"{name}.json").write_text(scale.to_json(), encoding="utf-8")
        print(f"{name}: map {scale.content_hash}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
