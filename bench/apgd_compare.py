#!/usr/bin/env python3
"""advland's APGD against torchattacks 3.5's APGD / APGDT on the same weights and images.

    python3 bench/apgd_compare.py [--subset 1000] [--eps-linf 0.1] [--eps-l2 1.0] [--steps 100]
                                  [--results bench/RESULTS.md]

For each norm it runs, on the benchmark CNN of bench/compare.py (trained and exported once into
runs/bench/, reused from there) and its first `--subset` evenly spaced test images:

  advland   advland eval --checkpoint C --test-subset N --attack apgd-ce:NORM:EPS:STEPS
                 --attack apgd-dlr:NORM:EPS:STEPS --attack apgd-t:NORM:EPS:STEPS
                 --attack autoattack-lite:NORM:EPS:STEPS --out R.json
            (per-example flags: `data.result.attacks[i].robust`)
  PyTorch   torchattacks.APGD(loss='ce'), APGD(loss='dlr'), APGDT(n_classes=10), and APGD-CE then
            APGDT on the survivors (auto-attack's standard order), flags from the model at the
            returned images

and compares the robust accuracies pair by pair. Both sides attack the same examples, so the
comparison is paired: of the examples where the two disagree (b robust only on one side, c only
on the other), a difference of accuracies |b − c|/N within 1.96·√(b + c)/N is what two draws of
random starts give (McNemar's normal approximation); outside it the implementations differ.
The run-to-run spread of either side alone is of the same order.

The PyTorch side runs in bench/.venv (bench/setup_venv.sh) as `apgd_compare.py torch ...`, a
child process of this script, so the driver itself needs only the standard library. The CNN
twin, the weight loading and the test subset come from bench/torch_workloads.py; the checkpoint,
the export and the process runner from bench/compare.py.

The table goes to stdout (Markdown) and, with --results, into that file between the markers
`<!-- apgd-compare:start -->` and `<!-- apgd-compare:end -->` (appended when absent).
"""
import argparse
import json
import math
import os
import sys
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

START, END = "<!-- apgd-compare:start -->", "<!-- apgd-compare:end -->"
ATTACKS = ["apgd-ce", "apgd-dlr", "apgd-t", "autoattack-lite"]


def log(msg):
    print(f"apgd_compare: {msg}", file=sys.stderr, flush=True)


# --- PyTorch side (runs in bench/.venv) -------------------------------------------------------


def torch_side(args):
    """torchattacks' APGD family on the exported weights; prints {attack: per-example flags}."""
    import torch
    import torchattacks

    from torch_workloads import load_model, load_test_subset

    torch.set_num_threads(args.threads)
    model = load_model(args.weights)
    x, y = load_test_subset(args.subset)
    norm = {"linf": "Linf", "l2": "L2"}[args.norm]

    def flags(adv, labels):
        with torch.no_grad():
            return (model(adv).argmax(1) == labels).tolist()

    def batched(attack, xs, ys):
        out = []
        for i in range(0, len(ys), args.batch_size):
            xb, yb = xs[i : i + args.batch_size], ys[i : i + args.batch_size]
            out += flags(attack(xb, yb), yb)
        return out

    common = dict(norm=norm, eps=args.eps, steps=args.steps, n_restarts=1, seed=args.seed)
    ce = torchattacks.APGD(model, loss="ce", **common)
    dlr = torchattacks.APGD(model, loss="dlr", **common)
    targeted = torchattacks.APGDT(model, n_classes=10, **common)
    result = {"apgd-ce": batched(ce, x, y), "apgd-dlr": batched(dlr, x, y), "apgd-t": batched(targeted, x, y)}
    # autoattack-lite: APGD-CE's survivors go on to APGD-T, as auto-attack's standard run does.
    lite = list(result["apgd-ce"])
    survivors = [i for i, robust in enumerate(lite) if robust]
    if survivors:
        index = torch.tensor(survivors)
        for i, robust in zip(survivors, batched(targeted, x[index], y[index])):
            lite[i] = robust
    result["autoattack-lite"] = lite
    with torch.no_grad():
        result["clean"] = (model(x).argmax(1) == y).tolist()
    print(json.dumps(result))


# --- driver (standard library) ----------------------------------------------------------------


def paired(a, b):
    """(accuracy a, accuracy b, robust only in a, robust only in b, 95% band of the difference)."""
    n = len(a)
    only_a = sum(1 for u, v in zip(a, b) if u and not v)
    only_b = sum(1 for u, v in zip(a, b) if v and not u)
    return sum(a) / n, sum(b) / n, only_a, only_b, 1.96 * math.sqrt(only_a + only_b) / n


def advland_flags(report):
    """{attack kind as in spec strings: per-example flags} of an eval report's `attacks`."""
    return {kind_of(entry["attack"]): entry["robust"] for entry in report["data"]["result"]["attacks"]}


def kind_of(spec):
    """`apgd-ce` etc. for the report's `{"kind": "apgd", "loss": "ce", ...}`."""
    if spec["kind"] != "apgd":
        return spec["kind"]
    return {"ce": "apgd-ce", "dlr": "apgd-dlr", "targeted-dlr": "apgd-t"}[spec["loss"]]


