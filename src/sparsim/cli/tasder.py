"""``sparsim tasder``: per-layer TASD search on real models, re-applying configurations, and
exporting the workloads of models and built-in layer tables."""

from __future__ import annotations

import argparse
import csv
import io
from typing import Any

from sparsim.cli.options import check_output, only_with, path_value, show_progress
from sparsim.designs.ttc import SCHEDULES
from sparsim.errors import SparsimError, SpecError
from sparsim.io import atomic_output_dir, atomic_write_text, check_output_dir
from sparsim.report.tables import format_table

BUILTIN_MODELS = (
    "fmnist-resnet",
    "fmnist-resnet-pruned",
    "mobilenet-v2",
    "mobilenet-v2-fmnist-pruned",
    "resnet50-thin",
    "minilm-l6",
)
DEFAULT_TARGET = 0.99
MODEL_HELP = (
    "a built-in model: fmnist-resnet, fmnist-resnet-pruned (Fashion-MNIST, committed "
    "checkpoints), mobilenet-v2, mobilenet-v2-fmnist-pruned, resnet50-thin, minilm-l6 (these "
    "need scripts/install-models.sh); or your own model as a whole-module file (.pt, "
    "torch.save(model, path); unpickling runs code from the file: load only files you "
    "trust) with --data"
)
DATA_HELP = (
    "labelled data for a model file: a .pt of tensors or a .npz with 'inputs' and 'labels' "
    "(shuffled once, cut into disjoint calibration, validation and test parts of the sizes "
    "below) or with calibration_inputs, validation_inputs/_labels and test_inputs/_labels; "
    "quality is top-1 accuracy"
)
FACTORY_HELP = (
    "package.module:function returning the model and its splits (model, calibration, "
    "validation, test; each labelled split as (inputs, labels) or a quality Evaluator of "
    "your own metric); see docs/tasder.md"
)
HARDWARE_HELP = (
    "TASD tensor core: TTC-STC-M4, TTC-STC-M8, TTC-VEGETA-M4, TTC-VEGETA-M8, or a design "
    "file (.yaml) with N:M weight patterns of one block size (docs/designs.md)"
)
WEIGHTS_AND_ACTIVATIONS = " TASD-W: TASD of the weights; TASD-A: TASD of the input activations."


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "tasder",
        help="search per-layer TASD configurations for real models (TASDER)",
        description=(
            "TASDER finds, layer by layer, which TASD series (sums of N:M structured terms a "
            "TASD tensor core can run) to apply to a model's weights (TASD of the weights, "
            "TASD-W) or input activations (TASD of the input activations, TASD-A) so that its quality stays at a target share of the "
            "original's (default 99%), without fine-tuning, and reports the multiply-"
            "accumulates (MACs) saved and the energy and cycles saved on the TASD tensor core "
            "(TTC, accelerator model)."
        ),
        epilog=(
            "examples:\n"
            "  sparsim tasder search --model fmnist-resnet --hardware TTC-VEGETA-M8 --out s\n"
            "  sparsim tasder cost --config s/config.yaml --workloads s/workloads.csv\n"
            "  sparsim tasder workloads --builtin resnet50 --out resnet50.csv"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(func=lambda args: _help(parser))
    commands = parser.add_subparsers(dest="tasder_command", metavar="COMMAND")
    _register_search(commands)
    _register_apply(commands)
    _register_cost(commands)
    _register_workloads(commands)


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", metavar="NAME|FILE", help=MODEL_HELP)
    parser.add_argument("--data", metavar="FILE", help=DATA_HELP)
    parser.add_argument("--factory", metavar="MODULE:FUNCTION", help=FACTORY_HELP)
    parser.add_argument(
        "--calibration-size", type=int, default=64, help="calibration samples (default 64)"
    )


def _data_options(parser: argparse.ArgumentParser) -> None:
    _model_options(parser)
    parser.add_argument(
        "--evaluation-size",
        type=int,
        default=2000,
        help="how many labelled samples (images or sentences) of the validation split each "
        "quality check runs on (default 2000): the search accepts a configuration only when "
        "the target holds with confidence on them (--rule), so more samples let it go "
        "further, but make every check slower. The Fashion-MNIST-based models have 5000 "
        "samples per split",
    )
    parser.add_argument(
        "--test-size",
        type=int,
        help="held-out test samples the result is reported on (default: as many as "
        "--evaluation-size); never seen by the search",
    )
    parser.add_argument(
        "--head-size",
        type=int,
        help="built-in models with a linear head (mobilenet-v2, resnet50-thin, minilm-l6): "
        "samples the head is fitted on (default 2000)",
    )
    parser.add_argument("--batch-size", type=int, default=32, help="batch size (default 32)")
    parser.add_argument(
        "--no-progress", action="store_true", help="no progress bars (calibration, quality)"
    )
    parser.add_argument(
        "--no-cost",
        action="store_true",
        help="skip the accelerator model (energy and cycles on the TASD tensor core, the "
        "dense tensor core and the plain design); multiply-accumulates (MACs) only",
    )


def _register_search(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "search",
        help="find a per-layer TASD configuration under a quality target",
        description=(
            "Methods: 'layer-wise' (TASD-W greedy: candidates (layer, series) ranked by what "
            "they save (--objective) per share of nonzero weights they drop, applied one at "
            "a time while the quality holds), 'network-wise' (TASD-W: one series for every layer, each of the "
            "hardware's series tried) and 'activations' (TASD-A: per layer the most "
            "aggressive series whose sparsity is at most the measured input sparsity plus "
            "alpha; GELU models use 1 - pseudo-density). Writes config.yaml (re-appliable "
            "with 'sparsim tasder apply'), trace.csv (every evaluation), workloads.csv "
            "(the model's layers with measured densities) and cost.csv (per layer: energy "
            "and cycles on the TASD tensor core, the dense tensor core (TC) and the plain "
            "design; not with --no-cost) to --out." + WEIGHTS_AND_ACTIVATIONS
        ),
        epilog=(
            "example: sparsim tasder search --model fmnist-resnet --hardware TTC-VEGETA-M8 "
            "--objective edp --out search-out"
        ),
    )
    _data_options(parser)
    parser.add_argument("--hardware", required=True, help=HARDWARE_HELP)
    parser.add_argument(
        "--method",
        choices=("layer-wise", "network-wise", "activations", "activations-layer-wise"),
        default="layer-wise",
        help="search method (default layer-wise; 'activations-layer-wise': TASD-A greedy per "
        "layer instead of one alpha for the whole model)",
    )
    parser.add_argument(
        "--objective",
        choices=("macs", "energy", "edp"),
        default="macs",
        help="what the search saves (default macs): layer-wise methods rank (layer, series) "
        "candidates by this saving per unit of quality lost; energy and edp come from the "
        "accelerator model (the TASD tensor core, --schedule); network-wise and the alpha "
        "sweep keep the passing configuration that saves most",
    )
    parser.add_argument(
        "--keep",
        choices=("magnitude", "output"),
        default="magnitude",
        help="which entries each term keeps: the largest magnitudes (default, the TASD "
        "paper) or the largest output impact (TASD-A: |x| times the norm of the weights "
        "the input channel feeds; TASD-W: |w| times the norm of its input channel on the "
        "calibration samples)",
    )
    parser.add_argument(
        "--schedule",
        choices=SCHEDULES,
        default=SCHEDULES[0],
        help="how the TTC runs a series' terms in the cost model: fused (default) or sequential",
    )
    parser.add_argument(
        "--target",
        type=float,
        default=0.99,
        help="keep quality >= target x original (default 0.99)",
    )
    parser.add_argument(
        "--rule",
        choices=("bound", "point"),
        default="bound",
        help="when a configuration meets the target on the validation split: 'bound' "
        "(default) when the lower end of the paired margin's interval (quality - target x "
        "original, per sample) is at or above zero, so the target holds with confidence; "
        "'point' on the point estimate alone (chosen configurations then often miss the "
        "target on unseen data)",
    )
    parser.add_argument(
        "--confidence",
        type=float,
        default=0.95,
        help="level of the margin's interval (default 0.95: the target holds with one-sided "
        "confidence 97.5%%)",
    )
    parser.add_argument(
        "--layers",
        help="comma-separated layer names, shell patterns ('*.attention.*') or layer types "
        "(Linear, Conv2d) to consider (default: all Conv2d/Linear for TASD-W; the model's "
        "ReLU/GELU-fed layers for TASD-A; 'Linear' gives a transformer's attention "
        "projections too)",
    )
    parser.add_argument(
        "--alphas",
        default="-0.1,-0.05,0,0.05,0.1,0.15,0.2",
        help="TASD-A: comma-separated alpha values to sweep (default -0.1,-0.05,0,0.05,0.1,"
        "0.15,0.2; a negative alpha is more conservative than the measured sparsity)",
    )
    parser.add_argument(
        "--patience",
        default="1",
        help="layer-wise: rejected candidates before the search stops (default 1: stop at "
        "the first one that breaks the target; 'all' tries every candidate)",
    )
    parser.add_argument(
        "--mass",
        type=float,
        default=0.99,
        help="pseudo-density: share of the magnitude sum to hold (default 0.99)",
    )
    parser.add_argument("--out", required=True, type=path_value, help="output folder")
    parser.set_defaults(func=_search)


def _register_apply(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "apply",
        help="apply a saved configuration to a real model and measure its quality and MACs",
        description=(
            "Re-apply a configuration written by 'sparsim tasder search' (or by hand: "
            "layers: {NAME: {weights: SERIES} or {activations: SERIES}}) and print the "
            "quality before and after and the reduction of multiply-accumulates (MACs)."
        ),
        epilog="example: sparsim tasder apply --model fmnist-resnet --config s/config.yaml",
    )
    _data_options(parser)
    parser.add_argument("--config", required=True, type=path_value, help="config.yaml or .json")
    parser.set_defaults(func=_apply)


def _register_cost(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "cost",
        help="energy and cycles of a saved configuration on the accelerator model (no model "
        "needed)",
        description=(
            "Evaluate a configuration on a workload table (the workloads.csv 'sparsim tasder "
            "search' writes, or 'sparsim tasder workloads' output) with the accelerator "
            "model: every layer on the TASD tensor core of the configuration's hardware (one "
            "structured pass per term of its series, fused over the dense operand's tiles or "
            "sequential with partial sums read back, see --schedule; layers left out run "
            "dense), on the dense tensor core (TC) and on the plain design (the same "
            "hardware, every layer dense). Prints the totals and reductions; --out writes the "
            "per-layer table (.csv)."
        ),
        epilog=(
            "example: sparsim tasder cost --config s/config.yaml --workloads s/workloads.csv "
            "--out cost.csv"
        ),
    )
    parser.add_argument("--config", required=True, type=path_value, help="config.yaml or .json")
    parser.add_argument(
        "--schedule",
        choices=SCHEDULES,
        default=SCHEDULES[0],
        help="how the TTC runs a series' terms: fused (default; all terms on each tile of "
        "the dense operand, partial sums kept in the register file) or sequential (one full pass per "
        "term, partial sums read back from DRAM)",
    )
    parser.add_argument(
        "--workloads",
        type=path_value,
        help="workload table (.csv, .yaml or .yml); or give the model (--model, --data or "
        "--factory) and its layers are measured on its calibration samples",
    )
    _model_options(parser)
    parser.add_argument("--batch-size", type=int, default=32, help="batch size (default 32)")
    parser.add_argument(
        "--hardware", help=HARDWARE_HELP + " (default: the configuration's hardware)"
    )
    parser.add_argument("--out", type=path_value, help="per-layer costs (.csv)")
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the totals and the layers (with the results schema's columns) as JSON",
    )
    parser.set_defaults(func=_cost)


def _register_workloads(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "workloads",
        help="export a network's layers as GEMM workloads (YAML spec or CSV with densities)",
        description=(
            "Every Conv2d and Linear as a GEMM: A = weights [M = out channels x K = C*R*S], "
            "B = input activations [N = batch*P*Q x K]. From a built-in table (no torch "
            "needed) or from a real model with densities measured on calibration data. "
            "The file type follows --out: .yaml (sparsim workload spec) or .csv."
        ),
        epilog=(
            "examples: sparsim tasder workloads --builtin bert-base --seq-len 256 --out "
            "bert.yaml; sparsim tasder workloads --model fmnist-resnet --out fmnist.csv"
        ),
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--builtin", choices=("resnet50", "bert-base", "minilm-l6"), help="built-in table"
    )
    source.add_argument("--model", metavar="NAME|FILE", help=MODEL_HELP)
    source.add_argument("--factory", metavar="MODULE:FUNCTION", help=FACTORY_HELP)
    parser.add_argument("--data", metavar="FILE", help=DATA_HELP)
    parser.add_argument("--batch", type=int, help="built-in: batch size (default 1)")
    parser.add_argument("--image-size", type=int, help="resnet50: image size (default 224)")
    parser.add_argument(
        "--seq-len",
        type=int,
        help="bert-base and minilm-l6: sequence length in tokens (default 128)",
    )
    parser.add_argument(
        "--attention-matmuls",
        action="store_true",
        help="BERT: also list the attention score and context matmuls (op 'matmul')",
    )
    parser.add_argument(
        "--calibration-size", type=int, help="--model: calibration samples (default 64)"
    )
    parser.add_argument(
        "--mass",
        type=float,
        help="--model: share of the magnitude sum a GELU-fed layer's pseudo-density holds "
        "(default 0.99)",
    )
    parser.add_argument("--out", required=True, type=path_value, help="output .yaml, .yml or .csv")
    parser.set_defaults(func=_workloads)


def _load(args: argparse.Namespace) -> Any:
    """A built-in model, a model file with its data, or a factory's model and splits."""
    from sparsim.tasder.models import load_real_model
    from sparsim.tasder.models.user import is_model_file, load_user_model

    if args.factory is not None and args.model is not None:
        raise SpecError("give --model or --factory, not both", "--factory")
    if args.factory is None and args.model is None:
        raise SpecError("give a model: a built-in name or a file (with --data)", "--model")
    test_size, head_size = getattr(args, "test_size", None), getattr(args, "head_size", None)
    for option, value in (("--test-size", test_size), ("--head-size", head_size)):
        if value is not None and value < 1:
            raise SpecError(f"must be a positive integer, got {value}", option)
    if args.factory is not None or is_model_file(args.model):
        if head_size is not None:
            raise SpecError("only built-in models fit a head", "--head-size")
        return load_user_model(
            model=args.model,
            data=args.data,
            factory=args.factory,
            calibration_size=args.calibration_size,
            evaluation_size=args.evaluation_size,
            test_size=test_size,
            batch_size=args.batch_size,
            progress=show_progress(args),
        )
    if args.data is not None:
        raise SpecError(
            "built-in models bring their own data; --data goes with a model file", "--data"
        )
    sizes = {"test_size": test_size} if test_size is not None else {}
    if head_size is not None:
        sizes["head_size"] = head_size
    return load_real_model(
        args.model,
        calibration_size=args.calibration_size,
        evaluation_size=args.evaluation_size,
        batch_size=args.batch_size,
        progress=show_progress(args),
        **sizes,
    )


def _test_split(real: Any) -> Any:
    """The held-out test evaluator of a loaded model (None if it has none)."""
    return next((e for e in real.extra_evaluators.values() if e.split == "test"), None)


def _names(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise SpecError("no layer names given", "--layers")
    return names


def _alphas(text: str) -> list[float]:
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise SpecError(f"expected comma-separated numbers, got {text!r}", "--alphas") from None
    if not values or any(not -1 <= v <= 1 for v in values):
        raise SpecError(f"expected numbers in [-1, 1], got {text!r}", "--alphas")
    return values


def _patience(text: str) -> int | None:
    if text.strip().lower() == "all":
        return None
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise SpecError(f"expected a positive integer or 'all', got {text!r}", "--patience")
    return value


def _check_mass(mass: float) -> None:
    if not 0 < mass <= 1:
        raise SpecError(f"must be in (0, 1], got {mass}", "--mass")


def _search(args: argparse.Namespace) -> int:
    from sparsim.tasd import get_hardware
    from sparsim.tasder.estimator import Tasder

    ttc = get_hardware(args.hardware)
    hardware = ttc.key
    layers, alphas, patience = _names(args.layers), _alphas(args.alphas), _patience(args.patience)
    if not 0 < args.target <= 1:
        raise SpecError(f"must be in (0, 1], got {args.target}", "--target")
    _check_mass(args.mass)
    check_output_dir(args.out, "--out")  # now, not after the search
    real = _load(args)
    if args.method.startswith("activations") and layers is None:
        layers = real.activation_layers
    search = Tasder(
        hardware,
        real.evaluator,
        method=args.method,
        target=args.target,
        layers=layers,
        alphas=alphas,
        pseudo=real.activation == "gelu",
        mass=args.mass,
        patience=patience,
        objective=args.objective,
        keep=args.keep,
        schedule=args.schedule,
        cost=not args.no_cost,
        rule=args.rule,
        confidence=args.confidence,
        test=_test_split(real),
        progress=show_progress(args),
    ).fit(real.model, real.calibration, example=real.example)
    config = search.config_.model_copy(update={"model": real.name})
    written = ["config.yaml", "trace.csv", "workloads.csv"]
    with atomic_output_dir(args.out) as scratch:
        config.save(scratch / "config.yaml")
        (scratch / "trace.csv").write_text(_csv(search.trace_.rows))
        search.table_.save(scratch / "workloads.csv")
        if not args.no_cost:
            search.cost_.to_frame().to_csv(scratch / "cost.csv", index=False)
            written.append("cost.csv")
        if hasattr(search, "pareto_"):
            from sparsim.tasder.costing import plot_pareto

            search.pareto_.to_csv(scratch / "pareto.csv", index=False)
            title = f"{real.name} on {ttc.ttc_name}: {search.result_.method}, {args.objective}"
            plot_pareto(search.points_, search.pareto_, scratch / "pareto.png", title)
            written += ["pareto.csv", "pareto.png"]
    result = search.result_
    print(_summary(real.name, ttc.ttc_name, result, real.evaluator.estimate_))
    others = {n: e for n, e in real.extra_evaluators.items() if e is not search.test}
    if others:
        with search.transform(real.model):
            after = {name: evaluator.estimate(real.model) for name, evaluator in others.items()}
        print(_extra_quality(others, after))
    print(f"wrote {args.out}/{', '.join(written)}")
    return 0


def _extra_quality(evaluators: dict[str, Any], after: dict[str, Any]) -> str:
    """The other quality measures (MiniLM's embedding cosine, agreement) before and after,
    each with its 95% interval and sample size."""
    return "\n".join(
        f"{name}: {evaluator.estimate_} -> {after[name]}" for name, evaluator in evaluators.items()
    )


def _split_rows(result: Any) -> list[list[str]]:
    """The decision on the validation split and the report on the test split."""
    rule = (
        "lower end of the paired margin's 95% interval >= 0"
        if result.rule == "bound"
        else "point estimate >= target"
    )
    rows = [["accepted when", f"{rule} (validation, target {result.target:g})"]]
    selection = result.selection
    rows.append(
        ["validation", selection.describe() if selection else "the original (nothing changed)"]
    )
    if result.test is not None:
        verdict = "meets" if result.test.meets_target else "BELOW"
        rows.append(["test split", f"{result.test.describe()}: {verdict} the target"])
    return rows


def _summary(model: str, hardware: str, result: Any, before: Any) -> str:
    """The search's figures; qualities with their 95% interval and sample size, the
    paired margins on the validation split the search chose on and the test split."""
    rows = [
        ["model", model],
        ["hardware", hardware],
        [
            "method",
            result.method + (f" (alpha {result.alpha:g})" if result.alpha is not None else ""),
        ],
        ["quality metric", result.metric],
        ["original quality (validation)", str(before)],
        *_split_rows(result),
        ["dense MACs", f"{result.dense_macs:,}"],
        ["TASD MACs", f"{result.macs:,}"],
        ["MAC reduction", f"{100 * result.mac_reduction:.1f}%"],
        *_cost_rows(result.cost),
        ["objective", result.objective],
        ["quality evaluations", str(result.evaluations)],
        [
            "search time",
            f"{result.seconds:.1f} s ({result.evaluation_seconds:.1f} s in quality "
            f"evaluations, {result.search_seconds:.2f} s without them)",
        ],
    ]
    return format_table(rows, ["figure", "value"])


def _cost_rows(cost: Any) -> list[list[str]]:
    """Energy, cycles and their reductions against the dense TC and the plain design."""
    if cost is None:
        return []
    rows = [
        [
            "energy TTC / TC / plain",
            f"{cost.energy_uJ:,.1f} / {cost.tc_energy_uJ:,.1f} / {cost.plain_energy_uJ:,.1f} uJ",
        ],
        [
            "cycles TTC / TC / plain",
            f"{cost.cycles:,.0f} / {cost.tc_cycles:,.0f} / {cost.plain_cycles:,.0f}",
        ],
    ]
    for baseline, label in (("tc", "TC"), ("plain", "plain")):
        rows.append(
            [
                f"reduction vs {label}",
                f"energy {100 * cost.energy_reduction(baseline):.1f}%, cycles "
                f"{100 * cost.cycle_reduction(baseline):.1f}%, EDP "
                f"{100 * cost.edp_reduction(baseline):.1f}%",
            ]
        )
    if cost.area_um2 is not None and cost.tc_area_um2 is not None:
        rows.append(
            [
                "area TTC / TC",
                f"{cost.area_um2 * 1e-6:.3f} / {cost.tc_area_um2 * 1e-6:.3f} mm^2 (area tables "
                f"without TASD units); EDAP reduction vs TC "
                f"{100 * cost.edap_reduction('tc'):.1f}%",
            ]
        )
    return rows


def _csv(rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return buffer.getvalue()


def _apply(args: argparse.Namespace) -> int:
    from sparsim.tasder.apply import apply_config
    from sparsim.tasder.config import load_config
    from sparsim.tasder.search import count_macs, split_report
    from sparsim.workload.extract import extract_workloads

    config = load_config(args.config)
    real = _load(args)
    table = extract_workloads(real.model, real.example, real.calibration)
    target = config.result.target if config.result is not None else DEFAULT_TARGET
    splits = [("validation", real.evaluator), ("test split", _test_split(real))]
    with apply_config(real.model, config, calibration=real.calibration, example=real.example):
        gates = {
            name: split_report(evaluator.gate(real.model, target))
            for name, evaluator in splits
            if evaluator is not None
        }
    macs = count_macs(table, config)
    cost = None
    if not args.no_cost and config.hardware is not None:
        from sparsim.tasder.costing import cost_config

        cost = cost_config(table, config).summary()
    rows = [
        ["model", real.name],
        ["layers configured", str(len(config.layers))],
        ["quality metric", real.evaluator.metric],
        ["original quality (validation)", str(real.evaluator.estimate_)],
        *(
            [name, f"{report.describe()}: {'meets' if report.meets_target else 'BELOW'} "
             f"the target {target:g}"]
            for name, report in gates.items()
        ),
        ["MAC reduction", f"{100 * (1 - macs / table.macs):.1f}%"],
        *_cost_rows(cost),
    ]  # fmt: skip
    print(format_table(rows, ["figure", "value"]))
    return 0


def _cost(args: argparse.Namespace) -> int:
    import json

    from sparsim.tasder.config import load_config
    from sparsim.tasder.costing import cost_config
    from sparsim.tasder.search import count_macs
    from sparsim.workload.table import load_table

    if args.out is not None and args.out.suffix.lower() != ".csv":
        raise SpecError("expected a .csv file name", str(args.out))
    check_output(args.out, "--out")
    config = load_config(args.config)
    if (args.workloads is None) == (args.model is None and args.factory is None):
        raise SpecError(
            "give --workloads or the model (--model / --factory), one of them", "--workloads"
        )
    if args.workloads is not None:
        table = load_table(args.workloads)
    else:
        from sparsim.workload.extract import extract_workloads

        # The layers and their input densities need only the calibration samples.
        args.evaluation_size, args.no_progress = 1, True
        real = _load(args)
        table = extract_workloads(real.model, real.example, real.calibration)
    try:
        cost = cost_config(table, config, args.hardware, schedule=args.schedule)
    except SparsimError as exc:
        raise exc.located(str(args.config)) from None
    if args.out is not None:
        atomic_write_text(args.out, cost.to_frame().to_csv(index=False))
    if args.json:
        print(json.dumps(_schema_json(cost.to_dict())))
        return 0
    macs = count_macs(table, config)
    rows = [
        ["hardware", cost.hardware],
        ["layer calls", str(len(table))],
        ["layers configured", str(len(config.layers))],
        ["MAC reduction", f"{100 * (1 - macs / table.macs):.1f}%"],
        *_cost_rows(cost.summary()),
    ]
    print(format_table(rows, ["figure", "value"]))
    if args.out is not None:
        print(f"wrote {args.out}")
    return 0


def _schema_json(data: dict) -> dict:
    """The costing's totals, with each layer in the results schema's identity and totals
    columns (design = the TTC; the series stands as the structured operand's density)."""
    layers = []
    for layer in data["layers"]:
        series = layer["series"]
        layers.append(
            {
                "design": data["hardware"],
                "layer": layer["layer"],
                "density_A": series if layer["operand"] == "weights" else "dense",
                "density_B": series if layer["operand"] == "activations" else "dense",
                "memory": "",
                "objective": "",
                **layer,
                "edp_J_cycles": layer["energy_uJ"] * 1e-6 * layer["cycles"],
                "computes_actual": layer["computes"],
            }
        )
    return {**data, "layers": layers}


def _workloads(args: argparse.Namespace) -> int:
    from sparsim.workload import builtin_table

    if args.out.suffix.lower() not in (".yaml", ".yml", ".csv"):
        raise SpecError("expected a .yaml, .yml or .csv file name", str(args.out))
    if args.model is None:  # a built-in table has no data to calibrate on
        only_with("--model", {"--calibration-size": args.calibration_size, "--mass": args.mass})
    if args.builtin != "resnet50":
        only_with("--builtin resnet50", {"--image-size": args.image_size})
    if args.builtin not in ("bert-base", "minilm-l6"):
        only_with(
            "--builtin bert-base or minilm-l6",
            {"--seq-len": args.seq_len, "--attention-matmuls": args.attention_matmuls},
        )
    if args.builtin is None:
        only_with("--builtin", {"--batch": args.batch})
    check_output(args.out, "--out")
    batch = 1 if args.batch is None else args.batch
    if args.builtin == "resnet50":
        image_size = 224 if args.image_size is None else args.image_size
        table = builtin_table("resnet50", batch=batch, image_size=image_size)
    elif args.builtin is not None:
        table = builtin_table(
            args.builtin,
            seq_len=128 if args.seq_len is None else args.seq_len,
            batch=batch,
            attention_matmuls=args.attention_matmuls,
        )
    else:
        from sparsim.tasder.search import calibrate

        args.mass = 0.99 if args.mass is None else args.mass
        args.calibration_size = 64 if args.calibration_size is None else args.calibration_size
        _check_mass(args.mass)
        args.evaluation_size, args.batch_size, args.no_progress = 1, 32, False
        real = _load(args)
        table = calibrate(
            real.model, real.calibration, mass=args.mass, progress=show_progress(args)
        )
    table.save(args.out)
    print(f"{len(table)} layers, {table.macs:,} dense MACs; wrote {args.out}")
    return 0
