"""Benchmark: how well entity keys link senders, recipients and addresses (issue 15).

Generates a v2 world (``generate_manifest(rows, seed, days)``, with the truth
columns ``truth_sender_entity`` / ``truth_recipient_entity``), keys it with
today's keys (:func:`parcelrisk.store.entity_keys`) and with the multi-field
keys (:func:`parcelrisk.party_keys.party_keys`, each name form), and reports
pairwise and B-cubed precision and recall (:mod:`parcelrisk.linkage_eval`)
and the keying time per 1,000,000 items, all in the same run.

Run from the repository root::

    python benchmarks/linkage.py                      # 1,000,000 items, 30 days, seed 20261202
    python benchmarks/linkage.py --rows 20000 --no-write   # quick

``--write`` (the default) replaces the section "Entity linkage (issue 15)" of
``benchmarks/RESULTS.md``. The seed must not be one the keys were tuned on
(development used 777 and the tests use their own).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import machine  # noqa: E402

from parcelrisk.linkage_eval import (  # noqa: E402
    evaluate_keys,
    prior_seizure_rule,
    seconds_per_million,
)
from parcelrisk.party_keys import NAME_FORMS, party_keys  # noqa: E402
from parcelrisk.store import entity_keys  # noqa: E402
from parcelrisk.synthetic import generate_manifest  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
SECTION = "## Entity linkage (issue 15)"
SECRET = b"parcelrisk-linkage-benchmark-secret-32bytes!"
FIGURES = ["bcubed_precision", "bcubed_recall", "pairwise_precision", "pairwise_recall"]


def main(argv: list[str] | None = None) -> pd.DataFrame:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--days", type=int, default=30)
    p.add_argument("--seed", type=int, default=20261202)
    p.add_argument("--repeat", type=int, default=3, help="timing runs per scheme (best of)")
    p.add_argument(
        "--name-forms", default="initials,full", help=f"of {', '.join(NAME_FORMS)} (party_keys)"
    )
    p.add_argument("--no-write", action="store_true", help="leave benchmarks/RESULTS.md alone")
    a = p.parse_args(argv)
    info = machine()
    t0 = time.perf_counter()
    manifest = generate_manifest(a.rows, seed=a.seed, days=a.days)
    generated = time.perf_counter() - t0
    print(f"generated {len(manifest):,} items over {a.days} days in {generated:.1f} s")
    schemes = {"today (name + country)": lambda f: entity_keys(f, SECRET)}
    for form in a.name_forms.split(","):
        schemes[f"multi-field, name {form}"] = lambda f, form=form: party_keys(
            f, SECRET, name_form=form
        )
    rows, rules, timing = [], [], {}
    for name, make in schemes.items():
        timing[name] = seconds_per_million(make, manifest, repeat=a.repeat)
        keys = make(manifest)
        rows.append(evaluate_keys(manifest, keys, name))
        rules.append({"keys": name, **prior_seizure_rule(manifest, keys["sender_key"]).as_dict()})
        print(f"{name}: {timing[name]:.2f} s per 1,000,000 items")
    truth = prior_seizure_rule(manifest, manifest["truth_sender_entity"]).as_dict()
    rules.append({"keys": "truth entity (perfect resolution)", **truth})
    table = pd.concat(rows, ignore_index=True)
    text = section(table, pd.DataFrame(rules), timing, info, a, manifest)
    print(text)
    if not a.no_write:
        write_section(RESULTS, text)
        print(f"wrote {RESULTS}")
    return table


def section(
    table: pd.DataFrame,
    rules: pd.DataFrame,
    timing: dict[str, float],
    info: dict,
    a: argparse.Namespace,
    manifest: pd.DataFrame,
) -> str:
    n = len(manifest)
    seizures = int((manifest["outcome"] == "seizure").sum())
    illicit = int(manifest["truth_illicit"].sum())
    lines = [
        SECTION,
        "",
        f"- Date: {info['date']}; commit `{info['git']}` (sha256 of `parcelrisk/*.py`: "
        f"`{info['tree']}`); machine: `nproc` = {info['nproc']} ({info['cpu']}), "
        f"{info['mem_total_gib']:.1f} GiB; Python {info['python']}. Shared machine: compare "
        "times within this run only.",
        f"- Command: `python benchmarks/linkage.py --rows {a.rows} --days {a.days} "
        f"--seed {a.seed} --repeat {a.repeat}` ({n:,} items of `generate_manifest`, generator "
        "v2; seed not used in development or tests).",
        "- Truth: `truth_sender_entity`, `truth_recipient_entity`; addresses: equal raw "
        "(address, postcode, country), see `parcelrisk/linkage_eval.py`. B-cubed (Bagga and "
        "Baldwin 1998) is the cluster measure; each item counts once. Rows marked *illicit "
        "items* average B-cubed over illicit items, with clusters over all items.",
        "- Time: keying the whole frame (normalisation and HMAC of every party), best of "
        f"{a.repeat}, scaled to 1,000,000 items.",
        "",
        "| keys | party | B-cubed P | B-cubed R | pairwise P | pairwise R | items in a shared key "
        "| keys | truth entities |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in table.itertuples(index=False):
        lines.append(
            f"| {r.scheme} | {r.party} | {r.bcubed_precision:.4f} | {r.bcubed_recall:.4f} | "
            f"{r.pairwise_precision:.4f} | {r.pairwise_recall:.4f} | {r.shared_key_items:.4f} | "
            f"{r.key_clusters:,} | {r.truth_clusters:,} |"
        )
    lines += [
        "",
        f'The rule "this sender had a seizure known before this item was declared" '
        f"(`prior_seizure_rule`, sender keys; {seizures:,} seizures from the generator's legacy "
        f"inspections, {illicit:,} illicit items), scored on `truth_illicit`:",
        "",
        "| sender keys | items flagged | precision | recall | illicit items flagged |",
        "|---|---|---|---|---|",
    ]
    for r in rules.itertuples(index=False):
        lines.append(
            f"| {r.keys} | {r.flagged:,} | {r.precision:.3f} | {r.recall:.4f} | "
            f"{r.illicit_flagged:,} |"
        )
    lines += ["", "| keys | seconds per 1,000,000 items | ratio to today |", "|---|---|---|"]
    base = next(iter(timing.values()))
    for name, sec in timing.items():
        lines.append(f"| {name} | {sec:.2f} | {sec / base:.2f} |")
    return "\n".join(lines) + "\n"


def write_section(path: Path, text: str) -> None:
    """Replace this benchmark's section of RESULTS.md (or append it); keep the others."""
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    start = old.find(SECTION)
    if start < 0:
        new = old.rstrip("\n") + "\n\n" + text
    else:
        nxt = old.find("\n## ", start + len(SECTION))
        keep = old.find("\n### ", start, nxt if nxt >= 0 else len(old))  # hand-written notes
        manual = old[keep + 1 : nxt if nxt >= 0 else len(old)] if keep >= 0 else ""
        rest = old[nxt + 1 :] if nxt >= 0 else ""
        new = old[:start] + text + ("\n" + manual.rstrip("\n") + "\n" if manual else "")
        new += ("\n" + rest) if rest else ""
    path.write_text(new, encoding="utf-8")


if __name__ == "__main__":
    main()