def table(rows, meta):
    lines = [
        f"APGD against torchattacks {meta['torchattacks']} on {meta['subset']} images, {meta['steps']} iterations, "
        f"1 restart, seed {meta['seed']} on both sides ({meta['date']}):",
        "",
        "| norm | ε | attack | advland acc | torchattacks acc | robust only in advland | only in torchattacks "
        "| difference | 95% band | within noise |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['norm']} | {r['eps']} | {r['attack']} | {r['advland']:.3f} | {r['torch']:.3f} | {r['only_advland']} "
            f"| {r['only_torch']} | {r['advland'] - r['torch']:+.3f} | ±{r['band']:.3f} | "
            f"{'yes' if r['within'] else '**no**'} |"
        )
    return "\n".join(lines) + "\n"


def write_results(path, text):
    block = f"{START}\n## APGD against torchattacks (`bench/apgd_compare.py`)\n\n{text}{END}\n"
    old = path.read_text() if path.exists() else ""
    if START in old and END in old:
        head, rest = old.split(START, 1)
        new = head + block + rest.split(END, 1)[1].lstrip("\n")
    else:
        new = old.rstrip("\n") + "\n\n" + block
    path.write_text(new)


def driver(args):
    import compare

    if not Path(args.advland).exists():
        sys.exit(f"apgd_compare: {args.advland} not found; run `cargo build --release` first")
    if not compare.VENV_PY.exists():
        sys.exit("apgd_compare: bench/.venv is missing; run bench/setup_venv.sh first")
    compare.WORK.mkdir(parents=True, exist_ok=True)
    runner = compare.Runner(argparse.Namespace(advland=args.advland, threads=args.threads, repeat=1))
    ckpt, weights = compare.prepare_weights(runner)
    out = compare.WORK / "out"
    out.mkdir(exist_ok=True)
    rows = []
    for norm, eps in [("linf", args.eps_linf), ("l2", args.eps_l2)]:
        log(f"{norm} eps {eps}: advland")
        report = out / f"apgd-{norm}.json"
        argv = ["eval", "--checkpoint", ckpt, "--test-subset", str(args.subset), "--batch-size", str(args.batch_size),
                "--seed", str(args.seed), "--out", report]
        for kind in ATTACKS:
            argv += ["--attack", f"{kind}:{norm}:{eps}:{args.steps}"]
        ours = advland_flags(runner.advland(argv, report)["report"])
        log(f"{norm} eps {eps}: torchattacks")
        text, _, _, _ = compare.run_child(
            [compare.VENV_PY, Path(__file__).resolve(), "torch", "--weights", weights, "--subset", str(args.subset),
             "--norm", norm, "--eps", str(eps), "--steps", str(args.steps), "--seed", str(args.seed),
             "--batch-size", str(args.batch_size), "--threads", str(args.threads)],
            runner.env,
        )
        theirs = json.loads(text.strip().splitlines()[-1])
        for kind in ATTACKS:
            a, b, only_a, only_b, band = paired(ours[kind], theirs[kind])
            rows.append({"norm": norm, "eps": eps, "attack": kind, "advland": a, "torch": b, "only_advland": only_a,
                         "only_torch": only_b, "band": band, "within": abs(a - b) <= band + 1e-12})
    torchattacks_version = compare.run_child(
        [compare.VENV_PY, "-c", "import torchattacks; print(torchattacks.__version__)"], runner.env)[0].strip()
    meta = {"torchattacks": torchattacks_version, "subset": args.subset, "steps": args.steps, "seed": args.seed,
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d")}
    text = table(rows, meta)
    print(text)
    (compare.WORK / "apgd_compare.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    if args.results:
        write_results(args.results, text)
        log(f"wrote {args.results}")
    return 0 if all(r["within"] for r in rows) else 1


def main():
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False
    )
    sub = p.add_subparsers(dest="side")
    t = sub.add_parser("torch", help="the PyTorch side (run by the driver in bench/.venv)")
    t.add_argument("--weights", type=Path, required=True)
    t.add_argument("--norm", choices=["linf", "l2"], required=True)
    t.add_argument("--eps", type=float, required=True)
    for q in (p, t):
        q.add_argument("--subset", type=int, default=1000)
        q.add_argument("--steps", type=int, default=100)
        q.add_argument("--seed", type=int, default=0)
        q.add_argument("--batch-size", type=int, default=500)
        q.add_argument("--threads", type=int, default=2)
    default_bin = Path(os.environ.get("CARGO_TARGET_DIR", Path(__file__).resolve().parent.parent / "target"))
    p.add_argument("--advland", default=str(default_bin / "release/advland"))
    p.add_argument("--eps-linf", type=float, default=0.1)
    p.add_argument("--eps-l2", type=float, default=1.0)
    p.add_argument("--results", type=Path, help="update this Markdown file (e.g. bench/RESULTS.md)")
    args = p.parse_args()
    if args.side == "torch":
        torch_side(args)
        return 0
    return driver(args)


if __name__ == "__main__":
    sys.exit(main())
